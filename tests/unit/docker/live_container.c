/* Live tests (real dockerd): container create / start / inspect / stop / kill / remove / list /
 * logs. */
#include "live_support.h"

static void container_lifecycle_create_start_inspect_stop_remove(void **state)
{
    const char *const cmd[] = {"sleep", "300", NULL};
    struct docker_container_state st;
    char err[512] = "";
    cJSON *inspect = NULL;
    char *id;

    (void)state;
    LIVE_REQUIRE();
    id = live_run("life", cmd);
    assert_int_equal(docker_container_inspect(live, id, &inspect, err, sizeof err), 0);
    assert_int_equal(docker_container_state_parse(inspect, "bridge", &st), 0);
    cJSON_Delete(inspect);
    assert_string_equal(st.status, "running");
    assert_int_equal(st.running, 1);
    assert_true(strlen(st.ip_address) >= 7);

    assert_int_equal(docker_container_stop(live, id, 0, err, sizeof err), 0);
    assert_int_equal(docker_container_inspect(live, id, &inspect, err, sizeof err), 0);
    assert_int_equal(docker_container_state_parse(inspect, NULL, &st), 0);
    cJSON_Delete(inspect);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.running, 0);
    assert_int_equal(st.exit_code, 137); /* sleep ignores SIGTERM as pid 1; t=0 kills */

    assert_int_equal(docker_container_stop(live, id, 0, err, sizeof err), 0); /* 304 */
    assert_int_equal(docker_container_kill(live, id, "SIGKILL", err, sizeof err), FLAME_ECONFLICT);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    assert_int_equal(docker_container_inspect(live, id, NULL, err, sizeof err), FLAME_ENOTFOUND);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), FLAME_ENOTFOUND);
    free(id);
}

static void starting_a_running_container_is_success(void **state)
{
    const char *const cmd[] = {"sleep", "300", NULL};
    char err[512] = "";
    char *id;

    (void)state;
    LIVE_REQUIRE();
    id = live_run("restart", cmd);
    assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), 0); /* 304 */
    assert_int_equal(docker_container_kill(live, id, "SIGKILL", err, sizeof err), 0);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
}

static void create_with_a_missing_image_is_notfound(void **state)
{
    cJSON *cfg = cJSON_Parse("{\"Image\":\"flamed-test/no-such-image:nope\"}");
    char name[128], err[512] = "";
    char *id = NULL;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "noimage");
    assert_int_equal(docker_container_create(live, name, cfg, &id, err, sizeof err),
                     FLAME_ENOTFOUND);
    assert_null(id);
    assert_non_null(strstr(err, "docker pull flamed-test/no-such-image:nope"));
    cJSON_Delete(cfg);
}

static void create_with_a_name_in_use_is_eexists(void **state)
{
    const char *const cmd[] = {"true", NULL};
    char name[128], err[512] = "";
    cJSON *cfg = NULL, *labels = live_labels();
    struct docker_container_spec spec = {.image = LIVE_IMAGE, .cmd = cmd, .labels = labels};
    char *id, *id2 = NULL;

    (void)state;
    LIVE_REQUIRE();
    id = live_create("dup", cmd, NULL);
    live_name(name, sizeof name, "dup");
    assert_int_equal(docker_container_config_build(&spec, &cfg, err, sizeof err), 0);
    assert_int_equal(docker_container_create(live, name, cfg, &id2, err, sizeof err),
                     FLAME_EEXISTS);
    assert_non_null(strstr(err, "already in use"));
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    cJSON_Delete(cfg);
    cJSON_Delete(labels);
    free(id);
}

static void start_on_a_missing_network_is_notfound_naming_the_network(void **state)
{
    const char *const cmd[] = {"sleep", "300", NULL};
    char net[128], err[512] = "";
    char *id;

    (void)state;
    LIVE_REQUIRE();
    live_name(net, sizeof net, "missing-net");
    id = live_create("nonet", cmd, net); /* create passes: the network is checked at start */
    assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), FLAME_ENOTFOUND);
    assert_non_null(strstr(err, net));
    assert_non_null(strstr(err, "docker network create"));
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
}

static void start_with_a_missing_binary_is_invalid(void **state)
{
    const char *const cmd[] = {"/no/such/binary", NULL};
    char err[512] = "";
    char *id;

    (void)state;
    LIVE_REQUIRE();
    id = live_create("nobin", cmd, NULL);
    assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), FLAME_EINVALID);
    assert_non_null(strstr(err, "/no/such/binary"));
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
}

static void logs_tail_has_stdout_and_stderr(void **state)
{
    /* stdout and stderr are logged by separate copiers: the pause orders them. */
    const char *const cmd[] = {"sh", "-c", "echo line-1; echo to-stderr >&2; sleep 0.3; echo line-3",
                               NULL};
    char err[512] = "";
    char *id, *logs = NULL, *logs1 = NULL;
    double t0 = live_now_s();
    int running = 1;
    cJSON *inspect = NULL;
    struct docker_container_state st;

    (void)state;
    LIVE_REQUIRE();
    id = live_run("logs", cmd);
    while (running && live_now_s() - t0 < 20) {
        assert_int_equal(docker_container_inspect(live, id, &inspect, err, sizeof err), 0);
        assert_int_equal(docker_container_state_parse(inspect, NULL, &st), 0);
        cJSON_Delete(inspect);
        running = st.running;
        if (running)
            usleep(50000);
    }
    assert_int_equal(docker_container_logs_tail(live, id, 20, &logs, err, sizeof err), 0);
    assert_non_null(strstr(logs, "line-1\n"));
    assert_non_null(strstr(logs, "to-stderr\n"));
    assert_non_null(strstr(logs, "line-3\n"));
    assert_int_equal(docker_container_logs_tail(live, id, 1, &logs1, err, sizeof err), 0);
    assert_string_equal(logs1, "line-3\n");
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(logs);
    free(logs1);
    free(id);
}

