/*
 * call.c - gRPC core call plumbing for libflame: channel, completion queues,
 * unary and server-streaming calls, status mapping.
 *
 * gRPC core 1.51 has no C stubs: each call is grpc_channel_create_registered_call()
 * (the methods are registered with the channel at open, so the path is not
 * re-parsed per call) plus batches of ops on a NEXT completion queue that
 * belongs to that call alone while it runs. Only one batch is in flight at a
 * time, so every completion is the one we wait for. Buffers a batch points at
 * live in the flame__call until it completes.
 *
 * Completion queues are pooled per client instead of created and shut down
 * per call (that was ~10% of a List's client CPU with grpc_channel_create_call):
 * a queue goes back to the pool only when every batch started on it has
 * completed, so nothing of an earlier call can ever arrive on it; the pool
 * is drained and destroyed by flame_client_close(), before grpc_shutdown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "internal.h"

struct flame__call {
    flame_client *client;
    grpc_completion_queue *cq;
    int pending; /* batches started whose completion was not seen yet */
    grpc_call *call;
    grpc_metadata auth_md;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_byte_buffer *recv_buf;
    grpc_status_code status;
    grpc_slice details;
    int cancelled_by_tick;
    /* Bidirectional calls (flame__call_open): one send and one receive may
     * be in flight together; their tags are these fields' addresses. */
    grpc_byte_buffer *send_buf;
    int send_busy, send_failed, recv_busy, initial_md_asked;
};

#define FLAME__DEFAULT_TIMEOUT_MS 120000u

/* Registered with every channel; other paths still work, unregistered. */
static const char *const methods[FLAME__N_METHODS] = {
    "/flame.v1.RunnerService/List",  "/flame.v1.RunnerService/Boot",
    "/flame.v1.RunnerService/Shutdown", "/flame.v1.RunnerService/Renew",
    "/flame.v1.RunnerService/Spawn", "/flame.v1.RunnerService/Watch",
    "/grpc.health.v1.Health/Check",
};

/* ------------------------------------------------------------ client */

