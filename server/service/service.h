/*
 * server/service/service.h - flame.v1.RunnerService: the service's shared
 * state (struct service), its method table and the RPC handlers (one file per
 * RPC: boot.c, spawn.c, shutdown.c, watch.c, list.c).
 *
 * The service layer knows no transport: each RPC is a plain function of a
 * call (service/call.h) that validates the request, changes runner state
 * through the registry, and calls the Docker client. A transport serves the
 * table service_methods (main.c wires the gRPC one to it).
 *
 * Each other file of the service declares what it provides in its own header,
 * so the includes show who depends on whom (scripts/check-layers keeps them
 * acyclic):
 *   lifecycle.h      service start and stop
 *   follower.h       the Docker event follower thread
 *   reaper.h         the reaper: typed jobs on one thread
 *   reaper_jobs.h    what the service's reaper does with each job
 *   adopt.h          adoption, the sync with Docker, the gate
 *   lease.h          the janitor (leases, lifetimes, idle) and Renew
 *   shutdown.h       stopping a runner
 *   docker_health.h  the Docker health monitor
 *   warm.h           warm runners: the pool manager and Boot's matching
 */
#ifndef FLAMED_SERVICE_H
#define FLAMED_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "engine/engine.h"
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
    /* Warm runners (warm.h, docs/warm.md): the parsed pool file (borrowed;
     * outlives the service) and flamed-init's absolute path on the engine's
     * host. NULL pools: no warm runners, nothing of warm.c runs. */
    const struct warm_pools *pools;
    const char *init_path;
};

struct reaper; /* reaper.h */
struct warm_manager; /* warm.h */
struct warm_pools; /* warm_pools.h */
struct boot_news; /* boot_news.h */

/** The service's state, shared by every call (borrowed by handlers). */
struct service {
    struct service_config cfg;
    const struct policy *policy;  /* cfg.policy or builtin_policy */
    struct policy *builtin_policy;
    struct engine *engine;    /* borrowed */
    struct boot_news *news;   /* news of booting runners (boot_news.h) */
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
    int64_t adopt_started_ms; /* clock_mono_ms() when this sync began */
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
    struct warm_manager *warm; /* the pool manager (warm.h); NULL without --pools */
};

/** flame.v1.RunnerService's RPCs (methods.c), for a transport to serve. */
extern const struct svc_method service_methods[];
extern const size_t service_n_methods;

/* ---- shared by the RPC files (service-internal) ---- */

/** The RPC handlers (run on CQ threads). */
void service_boot(svc_call *call);
void service_spawn(svc_call *call);
/** SpawnStream (service/spawn.c): Spawn with the command's stdin streamed by
 *  the client (a client-streaming call: the SpawnRequest is its first message). */
void service_spawn_stream(svc_call *call);
/** Logs (service/logs.c): a runner's container output, streamed. */
void service_logs(svc_call *call);
void service_shutdown(svc_call *call);
void service_watch(svc_call *call);
void service_list(svc_call *call);

/** May the call's caller use `pool`? (tokens scoped to pools; others: yes) */
int service_caller_allows(const svc_call *call, const char *pool);
/** The caller's pools, comma-separated, for messages ("" when unscoped). */
void service_caller_pools(const svc_call *call, char *out, size_t outlen);
/** Log an audit line: rpc, caller (never a secret), and the given key=value pairs. */
void service_audit(const svc_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
