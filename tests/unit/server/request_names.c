/* Unit tests: request_runner_name (container name = hostname = DNS label). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service/request.h"

#define ID "0123456789abcdef"

/* RFC 1123 label as Docker and BEAM accept it: [a-z0-9-], 1..63, alnum at both ends, no "--". */
static void assert_dns_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63)
        fail_msg("'%s' is %zu bytes, not 1..63", s, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            fail_msg("'%s' has '%c' at %zu", s, c, i);
    }
    if (s[0] == '-' || s[n - 1] == '-')
        fail_msg("'%s' starts or ends with '-'", s);
    if (strstr(s, "--"))
        fail_msg("'%s' has a double dash", s);
}

static void name_of(const char *pool, char *out, size_t outlen)
{
    request_runner_name(pool, ID, out, outlen);
    assert_dns_label(out);
}

static void elixir_module_pool_becomes_a_lowercase_slug(void **state)
{
    char name[64];

    (void)state;
    name_of("MyApp.FFMpegRunner", name, sizeof(name));
    assert_string_equal(name, "flame-myapp-ffmpegrunner-0123456789ab");
}

static void empty_pool_uses_default(void **state)
{
    char name[64];

    (void)state;
    name_of("", name, sizeof(name));
    assert_string_equal(name, "flame-default-0123456789ab");
}

static void null_pool_uses_default(void **state)
{
    char name[64];

    (void)state;
    name_of(NULL, name, sizeof(name));
    assert_string_equal(name, "flame-default-0123456789ab");
}

static void only_the_first_12_id_characters_are_used(void **state)
{
    char name[64];

    (void)state;
    name_of("p", name, sizeof(name));
    assert_string_equal(name, "flame-p-0123456789ab");
}

static void runs_of_separators_become_one_dash(void **state)
{
    char name[64];

    (void)state;
    name_of("a._-b", name, sizeof(name));
    assert_string_equal(name, "flame-a-b-0123456789ab");
}

static void trailing_separators_are_dropped(void **state)
{
    char name[64];

    (void)state;
    name_of("web_.", name, sizeof(name));
    assert_string_equal(name, "flame-web-0123456789ab");
}

static void long_pool_is_truncated_to_24_characters(void **state)
{
    char name[64];

    (void)state;
    name_of("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", name,
            sizeof(name));
    assert_string_equal(name, "flame-abcdefghijklmnopqrstuvwx-0123456789ab");
}

static void truncation_at_a_separator_leaves_no_double_dash(void **state)
{
    char name[64];

    (void)state;
    /* The 24th slug character is the dash for '.'. */
    name_of("abcdefghijklmnopqrstuvw.xyz", name, sizeof(name));
    assert_string_equal(name, "flame-abcdefghijklmnopqrstuvw-0123456789ab");
}

static void longest_pool_fits_in_63_bytes(void **state)
{
    char pool[REQ_POOL_MAX + 1], name[128];

    (void)state;
    memset(pool, 'Z', REQ_POOL_MAX);
    pool[REQ_POOL_MAX] = '\0';
    name_of(pool, name, sizeof(name));
    assert_true(strlen(name) <= 63);
}

static void every_valid_pool_gives_a_dns_label(void **state)
{
    static const char alphabet[] = "abcXYZ019_.-";
    unsigned seed = 12345;
    char pool[REQ_POOL_MAX + 1], name[128], err[256];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t n;

        seed = seed * 1103515245u + 12345u;
        n = 1 + (seed >> 8) % REQ_POOL_MAX;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            pool[i] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }
        pool[n] = '\0';
        if (request_pool_validate(pool, err, sizeof(err)) != 0)
            continue;
        request_runner_name(pool, ID, name, sizeof(name));
        assert_dns_label(name);
        assert_non_null(strstr(name, "0123456789ab"));
    }
}

static void short_buffer_is_truncated_and_terminated(void **state)
{
    char name[8];

    (void)state;
    memset(name, 'X', sizeof(name));
    request_runner_name("pool", ID, name, sizeof(name));
    assert_string_equal(name, "flame-p");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elixir_module_pool_becomes_a_lowercase_slug),
        cmocka_unit_test(empty_pool_uses_default),
        cmocka_unit_test(null_pool_uses_default),
        cmocka_unit_test(only_the_first_12_id_characters_are_used),
        cmocka_unit_test(runs_of_separators_become_one_dash),
        cmocka_unit_test(trailing_separators_are_dropped),
        cmocka_unit_test(long_pool_is_truncated_to_24_characters),
        cmocka_unit_test(truncation_at_a_separator_leaves_no_double_dash),
        cmocka_unit_test(longest_pool_fits_in_63_bytes),
        cmocka_unit_test(every_valid_pool_gives_a_dns_label),
        cmocka_unit_test(short_buffer_is_truncated_and_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
