/*
 * fuzz_demux - the exec/logs stream demultiplexer docker_demux_feed()
 * (server/docker/stream.c): Docker's [type,0,0,0,len BE32] frames fed in
 * random pieces. Whatever the chunking, the payload bytes per stream and the
 * result must equal feeding the whole input at once; every piece is
 * non-empty and within the input.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "docker/docker.h"
#include "flame/error.h"
#include "fuzz_common.h"

struct sink {
    uint64_t hash[3];
    size_t bytes[3];
    const char *lo, *hi;
};

static int out(void *ud, int stream, const char *p, size_t n)
{
    struct sink *s = ud;
    assert(n > 0);
    assert(stream >= 0 && stream <= 2);
    assert(p >= s->lo && p + n <= s->hi);
    for (size_t i = 0; i < n; i++)
        s->hash[stream] = s->hash[stream] * 1099511628211ull ^ (unsigned char)p[i];
    s->bytes[stream] += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t seed;
    memcpy(&seed, data, 4);
    data += 4;
    size -= 4;
    const char *d = (const char *)data;

    struct docker_demux a, b;
    struct sink sa = {{0}, {0}, d, d + size}, sb = {{0}, {0}, d, d + size};
    docker_demux_init(&a);
    docker_demux_init(&b);
    struct fuzz_chunker ch;
    fuzz_chunker_init(&ch, seed);
    int rca = 0;
    size_t off = 0;
    while (off < size && rca == 0) {
        size_t n = fuzz_chunker_next(&ch, size - off);
        rca = docker_demux_feed(&a, d + off, n, out, &sa);
        off += n;
    }
    int rcb = size ? docker_demux_feed(&b, d, size, out, &sb) : 0;
    assert(rca == 0 || rca == FLAME_EINVALID);
    assert(rca == rcb);
    if (rca == 0) {
        for (int i = 0; i < 3; i++) {
            assert(sa.bytes[i] == sb.bytes[i]);
            assert(sa.hash[i] == sb.hash[i]);
        }
        assert(a.remaining == b.remaining && a.hdr_have == b.hdr_have);
    }
    return 0;
}
