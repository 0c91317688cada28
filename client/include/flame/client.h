/*
 * flame/client.h - libflame, the C client of flamed (flame.v1.RunnerService)
 * over gRPC core.
 *
 * Every call is synchronous. Each flame_client holds its own connection to
 * flamed (a local gRPC subchannel pool; gRPC core would otherwise share one
 * connection among all channels to the same target, so more clients would
 * not spread load). A flame_client may be shared by any number of threads;
 * each call in flight has a completion queue of its own, taken from the
 * client's pool of idle ones (created when none is idle). Errors: every call
 * returns 0 or a negative FLAME_E* code (flame/error.h, mapped from the gRPC
 * status by flame_error_from_grpc_status()); when `st` is non-NULL it receives
 * the gRPC status code and flamed's message, so no global error state exists.
 *
 * Callers making thousands of calls a second: libflame does not touch the
 * process's malloc settings, but gRPC core frees each response's buffers
 * after the call, and glibc's default 128 KiB trim threshold then returns the
 * heap top to the kernel and faults it in again on the next call (a third of
 * a List's client CPU at c=16, two thirds of a fast Spawn's). A trim threshold above the bytes the calls
 * in flight hold, set by the application with mallopt(M_TRIM_THRESHOLD, ...)
 * and a fixed M_MMAP_THRESHOLD, or MALLOC_TRIM_THRESHOLD_ in its environment,
 * avoids that: 4 MiB for 16 concurrent Lists of 100 runners, 32 MiB for 64
 * (bench/src/common.c; flamed does the same for itself).
 *
 * Follows: proto/flame/v1/runner_service.proto; gRPC core (grpc/grpc.h 1.51).
 */
#ifndef FLAME_CLIENT_H
#define FLAME_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#include "flame/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flame_client flame_client;

/** A call's outcome: the gRPC status code and message (flamed's detail). */
typedef struct flame_status {
    int code;           /* grpc_status_code: 0 OK, 5 NOT_FOUND, ... */
    char message[1024]; /* NUL-terminated, truncated */
    char reason[64];    /* "flame-reason" trailing metadata, or "" */
} flame_status;

/** RunnerState values (proto enum flame.v1.RunnerState). */
enum flame_runner_state {
    FLAME_RUNNER_UNSPECIFIED = 0,
    FLAME_RUNNER_BOOTING = 1,
    FLAME_RUNNER_RUNNING = 2,
    FLAME_RUNNER_STOPPING = 3,
    FLAME_RUNNER_EXITED = 4,
    FLAME_RUNNER_REMOVED = 5,
    FLAME_RUNNER_FAILED = 6,
};

/** RunnerEventType values (proto enum flame.v1.RunnerEventType). */
enum flame_event_type {
    FLAME_EVENT_UNSPECIFIED = 0,
    FLAME_EVENT_EXISTING = 1,
    FLAME_EVENT_BOOTING = 2,
    FLAME_EVENT_STARTED = 3,
    FLAME_EVENT_EXITED = 4,
    FLAME_EVENT_REMOVED = 5,
    FLAME_EVENT_FAILED = 6,
    FLAME_EVENT_STOPPING = 7,
    FLAME_EVENT_PULLING = 8, /* Boot is pulling the image: flame_event.pull */
};

/** PullPolicy values (proto enum flame.v1.PullPolicy). */
enum flame_pull_policy {
    FLAME_PULL_DEFAULT = 0,          /* unset: flamed uses IF_NOT_PRESENT */
    FLAME_PULL_IF_NOT_PRESENT = 1,
    FLAME_PULL_ALWAYS = 2,
    FLAME_PULL_NEVER = 3,
};

/**
 * A runner as flamed reports it.
 *
 * A runner from libflame (flame_client_boot/shutdown/list; a watch event's,
 * which is borrowed for the callback only) has strings and label arrays that
 * are never NULL ("" when unset) and stay valid until the runner is freed.
 * They are not allocations of their own: a response's strings, arrays and
 * runners (every runner of one flame_client_list() answer) sit in blocks
 * libflame allocates per response, so never free(), realloc() or replace one
 * of them yourself; copy what must outlive the runner (earlier libflame
 * malloc'd each string separately). A runner you build yourself (internal NULL,
 * every string and both label arrays malloc'd) is still freed field by field
 * by flame_runner_free().
 */
