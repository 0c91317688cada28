/*
 * Unit tests: warm_pools_parse / _load (the pool file of warm runners,
 * server/service/warm_pools.h): strict reading, and the same canonical
 * reading and policy a BootRequest into the pool gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/policy.h"
#include "service/request.h"
#include "service/warm_pools.h"

#define SOCK "/var/run/docker.sock"

static struct policy *builtin;

static int group_setup(void **state)
{
    char err[512];
    (void)state;
    return policy_parse(&builtin, NULL, SOCK, err, sizeof(err)) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    policy_free(builtin);
    return 0;
}

/* Parse text under policy p; the code; err filled. */
static int parse_with(const struct policy *p, const char *text, struct warm_pools **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    return warm_pools_parse(out, text, strlen(text), p, err, errlen);
}

static void assert_refused(const char *text, int code, const char *why)
{
    struct warm_pools *w = NULL;
    char err[1024] = "";
    int rc = parse_with(builtin, text, &w, err, sizeof(err));
    if (rc != code || !strstr(err, why))
        fail_msg("%s\n  got %d '%s', want %d '%s'", text, rc, err, code, why);
    assert_null(w);
}

static void a_valid_file_gives_each_pool_in_canonical_form(void **state)
{
    (void)state;
    const char *text =
        "{\"pools\": {"
        " \"fast\": {\"warm\": 2, \"image\": \"flamed-test/app:latest\", \"network\": \"net1\","
        "   \"cmd\": [\"sleep\", \"60\"], \"env\": {\"A\": \"1\", \"MIX_ENV\": \"prod\"},"
        "   \"host_config\": {\"Memory\": 268435456, \"Init\": true},"
        "   \"mounts\": [{\"Type\": \"tmpfs\", \"Target\": \"/scratch\"}]},"
        " \"other\": {\"warm\": 0, \"image\": \"busybox\"}}}";
    struct warm_pools *w = NULL;
    char err[1024] = "";
    assert_int_equal(parse_with(builtin, text, &w, err, sizeof(err)), 0);
    assert_int_equal(w->n, 2);
    const struct warm_pool *f = warm_pools_find(w, "fast");
    assert_non_null(f);
    assert_string_equal(f->name, "fast");
    assert_int_equal(f->warm, 2);
    assert_string_equal(f->image, "flamed-test/app:latest");
    assert_string_equal(f->network, "net1");
    assert_string_equal(f->cmd[0], "sleep");
    assert_string_equal(f->cmd[1], "60");
    assert_null(f->cmd[2]);
    /* As request_boot_env builds a Boot's env: PHX_SERVER=false added. */
    assert_string_equal(f->env[0], "A=1");
    assert_string_equal(f->env[1], "MIX_ENV=prod");
    assert_string_equal(f->env[2], "PHX_SERVER=false");
    assert_null(f->env[3]);
    assert_int_equal((long)cJSON_GetNumberValue(
                         cJSON_GetObjectItemCaseSensitive(f->host_config, "Memory")),
                     268435456);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->host_config, "Init")));
    assert_int_equal(cJSON_GetArraySize(f->mounts), 1);
    const struct warm_pool *o = warm_pools_find(w, "other");
    assert_non_null(o);
    assert_int_equal(o->warm, 0);
    assert_null(o->network);
    assert_null(o->cmd);
    assert_null(o->host_config);
    assert_null(o->mounts);
    assert_null(warm_pools_find(w, "nope"));
    warm_pools_free(w);
}

static void an_empty_pool_map_is_no_pools(void **state)
{
    (void)state;
    struct warm_pools *w = NULL;
    char err[512];
    assert_int_equal(parse_with(builtin, "{\"pools\": {}}\n", &w, err, sizeof(err)), 0);
    assert_int_equal(w->n, 0);
    warm_pools_free(w);
}

static void unknown_keys_are_refused(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {}, \"version\": 1}", FLAME_EINVALID, "unknown key 'version'");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"entrypoint\": [\"x\"]}}}",
                   FLAME_EINVALID, "pools.p: unknown key 'entrypoint'");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"Image\": \"b\"}}}",
                   FLAME_EINVALID, "unknown key 'Image'");
}

