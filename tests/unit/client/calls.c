/*
 * libflame's call plumbing against an in-process fake RunnerService (gRPC
 * core server on a unix socket, no Docker): unary and streaming calls,
 * metadata, status/reason mapping, cancellation and deadlines.
 *
 * The fake serves one call at a time on its own thread; what it received is
 * recorded in `seen` for the tests to check.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "../../../client/src/internal.h"

/* ------------------------------------------------------------ fake server */

static struct {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    char addr[128];
    int shutdown_seen;
} fake;

/* What the fake saw; written by its thread, read by the test after the call. */
static struct {
    pthread_mutex_t mu;
    int calls;
    char method[64];
    char authorization[128];
    int cancelled; /* the last call ended by client cancel/deadline */
    Flame__V1__BootRequest *boot;
    Flame__V1__SpawnRequest *spawn;
} seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

enum { TAG_NEW = 1, TAG_OP, TAG_CLOSE, TAG_SHUTDOWN };

static void *tag(int t)
{
    return (void *)(intptr_t)t;
}

/* Wait for `t`; returns its success flag. Notes the shutdown tag on the way. */
static int wait_tag(int t)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(fake.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        if ((intptr_t)ev.tag == TAG_SHUTDOWN) {
            fake.shutdown_seen = 1;
            if (t == TAG_SHUTDOWN)
                return 1;
            continue;
        }
        if ((intptr_t)ev.tag == t)
            return ev.success;
    }
}

static int run_ops(grpc_call *call, grpc_op *ops, size_t n)
{
    assert_int_equal(grpc_call_start_batch(call, ops, n, tag(TAG_OP), NULL), GRPC_CALL_OK);
    return wait_tag(TAG_OP);
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(len);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d)
{
    grpc_byte_buffer_reader r;
    grpc_slice all;
    ProtobufCMessage *m;

    assert_non_null(bb);
    assert_true(grpc_byte_buffer_reader_init(&r, bb));
    all = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    assert_non_null(m);
    return m;
}

static int send_msg(grpc_call *call, const ProtobufCMessage *m)
{
    grpc_op op;
    int ok;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = pack(m);
    ok = run_ops(call, &op, 1);
    grpc_byte_buffer_destroy(op.data.send_message.send_message);
    return ok;
}

/* Final status (with optional flame-reason) and wait for the call to close. */
static void finish(grpc_call *call, grpc_status_code code, const char *msg, const char *reason)
{
    grpc_op ops[2];
    grpc_metadata md;
    grpc_slice details = grpc_slice_from_copied_string(msg);
    int cancelled = 0;

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[0].data.send_status_from_server.status = code;
    ops[0].data.send_status_from_server.status_details = &details;
    if (reason) {
        md.key = grpc_slice_from_static_string("flame-reason");
        md.value = grpc_slice_from_static_string(reason);
        ops[0].data.send_status_from_server.trailing_metadata_count = 1;
        ops[0].data.send_status_from_server.trailing_metadata = &md;
    }
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &cancelled;
    run_ops(call, ops, 2);
    grpc_slice_unref(details);
    pthread_mutex_lock(&seen.mu);
    seen.cancelled = cancelled;
    pthread_mutex_unlock(&seen.mu);
}

/* After hold_until_client_gone(): the close was received, only the status is left. */
static void finish_closed(grpc_call *call)
{
    grpc_op op;
    grpc_slice details = grpc_slice_from_static_string("cancelled");

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = GRPC_STATUS_CANCELLED;
    op.data.send_status_from_server.status_details = &details;
    run_ops(call, &op, 1);
}

/* Keep the stream open until the client cancels or its deadline passes. */
static void hold_until_client_gone(grpc_call *call)
{
    grpc_op op;
    int cancelled = 0;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &cancelled;
    run_ops(call, &op, 1);
    pthread_mutex_lock(&seen.mu);
    seen.cancelled = cancelled;
    pthread_mutex_unlock(&seen.mu);
}

static Flame__V1__Runner *fake_runner(const char *id, const char *image, int state)
{
    Flame__V1__Runner *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    flame__v1__runner__init(r);
    r->id = strdup(id);
    r->image = strdup(image);
    r->pool = strdup("default");
    r->name = strdup("fl-default-x");
    r->state = (Flame__V1__RunnerState)state;
    r->exit_code = state == FLAME_RUNNER_EXITED ? 137 : 0;
    return r;
}

static void serve_boot(grpc_call *call, grpc_byte_buffer *payload)
{
    Flame__V1__BootRequest *req =
        (Flame__V1__BootRequest *)unpack(payload, &flame__v1__boot_request__descriptor);
    Flame__V1__BootResponse resp = FLAME__V1__BOOT_RESPONSE__INIT;
    Flame__V1__Runner__LabelsEntry e = FLAME__V1__RUNNER__LABELS_ENTRY__INIT, *ep = &e;
    int missing = strcmp(req->image, "missing:latest") == 0;

    pthread_mutex_lock(&seen.mu);
    if (seen.boot)
        protobuf_c_message_free_unpacked(&seen.boot->base, NULL);
    seen.boot = req;
    pthread_mutex_unlock(&seen.mu);
    if (missing) {
        finish(call, GRPC_STATUS_NOT_FOUND, "image 'missing:latest' not found: pull it",
               "IMAGE_NOT_FOUND");
        return;
    }
    resp.runner = fake_runner("0123456789abcdef", req->image, FLAME_RUNNER_RUNNING);
    e.key = (char *)"flamed.pool";
    e.value = (char *)"default";
    resp.runner->labels = &ep;
    resp.runner->n_labels = 1;
    send_msg(call, &resp.base);
    resp.runner->labels = NULL;
    resp.runner->n_labels = 0;
    protobuf_c_message_free_unpacked(&resp.runner->base, NULL);
    finish(call, GRPC_STATUS_OK, "", NULL);
}

