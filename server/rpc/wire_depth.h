/*
 * server/rpc/wire_depth.h - how deep a request nests, read from its protobuf
 * wire bytes before protobuf-c unpacks it.
 *
 * protobuf-c's unpack recurses once per nested message and has no depth
 * limit: a BootRequest whose host_config is a google.protobuf.Struct nested
 * ~3,000 levels deep (~41 KB) overflows flamed's stack before any check runs.
 * rpc_wire_depth_check() walks the same bytes with an explicit stack of at
 * most RPC_WIRE_DEPTH_MAX + 1 frames, so its own stack use is fixed whatever
 * the input, and refuses what nests deeper than the limit (policy
 * `limits.max_depth`) before protobuf-c sees it.
 *
 * Needs protobuf-c only (no gRPC), so the fuzz targets link it as it is.
 * Thread-safety: pure functions, safe from any thread.
 * Follows: the protobuf wire format (protobuf.dev/programming-guides/encoding);
 * protobuf-c 1.4 protobuf_c_message_unpack() (what it accepts, and how it
 * reads tags and lengths).
 */
#ifndef FLAMED_RPC_WIRE_DEPTH_H
#define FLAMED_RPC_WIRE_DEPTH_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/** limits.max_depth when the policy does not set it. */
#define RPC_WIRE_DEPTH_DEFAULT 32
/** The range the server clamps limits.max_depth to. */
#define RPC_WIRE_DEPTH_MIN 8
#define RPC_WIRE_DEPTH_MAX 200

/**
 * The depth limit as the server applies it.
 * @param max_depth  the configured limit; 0 means "not set".
 * @return RPC_WIRE_DEPTH_DEFAULT for 0, otherwise max_depth clamped to
 *         [RPC_WIRE_DEPTH_MIN, RPC_WIRE_DEPTH_MAX].
 */
size_t rpc_wire_depth_clamp(size_t max_depth);

/**
 * Check that `data` is well-formed protobuf wire data of message type `desc`
 * and that no message in it nests deeper than max_depth, without recursion.
 *
 * Levels: the message itself is level 0; the value of a message-typed field
 * (TYPE_MESSAGE, map entries included: protobuf-c unpacks them as nested
 * messages) is one level below the message that holds it. A BootRequest with
 * host_config {"a": {"b": 1}} reaches level 6: the host_config Struct (1), its
 * fields entry (2), the Value (3), its struct_value Struct (4), entry (5) and
 * Value (6). An empty message counts like any other.
 *
 * Unknown fields are skipped, never descended into (protobuf-c keeps them as
 * bytes). Malformed, and refused: a tag or a length longer than 5 bytes or
 * not ending before its message does; field number 0 or above 2^29 - 1; a
 * varint longer than 10 bytes; wire types 3 and 4 (groups), 6 and 7; a value
 * or a length past the end of the message that holds it; a message-typed
 * field that is not length-delimited. Tags and lengths are read exactly as
 * protobuf-c reads them, so the messages walked here are the ones it unpacks.
 *
 * @param desc       the message type (borrowed).
 * @param data, len  the wire bytes (borrowed; data may be NULL when len is 0).
 * @param max_depth  the deepest level allowed; above RPC_WIRE_DEPTH_MAX it
 *                   counts as RPC_WIRE_DEPTH_MAX. 0 allows no nested message.
 * @return 0; FLAME_ERANGE (a message nests deeper than max_depth: the walk
 *         stops at the first); FLAME_EINVALID (malformed wire data).
 */
int rpc_wire_depth_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                         size_t max_depth);

#endif