static void repeated_keys_are_refused_at_every_level(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {}, \"pools\": {}}", FLAME_EINVALID, "'pools' is repeated");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\"},"
                   " \"p\": {\"warm\": 2, \"image\": \"a\"}}}",
                   FLAME_EINVALID, "'p' is repeated");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"image\": \"b\"}}}",
                   FLAME_EINVALID, "'image' is repeated");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"env\": {\"A\": \"1\", \"A\": \"2\"}}}}",
                   FLAME_EINVALID, "'A' is repeated");
    /* Inside host_config: the canonical reading refuses it, as for a Boot. */
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"host_config\": {\"Init\": true, \"Init\": false}}}}",
                   FLAME_EINVALID, "pools.p: host_config");
}

static void warm_must_be_a_small_whole_number(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {\"p\": {\"image\": \"a\"}}}", FLAME_EINVALID, "pools.p.warm");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1.5, \"image\": \"a\"}}}", FLAME_EINVALID,
                   "pools.p.warm");
    assert_refused("{\"pools\": {\"p\": {\"warm\": -1, \"image\": \"a\"}}}", FLAME_EINVALID,
                   "pools.p.warm");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 65, \"image\": \"a\"}}}", FLAME_EINVALID,
                   "from 0 to 64");
    assert_refused("{\"pools\": {\"p\": {\"warm\": \"2\", \"image\": \"a\"}}}", FLAME_EINVALID,
                   "pools.p.warm");
}

static void refill_delay_ms_is_optional_and_bounded(void **state)
{
    (void)state;
    struct warm_pools *w = NULL;
    char err[1024] = "";
    const char *text = "{\"pools\": {\"a\": {\"warm\": 1, \"image\": \"busybox\"},"
                       " \"b\": {\"warm\": 1, \"refill_delay_ms\": 0, \"image\": \"busybox\"},"
                       " \"c\": {\"warm\": 1, \"refill_delay_ms\": 60000, \"image\": \"busybox\"}}}";
    assert_int_equal(parse_with(builtin, text, &w, err, sizeof(err)), 0);
    assert_int_equal(warm_pools_find(w, "a")->refill_delay_ms, WARM_REFILL_DELAY_DEFAULT_MS);
    assert_int_equal(warm_pools_find(w, "b")->refill_delay_ms, 0);
    assert_int_equal(warm_pools_find(w, "c")->refill_delay_ms, 60000);
    warm_pools_free(w);
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"refill_delay_ms\": 60001, \"image\": \"a\"}}}",
                   FLAME_EINVALID, "pools.p.refill_delay_ms must be an integer from 0 to 60000");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"refill_delay_ms\": -1, \"image\": \"a\"}}}",
                   FLAME_EINVALID, "pools.p.refill_delay_ms");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"refill_delay_ms\": 0.5, \"image\": \"a\"}}}",
                   FLAME_EINVALID, "pools.p.refill_delay_ms");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"refill_delay_ms\": \"1\", \"image\": \"a\"}}}",
                   FLAME_EINVALID, "pools.p.refill_delay_ms");
    /* Beyond int64_t: refused, the range checked before any cast. */
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"refill_delay_ms\": 1e300, \"image\": \"a\"}}}",
                   FLAME_EINVALID, "pools.p.refill_delay_ms");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1e300, \"image\": \"a\"}}}", FLAME_EINVALID,
                   "pools.p.warm must be an integer from 0 to 64");
}

static void the_spec_is_read_as_a_boot_request_would_be(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1}}}", FLAME_EINVALID, "pools.p.image");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"UPPER/case:x\"}}}",
                   FLAME_EINVALID, "pools.p: image");
    assert_refused("{\"pools\": {\"bad name!\": {\"warm\": 1, \"image\": \"a\"}}}", FLAME_EINVALID,
                   "pool 'bad name!' is invalid");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"host_config\": {\"memory\": 1}}}}",
                   FLAME_EINVALID, "pools.p: host_config");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"env\": {\"A=B\": \"1\"}}}}",
                   FLAME_EINVALID, "pools.p: env key");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"cmd\": [\"x\", 2]}}}",
                   FLAME_EINVALID, "pools.p.cmd[1]");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"env\": {\"A\": 1}}}}",
                   FLAME_EINVALID, "pools.p.env.A");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"mounts\": [1]}}}",
                   FLAME_EINVALID, "pools.p.mounts[0]");
}

