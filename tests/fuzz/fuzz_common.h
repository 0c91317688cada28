/*
 * tests/fuzz/fuzz_common.h - helpers shared by flamed's libFuzzer targets.
 *
 * A "chunker" splits the input into a stream's pieces from a seed the target
 * takes from the input's first bytes, so the fuzzer explores both the content
 * and how it arrives (frames and lines that span reads).
 */
#ifndef FLTEST_FUZZ_COMMON_H
#define FLTEST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_chunker {
    uint32_t state;
};

static inline void fuzz_chunker_init(struct fuzz_chunker *c, uint32_t seed)
{
    c->state = seed ? seed : 0x9e3779b9u;
}

/* The next piece's length: 1..max (xorshift32; small pieces favoured). */
static inline size_t fuzz_chunker_next(struct fuzz_chunker *c, size_t left)
{
    uint32_t x = c->state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->state = x;
    size_t n;
    switch (x & 3) {
    case 0: n = 1; break;
    case 1: n = 1 + (x >> 8) % 8; break;
    case 2: n = 1 + (x >> 8) % 64; break;
    default: n = 1 + (x >> 8) % 4096; break;
    }
    return n < left ? n : left;
}

#endif
