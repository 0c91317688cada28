/*
 * server/service/call.h - what the service needs of one call, and nothing of
 * the transport that carries it.
 *
 * Each RPC of flame.v1.RunnerService is a plain function of the service,
 * `void fn(svc_call *call)`: it reads the decoded request, the deadline, the
 * cancellation check and the caller's identity from the call, and ends it
 * exactly once with a result (a flame error code, its flame-reason and a
 * detail, or OK with a response message). Streams send through the call's
 * sink. The service's table of RPCs (service_methods, service.h) lists them;
 * the transport turns every entry into one of its methods with one adapter
 * (gRPC: the adapter in the transport's folder), and unit tests drive the same
 * functions with a fake call (tests/unit/service/).
 *
 * A transport implements struct svc_call_ops and owns the svc_call: it is
 * valid from the function's start until the transport releases the call (after
 * the call ended and every blocking job returned). `state` is the service's:
 * the transport calls state_free(state) when it releases the call.
 *
 * Thread-safety: as each op says. A call is used by the thread that runs the
 * function, by the blocking job it starts, and by sink completions.
 */
#ifndef FLAMED_SERVICE_CALL_H
#define FLAMED_SERVICE_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/identity.h"

typedef struct svc_call svc_call;

/** How a call ends. */
struct svc_result {
    int code;                         /* 0 (OK) or a FLAME_E* code */
    const char *reason;               /* "flame-reason" of an error; NULL: none */
    const char *detail;               /* the error's message; NULL: none */
    const ProtobufCMessage *response; /* OK of a unary call: the response (borrowed for the op) */
    uint8_t *wire;                    /* OK of a unary call, instead of response: the response
                                       * in wire form, malloc'd; the op takes it (free()d also
                                       * when the call had already ended) */
    size_t wire_len;                  /* bytes at wire */
};

/** What a transport does for a call. Every op is required. */
struct svc_call_ops {
    /** Milliseconds before the client's deadline; INT64_MAX when none. Thread-safe. */
    int64_t (*deadline_left_ms)(const svc_call *c);
    /** Did the client cancel, leave or pass its deadline? Cheap (an atomic load). Thread-safe. */
    int (*cancelled)(const svc_call *c);
    /**
     * Run fn(c) on a thread that may block (Docker calls, waits); the call stays
     * valid until fn returns. @return 0; FLAME_EEXHAUSTED when the transport's
     * blocking threads are all busy, FLAME_ENOMEM (fn will not run; the caller
     * ends the call).
     */
    int (*run_blocking)(svc_call *c, void (*fn)(svc_call *c));
    /**
     * End the call with res. The first end counts: later ones do nothing (but
     * still take res->wire). Waits for a message in flight first. Any thread.
     */
    void (*finish)(svc_call *c, const struct svc_result *res);
    /**
     * Stream sink: send one message from a blocking job, waiting for the
     * previous one to be taken (one in flight: the client's pace is the
     * backpressure). @return 0; FLAME_ECANCELLED (client gone); FLAME_ENOMEM.
     */
    int (*send)(svc_call *c, const ProtobufCMessage *msg);
    /**
     * As send, for a message already in wire form at bytes[0..len): takes
     * `owner` (a malloc'd block holding the bytes; NULL: bytes itself), free()d
     * once written, also on error.
     */
    int (*send_wire)(svc_call *c, uint8_t *bytes, size_t len, void *owner);
    /** 1 while a message is still in flight (send would wait). Thread-safe. */
    int (*send_busy)(svc_call *c);
    /**
     * Send a message in wire form without waiting, from any thread (event
     * fan-out): data is borrowed until on_done(c, ok) runs, which it does once,
     * never from inside this op (the caller may hold its own lock); ok = 0 when
     * the client is gone. One in flight at a time: the caller tracks it.
     * @return 0 (on_done will run); FLAME_ECANCELLED or FLAME_ENOMEM (it won't).
     */
    int (*send_packed)(svc_call *c, const uint8_t *data, size_t len,
                       void (*on_done)(svc_call *c, int ok));
    /**
     * Tell the client the stream is open (no message yet). @return 0 (on_done
     * runs as for send_packed); 1 when already told (on_done will not run);
     * FLAME_ECANCELLED.
     */
    int (*send_initial_metadata)(svc_call *c, void (*on_done)(svc_call *c, int ok));
    /**
     * fn(c) runs once when the call ends for any reason (answered, cancelled,
     * deadline, disconnect); at once if it already has. Any thread.
     */
    void (*on_close)(svc_call *c, void (*fn)(svc_call *c));
    /**
     * Client streams (svc_method.client_streaming): receive the client's next
     * message of type d, blocking; from a blocking job only. It may run while
     * another job of the call sends (a bidirectional call: one receive in
     * flight and one send in flight at a time). The transport reads the next
     * message only when this is called again: the caller's pace is the
     * backpressure on the client.
     * @param[out] out  the message, owned by the caller
     *                  (protobuf_c_message_free_unpacked); NULL at the end
     *                  of the client's stream (it half-closed).
     * @return 0; FLAME_ECANCELLED (the client is gone or the call ended);
     *         FLAME_EINVALID (not a valid message of type d).
     */
    int (*recv)(svc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);
};