int flame_client_open(flame_client **out, const char *addr, const flame_client_options *opts)
{
    flame_client *c = NULL;
    grpc_channel_credentials *creds = NULL;
    int err = 0, inited = 0;

    if (!out || !addr || !*addr)
        return FLAME_EINVALID;
    *out = NULL;
    if (!(c = calloc(1, sizeof(*c)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : FLAME__DEFAULT_TIMEOUT_MS;
    if (!(c->target = strdup(addr))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    if (opts && opts->bearer_token && *opts->bearer_token) {
        size_t n = strlen(opts->bearer_token) + sizeof("Bearer ");

        if (!(c->authorization = malloc(n))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        snprintf(c->authorization, n, "Bearer %s", opts->bearer_token);
    }
    if (pthread_mutex_init(&c->cq_mu, NULL) != 0) {
        err = FLAME_ENOMEM;
        goto done;
    }
    grpc_init();
    inited = 1;
    if (!(creds = grpc_insecure_credentials_create())) {
        err = FLAME_ERROR;
        goto done;
    }
    /* Never NULL: a bad target gives a "lame" channel whose calls fail with
     * a status, which is where the caller learns about it. */
    /* Each client its own connection: gRPC core otherwise shares one
     * connection among all channels to the same target (its global
     * subchannel pool), so opening more clients would not spread load. */
    grpc_arg local_pool = {GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, {.integer = 1}};
    grpc_channel_args args = {1, &local_pool};
    if (!(c->channel = grpc_channel_create(c->target, creds, &args))) {
        err = FLAME_ERROR;
        goto done;
    }
    for (size_t i = 0; i < FLAME__N_METHODS; i++)
        c->registered[i] = grpc_channel_register_call(c->channel, methods[i], NULL, NULL);
    *out = c;
    c = NULL;
    inited = 0;
done:
    if (creds)
        grpc_channel_credentials_release(creds);
    if (c) {
        if (c->channel)
            grpc_channel_destroy(c->channel);
        if (inited)
            pthread_mutex_destroy(&c->cq_mu);
        free(c->target);
        free(c->authorization);
        free(c);
    }
    if (inited)
        grpc_shutdown();
    return err;
}

static void cq_destroy(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

void flame_client_close(flame_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_cq_idle; i++)
        cq_destroy(c->cq_idle[i]);
    pthread_mutex_destroy(&c->cq_mu);
    if (c->channel)
        grpc_channel_destroy(c->channel);
    free(c->target);
    free(c->authorization);
    free(c);
    /* Blocking: when this was the last gRPC user, its threads are gone on
     * return, so a process that closes its client exits leak-checker clean. */
    grpc_shutdown_blocking();
}

/* ------------------------------------------------------------ status */

static void status_clear(flame_status *st)
{
    if (!st)
        return;
    st->code = 0;
    st->message[0] = '\0';
    st->reason[0] = '\0';
}

void flame__status_local(flame_status *st, int err, const char *fmt, ...)
{
    va_list ap;

    if (!st)
        return;
    status_clear(st);
    st->code = flame_error_grpc_status(err);
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
}

static void copy_slice(char *dst, size_t cap, grpc_slice s)
{
    size_t n = GRPC_SLICE_LENGTH(s);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, GRPC_SLICE_START_PTR(s), n);
    dst[n] = '\0';
}

/* Map the received status onto flame_status and a FLAME_E* code. */
static int status_fill(const flame__call *call, flame_status *st)
{
    int err = flame_error_from_grpc_status((int)call->status);

    if (!st)
        return err;
    status_clear(st);
    st->code = (int)call->status;
    copy_slice(st->message, sizeof(st->message), call->details);
    if (!st->message[0] && call->status != GRPC_STATUS_OK)
        snprintf(st->message, sizeof(st->message), "%s",
                 flame_grpc_status_name((int)call->status));
    for (size_t i = 0; i < call->trailing_md.count; i++) {
        const grpc_metadata *m = &call->trailing_md.metadata[i];

        if (grpc_slice_str_cmp(m->key, "flame-reason") == 0) {
            copy_slice(st->reason, sizeof(st->reason), m->value);
            break;
        }
    }
    return err;
}

/* ------------------------------------------------------------ call lifecycle */

static gpr_timespec deadline_after(uint32_t timeout_ms)
{
    if (timeout_ms == 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis((int64_t)timeout_ms, GPR_TIMESPAN));
}

/* An idle queue of the client's pool, or a new one; NULL when gRPC fails. */
static grpc_completion_queue *cq_get(flame_client *c)
{
    grpc_completion_queue *cq = NULL;

    pthread_mutex_lock(&c->cq_mu);
    if (c->n_cq_idle)
        cq = c->cq_idle[--c->n_cq_idle];
    pthread_mutex_unlock(&c->cq_mu);
    return cq ? cq : grpc_completion_queue_create_for_next(NULL);
}

/* Back to the pool when nothing can arrive on it any more; else destroyed
 * (shut down and drained). */
static void cq_put(flame_client *c, grpc_completion_queue *cq, int pending)
{
    if (pending == 0) {
        pthread_mutex_lock(&c->cq_mu);
        if (c->n_cq_idle < FLAME__CQ_POOL_MAX) {
            c->cq_idle[c->n_cq_idle++] = cq;
            cq = NULL;
        }
        pthread_mutex_unlock(&c->cq_mu);
    }
    if (cq)
        cq_destroy(cq);
}

static void call_free(flame__call *call)
{
    if (!call)
        return;
    if (call->call)
        grpc_call_unref(call->call);
    if (call->cq)
        cq_put(call->client, call->cq, call->pending);
    if (call->recv_buf)
        grpc_byte_buffer_destroy(call->recv_buf);
    if (call->send_buf)
        grpc_byte_buffer_destroy(call->send_buf);
    grpc_metadata_array_destroy(&call->initial_md);
    grpc_metadata_array_destroy(&call->trailing_md);
    grpc_slice_unref(call->details);
    free(call);
}

static int call_new(flame_client *c, const char *method, uint32_t timeout_ms, flame__call **out)
{
    flame__call *call = NULL;
    void *registered = NULL;
    int err = 0;

    *out = NULL;
    if (!(call = calloc(1, sizeof(*call))))
        return FLAME_ENOMEM;
    call->client = c;
    grpc_metadata_array_init(&call->initial_md);
    grpc_metadata_array_init(&call->trailing_md);
    call->details = grpc_empty_slice();
    call->status = GRPC_STATUS_UNKNOWN;
    if (!(call->cq = cq_get(c))) {
        err = FLAME_ERROR;
        goto done;
    }
    for (size_t i = 0; i < FLAME__N_METHODS; i++)
        if (strcmp(methods[i], method) == 0) {
            registered = c->registered[i];
            break;
        }
    if (registered) {
        call->call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                         call->cq, registered,
                                                         deadline_after(timeout_ms), NULL);
    } else {
        grpc_slice path = grpc_slice_from_static_string(method);

        call->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, call->cq,
                                              path, NULL, deadline_after(timeout_ms), NULL);
        grpc_slice_unref(path);
    }
    if (!call->call) {
        err = FLAME_ERROR;
        goto done;
    }
    if (c->authorization) {
        /* static slices: the client outlives its calls */
        call->auth_md.key = grpc_slice_from_static_string("authorization");
        call->auth_md.value = grpc_slice_from_static_string(c->authorization);
    }
    *out = call;
    call = NULL;
done:
    call_free(call);
    return err;
}

/* A bidirectional call's send completed: its buffer is gRPC's no more. */
static void send_done(flame__call *call, int success)
{
    call->send_busy = 0;
    if (!success)
        call->send_failed = 1;
    if (call->send_buf)
        grpc_byte_buffer_destroy(call->send_buf);
    call->send_buf = NULL;
}

/* Wait for the completion of `tag` (the one batch in flight, or, in a
 * bidirectional call, the one awaited; the other is recorded), polling tick. */
static int call_wait(flame__call *call, void *tag, flame__tick_fn tick, void *ud)
{
    for (;;) {
        gpr_timespec until =
            tick && !call->cancelled_by_tick
                ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                               gpr_time_from_millis(FLAME__TICK_MS, GPR_TIMESPAN))
                : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev = grpc_completion_queue_next(call->cq, until, NULL);

        switch (ev.type) {
        case GRPC_OP_COMPLETE:
            call->pending--;
            if (ev.tag == &call->send_buf)
                send_done(call, ev.success); /* a bidirectional call's send */
            if (ev.tag == tag)
                return ev.success;
            break; /* another batch of a bidirectional call */
        case GRPC_QUEUE_TIMEOUT:
            if (tick(ud)) {
                call->cancelled_by_tick = 1;
                grpc_call_cancel(call->call, NULL);
            }
            break;
        case GRPC_QUEUE_SHUTDOWN:
            return 0;
        }
    }
}

static int send_buffer(const ProtobufCMessage *msg, grpc_byte_buffer **out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len); /* gpr_malloc aborts rather than fail */

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    *out = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return *out ? 0 : FLAME_ENOMEM;
}