typedef struct flame_runner {
    char *id, *container_id, *name, *pool, *image, *network, *ip_address, *error;
    int state;           /* enum flame_runner_state */
    int exit_code;
    int oom_killed;      /* 0/1 */
    int keep_runner;     /* 0/1 */
    int64_t created_unix_nano;
    size_t n_labels;
    char **label_keys;   /* n_labels entries each */
    char **label_values;
    /* Added: BootRequest.request_id, parent_id and lease_ttl_ms as booted
     * ("" and 0 when not set). */
    char *request_id, *parent_id;
    uint32_t lease_ttl_ms;
    /* Added: libflame's own (the block holding this runner's strings); never
     * change it. NULL in a runner you build yourself. */
    void *internal;
    /* Added (issue 17): 1 if the runner was made ahead of its Boot from a warm
     * pool (flamed --pools) and taken by that Boot (Runner.warm; a Boot's
     * answer says so for the runner it booted: BootResponse.warm). */
    int warm;
} flame_runner;

/**
 * Free a runner from flame_client_boot() or flame_client_shutdown(), or one
 * element of a flame_client_list() array that you took out of the array
 * (set its slot to NULL, or never pass it to flame_runner_list_free()): the
 * rest of the list stays valid, and the memory the list shares goes when its
 * last runner and the array are freed. Also frees a runner you built
 * yourself (internal NULL) field by field. Accepts NULL. Thread-safe for
 * different runners, also of one list.
 */
void flame_runner_free(flame_runner *r);

/**
 * Free an array from flame_client_list() and every runner still in it;
 * NULL slots are skipped (runners taken out stay valid until their own
 * flame_runner_free()). Only for arrays flame_client_list() returned, with
 * its n. Accepts NULL. Thread-safe against flame_runner_free() of runners
 * taken out of the same list.
 */
void flame_runner_list_free(flame_runner **rs, size_t n);
/** Label value of a runner, or NULL; borrowed from r. */
const char *flame_runner_label(const flame_runner *r, const char *key);
/** "RUNNING", "EXITED", ...; static. */
const char *flame_runner_state_name(int state);
/** "STARTED", "EXITED", ...; static. */
const char *flame_event_type_name(int type);

/** Options for flame_client_open(). Zero-initialise, then set. */
typedef struct flame_client_options {
    /* Deadline for unary calls (Boot, Shutdown, List) in ms; 0 = 120000. */
    uint32_t timeout_ms;
    /* "authorization: Bearer <token>" metadata on every call; NULL = none. */
    const char *bearer_token;
} flame_client_options;

/**
 * Open a channel to flamed. Does not connect yet (gRPC connects lazily).
 *
 * @param[out] out  owned by the caller; close with flame_client_close().
 * @param addr      gRPC target: "unix:/path", "unix:///path", "host:port"; copied.
 * @param opts      NULL for defaults; copied.
 * @return 0, FLAME_EINVALID (empty addr), FLAME_ENOMEM.
 */
int flame_client_open(flame_client **out, const char *addr, const flame_client_options *opts);

/** Close a client. Accepts NULL. No call may be in flight. */
void flame_client_close(flame_client *c);