static void serve_spawn(grpc_call *call, grpc_byte_buffer *payload)
{
    Flame__V1__SpawnRequest *req =
        (Flame__V1__SpawnRequest *)unpack(payload, &flame__v1__spawn_request__descriptor);
    Flame__V1__SpawnResponse ev = FLAME__V1__SPAWN_RESPONSE__INIT;
    Flame__V1__SpawnResponse__Started started = FLAME__V1__SPAWN_RESPONSE__STARTED__INIT;
    Flame__V1__SpawnResponse__Exited exited = FLAME__V1__SPAWN_RESPONSE__EXITED__INIT;
    const char *mode = req->n_argv ? req->argv[0] : "";

    pthread_mutex_lock(&seen.mu);
    if (seen.spawn)
        protobuf_c_message_free_unpacked(&seen.spawn->base, NULL);
    seen.spawn = req;
    pthread_mutex_unlock(&seen.mu);
    if (strcmp(mode, "gone") == 0) {
        finish(call, GRPC_STATUS_FAILED_PRECONDITION, "runner is not running", "RUNNER_NOT_RUNNING");
        return;
    }
    ev.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_STARTED;
    started.exec_id = (char *)"exec-1";
    ev.started = &started;
    send_msg(call, &ev.base);
    if (strcmp(mode, "forever") == 0 || strcmp(mode, "silent") == 0) {
        if (mode[0] == 'f') {
            /* output until the client cancels */
            ev.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_STDOUT;
            ev.stdout.data = (uint8_t *)"tick\n";
            ev.stdout.len = 5;
            while (send_msg(call, &ev.base))
                usleep(10000);
        }
        hold_until_client_gone(call);
        finish_closed(call);
        return;
    }
    if (strcmp(mode, "noexit") != 0) {
        ev.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_STDOUT;
        ev.stdout.data = (uint8_t *)"hi\n";
        ev.stdout.len = 3;
        send_msg(call, &ev.base);
        ev.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_STDERR;
        ev.stderr.data = (uint8_t *)"err\0x"; /* binary-safe */
        ev.stderr.len = 5;
        send_msg(call, &ev.base);
        ev.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_EXITED;
        exited.exit_code = 3;
        ev.exited = &exited;
        send_msg(call, &ev.base);
    }
    finish(call, GRPC_STATUS_OK, "", NULL);
}

