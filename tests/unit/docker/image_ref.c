/*
 * Unit tests: docker_image_ref_validate (Docker's reference grammar, as
 * dockerd 20.10.24 answered each case: see the comments) and
 * docker_image_ref_split (repo/tag for POST /images/create).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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


/* ------------------------------------------------------------ validate */

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void valid(const char *ref)
{
    char err[512] = "untouched";

    if (docker_image_ref_validate(ref, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", ref, err);
    assert_string_equal(err, "untouched");
}

/* Refused, with a message naming the reference and containing `want`. */
static void invalid(const char *ref, const char *want)
{
    char err[512] = "";
    char head[160];
    size_t i;

    if (docker_image_ref_validate(ref, err, sizeof err) != FLAME_EINVALID)
        fail_msg("'%s' accepted, Docker refuses it", ref);
    snprintf(head, sizeof head, "image '%.40s", ref);
    for (i = 0; ref[i] && ref[i] >= 0x20 && ref[i] < 0x7f; i++)
        ;
    if (i <= 40 && !ref[i] && strncmp(err, head, strlen(head)) != 0) /* quoted as written */
        fail_msg("'%s': message does not name the reference: %s", ref, err);
    if (!strstr(err, "is not a valid reference: "))
        fail_msg("'%s': message is not 'is not a valid reference: ...': %s", ref, err);
    if (!strstr(err, want))
        fail_msg("'%s': message lacks \"%s\": %s", ref, want, err);
}

static void repeat(char *out, size_t outlen, const char *prefix, char c, size_t n,
                   const char *suffix)
{
    size_t k = (size_t)snprintf(out, outlen, "%s", prefix);

    assert_true(k + n + strlen(suffix) < outlen);
    memset(out + k, c, n);
    snprintf(out + k + n, outlen - k - n, "%s", suffix);
}

static void plain_names_tags_and_digests_are_valid(void **state)
{
    (void)state;
    valid("busybox");
    valid("busybox:1.36");
    valid("flamed-test/app:latest");
    valid("docker.io/library/x");
    valid("a:b@sha256:" HEX64);
    valid("busybox@sha256:" HEX64);
    valid("a:_t");            /* a tag may begin with '_' */
    valid("a:Tag-1.x_Y");     /* tags may hold uppercase */
    valid("a__b__c");         /* '__' is a separator */
    valid("a--b");            /* so is any run of '-' */
    valid("a.b.c");           /* a one-component name with dots is a path component */
    valid("0/1");
    valid(HEX64);             /* an image id: a valid name, Docker looks it up as an id */
}

static void registries_with_ports_and_paths_are_valid(void **state)
{
    (void)state;
    valid("localhost:5000/a/b:t");
    valid("registry.example/team/app@sha256:" HEX64);
    valid("a.io/b/c:t@sha256:" HEX64);
    valid("localhost/app");
    valid("Upper.Example/x");      /* a registry host may hold uppercase */
    valid("x.y:5000/a");
    valid("a.io:5000");            /* name a.io, tag 5000 */
    valid("localhost:5000");       /* name localhost, tag 5000 */
    valid("a_b.io/x");             /* no host, but a valid path component: Docker takes it */
    valid("x.io:65535/a");
}

static void sha384_and_sha512_digests_are_valid(void **state)
{
    char ref[256];

    (void)state;
    repeat(ref, sizeof ref, "a@sha384:", 'f', 96, "");
    valid(ref);
    repeat(ref, sizeof ref, "a@sha512:", '0', 128, "");
    valid(ref);
}

static void uppercase_path_components_are_refused(void **state)
{
    (void)state;
    /* Docker: "invalid reference format: repository name must be lowercase" */
    invalid("UPPER/case", "path components are lowercase ([a-z0-9] separated by '.', '_', '__' "
                          "or '-')");
    invalid("UPPER/case", "path component 'UPPER' is invalid");
    invalid("Busybox", "path component 'Busybox'");
    invalid("localhost/Up", "path component 'Up'");
    invalid("registry.example/Team/app", "path component 'Team'");
}

static void bad_separators_and_characters_are_refused(void **state)
{
    (void)state;
    /* Docker: "invalid reference format" for each */
    invalid("-x", "path component '-x'");
    invalid("a-", "path component 'a-'");
    invalid(".a", "path component '.a'");
    invalid("a.", "path component 'a.'");
    invalid("a___b", "path component 'a___b'");
    invalid("a._b", "path component 'a._b'");
    invalid("app latest", "path component 'app latest'");
    invalid("app;rm", "path component 'app;rm'");
    invalid("caf\xc3\xa9", "path component 'caf?" "?'");
}

static void empty_path_components_are_refused(void **state)
{
    (void)state;
    invalid("a//b", "a path component is empty");
    invalid("x/", "a path component is empty");
    invalid("/x", "a path component is empty");
    invalid("a/b/", "a path component is empty");
    invalid("localhost:5000/", "a path component is empty");
}

static void empty_or_malformed_tags_are_refused(void **state)
{
    char ref[256];

    (void)state;
    invalid("app:", "the tag after ':' is empty");
    invalid("a.io:5000/x:", "the tag after ':' is empty");
    invalid("a:.t", "tag '.t' is invalid");
    invalid("a:-t", "tag '-t' is invalid");
    invalid("a:t/x", "the port of registry 'a:t'"); /* a ':' before a '/' is a port */
    repeat(ref, sizeof ref, "a:", 't', 129, "");
    invalid(ref, "the tag is 129 bytes long, at most 128");
    repeat(ref, sizeof ref, "a:", 't', 128, "");
    valid(ref);
}

static void a_colon_outside_tag_or_port_is_refused(void **state)
{
    (void)state;
    invalid("app:tag:tag", "':' may appear only before the tag");
    invalid(":tag", "the repository name is empty");
    invalid("a:b:c/x", "the port of registry 'a:b:c'");
}

static void bad_registry_hosts_and_ports_are_refused(void **state)
{
    (void)state;
    invalid("-a.io/x", "registry host '-a.io' is invalid");
    invalid("a-.io/x", "registry host 'a-.io' is invalid");
    invalid("a..b/x", "registry host 'a..b' is invalid");
    invalid("a.io:/x", "the port of registry 'a.io:'");
    invalid("A_b.io/x", "registry host 'A_b.io' is invalid");
    invalid("[::1]:5000/a", "IPv6");
    /* Docker takes any digits; no registry listens there. */
    invalid("registry:99999999/x", "not a number from 1 to 65535");
    invalid("localhost:0/x", "not a number from 1 to 65535");
    invalid("x.io:65536/a", "not a number from 1 to 65535");
}

static void malformed_digests_are_refused(void **state)
{
    char ref[256];

    (void)state;
    invalid("app@sha256:xyz", "a sha256 digest is 64 lowercase hex digits");
    invalid("a@sha256:" HEX64 "0", "a sha256 digest is 64");
    repeat(ref, sizeof ref, "a@sha256:", 'A', 64, "");
    invalid(ref, "lowercase hex"); /* Docker: "invalid checksum digest format" */
    repeat(ref, sizeof ref, "a@sha512:", 'a', 64, "");
    invalid(ref, "a sha512 digest is 128"); /* Docker: "invalid checksum digest length" */
    invalid("a@md5:0123456789abcdef0123456789abcdef", "digest algorithm 'md5' is not supported");
    invalid("a@Sha256:" HEX64, "digest 'Sha256:");
    invalid("a@", "digest '' is invalid");
    invalid("a:t@", "digest '' is invalid");
    invalid("a@" HEX64, "ALGORITHM:HEX");
    invalid("a@sha256:" HEX64 "@sha256:" HEX64, "more than one '@'");
    invalid("@sha256:" HEX64, "the repository name is empty");
}

static void names_over_255_bytes_as_docker_reads_them_are_refused(void **state)
{
    char ref[512];

    (void)state;
    /* Measured: 237 plain bytes pass ("docker.io/library/" makes 255), 238 do not. */
    repeat(ref, sizeof ref, "", 'a', 237, "");
    valid(ref);
    repeat(ref, sizeof ref, "", 'a', 238, "");
    invalid(ref, "the repository name is 256 bytes");
    /* With a '/' but no registry: "docker.io/" only. */
    repeat(ref, sizeof ref, "lib/", 'a', 241, "");
    valid(ref);
    repeat(ref, sizeof ref, "lib/", 'a', 242, ":tag");
    invalid(ref, "at most 255");
    /* With a registry: as written. */
    repeat(ref, sizeof ref, "x.io/", 'a', 250, "");
    valid(ref);
    repeat(ref, sizeof ref, "x.io/", 'a', 251, "");
    invalid(ref, "256 bytes");
    /* The tag does not count. */
    repeat(ref, sizeof ref, "x.io/", 'a', 250, ":tag");
    valid(ref);
}

static void empty_reference_is_refused(void **state)
{
    char err[256] = "";

    (void)state;
    assert_int_equal(docker_image_ref_validate("", err, sizeof err), FLAME_EINVALID);
    assert_non_null(strstr(err, "image is empty"));
    assert_int_equal(docker_image_ref_validate(NULL, err, sizeof err), FLAME_EINVALID);
    /* No buffer: still refused. */
    assert_int_equal(docker_image_ref_validate("UPPER/case", NULL, 0), FLAME_EINVALID);
}

static void long_or_unprintable_reference_is_quoted_safely(void **state)
{
    char ref[600], err[1024];

    (void)state;
    repeat(ref, sizeof ref, "A\n\x01", 'b', 500, "");
    assert_int_equal(docker_image_ref_validate(ref, err, sizeof err), FLAME_EINVALID);
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\x01'));
    assert_non_null(strstr(err, "image 'A??bbb"));
    assert_non_null(strstr(err, "...' is not a valid reference"));
    assert_true(strlen(err) < 600);
    /* A small buffer is filled and terminated. */
    assert_int_equal(docker_image_ref_validate("UPPER/case", err, 8), FLAME_EINVALID);
    assert_int_equal(strlen(err), 7);
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
        cmocka_unit_test(plain_names_tags_and_digests_are_valid),
        cmocka_unit_test(registries_with_ports_and_paths_are_valid),
        cmocka_unit_test(sha384_and_sha512_digests_are_valid),
        cmocka_unit_test(uppercase_path_components_are_refused),
        cmocka_unit_test(bad_separators_and_characters_are_refused),
        cmocka_unit_test(empty_path_components_are_refused),
        cmocka_unit_test(empty_or_malformed_tags_are_refused),
        cmocka_unit_test(a_colon_outside_tag_or_port_is_refused),
        cmocka_unit_test(bad_registry_hosts_and_ports_are_refused),
        cmocka_unit_test(malformed_digests_are_refused),
        cmocka_unit_test(names_over_255_bytes_as_docker_reads_them_are_refused),
        cmocka_unit_test(empty_reference_is_refused),
        cmocka_unit_test(long_or_unprintable_reference_is_quoted_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
