/*
 * server/service/service.h - flame.v1.RunnerService: one file per RPC
 * (boot.c, spawn.c, shutdown.c, watch.c, list.c), plus the Docker event
 * follower and reaper (events.c) that keep runner state true when runners
 * exit on their own.
 *
 * The service layer knows no transport: each RPC is a plain function of a
 * call (service/call.h) that validates the request, changes runner state
 * through the registry, and calls the Docker client. A transport serves the
 * table service_methods (main.c wires the gRPC one to it).
 */
#ifndef FLAMED_SERVICE_H
#define FLAMED_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "docker/docker.h"
#include "service/call.h"
#include "runner/event_hub.h"
#include "runner/registry.h"
#include "service/policy.h"

struct service_config {
    /* Which flamed this is: its runners carry flamed.instance=<instance>, and only
     * those are adopted and followed, so several flamed can share one dockerd.
     * Must stay the same across restarts (default: the first --listen address). */
    const char *instance;
    const struct policy *policy;          /* borrowed; NULL: the built-in policy */
    unsigned default_boot_timeout_ms;     /* 0: 30000 */
    unsigned default_stop_timeout_ms;     /* 0: 10000 */
    size_t watch_queue_max;               /* events per watcher; 0: 1024 */
    unsigned boot_settle_ms;              /* Boot re-checks a running container after this (ms) */
};

struct reaper; /* events.c */

/** The service's state, shared by every call (borrowed by handlers). */
struct service {
    struct service_config cfg;
    const struct policy *policy;  /* cfg.policy or builtin_policy */
    struct policy *builtin_policy;
    docker_client *docker;
    event_hub *hub;
    runner_registry *reg;
    atomic_int stopping;
    pthread_t events_thread;
    int events_started;
    atomic_int adopt_pending; /* an adopt pass is queued on the reaper */
    /* The registry's sync with Docker (adopt.c); under sync_mu unless atomic. */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;   /* broadcast on each sync_state change */
    int sync_state;           /* enum service_sync */
    int synced_once;          /* the registry has matched Docker at least once */
    unsigned stream_gen;      /* openings of the events stream */
    int stream_open;
    int ping_ok;              /* the health thread's last GET /_ping answered */
    char docker_error[256];   /* why Docker is away */
    int64_t adopt_started_ms; /* service_now_ms() when this sync began */
    atomic_int adopt_total, adopt_done; /* containers this resync adopts / has adopted */
    char instance_label[512]; /* "flamed.instance=<instance>" */
    struct reaper *reaper;
    /* Where health goes (service_health_start); under sync_mu. */
    void (*serving_fn)(void *ud, int serving);
    void *serving_ud;
    int serving;              /* the last value told: ping_ok and READY */
    pthread_t janitor_thread;
    int janitor_started;
    pthread_t health_thread;
    int health_started;
};

/** flame.v1.RunnerService's RPCs (methods.c), for a transport to serve. */
extern const struct svc_method service_methods[];
extern const size_t service_n_methods;

/**
 * Create the service: hub, registry, reaper, and the Docker event follower
 * thread (which adopts flamed's existing containers and then follows
 * /events). `docker` is borrowed and must outlive the service.
 * @return 0 or FLAME_ENOMEM.
 */
int service_start(struct service **out, docker_client *docker, const struct service_config *cfg);

/**
 * Start the Docker health monitor. serving_fn(ud, serving) is told each
 * change of whether flamed serves (1 while Docker answers /_ping and the
 * registry matches Docker; 0 at first), from the monitor's or the reaper's
 * thread, under the service's sync lock: it must not call back into the
 * service. `ud` is borrowed and must outlive the service.
 * @return 0 or FLAME_ENOMEM.
 */
int service_health_start(struct service *svc, void (*serving_fn)(void *ud, int serving), void *ud);

/** 1 while flamed serves (as last told to serving_fn), else 0; -1 before
 *  service_health_start. Thread-safe. */
int service_serving(struct service *svc);

/** End every Watch stream (flamed is shutting down). Call before the transport stops. */
void service_close_watches(struct service *svc);

/** Stop the event follower and reaper and free everything. Accepts NULL. */
void service_stop(struct service *svc);

/* ---- shared by the RPC files (service-internal) ---- */

/** The RPC handlers (run on CQ threads). */
void service_boot(svc_call *call);
void service_spawn(svc_call *call);
void service_shutdown(svc_call *call);
void service_watch(svc_call *call);
void service_list(svc_call *call);

/** May the call's caller use `pool`? (tokens scoped to pools; others: yes) */
int service_caller_allows(const svc_call *call, const char *pool);
/** The caller's pools, comma-separated, for messages ("" when unscoped). */
void service_caller_pools(const svc_call *call, char *out, size_t outlen);
/** Log an audit line: rpc, caller (never a secret), and the given key=value pairs. */
void service_audit(const svc_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Stop a runner (grace in ms), record its exit, remove its container unless
 * kept; the registry transitions publish STOPPING, EXITED, REMOVED. Blocking:
 * call from a worker or the janitor. @return 0 or the Docker error (err set).
 */
int service_stop_runner(struct service *svc, const struct runner *r, unsigned grace_ms, char *err,
                        size_t errlen);

/** The Renew RPC handler. */
void service_renew(svc_call *call);

/** Start the janitor thread (leases, max lifetime, idle shutdown). @return 0 or FLAME_ENOMEM. */
int service_janitor_start(struct service *svc);

/* ---- adoption and the sync with Docker (adopt.c) ---- */

enum service_sync {
    SERVICE_SYNC_ADOPTING = 0, /* the registry does not match Docker yet: calls wait */
    SERVICE_SYNC_READY = 1,    /* adopted/resynced and following Docker's events */
    SERVICE_SYNC_AWAY = 2,     /* Docker does not answer: calls needing it fail at once */
};

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

/** The runner exited on its own (or we learned so late): record it, reap it (events.c). */
void service_runner_exited(struct service *svc, const struct runner *before, int exit_code, int oom);

/** Ask the reaper to remove a runner's container (it exited on its own). */
void service_reap(struct service *svc, const char *runner_id);

/**
 * Build a flame.v1.Runner response field from a snapshot: the proto borrows
 * r's strings; release with runner_proto_release().
 */

/** Monotonic clock (CLOCK_MONOTONIC) in ms; thread-safe. */
int64_t service_now_ms(void);

/** The same clock in µs (Spawn's gather window); thread-safe. */
int64_t service_now_us(void);

#endif
