/*
 * Harness additions for the security tests: flamed with extra flags, raw
 * gRPC calls with tokens/TLS and flame-reason, Struct from JSON, test PKI.
 * See harness_ext.h.
 */
#include "harness_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

extern char **environ;

#define MAX_CLIENTS 16
#define MAX_PATHS 64

/* What this file keeps for the running test (tests run one at a time). */
static struct {
    fl_env *env;
    char dir[160];
    flame_client *clients[MAX_CLIENTS];
    size_t n_clients;
    char *paths[MAX_PATHS];
    size_t n_paths;
    long log_offset; /* log size when flamed was last started */
} X;

static void ext_bind(fl_env *e)
{
    if (X.env != e) {
        memset(&X, 0, sizeof(X));
        X.env = e;
    }
}

/* ------------------------------------------------------------ files */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

const char *flx_dir(fl_env *e)
{
    ext_bind(e);
    if (!X.dir[0]) {
        snprintf(X.dir, sizeof(X.dir), "/tmp/%s.d", e->tag);
        if (mkdir(X.dir, 0700) < 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", X.dir, strerror(errno));
    }
    return X.dir;
}

const char *flx_path(fl_env *e, const char *name)
{
    const char *d = flx_dir(e);
    assert_true(X.n_paths < MAX_PATHS);
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", d, name) > 0);
    X.paths[X.n_paths++] = p;
    return p;
}

const char *flx_write(fl_env *e, const char *name, const char *content)
{
    const char *p = flx_path(e, name);
    FILE *f = fopen(p, "w");
    if (!f)
        fail_msg("writing %s: %s", p, strerror(errno));
    fputs(content, f);
    fclose(f);
    return p;
}

static char *read_file(const char *path, long from)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (from > size)
        from = 0;
    fseek(f, from, SEEK_SET);
    char *buf = malloc((size_t)(size - from) + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (size_t)(size - from), f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

char *flx_log(fl_env *e) { return read_file(e->log_path, 0); }

/* ------------------------------------------------------------ flamed */

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

pid_t flx_spawn_logged(const char *bin, const char *const *argv, const char *log_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("posix_spawn %s: %s", bin, strerror(rc));
    return pid;
}

void flx_flamed_start(fl_env *e, const flx_flamed *f)
{
    static const flx_flamed none;
    if (!f)
        f = &none;
    ext_bind(e);
    const char *bin = getenv("FLAMED_BIN");
    if (!bin || !bin[0])
        fail_msg("FLAMED_BIN is not set: run the integration tests through ctest");
    assert_int_equal(e->flamed_pid, 0);
    flame_client_close(e->client); /* watchers must be stopped (fl_watch_stop) before a restart */
    e->client = NULL;

    const char *argv[64];
    size_t n = 0;
    const char *base[] = {bin, "--listen", e->addr, "--log-level", "debug", "--stop-timeout-ms",
                          "1000", "--shutdown-grace-ms", "2000", NULL};
    for (size_t i = 0; base[i]; i++)
        argv[n++] = base[i];
    if (fl_docker_host()) {
        argv[n++] = "--docker-host";
        argv[n++] = fl_docker_host();
    }
    if (fl_engine_is_swarm()) {
        argv[n++] = "--engine";
        argv[n++] = "swarm";
    }
    if (fl_boot_settle_ms()) {
        argv[n++] = "--boot-settle-ms";
        argv[n++] = fl_boot_settle_ms();
    }
    if (f->tcp) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    for (size_t i = 0; f->args && f->args[i]; i++) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = f->args[i];
    }
    argv[n] = NULL;

    unlink(e->sock_path);
    X.log_offset = file_size(e->log_path);
    pid_t pid = flx_spawn_logged(bin, argv, e->log_path);
    e->flamed_pid = pid;
    e->flamed_starts++;

    /* Generous: at start flamed adopts every flamed container in Docker (other
     * test runs' too), one inspect each, before it listens; a busy host is slow. */
    int64_t until = fl_now_ms() + 45000;
    struct stat sb;
    for (;;) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            e->flamed_pid = 0;
            fail_msg("flamed exited during start-up (wait status 0x%x); see its log", ws);
        }
        if (stat(e->sock_path, &sb) == 0)
            break;
        if (fl_now_ms() >= until)
            fail_msg("flamed did not create %s within 45 s", e->sock_path);
        fl_sleep_ms(10);
    }
    flame_client_options opts = {.timeout_ms = 120000, .bearer_token = f->token};
    assert_int_equal(flame_client_open(&e->client, e->addr, &opts), 0);
    flame_status st;
    for (;;) {
        flame_runner **rs = NULL;
        size_t k = 0;
        if (flame_client_list(e->client, NULL, &rs, &k, &st) == 0) {
            flame_runner_list_free(rs, k);
            break;
        }
        if (fl_now_ms() >= until)
            fail_msg("flamed did not answer List within 45 s: %s (%s)", st.message, st.reason);
        fl_sleep_ms(50);
    }
}

