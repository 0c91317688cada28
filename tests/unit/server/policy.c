/*
 * Unit tests: the Boot policy (service/policy.h, docs/security.md "The
 * policy: an allowlist"). Parsing: the example of docs/security.md, every
 * allow switch (bool, list, map), unknown and repeated keys, retired switches,
 * host_binds prefixes refused at load, seccomp profiles, ceilings.Ulimits,
 * limits.max_depth, pools. Checks, on canonical trees made by boot_config.c
 * from Structs exactly as a Boot's are: every switch denies by default and
 * allows when on (and only its own fields), pool overrides, capability,
 * SecurityOpt, Binds and Mounts rules, Ulimits, Tmpfs, Sysctls, defaults and
 * ceilings, size limits.
 *
 * Files only in a temp dir (a fake Docker socket behind a symlinked
 * directory, as /var/run -> /run; a unix socket; seccomp profiles).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/boot_config.h"
#include "service/policy.h"
#include "service/request.h"
#include "struct_support.h"

/* ---------------------------------------------------------------- helpers */

/* printf into one of 64 rotating buffers (test JSON with temp paths in it): use at once. */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    static char bufs[64][4096];
    static int next;
    char *b = bufs[next++ % 64];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(b, sizeof(bufs[0]), f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(bufs[0]));
    return b;
}

static struct policy *parse_ok(const char *json, const char *sock)
{
    struct policy *p = NULL;
    char err[1024] = "";
    int rc = policy_parse(&p, json, sock, err, sizeof(err));
    if (rc != 0)
        fail_msg("policy_parse(%s): %d %s", json ? json : "NULL", rc, err);
    assert_non_null(p);
    return p;
}

static void parse_fails_sock(const char *json, const char *sock, const char *want)
{
    struct policy *p = NULL;
    char err[1024] = "";
    int rc = policy_parse(&p, json, sock, err, sizeof(err));
    if (rc != FLAME_EINVALID || !strstr(err, want))
        fail_msg("policy_parse(%s): rc %d, err \"%s\"; expected FLAME_EINVALID naming \"%s\"",
                 json, rc, err, want);
    assert_null(p);
}

static void parse_fails(const char *json, const char *want) { parse_fails_sock(json, NULL, want); }

/* A BootRequest with an image and optional env/labels/cmd counts (distinct keys). */
struct req {
    Flame__V1__BootRequest r;
    Flame__V1__BootRequest__EnvEntry env[2100], *envp[2100];
    Flame__V1__BootRequest__LabelsEntry lab[300], *labp[300];
    char *cmd[5000];
    char keys[2100][24], label_keys[300][24];
};

static struct req *req_new(const char *image, size_t n_env, size_t n_labels, size_t n_cmd)
{
    struct req *q = calloc(1, sizeof(*q));
    assert_non_null(q);
    flame__v1__boot_request__init(&q->r);
    q->r.image = (char *)image;
    for (size_t i = 0; i < n_env; i++) {
        flame__v1__boot_request__env_entry__init(&q->env[i]);
        snprintf(q->keys[i], sizeof(q->keys[i]), "K%zu", i);
        q->env[i].key = q->keys[i];
        q->env[i].value = "v";
        q->envp[i] = &q->env[i];
    }
    q->r.env = q->envp;
    q->r.n_env = n_env;
    for (size_t i = 0; i < n_labels; i++) {
        flame__v1__boot_request__labels_entry__init(&q->lab[i]);
        snprintf(q->label_keys[i], sizeof(q->label_keys[i]), "l%zu", i);
        q->lab[i].key = q->label_keys[i];
        q->lab[i].value = "v";
        q->labp[i] = &q->lab[i];
    }
    q->r.labels = q->labp;
    q->r.n_labels = n_labels;
    for (size_t i = 0; i < n_cmd; i++)
        q->cmd[i] = "x";
    q->r.cmd = q->cmd;
    q->r.n_cmd = n_cmd;
    return q;
}

/* The canonical HostConfig of a JSON text, as request_boot_validate() makes it. */
static cJSON *canonical_hc(const char *json)
{
    Google__Protobuf__Struct *s = sup_struct_from_json(json);
    cJSON *hc = NULL;
    char err[512] = "";
    if (boot_config_host_config(&hc, s, err, sizeof(err)) < 0)
        fail_msg("test host_config %s does not decode: %s", json, err);
    sup_struct_free(s);
    return hc;
}

/* The canonical Mounts array of a JSON array text. */
static cJSON *canonical_mounts(const char *json)
{
    cJSON *arr = cJSON_Parse(json), *out = cJSON_CreateArray();
    const cJSON *it;
    size_t i = 0;
    if (!cJSON_IsArray(arr))
        fail_msg("test mounts are not an array: %s", json);
    assert_non_null(out);
    cJSON_ArrayForEach(it, arr)
    {
        Google__Protobuf__Struct *s = sup_struct_from_cjson(it);
        cJSON *m = NULL;
        char err[512] = "";
        if (boot_config_mount(&m, s, i++, err, sizeof(err)) < 0)
            fail_msg("test mount %s does not decode: %s", json, err);
        sup_struct_free(s);
        assert_true(cJSON_AddItemToArray(out, m));
    }
    cJSON_Delete(arr);
    return out;
}

/*
 * policy_check_boot of a Boot into `pool` (NULL: the default pool) with this
 * host_config and mounts (JSON texts, either may be NULL). The checked (and
 * rewritten) HostConfig goes to *hc_out when hc_out is not NULL.
 */
static int check_pool(const struct policy *p, const char *pool, const char *hc_json,
                      const char *mounts_json, cJSON **hc_out, char *err, size_t errlen)
{
    struct req *q = req_new("app", 0, 0, 0);
    q->r.pool = (char *)pool;
    cJSON *hc = hc_json ? canonical_hc(hc_json) : NULL;
    cJSON *ms = mounts_json ? canonical_mounts(mounts_json) : NULL;
    err[0] = '\0';
    int rc = policy_check_boot(p, &q->r, &hc, ms, err, errlen);
    if (hc_out)
        *hc_out = hc;
    else
        cJSON_Delete(hc);
    cJSON_Delete(ms);
    free(q);
    return rc;
}

static int check(const struct policy *p, const char *hc_json, const char *mounts_json,
                 cJSON **hc_out, char *err, size_t errlen)
{
    return check_pool(p, NULL, hc_json, mounts_json, hc_out, err, errlen);
}

static void assert_rc_in(const struct policy *p, const char *pool, const char *hc,
                         const char *mounts, int want_rc, const char *mention)
{
    char err[1024];
    int rc = check_pool(p, pool, hc, mounts, NULL, err, sizeof(err));
    if (rc != want_rc || !strstr(err, mention))
        fail_msg("pool %s host_config %s mounts %s: rc %d err \"%s\"; expected %s naming \"%s\"",
                 pool ? pool : "-", hc ? hc : "-", mounts ? mounts : "-", rc, err,
                 want_rc == FLAME_EPERM ? "FLAME_EPERM" : "FLAME_EINVALID", mention);
}

static void assert_allowed_in(const struct policy *p, const char *pool, const char *hc,
                              const char *mounts)
{
    char err[1024];
    int rc = check_pool(p, pool, hc, mounts, NULL, err, sizeof(err));
    if (rc != 0)
        fail_msg("pool %s host_config %s mounts %s: rc %d err \"%s\"; expected allowed",
                 pool ? pool : "-", hc ? hc : "-", mounts ? mounts : "-", rc, err);
}

static void assert_denied(const struct policy *p, const char *hc, const char *mounts,
                          const char *mention)
{
    assert_rc_in(p, NULL, hc, mounts, FLAME_EPERM, mention);
}

static void assert_invalid(const struct policy *p, const char *hc, const char *mounts,
                           const char *mention)
{
    assert_rc_in(p, NULL, hc, mounts, FLAME_EINVALID, mention);
}

static void assert_allowed(const struct policy *p, const char *hc, const char *mounts)
{
    assert_allowed_in(p, NULL, hc, mounts);
}

/* Allowed, and the HostConfig sent on prints exactly `want`. */
static void assert_sent(const struct policy *p, const char *hc_json, const char *want)
{
    char err[1024];
    cJSON *hc = NULL;
    int rc = check(p, hc_json, NULL, &hc, err, sizeof(err));
    if (rc != 0)
        fail_msg("host_config %s: rc %d err \"%s\"; expected allowed", hc_json, rc, err);
    char *got = cJSON_PrintUnformatted(hc);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("host_config %s\n  sent %s\n  expected %s", hc_json, got, want);
    free(got);
    cJSON_Delete(hc);
}

/* ---------------------------------------------------------------- the temp tree */

/*
 * <dir>/binds            the host_binds prefix of most tests
 * <dir>/binds/sub        a directory under it
 * <dir>/binds/root-link  -> /
 * <dir>/binds/etc-link   -> /etc
 * <dir>/binds/run-link   -> <dir>/var/run (the directory holding the fake Docker socket)
 * <dir>/binds/s.sock     a unix socket
 * <dir>/binds/null       a character device (when mknod is allowed here)
 * <dir>/run/flamed-test.sock  the fake Docker socket (a plain file: realpath needs no socket)
 * <dir>/var/run -> ../run; the socket is given to policy_parse as <dir>/var/run/flamed-test.sock
 * <dir>/outside          a directory beside the prefix
 * <dir>/late             a directory for a socket that appears after load
 * <dir>/seccomp.json, <dir>/notjson.json, <dir>/array.json  seccomp profile files
 */
struct fx {
    char dir[64];
    char binds[PATH_MAX], sock[PATH_MAX], real_sock[PATH_MAX];
    char seccomp[PATH_MAX], notjson[PATH_MAX], array[PATH_MAX];
    int have_dev;
};

static struct fx fx;

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static const char *fx_path(const char *rel) { return fmt("%s/%s", fx.dir, rel); }

static int fx_setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/fltest-policy-XXXXXX", real[PATH_MAX];
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(realpath(tmpl, real)); /* the prefix as policy_parse will resolve it */
    assert_true(strlen(real) < sizeof(fx.dir));
    memcpy(fx.dir, real, strlen(real) + 1);
    static const char *const dirs[] = {"binds", "binds/sub", "run", "var", "outside", "late"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        assert_int_equal(mkdir(fx_path(dirs[i]), 0700), 0);
    assert_int_equal(symlink("../run", fx_path("var/run")), 0);
    assert_int_equal(symlink("/", fx_path("binds/root-link")), 0);
    assert_int_equal(symlink("/etc", fx_path("binds/etc-link")), 0);
    assert_int_equal(symlink(fx_path("var/run"), fx_path("binds/run-link")), 0);
    snprintf(fx.binds, sizeof(fx.binds), "%s/binds", fx.dir);
    snprintf(fx.real_sock, sizeof(fx.real_sock), "%s/run/flamed-test.sock", fx.dir);
    snprintf(fx.sock, sizeof(fx.sock), "%s/var/run/flamed-test.sock", fx.dir);
    write_file(fx.real_sock, "");

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.63s/binds/s.sock", fx.dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    fx.have_dev = mknod(fx_path("binds/null"), S_IFCHR | 0600, makedev(1, 3)) == 0;

    snprintf(fx.seccomp, sizeof(fx.seccomp), "%s/seccomp.json", fx.dir);
    write_file(fx.seccomp, "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [ ]\n}\n");
    snprintf(fx.notjson, sizeof(fx.notjson), "%s/notjson.json", fx.dir);
    write_file(fx.notjson, "defaultAction: SCMP_ACT_ERRNO\n");
    snprintf(fx.array, sizeof(fx.array), "%s/array.json", fx.dir);
    write_file(fx.array, "[{\"defaultAction\": \"SCMP_ACT_ERRNO\"}]");
    return 0;
}

