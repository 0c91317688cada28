/*
 * server/runner/event_hub.h - fans runner events out to Watch streams.
 *
 * Each event is packed once (a flame.v1.WatchResponse) and shared, refcounted,
 * by every watcher whose filter matches. Each watcher has a bounded queue: a
 * watcher that falls behind is marked overflowed (its stream is then ended
 * with RESOURCE_EXHAUSTED after what it already has), so a slow watcher never
 * blocks publishers or other watchers.
 *
 * Sequence numbers come from one counter per hub, strictly increasing, taken
 * under the hub lock, so every watcher sees events in sequence order.
 *
 * Lock order: registry lock -> hub lock -> (the watcher's kick callback's own
 * locks) -> watcher queue lock. The kick callback runs with the hub lock held:
 * it must not call back into the hub except event_hub_pop().
 *
 * Thread-safety: every function is safe from any thread.
 */
#ifndef FLAMED_EVENT_HUB_H
#define FLAMED_EVENT_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "runner/runner.h"

typedef struct event_hub event_hub;
typedef struct hub_watcher hub_watcher;

/** One packed event, shared by watchers. Read-only after publish. */
typedef struct hub_event {
    int refs;           /* atomic */
    uint64_t sequence;
    int type;           /* FLAME__V1__RUNNER_EVENT_TYPE__* */
    uint8_t *data;      /* packed flame.v1.WatchResponse */
    size_t len;
    char *pool;         /* the runner's, for filtering replays */
    char *runner_id;
} hub_event;

/* Published events kept for Watch resume (after_sequence). */
#define HUB_HISTORY 4096

/** Release a reference taken by event_hub_pop(). Accepts NULL. */
void hub_event_unref(hub_event *ev);

/**
 * Sequences start at the hub's creation time in Unix microseconds, so they
 * also increase across flamed restarts (a resume from before a restart is
 * then reliably "too old").
 * @param[out] out  free with event_hub_free(). @return 0 or FLAME_ENOMEM.
 */
int event_hub_new(event_hub **out);

/** Free the hub. All watchers must be unsubscribed. Accepts NULL. */
void event_hub_free(event_hub *hub);

/**
 * Publish an event about runner r (a snapshot; read during the call only) to
 * every matching watcher. Assigns the next sequence number.
 * @return the sequence number, or 0 on allocation failure (event dropped and
 *         logged; watchers are marked overflowed so they re-sync).
 */
uint64_t event_hub_publish(event_hub *hub, int type, const struct runner *r);

/** A Boot's image pull progress, as a PULLING event carries it (flame.v1.PullProgress). */
struct hub_pull {
    const char *image;     /* borrowed for the call */
    uint64_t bytes_done;   /* bytes downloaded */
    uint64_t bytes_total;  /* the layers' sizes as far as known */
    uint32_t layers, layers_done;
};

/**
 * Publish a PULLING event about runner r with the pull's progress in
 * WatchResponse.pull; otherwise as event_hub_publish().
 * @return the sequence number, or 0 on allocation failure.
 */
uint64_t event_hub_publish_pull(event_hub *hub, const struct runner *r, const struct hub_pull *pull);

/** Pop results. */
enum hub_pop {
    HUB_POP_EVENT = 0,    /* *out holds an event (unref it when sent) */
    HUB_POP_EMPTY = 1,    /* nothing queued; kick() will be called on the next event */
    HUB_POP_OVERFLOW = 2, /* queue overflowed and is drained: end the stream */
    HUB_POP_CLOSED = 3,   /* the hub is closing (flamed shutting down) */
};

/**
 * Subscribe. `kick(ud)` is called (hub lock held) when the watcher's queue
 * goes from empty to non-empty, overflows, or the hub closes.
 * @param pool, runner_id  filters ("" or NULL: all); copied.
 * @param max_queue        queue bound in events (0: 1024).
 * @param[out] out         the watcher; release with event_hub_unsubscribe().
 * @return 0 or FLAME_ENOMEM.
 */
int event_hub_subscribe(event_hub *hub, const char *pool, const char *runner_id, size_t max_queue,
                        void (*kick)(void *ud), void *ud, hub_watcher **out);

/**
 * Queue an EXISTING event for runner r to this watcher only (include_existing).
 * Takes a sequence number from the hub's counter. Call right after subscribe,
 * with the registry lock held, so no event is missed or doubled.
 * @return 0, or FLAME_ENOMEM.
 */
int event_hub_push_existing(event_hub *hub, hub_watcher *w, const struct runner *r);

/**
 * Restrict a watcher to runners of these pools (a caller's tenancy), on top
 * of its filter. Call before any event can reach it (under the registry lock,
 * as runner_registry_watch_scoped() does). pools copied; n = 0 lifts nothing.
 * @return 0 or FLAME_ENOMEM.
 */
int event_hub_restrict(hub_watcher *w, const char *const *pools, size_t n);

/**
 * Queue the kept events with sequence > after_sequence that match the
 * watcher (resume). Call right after subscribe, under the registry lock.
 * @return 0; FLAME_ERANGE when the history no longer reaches back that far,
 *         or the sequence is not one of this process (client must re-list).
 */
int event_hub_replay(event_hub *hub, hub_watcher *w, uint64_t after_sequence);

/**
 * Grow a watcher's queue by `extra` events (what include_existing or a replay
 * owes it comes on top of the live bound). @return 0 or FLAME_ENOMEM.
 */
int event_hub_reserve(hub_watcher *w, size_t extra);

/** Does the watcher's filter match runner r? */
int event_hub_matches(const hub_watcher *w, const struct runner *r);

/**
 * Take the next event for a watcher.
 * @param[out] out  set for HUB_POP_EVENT; owned by the caller (hub_event_unref()).
 * @param[out] last_sequence  sequence of the last event popped (for messages); may be NULL.
 */
enum hub_pop event_hub_pop(hub_watcher *w, hub_event **out, uint64_t *last_sequence);

/** Remove and free a watcher (drops queued events). No kick runs after it returns. */
void event_hub_unsubscribe(event_hub *hub, hub_watcher *w);

/** Close: every watcher is kicked and then pops HUB_POP_CLOSED. */
void event_hub_close(event_hub *hub);

/** Number of current watchers. */
size_t event_hub_watchers(event_hub *hub);

#endif
