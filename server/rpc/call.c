/* Per-call contexts: sending, finishing, cancel notification; see rpc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "flame/error.h"
#include "rpc/rpc_internal.h"
#include "rpc/wire_depth.h"

rpc_call *rpc__call_new(rpc_server *srv, const struct rpc_method *m, grpc_call *call,
                        gpr_timespec deadline, grpc_metadata_array *md)
{
    rpc_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1); /* the main reference, released when the finish batch completes */
    c->srv = srv;
    c->method = m;
    c->call = call;
    c->deadline = deadline;
    c->md = *md;
    c->start_ns = clock_mono_ns();
    c->t_close = (struct rpc_tag){TAG_CLOSE, c};
    c->t_send = (struct rpc_tag){TAG_SEND, c};
    c->t_recv = (struct rpc_tag){TAG_RECV, c};
    c->t_finish = (struct rpc_tag){TAG_FINISH, c};
    c->send_ok = 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    atomic_fetch_add(&srv->active_calls, 1);
    return c;
}

static void call_free(rpc_call *c)
{
    if (c->state_free)
        c->state_free(c->state);
    if (c->request)
        protobuf_c_message_free_unpacked(c->request, NULL);
    grpc_metadata_array_destroy(&c->md);
    grpc_call_unref(c->call);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    atomic_fetch_sub(&c->srv->active_calls, 1);
    free(c);
}

void rpc_call_ref(rpc_call *c) { atomic_fetch_add(&c->refs, 1); }

void rpc_call_unref(rpc_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_free(c);
}

const struct caller_identity *rpc_call_identity(const rpc_call *c) { return &c->identity; }

/* How many request metadata entries have this key (lowercase). */
static size_t metadata_count(const rpc_call *c, const char *key)
{
    size_t klen = strlen(key), n = 0;
    for (size_t i = 0; i < c->md.count; i++) {
        const grpc_metadata *m = &c->md.metadata[i];
        n += GRPC_SLICE_LENGTH(m->key) == klen &&
             memcmp(GRPC_SLICE_START_PTR(m->key), key, klen) == 0;
    }
    return n;
}

/*
 * Fill c->identity from the TLS peer and the bearer token. Returns 0 or
 * FLAME_EUNAUTH with *why, the status message.
 */
static int authenticate(rpc_call *c, const char **why)
{
    c->identity = (struct caller_identity){"anonymous", NULL, 0, "none"};
    grpc_auth_context *ctx = grpc_call_auth_context(c->call);
    if (ctx) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_SUBJECT_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p && p->value_length) {
            size_t n = p->value_length < sizeof(c->subject) - 1 ? p->value_length : sizeof(c->subject) - 1;
            memcpy(c->subject, p->value, n);
            c->subject[n] = '\0';
            c->identity.name = c->subject;
            c->identity.via = "tls";
        }
        grpc_auth_context_release(ctx);
    }
    const rpc_auth *auth = c->srv->opts.auth;
    if (!auth)
        return 0;
    char header[1024];
    int present = rpc_call_metadata(c, "authorization", header, sizeof(header));
    size_t n_headers = metadata_count(c, "authorization");
    struct caller_identity id;
    int rc = rpc_auth_check_headers(auth, n_headers, present ? header : NULL, &id, why);
    /* Public methods (health) answer callers without a valid token as anonymous;
     * two authorization headers are refused everywhere. */
    if (rc < 0 && c->method->public_method && n_headers <= 1)
        return 0;
    if (rc < 0)
        return rc;
    c->identity = id;
    return 0;
}

/*
 * Unpack one request message of type d, checking how deep it nests first:
 * protobuf-c recurses per nested message, so too deep a request would
 * overflow the stack inside it. On FLAME_EINVALID, reason and msg say why.
 */
