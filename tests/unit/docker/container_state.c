/* Unit tests: docker_container_state_parse (what flamed reads from a container inspect). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

static int parse(const char *json, const char *network, struct docker_container_state *st)
{
    cJSON *j = cJSON_Parse(json);
    int rc;

    assert_non_null(j);
    rc = docker_container_state_parse(j, network, st);
    cJSON_Delete(j);
    return rc;
}

static const char running_json[] =
    "{\"Id\":\"abc\",\"State\":{\"Status\":\"running\",\"Running\":true,\"ExitCode\":0,"
    "\"OOMKilled\":false,\"Pid\":4242,\"Error\":\"\"},"
    "\"NetworkSettings\":{\"Networks\":{"
    "\"bridge\":{\"IPAddress\":\"172.17.0.2\"},"
    "\"flame\":{\"IPAddress\":\"172.20.0.5\"}}}}";

static void running_container_is_running(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse(running_json, NULL, &st), 0);
    assert_string_equal(st.status, "running");
    assert_int_equal(st.running, 1);
    assert_int_equal(st.exit_code, 0);
    assert_int_equal(st.oom_killed, 0);
    assert_string_equal(st.health, "");
    assert_string_equal(st.error, "");
}

static void exited_oom_killed_container_reports_137_and_oom(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":137,"
                           "\"OOMKilled\":true,\"Error\":\"\"}}",
                           NULL, &st),
                     0);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.running, 0);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.oom_killed, 1);
    assert_string_equal(st.ip_address, "");
}

static void health_status_is_read(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse("{\"State\":{\"Status\":\"running\",\"Running\":true,"
                           "\"Health\":{\"Status\":\"healthy\",\"FailingStreak\":0}}}",
                           NULL, &st),
                     0);
    assert_string_equal(st.health, "healthy");
}

static void ip_is_taken_from_the_named_network(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse(running_json, "flame", &st), 0);
    assert_string_equal(st.ip_address, "172.20.0.5");
    assert_int_equal(parse(running_json, "bridge", &st), 0);
    assert_string_equal(st.ip_address, "172.17.0.2");
}

static void ip_is_the_first_network_when_none_named(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse(running_json, "", &st), 0);
    assert_string_equal(st.ip_address, "172.17.0.2");
}

static void ip_is_empty_when_the_named_network_is_absent(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse(running_json, "other", &st), 0);
    assert_string_equal(st.ip_address, "");
}

static void start_error_is_kept_and_truncated(void **state)
{
    struct docker_container_state st;
    char json[1024], longmsg[600];

    (void)state;
    memset(longmsg, 'e', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    snprintf(json, sizeof json,
             "{\"State\":{\"Status\":\"created\",\"Running\":false,\"ExitCode\":127,"
             "\"Error\":\"%s\"}}",
             longmsg);
    assert_int_equal(parse(json, NULL, &st), 0);
    assert_string_equal(st.status, "created");
    assert_int_equal(st.exit_code, 127);
    assert_int_equal(strlen(st.error), sizeof st.error - 1);
}

static int64_t started_at(const char *value)
{
    char json[256];
    struct docker_container_state st;

    snprintf(json, sizeof json, "{\"State\":{\"Status\":\"running\",\"StartedAt\":\"%s\"}}",
             value);
    assert_int_equal(parse(json, NULL, &st), 0);
    return st.started_at_ms;
}

static void started_at_is_read_as_unix_ms(void **state)
{
    (void)state;
    /* date -u -d 2026-11-24T06:50:01Z +%s = 1795503001 */
    assert_int_equal(started_at("2026-11-24T06:50:01.123456789Z"), INT64_C(1795503001123));
    assert_int_equal(started_at("2026-11-24T06:50:01Z"), INT64_C(1795503001000));
    assert_int_equal(started_at("2026-11-24T06:50:01.5Z"), INT64_C(1795503001500));
    assert_int_equal(started_at("2026-11-24T07:50:01.25+01:00"), INT64_C(1795503001250));
    assert_int_equal(started_at("2026-11-24T05:20:01.007-01:30"), INT64_C(1795503001007));
}

static void started_at_is_zero_when_never_started_or_malformed(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(started_at("0001-01-01T00:00:00Z"), 0); /* Go's zero time: created only */
    assert_int_equal(started_at(""), 0);
    assert_int_equal(started_at("yesterday"), 0);
    assert_int_equal(started_at("2026-11-24T06:50:01"), 0);     /* no zone */
    assert_int_equal(started_at("2026-11-24T06:50:01.1Zjunk"), 0);
    assert_int_equal(started_at("2026-11-24 06:50:01Z"), 0);
    assert_int_equal(parse("{\"State\":{\"StartedAt\":42}}", NULL, &st), 0);
    assert_int_equal(st.started_at_ms, 0);
}

static void missing_state_is_invalid(void **state)
{
    struct docker_container_state st;

    (void)state;
    assert_int_equal(parse("{\"Id\":\"abc\"}", NULL, &st), FLAME_EINVALID);
    assert_int_equal(docker_container_state_parse(NULL, NULL, &st), FLAME_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_container_is_running),
        cmocka_unit_test(exited_oom_killed_container_reports_137_and_oom),
        cmocka_unit_test(health_status_is_read),
        cmocka_unit_test(ip_is_taken_from_the_named_network),
        cmocka_unit_test(ip_is_the_first_network_when_none_named),
        cmocka_unit_test(ip_is_empty_when_the_named_network_is_absent),
        cmocka_unit_test(start_error_is_kept_and_truncated),
        cmocka_unit_test(started_at_is_read_as_unix_ms),
        cmocka_unit_test(started_at_is_zero_when_never_started_or_malformed),
        cmocka_unit_test(missing_state_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
