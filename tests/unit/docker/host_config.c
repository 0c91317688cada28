/* Unit tests: docker_host_config_validate (Engine API 1.41 HostConfig schema). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

/* Validate a JSON text; return the code, detail in err. */
static int validate(const char *json, char *err, size_t errlen)
{
    cJSON *hc = cJSON_Parse(json);
    int rc;

    assert_non_null(hc);
    err[0] = '\0';
    rc = docker_host_config_validate(hc, err, errlen);
    cJSON_Delete(hc);
    return rc;
}

static void refused(const char *json, const char *must_mention)
{
    char err[512];

    assert_int_equal(validate(json, err, sizeof err), FLAME_EINVALID);
    if (!strstr(err, must_mention))
        fail_msg("detail '%s' does not mention '%s'", err, must_mention);
}

static void valid_config_is_accepted(void **state)
{
    char err[512];

    (void)state;
    assert_int_equal(validate("{\"Memory\":268435456,\"NanoCpus\":1500000000,\"Privileged\":false,"
                              "\"CapAdd\":[\"NET_ADMIN\"],\"Binds\":[\"/a:/a:ro\"],"
                              "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048}],"
                              "\"Tmpfs\":{\"/run\":\"rw\"},\"ShmSize\":67108864,"
                              "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},"
                              "\"Mounts\":[],\"PidsLimit\":100,\"Init\":true,"
                              "\"ConsoleSize\":[24,80],\"MemorySwap\":-1}",
                              err, sizeof err),
                     0);
}

static void empty_and_absent_configs_are_accepted(void **state)
{
    char err[16];

    (void)state;
    assert_int_equal(validate("{}", err, sizeof err), 0);
    assert_int_equal(docker_host_config_validate(NULL, err, sizeof err), 0);
}

static void null_values_are_accepted(void **state)
{
    char err[512];

    (void)state;
    assert_int_equal(validate("{\"PidsLimit\":null,\"Init\":null}", err, sizeof err), 0);
}

static void network_mode_is_refused_naming_the_field(void **state)
{
    (void)state;
    refused("{\"NetworkMode\":\"host\"}", "'NetworkMode'");
}

static void restart_policy_is_refused_naming_the_field(void **state)
{
    (void)state;
    refused("{\"RestartPolicy\":{\"Name\":\"always\"}}", "'RestartPolicy'");
}

static void auto_remove_is_refused_naming_the_field(void **state)
{
    (void)state;
    refused("{\"AutoRemove\":true}", "'AutoRemove'");
}

static void links_are_refused_naming_the_field(void **state)
{
    (void)state;
    refused("{\"Links\":[\"db:db\"]}", "'Links'");
}

static void lowercase_field_gets_the_camelcase_hint(void **state)
{
    char err[512];

    (void)state;
    assert_int_equal(validate("{\"memory\":1}", err, sizeof err), FLAME_EINVALID);
    assert_string_equal(err, "host_config: unknown field 'memory' (HostConfig field names are "
                             "CamelCase, e.g. 'Memory')");
}

static void unknown_field_is_refused_with_a_pointer_to_the_schema(void **state)
{
    (void)state;
    refused("{\"Memory\":1,\"Memroy\":2}", "unknown field 'Memroy'");
    refused("{\"Foo\":1}", "v1.41");
}

static void wrong_scalar_types_are_refused(void **state)
{
    (void)state;
    refused("{\"Memory\":\"1g\"}", "'Memory' must be an integer, got a string");
    refused("{\"Privileged\":1}", "'Privileged' must be a boolean");
    refused("{\"CpusetCpus\":0}", "'CpusetCpus' must be a string");
    refused("{\"Tmpfs\":[]}", "'Tmpfs' must be an object");
}

static void wrong_array_types_are_refused(void **state)
{
    (void)state;
    refused("{\"Binds\":\"/a:/a\"}", "'Binds' must be an array of strings, got a string");
    refused("{\"Binds\":[1]}", "'Binds' must be an array of strings, but an element is an integer");
    refused("{\"Ulimits\":[\"nofile=1024\"]}", "'Ulimits' must be an array of objects");
    refused("{\"ConsoleSize\":[24.5,80]}", "'ConsoleSize' must be an array of integers");
}

static void non_integral_integer_is_refused(void **state)
{
    (void)state;
    refused("{\"Memory\":1.5}", "'Memory' must be an integer, got a non-integral number");
    refused("{\"NanoCpus\":1e30}", "'NanoCpus' must be an integer");
}

static void non_object_is_refused(void **state)
{
    (void)state;
    refused("[]", "must be a JSON object");
    refused("\"Memory=1\"", "must be a JSON object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_config_is_accepted),
        cmocka_unit_test(empty_and_absent_configs_are_accepted),
        cmocka_unit_test(null_values_are_accepted),
        cmocka_unit_test(network_mode_is_refused_naming_the_field),
        cmocka_unit_test(restart_policy_is_refused_naming_the_field),
        cmocka_unit_test(auto_remove_is_refused_naming_the_field),
        cmocka_unit_test(links_are_refused_naming_the_field),
        cmocka_unit_test(lowercase_field_gets_the_camelcase_hint),
        cmocka_unit_test(unknown_field_is_refused_with_a_pointer_to_the_schema),
        cmocka_unit_test(wrong_scalar_types_are_refused),
        cmocka_unit_test(wrong_array_types_are_refused),
        cmocka_unit_test(non_integral_integer_is_refused),
        cmocka_unit_test(non_object_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