static int unpack_request(const rpc_call *c, const ProtobufCMessageDescriptor *d, grpc_slice slice,
                          ProtobufCMessage **out, const char **reason, char *msg, size_t msglen)
{
    size_t max_depth = c->srv->opts.max_depth;
    const uint8_t *data = GRPC_SLICE_START_PTR(slice);
    size_t len = GRPC_SLICE_LENGTH(slice);
    *out = NULL;
    int rc = rpc_wire_depth_check(d, data, len, max_depth);
    if (rc == FLAME_ERANGE) {
        *reason = "INVALID_REQUEST";
        snprintf(msg, msglen, "request is nested deeper than %zu levels (policy limits.max_depth)",
                 max_depth);
        return FLAME_EINVALID;
    }
    if (rc == 0)
        *out = protobuf_c_message_unpack(d, NULL, len, data);
    if (!*out) {
        *reason = "BAD_REQUEST";
        snprintf(msg, msglen, "request is not a valid %s message", d->name);
        return FLAME_EINVALID;
    }
    return 0;
}

/* Unpack the request and run the handler. Owns payload. */
void rpc__call_start(rpc_call *c, grpc_byte_buffer *payload)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    rpc_call_ref(c); /* the close notification's reference */
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_close, NULL) != GRPC_CALL_OK) {
        rpc_call_unref(c);
        atomic_store(&c->closed, 1);
        atomic_store(&c->cancelled, 1);
    }
    const char *why = NULL;
    if (authenticate(c, &why) < 0) {
        if (payload)
            grpc_byte_buffer_destroy(payload);
        rpc_call_finish(c, FLAME_EUNAUTH, "UNAUTHENTICATED", why, NULL);
        return;
    }
    if (c->method->client_streaming) {
        c->method->handler(c);
        return;
    }
    if (!payload) {
        rpc_call_finish(c, FLAME_EINVALID, "BAD_REQUEST", "no request message was sent", NULL);
        return;
    }
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, payload)) {
        grpc_byte_buffer_destroy(payload);
        rpc_call_finish(c, FLAME_EINVALID, "BAD_REQUEST", "unreadable request payload", NULL);
        return;
    }
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(payload);
    const char *reason = NULL;
    char msg[256];
    int rc = unpack_request(c, c->method->request, slice, &c->request, &reason, msg, sizeof(msg));
    grpc_slice_unref(slice);
    if (rc < 0) {
        rpc_call_finish(c, rc, reason, msg, NULL);
        return;
    }
    c->method->handler(c);
}

void *rpc_call_context(const rpc_call *c)
{
    return c->method->context ? c->method->context : c->srv->opts.context;
}
const ProtobufCMessage *rpc_call_request(const rpc_call *c) { return c->request; }
const char *rpc_call_method(const rpc_call *c) { return c->method->path; }

const char *rpc_call_method_name(const rpc_call *c)
{
    const char *s = strrchr(c->method->path, '/');
    return s ? s + 1 : c->method->path;
}

int64_t rpc_call_deadline_left_ms(const rpc_call *c)
{
    if (gpr_time_cmp(c->deadline, gpr_inf_future(c->deadline.clock_type)) == 0)
        return INT64_MAX;
    gpr_timespec now = gpr_now(c->deadline.clock_type);
    gpr_timespec left = gpr_time_sub(c->deadline, now);
    int64_t ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
    return ms < 0 ? 0 : ms;
}

int rpc_call_cancelled(const rpc_call *c) { return atomic_load(&c->cancelled); }

int rpc_call_metadata(const rpc_call *c, const char *key, char *buf, size_t buflen)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < c->md.count; i++) {
        const grpc_metadata *m = &c->md.metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) == klen &&
            memcmp(GRPC_SLICE_START_PTR(m->key), key, klen) == 0) {
            size_t n = GRPC_SLICE_LENGTH(m->value);
            if (buflen) {
                if (n >= buflen)
                    n = buflen - 1;
                memcpy(buf, GRPC_SLICE_START_PTR(m->value), n);
                buf[n] = '\0';
            }
            return 1;
        }
    }
    return 0;
}

void rpc_call_set_state(rpc_call *c, void *state, void (*free_fn)(void *))
{
    c->state = state;
    c->state_free = free_fn;
}

void *rpc_call_state(const rpc_call *c) { return c->state; }

