/*
 * server/common/wire.h - the protobuf wire form of a length-delimited field's
 * header (its key and its length as a varint), for messages flamed assembles
 * from bytes it already holds (List from cached runners, Spawn output) instead
 * of packing them with protobuf-c. Follows the Protocol Buffers encoding
 * guide (protobuf.dev/programming-guides/encoding: varints, wire type 2).
 * Thread-safety: pure functions.
 */
#ifndef FLAMED_WIRE_H
#define FLAMED_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes wire_put_len_header() writes (a field number < 16: one key
 * byte; a length < 2^35: up to 5 varint bytes). */
#define WIRE_LEN_HEADER_MAX 6

/**
 * Bytes of the header of field `field` (1..15) holding `len` bytes.
 */
static inline size_t wire_len_header_size(uint32_t field, size_t len)
{
    (void)field;
    size_t n = 2;
    for (uint64_t v = len; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/**
 * Write the header of field `field` (1..15, wire type 2) holding `len` bytes
 * at p (room for WIRE_LEN_HEADER_MAX bytes). @return the bytes written.
 */
static inline size_t wire_put_len_header(uint8_t *p, uint32_t field, size_t len)
{
    size_t n = 0;
    p[n++] = (uint8_t)((field << 3) | 2);
    uint64_t v = len;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

#endif
