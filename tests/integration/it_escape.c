/*
 * The escape matrix (docs/security.md, issue 11): what an attacker holding a
 * pool-scoped token can send to Boot, against the real flamed and dockerd.
 *
 * Four classes of cases, each a row of a table:
 *   1. two readings: keys repeated in host_config, in mounts, in nested
 *      objects and in the env and labels maps; keys that differ from the
 *      Engine API's spelling only in case or by a Unicode fold (Go's
 *      encoding/json matches "Bindſ" to Binds); values of the wrong type;
 *   2. the allowlist: every field the built-in policy denies, host paths in
 *      Binds and bind mounts (symlinks, "..", "//"), volume drivers, ulimits,
 *      tmpfs, fields flamed owns or does not support, invalid UTF-8, reserved
 *      labels, malformed image references; with a policy file: binds under an
 *      allowed prefix that resolve outside it, and what the allow switches
 *      turn on (and only that);
 *   3. nesting: Structs 3,000 deep sent as raw bytes, 40 deep in JSON;
 *   4. tenancy: a request_id reused across pools, another pool's runner,
 *      two authorization headers.
 *
 * Every refusal is checked for its status and flame-reason, for a message
 * naming the field, and for what Docker holds afterwards: any container of
 * the test run that was not there before the case is inspected, its
 * HostConfig printed, and removed, and the case fails. Cases do not stop at
 * the first failure: each failing one is printed with its name, and the test
 * fails at the end with the count. Legitimate uses (limits, tmpfs, named
 * volumes, binds under an allowed prefix, allowed capabilities and sysctls,
 * DeviceRequests in a GPU pool) boot and are checked in Docker's HostConfig.
 *
 * $FLTEST_ESCAPE_VERBOSE=1 prints every refusal's answer, failing or not.
 *
 * Table notation: JSON with ' for ", and @D@ (the test's directory), @A@ (the
 * allowed bind prefix, @D@/allowed) and @T@ (the test's tag) expanded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness_ext.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOOT "/flame.v1.RunnerService/Boot"
#define LIST "/flame.v1.RunnerService/List"

enum want {
    W_INVALID, /* INVALID_ARGUMENT, flame-reason INVALID_REQUEST */
    W_DENIED,  /* PERMISSION_DENIED, flame-reason POLICY_DENIED */
    W_REFUSED, /* either of the two: docs/security.md does not say which */
};

typedef struct esc_case {
    const char *name;
    int want;
    const char *hc;              /* host_config (table notation), NULL: none */
    const char *mount[2];        /* mounts (table notation) */
    const char *env[5];          /* key, value, key, value, NULL */
    const char *labels[5];       /* added after the harness's fltest.run label */
    const char *image, *network; /* NULL: the defaults */
    const char *msg[2];          /* fragments the status message must hold, any case */
} esc_case;

#define INV(n, ...) {.name = n, .want = W_INVALID, __VA_ARGS__}
#define DEN(n, ...) {.name = n, .want = W_DENIED, __VA_ARGS__}
#define REF(n, ...) {.name = n, .want = W_REFUSED, __VA_ARGS__}
#define HC(j) .hc = j
#define MNT(j) .mount = {j}
#define MNT2(a, b) .mount = {a, b}
#define MSG(a) .msg = {a}
#define MSG2(a, b) .msg = {a, b}

/* ------------------------------------------------------------------ the run's state */

#define MAX_RUN 64

/* Docker containers of this test run at one moment. */
typedef struct snap {
    size_t n;
    char id[MAX_RUN][72];
} snap;

/* One test at a time (cmocka runs them in sequence). */
static struct {
    int cases, failed;
    int per_class[5], failed_class[5];
    int cls;               /* the class the running cases count for */
    flx_target t;          /* the pool-scoped token of raw calls */
    flx_flamed flamed;     /* how flamed was started: to start it again after a crash */
    char dir[200];         /* @D@ */
    char allowed[240];     /* @A@ */
    char alice[96], bob[96];
} R;

static void reset_run(void)
{
    memset(&R, 0, sizeof(R));
}

/* Bytes outside printable ASCII as \xNN, so invalid UTF-8 shows in a report. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < outlen; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
}

static void expand(const fl_env *e, const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = in; *p;) {
        const char *rep = NULL;
        if (strncmp(p, "@D@", 3) == 0)
            rep = R.dir;
        else if (strncmp(p, "@A@", 3) == 0)
            rep = R.allowed;
        else if (strncmp(p, "@T@", 3) == 0)
            rep = e->tag;
        if (rep) {
            size_t k = strlen(rep);
            if (o + k >= outlen)
                fail_msg("case text too long: %s", in);
            memcpy(out + o, rep, k);
            o += k;
            p += 3;
            continue;
        }
        if (o + 1 >= outlen)
            fail_msg("case text too long: %s", in);
        out[o++] = *p == '\'' ? '"' : *p;
        p++;
    }
    out[o] = '\0';
}

static void case_failed(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void case_failed(const char *name, const char *fmt, ...)
{
    char detail[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    R.failed++;
    R.failed_class[R.cls]++;
    /* stderr directly: cmocka's print_error cuts a message at 1 KiB (an inspect is longer). */
    fprintf(stderr, "FAIL [class %d] %s: %s\n", R.cls, name, detail);
    fflush(stderr);
}

/* One procedural check counted as a case. */
static int check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check(int ok, const char *name, const char *fmt, ...)
{
    R.cases++;
    R.per_class[R.cls]++;
    if (ok)
        return 1;
    char detail[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    case_failed(name, "%s", detail);
    return 0;
}

/* A container is this run's when it carries the run label, or when flamed put
 * it in one of the run's pools (all named after the tag): a request that
 * overrode the run label is still seen. */
static int is_mine(const fl_env *e, const cJSON *c)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(labels, FL_RUN_LABEL_KEY);
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(labels, "flamed.pool");
    size_t tl = strlen(e->tag);
    if (cJSON_IsString(run) && strcmp(run->valuestring, e->tag) == 0)
        return 1;
    return cJSON_IsString(pool) && strncmp(pool->valuestring, e->tag, tl) == 0 &&
           (pool->valuestring[tl] == '\0' || pool->valuestring[tl] == '-');
}

static void add_ids(fl_env *e, const char *label, snap *s)
{
    cJSON *list = NULL;
    char err[512];
    if (docker_container_list(e->docker, label, &list, err, sizeof(err)) < 0)
        fail_msg("docker ps --filter label=%s: %s", label, err);
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
        if (!cJSON_IsString(id) || !is_mine(e, c))
            continue;
        int seen = 0;
        for (size_t i = 0; i < s->n; i++)
            seen |= strcmp(s->id[i], id->valuestring) == 0;
        if (!seen && s->n < MAX_RUN)
            snprintf(s->id[s->n++], sizeof(s->id[0]), "%s", id->valuestring);
    }
    cJSON_Delete(list);
}

/* Every container of this run in Docker, in any state. */
static void take(fl_env *e, snap *s)
{
    s->n = 0;
    add_ids(e, e->run_label, s);
    add_ids(e, "flamed.managed-by=flamed", s);
}

static size_t new_since(const snap *before, const snap *now, const char **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < now->n; i++) {
        int old = 0;
        for (size_t j = 0; j < before->n; j++)
            old |= strcmp(before->id[j], now->id[i]) == 0;
        if (!old && k < max)
            out[k++] = now->id[i];
    }
    return k;
}

/*
 * What Docker holds for this run beyond `before`. A refused Boot that got as
 * far as Docker may answer while flamed's reaper still removes the container:
 * wait up to 5 s (not when the Boot was accepted). Every container left is
 * inspected, its HostConfig printed, and removed. @return how many were left.
 */
static size_t leftovers(fl_env *e, const snap *before, const char *name, int accepted)
{
    snap now;
    const char *fresh[MAX_RUN];
    size_t k;
    int64_t until = fl_now_ms() + (accepted ? 0 : 5000);
    for (;;) {
        take(e, &now);
        k = new_since(before, &now, fresh, MAX_RUN);
        if (!k || fl_now_ms() >= until)
            break;
        fl_sleep_ms(100);
    }
    for (size_t i = 0; i < k; i++) {
        cJSON *j = fl_inspect(e, fresh[i]);
        char *hc = j ? cJSON_PrintUnformatted(fl_json_path(j, "HostConfig")) : NULL;
        char *mounts = j ? cJSON_PrintUnformatted(fl_json_path(j, "Mounts")) : NULL;
        const cJSON *status = j ? fl_json_path(j, "State.Status") : NULL;
        fprintf(stderr, "  [%s] Docker holds container %.12s (%s)\n    HostConfig: %s\n"
                    "    Mounts: %s\n",
                    name, fresh[i], cJSON_IsString(status) ? status->valuestring : "gone",
                    hc ? hc : "-", mounts ? mounts : "-");
        free(hc);
        free(mounts);
        cJSON_Delete(j);
        fl_remove_container(e, fresh[i]);
    }
    return k;
}

/* flamed must survive every case; after a crash it is started again so the
 * remaining cases still run. @return 1 when it had died. */
static int flamed_died(fl_env *e, int code)
{
    if (!e->flamed_pid)
        return 0;
    if (code == GS_UNAVAILABLE || code == GS_UNKNOWN || code == GS_INTERNAL)
        fl_sleep_ms(300); /* a crash may end the call before the process is gone */
    int ws;
    if (waitpid(e->flamed_pid, &ws, WNOHANG) != e->flamed_pid)
        return 0;
    print_error("  flamed died (wait status 0x%x); starting it again for the remaining cases\n",
                ws);
    e->flamed_pid = 0;
    flx_flamed_start(e, &R.flamed);
    return 1;
}

static const char *want_text(int want)
{
    switch (want) {
    case W_INVALID:
        return "INVALID_ARGUMENT reason=INVALID_REQUEST";
    case W_DENIED:
        return "PERMISSION_DENIED reason=POLICY_DENIED";
    default:
        return "INVALID_ARGUMENT/INVALID_REQUEST or PERMISSION_DENIED/POLICY_DENIED";
    }
}

static int status_ok(int want, int code, const flame_status *st)
{
    int inv = code == GS_INVALID_ARGUMENT && strcmp(st->reason, "INVALID_REQUEST") == 0;
    int den = code == GS_PERMISSION_DENIED && strcmp(st->reason, "POLICY_DENIED") == 0;
    return want == W_INVALID ? inv : want == W_DENIED ? den : inv || den;
}

/* Judge one refusal: status, reason, message fragments, Docker, flamed alive. */
static void judge(fl_env *e, const char *name, int want, char msg[2][256], int code,
                  const flame_status *st, const snap *before, const char *request)
{
    R.cases++;
    R.per_class[R.cls]++;
    int bad_status = !status_ok(want, code, st);
    const char *missing = NULL;
    for (int i = 0; i < 2; i++)
        if (msg[i][0] && !strcasestr(st->message, msg[i]))
            missing = msg[i];
    size_t left = leftovers(e, before, name, code == GS_OK);
    int died = flamed_died(e, code);
    if (getenv("FLTEST_ESCAPE_VERBOSE")) {
        char got[1200];
        printable(st->message, got, sizeof(got));
        fprintf(stderr, "case [class %d] %s: %s reason=%s message=\"%s\"\n", R.cls, name,
                flame_grpc_status_name(code), st->reason, got);
    }
    if (bad_status || missing || left || died) {
        char got[1200], req[2400];
        printable(st->message, got, sizeof(got));
        printable(request, req, sizeof(req));
        case_failed(name,
                    "%s%s%s%s\n    request: %s\n    expected %s, message naming \"%s\"%s%s%s\n"
                    "    got %s reason=%s message=\"%s\"",
                    bad_status ? "wrong status; " : "", missing ? "message lacks the field; " : "",
                    left ? "Docker holds a container; " : "", died ? "flamed crashed; " : "", req,
                    want_text(want), msg[0], msg[1][0] ? " and \"" : "", msg[1],
                    msg[1][0] ? "\"" : "", flame_grpc_status_name(code),
                    st->reason[0] ? st->reason : "\"\"", got);
    }
}

static void append(char *buf, size_t len, size_t *w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *w, const char *fmt, ...)
{
    if (*w >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *w, len - *w, fmt, ap);
    va_end(ap);
    if (n > 0)
        *w += (size_t)n < len - *w ? (size_t)n : len - *w - 1;
}

/* Build the case's BootRequest into `pool` (NULL: the test's), send it with
 * the pool-scoped token, and judge the answer. */
