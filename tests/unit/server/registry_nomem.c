/* Unit tests: the registry says FLAME_ENOMEM, not "not found", when a snapshot
 * cannot be made. Linked with -Wl,--wrap=runner_dup (tests/CMakeLists.txt), so
 * the registry's copies can be made to fail. */
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

static int fail_dup;

struct runner *__real_runner_dup(const struct runner *r);
struct runner *__wrap_runner_dup(const struct runner *r);
struct runner *__wrap_runner_dup(const struct runner *r)
{
    return fail_dup ? NULL : __real_runner_dup(r);
}

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
    struct runner *r = runner_new();
    assert_non_null(r);
    assert_int_equal(runner_set_str(&r->id, "r1"), 0);
    assert_int_equal(runner_set_str(&r->pool, "p"), 0);
    assert_int_equal(runner_set_str(&r->request_id, "key"), 0);
    assert_int_equal(runner_registry_insert(fx->reg, r, NULL, NULL), 0);
    assert_int_equal(runner_registry_set_container(fx->reg, "r1", "0123456789abcdef"), 0);
    fail_dup = 0;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    fail_dup = 0;
    runner_registry_free(fx->reg);
    event_hub_free(fx->hub);
    free(fx);
    return 0;
}

static void get_without_memory_is_enomem_not_notfound(void **state)
{
    struct fx *fx = *state;
    struct runner *r = NULL;
    fail_dup = 1;
    assert_int_equal(runner_registry_get(fx->reg, "r1", &r), FLAME_ENOMEM);
    assert_null(r);
    assert_int_equal(runner_registry_get(fx->reg, "nope", &r), FLAME_ENOTFOUND);
    assert_int_equal(runner_registry_get_by_container(fx->reg, "0123456789ab", &r), FLAME_ENOMEM);
    assert_null(r);
    fail_dup = 0;
    assert_int_equal(runner_registry_get(fx->reg, "r1", &r), 0);
    runner_free(r);
}

static void idempotent_match_without_memory_is_enomem_and_takes_nothing(void **state)
{
    struct fx *fx = *state;
    struct runner *again = runner_new();
    assert_non_null(again);
    assert_int_equal(runner_set_str(&again->id, "r2"), 0);
    assert_int_equal(runner_set_str(&again->pool, "p"), 0);
    assert_int_equal(runner_set_str(&again->request_id, "key"), 0);
    const struct runner_insert_opts once = {.idempotent = 1};
    struct runner_insert_info info;
    fail_dup = 1;
    assert_int_equal(runner_registry_insert(fx->reg, again, &once, &info), FLAME_ENOMEM);
    assert_null(info.existing);
    runner_free(again); /* not taken */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_without_memory_is_enomem_not_notfound, setup, teardown),
        cmocka_unit_test_setup_teardown(idempotent_match_without_memory_is_enomem_and_takes_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
