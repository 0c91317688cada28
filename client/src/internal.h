/*
 * internal.h - libflame's module-internal declarations (not installed).
 *
 * Three pure parts (K=V splitting, JSON -> google.protobuf.Struct, runner
 * conversion) and the gRPC call plumbing (call.c). The pure parts are linked
 * into the unit tests in tests/unit/client, which include this header.
 */
#ifndef FLAME_INTERNAL_H
#define FLAME_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "flame/client.h"
#include "flame/v1/runner_service.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* ------------------------------------------------------------ kv.c */

/**
 * Split "K=V" at the first '='.
 * @param[out] key, value  malloc'd copies, owned by the caller (free()); set only on 0.
 * @param kv    the entry; K must be non-empty, V may be empty or contain '='.
 * @return 0, FLAME_EINVALID (NULL, no '=' or empty key), FLAME_ENOMEM.
 */
int flame__kv_split(const char *kv, char **key, char **value);

/**
 * Build a protobuf map field (repeated entries with `key` and `value` strings)
 * from a NULL-terminated "K=V" array.
 *
 * @param entry_desc  the map entry's descriptor (e.g. ..._env_entry__descriptor).
 * @param kvs         NULL-terminated "K=V" array or NULL (no entries).
 * @param what        field name for the message ("env", "labels").
 * @param[out] out_entries, out_n  malloc'd array of malloc'd entries; freed with the
 *             enclosing message by protobuf_c_message_free_unpacked(msg, NULL).
 * @param err, errlen  detail on failure.
 * @return 0, FLAME_EINVALID (an entry is not K=V), FLAME_ENOMEM.
 */
int flame__kv_map(const ProtobufCMessageDescriptor *entry_desc, const char *const *kvs,
                  const char *what, void ***out_entries, size_t *out_n, char *err,
                  size_t errlen);

/**
 * Copy a NULL-terminated string array into a malloc'd array of malloc'd
 * strings (for a repeated string field).
 * @return 0, FLAME_ENOMEM. NULL or empty input gives *out = NULL, *n = 0.
 */
int flame__strv_copy(const char *const *v, char ***out, size_t *n);

/** strdup(s ? s : ""); NULL only when out of memory. */
char *flame__strdup0(const char *s);

/* ------------------------------------------------------------ struct_json.c */

/**
 * Parse a JSON object into a google.protobuf.Struct: objects become Struct,
 * arrays ListValue, strings/numbers/booleans/null their Value kinds.
 *
 * @param json  NUL-terminated JSON text; must be one object (trailing whitespace ok).
 * @param what  names the input in error messages ("host_config", "mount 2").
 * @param[out] out  malloc'd tree, owned by the caller; free with flame__struct_free().
 * @param err, errlen  detail on failure ("host_config: invalid JSON at byte 7: ...").
 * @return 0, FLAME_EINVALID (not JSON, or not an object), FLAME_ENOMEM.
 * Thread-safe (does not use cJSON_GetErrorPtr()).
 * Follows: google/protobuf/struct.proto; RFC 8259 as cJSON 1.7 reads it.
 */
int flame__struct_from_json(const char *json, const char *what, Google__Protobuf__Struct **out,
                            char *err, size_t errlen);

/**
 * Set (replace or add) a number field of a Struct.
 * @return 0, FLAME_ENOMEM (s unchanged).
 */
int flame__struct_set_number(Google__Protobuf__Struct *s, const char *key, double v);

/** The Value of `key`, or NULL; borrowed from s. */
const Google__Protobuf__Value *flame__struct_get(const Google__Protobuf__Struct *s,
                                                 const char *key);

/** Free a Struct from flame__struct_from_json(). Accepts NULL. */
void flame__struct_free(Google__Protobuf__Struct *s);

/* ------------------------------------------------------------ arena.c */

/**
 * A bump allocator holding one response: the unpacked message (protobuf-c
 * allocates through flame__arena_allocator(), whose free is a no-op) and the
 * flame_runner views built on it. Refcounted: each runner handed to the
 * caller holds one reference (flame_runner.internal points here), a list's
 * array one more; the last flame__arena_unref() frees every block.
 * Allocation is not thread-safe (one owner fills it); ref/unref are.
 */
typedef struct flame__arena flame__arena;

/**
 * @param size_hint  bytes for the first block (at least 4 KiB is taken; a
 *                   released arena whose block is at least this large is
 *                   reused); more blocks are chained when it runs out.
 * @param[out] out   the arena with one reference; flame__arena_unref().
 * @return 0, FLAME_ENOMEM.
 */
int flame__arena_new(size_t size_hint, flame__arena **out);

/** The first block's size for a message of len bytes: it and the views fit. */
size_t flame__arena_hint(size_t len);