static void run_case(fl_env *e, const char *pool, const esc_case *c)
{
    static char text[16384], request[20000];
    size_t w = 0;
    request[0] = '\0';
    flx_boot *b = flx_boot_new(e);
    if (pool)
        b->req.pool = (char *)pool;
    if (c->hc) {
        expand(e, c->hc, text, sizeof(text));
        flx_boot_host_config(b, text);
        append(request, sizeof(request), &w, "host_config %s ", text);
    }
    for (int i = 0; i < 2 && c->mount[i]; i++) {
        expand(e, c->mount[i], text, sizeof(text));
        flx_boot_mount(b, text);
        append(request, sizeof(request), &w, "mounts[%d] %s ", i, text);
    }
    for (int i = 0; c->env[i]; i += 2) {
        flx_boot_env(b, c->env[i], c->env[i + 1]);
        append(request, sizeof(request), &w, "env %s=%s ", c->env[i], c->env[i + 1]);
    }
    for (int i = 0; c->labels[i]; i += 2) {
        flx_boot_label(b, c->labels[i], c->labels[i + 1]);
        append(request, sizeof(request), &w, "label %s=%s ", c->labels[i], c->labels[i + 1]);
    }
    if (c->image) {
        b->req.image = (char *)c->image;
        append(request, sizeof(request), &w, "image \"%s\" ", c->image);
    }
    if (c->network) {
        b->req.network = (char *)c->network;
        append(request, sizeof(request), &w, "network \"%s\" ", c->network);
    }
    if (pool)
        append(request, sizeof(request), &w, "pool %s", pool);
    char msg[2][256] = {"", ""};
    for (int i = 0; i < 2; i++)
        if (c->msg[i])
            expand(e, c->msg[i], msg[i], sizeof(msg[i]));
    snap before;
    take(e, &before);
    flame_status st;
    char id[40];
    int code = flx_boot_call(e, &R.t, b, id, sizeof(id), &st);
    judge(e, c->name, c->want, msg, code, &st, &before, request);
    flx_boot_free(b);
}

static void run_table(fl_env *e, int cls, const char *pool, const esc_case *cases, size_t n)
{
    R.cls = cls;
    for (size_t i = 0; i < n; i++)
        run_case(e, pool, &cases[i]);
}

/* ------------------------------------------------------------------ raw bytes */

/* A byte buffer written back to front: nested messages are built innermost first. */
typedef struct rbuf {
    uint8_t *b;
    size_t cap, pos;
} rbuf;

static void rb_init(rbuf *r, size_t cap)
{
    r->b = malloc(cap);
    assert_non_null(r->b);
    r->cap = r->pos = cap;
}

static size_t rb_len(const rbuf *r) { return r->cap - r->pos; }

static void rb_put(rbuf *r, const void *p, size_t n)
{
    assert_true(r->pos >= n);
    r->pos -= n;
    memcpy(r->b + r->pos, p, n);
}

/* Everything so far becomes one length-delimited field with this tag byte. */
static void rb_wrap(rbuf *r, uint8_t tag)
{
    uint8_t v[10];
    size_t n = 0;
    uint64_t len = rb_len(r);
    do {
        uint8_t byte = len & 0x7f;
        len >>= 7;
        v[n++] = byte | (len ? 0x80 : 0);
    } while (len);
    rb_put(r, v, n);
    rb_put(r, &tag, 1);
}

/*
 * A google.protobuf.Struct nested `depth` deep, as wire bytes:
 * {"a": {"a": ... {}}} (lists = 0) or {"Binds": [[...[]...]]} (lists = 1).
 * Struct.fields = 1, FieldsEntry key = 1 / value = 2, Value.struct_value = 5,
 * Value.list_value = 6, ListValue.values = 1. Free r->b.
 */
static void deep_struct(rbuf *r, size_t depth, int lists)
{
    rb_init(r, depth * 24 + 64);
    for (size_t i = 0; i < depth; i++) {
        if (lists) {
            rb_wrap(r, 0x32); /* Value{list_value} */
            rb_wrap(r, 0x0a); /* ListValue{values} */
        } else {
            rb_wrap(r, 0x2a); /* Value{struct_value} */
            rb_wrap(r, 0x12); /* FieldsEntry.value */
            rb_put(r, "\x0a\x01" "a", 3);
            rb_wrap(r, 0x0a); /* Struct{fields} */
        }
    }
    if (lists) {
        rb_wrap(r, 0x32);
        rb_wrap(r, 0x12);
        rb_put(r, "\x0a\x05" "Binds", 7);
        rb_wrap(r, 0x0a);
    }
}

/* b's packed bytes followed by `field` (BootRequest host_config = 6, mounts = 7)
 * holding s. Free *out. */
static size_t boot_with_raw_struct(flx_boot *b, int field, const rbuf *s, uint8_t **out)
{
    size_t head = protobuf_c_message_get_packed_size(&b->req.base);
    rbuf r;
    rb_init(&r, head + rb_len(s) + 16);
    rb_put(&r, s->b + s->pos, rb_len(s));
    rb_wrap(&r, (uint8_t)(field << 3 | 2));
    uint8_t *buf = malloc(head + rb_len(&r));
    assert_non_null(buf);
    protobuf_c_message_pack(&b->req.base, buf);
    memcpy(buf + head, r.b + r.pos, rb_len(&r));
    size_t n = head + rb_len(&r);
    free(r.b);
    *out = buf;
    return n;
}

/* ------------------------------------------------------------------ Docker, flamed */

static cJSON *inspect_runner(fl_env *e, const char *pool, const char *runner_id)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    cJSON *j = NULL;
    if (flame_client_list(e->client, pool, &rs, &n, &st) != 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, runner_id) == 0 && rs[i]->container_id[0])
            j = fl_inspect(e, rs[i]->container_id);
    flame_runner_list_free(rs, n);
    return j;
}

static int64_t hc_int(const cJSON *j, const char *field)
{
    char path[96];
    snprintf(path, sizeof(path), "HostConfig.%s", field);
    const cJSON *v = fl_json_path(j, path);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : INT64_MIN;
}

static int hc_true(const cJSON *j, const char *field)
{
    char path[96];
    snprintf(path, sizeof(path), "HostConfig.%s", field);
    return cJSON_IsTrue(fl_json_path(j, path));
}

static int hc_list_has(const cJSON *j, const char *field, const char *value)
{
    char path[96];
    snprintf(path, sizeof(path), "HostConfig.%s", field);
    const cJSON *it;
    cJSON_ArrayForEach(it, fl_json_path(j, path)) if (cJSON_IsString(it) &&
                                                      strcmp(it->valuestring, value) == 0) return 1;
    return 0;
}

static int hc_empty(const cJSON *j, const char *field)
{
    char path[96];
    snprintf(path, sizeof(path), "HostConfig.%s", field);
    const cJSON *v = fl_json_path(j, path);
    return !v || cJSON_IsNull(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0) ||
           (cJSON_IsString(v) && !v->valuestring[0]);
}

static char *hc_text(const cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(fl_json_path(j, "HostConfig")) : NULL;
    return s ? s : strdup("(no inspect)");
}

/* Shut a runner down through flamed; when that fails, remove its container. */
static void shut(flame_client *c, const char *runner_id, const char *name)
{
    flame_status st;
    if (flame_client_shutdown(c, runner_id, 2000, NULL, &st) != 0)
        check(0, name, "Shutdown of %s: %s (%s)", runner_id, st.message, st.reason);
}

static void remove_volume(fl_env *e, const char *name)
{
    char path[256], err[512];
    long status = 0;
    snprintf(path, sizeof(path), "/volumes/%s?force=1", name);
    docker_request(e->docker, "DELETE", path, NULL, 10000, &status, NULL, err, sizeof(err));
}

/* Volumes named after the tag: made by the legitimate named-volume Boot, or by
 * a volume-driver attack that got through. */
static void remove_run_volumes(fl_env *e)
{
    char path[256], err[512];
    long status = 0;
    cJSON *resp = NULL;
    snprintf(path, sizeof(path), "/volumes?filters=%%7B%%22name%%22%%3A%%5B%%22%s%%22%%5D%%7D",
             e->tag);
    if (docker_request(e->docker, "GET", path, NULL, 10000, &status, &resp, err, sizeof(err)) < 0)
        return;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(resp, "Volumes"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "Name");
        if (cJSON_IsString(n) && strncmp(n->valuestring, e->tag, strlen(e->tag)) == 0)
            remove_volume(e, n->valuestring);
    }
    cJSON_Delete(resp);
}

/* flx_teardown, after removing what an escaped case may have left that the
 * harness would not find: containers without the run label, and volumes. */
static int esc_teardown(void **state)
{
    fl_env *e = *state;
    if (e && e->docker && !e->skip_reason[0]) {
        snap s;
        s.n = 0;
        add_ids(e, "flamed.managed-by=flamed", &s);
        for (size_t i = 0; i < s.n; i++)
            fl_remove_container(e, s.id[i]);
        remove_run_volumes(e);
    }
    return flx_teardown(state);
}

#define ESC_UNIT(name) cmocka_unit_test_setup_teardown(name, fl_setup, esc_teardown)

static void make_secret(char *out, size_t outlen, const char *who)
{
    char u[24];
    fl_unique(u, sizeof(u));
    snprintf(out, outlen, "Esc%sQ%sZ9xK7wP4", who, u);
}

