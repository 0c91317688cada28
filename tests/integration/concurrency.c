/*
 * Many calls at once: 32 Boots in flight together all succeed, List stays
 * responsive meanwhile (a liveness bound, not a benchmark), and 32 concurrent
 * Shutdowns leave nothing behind.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define N_RUNNERS 32

struct job {
    fl_env *e;
    flame_runner *runner;
    int rc;
    flame_status st;
    int64_t took_ms;
    atomic_int *running;
};

static void *boot_main(void *arg)
{
    struct job *j = arg;
    flame_boot_request req;
    fl_boot_req_init(j->e, &req);
    req.boot_timeout_ms = 180000;
    int64_t t0 = fl_now_ms();
    j->rc = flame_client_boot(j->e->client, &req, &j->runner, &j->st);
    j->took_ms = fl_now_ms() - t0;
    atomic_fetch_sub(j->running, 1);
    return NULL;
}

static void *shutdown_main(void *arg)
{
    struct job *j = arg;
    flame_runner *out = NULL;
    j->rc = flame_client_shutdown(j->e->client, j->runner->id, 0, &out, &j->st);
    if (j->rc == 0 && out->state != FLAME_RUNNER_REMOVED)
        j->rc = FLAME_ERROR;
    flame_runner_free(out);
    atomic_fetch_sub(j->running, 1);
    return NULL;
}

/* Start fn on every job, run List in a loop until all are done; max List latency in ms. */
static int64_t run_all(fl_env *e, struct job *jobs, void *(*fn)(void *), int *list_calls)
{
    atomic_int running = N_RUNNERS;
    pthread_t th[N_RUNNERS];
    for (int i = 0; i < N_RUNNERS; i++) {
        jobs[i].running = &running;
        assert_int_equal(pthread_create(&th[i], NULL, fn, &jobs[i]), 0);
    }
    int64_t max_ms = 0;
    int calls = 0, list_failed = 0;
    flame_status st;
    while (atomic_load(&running) > 0) {
        flame_runner **rs = NULL;
        size_t n = 0;
        int64_t t0 = fl_now_ms();
        int rc = flame_client_list(e->client, e->pool, &rs, &n, &st);
        int64_t dt = fl_now_ms() - t0;
        flame_runner_list_free(rs, n);
        if (rc != 0 && list_failed++ == 0)
            print_error("List failed during the calls: %s (%s): %s\n", flame_error_name(rc),
                        flame_grpc_status_name(st.code), st.message);
        if (dt > max_ms)
            max_ms = dt;
        calls++;
        fl_sleep_ms(20);
    }
    for (int i = 0; i < N_RUNNERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(list_failed, 0);
    *list_calls = calls;
    return max_ms;
}

FL_TEST(boots_in_flight_together_all_succeed_and_list_stays_responsive)
{
    struct job *jobs = calloc(N_RUNNERS, sizeof(*jobs));
    assert_non_null(jobs);
    for (int i = 0; i < N_RUNNERS; i++)
        jobs[i].e = e;
    int calls = 0;
    int64_t t0 = fl_now_ms();
    int64_t max_list = run_all(e, jobs, boot_main, &calls);
    int64_t took = fl_now_ms() - t0;
    int failed = 0;
    int64_t slowest = 0;
    for (int i = 0; i < N_RUNNERS; i++) {
        if (jobs[i].rc != 0) {
            print_error("boot %d: %s (%s): %s\n", i, flame_error_name(jobs[i].rc),
                        flame_grpc_status_name(jobs[i].st.code), jobs[i].st.message);
            failed++;
        } else if (jobs[i].runner->state != FLAME_RUNNER_RUNNING) {
            failed++;
        }
        if (jobs[i].took_ms > slowest)
            slowest = jobs[i].took_ms;
    }
    print_message("%d Boots in %lld ms (slowest %lld ms); %d Lists meanwhile, slowest %lld ms\n",
                  N_RUNNERS, (long long)took, (long long)slowest, calls, (long long)max_list);
    assert_int_equal(failed, 0);
    assert_true(calls > 0);
    if (max_list >= 1000)
        fail_msg("a List took %lld ms while %d Boots were in flight", (long long)max_list,
                 N_RUNNERS);

    /* Every runner is distinct, listed, running. */
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    assert_int_equal(n, N_RUNNERS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rs[i]->state, FLAME_RUNNER_RUNNING);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(rs[i]->ip_address, rs[k]->ip_address);
    }
    flame_runner_list_free(rs, n);
    assert_int_equal(fl_count_labelled(e, e->run_label), N_RUNNERS);

    max_list = run_all(e, jobs, shutdown_main, &calls);
    failed = 0;
    for (int i = 0; i < N_RUNNERS; i++) {
        if (jobs[i].rc != 0) {
            print_error("shutdown %d: %s: %s\n", i, flame_error_name(jobs[i].rc),
                        jobs[i].st.message);
            failed++;
        }
        flame_runner_free(jobs[i].runner);
    }
    free(jobs);
    assert_int_equal(failed, 0);
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    if (n != 0)
        for (size_t i = 0; i < n; i++)
            print_error("still listed after Shutdown: %s %s\n", rs[i]->id,
                        flame_runner_state_name(rs[i]->state));
    assert_int_equal(n, 0);
    flame_runner_list_free(rs, n);
    /* Shutdown answered REMOVED; allow a removal another flamed started to finish. */
    int64_t until = fl_now_ms() + 10000;
    while (fl_count_labelled(e, e->run_label) != 0 && fl_now_ms() < until)
        fl_sleep_ms(100);
    assert_int_equal(fl_count_labelled(e, e->run_label), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(boots_in_flight_together_all_succeed_and_list_stays_responsive),
    };
    return FL_RUN_SHARED("concurrency", tests);
}