static void the_policy_applies_to_the_spec(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"host_config\": {\"Privileged\": true}}}}",
                   FLAME_EPERM, "pools.p: ");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"mounts\": [{\"Type\": \"bind\", \"Source\": \"/etc\", \"Target\": \"/e\"}]}}}",
                   FLAME_EPERM, "pools.p: ");
}

static void the_policy_defaults_are_applied_and_its_allowlists_hold(void **state)
{
    (void)state;
    struct policy *p = NULL;
    char err[1024] = "";
    assert_int_equal(policy_parse(&p,
                                  "{\"images\": [\"flamed-test/*\"],"
                                  " \"defaults\": {\"Memory\": 536870912}}",
                                  SOCK, err, sizeof(err)),
                     0);
    struct warm_pools *w = NULL;
    assert_int_equal(parse_with(p,
                                "{\"pools\": {\"p\": {\"warm\": 1,"
                                " \"image\": \"flamed-test/app:latest\"}}}",
                                &w, err, sizeof(err)),
                     0);
    const struct warm_pool *wp = warm_pools_find(w, "p");
    assert_int_equal((long)cJSON_GetNumberValue(
                         cJSON_GetObjectItemCaseSensitive(wp->host_config, "Memory")),
                     536870912);
    warm_pools_free(w);
    w = NULL;
    assert_int_equal(parse_with(p, "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"other:1\"}}}",
                                &w, err, sizeof(err)),
                     FLAME_EPERM);
    assert_non_null(strstr(err, "images allowlist"));
    assert_null(w);
    policy_free(p);
}

static void mounts_may_not_cover_flameds_own_directory(void **state)
{
    (void)state;
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"mounts\": [{\"Type\": \"tmpfs\", \"Target\": \"/.flamed\"}]}}}",
                   FLAME_EINVALID, "flamed's own");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                   " \"mounts\": [{\"Type\": \"tmpfs\", \"Target\": \"/.flamed/init\"}]}}}",
                   FLAME_EINVALID, "flamed's own");
    struct warm_pools *w = NULL;
    char err[512];
    assert_int_equal(parse_with(builtin,
                                "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                                " \"mounts\": [{\"Type\": \"tmpfs\", \"Target\": \"/.flamedx\"}]}}}",
                                &w, err, sizeof(err)),
                     0);
    warm_pools_free(w);
}

/*
 * Attack: flamed-init is one host file bound read-only into every warm
 * runner of every pool. A runner with CAP_SYS_ADMIN remounts that bind
 * read-write (`mount -o remount,rw,bind /.flamed/init`: checked against
 * dockerd 20.10 with the default seccomp profile) and rewrites the host
 * file: every later warm runner, of any pool, runs its code as PID 1 with
 * its Boot's env. So a warm spec that grants CAP_SYS_ADMIN (Privileged,
 * CapAdd SYS_ADMIN or ALL, in any spelling) is refused even where the
 * policy allows it; warm 0 makes no warm runner and is left alone.
 */
static void a_warm_spec_may_not_grant_cap_sys_admin(void **state)
{
    (void)state;
    struct policy *p = NULL;
    char err[1024] = "";
    assert_int_equal(policy_parse(&p,
                                  "{\"allow\": {\"capabilities\": [\"SYS_ADMIN\", \"ALL\", "
                                  "\"NET_ADMIN\"], \"privileged\": true}}",
                                  SOCK, err, sizeof(err)),
                     0);
    static const char *const hostile[] = {
        "{\"CapAdd\": [\"SYS_ADMIN\"]}",     "{\"CapAdd\": [\"sys_admin\"]}",
        "{\"CapAdd\": [\"CAP_SYS_ADMIN\"]}", "{\"CapAdd\": [\"cap_Sys_Admin\"]}",
        "{\"CapAdd\": [\"ALL\"]}",           "{\"CapAdd\": [\"all\"], \"CapDrop\": [\"SYS_ADMIN\"]}",
        "{\"Privileged\": true}",
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char text[512];
        struct warm_pools *w = NULL;
        snprintf(text, sizeof(text),
                 "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"host_config\": %s}}}",
                 hostile[i]);
        int rc = parse_with(p, text, &w, err, sizeof(err));
        if (rc != FLAME_EINVALID || !strstr(err, "CAP_SYS_ADMIN"))
            fail_msg("%s\n  got %d '%s'", text, rc, err);
        assert_null(w);
    }
    struct warm_pools *w = NULL;
    assert_int_equal(parse_with(p,
                                "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"host_config\":"
                                " {\"CapAdd\": [\"NET_ADMIN\"], \"Privileged\": false}}}}",
                                &w, err, sizeof(err)),
                     0);
    warm_pools_free(w);
    w = NULL;
    assert_int_equal(parse_with(p,
                                "{\"pools\": {\"p\": {\"warm\": 0, \"image\": \"a\","
                                " \"host_config\": {\"CapAdd\": [\"SYS_ADMIN\"]}}}}",
                                &w, err, sizeof(err)),
                     0);
    warm_pools_free(w);
    policy_free(p);
}

