/* Unit tests: registry transitions from several threads while watchers pop concurrently.
 * Checks run on the main thread: cmocka's asserts are not thread-safe. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flame/error.h"
#include "runner/event_hub.h"
#include "runner/registry.h"
#include "registry_support.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x
#define E(x) FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_##x

#define THREADS 4
#define PER_THREAD 250
#define RUNNERS (THREADS * PER_THREAD)
#define STEPS 5 /* BOOTING STARTED STOPPING EXITED REMOVED */

/* ---------------------------------------------------------------- workers */

struct worker {
    runner_registry *reg;
    int index;
    int failures; /* transitions that did not return 0 */
};

static void *work(void *arg)
{
    struct worker *wk = arg;
    char id[32], cid[80], ip[32];

    for (int i = 0; i < PER_THREAD; i++) {
        struct runner *r = runner_new();

        snprintf(id, sizeof(id), "t%d-%d", wk->index, i);
        snprintf(cid, sizeof(cid), "%02d%04d00000000000000000000000000000000000000000000000000000000",
                 wk->index, i);
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", wk->index, i / 256, i % 256);
        if (!r || runner_set_str(&r->id, id) < 0 || runner_set_str(&r->pool, "p") < 0) {
            runner_free(r);
            wk->failures++;
            continue;
        }
        if (runner_registry_insert(wk->reg, r, NULL, NULL) < 0) {
            runner_free(r);
            wk->failures++;
            continue;
        }
        wk->failures += runner_registry_set_container(wk->reg, id, cid) != 0;
        wk->failures += runner_registry_set_running(wk->reg, id, ip) != 0;
        wk->failures += runner_registry_set_stopping(wk->reg, id) != 0;
        wk->failures += runner_registry_set_exited(wk->reg, id, i % 7, 0) != 0;
        wk->failures += runner_registry_set_removed(wk->reg, id) != 0;
    }
    return NULL;
}

/* ---------------------------------------------------------------- a watcher on its own thread */

struct runner_seen {
    int n;           /* events seen */
    int last_type;   /* last event type */
    int bad;         /* an event out of lifecycle order */
};

struct popper {
    hub_watcher *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, done;
    /* results */
    uint64_t last_seq;
    int sequence_errors, decode_errors, unknown_runners, end;
    size_t events;
    struct runner_seen seen[THREADS][PER_THREAD];
};

static void popper_kick(void *ud)
{
    struct popper *p = ud;

    pthread_mutex_lock(&p->mu);
    p->pending = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The event type that must follow `type` in a runner's lifecycle (EXISTING: see state). */
static int next_type(int type, int state)
{
    switch (type) {
    case E(BOOTING):
        return E(STARTED);
    case E(STARTED):
        return E(STOPPING);
    case E(STOPPING):
        return E(EXITED);
    case E(EXITED):
        return E(REMOVED);
    case E(EXISTING):
        switch (state) {
        case S(BOOTING):
            return E(STARTED);
        case S(RUNNING):
            return E(STOPPING);
        case S(STOPPING):
            return E(EXITED);
        case S(EXITED):
            return E(REMOVED);
        }
        return -1;
    default:
        return -1;
    }
}

static void record(struct popper *p, hub_event *ev)
{
    Flame__V1__WatchResponse *resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    int t, i;
    struct runner_seen *s;

    p->events++;
    if (ev->sequence <= p->last_seq)
        p->sequence_errors++;
    p->last_seq = ev->sequence;
    if (!resp || !resp->runner) {
        p->decode_errors++;
        goto done;
    }
    if (resp->sequence != ev->sequence)
        p->sequence_errors++;
    if (sscanf(resp->runner->id, "t%d-%d", &t, &i) != 2 || t < 0 || t >= THREADS || i < 0 ||
        i >= PER_THREAD) {
        p->unknown_runners++;
        goto done;
    }
    s = &p->seen[t][i];
    if (s->n == 0) {
        if (resp->type != E(BOOTING) && resp->type != E(EXISTING))
            s->bad++;
    } else if ((int)resp->type != s->last_type) {
        s->bad++;
    }
    s->n++;
    s->last_type = next_type(resp->type, resp->runner->state);
    if (resp->type == E(REMOVED))
        s->last_type = 0; /* nothing may follow */
done:
    if (resp)
        flame__v1__watch_response__free_unpacked(resp, NULL);
}

static void *pop_loop(void *arg)
{
    struct popper *p = arg;

    for (;;) {
        struct timespec until;
        hub_event *ev = NULL;
        enum hub_pop res;
        int done;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&p->mu);
        while (!p->pending && !p->done)
            if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
                break; /* a lost kick shows up as missing events, not as a hang */
        done = p->done;
        p->pending = 0;
        pthread_mutex_unlock(&p->mu);
        while ((res = event_hub_pop(p->w, &ev, NULL)) == HUB_POP_EVENT) {
            record(p, ev);
            hub_event_unref(ev);
        }
        if (res != HUB_POP_EMPTY || done) {
            p->end = (int)res;
            return NULL;
        }
    }
}

static void popper_init(struct popper *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

static void popper_finish(struct popper *p, pthread_t th)
{
    pthread_mutex_lock(&p->mu);
    p->done = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static void run_workers(runner_registry *reg, struct worker *wk, pthread_t *th)
{
    for (int i = 0; i < THREADS; i++) {
        wk[i].reg = reg;
        wk[i].index = i;
        wk[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, work, &wk[i]), 0);
    }
}

static void join_workers(struct worker *wk, pthread_t *th)
{
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(wk[i].failures, 0);
    }
}

