/* A fake transport for the service's unit tests (fake_call.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_call.h"
#include "flame/error.h"
#include "service/service.h"

#define MAX_MESSAGES 1024

struct fake_call {
    svc_call sc; /* first: the ops get &sc */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int cancelled;
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms; INT64_MAX: none */
    char method[32];
    const struct svc_method *m;
    struct caller_identity anon;
    int finished;
    int code;
    char reason[64];
    char detail[4096];
    uint8_t *resp;
    size_t resp_len;
    uint8_t *msgs[MAX_MESSAGES];
    size_t msg_len[MAX_MESSAGES];
    size_t n_msgs;
    int jobs;          /* blocking jobs and completions running */
    void (*on_close)(svc_call *c);
    int close_fired;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static fake_call *fc_of(const svc_call *c) { return (fake_call *)c; }

static int64_t op_deadline_left_ms(const svc_call *c)
{
    fake_call *fc = fc_of(c);
    if (fc->deadline_ms == INT64_MAX)
        return INT64_MAX;
    int64_t left = fc->deadline_ms - now_ms();
    return left < 0 ? 0 : left;
}

static int op_cancelled(const svc_call *c)
{
    fake_call *fc = fc_of(c);
    return atomic_load(&fc->cancelled) || (fc->deadline_ms != INT64_MAX && now_ms() >= fc->deadline_ms);
}

/* A job on its own thread, counted in jobs. */
struct job {
    fake_call *fc;
    void (*fn)(svc_call *c);
    void (*done)(svc_call *c, int ok);
    void (*closed)(svc_call *c);
};

static void *job_main(void *p)
{
    struct job j = *(struct job *)p;
    free(p);
    if (j.fn)
        j.fn(&j.fc->sc);
    if (j.done)
        j.done(&j.fc->sc, !atomic_load(&j.fc->cancelled));
    if (j.closed)
        j.closed(&j.fc->sc);
    pthread_mutex_lock(&j.fc->mu);
    j.fc->jobs--;
    pthread_cond_broadcast(&j.fc->cv);
    pthread_mutex_unlock(&j.fc->mu);
    return NULL;
}

static int spawn_job(fake_call *fc, const struct job *j)
{
    struct job *p = malloc(sizeof(*p));
    if (!p)
        return FLAME_ENOMEM;
    *p = *j;
    pthread_mutex_lock(&fc->mu);
    fc->jobs++;
    pthread_mutex_unlock(&fc->mu);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, job_main, p);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(p);
        pthread_mutex_lock(&fc->mu);
        fc->jobs--;
        pthread_mutex_unlock(&fc->mu);
        return FLAME_EEXHAUSTED;
    }
    return 0;
}

static int op_run_blocking(svc_call *c, void (*fn)(svc_call *c))
{
    return spawn_job(fc_of(c), &(struct job){.fc = fc_of(c), .fn = fn});
}

/* Fire on_close once, on its own thread (a transport never runs it inside an op). */
static void close_locked(fake_call *fc)
{
    if (fc->close_fired || !fc->on_close)
        return;
    fc->close_fired = 1;
    void (*cb)(svc_call *) = fc->on_close;
    pthread_mutex_unlock(&fc->mu);
    spawn_job(fc, &(struct job){.fc = fc, .closed = cb});
    pthread_mutex_lock(&fc->mu);
}

static void op_finish(svc_call *c, const struct svc_result *res)
{
    fake_call *fc = fc_of(c);
    pthread_mutex_lock(&fc->mu);
    if (fc->finished) {
        pthread_mutex_unlock(&fc->mu);
        free(res->wire);
        return;
    }
    fc->finished = 1;
    fc->code = res->code;
    snprintf(fc->reason, sizeof(fc->reason), "%s", res->reason ? res->reason : "");
    snprintf(fc->detail, sizeof(fc->detail), "%s", res->detail ? res->detail : "");
    if (res->wire) {
        fc->resp = res->wire;
        fc->resp_len = res->wire_len;
    } else if (res->response && res->code == 0) {
        fc->resp_len = protobuf_c_message_get_packed_size(res->response);
        fc->resp = malloc(fc->resp_len ? fc->resp_len : 1);
        if (fc->resp)
            protobuf_c_message_pack(res->response, fc->resp);
    }
    close_locked(fc);
    pthread_cond_broadcast(&fc->cv);
    pthread_mutex_unlock(&fc->mu);
}

static int capture(fake_call *fc, const uint8_t *data, size_t len)
{
    if (atomic_load(&fc->cancelled))
        return FLAME_ECANCELLED;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return FLAME_ENOMEM;
    memcpy(copy, data, len);
    pthread_mutex_lock(&fc->mu);
    if (fc->finished || fc->n_msgs >= MAX_MESSAGES) {
        pthread_mutex_unlock(&fc->mu);
        free(copy);
        return FLAME_ECANCELLED;
    }
    fc->msgs[fc->n_msgs] = copy;
    fc->msg_len[fc->n_msgs++] = len;
    pthread_cond_broadcast(&fc->cv);
    pthread_mutex_unlock(&fc->mu);
    return 0;
}

static int op_send(svc_call *c, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return FLAME_ENOMEM;
    protobuf_c_message_pack(msg, buf);
    int rc = capture(fc_of(c), buf, n);
    free(buf);
    return rc;
}

static int op_send_wire(svc_call *c, uint8_t *bytes, size_t len, void *owner)
{
    int rc = capture(fc_of(c), bytes, len);
    free(owner ? owner : bytes);
    return rc;
}

static int op_send_busy(svc_call *c)
{
    (void)c;
    return 0;
}

