/*
 * server/service/warm.h - warm runners: the pool manager (issue 17,
 * docs/warm.md). With `flamed --pools FILE`, flamed keeps each pool's `warm`
 * runners made and started ahead of any Boot, under flamed-init, which waits
 * for the per-Boot env on the container's stdin. A Boot into the pool whose
 * request matches the pool's spec takes one (boot.c): its env frame is
 * delivered (engine_ops.stdin_deliver) and it answers at once.
 *
 * A warm runner is a registry record with hidden set (registry.h): it counts
 * against the policy's quotas, nobody hears of it (no event, not in List or
 * Watch, not found by Spawn/Shutdown/Logs) until a Boot takes it; adoption,
 * the reaper and flamed's shutdown see it. The manager is one thread that
 * refills the pools in the background, one runner at a time, never beyond the
 * quotas, and removes every untaken warm runner when flamed stops.
 *
 * Only the engine interface is used (engine/engine.h). Without --pools no
 * manager exists and nothing here runs.
 */
#ifndef FLAMED_WARM_H
#define FLAMED_WARM_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "flame/v1/runner_service.pb-c.h"

struct service;
struct warm_pools;
struct warm_pool;

/* WARM_INIT_TARGET (where flamed mounts flamed-init in a warm runner) and
 * the record's tmpfs are in warm_record.h. */
#include "service/warm_record.h"

typedef struct warm_manager warm_manager;

/**
 * Start the pool manager's thread. It waits until the registry is in sync
 * with the engine (adoption done), then makes warm runners.
 *
 * @param[out] out   the manager; stop and free with warm_stop().
 * @param svc        the service (borrowed; outlives the manager).
 * @param pools      the parsed pool file (borrowed; outlives the manager).
 * @param init_path  absolute path of flamed-init on the engine's host
 *                   (copied); bind-mounted read-only at WARM_INIT_TARGET.
 * @return 0; FLAME_ENOMEM (also when the thread cannot start).
 * Thread-safety: call once, from the thread that starts the service.
 */
int warm_start(warm_manager **out, struct service *svc, const struct warm_pools *pools,
               const char *init_path);

/**
 * Stop the manager: its thread ends (a runner being made is abandoned and
 * removed), then every untaken warm runner is removed from the engine (each
 * bounded to 10 s) and marked REMOVED. Taken ones are left to the service,
 * like any runner. Accepts NULL. Not concurrently with other calls on wm.
 */
void warm_stop(warm_manager *wm);

/** A warm runner of some pool was taken or lost: look at the pools now. Thread-safe. */
void warm_kick(warm_manager *wm);

/**
 * A Boot took a warm runner of `pool` (borrowed, a pool name; NULL or unknown:
 * only a kick): the pool's next runner is made no sooner than its
 * `refill_delay_ms` from now, so that the taken runner's own start does not
 * share the machine with Docker making the next one; then as warm_kick().
 * Accepts a NULL wm. Thread-safe.
 */
void warm_taken(warm_manager *wm, const char *pool);

/**
 * Can this Boot take a warm runner? It can when its pool has a spec with
 * warm > 0 and its canonical request equals the spec: image, network, cmd,
 * the canonical host_config and mounts (as boot_config.c and the policy made
 * them; compared with cJSON_Compare), every env entry of the spec present
 * with the same value, no entrypoint, user or working_dir, a pull_policy
 * other than ALWAYS, and every env key one flamed-init takes
 * (env_frame_name_ok). The env frame then holds the Boot's env entries the
 * spec lacks (FLAME_PARENT, the parent's extra env), in request order.
 *
 * @param req          the Boot's request (borrowed).
 * @param host_config, mounts  its canonical forms after the policy (borrowed; may be NULL).
 * @param[out] frame, frame_len  on 1: the env frame (/1, env only; malloc'd; free()).
 *                   Both NULL: only checked (Boot sends a /2 frame with the
 *                   Boot's metadata: warm_record_frame()).
 * @param[out] entries  on 1: the frame's entries, "K=V", NULL-terminated
 *                      (request_strv_free()); NULL otherwise. May be NULL.
 * @param why, whylen  on 0: why not (for the log).
 * @return 1 (it matches), 0 (boot cold), FLAME_ENOMEM.
 * Thread-safety: any thread; reads only the immutable pools.
 */
int warm_match(const warm_manager *wm, const Flame__V1__BootRequest *req, const cJSON *host_config,
               const cJSON *mounts, char **frame, size_t *frame_len, char ***entries, char *why,
               size_t whylen);

#endif
