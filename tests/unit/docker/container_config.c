/* Unit tests: docker_container_config_build (the POST /containers/create body). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

static cJSON *item(const cJSON *o, const char *path0, const char *path1, const char *path2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path0);

    if (path1)
        v = cJSON_GetObjectItemCaseSensitive(v, path1);
    if (path2)
        v = cJSON_GetObjectItemCaseSensitive(v, path2);
    return (cJSON *)v;
}

static cJSON *build_ok(const struct docker_container_spec *spec)
{
    char err[256] = "";
    cJSON *cfg = NULL;

    assert_int_equal(docker_container_config_build(spec, &cfg, err, sizeof err), 0);
    assert_non_null(cfg);
    return cfg;
}

static void hostname_and_image_are_set(void **state)
{
    struct docker_container_spec spec = {.image = "flamed-test/busybox:latest",
                                         .hostname = "runner-1"};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_string_equal(item(cfg, "Image", NULL, NULL)->valuestring, "flamed-test/busybox:latest");
    assert_string_equal(item(cfg, "Hostname", NULL, NULL)->valuestring, "runner-1");
    cJSON_Delete(cfg);
}

/* A warm runner's delivery channel: stdin open and kept open; a cold runner has none. */
static void open_stdin_keeps_stdin_open_and_is_off_by_default(void **state)
{
    struct docker_container_spec spec = {.image = "img", .hostname = "runner-1"};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_null(item(cfg, "OpenStdin", NULL, NULL));
    assert_null(item(cfg, "StdinOnce", NULL, NULL));
    cJSON_Delete(cfg);
    spec.open_stdin = 1;
    cfg = build_ok(&spec);
    assert_true(cJSON_IsTrue(item(cfg, "OpenStdin", NULL, NULL)));
    assert_true(cJSON_IsFalse(item(cfg, "StdinOnce", NULL, NULL)));
    cJSON_Delete(cfg);
}

static void network_sets_network_mode_and_hostname_alias(void **state)
{
    struct docker_container_spec spec = {
        .image = "img", .hostname = "runner-1", .network = "flame"};
    cJSON *cfg, *aliases;

    (void)state;
    cfg = build_ok(&spec);
    assert_string_equal(item(cfg, "HostConfig", "NetworkMode", NULL)->valuestring, "flame");
    aliases =
        item(item(cfg, "NetworkingConfig", "EndpointsConfig", "flame"), "Aliases", NULL, NULL);
    assert_true(cJSON_IsArray(aliases));
    assert_int_equal(cJSON_GetArraySize(aliases), 1);
    assert_string_equal(cJSON_GetArrayItem(aliases, 0)->valuestring, "runner-1");
    cJSON_Delete(cfg);
}

static void no_network_means_default_bridge_without_alias(void **state)
{
    struct docker_container_spec spec = {.image = "img", .hostname = "runner-1", .network = ""};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_null(item(cfg, "HostConfig", "NetworkMode", NULL));
    assert_null(item(cfg, "NetworkingConfig", NULL, NULL));
    cJSON_Delete(cfg);
}

static void restart_policy_is_no(void **state)
{
    struct docker_container_spec spec = {.image = "img"};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_string_equal(item(cfg, "HostConfig", "RestartPolicy", "Name")->valuestring, "no");
    cJSON_Delete(cfg);
}

static void user_host_config_is_copied_and_wiring_overrides_it(void **state)
{
    cJSON *hc = cJSON_Parse("{\"Memory\":268435456,\"CapAdd\":[\"NET_ADMIN\"],"
                            "\"NetworkMode\":\"host\",\"RestartPolicy\":{\"Name\":\"always\"},"
                            "\"AutoRemove\":true}");
    struct docker_container_spec spec = {.image = "img", .network = "flame", .host_config = hc};
    cJSON *cfg;

    (void)state;
    assert_non_null(hc);
    cfg = build_ok(&spec);
    assert_int_equal((long)item(cfg, "HostConfig", "Memory", NULL)->valuedouble, 268435456L);
    assert_string_equal(cJSON_GetArrayItem(item(cfg, "HostConfig", "CapAdd", NULL), 0)->valuestring,
                        "NET_ADMIN");
    assert_string_equal(item(cfg, "HostConfig", "NetworkMode", NULL)->valuestring, "flame");
    assert_string_equal(item(cfg, "HostConfig", "RestartPolicy", "Name")->valuestring, "no");
    assert_null(item(cfg, "HostConfig", "AutoRemove", NULL));
    /* The caller's object is copied, not modified. */
    assert_string_equal(item(hc, "NetworkMode", NULL, NULL)->valuestring, "host");
    assert_true(item(hc, "HostConfig", NULL, NULL) == NULL);
    cJSON_Delete(cfg);
    cJSON_Delete(hc);
}