/** What to boot. Arrays are NULL-terminated and may be NULL; all copied. */
typedef struct flame_boot_request {
    const char *image;              /* required */
    const char *network;            /* user-defined network, or NULL */
    const char *pool;               /* NULL: "default" */
    const char *const *env;         /* "K=V" */
    const char *const *cmd;
    const char *const *entrypoint;
    const char *const *labels;      /* "K=V" */
    const char *host_config_json;   /* a Docker HostConfig JSON object, or NULL */
    const char *const *mounts_json; /* each a Docker Mount JSON object */
    const char *user, *working_dir;
    uint32_t boot_timeout_ms;       /* 0: flamed's default, 30000 */
    int keep_runner;
    int pull_policy;                /* enum flame_pull_policy */
    /* Added: set HostConfig.Memory / HostConfig.NanoCpus, overriding the same
     * keys of host_config_json; 0 leaves them as host_config_json has them. */
    int64_t memory_bytes;
    int64_t nano_cpus;
    /* Added (recovery and leases):
     * request_id: idempotency key; a retried Boot with the same id returns the
     *   same runner (also across a flamed restart). NULL: none.
     * parent_id: the owning parent; needed for a lease. NULL: none.
     * lease_ttl_ms: flamed shuts the runner down when the parent neither keeps
     *   a Watch with its parent_id open nor calls flame_client_renew() for this
     *   long. 0: no lease.
     * max_lifetime_ms: hard cap on the runner's life; 0: none.
     * idle_shutdown_after_ms: shut down after this long with no Spawn; 0: never. */
    const char *request_id;
    const char *parent_id;
    uint32_t lease_ttl_ms;
    uint64_t max_lifetime_ms;
    uint64_t idle_shutdown_after_ms;
    /* Added (flamed --engine swarm): where the runner may run, Docker Swarm's
     * placement with the Engine API's words (BootRequest.placement).
     * constraints: "node.labels.zone==a", "node.role!=manager", ... NULL: none.
     * spreads: Spread.SpreadDescriptor of each preference, in order
     *   ("node.labels.zone"). NULL: none. */
    const char *const *constraints;
    const char *const *spreads;
} flame_boot_request;

/**
 * Boot a runner and wait until its container is running.
 *
 * The call's deadline is the client's timeout_ms, or boot_timeout_ms + 60 s
 * when that is longer (pulls and Docker's own stop/remove on failure).
 * host_config_json and mounts_json are parsed here: invalid JSON fails with
 * FLAME_EINVALID before anything is sent.
 *
 * @param[out] out  the booted runner; owned by the caller, free with flame_runner_free().
 * @param c         an open client (borrowed); safe to share between threads.
 * @param req       what to boot; copied.
 * @param[out] st   status detail, or NULL.
 * @return 0, or FLAME_EINVALID (bad request or JSON), FLAME_ENOTFOUND (image missing),
 *         FLAME_EPRECONDITION (network missing), FLAME_ETIMEOUT / FLAME_EABORTED (not
 *         running within the timeout / exited during boot; container removed),
 *         FLAME_EUNAVAILABLE (flamed or Docker unreachable).
 * Follows: flame.v1.RunnerService/Boot; FLAME.Backend.remote_boot/1.
 */
int flame_client_boot(flame_client *c, const flame_boot_request *req, flame_runner **out,
                      flame_status *st);

/**
 * Stop a runner (SIGTERM, SIGKILL after timeout_ms) and remove it unless kept.
 * The call's deadline is the client's timeout_ms, or the grace + 60 s when longer.
 * @param c           an open client (borrowed); thread-safe.
 * @param runner_id   the runner (copied).
 * @param timeout_ms  grace in ms; 0: flamed's default (10000).
 * @param[out] out    the final runner (may be NULL to discard); owned by the caller.
 * @param[out] st     status detail, or NULL.
 * @return 0 (also for an already-gone runner), FLAME_ENOTFOUND (never known),
 *         FLAME_EINVALID (empty id), FLAME_EUNAVAILABLE, FLAME_ETIMEOUT.
 * Follows: flame.v1.RunnerService/Shutdown.
 */
int flame_client_shutdown(flame_client *c, const char *runner_id, uint32_t timeout_ms,
                          flame_runner **out, flame_status *st);

/**
 * List runners, oldest first.
 *
 * The answer is decoded from the wire into one block sized from the
 * message (another only if that runs short) that holds the array, the
 * runners and their strings: a List costs a couple of allocations whatever
 * its length, and flame_runner_list_free() one free() per block.
 *
 * @param c       an open client (borrowed); thread-safe.
 * @param pool    NULL or "" for all; copied.
 * @param[out] out, n  array of n runners (NULL when n is 0), owned by the
 *                caller: free with flame_runner_list_free(). A runner may be
 *                taken out of the array (set its slot to NULL) and freed
 *                later with flame_runner_free().
 * @param[out] st status detail, or NULL.
 * @return 0, FLAME_EUNAVAILABLE, FLAME_ETIMEOUT, FLAME_ENOMEM, ...
 * Follows: flame.v1.RunnerService/List.
 */
