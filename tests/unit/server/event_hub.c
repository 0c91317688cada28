/* Unit tests: Watch subscriptions through the registry and the event hub (filters,
 * include_existing, bounded queues, close, kick). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "runner/event_hub.h"
#include "runner/registry.h"
#include "registry_support.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x
#define E(x) FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_##x

struct fx {
    event_hub *hub;
    runner_registry *reg;
};

/* A watcher's kick counter (the Watch stream's "wake the CQ" callback). */
struct kicks {
    int n;
};

static void kick(void *ud) { ((struct kicks *)ud)->n++; }

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(event_hub_new(&fx->hub), 0);
    assert_int_equal(runner_registry_new(&fx->reg, fx->hub), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    assert_int_equal(event_hub_watchers(fx->hub), 0);
    runner_registry_free(fx->reg);
    event_hub_free(fx->hub);
    free(fx);
    return 0;
}

static void insert(struct fx *fx, const char *id, const char *pool)
{
    struct runner *r = runner_new();

    assert_non_null(r);
    assert_int_equal(runner_set_str(&r->id, id), 0);
    assert_int_equal(runner_set_str(&r->pool, pool), 0);
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
}

static hub_watcher *watch(struct fx *fx, const char *pool, const char *runner_id, int existing,
                          size_t max_queue, struct kicks *k)
{
    hub_watcher *w = NULL;

    assert_int_equal(
        reg_watch(fx->reg, pool, runner_id, existing, NULL, 0, max_queue, kick, k, &w), 0);
    assert_non_null(w);
    return w;
}

/* Pop one event and check its type and runner id; return its sequence. */
static uint64_t expect(hub_watcher *w, int type, const char *id)
{
    hub_event *ev = NULL;
    Flame__V1__WatchResponse *resp;
    uint64_t seq, last = 0;

    assert_int_equal(event_hub_pop(w, &ev, &last), HUB_POP_EVENT);
    resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    assert_non_null(resp);
    if ((int)resp->type != type || strcmp(resp->runner->id, id) != 0)
        fail_msg("got event %d for '%s', want %d for '%s'", (int)resp->type, resp->runner->id,
                 type, id);
    seq = resp->sequence;
    assert_true(seq == ev->sequence);
    assert_true(last == seq);
    flame__v1__watch_response__free_unpacked(resp, NULL);
    hub_event_unref(ev);
    return seq;
}

static void expect_pop(hub_watcher *w, enum hub_pop want)
{
    hub_event *ev = NULL;
    enum hub_pop got = event_hub_pop(w, &ev, NULL);

    if (got == HUB_POP_EVENT)
        hub_event_unref(ev);
    assert_int_equal(got, want);
}

/* ---------------------------------------------------------------- include_existing */

