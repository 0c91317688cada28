/* Unit tests: runner registry transitions, lookups and the events they publish. */
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

#define CID "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180706f5e4d3c2b1a00"

struct fx {
    event_hub *hub;
    runner_registry *reg;
    hub_watcher *w;
    int kicks;
    uint64_t last_seq;
};

static void kick(void *ud) { ((struct fx *)ud)->kicks++; }

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(event_hub_new(&fx->hub), 0);
    assert_int_equal(runner_registry_new(&fx->reg, fx->hub), 0);
    assert_int_equal(reg_watch(fx->reg, "", "", 0, NULL, 0, 256, kick, fx, &fx->w), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    event_hub_unsubscribe(fx->hub, fx->w);
    runner_registry_free(fx->reg);
    event_hub_free(fx->hub);
    free(fx);
    return 0;
}

static struct runner *mk(const char *id, const char *pool)
{
    struct runner *r = runner_new();

    assert_non_null(r);
    assert_int_equal(runner_set_str(&r->id, id), 0);
    assert_int_equal(runner_set_str(&r->pool, pool), 0);
    assert_int_equal(runner_set_str(&r->image, "app:latest"), 0);
    assert_int_equal(runner_set_str(&r->name, id), 0);
    return r;
}

static void insert(struct fx *fx, const char *id, const char *pool)
{
    assert_int_equal(runner_registry_insert(fx->reg, mk(id, pool), NULL, NULL), 0);
}

/* Pop the next event, check its type and that its sequence is above the last one seen. */
static Flame__V1__WatchResponse *expect_event(struct fx *fx, int type)
{
    hub_event *ev = NULL;
    Flame__V1__WatchResponse *resp;

    assert_int_equal(event_hub_pop(fx->w, &ev, NULL), HUB_POP_EVENT);
    resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
    assert_non_null(resp);
    assert_int_equal(resp->type, type);
    assert_int_equal(ev->type, type);
    assert_true(resp->sequence == ev->sequence);
    if (resp->sequence <= fx->last_seq)
        fail_msg("sequence %llu after %llu", (unsigned long long)resp->sequence,
                 (unsigned long long)fx->last_seq);
    fx->last_seq = resp->sequence;
    assert_non_null(resp->runner);
    assert_true(resp->time_unix_nano > 0);
    hub_event_unref(ev);
    return resp;
}

/* Pop the next event, check type, runner id and runner state, and free it. */
static void expect(struct fx *fx, int type, const char *id, int state)
{
    Flame__V1__WatchResponse *resp = expect_event(fx, type);

    assert_string_equal(resp->runner->id, id);
    assert_int_equal(resp->runner->state, state);
    flame__v1__watch_response__free_unpacked(resp, NULL);
}

static void expect_nothing(struct fx *fx)
{
    hub_event *ev = NULL;

    assert_int_equal(event_hub_pop(fx->w, &ev, NULL), HUB_POP_EMPTY);
}

static int state_of(struct fx *fx, const char *id)
{
    struct runner *r = reg_get(fx->reg, id);
    int st;

    assert_non_null(r);
    st = r->state;
    runner_free(r);
    return st;
}

/* Give a BOOTING runner its container (CID) and make it RUNNING. */
static int runner_set_container_and_run(struct fx *fx, const char *id)
{
    int rc = runner_registry_set_container(fx->reg, id, CID);

    return rc < 0 ? rc : runner_registry_set_running(fx->reg, id, "10.0.0.2");
}

/* ---------------------------------------------------------------- events */

static void insert_publishes_booting(void **state)
{
    struct fx *fx = *state;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "MyApp.Pool");
    resp = expect_event(fx, E(BOOTING));
    assert_string_equal(resp->runner->id, "r1");
    assert_string_equal(resp->runner->pool, "MyApp.Pool");
    assert_string_equal(resp->runner->image, "app:latest");
    assert_int_equal(resp->runner->state, S(BOOTING));
    flame__v1__watch_response__free_unpacked(resp, NULL);
    expect_nothing(fx);
}

static void insert_sets_state_booting_whatever_it_was(void **state)
{
    struct fx *fx = *state;
    struct runner *r = mk("r1", "p");

    r->state = S(EXITED);
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
    assert_int_equal(state_of(fx, "r1"), S(BOOTING));
}

