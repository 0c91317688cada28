/*
 * The bad-input matrix: table-driven requests to Boot, Spawn, Shutdown, Watch
 * and List that flamed must refuse — empty, oversized and malformed fields,
 * wrong types in host_config, fields flamed owns, forbidden settings, unknown
 * runners, a runner in the wrong state, a missing network or image, a full
 * quota, undecodable messages — each with its gRPC status and its
 * flame-reason. Requests are built by hand (not through libflame, which
 * refuses some of them itself). After every Boot case and after the whole
 * matrix, Docker holds exactly the containers it held before.
 */
#include "harness_ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define M_BOOT "/flame.v1.RunnerService/Boot"
#define M_SPAWN "/flame.v1.RunnerService/Spawn"
#define M_SHUTDOWN "/flame.v1.RunnerService/Shutdown"
#define M_WATCH "/flame.v1.RunnerService/Watch"
#define M_LIST "/flame.v1.RunnerService/List"

#define INVALID(m) .code = GS_INVALID_ARGUMENT, .reason = "INVALID_REQUEST", .msg = (m)
#define WANT(c, r, m) .code = (c), .reason = (r), .msg = (m)
#define SWARM(c, r, m) .swarm_code = (c), .swarm_reason = (r), .swarm_msg = (m)

enum rpc { BOOT, SPAWN, SHUTDOWN, WATCH, LIST, RAW };

/* One case. Strings starting with '@' are placeholders filled in at run time (see subst). */
struct ecase {
    const char *name;
    enum rpc rpc;
    /* Boot (unset fields keep flx_boot_new's valid defaults) */
    const char *image, *network, *pool, *hc, *mount, *env_k, *env_v, *label_k, *working_dir,
        *user, *request_id;
    int n_env, n_labels, n_mounts, pull_policy, no_pull_default;
    uint32_t boot_timeout_ms, lease_ttl_ms;
    /* Spawn / Shutdown / Watch / List */
    const char *runner_id, *argv0, *spawn_env_k, *parent_id;
    int no_argv, n_argv;
    uint32_t timeout_ms;
    /* RAW: method and bytes */
    const char *method, *bytes;
    /* expected */
    int code;
    const char *reason, *msg;
    /* expected instead with --engine swarm (FLTEST_ENGINE=swarm), when it differs by
     * design (docs/engines.md, "Docker Swarm mode"); swarm_reason NULL: the same */
    int swarm_code;
    const char *swarm_reason, *swarm_msg;
};

