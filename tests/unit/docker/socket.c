/* Unit tests: docker_socket_detect (DOCKER_HOST parsing and the fallback order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

/* The fake filesystem: paths that "exist" for the current test. */
static const char *fake_paths[4];

static int fake_exists(const char *path)
{
    size_t i;

    for (i = 0; i < sizeof fake_paths / sizeof fake_paths[0]; i++)
        if (fake_paths[i] && strcmp(fake_paths[i], path) == 0)
            return 1;
    return 0;
}

static int reset(void **state)
{
    (void)state;
    memset(fake_paths, 0, sizeof fake_paths);
    return 0;
}

static void unix_scheme_docker_host_is_used(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(docker_socket_detect(out, sizeof out, "unix:///run/user/1000/docker.sock",
                                          "/home/u", fake_exists),
                     0);
    assert_string_equal(out, "/run/user/1000/docker.sock");
}

static void bare_path_docker_host_is_used(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(docker_socket_detect(out, sizeof out, "/tmp/d.sock", NULL, fake_exists), 0);
    assert_string_equal(out, "/tmp/d.sock");
}

static void docker_host_is_used_even_when_missing(void **state)
{
    char out[256];

    (void)state;
    fake_paths[0] = "/var/run/docker.sock";
    assert_int_equal(docker_socket_detect(out, sizeof out, "unix:///nope.sock", NULL, fake_exists),
                     0);
    assert_string_equal(out, "/nope.sock");
}

static void tcp_docker_host_is_refused(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(
        docker_socket_detect(out, sizeof out, "tcp://127.0.0.1:2375", NULL, fake_exists),
        FLAME_EINVALID);
    assert_int_equal(docker_socket_detect(out, sizeof out, "ssh://me@host", NULL, fake_exists),
                     FLAME_EINVALID);
}

static void empty_or_relative_unix_path_is_refused(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(docker_socket_detect(out, sizeof out, "unix://", NULL, fake_exists),
                     FLAME_EINVALID);
    assert_int_equal(docker_socket_detect(out, sizeof out, "docker.sock", NULL, fake_exists),
                     FLAME_EINVALID);
}

static void too_long_docker_host_is_refused(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(
        docker_socket_detect(out, sizeof out, "/var/run/docker.sock", NULL, fake_exists),
        FLAME_EINVALID);
}

static void unset_docker_host_prefers_var_run(void **state)
{
    char out[256];

    (void)state;
    fake_paths[0] = "/mnt/wsl/shared-docker/docker.sock";
    fake_paths[1] = "/home/u/.docker/run/docker.sock";
    fake_paths[2] = "/var/run/docker.sock";
    assert_int_equal(docker_socket_detect(out, sizeof out, "", "/home/u", fake_exists), 0);
    assert_string_equal(out, "/var/run/docker.sock");
}

static void unset_docker_host_falls_back_to_docker_desktop(void **state)
{
    char out[256];

    (void)state;
    fake_paths[0] = "/mnt/wsl/shared-docker/docker.sock";
    fake_paths[1] = "/home/u/.docker/run/docker.sock";
    assert_int_equal(docker_socket_detect(out, sizeof out, NULL, "/home/u", fake_exists), 0);
    assert_string_equal(out, "/home/u/.docker/run/docker.sock");
}

static void unset_docker_host_falls_back_to_wsl(void **state)
{
    char out[256];

    (void)state;
    fake_paths[0] = "/mnt/wsl/shared-docker/docker.sock";
    fake_paths[1] = "/home/u/.docker/run/docker.sock";
    /* No HOME: the Docker Desktop path cannot be formed. */
    assert_int_equal(docker_socket_detect(out, sizeof out, NULL, NULL, fake_exists), 0);
    assert_string_equal(out, "/mnt/wsl/shared-docker/docker.sock");
}

static void nothing_found_is_notfound_naming_the_default(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(docker_socket_detect(out, sizeof out, NULL, "/home/u", fake_exists),
                     FLAME_ENOTFOUND);
    assert_string_equal(out, "/var/run/docker.sock");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(unix_scheme_docker_host_is_used, reset),
        cmocka_unit_test_setup(bare_path_docker_host_is_used, reset),
        cmocka_unit_test_setup(docker_host_is_used_even_when_missing, reset),
        cmocka_unit_test_setup(tcp_docker_host_is_refused, reset),
        cmocka_unit_test_setup(empty_or_relative_unix_path_is_refused, reset),
        cmocka_unit_test_setup(too_long_docker_host_is_refused, reset),
        cmocka_unit_test_setup(unset_docker_host_prefers_var_run, reset),
        cmocka_unit_test_setup(unset_docker_host_falls_back_to_docker_desktop, reset),
        cmocka_unit_test_setup(unset_docker_host_falls_back_to_wsl, reset),
        cmocka_unit_test_setup(nothing_found_is_notfound_naming_the_default, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
