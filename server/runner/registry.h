/*
 * server/runner/registry.h - the one place runner state lives.
 *
 * Every state change goes through a function here, which applies the FLAME
 * lifecycle (BOOTING -> RUNNING -> STOPPING -> EXITED -> REMOVED, or
 * BOOTING -> FAILED [-> REMOVED]) and publishes the matching event to the hub
 * while holding the registry lock, so watchers see changes in the order they
 * happened. Transitions are idempotent: a change that does not move the state
 * forward (say, Docker's `destroy` after Shutdown already marked the runner
 * REMOVED) emits nothing.
 *
 * Removed and failed runners are kept as tombstones (the most recent 4096) so
 * Shutdown stays idempotent and can answer with the final state.
 *
 * Lookups return snapshots (runner_dup copies) owned by the caller.
 * Thread-safety: every function is safe from any thread.
 */
#ifndef FLAMED_REGISTRY_H
#define FLAMED_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "runner/event_hub.h"
#include "runner/runner.h"

typedef struct runner_registry runner_registry;

/** @param hub  borrowed; must outlive the registry. */
int runner_registry_new(runner_registry **out, event_hub *hub);
void runner_registry_free(runner_registry *reg);

/**
 * Add a runner being booted (takes ownership of r; its state is set to
 * BOOTING) and publish BOOTING.
 * @return 0; FLAME_EEXISTS (id taken).
 */
int runner_registry_insert(runner_registry *reg, struct runner *r);

/**
 * runner_registry_insert() within quotas, checked atomically with the insert
 * (so concurrent Boots cannot overshoot). 0 = no quota.
 * @param[out] live_total, live_pool  the counts at the check (for messages); may be NULL.
 * @return 0; FLAME_EEXHAUSTED (r is not taken: the caller frees it); FLAME_EEXISTS.
 */
int runner_registry_insert_within(runner_registry *reg, struct runner *r, size_t max_total,
                                  size_t max_pool, size_t *live_total, size_t *live_pool);

/**
 * Idempotent insert: like runner_registry_insert_within(), but when
 * r->request_id is set and a runner of the same pool with the same request_id
 * exists that did not fail, nothing is inserted and *existing receives its
 * snapshot (owned by the caller). The key is (pool, request_id): another
 * pool's runner never matches, so a request_id reused across pools makes a
 * new runner and says nothing of the other pool. Checked under the lock, so
 * two concurrent Boots with one key make one runner.
 * @return 0 (inserted, *existing NULL); FLAME_EEXISTS (*existing set);
 *         FLAME_EEXHAUSTED (quota; r not taken).
 */
int runner_registry_insert_once(runner_registry *reg, struct runner *r, size_t max_total,
                                size_t max_pool, size_t *live_total, size_t *live_pool,
                                struct runner **existing);

/* ---- lifetime rules: leases, idle shutdown, max lifetime (times: monotonic ms) ---- */

/** A Spawn starts/ends in runner id (for idle shutdown). */
void runner_registry_spawn_begin(runner_registry *reg, const char *id, int64_t now_ms);
void runner_registry_spawn_end(runner_registry *reg, const char *id, int64_t now_ms);

/** Mark RUNNING-time bookkeeping (lease start, lifetime start) for a runner. */
void runner_registry_set_started_at(runner_registry *reg, const char *id, int64_t now_ms);

/**
 * Renew the leases of parent_id's live runners to now + their ttl.
 * @param[out] renewed  how many; @param[out] min_ttl_ms  shortest ttl (0: none). Both may be NULL.
 */
void runner_registry_renew_parent(runner_registry *reg, const char *parent_id, int64_t now_ms,
                                  unsigned *renewed, unsigned *min_ttl_ms);

/** A Watch with parent_id opened (+1) or closed (-1): while any is open the leases hold. */
void runner_registry_parent_watch(runner_registry *reg, const char *parent_id, int delta,
                                  int64_t now_ms);

/** Why a runner is due for shutdown. */
struct runner_due {
    char id[RUNNER_ID_LEN + 1];
    char reason[256];
};

/**
 * Runners that must be shut down now: RUNNING, not already retiring, and
 * whose lease expired (parent not watching), max lifetime passed, or idle for
 * idle_shutdown_after_ms. Each is marked retiring so it is returned once.
 * @param[out] out, n  array owned by the caller (free()).
 */
int runner_registry_take_due(runner_registry *reg, int64_t now_ms, struct runner_due **out,
                             size_t *n);

/** Set a runner's error text (why flamed shut it down). */
int runner_registry_set_error(runner_registry *reg, const char *id, const char *error);

