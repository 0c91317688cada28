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

/** How runner_registry_insert() admits a runner; all zero: no quota, not idempotent. */
struct runner_insert_opts {
    size_t max_total; /* live runners in all, this one included, at most (0: no quota) */
    size_t max_pool;  /* live runners of r->pool at most (0: no quota) */
    /* 1: when r->request_id is set and a runner of the same pool with the same
     * request_id exists that did not fail, insert nothing and answer with it.
     * The key is (pool, request_id): another pool's runner never matches, so
     * a request_id reused across pools makes a new runner and says nothing of
     * the other pool. */
    int idempotent;
};

/** What runner_registry_insert() found. */
struct runner_insert_info {
    size_t live_total, live_pool; /* live runners (in all, in r->pool) at the check, for messages */
    struct runner *existing;      /* idempotent match (FLAME_EEXISTS): a snapshot owned by the
                                   * caller (runner_free()); NULL otherwise */
};

/**
 * Add a runner being booted (its state is set to BOOTING) and publish
 * BOOTING. The id, the idempotency key and the quotas are checked atomically
 * with the insert, so concurrent Boots cannot overshoot a quota or make two
 * runners for one key.
 * @param r     taken on success only; on an error the caller still owns (and frees) it.
 * @param opts  borrowed; NULL: all zero.
 * @param[out] info  may be NULL; set on every return.
 * @return 0; FLAME_EEXISTS (r->id taken, or an idempotent match: info->existing);
 *         FLAME_EEXHAUSTED (a quota is full); FLAME_ENOMEM.
 */
int runner_registry_insert(runner_registry *reg, struct runner *r, const struct runner_insert_opts *opts,
                           struct runner_insert_info *info);

/* ---- lifetime rules: leases, idle shutdown, max lifetime (times: monotonic ms) ---- */

/** A Spawn starts/ends in runner id (for idle shutdown). */
void runner_registry_spawn_begin(runner_registry *reg, const char *id, int64_t now_ms);
void runner_registry_spawn_end(runner_registry *reg, const char *id, int64_t now_ms);

/** Mark RUNNING-time bookkeeping (lease start, lifetime start) for a runner. */
void runner_registry_set_started_at(runner_registry *reg, const char *id, int64_t now_ms);

/**
 * Renew the leases of parent_id's live runners to now + their ttl, in the
 * pools a caller may reach only: pools (borrowed, n_pools entries) is the
 * caller's pool list, NULL for every pool. A parent_id is not a secret, so a
 * caller scoped to pool A neither renews nor counts pool B's runners.
 * @param[out] renewed  how many; @param[out] min_ttl_ms  shortest ttl (0: none). Both may be NULL.
 */
void runner_registry_renew_parent(runner_registry *reg, const char *parent_id,
                                  const char *const *pools, size_t n_pools, int64_t now_ms,
                                  unsigned *renewed, unsigned *min_ttl_ms);

/**
 * A Watch with parent_id opened (+1) or closed (-1) by a caller scoped to
 * pools (borrowed; NULL: every pool; pass the same scope on close): while any
 * is open, the leases of parent_id's runners in those pools hold.
 */
void runner_registry_parent_watch(runner_registry *reg, const char *parent_id,
                                  const char *const *pools, size_t n_pools, int delta,
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
 * no event, it is reported through include_existing).
 * @param r  taken on success only.
 * @return 0; FLAME_EEXISTS (id taken); FLAME_ENOMEM.
 */
int runner_registry_adopt(runner_registry *reg, struct runner *r);

/**
 * Snapshot by runner id (live or a tombstone).
 * @param[out] out  the snapshot, owned by the caller (runner_free()); NULL on an error.
 * @return 0; FLAME_ENOTFOUND (no such runner); FLAME_ENOMEM (no snapshot).
 */
int runner_registry_get(runner_registry *reg, const char *id, struct runner **out);

/**
 * Snapshot by container id: the full id or a prefix of at least 12
 * characters; the newest runner wins when tombstones share a prefix.
 * @param[out] out  as runner_registry_get().
 * @return 0; FLAME_ENOTFOUND (none, or a prefix shorter than 12); FLAME_ENOMEM.
 */
int runner_registry_get_by_container(runner_registry *reg, const char *container_id,
                                     struct runner **out);

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

/*
 * Transitions. Each returns 0 (also when the state does not move: see the
 * top), FLAME_ENOTFOUND for an unknown id, or FLAME_ENOMEM when a string it
 * records could not be copied (set_container, set_running, set_error; the
 * runner is then unchanged). Callers check the result: see
 * runner_registry_checked().
 */