int flame_client_list(flame_client *c, const char *pool, flame_runner ***out, size_t *n,
                      flame_status *st);

/** What flame_client_logs() reads. Strings borrowed for the call. */
typedef struct flame_logs_request {
    const char *runner_id;    /* required */
    int follow;               /* non-zero: go on until the runner's container stops */
    uint32_t tail_lines;      /* last N lines, stdout and stderr together; 0: all */
    int64_t since_unix_nano;  /* output at or after this time, ns since the epoch; 0: all */
    int timestamps;           /* non-zero: Docker's RFC 3339 time before each line */
    uint32_t timeout_ms;      /* the call's deadline in ms; 0: none */
} flame_logs_request;

/** Callbacks for flame_client_logs(); run on the calling thread. */
typedef struct flame_logs_handler {
    /* Output: stream 1 stdout, 2 stderr; data borrowed for the call. Return
     * non-zero to cancel the call. May be NULL. */
    int (*on_output)(void *ud, int stream, const void *data, size_t len);
    void *ud;
    /* Polled about every 100 ms while waiting for output; non-zero cancels
     * the call (e.g. after SIGINT set a flag). May be NULL. */
    int (*on_tick)(void *ud);
} flame_logs_handler;

/**
 * Stream a runner's container output (stdout and stderr apart, in order per
 * stream) until Docker ends it: at once for past output, or with follow when
 * the runner's container stops.
 * @param c       an open client (borrowed); thread-safe.
 * @param req     what to read; borrowed for the call.
 * @param h       callbacks, run on the calling thread; NULL discards output.
 * @param[out] st status detail, or NULL.
 * @return 0 when the stream ended; FLAME_EINVALID (no runner id);
 *         FLAME_ENOTFOUND (RUNNER_NOT_FOUND: unknown, or another pool's runner
 *         for a pool-scoped token); FLAME_EPRECONDITION (RUNNER_NOT_RUNNING:
 *         its container is gone); FLAME_ECANCELLED (a callback asked to stop);
 *         FLAME_ETIMEOUT (timeout_ms elapsed); FLAME_EUNAVAILABLE.
 * Follows: flame.v1.RunnerService/Logs; Docker Engine API ContainerLogs.
 */
int flame_client_logs(flame_client *c, const flame_logs_request *req, const flame_logs_handler *h,
                      flame_status *st);

/** A command to run in a runner. Arrays NULL-terminated; copied. */
typedef struct flame_spawn_request {
    const char *runner_id;
    const char *const *argv; /* required, at least one element */
    const char *const *env;  /* "K=V" */
    const char *working_dir, *user;
    uint32_t timeout_ms;     /* 0: no limit */
} flame_spawn_request;

/** Callbacks for flame_client_spawn(); run on the calling thread. */
typedef struct flame_spawn_handler {
    /* The command started (exec id borrowed). May be NULL. */
    void (*on_started)(void *ud, const char *exec_id);
    /* Output: stream 1 stdout, 2 stderr; data borrowed for the call. Return
     * non-zero to cancel the call (flamed then kills the command). May be NULL. */
    int (*on_output)(void *ud, int stream, const void *data, size_t len);
    void *ud;
    /* Added: polled about every 100 ms while waiting for output; return
     * non-zero to cancel the call (e.g. after SIGINT set a flag). May be NULL. */
    int (*on_tick)(void *ud);
} flame_spawn_handler;

/**
 * Run a command in a runner and stream its output until it exits.
 * No deadline when req->timeout_ms is 0, else timeout_ms + 10 s (flamed
 * kills the command at timeout_ms itself).
 * @param c       an open client (borrowed); thread-safe.
 * @param req     the command; copied.
 * @param h       callbacks, run on the calling thread; NULL discards output.
 * @param[out] exit_code  the command's exit code (set when 0 is returned).
 * @param[out] st status detail, or NULL.
 * @return 0; FLAME_EINVALID (no argv, bad env); FLAME_ENOTFOUND (runner unknown);
 *         FLAME_EPRECONDITION (not running); FLAME_ETIMEOUT (timeout_ms elapsed,
 *         command killed); FLAME_ECANCELLED (a callback asked to stop);
 *         FLAME_ERROR (the stream ended without an exit code).
 * Follows: flame.v1.RunnerService/Spawn; Docker Engine API exec.
 */
