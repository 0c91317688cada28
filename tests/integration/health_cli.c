/*
 * grpc.health.v1 through libflame (flame_client_health) and flamectl
 * (`health`, `version`): SERVING while Docker answers, NOT_FOUND for an
 * unknown service, exit codes probes rely on (0 only when SERVING).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* flamed turns SERVING after its first Docker ping: wait for that (5 s). */
static void wait_serving(fl_env *e)
{
    int64_t until = fl_now_ms() + 5000;
    for (;;) {
        int status = -1;
        flame_status st;
        int rc = flame_client_health(e->client, NULL, &status, &st);
        fl_assert_status(rc, &st, 0);
        if (status == FLAME_HEALTH_SERVING)
            return;
        if (fl_now_ms() >= until)
            fail_msg("flamed is %s, not SERVING, 5 s after start", flame_health_status_name(status));
        fl_sleep_ms(50);
    }
}

FL_TEST(health_libflame_reports_serving)
{
    int status = -1;
    flame_status st;
    wait_serving(e);
    int rc = flame_client_health(e->client, NULL, &status, &st);
    fl_assert_status(rc, &st, 0);
    assert_int_equal(status, FLAME_HEALTH_SERVING);
    assert_string_equal(flame_health_status_name(status), "SERVING");
    rc = flame_client_health(e->client, "flame.v1.RunnerService", &status, &st);
    fl_assert_status(rc, &st, 0);
    assert_int_equal(status, FLAME_HEALTH_SERVING);
    rc = flame_client_health(e->client, "no.such.Service", &status, &st);
    assert_int_equal(rc, FLAME_ENOTFOUND);
    assert_int_equal(st.code, 5);
}

FL_TEST(health_flamectl_exits_0_only_when_serving)
{
    char *out = NULL, *err = NULL;
    wait_serving(e);
    const char *ok[] = {"health", NULL};
    assert_int_equal(fl_flamectl(e, ok, &out, &err, 10000), 0);
    assert_string_equal(out, "SERVING\n");
    free(out);
    free(err);
    const char *json[] = {"health", "--json", "--service", "flame.v1.RunnerService", NULL};
    assert_int_equal(fl_flamectl(e, json, &out, &err, 10000), 0);
    assert_string_equal(out, "{\"service\":\"flame.v1.RunnerService\",\"status\":\"SERVING\"}\n");
    free(out);
    free(err);
    const char *unknown[] = {"health", "--service", "no.such.Service", NULL};
    assert_int_equal(fl_flamectl(e, unknown, &out, &err, 10000), 1);
    fl_assert_contains(err, "NOT_FOUND");
    free(out);
    free(err);
}

FL_TEST(health_flamectl_version_shows_server_health)
{
    char *out = NULL, *err = NULL;
    wait_serving(e);
    const char *args[] = {"version", NULL};
    assert_int_equal(fl_flamectl(e, args, &out, &err, 10000), 0);
    fl_assert_contains(out, "Version:  " FLAMED_VERSION);
    fl_assert_contains(out, e->addr);
    fl_assert_contains(out, "Health:   SERVING");
    free(out);
    free(err);
}

FL_TEST(health_flamectl_unreachable_is_not_serving)
{
    char *out = NULL, *err = NULL;
    const char *args[] = {"--addr", "unix:/tmp/fltest-no-such-flamed.sock", "health", NULL};
    assert_int_equal(fl_flamectl(e, args, &out, &err, 10000), 1);
    fl_assert_contains(err, "UNAVAILABLE");
    free(out);
    free(err);
    const char *version[] = {"--addr", "unix:/tmp/fltest-no-such-flamed.sock", "version", NULL};
    int rc = fl_flamectl(e, version, &out, &err, 10000);
    assert_int_equal(rc, flame_error_exit_code(FLAME_EUNAVAILABLE));
    fl_assert_contains(out, "Version:  " FLAMED_VERSION);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(health_libflame_reports_serving),
        FL_UNIT(health_flamectl_exits_0_only_when_serving),
        FL_UNIT(health_flamectl_version_shows_server_health),
        FL_UNIT(health_flamectl_unreachable_is_not_serving),
    };
    return FL_RUN("health_cli", tests);
}
