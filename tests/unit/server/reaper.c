/* Unit tests: the reaper's typed job queue (service/reaper.h), driven without Docker. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/reaper.h"

#define MAX_RUNS 64

struct log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    struct reaper_job runs[MAX_RUNS];
    int stopping[MAX_RUNS];
    int retry_first;   /* REAPER_RETRY for a job's first run, when its id is "retry" */
    int always_retry;  /* REAPER_RETRY for "retry" whenever not stopping */
    int gate_open;     /* a job with id "gate" waits for this */
};

static int run(void *ctx, const struct reaper_job *job, int stopping)
{
    struct log *lg = ctx;
    pthread_mutex_lock(&lg->mu);
    if (strcmp(job->runner_id, "gate") == 0)
        while (!lg->gate_open)
            pthread_cond_wait(&lg->cv, &lg->mu);
    if (lg->n < MAX_RUNS) {
        lg->runs[lg->n] = *job;
        lg->stopping[lg->n] = stopping;
        lg->n++;
    }
    pthread_cond_broadcast(&lg->cv);
    int retry = strcmp(job->runner_id, "retry") == 0 &&
                ((lg->retry_first && job->attempts == 0) || lg->always_retry);
    pthread_mutex_unlock(&lg->mu);
    return retry ? REAPER_RETRY : REAPER_DONE;
}

static void log_init(struct log *lg)
{
    memset(lg, 0, sizeof(*lg));
    pthread_mutex_init(&lg->mu, NULL);
    pthread_cond_init(&lg->cv, NULL);
}

/* Wait (a fail-safe bound of 10 s, not a timing assertion) until n runs are logged. */
static void wait_runs(struct log *lg, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lg->mu);
    while (lg->n < n && pthread_cond_timedwait(&lg->cv, &lg->mu, &until) == 0)
        ;
    int got = lg->n;
    pthread_mutex_unlock(&lg->mu);
    assert_true(got >= n);
}

static void jobs_run_in_queue_order_with_their_kind_and_runner(void **state)
{
    (void)state;
    struct log lg;
    log_init(&lg);
    reaper *rp = NULL;
    assert_int_equal(reaper_start(&rp, run, &lg, 1), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "r1"), 0);
    assert_int_equal(reaper_push(rp, REAPER_RESYNC_STREAM, NULL), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE_LATE, "r2"), 0);
    assert_int_equal(reaper_push(rp, REAPER_ADOPT, NULL), 0);
    wait_runs(&lg, 4);
    reaper_stop(rp);
    assert_int_equal(lg.n, 4);
    assert_int_equal(lg.runs[0].kind, REAPER_REMOVE);
    assert_string_equal(lg.runs[0].runner_id, "r1");
    assert_int_equal(lg.runs[1].kind, REAPER_RESYNC_STREAM);
    assert_string_equal(lg.runs[1].runner_id, "");
    assert_int_equal(lg.runs[2].kind, REAPER_REMOVE_LATE);
    assert_string_equal(lg.runs[2].runner_id, "r2");
    assert_int_equal(lg.runs[3].kind, REAPER_ADOPT);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(lg.runs[i].attempts, 0);
        assert_int_equal(lg.stopping[i], 0);
    }
}

static void a_retried_job_runs_again_behind_the_jobs_queued_meanwhile(void **state)
{
    (void)state;
    struct log lg;
    log_init(&lg);
    lg.retry_first = 1;
    reaper *rp = NULL;
    assert_int_equal(reaper_start(&rp, run, &lg, 1), 0);
    pthread_mutex_lock(&lg.mu); /* hold the first job until both are queued */
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "retry"), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "other"), 0);
    pthread_mutex_unlock(&lg.mu);
    wait_runs(&lg, 3);
    reaper_stop(rp);
    assert_int_equal(lg.n, 3);
    assert_string_equal(lg.runs[0].runner_id, "retry");
    assert_int_equal(lg.runs[0].attempts, 0);
    assert_string_equal(lg.runs[1].runner_id, "other");
    assert_string_equal(lg.runs[2].runner_id, "retry");
    assert_int_equal(lg.runs[2].attempts, 1);
}

static void bad_jobs_are_refused(void **state)
{
    (void)state;
    struct log lg;
    log_init(&lg);
    reaper *rp = NULL;
    assert_int_equal(reaper_start(&rp, run, &lg, 1), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, NULL), FLAME_EINVALID);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE_LATE, ""), FLAME_EINVALID);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "0123456789abcdef0"), FLAME_EINVALID); /* 17 */
    assert_int_equal(reaper_push(rp, (enum reaper_job_kind)99, "r1"), FLAME_EINVALID);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "0123456789abcdef"), 0); /* 16 */
    wait_runs(&lg, 1);
    reaper_stop(rp);
    assert_int_equal(lg.n, 1);
    assert_string_equal(lg.runs[0].runner_id, "0123456789abcdef");
}

struct stopper {
    reaper *rp;
    struct log *lg;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    reaper_stop(s->rp);
    return NULL;
}

/* Stop runs what is queued, and retries nothing once stopping: a job that
 * always asks to retry would otherwise keep reaper_stop() from returning. */
static void stop_drains_the_queue_without_retries(void **state)
{
    (void)state;
    struct log lg;
    log_init(&lg);
    lg.always_retry = 1;
    reaper *rp = NULL;
    assert_int_equal(reaper_start(&rp, run, &lg, 1), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "gate"), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "retry"), 0);
    assert_int_equal(reaper_push(rp, REAPER_REMOVE, "last"), 0);
    struct stopper s = {rp, &lg};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stop_thread, &s), 0);
    struct timespec ts = {0, 50 * 1000000L}; /* let the stop begin while "gate" holds the thread */
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&lg.mu);
    lg.gate_open = 1;
    pthread_cond_broadcast(&lg.cv);
    pthread_mutex_unlock(&lg.mu);
    pthread_join(th, NULL);
    int saw_last = 0, last_retry_stopping = 0;
    for (int i = 0; i < lg.n; i++) {
        saw_last |= strcmp(lg.runs[i].runner_id, "last") == 0;
        if (strcmp(lg.runs[i].runner_id, "retry") == 0)
            last_retry_stopping = lg.stopping[i];
    }
    assert_true(saw_last);
    assert_int_equal(last_retry_stopping, 1);
}

static void stop_accepts_null(void **state)
{
    (void)state;
    reaper_stop(NULL);
    assert_string_equal(reaper_job_kind_name(REAPER_RESYNC_STREAM), "resync_stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jobs_run_in_queue_order_with_their_kind_and_runner),
        cmocka_unit_test(a_retried_job_runs_again_behind_the_jobs_queued_meanwhile),
        cmocka_unit_test(bad_jobs_are_refused),
        cmocka_unit_test(stop_drains_the_queue_without_retries),
        cmocka_unit_test(stop_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
