/*
 * Unit tests: the Docker engine's create never guesses the daemon's flavor.
 * A create sent as Docker's to a Podman service lacks the ulimits Podman
 * needs and fails in runc with "error setting rlimit"; so when GET /version
 * does not answer, the create fails UNAVAILABLE, saying why, and sends
 * nothing else (here: a socket path where nobody listens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker/docker.h"
#include "engine/docker_engine.h"
#include "engine/engine.h"
#include "flame/error.h"

static void create_without_a_known_flavor_is_unavailable(void **state)
{
    char sock[64], err[512] = "";
    docker_client *dk = NULL;
    struct engine *e = NULL;
    char *id = NULL;
    struct engine_spec spec = {.name = "fltest-flavor", .image = "flamed-test/app:latest"};

    (void)state;
    snprintf(sock, sizeof sock, "/tmp/fltest-flavor-%ld.sock", (long)getpid());
    unlink(sock); /* nobody listens there */
    assert_int_equal(docker_client_new(&dk, sock), 0);
    assert_int_equal(docker_engine_new(&e, dk), 0);
    int rc = e->ops->create(e, &spec, &id, err, sizeof err);
    assert_int_equal(rc, FLAME_EUNAVAILABLE);
    assert_null(id);
    assert_non_null(strstr(err, "cannot tell whether Docker or Podman serves"));
    assert_non_null(strstr(err, sock));
    docker_engine_free(e);
    docker_client_free(dk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_without_a_known_flavor_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