static int op_send_packed(svc_call *c, const uint8_t *data, size_t len,
                          void (*on_done)(svc_call *c, int ok))
{
    int rc = capture(fc_of(c), data, len);
    if (rc < 0)
        return rc;
    return spawn_job(fc_of(c), &(struct job){.fc = fc_of(c), .done = on_done});
}

static int op_send_initial_metadata(svc_call *c, void (*on_done)(svc_call *c, int ok))
{
    if (atomic_load(&fc_of(c)->cancelled))
        return FLAME_ECANCELLED;
    return spawn_job(fc_of(c), &(struct job){.fc = fc_of(c), .done = on_done});
}

static void op_on_close(svc_call *c, void (*fn)(svc_call *c))
{
    fake_call *fc = fc_of(c);
    pthread_mutex_lock(&fc->mu);
    fc->on_close = fn;
    if (fc->finished || atomic_load(&fc->cancelled))
        close_locked(fc);
    pthread_mutex_unlock(&fc->mu);
}

/* The fake has no client stream: every receive is its end (no service
 * unit test drives a client-streaming RPC; the integration tests do). */
static int op_recv(svc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    (void)d;
    *out = NULL;
    return atomic_load(&fc_of(c)->cancelled) ? FLAME_ECANCELLED : 0;
}

static const struct svc_call_ops ops = {
    .deadline_left_ms = op_deadline_left_ms,
    .cancelled = op_cancelled,
    .run_blocking = op_run_blocking,
    .finish = op_finish,
    .send = op_send,
    .send_wire = op_send_wire,
    .send_busy = op_send_busy,
    .send_packed = op_send_packed,
    .send_initial_metadata = op_send_initial_metadata,
    .on_close = op_on_close,
    .recv = op_recv,
};

fake_call *fake_call_new(void *service, const char *name, const ProtobufCMessage *req,
                         const struct caller_identity *id, long timeout_ms)
{
    fake_call *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return NULL;
    pthread_mutex_init(&fc->mu, NULL);
    pthread_cond_init(&fc->cv, NULL);
    snprintf(fc->method, sizeof(fc->method), "%s", name);
    fc->anon = (struct caller_identity){"anonymous", NULL, 0, "none"};
    fc->deadline_ms = timeout_ms > 0 ? now_ms() + timeout_ms : INT64_MAX;
    for (size_t i = 0; i < service_n_methods; i++) {
        const char *s = strrchr(service_methods[i].path, '/');
        if (s && strcmp(s + 1, name) == 0)
            fc->m = &service_methods[i];
    }
    fc->sc.ops = &ops;
    fc->sc.transport = fc;
    fc->sc.service = service;
    fc->sc.method = fc->method;
    fc->sc.request = req;
    fc->sc.identity = id ? id : &fc->anon;
    return fc;
}

void fake_call_start(fake_call *fc) { fc->m->fn(&fc->sc); }

void fake_call_cancel(fake_call *fc)
{
    atomic_store(&fc->cancelled, 1);
    pthread_mutex_lock(&fc->mu);
    close_locked(fc);
    pthread_mutex_unlock(&fc->mu);
}

static void deadline_ts(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

int fake_call_wait(fake_call *fc, long timeout_ms)
{
    struct timespec ts;
    deadline_ts(&ts, timeout_ms);
    pthread_mutex_lock(&fc->mu);
    int rc = 0;
    while ((!fc->finished || fc->jobs) && rc == 0)
        rc = pthread_cond_timedwait(&fc->cv, &fc->mu, &ts);
    int ended = fc->finished && !fc->jobs;
    pthread_mutex_unlock(&fc->mu);
    return ended;
}

size_t fake_call_wait_messages(fake_call *fc, size_t n, long timeout_ms)
{
    struct timespec ts;
    deadline_ts(&ts, timeout_ms);
    pthread_mutex_lock(&fc->mu);
    int rc = 0;
    while (fc->n_msgs < n && rc == 0)
        rc = pthread_cond_timedwait(&fc->cv, &fc->mu, &ts);
    size_t have = fc->n_msgs;
    pthread_mutex_unlock(&fc->mu);
    return have;
}

int fake_call_code(fake_call *fc) { return fc->code; }
const char *fake_call_reason(fake_call *fc) { return fc->reason; }
const char *fake_call_detail(fake_call *fc) { return fc->detail; }

ProtobufCMessage *fake_call_response(fake_call *fc, const ProtobufCMessageDescriptor *d)
{
    if (!fc->resp)
        return NULL;
    return protobuf_c_message_unpack(d, NULL, fc->resp_len, fc->resp);
}

ProtobufCMessage *fake_call_message(fake_call *fc, size_t i, const ProtobufCMessageDescriptor *d)
{
    pthread_mutex_lock(&fc->mu);
    ProtobufCMessage *m = i < fc->n_msgs ? protobuf_c_message_unpack(d, NULL, fc->msg_len[i], fc->msgs[i]) : NULL;
    pthread_mutex_unlock(&fc->mu);
    return m;
}

size_t fake_call_n_messages(fake_call *fc)
{
    pthread_mutex_lock(&fc->mu);
    size_t n = fc->n_msgs;
    pthread_mutex_unlock(&fc->mu);
    return n;
}

svc_call *fake_call_svc(fake_call *fc) { return &fc->sc; }

void fake_call_free(fake_call *fc)
{
    if (!fc)
        return;
    pthread_mutex_lock(&fc->mu);
    while (fc->jobs)
        pthread_cond_wait(&fc->cv, &fc->mu);
    pthread_mutex_unlock(&fc->mu);
    if (fc->sc.state_free)
        fc->sc.state_free(fc->sc.state);
    for (size_t i = 0; i < fc->n_msgs; i++)
        free(fc->msgs[i]);
    free(fc->resp);
    pthread_mutex_destroy(&fc->mu);
    pthread_cond_destroy(&fc->cv);
    free(fc);
}