/* Start a batch; counts it as pending when gRPC took it. */
static grpc_call_error start_batch(flame__call *call, const grpc_op *ops, size_t n, void *tag)
{
    grpc_call_error e = grpc_call_start_batch(call->call, ops, n, tag, NULL);

    if (e == GRPC_CALL_OK)
        call->pending++;
    return e;
}

/*
 * The received message as one contiguous slice (a reference: unref it), and
 * free the buffer. One slice (small messages) is used in place; else one
 * copy into contiguous memory, which the decoders need.
 * @return 1, 0 (NULL buffer: the stream ended), FLAME_ERROR.
 */
static int recv_bytes(flame__call *call, grpc_slice *out)
{
    grpc_byte_buffer_reader reader;
    grpc_byte_buffer *bb;
    int err = 1;

    if (!call->recv_buf)
        return 0;
    if (!grpc_byte_buffer_reader_init(&reader, call->recv_buf)) {
        err = FLAME_ERROR;
        goto done;
    }
    bb = reader.buffer_out;
    if (bb->type == GRPC_BB_RAW && bb->data.raw.slice_buffer.count == 1)
        *out = grpc_slice_ref(bb->data.raw.slice_buffer.slices[0]);
    else
        *out = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
done:
    grpc_byte_buffer_destroy(call->recv_buf);
    call->recv_buf = NULL;
    return err;
}

