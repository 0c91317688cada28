/*
 * The one adapter between gRPC calls and the service's plain functions
 * (service_adapter.h). Each call gets a struct svc_call, kept in the rpc
 * call's state slot (so it lives exactly as long as the rpc call: released
 * once the status is sent, the close notification seen and every worker
 * returned); its ops forward to rpc_call_*.
 */
#include <stdlib.h>

#include "flame/error.h"
#include "rpc/service_adapter.h"

/* One adapted method: what its calls run, and with which context. */
struct binding {
    const struct svc_method *m;
    void *service;
};

struct rpc_adapter {
    struct binding *b;
    size_t n;
};

/* One call's svc_call, and the service's callbacks the rpc layer calls back. */
struct adapted {
    svc_call sc;
    rpc_call *rc;
    void (*on_sent)(svc_call *c, int ok); /* one send in flight at a time */
    void (*on_close)(svc_call *c);
};

static rpc_call *rc_of(const svc_call *c) { return c->transport; }

static void adapted_free(void *p)
{
    struct adapted *ad = p;
    if (ad->sc.state_free)
        ad->sc.state_free(ad->sc.state);
    free(ad);
}

static int64_t op_deadline_left_ms(const svc_call *c) { return rpc_call_deadline_left_ms(rc_of(c)); }

static int op_cancelled(const svc_call *c) { return rpc_call_cancelled(rc_of(c)); }

struct blocking {
    void (*fn)(svc_call *c);
};

static void run_blocking_main(rpc_call *rc, void *arg)
{
    struct blocking b = *(struct blocking *)arg;
    free(arg);
    struct adapted *ad = rpc_call_state(rc);
    b.fn(&ad->sc);
}

static int op_run_blocking(svc_call *c, void (*fn)(svc_call *c))
{
    struct blocking *b = malloc(sizeof(*b));
    if (!b)
        return FLAME_ENOMEM;
    b->fn = fn;
    int rc = rpc_call_run_worker_arg(rc_of(c), run_blocking_main, b);
    if (rc < 0)
        free(b);
    return rc;
}

static void op_finish(svc_call *c, const struct svc_result *res)
{
    if (res->wire)
        rpc_call_finish_wire(rc_of(c), res->wire, res->wire_len);
    else
        rpc_call_finish(rc_of(c), res->code, res->reason, res->detail, res->response);
}

static int op_send(svc_call *c, const ProtobufCMessage *msg) { return rpc_call_send(rc_of(c), msg); }

static int op_send_wire(svc_call *c, uint8_t *bytes, size_t len, void *owner)
{
    return rpc_call_send_wire(rc_of(c), bytes, len, owner);
}

static int op_send_busy(svc_call *c) { return rpc_call_send_busy(rc_of(c)); }

static void sent(rpc_call *rc, int ok)
{
    struct adapted *ad = rpc_call_state(rc);
    void (*cb)(svc_call *, int) = ad->on_sent;
    if (cb)
        cb(&ad->sc, ok);
}

static int op_send_packed(svc_call *c, const uint8_t *data, size_t len,
                          void (*on_done)(svc_call *c, int ok))
{
    struct adapted *ad = (struct adapted *)c;
    ad->on_sent = on_done;
    return rpc_call_send_packed(rc_of(c), data, len, sent);
}

static int op_send_initial_metadata(svc_call *c, void (*on_done)(svc_call *c, int ok))
{
    struct adapted *ad = (struct adapted *)c;
    ad->on_sent = on_done;
    return rpc_call_send_initial_metadata(rc_of(c), sent);
}

static void closed(rpc_call *rc)
{
    struct adapted *ad = rpc_call_state(rc);
    if (ad->on_close)
        ad->on_close(&ad->sc);
}

static void op_on_close(svc_call *c, void (*fn)(svc_call *c))
{
    struct adapted *ad = (struct adapted *)c;
    ad->on_close = fn;
    rpc_call_on_close(rc_of(c), closed);
}

static int op_recv(svc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return rpc_call_recv(rc_of(c), d, out);
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

/* Every adapted method's handler (CQ thread, request unpacked). */
static void handle(rpc_call *rc)
{
    const struct binding *b = rpc_call_context(rc);
    struct adapted *ad = calloc(1, sizeof(*ad));
    if (!ad) {
        rpc_call_finish(rc, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    ad->rc = rc;
    ad->sc.ops = &ops;
    ad->sc.transport = rc;
    ad->sc.service = b->service;
    ad->sc.method = rpc_call_method_name(rc);
    ad->sc.request = rpc_call_request(rc);
    ad->sc.identity = rpc_call_identity(rc);
    rpc_call_set_state(rc, ad, adapted_free);
    b->m->fn(&ad->sc);
}

int rpc_adapter_new(rpc_adapter **out, const struct svc_method *methods, size_t n, void *service,
                    struct rpc_method *rm)
{
    *out = NULL;
    rpc_adapter *a = calloc(1, sizeof(*a));
    if (!a || !(a->b = calloc(n ? n : 1, sizeof(*a->b)))) {
        free(a);
        return FLAME_ENOMEM;
    }
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        a->b[i] = (struct binding){&methods[i], service};
        rm[i] = (struct rpc_method){
            .path = methods[i].path,
            .request = methods[i].request,
            .server_streaming = methods[i].server_streaming,
            .client_streaming = methods[i].client_streaming,
            .handler = handle,
            .context = &a->b[i],
        };
    }
    *out = a;
    return 0;
}

void rpc_adapter_free(rpc_adapter *a)
{
    if (!a)
        return;
    free(a->b);
    free(a);
}