static int fx_teardown(void **state)
{
    (void)state;
    static const char *const files[] = {
        "binds/root-link", "binds/etc-link", "binds/run-link", "binds/s.sock", "binds/null",
        "binds/real.sock", "run/flamed-test.sock", "var/run", "late/docker.sock", "seccomp.json",
        "notjson.json", "array.json", "policy.json", "dup-seccomp.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(fx_path(files[i]));
    static const char *const dirs[] = {"binds/sub", "binds", "run", "var", "outside", "late"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        rmdir(fx_path(dirs[i]));
    rmdir(fx.dir);
    return 0;
}

/* ---------------------------------------------------------------- parsing */

static void builtin_policy_turns_every_switch_off(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_null(p->images);
    assert_null(p->networks);
    assert_int_equal(p->allow.set, 0);
    for (int sw = 0; sw < POLICY_SWITCHES; sw++) {
        assert_int_equal(p->allow.on[sw], 0);
        assert_null(p->allow.list[sw]);
    }
    assert_int_equal(p->n_pools, 0);
    assert_string_equal(p->docker_socket, "/var/run/docker.sock");
    /* Built-in Ulimits ceilings: nofile, nproc, stack. */
    assert_int_equal(p->n_ulimits, 3);
    assert_string_equal(p->ulimits[0].name, "nofile");
    assert_int_equal(p->ulimits[0].max, 1048576);
    assert_string_equal(p->ulimits[1].name, "nproc");
    assert_int_equal(p->ulimits[1].max, 1048576);
    assert_string_equal(p->ulimits[2].name, "stack");
    assert_int_equal(p->ulimits[2].max, 67108864);
    assert_int_equal(p->max_runners, 0);
    assert_int_equal(p->max_depth, 0);
    policy_free(p);
    /* An empty object is the built-in policy too. */
    p = parse_ok("{}", "/custom/docker.sock");
    assert_null(p->images);
    assert_int_equal(p->allow.set, 0);
    assert_int_equal(p->n_ulimits, 3);
    assert_string_equal(p->docker_socket, "/custom/docker.sock");
    policy_free(p);
    /* An empty allowlist allows nothing (it is not "no allowlist"). */
    p = parse_ok("{\"images\": []}", NULL);
    assert_int_equal(policy_image_allowed(p, "app"), 0);
    policy_free(p);
}

/* The example policy of docs/security.md, read from the page itself. */
static void example_of_docs_security_md_parses(void **state)
{
    (void)state;
    const char *self = __FILE__, *at = strstr(self, "tests/unit/server/policy.c");
    if (!at)
        fail_msg("__FILE__ (%s) does not locate the source tree", self);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.*sdocs/security.md", (int)(at - self), self);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *sec = strstr(doc, "## The policy");
    assert_non_null(sec);
    const char *start = strstr(sec, "```json\n");
    assert_non_null(start);
    start += 8;
    const char *end = strstr(start, "```");
    assert_non_null(end);
    /* The profile file of the example does not exist here: point it at the test's. */
    const char *prof = "/etc/flamed/seccomp-strict.json";
    size_t size = (size_t)(end - start) + PATH_MAX;
    char *json = calloc(1, size);
    assert_non_null(json);
    memcpy(json, start, (size_t)(end - start));
    char *ref = strstr(json, prof);
    assert_non_null(ref);
    char *tail = strdup(ref + strlen(prof));
    assert_non_null(tail);
    snprintf(ref, size - (size_t)(ref - json), "%s%s", fx.seccomp, tail);
    free(tail);

    struct policy *p = parse_ok(json, NULL);
    free(json);
    assert_int_equal(p->n_images, 2);
    assert_string_equal(p->images[1], "registry.example/team/*");
    assert_int_equal(p->n_networks, 1);
    assert_string_equal(p->networks[0], "appnet");
    const struct policy_allow *a = &p->allow;
    assert_int_equal(a->set, (1u << POLICY_SWITCHES) - 1); /* the example sets every switch */
    assert_int_equal(a->on[POLICY_PRIVILEGED], 0);
    assert_string_equal(a->list[POLICY_CAPABILITIES][0], "NET_ADMIN");
    assert_null(a->list[POLICY_CAPABILITIES][1]);
    assert_non_null(strstr(a->list[POLICY_HOST_BINDS][0], "flame-data"));
    assert_string_equal(a->list[POLICY_SECCOMP_PROFILES][0], "strict");
    assert_string_equal(a->values[POLICY_SECCOMP_PROFILES][0],
                        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}");
    assert_string_equal(a->list[POLICY_APPARMOR_PROFILES][0], "flamed-runner");
    assert_string_equal(a->list[POLICY_SYSCTLS][0], "net.ipv4.ip_local_port_range");
    assert_string_equal(a->list[POLICY_RUNTIMES][0], "runsc");
    assert_string_equal(a->list[POLICY_LOG_DRIVERS][1], "local");
    assert_int_equal(p->n_pools, 1);
    assert_string_equal(p->pools[0].name, "gpu");
    assert_int_equal(p->pools[0].allow.set, 1u << POLICY_DEVICE_REQUESTS);
    assert_int_equal(p->pools[0].allow.on[POLICY_DEVICE_REQUESTS], 1);
    assert_int_equal(p->def_memory, 536870912);
    assert_int_equal(p->def_nano_cpus, 1000000000);
    assert_int_equal(p->def_pids, 512);
    assert_int_equal(p->max_memory, 4294967296LL);
    assert_int_equal(p->max_nano_cpus, 4000000000LL);
    assert_int_equal(p->max_pids, 4096);
    assert_int_equal(p->max_shm, 268435456);
    assert_int_equal(p->n_ulimits, 1);
    assert_string_equal(p->ulimits[0].name, "nofile");
    assert_int_equal(p->ulimits[0].max, 65536);
    assert_int_equal(p->max_runners, 200);
    assert_int_equal(p->max_runners_per_pool, 50);
    assert_int_equal(p->max_env_entries, 256);
    assert_int_equal(p->max_env_bytes, 131072);
    assert_int_equal(p->max_labels, 64);
    assert_int_equal(p->max_argv, 1024);
    assert_int_equal(p->max_request_bytes, 4194304);
    assert_int_equal(p->max_depth, 32);
    policy_free(p);
}

static void boolean_switches_parse_true_and_false(void **state)
{
    (void)state;
    static const enum policy_switch bools[] = {
        POLICY_PRIVILEGED, POLICY_HOST_NAMESPACES, POLICY_DEVICES,    POLICY_DEVICE_REQUESTS,
        POLICY_VOLUME_DRIVERS, POLICY_CGROUP,      POLICY_MASKED_PATHS, POLICY_PORT_BINDINGS,
        POLICY_DNS,        POLICY_GROUP_ADD};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        const char *name = policy_switch_name(bools[i]);
        struct policy *p = parse_ok(fmt("{\"allow\": {\"%s\": true}}", name), NULL);
        assert_int_equal(p->allow.set, 1u << bools[i]);
        assert_int_equal(p->allow.on[bools[i]], 1);
        policy_free(p);
        p = parse_ok(fmt("{\"allow\": {\"%s\": false}}", name), NULL);
        assert_int_equal(p->allow.set, 1u << bools[i]); /* set, to false: a pool may say so */
        assert_int_equal(p->allow.on[bools[i]], 0);
        policy_free(p);
        parse_fails(fmt("{\"allow\": {\"%s\": 1}}", name),
                    fmt("allow.%s must be true or false", name));
        parse_fails(fmt("{\"allow\": {\"%s\": [\"x\"]}}", name),
                    fmt("allow.%s must be true or false", name));
    }
}

static void list_switches_parse_lists_of_names(void **state)
{
    (void)state;
    static const enum policy_switch lists[] = {POLICY_CAPABILITIES, POLICY_APPARMOR_PROFILES,
                                               POLICY_SYSCTLS, POLICY_RUNTIMES, POLICY_LOG_DRIVERS};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const char *name = policy_switch_name(lists[i]);
        struct policy *p = parse_ok(fmt("{\"allow\": {\"%s\": [\"A_1\", \"B_2\"]}}", name), NULL);
        assert_int_equal(p->allow.set, 1u << lists[i]);
        assert_string_equal(p->allow.list[lists[i]][0], "A_1");
        assert_string_equal(p->allow.list[lists[i]][1], "B_2");
        assert_null(p->allow.list[lists[i]][2]);
        policy_free(p);
        p = parse_ok(fmt("{\"allow\": {\"%s\": []}}", name), NULL);
        assert_int_equal(p->allow.set, 1u << lists[i]);
        assert_null(p->allow.list[lists[i]][0]);
        policy_free(p);
        parse_fails(fmt("{\"allow\": {\"%s\": true}}", name),
                    fmt("allow.%s must be an array of strings", name));
        parse_fails(fmt("{\"allow\": {\"%s\": [1]}}", name), fmt("allow.%s", name));
        parse_fails(fmt("{\"allow\": {\"%s\": [\"\"]}}", name), fmt("allow.%s", name));
        parse_fails(fmt("{\"allow\": {\"%s\": \"x\"}}", name), fmt("allow.%s", name));
    }
}

/* Docker reads cap_net_admin, net_admin and CAP_NET_ADMIN as one capability. */
static void capabilities_list_is_kept_in_one_spelling(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"capabilities\": [\"cap_net_admin\", "
                                "\"Sys_Time\", \"CAP_SYS_PTRACE\", \"all\"]}}",
                                NULL);
    char **l = p->allow.list[POLICY_CAPABILITIES];
    assert_string_equal(l[0], "NET_ADMIN");
    assert_string_equal(l[1], "SYS_TIME");
    assert_string_equal(l[2], "SYS_PTRACE");
    assert_string_equal(l[3], "ALL");
    policy_free(p);
}

static void seccomp_profiles_map_loads_each_profile(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"seccomp_profiles\": {\"strict\": \"%s\", "
                                    "\"also\": \"%s\"}}}",
                                    fx.seccomp, fx.seccomp),
                                NULL);
    assert_int_equal(p->allow.set, 1u << POLICY_SECCOMP_PROFILES);
    assert_string_equal(p->allow.list[POLICY_SECCOMP_PROFILES][0], "strict");
    assert_string_equal(p->allow.list[POLICY_SECCOMP_PROFILES][1], "also");
    assert_null(p->allow.list[POLICY_SECCOMP_PROFILES][2]);
    /* Read at load and compacted: what a Boot gets is fixed at start. */
    assert_string_equal(p->allow.values[POLICY_SECCOMP_PROFILES][0],
                        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}");
    policy_free(p);
}

static void seccomp_profile_that_cannot_be_read_or_is_no_json_object_is_refused(void **state)
{
    (void)state;
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s/none.json\"}}}", fx.dir),
                "allow.seccomp_profiles.s: cannot read");
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s\"}}}", fx.notjson),
                "allow.seccomp_profiles.s: not a JSON seccomp profile");
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s\"}}}", fx.array),
                "allow.seccomp_profiles.s: not a JSON seccomp profile");
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s\"}}}", fx.dir),
                "allow.seccomp_profiles.s");
    parse_fails("{\"allow\": {\"seccomp_profiles\": {\"s\": 1}}}",
                "allow.seccomp_profiles.s must be the path of a profile file");
    parse_fails("{\"allow\": {\"seccomp_profiles\": [\"s\"]}}",
                "allow.seccomp_profiles must be an object of name: profile file");
    parse_fails("{\"allow\": {\"seccomp_profiles\": true}}", "allow.seccomp_profiles must be an object");
    /* Names a SecurityOpt could not carry, or that mean something else to Docker. */
    static const char *const names[] = {"unconfined", "", "a=b", "a:b", "a b", "{x}", "a,b"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"%s\": \"%s\"}}}", names[i],
                        fx.seccomp),
                    "is not a usable profile name");
}

static void unknown_keys_are_refused_in_every_section(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"imagez\": []}", "unknown field \"imagez\""},
        {"{\"allow\": {\"privleged\": true}}", "unknown field \"allow.privleged\""},
        {"{\"allow\": {\"Privileged\": true}}", "unknown field \"allow.Privileged\""},
        {"{\"allow\": {\"host_bind\": [\"/srv\"]}}", "unknown field \"allow.host_bind\""},
        {"{\"defaults\": {\"memory\": 1}}", "unknown field \"defaults.memory\""},
        {"{\"defaults\": {\"ShmSize\": 1}}", "unknown field \"defaults.ShmSize\""},
        {"{\"ceilings\": {\"Cpus\": 1}}", "unknown field \"ceilings.Cpus\""},
        {"{\"ceilings\": {\"Ulimits\": {\"nofiles\": 1}}}", "unknown field \"ceilings.Ulimits.nofiles\""},
        {"{\"ceilings\": {\"Ulimits\": {\"NOFILE\": 1}}}", "unknown field \"ceilings.Ulimits.NOFILE\""},
        {"{\"quotas\": {\"max\": 1}}", "unknown field \"quotas.max\""},
        {"{\"limits\": {\"max_envs\": 1}}", "unknown field \"limits.max_envs\""},
        {"{\"pools\": {\"gpu\": {\"allowed\": {}}}}", "unknown field \"pools.gpu.allowed\""},
        {"{\"pools\": {\"gpu\": {\"allow\": {\"gpus\": true}}}}", "unknown field \"pools.gpu.allow.gpus\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i][0], cases[i][1]);
}

