/*
 * Unit tests: how Docker's HTTP status and message become FLAME_E* codes
 * (docker__status_code, docker__is_unavailable). The messages are dockerd
 * 20.10.24's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "docker/docker_internal.h"

static void a_body_docker_cannot_decode_is_the_callers(void **state)
{
    (void)state;
    assert_int_equal(docker__status_code(500, "json: cannot unmarshal string into Go struct "
                                              "field HostConfig.HostConfig.Memory of type int64"),
                     FLAME_EINVALID);
    assert_int_equal(docker__status_code(500, "unexpected EOF"), FLAME_EINVALID);
    assert_int_equal(docker__status_code(500, "invalid character 'x' looking for beginning of "
                                              "value"),
                     FLAME_EINVALID);
    assert_int_equal(docker__status_code(500, "unexpected end of JSON input"), FLAME_EINVALID);
}

static void a_500_of_dockers_own_is_an_error_even_naming_a_json_file(void **state)
{
    (void)state;
    assert_int_equal(docker__status_code(500, "write /var/lib/docker/containers/x/"
                                              "config.v2.json: no space left on device"),
                     FLAME_ERROR);
    assert_int_equal(docker__status_code(500, ""), FLAME_ERROR);
    assert_int_equal(docker__status_code(500, NULL), FLAME_ERROR);
    assert_int_equal(docker__status_code(503, "busy"), FLAME_ERROR);
}

static void statuses_map_to_their_codes(void **state)
{
    (void)state;
    assert_int_equal(docker__status_code(201, ""), 0);
    assert_int_equal(docker__status_code(304, ""), 0);
    assert_int_equal(docker__status_code(400, "Minimum memory limit allowed is 6MB"),
                     FLAME_EINVALID);
    assert_int_equal(docker__status_code(404, "No such container: x"), FLAME_ENOTFOUND);
    assert_int_equal(docker__status_code(409, "Conflict."), FLAME_ECONFLICT);
}

static void containerd_gone_is_unavailable(void **state)
{
    (void)state;
    assert_true(docker__is_unavailable(
        "failed to create shim task: connection error: desc = \"transport: Error while dialing "
        "dial unix /run/containerd/containerd.sock: connect: connection refused\": unavailable"));
    assert_true(docker__is_unavailable("rpc error: code = Unavailable desc = transport is "
                                       "closing: unavailable"));
}

static void runc_and_config_failures_are_not_unavailable(void **state)
{
    (void)state;
    assert_false(docker__is_unavailable(
        "failed to create shim task: OCI runtime create failed: runc create failed: unable to "
        "start container process: error during container init: error setting rlimits for ready "
        "process: error setting rlimit type 7: operation not permitted: unknown"));
    assert_false(docker__is_unavailable("unable to find user nosuchuser: no matching entries in "
                                        "passwd file"));
    assert_false(docker__is_unavailable("error gathering device information while adding custom "
                                        "device \"/dev/nosuch\": no such file or directory"));
    assert_false(docker__is_unavailable(""));
    assert_false(docker__is_unavailable(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_body_docker_cannot_decode_is_the_callers),
        cmocka_unit_test(a_500_of_dockers_own_is_an_error_even_naming_a_json_file),
        cmocka_unit_test(statuses_map_to_their_codes),
        cmocka_unit_test(containerd_gone_is_unavailable),
        cmocka_unit_test(runc_and_config_failures_are_not_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