static void mkdir_or_fail(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void symlink_or_fail(const char *target, const char *path)
{
    if (symlink(target, path) < 0 && errno != EEXIST)
        fail_msg("symlink %s -> %s: %s", path, target, strerror(errno));
}

/* Start flamed with a token file (alice: the test's pool and `extra_pool`)
 * and an optional policy; raw calls carry alice's token. */
static fl_env *begin(void **state, const char *policy_json, const char *extra_pool)
{
    static const char *args[8];
    static char tokens[512];
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    reset_run();
    snprintf(R.dir, sizeof(R.dir), "%s", flx_dir(e0));
    snprintf(R.allowed, sizeof(R.allowed), "%s/allowed", R.dir);
    make_secret(R.alice, sizeof(R.alice), "ali");
    make_secret(R.bob, sizeof(R.bob), "bob");
    char pool_b[64];
    snprintf(pool_b, sizeof(pool_b), "%s-b", e0->tag);
    if (extra_pool)
        snprintf(tokens, sizeof(tokens), "alice:%s:%s, %s\nbob:%s:%s\n", R.alice, e0->pool,
                 extra_pool, R.bob, pool_b);
    else
        snprintf(tokens, sizeof(tokens), "alice:%s:%s\nbob:%s:%s\n", R.alice, e0->pool, R.bob,
                 pool_b);
    size_t n = 0;
    args[n++] = "--auth-tokens";
    args[n++] = flx_write(e0, "tokens", tokens);
    if (policy_json) {
        char text[4096];
        expand(e0, policy_json, text, sizeof(text));
        args[n++] = "--policy";
        args[n++] = flx_write(e0, "policy.json", text);
    }
    args[n] = NULL;
    R.flamed = (flx_flamed){.args = args, .token = R.alice};
    R.t = (flx_target){.token = R.alice};
    return flx_begin(state, &R.flamed);
}

static void report(const char *what)
{
    print_message("%s: %d cases (class 1: %d, class 2: %d, class 3: %d, class 4: %d), %d failed "
                  "(%d, %d, %d, %d)\n",
                  what, R.cases, R.per_class[1], R.per_class[2], R.per_class[3], R.per_class[4],
                  R.failed, R.failed_class[1], R.failed_class[2], R.failed_class[3],
                  R.failed_class[4]);
}

/* ================================================================== class 1: two readings */

static const esc_case two_readings[] = {
    /* A key repeated in host_config: Docker applies the last one. */
    INV("host_config: Binds twice, /tmp then /", HC("{'Binds':['/tmp:/t'],'Binds':['/:/h']}"),
        MSG("Binds")),
    INV("host_config: Binds twice, / then []", HC("{'Binds':['/:/h'],'Binds':[]}"), MSG("Binds")),
    INV("host_config: Privileged false then true",
        HC("{'Privileged':false,'Privileged':true}"), MSG("Privileged")),
    INV("host_config: Privileged true then false",
        HC("{'Privileged':true,'Privileged':false}"), MSG("Privileged")),
    INV("host_config: CapAdd twice", HC("{'CapAdd':[],'CapAdd':['SYS_ADMIN']}"), MSG("CapAdd")),
    INV("host_config: SecurityOpt twice",
        HC("{'SecurityOpt':['no-new-privileges'],'SecurityOpt':['seccomp=unconfined']}"),
        MSG("SecurityOpt")),
    INV("host_config: PidMode twice", HC("{'PidMode':'','PidMode':'host'}"), MSG("PidMode")),
    INV("host_config: IpcMode twice", HC("{'IpcMode':'private','IpcMode':'host'}"),
        MSG("IpcMode")),
    INV("host_config: UsernsMode twice", HC("{'UsernsMode':'','UsernsMode':'host'}"),
        MSG("UsernsMode")),
    INV("host_config: Devices twice",
        HC("{'Devices':[],'Devices':[{'PathOnHost':'/dev/kmsg','PathInContainer':'/dev/kmsg',"
           "'CgroupPermissions':'rwm'}]}"),
        MSG("Devices")),
    INV("host_config: Memory twice, same value",
        HC("{'Memory':134217728,'Memory':134217728}"), MSG("Memory")),
    INV("host_config: ReadonlyRootfs twice",
        HC("{'ReadonlyRootfs':true,'ReadonlyRootfs':false}"), MSG("ReadonlyRootfs")),
    INV("host_config: Sysctls twice",
        HC("{'Sysctls':{},'Sysctls':{'kernel.shm_rmid_forced':'1'}}"), MSG("Sysctls")),
    INV("host_config: Tmpfs twice",
        HC("{'Tmpfs':{'/a':'size=1m'},'Tmpfs':{'/proc/x':'size=1m'}}"), MSG("Tmpfs")),
    INV("host_config: LogConfig twice",
        HC("{'LogConfig':{'Type':'json-file'},'LogConfig':{'Type':'syslog'}}"),
        MSG("LogConfig")),
    /* ...in nested objects and maps. */
    INV("host_config.LogConfig: Type twice",
        HC("{'LogConfig':{'Type':'json-file','Type':'syslog'}}"), MSG("LogConfig")),
    INV("host_config.LogConfig.Config: key twice",
        HC("{'LogConfig':{'Type':'json-file','Config':{'max-size':'1m','max-size':'2m'}}}"),
        MSG("LogConfig")),
    INV("host_config.Sysctls: key twice",
        HC("{'Sysctls':{'net.ipv4.ip_forward':'0','net.ipv4.ip_forward':'1'}}"),
        MSG("Sysctls")),
    INV("host_config.Tmpfs: key twice",
        HC("{'Tmpfs':{'/scratch':'size=1m','/scratch':'size=1m,dev,suid'}}"), MSG("Tmpfs")),
    INV("host_config.Ulimits[0]: Hard twice",
        HC("{'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':1024,'Hard':4000000}]}"),
        MSG("Ulimits")),
    INV("host_config.Ulimits[0]: Name twice",
        HC("{'Ulimits':[{'Name':'nofile','Name':'memlock','Soft':1024,'Hard':1024}]}"),
        MSG("Ulimits")),
    INV("host_config.Devices[0]: PathOnHost twice",
        HC("{'Devices':[{'PathOnHost':'/dev/null','PathOnHost':'/dev/mem',"
           "'PathInContainer':'/dev/x','CgroupPermissions':'r'}]}"),
        MSG("Devices")),
    INV("host_config.DeviceRequests[0]: Driver twice",
        HC("{'DeviceRequests':[{'Driver':'x','Driver':'nvidia','Count':1}]}"),
        MSG("DeviceRequests")),
    INV("host_config.PortBindings: port twice",
        HC("{'PortBindings':{'80/tcp':[],'80/tcp':[{'HostPort':'8080'}]}}"),
        MSG("PortBindings")),
    /* ...in mounts. */
    INV("mounts[0]: Type twice, volume then bind",
        MNT("{'Type':'volume','Type':'bind','Source':'/','Target':'/h'}"), MSG("mounts[0]")),
    INV("mounts[0]: Source twice", MNT("{'Type':'bind','Source':'@D@','Source':'/','Target':'/h'}"),
        MSG("mounts[0]")),
    INV("mounts[0]: Target twice",
        MNT("{'Type':'tmpfs','Target':'/scratch','Target':'/proc/x'}"), MSG("mounts[0]")),
    INV("mounts[0]: ReadOnly twice",
        MNT("{'Type':'volume','Source':'@T@-v1','Target':'/d','ReadOnly':true,'ReadOnly':false}"),
        MSG("mounts[0]")),
    INV("mounts[0]: VolumeOptions twice",
        MNT("{'Type':'volume','Source':'@T@-v2','Target':'/d','VolumeOptions':{'NoCopy':true},"
            "'VolumeOptions':{'DriverConfig':{'Name':'local','Options':{'type':'none','o':'bind',"
            "'device':'/'}}}}"),
        MSG("mounts[0]")),
    INV("mounts[0].VolumeOptions.DriverConfig.Options: device twice",
        MNT("{'Type':'volume','Source':'@T@-v3','Target':'/d','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'@D@','device':'/'}}}}"),
        MSG("mounts[0]")),
    INV("mounts[0].VolumeOptions.DriverConfig: Name twice",
        MNT("{'Type':'volume','Source':'@T@-v4','Target':'/d','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Name':'evil'}}}"),
        MSG("mounts[0]")),
    INV("mounts[0].VolumeOptions.Labels: key twice",
        MNT("{'Type':'volume','Source':'@T@-v5','Target':'/d','VolumeOptions':{'Labels':"
            "{'a':'1','a':'2'}}}"),
        MSG("mounts[0]")),
    INV("mounts[0].BindOptions: Propagation twice",
        MNT("{'Type':'bind','Source':'@D@','Target':'/d','BindOptions':{'Propagation':'rprivate',"
            "'Propagation':'rshared'}}"),
        MSG("mounts[0]")),
    INV("mounts[0].TmpfsOptions: SizeBytes twice",
        MNT("{'Type':'tmpfs','Target':'/s','TmpfsOptions':{'SizeBytes':1048576,"
            "'SizeBytes':2097152}}"),
        MSG("mounts[0]")),
    INV("mounts[1]: Type twice, after a good mount",
        MNT2("{'Type':'tmpfs','Target':'/s'}",
             "{'Type':'volume','Type':'bind','Source':'/','Target':'/h'}"),
        MSG("mounts[1]")),
    /* ...in the env and labels maps (map entries repeated on the wire). */
    INV("env: key twice", .env = {"FOO", "1", "FOO", "2"}, MSG2("env", "FOO")),
    INV("env: FLAME_PARENT twice", .env = {"FLAME_PARENT", "a", "FLAME_PARENT", "b"},
        MSG2("env", "FLAME_PARENT")),
    INV("labels: key twice", .labels = {"team", "a", "team", "b"}, MSG2("labels", "team")),
    INV("labels: fltest.run again with another value", .labels = {FL_RUN_LABEL_KEY, "other"},
        MSG2("labels", FL_RUN_LABEL_KEY)),

    /* Not spelled as the Engine API spells it: Go would still match it. */
    INV("host_config: binds", HC("{'binds':['/:/h']}"), MSG("binds")),
    INV("host_config: BINDS", HC("{'BINDS':['/:/h']}"), MSG("binds")),
    INV("host_config: bInds", HC("{'bInds':['/:/h']}"), MSG("binds")),
    INV("host_config: privileged", HC("{'privileged':true}"), MSG("privileged")),
    INV("host_config: PRIVILEGED", HC("{'PRIVILEGED':true}"), MSG("privileged")),
    INV("host_config: capAdd", HC("{'capAdd':['SYS_ADMIN']}"), MSG("capadd")),
    INV("host_config: Capadd", HC("{'Capadd':['SYS_ADMIN']}"), MSG("capadd")),
    INV("host_config: CAPADD", HC("{'CAPADD':['ALL']}"), MSG("capadd")),
    INV("host_config: securityopt", HC("{'securityopt':['seccomp=unconfined']}"),
        MSG("securityopt")),
    INV("host_config: pidMode", HC("{'pidMode':'host'}"), MSG("pidmode")),
    INV("host_config: Pidmode", HC("{'Pidmode':'host'}"), MSG("pidmode")),
    INV("host_config: ipcmode", HC("{'ipcmode':'host'}"), MSG("ipcmode")),
    INV("host_config: usernsMode", HC("{'usernsMode':'host'}"), MSG("usernsmode")),
    INV("host_config: sysctls", HC("{'sysctls':{'kernel.shm_rmid_forced':'1'}}"),
        MSG("sysctls")),
    INV("host_config: tmpfs", HC("{'tmpfs':{'/proc/x':''}}"), MSG("tmpfs")),
    INV("host_config: devices", HC("{'devices':[{'PathOnHost':'/dev/kmsg',"
                                   "'PathInContainer':'/dev/kmsg','CgroupPermissions':'rwm'}]}"),
        MSG("devices")),
    INV("host_config: maskedPaths", HC("{'maskedPaths':[]}"), MSG("maskedpaths")),
    INV("host_config: cgroupParent", HC("{'cgroupParent':'/'}"), MSG("cgroupparent")),
    INV("host_config: volumeDriver", HC("{'volumeDriver':'local'}"), MSG("volumedriver")),
    INV("host_config: logConfig", HC("{'logConfig':{'Type':'syslog'}}"), MSG("logconfig")),
    INV("host_config.LogConfig: type", HC("{'LogConfig':{'type':'syslog'}}"), MSG("type")),
    INV("host_config.Ulimits[0]: name/soft/hard",
        HC("{'Ulimits':[{'name':'nofile','soft':1,'hard':1}]}"), MSG("Ulimits")),
    INV("host_config: memory (harmless field, wrong case)", HC("{'memory':134217728}"),
        MSG("memory")),
    INV("host_config: readonlyRootfs", HC("{'readonlyRootfs':true}"), MSG("readonlyrootfs")),
    INV("host_config: 'Binds ' (trailing space)", HC("{'Binds ':['/:/h']}"), MSG("Binds")),
    INV("host_config: ' Binds' (leading space)", HC("{' Binds':['/:/h']}"), MSG("Binds")),
    /* Unicode: Go folds U+017F (long s) to s and U+212A (Kelvin) to k; U+0131 and
     * fullwidth letters do not fold, but are not the Engine API's spelling either. */
    INV("host_config: Bind\\u017f (long s)", HC("{'Bind\\u017f':['/:/h']}"), MSG("Bind")),
    INV("host_config: \\u017fecurityOpt (long s)",
        HC("{'\\u017fecurityOpt':['seccomp=unconfined']}"), MSG("ecurityOpt")),
    INV("host_config: Sy\\u017fctls (long s)",
        HC("{'Sy\\u017fctls':{'kernel.shm_rmid_forced':'1'}}"), MSG("ctls")),
    INV("host_config: Mas\\u212aedPaths (Kelvin sign)", HC("{'Mas\\u212aedPaths':[]}"),
        MSG("edPaths")),
    INV("host_config: Oom\\u212aillDisable (Kelvin sign)", HC("{'Oom\\u212aillDisable':true}"),
        MSG("illDisable")),
    INV("host_config: Priv\\u0131leged (dotless i)", HC("{'Priv\\u0131leged':true}"),
        MSG("Priv")),
    INV("host_config: \\uff22inds (fullwidth B)", HC("{'\\uff22inds':['/:/h']}"), MSG("inds")),
    INV("host_config: Bi\\u200bnds (zero-width space)", HC("{'Bi\\u200bnds':['/:/h']}"),
        MSG("nds")),
    INV("mounts[0]: type/source/target",
        MNT("{'type':'bind','source':'/','target':'/h'}"), MSG2("mounts[0]", "type")),
    INV("mounts[0]: source", MNT("{'Type':'bind','source':'/','Target':'/h'}"),
        MSG2("mounts[0]", "source")),
    INV("mounts[0]: target", MNT("{'Type':'bind','Source':'/','target':'/h'}"),
        MSG2("mounts[0]", "target")),
    INV("mounts[0]: TYPE", MNT("{'TYPE':'bind','Source':'/','Target':'/h'}"),
        MSG2("mounts[0]", "type")),
    INV("mounts[0]: \\u017fource (long s)", MNT("{'Type':'bind','\\u017fource':'/','Target':'/h'}"),
        MSG2("mounts[0]", "ource")),
    INV("mounts[0]: Readonly (with Source /)",
        MNT("{'Type':'bind','Source':'/','Target':'/h','Readonly':true}"),
        MSG2("mounts[0]", "Readonly")),
    INV("mounts[0]: volumeOptions",
        MNT("{'Type':'volume','Source':'@T@-v6','Target':'/d','volumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'/'}}}}"),
        MSG2("mounts[0]", "volumeOptions")),
    INV("mounts[0].VolumeOptions: driverConfig",
        MNT("{'Type':'volume','Source':'@T@-v7','Target':'/d','VolumeOptions':{'driverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'/'}}}}"),
        MSG2("mounts[0]", "driverConfig")),
    INV("mounts[0].VolumeOptions.DriverConfig: options",
        MNT("{'Type':'volume','Source':'@T@-v8','Target':'/d','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','options':{'type':'none','o':'bind','device':'/'}}}}"),
        MSG2("mounts[0]", "options")),
    INV("mounts[0]: VolumeOption\\u017f (long s)",
        MNT("{'Type':'volume','Source':'@T@-v9','Target':'/d','VolumeOption\\u017f':"
            "{'DriverConfig':{'Name':'local','Options':{'type':'none','o':'bind','device':'/'}}}}"),
        MSG2("mounts[0]", "VolumeOption")),
    INV("mounts[0]: bindOptions",
        MNT("{'Type':'bind','Source':'@D@','Target':'/d','bindOptions':{'Propagation':'rshared'}}"),
        MSG2("mounts[0]", "bindOptions")),
    INV("mounts[0].BindOptions: propagation",
        MNT("{'Type':'bind','Source':'@D@','Target':'/d','BindOptions':{'propagation':'rshared'}}"),
        MSG2("mounts[0]", "propagation")),
    INV("mounts[0]: tmpfsOptions",
        MNT("{'Type':'tmpfs','Target':'/s','tmpfsOptions':{'Mode':511}}"),
        MSG2("mounts[0]", "tmpfsOptions")),

    /* Values of the wrong type. */
    INV("Memory as a string", HC("{'Memory':'134217728'}"), MSG("Memory")),
    INV("Memory 1e300", HC("{'Memory':1e300}"), MSG("Memory")),
    INV("Memory 1e18 (over 999,999,999,999,999)", HC("{'Memory':1000000000000000000}"),
        MSG("Memory")),
    INV("Memory fractional", HC("{'Memory':134217728.5}"), MSG("Memory")),
    INV("Memory negative", HC("{'Memory':-1}"), MSG("Memory")),
    INV("Memory true", HC("{'Memory':true}"), MSG("Memory")),
    INV("Memory []", HC("{'Memory':[]}"), MSG("Memory")),
    INV("Memory {}", HC("{'Memory':{}}"), MSG("Memory")),
    INV("NanoCpus fractional", HC("{'NanoCpus':1.5}"), MSG("NanoCpus")),
    INV("NanoCpus as a string", HC("{'NanoCpus':'1000000000'}"), MSG("NanoCpus")),
    INV("NanoCpus negative", HC("{'NanoCpus':-1000000000}"), MSG("NanoCpus")),
    INV("ShmSize negative", HC("{'ShmSize':-1}"), MSG("ShmSize")),
    INV("PidsLimit 1e16", HC("{'PidsLimit':1e16}"), MSG("PidsLimit")),
    INV("PidsLimit fractional", HC("{'PidsLimit':0.5}"), MSG("PidsLimit")),
    INV("Privileged as a string", HC("{'Privileged':'true'}"), MSG("Privileged")),
    INV("Privileged as a number", HC("{'Privileged':1}"), MSG("Privileged")),
    INV("ReadonlyRootfs as a string", HC("{'ReadonlyRootfs':'false'}"), MSG("ReadonlyRootfs")),
    INV("Init as a string", HC("{'Init':'yes'}"), MSG("Init")),
    INV("Binds as a string", HC("{'Binds':'/:/h'}"), MSG("Binds")),
    INV("Binds holding a number", HC("{'Binds':[1]}"), MSG("Binds")),
    INV("Binds holding a list", HC("{'Binds':[['/:/h']]}"), MSG("Binds")),
    INV("CapAdd as a string", HC("{'CapAdd':'SYS_ADMIN'}"), MSG("CapAdd")),
    INV("CapDrop as a string", HC("{'CapDrop':'ALL'}"), MSG("CapDrop")),
    INV("SecurityOpt as a string", HC("{'SecurityOpt':'seccomp=unconfined'}"),
        MSG("SecurityOpt")),
    INV("Sysctls as a list", HC("{'Sysctls':['net.ipv4.ip_forward=1']}"), MSG("Sysctls")),
    INV("Sysctls value a number", HC("{'Sysctls':{'net.ipv4.ip_forward':1}}"), MSG("Sysctls")),
    INV("Tmpfs value a bool", HC("{'Tmpfs':{'/scratch':true}}"), MSG("Tmpfs")),
    INV("Tmpfs as a list", HC("{'Tmpfs':['/scratch']}"), MSG("Tmpfs")),
    INV("Ulimits as an object", HC("{'Ulimits':{'nofile':1024}}"), MSG("Ulimits")),
    INV("Ulimits Soft as a string",
        HC("{'Ulimits':[{'Name':'nofile','Soft':'1024','Hard':1024}]}"), MSG("Ulimits")),
    INV("Ulimits Hard fractional",
        HC("{'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':2048.5}]}"), MSG("Ulimits")),
    INV("LogConfig as a string", HC("{'LogConfig':'syslog'}"), MSG("LogConfig")),
    INV("LogConfig.Config value a number",
        HC("{'LogConfig':{'Type':'json-file','Config':{'max-size':10}}}"), MSG("LogConfig")),
    INV("mounts[0].ReadOnly as a string",
        MNT("{'Type':'volume','Source':'@T@-v10','Target':'/d','ReadOnly':'true'}"),
        MSG("mounts[0]")),
    INV("mounts[0].Type a number", MNT("{'Type':1,'Source':'/','Target':'/h'}"),
        MSG("mounts[0]")),
    INV("mounts[0].Source a list", MNT("{'Type':'bind','Source':['/'],'Target':'/h'}"),
        MSG("mounts[0]")),
    INV("mounts[0] DriverConfig.Options value a list",
        MNT("{'Type':'volume','Source':'@T@-v11','Target':'/d','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'device':['/']}}}}"),
        MSG("mounts[0]")),
    INV("mounts[0].TmpfsOptions.SizeBytes fractional",
        MNT("{'Type':'tmpfs','Target':'/s','TmpfsOptions':{'SizeBytes':1.5}}"), MSG("mounts[0]")),
};

/* ================================================================== class 2: the allowlist */

static const esc_case denied_fields[] = {
    DEN("Privileged", HC("{'Privileged':true}"), MSG2("Privileged", "allow.privileged")),
    DEN("CapAdd SYS_ADMIN", HC("{'CapAdd':['SYS_ADMIN']}"), MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd ALL", HC("{'CapAdd':['ALL']}"), MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd all", HC("{'CapAdd':['all']}"), MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd CAP_SYS_ADMIN", HC("{'CapAdd':['CAP_SYS_ADMIN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd sys_admin", HC("{'CapAdd':['sys_admin']}"), MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd SYS_PTRACE", HC("{'CapAdd':['SYS_PTRACE']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd NET_ADMIN (not listed)", HC("{'CapAdd':['NET_ADMIN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd CHOWN (in Docker's default set, still an addition)", HC("{'CapAdd':['CHOWN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd second entry SYS_MODULE", HC("{'CapAdd':['NET_RAW','SYS_MODULE']}"),
        MSG2("CapAdd", "allow.capabilities")),
    REF("Capabilities (the whole set, API 1.40)", HC("{'Capabilities':['CAP_SYS_ADMIN']}"),
        MSG("Capabilities")),
    DEN("SecurityOpt seccomp=unconfined", HC("{'SecurityOpt':['seccomp=unconfined']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt seccomp:unconfined (old separator)",
        HC("{'SecurityOpt':['seccomp:unconfined']}"), MSG("SecurityOpt")),
    DEN("SecurityOpt inline seccomp profile SCMP_ACT_ALLOW",
        HC("{'SecurityOpt':['seccomp={\\'defaultAction\\':\\'SCMP_ACT_ALLOW\\'}']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt seccomp=<name not configured>", HC("{'SecurityOpt':['seccomp=strict']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt apparmor=unconfined", HC("{'SecurityOpt':['apparmor=unconfined']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt apparmor:unconfined", HC("{'SecurityOpt':['apparmor:unconfined']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt apparmor=docker-default (not listed)",
        HC("{'SecurityOpt':['apparmor=docker-default']}"), MSG("SecurityOpt")),
    DEN("SecurityOpt label=disable", HC("{'SecurityOpt':['label=disable']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt label:disable", HC("{'SecurityOpt':['label:disable']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt label=type:spc_t", HC("{'SecurityOpt':['label=type:spc_t']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt systempaths=unconfined", HC("{'SecurityOpt':['systempaths=unconfined']}"),
        MSG("SecurityOpt")),
    DEN("SecurityOpt second entry seccomp=unconfined",
        HC("{'SecurityOpt':['no-new-privileges','seccomp=unconfined']}"), MSG("SecurityOpt")),
    DEN("PidMode host", HC("{'PidMode':'host'}"), MSG2("PidMode", "allow.host_namespaces")),
    DEN("PidMode container:x", HC("{'PidMode':'container:x'}"),
        MSG2("PidMode", "allow.host_namespaces")),
    DEN("IpcMode host", HC("{'IpcMode':'host'}"), MSG2("IpcMode", "allow.host_namespaces")),
    DEN("IpcMode container:x", HC("{'IpcMode':'container:x'}"),
        MSG2("IpcMode", "allow.host_namespaces")),
    DEN("UTSMode host", HC("{'UTSMode':'host'}"), MSG2("UTSMode", "allow.host_namespaces")),
    DEN("UsernsMode host", HC("{'UsernsMode':'host'}"),
        MSG2("UsernsMode", "allow.host_namespaces")),
    DEN("CgroupnsMode host", HC("{'CgroupnsMode':'host'}"),
        MSG2("CgroupnsMode", "allow.host_namespaces")),
    DEN("VolumesFrom", HC("{'VolumesFrom':['x']}"), MSG2("VolumesFrom", "allow.host_namespaces")),
    DEN("VolumesFrom :rw", HC("{'VolumesFrom':['x:rw']}"),
        MSG2("VolumesFrom", "allow.host_namespaces")),
    DEN("Devices /dev/kmsg",
        HC("{'Devices':[{'PathOnHost':'/dev/kmsg','PathInContainer':'/dev/kmsg',"
           "'CgroupPermissions':'rwm'}]}"),
        MSG2("Devices", "allow.devices")),
    DEN("Devices /dev/mem",
        HC("{'Devices':[{'PathOnHost':'/dev/mem','PathInContainer':'/dev/mem',"
           "'CgroupPermissions':'r'}]}"),
        MSG2("Devices", "allow.devices")),
    DEN("DeviceCgroupRules a *:* rwm", HC("{'DeviceCgroupRules':['a *:* rwm']}"),
        MSG2("DeviceCgroupRules", "allow.devices")),
    DEN("DeviceCgroupRules c 1:* rwm", HC("{'DeviceCgroupRules':['c 1:* rwm']}"),
        MSG2("DeviceCgroupRules", "allow.devices")),
    DEN("DeviceRequests nvidia",
        HC("{'DeviceRequests':[{'Driver':'nvidia','Count':-1,'Capabilities':[['gpu']]}]}"),
        MSG2("DeviceRequests", "allow.device")),
    DEN("Sysctls kernel.shm_rmid_forced", HC("{'Sysctls':{'kernel.shm_rmid_forced':'1'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls kernel.core_pattern", HC("{'Sysctls':{'kernel.core_pattern':'|/tmp/x'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls kernel.msgmax", HC("{'Sysctls':{'kernel.msgmax':'65536'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls net.ipv4.ip_forward", HC("{'Sysctls':{'net.ipv4.ip_forward':'1'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls net.core.somaxconn", HC("{'Sysctls':{'net.core.somaxconn':'1024'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls net.ipv4.ip_unprivileged_port_start",
        HC("{'Sysctls':{'net.ipv4.ip_unprivileged_port_start':'0'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls fs.mqueue.msg_max", HC("{'Sysctls':{'fs.mqueue.msg_max':'100'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Runtime runc", HC("{'Runtime':'runc'}"), MSG2("Runtime", "allow.runtimes")),
    DEN("Runtime io.containerd.runc.v2", HC("{'Runtime':'io.containerd.runc.v2'}"),
        MSG2("Runtime", "allow.runtimes")),
    DEN("MaskedPaths []", HC("{'MaskedPaths':[]}"), MSG2("MaskedPaths", "allow.masked_paths")),
    DEN("ReadonlyPaths []", HC("{'ReadonlyPaths':[]}"),
        MSG2("ReadonlyPaths", "allow.masked_paths")),
    DEN("MaskedPaths [] and ReadonlyPaths []", HC("{'MaskedPaths':[],'ReadonlyPaths':[]}"),
        MSG("allow.masked_paths")),
    DEN("MaskedPaths one path", HC("{'MaskedPaths':['/proc/kcore']}"),
        MSG2("MaskedPaths", "allow.masked_paths")),
    DEN("CgroupParent /", HC("{'CgroupParent':'/'}"), MSG2("CgroupParent", "allow.cgroup")),
    DEN("CgroupParent system.slice", HC("{'CgroupParent':'system.slice'}"),
        MSG2("CgroupParent", "allow.cgroup")),
    DEN("Cgroup container:x", HC("{'Cgroup':'container:x'}"), MSG2("Cgroup", "allow.cgroup")),
    DEN("OomScoreAdj -1000", HC("{'OomScoreAdj':-1000}"), MSG2("OomScoreAdj", "allow.cgroup")),
    DEN("OomScoreAdj -500", HC("{'OomScoreAdj':-500}"), MSG2("OomScoreAdj", "allow.cgroup")),
    DEN("OomKillDisable", HC("{'OomKillDisable':true}"), MSG2("OomKillDisable", "allow.cgroup")),
    DEN("CpuRealtimeRuntime", HC("{'CpuRealtimeRuntime':950000}"),
        MSG2("CpuRealtimeRuntime", "allow.cgroup")),
    DEN("CpuRealtimePeriod", HC("{'CpuRealtimePeriod':1000000}"),
        MSG2("CpuRealtimePeriod", "allow.cgroup")),
    DEN("BlkioWeight", HC("{'BlkioWeight':500}"), MSG2("BlkioWeight", "allow.cgroup")),
    DEN("BlkioWeightDevice", HC("{'BlkioWeightDevice':[{'Path':'/dev/sda','Weight':500}]}"),
        MSG2("BlkioWeightDevice", "allow.cgroup")),
    DEN("BlkioDeviceReadBps", HC("{'BlkioDeviceReadBps':[{'Path':'/dev/sda','Rate':1048576}]}"),
        MSG2("BlkioDeviceReadBps", "allow.cgroup")),
    DEN("BlkioDeviceWriteIOps", HC("{'BlkioDeviceWriteIOps':[{'Path':'/dev/sda','Rate':100}]}"),
        MSG2("BlkioDeviceWriteIOps", "allow.cgroup")),
    DEN("PortBindings", HC("{'PortBindings':{'80/tcp':[{'HostIp':'0.0.0.0','HostPort':'8080'}]}}"),
        MSG2("PortBindings", "allow.port_bindings")),
    DEN("PublishAllPorts", HC("{'PublishAllPorts':true}"),
        MSG2("PublishAllPorts", "allow.port_bindings")),
    DEN("LogConfig syslog", HC("{'LogConfig':{'Type':'syslog'}}"),
        MSG2("LogConfig", "allow.log_drivers")),
    DEN("LogConfig json-file", HC("{'LogConfig':{'Type':'json-file'}}"),
        MSG2("LogConfig", "allow.log_drivers")),
    DEN("LogConfig local", HC("{'LogConfig':{'Type':'local'}}"),
        MSG2("LogConfig", "allow.log_drivers")),
    DEN("LogConfig gelf to a remote host",
        HC("{'LogConfig':{'Type':'gelf','Config':{'gelf-address':'udp://192.0.2.1:12201'}}}"),
        MSG2("LogConfig", "allow.log_drivers")),
    DEN("Dns", HC("{'Dns':['8.8.8.8']}"), MSG2("Dns", "allow.dns")),
    DEN("DnsOptions", HC("{'DnsOptions':['ndots:1']}"), MSG2("DnsOptions", "allow.dns")),
    DEN("DnsSearch", HC("{'DnsSearch':['example.com']}"), MSG2("DnsSearch", "allow.dns")),
    DEN("ExtraHosts host-gateway", HC("{'ExtraHosts':['host.docker.internal:host-gateway']}"),
        MSG2("ExtraHosts", "allow.dns")),
    DEN("ExtraHosts metadata address", HC("{'ExtraHosts':['metadata:169.254.169.254']}"),
        MSG2("ExtraHosts", "allow.dns")),
    DEN("GroupAdd 0", HC("{'GroupAdd':['0']}"), MSG2("GroupAdd", "allow.group_add")),
    DEN("GroupAdd docker", HC("{'GroupAdd':['docker']}"), MSG2("GroupAdd", "allow.group_add")),
    DEN("VolumeDriver local", HC("{'VolumeDriver':'local'}"),
        MSG2("VolumeDriver", "allow.volume_drivers")),

    /* Named volumes whose driver options bind a host path. */
    DEN("volume DriverConfig type=none,o=bind,device=/",
        MNT("{'Type':'volume','Source':'@T@-s1','Target':'/h','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'/'}}}}"),
        MSG("mounts[0]")),
    DEN("volume DriverConfig device=/var/run",
        MNT("{'Type':'volume','Source':'@T@-s2','Target':'/r','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'/var/run'}}}}"),
        MSG("mounts[0]")),
    DEN("volume DriverConfig o=rbind",
        MNT("{'Type':'volume','Source':'@T@-s3','Target':'/h','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'rbind','device':'/'}}}}"),
        MSG("mounts[0]")),
    DEN("volume DriverConfig upper-case option keys",
        MNT("{'Type':'volume','Source':'@T@-s4','Target':'/h','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'TYPE':'none','O':'bind','DEVICE':'/'}}}}"),
        MSG("mounts[0]")),
    DEN("volume DriverConfig without options",
        MNT("{'Type':'volume','Source':'@T@-s5','Target':'/h','VolumeOptions':{'DriverConfig':"
            "{'Name':'local'}}}"),
        MSG("mounts[0]")),
    DEN("volume DriverConfig another driver",
        MNT("{'Type':'volume','Source':'@T@-s6','Target':'/h','VolumeOptions':{'DriverConfig':"
            "{'Name':'fltest-no-such-driver'}}}"),
        MSG("mounts[0]")),
    REF("volume with a host path as Source", MNT("{'Type':'volume','Source':'/','Target':'/h'}"),
        MSG("mounts[0]")),
    REF("volume with ../ in Source", MNT("{'Type':'volume','Source':'../x','Target':'/h'}"),
        MSG("mounts[0]")),
    REF("mount Type npipe",
        MNT("{'Type':'npipe','Source':'/var/run/docker.sock','Target':'/s'}"),
        MSG("mounts[0]")),
    REF("mount Type BIND", MNT("{'Type':'BIND','Source':'/','Target':'/h'}"), MSG("mounts[0]")),
    REF("mount Type Bind", MNT("{'Type':'Bind','Source':'/','Target':'/h'}"), MSG("mounts[0]")),
    REF("mount Type cluster", MNT("{'Type':'cluster','Source':'x','Target':'/h'}"),
        MSG("mounts[0]")),
    REF("mount Type empty", MNT("{'Type':'','Source':'/','Target':'/h'}"), MSG("mounts[0]")),

    /* Binds of an ordinary directory: no host_binds in the built-in policy. */
    DEN("Binds of the test's directory", HC("{'Binds':['@D@:/d']}"),
        MSG2("Binds", "allow.host_binds")),
    DEN("Binds :z", HC("{'Binds':['@D@:/d:z']}"), MSG("Binds")),
    DEN("Binds :Z", HC("{'Binds':['@D@:/d:Z']}"), MSG("Binds")),
    DEN("Binds :rshared", HC("{'Binds':['@D@:/d:rshared']}"), MSG("Binds")),
    DEN("mount bind BindOptions rshared",
        MNT("{'Type':'bind','Source':'@D@','Target':'/d','BindOptions':{'Propagation':'rshared'}}"),
        MSG("mounts[0]")),
    DEN("Binds second entry /", HC("{'Binds':['@D@:/t','/:/h']}"), MSG("Binds")),

    /* Ulimits: names in the ceilings only, Soft <= Hard <= the ceiling. */
    DEN("Ulimits nofile 2000000",
        HC("{'Ulimits':[{'Name':'nofile','Soft':2000000,'Hard':2000000}]}"), MSG("Ulimits")),
    DEN("Ulimits nofile hard 2000000",
        HC("{'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':2000000}]}"), MSG("Ulimits")),
    DEN("Ulimits nproc over the ceiling",
        HC("{'Ulimits':[{'Name':'nproc','Soft':1048577,'Hard':1048577}]}"), MSG("Ulimits")),
    DEN("Ulimits core", HC("{'Ulimits':[{'Name':'core','Soft':0,'Hard':0}]}"), MSG("Ulimits")),
    DEN("Ulimits memlock unlimited",
        HC("{'Ulimits':[{'Name':'memlock','Soft':-1,'Hard':-1}]}"), MSG("Ulimits")),
    DEN("Ulimits rtprio", HC("{'Ulimits':[{'Name':'rtprio','Soft':99,'Hard':99}]}"),
        MSG("Ulimits")),
    DEN("Ulimits msgqueue", HC("{'Ulimits':[{'Name':'msgqueue','Soft':1,'Hard':1}]}"),
        MSG("Ulimits")),
    REF("Ulimits soft above hard", HC("{'Ulimits':[{'Name':'nofile','Soft':2048,'Hard':1024}]}"),
        MSG("Ulimits")),
    REF("Ulimits nofile -1", HC("{'Ulimits':[{'Name':'nofile','Soft':-1,'Hard':-1}]}"),
        MSG("Ulimits")),
    REF("Ulimits second entry over the ceiling",
        HC("{'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':1024},"
           "{'Name':'stack','Soft':1099511627776,'Hard':1099511627776}]}"),
        MSG("Ulimits")),

    /* Tmpfs: clean absolute targets outside /proc and /sys; a fixed set of options. */
    DEN("Tmpfs on /proc/x", HC("{'Tmpfs':{'/proc/x':''}}"), MSG("Tmpfs")),
    DEN("Tmpfs on /proc", HC("{'Tmpfs':{'/proc':''}}"), MSG("Tmpfs")),
    DEN("Tmpfs on /sys/fs/cgroup", HC("{'Tmpfs':{'/sys/fs/cgroup':''}}"), MSG("Tmpfs")),
    DEN("Tmpfs option dev", HC("{'Tmpfs':{'/scratch':'dev'}}"), MSG("Tmpfs")),
    DEN("Tmpfs option suid", HC("{'Tmpfs':{'/scratch':'suid'}}"), MSG("Tmpfs")),
    DEN("Tmpfs options size=1m,dev", HC("{'Tmpfs':{'/scratch':'size=1m,dev'}}"), MSG("Tmpfs")),
    DEN("Tmpfs option context=", HC("{'Tmpfs':{'/scratch':'context=system_u:object_r:x'}}"),
        MSG("Tmpfs")),
    REF("Tmpfs relative target", HC("{'Tmpfs':{'scratch':''}}"), MSG("Tmpfs")),
    REF("Tmpfs target /scratch/../proc", HC("{'Tmpfs':{'/scratch/../proc':''}}"), MSG("Tmpfs")),
    DEN("mount tmpfs on /proc/x", MNT("{'Type':'tmpfs','Target':'/proc/x'}"), MSG("mounts[0]")),
    DEN("mount tmpfs on /sys/kernel", MNT("{'Type':'tmpfs','Target':'/sys/kernel'}"),
        MSG("mounts[0]")),
    REF("mount tmpfs on /proc/../proc/x", MNT("{'Type':'tmpfs','Target':'/proc/../proc/x'}"),
        MSG("mounts[0]")),

    /* Fields flamed owns, and fields it does not support. */
    INV("NetworkMode host", HC("{'NetworkMode':'host'}"), MSG("NetworkMode")),
    INV("NetworkMode container:x", HC("{'NetworkMode':'container:x'}"), MSG("NetworkMode")),
    INV("NetworkMode none", HC("{'NetworkMode':'none'}"), MSG("NetworkMode")),
    INV("RestartPolicy always", HC("{'RestartPolicy':{'Name':'always'}}"), MSG("RestartPolicy")),
    INV("AutoRemove", HC("{'AutoRemove':true}"), MSG("AutoRemove")),
    INV("Links", HC("{'Links':['x:y']}"), MSG("Links")),
    INV("Mounts inside host_config",
        HC("{'Mounts':[{'Type':'bind','Source':'/','Target':'/h'}]}"), MSG("Mounts")),
    INV("Hostname in host_config", HC("{'Hostname':'evil'}"), MSG("Hostname")),
    INV("KernelMemory", HC("{'KernelMemory':67108864}"), MSG("KernelMemory")),
    INV("KernelMemoryTCP", HC("{'KernelMemoryTCP':67108864}"), MSG("KernelMemoryTCP")),
    INV("ContainerIDFile", HC("{'ContainerIDFile':'/tmp/x'}"), MSG("ContainerIDFile")),
    INV("Isolation", HC("{'Isolation':'hyperv'}"), MSG("Isolation")),
    REF("StorageOpt", HC("{'StorageOpt':{'size':'1G'}}"), MSG("StorageOpt")),
    REF("CpuCount (Windows)", HC("{'CpuCount':4}"), MSG("CpuCount")),

    /* Invalid UTF-8: Go reads U+FFFD where a byte-wise check reads a byte. */
    INV("Binds with \\xff", HC("{'Binds':['/tmp/\xff:/t']}"), MSG("Binds")),
    INV("Binds with an overlong '/' (\\xc0\\xaf)", HC("{'Binds':['/\xc0\xaf:/h']}"),
        MSG("Binds")),
    INV("key with \\xff", HC("{'Bi\xff" "nds':['/:/h']}"), MSG("host_config")),
    INV("SecurityOpt with \\xff", HC("{'SecurityOpt':['no-new-privileges\xff']}"),
        MSG("SecurityOpt")),
    INV("Sysctls key with \\xfe", HC("{'Sysctls':{'net.\xfe':'1'}}"), MSG("Sysctls")),
    INV("mounts[0].Source truncated sequence \\xc3",
        MNT("{'Type':'bind','Source':'/tmp/\xc3','Target':'/t'}"), MSG("mounts[0]")),
    INV("mounts[0] key with \\xff", MNT("{'Ty\xff" "pe':'bind','Source':'/','Target':'/h'}"),
        MSG("mounts[0]")),
    INV("env value with \\xff", .env = {"FOO", "a\xff"}, MSG("env")),
    INV("env key with \\xff", .env = {"K\xff", "1"}, MSG("env")),
    INV("label value with \\xc3\\x28", .labels = {"team", "\xc3\x28"}, MSG("labels")),
    INV("label key with a truncated sequence", .labels = {"k\xe2\x82", "1"}, MSG("labels")),

    /* Labels under flamed. and env keys are flamed's or malformed. */
    INV("label flamed.managed-by", .labels = {"flamed.managed-by", "x"}, MSG("flamed.")),
    INV("label flamed.pool", .labels = {"flamed.pool", "other"}, MSG("flamed.")),
    INV("label flamed.runner-id", .labels = {"flamed.runner-id", "0123456789abcdef"},
        MSG("flamed.")),
    INV("label flamed.keep", .labels = {"flamed.keep", "1"}, MSG("flamed.")),
    INV("env key with =", .env = {"A=B", "1"}, MSG("env")),
    INV("env key empty", .env = {"", "1"}, MSG("env")),

    /* The network field becomes NetworkMode. */
    INV("network container:x", .network = "container:x", MSG("network")),
    REF("network host (the host's network namespace)", .network = "host", MSG("network")),

    /* Malformed image references: refused up front, never pulled. */
    INV("image UPPER/x", .image = "UPPER/x", MSG("image")),
    INV("image a//b", .image = "a//b", MSG("image")),
    INV("image app:", .image = "app:", MSG("image")),
    INV("image app@sha256:zz", .image = "app@sha256:zz", MSG("image")),
    INV("image app@", .image = "app@", MSG("image")),
    INV("image :latest", .image = ":latest", MSG("image")),
    INV("image -app", .image = "-app", MSG("image")),
    INV("image with a space", .image = "app:tag with space", MSG("image")),
    INV("image a/../b", .image = "a/../b", MSG("image")),
    INV("image app:-tag", .image = "app:-tag", MSG("image")),
    INV("image a..b", .image = "a..b", MSG("image")),
    INV("image empty", .image = "", MSG("image")),
};

/*
 * Host paths: each is tried as a Binds source and as a mount of Type bind.
 * The built-in policy has no host_binds, so every one is denied; the
 * interesting part is that none gets through by spelling.
 */
static const char *const host_paths[] = {
    "/", "//", "/.", "/./", "/etc", "/etc/", "//etc//", "/./etc", "/etc/.", "/proc",
    "/proc/1/root", "/sys/fs/cgroup", "/sys", "/dev", "/root", "/boot",
    "/run/docker/containerd/containerd.sock", "/run/docker", "/run/docker/",
    "/var/run/docker.sock", "/run/docker.sock", "/var/run/./docker.sock", "/run", "/var/run",
    "/var", "/var/lib/docker", "/var/lib/containerd", "/tmp/..", "/tmp/../", "/tmp/../etc",
    "@D@/link-root", "@D@/link-root/etc", "@D@/link-sock", "@D@/missing/../../..",
    "/fltest-no-such-dir/..", "@D@/./missing/../../../",
};

/* switch: the policy switch the message must name, NULL when none could allow
 * the path (under host_binds, "/" or the Docker socket is never allowed). */
static void run_host_paths(fl_env *e, const char *const *paths, size_t n, const char *label,
                           const char *sw)
{
    R.cls = 2;
    for (size_t i = 0; i < n; i++) {
        char name[2][200], hc[600], mnt[600];
        snprintf(name[0], sizeof(name[0]), "%sBinds %s", label, paths[i]);
        snprintf(name[1], sizeof(name[1]), "%smount bind %s", label, paths[i]);
        snprintf(hc, sizeof(hc), "{'Binds':['%s:/h']}", paths[i]);
        snprintf(mnt, sizeof(mnt), "{'Type':'bind','Source':'%s','Target':'/h'}", paths[i]);
        esc_case c[2] = {
            DEN(name[0], HC(hc), MSG2("Binds", sw)),
            DEN(name[1], MNT(mnt), MSG2("mounts[0]", sw)),
        };
        run_case(e, NULL, &c[0]);
        run_case(e, NULL, &c[1]);
    }
}

/* ================================================================== class 3: nesting */

static void alive(fl_env *e, const char *name)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int rc = flame_client_list(e->client, NULL, &rs, &n, &st);
    flame_runner_list_free(rs, n);
    check(rc == 0, name, "flamed does not answer List: %s (%s)", st.message, st.reason);
}

static void run_deep_raw(fl_env *e, const char *name, int field, size_t depth, int lists)
{
    rbuf s;
    deep_struct(&s, depth, lists);
    flx_boot *b = flx_boot_new(e);
    uint8_t *req = NULL;
    size_t len = boot_with_raw_struct(b, field, &s, &req);
    char request[200];
    snprintf(request, sizeof(request), "%zu raw bytes: %s nested %zu deep in %s", len,
             lists ? "lists" : "Structs", depth, field == 6 ? "host_config" : "mounts[0]");
    snap before;
    take(e, &before);
    flame_status st;
    int code = flx_call(e, &R.t, BOOT, req, len, NULL, NULL, NULL, &st);
    char msg[2][256] = {"", ""};
    judge(e, name, W_INVALID, msg, code, &st, &before, request);
    char after[200];
    snprintf(after, sizeof(after), "%s: flamed still answers List", name);
    alive(e, after);
    free(req);
    free(s.b);
    flx_boot_free(b);
}

/* {"LogConfig": {"Type": "json-file", "Config": {"a": {"a": ... "x"}}}} or
 * {"Binds": [[...["/:/h"]...]]}, `depth` levels, as JSON text. */
static char *deep_json(size_t depth, int binds)
{
    size_t cap = depth * 16 + 256, w = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    w += (size_t)snprintf(s + w, cap - w, "%s",
                          binds ? "{\"Binds\": " : "{\"LogConfig\": {\"Type\": \"json-file\", "
                                                   "\"Config\": ");
    for (size_t i = 0; i < depth; i++)
        w += (size_t)snprintf(s + w, cap - w, "%s", binds ? "[" : "{\"a\": ");
    w += (size_t)snprintf(s + w, cap - w, "%s", binds ? "\"/:/h\"" : "\"x\"");
    for (size_t i = 0; i < depth; i++)
        w += (size_t)snprintf(s + w, cap - w, "%s", binds ? "]" : "}");
    snprintf(s + w, cap - w, "%s", binds ? "}" : "}}");
    return s;
}

static void run_deep_json(fl_env *e, const char *name, size_t depth, int binds)
{
    char *json = deep_json(depth, binds);
    flx_boot *b = flx_boot_new(e);
    flx_boot_host_config(b, json);
    snap before;
    take(e, &before);
    flame_status st;
    char id[40];
    int code = flx_boot_call(e, &R.t, b, id, sizeof(id), &st);
    char msg[2][256] = {"", ""};
    char request[160];
    snprintf(request, sizeof(request), "host_config nested %zu deep (%zu bytes of JSON)", depth,
             strlen(json));
    judge(e, name, W_INVALID, msg, code, &st, &before, request);
    flx_boot_free(b);
    free(json);
}

/* ================================================================== the tests */

/* Preconditions of the table: a JSON text with a repeated key becomes a
 * Struct with both entries, and both reach the wire. */
static void assert_duplicates_reach_the_wire(void)
{
    Google__Protobuf__Struct *s =
        flx_struct_from_json("{\"Binds\": [\"/tmp:/t\"], \"Binds\": [\"/:/h\"]}");
    assert_int_equal(s->n_fields, 2);
    size_t len = protobuf_c_message_get_packed_size(&s->base);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(&s->base, buf);
    Google__Protobuf__Struct *u = google__protobuf__struct__unpack(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->n_fields, 2);
    assert_string_equal(u->fields[0]->key, "Binds");
    assert_string_equal(u->fields[1]->key, "Binds");
    google__protobuf__struct__free_unpacked(u, NULL);
    free(buf);
    flx_struct_free(s);
}

static void escape_matrix_builtin_policy(void **state)
{
    fl_env *e = begin(state, NULL, NULL);
    assert_duplicates_reach_the_wire();
    char p[300];
    snprintf(p, sizeof(p), "%s/link-root", R.dir);
    symlink_or_fail("/", p);
    snprintf(p, sizeof(p), "%s/link-sock", R.dir);
    symlink_or_fail("/var/run/docker.sock", p);

    run_table(e, 1, NULL, two_readings, sizeof(two_readings) / sizeof(two_readings[0]));
    run_table(e, 2, NULL, denied_fields, sizeof(denied_fields) / sizeof(denied_fields[0]));
    run_host_paths(e, host_paths, sizeof(host_paths) / sizeof(host_paths[0]), "",
                   "allow.host_binds");

    R.cls = 3;
    run_deep_raw(e, "3,000 nested Structs in host_config (raw)", 6, 3000, 0);
    run_deep_raw(e, "3,000 nested Structs in mounts[0] (raw)", 7, 3000, 0);
    run_deep_raw(e, "3,000 nested lists in host_config.Binds (raw)", 6, 3000, 1);
    run_deep_raw(e, "100 nested Structs in host_config (raw)", 6, 100, 0);
    run_deep_json(e, "40 nested objects in LogConfig.Config", 40, 0);
    run_deep_json(e, "40 nested lists in Binds", 40, 1);
    /* Under limits.max_depth: the typed decoder refuses what the schema does not nest. */
    run_deep_json(e, "5 nested objects in LogConfig.Config (under max_depth)", 5, 0);
    run_deep_json(e, "5 nested lists in Binds (under max_depth)", 5, 1);

    flx_wait_managed(e, 0, 10000, "after the matrix");
    report("escape matrix, built-in policy");
    if (R.failed)
        fail_msg("%d of %d escape-matrix cases failed (each printed above as FAIL)", R.failed,
                 R.cases);
    flx_pass(e);
}

/*
 * With a policy file: binds under an allowed prefix that resolve outside it,
 * bind options, what the allow switches turn on (and only that), and the
 * legitimate uses, booted and checked in Docker's HostConfig.
 */
static const char policy_allow[] =
    "{'allow': {'host_binds': ['@A@'], 'capabilities': ['NET_ADMIN'],"
    "           'sysctls': ['net.ipv4.ip_local_port_range']},"
    " 'pools': {'@T@-gpu': {'allow': {'device_requests': true}}}}";

static const char *const prefix_escapes[] = {
    "@A@/..", "@A@/../..", "@A@/sub/../..", "@A@/sub/../../..", "@A@/link-root",
    "@A@/link-root/etc", "@A@/link-etc", "@A@/link-up", "@A@/link-sock", "@A@/link-chain",
    "@A@/./link-root/", "@A@/missing/../../..", "@A@-evil", "@A@/../allowed-evil", "@A@/sock",
    "@A@/dev-null", "@D@", "/tmp", "/",
};

static const esc_case policy_cases[] = {
    /* Bind options and propagation on an allowed path. */
    REF("Binds allowed path :z", HC("{'Binds':['@A@/sub:/d:z']}"), MSG("Binds")),
    REF("Binds allowed path :Z", HC("{'Binds':['@A@/sub:/d:Z']}"), MSG("Binds")),
    REF("Binds allowed path :rshared", HC("{'Binds':['@A@/sub:/d:rshared']}"), MSG("Binds")),
    REF("Binds allowed path :shared", HC("{'Binds':['@A@/sub:/d:ro,shared']}"), MSG("Binds")),
    REF("mount bind allowed path, Propagation rshared",
        MNT("{'Type':'bind','Source':'@A@/sub','Target':'/d','BindOptions':"
            "{'Propagation':'rshared'}}"),
        MSG("mounts[0]")),
    DEN("Binds allowed, then /", HC("{'Binds':['@A@/sub:/d','/:/h']}"), MSG("Binds[1]")),
    DEN("volume DriverConfig binding an allowed path",
        MNT("{'Type':'volume','Source':'@T@-p1','Target':'/d','VolumeOptions':{'DriverConfig':"
            "{'Name':'local','Options':{'type':'none','o':'bind','device':'@A@/sub'}}}}"),
        MSG("mounts[0]")),
    /* The switches turn on what they name, and only that. */
    DEN("CapAdd SYS_ADMIN (only NET_ADMIN listed)", HC("{'CapAdd':['SYS_ADMIN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd NET_ADMIN and SYS_ADMIN", HC("{'CapAdd':['NET_ADMIN','SYS_ADMIN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("CapAdd ALL (not listed)", HC("{'CapAdd':['ALL']}"), MSG2("CapAdd", "allow.capabilities")),
    DEN("Sysctls kernel.shm_rmid_forced (not listed)",
        HC("{'Sysctls':{'kernel.shm_rmid_forced':'1'}}"), MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls net.ipv4.ip_forward (not listed)", HC("{'Sysctls':{'net.ipv4.ip_forward':'1'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("Sysctls listed + unlisted",
        HC("{'Sysctls':{'net.ipv4.ip_local_port_range':'32768 60999','net.ipv4.ip_forward':'1'}}"),
        MSG2("Sysctls", "allow.sysctls")),
    DEN("DeviceRequests outside the GPU pool",
        HC("{'DeviceRequests':[{'Driver':'nvidia','Count':-1,'Capabilities':[['gpu']]}]}"),
        MSG2("DeviceRequests", "allow.device")),
    DEN("Privileged (not switched on)", HC("{'Privileged':true}"),
        MSG2("Privileged", "allow.privileged")),
    INV("host_config: binds under the allowed prefix (spelling)",
        HC("{'binds':['@A@/sub:/d']}"), MSG("binds")),
    INV("host_config: Binds twice, allowed then /",
        HC("{'Binds':['@A@/sub:/d'],'Binds':['/:/h']}"), MSG("Binds")),
};

/* In the GPU pool, only device_requests is switched on. */
static const esc_case gpu_pool_cases[] = {
    DEN("GPU pool: Devices", HC("{'Devices':[{'PathOnHost':'/dev/kmsg',"
                                "'PathInContainer':'/dev/kmsg','CgroupPermissions':'r'}]}"),
        MSG2("Devices", "allow.devices")),
    DEN("GPU pool: CapAdd SYS_ADMIN", HC("{'CapAdd':['SYS_ADMIN']}"),
        MSG2("CapAdd", "allow.capabilities")),
    DEN("GPU pool: Privileged", HC("{'Privileged':true}"), MSG2("Privileged", "allow.privileged")),
    DEN("GPU pool: DeviceCgroupRules", HC("{'DeviceCgroupRules':['c 195:* rwm']}"),
        MSG2("DeviceCgroupRules", "allow.devices")),
};

/* Boot a legitimate request (table notation); @return 1 and the id when it booted. */
static int boot_ok(fl_env *e, const char *name, const char *pool, const char *hc,
                   const char *const *mounts, char *id, size_t idlen)
{
    char text[4096];
    flx_boot *b = flx_boot_new(e);
    if (pool)
        b->req.pool = (char *)pool;
    if (hc) {
        expand(e, hc, text, sizeof(text));
        flx_boot_host_config(b, text);
    }
    for (size_t i = 0; mounts && mounts[i]; i++) {
        expand(e, mounts[i], text, sizeof(text));
        flx_boot_mount(b, text);
    }
    flame_status st;
    int code = flx_boot_call(e, &R.t, b, id, idlen, &st);
    flx_boot_free(b);
    return check(code == GS_OK && id[0], name, "expected OK, got %s reason=%s message=\"%s\"",
                 flame_grpc_status_name(code), st.reason, st.message);
}

static void legit_limits(fl_env *e)
{
    static const char *const mounts[] = {
        "{'Type':'tmpfs','Target':'/scratch2','TmpfsOptions':{'SizeBytes':16777216}}",
        "{'Type':'volume','Source':'@T@-vol','Target':'/vol'}",
        NULL,
    };
    char id[40], vol[64];
    snprintf(vol, sizeof(vol), "%s-vol", e->tag);
    const char *n = "legit: limits, ulimits, tmpfs, read-only, init, CapDrop, no-new-privileges, "
                    "named volume";
    if (!boot_ok(e, n, NULL,
                 "{'Memory':134217728,'NanoCpus':500000000,'PidsLimit':128,"
                 "'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':2048}],'ShmSize':67108864,"
                 "'Tmpfs':{'/scratch':'size=64m,noexec'},'ReadonlyRootfs':true,'Init':true,"
                 "'CapDrop':['NET_RAW'],'SecurityOpt':['no-new-privileges']}",
                 mounts, id, sizeof(id))) {
        remove_run_volumes(e);
        return;
    }
    cJSON *j = inspect_runner(e, NULL, id);
    char *hc = hc_text(j);
    check(hc_int(j, "Memory") == 134217728, "legit: Memory in Docker", "HostConfig %s", hc);
    check(hc_int(j, "NanoCpus") == 500000000, "legit: NanoCpus in Docker", "HostConfig %s", hc);
    check(hc_int(j, "PidsLimit") == 128, "legit: PidsLimit in Docker", "HostConfig %s", hc);
    check(hc_int(j, "ShmSize") == 67108864, "legit: ShmSize in Docker", "HostConfig %s", hc);
    const cJSON *ul = cJSON_GetArrayItem(fl_json_path(j, "HostConfig.Ulimits"), 0);
    const cJSON *uname = cJSON_GetObjectItemCaseSensitive(ul, "Name");
    check(cJSON_GetArraySize(fl_json_path(j, "HostConfig.Ulimits")) == 1 &&
              cJSON_IsString(uname) && strcmp(uname->valuestring, "nofile") == 0 &&
              fl_json_path(ul, "Soft") && fl_json_path(ul, "Soft")->valuedouble == 1024 &&
              fl_json_path(ul, "Hard") && fl_json_path(ul, "Hard")->valuedouble == 2048,
          "legit: Ulimits nofile 1024/2048 in Docker", "HostConfig %s", hc);
    const cJSON *tmpfs = fl_json_path(j, "HostConfig.Tmpfs./scratch");
    check(cJSON_IsString(tmpfs) && strcmp(tmpfs->valuestring, "size=64m,noexec") == 0,
          "legit: Tmpfs /scratch in Docker", "HostConfig %s", hc);
    check(hc_true(j, "ReadonlyRootfs"), "legit: ReadonlyRootfs in Docker", "HostConfig %s", hc);
    check(hc_true(j, "Init"), "legit: Init in Docker", "HostConfig %s", hc);
    check(hc_list_has(j, "CapDrop", "NET_RAW") || hc_list_has(j, "CapDrop", "CAP_NET_RAW"),
          "legit: CapDrop in Docker", "HostConfig %s", hc);
    check(hc_list_has(j, "SecurityOpt", "no-new-privileges") &&
              cJSON_GetArraySize(fl_json_path(j, "HostConfig.SecurityOpt")) == 1,
          "legit: SecurityOpt is no-new-privileges alone", "HostConfig %s", hc);
    check(!hc_true(j, "Privileged") && hc_empty(j, "CapAdd") && hc_empty(j, "PidMode") &&
              hc_empty(j, "Binds") && hc_empty(j, "Devices"),
          "legit: an ordinary container (not privileged, no CapAdd, PidMode, Binds, Devices)",
          "HostConfig %s", hc);
    int tmpfs_mount = 0, vol_mount = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, fl_json_path(j, "HostConfig.Mounts"))
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "Type");
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "Source");
        const cJSON *dst = cJSON_GetObjectItemCaseSensitive(m, "Target");
        if (!cJSON_IsString(type) || !cJSON_IsString(dst))
            continue;
        tmpfs_mount |= strcmp(type->valuestring, "tmpfs") == 0 &&
                       strcmp(dst->valuestring, "/scratch2") == 0;
        vol_mount |= strcmp(type->valuestring, "volume") == 0 && cJSON_IsString(src) &&
                     strcmp(src->valuestring, vol) == 0 && strcmp(dst->valuestring, "/vol") == 0;
    }
    check(tmpfs_mount, "legit: mount Type tmpfs in Docker", "HostConfig %s", hc);
    check(vol_mount, "legit: named volume mount in Docker", "HostConfig %s", hc);
    free(hc);
    cJSON_Delete(j);
    shut(e->client, id, "legit: Shutdown of the limits runner");
    flx_wait_managed(e, 0, 10000, "after the limits runner's Shutdown");
    remove_volume(e, vol);
}

static void legit_binds_caps_sysctls(fl_env *e)
{
    static const char *const mounts[] = {
        "{'Type':'bind','Source':'@A@/./sub/','Target':'/data2','ReadOnly':true}", NULL};
    char id[40], want_bind[400], want_src[300];
    snprintf(want_bind, sizeof(want_bind), "%s/sub:/data:ro", R.allowed);
    snprintf(want_src, sizeof(want_src), "%s/sub", R.allowed);
    if (!boot_ok(e, "legit: bind under the allowed prefix, CapAdd NET_ADMIN, listed sysctl", NULL,
                 "{'Binds':['@A@/sub:/data:ro'],'CapAdd':['NET_ADMIN'],"
                 "'Sysctls':{'net.ipv4.ip_local_port_range':'32768 60999'}}",
                 mounts, id, sizeof(id)))
        return;
    cJSON *j = inspect_runner(e, NULL, id);
    char *hc = hc_text(j);
    check(hc_list_has(j, "Binds", want_bind) &&
              cJSON_GetArraySize(fl_json_path(j, "HostConfig.Binds")) == 1,
          "legit: Binds under the allowed prefix in Docker", "want [%s]; HostConfig %s",
          want_bind, hc);
    const cJSON *m = cJSON_GetArrayItem(fl_json_path(j, "HostConfig.Mounts"), 0);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "Source");
    check(cJSON_IsString(src) && strcmp(src->valuestring, want_src) == 0,
          "legit: bind mount source sent cleaned (@A@/./sub/ -> @A@/sub)", "want %s; HostConfig %s",
          want_src, hc);
    check(hc_list_has(j, "CapAdd", "NET_ADMIN") || hc_list_has(j, "CapAdd", "CAP_NET_ADMIN"),
          "legit: CapAdd NET_ADMIN with allow.capabilities", "HostConfig %s", hc);
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(fl_json_path(j, "HostConfig.Sysctls"),
                                                       "net.ipv4.ip_local_port_range");
    check(cJSON_IsString(sc) && strcmp(sc->valuestring, "32768 60999") == 0,
          "legit: Sysctls net.ipv4.ip_local_port_range with allow.sysctls", "HostConfig %s", hc);
    free(hc);
    cJSON_Delete(j);
    shut(e->client, id, "legit: Shutdown of the bind runner");
}

static void legit_nulls(fl_env *e)
{
    char id[40];
    if (!boot_ok(e, "legit: null is 'not set' (Privileged, CapAdd, Binds, PidMode null)", NULL,
                 "{'Privileged':null,'CapAdd':null,'Binds':null,'PidMode':null}", NULL, id,
                 sizeof(id)))
        return;
    cJSON *j = inspect_runner(e, NULL, id);
    char *hc = hc_text(j);
    check(j && !hc_true(j, "Privileged") && hc_empty(j, "CapAdd") && hc_empty(j, "Binds") &&
              hc_empty(j, "PidMode"),
          "legit: nulls reach Docker as nothing", "HostConfig %s", hc);
    free(hc);
    cJSON_Delete(j);
    shut(e->client, id, "legit: Shutdown of the nulls runner");
}

/* DeviceRequests in the GPU pool passes the policy. Without GPUs Docker or runc
 * then refuses it; either way no container may stay. */
static void legit_gpu_pool(fl_env *e, const char *gpu_pool)
{
    flx_boot *b = flx_boot_new(e);
    b->req.pool = (char *)gpu_pool;
    flx_boot_host_config(b, "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1, "
                            "\"Capabilities\": [[\"gpu\"]]}]}");
    snap before;
    take(e, &before);
    flame_status st;
    char id[40];
    int code = flx_boot_call(e, &R.t, b, id, sizeof(id), &st);
    flx_boot_free(b);
    const char *n = "legit: DeviceRequests in the GPU pool passes the policy";
    check(!(code == GS_PERMISSION_DENIED && strcmp(st.reason, "POLICY_DENIED") == 0) &&
              !(code == GS_INVALID_ARGUMENT && strcmp(st.reason, "INVALID_REQUEST") == 0) &&
              code != GS_UNAVAILABLE && code != GS_INTERNAL,
          n, "got %s reason=%s message=\"%s\"", flame_grpc_status_name(code), st.reason,
          st.message);
    print_message("GPU-pool DeviceRequests Boot: %s reason=%s message=\"%s\"\n",
                  flame_grpc_status_name(code), st.reason, st.message);
    if (code == GS_OK) {
        cJSON *j = inspect_runner(e, gpu_pool, id);
        char *hc = hc_text(j);
        check(cJSON_GetArraySize(fl_json_path(j, "HostConfig.DeviceRequests")) == 1,
              "legit: DeviceRequests in Docker", "HostConfig %s", hc);
        free(hc);
        cJSON_Delete(j);
        shut(e->client, id, "legit: Shutdown of the GPU runner");
        flx_wait_managed(e, 0, 10000, "after the GPU runner's Shutdown");
    } else {
        size_t left = leftovers(e, &before, n, 0);
        check(left == 0, "legit: a GPU Boot Docker cannot start leaves no container",
              "%zu container(s) left", left);
    }
}

static void escape_matrix_policy_file(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    /* The allowed prefix and what lies in it exist before flamed resolves it at start. */
    char a[300], p[400];
    snprintf(a, sizeof(a), "%s/allowed", flx_dir(e0));
    mkdir_or_fail(a);
    snprintf(p, sizeof(p), "%s/sub", a);
    mkdir_or_fail(p);
    snprintf(p, sizeof(p), "%s-evil", a);
    mkdir_or_fail(p);
    snprintf(p, sizeof(p), "%s/link-root", a);
    symlink_or_fail("/", p);
    snprintf(p, sizeof(p), "%s/link-etc", a);
    symlink_or_fail("/etc", p);
    snprintf(p, sizeof(p), "%s/link-up", a);
    symlink_or_fail("..", p);
    snprintf(p, sizeof(p), "%s/link-sock", a);
    symlink_or_fail("/var/run/docker.sock", p);
    snprintf(p, sizeof(p), "%s/link-chain", a);
    symlink_or_fail("link-root", p);
    /* A socket and a device node under the prefix: refused by kind. */
    snprintf(p, sizeof(p), "%s/sock", a);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    assert_true(fd >= 0 && strlen(p) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, p, strlen(p) + 1);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        fail_msg("bind %s: %s", p, strerror(errno));
    snprintf(p, sizeof(p), "%s/dev-null", a);
    if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) < 0) /* not root: a symlink to one then */
        symlink_or_fail("/dev/null", p);

    char gpu_pool[64];
    snprintf(gpu_pool, sizeof(gpu_pool), "%s-gpu", e0->tag);
    fl_env *e = begin(state, policy_allow, gpu_pool);
    close(fd); /* the socket file stays */

    run_host_paths(e, prefix_escapes, sizeof(prefix_escapes) / sizeof(prefix_escapes[0]),
                   "host_binds [@A@]: ", NULL);
    run_table(e, 2, NULL, policy_cases, sizeof(policy_cases) / sizeof(policy_cases[0]));
    run_table(e, 2, gpu_pool, gpu_pool_cases, sizeof(gpu_pool_cases) / sizeof(gpu_pool_cases[0]));

    R.cls = 2;
    legit_limits(e);
    legit_binds_caps_sysctls(e);
    legit_nulls(e);
    legit_gpu_pool(e, gpu_pool);

    flx_wait_managed(e, 0, 10000, "after the legitimate Boots' Shutdowns");
    report("escape matrix, policy file");
    if (R.failed)
        fail_msg("%d of %d escape-matrix cases failed (each printed above as FAIL)", R.failed,
                 R.cases);
    flx_pass(e);
}

/* ================================================================== class 4: tenancy */

struct seen {
    const char *id;
    int n;
};

static int saw_runner(void *ud, const flame_event *ev)
{
    struct seen *s = ud;
    if (ev->runner && strcmp(ev->runner->id, s->id) == 0)
        s->n++;
    return 0;
}

static int list_has(flame_runner **rs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, id) == 0)
            return 1;
    return 0;
}

/* One raw call with several authorization headers; must be UNAUTHENTICATED. */
static void two_headers(fl_env *e, const char *name, const char *method, const void *req,
                        size_t len, const char *first, const char *second)
{
    char h1[160], h2[160];
    snprintf(h1, sizeof(h1), "Bearer %s", first);
    snprintf(h2, sizeof(h2), "Bearer %s", second);
    const char *const md[2][2] = {{"authorization", h1}, {"authorization", h2}};
    snap before;
    take(e, &before);
    flame_status st;
    int code = flx_call_md(e, method, md, 2, req, len, &st);
    size_t left = leftovers(e, &before, name, code == GS_OK);
    check(code == GS_UNAUTHENTICATED && strcmp(st.reason, "UNAUTHENTICATED") == 0 && !left, name,
          "expected UNAUTHENTICATED; got %s reason=%s message=\"%s\"%s",
          flame_grpc_status_name(code), st.reason, st.message,
          left ? "; Docker holds a container" : "");
}

static void escape_cross_pool(void **state)
{
    fl_env *e = begin(state, NULL, NULL);
    R.cls = 4;
    char pool_b[64], rid[64];
    snprintf(pool_b, sizeof(pool_b), "%s-b", e->tag);
    char u[24];
    fl_unique(u, sizeof(u));
    snprintf(rid, sizeof(rid), "esc-%s", u);
    flame_client *alice = e->client;
    flame_client *bob = flx_client(e, R.bob);
    flame_status st;

    /* bob boots into pool B with request_id X. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.pool = pool_b;
    req.request_id = rid;
    flame_runner *rb = NULL;
    int rc = flame_client_boot(bob, &req, &rb, &st);
    if (rc != 0)
        fail_msg("bob's Boot into %s: %s (%s)", pool_b, st.message, st.reason);

    /* alice boots into her pool with the same request_id: a new runner of hers. */
    fl_boot_req_init(e, &req);
    req.request_id = rid;
    flame_runner *ra = NULL;
    rc = flame_client_boot(alice, &req, &ra, &st);
    if (check(rc == 0 && ra, "alice's Boot with bob's request_id boots",
              "got %s reason=%s message=\"%s\"", flame_grpc_status_name(st.code), st.reason,
              st.message)) {
        check(strcmp(ra->id, rb->id) != 0, "the reused request_id returns a different runner id",
              "alice got bob's runner %s", ra->id);
        check(strcmp(ra->container_id, rb->container_id) != 0,
              "the reused request_id returns a different container", "alice got container %s",
              ra->container_id);
        check(strcmp(ra->pool, e->pool) == 0, "alice's runner is in her pool", "pool %s",
              ra->pool);
        cJSON *j = fl_inspect(e, ra->container_id);
        const cJSON *pl = fl_json_path(j, "Config.Labels");
        pl = cJSON_GetObjectItemCaseSensitive(pl, "flamed.pool");
        check(cJSON_IsString(pl) && strcmp(pl->valuestring, e->pool) == 0,
              "alice's container is labelled with her pool", "flamed.pool %s",
              cJSON_IsString(pl) ? pl->valuestring : "(none)");
        cJSON_Delete(j);
        /* ...and a replay within her pool returns her runner. */
        flame_runner *again = NULL;
        rc = flame_client_boot(alice, &req, &again, &st);
        check(rc == 0 && again && strcmp(again->id, ra->id) == 0,
              "a replay of the request_id in alice's pool returns her runner",
              "got %s (%s) runner %s", st.message, st.reason, again ? again->id : "(none)");
        flame_runner_free(again);
    }
    /* ...and bob's replay still returns bob's. */
    fl_boot_req_init(e, &req);
    req.pool = pool_b;
    req.request_id = rid;
    flame_runner *rb2 = NULL;
    rc = flame_client_boot(bob, &req, &rb2, &st);
    check(rc == 0 && rb2 && strcmp(rb2->id, rb->id) == 0,
          "a replay of the request_id in pool B returns bob's runner", "got %s (%s) runner %s",
          st.message, st.reason, rb2 ? rb2->id : "(none)");
    flame_runner_free(rb2);

    /* bob's runner, seen from alice: NOT_FOUND everywhere, untouched. */
    const char *argv[] = {"sh", "-c", "echo leaked", NULL};
    flame_spawn_request sreq = {.runner_id = rb->id, .argv = argv};
    int exit_code = -1;
    flame_client_spawn(alice, &sreq, NULL, &exit_code, &st);
    check(st.code == GS_NOT_FOUND, "alice's Spawn in bob's runner: NOT_FOUND",
          "got %s reason=%s message=\"%s\"", flame_grpc_status_name(st.code), st.reason,
          st.message);
    flame_client_shutdown(alice, rb->id, 1000, NULL, &st);
    check(st.code == GS_NOT_FOUND, "alice's Shutdown of bob's runner: NOT_FOUND",
          "got %s reason=%s message=\"%s\"", flame_grpc_status_name(st.code), st.reason,
          st.message);
    flame_runner **rs = NULL;
    size_t n = 0;
    rc = flame_client_list(alice, NULL, &rs, &n, &st);
    check(rc == 0 && !list_has(rs, n, rb->id), "alice's List does not show bob's runner",
          "rc %d, %zu runners", rc, n);
    flame_runner_list_free(rs, n);
    rs = NULL;
    n = 0;
    rc = flame_client_list(alice, pool_b, &rs, &n, &st);
    check(!list_has(rs, n, rb->id) && (rc == 0 ? n == 0 : st.code == GS_NOT_FOUND ||
                                                               st.code == GS_PERMISSION_DENIED),
          "alice's List of pool B shows nothing",
          "rc %d, %zu runners, %s reason=%s", rc, n, flame_grpc_status_name(st.code), st.reason);
    flame_runner_list_free(rs, n);
    struct seen seen = {.id = rb->id};
    flame_watch_request wreq = {.runner_id = rb->id, .include_existing = 1, .timeout_ms = 1000};
    flame_client_watch(alice, &wreq, saw_runner, &seen, &st);
    check(seen.n == 0, "alice's Watch of bob's runner shows nothing", "%d events", seen.n);
    rs = NULL;
    n = 0;
    rc = flame_client_list(bob, pool_b, &rs, &n, &st);
    check(rc == 0 && n == 1 && rs[0]->state == FLAME_RUNNER_RUNNING,
          "bob's runner is still running after alice's calls", "rc %d, %zu runners", rc, n);
    flame_runner_list_free(rs, n);
    cJSON *j = fl_inspect(e, rb->container_id);
    check(j && cJSON_IsTrue(fl_json_path(j, "State.Running")),
          "bob's container is still running in Docker", "inspect %s", j ? "not running" : "gone");
    cJSON_Delete(j);

    /* alice into pool B: refused, nothing created. */
    flx_boot *b = flx_boot_new(e);
    b->req.pool = pool_b;
    snap before;
    take(e, &before);
    char id[40];
    int code = flx_boot_call(e, &R.t, b, id, sizeof(id), &st);
    size_t left = leftovers(e, &before, "alice's Boot into pool B", code == GS_OK);
    check(code == GS_PERMISSION_DENIED && strcmp(st.reason, "POOL_NOT_ALLOWED") == 0 && !left,
          "alice's Boot into pool B: POOL_NOT_ALLOWED", "got %s reason=%s message=\"%s\"",
          flame_grpc_status_name(code), st.reason, st.message);

    /* Two authorization headers: UNAUTHENTICATED, whatever they hold. */
    Flame__V1__ListRequest lreq = FLAME__V1__LIST_REQUEST__INIT;
    uint8_t lbuf[16];
    size_t llen = protobuf_c_message_pack(&lreq.base, lbuf);
    two_headers(e, "List with two authorization headers (alice, bob)", LIST, lbuf, llen, R.alice,
                R.bob);
    two_headers(e, "List with two authorization headers (alice, alice)", LIST, lbuf, llen,
                R.alice, R.alice);
    two_headers(e, "List with two authorization headers (alice, wrong)", LIST, lbuf, llen,
                R.alice, "not-a-real-token-at-all");
    two_headers(e, "List with two authorization headers (wrong, alice)", LIST, lbuf, llen,
                "not-a-real-token-at-all", R.alice);
    size_t blen = protobuf_c_message_get_packed_size(&b->req.base);
    uint8_t *bbuf = malloc(blen);
    assert_non_null(bbuf);
    protobuf_c_message_pack(&b->req.base, bbuf);
    two_headers(e, "Boot into pool B with two authorization headers (alice, bob)", BOOT, bbuf,
                blen, R.alice, R.bob);
    two_headers(e, "Boot into pool B with two authorization headers (bob, alice)", BOOT, bbuf,
                blen, R.bob, R.alice);
    free(bbuf);
    flx_boot_free(b);
    /* The same helper with one header works (the two-header answers mean something). */
    {
        char h[160];
        snprintf(h, sizeof(h), "Bearer %s", R.alice);
        const char *const md[1][2] = {{"authorization", h}};
        code = flx_call_md(e, LIST, md, 1, lbuf, llen, &st);
        check(code == GS_OK, "List with one authorization header (alice): OK",
              "got %s reason=%s message=\"%s\"", flame_grpc_status_name(code), st.reason,
              st.message);
    }

    if (ra)
        shut(alice, ra->id, "alice's Shutdown of her runner");
    shut(bob, rb->id, "bob's Shutdown of his runner");
    flame_runner_free(ra);
    flame_runner_free(rb);
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    report("escape matrix, tenancy");
    if (R.failed)
        fail_msg("%d of %d escape-matrix cases failed (each printed above as FAIL)", R.failed,
                 R.cases);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ESC_UNIT(escape_matrix_builtin_policy),
        ESC_UNIT(escape_matrix_policy_file),
        ESC_UNIT(escape_cross_pool),
    };
    return FL_RUN("escape", tests);
}
