/*
 * Bearer-token auth and tenancy against the real flamed (--auth-tokens):
 * missing, wrong and malformed tokens are UNAUTHENTICATED on every RPC;
 * health stays open unless --auth-health; a token scoped to pools boots only
 * there, sees only its pools' runners in List and Watch, and gets NOT_FOUND
 * (worded as for an unknown id) for another pool's runner; audit lines name
 * the caller and never hold a secret. Two authorization headers are
 * UNAUTHENTICATED even when one is valid; a Boot's request_id is an
 * idempotency key within its pool only.
 */
#include "harness_ext.h"

#include <stdlib.h>
#include <string.h>

#define LIST "/flame.v1.RunnerService/List"
#define UNKNOWN_ID "0123456789abcdef"

/* A secret nothing else in the log could contain. */
static void make_secret(char *out, size_t outlen, const char *who)
{
    char u[24];
    fl_unique(u, sizeof(u));
    snprintf(out, outlen, "S3cr3t%sQ%sZ9xK7wP4", who, u);
}

static int raw_list(fl_env *e, const flx_target *t, flame_status *st)
{
    Flame__V1__ListRequest req = FLAME__V1__LIST_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code = flx_unary(e, t, LIST, &req.base, &flame__v1__list_response__descriptor, &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* grpc.reflection.v1 list_services (field 7, empty string): one request, then close. */
static int raw_reflection_list(fl_env *e, const flx_target *t, size_t *n_msgs, flame_status *st)
{
    static const unsigned char req[] = {0x3a, 0x00};
    return flx_call(e, t, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", req,
                    sizeof(req), NULL, NULL, n_msgs, st);
}

static void assert_log_lacks(fl_env *e, const char *secret)
{
    char *log = flx_log(e);
    const char *hit = strstr(log, secret);
    if (hit) {
        const char *from = hit - log > 200 ? hit - 200 : log;
        print_error("flamed's log holds a secret:\n...%.400s...\n", from);
        free(log);
        fail_msg("secret found in flamed's log");
    }
    free(log);
}

static void assert_log_has(fl_env *e, const char *needle)
{
    char *log = flx_log(e);
    if (!strstr(log, needle)) {
        print_error("flamed's log lacks: %s\n", needle);
        free(log);
        fail_msg("expected log line missing");
    }
    free(log);
}

static int count_pool(flame_runner **rs, size_t n, const char *pool)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(rs[i]->pool, pool) == 0;
    return k;
}

#define MAX_SEEN 64
struct seen {
    size_t n;
    char pool[MAX_SEEN][72];
    char id[MAX_SEEN][40];
    int type[MAX_SEEN];
};

static int collect(void *ud, const flame_event *ev)
{
    struct seen *s = ud;
    if (ev->runner && s->n < MAX_SEEN) {
        snprintf(s->pool[s->n], sizeof(s->pool[0]), "%s", ev->runner->pool);
        snprintf(s->id[s->n], sizeof(s->id[0]), "%s", ev->runner->id);
        s->type[s->n] = ev->type;
        s->n++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------- tokens */

static void auth_missing_wrong_and_right_tokens(void **state)
{
    char admin[96], tokens[256];
    make_secret(admin, sizeof(admin), "adm");
    fl_env *e0 = *state;
    snprintf(tokens, sizeof(tokens), "# flamed tokens\n\nadmin:%s\n", admin);
    const char *path = flx_write(e0, "tokens", tokens);
    const char *args[] = {"--auth-tokens", path, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args, .token = admin});
    flame_status st;

    /* Missing, wrong (same length, last byte differs), prefix, longer, other scheme. */
    char wrong[96], prefix[32], longer[112], basic[128], lower[128], spaces[128];
    snprintf(wrong, sizeof(wrong), "%s", admin);
    wrong[strlen(wrong) - 1] ^= 1;
    snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(admin) - 3, admin);
    snprintf(longer, sizeof(longer), "%sx", admin);
    snprintf(basic, sizeof(basic), "Basic %s", admin);
    snprintf(lower, sizeof(lower), "bearer %s", admin);
    snprintf(spaces, sizeof(spaces), "Bearer   %s", admin);
    const flx_target bad[] = {
        {.token = NULL},     {.token = wrong},          {.token = prefix},
        {.token = longer},   {.authorization = basic},  {.authorization = admin},
        {.authorization = "Bearer "},                   {.authorization = ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int code = raw_list(e, &bad[i], &st);
        if (code != GS_UNAUTHENTICATED)
            print_error("bad authorization case %zu\n", i);
        flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", "bearer token");
    }
    int code = raw_list(e, &(flx_target){.token = admin}, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    /* The scheme is case-insensitive (RFC 7235); extra spaces after it are tolerated. */
    code = raw_list(e, &(flx_target){.authorization = lower}, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    code = raw_list(e, &(flx_target){.authorization = spaces}, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);

    /* Every RPC, through libflame without a token. */
    int before = flx_count_managed(e);
    flame_client *anon = flx_client(e, NULL);
    flame_client *bad_c = flx_client(e, wrong);
    flame_client *clients[] = {anon, bad_c};
    for (size_t i = 0; i < 2; i++) {
        flame_client *c = clients[i];
        flame_boot_request breq;
        fl_boot_req_init(e, &breq);
        flame_runner *r = NULL;
        int rc = flame_client_boot(c, &breq, &r, &st);
        flame_runner_free(r);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
        assert_int_equal(rc, FLAME_EUNAUTH);

        const char *argv[] = {"true", NULL};
        flame_spawn_request sreq = {.runner_id = UNKNOWN_ID, .argv = argv};
        int exit_code = -1;
        flame_client_spawn(c, &sreq, NULL, &exit_code, &st);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);

        flame_client_shutdown(c, UNKNOWN_ID, 0, NULL, &st);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);

        flame_logs_request lreq = {.runner_id = UNKNOWN_ID};
        flame_client_logs(c, &lreq, NULL, &st);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);

        flame_runner **rs = NULL;
        size_t n = 0;
        flame_client_list(c, NULL, &rs, &n, &st);
        flame_runner_list_free(rs, n);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);

        flame_watch_request wreq = {.include_existing = 1, .timeout_ms = 5000};
        struct seen dummy;
        memset(&dummy, 0, sizeof(dummy));
        flame_client_watch(c, &wreq, collect, &dummy, &st);
        flx_assert_st(st.code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
    }
    flx_assert_managed(e, before, "after unauthenticated Boots");

    /* Reflection is not open either. */
    size_t n_msgs = 0;
    code = raw_reflection_list(e, NULL, &n_msgs, &st);
    flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
    assert_int_equal(n_msgs, 0);
    code = raw_reflection_list(e, &(flx_target){.token = admin}, &n_msgs, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    assert_int_equal(n_msgs, 1);

    /* With the right token, a full Boot / Spawn / Shutdown. */
    flame_runner *r = fl_boot_default(e, NULL);
    fl_output o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(fl_spawn_sh(e, r->id, "echo authorised", &o), 0);
    assert_string_equal(o.out, "authorised\n");
    fl_output_free(&o);
    fl_shutdown(e, r->id);
    flame_runner_free(r);

    assert_log_lacks(e, admin);
    assert_log_lacks(e, wrong);
    assert_log_lacks(e, prefix);
    assert_log_has(e, "msg=audit rpc=Boot caller=\"admin\" via=token");
    flx_pass(e);
}

static void auth_health_open_by_default_closed_with_auth_health(void **state)
{
    char admin[96], tokens[256];
    make_secret(admin, sizeof(admin), "adm");
    snprintf(tokens, sizeof(tokens), "admin:%s\n", admin);
    const char *path = flx_write(*state, "tokens", tokens);
    const char *args[] = {"--auth-tokens", path, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args, .token = admin});
    flame_status st;
    int serving = -1;

    int code = flx_health_check(e, NULL, NULL, &serving, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    assert_int_equal(serving, 1 /* SERVING */);
    code = flx_health_check(e, NULL, "flame.v1.RunnerService", &serving, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    assert_int_equal(serving, 1);
    /* A wrong token does not close the open health service either. */
    code = flx_health_check(e, &(flx_target){.token = "not-a-real-token-at-all"}, NULL, &serving, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    code = flx_health_check(e, NULL, "no.such.Service", &serving, &st);
    flx_assert_st(code, &st, GS_NOT_FOUND, "SERVICE_UNKNOWN", NULL);

    const char *args2[] = {"--auth-tokens", path, "--auth-health", NULL};
    flx_flamed_restart(e, &(flx_flamed){.args = args2, .token = admin});
    code = flx_health_check(e, NULL, NULL, &serving, &st);
    flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
    code = flx_health_check(e, &(flx_target){.token = "not-a-real-token-at-all"}, NULL, &serving,
                            &st);
    flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED", NULL);
    serving = -1;
    code = flx_health_check(e, &(flx_target){.token = admin}, NULL, &serving, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    assert_int_equal(serving, 1);
    flx_pass(e);
}

static void auth_tokens_file_errors_stop_flamed_at_start(void **state)
{
    fl_env *e = *state;
    FL_SKIP_IF_NO_DOCKER(e);
    static const struct {
        const char *content, *want;
    } cases[] = {
        {"admin\n", ":1:"},
        {"admin:short\n", ":1:"},                             /* under 16 characters */
        {"# only a comment\n\n", "no token"},
        {"a:aaaaaaaaaaaaaaaaaaaa\na:bbbbbbbbbbbbbbbbbbbbbb\n", "used twice"},
        {"a:aaaaaaaaaaaaaaaaaaaa:\n", ":1:"},                 /* pool list empty */
        {":aaaaaaaaaaaaaaaaaaaa\n", ":1:"},                   /* no name */
    };
    char sock[160];
    snprintf(sock, sizeof(sock), "unix:/tmp/%s-bad.sock", e->tag);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "tokens-%zu", i);
        const char *path = flx_write(e, name, cases[i].content);
        const char *args[] = {"--listen", sock, "--auth-tokens", path, NULL};
        char *out = NULL;
        int code = flx_flamed_run(args, &out, 10000);
        if (code == 0 || code == -1) {
            print_error("tokens file %zu: flamed exited %d:\n%s\n", i, code, out);
            free(out);
            fail();
        }
        fl_assert_contains(out, cases[i].want);
        /* The error names the line, never the secret. */
        assert_null(strstr(out, "aaaaaaaaaaaaaaaaaaaa"));
        free(out);
    }
    const char *args[] = {"--listen", sock, "--auth-tokens", "/nonexistent/fltest-tokens", NULL};
    char *out = NULL;
    int code = flx_flamed_run(args, &out, 10000);
    assert_true(code > 0);
    fl_assert_contains(out, "/nonexistent/fltest-tokens");
    free(out);
    flx_pass(e);
}

static void auth_two_authorization_headers_are_unauthenticated(void **state)
{
    char admin[96], alice[96], tokens[256], a_admin[128], a_alice[128];
    make_secret(admin, sizeof(admin), "adm");
    make_secret(alice, sizeof(alice), "ali");
    snprintf(tokens, sizeof(tokens), "admin:%s\nalice:%s\n", admin, alice);
    const char *path = flx_write(*state, "tokens", tokens);
    const char *args[] = {"--auth-tokens", path, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args, .token = admin});
    snprintf(a_admin, sizeof(a_admin), "Bearer %s", admin);
    snprintf(a_alice, sizeof(a_alice), "Bearer %s", alice);
    Flame__V1__ListRequest list = FLAME__V1__LIST_REQUEST__INIT;
    uint8_t req[64];
    size_t len = protobuf_c_message_pack(&list.base, req);
    flame_status st;

    /* One valid header: OK. Two, whichever order, valid or not: refused. */
    const char *const one[][2] = {{"authorization", a_admin}};
    int code = flx_call_md(e, LIST, one, 1, req, len, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    const char *const twice[][2] = {{"authorization", a_admin}, {"authorization", a_admin}};
    const char *const two_tokens[][2] = {{"authorization", a_alice}, {"authorization", a_admin}};
    const char *const valid_first[][2] = {{"authorization", a_admin}, {"authorization", "Bearer x"}};
    const char *const valid_last[][2] = {{"authorization", "Bearer x"}, {"authorization", a_admin}};
    const char *const (*const cases[])[2] = {twice, two_tokens, valid_first, valid_last};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        code = flx_call_md(e, LIST, cases[i], 2, req, len, &st);
        if (code != GS_UNAUTHENTICATED)
            print_error("two authorization headers, case %zu\n", i);
        flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED",
                      "more than one authorization header");
    }
    /* A Boot with two headers creates nothing. */
    flx_boot *b = flx_boot_new(e);
    size_t blen = protobuf_c_message_get_packed_size(&b->req.base);
    uint8_t *breq = malloc(blen);
    assert_non_null(breq);
    protobuf_c_message_pack(&b->req.base, breq);
    code = flx_call_md(e, "/flame.v1.RunnerService/Boot", two_tokens, 2, breq, blen, &st);
    flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED",
                  "more than one authorization header");
    free(breq);
    flx_boot_free(b);
    flx_assert_managed(e, 0, "after a Boot with two authorization headers");
    /* Health is open to callers without a token, not to callers with two. */
    uint8_t hreq[1] = {0};
    code = flx_call_md(e, "/grpc.health.v1.Health/Check", twice, 2, hreq, 0, &st);
    flx_assert_st(code, &st, GS_UNAUTHENTICATED, "UNAUTHENTICATED",
                  "more than one authorization header");
    code = flx_call_md(e, "/grpc.health.v1.Health/Check", one, 0, hreq, 0, &st);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
    assert_log_lacks(e, admin);
    assert_log_lacks(e, alice);
    flx_pass(e);
}