/**
 * Log a failed transition (rc < 0) at WARN as registry_transition_failed, with
 * the transition's name (say "set_removed"), the runner id and the error's
 * name, and return rc unchanged; rc >= 0 is returned silently.
 * Thread-safe.
 */
int runner_registry_checked(int rc, const char *transition, const char *id);

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
/**
 * BOOTING -> FAILED with a reason; publishes FAILED. The state is recorded
 * even when the reason cannot be copied (the runner must not stay BOOTING),
 * so this fails only with FLAME_ENOTFOUND.
 */
int runner_registry_set_failed(runner_registry *reg, const char *id, const char *error);
/** Any -> REMOVED; publishes REMOVED (once). */
int runner_registry_set_removed(runner_registry *reg, const char *id);
/**
 * A BOOTING runner's image pull has come this far: publishes PULLING with the
 * progress (the state does not change). A runner no longer BOOTING gets no
 * event (a pull that outlived its Boot).
 * @return 0; FLAME_ENOTFOUND (no such runner).
 */
int runner_registry_note_pull(runner_registry *reg, const char *id, const struct hub_pull *pull);

/** What a watcher sees; all zero but kick: every runner's events from now on. */
struct runner_watch_opts {
    const char *pool;      /* only this pool's runners ("" or NULL: all); copied */
    const char *runner_id; /* only this runner ("" or NULL: all); copied */
    /* 1: first queue every live matching runner as EXISTING */
    int include_existing;
    /* > 0: first replay the kept events after this sequence (a resume)
     * instead of listing existing runners */
    uint64_t after_sequence;
    /* the caller is limited to these pools (n_pools = 0: all): runners of
     * other pools are neither listed as EXISTING nor streamed; copied */
    const char *const *pools;
    size_t n_pools;
    size_t max_queue; /* queue bound in events (0: 1024) */
    /* called (hub lock held) when the queue goes from empty to non-empty,
     * overflows, or the hub closes: see event_hub_subscribe() */
    void (*kick)(void *ud);
    void *ud;
};

/**
 * Subscribe a watcher, then list existing runners or replay kept events as
 * opts says, atomically with respect to transitions (nothing missed, nothing
 * doubled).
 * @param opts  borrowed for the call.
 * @param[out] out  the watcher; release with event_hub_unsubscribe(); NULL on an error.
 * @return 0; FLAME_ENOMEM; FLAME_ERANGE (after_sequence is older than the
 *         kept history).
 */
int runner_registry_watch(runner_registry *reg, const struct runner_watch_opts *opts,
                          hub_watcher **out);

/* ---- warm runners (service/warm.h, docs/warm.md) ----
 * A warm runner is inserted with runner_registry_insert() with r->hidden and
 * r->warm set: it counts against the quotas like any live runner, but no
 * event is published for it and neither List nor Watch shows it until a
 * Boot reveals it (runner_registry_reveal_warm). runner_registry_list() and
 * the transitions do see it (adoption, the reaper, shutdown). */

/**
 * How many hidden warm runners of `pool` no Boot has claimed: *ready
 * RUNNING (waiting for a Boot), *making BOOTING (being made). Either may be NULL.
 */
void runner_registry_warm_count(runner_registry *reg, const char *pool, size_t *ready, size_t *making);

/**
 * Claim the oldest ready warm runner of `pool` for a Boot: it stays hidden,
 * becomes BOOTING (no event) with the Boot's request_id, and no other Boot
 * can claim it. Atomic with the same idempotency check as an insert.
 * @param request_id  the Boot's ("" or NULL: none); copied.
 * @param[out] info   may be NULL; info->existing as runner_registry_insert().
 * @param[out] out    the claimed runner's snapshot (runner_free()); NULL on an error.
 * @return 0; FLAME_ENOTFOUND (no ready warm runner); FLAME_EEXISTS (an
 *         idempotent match: info->existing); FLAME_ENOMEM.
 */
int runner_registry_claim_warm(runner_registry *reg, const char *pool, const char *request_id,
                               struct runner_insert_info *info, struct runner **out);

/**
 * Make a claimed warm runner the Boot's: its request_id, parent_id, labels,
 * boot_env, keep_runner, lease, lifetimes and created time become meta's (borrowed;
 * copied), it is no longer hidden, Runner.warm is set, and BOOTING is
 * published. Its identity (id, name, container, pool, image) stays.
 * @return 0; FLAME_ENOTFOUND (no such claimed runner); FLAME_ENOMEM.
 */
int runner_registry_reveal_warm(runner_registry *reg, const char *id, const struct runner *meta);

/** Is the state live (tracked in List)? */
int runner_state_is_live(int state);

#endif
