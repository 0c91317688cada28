/* Unit tests: log_quote, log_level_parse, and the key=value and JSON lines flamed_log writes
 * (captured by putting a pipe on fd 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/log.h"

/* ---------------------------------------------------------------- capturing stderr */

static int cap_pipe[2] = {-1, -1};
static int cap_saved = -1;

static void capture_begin(void)
{
    assert_int_equal(pipe(cap_pipe), 0);
    cap_saved = dup(STDERR_FILENO);
    assert_true(cap_saved >= 0);
    assert_true(dup2(cap_pipe[1], STDERR_FILENO) >= 0);
}

/* Restore fd 2 and return what was written (NUL-terminated; "" if nothing). */
static size_t capture_end(char *out, size_t outlen)
{
    size_t n = 0;
    ssize_t r;

    assert_true(dup2(cap_saved, STDERR_FILENO) >= 0);
    close(cap_saved);
    close(cap_pipe[1]);
    while (n + 1 < outlen && (r = read(cap_pipe[0], out + n, outlen - 1 - n)) > 0)
        n += (size_t)r;
    close(cap_pipe[0]);
    out[n] = '\0';
    return n;
}

#define CAPTURE(out, ...)                                                                          \
    do {                                                                                           \
        capture_begin();                                                                           \
        flamed_log(__VA_ARGS__);                                                                   \
        capture_end(out, sizeof(out));                                                             \
    } while (0)

static int reset(void **state)
{
    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_TEXT);
    return 0;
}

/* One line, ending in exactly one '\n'; strip it. */
static void assert_one_line(char *line)
{
    size_t n = strlen(line);

    assert_true(n > 0);
    assert_int_equal(line[n - 1], '\n');
    line[n - 1] = '\0';
    assert_null(strchr(line, '\n'));
}

/* "2026-01-02T03:04:05.678Z": 24 characters of that shape. */
static void assert_timestamp(const char *ts)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != shape[i])
            fail_msg("'%.24s' is not an RFC 3339 UTC timestamp with ms", ts);
    }
}

static cJSON *parse_line(char *line)
{
    cJSON *j;

    assert_one_line(line);
    j = cJSON_Parse(line);
    if (!j)
        fail_msg("not JSON: %s", line);
    assert_true(cJSON_IsObject(j));
    return j;
}

static const cJSON *field(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

    if (!v)
        fail_msg("no field '%s'", key);
    return v;
}

/* ---------------------------------------------------------------- log_quote */

static void quote_wraps_in_double_quotes(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "image not found"), "\"image not found\"");
}

static void quote_escapes_quotes_and_backslashes(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "say \"hi\" C:\\x"),
                        "\"say \\\"hi\\\" C:\\\\x\"");
}

static void quote_turns_control_bytes_into_spaces(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "a\nb\tc\rd\x01"), "\"a b c d \"");
}

static void quote_keeps_utf8(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac"),
                        "\"caf\xc3\xa9 \xe2\x82\xac\"");
}

static void quote_of_null_is_empty_quotes(void **state)
{
    char out[8];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), NULL), "\"\"");
}

static void quote_returns_its_buffer(void **state)
{
    char out[8];

    (void)state;
    assert_ptr_equal(log_quote(out, sizeof(out), "x"), out);
}

static void quote_truncates_inside_the_quotes(void **state)
{
    char out[8];

    (void)state;
    memset(out, 'X', sizeof(out));
    log_quote(out, sizeof(out), "abcdefghij");
    assert_string_equal(out, "\"abcd\"");
}

static void quote_truncation_never_splits_an_escape(void **state)
{
    char out[8];

    (void)state;
    log_quote(out, sizeof(out), "\"\"\"\"\"\"");
    assert_string_equal(out, "\"\\\"\\\"\"");
}

static void quote_into_tiny_buffer_is_empty(void **state)
{
    char out[2] = {'X', 'X'};

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "abc"), "");
}

static void quote_into_zero_length_buffer_writes_nothing(void **state)
{
    char out[1] = {'X'};

    (void)state;
    log_quote(out, 0, "abc");
    assert_int_equal(out[0], 'X');
}

/* ---------------------------------------------------------------- levels */

static void level_names_parse(void **state)
{
    enum log_level l = LOG_ERROR;

    (void)state;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("info", &l), 0);
    assert_int_equal(l, LOG_INFO);
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_ERROR);
}