int flame_client_spawn(flame_client *c, const flame_spawn_request *req,
                       const flame_spawn_handler *h, int *exit_code, flame_status *st);

/** The most stdin bytes one SpawnStream message carries (flamed refuses more). */
#define FLAME_SPAWN_STDIN_CHUNK_MAX ((size_t)64 * 1024)

/** Where a command's stdin comes from (flame_client_spawn_stdin()). */
typedef struct flame_spawn_input {
    /* A descriptor to read until EOF (a pipe, a file, a terminal), borrowed,
     * not closed; read only when poll(2) says it is readable, so a quiet
     * input does not hold up the output. -1: use `read` instead. */
    int fd;
    /* Without fd: fill buf with up to len bytes; return how many (> 0), 0 at
     * EOF, or -1 for "nothing yet, ask again" (polled every 10 ms). Runs on
     * the calling thread: while it blocks, output is not read. */
    ssize_t (*read)(void *ud, void *buf, size_t len);
    void *ud;
} flame_spawn_input;

/**
 * flame_client_spawn() with the command's stdin: SpawnStream. The input is
 * sent in chunks of at most FLAME_SPAWN_STDIN_CHUNK_MAX bytes, one in flight
 * (the next is read only once flamed took the previous one, and flamed takes
 * it only once the command's stdin took it): memory stays bounded whatever
 * the input's size, and a command that reads slowly slows the input. At EOF
 * the command's stdin is closed (it reads EOF). Input left when the command
 * exits is not read further.
 * @param c, req, h, exit_code, st  as flame_client_spawn().
 * @param in      the input (borrowed for the call).
 * @return as flame_client_spawn(); FLAME_EINVALID also for a NULL or empty `in`.
 * Follows: flame.v1.RunnerService/SpawnStream; Docker Engine API exec
 * (AttachStdin, ExecStart's hijacked connection).
 */
int flame_client_spawn_stdin(flame_client *c, const flame_spawn_request *req,
                             const flame_spawn_handler *h, const flame_spawn_input *in,
                             int *exit_code, flame_status *st);

/** Which events to watch. */
typedef struct flame_watch_request {
    const char *pool;       /* NULL or "": all */
    const char *runner_id;  /* NULL or "": all */
    int include_existing;
    uint32_t timeout_ms;    /* end the watch after this long; 0: never */
    /* Added: polled about every 100 ms with the callback's ud while no event
     * arrives; non-zero ends the watch (0 is returned). May be NULL. */
    int (*on_tick)(void *ud);
    /* Added: resume after this sequence (replay the missed events from
     * flamed's bounded history, then stream live ones; 0: no replay). When the
     * history no longer reaches back, the call fails with FLAME_ERANGE
     * (OUT_OF_RANGE, reason WATCH_HISTORY_GONE): list, then watch again. */
    uint64_t after_sequence;
    /* Added: while this watch is open, the leases of this parent's runners
     * hold. NULL or "": none. */
    const char *parent_id;
} flame_watch_request;

/** One runner event; all fields borrowed for the callback's duration. */
/** How far a Boot's image pull has come (flame.v1.PullProgress). */
typedef struct flame_pull_progress {
    const char *image;
    uint64_t bytes_done;  /* bytes downloaded so far */
    uint64_t bytes_total; /* the layers' sizes as far as Docker has told them; 0: none yet */
    uint32_t layers, layers_done;
} flame_pull_progress;

typedef struct flame_event {
    int type;               /* enum flame_event_type */
    uint64_t sequence;
    int64_t time_unix_nano;
    const flame_runner *runner;
    const flame_pull_progress *pull; /* PULLING events; NULL otherwise (borrowed for fn) */
} flame_event;

