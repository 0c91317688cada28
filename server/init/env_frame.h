/*
 * server/init/env_frame.h - the per-Boot env frame flamed delivers to a warm
 * runner's flamed-init, and its strict, bounded decoder.
 *
 * A warm runner's container is created before its Boot arrives, so its env
 * (fixed at create) cannot hold the per-Boot part (FLAME_PARENT, the parent's
 * extra env). flamed writes this frame to the container's stdin when a Boot
 * takes the runner; flamed-init (server/init/main.c) decodes it, merges it over
 * its own environ and execve()s the real command.
 *
 * Wire format: a sequence of netstrings (D. J. Bernstein, "Netstrings",
 * https://cr.yp.to/proto/netstrings.txt): `<decimal length>:<bytes>,`.
 *   1. the magic `12:flamed-env/1,` (env only) or `12:flamed-env/2,`
 *      (env, then the Boot's metadata)
 *   2. zero or more entries `N:NAME=VALUE,`
 *   3. the end marker `0:,`
 *   4. /2 only: zero or more metadata pairs `N:KEY,M:VALUE,` (two
 *      netstrings), then the end marker `0:,` (a KEY is never empty).
 *      flamed puts there what a cold runner's labels hold and a warm
 *      runner's cannot (docs/warm.md): flamed-init does not read it, only
 *      keeps it, with the env, in a file a restarted flamed reads back.
 * Everything is bounded: a length has at most 7 digits and no leading zero,
 * an entry at most ENV_FRAME_ENTRY_MAX bytes, at most ENV_FRAME_ENTRIES_MAX
 * entries, the whole frame at most ENV_FRAME_BYTES_MAX bytes. NAME is 1 to
 * ENV_FRAME_NAME_MAX bytes of printable ASCII other than '=' (0x21-0x7e); a
 * NAME appears once. VALUE is any bytes but NUL. There is one reading of a
 * frame: anything else is refused, never repaired.
 *
 * This file is shared by flamed-init (a static program with no other
 * dependency: libc only) and, later, by flamed's encoder side and tests.
 * Thread-safety: every function is reentrant (no global state).
 */
#ifndef FLAMED_ENV_FRAME_H
#define FLAMED_ENV_FRAME_H

#include <stddef.h>

#define ENV_FRAME_MAGIC "flamed-env/1"
/* One NAME=VALUE, as execve(2) takes it: MAX_ARG_STRLEN (32 pages) with its NUL. */
#define ENV_FRAME_ENTRY_MAX ((size_t)131071)
/* As many entries as a BootRequest may carry (REQ_ENV_MAX) plus flamed's own. */
#define ENV_FRAME_ENTRIES_MAX ((size_t)1100)
/* A BootRequest's env (REQ_ENV_BYTES_MAX, 1 MiB) plus framing and flamed's own,
 * plus the metadata section (ENV_FRAME_META_MAX pairs of at most
 * ENV_FRAME_META_ENTRY_MAX bytes with their framing: 1,234,200 bytes). */
#define ENV_FRAME_BYTES_MAX ((size_t)(2u << 20) + 256u * 1024u)
#define ENV_FRAME_NAME_MAX ((size_t)255)
/* Metadata pairs: a BootRequest's labels (REQ_LABELS_MAX, 256) plus flamed's own. */
#define ENV_FRAME_META_MAX ((size_t)300)
/* KEY and VALUE of one pair together: a BootRequest label's bound (REQ_LABEL_BYTES_MAX). */
#define ENV_FRAME_META_ENTRY_MAX ((size_t)4096)

/** A decoded frame: n entries "NAME=VALUE", each NUL-terminated, in frame order. */
struct env_frame {
    char **entries; /* n + 1 pointers, entries[n] == NULL; owned */
    size_t n;
    /* /2 frames: n_meta pairs in frame order, each NUL-terminated (owned;
     * NULL and 0 for a /1 frame); has_meta says the frame was /2. */
    char **meta_keys, **meta_values;
    size_t n_meta;
    int has_meta;
};

/**
 * Decode one frame from the start of buf.
 *
 * @param[out] out       on 0: the entries; free with env_frame_free(). Untouched otherwise.
 * @param[out] consumed  on 0: bytes of buf the frame took (buf may hold more).
 * @param buf, len       the bytes received so far (borrowed).
 * @param err, errlen    on -1: why, NUL-terminated (errlen > 0).
 * @return 0 a whole valid frame; 1 a valid prefix: more bytes are needed;
 *         -1 invalid (never becomes valid with more bytes), or out of memory.
 */
int env_frame_decode(struct env_frame *out, size_t *consumed, const char *buf, size_t len,
                     char *err, size_t errlen);

/** Free what env_frame_decode() or env_frame_merge() gave. Accepts NULL and a zeroed frame. */
void env_frame_free(struct env_frame *f);

/**
 * True if name (len bytes, not NUL-terminated) is a NAME the frame accepts.
 * flamed uses it to decide that a Boot's env can be delivered warm (a key it
 * refuses makes the Boot boot cold, where Docker takes it as it is).
 */
int env_frame_name_ok(const char *name, size_t len);

/**
 * The environment the command runs with: base (a NULL-terminated "NAME=VALUE"
 * array, e.g. environ; borrowed) with every NAME the frame delivers replaced in
 * place by the frame's entry, then the frame's new NAMEs in frame order.
 * A base entry without '=' is kept as it is.
 *
 * @param[out] out  owned by the caller (env_frame_free); its strings are copies.
 * @return 0, or -1 out of memory.
 */
int env_frame_merge(struct env_frame *out, char *const *base, const struct env_frame *f);

/**
 * Encode entries (n "NAME=VALUE" strings; borrowed) as one /1 frame.
 *
 * @param[out] out, outlen  the frame (malloc'd, not NUL-terminated; the caller frees).
 * @return 0, or -1 when an entry is invalid or the frame exceeds a bound
 *         (err says which), or out of memory.
 */
int env_frame_encode(char **out, size_t *outlen, const char *const *entries, size_t n, char *err,
                     size_t errlen);

/**
 * Encode entries and n_meta metadata pairs (keys[i], values[i]; borrowed,
 * NUL-terminated) as one /2 frame. Same contract as env_frame_encode(); -1
 * also when a pair breaks a bound the decoder checks (empty or repeated KEY,
 * KEY and VALUE over ENV_FRAME_META_ENTRY_MAX bytes, too many pairs).
 */
int env_frame_encode_meta(char **out, size_t *outlen, const char *const *entries, size_t n,
                          const char *const *keys, const char *const *values, size_t n_meta,
                          char *err, size_t errlen);

/** The value of metadata KEY in a decoded /2 frame (borrowed from f), or NULL. */
const char *env_frame_meta(const struct env_frame *f, const char *key);

#endif