static void include_existing_queues_live_runners_only(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    insert(fx, "booting", "p");
    insert(fx, "running", "p");
    insert(fx, "removed", "p");
    insert(fx, "failed", "p");
    insert(fx, "exited", "p");
    runner_registry_set_running(fx->reg, "running", "10.0.0.2");
    runner_registry_set_removed(fx->reg, "removed");
    runner_registry_set_failed(fx->reg, "failed", "x");
    runner_registry_set_running(fx->reg, "exited", "10.0.0.3");
    runner_registry_set_exited(fx->reg, "exited", 0, 0);

    w = watch(fx, "", "", 1, 0, &k);
    expect(w, E(EXISTING), "booting");
    expect(w, E(EXISTING), "running");
    expect(w, E(EXISTING), "exited");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void existing_event_carries_the_current_state(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;
    hub_event *ev = NULL;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    w = watch(fx, "", "", 1, 0, &k);
    assert_int_equal(event_hub_pop(w, &ev, NULL), HUB_POP_EVENT);
    resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    assert_non_null(resp);
    assert_int_equal(resp->type, E(EXISTING));
    assert_int_equal(resp->runner->state, S(RUNNING));
    assert_string_equal(resp->runner->ip_address, "10.0.0.2");
    flame__v1__watch_response__free_unpacked(resp, NULL);
    hub_event_unref(ev);
    event_hub_unsubscribe(fx->hub, w);
}

static void include_existing_respects_the_pool_filter(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    insert(fx, "a2", "alpha");
    w = watch(fx, "alpha", "", 1, 0, &k);
    expect(w, E(EXISTING), "a1");
    expect(w, E(EXISTING), "a2");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void without_include_existing_nothing_is_queued(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    insert(fx, "r1", "p");
    w = watch(fx, "", "", 0, 0, &k);
    expect_pop(w, HUB_POP_EMPTY);
    assert_int_equal(k.n, 0);
    event_hub_unsubscribe(fx->hub, w);
}

static void existing_events_come_before_later_events_in_sequence(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;
    uint64_t s1, s2, s3;

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    w = watch(fx, "", "", 1, 0, &k);
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    s1 = expect(w, E(EXISTING), "r1");
    s2 = expect(w, E(EXISTING), "r2");
    s3 = expect(w, E(STARTED), "r1");
    assert_true(s1 < s2 && s2 < s3);
    event_hub_unsubscribe(fx->hub, w);
}

/* ---------------------------------------------------------------- filters */

static void pool_filter_passes_only_that_pool(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "alpha", "", 0, 0, &k);

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    insert(fx, "x1", "alphabet");
    runner_registry_set_running(fx->reg, "b1", "10.0.0.3");
    runner_registry_set_running(fx->reg, "a1", "10.0.0.2");
    expect(w, E(BOOTING), "a1");
    expect(w, E(STARTED), "a1");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void runner_id_filter_passes_only_that_runner(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "r2", 0, 0, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    insert(fx, "r22", "p");
    runner_registry_set_removed(fx->reg, "r1");
    runner_registry_set_removed(fx->reg, "r2");
    expect(w, E(BOOTING), "r2");
    expect(w, E(REMOVED), "r2");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void pool_and_runner_id_filters_both_apply(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "alpha", "r1", 0, 0, &k);

    insert(fx, "r1", "beta");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void null_filters_match_everything(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, NULL, NULL, 0, 0, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "q");
    expect(w, E(BOOTING), "r1");
    expect(w, E(BOOTING), "r2");
    event_hub_unsubscribe(fx->hub, w);
}

static void every_watcher_gets_the_same_sequence(void **state)
{
    struct fx *fx = *state;
    struct kicks k1 = {0}, k2 = {0};
    hub_watcher *w1 = watch(fx, "", "", 0, 0, &k1);
    hub_watcher *w2 = watch(fx, "p", "", 0, 0, &k2);

    insert(fx, "r1", "p");
    assert_true(expect(w1, E(BOOTING), "r1") == expect(w2, E(BOOTING), "r1"));
    event_hub_unsubscribe(fx->hub, w1);
    event_hub_unsubscribe(fx->hub, w2);
}

/* ---------------------------------------------------------------- tenancy (scoped watch) */

static hub_watcher *watch_scoped(struct fx *fx, const char *pool, int existing,
                                 const char *const *pools, size_t n_pools, struct kicks *k)
{
    hub_watcher *w = NULL;

    assert_int_equal(reg_watch(fx->reg, pool, "", existing, pools, n_pools, 0,
                                                  kick, k, &w),
                     0);
    assert_non_null(w);
    return w;
}

static void scoped_watch_streams_only_allowed_pools(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    const char *const pools[] = {"alpha", "gamma"};
    hub_watcher *w = watch_scoped(fx, "", 0, pools, 2, &k);

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    insert(fx, "g1", "gamma");
    insert(fx, "x1", "alphabet");
    expect(w, E(BOOTING), "a1");
    expect(w, E(BOOTING), "g1");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void scoped_include_existing_lists_only_allowed_pools(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    const char *const pools[] = {"beta"};
    hub_watcher *w;

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    w = watch_scoped(fx, "", 1, pools, 1, &k);
    expect(w, E(EXISTING), "b1");
    expect_pop(w, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
}

static void scoped_watch_filtering_a_pool_outside_its_scope_sees_nothing(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    const char *const pools[] = {"beta"};
    hub_watcher *w;

    insert(fx, "a1", "alpha");
    w = watch_scoped(fx, "alpha", 1, pools, 1, &k);
    insert(fx, "a2", "alpha");
    expect_pop(w, HUB_POP_EMPTY);
    assert_int_equal(k.n, 0);
    event_hub_unsubscribe(fx->hub, w);
}

static void scoped_watch_without_pools_sees_everything(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch_scoped(fx, "", 0, NULL, 0, &k);

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    expect(w, E(BOOTING), "a1");
    expect(w, E(BOOTING), "b1");
    event_hub_unsubscribe(fx->hub, w);
}

/* ---------------------------------------------------------------- bounded queues */

static void overflowing_watcher_pops_its_queue_then_overflow(void **state)
{
    struct fx *fx = *state;
    struct kicks ks = {0}, kf = {0};
    hub_watcher *slow = watch(fx, "", "", 0, 4, &ks);
    hub_watcher *fast = watch(fx, "", "", 0, 64, &kf);
    char id[8];

    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        insert(fx, id, "p");
    }
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        expect(slow, E(BOOTING), id);
    }
    expect_pop(slow, HUB_POP_OVERFLOW);
    expect_pop(slow, HUB_POP_OVERFLOW); /* stays overflowed */
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        expect(fast, E(BOOTING), id);
    }
    expect_pop(fast, HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, slow);
    event_hub_unsubscribe(fx->hub, fast);
}

static void overflowed_watcher_gets_nothing_more_even_after_draining(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 1, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    expect(w, E(BOOTING), "r1");
    insert(fx, "r3", "p"); /* room again, but the stream is already told to end */
    expect_pop(w, HUB_POP_OVERFLOW);
    event_hub_unsubscribe(fx->hub, w);
}

/* What include_existing owes comes on top of the live bound (the queue grows by it):
 * all of it is delivered; live events then overflow at bound + owed. */
static void include_existing_beyond_the_queue_is_delivered_in_full(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    insert(fx, "r3", "p");
    w = watch(fx, "", "", 1, 2, &k);
    expect(w, E(EXISTING), "r1");
    expect(w, E(EXISTING), "r2");
    expect(w, E(EXISTING), "r3");
    expect_pop(w, HUB_POP_EMPTY);
    const char *ids[] = {"r4", "r5", "r6", "r7", "r8", "r9"};
    for (int i = 0; i < 6; i++)
        insert(fx, ids[i], "p");
    for (int i = 0; i < 5; i++)
        expect(w, E(BOOTING), ids[i]);
    expect_pop(w, HUB_POP_OVERFLOW);
    event_hub_unsubscribe(fx->hub, w);
}

static void unsubscribe_with_queued_events_releases_them(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 8, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    assert_true(k.n >= 1); /* two events queued for w */
    assert_int_equal(event_hub_watchers(fx->hub), 1);
    event_hub_unsubscribe(fx->hub, w); /* ASan reports a leak if the events are kept */
    assert_int_equal(event_hub_watchers(fx->hub), 0);
    int kicks = k.n;
    insert(fx, "r3", "p");
    assert_int_equal(k.n, kicks); /* nobody is told of r3: w is gone */
}

static void watcher_count_follows_subscriptions(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *a, *b, *c;

    assert_int_equal(event_hub_watchers(fx->hub), 0);
    a = watch(fx, "", "", 0, 0, &k);
    b = watch(fx, "", "", 0, 0, &k);
    c = watch(fx, "", "", 0, 0, &k);
    assert_int_equal(event_hub_watchers(fx->hub), 3);
    event_hub_unsubscribe(fx->hub, b); /* middle of the list */
    assert_int_equal(event_hub_watchers(fx->hub), 2);
    insert(fx, "r1", "p");
    expect(a, E(BOOTING), "r1");
    expect(c, E(BOOTING), "r1");
    event_hub_unsubscribe(fx->hub, c); /* head */
    event_hub_unsubscribe(fx->hub, a); /* last */
    assert_int_equal(event_hub_watchers(fx->hub), 0);
    insert(fx, "r2", "p");
}

/* ---------------------------------------------------------------- close */

static void close_drains_the_queue_then_pops_closed(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    event_hub_close(fx->hub);
    expect(w, E(BOOTING), "r1");
    expect(w, E(BOOTING), "r2");
    expect_pop(w, HUB_POP_CLOSED);
    expect_pop(w, HUB_POP_CLOSED);
    event_hub_unsubscribe(fx->hub, w);
}

static void events_after_close_are_not_queued(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);

    event_hub_close(fx->hub);
    insert(fx, "r1", "p");
    expect_pop(w, HUB_POP_CLOSED);
    event_hub_unsubscribe(fx->hub, w);
}