static void mounts_are_appended_to_the_users(void **state)
{
    cJSON *hc = cJSON_Parse("{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/scratch\"}]}");
    cJSON *mounts = cJSON_Parse("[{\"Type\":\"bind\",\"Source\":\"/srv\",\"Target\":\"/srv\"}]");
    struct docker_container_spec spec = {.image = "img", .host_config = hc, .mounts = mounts};
    cJSON *cfg, *m;

    (void)state;
    cfg = build_ok(&spec);
    m = item(cfg, "HostConfig", "Mounts", NULL);
    assert_int_equal(cJSON_GetArraySize(m), 2);
    assert_string_equal(item(cJSON_GetArrayItem(m, 0), "Target", NULL, NULL)->valuestring,
                        "/scratch");
    assert_string_equal(item(cJSON_GetArrayItem(m, 1), "Target", NULL, NULL)->valuestring, "/srv");
    assert_int_equal(cJSON_GetArraySize(item(hc, "Mounts", NULL, NULL)), 1);
    cJSON_Delete(cfg);
    cJSON_Delete(hc);
    cJSON_Delete(mounts);
}

static void mounts_without_user_host_config_make_the_array(void **state)
{
    cJSON *mounts = cJSON_Parse("[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\"}]");
    struct docker_container_spec spec = {.image = "img", .mounts = mounts};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_int_equal(cJSON_GetArraySize(item(cfg, "HostConfig", "Mounts", NULL)), 1);
    cJSON_Delete(cfg);
    cJSON_Delete(mounts);
}

static void mounts_not_an_array_of_objects_is_refused(void **state)
{
    cJSON *mounts = cJSON_Parse("[\"/srv:/srv\"]");
    struct docker_container_spec spec = {.image = "img", .mounts = mounts};
    char err[256] = "";
    cJSON *cfg = (cJSON *)&spec; /* must be reset to NULL */

    (void)state;
    assert_int_equal(docker_container_config_build(&spec, &cfg, err, sizeof err), FLAME_EINVALID);
    assert_null(cfg);
    assert_non_null(strstr(err, "mounts"));
    cJSON_Delete(mounts);
}

static void env_cmd_entrypoint_user_workdir_and_labels_are_set(void **state)
{
    const char *const env[] = {"A=1", "B=2", NULL};
    const char *const cmd[] = {"sleep", "60", NULL};
    const char *const ep[] = {"/bin/busybox", NULL};
    cJSON *labels = cJSON_Parse("{\"flame.parent\":\"p1\"}");
    struct docker_container_spec spec = {.image = "img",
                                         .env = env,
                                         .cmd = cmd,
                                         .entrypoint = ep,
                                         .user = "1000:1000",
                                         .working_dir = "/app",
                                         .labels = labels};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_int_equal(cJSON_GetArraySize(item(cfg, "Env", NULL, NULL)), 2);
    assert_string_equal(cJSON_GetArrayItem(item(cfg, "Env", NULL, NULL), 1)->valuestring, "B=2");
    assert_string_equal(cJSON_GetArrayItem(item(cfg, "Cmd", NULL, NULL), 0)->valuestring, "sleep");
    assert_string_equal(cJSON_GetArrayItem(item(cfg, "Entrypoint", NULL, NULL), 0)->valuestring,
                        "/bin/busybox");
    assert_string_equal(item(cfg, "User", NULL, NULL)->valuestring, "1000:1000");
    assert_string_equal(item(cfg, "WorkingDir", NULL, NULL)->valuestring, "/app");
    assert_string_equal(item(cfg, "Labels", "flame.parent", NULL)->valuestring, "p1");
    cJSON_Delete(cfg);
    cJSON_Delete(labels);
}

static void unset_optionals_are_omitted(void **state)
{
    struct docker_container_spec spec = {.image = "img", .user = "", .working_dir = ""};
    cJSON *cfg;

    (void)state;
    cfg = build_ok(&spec);
    assert_null(item(cfg, "Env", NULL, NULL));
    assert_null(item(cfg, "Cmd", NULL, NULL));
    assert_null(item(cfg, "Entrypoint", NULL, NULL));
    assert_null(item(cfg, "User", NULL, NULL));
    assert_null(item(cfg, "WorkingDir", NULL, NULL));
    assert_null(item(cfg, "Hostname", NULL, NULL));
    cJSON_Delete(cfg);
}

static void missing_image_is_refused(void **state)
{
    struct docker_container_spec spec = {.image = ""};
    char err[256] = "";
    cJSON *cfg = NULL;

    (void)state;
    assert_int_equal(docker_container_config_build(&spec, &cfg, err, sizeof err), FLAME_EINVALID);
    assert_non_null(strstr(err, "image"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostname_and_image_are_set),
        cmocka_unit_test(open_stdin_keeps_stdin_open_and_is_off_by_default),
        cmocka_unit_test(network_sets_network_mode_and_hostname_alias),
        cmocka_unit_test(no_network_means_default_bridge_without_alias),
        cmocka_unit_test(restart_policy_is_no),
        cmocka_unit_test(user_host_config_is_copied_and_wiring_overrides_it),
        cmocka_unit_test(mounts_are_appended_to_the_users),
        cmocka_unit_test(mounts_without_user_host_config_make_the_array),
        cmocka_unit_test(mounts_not_an_array_of_objects_is_refused),
        cmocka_unit_test(env_cmd_entrypoint_user_workdir_and_labels_are_set),
        cmocka_unit_test(unset_optionals_are_omitted),
        cmocka_unit_test(missing_image_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
