/*
 * server/service/warm_record.h - a taken warm runner's boot record: the
 * per-Boot metadata a cold runner keeps in its labels, which a warm runner's
 * container (made before its Boot) cannot have, kept in the container instead
 * so that a restarted flamed adopts the runner with it (docs/warm.md).
 *
 * The Boot that takes a warm runner delivers one /2 env frame
 * (server/init/env_frame.h): its env entries, then metadata pairs, which are
 * exactly the labels runner_for() gives a cold runner of that Boot except the
 * create-time ones (identity: managed-by, instance, runner-id, pool, network,
 * warm) and flamed.labels (the user labels are the pairs whose key does not
 * start with "flamed."). flamed-init writes the frame as received to
 * WARM_RECORD_PATH on a small tmpfs flamed adds to every warm runner
 * (WARM_RUN_TARGET), before the command runs. Adoption reads it back with an
 * exec of `flamed-init --print-record` (warm_record_read), checks it as a
 * Boot's fields are checked, and lays it over the container's create-time
 * labels (warm_record_labels): those keep the identity, so a record rewritten
 * by the runner's own code cannot move it to another pool or instance.
 *
 * Only the engine interface is used (engine/engine.h).
 * Thread-safety: every function is reentrant.
 */
#ifndef FLAMED_WARM_RECORD_H
#define FLAMED_WARM_RECORD_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "init/env_frame.h"

struct engine;
struct runner;

/* Where flamed mounts flamed-init in a warm runner (a read-only bind). */
#define WARM_INIT_TARGET "/.flamed/init"

/* The tmpfs flamed adds to every warm runner, after the policy checked the
 * spec's Mounts (like flamed-init's bind). Mode 1777 (sticky, as /tmp): the
 * container's user, whoever it is, writes its record there; others cannot
 * replace it. 4 MiB holds the largest frame (ENV_FRAME_BYTES_MAX) and its
 * temporary copy is renamed over, never beside, it. */
#define WARM_RUN_TARGET "/.flamed/run"
#define WARM_RECORD_PATH WARM_RUN_TARGET "/boot"
#define WARM_RUN_TMPFS_BYTES (4 * 1024 * 1024)
#define WARM_RUN_TMPFS_MODE 01777

/* Adoption's exec that prints the record: bounded to this long (ms). */
#define WARM_RECORD_READ_MS 5000

/**
 * The frame a Boot delivers to the warm runner it takes: env entries, then
 * the metadata pairs from meta's labels (see above).
 *
 * @param[out] frame, len  malloc'd (free()); untouched on error.
 * @param entries  the env entries to deliver, "K=V", NULL-terminated (borrowed; may be NULL).
 * @param meta     the Boot's runner record (runner_for; borrowed).
 * @return 0; FLAME_EINVALID when a bound of the frame is broken (err says
 *         which: the Boot then boots cold); FLAME_ENOMEM.
 */
int warm_record_frame(char **frame, size_t *len, char *const *entries, const struct runner *meta,
                      char *err, size_t errlen);

/**
 * Read a running warm runner's record: an exec of
 * `WARM_INIT_TARGET --print-record WARM_RECORD_PATH` as the container's user,
 * its stdout kept up to ENV_FRAME_BYTES_MAX bytes, within WARM_RECORD_READ_MS
 * (and eng's own bounds), then decoded strictly: exit code 0, one /2 frame
 * and nothing after it.
 *
 * @param eng           the engine (borrowed).
 * @param container_id  the container (borrowed).
 * @param[out] out      on 0: the decoded frame (env_frame_free()).
 * @return 0; FLAME_ENOTFOUND (no record: the exec exited 2, e.g. a delivery
 *         cut short); FLAME_EINVALID (a record that does not decode, too
 *         long, or the exec failed otherwise); an engine code (the exec
 *         could not run). err says why.
 * Follows: Docker Engine API v1.41 ExecCreate, ExecStart, ExecInspect.
 */
int warm_record_read(struct engine *eng, const char *container_id, struct env_frame *out, char *err,
                     size_t errlen);

/**
 * The labels a restarted flamed adopts a taken warm runner with: a copy of
 * the container's labels (its create-time ones) with the record's pairs laid
 * over them and flamed.labels made from the record's user label keys.
 * Checked as a Boot's fields are (request.c): request_id and parent_id as
 * request_key_validate; lease_ttl_ms (>= 100, needs a parent_id),
 * max_lifetime_ms, idle_shutdown_after_ms and created-unix-nano decimal with
 * no sign or junk; keep "true" or "false"; at most REQ_LABELS_MAX user
 * labels, each valid UTF-8, key and value at most REQ_LABEL_BYTES_MAX bytes;
 * any other "flamed." key (the identity above, or an unknown one) refused.
 * The env entries are checked as a Boot's env (valid UTF-8, at most
 * REQ_ENV_MAX).
 *
 * @param f       a decoded record (borrowed).
 * @param labels  the container's labels, an object of strings (borrowed).
 * @param[out] out  on 0: the merged labels (cJSON_Delete()).
 * @return 0; FLAME_EINVALID (err names the field); FLAME_ENOMEM.
 */
int warm_record_labels(const struct env_frame *f, const cJSON *labels, cJSON **out, char *err,
                       size_t errlen);

/**
 * Is key one of the per-Boot flamed.* labels (keep, created time,
 * request_id, parent_id, lease and lifetimes) a record may carry?
 */
int warm_record_is_boot_key(const char *key);

/**
 * One per-Boot flamed.* label checked as a Boot's field is (the record's
 * checks, above): adoption holds every container's per-Boot labels to it,
 * since Docker merges the image's labels into the container's and an image
 * can supply any label its Boot left unset.
 *
 * @param err  may be NULL.
 * @return 0; FLAME_EINVALID (not a per-Boot key, or a value a Boot could not
 *         have given).
 */
int warm_record_check_label(const char *key, const char *value, char *err, size_t errlen);

#endif