static void serve_watch(grpc_call *call, grpc_byte_buffer *payload)
{
    Flame__V1__WatchRequest *req =
        (Flame__V1__WatchRequest *)unpack(payload, &flame__v1__watch_request__descriptor);
    int hang = strcmp(req->runner_id, "hang") == 0;

    for (int i = 1; i <= 3 && !(hang && i > 1); i++) {
        Flame__V1__WatchResponse ev = FLAME__V1__WATCH_RESPONSE__INIT;

        ev.type = i == 1 ? FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_BOOTING
                         : FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_STARTED;
        ev.sequence = (uint64_t)(100 + i);
        ev.time_unix_nano = 1700000000000000000LL + i;
        ev.runner = fake_runner("00000000000000aa", req->pool[0] ? req->pool : "img", i);
        if (!send_msg(call, &ev.base))
            hang = 1; /* client left: just wait for the close */
        protobuf_c_message_free_unpacked(&ev.runner->base, NULL);
    }
    if (hang || req->include_existing) {
        hold_until_client_gone(call);
        finish_closed(call);
    } else {
        finish(call, GRPC_STATUS_OK, "", NULL);
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

#define MANY_RUNNERS 300
#define MANY_LABELS 12

/* Pool "many": MANY_RUNNERS runners of MANY_LABELS labels each (~150 KB, several
 * HTTP/2 frames, more than one arena block's guess of slack). */
static void serve_list_many(grpc_call *call)
{
    Flame__V1__ListResponse resp = FLAME__V1__LIST_RESPONSE__INIT;
    Flame__V1__Runner **rs = calloc(MANY_RUNNERS, sizeof(*rs));
    char buf[96];

    assert_non_null(rs);
    for (size_t i = 0; i < MANY_RUNNERS; i++) {
        snprintf(buf, sizeof(buf), "%016zx", i);
        rs[i] = fake_runner(buf, "registry.example/team/app:latest", FLAME_RUNNER_RUNNING);
        snprintf(buf, sizeof(buf), "%064zx", i);
        rs[i]->container_id = strdup(buf);
        rs[i]->labels = calloc(MANY_LABELS, sizeof(*rs[i]->labels));
        rs[i]->n_labels = MANY_LABELS;
        for (size_t j = 0; j < MANY_LABELS; j++) {
            Flame__V1__Runner__LabelsEntry *e = malloc(sizeof(*e));

            flame__v1__runner__labels_entry__init(e);
            snprintf(buf, sizeof(buf), "flamed.label-%zu", j);
            e->key = strdup(buf);
            snprintf(buf, sizeof(buf), "value %zu of runner %zu", j, i);
            e->value = strdup(buf);
            rs[i]->labels[j] = e;
        }
    }
    resp.runners = rs;
    resp.n_runners = MANY_RUNNERS;
    send_msg(call, &resp.base);
    for (size_t i = 0; i < MANY_RUNNERS; i++)
        protobuf_c_message_free_unpacked(&rs[i]->base, NULL);
    free(rs);
    finish(call, GRPC_STATUS_OK, "", NULL);
}

/* Pool "garbage": a message that is not a ListResponse. */
static void serve_list_garbage(grpc_call *call)
{
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};
    grpc_slice sl = grpc_slice_from_static_buffer(junk, sizeof(junk));
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = grpc_raw_byte_buffer_create(&sl, 1);
    run_ops(call, &op, 1);
    grpc_byte_buffer_destroy(op.data.send_message.send_message);
    finish(call, GRPC_STATUS_OK, "", NULL);
}

static void serve_list(grpc_call *call, grpc_byte_buffer *payload)
{
    Flame__V1__ListRequest *req =
        (Flame__V1__ListRequest *)unpack(payload, &flame__v1__list_request__descriptor);
    Flame__V1__ListResponse resp = FLAME__V1__LIST_RESPONSE__INIT;
    Flame__V1__Runner *rs[2];

    if (strcmp(req->pool, "many") == 0 || strcmp(req->pool, "garbage") == 0) {
        if (req->pool[0] == 'm')
            serve_list_many(call);
        else
            serve_list_garbage(call);
        protobuf_c_message_free_unpacked(&req->base, NULL);
        return;
    }
    if (strcmp(req->pool, "empty") != 0) {
        rs[0] = fake_runner("00000000000000a1", "app:1", FLAME_RUNNER_RUNNING);
        rs[1] = fake_runner("00000000000000a2", "app:2", FLAME_RUNNER_EXITED);
        resp.runners = rs;
        resp.n_runners = 2;
    }
    send_msg(call, &resp.base);
    for (size_t i = 0; i < resp.n_runners; i++)
        protobuf_c_message_free_unpacked(&rs[i]->base, NULL);
    finish(call, GRPC_STATUS_OK, "", NULL);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void serve_shutdown(grpc_call *call, grpc_byte_buffer *payload)
{
    Flame__V1__ShutdownRequest *req =
        (Flame__V1__ShutdownRequest *)unpack(payload, &flame__v1__shutdown_request__descriptor);
    Flame__V1__ShutdownResponse resp = FLAME__V1__SHUTDOWN_RESPONSE__INIT;

    if (strcmp(req->runner_id, "nope") == 0) {
        finish(call, GRPC_STATUS_NOT_FOUND, "runner 'nope' not found: see `flamectl ls`",
               "RUNNER_NOT_FOUND");
    } else {
        resp.runner = fake_runner(req->runner_id, "app:1", FLAME_RUNNER_REMOVED);
        send_msg(call, &resp.base);
        protobuf_c_message_free_unpacked(&resp.runner->base, NULL);
        finish(call, GRPC_STATUS_OK, "", NULL);
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void serve_one(grpc_call *call, const grpc_call_details *d, const grpc_metadata_array *md)
{
    grpc_op ops[2];
    grpc_byte_buffer *payload = NULL;
    char method[64];
    size_t n = GRPC_SLICE_LENGTH(d->method) < sizeof(method) - 1 ? GRPC_SLICE_LENGTH(d->method)
                                                                  : sizeof(method) - 1;

    memcpy(method, GRPC_SLICE_START_PTR(d->method), n);
    method[n] = '\0';
    pthread_mutex_lock(&seen.mu);
    seen.calls++;
    snprintf(seen.method, sizeof(seen.method), "%s", method);
    seen.authorization[0] = '\0';
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") == 0) {
            size_t vl = GRPC_SLICE_LENGTH(md->metadata[i].value);

            if (vl >= sizeof(seen.authorization))
                vl = sizeof(seen.authorization) - 1;
            memcpy(seen.authorization, GRPC_SLICE_START_PTR(md->metadata[i].value), vl);
            seen.authorization[vl] = '\0';
        }
    }
    pthread_mutex_unlock(&seen.mu);

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &payload;
    run_ops(call, ops, 2);
    if (strcmp(method, "/flame.v1.RunnerService/Boot") == 0)
        serve_boot(call, payload);
    else if (strcmp(method, "/flame.v1.RunnerService/Spawn") == 0)
        serve_spawn(call, payload);
    else if (strcmp(method, "/flame.v1.RunnerService/Watch") == 0)
        serve_watch(call, payload);
    else if (strcmp(method, "/flame.v1.RunnerService/List") == 0)
        serve_list(call, payload);
    else if (strcmp(method, "/flame.v1.RunnerService/Shutdown") == 0)
        serve_shutdown(call, payload);
    else
        finish(call, GRPC_STATUS_UNIMPLEMENTED, "unknown method", NULL);
    if (payload)
        grpc_byte_buffer_destroy(payload);
}

static void *fake_main(void *arg)
{
    (void)arg;
    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details d;
        grpc_metadata_array md;
        int ok;

        grpc_call_details_init(&d);
        grpc_metadata_array_init(&md);
        assert_int_equal(grpc_server_request_call(fake.server, &call, &d, &md, fake.cq, fake.cq,
                                                  tag(TAG_NEW)),
                         GRPC_CALL_OK);
        ok = wait_tag(TAG_NEW);
        if (ok)
            serve_one(call, &d, &md);
        if (call)
            grpc_call_unref(call);
        grpc_call_details_destroy(&d);
        grpc_metadata_array_destroy(&md);
        if (!ok)
            break; /* the server is shutting down */
    }
    if (!fake.shutdown_seen)
        wait_tag(TAG_SHUTDOWN);
    return NULL;
}

static int fake_start(void **state)
{
    grpc_server_credentials *creds;

    (void)state;
    grpc_init();
    snprintf(fake.addr, sizeof(fake.addr), "unix:/tmp/flc-unit-%d.sock", (int)getpid());
    unlink(fake.addr + 5);
    fake.cq = grpc_completion_queue_create_for_next(NULL);
    fake.server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(fake.server, fake.cq, NULL);
    creds = grpc_insecure_server_credentials_create();
    assert_int_not_equal(grpc_server_add_http2_port(fake.server, fake.addr, creds), 0);
    grpc_server_credentials_release(creds);
    grpc_server_start(fake.server);
    return pthread_create(&fake.thread, NULL, fake_main, NULL);
}

static int fake_stop(void **state)
{
    (void)state;
    grpc_server_shutdown_and_notify(fake.server, fake.cq, tag(TAG_SHUTDOWN));
    grpc_server_cancel_all_calls(fake.server);
    pthread_join(fake.thread, NULL);
    grpc_completion_queue_shutdown(fake.cq);
    while (grpc_completion_queue_next(fake.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_server_destroy(fake.server);
    grpc_completion_queue_destroy(fake.cq);
    if (seen.boot)
        protobuf_c_message_free_unpacked(&seen.boot->base, NULL);
    if (seen.spawn)
        protobuf_c_message_free_unpacked(&seen.spawn->base, NULL);
    grpc_shutdown_blocking();
    return 0;
}

/* ------------------------------------------------------------ helpers */

static flame_client *open_client(const char *token)
{
    flame_client_options o;
    flame_client *c = NULL;

    memset(&o, 0, sizeof(o));
    o.bearer_token = token;
    o.timeout_ms = 10000;
    assert_int_equal(flame_client_open(&c, fake.addr, &o), 0);
    assert_non_null(c);
    return c;
}

static int seen_calls(void)
{
    int n;

    pthread_mutex_lock(&seen.mu);
    n = seen.calls;
    pthread_mutex_unlock(&seen.mu);
    return n;
}

static const char *entry_value(Flame__V1__BootRequest__EnvEntry **es, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(es[i]->key, key) == 0)
            return es[i]->value;
    return NULL;
}

/* ------------------------------------------------------------ tests */

static void open_rejects_empty_address(void **state)
{
    flame_client *c = (flame_client *)1;

    (void)state;
    assert_int_equal(flame_client_open(&c, "", NULL), FLAME_EINVALID);
    assert_int_equal(flame_client_open(&c, NULL, NULL), FLAME_EINVALID);
    flame_client_close(NULL);
}

static void boot_sends_the_request_and_returns_the_runner(void **state)
{
    const char *env[] = {"FLAME_PARENT=abc=", "X=1", NULL};
    const char *labels[] = {"team=core", NULL};
    const char *cmd[] = {"sleep", "3600", NULL};
    const char *mounts[] = {"{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/data\"}", NULL};
    flame_boot_request req;
    flame_client *c = open_client("s3cret");
    flame_runner *r = NULL;
    flame_status st;
    const Google__Protobuf__Value *v;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.image = "app:latest";
    req.network = "flame-net";
    req.pool = "gpu";
    req.env = env;
    req.labels = labels;
    req.cmd = cmd;
    req.host_config_json = "{\"Memory\":1,\"Ulimits\":[{\"Name\":\"nofile\"}]}";
    req.mounts_json = mounts;
    req.memory_bytes = 536870912;
    req.nano_cpus = 1500000000;
    req.keep_runner = 1;
    req.pull_policy = FLAME_PULL_NEVER;
    req.boot_timeout_ms = 5000;
    assert_int_equal(flame_client_boot(c, &req, &r, &st), 0);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.reason, "");
    assert_non_null(r);
    assert_string_equal(r->id, "0123456789abcdef");
    assert_string_equal(r->image, "app:latest");
    assert_int_equal(r->state, FLAME_RUNNER_RUNNING);
    assert_string_equal(flame_runner_label(r, "flamed.pool"), "default");
    assert_null(flame_runner_label(r, "nope"));
    flame_runner_free(r);

    pthread_mutex_lock(&seen.mu);
    assert_string_equal(seen.method, "/flame.v1.RunnerService/Boot");
    assert_string_equal(seen.authorization, "Bearer s3cret");
    assert_string_equal(seen.boot->image, "app:latest");
    assert_string_equal(seen.boot->network, "flame-net");
    assert_string_equal(seen.boot->pool, "gpu");
    assert_int_equal(seen.boot->n_env, 2);
    assert_string_equal(entry_value(seen.boot->env, seen.boot->n_env, "FLAME_PARENT"), "abc=");
    assert_int_equal(seen.boot->n_labels, 1);
    assert_int_equal(seen.boot->n_cmd, 2);
    assert_string_equal(seen.boot->cmd[1], "3600");
    assert_true(seen.boot->keep_runner);
    assert_int_equal(seen.boot->pull_policy, FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER);
    assert_int_equal(seen.boot->boot_timeout_ms, 5000);
    /* --memory/--cpus override the JSON's keys */
    v = flame__struct_get(seen.boot->host_config, "Memory");
    assert_non_null(v);
    assert_true(v->number_value == 536870912.0);
    v = flame__struct_get(seen.boot->host_config, "NanoCpus");
    assert_non_null(v);
    assert_true(v->number_value == 1500000000.0);
    assert_non_null(flame__struct_get(seen.boot->host_config, "Ulimits"));
    assert_int_equal(seen.boot->n_mounts, 1);
    assert_string_equal(flame__struct_get(seen.boot->mounts[0], "Target")->string_value, "/data");
    pthread_mutex_unlock(&seen.mu);
    flame_client_close(c);
}

static void boot_memory_alone_creates_a_host_config(void **state)
{
    flame_boot_request req;
    flame_client *c = open_client(NULL);
    flame_runner *r = NULL;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.image = "app:latest";
    req.memory_bytes = 1024;
    assert_int_equal(flame_client_boot(c, &req, &r, NULL), 0);
    flame_runner_free(r);
    pthread_mutex_lock(&seen.mu);
    assert_string_equal(seen.authorization, ""); /* no token: no header */
    assert_non_null(seen.boot->host_config);
    assert_int_equal(seen.boot->host_config->n_fields, 1);
    assert_string_equal(seen.boot->pool, "");
    assert_int_equal(seen.boot->n_mounts, 0);
    pthread_mutex_unlock(&seen.mu);
    flame_client_close(c);
}

static void boot_invalid_json_fails_before_sending(void **state)
{
    const char *mounts[] = {"{\"Type\":\"bind\"}", "{oops", NULL};
    flame_boot_request req;
    flame_client *c = open_client(NULL);
    flame_runner *r = (flame_runner *)1;
    flame_status st;
    int before = seen_calls();

    (void)state;
    memset(&req, 0, sizeof(req));
    req.image = "app:latest";
    req.host_config_json = "{\"Memory\":}";
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_non_null(strstr(st.message, "host_config: invalid JSON"));

    req.host_config_json = NULL;
    req.mounts_json = mounts;
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_non_null(strstr(st.message, "mount 2: invalid JSON"));

    req.mounts_json = NULL;
    req.host_config_json = "[1]";
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_non_null(strstr(st.message, "must be an object"));
    assert_int_equal(seen_calls(), before);
    flame_client_close(c);
}

static void boot_rejects_bad_requests_locally(void **state)
{
    const char *env[] = {"NOEQUALS", NULL};
    flame_boot_request req;
    flame_client *c = open_client(NULL);
    flame_runner *r = NULL;
    flame_status st;
    int before = seen_calls();

    (void)state;
    memset(&req, 0, sizeof(req));
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_non_null(strstr(st.message, "image is required"));
    req.image = "app:latest";
    req.env = env;
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_non_null(strstr(st.message, "env entry 'NOEQUALS'"));
    req.env = NULL;
    req.pull_policy = 7;
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    req.pull_policy = 0;
    req.memory_bytes = -1;
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_EINVALID);
    assert_int_equal(seen_calls(), before);
    flame_client_close(c);
}

