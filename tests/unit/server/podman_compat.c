/*
 * Unit tests: what the Docker engine does differently on Podman's
 * Docker-compatible service (engine/podman_compat.h, docs/engines.md):
 * detection from GET /version, the ulimits it adds (and those it leaves to the
 * request), event words, the health check pacing, the create refusals and the
 * image label. Pure: no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/podman_compat.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("bad test JSON: %s", text);
    return j;
}

/* The compact text of `path` in j ("HostConfig.Ulimits"). */
static char *text_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    assert_non_null(v);
    return cJSON_PrintUnformatted(v);
}

static void podman_version_is_podman(void **state)
{
    (void)state;
    cJSON *v = parse("{\"Components\":[{\"Name\":\"Podman Engine\",\"Version\":\"4.3.1\"},"
                     "{\"Name\":\"Conmon\",\"Version\":\"2.1.6\"}],\"Version\":\"4.3.1\"}");
    char ver[16] = "x";
    assert_int_equal(podman_compat_is_podman(v, ver, sizeof(ver)), 1);
    assert_string_equal(ver, "4.3.1");
    cJSON_Delete(v);
}

static void docker_version_is_not_podman(void **state)
{
    (void)state;
    cJSON *v = parse("{\"Components\":[{\"Name\":\"Engine\",\"Version\":\"20.10.24+dfsg1\"},"
                     "{\"Name\":\"containerd\"}],\"Version\":\"20.10.24+dfsg1\"}");
    char ver[16] = "x";
    assert_int_equal(podman_compat_is_podman(v, ver, sizeof(ver)), 0);
    assert_string_equal(ver, "");
    cJSON_Delete(v);
    /* No Components, wrong types, NULL: not Podman. */
    v = parse("{\"Components\":{\"Name\":\"Podman Engine\"}}");
    assert_int_equal(podman_compat_is_podman(v, NULL, 0), 0);
    cJSON_Delete(v);
    assert_int_equal(podman_compat_is_podman(NULL, NULL, 0), 0);
}

static void ulimits_take_flameds_hard_limits_capped(void **state)
{
    (void)state;
    struct podman_ulimits u = podman_compat_ulimits(20000, 96367, 32768);
    assert_int_equal(u.nofile, 20000);
    assert_int_equal(u.nproc, 32768); /* pid_max */
    u = podman_compat_ulimits(-1, -1, 0); /* unlimited, pid_max unknown */
    assert_int_equal(u.nofile, PODMAN_ULIMIT_MAX);
    assert_int_equal(u.nproc, PODMAN_ULIMIT_MAX);
    u = podman_compat_ulimits(4000000, 4000000, 4194304);
    assert_int_equal(u.nofile, PODMAN_ULIMIT_MAX);
    assert_int_equal(u.nproc, PODMAN_ULIMIT_MAX);
    u = podman_compat_ulimits(0, 0, 0);
    assert_int_equal(u.nofile, 1);
    assert_int_equal(u.nproc, 1);
}

static void ulimits_are_added_when_the_request_has_none(void **state)
{
    (void)state;
    struct podman_ulimits u = {20000, 32768};
    cJSON *c = parse("{\"Image\":\"app\"}");
    assert_int_equal(podman_compat_add_ulimits(c, &u), 0);
    char *t = text_at(c, "HostConfig", "Ulimits");
    assert_string_equal(t, "[{\"Name\":\"nofile\",\"Soft\":20000,\"Hard\":20000},"
                           "{\"Name\":\"nproc\",\"Soft\":32768,\"Hard\":32768}]");
    free(t);
    cJSON_Delete(c);
    c = parse("{\"HostConfig\":{\"Memory\":1,\"Ulimits\":null}}");
    assert_int_equal(podman_compat_add_ulimits(c, &u), 0);
    t = text_at(c, "HostConfig", NULL);
    assert_string_equal(t, "{\"Memory\":1,\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":20000,"
                           "\"Hard\":20000},{\"Name\":\"nproc\",\"Soft\":32768,\"Hard\":32768}]}");
    free(t);
    cJSON_Delete(c);
}

static void ulimits_the_request_sets_are_kept(void **state)
{
    (void)state;
    struct podman_ulimits u = {20000, 32768};
    cJSON *c = parse("{\"HostConfig\":{\"Ulimits\":[{\"Name\":\"NOFILE\",\"Soft\":1000,"
                     "\"Hard\":2000},{\"Name\":\"stack\",\"Soft\":1,\"Hard\":1}]}}");
    assert_int_equal(podman_compat_add_ulimits(c, &u), 0);
    char *t = text_at(c, "HostConfig", "Ulimits");
    assert_string_equal(t, "[{\"Name\":\"NOFILE\",\"Soft\":1000,\"Hard\":2000},"
                           "{\"Name\":\"stack\",\"Soft\":1,\"Hard\":1},"
                           "{\"Name\":\"nproc\",\"Soft\":32768,\"Hard\":32768}]");
    free(t);
    cJSON_Delete(c);
}

