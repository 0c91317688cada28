/*
 * server/service/adopt.h - adoption and the registry's sync with Docker
 * (adopt.c): the sync state, the resync pass the reaper runs, the gate that
 * makes calls wait until the registry matches Docker, and the record of an
 * exit learned from Docker.
 */
#ifndef FLAMED_ADOPT_H
#define FLAMED_ADOPT_H

#include <stddef.h>

#include "runner/runner.h"
#include "service/call.h"

struct service;

enum service_sync {
    SERVICE_SYNC_ADOPTING = 0, /* the registry does not match Docker yet: calls wait */
    SERVICE_SYNC_READY = 1,    /* adopted/resynced and following Docker's events */
    SERVICE_SYNC_AWAY = 2,     /* Docker does not answer: calls needing it fail at once */
};

/** Init and destroy the sync state (sync_mu, sync_cv); from service start and stop. */
void service_sync_init(struct service *svc);
void service_sync_destroy(struct service *svc);

/**
 * The events follower's news: the stream opened (open = 1: ADOPTING until the
 * resync it queues is done), or was lost (open = 0: ADOPTING when Docker still
 * answers /_ping, else AWAY with `error`, copied). Wakes waiting calls and
 * updates health. Thread-safe.
 */
void service_sync_stream(struct service *svc, int open, int docker_up, const char *error);

/**
 * The health thread's news: whether Docker answered /_ping. flamed serves iff
 * ping_ok and READY (told to the serving_fn of service_health_start).
 * Thread-safe.
 */
void service_sync_set_health(struct service *svc, int ping_ok);

/** 1 while flamed serves (as last told to serving_fn), else 0; -1 before
 *  service_health_start. Thread-safe. */
int service_serving(struct service *svc);

/** The current enum service_sync. Thread-safe. */
int service_sync_state(struct service *svc);

/** 1 while Docker is away (SERVICE_SYNC_AWAY). Thread-safe. */
int service_docker_away(struct service *svc);

/**
 * One resync of the registry with Docker: a filtered container list; adopts
 * untracked containers (inspecting only where the entry lacks something, on
 * up to 8 threads), records exits and removals of tracked runners. Blocking
 * (run it on the reaper thread). Does not change the sync state.
 * @return 0; a Docker error (FLAME_EUNAVAILABLE, ...) with detail in err.
 * Follows: Docker Engine API ContainerList, ContainerInspect.
 */
int service_resync(struct service *svc, char *err, size_t errlen);

/**
 * The resync the events stream's opening queued: on success, and if that
 * stream is still the open one, the state becomes READY (waiting calls go on,
 * health may turn SERVING); on failure it is queued again in 500 ms.
 */
void service_resync_for_stream(struct service *svc);

/**
 * Run a handler of a call that needs the registry once it matches Docker:
 * READY: handler(call) now; AWAY: UNAVAILABLE / DOCKER_UNAVAILABLE now, unless
 * need_docker is 0 and the registry was synced once (then handler(call));
 * ADOPTING: `waiter` (which calls service_gate_wait with the same handler) runs
 * on a worker thread. Call from the method's handler on a CQ thread.
 */
void service_gate(svc_call *call, void (*handler)(svc_call *call), void (*waiter)(svc_call *call),
                  int need_docker);

/**
 * Wait (on a worker thread) until the registry is READY, then run handler.
 * Answers instead: UNAVAILABLE / ADOPTING when the call's deadline is about
 * to pass first (a tenth of it, 5-100 ms, before it), UNAVAILABLE /
 * DOCKER_UNAVAILABLE when Docker goes away, CANCELLED when the client leaves,
 * UNAVAILABLE / SHUTTING_DOWN when flamed stops.
 */
void service_gate_wait(svc_call *call, void (*handler)(svc_call *call), int need_docker);

/**
 * The runner exited on its own (or we learned so late): record the exit
 * (EXITED; oom: 1 OOM-killed, 0 not, -1 unknown) and, when it was RUNNING
 * and is not kept, queue its removal on the reaper (BOOTING: Boot owns the
 * cleanup; STOPPING: Shutdown does). `before` is the snapshot taken before
 * the exit (borrowed). Thread-safe; does not block on Docker.
 */
void service_runner_exited(struct service *svc, const struct runner *before, int exit_code, int oom);

#endif