static void error_status_gives_code_message_and_reason(void **state)
{
    flame_boot_request req;
    flame_client *c = open_client(NULL);
    flame_runner *r = (flame_runner *)1;
    flame_status st;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.image = "missing:latest";
    assert_int_equal(flame_client_boot(c, &req, &r, &st), FLAME_ENOTFOUND);
    assert_null(r);
    assert_int_equal(st.code, 5);
    assert_string_equal(st.message, "image 'missing:latest' not found: pull it");
    assert_string_equal(st.reason, "IMAGE_NOT_FOUND");

    assert_int_equal(flame_client_shutdown(c, "nope", 0, &r, &st), FLAME_ENOTFOUND);
    assert_string_equal(st.reason, "RUNNER_NOT_FOUND");
    assert_non_null(strstr(st.message, "not found"));
    flame_client_close(c);
}

static void shutdown_returns_the_final_runner(void **state)
{
    flame_client *c = open_client(NULL);
    flame_runner *r = NULL;
    flame_status st;

    (void)state;
    assert_int_equal(flame_client_shutdown(c, "00000000000000a1", 2000, &r, &st), 0);
    assert_int_equal(r->state, FLAME_RUNNER_REMOVED);
    assert_string_equal(r->id, "00000000000000a1");
    flame_runner_free(r);
    assert_int_equal(flame_client_shutdown(c, "00000000000000a1", 0, NULL, NULL), 0);
    assert_int_equal(flame_client_shutdown(c, "", 0, NULL, &st), FLAME_EINVALID);
    flame_client_close(c);
}

