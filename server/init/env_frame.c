/*
 * server/init/env_frame.c - the per-Boot env frame (see env_frame.h).
 *
 * libc only: flamed-init links this into a static binary.
 */
#include "env_frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN_DIGITS_MAX 7 /* 9,999,999 > ENV_FRAME_BYTES_MAX */

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int env_frame_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > ENV_FRAME_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e || c == '=')
            return 0;
    }
    return 1;
}

/*
 * Read one netstring at buf[*pos]. Returns 0 with *data and *dlen set and *pos
 * past the ',', 1 when buf ends inside it, -1 when it cannot be a netstring.
 */
static int netstring(const char *buf, size_t len, size_t *pos, const char **data, size_t *dlen,
                     size_t max, char *err, size_t errlen)
{
    size_t p = *pos, n = 0, digits = 0;
    while (p < len && buf[p] >= '0' && buf[p] <= '9') {
        if (digits == 1 && buf[*pos] == '0')
            return bad(err, errlen, "length at byte %zu has a leading zero", *pos);
        if (++digits > LEN_DIGITS_MAX)
            return bad(err, errlen, "length at byte %zu has more than %d digits", *pos,
                       LEN_DIGITS_MAX);
        n = n * 10 + (size_t)(buf[p] - '0');
        p++;
    }
    if (p == len)
        return 1;
    if (digits == 0 || buf[p] != ':')
        return bad(err, errlen, "byte %zu: expected a netstring length and ':'", p);
    if (n > max)
        return bad(err, errlen, "netstring at byte %zu is %zu bytes, at most %zu are allowed",
                   *pos, n, max);
    p++;
    if (len - p < n + 1)
        return 1;
    if (buf[p + n] != ',')
        return bad(err, errlen, "netstring at byte %zu does not end with ','", *pos);
    *data = buf + p;
    *dlen = n;
    *pos = p + n + 1;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void env_frame_free(struct env_frame *f)
{
    if (!f)
        return;
    strv_free(f->entries, f->n);
    strv_free(f->meta_keys, f->n_meta);
    strv_free(f->meta_values, f->n_meta);
    f->entries = f->meta_keys = f->meta_values = NULL;
    f->n = f->n_meta = 0;
    f->has_meta = 0;
}

const char *env_frame_meta(const struct env_frame *f, const char *key)
{
    for (size_t i = 0; f && i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

/* Length of the NAME of "NAME=VALUE" (or of the whole string without '='). */
static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* The next netstring of a frame, with the frame's own bound: as netstring(),
 * and -1 once the frame runs past ENV_FRAME_BYTES_MAX (len is capped at one
 * byte past it by the caller). */
static int frame_next(const char *buf, size_t len, size_t *pos, const char **data, size_t *dlen,
                      size_t max, char *err, size_t errlen)
{
    int rc = netstring(buf, len, pos, data, dlen, max, err, errlen);
    if ((rc == 1 && len > ENV_FRAME_BYTES_MAX) || (rc == 0 && *pos > ENV_FRAME_BYTES_MAX))
        return bad(err, errlen, "frame exceeds %zu bytes", ENV_FRAME_BYTES_MAX);
    return rc;
}

/* Copy d[0..dl) as a NUL-terminated string into *out. -1: out of memory. */
static int copy_out(char **out, const char *d, size_t dl)
{
    if (!(*out = malloc(dl + 1)))
        return -1;
    memcpy(*out, d, dl);
    (*out)[dl] = '\0';
    return 0;
}

/* Copy the validated metadata section at buf[pos] (n pairs) into f,
 * refusing a KEY given twice. */
static int copy_meta(struct env_frame *f, const char *buf, size_t len, size_t pos, size_t n,
                     char *err, size_t errlen)
{
    const char *d;
    size_t dl;
    f->has_meta = 1;
    if (!(f->meta_keys = calloc(n + 1, sizeof(char *))) ||
        !(f->meta_values = calloc(n + 1, sizeof(char *))))
        return bad(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (netstring(buf, len, &pos, &d, &dl, ENV_FRAME_META_ENTRY_MAX, err, errlen) != 0 ||
            copy_out(&f->meta_keys[i], d, dl) < 0)
            return bad(err, errlen, "out of memory");
        f->n_meta = i + 1; /* the value's slot is NULL until copied: free() takes it */
        if (netstring(buf, len, &pos, &d, &dl, ENV_FRAME_META_ENTRY_MAX, err, errlen) != 0 ||
            copy_out(&f->meta_values[i], d, dl) < 0)
            return bad(err, errlen, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->meta_keys[j], f->meta_keys[i]) == 0)
                return bad(err, errlen, "the metadata key '%.64s' is given twice", f->meta_keys[i]);
    }
    return 0;
}

/* Validate the metadata section from *pos: 1 more bytes needed, -1 invalid,
 * 0 with *pos past its end marker and *count pairs. */
static int check_meta(const char *buf, size_t len, size_t *pos, size_t *count, char *err,
                      size_t errlen)
{
    const char *d;
    size_t dl, n = 0;
    for (;;) {
        size_t at = *pos;
        int rc = frame_next(buf, len, pos, &d, &dl, ENV_FRAME_META_ENTRY_MAX, err, errlen);
        if (rc != 0)
            return rc;
        if (dl == 0)
            break;
        if (++n > ENV_FRAME_META_MAX)
            return bad(err, errlen, "more than %zu metadata pairs", ENV_FRAME_META_MAX);
        if (memchr(d, '\0', dl))
            return bad(err, errlen, "metadata key at byte %zu holds a NUL byte", at);
        size_t kl = dl;
        at = *pos;
        rc = frame_next(buf, len, pos, &d, &dl, ENV_FRAME_META_ENTRY_MAX - kl, err, errlen);
        if (rc != 0)
            return rc;
        if (memchr(d, '\0', dl))
            return bad(err, errlen, "metadata value at byte %zu holds a NUL byte", at);
    }
    *count = n;
    return 0;
}

/*
 * The frame is validated in full before anything is allocated, so a frame
 * that fails never costs more than the bytes already read.
 */
int env_frame_decode(struct env_frame *out, size_t *consumed, const char *buf, size_t len,
                     char *err, size_t errlen)
{
    size_t pos = 0, n = 0, n_meta = 0;
    const char *d;
    size_t dl;
    int rc, v2;

    if (len > ENV_FRAME_BYTES_MAX)
        len = ENV_FRAME_BYTES_MAX + 1; /* enough to see that a frame is too long */
    rc = frame_next(buf, len, &pos, &d, &dl, sizeof(ENV_FRAME_MAGIC) - 1, err, errlen);
    if (rc != 0)
        return rc;
    if (dl != sizeof(ENV_FRAME_MAGIC) - 1 || memcmp(d, ENV_FRAME_MAGIC, dl - 1) != 0 ||
        (d[dl - 1] != '1' && d[dl - 1] != '2'))
        return bad(err, errlen, "the frame does not start with '%.*s1' or '%.*s2'",
                   (int)sizeof(ENV_FRAME_MAGIC) - 2, ENV_FRAME_MAGIC,
                   (int)sizeof(ENV_FRAME_MAGIC) - 2, ENV_FRAME_MAGIC);
    v2 = d[dl - 1] == '2';
    size_t first = pos;
    for (;;) {
        size_t at = pos;
        rc = frame_next(buf, len, &pos, &d, &dl, ENV_FRAME_ENTRY_MAX, err, errlen);
        if (rc != 0)
            return rc;
        if (dl == 0)
            break;
        if (++n > ENV_FRAME_ENTRIES_MAX)
            return bad(err, errlen, "more than %zu entries", ENV_FRAME_ENTRIES_MAX);
        if (memchr(d, '\0', dl))
            return bad(err, errlen, "entry at byte %zu holds a NUL byte", at);
        const char *eq = memchr(d, '=', dl);
        if (!eq)
            return bad(err, errlen, "entry at byte %zu is not NAME=VALUE", at);
        if (!env_frame_name_ok(d, (size_t)(eq - d)))
            return bad(err, errlen,
                       "entry at byte %zu: the name must be 1-%zu printable ASCII bytes "
                       "other than '='",
                       at, ENV_FRAME_NAME_MAX);
    }
    size_t meta_first = pos;
    if (v2 && (rc = check_meta(buf, len, &pos, &n_meta, err, errlen)) != 0)
        return rc;
    size_t end = pos;

    /* Valid framing: now copy, refusing a repeated NAME or KEY. */
    struct env_frame f = {.entries = calloc(n + 1, sizeof(char *))};
    if (!f.entries)
        return bad(err, errlen, "out of memory");
    pos = first;
    for (size_t i = 0; i < n; i++) {
        rc = netstring(buf, len, &pos, &d, &dl, ENV_FRAME_ENTRY_MAX, err, errlen);
        if (rc != 0 || copy_out(&f.entries[i], d, dl) < 0) {
            env_frame_free(&f);
            return bad(err, errlen, "out of memory");
        }
        f.n = i + 1;
        size_t nl = name_len(f.entries[i]);
        for (size_t j = 0; j < i; j++)
            if (name_len(f.entries[j]) == nl && memcmp(f.entries[j], f.entries[i], nl) == 0) {
                int w = (int)(nl > 64 ? 64 : nl);
                bad(err, errlen, "the name '%.*s' is delivered twice", w, f.entries[i]);
                env_frame_free(&f);
                return -1;
            }
    }
    if (v2 && copy_meta(&f, buf, len, meta_first, n_meta, err, errlen) < 0) {
        env_frame_free(&f);
        return -1;
    }
    *out = f;
    *consumed = end;
    return 0;
}

int env_frame_merge(struct env_frame *out, char *const *base, const struct env_frame *f)
{
    size_t nb = 0;
    while (base && base[nb])
        nb++;
    struct env_frame m = {.entries = calloc(nb + f->n + 1, sizeof(char *))};
    char *used = calloc(f->n + 1, 1);
    if (!m.entries || !used)
        goto nomem;
    for (size_t i = 0; i < nb; i++) {
        const char *src = base[i];
        if (strchr(base[i], '=')) {
            size_t nl = name_len(base[i]);
            for (size_t j = 0; j < f->n; j++)
                if (name_len(f->entries[j]) == nl && memcmp(f->entries[j], base[i], nl) == 0) {
                    src = used[j] ? NULL : f->entries[j]; /* a name twice in base: keep one */
                    used[j] = 1;
                    break;
                }
        }
        if (!src)
            continue;
        if (!(m.entries[m.n] = strdup(src)))
            goto nomem;
        m.n++;
    }
    for (size_t j = 0; j < f->n; j++) {
        if (used[j])
            continue;
        if (!(m.entries[m.n] = strdup(f->entries[j])))
            goto nomem;
        m.n++;
    }
    free(used);
    *out = m;
    return 0;
nomem:
    free(used);
    env_frame_free(&m);
    free(m.entries);
    return -1;
}

/* Append netstring d[0..l) at buf[*pos] (room is the caller's). */
static void put_netstring(char *buf, size_t total, size_t *pos, const char *d, size_t l)
{
    *pos += (size_t)snprintf(buf + *pos, total - *pos, "%zu:", l);
    memcpy(buf + *pos, d, l);
    *pos += l;
    buf[(*pos)++] = ',';
}

/* The checks the decoder makes of the metadata section; bytes it takes. */
static int meta_ok(const char *const *keys, const char *const *values, size_t n, size_t *bytes,
                   char *err, size_t errlen)
{
    if (n > ENV_FRAME_META_MAX)
        return bad(err, errlen, "more than %zu metadata pairs", ENV_FRAME_META_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]), vl = strlen(values[i]);
        if (kl == 0 || kl + vl > ENV_FRAME_META_ENTRY_MAX)
            return bad(err, errlen, "metadata pair %zu: the key must be 1 byte or more and key "
                                    "and value at most %zu bytes together", i,
                       ENV_FRAME_META_ENTRY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[j], keys[i]) == 0)
                return bad(err, errlen, "metadata key '%.64s' is given twice", keys[i]);
        *bytes += kl + vl + 2 * (LEN_DIGITS_MAX + 2);
    }
    return 0;
}