static void insert_of_a_taken_id_is_refused_without_event(void **state)
{
    struct fx *fx = *state;
    struct runner *dup = mk("r1", "p");

    insert(fx, "r1", "p");
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    assert_int_equal(runner_registry_insert(fx->reg, dup, NULL, NULL), FLAME_EEXISTS);
    runner_free(dup); /* not taken on failure */
    expect_nothing(fx);
}

static void lifecycle_publishes_each_event_in_order(void **state)
{
    struct fx *fx = *state;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "p");
    assert_int_equal(runner_registry_set_container(fx->reg, "r1", CID), 0);
    assert_int_equal(runner_registry_set_running(fx->reg, "r1", "172.18.0.5"), 0);
    assert_int_equal(runner_registry_set_stopping(fx->reg, "r1"), 0);
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 143, 0), 0);
    assert_int_equal(runner_registry_set_removed(fx->reg, "r1"), 0);

    expect(fx, E(BOOTING), "r1", S(BOOTING));
    resp = expect_event(fx, E(STARTED));
    assert_int_equal(resp->runner->state, S(RUNNING));
    assert_string_equal(resp->runner->ip_address, "172.18.0.5");
    assert_string_equal(resp->runner->container_id, CID);
    flame__v1__watch_response__free_unpacked(resp, NULL);
    expect(fx, E(STOPPING), "r1", S(STOPPING));
    resp = expect_event(fx, E(EXITED));
    assert_int_equal(resp->runner->state, S(EXITED));
    assert_int_equal(resp->runner->exit_code, 143);
    assert_false(resp->runner->oom_killed);
    flame__v1__watch_response__free_unpacked(resp, NULL);
    expect(fx, E(REMOVED), "r1", S(REMOVED));
    expect_nothing(fx);
}

static void set_container_publishes_nothing(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    assert_int_equal(runner_registry_set_container(fx->reg, "r1", CID), 0);
    expect_nothing(fx);
}

static void boot_failure_publishes_failed_then_removed(void **state)
{
    struct fx *fx = *state;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "p");
    assert_int_equal(runner_registry_set_failed(fx->reg, "r1", "image not found"), 0);
    assert_int_equal(runner_registry_set_removed(fx->reg, "r1"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    resp = expect_event(fx, E(FAILED));
    assert_int_equal(resp->runner->state, S(FAILED));
    assert_string_equal(resp->runner->error, "image not found");
    flame__v1__watch_response__free_unpacked(resp, NULL);
    expect(fx, E(REMOVED), "r1", S(REMOVED));
    expect_nothing(fx);
}

static void set_removed_twice_publishes_once(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    assert_int_equal(runner_registry_set_removed(fx->reg, "r1"), 0);
    assert_int_equal(runner_registry_set_removed(fx->reg, "r1"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(REMOVED), "r1", S(REMOVED));
    expect_nothing(fx);
}

static void set_exited_after_exited_publishes_nothing(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 1, 0), 0);
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 2, 1), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STARTED), "r1", S(RUNNING));
    expect(fx, E(EXITED), "r1", S(EXITED));
    expect_nothing(fx);
    r = reg_get(fx->reg, "r1");
    assert_int_equal(r->exit_code, 1); /* the first exit is the one kept */
    assert_false(r->oom_killed);
    runner_free(r);
}

static void set_running_twice_publishes_once(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    assert_int_equal(runner_registry_set_running(fx->reg, "r1", "10.0.0.3"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STARTED), "r1", S(RUNNING));
    expect_nothing(fx);
    r = reg_get(fx->reg, "r1");
    assert_string_equal(r->ip_address, "10.0.0.2");
    runner_free(r);
}

static void set_stopping_twice_publishes_once(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    runner_registry_set_stopping(fx->reg, "r1");
    assert_int_equal(runner_registry_set_stopping(fx->reg, "r1"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STARTED), "r1", S(RUNNING));
    expect(fx, E(STOPPING), "r1", S(STOPPING));
    expect_nothing(fx);
}

static void stopping_a_booting_runner_publishes_stopping(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    assert_int_equal(runner_registry_set_stopping(fx->reg, "r1"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STOPPING), "r1", S(STOPPING));
}