void flx_flamed_restart(fl_env *e, const flx_flamed *f)
{
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));
    flx_flamed_start(e, f);
}

int flx_port(fl_env *e)
{
    ext_bind(e);
    int64_t until = fl_now_ms() + 5000;
    for (;;) {
        char *log = read_file(e->log_path, X.log_offset);
        const char *p = strstr(log, "msg=listening_port port=");
        int port = p ? atoi(p + strlen("msg=listening_port port=")) : 0;
        free(log);
        if (port > 0)
            return port;
        if (fl_now_ms() >= until)
            fail_msg("flamed logged no listening_port line within 5 s");
        fl_sleep_ms(20);
    }
}

int flx_flamed_run(const char *const *args, char **out, int timeout_ms)
{
    const char *bin = getenv("FLAMED_BIN");
    if (!bin || !bin[0])
        fail_msg("FLAMED_BIN is not set: run the integration tests through ctest");
    char outpath[] = "/tmp/fltest-run-XXXXXX";
    int fd = mkstemp(outpath);
    assert_true(fd >= 0);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    if (rc != 0) {
        unlink(outpath);
        fail_msg("posix_spawn %s: %s", bin, strerror(rc));
    }
    int ws = 0, code = -1;
    int64_t until = fl_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid) {
            code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
            break;
        }
        if (fl_now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            break;
        }
        fl_sleep_ms(20);
    }
    char *text = read_file(outpath, 0);
    unlink(outpath);
    if (out)
        *out = text;
    else
        free(text);
    return code;
}

/* ------------------------------------------------------------ fixtures */

fl_env *flx_begin(void **state, const flx_flamed *f)
{
    fl_env *e = *state;
    ext_bind(e);
    char err[512] = "";
    FL_SKIP_IF_NO_DOCKER(e);
    const char *images[] = {FL_IMAGE_BUSYBOX, FL_IMAGE_APP, FL_IMAGE_HEALTHY};
    for (size_t i = 0; i < 3; i++)
        if (docker_image_inspect(e->docker, images[i], NULL, err, sizeof(err)) < 0)
            fail_msg("test image %s is missing: build it with scripts/test-images (%s)", images[i],
                     err);
    fl_network_create(e);
    flx_flamed_start(e, f);
    return e;
}