static const struct ecase cases[] = {
    /* ---------------------------------------------------------------- Boot: fields */
    {"boot: empty image", BOOT, .image = "", INVALID("image is required")},
    {"boot: image with spaces", BOOT, .image = "flamed-test/app latest", INVALID("image")},
    {"boot: 300-character image", BOOT, .image = "@LONG300", INVALID("image")},
    {"boot: image with shell characters", BOOT, .image = "app;rm -rf /", INVALID("image")},
    {"boot: image starting with '-'", BOOT, .image = "-app", INVALID("image")},
    {"boot: network with a space", BOOT, .network = "bad network", INVALID("network")},
    {"boot: network starting with '.'", BOOT, .network = ".net", INVALID("network")},
    {"boot: 200-character network", BOOT, .network = "@LONG200", INVALID("network")},
    {"boot: pool with spaces and '!'", BOOT, .pool = "Bad Pool!", INVALID("pool")},
    {"boot: 64-character pool", BOOT, .pool = "@LONG64", INVALID("pool")},
    {"boot: pool starting with '-'", BOOT, .pool = "-pool", INVALID("pool")},
    {"boot: env key with '='", BOOT, .env_k = "A=B", .env_v = "1", INVALID("env key")},
    {"boot: empty env key", BOOT, .env_k = "", .env_v = "1", INVALID("env key")},
    {"boot: 2000 env entries", BOOT, .n_env = 2000, INVALID("2000 entries")},
    {"boot: label flamed.x", BOOT, .label_k = "flamed.x", INVALID("flamed.x")},
    {"boot: empty label key", BOOT, .label_k = "", INVALID("empty key")},
    {"boot: 300 labels", BOOT, .n_labels = 300, INVALID("labels has")},
    {"boot: boot_timeout_ms of an hour", BOOT, .boot_timeout_ms = 3600000, INVALID(
     "boot_timeout_ms")},
    {"boot: pull_policy 99", BOOT, .pull_policy = 99, INVALID("pull_policy 99")},
    {"boot: relative working_dir", BOOT, .working_dir = "app", INVALID("working_dir")},
    {"boot: 300-byte user", BOOT, .user = "@LONG300", INVALID("user")},
    {"boot: request_id with spaces", BOOT, .request_id = "my request", INVALID("request_id")},
    {"boot: lease_ttl_ms without parent_id", BOOT, .lease_ttl_ms = 5000, INVALID("parent_id")},
    /* ---------------------------------------------------------------- Boot: host_config */
    {"boot: Memory \"lots\"", BOOT, .hc = "{\"Memory\": \"lots\"}", INVALID("Memory")},
    {"boot: Privileged \"yes\"", BOOT, .hc = "{\"Privileged\": \"yes\"}", INVALID("Privileged")},
    {"boot: Ulimits {} (not an array)", BOOT, .hc = "{\"Ulimits\": {}}", INVALID("Ulimits")},
    {"boot: NanoCpus 1.5", BOOT, .hc = "{\"NanoCpus\": 1.5}", INVALID("NanoCpus")},
    {"boot: CapAdd a string", BOOT, .hc = "{\"CapAdd\": \"NET_ADMIN\"}", INVALID("CapAdd")},
    {"boot: unknown HostConfig field", BOOT, .hc = "{\"Bogus\": 1}", INVALID("Bogus")},
    {"boot: HostConfig nested 40 deep", BOOT, .hc = "@DEEP", INVALID("deeper than 32")},
    {"boot: host_config.Hostname", BOOT, .hc = "{\"Hostname\": \"x\"}", INVALID("Hostname")},
    {"boot: host_config.NetworkingConfig", BOOT, .hc = "{\"NetworkingConfig\": {}}", INVALID(
     "NetworkingConfig")},
    {"boot: host_config.NetworkMode", BOOT, .hc = "{\"NetworkMode\": \"host\"}", INVALID(
     "NetworkMode")},
    {"boot: host_config.Labels", BOOT, .hc = "{\"Labels\": {\"a\": \"b\"}}", INVALID("Labels")},
    {"boot: host_config.RestartPolicy", BOOT, .hc = "{\"RestartPolicy\": {\"Name\": \"always\"}}",
     INVALID("RestartPolicy")},
    {"boot: host_config.AutoRemove", BOOT, .hc = "{\"AutoRemove\": true}", INVALID("AutoRemove")},
    {"boot: host_config.Mounts", BOOT, .hc = "{\"Mounts\": []}", INVALID("Mounts")},
    /* ---------------------------------------------------------------- Boot: mounts */
    {"boot: mount without Target", BOOT, .mount = "{\"Type\": \"tmpfs\"}", INVALID("Target")},
    {"boot: mount with relative Target", BOOT, .mount = "{\"Type\": \"tmpfs\", \"Target\": \"data\"}",
     INVALID("absolute")},
    {"boot: mount Type \"weird\"", BOOT, .mount = "{\"Type\": \"weird\", \"Target\": \"/x\"}",
     INVALID("weird")},
    {"boot: mount without Type", BOOT, .mount = "{\"Target\": \"/x\"}", INVALID("Type")},
    {"boot: 65 mounts", BOOT, .n_mounts = 65, INVALID("mounts has 65")},
    /* ---------------------------------------------------------------- Boot: forbidden */
    {"boot: Binds of /", BOOT, .hc = "{\"Binds\": [\"/:/host\"]}", WANT(GS_PERMISSION_DENIED,
     "POLICY_DENIED", "allow.host_binds")},
    {"boot: Binds of the Docker socket", BOOT,
     .hc = "{\"Binds\": [\"/var/run/docker.sock:/var/run/docker.sock\"]}", WANT(GS_PERMISSION_DENIED,
     "POLICY_DENIED", "allow.host_binds")},
    {"boot: Privileged", BOOT, .hc = "{\"Privileged\": true}", WANT(GS_PERMISSION_DENIED,
     "POLICY_DENIED", "allow.privileged")},
    {"boot: PidMode host", BOOT, .hc = "{\"PidMode\": \"host\"}", WANT(GS_PERMISSION_DENIED,
     "POLICY_DENIED", "allow.host_namespaces")},
    /* ---------------------------------------------------------------- Boot: state of the world */
    {"boot: missing network", BOOT, .network = "@NONET", .pool = "@FREE", WANT(GS_FAILED_PRECONDITION,
     "NETWORK_NOT_FOUND", "docker network create")},
    {"boot: missing image, pull never", BOOT, .image = "@NOIMAGE", .pool = "@FREE",
     .pull_policy = 3, WANT(GS_NOT_FOUND, "IMAGE_NOT_FOUND", "fltest-no-such-image"),
     /* swarm: NEVER cannot be honoured (the node pulls by itself): refused */
     SWARM(GS_INVALID_ARGUMENT, "INVALID_REQUEST", "pull_policy NEVER")},
    {"boot: Memory under Docker's minimum", BOOT, .hc = "{\"Memory\": 1024}", .pool = "@FREE",
     WANT(GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "Docker")},
    {"boot: pool quota reached", BOOT, WANT(GS_RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED",
     "the limit is 1")},
    /* ---------------------------------------------------------------- Spawn */
    {"spawn: unknown runner", SPAWN, .runner_id = "0123456789abcdef", WANT(GS_NOT_FOUND,
     "RUNNER_NOT_FOUND", "0123456789abcdef")},
    {"spawn: runner id with '/'", SPAWN, .runner_id = "../../etc", INVALID("runner_id")},
    {"spawn: empty runner id", SPAWN, .runner_id = "", INVALID("runner_id is required")},
    {"spawn: 65-character runner id", SPAWN, .runner_id = "@LONG65", INVALID("too long")},
    {"spawn: no argv", SPAWN, .runner_id = "@RUNNING", .no_argv = 1, INVALID("argv is required")},
    {"spawn: empty argv[0]", SPAWN, .runner_id = "@RUNNING", .argv0 = "", INVALID("argv")},
    {"spawn: 5000 argv entries", SPAWN, .runner_id = "@RUNNING", .n_argv = 5000, INVALID("argv")},
    {"spawn: env key with '='", SPAWN, .runner_id = "@RUNNING", .spawn_env_k = "A=B", INVALID(
     "env key")},
    {"spawn: empty env key", SPAWN, .runner_id = "@RUNNING", .spawn_env_k = "", INVALID("env key")},
    {"spawn: relative working_dir", SPAWN, .runner_id = "@RUNNING", .working_dir = "tmp", INVALID(
     "working_dir")},
    {"spawn: runner not running (exited, kept)", SPAWN, .runner_id = "@EXITED",
     WANT(GS_FAILED_PRECONDITION, "RUNNER_NOT_RUNNING", "EXITED")},
    /* ---------------------------------------------------------------- Shutdown */
    {"shutdown: unknown runner", SHUTDOWN, .runner_id = "0123456789abcdef", WANT(GS_NOT_FOUND,
     "RUNNER_NOT_FOUND", "0123456789abcdef")},
    {"shutdown: runner id with a space", SHUTDOWN, .runner_id = "abc def", INVALID("runner_id")},
    {"shutdown: empty runner id", SHUTDOWN, .runner_id = "", INVALID("runner_id is required")},
    {"shutdown: timeout_ms over an hour", SHUTDOWN, .runner_id = "@RUNNING", .timeout_ms = 4000000,
     INVALID("one hour")},
    /* ---------------------------------------------------------------- Watch, List */
    {"watch: bad pool", WATCH, .pool = "Bad Pool", INVALID("pool")},
    {"watch: 64-character pool", WATCH, .pool = "@LONG64", INVALID("pool")},
    {"watch: runner id with '/'", WATCH, .runner_id = "../x", INVALID("runner_id")},
    {"watch: parent_id with spaces", WATCH, .parent_id = "my parent", INVALID("parent_id")},
    {"list: bad pool", LIST, .pool = "no/slashes", INVALID("pool")},
    {"list: 64-character pool", LIST, .pool = "@LONG64", INVALID("pool")},
    /* ---------------------------------------------------------------- undecodable messages */
    {"boot: bytes that are no BootRequest", RAW, .method = M_BOOT, .bytes = "\xff\xff\xff\xff",
     WANT(GS_INVALID_ARGUMENT, "BAD_REQUEST", "BootRequest")},
    {"spawn: bytes that are no SpawnRequest", RAW, .method = M_SPAWN, .bytes = "\x0a\x7f" "abc",
     WANT(GS_INVALID_ARGUMENT, "BAD_REQUEST", "SpawnRequest")},
    {"list: bytes that are no ListRequest", RAW, .method = M_LIST, .bytes = "\x0a\x05" "ab",
     WANT(GS_INVALID_ARGUMENT, "BAD_REQUEST", "ListRequest")},
};