static void assert_popper_clean(const struct popper *p)
{
    assert_int_equal(p->end, HUB_POP_EMPTY);
    assert_int_equal(p->sequence_errors, 0);
    assert_int_equal(p->decode_errors, 0);
    assert_int_equal(p->unknown_runners, 0);
}

/* ---------------------------------------------------------------- tests */

static void concurrent_transitions_reach_a_watcher_in_order_and_complete(void **state)
{
    event_hub *hub;
    runner_registry *reg;
    struct popper *p = calloc(1, sizeof(*p));
    struct worker wk[THREADS];
    pthread_t th[THREADS], pt;

    (void)state;
    assert_non_null(p);
    popper_init(p);
    assert_int_equal(event_hub_new(&hub), 0);
    assert_int_equal(runner_registry_new(&reg, hub), 0);
    assert_int_equal(reg_watch(reg, "", "", 0, NULL, 0, RUNNERS * STEPS + 16, popper_kick, p, &p->w),
                     0);
    assert_int_equal(pthread_create(&pt, NULL, pop_loop, p), 0);
    run_workers(reg, wk, th);
    join_workers(wk, th);
    popper_finish(p, pt);

    assert_popper_clean(p);
    assert_int_equal(p->events, RUNNERS * STEPS);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            if (p->seen[t][i].n != STEPS || p->seen[t][i].bad)
                fail_msg("runner t%d-%d: %d events, %d out of order", t, i, p->seen[t][i].n,
                         p->seen[t][i].bad);
        }
    assert_int_equal(reg_count(reg, ""), 0);
    event_hub_unsubscribe(hub, p->w);
    runner_registry_free(reg);
    event_hub_free(hub);
    free(p);
}

static void watch_with_existing_during_transitions_misses_and_doubles_nothing(void **state)
{
    event_hub *hub;
    runner_registry *reg;
    struct popper *p = calloc(1, sizeof(*p));
    struct worker wk[THREADS];
    pthread_t th[THREADS], pt;
    struct timespec nap = {0, 200000};
    int seen_runners = 0;

    (void)state;
    assert_non_null(p);
    popper_init(p);
    assert_int_equal(event_hub_new(&hub), 0);
    assert_int_equal(runner_registry_new(&reg, hub), 0);
    run_workers(reg, wk, th);
    nanosleep(&nap, NULL); /* subscribe mid-way (any moment is a valid test) */
    assert_int_equal(reg_watch(reg, "p", "", 1, NULL, 0, RUNNERS * STEPS + 16, popper_kick, p, &p->w),
                     0);
    assert_int_equal(pthread_create(&pt, NULL, pop_loop, p), 0);
    join_workers(wk, th);
    popper_finish(p, pt);

    assert_popper_clean(p);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            const struct runner_seen *s = &p->seen[t][i];

            if (s->n == 0)
                continue; /* removed before the watch began */
            seen_runners++;
            /* a contiguous tail of the lifecycle, ending with REMOVED */
            if (s->bad || s->last_type != 0)
                fail_msg("runner t%d-%d: %d events, %d out of order, ends before REMOVED=%d", t,
                         i, s->n, s->bad, s->last_type != 0);
        }
    assert_true(seen_runners > 0);
    event_hub_unsubscribe(hub, p->w);
    runner_registry_free(reg);
    event_hub_free(hub);
    free(p);
}

static void slow_watcher_overflows_without_blocking_publishers(void **state)
{
    event_hub *hub;
    runner_registry *reg;
    hub_watcher *slow = NULL;
    struct popper *p = calloc(1, sizeof(*p));
    struct worker wk[THREADS];
    pthread_t th[THREADS], pt;
    hub_event *ev = NULL;
    int popped = 0;
    enum hub_pop res;

    (void)state;
    assert_non_null(p);
    popper_init(p);
    assert_int_equal(event_hub_new(&hub), 0);
    assert_int_equal(runner_registry_new(&reg, hub), 0);
    assert_int_equal(reg_watch(reg, "", "", 0, NULL, 0, 8, popper_kick, p, &slow), 0);
    assert_int_equal(reg_watch(reg, "", "", 0, NULL, 0, RUNNERS * STEPS + 16, popper_kick, p, &p->w),
                     0);
    assert_int_equal(pthread_create(&pt, NULL, pop_loop, p), 0);
    run_workers(reg, wk, th);
    join_workers(wk, th);
    popper_finish(p, pt);

    while ((res = event_hub_pop(slow, &ev, NULL)) == HUB_POP_EVENT) {
        hub_event_unref(ev);
        popped++;
    }
    assert_int_equal(popped, 8);
    assert_int_equal(res, HUB_POP_OVERFLOW);
    assert_popper_clean(p);
    assert_int_equal(p->events, RUNNERS * STEPS);
    event_hub_unsubscribe(hub, slow);
    event_hub_unsubscribe(hub, p->w);
    runner_registry_free(reg);
    event_hub_free(hub);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_transitions_reach_a_watcher_in_order_and_complete),
        cmocka_unit_test(watch_with_existing_during_transitions_misses_and_doubles_nothing),
        cmocka_unit_test(slow_watcher_overflows_without_blocking_publishers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
