/*
 * server/rpc/rpc.h - gRPC core plumbing: the server, its completion-queue
 * threads, the method table and per-call contexts. Knows nothing of HTTP or
 * Docker: a service registers handlers and gets requests as protobuf-c
 * messages; it answers with messages and a FLAME_E* code.
 *
 * Threads: N CQ threads poll one NEXT completion queue and run handlers;
 * handlers must not block (hand long work to rpc_call_run_worker()).
 *
 * Call lifecycle: every accepted call is finished exactly once with
 * rpc_call_finish(), even after the client cancelled (then nothing is sent).
 * A call context is refcounted: accept, the close-notification batch and each
 * worker hold a reference.
 *
 * Follows: gRPC core (grpc/grpc.h 1.51): grpc_server_request_registered_call,
 * GRPC_OP_RECV_CLOSE_ON_SERVER, grpc_server_shutdown_and_notify, as the gRPC
 * Core API reference documents them (https://grpc.github.io/grpc/core/grpc_8h.html).
 */
#ifndef FLAMED_RPC_H
#define FLAMED_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/auth.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

/** One method: "/pkg.Service/Method", its request type, and its handler. */
struct rpc_method {
    const char *path;
    const ProtobufCMessageDescriptor *request;
    int server_streaming;
    /* Client streaming (bidi): no request is read up front; the handler reads
     * with rpc_call_recv() (from a worker). */
    int client_streaming;
    /* Runs on a CQ thread with the unpacked request; must not block. */
    void (*handler)(rpc_call *call);
    /* Returned by rpc_call_context() for this method's calls; NULL: the server's. */
    void *context;
    /* Callable without a token even when tokens are configured (health). */
    int public_method;
};

/** Server options. Zero-initialise, then set. */
struct rpc_server_options {
    const char *const *listen;  /* NULL-terminated gRPC addresses ("unix:/p", "127.0.0.1:0") */
    int cq_threads;             /* 0: 2 */
    int max_workers;            /* concurrent worker threads; 0: 512 */
    void *context;              /* returned by rpc_call_context() */
    const struct rpc_method *methods;
    size_t n_methods;
    int unix_socket_mode;       /* chmod for unix sockets after bind; 0: leave */
    const char *unix_socket_group; /* chgrp for unix sockets after bind; NULL: leave */
    const rpc_auth *auth;       /* bearer tokens required when set (borrowed) */
    /* TLS on TCP addresses (PEM file paths): cert+key; with client_ca, clients must
     * present a certificate signed by it (mTLS). Unix sockets stay plaintext. */
    const char *tls_cert, *tls_key, *tls_client_ca;
    size_t max_receive_bytes;   /* largest request message; 0: gRPC's 4 MiB */
    /* Deepest nesting of messages in a request (policy limits.max_depth; see
     * rpc/wire_depth.h): deeper requests are refused with FLAME_EINVALID before
     * protobuf-c unpacks them. 0: RPC_WIRE_DEPTH_DEFAULT (32); otherwise clamped
     * to [RPC_WIRE_DEPTH_MIN, RPC_WIRE_DEPTH_MAX] = [8, 200]. */
    size_t max_depth;
};

/**
 * Create, bind and start the server.
 * @param[out] out  free with rpc_server_free() after rpc_server_shutdown().
 * @param[out] bound_port  TCP port of the first TCP address (for ":0"), may be NULL.
 * @return 0; FLAME_EUNAVAILABLE when an address cannot be bound (detail in err).
 */
int rpc_server_start(rpc_server **out, const struct rpc_server_options *opts, int *bound_port,
                     char *err, size_t errlen);

/**
 * Stop accepting calls; wait up to grace_ms for in-flight calls to finish,
 * then cancel the rest (open streams end with CANCELLED/UNAVAILABLE) and wait
 * for workers to return. Joins the CQ threads.
 */
void rpc_server_shutdown(rpc_server *srv, long grace_ms);

/** Free a shut-down server. Accepts NULL. */
void rpc_server_free(rpc_server *srv);

/** Calls accepted and not yet released. */
int rpc_server_active_calls(rpc_server *srv);

/* ------------------------------------------------------------ per call */

/** The method's context, or the server's when the method has none. */
void *rpc_call_context(const rpc_call *call);
/** The unpacked request (borrowed from the call; lives as long as it). */
const ProtobufCMessage *rpc_call_request(const rpc_call *call);
/** The method's path ("/flame.v1.RunnerService/Boot"); static. */
const char *rpc_call_method(const rpc_call *call);
/** Short method name ("Boot"); static. */
const char *rpc_call_method_name(const rpc_call *call);

/**
 * Milliseconds left before the client's deadline; INT64_MAX when none.
 * Thread-safe.
 */
int64_t rpc_call_deadline_left_ms(const rpc_call *call);

/**
 * The caller: token name and allowed pools, or the TLS client certificate's
 * subject, or "anonymous". Borrowed; valid for the call's life.
 */