/*
 * Unpack and free the received buffer, into *arena, or into a new arena sized
 * from the message when *arena is NULL (then the caller's on 1, else NULL).
 * @return 1, 0 (NULL buffer: the stream ended), FLAME_ERROR (malformed),
 *         FLAME_ENOMEM.
 */
static int unpack_bytes(const ProtobufCMessageDescriptor *desc, flame__arena **arena,
                        const uint8_t *p, size_t len, ProtobufCMessage **msg)
{
    int err, own = !*arena;

    *msg = NULL;
    if (own && (err = flame__arena_new(flame__arena_hint(len), arena)) < 0)
        return err;
    *msg = protobuf_c_message_unpack(desc, flame__arena_allocator(*arena), len, p);
    err = *msg ? 1 : flame__arena_failed(*arena) ? FLAME_ENOMEM : FLAME_ERROR;
    if (err < 0 && own) {
        flame__arena_unref(*arena, 1);
        *arena = NULL;
    }
    return err;
}

static int unpack_recv(flame__call *call, const ProtobufCMessageDescriptor *desc,
                       flame__arena **arena, ProtobufCMessage **msg)
{
    grpc_slice all;
    int err;

    *msg = NULL;
    if ((err = recv_bytes(call, &all)) <= 0)
        return err;
    err = unpack_bytes(desc, arena, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), msg);
    grpc_slice_unref(all);
    return err;
}

/* ------------------------------------------------------------ unary */

/*
 * Run a unary call in one batch (send metadata, `send`, close; receive
 * metadata, message, status) and fill st. On return *out holds the call
 * (its recv_buf is the response, if any) whatever the result: free it with
 * call_free().
 */
static int unary_exchange(flame_client *c, const char *method, uint32_t timeout_ms,
                          grpc_byte_buffer *send, flame__call **out, flame_status *st)
{
    flame__call *call = NULL;
    grpc_op ops[6];
    int err;

    *out = NULL;
    if ((err = call_new(c, method, timeout_ms, &call)) < 0) {
        flame__status_local(st, err, "%s: could not create the call", method);
        return err;
    }
    *out = call;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->authorization ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = c->authorization ? &call->auth_md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &call->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &call->recv_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &call->trailing_md;
    ops[5].data.recv_status_on_client.status = &call->status;
    ops[5].data.recv_status_on_client.status_details = &call->details;
    if (start_batch(call, ops, 6, call) != GRPC_CALL_OK) {
        flame__status_local(st, FLAME_ERROR, "%s: gRPC refused the batch", method);
        return FLAME_ERROR;
    }
    /* RECV_STATUS_ON_CLIENT always completes with success=1; the outcome is the status. */
    call_wait(call, call, NULL, NULL);
    return status_fill(call, st);
}

/* flame__call_unary()'s decoder: protobuf-c into a new arena. */
struct unary_unpack {
    const ProtobufCMessageDescriptor *desc;
    flame__arena *arena;
    ProtobufCMessage *msg;
};

static int unary_unpack(void *ud, const uint8_t *p, size_t len)
{
    struct unary_unpack *u = ud;
    int err = unpack_bytes(u->desc, &u->arena, p, len, &u->msg);

    return err < 0 ? err : 0;
}

int flame__call_unary(flame_client *c, const char *method, uint32_t timeout_ms,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **resp, flame__arena **arena, flame_status *st)
{
    struct unary_unpack u = {resp_desc, NULL, NULL};
    int err = flame__call_unary_wire(c, method, timeout_ms, req, unary_unpack, &u, st);

    *resp = err == 0 ? u.msg : NULL;
    *arena = err == 0 ? u.arena : NULL;
    return err;
}

