/*
 * runner_wire.c - a ListResponse decoded from its wire bytes straight into
 * flame_runner views, without protobuf-c.
 *
 * After the arena (arena.c), protobuf-c's generic unpack was still ~85% of a
 * List's client instructions: per Runner it scans ~25 members into a slab,
 * then unpacks each of the ~7 label entries as a message of its own (init,
 * scan, parse), and flame__runner_view() then walks the result again. Here
 * one pass per Runner counts its labels, a second copies each string once
 * into the arena, NUL-terminated, where the flame_runner points at it.
 *
 * Semantics are protobuf-c 1.4's for these messages: a scalar given twice
 * keeps the last value; every map entry is kept, in wire order (protobuf-c
 * keeps duplicates too); unknown fields are skipped; a known field with the
 * wrong wire type, a truncated field or a group is malformed. Keeping this
 * in step with proto/flame/v1/runner_service.proto is checked by
 * tests/unit/client/wire.c, which fills every field of Runner through its
 * descriptor and compares with protobuf-c + flame__runner_view().
 * Follows: protobuf encoding (protobuf.dev/programming-guides/encoding).
 */
#include <string.h>

#include "internal.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct rd {
    const uint8_t *p, *end;
};

static int rd_varint_slow(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;

        if (r->p >= r->end)
            return -1;
        b = *r->p++;
        if (shift == 63 && b > 1)
            return -1; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Keys and lengths of this message are nearly all one byte. */
static inline int rd_varint(struct rd *r, uint64_t *out)
{
    if (r->p < r->end && *r->p < 0x80) {
        *out = *r->p++;
        return 0;
    }
    return rd_varint_slow(r, out);
}

/* The next field's number and wire type; -1 when malformed. */
static inline int rd_key(struct rd *r, uint32_t *num, unsigned *wt)
{
    uint64_t key;

    *num = 0;
    *wt = 0;
    if (rd_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    *num = (uint32_t)(key >> 3);
    *wt = (unsigned)(key & 7);
    return 0;
}

/* A length-delimited value: [*q, *q + *n). */
static inline int rd_len(struct rd *r, const uint8_t **q, size_t *n)
{
    uint64_t len;

    *q = NULL;
    *n = 0;
    if (rd_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
        return -1;
    *q = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

static inline int rd_skip(struct rd *r, unsigned wt)
{
    const uint8_t *q;
    uint64_t v;
    size_t n;

    switch (wt) {
    case WT_VARINT:
        return rd_varint(r, &v);
    case WT_I64:
        n = 8;
        break;
    case WT_I32:
        n = 4;
        break;
    case WT_LEN:
        return rd_len(r, &q, &n);
    default:
        return -1; /* groups (3, 4) are not in proto3; 6, 7 do not exist */
    }
    if ((size_t)(r->end - r->p) < n)
        return -1;
    r->p += n;
    return 0;
}

/* An arena copy of a wire string, NUL-terminated; "" shares `empty`. */
static char *wire_str(flame__arena *a, const uint8_t *q, size_t n, char *empty)
{
    char *s;

    if (n == 0)
        return empty;
    if (!(s = flame__arena_alloc(a, n + 1)))
        return NULL;
    memcpy(s, q, n);
    s[n] = '\0';
    return s;
}

/* One Runner.LabelsEntry into keys[i], values[i]. */
static int decode_label(flame__arena *a, const uint8_t *q, size_t n, char *empty, char **key,
                        char **value)
{
    struct rd r = {q, q + n};
    const uint8_t *s;
    size_t sn;
    uint32_t num;
    unsigned wt;

    *key = *value = empty;
    while (r.p < r.end) {
        if (rd_key(&r, &num, &wt) < 0)
            return FLAME_ERROR;
        if (num == 1 || num == 2) {
            if (wt != WT_LEN || rd_len(&r, &s, &sn) < 0)
                return FLAME_ERROR;
            if (!(*(num == 1 ? key : value) = wire_str(a, s, sn, empty)))
                return FLAME_ENOMEM;
        } else if (rd_skip(&r, wt) < 0) {
            return FLAME_ERROR;
        }
    }
    return 0;
}

/* The char * member of flame_runner for a string field of Runner, or NULL. */
static char **string_field(flame_runner *fr, uint32_t num)
{
    switch (num) {
    case 1: return &fr->id;
    case 2: return &fr->container_id;
    case 3: return &fr->name;
    case 4: return &fr->pool;
    case 5: return &fr->image;
    case 6: return &fr->network;
    case 7: return &fr->ip_address;
    case 14: return &fr->error;
    case 15: return &fr->request_id;
    case 16: return &fr->parent_id;
    default: return NULL;
    }
}

/* One Runner's bytes into a flame_runner allocated from `a`. */
static int decode_runner(flame__arena *a, const uint8_t *q, size_t n, char *empty,
                         flame_runner **out)
{
    struct rd r = {q, q + n};
    flame_runner *fr;
    const uint8_t *s;
    size_t sn, labels = 0, li = 0;
    uint64_t v;
    uint32_t num;
    unsigned wt;
    char **str;
    int err;

    /* first pass: how many labels (and the message is well-formed) */
    while (r.p < r.end) {
        if (rd_key(&r, &num, &wt) < 0)
            return FLAME_ERROR;
        if (num == 9 && wt == WT_LEN)
            labels++;
        if (rd_skip(&r, wt) < 0)
            return FLAME_ERROR;
    }
    if (!(fr = flame__arena_alloc(a, sizeof(*fr))))
        return FLAME_ENOMEM;
    memset(fr, 0, sizeof(*fr));
    fr->internal = a;
    fr->id = fr->container_id = fr->name = fr->pool = fr->image = fr->network = empty;
    fr->ip_address = fr->error = fr->request_id = fr->parent_id = empty;
    if (labels) {
        if (!(fr->label_keys = flame__arena_alloc(a, 2 * labels * sizeof(char *))))
            return FLAME_ENOMEM;
        fr->label_values = fr->label_keys + labels;
    }
    r.p = q;
    while (r.p < r.end) {
        rd_key(&r, &num, &wt); /* checked by the first pass */
        if ((str = string_field(fr, num)) != NULL || num == 9) {
            if (wt != WT_LEN)
                return FLAME_ERROR;
            rd_len(&r, &s, &sn);
            if (str) {
                if (!(*str = wire_str(a, s, sn, empty)))
                    return FLAME_ENOMEM;
            } else {
                if ((err = decode_label(a, s, sn, empty, &fr->label_keys[li],
                                        &fr->label_values[li])) < 0)
                    return err;
                li++;
            }
            continue;
        }
        if (num < 8 || num > 18) {
            rd_skip(&r, wt); /* unknown: a newer flamed's field */
            continue;
        }
        if (wt != WT_VARINT)
            return FLAME_ERROR; /* 8, 10-13, 17, 18 are varints */
        rd_varint(&r, &v);
        switch (num) {
        case 8: fr->state = (int)(int32_t)v; break;
        case 10: fr->exit_code = (int)(int32_t)v; break;
        case 11: fr->oom_killed = v != 0; break;
        case 12: fr->keep_runner = v != 0; break;
        case 13: fr->created_unix_nano = (int64_t)v; break;
        case 17: fr->lease_ttl_ms = (uint32_t)v; break;
        case 18: fr->warm = v != 0; break;
        }
    }
    fr->n_labels = labels;
    *out = fr;
    return 0;
}

int flame__list_decode(const uint8_t *p, size_t len, flame_runner ***out, size_t *n)
{
    struct rd r = {p, p + len};
    flame__arena *a = NULL;
    flame_runner **rs;
    const uint8_t *q;
    size_t qn, count = 0, i = 0;
    uint32_t num;
    unsigned wt;
    char *empty;
    int err = 0;

    *out = NULL;
    *n = 0;
    while (r.p < r.end) {
        if (rd_key(&r, &num, &wt) < 0)
            return FLAME_ERROR;
        if (num == 1 && wt != WT_LEN)
            return FLAME_ERROR;
        if (num == 1)
            count++;
        if (rd_skip(&r, wt) < 0)
            return FLAME_ERROR;
    }
    if (count == 0)
        return 0;
    /* strings take their wire bytes plus a NUL and alignment; the views a
     * flame_runner and two pointers per label (at least 5 wire bytes each) */
    if ((err = flame__arena_new(2 * len + count * sizeof(flame_runner) + 4096, &a)) < 0)
        return err;
    if (!(empty = flame__arena_alloc(a, 1)) || !(rs = flame__runner_list_new(a, count))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    *empty = '\0';
    r.p = p;
    while (r.p < r.end) {
        rd_key(&r, &num, &wt);
        if (num != 1) {
            rd_skip(&r, wt);
            continue;
        }
        rd_len(&r, &q, &qn);
        if ((err = decode_runner(a, q, qn, empty, &rs[i])) < 0)
            goto done;
        i++;
    }
    /* the array holds the arena's first reference; one more per runner */
    flame__arena_ref(a, count);
    *out = rs;
    *n = count;
    a = NULL;
done:
    flame__arena_unref(a, 1);
    return err;
}