void rpc_call_on_close(rpc_call *c, void (*on_close)(rpc_call *call))
{
    int fire = 0;
    pthread_mutex_lock(&c->mu);
    c->on_close = on_close;
    if (c->close_seen && !c->close_fired) {
        /* The call ended before the handler set this: run it now, once. */
        c->close_fired = 1;
        fire = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (fire)
        on_close(c);
}

struct worker_arg {
    rpc_call *call;
    void (*fn)(rpc_call *call, void *arg);
    void *arg;
};

static void *worker_main(void *p)
{
    struct worker_arg a = *(struct worker_arg *)p;
    free(p);
    rpc_server *srv = a.call->srv;
    a.fn(a.call, a.arg);
    rpc_call_unref(a.call);
    pthread_mutex_lock(&srv->mu);
    atomic_fetch_sub(&srv->workers, 1);
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

int rpc_call_run_worker_arg(rpc_call *c, void (*fn)(rpc_call *call, void *arg), void *arg)
{
    rpc_server *srv = c->srv;
    int max = srv->opts.max_workers ? srv->opts.max_workers : 512;
    if (atomic_fetch_add(&srv->workers, 1) >= max) {
        atomic_fetch_sub(&srv->workers, 1);
        return FLAME_EEXHAUSTED;
    }
    struct worker_arg *a = malloc(sizeof(*a));
    if (!a) {
        atomic_fetch_sub(&srv->workers, 1);
        return FLAME_ENOMEM;
    }
    a->call = c;
    a->fn = fn;
    a->arg = arg;
    rpc_call_ref(c);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &attr, worker_main, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(a);
        rpc_call_unref(c);
        atomic_fetch_sub(&srv->workers, 1);
        return FLAME_EEXHAUSTED;
    }
    return 0;
}

/* rpc_call_run_worker's fn, carried as the argument. */
struct plain_fn {
    void (*fn)(rpc_call *call);
};

static void run_plain(rpc_call *c, void *arg)
{
    struct plain_fn f = *(struct plain_fn *)arg;
    free(arg);
    f.fn(c);
}

int rpc_call_run_worker(rpc_call *c, void (*fn)(rpc_call *call))
{
    struct plain_fn *f = malloc(sizeof(*f));
    if (!f)
        return FLAME_ENOMEM;
    f->fn = fn;
    int rc = rpc_call_run_worker_arg(c, run_plain, f);
    if (rc < 0)
        free(f);
    return rc;
}

/* Start a send batch; caller holds c->mu and has checked nothing is in flight. */
static int start_send_locked(rpc_call *c, grpc_byte_buffer *bb, void (*on_done)(rpc_call *, int))
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!c->initial_md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->initial_md_sent = 1;
    }
    if (bb) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = bb;
        n++;
    }
    if (n == 0) {
        /* Nothing to send: report completion right away through the callback path. */
        return 1;
    }
    c->send_buf = bb;
    c->send_in_flight = 1;
    c->on_send_done = on_done;
    rpc_call_ref(c); /* the send batch's reference */
    if (grpc_call_start_batch(c->call, ops, n, &c->t_send, NULL) != GRPC_CALL_OK) {
        c->send_in_flight = 0;
        c->send_buf = NULL;
        c->send_ok = 0;
        rpc_call_unref(c);
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return -1;
    }
    return 0;
}