static void repeated_keys_are_refused_in_every_section(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"images\": [], \"images\": [\"app\"]}", "\"images\" is repeated"},
        {"{\"allow\": {\"privileged\": false, \"privileged\": true}}",
         "\"allow.privileged\" is repeated"},
        {"{\"allow\": {\"capabilities\": [], \"capabilities\": [\"ALL\"]}}",
         "\"allow.capabilities\" is repeated"},
        {"{\"allow\": {\"cap_add\": false, \"cap_add\": false}}", "\"allow.cap_add\" is repeated"},
        {"{\"defaults\": {\"Memory\": 1, \"Memory\": 2}}", "\"defaults.Memory\" is repeated"},
        {"{\"ceilings\": {\"Ulimits\": {\"nofile\": 1, \"nofile\": 2}}}",
         "\"ceilings.Ulimits.nofile\" is repeated"},
        {"{\"quotas\": {\"max_runners\": 1, \"max_runners\": 2}}", "\"quotas.max_runners\" is repeated"},
        {"{\"limits\": {\"max_depth\": 16, \"max_depth\": 64}}", "\"limits.max_depth\" is repeated"},
        {"{\"pools\": {\"gpu\": {}, \"gpu\": {\"allow\": {\"devices\": true}}}}",
         "\"pools.gpu\" is repeated"},
        {"{\"pools\": {\"gpu\": {\"allow\": {\"devices\": false, \"devices\": true}}}}",
         "\"pools.gpu.allow.devices\" is repeated"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i][0], cases[i][1]);
}

static void repeated_seccomp_profile_name_is_refused(void **state)
{
    (void)state;
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s\", \"s\": \"%s\"}}}",
                    fx.seccomp, fx.notjson),
                "seccomp_profiles");
    parse_fails(fmt("{\"allow\": {\"seccomp_profiles\": {\"s\": \"%s\", \"s\": \"%s\"}}}",
                    fx.seccomp, fx.seccomp),
                "is repeated");
}

static void retired_switches_set_true_are_refused_naming_the_replacement(void **state)
{
    (void)state;
    parse_fails("{\"allow\": {\"cap_add\": true}}",
                "allow.cap_add was replaced by allow.capabilities");
    parse_fails("{\"allow\": {\"docker_socket\": true}}",
                "allow.docker_socket was removed: a runner never gets the Docker socket; list the "
                "host directories runners may bind in allow.host_binds");
    parse_fails("{\"allow\": {\"root_bind\": true}}",
                "allow.root_bind was removed: a runner never binds the host's \"/\"; list the host "
                "directories runners may bind in allow.host_binds");
    parse_fails("{\"pools\": {\"x\": {\"allow\": {\"root_bind\": true}}}}", "allow.host_binds");
    parse_fails("{\"allow\": {\"cap_add\": 1}}", "allow.cap_add must be true or false");
    parse_fails("{\"allow\": {\"root_bind\": \"no\"}}", "allow.root_bind must be true or false");
}

static void retired_switches_set_false_are_accepted_as_the_default(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"cap_add\": false, \"docker_socket\": false, "
                                "\"root_bind\": false, \"privileged\": true}}",
                                NULL);
    assert_int_equal(p->allow.set, 1u << POLICY_PRIVILEGED);
    assert_int_equal(p->allow.on[POLICY_PRIVILEGED], 1);
    assert_denied(p, "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, "allow.capabilities");
    assert_denied(p, "{\"Binds\": [\"/srv:/s\"]}", NULL, "allow.host_binds");
    policy_free(p);
}

static void host_binds_prefixes_that_give_root_are_refused_at_load(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/", "//", "/tmp/..", "/etc", "/etc/", "/var", "/var/run", "/run", "/proc", "/proc/x",
        "/proc/1/root", "/sys", "/sys/fs", "/dev", "/dev/shm", "/boot", "/root", "/var/lib",
        "/var/lib/docker", "/var/lib/containerd", "/run/containerd", "/run/docker"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_fails(fmt("{\"allow\": {\"host_binds\": [\"/srv/flame-data\", \"%s\"]}}", bad[i]),
                    "allow.host_binds");
    parse_fails("{\"allow\": {\"host_binds\": [\"/\"]}}",
                "allow.host_binds: '/' is, holds or lies in '/', which gives root on the host");
    parse_fails("{\"allow\": {\"host_binds\": [\"/proc/x\"]}}", "lies in '/proc'");
    parse_fails("{\"allow\": {\"host_binds\": [\"srv/data\"]}}",
                "allow.host_binds: 'srv/data' must be an absolute path");
    parse_fails("{\"pools\": {\"p\": {\"allow\": {\"host_binds\": [\"/etc\"]}}}}",
                "pools.p.allow.host_binds: '/etc'");
    /* Resolved: a symlink to /etc is /etc. */
    parse_fails(fmt("{\"allow\": {\"host_binds\": [\"%s/binds/etc-link\"]}}", fx.dir),
                "gives root on the host");
    /* The directory holding the Docker socket given to flamed, by either of its paths. */
    const char *holders[] = {fx_path("var/run"), fx_path("run"), fx_path("var"), fx.dir};
    for (size_t i = 0; i < 4; i++)
        parse_fails_sock(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", holders[i]), fx.sock,
                         "flamed-test.sock");
}

static void host_binds_prefix_of_an_ordinary_directory_is_accepted_and_resolved(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s//binds/./\", "
                                    "\"%s/outside/x/..\", \"/srv/flame-data\"]}}",
                                    fx.dir, fx.dir),
                                fx.sock);
    char **l = p->allow.list[POLICY_HOST_BINDS];
    assert_string_equal(l[0], fx.binds);
    assert_string_equal(l[1], fx_path("outside"));
    assert_non_null(l[2]);
    assert_null(l[3]);
    policy_free(p);
    /* Cleaned like a bind source. */
    p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s/binds/sub/../sub\"]}}", fx.dir), NULL);
    assert_string_equal(p->allow.list[POLICY_HOST_BINDS][0], fx_path("binds/sub"));
    policy_free(p);
}

static void ceilings_ulimits_replace_the_built_in_ones(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"ceilings\": {\"Ulimits\": {\"nofile\": 65536, \"core\": 0}, "
                                "\"ShmSize\": 1048576}}",
                                NULL);
    assert_int_equal(p->n_ulimits, 2);
    assert_string_equal(p->ulimits[0].name, "nofile");
    assert_int_equal(p->ulimits[0].max, 65536);
    assert_string_equal(p->ulimits[1].name, "core");
    assert_int_equal(p->ulimits[1].max, 0);
    assert_int_equal(p->max_shm, 1048576);
    policy_free(p);
    /* All fifteen names runc knows fit. */
    p = parse_ok("{\"ceilings\": {\"Ulimits\": {\"core\": 1, \"cpu\": 1, \"data\": 1, \"fsize\": 1, "
                 "\"locks\": 1, \"memlock\": 1, \"msgqueue\": 1, \"nice\": 1, \"nofile\": 1, "
                 "\"nproc\": 1, \"rss\": 1, \"rtprio\": 1, \"rttime\": 1, \"sigpending\": 1, "
                 "\"stack\": 1}}}",
                 NULL);
    assert_int_equal(p->n_ulimits, 15);
    policy_free(p);
    p = parse_ok("{\"ceilings\": {\"Ulimits\": {}}}", NULL);
    assert_int_equal(p->n_ulimits, 0);
    policy_free(p);
    parse_fails("{\"ceilings\": {\"Ulimits\": []}}", "ceilings.Ulimits must be an object");
    parse_fails("{\"ceilings\": {\"Ulimits\": {\"nofile\": -1}}}",
                "ceilings.Ulimits.nofile must be a non-negative integer");
    parse_fails("{\"ceilings\": {\"Ulimits\": {\"nofile\": \"1\"}}}", "ceilings.Ulimits.nofile");
    parse_fails("{\"ceilings\": {\"ShmSize\": -1}}", "ceilings.ShmSize");
}

static void limits_max_depth_is_8_to_200(void **state)
{
    (void)state;
    static const int ok[] = {0, 8, 32, 200};
    for (size_t i = 0; i < 4; i++) {
        struct policy *p = parse_ok(fmt("{\"limits\": {\"max_depth\": %d}}", ok[i]), NULL);
        assert_int_equal(p->max_depth, ok[i]);
        policy_free(p);
    }
    parse_fails("{\"limits\": {\"max_depth\": 7}}", "limits.max_depth must be between 8 and 200");
    parse_fails("{\"limits\": {\"max_depth\": 1}}", "limits.max_depth must be between 8 and 200");
    parse_fails("{\"limits\": {\"max_depth\": 201}}", "limits.max_depth must be between 8 and 200");
    parse_fails("{\"limits\": {\"max_depth\": -1}}", "limits.max_depth must be a non-negative integer");
    parse_fails("{\"limits\": {\"max_depth\": 16.5}}", "limits.max_depth");
}

static void pools_parse_their_own_allow(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"capabilities\": [\"NET_ADMIN\"]}, \"pools\": "
                                "{\"gpu\": {\"allow\": {\"device_requests\": true}}, "
                                "\"MyApp.Runner\": {\"allow\": {\"capabilities\": []}}, "
                                "\"plain\": {}}}",
                                NULL);
    assert_int_equal(p->n_pools, 3);
    assert_string_equal(p->pools[0].name, "gpu");
    assert_int_equal(p->pools[0].allow.set, 1u << POLICY_DEVICE_REQUESTS);
    assert_int_equal(p->pools[0].allow.on[POLICY_DEVICE_REQUESTS], 1);
    assert_string_equal(p->pools[1].name, "MyApp.Runner");
    assert_int_equal(p->pools[1].allow.set, 1u << POLICY_CAPABILITIES);
    assert_null(p->pools[1].allow.list[POLICY_CAPABILITIES][0]);
    assert_int_equal(p->pools[2].allow.set, 0);
    policy_free(p);
    parse_fails("{\"pools\": {\"bad/name\": {}}}", "pools: 'bad/name' is not a pool name");
    parse_fails("{\"pools\": {\"\": {}}}", "pools: '' is not a pool name");
    parse_fails("{\"pools\": []}", "\"pools\" must be an object");
    parse_fails("{\"pools\": {\"x\": 1}}", "\"pools.x\" must be an object");
    parse_fails("{\"pools\": {\"x\": {\"allow\": []}}}", "\"pools.x.allow\" must be an object");
    parse_fails("{\"pools\": {\"x\": {\"allow\": {\"privileged\": 1}}}}",
                "pools.x.allow.privileged must be true or false");
}

static void other_parse_errors_name_the_field(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"images\": \"app\"}", "images"},
        {"{\"images\": [1]}", "images"},
        {"{\"images\": [\"\"]}", "images"},
        {"{\"networks\": {}}", "networks"},
        {"{\"networks\": [null]}", "networks"},
        {"{\"allow\": true}", "\"allow\" must be an object"},
        {"{\"allow\": [\"privileged\"]}", "\"allow\" must be an object"},
        {"{\"defaults\": []}", "defaults"},
        {"{\"defaults\": {\"Memory\": \"lots\"}}", "defaults.Memory"},
        {"{\"defaults\": {\"Memory\": -1}}", "defaults.Memory"},
        {"{\"defaults\": {\"NanoCpus\": 1.5}}", "defaults.NanoCpus"},
        {"{\"ceilings\": {\"PidsLimit\": true}}", "ceilings.PidsLimit"},
        {"{\"ceilings\": {\"Memory\": 1e300}}", "ceilings.Memory"},
        {"{\"quotas\": {\"max_runners\": -1}}", "quotas.max_runners"},
        {"{\"quotas\": {\"max_runners_per_pool\": \"2\"}}", "quotas.max_runners_per_pool"},
        {"{\"limits\": {\"max_request_bytes\": 0.5}}", "limits.max_request_bytes"},
        {"{\"defaults\": {\"Memory\": 2048}, \"ceilings\": {\"Memory\": 1024}}", "defaults.Memory"},
        {"{\"defaults\": {\"NanoCpus\": 3}, \"ceilings\": {\"NanoCpus\": 2}}", "defaults.NanoCpus"},
        {"{\"defaults\": {\"PidsLimit\": 3}, \"ceilings\": {\"PidsLimit\": 2}}", "defaults.PidsLimit"},
        {"[]", "JSON object"},
        {"\"images\"", "JSON object"},
        {"{\"images\": [", "JSON object"},
        {"", "JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i][0], cases[i][1]);
    /* A default at its ceiling is fine; a ceiling without a default too. */
    policy_free(parse_ok("{\"defaults\": {\"Memory\": 1024}, \"ceilings\": {\"Memory\": 1024}}", NULL));
    policy_free(parse_ok("{\"ceilings\": {\"Memory\": 1024}}", NULL));
    policy_free(parse_ok("{\"defaults\": {\"Memory\": 1024}}", NULL));
}