/** n bytes, 8-byte aligned, not zeroed; NULL (and flame__arena_failed()) when out of memory. */
void *flame__arena_alloc(flame__arena *a, size_t n);

/** A NUL-terminated copy of s (NULL gives ""), or NULL when out of memory. */
char *flame__arena_strdup(flame__arena *a, const char *s);

/** The ProtobufCAllocator of the arena, for protobuf_c_message_unpack(). Borrowed. */
ProtobufCAllocator *flame__arena_allocator(flame__arena *a);

/** 1 when an allocation failed since creation or the last reset. */
int flame__arena_failed(const flame__arena *a);

/** Bytes handed out, and capacity of all blocks (tests and sizing). */
size_t flame__arena_used(const flame__arena *a);
size_t flame__arena_capacity(const flame__arena *a);
size_t flame__arena_blocks(const flame__arena *a);
/** References held now (tests: who releases the arena when). */
size_t flame__arena_refs(const flame__arena *a);

/**
 * Forget everything allocated, keeping the blocks for reuse (one message
 * after another on a stream). Only while nothing handed out is still used.
 */
void flame__arena_reset(flame__arena *a);

/** Add n references (thread-safe). */
void flame__arena_ref(flame__arena *a, size_t n);

/** Drop n references; the last frees the arena. Accepts NULL (thread-safe). */
void flame__arena_unref(flame__arena *a, size_t n);

/* ------------------------------------------------------------ runner.c */

/**
 * A flame_runner for a protobuf Runner that lives in arena `a`: the struct
 * and its label arrays are allocated from `a`, its strings are the message's
 * own (never copied), r->internal is `a`. Takes no reference: the caller
 * adds one per runner it hands out (flame__arena_ref()).
 * @param r  the message (in `a`), or NULL (gives an empty runner).
 * @return the runner, or NULL when out of memory.
 */
flame_runner *flame__runner_view(flame__arena *a, const Flame__V1__Runner *r);

/**
 * The array flame_client_list() returns, for n runners, allocated from `a`
 * behind a hidden header that names `a` (flame_runner_list_free() finds the
 * arena there). Takes no reference. NULL when out of memory.
 */
flame_runner **flame__runner_list_new(flame__arena *a, size_t n);

/* ------------------------------------------------------------ runner_wire.c */

/**
 * Decode a ListResponse from its wire bytes straight into flame_runner
 * views (no protobuf-c): one new arena holds the array, the runners and
 * copies of their strings, as flame_client_list() returns them.
 * @param p, len  the message (borrowed).
 * @param[out] out, n  the array (NULL and 0 for no runners); free with
 *                flame_runner_list_free().
 * @return 0, FLAME_ERROR (malformed), FLAME_ENOMEM.
 */
int flame__list_decode(const uint8_t *p, size_t len, flame_runner ***out, size_t *n);

/* ------------------------------------------------------------ call.c */

struct grpc_channel;
struct grpc_completion_queue;

/* Idle completion queues a client keeps for its next calls; beyond this many
 * (more threads in calls at once) a finished call's queue is destroyed. */
#define FLAME__CQ_POOL_MAX 64
/* The methods libflame calls, registered with the channel at open. */
#define FLAME__N_METHODS 7

/** A client: one gRPC channel shared by all calls (channels are thread-safe). */
struct flame_client {
    struct grpc_channel *channel;
    char *target;
    char *authorization; /* "Bearer <token>" or NULL; read-only after open */
    uint32_t timeout_ms; /* unary deadline; never 0 */
    void *registered[FLAME__N_METHODS]; /* grpc_channel_register_call() handles */
    pthread_mutex_t cq_mu;              /* guards cq_idle, n_cq_idle */
    struct grpc_completion_queue *cq_idle[FLAME__CQ_POOL_MAX];
    size_t n_cq_idle;
};

/** One client call on a completion queue of its own while it runs. */
typedef struct flame__call flame__call;

/**
 * A callback polled about every FLAME__TICK_MS while a call waits; non-zero
 * cancels the call.
 */
typedef int (*flame__tick_fn)(void *ud);
#define FLAME__TICK_MS 100

/**
 * Run a unary call in one batch (send metadata, message, close; receive
 * metadata, message, status).
 *
 * @param method      "/flame.v1.RunnerService/Boot"; static.
 * @param timeout_ms  the call's deadline from now; 0: none.
 * @param req         the request (borrowed).
 * @param resp_desc   the response's descriptor.
 * @param[out] resp   the unpacked response on 0, allocated in *arena (never
 *                    protobuf_c_message_free_unpacked() it).
 * @param[out] arena  on 0, a new arena sized from the response's length that
 *                    holds *resp, with one reference: flame__arena_unref().
 * @param[out] st     status detail, or NULL.
 * @return 0 or the FLAME_E* code of the gRPC status (FLAME_ERROR for a
 *         malformed response, FLAME_ENOMEM).
 */
