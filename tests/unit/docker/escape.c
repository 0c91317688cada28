/* Unit tests: docker__escape() (percent-encoding of ids, names and filters in
 * Docker API paths, through curl_easy_escape). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker_internal.h"

static void check(const char *in, const char *keep, const char *want)
{
    char out[256];

    assert_int_equal(docker__escape(in, keep, out, sizeof(out)), 0);
    if (strcmp(out, want) != 0)
        fail_msg("docker__escape(\"%s\", \"%s\") = \"%s\", want \"%s\"", in, keep ? keep : "(null)",
                 out, want);
}

static void unreserved_characters_stay(void **state)
{
    (void)state;
    check("flame-app_1.2~x", NULL, "flame-app_1.2~x");
    check("", NULL, "");
}

static void everything_else_is_percent_encoded_in_upper_case_hex(void **state)
{
    (void)state;
    check("a b/c?d&e=f", NULL, "a%20b%2Fc%3Fd%26e%3Df");
    check("{\"label\":[\"x\"]}", NULL, "%7B%22label%22%3A%5B%22x%22%5D%7D");
    check("caf\xc3\xa9", NULL, "caf%C3%A9");
    check("../..", NULL, "..%2F..");
}

static void keep_characters_pass_through(void **state)
{
    (void)state;
    check("registry:5000/app:1.0@sha256:ab", "/:@", "registry:5000/app:1.0@sha256:ab");
    check("a b/c d", "/", "a%20b/c%20d");
    check("//", "/", "//");
}

static void output_that_does_not_fit_is_refused(void **state)
{
    char out[4];

    (void)state;
    assert_int_equal(docker__escape("abc", NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(docker__escape("abcd", NULL, out, sizeof(out)), FLAME_EINVALID);
    assert_int_equal(docker__escape("a b", NULL, out, sizeof(out)), FLAME_EINVALID);
    assert_int_equal(docker__escape("a//", "/", out, sizeof(out)), 0);
    assert_int_equal(docker__escape("a///", "/", out, sizeof(out)), FLAME_EINVALID);
    assert_int_equal(docker__escape("a", NULL, out, 0), FLAME_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unreserved_characters_stay),
        cmocka_unit_test(everything_else_is_percent_encoded_in_upper_case_hex),
        cmocka_unit_test(keep_characters_pass_through),
        cmocka_unit_test(output_that_does_not_fit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