static void load_reads_a_file_and_names_it_in_errors(void **state)
{
    (void)state;
    char path[PATH_MAX], err[1024];
    struct policy *p = NULL;

    snprintf(path, sizeof(path), "%s/none.json", fx.dir);
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, path));

    snprintf(path, sizeof(path), "%s/policy.json", fx.dir);
    write_file(path, "{\"quotas\": {\"max_runners\": 3}}\n");
    assert_int_equal(policy_load(&p, path, "/x/docker.sock", err, sizeof(err)), 0);
    assert_int_equal(p->max_runners, 3);
    assert_string_equal(p->docker_socket, "/x/docker.sock");
    policy_free(p);
    p = NULL;

    write_file(path, "{\"allow\": {\"root_bind\": true}}");
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "allow.host_binds"));
    assert_null(p);

    /* Larger than 1 MiB: refused (whatever it holds). */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"images\": [", f);
    for (int i = 0; i < 120000; i++)
        fputs("\"app:1\", ", f);
    fputs("\"app:2\"]}", f);
    fclose(f);
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "1 MiB"));
    unlink(path);
}

static void switch_names_are_the_policy_file_keys(void **state)
{
    (void)state;
    static const char *const names[POLICY_SWITCHES] = {
        "privileged", "capabilities", "host_namespaces", "devices", "device_requests",
        "host_binds", "volume_drivers", "seccomp_profiles", "apparmor_profiles", "cgroup",
        "sysctls", "runtimes", "masked_paths", "port_bindings", "log_drivers", "dns", "group_add",
        "placement"};
    for (int sw = 0; sw < POLICY_SWITCHES; sw++)
        assert_string_equal(policy_switch_name((enum policy_switch)sw), names[sw]);
    assert_string_equal(policy_switch_name(POLICY_SWITCHES), "");
}

static void placement_needs_its_switch(void **state)
{
    (void)state;
    char *constraints[] = {"node.labels.zone==a"};
    Flame__V1__Placement pl = FLAME__V1__PLACEMENT__INIT;
    pl.n_constraints = 1;
    pl.constraints = constraints;
    struct req *q = req_new("app", 0, 0, 0);
    q->r.placement = &pl;
    cJSON *hc = NULL;
    char err[512] = "";
    struct policy *p = parse_ok(NULL, NULL);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EPERM);
    assert_non_null(strstr(err, "allow.placement"));
    policy_free(p);
    p = parse_ok("{\"pools\": {\"swarm\": {\"allow\": {\"placement\": true}}}}", NULL);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EPERM);
    q->r.pool = "swarm";
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    policy_free(p);
    /* An empty placement asks for nothing. */
    p = parse_ok(NULL, NULL);
    pl.n_constraints = 0;
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    policy_free(p);
    cJSON_Delete(hc);
    free(q);
}

/* ---------------------------------------------------------------- images, networks */

static void image_matching(void **state)
{
    (void)state;
    struct policy *p = parse_ok(
        "{\"images\": [\"app\", \"registry.example/team-*\", \"tagged:1.2\", "
        "\"registry:5000/svc\", \"pinned@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]}",
        NULL);
    static const struct {
        const char *image;
        int ok;
    } cases[] = {
        {"app", 1},
        {"app:latest", 1}, /* app == app:latest */
        {"app:1", 0},
        {"apple", 0},
        {"app/sub", 0},
        {"library/app", 0},
        {"docker.io/app", 0},
        {"registry.example/team-a/svc:3", 1},
        {"registry.example/team-", 1},
        {"registry.example/team", 0},
        {"registry.example/teams", 0},
        {"registry.example/other/team-a", 0},
        {"evil.example/registry.example/team-a", 0},
        {"tagged:1.2", 1},
        {"tagged", 0},
        {"tagged:latest", 0},
        {"registry:5000/svc", 1}, /* the port's ':' is not a tag */
        {"registry:5000/svc:latest", 1},
        {"registry:5000/svc:2", 0},
        {"pinned@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1},
        {"pinned", 0},
        {"pinned@sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0},
        {"app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (policy_image_allowed(p, cases[i].image) != cases[i].ok)
            fail_msg("image %s: expected %s", cases[i].image, cases[i].ok ? "allowed" : "denied");
    struct req *q = req_new("apple", 0, 0, 0);
    cJSON *hc = NULL;
    char err[512];
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EPERM);
    assert_non_null(strstr(err, "images allowlist"));
    assert_non_null(strstr(err, "apple"));
    q->r.image = "app";
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    free(q);
    policy_free(p);

    /* No allowlist: anything. */
    p = parse_ok(NULL, NULL);
    assert_int_equal(policy_image_allowed(p, "whatever/else:9"), 1);
    policy_free(p);
}

static void network_allowlist(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"networks\": [\"appnet\"]}", NULL);
    struct req *q = req_new("app", 0, 0, 0);
    char err[512];
    cJSON *hc = NULL;
    q->r.network = "appnet";
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    q->r.network = "other";
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EPERM);
    assert_non_null(strstr(err, "networks allowlist"));
    q->r.network = NULL; /* Docker's default bridge: not in the list either */
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EPERM);
    free(q);
    policy_free(p);
}

/* ---------------------------------------------------------------- switches */

/*
 * A use of each switch: the HostConfig (or Mounts) it needs and the value of
 * the switch that allows it. `also` is another switch that allows it too
 * (devices allows DeviceRequests), or -1.
 */
struct use {
    enum policy_switch sw;
    int also;
    const char *hc, *mounts, *names;
};

static const char *switch_on_value(enum policy_switch sw)
{
    switch (sw) {
    case POLICY_CAPABILITIES:
        return "[\"NET_ADMIN\"]";
    case POLICY_HOST_BINDS:
        return fmt("[\"%s\"]", fx.binds);
    case POLICY_SECCOMP_PROFILES:
        return fmt("{\"strict\": \"%s\"}", fx.seccomp);
    case POLICY_APPARMOR_PROFILES:
        return "[\"flamed-runner\"]";
    case POLICY_SYSCTLS:
        return "[\"net.ipv4.ip_local_port_range\"]";
    case POLICY_RUNTIMES:
        return "[\"runsc\"]";
    case POLICY_LOG_DRIVERS:
        return "[\"json-file\"]";
    default:
        return "true";
    }
}

/* {"allow": {...}} with `sw` on (only == 1) or every switch but sw and also on (only == 0). */
static struct policy *policy_with(enum policy_switch sw, int also, int only)
{
    char json[8192];
    size_t o = (size_t)snprintf(json, sizeof(json), "{\"allow\": {");
    int first = 1;
    for (int s = 0; s < POLICY_SWITCHES; s++) {
        int want = only ? s == (int)sw : (s != (int)sw && s != also);
        if (!want)
            continue;
        o += (size_t)snprintf(json + o, sizeof(json) - o, "%s\"%s\": %s", first ? "" : ", ",
                              policy_switch_name((enum policy_switch)s),
                              switch_on_value((enum policy_switch)s));
        first = 0;
    }
    snprintf(json + o, sizeof(json) - o, "}}");
    return parse_ok(json, fx.sock);
}

static void every_switch_denies_by_default_and_allows_when_on(void **state)
{
    (void)state;
    char bind_hc[PATH_MAX + 96], bind_mount[PATH_MAX + 128];
    snprintf(bind_hc, sizeof(bind_hc), "{\"Binds\": [\"%s/sub:/data:ro\"]}", fx.binds);
    snprintf(bind_mount, sizeof(bind_mount),
             "[{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/d\"}]", fx.binds);
    const struct use uses[] = {
        {POLICY_PRIVILEGED, -1, "{\"Privileged\": true}", NULL, "host_config.Privileged"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"seccomp=unconfined\"]}", NULL, "SecurityOpt[0]"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"seccomp:unconfined\"]}", NULL, "SecurityOpt[0]"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"apparmor=unconfined\"]}", NULL, "SecurityOpt[0]"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"apparmor:unconfined\"]}", NULL, "SecurityOpt[0]"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"no-new-privileges\", \"label=disable\"]}", NULL,
         "SecurityOpt[1]"},
        {POLICY_PRIVILEGED, -1, "{\"SecurityOpt\": [\"label:disable\"]}", NULL, "SecurityOpt[0]"},
        {POLICY_CAPABILITIES, -1, "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, "host_config.CapAdd[0]"},
        {POLICY_HOST_NAMESPACES, -1, "{\"PidMode\": \"host\"}", NULL, "host_config.PidMode"},
        {POLICY_HOST_NAMESPACES, -1, "{\"PidMode\": \"container:abc\"}", NULL, "PidMode"},
        {POLICY_HOST_NAMESPACES, -1, "{\"IpcMode\": \"host\"}", NULL, "host_config.IpcMode 'host'"},
        {POLICY_HOST_NAMESPACES, -1, "{\"IpcMode\": \"container:abc\"}", NULL, "IpcMode"},
        {POLICY_HOST_NAMESPACES, -1, "{\"UTSMode\": \"host\"}", NULL, "host_config.UTSMode"},
        {POLICY_HOST_NAMESPACES, -1, "{\"UsernsMode\": \"host\"}", NULL, "host_config.UsernsMode"},
        {POLICY_HOST_NAMESPACES, -1, "{\"CgroupnsMode\": \"host\"}", NULL, "CgroupnsMode 'host'"},
        {POLICY_HOST_NAMESPACES, -1, "{\"VolumesFrom\": [\"other\"]}", NULL, "host_config.VolumesFrom"},
        {POLICY_DEVICES, -1, "{\"Devices\": [{\"PathOnHost\": \"/dev/kmsg\", \"PathInContainer\": "
                             "\"/dev/kmsg\", \"CgroupPermissions\": \"rwm\"}]}", NULL, "host_config.Devices"},
        {POLICY_DEVICES, -1, "{\"DeviceCgroupRules\": [\"c 1:* rwm\"]}", NULL, "DeviceCgroupRules"},
        {POLICY_DEVICE_REQUESTS, POLICY_DEVICES, "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", "
                                                 "\"Count\": -1, \"Capabilities\": [[\"gpu\"]]}]}",
         NULL, "host_config.DeviceRequests"},
        {POLICY_HOST_BINDS, -1, bind_hc, NULL, "host_config.Binds[0]"},
        {POLICY_HOST_BINDS, -1, NULL, bind_mount, "mounts[0]"},
        {POLICY_VOLUME_DRIVERS, -1, "{\"VolumeDriver\": \"local-persist\"}", NULL, "VolumeDriver"},
        {POLICY_VOLUME_DRIVERS, -1, NULL,
         "[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"VolumeOptions\": "
         "{\"DriverConfig\": {\"Name\": \"local\", \"Options\": {\"type\": \"none\", \"o\": "
         "\"bind\", \"device\": \"/\"}}}}]",
         "mounts[0].VolumeOptions.DriverConfig"},
        {POLICY_SECCOMP_PROFILES, -1, "{\"SecurityOpt\": [\"seccomp=strict\"]}", NULL,
         "the seccomp profile 'strict'"},
        {POLICY_APPARMOR_PROFILES, -1, "{\"SecurityOpt\": [\"apparmor=flamed-runner\"]}", NULL,
         "the AppArmor profile 'flamed-runner'"},
        {POLICY_CGROUP, -1, "{\"CgroupParent\": \"/other\"}", NULL, "CgroupParent"},
        {POLICY_CGROUP, -1, "{\"Cgroup\": \"container:abc\"}", NULL, "host_config.Cgroup"},
        {POLICY_CGROUP, -1, "{\"CpuRealtimePeriod\": 1000000}", NULL, "CpuRealtimePeriod"},
        {POLICY_CGROUP, -1, "{\"CpuRealtimeRuntime\": 950000}", NULL, "CpuRealtimeRuntime"},
        {POLICY_CGROUP, -1, "{\"BlkioWeight\": 100}", NULL, "BlkioWeight"},
        {POLICY_CGROUP, -1, "{\"BlkioWeightDevice\": [{\"Path\": \"/dev/sda\", \"Weight\": 10}]}",
         NULL, "BlkioWeightDevice"},
        {POLICY_CGROUP, -1, "{\"BlkioDeviceReadBps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}",
         NULL, "BlkioDeviceReadBps"},
        {POLICY_CGROUP, -1, "{\"BlkioDeviceWriteBps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}",
         NULL, "BlkioDeviceWriteBps"},
        {POLICY_CGROUP, -1, "{\"BlkioDeviceReadIOps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}",
         NULL, "BlkioDeviceReadIOps"},
        {POLICY_CGROUP, -1, "{\"BlkioDeviceWriteIOps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}",
         NULL, "BlkioDeviceWriteIOps"},
        {POLICY_CGROUP, -1, "{\"OomScoreAdj\": -1000}", NULL, "OomScoreAdj"},
        {POLICY_CGROUP, -1, "{\"OomKillDisable\": true}", NULL, "OomKillDisable"},
        {POLICY_SYSCTLS, -1, "{\"Sysctls\": {\"net.ipv4.ip_local_port_range\": \"1024 65000\"}}",
         NULL, "Sysctls 'net.ipv4.ip_local_port_range'"},
        {POLICY_RUNTIMES, -1, "{\"Runtime\": \"runsc\"}", NULL, "host_config.Runtime 'runsc'"},
        {POLICY_MASKED_PATHS, -1, "{\"MaskedPaths\": []}", NULL, "host_config.MaskedPaths"},
        {POLICY_MASKED_PATHS, -1, "{\"MaskedPaths\": [\"/proc/kcore\"]}", NULL, "MaskedPaths"},
        {POLICY_MASKED_PATHS, -1, "{\"ReadonlyPaths\": []}", NULL, "host_config.ReadonlyPaths"},
        {POLICY_PORT_BINDINGS, -1, "{\"PortBindings\": {\"80/tcp\": [{\"HostPort\": \"8080\"}]}}",
         NULL, "PortBindings"},
        {POLICY_PORT_BINDINGS, -1, "{\"PublishAllPorts\": true}", NULL, "PublishAllPorts"},
        {POLICY_LOG_DRIVERS, -1, "{\"LogConfig\": {\"Type\": \"json-file\"}}", NULL,
         "LogConfig with Type 'json-file'"},
        {POLICY_DNS, -1, "{\"Dns\": [\"8.8.8.8\"]}", NULL, "host_config.Dns"},
        {POLICY_DNS, -1, "{\"DnsOptions\": [\"ndots:1\"]}", NULL, "DnsOptions"},
        {POLICY_DNS, -1, "{\"DnsSearch\": [\"example.com\"]}", NULL, "DnsSearch"},
        {POLICY_DNS, -1, "{\"ExtraHosts\": [\"host.docker.internal:host-gateway\"]}", NULL,
         "ExtraHosts"},
        {POLICY_GROUP_ADD, -1, "{\"GroupAdd\": [\"docker\"]}", NULL, "GroupAdd"},
    };
    struct policy *builtin = parse_ok(NULL, fx.sock);
    for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
        const struct use *u = &uses[i];
        char rule[64];
        snprintf(rule, sizeof(rule), "denied by policy allow.%s (pool 'default')",
                 policy_switch_name(u->sw));
        /* Off by default: denied, naming the field and the switch. */
        assert_denied(builtin, u->hc, u->mounts, rule);
        assert_denied(builtin, u->hc, u->mounts, u->names);
        /* Every other switch on: still denied. */
        struct policy *p = policy_with(u->sw, u->also, 0);
        assert_denied(p, u->hc, u->mounts, rule);
        policy_free(p);
        /* Its own switch on: allowed. */
        p = policy_with(u->sw, u->also, 1);
        assert_allowed(p, u->hc, u->mounts);
        policy_free(p);
    }
    policy_free(builtin);
}