static void running_after_stopping_does_not_go_back(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_stopping(fx->reg, "r1");
    assert_int_equal(runner_registry_set_running(fx->reg, "r1", "10.0.0.2"), 0);
    assert_int_equal(state_of(fx, "r1"), S(STOPPING));
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STOPPING), "r1", S(STOPPING));
    expect_nothing(fx);
}

static void transitions_after_removed_publish_nothing(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_removed(fx->reg, "r1");
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(REMOVED), "r1", S(REMOVED));
    assert_int_equal(runner_registry_set_running(fx->reg, "r1", "10.0.0.2"), 0);
    assert_int_equal(runner_registry_set_stopping(fx->reg, "r1"), 0);
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 0, 0), 0);
    assert_int_equal(runner_registry_set_failed(fx->reg, "r1", "late"), 0);
    expect_nothing(fx);
    assert_int_equal(state_of(fx, "r1"), S(REMOVED));
}

static void failed_twice_publishes_once(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_failed(fx->reg, "r1", "first");
    assert_int_equal(runner_registry_set_failed(fx->reg, "r1", "second"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(FAILED), "r1", S(FAILED));
    expect_nothing(fx);
    r = reg_get(fx->reg, "r1");
    assert_string_equal(r->error, "first");
    runner_free(r);
}

/* registry.h: FAILED is reached from BOOTING only; a runner Shutdown is already stopping
 * stays on its STOPPING -> EXITED -> REMOVED path when a racing Boot gives up on it. */
static void failing_a_stopping_runner_publishes_nothing(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_stopping(fx->reg, "r1");
    assert_int_equal(runner_registry_set_failed(fx->reg, "r1", "left RUNNING during boot"), 0);
    runner_registry_set_exited(fx->reg, "r1", 143, 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STOPPING), "r1", S(STOPPING));
    expect(fx, E(EXITED), "r1", S(EXITED));
    expect_nothing(fx);
    r = reg_get(fx->reg, "r1");
    assert_int_equal(r->exit_code, 143);
    assert_string_equal(r->error, "");
    runner_free(r);
}

static void failing_a_running_runner_publishes_nothing(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    assert_int_equal(runner_registry_set_failed(fx->reg, "r1", "late"), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STARTED), "r1", S(RUNNING));
    expect_nothing(fx);
    assert_int_equal(state_of(fx, "r1"), S(RUNNING));
}

static void exit_while_booting_records_the_code_without_event(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 3, 0), 0);
    expect_nothing(fx);
    r = reg_get(fx->reg, "r1");
    assert_int_equal(r->state, S(BOOTING));
    assert_int_equal(r->exit_code, 3);
    runner_free(r);
}

static void oom_then_exit_keeps_oom_killed(void **state)
{
    struct fx *fx = *state;
    Flame__V1__WatchResponse *resp;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    assert_int_equal(runner_registry_set_oom(fx->reg, "r1"), 0);
    assert_int_equal(runner_registry_set_exited(fx->reg, "r1", 137, 0), 0);
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    expect(fx, E(STARTED), "r1", S(RUNNING));
    resp = expect_event(fx, E(EXITED));
    assert_int_equal(resp->runner->exit_code, 137);
    assert_true(resp->runner->oom_killed);
    flame__v1__watch_response__free_unpacked(resp, NULL);
    expect_nothing(fx); /* the oom itself publishes nothing */
}

static void exit_with_unknown_oom_keeps_recorded_oom(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    runner_registry_set_oom(fx->reg, "r1");
    runner_registry_set_exited(fx->reg, "r1", 137, -1);
    r = reg_get(fx->reg, "r1");
    assert_true(r->oom_killed);
    runner_free(r);
}

static void exit_reporting_oom_sets_oom_killed(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    runner_registry_set_exited(fx->reg, "r1", 137, 1);
    r = reg_get(fx->reg, "r1");
    assert_true(r->oom_killed);
    runner_free(r);
}

static void adopt_publishes_nothing_and_keeps_the_state(void **state)
{
    struct fx *fx = *state;
    struct runner *r = mk("r1", "p");

    r->state = S(RUNNING);
    assert_int_equal(runner_registry_adopt(fx->reg, r), 0);
    expect_nothing(fx);
    assert_int_equal(state_of(fx, "r1"), S(RUNNING));
}