static void unknown_level_name_is_refused_and_leaves_out_alone(void **state)
{
    enum log_level l = LOG_WARN;

    (void)state;
    assert_int_equal(log_level_parse("verbose", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    assert_int_equal(log_level_parse("warning", &l), -1);
    assert_int_equal(l, LOG_WARN);
}

static void level_names_are_case_sensitive(void **state)
{
    enum log_level l = LOG_WARN;

    (void)state;
    assert_int_equal(log_level_parse("INFO", &l), -1);
}

static void enabled_follows_the_threshold(void **state)
{
    (void)state;
    log_configure(LOG_WARN, LOG_FORMAT_TEXT);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
}

static void below_threshold_writes_nothing(void **state)
{
    char out[256];

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_TEXT);
    CAPTURE(out, LOG_DEBUG, "noisy", "k=%d", 1);
    assert_string_equal(out, "");
}

/* ---------------------------------------------------------------- key=value lines */

static void text_line_has_ts_level_msg_then_fields(void **state)
{
    char out[512];
    const char *rest;

    (void)state;
    CAPTURE(out, LOG_INFO, "boot_ok", "runner_id=%s pool=%s duration_ms=%ld", "0123456789abcdef",
            "MyApp.Pool", 812L);
    assert_one_line(out);
    assert_true(strncmp(out, "ts=", 3) == 0);
    assert_timestamp(out + 3);
    rest = out + 3 + 24;
    assert_string_equal(rest, " level=info msg=boot_ok runner_id=0123456789abcdef "
                              "pool=MyApp.Pool duration_ms=812");
}

static void text_line_without_fields_has_no_trailing_space(void **state)
{
    char out[256];

    (void)state;
    CAPTURE(out, LOG_ERROR, "stopped", NULL);
    assert_one_line(out);
    assert_string_equal(out + 3 + 24, " level=error msg=stopped");
}

static void text_line_keeps_quoted_values(void **state)
{
    char out[512], q[64];

    (void)state;
    CAPTURE(out, LOG_WARN, "boot_failed", "error=%s", log_quote(q, sizeof(q), "no \"app\" image"));
    assert_one_line(out);
    assert_non_null(strstr(out, " level=warn msg=boot_failed error=\"no \\\"app\\\" image\""));
}

static void oversized_text_line_is_cut_to_one_line(void **state)
{
    static char out[8192];
    char big[3000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CAPTURE(out, LOG_INFO, "big", "a=%s b=%s", big, big);
    assert_one_line(out);
    assert_true(strlen(out) < 4096);
}

/* ---------------------------------------------------------------- JSON lines */

static void json_line_has_ts_level_and_msg(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_DEBUG, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_DEBUG, "watch_start", NULL);
    j = parse_line(out);
    assert_true(cJSON_IsString(field(j, "ts")));
    assert_timestamp(field(j, "ts")->valuestring);
    assert_string_equal(field(j, "level")->valuestring, "debug");
    assert_string_equal(field(j, "msg")->valuestring, "watch_start");
    assert_int_equal(cJSON_GetArraySize(j), 3);
    cJSON_Delete(j);
}

static void json_integers_are_numbers(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "exited", "exit_code=%d duration_ms=%ld delta=%d zero=%d", 137,
            123456789012L, -5, 0);
    j = parse_line(out);
    assert_true(cJSON_IsNumber(field(j, "exit_code")));
    assert_int_equal(field(j, "exit_code")->valueint, 137);
    assert_true(cJSON_IsNumber(field(j, "duration_ms")));
    assert_true(field(j, "duration_ms")->valuedouble == 123456789012.0);
    assert_true(cJSON_IsNumber(field(j, "delta")));
    assert_int_equal(field(j, "delta")->valueint, -5);
    assert_true(cJSON_IsNumber(field(j, "zero")));
    cJSON_Delete(j);
}

static void json_words_are_strings(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "boot_start", "runner_id=%s image=%s ratio=%s sign=%s", "a1b2",
            "app:latest", "0.5", "-");
    j = parse_line(out);
    assert_string_equal(field(j, "runner_id")->valuestring, "a1b2");
    assert_string_equal(field(j, "image")->valuestring, "app:latest");
    assert_string_equal(field(j, "ratio")->valuestring, "0.5");
    assert_string_equal(field(j, "sign")->valuestring, "-");
    cJSON_Delete(j);
}

static void json_quoted_values_are_strings_even_if_numeric(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "x", "port=\"%d\" error=\"%s\"", 4000, "image not found");
    j = parse_line(out);
    assert_true(cJSON_IsString(field(j, "port")));
    assert_string_equal(field(j, "port")->valuestring, "4000");
    assert_string_equal(field(j, "error")->valuestring, "image not found");
    cJSON_Delete(j);
}

static void json_log_quote_values_round_trip(void **state)
{
    char out[1024], q[256];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_WARN, "boot_failed", "error=%s next=%d",
            log_quote(q, sizeof(q), "say \"hi\" C:\\dir caf\xc3\xa9 a=b"), 1);
    j = parse_line(out);
    assert_string_equal(field(j, "error")->valuestring, "say \"hi\" C:\\dir caf\xc3\xa9 a=b");
    assert_int_equal(field(j, "next")->valueint, 1);
    cJSON_Delete(j);
}