static void builtin_policy_allows_the_baseline(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    static const char *const ok[] = {
        "{\"Memory\": 268435456, \"MemoryReservation\": 134217728, \"MemorySwap\": 536870912, "
        "\"MemorySwappiness\": 0}",
        "{\"NanoCpus\": 1500000000, \"CpuShares\": 512, \"CpusetCpus\": \"0-1\", \"CpusetMems\": \"0\"}",
        "{\"CpuPeriod\": 100000, \"CpuQuota\": 50000}",
        "{\"PidsLimit\": 100}",
        "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 1048576}, "
        "{\"Name\": \"nproc\", \"Soft\": 1, \"Hard\": 2}, {\"Name\": \"stack\", \"Soft\": 8388608, "
        "\"Hard\": 67108864}]}",
        "{\"ShmSize\": 1073741824}",
        "{\"Tmpfs\": {\"/tmp\": \"rw,noexec,nosuid,nodev,size=64m,mode=1777,uid=1000,gid=1000,"
        "nr_inodes=1k\", \"/run\": \"\", \"/scratch\": \"exec,size=50%\"}}",
        "{\"ReadonlyRootfs\": true, \"Init\": true}",
        "{\"CapDrop\": [\"ALL\", \"net_raw\", \"CAP_MKNOD\"]}",
        "{\"SecurityOpt\": [\"no-new-privileges\"]}",
        "{\"SecurityOpt\": [\"no-new-privileges:true\", \"no-new-privileges=false\", "
        "\"no-new-privileges=1\", \"no-new-privileges=0\"]}",
        "{\"Binds\": [\"data:/data\", \"cache:/cache:ro,nocopy\"]}",
        /* The value Docker reads as "not set" needs no switch. */
        "{\"Privileged\": false, \"PidMode\": \"\", \"UTSMode\": \"\", \"UsernsMode\": \"\", "
        "\"VolumesFrom\": [], \"Devices\": [], \"DeviceCgroupRules\": [], \"DeviceRequests\": [], "
        "\"VolumeDriver\": \"\", \"CgroupParent\": \"\", \"OomScoreAdj\": 0, "
        "\"OomKillDisable\": false, \"BlkioWeight\": 0, \"PortBindings\": {}, "
        "\"PublishAllPorts\": false, \"LogConfig\": {}, \"Dns\": [], \"DnsOptions\": [], "
        "\"DnsSearch\": [], \"ExtraHosts\": [], \"GroupAdd\": [], \"Runtime\": \"\", "
        "\"Sysctls\": {}, \"CapAdd\": [], \"SecurityOpt\": [], \"Binds\": []}",
        "{\"IpcMode\": \"private\"}",
        "{\"IpcMode\": \"shareable\"}",
        "{\"IpcMode\": \"none\"}",
        "{\"IpcMode\": \"\"}",
        "{\"CgroupnsMode\": \"private\"}",
        "{\"CgroupnsMode\": \"\"}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_allowed(p, ok[i], NULL);
    assert_allowed(p, NULL,
                   "[{\"Type\": \"volume\", \"Source\": \"data\", \"Target\": \"/v\", "
                   "\"ReadOnly\": true, \"VolumeOptions\": {\"NoCopy\": true, \"DriverConfig\": {}}},"
                   " {\"Type\": \"volume\", \"Target\": \"/anon\"},"
                   " {\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": "
                   "{\"SizeBytes\": 67108864, \"Mode\": 1023}}]");
    policy_free(p);
}

static void pool_override_applies_to_its_pool_only(void **state)
{
    (void)state;
    const char *gpu = "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1, "
                      "\"Capabilities\": [[\"gpu\"]]}]}";
    struct policy *p = parse_ok("{\"allow\": {\"capabilities\": [\"NET_ADMIN\"]}, "
                                "\"pools\": {\"gpu\": {\"allow\": {\"device_requests\": true}}}}",
                                NULL);
    assert_allowed_in(p, "gpu", gpu, NULL);
    assert_rc_in(p, NULL, gpu, NULL, FLAME_EPERM, "allow.device_requests (pool 'default')");
    assert_rc_in(p, "default", gpu, NULL, FLAME_EPERM, "(pool 'default')");
    assert_rc_in(p, "gpu2", gpu, NULL, FLAME_EPERM, "allow.device_requests (pool 'gpu2')");
    assert_rc_in(p, "GPU", gpu, NULL, FLAME_EPERM, "(pool 'GPU')");
    /* A switch the pool does not name comes from the top level. */
    assert_allowed_in(p, "gpu", "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL);
    /* device_requests does not bring Devices. */
    assert_rc_in(p, "gpu", "{\"Devices\": [{\"PathOnHost\": \"/dev/nvidia0\"}]}", NULL, FLAME_EPERM,
                 "allow.devices (pool 'gpu')");
    policy_free(p);

    /* A pool's switch replaces the top level's: a list wholesale, and false too. */
    p = parse_ok("{\"allow\": {\"capabilities\": [\"NET_ADMIN\"], \"privileged\": true}, "
                 "\"pools\": {\"locked\": {\"allow\": {\"capabilities\": [\"SYS_TIME\"], "
                 "\"privileged\": false}}}}",
                 NULL);
    assert_allowed_in(p, "other", "{\"CapAdd\": [\"NET_ADMIN\"], \"Privileged\": true}", NULL);
    assert_rc_in(p, "locked", "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, FLAME_EPERM,
                 "allow.capabilities (pool 'locked')");
    assert_allowed_in(p, "locked", "{\"CapAdd\": [\"SYS_TIME\"]}", NULL);
    assert_rc_in(p, "locked", "{\"Privileged\": true}", NULL, FLAME_EPERM,
                 "allow.privileged (pool 'locked')");
    policy_free(p);

    /* host_binds per pool. */
    p = parse_ok(fmt("{\"pools\": {\"data\": {\"allow\": {\"host_binds\": [\"%s\"]}}}}", fx.binds),
                 NULL);
    const char *b = fmt("{\"Binds\": [\"%s:/d\"]}", fx.binds);
    assert_allowed_in(p, "data", b, NULL);
    assert_rc_in(p, "other", b, NULL, FLAME_EPERM, "allow.host_binds (pool 'other')");
    policy_free(p);
}

/* ---------------------------------------------------------------- capabilities */

static void cap_add_names_are_normalised_before_the_check(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    static const char *const sys_admin[] = {"cap_sys_admin", "sys_admin", "CAP_SYS_ADMIN",
                                            "SYS_ADMIN", "Cap_Sys_Admin"};
    for (size_t i = 0; i < 5; i++)
        assert_denied(p, fmt("{\"CapAdd\": [\"%s\"]}", sys_admin[i]), NULL, "allow.capabilities");
    assert_denied(p, "{\"CapAdd\": [\"ALL\"]}", NULL, "allow.capabilities");
    assert_denied(p, "{\"CapAdd\": [\"all\"]}", NULL, "allow.capabilities");
    policy_free(p);

    p = parse_ok("{\"allow\": {\"capabilities\": [\"SYS_ADMIN\", \"cap_net_admin\"]}}", NULL);
    for (size_t i = 0; i < 5; i++)
        assert_sent(p, fmt("{\"CapAdd\": [\"%s\"]}", sys_admin[i]),
                    "{\"CapAdd\":[\"CAP_SYS_ADMIN\"]}");
    assert_sent(p, "{\"CapAdd\": [\"net_admin\", \"NET_ADMIN\"]}",
                "{\"CapAdd\":[\"CAP_NET_ADMIN\",\"CAP_NET_ADMIN\"]}");
    assert_denied(p, "{\"CapAdd\": [\"SYS_ADMIN\", \"SYS_PTRACE\"]}", NULL,
                  "host_config.CapAdd[1] 'SYS_PTRACE'");
    assert_denied(p, "{\"CapAdd\": [\"ALL\"]}", NULL, "allow.capabilities");
    policy_free(p);

    /* ALL only if listed, and sent as ALL. */
    p = parse_ok("{\"allow\": {\"capabilities\": [\"ALL\"]}}", NULL);
    assert_sent(p, "{\"CapAdd\": [\"all\"]}", "{\"CapAdd\":[\"ALL\"]}");
    assert_denied(p, "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, "allow.capabilities");
    policy_free(p);
}

static void cap_names_that_are_no_capability_are_refused(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"capabilities\": [\"ALL\"]}}", NULL);
    static const char *const bad[] = {"", "CAP_", "cap_", "NET-ADMIN", "net admin", "NET_ADMIN\\n",
                                      "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_invalid(p, fmt("{\"CapAdd\": [\"%s\"]}", bad[i]), NULL,
                       "host_config.CapAdd[0]");
        assert_invalid(p, fmt("{\"CapDrop\": [\"%s\"]}", bad[i]), NULL, "is not a capability name");
    }
    policy_free(p);
}

static void cap_drop_is_allowed_and_normalised(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_sent(p, "{\"CapDrop\": [\"net_raw\", \"CAP_MKNOD\", \"all\"]}",
                "{\"CapDrop\":[\"CAP_NET_RAW\",\"CAP_MKNOD\",\"ALL\"]}");
    policy_free(p);
}

/* ---------------------------------------------------------------- SecurityOpt */

static void security_opt_unconfined_forms_need_privileged(void **state)
{
    (void)state;
    static const char *const opts[] = {"seccomp=unconfined", "seccomp:unconfined",
                                       "apparmor=unconfined", "apparmor:unconfined",
                                       "label=disable", "label:disable"};
    struct policy *p = parse_ok(NULL, NULL);
    struct policy *priv = parse_ok("{\"allow\": {\"privileged\": true}}", NULL);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const char *hc = fmt("{\"SecurityOpt\": [\"%s\"]}", opts[i]);
        assert_denied(p, hc, NULL, "allow.privileged");
        assert_allowed(priv, hc, NULL);
    }
    policy_free(priv);
    policy_free(p);
}

static void security_opt_inline_seccomp_json_is_denied(void **state)
{
    (void)state;
    /* Even with privileged on and a profile loaded: profiles are by name only. */
    struct policy *p = parse_ok(fmt("{\"allow\": {\"privileged\": true, \"seccomp_profiles\": "
                                    "{\"strict\": \"%s\"}}}",
                                    fx.seccomp),
                                NULL);
    assert_denied(p, "{\"SecurityOpt\": [\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]}",
                  NULL, "allow.seccomp_profiles");
    assert_denied(p, "{\"SecurityOpt\": [\"seccomp:{\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]}",
                  NULL, "never inline");
    assert_denied(p, "{\"SecurityOpt\": [\"seccomp=other\"]}", NULL,
                  "the seccomp profile 'other' is not one the policy names");
    assert_denied(p, "{\"SecurityOpt\": [\"seccomp=\"]}", NULL, "allow.seccomp_profiles");
    policy_free(p);
}