static void unknown_id_is_not_found(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    expect(fx, E(BOOTING), "r1", S(BOOTING));
    assert_null(reg_get(fx->reg, "nope"));
    assert_int_equal(runner_registry_set_container(fx->reg, "nope", CID), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_running(fx->reg, "nope", "1.2.3.4"), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_stopping(fx->reg, "nope"), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_exited(fx->reg, "nope", 0, 0), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_oom(fx->reg, "nope"), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_failed(fx->reg, "nope", "x"), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_set_removed(fx->reg, "nope"), FLAME_ENOTFOUND);
    expect_nothing(fx);
}

static void sequences_are_shared_across_runners(void **state)
{
    struct fx *fx = *state;

    insert(fx, "a", "p");
    insert(fx, "b", "q");
    runner_registry_set_running(fx->reg, "a", "10.0.0.2");
    runner_registry_set_running(fx->reg, "b", "10.0.0.3");
    expect(fx, E(BOOTING), "a", S(BOOTING));
    expect(fx, E(BOOTING), "b", S(BOOTING));
    expect(fx, E(STARTED), "a", S(RUNNING));
    expect(fx, E(STARTED), "b", S(RUNNING));
}

/* ---------------------------------------------------------------- lookups */

static void get_returns_a_snapshot(void **state)
{
    struct fx *fx = *state;
    struct runner *before, *after;

    insert(fx, "r1", "p");
    before = reg_get(fx->reg, "r1");
    runner_registry_set_running(fx->reg, "r1", "10.0.0.2");
    after = reg_get(fx->reg, "r1");
    assert_int_equal(before->state, S(BOOTING));
    assert_string_equal(before->ip_address, "");
    assert_int_equal(after->state, S(RUNNING));
    assert_string_equal(after->ip_address, "10.0.0.2");
    runner_free(before);
    runner_free(after);
}

static void removed_runner_is_still_found_by_id(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_removed(fx->reg, "r1");
    assert_int_equal(state_of(fx, "r1"), S(REMOVED));
}