int flx_teardown(void **state)
{
    fl_env *e = *state;
    if (X.env == e) {
        for (size_t i = 0; i < X.n_clients; i++)
            flame_client_close(X.clients[i]);
        for (size_t i = 0; i < X.n_paths; i++)
            free(X.paths[i]);
        if (X.dir[0])
            nftw(X.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        memset(&X, 0, sizeof(X));
    }
    return fl_teardown(state);
}

flame_client *flx_client(fl_env *e, const char *token)
{
    ext_bind(e);
    assert_true(X.n_clients < MAX_CLIENTS);
    flame_client_options opts = {.timeout_ms = 120000, .bearer_token = token};
    flame_client *c = NULL;
    assert_int_equal(flame_client_open(&c, e->addr, &opts), 0);
    X.clients[X.n_clients++] = c;
    return c;
}

/* ------------------------------------------------------------ docker */

int flx_count_managed(fl_env *e)
{
    cJSON *list = NULL;
    char err[512];
    int swarm = fl_engine_is_swarm(); /* a runner is a service: its labels in Spec */
    if (swarm ? docker_service_list(e->docker, e->run_label, &list, err, sizeof(err)) < 0
              : docker_container_list(e->docker, e->run_label, &list, err, sizeof(err)) < 0)
        fail_msg("listing %s labelled %s: %s", swarm ? "services" : "containers", e->run_label,
                 err);
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *v = fl_json_path(c, swarm ? "Spec.Labels" : "Labels");
        v = v ? cJSON_GetObjectItemCaseSensitive(v, "flamed.managed-by") : NULL;
        if (cJSON_IsString(v) && strcmp(v->valuestring, "flamed") == 0)
            n++;
    }
    cJSON_Delete(list);
    return n;
}

void flx_assert_managed(fl_env *e, int want, const char *what)
{
    int n = flx_count_managed(e);
    if (n != want)
        fail_msg("%s: %d flamed container(s) labelled %s, expected %d", what ? what : "", n,
                 e->run_label, want);
}

void flx_wait_managed(fl_env *e, int want, int timeout_ms, const char *what)
{
    int64_t until = fl_now_ms() + timeout_ms;
    while (flx_count_managed(e) != want && fl_now_ms() < until)
        fl_sleep_ms(50);
    flx_assert_managed(e, want, what);
}

void flx__assert_st(int code, const flame_status *st, int want_code, const char *want_reason,
                    const char *want_msg, const char *file, int line)
{
    int bad = code != want_code || st->code != want_code;
    if (want_reason && strcmp(st->reason, want_reason) != 0)
        bad = 1;
    if (want_msg && !strstr(st->message, want_msg))
        bad = 1;
    if (bad) {
        print_error("%s:%d: expected %s reason=%s message~\"%s\"; got %s (call %s) reason=%s "
                    "message=\"%s\"\n",
                    file, line, flame_grpc_status_name(want_code),
                    want_reason ? want_reason : "(any)", want_msg ? want_msg : "",
                    flame_grpc_status_name(st->code), flame_grpc_status_name(code),
                    st->reason[0] ? st->reason : "\"\"", st->message);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------ raw gRPC */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("reading %s: %s", path, strerror(errno));
    fclose(f);
    return read_file(path, 0);
}

static void wait_tag(grpc_completion_queue *cq, void *tag, int *done_tags)
{
    /* Tags are (void *)1..(void *)3; remember completions of the others. */
    while (!done_tags[(intptr_t)tag]) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        done_tags[(intptr_t)ev.tag] = 1;
    }
}