/* The world the cases refer to. */
struct world {
    char running[40];   /* a RUNNING runner in e->pool (so e->pool is at its quota of 1) */
    char exited[40];    /* a kept runner that exited, in another pool */
    char exited_cid[80];
    char free_pool[64]; /* a pool with no runner */
    char nonet[64], noimage[96];
    char long300[301], long200[201], long65[66], long64[65];
    char deep[1024];
};

static const char *subst(fl_env *e, struct world *w, const char *s)
{
    (void)e;
    if (!s || s[0] != '@')
        return s;
    if (!strcmp(s, "@RUNNING"))
        return w->running;
    if (!strcmp(s, "@EXITED"))
        return w->exited;
    if (!strcmp(s, "@FREE"))
        return w->free_pool;
    if (!strcmp(s, "@NONET"))
        return w->nonet;
    if (!strcmp(s, "@NOIMAGE"))
        return w->noimage;
    if (!strcmp(s, "@LONG300"))
        return w->long300;
    if (!strcmp(s, "@LONG200"))
        return w->long200;
    if (!strcmp(s, "@LONG65"))
        return w->long65;
    if (!strcmp(s, "@LONG64"))
        return w->long64;
    if (!strcmp(s, "@DEEP"))
        return w->deep;
    fail_msg("unknown placeholder %s", s);
    return NULL;
}

