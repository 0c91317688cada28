/* Unit tests: docker_path_template() (endpoint labels for metrics: never a
 * raw id or image name) and the request hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/observe.h"

static void check(const char *path, const char *want)
{
    char out[256];
    assert_ptr_equal(docker_path_template(path, out, sizeof(out)), out);
    if (strcmp(out, want) != 0)
        fail_msg("docker_path_template(\"%s\") = \"%s\", want \"%s\"", path, out, want);
}

static void containers_ids_become_placeholders(void **state)
{
    (void)state;
    check("/containers/3f2a9c/json?size=1", "/containers/{id}/json");
    check("/containers/flame-video-1a2b/start", "/containers/{id}/start");
    check("/containers/abc", "/containers/{id}");
    check("/containers/create?name=flame-x-1", "/containers/create");
    check("/containers/json?all=1&filters=%7B%7D", "/containers/json");
    check("/containers/abc/logs?stdout=1&tail=20", "/containers/{id}/logs");
    check("/v1.41/containers/abc/stop?t=10", "/containers/{id}/stop");
}

static void exec_networks_volumes(void **state)
{
    (void)state;
    check("/containers/abc/exec", "/containers/{id}/exec");
    check("/exec/9e8d/start", "/exec/{id}/start");
    check("/exec/9e8d/json", "/exec/{id}/json");
    check("/networks/appnet", "/networks/{id}");
    check("/networks/create", "/networks/create");
    check("/volumes/cache", "/volumes/{id}");
}

static void image_names_with_slashes_and_tags(void **state)
{
    (void)state;
    check("/images/app:latest/json", "/images/{name}/json");
    check("/images/registry.example:5000/team/app:1.2/json", "/images/{name}/json");
    check("/images/create?fromImage=app&tag=latest", "/images/create");
    check("/images/json", "/images/json");
    check("/images/registry.example/team/app", "/images/{name}");
    check("/distribution/team/app:1/json", "/distribution/{name}/json");
}

static void other_endpoints_keep_plain_words_only(void **state)
{
    (void)state;
    check("/_ping", "/_ping");
    check("/version", "/version");
    check("/events?filters=x", "/events");
    check("/system/df", "/system/df");
    check("/Weird/ID123", "/{...}/{...}");
    check("", "/");
    check("/", "/");
}

static void output_is_bounded(void **state)
{
    (void)state;
    char out[8];
    docker_path_template("/containers/abc/json", out, sizeof(out));
    assert_int_equal(strlen(out), sizeof(out) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(containers_ids_become_placeholders),
        cmocka_unit_test(exec_networks_volumes),
        cmocka_unit_test(image_names_with_slashes_and_tags),
        cmocka_unit_test(other_endpoints_keep_plain_words_only),
        cmocka_unit_test(output_is_bounded),
    };
    return cmocka_run_group_tests_name("path_template", tests, NULL, NULL);
}