const struct caller_identity *rpc_call_identity(const rpc_call *call);

/** Did the client cancel, disconnect or pass its deadline? Thread-safe. */
int rpc_call_cancelled(const rpc_call *call);

/**
 * Copy the first value of request metadata `key` (lowercase) into buf.
 * @return 1 if present (possibly truncated), 0 if absent.
 */
int rpc_call_metadata(const rpc_call *call, const char *key, char *buf, size_t buflen);

void rpc_call_ref(rpc_call *call);
void rpc_call_unref(rpc_call *call);

/** Attach service state, freed with free_fn when the call is released. */
void rpc_call_set_state(rpc_call *call, void *state, void (*free_fn)(void *));
void *rpc_call_state(const rpc_call *call);

/**
 * Run fn(call) on a new worker thread (holding a reference for it).
 * @return 0; FLAME_EEXHAUSTED when max_workers are busy (the call is not
 *         finished: the caller finishes it with that code).
 */
int rpc_call_run_worker(rpc_call *call, void (*fn)(rpc_call *call));

/** As rpc_call_run_worker(), with an argument for fn (owned by the caller; on
 *  an error return fn does not run). */
int rpc_call_run_worker_arg(rpc_call *call, void (*fn)(rpc_call *call, void *arg), void *arg);

/**
 * Receive the next message of a client stream (client_streaming methods),
 * blocking; call from a worker thread only.
 * @param[out] out  the message, owned by the caller
 *                  (protobuf_c_message_free_unpacked); NULL when the client
 *                  closed its side (end of stream).
 * @return 0; FLAME_ECANCELLED (client gone); FLAME_EINVALID (not a valid
 *         message of type d, or nested deeper than the server's max_depth).
 */
int rpc_call_recv(rpc_call *call, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);

/**
 * Send one message of a server stream from a worker thread. Waits for the
 * previous send to complete (one in flight: the client's pace is the
 * backpressure), then starts this one and returns.
 * Never call from a CQ thread.
 * @return 0; FLAME_ECANCELLED when the client is gone; FLAME_ENOMEM.
 */
int rpc_call_send(rpc_call *call, const ProtobufCMessage *msg);

/**
 * As rpc_call_send(), for a message already in wire form: no copy. Takes
 * ownership of `owner` (a malloc'd block that contains bytes[0..len); NULL
 * means bytes itself), freed with free() once gRPC has written it, also on
 * error.
 * @return 0; FLAME_ECANCELLED when the client is gone; FLAME_ENOMEM.
 */
int rpc_call_send_wire(rpc_call *call, uint8_t *bytes, size_t len, void *owner);

/**
 * 1 while a message of this call is still being sent (rpc_call_send* would
 * wait), else 0: a streaming worker may gather more output meanwhile.
 * Thread-safe.
 */
int rpc_call_send_busy(rpc_call *call);

/**
 * Send pre-packed bytes without waiting (for event fan-out from any thread).
 * At most one send may be in flight: the caller tracks that and is told of
 * completion through on_done (run on a CQ thread; ok = 0 when the client is
 * gone), never from inside this function, so the caller may hold its own
 * lock. Sends initial metadata first if not sent yet.
 * @return 0 (on_done will run); FLAME_ECANCELLED or FLAME_ENOMEM (it won't).
 */
int rpc_call_send_packed(rpc_call *call, const uint8_t *data, size_t len,
                         void (*on_done)(rpc_call *call, int ok));

/**
 * Send initial metadata now (streams: lets clients see the stream is open).
 * @return 0 (on_done will run, as for rpc_call_send_packed); 1 when it was
 *         already sent (on_done will not run); FLAME_ECANCELLED.
 */
int rpc_call_send_initial_metadata(rpc_call *call, void (*on_done)(rpc_call *call, int ok));

/**
 * Per-method context: the method table entry's `context` when set, else the
 * server's (rpc_call_context() returns the same).
 */

/**
 * Called once on a CQ thread when the call ends for any reason (status sent,
 * cancel, deadline, disconnect). Set before returning from the handler.
 */
void rpc_call_on_close(rpc_call *call, void (*on_close)(rpc_call *call));

/**
 * Finish the call: for err == 0 with a response (unary), send it with status
 * OK; otherwise send the status mapped from err (flame_error_grpc_status) with
 * detail as the message, and `reason` (may be NULL) as "flame-reason" trailing
 * metadata. Waits for an in-flight send first. Idempotent: later calls do nothing.
 * Safe from any thread.
 */
void rpc_call_finish(rpc_call *call, int err, const char *reason, const char *detail,
                     const ProtobufCMessage *response);

/**
 * Finish a unary call with OK and a response already in wire form (e.g. a
 * ListResponse built from cached packed runners). Takes ownership of bytes
 * (malloc'd; freed with free() once gRPC is done with them, also when the
 * call was already finished). Otherwise as rpc_call_finish(). Safe from any thread.
 */
void rpc_call_finish_wire(rpc_call *call, uint8_t *bytes, size_t len);

#endif