static int encode(char **out, size_t *outlen, const char *const *entries, size_t n,
                  const char *const *keys, const char *const *values, size_t n_meta, int v2,
                  char *err, size_t errlen)
{
    size_t total = sizeof("12:" ENV_FRAME_MAGIC ",") - 1 + 3 + (v2 ? 3 : 0);
    if (n > ENV_FRAME_ENTRIES_MAX)
        return bad(err, errlen, "more than %zu entries", ENV_FRAME_ENTRIES_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(entries[i]);
        const char *eq = strchr(entries[i], '=');
        if (!eq || !env_frame_name_ok(entries[i], (size_t)(eq - entries[i])))
            return bad(err, errlen, "entry %zu is not NAME=VALUE with a valid name", i);
        if (l > ENV_FRAME_ENTRY_MAX)
            return bad(err, errlen, "entry %zu is %zu bytes, at most %zu are allowed", i, l,
                       ENV_FRAME_ENTRY_MAX);
        total += l + LEN_DIGITS_MAX + 2;
    }
    if (v2 && meta_ok(keys, values, n_meta, &total, err, errlen) < 0)
        return -1;
    char *buf = malloc(total);
    if (!buf)
        return bad(err, errlen, "out of memory");
    size_t pos = 0;
    char magic[] = ENV_FRAME_MAGIC;
    magic[sizeof(magic) - 2] = v2 ? '2' : '1';
    put_netstring(buf, total, &pos, magic, sizeof(magic) - 1);
    for (size_t i = 0; i < n; i++)
        put_netstring(buf, total, &pos, entries[i], strlen(entries[i]));
    memcpy(buf + pos, "0:,", 3);
    pos += 3;
    for (size_t i = 0; v2 && i < n_meta; i++) {
        put_netstring(buf, total, &pos, keys[i], strlen(keys[i]));
        put_netstring(buf, total, &pos, values[i], strlen(values[i]));
    }
    if (v2) {
        memcpy(buf + pos, "0:,", 3);
        pos += 3;
    }
    if (pos > ENV_FRAME_BYTES_MAX) {
        free(buf);
        return bad(err, errlen, "frame is %zu bytes, at most %zu are allowed", pos,
                   ENV_FRAME_BYTES_MAX);
    }
    *out = buf;
    *outlen = pos;
    return 0;
}

int env_frame_encode(char **out, size_t *outlen, const char *const *entries, size_t n, char *err,
                     size_t errlen)
{
    return encode(out, outlen, entries, n, NULL, NULL, 0, 0, err, errlen);
}

int env_frame_encode_meta(char **out, size_t *outlen, const char *const *entries, size_t n,
                          const char *const *keys, const char *const *values, size_t n_meta,
                          char *err, size_t errlen)
{
    return encode(out, outlen, entries, n, keys, values, n_meta, 1, err, errlen);
}