static void security_opt_seccomp_name_is_replaced_by_the_profile(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"seccomp_profiles\": {\"strict\": \"%s\"}}}",
                                    fx.seccomp),
                                NULL);
    char err[512];
    cJSON *hc = NULL;
    assert_int_equal(check(p, "{\"SecurityOpt\": [\"no-new-privileges\", \"seccomp=strict\"]}",
                           NULL, &hc, err, sizeof(err)),
                     0);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt");
    assert_int_equal(cJSON_GetArraySize(so), 2);
    assert_string_equal(cJSON_GetArrayItem(so, 0)->valuestring, "no-new-privileges");
    assert_string_equal(cJSON_GetArrayItem(so, 1)->valuestring,
                        "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}");
    cJSON_Delete(hc);
    /* The key:value form too. */
    assert_int_equal(check(p, "{\"SecurityOpt\": [\"seccomp:strict\"]}", NULL, &hc, err, sizeof(err)),
                     0);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt"), 0)
                            ->valuestring,
                        "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}");
    cJSON_Delete(hc);
    policy_free(p);
}

static void security_opt_apparmor_profile_needs_its_name_listed(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"apparmor_profiles\": [\"flamed-runner\"]}}", NULL);
    assert_sent(p, "{\"SecurityOpt\": [\"apparmor=flamed-runner\"]}",
                "{\"SecurityOpt\":[\"apparmor=flamed-runner\"]}");
    assert_denied(p, "{\"SecurityOpt\": [\"apparmor=docker-default-x\"]}", NULL,
                  "the AppArmor profile 'docker-default-x'");
    assert_denied(p, "{\"SecurityOpt\": [\"apparmor=unconfined\"]}", NULL, "allow.privileged");
    policy_free(p);
}

static void security_opt_other_forms_are_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"privileged\": true, \"apparmor_profiles\": "
                                    "[\"a\"], \"seccomp_profiles\": {\"s\": \"%s\"}}}",
                                    fx.seccomp),
                                NULL);
    static const char *const opts[] = {"disable", "label=type:spc_t", "label=user:system_u",
                                       "label:level:s0", "systempaths=unconfined",
                                       "writable-cgroups=true", "unknown", "apparmor",
                                       "seccomp", "no_new_privileges",
                                       "a-very-long-security-option-key-beyond-32=x"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        assert_denied(p, fmt("{\"SecurityOpt\": [\"%s\"]}", opts[i]), NULL,
                      "SecurityOpt allows no-new-privileges, seccomp=NAME and apparmor=NAME");
    assert_invalid(p, "{\"SecurityOpt\": [\"no-new-privileges=maybe\"]}", NULL,
                   "no-new-privileges takes true or false");
    policy_free(p);
}

/* ---------------------------------------------------------------- Binds and Mounts */

static void bind_of_a_host_path_needs_host_binds(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, fx.sock);
    assert_denied(p, fmt("{\"Binds\": [\"%s:/d\"]}", fx.binds), NULL,
                  fmt("host_config.Binds[0] binds the host path '%s'", fx.binds));
    assert_denied(p, "{\"Binds\": [\"/:/host\"]}", NULL, "allow.host_binds");
    assert_denied(p, "{\"Binds\": [\"data:/a\", \"/tmp:/t\"]}", NULL, "host_config.Binds[1]");
    /* Named volumes need nothing. */
    assert_allowed(p, "{\"Binds\": [\"data:/d\", \"my.volume_2:/e:ro\"]}", NULL);
    policy_free(p);
}

static void bind_under_a_prefix_is_allowed_and_outside_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    const char *inside[] = {"", "/", "/sub", "/sub/", "/./sub//", "/no-such-dir",
                            "/no-such-dir/deeper", "/sub/../sub", "/root-link/..", "/s.sock.d"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++)
        assert_allowed(p, fmt("{\"Binds\": [\"%s%s:/d:ro\"]}", fx.binds, inside[i]), NULL);
    const char *outside[] = {"/../outside", "/sub/../../outside/x", "/../binds-other"};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
        assert_denied(p, fmt("{\"Binds\": [\"%s%s:/d\"]}", fx.binds, outside[i]), NULL,
                      "is not under a prefix in allow.host_binds");
    static const char *const host[] = {"/etc", "/etc/shadow", "/root", "/home", "/usr/bin"};
    for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
        assert_denied(p, fmt("{\"Binds\": [\"%s:/d\"]}", host[i]), NULL,
                      "is not under a prefix in allow.host_binds");
    /* Paths holding the Docker socket (the temp tree's is under /tmp) say so first. */
    static const char *const holders[] = {"/", "/tmp", "/fltest-no-such-dir/.."};
    for (size_t i = 0; i < sizeof(holders) / sizeof(holders[0]); i++)
        assert_denied(p, fmt("{\"Binds\": [\"%s:/d\"]}", holders[i]), NULL,
                      "which gives root on the host");
    policy_free(p);
}

static void bind_through_a_symlink_out_of_the_prefix_is_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    /* "/" holds the Docker socket: that is what the message says first. */
    assert_denied(p, fmt("{\"Binds\": [\"%s/root-link:/h\"]}", fx.binds), NULL,
                  "which gives root on the host");
    assert_denied(p, fmt("{\"Binds\": [\"%s/root-link/etc:/h\"]}", fx.binds), NULL,
                  "(resolved: '/etc')");
    assert_denied(p, fmt("{\"Binds\": [\"%s/etc-link/passwd:/p\"]}", fx.binds), NULL,
                  "(resolved: '/etc/passwd')");
    assert_denied(p, fmt("{\"Binds\": [\"%s/root-link/no-such-dir:/h\"]}", fx.binds), NULL,
                  "allow.host_binds");
    assert_denied(p, NULL,
                  fmt("[{\"Type\": \"bind\", \"Source\": \"%s/root-link\", \"Target\": \"/h\"}]",
                      fx.binds),
                  "mounts[0]: the host path");
    policy_free(p);
}

/*
 * A symlink under the prefix whose target flamed cannot resolve for want of
 * permission: dockerd (root) follows it all the same when it mounts. Here
 * /proc/1/root, which a flamed in the docker group (or one under a ptrace
 * restriction) cannot readlink, but dockerd resolves to the host's "/".
 */
static void bind_through_a_symlink_flamed_cannot_resolve_is_denied(void **state)
{
    (void)state;
    char link[PATH_MAX + 32], real[PATH_MAX];
    snprintf(link, sizeof(link), "%s/proc-link", fx.binds);
    assert_int_equal(symlink("/proc/1/root", link), 0);
    if (!realpath("/proc/1/root", real))
        print_message("realpath(/proc/1/root) fails here: the case flamed must deny\n");
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    char err[1024];
    int rc = check(p, fmt("{\"Binds\": [\"%s:/host\"]}", link), NULL, NULL, err, sizeof(err));
    int rc2 = check(p, NULL,
                    fmt("[{\"Type\": \"bind\", \"Source\": \"%s/etc\", \"Target\": \"/h\"}]", link),
                    NULL, err, sizeof(err));
    unlink(link);
    policy_free(p);
    assert_int_equal(rc, FLAME_EPERM);
    assert_int_equal(rc2, FLAME_EPERM);
}

static void bind_of_a_socket_or_device_under_the_prefix_is_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    assert_denied(p, fmt("{\"Binds\": [\"%s/s.sock:/s\"]}", fx.binds), NULL,
                  "is a socket: denied by policy");
    assert_denied(p, NULL,
                  fmt("[{\"Type\": \"bind\", \"Source\": \"%s/s.sock\", \"Target\": \"/s\"}]",
                      fx.binds),
                  "is a socket");
    if (fx.have_dev)
        assert_denied(p, fmt("{\"Binds\": [\"%s/null:/n\"]}", fx.binds), NULL,
                      "is a device node: denied by policy");
    else
        print_message("mknod not allowed here: the device-node case is not run\n");
    policy_free(p);
}

static void bind_of_the_docker_socket_is_denied_whatever_the_prefixes(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    /* The socket as configured, where it really is, the directories holding it, through
     * the /var/run -> /run style link and through a link under the prefix. */
    const char *paths[] = {fx.sock,
                           fx.real_sock,
                           fx_path("var/run"),
                           fx_path("var/run/"),
                           fx_path("run"),
                           fx_path("var"),
                           fx.dir,
                           fx_path("run/no-such-dir/.."),
                           fx_path("other/../run/./flamed-test.sock"),
                           fmt("%s//run//", fx.dir),
                           fmt("%s/run-link", fx.binds),
                           fmt("%s/run-link/flamed-test.sock", fx.binds)};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        assert_denied(p, fmt("{\"Binds\": [\"%s:/s\"]}", paths[i]), NULL,
                      "which gives root on the host");
    assert_denied(p, NULL,
                  fmt("[{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/s\"}]", fx.sock),
                  "mounts[0]: the host path");
    policy_free(p);

    /* The default socket, also behind the host's /var/run -> /run link, and containerd's. */
    p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), NULL);
    static const char *const host[] = {"/var/run/docker.sock", "/var/run", "/var", "/",
                                       "/run/containerd/containerd.sock", "/run/containerd"};
    for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
        assert_denied(p, fmt("{\"Binds\": [\"%s:/s\"]}", host[i]), NULL, "gives root on the host");
    struct stat sb;
    if (lstat("/var/run", &sb) == 0 && S_ISLNK(sb.st_mode) && stat("/var/run/docker.sock", &sb) == 0)
        assert_denied(p, "{\"Binds\": [\"/run:/r\"]}", NULL, "gives root on the host");
    policy_free(p);
}

/*
 * A prefix holding the socket is refused at load, so the socket can only be
 * under a prefix when it appears there later: then the check at Boot time
 * still finds it (the socket path given to policy_parse, resolved now).
 */
static void docker_socket_that_appears_under_a_prefix_after_load_is_denied(void **state)
{
    (void)state;
    char late_sock[PATH_MAX + 32], target[PATH_MAX + 32];
    snprintf(late_sock, sizeof(late_sock), "%s/late/docker.sock", fx.dir);
    snprintf(target, sizeof(target), "%s/real.sock", fx.binds);
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), late_sock);
    write_file(target, "");
    assert_allowed(p, fmt("{\"Binds\": [\"%s:/s\"]}", target), NULL); /* not the socket yet */
    assert_int_equal(symlink(target, late_sock), 0);
    assert_denied(p, fmt("{\"Binds\": [\"%s:/s\"]}", target), NULL, "gives root on the host");
    assert_denied(p, fmt("{\"Binds\": [\"%s:/b\"]}", fx.binds), NULL, "gives root on the host");
    assert_denied(p, fmt("{\"Binds\": [\"%s:/s\"]}", late_sock), NULL, "gives root on the host");
    unlink(late_sock);
    unlink(target);
    policy_free(p);
}