static void list_is_oldest_first(void **state)
{
    struct fx *fx = *state;
    struct runner **rs = NULL;
    size_t n = 0;

    insert(fx, "c", "p");
    insert(fx, "a", "p");
    insert(fx, "b", "p");
    assert_int_equal(runner_registry_list(fx->reg, "", &rs, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rs[0]->id, "c");
    assert_string_equal(rs[1]->id, "a");
    assert_string_equal(rs[2]->id, "b");
    runner_list_free(rs, n);
}

static void list_excludes_removed_and_failed(void **state)
{
    struct fx *fx = *state;
    struct runner **rs = NULL;
    size_t n = 0;

    insert(fx, "booting", "p");
    insert(fx, "removed", "p");
    insert(fx, "failed", "p");
    insert(fx, "exited", "p");
    runner_registry_set_removed(fx->reg, "removed");
    runner_registry_set_failed(fx->reg, "failed", "boom");
    runner_registry_set_running(fx->reg, "exited", "10.0.0.2");
    runner_registry_set_exited(fx->reg, "exited", 0, 0);
    assert_int_equal(runner_registry_list(fx->reg, NULL, &rs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rs[0]->id, "booting");
    assert_string_equal(rs[1]->id, "exited");
    runner_list_free(rs, n);
    assert_int_equal(reg_count(fx->reg, ""), 2);
}

static void list_filters_by_pool(void **state)
{
    struct fx *fx = *state;
    struct runner **rs = NULL;
    size_t n = 0;

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    insert(fx, "a2", "alpha");
    insert(fx, "a3", "alphabet");
    assert_int_equal(runner_registry_list(fx->reg, "alpha", &rs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rs[0]->id, "a1");
    assert_string_equal(rs[1]->id, "a2");
    runner_list_free(rs, n);
    assert_int_equal(reg_count(fx->reg, "alpha"), 2);
    assert_int_equal(reg_count(fx->reg, "beta"), 1);
    assert_int_equal(reg_count(fx->reg, "gamma"), 0);
}

static void empty_registry_lists_nothing(void **state)
{
    struct fx *fx = *state;
    struct runner **rs = NULL;
    size_t n = 99;

    assert_int_equal(runner_registry_list(fx->reg, "", &rs, &n), 0);
    assert_int_equal(n, 0);
    runner_list_free(rs, n);
}

/* The wire form of List: decodes as a ListResponse equal to the snapshots. */
static Flame__V1__ListResponse *list_wire(struct fx *fx, const char *pool,
                                          int (*allow)(void *, const char *), void *ctx)
{
    uint8_t *wire = NULL;
    size_t len = 99;

    assert_int_equal(runner_registry_list_wire(fx->reg, pool, 1, allow, ctx, &wire, &len), 0);
    assert_non_null(wire);
    Flame__V1__ListResponse *resp = flame__v1__list_response__unpack(NULL, len, wire);
    assert_non_null(resp);
    free(wire);
    return resp;
}

static void list_wire_matches_the_snapshots_field_by_field(void **state)
{
    struct fx *fx = *state;
    struct runner *r = mk("w1", "p");

    assert_int_equal(runner_add_label(r, "team", "media"), 0);
    assert_int_equal(runner_add_label(r, "flamed.pool", "p"), 0);
    assert_int_equal(runner_set_str(&r->network, "appnet"), 0);
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
    insert(fx, "w2", "q");
    insert(fx, "gone", "p");
    runner_registry_set_failed(fx->reg, "gone", "boom");
    assert_int_equal(runner_registry_set_container(fx->reg, "w1", CID), 0);
    assert_int_equal(runner_registry_set_running(fx->reg, "w1", "10.0.0.7"), 0);

    Flame__V1__ListResponse *resp = list_wire(fx, "", NULL, NULL);
    assert_int_equal(resp->n_runners, 2);
    Flame__V1__Runner *w = resp->runners[0];
    assert_string_equal(w->id, "w1");
    assert_string_equal(w->container_id, CID);
    assert_string_equal(w->pool, "p");
    assert_string_equal(w->image, "app:latest");
    assert_string_equal(w->network, "appnet");
    assert_string_equal(w->ip_address, "10.0.0.7");
    assert_int_equal(w->state, S(RUNNING));
    assert_int_equal(w->n_labels, 2);
    assert_string_equal(w->labels[0]->key, "team");
    assert_string_equal(w->labels[0]->value, "media");
    assert_string_equal(resp->runners[1]->id, "w2");
    assert_int_equal(resp->runners[1]->state, S(BOOTING));
    flame__v1__list_response__free_unpacked(resp, NULL);
}

static void list_wire_sees_each_transition(void **state)
{
    struct fx *fx = *state;

    insert(fx, "t1", "p");
    Flame__V1__ListResponse *resp = list_wire(fx, "", NULL, NULL); /* packs t1 BOOTING */
    assert_int_equal(resp->runners[0]->state, S(BOOTING));
    flame__v1__list_response__free_unpacked(resp, NULL);

    runner_registry_set_running(fx->reg, "t1", "10.0.0.9");
    resp = list_wire(fx, "", NULL, NULL);
    assert_int_equal(resp->runners[0]->state, S(RUNNING));
    assert_string_equal(resp->runners[0]->ip_address, "10.0.0.9");
    flame__v1__list_response__free_unpacked(resp, NULL);

    runner_registry_set_exited(fx->reg, "t1", 137, 1);
    resp = list_wire(fx, "", NULL, NULL);
    assert_int_equal(resp->runners[0]->state, S(EXITED));
    assert_int_equal(resp->runners[0]->exit_code, 137);
    assert_true(resp->runners[0]->oom_killed);
    flame__v1__list_response__free_unpacked(resp, NULL);

    runner_registry_set_error(fx->reg, "t1", "lease expired");
    resp = list_wire(fx, "", NULL, NULL);
    assert_string_equal(resp->runners[0]->error, "lease expired");
    flame__v1__list_response__free_unpacked(resp, NULL);

    runner_registry_set_removed(fx->reg, "t1");
    resp = list_wire(fx, "", NULL, NULL);
    assert_int_equal(resp->n_runners, 0);
    flame__v1__list_response__free_unpacked(resp, NULL);
}

static int allow_only(void *ctx, const char *pool) { return strcmp(pool, (const char *)ctx) == 0; }

static void list_wire_filters_by_pool_and_by_the_callers_pools(void **state)
{
    struct fx *fx = *state;

    insert(fx, "a1", "alpha");
    insert(fx, "b1", "beta");
    insert(fx, "a2", "alpha");
    Flame__V1__ListResponse *resp = list_wire(fx, "alpha", NULL, NULL);
    assert_int_equal(resp->n_runners, 2);
    assert_string_equal(resp->runners[0]->id, "a1");
    assert_string_equal(resp->runners[1]->id, "a2");
    flame__v1__list_response__free_unpacked(resp, NULL);

    resp = list_wire(fx, "", allow_only, "beta");
    assert_int_equal(resp->n_runners, 1);
    assert_string_equal(resp->runners[0]->id, "b1");
    flame__v1__list_response__free_unpacked(resp, NULL);

    resp = list_wire(fx, "alpha", allow_only, "beta");
    assert_int_equal(resp->n_runners, 0);
    flame__v1__list_response__free_unpacked(resp, NULL);
}

static void list_wire_of_long_runners_uses_multibyte_lengths(void **state)
{
    struct fx *fx = *state;
    struct runner *r = mk("big", "p");
    char v[300];

    memset(v, 'x', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    assert_int_equal(runner_add_label(r, "k", v), 0); /* runner > 127 bytes: 2-byte varint */
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
    insert(fx, "small", "p");
    Flame__V1__ListResponse *resp = list_wire(fx, "", NULL, NULL);
    assert_int_equal(resp->n_runners, 2);
    assert_string_equal(resp->runners[0]->labels[0]->value, v);
    assert_string_equal(resp->runners[1]->id, "small");
    flame__v1__list_response__free_unpacked(resp, NULL);
}

static void get_by_container_finds_the_full_id(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_container(fx->reg, "r1", CID);
    r = reg_get_by_container(fx->reg, CID);
    assert_non_null(r);
    assert_string_equal(r->id, "r1");
    runner_free(r);
}

static void get_by_container_finds_a_12_character_prefix(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "r1", "p");
    runner_registry_set_container(fx->reg, "r1", CID);
    r = reg_get_by_container(fx->reg, "4f3c2b1a09e8");
    assert_non_null(r);
    assert_string_equal(r->id, "r1");
    runner_free(r);
}

static void get_by_container_refuses_prefixes_under_12_characters(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    runner_registry_set_container(fx->reg, "r1", CID);
    assert_null(reg_get_by_container(fx->reg, "4f3c2b1a09e"));
    assert_null(reg_get_by_container(fx->reg, ""));
}

static void get_by_container_misses_an_unknown_id(void **state)
{
    struct fx *fx = *state;

    insert(fx, "r1", "p");
    insert(fx, "r2", "p"); /* no container yet */
    runner_registry_set_container(fx->reg, "r1", CID);
    assert_null(reg_get_by_container(fx->reg, "ffffffffffff"));
}

static void get_by_container_prefers_the_newest_runner(void **state)
{
    struct fx *fx = *state;
    struct runner *r;

    insert(fx, "old", "p");
    runner_registry_set_container(fx->reg, "old", CID);
    runner_registry_set_removed(fx->reg, "old");
    insert(fx, "new", "p");
    runner_registry_set_container(fx->reg, "new", CID);
    r = reg_get_by_container(fx->reg, CID);
    assert_string_equal(r->id, "new");
    runner_free(r);
}

static void tombstones_beyond_4096_are_pruned_oldest_first(void **state)
{
    struct fx *fx = *state;
    char id[32];
    struct runner *r;

    event_hub_unsubscribe(fx->hub, fx->w); /* 8000 events: no watcher needed */
    fx->w = NULL;
    for (int i = 0; i < 4100; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        insert(fx, id, "p");
        assert_int_equal(runner_registry_set_removed(fx->reg, id), 0);
    }
    insert(fx, "live", "p"); /* pruning happens on insert */
    assert_null(reg_get(fx->reg, "t0"));
    assert_null(reg_get(fx->reg, "t3"));
    r = reg_get(fx->reg, "t4");
    assert_non_null(r);
    runner_free(r);
    r = reg_get(fx->reg, "t4099");
    assert_non_null(r);
    runner_free(r);
    assert_int_equal(reg_count(fx->reg, ""), 1);
}

/* registry.h: "Removed and failed runners are kept as tombstones (the most recent 4096)".
 * Boots that fail before a container exists leave FAILED runners that nothing removes. */
static void failed_tombstones_beyond_4096_are_pruned_oldest_first(void **state)
{
    struct fx *fx = *state;
    char id[32];
    struct runner *r;

    event_hub_unsubscribe(fx->hub, fx->w);
    fx->w = NULL;
    for (int i = 0; i < 4100; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        insert(fx, id, "p");
        assert_int_equal(runner_registry_set_failed(fx->reg, id, "image not found"), 0);
    }
    insert(fx, "live", "p");
    assert_null(reg_get(fx->reg, "f0"));
    assert_null(reg_get(fx->reg, "f3"));
    r = reg_get(fx->reg, "f4");
    assert_non_null(r);
    assert_int_equal(r->state, S(FAILED));
    runner_free(r);
    r = reg_get(fx->reg, "live");
    assert_non_null(r);
    runner_free(r);
}

static void recent_removed_tombstones_outlive_older_failed_ones(void **state)
{
    struct fx *fx = *state;
    char id[32];
    struct runner *r;

    event_hub_unsubscribe(fx->hub, fx->w);
    fx->w = NULL;
    for (int i = 0; i < 4096; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        insert(fx, id, "p");
        runner_registry_set_failed(fx->reg, id, "x");
    }
    insert(fx, "gone", "p");
    runner_registry_set_removed(fx->reg, "gone");
    insert(fx, "live", "p");
    r = reg_get(fx->reg, "gone");
    assert_non_null(r);
    assert_int_equal(r->state, S(REMOVED));
    runner_free(r);
    assert_null(reg_get(fx->reg, "f0"));
}

/* ---------------------------------------------------------------- idempotency (pool, request_id) */

static struct runner *mk_request(const char *id, const char *pool, const char *request_id)
{
    struct runner *r = mk(id, pool);

    assert_int_equal(runner_set_str(&r->request_id, request_id), 0);
    return r;
}

static void same_request_id_in_two_pools_makes_two_runners(void **state)
{
    struct fx *fx = *state;
    struct runner *existing = NULL;

    assert_int_equal(reg_insert_once(fx->reg, mk_request("b1", "poolb", "req-1"), &existing), 0);
    assert_null(existing);
    assert_int_equal(runner_set_container_and_run(fx, "b1"), 0);
    /* poola reuses poolb's key: a new runner, nothing of poolb's handed back. */
    assert_int_equal(reg_insert_once(fx->reg, mk_request("a1", "poola", "req-1"), &existing), 0);
    assert_null(existing);
    assert_int_equal(reg_count(fx->reg, "poola"), 1);
    assert_int_equal(reg_count(fx->reg, "poolb"), 1);
    struct runner *a = reg_get(fx->reg, "a1");
    assert_non_null(a);
    assert_string_equal(a->pool, "poola");
    assert_string_equal(a->container_id, "");
    runner_free(a);
}

static void same_request_id_in_one_pool_returns_the_existing_runner(void **state)
{
    struct fx *fx = *state;
    struct runner *existing = NULL;

    assert_int_equal(reg_insert_once(fx->reg, mk_request("b1", "poolb", "req-1"), &existing), 0);
    assert_int_equal(runner_set_container_and_run(fx, "b1"), 0);
    struct runner *again = mk_request("b2", "poolb", "req-1");
    assert_int_equal(reg_insert_once(fx->reg, again, &existing),
                     FLAME_EEXISTS);
    runner_free(again); /* not taken */
    assert_non_null(existing);
    assert_string_equal(existing->id, "b1");
    assert_string_equal(existing->pool, "poolb");
    assert_string_equal(existing->container_id, CID);
    runner_free(existing);
    assert_int_equal(reg_count(fx->reg, "poolb"), 1);
    assert_null(reg_get(fx->reg, "b2"));
}

static void adopted_runner_keeps_its_key_within_its_pool(void **state)
{
    struct fx *fx = *state;
    struct runner *existing = NULL;

    /* As after a restart: adopted from Docker with flamed.pool and flamed.request_id. */
    struct runner *r = mk_request("b1", "poolb", "req-1");
    r->state = S(RUNNING);
    assert_int_equal(runner_registry_adopt(fx->reg, r), 0);
    struct runner *other = mk_request("a1", "poola", "req-1");
    assert_int_equal(reg_insert_once(fx->reg, other, &existing), 0);
    assert_null(existing);
    struct runner *same = mk_request("b2", "poolb", "req-1");
    assert_int_equal(reg_insert_once(fx->reg, same, &existing),
                     FLAME_EEXISTS);
    runner_free(same);
    assert_non_null(existing);
    assert_string_equal(existing->id, "b1");
    runner_free(existing);
}

static void a_failed_runner_does_not_hold_its_key(void **state)
{
    struct fx *fx = *state;
    struct runner *existing = NULL;

    assert_int_equal(reg_insert_once(fx->reg, mk_request("b1", "poolb", "req-1"), &existing), 0);
    assert_int_equal(runner_registry_set_failed(fx->reg, "b1", "image not found"), 0);
    assert_int_equal(reg_insert_once(fx->reg, mk_request("b2", "poolb", "req-1"), &existing), 0);
    assert_null(existing);
}

static void live_states_are_all_but_removed_and_failed(void **state)
{
    (void)state;
    assert_true(runner_state_is_live(S(BOOTING)));
    assert_true(runner_state_is_live(S(RUNNING)));
    assert_true(runner_state_is_live(S(STOPPING)));
    assert_true(runner_state_is_live(S(EXITED)));
    assert_false(runner_state_is_live(S(REMOVED)));
    assert_false(runner_state_is_live(S(FAILED)));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(insert_publishes_booting),
        T(insert_sets_state_booting_whatever_it_was),
        T(insert_of_a_taken_id_is_refused_without_event),
        T(lifecycle_publishes_each_event_in_order),
        T(set_container_publishes_nothing),
        T(boot_failure_publishes_failed_then_removed),
        T(set_removed_twice_publishes_once),
        T(set_exited_after_exited_publishes_nothing),
        T(set_running_twice_publishes_once),
        T(set_stopping_twice_publishes_once),
        T(stopping_a_booting_runner_publishes_stopping),
        T(running_after_stopping_does_not_go_back),
        T(transitions_after_removed_publish_nothing),
        T(failed_twice_publishes_once),
        T(failing_a_stopping_runner_publishes_nothing),
        T(failing_a_running_runner_publishes_nothing),
        T(exit_while_booting_records_the_code_without_event),
        T(oom_then_exit_keeps_oom_killed),
        T(exit_with_unknown_oom_keeps_recorded_oom),
        T(exit_reporting_oom_sets_oom_killed),
        T(adopt_publishes_nothing_and_keeps_the_state),
        T(unknown_id_is_not_found),
        T(sequences_are_shared_across_runners),
        T(get_returns_a_snapshot),
        T(removed_runner_is_still_found_by_id),
        T(list_is_oldest_first),
        T(list_excludes_removed_and_failed),
        T(list_filters_by_pool),
        T(empty_registry_lists_nothing),
        T(list_wire_matches_the_snapshots_field_by_field),
        T(list_wire_sees_each_transition),
        T(list_wire_filters_by_pool_and_by_the_callers_pools),
        T(list_wire_of_long_runners_uses_multibyte_lengths),
        T(get_by_container_finds_the_full_id),
        T(get_by_container_finds_a_12_character_prefix),
        T(get_by_container_refuses_prefixes_under_12_characters),
        T(get_by_container_misses_an_unknown_id),
        T(get_by_container_prefers_the_newest_runner),
        T(tombstones_beyond_4096_are_pruned_oldest_first),
        T(failed_tombstones_beyond_4096_are_pruned_oldest_first),
        T(recent_removed_tombstones_outlive_older_failed_ones),
        T(live_states_are_all_but_removed_and_failed),
        T(same_request_id_in_two_pools_makes_two_runners),
        T(same_request_id_in_one_pool_returns_the_existing_runner),
        T(adopted_runner_keeps_its_key_within_its_pool),
        T(a_failed_runner_does_not_hold_its_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