/** One call, as the service sees it. */
struct svc_call {
    const struct svc_call_ops *ops;
    void *transport;                        /* the transport's own call (opaque here) */
    void *service;                          /* the service's context (struct service *) */
    const char *method;                     /* the RPC's short name ("Boot"); static */
    const ProtobufCMessage *request;        /* the decoded request; NULL for client streams */
    const struct caller_identity *identity; /* never NULL */
    void *state;                            /* the service's, freed with state_free */
    void (*state_free)(void *state);
};

/** One RPC of the service: what a transport needs to serve it. */
struct svc_method {
    const char *path;                            /* "/flame.v1.RunnerService/Boot" */
    const ProtobufCMessageDescriptor *request;   /* the request's message type */
    int server_streaming;                        /* answers with a stream of messages */
    int client_streaming;                        /* reads a stream of messages (call_recv);
                                                  * call->request is then NULL */
    /* Runs where the transport accepts calls, with the decoded request: it must
     * not block (hand blocking work to run_blocking) and ends the call once. */
    void (*fn)(svc_call *call);
};

/* ---- shorthands for the service's code ---- */

static inline int call_cancelled(const svc_call *c) { return c->ops->cancelled(c); }
static inline int64_t call_deadline_left_ms(const svc_call *c) { return c->ops->deadline_left_ms(c); }
static inline int call_run_blocking(svc_call *c, void (*fn)(svc_call *c)) { return c->ops->run_blocking(c, fn); }
static inline int call_send(svc_call *c, const ProtobufCMessage *m) { return c->ops->send(c, m); }
static inline int call_send_wire(svc_call *c, uint8_t *b, size_t n, void *owner)
{
    return c->ops->send_wire(c, b, n, owner);
}
static inline int call_send_busy(svc_call *c) { return c->ops->send_busy(c); }
static inline int call_recv(svc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return c->ops->recv(c, d, out);
}

/** End the call: code 0 with response (may be NULL), or an error with reason and detail. */
static inline void call_finish(svc_call *c, int code, const char *reason, const char *detail,
                               const ProtobufCMessage *response)
{
    struct svc_result r = {.code = code, .reason = reason, .detail = detail, .response = response};
    c->ops->finish(c, &r);
}

/** End a unary call with OK and its response in wire form (malloc'd; taken). */
static inline void call_finish_wire(svc_call *c, uint8_t *wire, size_t len)
{
    struct svc_result r = {.wire = wire, .wire_len = len};
    c->ops->finish(c, &r);
}

/** Attach the service's per-call state (freed with free_fn when the call is released). */
static inline void call_set_state(svc_call *c, void *state, void (*free_fn)(void *))
{
    c->state = state;
    c->state_free = free_fn;
}

#endif