static void list_returns_runners_in_order(void **state)
{
    flame_client *c = open_client(NULL);
    flame_runner **rs = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(flame_client_list(c, NULL, &rs, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rs[0]->id, "00000000000000a1");
    assert_string_equal(rs[1]->image, "app:2");
    assert_int_equal(rs[1]->state, FLAME_RUNNER_EXITED);
    assert_int_equal(rs[1]->exit_code, 137);
    flame_runner_list_free(rs, n);
    assert_int_equal(flame_client_list(c, "empty", &rs, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(rs);
    flame_client_close(c);
}

static void list_of_many_runners_with_labels(void **state)
{
    flame_client *c = open_client(NULL);
    flame_runner **rs = NULL, *kept;
    size_t n = 0;
    char want[96];

    (void)state;
    assert_int_equal(flame_client_list(c, "many", &rs, &n, NULL), 0);
    assert_int_equal(n, MANY_RUNNERS);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "%016zx", i);
        assert_string_equal(rs[i]->id, want);
        assert_int_equal(strlen(rs[i]->container_id), 64);
        assert_int_equal(rs[i]->n_labels, MANY_LABELS);
        snprintf(want, sizeof(want), "value %d of runner %zu", MANY_LABELS - 1, i);
        assert_string_equal(rs[i]->label_values[MANY_LABELS - 1], want);
        assert_string_equal(rs[i]->error, "");
    }
    /* take one out: it outlives the list */
    kept = rs[MANY_RUNNERS / 2];
    rs[MANY_RUNNERS / 2] = NULL;
    flame_runner_list_free(rs, n);
    snprintf(want, sizeof(want), "%016x", MANY_RUNNERS / 2);
    assert_string_equal(kept->id, want);
    assert_string_equal(flame_runner_label(kept, "flamed.label-0"), "value 0 of runner 150");
    flame_runner_free(kept);
    flame_client_close(c);
}

static void list_of_a_malformed_response_is_eerror(void **state)
{
    flame_client *c = open_client(NULL);
    flame_runner **rs = NULL;
    flame_status st;
    size_t n = 7;

    (void)state;
    assert_int_equal(flame_client_list(c, "garbage", &rs, &n, &st), FLAME_ERROR);
    assert_null(rs);
    assert_int_equal(n, 0);
    assert_non_null(strstr(st.message, "malformed"));
    /* the client and its pooled queue still work */
    assert_int_equal(flame_client_list(c, NULL, &rs, &n, NULL), 0);
    assert_int_equal(n, 2);
    flame_runner_list_free(rs, n);
    flame_client_close(c);
}

struct lister {
    flame_client *c;
    int failures;
};

static void *list_many_times(void *p)
{
    struct lister *l = p;

    for (int i = 0; i < 25; i++) {
        flame_runner **rs = NULL;
        size_t n = 0;

        if (flame_client_list(l->c, i % 5 ? NULL : "many", &rs, &n, NULL) != 0 ||
            n != (i % 5 ? 2u : MANY_RUNNERS))
            l->failures++;
        flame_runner_list_free(rs, n);
    }
    return NULL;
}

static void calls_from_many_threads_share_the_queue_pool(void **state)
{
    flame_client *c = open_client(NULL);
    pthread_t th[8];
    struct lister ls[8];
    flame_runner *r = NULL;
    int before = seen_calls();

    (void)state;
    for (int i = 0; i < 8; i++) {
        ls[i].c = c;
        ls[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, list_many_times, &ls[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ls[i].failures, 0);
    }
    assert_int_equal(seen_calls() - before, 8 * 25);
    assert_true(c->n_cq_idle >= 1 && c->n_cq_idle <= 8);
    /* a queue that served lists serves a unary call of another kind */
    assert_int_equal(flame_client_shutdown(c, "00000000000000a1", 0, &r, NULL), 0);
    assert_string_equal(r->id, "00000000000000a1");
    flame_runner_free(r);
    flame_client_close(c); /* destroys the pooled queues: LSan/valgrind see no leak */
}

struct collect {
    char out[64], err[64];
    size_t n_out, n_err;
    char exec_id[32];
    int cancel_after; /* cancel at this output chunk; 0: never */
    int chunks;
    int ticks, tick_cancel_at;
};

static void on_started(void *ud, const char *exec_id)
{
    struct collect *k = ud;

    snprintf(k->exec_id, sizeof(k->exec_id), "%s", exec_id);
}

static int on_output(void *ud, int stream, const void *data, size_t len)
{
    struct collect *k = ud;
    char *buf = stream == 1 ? k->out : k->err;
    size_t *n = stream == 1 ? &k->n_out : &k->n_err;

    if (*n + len <= sizeof(k->out)) {
        memcpy(buf + *n, data, len);
        *n += len;
    }
    k->chunks++;
    return k->cancel_after && k->chunks >= k->cancel_after;
}

static int on_tick(void *ud)
{
    struct collect *k = ud;

    return ++k->ticks >= k->tick_cancel_at;
}

static void spawn_streams_output_and_exit_code(void **state)
{
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    const char *env[] = {"A=b", NULL};
    flame_spawn_request req;
    flame_spawn_handler h;
    struct collect k;
    flame_client *c = open_client(NULL);
    flame_status st;
    int code = -1;

    (void)state;
    memset(&req, 0, sizeof(req));
    memset(&h, 0, sizeof(h));
    memset(&k, 0, sizeof(k));
    req.runner_id = "0123456789abcdef";
    req.argv = argv;
    req.env = env;
    req.working_dir = "/app";
    req.timeout_ms = 5000;
    h.on_started = on_started;
    h.on_output = on_output;
    h.ud = &k;
    assert_int_equal(flame_client_spawn(c, &req, &h, &code, &st), 0);
    assert_int_equal(code, 3);
    assert_string_equal(k.exec_id, "exec-1");
    assert_int_equal(k.n_out, 3);
    assert_memory_equal(k.out, "hi\n", 3);
    assert_int_equal(k.n_err, 5);
    assert_memory_equal(k.err, "err\0x", 5);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.spawn->n_argv, 3);
    assert_string_equal(seen.spawn->argv[2], "echo hi");
    assert_string_equal(seen.spawn->working_dir, "/app");
    assert_int_equal(seen.spawn->timeout_ms, 5000);
    assert_int_equal(seen.spawn->n_env, 1);
    pthread_mutex_unlock(&seen.mu);

    /* no handler: output discarded, exit code still delivered */
    code = -1;
    assert_int_equal(flame_client_spawn(c, &req, NULL, &code, NULL), 0);
    assert_int_equal(code, 3);
    flame_client_close(c);
}

static void spawn_callback_cancels_the_call(void **state)
{
    const char *argv[] = {"forever", NULL};
    flame_spawn_request req;
    flame_spawn_handler h;
    struct collect k;
    flame_client *c = open_client(NULL);
    flame_status st;
    int code = -1;

    (void)state;
    memset(&req, 0, sizeof(req));
    memset(&h, 0, sizeof(h));
    memset(&k, 0, sizeof(k));
    req.runner_id = "0123456789abcdef";
    req.argv = argv;
    k.cancel_after = 3;
    h.on_output = on_output;
    h.ud = &k;
    assert_int_equal(flame_client_spawn(c, &req, &h, &code, &st), FLAME_ECANCELLED);
    assert_int_equal(code, -1);
    assert_int_equal(k.chunks, 3);
    assert_int_equal(st.code, 1);
    flame_client_close(c); /* the fake sees the cancel; the next test's call proves it moved on */
}

static void spawn_tick_cancels_a_silent_command(void **state)
{
    const char *argv[] = {"silent", NULL};
    flame_spawn_request req;
    flame_spawn_handler h;
    struct collect k;
    flame_client *c = open_client(NULL);
    int code = -1;

    (void)state;
    memset(&req, 0, sizeof(req));
    memset(&h, 0, sizeof(h));
    memset(&k, 0, sizeof(k));
    req.runner_id = "0123456789abcdef";
    req.argv = argv;
    k.tick_cancel_at = 3;
    h.on_tick = on_tick;
    h.ud = &k;
    assert_int_equal(flame_client_spawn(c, &req, &h, &code, NULL), FLAME_ECANCELLED);
    assert_int_equal(k.ticks, 3);
    flame_client_close(c);
}

static void spawn_errors_and_missing_exit(void **state)
{
    const char *gone[] = {"gone", NULL}, *noexit[] = {"noexit", NULL}, *empty[] = {NULL};
    flame_spawn_request req;
    flame_client *c = open_client(NULL);
    flame_status st;
    int code = -1;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.runner_id = "0123456789abcdef";
    req.argv = gone;
    assert_int_equal(flame_client_spawn(c, &req, NULL, &code, &st), FLAME_EPRECONDITION);
    assert_string_equal(st.reason, "RUNNER_NOT_RUNNING");
    req.argv = noexit;
    assert_int_equal(flame_client_spawn(c, &req, NULL, &code, &st), FLAME_ERROR);
    assert_non_null(strstr(st.message, "without the command's exit code"));
    req.argv = empty;
    assert_int_equal(flame_client_spawn(c, &req, NULL, &code, &st), FLAME_EINVALID);
    req.argv = NULL;
    assert_int_equal(flame_client_spawn(c, &req, NULL, &code, &st), FLAME_EINVALID);
    assert_int_equal(code, -1);
    flame_client_close(c);
}

struct events {
    int n, stop_at;
    uint64_t seq[8];
    int type[8];
    char pool[16];
};

static int on_event(void *ud, const flame_event *ev)
{
    struct events *e = ud;

    if (e->n < 8) {
        e->seq[e->n] = ev->sequence;
        e->type[e->n] = ev->type;
        snprintf(e->pool, sizeof(e->pool), "%s", ev->runner->image);
    }
    e->n++;
    return e->stop_at && e->n >= e->stop_at;
}

static void watch_delivers_events_until_the_stream_ends(void **state)
{
    flame_client *c = open_client(NULL);
    struct events e = {0};
    flame_watch_request w = {0};

    (void)state;
    w.pool = "p1";
    assert_int_equal(flame_client_watch(c, &w, on_event, &e, NULL), 0);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.seq[0], 101);
    assert_int_equal(e.seq[2], 103);
    assert_int_equal(e.type[0], FLAME_EVENT_BOOTING);
    assert_int_equal(e.type[1], FLAME_EVENT_STARTED);
    assert_string_equal(e.pool, "p1");
    flame_client_close(c);
}