static void bind_modes_that_relabel_or_propagate_are_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    static const char *const modes[][2] = {
        {"z", "it relabels host files"},
        {"Z", "it relabels host files"},
        {"rshared", "it propagates mounts back to the host"},
        {"shared", "it propagates mounts back to the host"},
        {"ro,z", "mode 'z'"},
        {"rw,rshared", "mode 'rshared'"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_denied(p, fmt("{\"Binds\": [\"%s:/d:%s\"]}", fx.binds, modes[i][0]), NULL,
                      modes[i][1]);
        assert_denied(p, fmt("{\"Binds\": [\"data:/d:%s\"]}", modes[i][0]), NULL, modes[i][1]);
    }
    static const char *const ok[] = {"ro", "rw", "ro,rslave", "rprivate", "private", "slave",
                                     "nocopy", "consistent", "cached", "delegated"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_allowed(p, fmt("{\"Binds\": [\"%s:/d:%s\"]}", fx.binds, ok[i]), NULL);
    policy_free(p);
}

static void bind_mounts_follow_the_same_rules(void **state)
{
    (void)state;
    struct policy *builtin = parse_ok(NULL, fx.sock);
    const char *m = fmt("[{\"Type\": \"bind\", \"Source\": \"%s/sub\", \"Target\": \"/d\"}]",
                        fx.binds);
    assert_denied(builtin, NULL, m, "allow.host_binds");
    policy_free(builtin);
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", fx.binds), fx.sock);
    assert_allowed(p, NULL, m);
    assert_allowed(p, NULL,
                   fmt("[{\"Type\": \"tmpfs\", \"Target\": \"/t\"}, {\"Type\": \"bind\", "
                       "\"Source\": \"%s//sub/./\", \"Target\": \"/d\", \"ReadOnly\": true, "
                       "\"BindOptions\": {\"Propagation\": \"rprivate\"}}]",
                       fx.binds));
    static const char *const bad_prop[] = {"rshared", "shared"};
    for (size_t i = 0; i < 2; i++)
        assert_denied(p, NULL,
                      fmt("[{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/d\", "
                          "\"BindOptions\": {\"Propagation\": \"%s\"}}]",
                          fx.binds, bad_prop[i]),
                      "mounts[0].BindOptions.Propagation");
    assert_denied(p, NULL, "[{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/h\"}]",
                  "mounts[0]: the host path '/'");
    assert_denied(p, NULL,
                  fmt("[{\"Type\": \"volume\", \"Target\": \"/v\"}, {\"Type\": \"bind\", "
                      "\"Source\": \"%s/..\", \"Target\": \"/d\"}]",
                      fx.binds),
                  "mounts[1]");
    policy_free(p);
}

static void volume_mount_driver_config_needs_volume_drivers(void **state)
{
    (void)state;
    const char *dc = "[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", "
                     "\"VolumeOptions\": {\"DriverConfig\": {\"Name\": \"local\", \"Options\": "
                     "{\"type\": \"none\", \"o\": \"bind\", \"device\": \"/\"}}}}]";
    struct policy *p = parse_ok(NULL, NULL);
    assert_denied(p, NULL, dc, "mounts[0].VolumeOptions.DriverConfig (a volume driver or its "
                               "options): denied by policy allow.volume_drivers");
    assert_denied(p, NULL,
                  "[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", "
                  "\"VolumeOptions\": {\"DriverConfig\": {\"Name\": \"\"}}}]",
                  "allow.volume_drivers");
    assert_allowed(p, NULL,
                   "[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", "
                   "\"VolumeOptions\": {\"DriverConfig\": {}, \"Labels\": {\"a\": \"b\"}}}]");
    policy_free(p);
    p = parse_ok("{\"allow\": {\"volume_drivers\": true}}", NULL);
    assert_allowed(p, NULL, dc);
    policy_free(p);
}

static void tmpfs_mount_options_are_bounded(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_allowed(p, NULL, "[{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": "
                            "{\"SizeBytes\": 0, \"Mode\": 4095}}]");
    assert_invalid(p, NULL, "[{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": "
                            "{\"SizeBytes\": -1}}]",
                   "mounts[0].TmpfsOptions: SizeBytes must not be negative");
    assert_invalid(p, NULL, "[{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": "
                            "{\"Mode\": 4096}}]",
                   "Mode is 0 to 07777");
    assert_invalid(p, NULL, "[{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": "
                            "{\"Mode\": -1}}]",
                   "Mode is 0 to 07777");
    policy_free(p);
}

/* ---------------------------------------------------------------- Ulimits, Tmpfs, Sysctls */

static void ulimits_within_the_built_in_ceilings_are_allowed(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_sent(p, "{\"Ulimits\": [{\"Name\": \"NOFILE\", \"Soft\": 1024, \"Hard\": 1048576}]}",
                "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":1048576}]}");
    assert_sent(p, "{\"Ulimits\": [{\"Name\": \"Stack\", \"Soft\": 0, \"Hard\": 0}]}",
                "{\"Ulimits\":[{\"Name\":\"stack\",\"Soft\":0,\"Hard\":0}]}");
    assert_denied(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 1048577}]}", NULL,
                  "host_config.Ulimits[0] nofile Hard 1048577 is above the policy ceiling "
                  "ceilings.Ulimits.nofile (1048576)");
    assert_denied(p, "{\"Ulimits\": [{\"Name\": \"stack\", \"Soft\": 1, \"Hard\": 67108865}]}",
                  NULL, "ceilings.Ulimits.stack");
    policy_free(p);
}

static void ulimits_not_named_in_the_ceilings_are_denied(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    static const char *const names[] = {"core", "memlock", "rtprio", "bogus", "CORE", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_denied(p, fmt("{\"Ulimits\": [{\"Name\": \"%s\", \"Soft\": 1, \"Hard\": 1}]}",
                             names[i]),
                      NULL, "is denied by policy ceilings.Ulimits");
    policy_free(p);

    /* A policy's list replaces the built-in one. */
    p = parse_ok("{\"ceilings\": {\"Ulimits\": {\"nofile\": 65536, \"core\": 0}}}", NULL);
    assert_allowed(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 65536, \"Hard\": 65536}, "
                      "{\"Name\": \"core\", \"Soft\": 0, \"Hard\": 0}]}", NULL);
    assert_denied(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 65537}]}", NULL,
                  "ceilings.Ulimits.nofile (65536)");
    assert_denied(p, "{\"Ulimits\": [{\"Name\": \"core\", \"Soft\": 0, \"Hard\": 1}]}", NULL,
                  "ceilings.Ulimits.core (0)");
    assert_denied(p, "{\"Ulimits\": [{\"Name\": \"nproc\", \"Soft\": 1, \"Hard\": 1}]}", NULL,
                  "ceilings.Ulimits");
    policy_free(p);
}

static void ulimits_must_be_ordered_limited_and_named_once(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_invalid(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 2048, \"Hard\": 1024}]}", NULL,
                   "host_config.Ulimits[0] nofile: need 0 <= Soft <= Hard");
    assert_invalid(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": -1, \"Hard\": -1}]}", NULL,
                   "-1, unlimited, is never allowed");
    assert_invalid(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": -1}]}", NULL,
                   "need 0 <= Soft <= Hard");
    assert_invalid(p, "{\"Ulimits\": [{\"Soft\": 1, \"Hard\": 1}]}", NULL,
                   "host_config.Ulimits[0] needs a Name");
    assert_invalid(p, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 1}, "
                      "{\"Name\": \"NOFILE\", \"Soft\": 2, \"Hard\": 2}]}",
                   NULL, "host_config.Ulimits: 'nofile' is repeated");
    policy_free(p);
}

static void tmpfs_options_and_targets_are_bounded(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    static const char *const bad[] = {"suid", "dev", "rw,suid", "size=1g;x", "mode=01777,dev",
                                      "size=", ",", "rw,,ro", "nr_inodes=1 2", "mpol=bind"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_denied(p, fmt("{\"Tmpfs\": {\"/t\": \"%s\"}}", bad[i]), NULL,
                      "host_config.Tmpfs['/t']: tmpfs option");
    static const char *const targets[] = {"/proc", "/proc/sys", "/sys", "/sys/fs/cgroup", "/",
                                          "/proc/../proc", "//sys/"};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        assert_denied(p, fmt("{\"Tmpfs\": {\"%s\": \"\"}}", targets[i]), NULL,
                      "a tmpfs cannot cover the root, /proc or /sys");
    assert_sent(p, "{\"Tmpfs\": {\"/procx\": \"\", \"/system/\": \"ro\", \"/a//b\": \"exec\"}}",
                "{\"Tmpfs\":{\"/procx\":\"\",\"/system\":\"ro\",\"/a/b\":\"exec\"}}");
    policy_free(p);
}

static void sysctls_are_named_in_the_list_and_sent_dotted(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"sysctls\": [\"net.ipv4.ip_local_port_range\", "
                                "\"net.core.somaxconn\"]}}",
                                NULL);
    assert_sent(p, "{\"Sysctls\": {\"net/ipv4/ip_local_port_range\": \"1024 65000\", "
                   "\"net.core.somaxconn\": \"1024\"}, \"Init\": true}",
                "{\"Sysctls\":{\"net.ipv4.ip_local_port_range\":\"1024 65000\","
                "\"net.core.somaxconn\":\"1024\"},\"Init\":true}");
    assert_denied(p, "{\"Sysctls\": {\"kernel.shm_rmid_forced\": \"1\"}}", NULL,
                  "host_config.Sysctls 'kernel.shm_rmid_forced': denied by policy allow.sysctls");
    assert_denied(p, "{\"Sysctls\": {\"net/ipv4/ip_forward\": \"1\"}}", NULL, "allow.sysctls");
    assert_denied(p, "{\"Sysctls\": {\"NET.core.somaxconn\": \"1\"}}", NULL, "allow.sysctls");
    /* Two spellings of one sysctl: which one runc applies last is not for flamed to guess. */
    assert_invalid(p, "{\"Sysctls\": {\"net.core.somaxconn\": \"1\", \"net/core/somaxconn\": \"2\"}}",
                   NULL, "host_config.Sysctls: 'net.core.somaxconn' is repeated");
    policy_free(p);
}

/* The Sysctls object is rewritten in place: fields after it are still read and bounded. */
static void fields_after_sysctls_are_still_bounded(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"sysctls\": [\"net.core.somaxconn\"]}, "
                 "\"defaults\": {\"Memory\": 1000}, \"ceilings\": {\"Memory\": 4000}}",
                 NULL);
    assert_denied(p, "{\"Sysctls\": {\"net.core.somaxconn\": \"1\"}, \"Memory\": 5000}", NULL,
                  "ceilings.Memory");
    assert_sent(p, "{\"Sysctls\": {\"net.core.somaxconn\": \"1\"}, \"Memory\": 3000}",
                "{\"Sysctls\":{\"net.core.somaxconn\":\"1\"},\"Memory\":3000}");
    policy_free(p);
}

static void masked_paths_even_empty_need_the_switch(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_denied(p, "{\"MaskedPaths\": []}", NULL, "host_config.MaskedPaths: denied by policy "
                                                    "allow.masked_paths");
    assert_denied(p, "{\"ReadonlyPaths\": []}", NULL, "allow.masked_paths");
    policy_free(p);
    p = parse_ok("{\"allow\": {\"masked_paths\": true}}", NULL);
    assert_allowed(p, "{\"MaskedPaths\": [], \"ReadonlyPaths\": []}", NULL);
    policy_free(p);
}

static void runtime_and_log_driver_must_be_listed(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"allow\": {\"runtimes\": [\"runsc\"], \"log_drivers\": "
                                "[\"json-file\", \"local\"]}}",
                                NULL);
    assert_allowed(p, "{\"Runtime\": \"runsc\", \"LogConfig\": {\"Type\": \"local\", \"Config\": "
                      "{\"max-size\": \"10m\"}}}", NULL);
    assert_denied(p, "{\"Runtime\": \"runc\"}", NULL, "host_config.Runtime 'runc'");
    assert_denied(p, "{\"LogConfig\": {\"Type\": \"syslog\"}}", NULL, "LogConfig with Type 'syslog'");
    assert_denied(p, "{\"LogConfig\": {\"Config\": {\"max-size\": \"1m\"}}}", NULL,
                  "LogConfig with Type ''");
    policy_free(p);
}

/* ---------------------------------------------------------------- defaults, ceilings */

static double num(const cJSON *hc, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, k);
    if (!cJSON_IsNumber(v))
        fail_msg("host_config has no number %s", k);
    return v->valuedouble;
}

