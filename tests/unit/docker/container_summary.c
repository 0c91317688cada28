/* Unit tests: docker_container_summary_parse (what adoption reads from a container list entry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

static int parse(const char *json, const char *network, struct docker_container_summary *s)
{
    cJSON *j = cJSON_Parse(json);
    int rc;

    assert_non_null(j);
    rc = docker_container_summary_parse(j, network, s);
    cJSON_Delete(j);
    return rc;
}

static const char running_json[] =
    "{\"Id\":\"75052643f3cb\",\"Names\":[\"/flame-pool-53b4\"],\"Image\":\"flamed-test/app:latest\","
    "\"Created\":1796471912,\"Labels\":{\"flamed.runner-id\":\"53b49e7f3efd46fd\"},"
    "\"State\":\"running\",\"Status\":\"Up 5 minutes\","
    "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":\"\"},"
    "\"flame\":{\"IPAddress\":\"172.27.0.2\"}}}}";

static void running_entry_gives_name_image_created_and_ip(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse(running_json, "flame", &s), 0);
    assert_string_equal(s.id, "75052643f3cb");
    assert_string_equal(s.name, "flame-pool-53b4");
    assert_string_equal(s.image, "flamed-test/app:latest");
    assert_string_equal(s.state, "running");
    assert_int_equal(s.running, 1);
    assert_int_equal(s.exit_code, -1);
    assert_int_equal(s.created_unix_s, 1796471912);
    assert_string_equal(s.ip_address, "172.27.0.2");
}

static void no_network_named_takes_the_first_with_an_address(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse(running_json, NULL, &s), 0);
    assert_string_equal(s.ip_address, "172.27.0.2");
}

static void missing_network_leaves_the_ip_empty(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse(running_json, "other", &s), 0);
    assert_string_equal(s.ip_address, "");
}

static void exited_entry_gives_its_exit_code(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse("{\"Id\":\"a\",\"State\":\"exited\",\"Status\":\"Exited (137) 2 seconds ago\"}",
                           NULL, &s),
                     0);
    assert_int_equal(s.running, 0);
    assert_string_equal(s.state, "exited");
    assert_int_equal(s.exit_code, 137);
}

static void odd_status_text_leaves_the_exit_code_unknown(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse("{\"Id\":\"a\",\"State\":\"exited\",\"Status\":\"Exited (x)\"}", NULL, &s), 0);
    assert_int_equal(s.exit_code, -1);
    assert_int_equal(parse("{\"Id\":\"a\",\"State\":\"created\",\"Status\":\"Created\"}", NULL, &s), 0);
    assert_int_equal(s.exit_code, -1);
    assert_int_equal(s.running, 0);
}

static void entry_without_id_is_invalid(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse("{\"State\":\"running\"}", NULL, &s), FLAME_EINVALID);
    assert_int_equal(parse("{\"Id\":7}", NULL, &s), FLAME_EINVALID);
    assert_int_equal(parse("[]", NULL, &s), FLAME_EINVALID);
}

static void wrong_types_are_ignored(void **state)
{
    struct docker_container_summary s;

    (void)state;
    assert_int_equal(parse("{\"Id\":\"a\",\"Names\":\"x\",\"Image\":3,\"Created\":\"y\",\"State\":[],"
                           "\"NetworkSettings\":{\"Networks\":[1]}}",
                           NULL, &s),
                     0);
    assert_string_equal(s.name, "");
    assert_string_equal(s.image, "");
    assert_int_equal(s.created_unix_s, 0);
    assert_int_equal(s.running, 0);
    assert_string_equal(s.ip_address, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_entry_gives_name_image_created_and_ip),
        cmocka_unit_test(no_network_named_takes_the_first_with_an_address),
        cmocka_unit_test(missing_network_leaves_the_ip_empty),
        cmocka_unit_test(exited_entry_gives_its_exit_code),
        cmocka_unit_test(odd_status_text_leaves_the_exit_code_unknown),
        cmocka_unit_test(entry_without_id_is_invalid),
        cmocka_unit_test(wrong_types_are_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
