/*
 * The reaper's queue and thread (see reaper.h). It keeps the old order of
 * things: jobs run one at a time in queue order; a retried job blocks the
 * thread for retry_delay_ms and then goes to the back; once stopping, the
 * queue is drained with stopping = 1 and the thread ends when it is empty.
 */
#include "service/reaper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "flame/error.h"

struct reaper_item {
    struct reaper_item *next;
    struct reaper_job job;
};

struct reaper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct reaper_item *head, *tail; /* under mu */
    int stop;                        /* under mu */
    pthread_t thread;
    reaper_run_fn run;
    void *ctx;
    unsigned retry_delay_ms;
};

const char *reaper_job_kind_name(enum reaper_job_kind kind)
{
    switch (kind) {
    case REAPER_REMOVE:
        return "remove";
    case REAPER_REMOVE_LATE:
        return "remove_late";
    case REAPER_RESYNC_STREAM:
        return "resync_stream";
    case REAPER_ADOPT:
        return "adopt";
    }
    return "unknown";
}

static void append_locked(reaper *rp, struct reaper_item *it)
{
    it->next = NULL;
    if (rp->tail)
        rp->tail->next = it;
    else
        rp->head = it;
    rp->tail = it;
}

int reaper_push(reaper *rp, enum reaper_job_kind kind, const char *runner_id)
{
    int removal = kind == REAPER_REMOVE || kind == REAPER_REMOVE_LATE;
    if (!removal && kind != REAPER_RESYNC_STREAM && kind != REAPER_ADOPT)
        return FLAME_EINVALID;
    if (removal && (!runner_id || !runner_id[0] || strlen(runner_id) > RUNNER_ID_LEN))
        return FLAME_EINVALID;
    struct reaper_item *it = calloc(1, sizeof(*it));
    if (!it) {
        flamed_log(LOG_ERROR, "reap_dropped", "job=%s runner_id=%s reason=out_of_memory",
                   reaper_job_kind_name(kind), removal ? runner_id : "");
        return FLAME_ENOMEM;
    }
    it->job.kind = kind;
    if (removal)
        snprintf(it->job.runner_id, sizeof(it->job.runner_id), "%s", runner_id);
    pthread_mutex_lock(&rp->mu);
    append_locked(rp, it);
    pthread_cond_signal(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    return 0;
}

static void *reaper_main(void *arg)
{
    reaper *rp = arg;
    for (;;) {
        pthread_mutex_lock(&rp->mu);
        while (!rp->head && !rp->stop)
            pthread_cond_wait(&rp->cv, &rp->mu);
        struct reaper_item *it = rp->head;
        if (it) {
            rp->head = it->next;
            if (!rp->head)
                rp->tail = NULL;
        }
        int stop = rp->stop;
        pthread_mutex_unlock(&rp->mu);
        if (!it)
            break; /* stopping and drained */
        if (rp->run(rp->ctx, &it->job, stop) == REAPER_RETRY && !stop) {
            it->job.attempts++;
            struct timespec ts = {rp->retry_delay_ms / 1000, (rp->retry_delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&rp->mu);
            append_locked(rp, it);
            pthread_mutex_unlock(&rp->mu);
            continue;
        }
        free(it);
    }
    return NULL;
}

int reaper_start(reaper **out, reaper_run_fn run, void *ctx, unsigned retry_delay_ms)
{
    reaper *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return FLAME_ENOMEM;
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    rp->run = run;
    rp->ctx = ctx;
    rp->retry_delay_ms = retry_delay_ms;
    if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0) {
        pthread_mutex_destroy(&rp->mu);
        pthread_cond_destroy(&rp->cv);
        free(rp);
        return FLAME_ENOMEM;
    }
    *out = rp;
    return 0;
}

void reaper_stop(reaper *rp)
{
    if (!rp)
        return;
    pthread_mutex_lock(&rp->mu);
    rp->stop = 1;
    pthread_cond_signal(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    pthread_join(rp->thread, NULL);
    while (rp->head) { /* only a job pushed after the thread ended */
        struct reaper_item *it = rp->head;
        rp->head = it->next;
        free(it);
    }
    pthread_mutex_destroy(&rp->mu);
    pthread_cond_destroy(&rp->cv);
    free(rp);
}