static void malformed_text_is_refused(void **state)
{
    (void)state;
    assert_refused("", FLAME_EINVALID, "not JSON");
    assert_refused("{\"pools\": {}", FLAME_EINVALID, "not JSON");
    assert_refused("{\"pools\": {}} {}", FLAME_EINVALID, "text after");
    assert_refused("[]", FLAME_EINVALID, "must be an object");
    assert_refused("{}", FLAME_EINVALID, "pools must be an object");
    assert_refused("{\"pools\": []}", FLAME_EINVALID, "pools must be an object");
    assert_refused("{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\\u0000b\"}}}", FLAME_EINVALID,
                   "\\u0000");
    /* An escaped backslash before "u0000" is not an escape of NUL. */
    struct warm_pools *w = NULL;
    char err[512];
    assert_int_equal(parse_with(builtin,
                                "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\","
                                " \"env\": {\"X\": \"\\\\u0000\"}}}}",
                                &w, err, sizeof(err)),
                     0);
    assert_string_equal(warm_pools_find(w, "p")->env[0], "X=\\u0000");
    warm_pools_free(w);
    const char nul[] = "{\"pools\": {}}\0";
    w = NULL;
    assert_int_equal(warm_pools_parse(&w, nul, sizeof(nul) - 1, builtin, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_null(w);
}

static void too_many_pools_or_too_deep_is_refused(void **state)
{
    (void)state;
    char text[8192];
    size_t pos = (size_t)snprintf(text, sizeof(text), "{\"pools\": {");
    for (int i = 0; i <= WARM_POOLS_MAX; i++)
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
                                "%s\"p%d\": {\"warm\": 0, \"image\": \"a\"}", i ? "," : "", i);
    snprintf(text + pos, sizeof(text) - pos, "}}");
    assert_refused(text, FLAME_EINVALID, "at most 64 are allowed");

    pos = (size_t)snprintf(text, sizeof(text),
                           "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\", \"host_config\": ");
    for (int i = 0; i < 20; i++)
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "{\"LogConfig\": ");
    pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "1");
    for (int i = 0; i < 20; i++)
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "}");
    snprintf(text + pos, sizeof(text) - pos, "}}}");
    assert_refused(text, FLAME_EINVALID, "nest deeper");
}

static void load_reads_a_file_and_refuses_what_is_not_one(void **state)
{
    (void)state;
    char path[] = "/tmp/fltest-warm-pools-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"pools\": {\"p\": {\"warm\": 3, \"image\": \"a\"}}}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct warm_pools *w = NULL;
    char err[512] = "";
    assert_int_equal(warm_pools_load(&w, path, builtin, err, sizeof(err)), 0);
    assert_int_equal(warm_pools_find(w, "p")->warm, 3);
    warm_pools_free(w);
    unlink(path);
    w = NULL;
    assert_int_equal(warm_pools_load(&w, path, builtin, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "cannot read"));
    assert_int_equal(warm_pools_load(&w, "/tmp", builtin, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(w);
}

/* The command warm_pool_command gives for pool spec text (cmd part) and image Config text. */
static int command_of(const char *spec_cmd, const char *image_config, char ***argv, char *err,
                      size_t errlen)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"pools\": {\"p\": {\"warm\": 1, \"image\": \"a\"%s%s}}}",
             spec_cmd ? ", \"cmd\": " : "", spec_cmd ? spec_cmd : "");
    struct warm_pools *w = NULL;
    assert_int_equal(parse_with(builtin, text, &w, err, errlen), 0);
    cJSON *cfg = image_config ? cJSON_Parse(image_config) : NULL;
    if (image_config)
        assert_non_null(cfg);
    *argv = NULL;
    int rc = warm_pool_command(argv, warm_pools_find(w, "p"), cfg, err, errlen);
    cJSON_Delete(cfg);
    warm_pools_free(w);
    return rc;
}