/**
 * Adopt a runner found in Docker (state as given, published as EXISTING-free:
 * no event, it is reported through include_existing). Takes ownership.
 * @return 0; FLAME_EEXISTS.
 */
int runner_registry_adopt(runner_registry *reg, struct runner *r);

/** Snapshot by runner id. @return NULL if unknown (or out of memory). */
struct runner *runner_registry_get(runner_registry *reg, const char *id);

/** Snapshot by container id (full or a prefix of >= 12). NULL if unknown. */
struct runner *runner_registry_get_by_container(runner_registry *reg, const char *container_id);

/**
 * Snapshots of live runners (not REMOVED, not FAILED), oldest first.
 * @param pool  "" or NULL: all.
 * @param[out] out, n  array owned by the caller: runner_list_free().
 */
int runner_registry_list(runner_registry *reg, const char *pool, struct runner ***out, size_t *n);
void runner_list_free(struct runner **rs, size_t n);

/**
 * The live runners (oldest first; one pool's when pool is non-empty, and only
 * those whose pool `allow(ctx, pool)` accepts when allow is set) as protobuf
 * wire bytes of a repeated flame.v1.Runner field number `field_number`: the
 * body of a ListResponse for field 1. Built from each record's cached wire
 * form (runner_pack()), so a List costs a memcpy per runner, not a copy and a
 * pack. `allow` runs under the registry lock: it must not call the registry.
 * @param out  malloc'd bytes, owned by the caller (free()); set on success.
 * @param len  their length in bytes.
 * @return 0 or FLAME_ENOMEM. Thread-safe.
 */
int runner_registry_list_wire(runner_registry *reg, const char *pool, int field_number,
                              int (*allow)(void *ctx, const char *pool), void *ctx, uint8_t **out,
                              size_t *len);

/** Number of live runners (for shutdown accounting and quotas); pool "" = all. */
size_t runner_registry_count(runner_registry *reg, const char *pool);

/* Transitions. Each returns 0, or FLAME_ENOTFOUND for an unknown id. */

/** Record the container id (BOOTING). */
int runner_registry_set_container(runner_registry *reg, const char *id, const char *container_id);
/** BOOTING -> RUNNING with its IP; publishes STARTED. */
int runner_registry_set_running(runner_registry *reg, const char *id, const char *ip_address);
/** RUNNING|BOOTING -> STOPPING; publishes STOPPING. */
int runner_registry_set_stopping(runner_registry *reg, const char *id);
/**
 * The container's main process exited. RUNNING|STOPPING -> EXITED, publishes
 * EXITED. While BOOTING only the exit code is recorded (Boot decides).
 * @param oom_killed  -1: unknown (keep what an `oom` event recorded).
 */
int runner_registry_set_exited(runner_registry *reg, const char *id, int exit_code, int oom_killed);
/** Record an OOM kill (Docker's `oom` event precedes `die`). */
int runner_registry_set_oom(runner_registry *reg, const char *id);
/** BOOTING -> FAILED with a reason; publishes FAILED. */
int runner_registry_set_failed(runner_registry *reg, const char *id, const char *error);
/** Any -> REMOVED; publishes REMOVED (once). */
int runner_registry_set_removed(runner_registry *reg, const char *id);

/**
 * Subscribe a watcher and, when include_existing, queue every live matching
 * runner as EXISTING, atomically with respect to transitions (nothing missed,
 * nothing doubled).
 * @return as event_hub_subscribe().
 */
int runner_registry_watch(runner_registry *reg, const char *pool, const char *runner_id,
                          int include_existing, size_t max_queue, void (*kick)(void *ud), void *ud,
                          hub_watcher **out);

/**
 * runner_registry_watch() for a caller limited to some pools (n_pools = 0:
 * all): runners of other pools are neither listed as EXISTING nor streamed.
 */
int runner_registry_watch_scoped(runner_registry *reg, const char *pool, const char *runner_id,
                                 int include_existing, const char *const *pools, size_t n_pools,
                                 size_t max_queue, void (*kick)(void *ud), void *ud,
                                 hub_watcher **out);

/**
 * runner_registry_watch_scoped() that first replays the kept events after
 * after_sequence (resume) instead of listing existing runners; 0: no replay.
 * @return as above, or FLAME_ERANGE (history too short; *out is NULL).
 */
int runner_registry_watch_resume(runner_registry *reg, const char *pool, const char *runner_id,
                                 int include_existing, uint64_t after_sequence,
                                 const char *const *pools, size_t n_pools, size_t max_queue,
                                 void (*kick)(void *ud), void *ud, hub_watcher **out);

/** Is the state live (tracked in List)? */
int runner_state_is_live(int state);

#endif
