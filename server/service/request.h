/*
 * server/service/request.h - request validation and the conversions between
 * protobuf messages and Docker JSON. Pure: no I/O, no gRPC calls; unit-tested.
 *
 * Every function returns 0 or FLAME_EINVALID with a message naming the field
 * and what to do, written to err (NUL-terminated, truncated to errlen).
 */
#ifndef FLAMED_REQUEST_H
#define FLAMED_REQUEST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "flame/v1/runner_service.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* Limits on what a request may carry. */
#define REQ_IMAGE_MAX 255
#define REQ_NETWORK_MAX 128
#define REQ_POOL_MAX 63
#define REQ_ENV_MAX 1024            /* entries */
#define REQ_ENV_BYTES_MAX (1 << 20) /* all keys and values */
#define REQ_ARGV_MAX 4096           /* entries */
#define REQ_ARGV_BYTES_MAX (1 << 20)
#define REQ_LABELS_MAX 256
#define REQ_LABEL_BYTES_MAX 4096
#define REQ_MOUNTS_MAX 64
#define REQ_BOOT_TIMEOUT_MAX_MS (30u * 60u * 1000u)
#define REQ_DEFAULT_POOL "default"

/**
 * Validate a BootRequest and read host_config and mounts the one canonical way
 * (boot_config.h): image (Docker's reference grammar), network, pool, env
 * (keys: no '=', not empty, not repeated; UTF-8; sizes), cmd/entrypoint
 * (UTF-8; sizes), labels (no "flamed." keys, not repeated), boot_timeout_ms
 * range, pull_policy, user and working_dir.
 * @param[out] host_config  the canonical HostConfig (NULL when not set); owned by the caller.
 * @param[out] mounts       the canonical Mounts array (NULL when none); owned by the caller.
 * @return 0, FLAME_EINVALID (err names the field or key), FLAME_ENOMEM.
 */
int request_boot_validate(const Flame__V1__BootRequest *req, cJSON **host_config, cJSON **mounts,
                          char *err, size_t errlen);

/** Validate a SpawnRequest: runner_id, argv (required; sizes), env, working_dir. */
int request_spawn_validate(const Flame__V1__SpawnRequest *req, char *err, size_t errlen);

/** Validate a runner id: 1..64 bytes of [A-Za-z0-9_-]. `field` names it in the message. */
int request_runner_id_validate(const char *id, const char *field, char *err, size_t errlen);

/** Validate an optional key (request_id, parent_id): at most max bytes of [A-Za-z0-9_.:@/-]. */
int request_key_validate(const char *key, const char *field, size_t max, char *err, size_t errlen);

/** Validate a pool filter ("" allowed). */
int request_pool_validate(const char *pool, char *err, size_t errlen);

/**
 * The container name for a runner: "flame-<pool slug>-<first 12 of id>", a
 * valid DNS label (lowercase [a-z0-9-], at most 63 bytes) so it can be the
 * hostname and DNS alias, and a BEAM node's host part.
 */
void request_runner_name(const char *pool, const char *runner_id, char *out, size_t outlen);

/**
 * Environment for the container as "K=V" strings: the request's env, plus
 * PHX_SERVER=false unless the request sets PHX_SERVER. Values (FLAME_PARENT
 * included) are passed byte-for-byte.
 * @param[out] out  NULL-terminated array owned by the caller: request_strv_free().
 */
int request_boot_env(const Flame__V1__BootRequest *req, char ***out);

/** "K=V" strings from a proto string map (SpawnRequest.env). */
int request_env_strv(Flame__V1__SpawnRequest__EnvEntry **env, size_t n, char ***out);

/** Free a NULL-terminated string array. Accepts NULL. */
void request_strv_free(char **v);

#endif