/**
 * Stream runner events to `fn` until it returns non-zero (0 is then returned),
 * the timeout elapses (FLAME_ETIMEOUT) or the stream ends.
 * @param c    an open client (borrowed); thread-safe.
 * @param req  filters; copied. NULL watches everything.
 * @param fn   called on the calling thread for each event, in order.
 * @param[out] st status detail, or NULL.
 * @return 0 (fn or on_tick stopped it, or flamed ended the stream cleanly),
 *         FLAME_ETIMEOUT, FLAME_EUNAVAILABLE (flamed gone or shutting down), ...
 * Follows: flame.v1.RunnerService/Watch.
 */
int flame_client_watch(flame_client *c, const flame_watch_request *req,
                       int (*fn)(void *ud, const flame_event *ev), void *ud, flame_status *st);

/**
 * Added: renew the leases of a parent's runners (for parents that do not keep
 * a watch with their parent_id open).
 * @param c          an open client (borrowed); thread-safe.
 * @param parent_id  the parent_id given to Boot (copied); required.
 * @param[out] renewed  how many live runners of the parent hold a lease now
 *                      renewed; may be NULL.
 * @param[out] st    status detail, or NULL.
 * @return 0, FLAME_EINVALID (empty or malformed parent_id), FLAME_EUNAVAILABLE, ...
 * Follows: flame.v1.RunnerService/Renew.
 */
int flame_client_renew(flame_client *c, const char *parent_id, unsigned *renewed,
                       flame_status *st);

/** libflame's version ("0.1.0"); static. */
const char *flame_version(void);

/** ServingStatus values (grpc.health.v1.HealthCheckResponse.ServingStatus). */
enum flame_health_status {
    FLAME_HEALTH_UNKNOWN = 0,
    FLAME_HEALTH_SERVING = 1,         /* flamed: Docker answers /_ping */
    FLAME_HEALTH_NOT_SERVING = 2,     /* flamed: Docker does not answer */
    FLAME_HEALTH_SERVICE_UNKNOWN = 3, /* (Watch only; Check answers NOT_FOUND) */
};

/**
 * Ask the standard gRPC health service (grpc.health.v1.Health/Check) how
 * flamed is. Deadline: the client's timeout_ms. Needs no token unless flamed
 * runs with --auth-health.
 *
 * @param c        an open client (borrowed); thread-safe.
 * @param service  "" or NULL: the server as a whole; or a service name
 *                 ("flame.v1.RunnerService"); copied.
 * @param[out] status  an enum flame_health_status; set when 0 is returned.
 * @param[out] st  status detail, or NULL.
 * @return 0 (the server answered: see *status), FLAME_ENOTFOUND (unknown
 *         service), FLAME_EUNAVAILABLE (flamed unreachable), FLAME_ETIMEOUT,
 *         FLAME_EUNAUTH, FLAME_EINVALID (service name over 1024 bytes).
 * Follows: grpc.health.v1.Health/Check (grpc/doc/health-checking.md).
 */
int flame_client_health(flame_client *c, const char *service, int *status, flame_status *st);

/** "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN", "UNKNOWN"; static. */
const char *flame_health_status_name(int status);

/**
 * Added: parse a memory size as `docker run --memory` does: an integer or
 * decimal with an optional binary unit b, k, m, g, t (case-insensitive,
 * optionally followed by "b" or "ib"): "512m" = 536870912, "1.5g",
 * "1024". Pure and thread-safe.
 * @param text  the size (borrowed).
 * @param[out] out_bytes  set on 0.
 * @return 0, FLAME_EINVALID (syntax, negative, fraction of a byte, > INT64_MAX).
 */
int flame_parse_memory_bytes(const char *text, int64_t *out_bytes);

/**
 * Added: parse a CPU count as `docker run --cpus` does ("1.5", "0.25") into
 * HostConfig.NanoCpus units (1e-9 CPUs), exactly. Pure and thread-safe.
 * @param text  the count (borrowed); at most 9 decimals.
 * @param[out] out_nano_cpus  set on 0.
 * @return 0, FLAME_EINVALID.
 */
int flame_parse_nano_cpus(const char *text, int64_t *out_nano_cpus);

#ifdef __cplusplus
}
#endif
#endif