static int run_boot(fl_env *e, struct world *w, const struct ecase *c, flame_status *st)
{
    flx_boot *b = flx_boot_new(e);
    if (c->image)
        b->req.image = (char *)subst(e, w, c->image);
    if (c->network)
        b->req.network = (char *)subst(e, w, c->network);
    if (c->pool)
        b->req.pool = (char *)subst(e, w, c->pool);
    if (c->hc)
        flx_boot_host_config(b, subst(e, w, c->hc));
    if (c->mount)
        flx_boot_mount(b, c->mount);
    if (c->env_k)
        flx_boot_env(b, c->env_k, c->env_v);
    if (c->label_k)
        flx_boot_label(b, c->label_k, "v");
    if (c->working_dir)
        b->req.working_dir = (char *)c->working_dir;
    if (c->user)
        b->req.user = (char *)subst(e, w, c->user);
    if (c->request_id)
        b->req.request_id = (char *)c->request_id;
    char k[32];
    for (int i = 0; i < c->n_env; i++) {
        snprintf(k, sizeof(k), "K%d", i);
        flx_boot_env(b, k, "v");
    }
    for (int i = 0; i < c->n_labels; i++) {
        snprintf(k, sizeof(k), "fltest.l%d", i);
        flx_boot_label(b, k, "v");
    }
    for (int i = 0; i < c->n_mounts; i++) {
        char m[96];
        snprintf(m, sizeof(m), "{\"Type\": \"tmpfs\", \"Target\": \"/t%d\"}", i);
        flx_boot_mount(b, m);
    }
    if (c->pull_policy)
        b->req.pull_policy = (Flame__V1__PullPolicy)c->pull_policy;
    if (c->boot_timeout_ms)
        b->req.boot_timeout_ms = c->boot_timeout_ms;
    if (c->lease_ttl_ms)
        b->req.lease_ttl_ms = c->lease_ttl_ms;
    char id[40];
    int code = flx_boot_call(e, &(flx_target){.timeout_ms = 60000}, b, id, sizeof(id), st);
    flx_boot_free(b);
    return code;
}

static int run_spawn(fl_env *e, struct world *w, const struct ecase *c, flame_status *st)
{
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    req.runner_id = (char *)subst(e, w, c->runner_id);
    char *argv_default[] = {"true"};
    char *argv_one[1];
    char **many = NULL;
    if (c->n_argv) {
        many = calloc((size_t)c->n_argv, sizeof(char *));
        assert_non_null(many);
        for (int i = 0; i < c->n_argv; i++)
            many[i] = "x";
        req.argv = many;
        req.n_argv = (size_t)c->n_argv;
    } else if (c->argv0) {
        argv_one[0] = (char *)c->argv0;
        req.argv = argv_one;
        req.n_argv = 1;
    } else if (!c->no_argv) {
        req.argv = argv_default;
        req.n_argv = 1;
    }
    Flame__V1__SpawnRequest__EnvEntry env = FLAME__V1__SPAWN_REQUEST__ENV_ENTRY__INIT;
    Flame__V1__SpawnRequest__EnvEntry *envp[] = {&env};
    if (c->spawn_env_k) {
        env.key = (char *)c->spawn_env_k;
        env.value = "v";
        req.env = envp;
        req.n_env = 1;
    }
    if (c->working_dir)
        req.working_dir = (char *)c->working_dir;
    int code = flx_unary(e, &(flx_target){.timeout_ms = 30000}, M_SPAWN, &req.base, NULL, NULL, st);
    free(many);
    return code;
}