static void watcher_subscribed_after_close_pops_closed(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    event_hub_close(fx->hub);
    w = watch(fx, "", "", 0, 0, &k);
    expect_pop(w, HUB_POP_CLOSED);
    event_hub_unsubscribe(fx->hub, w);
}

static void close_wins_over_overflow(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 1, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    event_hub_close(fx->hub);
    expect(w, E(BOOTING), "r1");
    expect_pop(w, HUB_POP_CLOSED);
    event_hub_unsubscribe(fx->hub, w);
}

/* ---------------------------------------------------------------- kick */

static void kick_runs_when_the_queue_becomes_non_empty(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);

    insert(fx, "r1", "p");
    assert_int_equal(k.n, 1);
    insert(fx, "r2", "p");
    insert(fx, "r3", "p");
    assert_int_equal(k.n, 1); /* already non-empty */
    expect(w, E(BOOTING), "r1");
    insert(fx, "r4", "p");
    assert_int_equal(k.n, 1); /* still non-empty */
    expect(w, E(BOOTING), "r2");
    expect(w, E(BOOTING), "r3");
    expect(w, E(BOOTING), "r4");
    expect_pop(w, HUB_POP_EMPTY);
    assert_int_equal(k.n, 1);
    insert(fx, "r5", "p");
    assert_int_equal(k.n, 2);
    event_hub_unsubscribe(fx->hub, w);
}

