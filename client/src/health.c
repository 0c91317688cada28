/*
 * health.c - grpc.health.v1.Health/Check for libflame.
 *
 * The two messages are one field each, so they are encoded here by hand
 * (protobuf wire format) rather than linking generated code for them:
 *   HealthCheckRequest  { string service = 1; }        -> 0x0a LEN bytes
 *   HealthCheckResponse { ServingStatus status = 1; }  <- 0x08 VARINT
 * Follows: grpc/doc/health-checking.md; protobuf encoding (developers.google.com/protocol-buffers/docs/encoding).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HEALTH_CHECK "/grpc.health.v1.Health/Check"
#define HEALTH_SERVICE_MAX 1024

/* Read a base-128 varint at *p (< end). @return 0, or -1 when truncated/too long. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* The status field of a HealthCheckResponse; unknown fields are skipped. */
static int parse_response(const uint8_t *p, size_t len, int *status)
{
    const uint8_t *end = p + len;
    uint64_t key, v;
    *status = FLAME_HEALTH_UNKNOWN;
    while (p < end) {
        if (varint(&p, end, &key) < 0)
            return -1;
        switch (key & 7) {
        case 0: /* varint */
            if (varint(&p, end, &v) < 0)
                return -1;
            if ((key >> 3) == 1)
                *status = v <= 3 ? (int)v : FLAME_HEALTH_UNKNOWN;
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 2: /* length-delimited */
            if (varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                return -1;
            p += v;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

int flame_client_health(flame_client *c, const char *service, int *status, flame_status *st)
{
    uint8_t req[HEALTH_SERVICE_MAX + 8], *resp = NULL;
    size_t n = 0, len = service ? strlen(service) : 0, resp_len = 0;
    int err;

    if (status)
        *status = FLAME_HEALTH_UNKNOWN;
    if (!c || !status) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_health: client and status are required");
        return FLAME_EINVALID;
    }
    if (len > HEALTH_SERVICE_MAX) {
        flame__status_local(st, FLAME_EINVALID, "service name longer than %d bytes",
                            HEALTH_SERVICE_MAX);
        return FLAME_EINVALID;
    }
    if (len) {
        req[n++] = 0x0a; /* field 1, length-delimited */
        for (size_t v = len; ; v >>= 7) {
            req[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f)
                break;
        }
        memcpy(req + n, service, len);
        n += len;
    }
    if ((err = flame__call_unary_bytes(c, HEALTH_CHECK, c->timeout_ms, req, n, &resp, &resp_len,
                                       st)) < 0)
        goto done;
    if (parse_response(resp, resp_len, status) < 0) {
        err = FLAME_ERROR;
        flame__status_local(st, err, "%s: the server sent a malformed HealthCheckResponse",
                            HEALTH_CHECK);
    }
done:
    free(resp);
    return err;
}

const char *flame_health_status_name(int status)
{
    switch (status) {
    case FLAME_HEALTH_SERVING: return "SERVING";
    case FLAME_HEALTH_NOT_SERVING: return "NOT_SERVING";
    case FLAME_HEALTH_SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return "UNKNOWN";
    }
}