static int run_one(fl_env *e, struct world *w, const struct ecase *c, flame_status *st)
{
    switch (c->rpc) {
    case BOOT:
        return run_boot(e, w, c, st);
    case SPAWN:
        return run_spawn(e, w, c, st);
    case SHUTDOWN: {
        Flame__V1__ShutdownRequest req = FLAME__V1__SHUTDOWN_REQUEST__INIT;
        req.runner_id = (char *)subst(e, w, c->runner_id);
        req.timeout_ms = c->timeout_ms;
        return flx_unary(e, &(flx_target){.timeout_ms = 30000}, M_SHUTDOWN, &req.base, NULL, NULL,
                         st);
    }
    case WATCH: {
        Flame__V1__WatchRequest req = FLAME__V1__WATCH_REQUEST__INIT;
        req.pool = (char *)subst(e, w, c->pool);
        req.runner_id = (char *)subst(e, w, c->runner_id);
        req.parent_id = (char *)c->parent_id;
        /* A valid Watch would stream until the deadline: a short one. */
        return flx_unary(e, &(flx_target){.timeout_ms = 10000}, M_WATCH, &req.base, NULL, NULL, st);
    }
    case LIST: {
        Flame__V1__ListRequest req = FLAME__V1__LIST_REQUEST__INIT;
        req.pool = (char *)subst(e, w, c->pool);
        return flx_unary(e, &(flx_target){.timeout_ms = 30000}, M_LIST, &req.base, NULL, NULL, st);
    }
    case RAW:
        return flx_call(e, &(flx_target){.timeout_ms = 30000}, c->method, c->bytes,
                        strlen(c->bytes), NULL, NULL, NULL, st);
    }
    return -1;
}

static void make_world(fl_env *e, struct world *w)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->free_pool, sizeof(w->free_pool), "%s-free", e->pool);
    snprintf(w->nonet, sizeof(w->nonet), "fltest-nonet-%d", (int)getpid());
    snprintf(w->noimage, sizeof(w->noimage), "flamed-test/fltest-no-such-image-%d:latest",
             (int)getpid());
    memset(w->long300, 'a', 300);
    memset(w->long200, 'n', 200);
    memset(w->long65, 'a', 65);
    memset(w->long64, 'p', 64);
    /* {"Bogus": {"a": {"a": ... 1 ...}}}, 40 objects deep */
    size_t o = 0;
    o += (size_t)snprintf(w->deep + o, sizeof(w->deep) - o, "{\"Bogus\": ");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(w->deep + o, sizeof(w->deep) - o, "{\"a\": ");
    o += (size_t)snprintf(w->deep + o, sizeof(w->deep) - o, "1");
    for (int i = 0; i < 41; i++)
        o += (size_t)snprintf(w->deep + o, sizeof(w->deep) - o, "}");

    /* A running runner, which fills e->pool's quota of 1. */
    flx_boot *b = flx_boot_new(e);
    flame_status st;
    int code = flx_boot_call(e, NULL, b, w->running, sizeof(w->running), &st);
    flx_boot_free(b);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);

    /* A kept runner whose command exits by itself after a moment. */
    char pool_x[64];
    snprintf(pool_x, sizeof(pool_x), "%s-x", e->pool);
    const char *cmd[] = {"sh", "-c", "sleep 2", NULL};
    const char *labels[] = {e->run_label, NULL};
    flame_boot_request req = {.image = FL_IMAGE_BUSYBOX, .network = e->network, .pool = pool_x,
                              .cmd = cmd, .labels = labels, .keep_runner = 1,
                              .boot_timeout_ms = 60000};
    flame_runner *r = fl_boot(e, &req);
    snprintf(w->exited, sizeof(w->exited), "%s", r->id);
    snprintf(w->exited_cid, sizeof(w->exited_cid), "%s", r->container_id);
    flame_runner_free(r);
    int64_t until = fl_now_ms() + 20000;
    for (;;) {
        flame_runner **rs = NULL;
        size_t n = 0;
        int state = 0;
        assert_int_equal(flame_client_list(e->client, pool_x, &rs, &n, &st), 0);
        for (size_t i = 0; i < n; i++)
            if (strcmp(rs[i]->id, w->exited) == 0)
                state = rs[i]->state;
        flame_runner_list_free(rs, n);
        if (state == FLAME_RUNNER_EXITED)
            break;
        if (fl_now_ms() >= until)
            fail_msg("the kept runner did not become EXITED within 20 s (state %d)", state);
        fl_sleep_ms(100);
    }
}