int flx_call(fl_env *e, const flx_target *t, const char *method, const void *req, size_t reqlen,
             void **resp, size_t *resplen, size_t *n_msgs, flame_status *st)
{
    static const flx_target plain;
    if (!t)
        t = &plain;
    grpc_init();
    memset(st, 0, sizeof(*st));
    grpc_channel_credentials *creds;
    if (t->ca) {
        char *root = slurp(t->ca), *cert = NULL, *key = NULL;
        grpc_ssl_pem_key_cert_pair pair = {0};
        if (t->cert) {
            cert = slurp(t->cert);
            key = slurp(t->key);
            pair.cert_chain = cert;
            pair.private_key = key;
        }
        creds = grpc_ssl_credentials_create(root, t->cert ? &pair : NULL, NULL, NULL);
        free(root);
        free(cert);
        free(key);
    } else {
        creds = grpc_insecure_credentials_create();
    }
    const char *addr = t->addr ? t->addr : e->addr;
    grpc_channel *ch = grpc_channel_create(addr, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice path = grpc_slice_from_copied_string(method);
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis(t->timeout_ms ? t->timeout_ms : 60000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               deadline, NULL);
    grpc_slice_unref(path);

    char authz[1024] = "";
    if (t->authorization)
        snprintf(authz, sizeof(authz), "%s", t->authorization);
    else if (t->token)
        snprintf(authz, sizeof(authz), "Bearer %s", t->token);
    grpc_metadata md;
    memset(&md, 0, sizeof(md));
    md.key = grpc_slice_from_static_string("authorization");
    md.value = grpc_slice_from_copied_string(authz);

    grpc_slice s = grpc_slice_from_copied_buffer(req, reqlen);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    int done[4] = {0};

    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = authz[0] ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = authz[0] ? &md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    assert_int_equal(grpc_call_start_batch(call, ops, 4, (void *)1, NULL), GRPC_CALL_OK);

    grpc_op sop;
    memset(&sop, 0, sizeof(sop));
    sop.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    sop.data.recv_status_on_client.trailing_metadata = &trailing_md;
    sop.data.recv_status_on_client.status = &status;
    sop.data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, &sop, 1, (void *)2, NULL), GRPC_CALL_OK);

    size_t msgs = 0;
    if (resp)
        *resp = NULL;
    if (resplen)
        *resplen = 0;
    wait_tag(cq, (void *)1, done);
    for (;;) {
        grpc_byte_buffer *recv = NULL;
        grpc_op rop;
        memset(&rop, 0, sizeof(rop));
        rop.op = GRPC_OP_RECV_MESSAGE;
        rop.data.recv_message.recv_message = &recv;
        done[3] = 0;
        if (grpc_call_start_batch(call, &rop, 1, (void *)3, NULL) != GRPC_CALL_OK)
            break;
        wait_tag(cq, (void *)3, done);
        if (!recv)
            break;
        if (msgs == 0 && resp) {
            grpc_byte_buffer_reader reader;
            if (grpc_byte_buffer_reader_init(&reader, recv)) {
                grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
                grpc_byte_buffer_reader_destroy(&reader);
                size_t n = GRPC_SLICE_LENGTH(all);
                *resp = malloc(n ? n : 1);
                assert_non_null(*resp);
                memcpy(*resp, GRPC_SLICE_START_PTR(all), n);
                if (resplen)
                    *resplen = n;
                grpc_slice_unref(all);
            }
        }
        msgs++;
        grpc_byte_buffer_destroy(recv);
    }
    wait_tag(cq, (void *)2, done);
    if (n_msgs)
        *n_msgs = msgs;

    st->code = (int)status;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= sizeof(st->message))
        n = sizeof(st->message) - 1;
    memcpy(st->message, GRPC_SLICE_START_PTR(details), n);
    st->message[n] = '\0';
    for (size_t i = 0; i < trailing_md.count; i++) {
        const grpc_metadata *m = &trailing_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "flame-reason") == 0) {
            size_t k = GRPC_SLICE_LENGTH(m->value);
            if (k >= sizeof(st->reason))
                k = sizeof(st->reason) - 1;
            memcpy(st->reason, GRPC_SLICE_START_PTR(m->value), k);
            st->reason[k] = '\0';
        }
    }

    grpc_slice_unref(md.value);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    grpc_shutdown();
    return (int)status;
}

int flx_unary(fl_env *e, const flx_target *t, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
              flame_status *st)
{
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(req, buf);
    void *out = NULL;
    size_t outlen = 0;
    int code = flx_call(e, t, method, buf, len, resp ? &out : NULL, &outlen, NULL, st);
    free(buf);
    if (resp) {
        *resp = out ? protobuf_c_message_unpack(resp_desc, NULL, outlen, out) : NULL;
        free(out);
    }
    return code;
}