static void json_escapes_control_bytes_in_unquoted_values(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "x", "raw=%s", "a\x01\x1f\"b\\");
    j = parse_line(out);
    assert_string_equal(field(j, "raw")->valuestring, "a\x01\x1f\"b\\");
    cJSON_Delete(j);
}

static void json_skips_words_without_equals(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "x", "stray a=1 =2 b=");
    j = parse_line(out);
    assert_int_equal(field(j, "a")->valueint, 1);
    assert_string_equal(field(j, "b")->valuestring, "");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "stray"));
    cJSON_Delete(j);
}

static void json_escapes_the_msg(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "odd\"msg", NULL);
    j = parse_line(out);
    assert_string_equal(field(j, "msg")->valuestring, "odd\"msg");
    cJSON_Delete(j);
}

static void oversized_json_line_still_parses(void **state)
{
    static char out[16384];
    char big[1500];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    memset(big, '\\', sizeof(big) - 1); /* each byte doubles when escaped */
    big[sizeof(big) - 1] = '\0';
    CAPTURE(out, LOG_INFO, "big", "a=%s b=%s c=\"%s\"", big, big, big);
    j = parse_line(out);
    assert_true(strlen(out) < 4096);
    cJSON_Delete(j);
}

/* A value of decimal digits with a leading zero, e.g. a runner id like "0123456789012345",
 * must stay a string: RFC 8259 numbers have no leading zeros (was a bug in kv_to_json). */
static void json_leading_zero_digits_stay_strings(void **state)
{
    char out[512];
    cJSON *j;

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    CAPTURE(out, LOG_INFO, "boot_ok", "runner_id=%s", "0123456789012345");
    j = parse_line(out);
    assert_true(cJSON_IsString(field(j, "runner_id")));
    assert_string_equal(field(j, "runner_id")->valuestring, "0123456789012345");
    cJSON_Delete(j);
}

/* A line cut at 4 KiB right after a key with a numeric value must still parse (was a bug:
 * it ended `"key":}`). */
static void json_line_cut_before_a_number_still_parses(void **state)
{
    static char out[16384];
    char kv[2048];

    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    /* An unquoted value of control bytes (6 JSON bytes each) then key=1, at every offset. */
    for (int nctl = 560; nctl < 700; nctl++) {
        size_t o = 0;
        cJSON *j;

        kv[o++] = 'a';
        kv[o++] = '=';
        for (int i = 0; i < nctl; i++)
            kv[o++] = '\x01';
        kv[o++] = ' ';
        for (int i = 0; i < 300; i++)
            kv[o++] = 'k';
        kv[o++] = '=';
        kv[o++] = '1';
        kv[o] = '\0';
        CAPTURE(out, LOG_INFO, "cut", "%s", kv);
        assert_one_line(out);
        j = cJSON_Parse(out);
        if (!j)
            fail_msg("not JSON (nctl %d): ...%s", nctl, out + strlen(out) - 40);
        cJSON_Delete(j);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset, NULL)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(quote_wraps_in_double_quotes),
        T(quote_escapes_quotes_and_backslashes),
        T(quote_turns_control_bytes_into_spaces),
        T(quote_keeps_utf8),
        T(quote_of_null_is_empty_quotes),
        T(quote_returns_its_buffer),
        T(quote_truncates_inside_the_quotes),
        T(quote_truncation_never_splits_an_escape),
        T(quote_into_tiny_buffer_is_empty),
        T(quote_into_zero_length_buffer_writes_nothing),
        T(level_names_parse),
        T(unknown_level_name_is_refused_and_leaves_out_alone),
        T(level_names_are_case_sensitive),
        T(enabled_follows_the_threshold),
        T(below_threshold_writes_nothing),
        T(text_line_has_ts_level_msg_then_fields),
        T(text_line_without_fields_has_no_trailing_space),
        T(text_line_keeps_quoted_values),
        T(oversized_text_line_is_cut_to_one_line),
        T(json_line_has_ts_level_and_msg),
        T(json_integers_are_numbers),
        T(json_words_are_strings),
        T(json_quoted_values_are_strings_even_if_numeric),
        T(json_log_quote_values_round_trip),
        T(json_escapes_control_bytes_in_unquoted_values),
        T(json_skips_words_without_equals),
        T(json_escapes_the_msg),
        T(oversized_json_line_still_parses),
        T(json_leading_zero_digits_stay_strings),
        T(json_line_cut_before_a_number_still_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
