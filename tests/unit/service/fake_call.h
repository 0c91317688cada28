/*
 * tests/unit/service/fake_call.h - a transport for the service's unit tests:
 * a struct svc_call whose deadline, cancel flag and identity the test sets,
 * whose blocking jobs run on threads the test can wait for, and whose sink
 * captures every message and the result.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef FLAMED_TESTS_FAKE_CALL_H
#define FLAMED_TESTS_FAKE_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "service/call.h"

typedef struct fake_call fake_call;

/**
 * A call of the service's method `name` ("Boot") with request req (borrowed;
 * must outlive the call), identity id (NULL: anonymous, every pool) and a
 * deadline timeout_ms from now (0: none).
 */
fake_call *fake_call_new(void *service, const char *name, const ProtobufCMessage *req,
                         const struct caller_identity *id, long timeout_ms);

/** Run the method's function from service_methods (as a transport does, not blocking). */
void fake_call_start(fake_call *fc);

/** The client cancels (on_close runs, as for a real transport). */
void fake_call_cancel(fake_call *fc);

/**
 * Wait up to timeout_ms until the call ended and its blocking jobs returned.
 * @return 1 when it ended, 0 on timeout.
 */
int fake_call_wait(fake_call *fc, long timeout_ms);

/** Wait until at least n messages were sent (or timeout_ms). @return the count. */
size_t fake_call_wait_messages(fake_call *fc, size_t n, long timeout_ms);

/** The result: code (0 OK), flame-reason ("" none), detail. Valid once ended. */
int fake_call_code(fake_call *fc);
const char *fake_call_reason(fake_call *fc);
const char *fake_call_detail(fake_call *fc);

/** The unary response, unpacked with d (free with protobuf_c_message_free_unpacked); NULL if none. */
ProtobufCMessage *fake_call_response(fake_call *fc, const ProtobufCMessageDescriptor *d);

/** Stream message i, unpacked with d (free with protobuf_c_message_free_unpacked); NULL if none. */
ProtobufCMessage *fake_call_message(fake_call *fc, size_t i, const ProtobufCMessageDescriptor *d);
size_t fake_call_n_messages(fake_call *fc);

/** The svc_call, to drive a function directly. */
svc_call *fake_call_svc(fake_call *fc);

/** Free once ended (waits for its jobs). */
void fake_call_free(fake_call *fc);

#endif