/* A byte buffer of one slice; takes the caller's reference to s. */
static grpc_byte_buffer *buffer_of(grpc_slice s)
{
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* A byte buffer over bytes[0..len) without a copy; free(owner) (bytes when
 * owner is NULL) once gRPC is done with it. */
static grpc_byte_buffer *owned_buffer(uint8_t *bytes, size_t len, void *owner)
{
    return buffer_of(grpc_slice_new_with_user_data(bytes, len, free, owner ? owner : bytes));
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    return buffer_of(s);
}

static int send_blocking(rpc_call *c, grpc_byte_buffer *bb);

int rpc_call_send(rpc_call *c, const ProtobufCMessage *msg)
{
    grpc_byte_buffer *bb = pack(msg);
    if (!bb)
        return FLAME_ENOMEM;
    return send_blocking(c, bb);
}

int rpc_call_send_wire(rpc_call *c, uint8_t *bytes, size_t len, void *owner)
{
    grpc_byte_buffer *bb = owned_buffer(bytes, len, owner);
    if (!bb)
        return FLAME_ENOMEM;
    return send_blocking(c, bb);
}

int rpc_call_send_busy(rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    int busy = c->send_in_flight != 0;
    pthread_mutex_unlock(&c->mu);
    return busy;
}

static int send_blocking(rpc_call *c, grpc_byte_buffer *bb)
{
    pthread_mutex_lock(&c->mu);
    while (c->send_in_flight)
        pthread_cond_wait(&c->cv, &c->mu);
    int err = 0;
    if (!c->send_ok || c->finished || atomic_load(&c->cancelled)) {
        err = FLAME_ECANCELLED;
        grpc_byte_buffer_destroy(bb);
    } else if (start_send_locked(c, bb, NULL) != 0) {
        err = FLAME_ECANCELLED;
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

int rpc_call_recv(rpc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    *out = NULL;
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    pthread_mutex_lock(&c->mu);
    c->recv_buf = NULL;
    c->recv_in_flight = 1;
    rpc_call_ref(c); /* the receive batch's reference */
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) != GRPC_CALL_OK) {
        c->recv_in_flight = 0;
        pthread_mutex_unlock(&c->mu);
        rpc_call_unref(c);
        return FLAME_ECANCELLED;
    }
    while (c->recv_in_flight)
        pthread_cond_wait(&c->cv, &c->mu);
    grpc_byte_buffer *bb = c->recv_buf;
    int ok = c->recv_ok;
    c->recv_buf = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!ok) {
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return FLAME_ECANCELLED;
    }
    if (!bb)
        return 0; /* the client half-closed */
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        grpc_byte_buffer_destroy(bb);
        return FLAME_EINVALID;
    }
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(bb);
    const char *reason = NULL;
    char msg[256];
    int rc = unpack_request(c, d, slice, out, &reason, msg, sizeof(msg));
    grpc_slice_unref(slice);
    if (rc < 0)
        flamed_log(LOG_INFO, "rpc_message_refused", "rpc=%s reason=%s message=\"%s\"",
                   rpc_call_method_name(c), reason, msg);
    return rc;
}

int rpc_call_send_packed(rpc_call *c, const uint8_t *data, size_t len,
                         void (*on_done)(rpc_call *call, int ok))
{
    grpc_byte_buffer *bb = buffer_of(grpc_slice_from_copied_buffer((const char *)data, len));
    if (!bb)
        return FLAME_ENOMEM;
    pthread_mutex_lock(&c->mu);
    int rc = start_send_locked(c, bb, on_done);
    pthread_mutex_unlock(&c->mu);
    return rc < 0 ? FLAME_ECANCELLED : 0;
}

int rpc_call_send_initial_metadata(rpc_call *c, void (*on_done)(rpc_call *call, int ok))
{
    pthread_mutex_lock(&c->mu);
    int rc = start_send_locked(c, NULL, on_done);
    pthread_mutex_unlock(&c->mu);
    return rc < 0 ? FLAME_ECANCELLED : rc;
}

static void finish(rpc_call *c, int err, const char *reason, const char *detail,
                   const ProtobufCMessage *response, grpc_byte_buffer *packed);

void rpc_call_finish(rpc_call *c, int err, const char *reason, const char *detail,
                     const ProtobufCMessage *response)
{
    finish(c, err, reason, detail, response, NULL);
}

void rpc_call_finish_wire(rpc_call *c, uint8_t *bytes, size_t len)
{
    finish(c, 0, NULL, NULL, NULL, owned_buffer(bytes, len, NULL));
}