static void ulimits_refuse_wrong_types(void **state)
{
    (void)state;
    struct podman_ulimits u = {1, 1};
    cJSON *c = parse("{\"HostConfig\":{\"Ulimits\":{}}}");
    assert_int_equal(podman_compat_add_ulimits(c, &u), -1);
    cJSON_Delete(c);
    c = parse("{\"HostConfig\":[]}");
    assert_int_equal(podman_compat_add_ulimits(c, &u), -1);
    cJSON_Delete(c);
}

static void events_use_dockers_words(void **state)
{
    (void)state;
    assert_string_equal(podman_compat_action("remove"), "destroy");
    assert_string_equal(podman_compat_action("exec_died"), "exec_die");
    assert_string_equal(podman_compat_action("die"), "die");
    assert_string_equal(podman_compat_action("health_status"), "health_status");
    assert_string_equal(podman_compat_action("removed"), "removed");
}

static void health_is_due_an_interval_after_the_last_run(void **state)
{
    (void)state;
    /* 2026-12-05T23:55:14.443Z = 1796514914443 ms */
    cJSON *j = parse("{\"Config\":{\"Healthcheck\":{\"Interval\":1000000000}},\"State\":{"
                     "\"StartedAt\":\"2026-12-05T23:55:10Z\",\"Health\":{\"Log\":["
                     "{\"Start\":\"2026-12-05T23:55:12Z\"},"
                     "{\"Start\":\"2026-12-05T23:55:14.443494003Z\"}]}}}");
    assert_int_equal(podman_compat_health_due_ms(j), 1796514914443 + 1000);
    cJSON_Delete(j);
    /* Before the first run: from StartedAt; no Interval: Docker's 30 s. */
    j = parse("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"]}},\"State\":{"
              "\"StartedAt\":\"2026-12-05T23:55:14.443Z\",\"Health\":{\"Log\":null}}}");
    assert_int_equal(podman_compat_health_due_ms(j), 1796514914443 + 30000);
    cJSON_Delete(j);
    /* No health check, or no times: never. */
    j = parse("{\"Config\":{},\"State\":{\"StartedAt\":\"2026-12-05T23:55:14Z\"}}");
    assert_int_equal(podman_compat_health_due_ms(j), 0);
    cJSON_Delete(j);
    j = parse("{\"Config\":{\"Healthcheck\":{}},\"State\":{\"StartedAt\":\"0001-01-01T00:00:00Z\"}}");
    assert_int_equal(podman_compat_health_due_ms(j), 0);
    cJSON_Delete(j);
}

static void memory_under_dockers_minimum_is_refused(void **state)
{
    (void)state;
    char err[128] = "";
    cJSON *c = parse("{\"HostConfig\":{\"Memory\":1024}}");
    assert_int_equal(podman_compat_check_config(c, err, sizeof(err)), -1);
    assert_string_equal(err, "Minimum memory limit allowed is 6MB");
    cJSON_Delete(c);
    c = parse("{\"HostConfig\":{\"Memory\":6291456,\"MemoryReservation\":6291455}}");
    assert_int_equal(podman_compat_check_config(c, err, sizeof(err)), -1);
    assert_string_equal(err, "Minimum memory reservation allowed is 6MB");
    cJSON_Delete(c);
    c = parse("{\"HostConfig\":{\"Memory\":6291456,\"MemoryReservation\":0}}");
    assert_int_equal(podman_compat_check_config(c, err, sizeof(err)), 0);
    cJSON_Delete(c);
    c = parse("{\"Image\":\"app\"}");
    assert_int_equal(podman_compat_check_config(c, err, sizeof(err)), 0);
    cJSON_Delete(c);
}

static void image_label_holds_the_reference_given(void **state)
{
    (void)state;
    cJSON *c = parse("{\"Labels\":{\"a\":\"b\",\"flamed.image\":\"old\"}}");
    assert_int_equal(podman_compat_add_image_label(c, "flamed-test/app:latest"), 0);
    char *t = text_at(c, "Labels", NULL);
    assert_string_equal(t, "{\"a\":\"b\",\"flamed.image\":\"flamed-test/app:latest\"}");
    free(t);
    cJSON_Delete(c);
    c = parse("{}");
    assert_int_equal(podman_compat_add_image_label(c, "app"), 0);
    t = text_at(c, "Labels", NULL);
    assert_string_equal(t, "{\"flamed.image\":\"app\"}");
    free(t);
    cJSON_Delete(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(podman_version_is_podman),
        cmocka_unit_test(docker_version_is_not_podman),
        cmocka_unit_test(ulimits_take_flameds_hard_limits_capped),
        cmocka_unit_test(ulimits_are_added_when_the_request_has_none),
        cmocka_unit_test(ulimits_the_request_sets_are_kept),
        cmocka_unit_test(ulimits_refuse_wrong_types),
        cmocka_unit_test(events_use_dockers_words),
        cmocka_unit_test(health_is_due_an_interval_after_the_last_run),
        cmocka_unit_test(memory_under_dockers_minimum_is_refused),
        cmocka_unit_test(image_label_holds_the_reference_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
