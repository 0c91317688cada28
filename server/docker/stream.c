/*
 * server/docker/stream.c - pure parsers for Docker's byte streams: the
 * multiplexed stdout/stderr frames of attach/exec/logs, and the
 * newline-delimited JSON of events and image pulls.
 */
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

#define DOCKER__LINE_MAX_DEFAULT ((size_t)1024 * 1024)

/* ================================================================ demux */

void docker_demux_init(struct docker_demux *d)
{
    memset(d, 0, sizeof *d);
}

/*
 * State: remaining > 0 means inside a payload; otherwise the next bytes are
 * (part of) a header. Zero-length frames are legal and produce no output.
 */
int docker_demux_feed(struct docker_demux *d, const char *data, size_t len,
                      int (*out)(void *ud, int stream, const char *p, size_t n), void *ud)
{
    const unsigned char *h;
    size_t take;
    int rc;

    while (len > 0) {
        if (d->remaining == 0) {
            take = sizeof d->hdr - d->hdr_have;
            if (take > len)
                take = len;
            memcpy(d->hdr + d->hdr_have, data, take);
            d->hdr_have += take;
            data += take;
            len -= take;
            if (d->hdr_have < sizeof d->hdr)
                return 0;
            h = d->hdr;
            if (h[0] > 2 || h[1] != 0 || h[2] != 0 || h[3] != 0)
                return FLAME_EINVALID;
            d->stream = h[0];
            d->remaining = ((uint32_t)h[4] << 24) | ((uint32_t)h[5] << 16) | ((uint32_t)h[6] << 8) |
                           (uint32_t)h[7];
            d->hdr_have = 0;
            continue;
        }
        take = d->remaining < len ? d->remaining : len;
        d->remaining -= (uint32_t)take;
        rc = out(ud, d->stream, data, take);
        data += take;
        len -= take;
        if (rc)
            return rc;
    }
    return 0;
}

/* ================================================================ lines */

void docker_lines_init(struct docker_lines *l, size_t max_line)
{
    memset(l, 0, sizeof *l);
    l->max = max_line ? max_line : DOCKER__LINE_MAX_DEFAULT;
}

void docker_lines_free(struct docker_lines *l)
{
    if (!l)
        return;
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}

/* Append to the pending line, keeping room for the NUL. */
static int docker__lines_append(struct docker_lines *l, const char *p, size_t n)
{
    size_t cap;
    char *b;

    if (n > l->max || l->len > l->max - n) {
        l->len = 0; /* drop the over-long line */
        return FLAME_EINVALID;
    }
    if (l->len + n + 1 > l->cap) {
        cap = l->cap ? l->cap : 256;
        while (cap < l->len + n + 1)
            cap *= 2;
        b = realloc(l->buf, cap);
        if (!b)
            return FLAME_ENOMEM;
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    l->buf[l->len] = '\0';
    return 0;
}

int docker_lines_feed(struct docker_lines *l, const char *data, size_t len,
                      int (*line)(void *ud, char *s, size_t n), void *ud)
{
    const char *nl;
    size_t seg, n;
    int rc;

    while (len > 0) {
        nl = memchr(data, '\n', len);
        seg = nl ? (size_t)(nl - data) : len;
        if ((rc = docker__lines_append(l, data, seg)) < 0)
            return rc;
        if (!nl)
            return 0;
        data += seg + 1;
        len -= seg + 1;
        n = l->len;
        l->len = 0;
        if ((rc = line(ud, l->buf, n)) != 0)
            return rc;
    }
    return 0;
}