static void defaults_and_ceilings(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"defaults\": {\"Memory\": 1000, \"NanoCpus\": 500, \"PidsLimit\": 64},"
                                " \"ceilings\": {\"Memory\": 4000, \"NanoCpus\": 2000, \"PidsLimit\": 256}}",
                                NULL);
    char err[512];
    cJSON *hc = NULL;

    /* No HostConfig at all: one is made with the defaults. */
    assert_int_equal(check(p, NULL, NULL, &hc, err, sizeof(err)), 0);
    assert_non_null(hc);
    assert_int_equal(num(hc, "Memory"), 1000);
    assert_int_equal(num(hc, "NanoCpus"), 500);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    cJSON_Delete(hc);

    /* Absent, 0 or -1 (Docker's unlimited): the default. Other fields kept. */
    assert_int_equal(check(p, "{\"Memory\": 0, \"PidsLimit\": -1, \"CpuShares\": 7}", NULL, &hc,
                           err, sizeof(err)),
                     0);
    assert_int_equal(num(hc, "Memory"), 1000);
    assert_int_equal(num(hc, "NanoCpus"), 500);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    assert_int_equal(num(hc, "CpuShares"), 7);
    cJSON_Delete(hc);
    /* Negative Memory is no runner's size: refused, not read as unlimited. */
    assert_int_equal(check(p, "{\"Memory\": -1}", NULL, &hc, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "host_config.Memory -1 must not be negative"));
    cJSON_Delete(hc);
    hc = NULL;
    assert_int_equal(check(p, "{\"Memory\": 0, \"PidsLimit\": 0, \"NanoCpus\": 0}", NULL, &hc, err,
                           sizeof(err)),
                     0);
    assert_int_equal(num(hc, "Memory"), 1000);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    assert_int_equal(num(hc, "NanoCpus"), 500);
    cJSON_Delete(hc);

    /* Under or at the ceiling: kept. */
    assert_int_equal(check(p, "{\"Memory\": 4000, \"NanoCpus\": 1500, \"PidsLimit\": 100}", NULL,
                           &hc, err, sizeof(err)),
                     0);
    assert_int_equal(num(hc, "Memory"), 4000);
    assert_int_equal(num(hc, "NanoCpus"), 1500);
    assert_int_equal(num(hc, "PidsLimit"), 100);
    cJSON_Delete(hc);

    /* Above: denied, naming the ceiling and the value. */
    static const char *const over[][2] = {
        {"{\"Memory\": 4001}", "host_config.Memory 4001 is above the policy ceiling ceilings.Memory (4000)"},
        {"{\"NanoCpus\": 2001}", "ceilings.NanoCpus"},
        {"{\"PidsLimit\": 257}", "ceilings.PidsLimit"},
    };
    for (size_t i = 0; i < 3; i++)
        assert_denied(p, over[i][0], NULL, over[i][1]);
    policy_free(p);

    /* Ceilings only: an unlimited request gets the ceiling. */
    p = parse_ok("{\"ceilings\": {\"Memory\": 4000, \"PidsLimit\": 256}}", NULL);
    assert_int_equal(check(p, "{\"PidsLimit\": -1}", NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 4000);
    assert_int_equal(num(hc, "PidsLimit"), 256);
    assert_null(cJSON_GetObjectItemCaseSensitive(hc, "NanoCpus"));
    cJSON_Delete(hc);
    policy_free(p);

    /* Neither: nothing is added, and no HostConfig is invented. */
    p = parse_ok(NULL, NULL);
    assert_int_equal(check(p, NULL, NULL, &hc, err, sizeof(err)), 0);
    assert_null(hc);
    assert_int_equal(check(p, "{\"Memory\": 0}", NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 0);
    cJSON_Delete(hc);
    policy_free(p);
}

static void cpu_quota_and_period_are_denied_when_nano_cpus_has_a_ceiling(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"ceilings\": {\"NanoCpus\": 2000000000}}", NULL);
    assert_denied(p, "{\"CpuQuota\": 400000}", NULL,
                  "host_config.CpuQuota is denied by policy: ceilings.NanoCpus bounds CPU, so set "
                  "NanoCpus instead");
    assert_denied(p, "{\"CpuPeriod\": 100000}", NULL, "host_config.CpuPeriod is denied by policy");
    assert_allowed(p, "{\"CpuQuota\": 0, \"CpuPeriod\": 0, \"NanoCpus\": 1000000000}", NULL);
    policy_free(p);
    p = parse_ok("{\"ceilings\": {\"Memory\": 4000}}", NULL);
    assert_allowed(p, "{\"CpuQuota\": 400000, \"CpuPeriod\": 100000}", NULL);
    policy_free(p);
}

static void shm_size_has_its_own_ceiling(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"ceilings\": {\"ShmSize\": 268435456}}", NULL);
    assert_allowed(p, "{\"ShmSize\": 268435456}", NULL);
    assert_denied(p, "{\"ShmSize\": 268435457}", NULL,
                  "host_config.ShmSize 268435457 is above the policy ceiling ceilings.ShmSize "
                  "(268435456)");
    assert_invalid(p, "{\"ShmSize\": -1}", NULL, "must not be negative");
    policy_free(p);
    p = parse_ok(NULL, NULL);
    assert_allowed(p, "{\"ShmSize\": 68719476736}", NULL);
    policy_free(p);
}

/* ---------------------------------------------------------------- limits */

static void size_limits(void **state)
{
    (void)state;
    struct policy *p = parse_ok("{\"limits\": {\"max_env_entries\": 3, \"max_env_bytes\": 20, "
                                "\"max_labels\": 2, \"max_argv\": 4}}",
                                NULL);
    char err[512];
    cJSON *hc = NULL;
    struct req *q = req_new("app", 3, 2, 4); /* at every limit: 3 x "Kn=v" = 15 bytes */
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    free(q);

    q = req_new("app", 4, 0, 0);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_env_entries"));
    free(q);
    q = req_new("app", 1, 0, 0);
    q->env[0].value = "a value longer than twenty bytes";
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_env_bytes"));
    free(q);
    q = req_new("app", 0, 3, 0);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_labels"));
    free(q);
    q = req_new("app", 0, 0, 5);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_argv"));
    free(q);

    /* Spawn: argv and env entries. */
    Flame__V1__SpawnRequest sr = FLAME__V1__SPAWN_REQUEST__INIT;
    char *argv[5] = {"a", "b", "c", "d", "e"};
    Flame__V1__SpawnRequest__EnvEntry env[4], *envp[4];
    static const char *const keys[4] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        flame__v1__spawn_request__env_entry__init(&env[i]);
        env[i].key = (char *)keys[i];
        env[i].value = "v";
        envp[i] = &env[i];
    }
    sr.runner_id = "0123456789abcdef";
    sr.argv = argv;
    sr.n_argv = 4;
    sr.env = envp;
    sr.n_env = 3;
    assert_int_equal(policy_check_spawn(p, &sr, err, sizeof(err)), 0);
    sr.n_argv = 5;
    assert_int_equal(policy_check_spawn(p, &sr, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_argv"));
    sr.n_argv = 1;
    sr.n_env = 4;
    assert_int_equal(policy_check_spawn(p, &sr, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "limits.max_env_entries"));
    policy_free(p);

    /* A policy limit above the built-in one does not raise it. */
    p = parse_ok("{\"limits\": {\"max_env_entries\": 100000, \"max_labels\": 100000}}", NULL);
    q = req_new("app", REQ_ENV_MAX, REQ_LABELS_MAX, 0);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), 0);
    free(q);
    q = req_new("app", REQ_ENV_MAX + 1, 0, 0);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    free(q);
    q = req_new("app", 0, REQ_LABELS_MAX + 1, 0);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    free(q);
    policy_free(p);
    /* Without a policy limit the built-in ones apply. */
    p = parse_ok(NULL, NULL);
    q = req_new("app", 0, 0, REQ_ARGV_MAX + 1);
    assert_int_equal(policy_check_boot(p, &q->r, &hc, NULL, err, sizeof(err)), FLAME_EINVALID);
    free(q);
    policy_free(p);
}

/*
 * Attack: flamed-init (--init-path) is one host file bound into every warm
 * runner. A policy whose allow.host_binds (top level or a pool's) is or holds
 * it lets any Boot of that pool bind it (or its directory) read-write and
 * replace it for every warm runner of every pool. flamed refuses to start
 * with such a policy and --pools; policy_host_binds_covering() names the
 * prefix.
 */
static void host_binds_covering_names_the_prefix_that_holds_a_path(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/fltest-secreview-XXXXXX", dir[PATH_MAX];
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(realpath(tmpl, dir));
    char data[PATH_MAX + 16], lib[PATH_MAX + 32], init[PATH_MAX + 48], other[PATH_MAX + 16];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(lib, sizeof(lib), "%s/lib", data);
    snprintf(init, sizeof(init), "%s/flamed-init", lib);
    snprintf(other, sizeof(other), "%s/other", dir);
    assert_int_equal(mkdir(data, 0755), 0);
    assert_int_equal(mkdir(lib, 0755), 0);
    assert_int_equal(mkdir(other, 0755), 0);
    FILE *f = fopen(init, "w");
    assert_non_null(f);
    fclose(f);
    struct policy *p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s\"]}}", data), NULL);
    const char *pool = NULL;
    const char *got = policy_host_binds_covering(p, init, &pool);
    assert_non_null(got);
    assert_string_equal(got, data);
    assert_null(pool);
    policy_free(p);
    p = parse_ok(fmt("{\"pools\": {\"gpu\": {\"allow\": {\"host_binds\": [\"%s\", \"%s\"]}}}}",
                     other, lib), NULL);
    got = policy_host_binds_covering(p, init, &pool);
    assert_non_null(got);
    assert_string_equal(got, lib);
    assert_string_equal(pool, "gpu");
    policy_free(p);
    p = parse_ok(fmt("{\"allow\": {\"host_binds\": [\"%s/\"]}}", other), NULL);
    assert_null(policy_host_binds_covering(p, init, &pool));
    policy_free(p);
    p = parse_ok(NULL, NULL);
    assert_null(policy_host_binds_covering(p, init, &pool));
    policy_free(p);
    unlink(init);
    rmdir(lib);
    rmdir(data);
    rmdir(other);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_policy_turns_every_switch_off),
        cmocka_unit_test(example_of_docs_security_md_parses),
        cmocka_unit_test(boolean_switches_parse_true_and_false),
        cmocka_unit_test(list_switches_parse_lists_of_names),
        cmocka_unit_test(capabilities_list_is_kept_in_one_spelling),
        cmocka_unit_test(seccomp_profiles_map_loads_each_profile),
        cmocka_unit_test(seccomp_profile_that_cannot_be_read_or_is_no_json_object_is_refused),
        cmocka_unit_test(unknown_keys_are_refused_in_every_section),
        cmocka_unit_test(repeated_keys_are_refused_in_every_section),
        cmocka_unit_test(repeated_seccomp_profile_name_is_refused),
        cmocka_unit_test(retired_switches_set_true_are_refused_naming_the_replacement),
        cmocka_unit_test(retired_switches_set_false_are_accepted_as_the_default),
        cmocka_unit_test(host_binds_prefixes_that_give_root_are_refused_at_load),
        cmocka_unit_test(host_binds_prefix_of_an_ordinary_directory_is_accepted_and_resolved),
        cmocka_unit_test(ceilings_ulimits_replace_the_built_in_ones),
        cmocka_unit_test(limits_max_depth_is_8_to_200),
        cmocka_unit_test(pools_parse_their_own_allow),
        cmocka_unit_test(other_parse_errors_name_the_field),
        cmocka_unit_test(load_reads_a_file_and_names_it_in_errors),
        cmocka_unit_test(switch_names_are_the_policy_file_keys),
        cmocka_unit_test(placement_needs_its_switch),
        cmocka_unit_test(image_matching),
        cmocka_unit_test(network_allowlist),
        cmocka_unit_test(every_switch_denies_by_default_and_allows_when_on),
        cmocka_unit_test(builtin_policy_allows_the_baseline),
        cmocka_unit_test(pool_override_applies_to_its_pool_only),
        cmocka_unit_test(cap_add_names_are_normalised_before_the_check),
        cmocka_unit_test(cap_names_that_are_no_capability_are_refused),
        cmocka_unit_test(cap_drop_is_allowed_and_normalised),
        cmocka_unit_test(security_opt_unconfined_forms_need_privileged),
        cmocka_unit_test(security_opt_inline_seccomp_json_is_denied),
        cmocka_unit_test(security_opt_seccomp_name_is_replaced_by_the_profile),
        cmocka_unit_test(security_opt_apparmor_profile_needs_its_name_listed),
        cmocka_unit_test(security_opt_other_forms_are_denied),
        cmocka_unit_test(bind_of_a_host_path_needs_host_binds),
        cmocka_unit_test(bind_under_a_prefix_is_allowed_and_outside_denied),
        cmocka_unit_test(bind_through_a_symlink_out_of_the_prefix_is_denied),
        cmocka_unit_test(bind_through_a_symlink_flamed_cannot_resolve_is_denied),
        cmocka_unit_test(bind_of_a_socket_or_device_under_the_prefix_is_denied),
        cmocka_unit_test(bind_of_the_docker_socket_is_denied_whatever_the_prefixes),
        cmocka_unit_test(docker_socket_that_appears_under_a_prefix_after_load_is_denied),
        cmocka_unit_test(bind_modes_that_relabel_or_propagate_are_denied),
        cmocka_unit_test(bind_mounts_follow_the_same_rules),
        cmocka_unit_test(volume_mount_driver_config_needs_volume_drivers),
        cmocka_unit_test(tmpfs_mount_options_are_bounded),
        cmocka_unit_test(ulimits_within_the_built_in_ceilings_are_allowed),
        cmocka_unit_test(ulimits_not_named_in_the_ceilings_are_denied),
        cmocka_unit_test(ulimits_must_be_ordered_limited_and_named_once),
        cmocka_unit_test(tmpfs_options_and_targets_are_bounded),
        cmocka_unit_test(sysctls_are_named_in_the_list_and_sent_dotted),
        cmocka_unit_test(fields_after_sysctls_are_still_bounded),
        cmocka_unit_test(masked_paths_even_empty_need_the_switch),
        cmocka_unit_test(runtime_and_log_driver_must_be_listed),
        cmocka_unit_test(defaults_and_ceilings),
        cmocka_unit_test(cpu_quota_and_period_are_denied_when_nano_cpus_has_a_ceiling),
        cmocka_unit_test(shm_size_has_its_own_ceiling),
        cmocka_unit_test(size_limits),
        cmocka_unit_test(host_binds_covering_names_the_prefix_that_holds_a_path),
    };
    return cmocka_run_group_tests_name("policy", tests, fx_setup, fx_teardown);
}