/* ------------------------------------------------------------------------------- tenancy */

/* Replace every occurrence of id in msg by "<id>". */
static void shape(const char *msg, const char *id, char *out, size_t outlen)
{
    size_t o = 0, idl = strlen(id);
    for (const char *p = msg; *p && o + 5 < outlen;) {
        if (strncmp(p, id, idl) == 0) {
            memcpy(out + o, "<id>", 4);
            o += 4;
            p += idl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* An empty stdin for SpawnStream. */
static ssize_t no_input(void *ud, void *buf, size_t len)
{
    (void)ud, (void)buf, (void)len;
    return 0;
}

static void auth_pool_scoped_token_tenancy(void **state)
{
    fl_env *e0 = *state;
    char admin[96], alice[96], tokens[512], pool_b[64];
    make_secret(admin, sizeof(admin), "adm");
    make_secret(alice, sizeof(alice), "ali");
    snprintf(pool_b, sizeof(pool_b), "%s-b", e0->tag);
    /* alice may use the test's pool and one that never gets a runner. */
    snprintf(tokens, sizeof(tokens), "admin:%s\nalice:%s:%s, %s-unused\n", admin, alice, e0->pool,
             e0->tag);
    const char *path = flx_write(e0, "tokens", tokens);
    const char *args[] = {"--auth-tokens", path, NULL};
    /* e->client is alice's: the harness's watchers and probes then run as alice. */
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args, .token = alice});
    flame_client *adm = flx_client(e, admin);
    flame_status st;

    /* admin boots into pool B; alice into her pool. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.pool = pool_b;
    flame_runner *rb = NULL;
    int rc = flame_client_boot(adm, &req, &rb, &st);
    flx_assert_st(st.code, &st, GS_OK, NULL, NULL);
    assert_int_equal(rc, 0);
    flame_runner *ra = fl_boot_default(e, NULL);
    assert_string_equal(ra->pool, e->pool);
    flx_assert_managed(e, 2, "after two Boots");

    /* alice into pool B, or into the default pool: PERMISSION_DENIED, nothing created. */
    const char *denied_pools[] = {pool_b, NULL /* "default" */};
    for (size_t i = 0; i < 2; i++) {
        fl_boot_req_init(e, &req);
        req.pool = denied_pools[i];
        flame_runner *r = NULL;
        rc = flame_client_boot(e->client, &req, &r, &st);
        flame_runner_free(r);
        flx_assert_st(st.code, &st, GS_PERMISSION_DENIED, "POOL_NOT_ALLOWED",
                      denied_pools[i] ? pool_b : "'default'");
        fl_assert_contains(st.message, "alice");
        assert_null(strstr(st.message, alice));
        flx_assert_managed(e, 2, "after a denied Boot");
    }

    /* List: alice sees only her runner, also when she asks for pool B by name. */
    flame_runner **rs = NULL;
    size_t n = 0;
    assert_int_equal(flame_client_list(e->client, NULL, &rs, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, ra->id);
    flame_runner_list_free(rs, n);
    assert_int_equal(flame_client_list(e->client, pool_b, &rs, &n, &st), 0);
    assert_int_equal(n, 0);
    flame_runner_list_free(rs, n);
    assert_int_equal(flame_client_list(adm, NULL, &rs, &n, &st), 0);
    assert_int_equal(count_pool(rs, n, pool_b), 1);
    assert_int_equal(count_pool(rs, n, e->pool), 1);
    flame_runner_list_free(rs, n);

    /* Spawn and Shutdown of admin's runner: NOT_FOUND, worded as for an unknown id. */
    const char *argv[] = {"sh", "-c", "echo leaked", NULL};
    flame_spawn_request sreq = {.runner_id = rb->id, .argv = argv};
    int exit_code = -1;
    rc = flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    char s_other[1100], s_unknown[1100];
    shape(st.message, rb->id, s_other, sizeof(s_other));
    sreq.runner_id = UNKNOWN_ID;
    flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, UNKNOWN_ID, s_unknown, sizeof(s_unknown));
    assert_string_equal(s_other, s_unknown);

    /* SpawnStream (Spawn with stdin) of admin's runner: the same NOT_FOUND. */
    flame_spawn_input sin = {.fd = -1, .read = no_input};
    sreq.runner_id = rb->id;
    flame_client_spawn_stdin(e->client, &sreq, NULL, &sin, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, rb->id, s_other, sizeof(s_other));
    sreq.runner_id = UNKNOWN_ID;
    flame_client_spawn_stdin(e->client, &sreq, NULL, &sin, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, UNKNOWN_ID, s_unknown, sizeof(s_unknown));
    assert_string_equal(s_other, s_unknown);

    /* Logs of admin's runner: the same NOT_FOUND as an unknown id. */
    flame_logs_request lreq = {.runner_id = rb->id};
    flame_client_logs(e->client, &lreq, NULL, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, rb->id, s_other, sizeof(s_other));
    lreq.runner_id = UNKNOWN_ID;
    flame_client_logs(e->client, &lreq, NULL, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, UNKNOWN_ID, s_unknown, sizeof(s_unknown));
    assert_string_equal(s_other, s_unknown);

    rc = flame_client_shutdown(e->client, rb->id, 0, NULL, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, rb->id, s_other, sizeof(s_other));
    flame_client_shutdown(e->client, UNKNOWN_ID, 0, NULL, &st);
    flx_assert_st(st.code, &st, GS_NOT_FOUND, "RUNNER_NOT_FOUND", NULL);
    shape(st.message, UNKNOWN_ID, s_unknown, sizeof(s_unknown));
    assert_string_equal(s_other, s_unknown);

    /* admin's runner is untouched. */
    assert_int_equal(flame_client_list(adm, pool_b, &rs, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rs[0]->state, FLAME_RUNNER_RUNNING);
    flame_runner_list_free(rs, n);
    cJSON *j = fl_inspect(e, rb->container_id);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(fl_json_path(j, "State.Running")));
    cJSON_Delete(j);

    /* Watch with include_existing, as alice: her runner only. */
    struct seen seen;
    memset(&seen, 0, sizeof(seen));
    flame_watch_request wreq = {.include_existing = 1, .timeout_ms = 1500};
    flame_client_watch(e->client, &wreq, collect, &seen, &st);
    int saw_a = 0;
    for (size_t i = 0; i < seen.n; i++) {
        if (strcmp(seen.pool[i], e->pool) != 0)
            fail_msg("alice's Watch showed a runner of pool %s (%s)", seen.pool[i], seen.id[i]);
        saw_a |= strcmp(seen.id[i], ra->id) == 0 && seen.type[i] == FLAME_EVENT_EXISTING;
    }
    assert_true(saw_a);
    /* ...also when she names pool B. */
    memset(&seen, 0, sizeof(seen));
    wreq.pool = pool_b;
    flame_client_watch(e->client, &wreq, collect, &seen, &st);
    assert_int_equal(seen.n, 0);

    /* Live events: admin's Boot and Shutdown in pool B never reach alice's stream. */
    fl_watcher *w = fl_watch_start(e, NULL, NULL, 0);
    fl_watch_sync(e, w, e->pool);
    flame_runner *rb2 = NULL;
    rc = flame_client_boot(adm, &req, &rb2, &st); /* req.pool is still the default: admin may */
    flx_assert_st(st.code, &st, GS_OK, NULL, NULL);
    assert_int_equal(flame_client_shutdown(adm, rb2->id, 0, NULL, &st), 0);
    fl_watch_sync(e, w, e->pool);
    fl_event *evs = NULL;
    size_t n_ev = fl_watch_events(w, &evs);
    for (size_t i = 0; i < n_ev; i++)
        if (strcmp(evs[i].pool, e->pool) != 0)
            fail_msg("alice's live Watch showed pool %s (runner %s)", evs[i].pool,
                     evs[i].runner_id);
    free(evs);
    fl_watch_stop(w);
    flame_runner_free(rb2);

    /* alice runs work in, and shuts down, her own runner. */
    fl_output o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(fl_spawn_sh(e, ra->id, "echo mine", &o), 0);
    assert_string_equal(o.out, "mine\n");
    fl_output_free(&o);
    fl_shutdown(e, ra->id);
    assert_int_equal(flame_client_shutdown(adm, rb->id, 0, NULL, &st), 0);
    flx_wait_managed(e, 0, 10000, "after shutting both down");

    /* Audit: every Boot, Spawn, Shutdown names the caller; no secret anywhere. */
    char line[256];
    snprintf(line, sizeof(line), "msg=audit rpc=Boot caller=\"alice\" via=token pool=%s", pool_b);
    assert_log_has(e, line);
    snprintf(line, sizeof(line), "msg=audit rpc=Boot caller=\"admin\" via=token pool=%s", pool_b);
    assert_log_has(e, line);
    snprintf(line, sizeof(line), "msg=audit rpc=Spawn caller=\"alice\" via=token runner_id=%s",
             rb->id);
    assert_log_has(e, line);
    snprintf(line, sizeof(line), "msg=audit rpc=Shutdown caller=\"alice\" via=token runner_id=%s",
             rb->id);
    assert_log_has(e, line);
    snprintf(line, sizeof(line), "msg=audit rpc=Shutdown caller=\"admin\" via=token runner_id=%s",
             rb->id);
    assert_log_has(e, line);
    assert_log_lacks(e, admin);
    assert_log_lacks(e, alice);
    flame_runner_free(ra);
    flame_runner_free(rb);
    flx_pass(e);
}

/*
 * alice (pool A) reuses the request_id of bob's Boot in pool B: she gets a
 * new runner of her own, nothing of bob's (id, container, IP); her replay
 * gets her runner back, and bob's replay his.
 */
static void auth_request_id_is_an_idempotency_key_within_its_pool(void **state)
{
    fl_env *e0 = *state;
    char alice[96], bob[96], tokens[512], pool_b[64], request_id[64], u[24];
    make_secret(alice, sizeof(alice), "ali");
    make_secret(bob, sizeof(bob), "bob");
    snprintf(pool_b, sizeof(pool_b), "%s-b", e0->tag);
    fl_unique(u, sizeof(u));
    snprintf(request_id, sizeof(request_id), "boot-%s", u);
    snprintf(tokens, sizeof(tokens), "alice:%s:%s\nbob:%s:%s\n", alice, e0->pool, bob, pool_b);
    const char *path = flx_write(e0, "tokens", tokens);
    const char *args[] = {"--auth-tokens", path, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args, .token = alice});
    flame_client *bob_c = flx_client(e, bob);
    flame_status st;

    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.pool = pool_b;
    req.request_id = request_id;
    flame_runner *rb = NULL;
    int rc = flame_client_boot(bob_c, &req, &rb, &st);
    flx_assert_st(st.code, &st, GS_OK, NULL, NULL);
    assert_int_equal(rc, 0);

    /* alice, same request_id, her pool: a new runner. */
    fl_boot_req_init(e, &req);
    req.request_id = request_id;
    flame_runner *ra = NULL;
    rc = flame_client_boot(e->client, &req, &ra, &st);
    flx_assert_st(st.code, &st, GS_OK, NULL, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(ra->pool, e->pool);
    assert_string_equal(ra->request_id, request_id);
    assert_int_equal(ra->state, FLAME_RUNNER_RUNNING);
    assert_string_not_equal(ra->id, rb->id);
    assert_string_not_equal(ra->container_id, rb->container_id);
    assert_string_not_equal(ra->ip_address, rb->ip_address);
    assert_string_not_equal(ra->name, rb->name);
    flx_assert_managed(e, 2, "after one Boot per pool with one request_id");

    /* Replays stay within their pool. */
    flame_runner *ra2 = NULL, *rb2 = NULL;
    assert_int_equal(flame_client_boot(e->client, &req, &ra2, &st), 0);
    assert_string_equal(ra2->id, ra->id);
    assert_string_equal(ra2->container_id, ra->container_id);
    fl_boot_req_init(e, &req);
    req.pool = pool_b;
    req.request_id = request_id;
    assert_int_equal(flame_client_boot(bob_c, &req, &rb2, &st), 0);
    assert_string_equal(rb2->id, rb->id);
    assert_string_equal(rb2->container_id, rb->container_id);
    flx_assert_managed(e, 2, "after the replays");

    /* Each sees only its own runner. */
    flame_runner **rs = NULL;
    size_t n = 0;
    assert_int_equal(flame_client_list(e->client, NULL, &rs, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, ra->id);
    flame_runner_list_free(rs, n);
    assert_int_equal(flame_client_list(bob_c, NULL, &rs, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, rb->id);
    flame_runner_list_free(rs, n);

    fl_shutdown(e, ra->id);
    assert_int_equal(flame_client_shutdown(bob_c, rb->id, 0, NULL, &st), 0);
    flx_wait_managed(e, 0, 10000, "after shutting both down");
    flame_runner_free(ra);
    flame_runner_free(ra2);
    flame_runner_free(rb);
    flame_runner_free(rb2);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLX_UNIT(auth_missing_wrong_and_right_tokens),
        FLX_UNIT(auth_health_open_by_default_closed_with_auth_health),
        FLX_UNIT(auth_tokens_file_errors_stop_flamed_at_start),
        FLX_UNIT(auth_pool_scoped_token_tenancy),
        FLX_UNIT(auth_two_authorization_headers_are_unauthenticated),
        FLX_UNIT(auth_request_id_is_an_idempotency_key_within_its_pool),
    };
    return FL_RUN("auth", tests);
}
