/* Live tests (real dockerd): network create / inspect / remove. */
#include "live_support.h"

static void created_network_can_be_inspected_and_removed(void **state)
{
    char name[128], err[512] = "";
    cJSON *labels = live_labels(), *inspect = NULL;
    char *id = NULL;
    const cJSON *driver;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "net1");
    assert_int_equal(docker_network_create(live, name, labels, &id, err, sizeof err), 0);
    cJSON_Delete(labels);
    assert_non_null(id);
    assert_true(strlen(id) >= 12);
    assert_int_equal(docker_network_inspect(live, name, &inspect, err, sizeof err), 0);
    driver = cJSON_GetObjectItemCaseSensitive(inspect, "Driver");
    assert_string_equal(driver->valuestring, "bridge");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(inspect, "Id")->valuestring, id);
    cJSON_Delete(inspect);
    assert_int_equal(docker_network_remove(live, name, err, sizeof err), 0);
    assert_int_equal(docker_network_inspect(live, name, NULL, err, sizeof err), FLAME_ENOTFOUND);
    free(id);
}

static void missing_network_is_notfound_with_the_create_command(void **state)
{
    char name[128], err[512] = "", want[512];

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "no-such-net");
    assert_int_equal(docker_network_inspect(live, name, NULL, err, sizeof err), FLAME_ENOTFOUND);
    snprintf(want, sizeof want, "network '%s' not found: create it with `docker network create %s`",
             name, name);
    assert_string_equal(err, want);
}

static void duplicate_network_name_is_eexists(void **state)
{
    char name[128], err[512] = "";
    cJSON *labels = live_labels();

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "net-dup");
    assert_int_equal(docker_network_create(live, name, labels, NULL, err, sizeof err), 0);
    assert_int_equal(docker_network_create(live, name, labels, NULL, err, sizeof err),
                     FLAME_EEXISTS);
    assert_true(err[0] != '\0');
    cJSON_Delete(labels);
    assert_int_equal(docker_network_remove(live, name, err, sizeof err), 0);
}

static void removing_a_missing_network_is_notfound(void **state)
{
    char name[128], err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "net-gone");
    assert_int_equal(docker_network_remove(live, name, err, sizeof err), FLAME_ENOTFOUND);
}

static void removing_a_network_in_use_is_conflict(void **state)
{
    char name[128], err[512] = "";
    const char *const cmd[] = {"sleep", "60", NULL};
    cJSON *labels = live_labels();
    char *cid;

    (void)state;
    LIVE_REQUIRE();
    live_name(name, sizeof name, "net-busy");
    assert_int_equal(docker_network_create(live, name, labels, NULL, err, sizeof err), 0);
    cJSON_Delete(labels);
    cid = live_create("net-busy-c", cmd, name);
    assert_int_equal(docker_container_start(live, cid, 30000, err, sizeof err), 0);
    assert_int_equal(docker_network_remove(live, name, err, sizeof err), FLAME_ECONFLICT);
    assert_int_equal(docker_container_remove(live, cid, err, sizeof err), 0);
    assert_int_equal(docker_network_remove(live, name, err, sizeof err), 0);
    free(cid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_network_can_be_inspected_and_removed),
        cmocka_unit_test(missing_network_is_notfound_with_the_create_command),
        cmocka_unit_test(duplicate_network_name_is_eexists),
        cmocka_unit_test(removing_a_missing_network_is_notfound),
        cmocka_unit_test(removing_a_network_in_use_is_conflict),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
