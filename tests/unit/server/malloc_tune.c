/* Unit tests: the GLIBC_TUNABLES value flamed starts with (common/malloc_tune.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/malloc_tune.h"
#include "flame/error.h"

static void names_finds_a_tunable_by_its_whole_name(void **state)
{
    (void)state;
    assert_true(malloc_tune_names("glibc.malloc.tcache_count=7", MALLOC_TUNE_TCACHE));
    assert_true(malloc_tune_names("glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0", MALLOC_TUNE_TCACHE));
    assert_true(malloc_tune_names("a=1:glibc.malloc.trim_threshold=5:b=2", "glibc.malloc.trim_threshold"));
}

static void names_ignores_prefixes_values_and_empty_input(void **state)
{
    (void)state;
    assert_false(malloc_tune_names(NULL, MALLOC_TUNE_TCACHE));
    assert_false(malloc_tune_names("", MALLOC_TUNE_TCACHE));
    /* a longer name that starts with ours, ours without '=', ours as a value */
    assert_false(malloc_tune_names("glibc.malloc.tcache_count_x=0", MALLOC_TUNE_TCACHE));
    assert_false(malloc_tune_names("glibc.malloc.tcache_count", MALLOC_TUNE_TCACHE));
    assert_false(malloc_tune_names("x=glibc.malloc.tcache_count=0", MALLOC_TUNE_TCACHE));
    assert_false(malloc_tune_names("glibc.malloc.tcache_max=0", MALLOC_TUNE_TCACHE));
}

static void tunables_adds_tcache_off_when_unset(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(malloc_tune_tunables(NULL, out, sizeof(out)), 1);
    assert_string_equal(out, "glibc.malloc.tcache_count=0");
    assert_int_equal(malloc_tune_tunables("", out, sizeof(out)), 1);
    assert_string_equal(out, "glibc.malloc.tcache_count=0");
}

static void tunables_keeps_the_callers_other_tunables(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(malloc_tune_tunables("glibc.malloc.arena_max=4", out, sizeof(out)), 1);
    assert_string_equal(out, "glibc.malloc.arena_max=4:glibc.malloc.tcache_count=0");
}

static void tunables_leaves_a_callers_tcache_setting_alone(void **state)
{
    (void)state;
    char out[128] = "untouched";
    assert_int_equal(malloc_tune_tunables("glibc.malloc.tcache_count=7", out, sizeof(out)), 0);
    assert_string_equal(out, "untouched");
    /* what flamed's own second exec sees: no third */
    assert_int_equal(malloc_tune_tunables("a=1:glibc.malloc.tcache_count=0", out, sizeof(out)), 0);
}

static void tunables_refuses_what_does_not_fit(void **state)
{
    (void)state;
    char out[27]; /* one byte short of "glibc.malloc.tcache_count=0" and its NUL */
    assert_int_equal(malloc_tune_tunables(NULL, out, sizeof(out)), FLAME_EINVALID);
    char big[40];
    assert_int_equal(malloc_tune_tunables(NULL, big, sizeof(big)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_finds_a_tunable_by_its_whole_name),
        cmocka_unit_test(names_ignores_prefixes_values_and_empty_input),
        cmocka_unit_test(tunables_adds_tcache_off_when_unset),
        cmocka_unit_test(tunables_keeps_the_callers_other_tunables),
        cmocka_unit_test(tunables_leaves_a_callers_tcache_setting_alone),
        cmocka_unit_test(tunables_refuses_what_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
