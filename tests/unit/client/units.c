/* Memory sizes and CPU counts as `docker run --memory/--cpus` read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "flame/client.h"

static int64_t mem(const char *s)
{
    int64_t v = -1;

    assert_int_equal(flame_parse_memory_bytes(s, &v), 0);
    return v;
}

static void mem_bad(const char *s)
{
    int64_t v = 42;

    assert_int_equal(flame_parse_memory_bytes(s, &v), FLAME_EINVALID);
    assert_int_equal(v, 42); /* untouched on error */
}

static void memory_plain_number_is_bytes(void **state)
{
    (void)state;
    assert_int_equal(mem("0"), 0);
    assert_int_equal(mem("1024"), 1024);
    assert_int_equal(mem("7b"), 7);
    assert_int_equal(mem("7B"), 7);
}

static void memory_suffixes_are_binary(void **state)
{
    (void)state;
    assert_int_equal(mem("1k"), 1024);
    assert_int_equal(mem("512m"), 536870912);
    assert_int_equal(mem("512M"), 536870912);
    assert_int_equal(mem("2g"), 2147483648LL);
    assert_int_equal(mem("1t"), 1099511627776LL);
}

static void memory_accepts_b_and_ib_after_the_unit(void **state)
{
    (void)state;
    assert_int_equal(mem("512mb"), 536870912);
    assert_int_equal(mem("512MiB"), 536870912);
    assert_int_equal(mem("4KB"), 4096);
}

static void memory_fractions_are_exact(void **state)
{
    (void)state;
    assert_int_equal(mem("1.5g"), 1610612736LL);
    assert_int_equal(mem("0.5k"), 512);
    assert_int_equal(mem("0.25m"), 262144);
    assert_int_equal(mem("1.000000001g"), 1073741825LL); /* floor */
}

static void memory_rejects_garbage(void **state)
{
    (void)state;
    mem_bad("");
    mem_bad("m");
    mem_bad("-1m");
    mem_bad("+1m");
    mem_bad(" 1m");
    mem_bad("1m ");
    mem_bad("1x");
    mem_bad("1mm");
    mem_bad("1.m");
    mem_bad(".5m"); /* docker also wants a leading digit */
    mem_bad("1.5"); /* a fraction of a byte */
    mem_bad("1.5b");
    mem_bad("0x10");
    mem_bad("1e3");
}

static void memory_rejects_overflow(void **state)
{
    (void)state;
    assert_int_equal(mem("9223372036854775807"), INT64_MAX);
    mem_bad("9223372036854775808");
    mem_bad("99999999999999999999999");
    mem_bad("8388608t"); /* 2^63 */
    assert_int_equal(mem("8388607t"), 8388607LL * 1099511627776LL);
}

static void memory_null_arguments_are_invalid(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(flame_parse_memory_bytes(NULL, &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_memory_bytes("1m", NULL), FLAME_EINVALID);
}

static int64_t cpus(const char *s)
{
    int64_t v = -1;

    assert_int_equal(flame_parse_nano_cpus(s, &v), 0);
    return v;
}

static void cpus_are_nano_units_exactly(void **state)
{
    (void)state;
    assert_int_equal(cpus("1"), 1000000000LL);
    assert_int_equal(cpus("1.5"), 1500000000LL);
    assert_int_equal(cpus("0.1"), 100000000LL);
    assert_int_equal(cpus("0.000000001"), 1);
    assert_int_equal(cpus("0"), 0);
    assert_int_equal(cpus("16.25"), 16250000000LL);
}

static void cpus_reject_garbage(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(flame_parse_nano_cpus("", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("-1", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("1.5x", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("1.", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("0.0000000001", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("1e2", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus("99999999999", &v), FLAME_EINVALID);
    assert_int_equal(flame_parse_nano_cpus(NULL, &v), FLAME_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_plain_number_is_bytes),
        cmocka_unit_test(memory_suffixes_are_binary),
        cmocka_unit_test(memory_accepts_b_and_ib_after_the_unit),
        cmocka_unit_test(memory_fractions_are_exact),
        cmocka_unit_test(memory_rejects_garbage),
        cmocka_unit_test(memory_rejects_overflow),
        cmocka_unit_test(memory_null_arguments_are_invalid),
        cmocka_unit_test(cpus_are_nano_units_exactly),
        cmocka_unit_test(cpus_reject_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