static void kick_does_not_run_for_filtered_out_events(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "alpha", "", 0, 0, &k);

    insert(fx, "r1", "beta");
    assert_int_equal(k.n, 0);
    event_hub_unsubscribe(fx->hub, w);
}

static void kick_runs_once_on_overflow(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 2, &k);

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    assert_int_equal(k.n, 1);
    insert(fx, "r3", "p"); /* overflows */
    assert_int_equal(k.n, 2);
    insert(fx, "r4", "p"); /* already overflowed */
    assert_int_equal(k.n, 2);
    event_hub_unsubscribe(fx->hub, w);
}

static void kick_runs_on_close(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);

    event_hub_close(fx->hub);
    assert_int_equal(k.n, 1);
    event_hub_unsubscribe(fx->hub, w);
}

static void include_existing_kicks_once(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w;

    insert(fx, "r1", "p");
    insert(fx, "r2", "p");
    w = watch(fx, "", "", 1, 0, &k);
    assert_int_equal(k.n, 1);
    event_hub_unsubscribe(fx->hub, w);
}

/* ---------------------------------------------------------------- the hub on its own */

static void publish_returns_increasing_sequences(void **state)
{
    struct fx *fx = *state;
    struct runner *r = runner_new();
    uint64_t a, b;

    assert_non_null(r);
    a = event_hub_publish(fx->hub, E(STARTED), r);
    b = event_hub_publish(fx->hub, E(STARTED), r);
    assert_true(a > 0);
    assert_true(b > a);
    runner_free(r);
}

static void event_outlives_the_watcher_that_popped_it(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);
    hub_event *ev = NULL;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "p");
    assert_int_equal(event_hub_pop(w, &ev, NULL), HUB_POP_EVENT);
    event_hub_unsubscribe(fx->hub, w);
    resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    assert_non_null(resp);
    assert_string_equal(resp->runner->id, "r1");
    flame__v1__watch_response__free_unpacked(resp, NULL);
    hub_event_unref(ev);
}

static void labels_travel_in_the_event(void **state)
{
    struct fx *fx = *state;
    struct kicks k = {0};
    hub_watcher *w = watch(fx, "", "", 0, 0, &k);
    struct runner *r = runner_new();
    hub_event *ev = NULL;
    Flame__V1__WatchResponse *resp;

    assert_non_null(r);
    assert_int_equal(runner_set_str(&r->id, "r1"), 0);
    assert_int_equal(runner_add_label(r, "team", "video"), 0);
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
    assert_int_equal(event_hub_pop(w, &ev, NULL), HUB_POP_EVENT);
    resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    assert_non_null(resp);
    assert_int_equal(resp->runner->n_labels, 1);
    assert_string_equal(resp->runner->labels[0]->key, "team");
    assert_string_equal(resp->runner->labels[0]->value, "video");
    flame__v1__watch_response__free_unpacked(resp, NULL);
    hub_event_unref(ev);
    event_hub_unsubscribe(fx->hub, w);
}

static void unref_accepts_null(void **state)
{
    (void)state;
    hub_event_unref(NULL);
    event_hub_unsubscribe(NULL, NULL);
    event_hub_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(include_existing_queues_live_runners_only),
        T(existing_event_carries_the_current_state),
        T(include_existing_respects_the_pool_filter),
        T(without_include_existing_nothing_is_queued),
        T(existing_events_come_before_later_events_in_sequence),
        T(pool_filter_passes_only_that_pool),
        T(runner_id_filter_passes_only_that_runner),
        T(pool_and_runner_id_filters_both_apply),
        T(null_filters_match_everything),
        T(every_watcher_gets_the_same_sequence),
        T(scoped_watch_streams_only_allowed_pools),
        T(scoped_include_existing_lists_only_allowed_pools),
        T(scoped_watch_filtering_a_pool_outside_its_scope_sees_nothing),
        T(scoped_watch_without_pools_sees_everything),
        T(overflowing_watcher_pops_its_queue_then_overflow),
        T(overflowed_watcher_gets_nothing_more_even_after_draining),
        T(include_existing_beyond_the_queue_is_delivered_in_full),
        T(unsubscribe_with_queued_events_releases_them),
        T(watcher_count_follows_subscriptions),
        T(close_drains_the_queue_then_pops_closed),
        T(events_after_close_are_not_queued),
        T(watcher_subscribed_after_close_pops_closed),
        T(close_wins_over_overflow),
        T(kick_runs_when_the_queue_becomes_non_empty),
        T(kick_does_not_run_for_filtered_out_events),
        T(kick_runs_once_on_overflow),
        T(kick_runs_on_close),
        T(include_existing_kicks_once),
        T(publish_returns_increasing_sequences),
        T(event_outlives_the_watcher_that_popped_it),
        T(labels_travel_in_the_event),
        T(unref_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
