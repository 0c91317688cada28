/*
 * server/service/reaper.h - the reaper: one thread that runs typed jobs in
 * the order they were queued, off the threads that must never block (the
 * Docker event reader, CQ threads).
 *
 * The reaper knows the kinds of job but not how to do them: whoever starts it
 * gives it a run function (the service's is in reaper_jobs.c), so the queue
 * can be driven without Docker. A job the run function asks to retry waits
 * retry_delay_ms on the reaper thread (no other job runs meanwhile) and then
 * goes to the back of the queue.
 *
 * Thread-safety: reaper_push() from any thread; reaper_start() and
 * reaper_stop() from one thread (the service's start and stop).
 */
#ifndef FLAMED_REAPER_H
#define FLAMED_REAPER_H

#include "runner/runner.h"

/** What a job asks for. */
enum reaper_job_kind {
    /* Remove runner `runner_id`'s container (it exited on its own, or Boot
     * or Shutdown could not remove it), unless it is kept. */
    REAPER_REMOVE = 1,
    /* Remove by name the container Docker created or started for runner
     * `runner_id` after its Boot gave up (cancel, deadline, a lost answer). */
    REAPER_REMOVE_LATE = 2,
    /* The Docker event stream (re)opened: resync the registry with Docker
     * (adopt, catch up on the gap); the sync becomes READY when it succeeds. */
    REAPER_RESYNC_STREAM = 3,
    /* An event named a container of ours the registry does not track: one
     * resync pass that adopts it. */
    REAPER_ADOPT = 4,
};

struct reaper_job {
    enum reaper_job_kind kind;
    char runner_id[RUNNER_ID_LEN + 1]; /* REAPER_REMOVE*: the runner; otherwise "" */
    int attempts;                      /* earlier runs of this job that asked to retry */
};

/** What a run function answers. */
enum reaper_outcome {
    REAPER_DONE = 0,  /* the job is finished (done, or given up: the run function logs why) */
    REAPER_RETRY = 1, /* run it again after retry_delay_ms, behind the jobs queued meanwhile */
};

/**
 * Run one job on the reaper thread.
 * @param ctx       the ctx given to reaper_start() (borrowed).
 * @param job       the job (borrowed for the call).
 * @param stopping  1 once reaper_stop() was called: the queue is being
 *                  drained, so finish quickly and do not ask to retry.
 * @return enum reaper_outcome.
 */
typedef int (*reaper_run_fn)(void *ctx, const struct reaper_job *job, int stopping);

typedef struct reaper reaper;

/**
 * Start the reaper thread.
 * @param[out] out        the reaper; stop and free it with reaper_stop().
 * @param run             what runs each job (see reaper_run_fn).
 * @param ctx             passed to run; borrowed, must outlive the reaper.
 * @param retry_delay_ms  the wait before a retried job runs again (ms).
 * @return 0, or FLAME_ENOMEM (no memory, or no thread).
 */
int reaper_start(reaper **out, reaper_run_fn run, void *ctx, unsigned retry_delay_ms);

/**
 * Queue a job. Never blocks on a running job.
 * @param runner_id  the runner for REAPER_REMOVE and REAPER_REMOVE_LATE
 *                   (copied; at most RUNNER_ID_LEN characters); NULL otherwise.
 * @return 0; FLAME_EINVALID (unknown kind, or a removal without a runner id);
 *         FLAME_ENOMEM (the job is dropped and logged as reap_dropped).
 */
int reaper_push(reaper *rp, enum reaper_job_kind kind, const char *runner_id);

/**
 * Stop the reaper: run every job still queued (with stopping = 1, so none is
 * retried), join the thread, free everything. Accepts NULL.
 */
void reaper_stop(reaper *rp);

/** The job kind's name for logs ("remove", "remove_late", "resync_stream", "adopt"). */
const char *reaper_job_kind_name(enum reaper_job_kind kind);

#endif
