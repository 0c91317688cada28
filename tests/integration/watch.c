/*
 * Watch: include_existing sends the current runners first, pool and
 * runner_id filters, strictly increasing sequences, and the lifecycle of a
 * boot + shutdown in order.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* The event types of one runner, in order. */
static size_t types_of(const fl_event *evs, size_t n, const char *runner_id, int *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(evs[i].runner_id, runner_id) == 0 && k < cap)
            out[k++] = evs[i].type;
    return k;
}

static void print_events(const fl_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        print_error("  #%llu %s runner=%s pool=%s state=%s exit=%d%s%s\n",
                    (unsigned long long)evs[i].sequence, flame_event_type_name(evs[i].type),
                    evs[i].runner_id, evs[i].pool, flame_runner_state_name(evs[i].state),
                    evs[i].exit_code, evs[i].probe[0] ? " probe=" : "", evs[i].probe);
}

FL_TEST(watch_include_existing_sends_current_runners_first)
{
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 1);
    /* Something new after the existing ones. */
    fl_watch_sync(e, w, e->pool);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    /* EXISTING events come first (a probe still BOOTING may be among them), then none. */
    size_t k = 0;
    while (k < n && evs[k].type == FLAME_EVENT_EXISTING)
        k++;
    int ok = 1, seen_a = 0, seen_b = 0, others = 0;
    for (size_t i = 0; i < k; i++) {
        if (evs[i].probe[0])
            continue;
        if (strcmp(evs[i].runner_id, a->id) == 0)
            seen_a++;
        else if (strcmp(evs[i].runner_id, b->id) == 0)
            seen_b++;
        else
            others++;
        ok &= evs[i].state == FLAME_RUNNER_RUNNING;
    }
    ok &= seen_a == 1 && seen_b == 1 && others == 0 && k < n;
    for (size_t i = k; i < n; i++)
        ok &= evs[i].type != FLAME_EVENT_EXISTING;
    if (!ok) {
        print_error("expected EXISTING for %s and %s first, then only new events; got:\n", a->id,
                    b->id);
        print_events(evs, n);
        fail();
    }
    free(evs);
    fl_shutdown(e, a->id);
    fl_shutdown(e, b->id);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(watch_pool_filter_excludes_other_pools)
{
    char other[48];
    snprintf(other, sizeof(other), "%s-b", e->pool);
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 1);
    fl_watch_sync(e, w, e->pool);
    flame_runner *b = fl_boot_default(e, other);
    flame_runner *a = fl_boot_default(e, NULL);
    /* Sequences are global: once a's STARTED is in, b's earlier events would be too. */
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_STARTED, 10000) >= 0);
    fl_shutdown(e, b->id);
    fl_shutdown(e, a->id);
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(evs[i].pool, e->pool) != 0 || strcmp(evs[i].runner_id, b->id) == 0) {
            print_error("event #%zu is not of pool %s:\n", i, e->pool);
            print_events(evs, n);
            fail();
        }
    }
    free(evs);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(watch_runner_id_filter_sends_only_that_runner)
{
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    fl_watcher *w = fl_watch_start(e, NULL, a->id, 1);
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_EXISTING, 10000) >= 0);
    fl_shutdown(e, b->id);
    fl_shutdown(e, a->id);
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    int types[16];
    size_t k = types_of(evs, n, a->id, types, 16);
    if (k != n) {
        print_error("events of other runners than %s:\n", a->id);
        print_events(evs, n);
        fail();
    }
    static const int want[] = {FLAME_EVENT_EXISTING, FLAME_EVENT_STOPPING, FLAME_EVENT_EXITED,
                               FLAME_EVENT_REMOVED};
    if (k != 4 || memcmp(types, want, sizeof(want)) != 0) {
        print_error("expected EXISTING, STOPPING, EXITED, REMOVED for %s:\n", a->id);
        print_events(evs, n);
        fail();
    }
    free(evs);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(watch_sequences_increase_strictly)
{
    fl_watcher *w = fl_watch_start(e, NULL, NULL, 1);
    fl_watch_sync(e, w, e->pool);
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    fl_shutdown(e, a->id);
    fl_shutdown(e, b->id);
    assert_true(fl_watch_wait(w, b->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    assert_true(n >= 10);
    for (size_t i = 1; i < n; i++) {
        if (evs[i].sequence <= evs[i - 1].sequence) {
            print_error("sequence does not increase at event %zu:\n", i);
            print_events(evs, n);
            fail();
        }
    }
    free(evs);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(watch_reports_boot_and_shutdown_in_order)
{
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, w, e->pool);
    flame_runner *r = fl_boot_default(e, NULL);
    fl_shutdown(e, r->id);
    assert_true(fl_watch_wait(w, r->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    int types[16];
    size_t k = types_of(evs, n, r->id, types, 16);
    static const int want[] = {FLAME_EVENT_BOOTING, FLAME_EVENT_STARTED, FLAME_EVENT_STOPPING,
                               FLAME_EVENT_EXITED, FLAME_EVENT_REMOVED};
    if (k != 5 || memcmp(types, want, sizeof(want)) != 0) {
        print_error("expected BOOTING, STARTED, STOPPING, EXITED, REMOVED for %s:\n", r->id);
        print_events(evs, n);
        fail();
    }
    /* The runner as it is after each event. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(evs[i].runner_id, r->id) != 0)
            continue;
        static const int state_after[] = {
            [FLAME_EVENT_BOOTING] = FLAME_RUNNER_BOOTING,
            [FLAME_EVENT_STARTED] = FLAME_RUNNER_RUNNING,
            [FLAME_EVENT_STOPPING] = FLAME_RUNNER_STOPPING,
            [FLAME_EVENT_EXITED] = FLAME_RUNNER_EXITED,
            [FLAME_EVENT_REMOVED] = FLAME_RUNNER_REMOVED,
        };
        assert_int_equal(evs[i].state, state_after[evs[i].type]);
    }
    free(evs);
    flame_runner_free(r);
}

FL_TEST(watch_reports_a_failed_boot)
{
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, w, e->pool);
    const char *cmd[] = {"/no/such/binary-fltest", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    flame_runner *r = NULL;
    flame_status st;
    assert_true(flame_client_boot(e->client, &req, &r, &st) < 0);
    flame_runner_free(r);
    /* The last probe's events are in; find this Boot's: BOOTING, FAILED, then REMOVED. */
    assert_true(fl_watch_wait(w, NULL, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    const char *id = NULL;
    for (size_t i = 0; i < n; i++)
        if (evs[i].type == FLAME_EVENT_BOOTING && !evs[i].probe[0])
            id = evs[i].runner_id;
    assert_non_null(id);
    int types[16];
    size_t k = types_of(evs, n, id, types, 16);
    static const int want[] = {FLAME_EVENT_BOOTING, FLAME_EVENT_FAILED, FLAME_EVENT_REMOVED};
    if (k != 3 || memcmp(types, want, sizeof(want)) != 0) {
        print_error("expected BOOTING, FAILED, REMOVED for %s:\n", id);
        print_events(evs, n);
        fail();
    }
    free(evs);
}

static int never(void *ud, const flame_event *ev)
{
    (void)ud;
    (void)ev;
    return 1;
}

FL_TEST(watch_with_invalid_filters_is_invalid_argument)
{
    flame_status st;
    flame_watch_request req = {.pool = "bad pool!", .timeout_ms = 10000};
    int rc = flame_client_watch(e->client, &req, never, NULL, &st);
    fl_assert_status(rc, &st, 3 /* INVALID_ARGUMENT */);
    fl_assert_contains(st.message, "pool");
    req = (flame_watch_request){.runner_id = "not/an id", .timeout_ms = 10000};
    rc = flame_client_watch(e->client, &req, never, NULL, &st);
    fl_assert_status(rc, &st, 3 /* INVALID_ARGUMENT */);
    fl_assert_contains(st.message, "runner_id");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(watch_include_existing_sends_current_runners_first),
        FL_UNIT(watch_pool_filter_excludes_other_pools),
        FL_UNIT(watch_runner_id_filter_sends_only_that_runner),
        FL_UNIT(watch_sequences_increase_strictly),
        FL_UNIT(watch_reports_boot_and_shutdown_in_order),
        FL_UNIT(watch_reports_a_failed_boot),
        FL_UNIT(watch_with_invalid_filters_is_invalid_argument),
    };
    return FL_RUN_SHARED("watch", tests);
}