int flx_health_check(fl_env *e, const flx_target *t, const char *service, int *serving,
                     flame_status *st)
{
    /* grpc.health.v1.HealthCheckRequest{string service = 1}, encoded by hand. */
    uint8_t req[260];
    size_t n = 0, len = service ? strlen(service) : 0;
    assert_true(len < 128);
    if (len) {
        req[n++] = 0x0a;
        req[n++] = (uint8_t)len;
        memcpy(req + n, service, len);
        n += len;
    }
    void *resp = NULL;
    size_t resplen = 0;
    int code = flx_call(e, t, "/grpc.health.v1.Health/Check", req, n, &resp, &resplen, NULL, st);
    if (serving) {
        /* HealthCheckResponse{ServingStatus status = 1}: absent is 0 (UNKNOWN). */
        const uint8_t *r = resp;
        *serving = (resp && resplen >= 2 && r[0] == 0x08) ? r[1] : 0;
    }
    free(resp);
    return code;
}

/* ------------------------------------------------------------ Struct from JSON */

static Google__Protobuf__Struct *struct_from(const cJSON *o);

static Google__Protobuf__Value *value_from(const cJSON *j)
{
    Google__Protobuf__Value *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    google__protobuf__value__init(v);
    if (cJSON_IsNull(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
    } else if (cJSON_IsBool(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        v->bool_value = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        v->number_value = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        v->string_value = strdup(j->valuestring);
        assert_non_null(v->string_value);
    } else if (cJSON_IsObject(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        v->struct_value = struct_from(j);
    } else {
        Google__Protobuf__ListValue *l = calloc(1, sizeof(*l));
        assert_non_null(l);
        google__protobuf__list_value__init(l);
        size_t n = (size_t)cJSON_GetArraySize(j), i = 0;
        l->values = calloc(n ? n : 1, sizeof(*l->values));
        assert_non_null(l->values);
        const cJSON *it;
        cJSON_ArrayForEach(it, j) l->values[i++] = value_from(it);
        l->n_values = n;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        v->list_value = l;
    }
    return v;
}

static Google__Protobuf__Struct *struct_from(const cJSON *o)
{
    Google__Protobuf__Struct *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    google__protobuf__struct__init(s);
    size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
    s->fields = calloc(n ? n : 1, sizeof(*s->fields));
    assert_non_null(s->fields);
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        Google__Protobuf__Struct__FieldsEntry *fe = calloc(1, sizeof(*fe));
        assert_non_null(fe);
        google__protobuf__struct__fields_entry__init(fe);
        fe->key = strdup(it->string);
        assert_non_null(fe->key);
        fe->value = value_from(it);
        s->fields[i++] = fe;
    }
    s->n_fields = n;
    return s;
}

Google__Protobuf__Struct *flx_struct_from_json(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    if (!cJSON_IsObject(j))
        fail_msg("not a JSON object: %s", json);
    Google__Protobuf__Struct *s = struct_from(j);
    cJSON_Delete(j);
    return s;
}

void flx_struct_free(Google__Protobuf__Struct *s)
{
    if (s)
        protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* ------------------------------------------------------------ BootRequest */

static char *own(flx_boot *b, const char *s)
{
    if (b->n_strs == b->strs_cap) {
        b->strs_cap = b->strs_cap ? b->strs_cap * 2 : 32;
        b->strs = realloc(b->strs, b->strs_cap * sizeof(*b->strs));
        assert_non_null(b->strs);
    }
    char *c = strdup(s);
    assert_non_null(c);
    b->strs[b->n_strs++] = c;
    return c;
}

flx_boot *flx_boot_new(fl_env *e)
{
    flx_boot *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    flame__v1__boot_request__init(&b->req);
    b->req.image = FL_IMAGE_APP;
    b->req.network = e->network;
    b->req.pool = e->pool;
    b->req.boot_timeout_ms = 60000;
    size_t n = 0;
    while (fl_cmd_termable[n])
        n++;
    b->req.cmd = calloc(n, sizeof(char *));
    assert_non_null(b->req.cmd);
    for (size_t i = 0; i < n; i++)
        b->req.cmd[i] = own(b, fl_cmd_termable[i]);
    b->req.n_cmd = n;
    flx_boot_label(b, FL_RUN_LABEL_KEY, e->tag);
    return b;
}

void flx_boot_free(flx_boot *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->req.n_env; i++)
        free(b->env[i]);
    free(b->env);
    for (size_t i = 0; i < b->req.n_labels; i++)
        free(b->labels[i]);
    free(b->labels);
    for (size_t i = 0; i < b->req.n_mounts; i++)
        flx_struct_free(b->mounts[i]);
    free(b->mounts);
    flx_struct_free(b->req.host_config);
    free(b->req.cmd);
    for (size_t i = 0; i < b->n_strs; i++)
        free(b->strs[i]);
    free(b->strs);
    free(b);
}

void flx_boot_env(flx_boot *b, const char *key, const char *value)
{
    if (b->req.n_env == b->env_cap) {
        b->env_cap = b->env_cap ? b->env_cap * 2 : 16;
        b->env = realloc(b->env, b->env_cap * sizeof(*b->env));
        assert_non_null(b->env);
    }
    Flame__V1__BootRequest__EnvEntry *en = calloc(1, sizeof(*en));
    assert_non_null(en);
    flame__v1__boot_request__env_entry__init(en);
    en->key = own(b, key);
    en->value = own(b, value);
    b->env[b->req.n_env++] = en;
    b->req.env = b->env;
}

void flx_boot_label(flx_boot *b, const char *key, const char *value)
{
    if (b->req.n_labels == b->labels_cap) {
        b->labels_cap = b->labels_cap ? b->labels_cap * 2 : 8;
        b->labels = realloc(b->labels, b->labels_cap * sizeof(*b->labels));
        assert_non_null(b->labels);
    }
    Flame__V1__BootRequest__LabelsEntry *en = calloc(1, sizeof(*en));
    assert_non_null(en);
    flame__v1__boot_request__labels_entry__init(en);
    en->key = own(b, key);
    en->value = own(b, value);
    b->labels[b->req.n_labels++] = en;
    b->req.labels = b->labels;
}

void flx_boot_host_config(flx_boot *b, const char *json)
{
    flx_struct_free(b->req.host_config);
    b->req.host_config = json ? flx_struct_from_json(json) : NULL;
}

void flx_boot_mount(flx_boot *b, const char *json)
{
    if (b->req.n_mounts == b->mounts_cap) {
        b->mounts_cap = b->mounts_cap ? b->mounts_cap * 2 : 4;
        b->mounts = realloc(b->mounts, b->mounts_cap * sizeof(*b->mounts));
        assert_non_null(b->mounts);
    }
    b->mounts[b->req.n_mounts++] = flx_struct_from_json(json);
    b->req.mounts = b->mounts;
}

int flx_boot_call(fl_env *e, const flx_target *t, flx_boot *b, char *runner_id, size_t idlen,
                  flame_status *st)
{
    ProtobufCMessage *resp = NULL;
    int code = flx_unary(e, t, "/flame.v1.RunnerService/Boot", &b->req.base,
                         &flame__v1__boot_response__descriptor, &resp, st);
    if (runner_id && idlen)
        runner_id[0] = '\0';
    if (resp) {
        const Flame__V1__BootResponse *br = (const Flame__V1__BootResponse *)resp;
        if (runner_id && idlen && br->runner && br->runner->id)
            snprintf(runner_id, idlen, "%s", br->runner->id);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

/* ------------------------------------------------------------ certificates */

void flx_make_pki(fl_env *e, flx_pki *pki)
{
    const char *d = flx_dir(e);
    snprintf(pki->ca, sizeof(pki->ca), "%s/ca.pem", d);
    snprintf(pki->server_cert, sizeof(pki->server_cert), "%s/server.pem", d);
    snprintf(pki->server_key, sizeof(pki->server_key), "%s/server.key", d);
    snprintf(pki->client_cert, sizeof(pki->client_cert), "%s/client.pem", d);
    snprintf(pki->client_key, sizeof(pki->client_key), "%s/client.key", d);
    snprintf(pki->other_ca, sizeof(pki->other_ca), "%s/other-ca.pem", d);
    snprintf(pki->other_cert, sizeof(pki->other_cert), "%s/other-client.pem", d);
    snprintf(pki->other_key, sizeof(pki->other_key), "%s/other-client.key", d);
    /* EC keys: quick. Server: SAN IP 127.0.0.1 and localhost, serverAuth. */
    static const char script[] =
        "set -e; cd \"$1\"\n"
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\" 2>/dev/null; }\n"
        "ca() { key \"$1.key\"; openssl req -x509 -new -key \"$1.key\" -subj \"/CN=$2\" -days 2 "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
        "-out \"$1.pem\"; }\n"
        "leaf() { key \"$1.key\"; openssl req -new -key \"$1.key\" -subj \"/CN=$3\" -out \"$1.csr\";\n"
        "  printf '%s\\n' \"$4\" > \"$1.ext\";\n"
        "  openssl x509 -req -in \"$1.csr\" -CA \"$2.pem\" -CAkey \"$2.key\" -CAcreateserial "
        "-days 2 -extfile \"$1.ext\" -out \"$1.pem\" 2>/dev/null; }\n"
        "ca ca fltest-ca; ca other-ca fltest-other-ca\n"
        "leaf server ca localhost 'subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE'\n"
        "leaf client ca fltest-client 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE'\n"
        "leaf other-client other-ca fltest-other-client 'extendedKeyUsage=clientAuth\n"
        "basicConstraints=CA:FALSE'\n";
    const char *argv[] = {"sh", "-c", script, "sh", d, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "sh", NULL, NULL, (char *const *)argv, environ);
    if (rc != 0)
        fail_msg("posix_spawn sh: %s", strerror(rc));
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        fail_msg("making the test certificates with openssl failed (wait status 0x%x)", ws);
}

/* ------------------------------------------------------------ more raw gRPC */

int flx_call_md(fl_env *e, const char *method, const char *const (*md)[2], size_t n_md,
                const void *req, size_t reqlen, flame_status *st)
{
    grpc_init();
    memset(st, 0, sizeof(*st));
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(e->addr, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice path = grpc_slice_from_copied_string(method);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(60000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               deadline, NULL);
    grpc_slice_unref(path);

    grpc_metadata *mds = calloc(n_md ? n_md : 1, sizeof(*mds));
    assert_non_null(mds);
    for (size_t i = 0; i < n_md; i++) {
        mds[i].key = grpc_slice_from_copied_string(md[i][0]);
        mds[i].value = grpc_slice_from_copied_string(md[i][1]);
    }
    grpc_slice s = grpc_slice_from_copied_buffer(req, reqlen);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    /* Unary: one batch with every op; one completion. */
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = n_md;
    ops[0].data.send_initial_metadata.metadata = n_md ? mds : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, 6, (void *)1, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);

    st->code = (int)status;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= sizeof(st->message))
        n = sizeof(st->message) - 1;
    memcpy(st->message, GRPC_SLICE_START_PTR(details), n);
    st->message[n] = '\0';
    for (size_t i = 0; i < trailing_md.count; i++) {
        const grpc_metadata *m = &trailing_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "flame-reason") == 0) {
            size_t k = GRPC_SLICE_LENGTH(m->value);
            if (k >= sizeof(st->reason))
                k = sizeof(st->reason) - 1;
            memcpy(st->reason, GRPC_SLICE_START_PTR(m->value), k);
            st->reason[k] = '\0';
        }
    }

    for (size_t i = 0; i < n_md; i++) {
        grpc_slice_unref(mds[i].key);
        grpc_slice_unref(mds[i].value);
    }
    free(mds);
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    grpc_shutdown();
    return (int)status;
}