static void assert_command(const char *spec_cmd, const char *image_config, const char *want)
{
    char **argv = NULL, err[512] = "", got[512] = "";
    int rc = command_of(spec_cmd, image_config, &argv, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s / %s: %d %s", spec_cmd, image_config, rc, err);
    size_t pos = 0;
    for (size_t i = 0; argv[i]; i++)
        pos += (size_t)snprintf(got + pos, sizeof(got) - pos, "%s%s", i ? "|" : "", argv[i]);
    assert_string_equal(got, want);
    request_strv_free(argv);
}

static void the_warm_command_is_what_docker_runs_for_a_cold_boot(void **state)
{
    (void)state;
    const char *img = "{\"Entrypoint\": [\"/entry\", \"-x\"], \"Cmd\": [\"serve\"]}";
    /* The image's Entrypoint stays; the spec's cmd replaces the image's Cmd. */
    assert_command("[\"run\", \"1\"]", img, "/entry|-x|run|1");
    assert_command(NULL, img, "/entry|-x|serve");
    assert_command("[]", img, "/entry|-x|serve"); /* an empty cmd is none, as for Docker */
    assert_command(NULL, "{\"Entrypoint\": null, \"Cmd\": [\"sleep\", \"3600\"]}",
                   "sleep|3600");
    assert_command("[\"sh\"]", "{\"Entrypoint\": null, \"Cmd\": [\"sleep\", \"3600\"]}",
                   "sh");
    assert_command("[\"sh\"]", NULL, "sh");
}

static void no_command_or_a_malformed_image_config_is_refused(void **state)
{
    (void)state;
    char **argv = NULL, err[512] = "";
    assert_int_equal(command_of(NULL, "{\"Entrypoint\": null, \"Cmd\": null}", &argv, err,
                                sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "no command"));
    assert_null(argv);
    assert_int_equal(command_of(NULL, NULL, &argv, err, sizeof(err)), FLAME_EINVALID);
    assert_int_equal(command_of(NULL, "{\"Entrypoint\": \"/entry\"}", &argv, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "Entrypoint is not an array"));
    assert_int_equal(command_of(NULL, "{\"Cmd\": [\"a\", 1]}", &argv, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "Cmd holds a non-string"));
    assert_null(argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_valid_file_gives_each_pool_in_canonical_form),
        cmocka_unit_test(an_empty_pool_map_is_no_pools),
        cmocka_unit_test(unknown_keys_are_refused),
        cmocka_unit_test(repeated_keys_are_refused_at_every_level),
        cmocka_unit_test(warm_must_be_a_small_whole_number),
        cmocka_unit_test(refill_delay_ms_is_optional_and_bounded),
        cmocka_unit_test(the_spec_is_read_as_a_boot_request_would_be),
        cmocka_unit_test(the_policy_applies_to_the_spec),
        cmocka_unit_test(the_policy_defaults_are_applied_and_its_allowlists_hold),
        cmocka_unit_test(mounts_may_not_cover_flameds_own_directory),
        cmocka_unit_test(a_warm_spec_may_not_grant_cap_sys_admin),
        cmocka_unit_test(malformed_text_is_refused),
        cmocka_unit_test(too_many_pools_or_too_deep_is_refused),
        cmocka_unit_test(load_reads_a_file_and_refuses_what_is_not_one),
        cmocka_unit_test(the_warm_command_is_what_docker_runs_for_a_cold_boot),
        cmocka_unit_test(no_command_or_a_malformed_image_config_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
