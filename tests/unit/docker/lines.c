/* Unit tests: docker_lines_* (newline splitter for events and pull progress). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

struct seen {
    char lines[8][64];
    size_t lens[8];
    int count;
    int stop_at; /* line number (1-based) whose callback returns 7; 0 = never */
};

static int line_cb(void *ud, char *s, size_t n)
{
    struct seen *v = ud;

    assert_true(v->count < 8);
    assert_true(n < sizeof v->lines[0]);
    assert_int_equal(s[n], '\0');
    memcpy(v->lines[v->count], s, n + 1);
    v->lens[v->count] = n;
    v->count++;
    return (v->stop_at && v->count == v->stop_at) ? 7 : 0;
}

static void lines_split_across_feeds_are_joined(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    docker_lines_init(&l, 0);
    assert_int_equal(docker_lines_feed(&l, "a\nb", 3, line_cb, &v), 0);
    assert_int_equal(docker_lines_feed(&l, "cd\n\n{\"x\"", 8, line_cb, &v), 0);
    assert_int_equal(docker_lines_feed(&l, ":1}\n", 4, line_cb, &v), 0);
    assert_int_equal(v.count, 4);
    assert_string_equal(v.lines[0], "a");
    assert_string_equal(v.lines[1], "bcd");
    assert_string_equal(v.lines[2], "");
    assert_int_equal(v.lens[2], 0);
    assert_string_equal(v.lines[3], "{\"x\":1}");
    docker_lines_free(&l);
}

static void partial_line_waits_for_its_newline(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    docker_lines_init(&l, 0);
    assert_int_equal(docker_lines_feed(&l, "abc", 3, line_cb, &v), 0);
    assert_int_equal(v.count, 0);
    assert_int_equal(l.len, 3);
    assert_int_equal(docker_lines_feed(&l, "\n", 1, line_cb, &v), 0);
    assert_int_equal(v.count, 1);
    assert_string_equal(v.lines[0], "abc");
    docker_lines_free(&l);
}

static void line_of_exactly_max_bytes_is_accepted(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    docker_lines_init(&l, 4);
    assert_int_equal(docker_lines_feed(&l, "abcd\n", 5, line_cb, &v), 0);
    assert_string_equal(v.lines[0], "abcd");
    docker_lines_free(&l);
}

static void over_long_line_is_an_error(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    docker_lines_init(&l, 4);
    assert_int_equal(docker_lines_feed(&l, "abcde\n", 6, line_cb, &v), FLAME_EINVALID);
    assert_int_equal(v.count, 0);
    docker_lines_free(&l);
}

static void over_long_line_without_newline_is_an_error_early(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    docker_lines_init(&l, 4);
    assert_int_equal(docker_lines_feed(&l, "abc", 3, line_cb, &v), 0);
    assert_int_equal(docker_lines_feed(&l, "de", 2, line_cb, &v), FLAME_EINVALID);
    docker_lines_free(&l);
}

static void callback_nonzero_stops_and_is_returned(void **state)
{
    struct docker_lines l;
    struct seen v = {0};

    (void)state;
    v.stop_at = 2;
    docker_lines_init(&l, 0);
    assert_int_equal(docker_lines_feed(&l, "1\n2\n3\n", 6, line_cb, &v), 7);
    assert_int_equal(v.count, 2);
    docker_lines_free(&l);
}

static void free_without_feeding_is_safe(void **state)
{
    struct docker_lines l;

    (void)state;
    docker_lines_init(&l, 0);
    docker_lines_free(&l);
    assert_null(l.buf); /* emptied, so that a second free is harmless */
    assert_int_equal(l.len, 0);
    assert_int_equal(l.cap, 0);
    docker_lines_free(&l);
    assert_null(l.buf);
    docker_lines_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_split_across_feeds_are_joined),
        cmocka_unit_test(partial_line_waits_for_its_newline),
        cmocka_unit_test(line_of_exactly_max_bytes_is_accepted),
        cmocka_unit_test(over_long_line_is_an_error),
        cmocka_unit_test(over_long_line_without_newline_is_an_error_early),
        cmocka_unit_test(callback_nonzero_stops_and_is_returned),
        cmocka_unit_test(free_without_feeding_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
