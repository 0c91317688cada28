/* Unit tests: the registry's call shapes: get's codes, insert's options, watch's options. */
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

struct fx {
    event_hub *hub;
    runner_registry *reg;
};

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
    runner_registry_free(fx->reg);
    event_hub_free(fx->hub);
    free(fx);
    return 0;
}

static struct runner *mk(const char *id, const char *pool, const char *request_id)
{
    struct runner *r = runner_new();
    assert_non_null(r);
    assert_int_equal(runner_set_str(&r->id, id), 0);
    assert_int_equal(runner_set_str(&r->pool, pool), 0);
    assert_int_equal(runner_set_str(&r->name, id), 0);
    assert_int_equal(runner_set_str(&r->request_id, request_id), 0);
    return r;
}

static void get_of_an_unknown_runner_is_not_found_and_clears_out(void **state)
{
    struct fx *fx = *state;
    struct runner *r = (struct runner *)fx; /* garbage that must be overwritten */
    assert_int_equal(runner_registry_get(fx->reg, "nope", &r), FLAME_ENOTFOUND);
    assert_null(r);
    r = (struct runner *)fx;
    assert_int_equal(runner_registry_get_by_container(fx->reg, "0123456789ab", &r), FLAME_ENOTFOUND);
    assert_null(r);
    r = (struct runner *)fx;
    assert_int_equal(runner_registry_get_by_container(fx->reg, "short", &r), FLAME_ENOTFOUND);
    assert_null(r);
}

static void get_of_a_known_runner_gives_a_snapshot(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(runner_registry_insert(fx->reg, mk("r1", "p", ""), NULL, NULL), 0);
    struct runner *r = NULL;
    assert_int_equal(runner_registry_get(fx->reg, "r1", &r), 0);
    assert_non_null(r);
    assert_string_equal(r->id, "r1");
    assert_int_equal(r->state, FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING);
    runner_free(r);
}

static void insert_within_quotas_reports_the_counts(void **state)
{
    struct fx *fx = *state;
    const struct runner_insert_opts q = {.max_total = 3, .max_pool = 2};
    struct runner_insert_info info;
    assert_int_equal(runner_registry_insert(fx->reg, mk("a1", "a", ""), &q, &info), 0);
    assert_int_equal(info.live_total, 0);
    assert_int_equal(runner_registry_insert(fx->reg, mk("a2", "a", ""), &q, &info), 0);
    assert_int_equal(info.live_pool, 1);
    struct runner *a3 = mk("a3", "a", "");
    assert_int_equal(runner_registry_insert(fx->reg, a3, &q, &info), FLAME_EEXHAUSTED);
    assert_int_equal(info.live_total, 2);
    assert_int_equal(info.live_pool, 2);
    assert_null(info.existing);
    runner_free(a3); /* not taken */
    assert_int_equal(runner_registry_insert(fx->reg, mk("b1", "b", ""), &q, &info), 0);
    struct runner *b2 = mk("b2", "b", "");
    assert_int_equal(runner_registry_insert(fx->reg, b2, &q, NULL), FLAME_EEXHAUSTED); /* total */
    runner_free(b2);
}

static void idempotent_insert_answers_the_existing_runner_only_when_asked(void **state)
{
    struct fx *fx = *state;
    const struct runner_insert_opts once = {.idempotent = 1};
    struct runner_insert_info info;
    assert_int_equal(runner_registry_insert(fx->reg, mk("r1", "p", "key"), &once, &info), 0);
    assert_null(info.existing);
    struct runner *again = mk("r2", "p", "key");
    assert_int_equal(runner_registry_insert(fx->reg, again, &once, &info), FLAME_EEXISTS);
    assert_non_null(info.existing);
    assert_string_equal(info.existing->id, "r1");
    runner_free(info.existing);
    /* No info to receive it: the snapshot is not leaked (LSan). */
    assert_int_equal(runner_registry_insert(fx->reg, again, &once, NULL), FLAME_EEXISTS);
    /* Not idempotent: the same key makes a second runner. */
    assert_int_equal(runner_registry_insert(fx->reg, again, NULL, &info), 0);
    assert_null(info.existing);
    struct runner *dup = mk("r2", "p", "");
    assert_int_equal(runner_registry_insert(fx->reg, dup, NULL, NULL), FLAME_EEXISTS); /* id taken */
    runner_free(dup);
}

static void kick(void *ud) { (void)ud; }

static void watch_options_filter_and_resume(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(runner_registry_insert(fx->reg, mk("a1", "a", ""), NULL, NULL), 0);
    assert_int_equal(runner_registry_insert(fx->reg, mk("b1", "b", ""), NULL, NULL), 0);
    const char *const pools[] = {"b"};
    const struct runner_watch_opts o = {.include_existing = 1, .pools = pools, .n_pools = 1, .kick = kick};
    hub_watcher *w = NULL;
    assert_int_equal(runner_registry_watch(fx->reg, &o, &w), 0);
    hub_event *ev = NULL;
    assert_int_equal(event_hub_pop(w, &ev, NULL), HUB_POP_EVENT);
    assert_string_equal(ev->runner_id, "b1");
    hub_event_unref(ev);
    assert_int_equal(event_hub_pop(w, &ev, NULL), HUB_POP_EMPTY);
    event_hub_unsubscribe(fx->hub, w);
    /* A resume from before the kept history: FLAME_ERANGE, no watcher. */
    const struct runner_watch_opts old = {.after_sequence = 1, .kick = kick};
    w = (hub_watcher *)fx;
    assert_int_equal(runner_registry_watch(fx->reg, &old, &w), FLAME_ERANGE);
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_of_an_unknown_runner_is_not_found_and_clears_out, setup, teardown),
        cmocka_unit_test_setup_teardown(get_of_a_known_runner_gives_a_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(insert_within_quotas_reports_the_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(idempotent_insert_answers_the_existing_runner_only_when_asked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(watch_options_filter_and_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