static void watch_stops_when_the_callback_says_so(void **state)
{
    flame_client *c = open_client(NULL);
    struct events e = {0};
    flame_watch_request w = {0};
    flame_status st;

    (void)state;
    w.include_existing = 1; /* the fake then holds the stream open */
    e.stop_at = 2;
    assert_int_equal(flame_client_watch(c, &w, on_event, &e, &st), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(st.code, 0);
    flame_client_close(c);
}

static void watch_timeout_is_etimeout(void **state)
{
    flame_client *c = open_client(NULL);
    struct events e = {0};
    flame_watch_request w = {0};
    flame_status st;

    (void)state;
    w.runner_id = "hang";
    w.timeout_ms = 300;
    assert_int_equal(flame_client_watch(c, &w, on_event, &e, &st), FLAME_ETIMEOUT);
    assert_int_equal(st.code, 4);
    assert_int_equal(e.n, 1);
    flame_client_close(c);
}

static int stop_tick(void *ud)
{
    (void)ud;
    return 1;
}

static void watch_tick_stops_it_cleanly(void **state)
{
    flame_client *c = open_client(NULL);
    struct events e = {0};
    flame_watch_request w = {0};

    (void)state;
    w.runner_id = "hang";
    w.on_tick = stop_tick;
    assert_int_equal(flame_client_watch(c, &w, on_event, &e, NULL), 0);
    flame_client_close(c);
}

static void unreachable_server_is_eunavailable(void **state)
{
    flame_client *c = NULL;
    flame_runner **rs = NULL;
    flame_status st;
    struct events e = {0};
    size_t n = 0;
    int code;
    const char *argv[] = {"true", NULL};
    flame_spawn_request sreq = {.runner_id = "x", .argv = argv};

    (void)state;
    assert_int_equal(flame_client_open(&c, "unix:/nonexistent/flamed.sock", NULL), 0);
    assert_int_equal(flame_client_list(c, NULL, &rs, &n, &st), FLAME_EUNAVAILABLE);
    assert_int_equal(st.code, 14);
    assert_true(st.message[0] != '\0');
    assert_int_equal(flame_client_spawn(c, &sreq, NULL, &code, &st), FLAME_EUNAVAILABLE);
    assert_int_equal(flame_client_watch(c, NULL, on_event, &e, &st), FLAME_EUNAVAILABLE);
    flame_client_close(c);
}

static void names_cover_the_enums(void **state)
{
    (void)state;
    assert_string_equal(flame_runner_state_name(FLAME_RUNNER_RUNNING), "RUNNING");
    assert_string_equal(flame_runner_state_name(FLAME_RUNNER_FAILED), "FAILED");
    assert_string_equal(flame_runner_state_name(99), "UNKNOWN");
    assert_string_equal(flame_event_type_name(FLAME_EVENT_STOPPING), "STOPPING");
    assert_string_equal(flame_event_type_name(-1), "UNKNOWN");
    assert_string_equal(flame_version(), FLAMED_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_rejects_empty_address),
        cmocka_unit_test(boot_sends_the_request_and_returns_the_runner),
        cmocka_unit_test(boot_memory_alone_creates_a_host_config),
        cmocka_unit_test(boot_invalid_json_fails_before_sending),
        cmocka_unit_test(boot_rejects_bad_requests_locally),
        cmocka_unit_test(error_status_gives_code_message_and_reason),
        cmocka_unit_test(shutdown_returns_the_final_runner),
        cmocka_unit_test(list_returns_runners_in_order),
        cmocka_unit_test(list_of_many_runners_with_labels),
        cmocka_unit_test(list_of_a_malformed_response_is_eerror),
        cmocka_unit_test(calls_from_many_threads_share_the_queue_pool),
        cmocka_unit_test(spawn_streams_output_and_exit_code),
        cmocka_unit_test(spawn_callback_cancels_the_call),
        cmocka_unit_test(spawn_tick_cancels_a_silent_command),
        cmocka_unit_test(spawn_errors_and_missing_exit),
        cmocka_unit_test(watch_delivers_events_until_the_stream_ends),
        cmocka_unit_test(watch_stops_when_the_callback_says_so),
        cmocka_unit_test(watch_timeout_is_etimeout),
        cmocka_unit_test(watch_tick_stops_it_cleanly),
        cmocka_unit_test(unreachable_server_is_eunavailable),
        cmocka_unit_test(names_cover_the_enums),
    };
    return cmocka_run_group_tests(tests, fake_start, fake_stop);
}