static void errors_bad_input_matrix(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    const char *path = flx_write(e0, "policy.json", "{\"quotas\": {\"max_runners_per_pool\": 1}}");
    const char *args[] = {"--policy", path, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
    struct world w;
    make_world(e, &w);
    const int n_before = flx_count_managed(e);
    assert_int_equal(n_before, 2);

    size_t n = sizeof(cases) / sizeof(cases[0]);
    assert_true(n >= 40);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct ecase cs = cases[i];
        const struct ecase *c = &cs;
        if (fl_engine_is_swarm() && cs.swarm_reason) {
            cs.code = cs.swarm_code;
            cs.reason = cs.swarm_reason;
            cs.msg = cs.swarm_msg;
        }
        flame_status st;
        int64_t t0 = fl_now_ms();
        int code = run_one(e, &w, c, &st);
        int64_t took = fl_now_ms() - t0;
        int bad = code != c->code || st.code != c->code || strcmp(st.reason, c->reason) != 0 ||
                  (c->msg && !strstr(st.message, c->msg));
        if (bad) {
            print_error("case %zu \"%s\": expected %s reason=%s message~\"%s\"; got %s reason=%s "
                        "message=\"%s\"\n",
                        i, c->name, flame_grpc_status_name(c->code), c->reason,
                        c->msg ? c->msg : "", flame_grpc_status_name(code),
                        st.reason[0] ? st.reason : "\"\"", st.message);
            failed++;
        }
        if (!st.message[0]) {
            print_error("case %zu \"%s\": no message for a person to act on\n", i, c->name);
            failed++;
        }
        if (took > 10000) {
            print_error("case %zu \"%s\": took %lld ms\n", i, c->name, (long long)took);
            failed++;
        }
        if (c->rpc == BOOT || c->rpc == RAW) {
            /* Docker-side refusals may answer while the reaper is still removing. */
            int64_t until = fl_now_ms() + 5000;
            int k;
            while ((k = flx_count_managed(e)) != n_before && fl_now_ms() < until)
                fl_sleep_ms(50);
            if (k != n_before) {
                print_error("case %zu \"%s\": %d flamed containers afterwards, expected %d\n", i,
                            c->name, k, n_before);
                failed++;
            }
        }
    }
    print_message("%zu bad-input cases run, %d failed\n", n, failed);
    assert_int_equal(failed, 0);

    /* The matrix left the runners it found as they were. */
    flx_assert_managed(e, n_before, "after the whole matrix");
    flame_runner **rs = NULL;
    size_t nr = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &nr, &st), 0);
    assert_int_equal(nr, 1);
    assert_string_equal(rs[0]->id, w.running);
    assert_int_equal(rs[0]->state, FLAME_RUNNER_RUNNING);
    flame_runner_list_free(rs, nr);

    /* Clean up, and check that nothing at all is left. */
    fl_shutdown(e, w.running);
    fl_shutdown(e, w.exited); /* kept: flamed leaves the container */
    assert_int_equal(fl_remove_container(e, w.exited_cid), 0);
    flx_wait_managed(e, 0, 10000, "after the cleanup");
    flx_pass(e);
}

/* An unknown method (or service) is UNIMPLEMENTED at once, without a body. */
static void errors_unknown_method_is_unimplemented_at_once(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    const char *methods[] = {"/flame.v1.RunnerService/Nope", "/flame.v1.NoSuchService/Boot",
                             "/grpc.health.v1.Health/List", "/nonsense"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        flame_status st;
        int64_t t0 = fl_now_ms();
        int code = flx_call(e, &(flx_target){.timeout_ms = 10000}, methods[i], "", 0, NULL, NULL,
                            NULL, &st);
        int64_t took = fl_now_ms() - t0;
        if (code != GS_UNIMPLEMENTED)
            print_error("method %s\n", methods[i]);
        flx_assert_st(code, &st, GS_UNIMPLEMENTED, NULL, NULL);
        assert_true(took < 2000);
    }
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLX_UNIT(errors_bad_input_matrix),
        FLX_UNIT(errors_unknown_method_is_unimplemented_at_once),
    };
    return FL_RUN("errors", tests);
}
