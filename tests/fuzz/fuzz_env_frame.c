/*
 * fuzz_env_frame - the per-Boot env frame decoder env_frame_decode()
 * (server/init/env_frame.c), which flamed-init runs on what arrives on a warm
 * runner's stdin. Properties: every prefix of an input that decodes whole
 * asks for more (1) and never fails; a decoded frame (/1, or /2 with its
 * metadata pairs) re-encodes to exactly the
 * bytes it was read from; merging it over a small environ keeps every
 * delivered entry; a prefix of an invalid input is invalid or incomplete,
 * never a different whole frame.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "init/env_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    int rc = env_frame_decode(&f, &used, buf, size, err, sizeof err);
    assert(rc == 0 || rc == 1 || rc == -1);
    if (rc != 0) {
        assert(f.entries == NULL);
        return 0;
    }
    assert(used <= size && used <= ENV_FRAME_BYTES_MAX);
    assert(f.entries[f.n] == NULL);

    /* The one reading: encoding the entries gives back the very bytes. */
    char *enc = NULL;
    size_t enclen = 0;
    int erc = f.has_meta
                  ? env_frame_encode_meta(&enc, &enclen, (const char *const *)f.entries, f.n,
                                          (const char *const *)f.meta_keys,
                                          (const char *const *)f.meta_values, f.n_meta, err,
                                          sizeof err)
                  : env_frame_encode(&enc, &enclen, (const char *const *)f.entries, f.n, err,
                                     sizeof err);
    assert(erc == 0);
    assert(enclen == used && memcmp(enc, buf, used) == 0);
    free(enc);

    /* Every proper prefix is incomplete, never a frame or an error. */
    size_t step = used > 64 ? used / 64 : 1;
    for (size_t n = 0; n < used; n += step) {
        struct env_frame g = {0};
        size_t u = 0;
        assert(env_frame_decode(&g, &u, buf, n, err, sizeof err) == 1);
    }

    char *base[] = {"PATH=/bin", "HOME=/", NULL};
    struct env_frame m = {0};
    if (env_frame_merge(&m, base, &f) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            size_t j = 0;
            while (j < m.n && strcmp(m.entries[j], f.entries[i]) != 0)
                j++;
            assert(j < m.n);
        }
        env_frame_free(&m);
    }
    env_frame_free(&f);
    return 0;
}
