/* The depth of a request, read from its wire bytes; see wire_depth.h. */
#include "rpc/wire_depth.h"

#include "flame/error.h"

/* Field numbers are 29 bits (protobuf language guide). */
#define FIELD_NUMBER_MAX 536870911u

size_t rpc_wire_depth_clamp(size_t max_depth)
{
    if (max_depth == 0)
        return RPC_WIRE_DEPTH_DEFAULT;
    if (max_depth < RPC_WIRE_DEPTH_MIN)
        return RPC_WIRE_DEPTH_MIN;
    if (max_depth > RPC_WIRE_DEPTH_MAX)
        return RPC_WIRE_DEPTH_MAX;
    return max_depth;
}

/*
 * Read a varint of at most max_bytes that ends before `end`, advancing *pos.
 * Bits past 64 are dropped (only 10-byte scalar varints can have them, and
 * their value is never used here). Returns 0, or -1 when it does not end in time.
 */
static int read_varint(const uint8_t *data, size_t end, size_t *pos, unsigned max_bytes,
                       uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes && *pos < end; i++) {
        uint8_t b = data[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* One message being walked: its type and where its bytes end. */
struct frame {
    const ProtobufCMessageDescriptor *desc;
    size_t end;
};

/*
 * Every field of every message in one pass over the bytes: a message-typed
 * field pushes a frame (its bytes are the next ones read), reaching a frame's
 * end pops it. Nothing recurses, and the stack never holds more than
 * max_depth + 1 frames: the frame that would be one too many is refused
 * instead of pushed.
 */
int rpc_wire_depth_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                         size_t max_depth)
{
    struct frame stack[RPC_WIRE_DEPTH_MAX + 1];
    size_t top = 0, pos = 0;
    if (max_depth > RPC_WIRE_DEPTH_MAX)
        max_depth = RPC_WIRE_DEPTH_MAX;
    if (!data && len)
        return FLAME_EINVALID;
    stack[0] = (struct frame){desc, len};
    for (;;) {
        while (pos == stack[top].end) {
            if (top == 0)
                return 0;
            top--;
        }
        /* Each field below stays within its message, so pos < end here. */
        size_t end = stack[top].end;
        uint64_t key, n;
        /* protobuf-c reads at most 5 bytes of tag and 5 of length, into 32 bits:
         * refusing anything longer or larger keeps its reading and this one the same. */
        if (read_varint(data, end, &pos, 5, &key) < 0)
            return FLAME_EINVALID;
        uint64_t number = key >> 3;
        unsigned wire_type = (unsigned)(key & 7);
        if (number == 0 || number > FIELD_NUMBER_MAX)
            return FLAME_EINVALID;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(stack[top].desc, (unsigned)number);
        int is_message = f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor;
        if (is_message && wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
            return FLAME_EINVALID;
        switch (wire_type) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (read_varint(data, end, &pos, 10, &n) < 0)
                return FLAME_EINVALID;
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            if (end - pos < 8)
                return FLAME_EINVALID;
            pos += 8;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            if (end - pos < 4)
                return FLAME_EINVALID;
            pos += 4;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            if (read_varint(data, end, &pos, 5, &n) < 0 || n > UINT32_MAX || n > end - pos)
                return FLAME_EINVALID;
            if (!is_message) {
                pos += (size_t)n;
                break;
            }
            if (top == max_depth)
                return FLAME_ERANGE;
            top++;
            stack[top] = (struct frame){f->descriptor, pos + (size_t)n};
            break;
        default: /* 3 and 4: groups (protobuf-c has none); 6, 7: not wire types */
            return FLAME_EINVALID;
        }
    }
}