int flame__call_unary_wire(flame_client *c, const char *method, uint32_t timeout_ms,
                           const ProtobufCMessage *req,
                           int (*decode)(void *ud, const uint8_t *p, size_t len), void *ud,
                           flame_status *st)
{
    flame__call *call = NULL;
    grpc_byte_buffer *send = NULL;
    grpc_slice all;
    int err = 0;

    status_clear(st);
    if ((err = send_buffer(req, &send)) < 0) {
        flame__status_local(st, err, "%s: could not create the call", method);
        goto done;
    }
    if ((err = unary_exchange(c, method, timeout_ms, send, &call, st)) < 0)
        goto done;
    if ((err = recv_bytes(call, &all)) <= 0) {
        flame__status_local(st, FLAME_ERROR, "%s: flamed sent %s response", method,
                            err == 0 ? "no" : "a malformed");
        err = FLAME_ERROR;
        goto done;
    }
    err = decode(ud, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
    grpc_slice_unref(all);
    if (err == FLAME_ENOMEM)
        flame__status_local(st, err, "%s: out of memory for the response", method);
    else if (err < 0)
        flame__status_local(st, err = FLAME_ERROR, "%s: flamed sent a malformed response", method);
done:
    if (send)
        grpc_byte_buffer_destroy(send);
    call_free(call);
    return err;
}

int flame__call_unary_bytes(flame_client *c, const char *method, uint32_t timeout_ms,
                            const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                            flame_status *st)
{
    flame__call *call = NULL;
    grpc_byte_buffer *send = NULL;
    grpc_byte_buffer_reader reader;
    grpc_slice s, all;
    int err = 0;

    *resp = NULL;
    *resp_len = 0;
    status_clear(st);
    s = grpc_slice_from_copied_buffer((const char *)req, req_len);
    send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    if (!send) {
        err = FLAME_ENOMEM;
        flame__status_local(st, err, "%s: could not create the call", method);
        goto done;
    }
    if ((err = unary_exchange(c, method, timeout_ms, send, &call, st)) < 0)
        goto done;
    if (!call->recv_buf || !grpc_byte_buffer_reader_init(&reader, call->recv_buf)) {
        err = FLAME_ERROR;
        flame__status_local(st, err, "%s: the server sent no response", method);
        goto done;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    /* one extra byte: an empty message is valid and still a non-NULL buffer */
    if ((*resp = malloc(GRPC_SLICE_LENGTH(all) + 1)) != NULL) {
        memcpy(*resp, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
        *resp_len = GRPC_SLICE_LENGTH(all);
    } else {
        err = FLAME_ENOMEM;
        flame__status_local(st, err, "out of memory");
    }
    grpc_slice_unref(all);
done:
    if (send)
        grpc_byte_buffer_destroy(send);
    call_free(call);
    return err;
}

/* ------------------------------------------------------------ streaming */

int flame__call_start(flame_client *c, const char *method, uint32_t timeout_ms,
                      const ProtobufCMessage *req, flame__call **out)
{
    flame__call *call = NULL;
    grpc_byte_buffer *send = NULL;
    grpc_op ops[4];
    int err = 0;

    *out = NULL;
    if ((err = call_new(c, method, timeout_ms, &call)) < 0 || (err = send_buffer(req, &send)) < 0)
        goto done;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->authorization ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = c->authorization ? &call->auth_md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &call->initial_md;
    if (start_batch(call, ops, 4, call) != GRPC_CALL_OK) {
        err = FLAME_ERROR;
        goto done;
    }
    /* A failed send (flamed unreachable) is reported by the status. */
    call_wait(call, call, NULL, NULL);
    *out = call;
    call = NULL;
done:
    if (send)
        grpc_byte_buffer_destroy(send);
    call_free(call);
    return err;
}

/* A RECV_MESSAGE batch completed (ok: its success): 1 with *msg, 0 at the end
 * of the stream (or a failed batch: the status tells), or unpack_recv's error,
 * which cancels the call. Shared by flame__call_recv and flame__call_poll. */
static int recv_done(flame__call *call, int ok, const ProtobufCMessageDescriptor *desc,
                     flame__arena *arena, ProtobufCMessage **msg)
{
    int err;

    if (!ok) {
        if (call->recv_buf) {
            grpc_byte_buffer_destroy(call->recv_buf);
            call->recv_buf = NULL;
        }
        return 0;
    }
    if ((err = unpack_recv(call, desc, &arena, msg)) < 0)
        grpc_call_cancel(call->call, NULL);
    return err;
}

int flame__call_recv(flame__call *call, const ProtobufCMessageDescriptor *desc,
                     flame__arena *arena, flame__tick_fn tick, void *ud, ProtobufCMessage **msg)
{
    grpc_op op;

    *msg = NULL;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &call->recv_buf;
    if (start_batch(call, &op, 1, &call->recv_buf) != GRPC_CALL_OK)
        return 0; /* let the status tell */
    return recv_done(call, call_wait(call, &call->recv_buf, tick, ud), desc, arena, msg);
}

void flame__call_cancel(flame__call *call)
{
    if (call && call->call)
        grpc_call_cancel(call->call, NULL);
}

int flame__call_ticked_out(const flame__call *call)
{
    return call ? call->cancelled_by_tick : 0;
}

int flame__call_finish(flame__call *call, flame_status *st)
{
    grpc_op op;
    int err;

    if (!call)
        return FLAME_ERROR;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &call->trailing_md;
    op.data.recv_status_on_client.status = &call->status;
    op.data.recv_status_on_client.status_details = &call->details;
    if (start_batch(call, &op, 1, &call->status) != GRPC_CALL_OK) {
        err = FLAME_ERROR;
        flame__status_local(st, err, "gRPC refused to receive the call's status");
        goto done;
    }
    call_wait(call, &call->status, NULL, NULL);
    err = status_fill(call, st);
done:
    call_free(call);
    return err;
}

/* ------------------------------------------------------------ bidirectional */

int flame__call_open(flame_client *c, const char *method, uint32_t timeout_ms,
                     const ProtobufCMessage *first, flame__call **out)
{
    flame__call *call = NULL;
    grpc_byte_buffer *send = NULL;
    grpc_op ops[2];
    int err = 0;

    *out = NULL;
    if ((err = call_new(c, method, timeout_ms, &call)) < 0 ||
        (err = send_buffer(first, &send)) < 0)
        goto done;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->authorization ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = c->authorization ? &call->auth_md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    call->send_buf = send;
    send = NULL;
    if (start_batch(call, ops, 2, &call->send_buf) != GRPC_CALL_OK) {
        err = FLAME_ERROR;
        goto done;
    }
    call->send_busy = 1;
    *out = call;
    call = NULL;
done:
    if (send)
        grpc_byte_buffer_destroy(send);
    call_free(call);
    return err;
}

int flame__call_send_begin(flame__call *call, const ProtobufCMessage *msg, int close)
{
    grpc_op ops[2];
    size_t n = 0;
    int err;

    if (call->send_busy)
        return FLAME_ERROR;
    if (call->send_failed)
        return 0; /* the call is over: the status tells why */
    memset(ops, 0, sizeof(ops));
    if (msg) {
        if ((err = send_buffer(msg, &call->send_buf)) < 0)
            return err;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = call->send_buf;
        n++;
    }
    if (close)
        ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    if (!n)
        return 0;
    if (start_batch(call, ops, n, &call->send_buf) != GRPC_CALL_OK) {
        if (call->send_buf)
            grpc_byte_buffer_destroy(call->send_buf);
        call->send_buf = NULL;
        call->send_failed = 1;
        return 0;
    }
    call->send_busy = 1;
    return 0;
}

int flame__call_send_busy(const flame__call *call) { return call->send_busy; }

int flame__call_send_failed(const flame__call *call) { return call->send_failed; }

int flame__call_poll(flame__call *call, const ProtobufCMessageDescriptor *desc,
                     flame__arena *arena, int timeout_ms, ProtobufCMessage **msg)
{
    grpc_op ops[2];
    size_t n = 0;

    *msg = NULL;
    if (!call->recv_busy) {
        memset(ops, 0, sizeof(ops));
        /* gRPC core delivers no message before the initial metadata was asked for. */
        if (!call->initial_md_asked) {
            ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
            ops[n].data.recv_initial_metadata.recv_initial_metadata = &call->initial_md;
            n++;
            call->initial_md_asked = 1;
        }
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n].data.recv_message.recv_message = &call->recv_buf;
        n++;
        if (start_batch(call, ops, n, &call->recv_buf) != GRPC_CALL_OK)
            return 0; /* let the status tell */
        call->recv_busy = 1;
    }
    for (;;) {
        gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(call->cq, until, NULL);

        if (ev.type == GRPC_QUEUE_TIMEOUT)
            return 2;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return 0;
        call->pending--;
        if (ev.tag == &call->send_buf) {
            send_done(call, ev.success);
            return 3;
        }
        if (ev.tag != &call->recv_buf)
            continue;
        call->recv_busy = 0;
        return recv_done(call, ev.success, desc, arena, msg);
    }
}
