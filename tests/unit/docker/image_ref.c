/* Unit tests: docker_image_ref_split (repo/tag for POST /images/create). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "docker/docker.h"

static void split(const char *ref, const char *want_repo, const char *want_tag)
{
    char repo[256], tag[128];

    assert_int_equal(docker_image_ref_split(ref, repo, sizeof repo, tag, sizeof tag), 0);
    assert_string_equal(repo, want_repo);
    assert_string_equal(tag, want_tag);
}

static void repo_and_tag_are_split(void **state)
{
    (void)state;
    split("busybox:1.36", "busybox", "1.36");
    split("flamed-test/busybox:latest", "flamed-test/busybox", "latest");
}

static void missing_tag_means_latest(void **state)
{
    (void)state;
    split("busybox", "busybox", "latest");
    split("library/busybox", "library/busybox", "latest");
}

static void registry_port_is_not_a_tag(void **state)
{
    (void)state;
    split("host:5000/repo", "host:5000/repo", "latest");
    split("host:5000/team/repo:v2", "host:5000/team/repo", "v2");
}

static void digest_ref_goes_whole_into_repo(void **state)
{
    (void)state;
    split("repo@sha256:abcdef", "repo@sha256:abcdef", "");
    split("host:5000/repo:v1@sha256:ab", "host:5000/repo:v1@sha256:ab", "");
}

static void empty_ref_is_refused(void **state)
{
    char repo[16], tag[16];

    (void)state;
    assert_int_equal(docker_image_ref_split("", repo, sizeof repo, tag, sizeof tag),
                     FLAME_EINVALID);
    assert_int_equal(docker_image_ref_split(NULL, repo, sizeof repo, tag, sizeof tag),
                     FLAME_EINVALID);
}

static void empty_tag_or_repo_is_refused(void **state)
{
    char repo[16], tag[16];

    (void)state;
    assert_int_equal(docker_image_ref_split("repo:", repo, sizeof repo, tag, sizeof tag),
                     FLAME_EINVALID);
    assert_int_equal(docker_image_ref_split(":tag", repo, sizeof repo, tag, sizeof tag),
                     FLAME_EINVALID);
}

static void too_long_for_buffers_is_refused(void **state)
{
    char repo[8], tag[4];

    (void)state;
    assert_int_equal(
        docker_image_ref_split("averyverylongrepo:t", repo, sizeof repo, tag, sizeof tag),
        FLAME_EINVALID);
    assert_int_equal(docker_image_ref_split("r:longtag", repo, sizeof repo, tag, sizeof tag),
                     FLAME_EINVALID);
    assert_int_equal(
        docker_image_ref_split("averyverylongrepo", repo, sizeof repo, tag, sizeof tag),
        FLAME_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repo_and_tag_are_split),
        cmocka_unit_test(missing_tag_means_latest),
        cmocka_unit_test(registry_port_is_not_a_tag),
        cmocka_unit_test(digest_ref_goes_whole_into_repo),
        cmocka_unit_test(empty_ref_is_refused),
        cmocka_unit_test(empty_tag_or_repo_is_refused),
        cmocka_unit_test(too_long_for_buffers_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
