/*
 * Unit tests: the Boot policy (service/policy.h) - parsing and its errors,
 * image matching, forbidden bind sources (with a fake socket behind a
 * symlinked directory, as /var/run -> /run), HostConfig denials, defaults and
 * ceilings, size limits. Pure: files only in a temp dir.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/policy.h"
#include "service/request.h"

/* ---------------------------------------------------------------- helpers */

static struct policy *parse_ok(const char *json, const char *sock)
{
    struct policy *p = NULL;
    char err[512] = "";
    int rc = policy_parse(&p, json, sock, err, sizeof(err));
    if (rc != 0)
        fail_msg("policy_parse(%s): %d %s", json ? json : "NULL", rc, err);
    assert_non_null(p);
    return p;
}

static void parse_fails(const char *json, const char *want)
{
    struct policy *p = NULL;
    char err[512] = "";
    int rc = policy_parse(&p, json, NULL, err, sizeof(err));
    if (rc != FLAME_EINVALID || !strstr(err, want))
        fail_msg("policy_parse(%s): rc %d, err \"%s\"; expected FLAME_EINVALID naming \"%s\"",
                 json, rc, err, want);
    assert_null(p);
}

/* A BootRequest with an image and optional env/labels/cmd counts. */
struct req {
    Flame__V1__BootRequest r;
    Flame__V1__BootRequest__EnvEntry env[2100], *envp[2100];
    Flame__V1__BootRequest__LabelsEntry lab[300], *labp[300];
    char *cmd[5000];
    char keys[2100][24];
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
        q->lab[i].key = "k";
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

/* policy_check_boot with JSON host_config/mounts (either may be NULL). err gets the message. */
static int check(const struct policy *p, const char *image, const char *hc_json,
                 const char *mounts_json, cJSON **hc_out, char *err, size_t errlen)
{
    struct req *q = req_new(image, 0, 0, 0);
    cJSON *hc = hc_json ? cJSON_Parse(hc_json) : NULL;
    cJSON *ms = mounts_json ? cJSON_Parse(mounts_json) : NULL;
    if (hc_json)
        assert_non_null(hc);
    if (mounts_json)
        assert_non_null(ms);
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

static void assert_denied(const struct policy *p, const char *hc, const char *mounts,
                          const char *rule)
{
    char err[512];
    int rc = check(p, "app", hc, mounts, NULL, err, sizeof(err));
    if (rc != FLAME_EPERM || !strstr(err, rule))
        fail_msg("host_config %s mounts %s: rc %d err \"%s\"; expected FLAME_EPERM naming %s",
                 hc ? hc : "-", mounts ? mounts : "-", rc, err, rule);
}

static void assert_allowed(const struct policy *p, const char *hc, const char *mounts)
{
    char err[512];
    int rc = check(p, "app", hc, mounts, NULL, err, sizeof(err));
    if (rc != 0)
        fail_msg("host_config %s mounts %s: rc %d err \"%s\"; expected allowed", hc ? hc : "-",
                 mounts ? mounts : "-", rc, err);
}

/* ---------------------------------------------------------------- parsing */

static void parse_builtin_and_full(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_null(p->images);
    assert_null(p->networks);
    assert_int_equal(p->allow.privileged, 0);
    assert_int_equal(p->allow.docker_socket, 0);
    assert_int_equal(p->allow.root_bind, 0);
    assert_string_equal(p->docker_socket, "/var/run/docker.sock");
    assert_int_equal(p->max_runners, 0);
    policy_free(p);

    p = parse_ok("{\"images\": [\"app:latest\", \"registry.example/team-*\"],"
                 " \"networks\": [\"appnet\"],"
                 " \"allow\": {\"privileged\": true, \"cap_add\": false, \"host_namespaces\": true,"
                 "  \"devices\": true, \"docker_socket\": true, \"root_bind\": true},"
                 " \"defaults\": {\"Memory\": 536870912, \"NanoCpus\": 1000000000, \"PidsLimit\": 512},"
                 " \"ceilings\": {\"Memory\": 4294967296, \"NanoCpus\": 4000000000, \"PidsLimit\": 4096},"
                 " \"quotas\": {\"max_runners\": 200, \"max_runners_per_pool\": 50},"
                 " \"limits\": {\"max_env_entries\": 256, \"max_env_bytes\": 131072, \"max_labels\": 64,"
                 "  \"max_argv\": 1024, \"max_request_bytes\": 4194304}}",
                 "/custom/docker.sock");
    assert_int_equal(p->n_images, 2);
    assert_string_equal(p->images[1], "registry.example/team-*");
    assert_int_equal(p->n_networks, 1);
    assert_int_equal(p->allow.privileged, 1);
    assert_int_equal(p->allow.cap_add, 0);
    assert_int_equal(p->allow.host_namespaces, 1);
    assert_int_equal(p->allow.devices, 1);
    assert_int_equal(p->allow.docker_socket, 1);
    assert_int_equal(p->allow.root_bind, 1);
    assert_int_equal(p->def_memory, 536870912);
    assert_int_equal(p->def_nano_cpus, 1000000000);
    assert_int_equal(p->def_pids, 512);
    assert_int_equal(p->max_memory, 4294967296LL);
    assert_int_equal(p->max_nano_cpus, 4000000000LL);
    assert_int_equal(p->max_pids, 4096);
    assert_int_equal(p->max_runners, 200);
    assert_int_equal(p->max_runners_per_pool, 50);
    assert_int_equal(p->max_env_entries, 256);
    assert_int_equal(p->max_env_bytes, 131072);
    assert_int_equal(p->max_labels, 64);
    assert_int_equal(p->max_argv, 1024);
    assert_int_equal(p->max_request_bytes, 4194304);
    assert_string_equal(p->docker_socket, "/custom/docker.sock");
    policy_free(p);

    /* Every field is optional; an empty object is the built-in policy. */
    p = parse_ok("{}", NULL);
    assert_null(p->images);
    policy_free(p);
    /* An empty allowlist allows nothing (it is not "no allowlist"). */
    p = parse_ok("{\"images\": []}", NULL);
    assert_int_equal(policy_image_allowed(p, "app"), 0);
    policy_free(p);
}

static void parse_errors_name_the_field(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"imagez\": []}", "\"imagez\""},
        {"{\"allow\": {\"privleged\": true}}", "allow.privleged"},
        {"{\"defaults\": {\"memory\": 1}}", "defaults.memory"},
        {"{\"ceilings\": {\"Cpus\": 1}}", "ceilings.Cpus"},
        {"{\"quotas\": {\"max\": 1}}", "quotas.max"},
        {"{\"limits\": {\"max_envs\": 1}}", "limits.max_envs"},
        {"{\"images\": \"app\"}", "images"},
        {"{\"images\": [1]}", "images"},
        {"{\"images\": [\"\"]}", "images"},
        {"{\"networks\": {}}", "networks"},
        {"{\"networks\": [null]}", "networks"},
        {"{\"allow\": {\"privileged\": \"yes\"}}", "allow.privileged"},
        {"{\"allow\": {\"root_bind\": 1}}", "allow.root_bind"},
        {"{\"allow\": true}", "allow"},
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

static void load_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/fltest-policy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[PATH_MAX], err[512];
    struct policy *p = NULL;

    snprintf(path, sizeof(path), "%s/none.json", dir);
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, path));

    snprintf(path, sizeof(path), "%s/ok.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"quotas\": {\"max_runners\": 3}}\n", f);
    fclose(f);
    assert_int_equal(policy_load(&p, path, "/x/docker.sock", err, sizeof(err)), 0);
    assert_int_equal(p->max_runners, 3);
    assert_string_equal(p->docker_socket, "/x/docker.sock");
    policy_free(p);
    p = NULL;

    snprintf(path, sizeof(path), "%s/bad.json", dir);
    f = fopen(path, "w");
    fputs("{\"allow\": {\"everything\": true}}", f);
    fclose(f);
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "allow.everything"));
    assert_null(p);
    unlink(path);

    /* Larger than 1 MiB: refused (whatever it holds). */
    snprintf(path, sizeof(path), "%s/big.json", dir);
    f = fopen(path, "w");
    fputs("{\"images\": [", f);
    for (int i = 0; i < 120000; i++)
        fputs("\"app:1\", ", f);
    fputs("\"app:2\"]}", f);
    fclose(f);
    assert_int_equal(policy_load(&p, path, NULL, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "1 MiB"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/ok.json", dir);
    unlink(path);
    rmdir(dir);
}

/* ---------------------------------------------------------------- images */

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
    char err[512];
    assert_int_equal(check(p, "apple", NULL, NULL, NULL, err, sizeof(err)), FLAME_EPERM);
    assert_non_null(strstr(err, "images allowlist"));
    assert_non_null(strstr(err, "apple"));
    assert_int_equal(check(p, "app", NULL, NULL, NULL, err, sizeof(err)), 0);
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

/* ---------------------------------------------------------------- host escapes */

struct fakefs {
    char dir[64];
    char sock[PATH_MAX];      /* <dir>/var/run/flamed-test.sock (var/run -> ../run) */
    char real_sock[PATH_MAX]; /* <dir>/run/flamed-test.sock */
};

/* <dir>/run/flamed-test.sock (a plain file: realpath needs no socket), <dir>/var/run -> ../run.
 * The name holds no "docker.sock", so only the path logic can catch it. */
static void fakefs_make(struct fakefs *fs)
{
    snprintf(fs->dir, sizeof(fs->dir), "/tmp/fltest-fakefs-XXXXXX");
    assert_non_null(mkdtemp(fs->dir));
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/run", fs->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/var", fs->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/var/run", fs->dir);
    assert_int_equal(symlink("../run", p), 0);
    snprintf(p, sizeof(p), "%s/other", fs->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(fs->real_sock, sizeof(fs->real_sock), "%s/run/flamed-test.sock", fs->dir);
    FILE *f = fopen(fs->real_sock, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(fs->sock, sizeof(fs->sock), "%s/var/run/flamed-test.sock", fs->dir);
}

static void fakefs_remove(struct fakefs *fs)
{
    char p[PATH_MAX];
    unlink(fs->real_sock);
    snprintf(p, sizeof(p), "%s/var/run", fs->dir);
    unlink(p);
    const char *dirs[] = {"var", "run", "other", ""};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", fs->dir, dirs[i]);
        rmdir(p);
    }
}

static void binds(const struct policy *p, const char *src, int allowed, const char *rule)
{
    char hc[PATH_MAX + 64];
    int n = snprintf(hc, sizeof(hc), "{\"Binds\": [\"%s:/mnt\"]}", src);
    assert_true(n > 0 && (size_t)n < sizeof(hc));
    if (allowed)
        assert_allowed(p, hc, NULL);
    else
        assert_denied(p, hc, NULL, rule);
}

static void forbidden_bind_sources(void **state)
{
    (void)state;
    struct fakefs fs;
    fakefs_make(&fs);
    struct policy *p = parse_ok(NULL, fs.sock);
    char s[2 * PATH_MAX + 256];
    const char *sock_rule = "allow.docker_socket", *root_rule = "allow.root_bind";

    binds(p, "/", 0, root_rule);
    binds(p, "//", 0, root_rule);
    binds(p, "/./", 0, root_rule);
    binds(p, "/fltest-no-such-dir/..", 0, root_rule);   /* Docker cleans it to "/" */
    binds(p, "/tmp/..", 0, root_rule);
    binds(p, fs.sock, 0, sock_rule);                     /* the socket, as configured */
    binds(p, fs.real_sock, 0, sock_rule);                /* ...and where it really is */
    snprintf(s, sizeof(s), "%s/var/run", fs.dir);        /* the symlinked directory */
    binds(p, s, 0, sock_rule);
    snprintf(s, sizeof(s), "%s/var/run/", fs.dir);
    binds(p, s, 0, sock_rule);
    snprintf(s, sizeof(s), "%s/run", fs.dir);            /* the real directory */
    binds(p, s, 0, sock_rule);
    snprintf(s, sizeof(s), "%s/var", fs.dir);            /* parents */
    binds(p, s, 0, sock_rule);
    binds(p, fs.dir, 0, sock_rule);
    binds(p, "/tmp", 0, sock_rule);
    snprintf(s, sizeof(s), "%s/run/no-such-dir/..", fs.dir); /* lexical ".." */
    binds(p, s, 0, sock_rule);
    snprintf(s, sizeof(s), "%s/other/../run/./flamed-test.sock", fs.dir);
    binds(p, s, 0, sock_rule);
    snprintf(s, sizeof(s), "%s//run//", fs.dir);
    binds(p, s, 0, sock_rule);

    /* Not the socket: siblings, a name that merely starts like it, named volumes. */
    snprintf(s, sizeof(s), "%s/other", fs.dir);
    binds(p, s, 1, NULL);
    snprintf(s, sizeof(s), "%s/runner", fs.dir);
    binds(p, s, 1, NULL);
    snprintf(s, sizeof(s), "%s/run/flamed-test.sock.d", fs.dir);
    binds(p, s, 1, NULL);
    snprintf(s, sizeof(s), "%s/run/no-such-dir", fs.dir);
    binds(p, s, 1, NULL);
    binds(p, "myvolume", 1, NULL);
    binds(p, "my.volume_2", 1, NULL);
    assert_allowed(p, "{\"Binds\": []}", NULL);

    /* The second of two binds is named. */
    snprintf(s, sizeof(s), "{\"Binds\": [\"%s/other:/a\", \"%s:/b:ro\"]}", fs.dir, fs.sock);
    assert_denied(p, s, NULL, "Binds[1]");

    /* Mounts: a bind's Source; a local volume whose device is a host path. */
    snprintf(s, sizeof(s), "[{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/s\"}]", fs.sock);
    assert_denied(p, NULL, s, sock_rule);
    assert_denied(p, NULL, "[{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/h\"}]", root_rule);
    snprintf(s, sizeof(s),
             "[{\"Type\": \"tmpfs\", \"Target\": \"/t\"}, {\"Type\": \"volume\", \"Source\": \"v\", "
             "\"Target\": \"/v\", \"VolumeOptions\": {\"DriverConfig\": {\"Name\": \"local\", "
             "\"Options\": {\"type\": \"none\", \"o\": \"bind\", \"device\": \"%s/run\"}}}}]",
             fs.dir);
    assert_denied(p, NULL, s, "mounts[1]");
    assert_denied(p, NULL,
                  "[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"VolumeOptions\": "
                  "{\"DriverConfig\": {\"Options\": {\"device\": \"/\"}}}}]",
                  root_rule);
    assert_allowed(p, NULL, "[{\"Type\": \"volume\", \"Source\": \"data\", \"Target\": \"/v\"}]");
    assert_allowed(p, NULL, "[{\"Type\": \"tmpfs\", \"Target\": \"/t\"}]");
    snprintf(s, sizeof(s), "[{\"Type\": \"bind\", \"Source\": \"%s/other\", \"Target\": \"/o\"}]",
             fs.dir);
    assert_allowed(p, NULL, s);
    policy_free(p);

    /* allow.docker_socket: the socket and its directories; "/" still needs root_bind. */
    p = parse_ok("{\"allow\": {\"docker_socket\": true}}", fs.sock);
    binds(p, fs.sock, 1, NULL);
    snprintf(s, sizeof(s), "%s/var/run", fs.dir);
    binds(p, s, 1, NULL);
    binds(p, "/", 0, root_rule);
    policy_free(p);
    /* allow.root_bind: "/" (the operator said so), the socket still denied. */
    p = parse_ok("{\"allow\": {\"root_bind\": true}}", fs.sock);
    binds(p, "/", 1, NULL);
    binds(p, fs.sock, 0, sock_rule);
    policy_free(p);

    /* The real Docker socket path by default, also behind the /var/run -> /run link. */
    p = parse_ok(NULL, NULL);
    binds(p, "/var/run/docker.sock", 0, sock_rule);
    binds(p, "/var/run", 0, sock_rule);
    binds(p, "/var", 0, sock_rule);
    struct stat sb;
    if (lstat("/var/run", &sb) == 0 && S_ISLNK(sb.st_mode) && stat("/var/run/docker.sock", &sb) == 0)
        binds(p, "/run", 0, sock_rule);
    policy_free(p);
    fakefs_remove(&fs);
}

static void host_config_denials(void **state)
{
    (void)state;
    struct policy *p = parse_ok(NULL, NULL);
    assert_denied(p, "{\"Privileged\": true}", NULL, "allow.privileged");
    assert_allowed(p, "{\"Privileged\": false}", NULL);
    assert_denied(p, "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, "allow.cap_add");
    assert_allowed(p, "{\"CapAdd\": [], \"CapDrop\": [\"ALL\"]}", NULL);
    static const char *const ns[] = {"PidMode", "IpcMode", "UsernsMode", "UTSMode", "CgroupnsMode"};
    for (size_t i = 0; i < 5; i++) {
        char hc[96];
        snprintf(hc, sizeof(hc), "{\"%s\": \"host\"}", ns[i]);
        assert_denied(p, hc, NULL, "allow.host_namespaces");
        assert_denied(p, hc, NULL, ns[i]);
        snprintf(hc, sizeof(hc), "{\"%s\": \"private\"}", ns[i]);
        assert_allowed(p, hc, NULL);
    }
    assert_denied(p, "{\"Devices\": [{\"PathOnHost\": \"/dev/sda\"}]}", NULL, "allow.devices");
    assert_denied(p, "{\"DeviceRequests\": [{\"Count\": -1}]}", NULL, "allow.devices");
    assert_denied(p, "{\"DeviceCgroupRules\": [\"c *:* rwm\"]}", NULL, "allow.devices");
    assert_allowed(p, "{\"Devices\": []}", NULL);
    static const char *const unconfined[] = {"seccomp=unconfined", "seccomp:unconfined",
                                             "apparmor=unconfined", "label=disable",
                                             "label:disable", "systempaths=unconfined"};
    for (size_t i = 0; i < sizeof(unconfined) / sizeof(unconfined[0]); i++) {
        char hc[128];
        snprintf(hc, sizeof(hc), "{\"SecurityOpt\": [\"no-new-privileges\", \"%s\"]}", unconfined[i]);
        assert_denied(p, hc, NULL, "SecurityOpt");
    }
    assert_allowed(p, "{\"SecurityOpt\": [\"no-new-privileges:true\"]}", NULL);
    policy_free(p);

    /* Each allow switch lifts its own denial only. */
    p = parse_ok("{\"allow\": {\"privileged\": true}}", NULL);
    assert_allowed(p, "{\"Privileged\": true, \"SecurityOpt\": [\"seccomp=unconfined\"]}", NULL);
    assert_denied(p, "{\"CapAdd\": [\"NET_ADMIN\"]}", NULL, "allow.cap_add");
    policy_free(p);
    p = parse_ok("{\"allow\": {\"cap_add\": true, \"host_namespaces\": true, \"devices\": true}}", NULL);
    assert_allowed(p, "{\"CapAdd\": [\"NET_ADMIN\"], \"PidMode\": \"host\", \"Devices\": "
                      "[{\"PathOnHost\": \"/dev/null\"}]}", NULL);
    assert_denied(p, "{\"Privileged\": true}", NULL, "allow.privileged");
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
    assert_int_equal(check(p, "app", NULL, NULL, &hc, err, sizeof(err)), 0);
    assert_non_null(hc);
    assert_int_equal(num(hc, "Memory"), 1000);
    assert_int_equal(num(hc, "NanoCpus"), 500);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    cJSON_Delete(hc);

    /* Absent, 0 (Docker's unlimited), PidsLimit -1 or 0: the default. Other fields kept. */
    assert_int_equal(check(p, "app", "{\"Memory\": 0, \"PidsLimit\": -1, \"CpuShares\": 7}", NULL,
                           &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 1000);
    assert_int_equal(num(hc, "NanoCpus"), 500);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    assert_int_equal(num(hc, "CpuShares"), 7);
    cJSON_Delete(hc);
    assert_int_equal(check(p, "app", "{\"PidsLimit\": 0}", NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "PidsLimit"), 64);
    cJSON_Delete(hc);

    /* Under or at the ceiling: kept. */
    assert_int_equal(check(p, "app", "{\"Memory\": 4000, \"NanoCpus\": 1500, \"PidsLimit\": 100}",
                           NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 4000);
    assert_int_equal(num(hc, "NanoCpus"), 1500);
    assert_int_equal(num(hc, "PidsLimit"), 100);
    cJSON_Delete(hc);

    /* Above: denied, naming the ceiling and the value. */
    static const char *const over[][2] = {
        {"{\"Memory\": 4001}", "ceilings.Memory"},
        {"{\"NanoCpus\": 2001}", "ceilings.NanoCpus"},
        {"{\"PidsLimit\": 257}", "ceilings.PidsLimit"},
    };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(check(p, "app", over[i][0], NULL, NULL, err, sizeof(err)), FLAME_EPERM);
        assert_non_null(strstr(err, over[i][1]));
    }
    assert_int_equal(check(p, "app", "{\"Memory\": 4001}", NULL, NULL, err, sizeof(err)), FLAME_EPERM);
    assert_non_null(strstr(err, "4001"));
    policy_free(p);

    /* Ceilings only: an unlimited request gets the ceiling. */
    p = parse_ok("{\"ceilings\": {\"Memory\": 4000, \"PidsLimit\": 256}}", NULL);
    assert_int_equal(check(p, "app", "{\"PidsLimit\": -1}", NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 4000);
    assert_int_equal(num(hc, "PidsLimit"), 256);
    assert_null(cJSON_GetObjectItemCaseSensitive(hc, "NanoCpus"));
    cJSON_Delete(hc);
    policy_free(p);

    /* Neither: nothing is added, and no HostConfig is invented. */
    p = parse_ok(NULL, NULL);
    assert_int_equal(check(p, "app", NULL, NULL, &hc, err, sizeof(err)), 0);
    assert_null(hc);
    assert_int_equal(check(p, "app", "{\"Memory\": 0}", NULL, &hc, err, sizeof(err)), 0);
    assert_int_equal(num(hc, "Memory"), 0);
    cJSON_Delete(hc);
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
    for (int i = 0; i < 4; i++) {
        flame__v1__spawn_request__env_entry__init(&env[i]);
        env[i].key = "K";
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_builtin_and_full),
        cmocka_unit_test(parse_errors_name_the_field),
        cmocka_unit_test(load_files),
        cmocka_unit_test(image_matching),
        cmocka_unit_test(network_allowlist),
        cmocka_unit_test(forbidden_bind_sources),
        cmocka_unit_test(host_config_denials),
        cmocka_unit_test(defaults_and_ceilings),
        cmocka_unit_test(size_limits),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