static void list_by_label_finds_only_ours(void **state)
{
    const char *const cmd[] = {"true", NULL};
    char err[512] = "";
    cJSON *list = NULL, *it;
    char *id;
    int found = 0;

    (void)state;
    LIVE_REQUIRE();
    id = live_create("listed", cmd, NULL);
    assert_int_equal(docker_container_list(live, live_label, &list, err, sizeof err), 0);
    cJSON_ArrayForEach (it, list) {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(it, "Labels");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, LIVE_LABEL_KEY);

        assert_true(cJSON_IsString(v));
        assert_string_equal(v->valuestring, live_pid_text);
        if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "Id")->valuestring, id) == 0)
            found = 1;
    }
    assert_true(found);
    cJSON_Delete(list);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
}

static void malformed_body_is_invalid(void **state)
{
    /* 20.10 answers a wrong field type with 500: still the caller's mistake. */
    cJSON *cfg = cJSON_Parse("{\"Image\":\"" LIVE_IMAGE "\",\"Cmd\":42}");
    char name[128], err[512] = "";
    char *id = NULL;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "badbody");
    rc = docker_container_create(live, name, cfg, &id, err, sizeof err);
    if (rc == 0)
        docker_container_remove(live, id, NULL, 0);
    assert_int_equal(rc, FLAME_EINVALID);
    cJSON_Delete(cfg);
    free(id);
}

static void start_failing_in_docker_with_500_is_invalid(void **state)
{
    /* 20.10 answers 500 "unable to find user ..." at start: the container's config. */
    cJSON *cfg = cJSON_Parse("{\"Image\":\"" LIVE_IMAGE "\",\"Cmd\":[\"true\"],"
                             "\"User\":\"fltest-nosuchuser\"}");
    char name[128], err[512] = "";
    char *id = NULL;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "nouser");
    assert_int_equal(docker_container_create(live, name, cfg, &id, err, sizeof err), 0);
    assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), FLAME_EINVALID);
    assert_non_null(strstr(err, "fltest-nosuchuser"));
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    cJSON_Delete(cfg);
    free(id);
}

static void start_of_a_removed_container_is_notfound(void **state)
{
    const char *const cmd[] = {"sleep", "300", NULL};
    char err[512] = "";
    char *id;

    (void)state;
    LIVE_REQUIRE();
    id = live_create("gone", cmd, NULL);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), FLAME_ENOTFOUND);
    assert_null(strstr(err, "network"));
    free(id);
}

static void create_naming_a_missing_volume_plugin_is_invalid_not_notfound(void **state)
{
    /* 20.10 answers 404 "error looking up volume plugin": not a missing image. */
    char name[128], vol[160], body[512], err[512] = "";
    char *id = NULL;
    cJSON *cfg;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "voldrv");
    live_name(vol, sizeof vol, "vol");
    snprintf(body, sizeof body,
             "{\"Image\":\"" LIVE_IMAGE "\",\"Cmd\":[\"true\"],\"HostConfig\":{\"Mounts\":"
             "[{\"Type\":\"volume\",\"Source\":\"%s\",\"Target\":\"/v\",\"VolumeOptions\":"
             "{\"DriverConfig\":{\"Name\":\"fltest-nosuchdrv\"}}}]}}",
             vol);
    cfg = cJSON_Parse(body);
    assert_non_null(cfg);
    rc = docker_container_create(live, name, cfg, &id, err, sizeof err);
    if (rc == 0)
        docker_container_remove(live, id, NULL, 0);
    assert_int_equal(rc, FLAME_EINVALID);
    assert_non_null(strstr(err, "fltest-nosuchdrv"));
    assert_int_equal(docker_container_inspect(live, name, NULL, err, sizeof err), FLAME_ENOTFOUND);
    cJSON_Delete(cfg);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(container_lifecycle_create_start_inspect_stop_remove),
        cmocka_unit_test(starting_a_running_container_is_success),
        cmocka_unit_test(create_with_a_missing_image_is_notfound),
        cmocka_unit_test(create_with_a_name_in_use_is_eexists),
        cmocka_unit_test(start_on_a_missing_network_is_notfound_naming_the_network),
        cmocka_unit_test(start_with_a_missing_binary_is_invalid),
        cmocka_unit_test(logs_tail_has_stdout_and_stderr),
        cmocka_unit_test(list_by_label_finds_only_ours),
        cmocka_unit_test(malformed_body_is_invalid),
        cmocka_unit_test(start_failing_in_docker_with_500_is_invalid),
        cmocka_unit_test(start_of_a_removed_container_is_notfound),
        cmocka_unit_test(create_naming_a_missing_volume_plugin_is_invalid_not_notfound),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