int flame__call_unary(struct flame_client *c, const char *method, uint32_t timeout_ms,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **resp, flame__arena **arena, flame_status *st);

/**
 * flame__call_unary() with the response handed to `decode` as wire bytes
 * (contiguous, borrowed for the callback) instead of unpacked by protobuf-c.
 * @param decode  returns 0, FLAME_ERROR (malformed) or FLAME_ENOMEM.
 * @return as flame__call_unary().
 */
int flame__call_unary_wire(struct flame_client *c, const char *method, uint32_t timeout_ms,
                           const ProtobufCMessage *req,
                           int (*decode)(void *ud, const uint8_t *p, size_t len), void *ud,
                           flame_status *st);

/**
 * flame__call_unary() for a request already encoded, for services libflame
 * has no generated code for (grpc.health.v1: a one-field message).
 * @param req, req_len     the encoded request (borrowed).
 * @param[out] resp, resp_len  the encoded response on 0: malloc'd (free()),
 *                         resp_len may be 0 (an all-default message).
 * @return as flame__call_unary(); FLAME_ERROR when no response came.
 */
int flame__call_unary_bytes(struct flame_client *c, const char *method, uint32_t timeout_ms,
                            const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                            flame_status *st);

/**
 * Start a server-streaming call: send metadata, the request and close.
 * @param[out] out  the call; finish it with flame__call_finish() whatever this returns
 *                  (it accepts a NULL *out).
 * @return 0, FLAME_ENOMEM, FLAME_ERROR (gRPC refused the batch). A failed
 *         send is not an error here: the status arrives with flame__call_finish().
 */
int flame__call_start(struct flame_client *c, const char *method, uint32_t timeout_ms,
                      const ProtobufCMessage *req, flame__call **out);

/**
 * Receive the next message of a streaming call.
 * @param arena     where the message is unpacked (the caller resets it
 *                  between messages).
 * @param tick, ud  polled while waiting (may be NULL); non-zero cancels the call.
 * @param[out] msg  the message on 1, in `arena` (never free it).
 * @return 1 (a message), 0 (the stream ended: call flame__call_finish()),
 *         FLAME_ERROR (malformed message), FLAME_ENOMEM; on both the call
 *         was cancelled.
 */
int flame__call_recv(flame__call *call, const ProtobufCMessageDescriptor *desc,
                     flame__arena *arena, flame__tick_fn tick, void *ud, ProtobufCMessage **msg);

/**
 * Open a bidirectional call: send metadata and the first message without
 * closing the client's side. Then, on one thread: flame__call_poll() to
 * receive, flame__call_send_begin() whenever flame__call_send_busy() is 0
 * (one send in flight: gRPC's flow control is the backpressure), and
 * flame__call_finish() at the end.
 * @param[out] out  the call; finish it with flame__call_finish() when 0.
 * @return 0, FLAME_ENOMEM, FLAME_ERROR (gRPC refused the batch).
 */
int flame__call_open(struct flame_client *c, const char *method, uint32_t timeout_ms,
                     const ProtobufCMessage *first, flame__call **out);

/**
 * Start sending msg (may be NULL), then close the client's side when
 * `close`. Only while no send is in flight. After a failed send (the call
 * is over) it does nothing: the status tells why.
 * @return 0; FLAME_ENOMEM; FLAME_ERROR (a send is in flight).
 */
int flame__call_send_begin(flame__call *call, const ProtobufCMessage *msg, int close);

/** 1 while a send of a bidirectional call is in flight. */
int flame__call_send_busy(const flame__call *call);

/** 1 once a send failed (the server ended the call or it broke). */
int flame__call_send_failed(const flame__call *call);

/**
 * Wait up to timeout_ms for the next event of a bidirectional call, with a
 * receive in flight (started here when none is).
 * @param[out] msg  the message on 1, in `arena` (reset it between messages).
 * @return 1 (a message), 0 (the stream ended: call flame__call_finish()),
 *         2 (timeout), 3 (the send in flight completed), FLAME_ERROR
 *         (malformed message; the call was cancelled), FLAME_ENOMEM.
 */
int flame__call_poll(flame__call *call, const ProtobufCMessageDescriptor *desc,
                     flame__arena *arena, int timeout_ms, ProtobufCMessage **msg);

/** Cancel a call (thread-safe); its status becomes CANCELLED. */
void flame__call_cancel(flame__call *call);

/** 1 if flame__call_recv()'s tick cancelled the call. */
int flame__call_ticked_out(const flame__call *call);

/**
 * Receive the call's status, fill st and free the call.
 * @return 0 or the FLAME_E* code of the status.
 */
int flame__call_finish(flame__call *call, flame_status *st);

/** Fill a status from a local error (no call made). st may be NULL. */
void flame__status_local(flame_status *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