static void finish(rpc_call *c, int err, const char *reason, const char *detail,
                   const ProtobufCMessage *response, grpc_byte_buffer *packed)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    pthread_mutex_lock(&c->mu);
    while (c->send_in_flight)
        pthread_cond_wait(&c->cv, &c->mu);
    if (c->finished) {
        pthread_mutex_unlock(&c->mu);
        if (packed)
            grpc_byte_buffer_destroy(packed);
        return;
    }
    c->finished = 1;
    if (!c->initial_md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initial_md_sent = 1;
    }
    if (err == 0 && (response || packed)) {
        c->finish_buf = packed ? packed : pack(response);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->finish_buf;
        n++;
    }
    c->finish_status = flame_error_grpc_status(err);
    c->finish_details = grpc_slice_from_copied_string(detail ? detail : "");
    if (reason && reason[0] && err != 0) {
        c->finish_md[0].key = grpc_slice_from_static_string("flame-reason");
        c->finish_md[0].value = grpc_slice_from_copied_string(reason);
        c->finish_md_n = 1;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)c->finish_status;
    ops[n].data.send_status_from_server.status_details = &c->finish_details;
    ops[n].data.send_status_from_server.trailing_metadata_count = c->finish_md_n;
    ops[n].data.send_status_from_server.trailing_metadata = c->finish_md;
    n++;
    /* Counted before the status is on the wire: a client that scrapes
     * /metrics right after its call ends sees the call counted. */
    metrics_rpc_done(rpc_call_method(c), c->finish_status);
    grpc_call_error ce = grpc_call_start_batch(c->call, ops, n, &c->t_finish, NULL);
    pthread_mutex_unlock(&c->mu);
    if (ce != GRPC_CALL_OK) {
        flamed_log(LOG_ERROR, "rpc_finish_failed", "rpc=%s grpc_call_error=%d",
                   rpc_call_method_name(c), (int)ce);
        rpc__call_on_tag(&c->t_finish, 0);
    }
}

static void on_finish_done(rpc_call *c, int success)
{
    int64_t ms = (clock_mono_ns() - c->start_ns) / 1000000;
    enum log_level lvl = c->finish_status == 0 ? LOG_DEBUG : LOG_INFO;
    if (log_enabled(lvl)) {
        /* Slices are not NUL-terminated: copy, bounded by the slice length. */
        char buf[256], detail[300];
        size_t len = GRPC_SLICE_LENGTH(c->finish_details);
        if (len >= sizeof(buf))
            len = sizeof(buf) - 1;
        memcpy(buf, GRPC_SLICE_START_PTR(c->finish_details), len);
        buf[len] = '\0';
        char who[300];
        flamed_log(lvl, "rpc_done", "rpc=%s caller=%s status=%s duration_ms=%lld sent=%d message=%s",
                   rpc_call_method_name(c), log_quote(who, sizeof(who), c->identity.name ? c->identity.name : "?"),
                   flame_grpc_status_name(c->finish_status), (long long)ms, success,
                   log_quote(detail, sizeof(detail), buf));
    }
    if (c->finish_buf)
        grpc_byte_buffer_destroy(c->finish_buf);
    c->finish_buf = NULL;
    grpc_slice_unref(c->finish_details);
    if (c->finish_md_n)
        grpc_slice_unref(c->finish_md[0].value);
    rpc_call_unref(c); /* the main reference */
}

void rpc__call_on_tag(struct rpc_tag *tag, int success)
{
    rpc_call *c = tag->owner;
    switch (tag->kind) {
    case TAG_CLOSE: {
        atomic_store(&c->cancelled, c->close_cancelled ? 1 : atomic_load(&c->cancelled));
        atomic_store(&c->closed, 1);
        pthread_mutex_lock(&c->mu);
        c->close_seen = 1;
        void (*cb)(rpc_call *) = c->close_fired ? NULL : c->on_close;
        if (cb)
            c->close_fired = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (cb)
            cb(c);
        rpc_call_unref(c);
        break;
    }
    case TAG_SEND: {
        pthread_mutex_lock(&c->mu);
        c->send_in_flight = 0;
        if (!success)
            c->send_ok = 0;
        if (c->send_buf)
            grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
        void (*cb)(rpc_call *, int) = c->on_send_done;
        c->on_send_done = NULL;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (cb)
            cb(c, success);
        rpc_call_unref(c);
        break;
    }
    case TAG_RECV:
        pthread_mutex_lock(&c->mu);
        c->recv_in_flight = 0;
        c->recv_ok = success;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        rpc_call_unref(c);
        break;
    case TAG_FINISH:
        on_finish_done(c, success);
        break;
    default:
        break;
    }
}
