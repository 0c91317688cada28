/*
 * server/engine/engine.h - what the service needs of a container engine:
 * the one interface between flamed's RPCs and whatever runs runners.
 *
 * The Docker containers engine (engine/docker_engine.c, over the docker client) is the
 * first implementation; an in-memory one drives the service's unit tests
 * (tests/unit/service/mem_engine.c). Remote engines (TCP+TLS), Podman's
 * Docker-compatible API, Docker Swarm services and warm runners plug in here:
 * each op speaks of runners' containers by the id the engine gave at create
 * (a Swarm engine: its service), never of the engine's wire format, and
 * differences between engines are handled behind the ops, not in the service.
 *
 * Bounds: a view made with engine_bounded() shares its parent's connection
 * and bounds every op: an op's own timeout becomes min(it, the time left), an
 * op called past the deadline fails at once with FLAME_ETIMEOUT, and the
 * cancel callback aborts an op in flight within 50 ms with FLAME_ECANCELLED.
 *
 * Errors: ops return 0 or a FLAME_E* code with a message in err (errlen
 * bytes, always NUL-terminated): FLAME_ENOTFOUND (no such container, image,
 * network, exec), FLAME_ECONFLICT (not in a state for it, e.g. a removal
 * already in progress), FLAME_EINVALID (the engine refused the request),
 * FLAME_EUNAVAILABLE (the engine does not answer), FLAME_ETIMEOUT,
 * FLAME_ECANCELLED, FLAME_ENOMEM.
 *
 * Thread-safety: every op may be called from any thread at once.
 */
#ifndef FLAMED_ENGINE_H
#define FLAMED_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "flame/error.h"

struct engine;

/** Bounds for a view (see above). */
struct engine_bounds {
    int64_t deadline_ms;       /* CLOCK_MONOTONIC ms (clock_mono_ms); 0: none */
    int (*cancelled)(void *ud); /* cheap and thread-safe; NULL: never */
    void *ud;
};

/** What Boot asks for: the canonical, already validated and policy-checked
 *  request. The engine turns it into its own create body (the Docker engine:
 *  docker_container_config_build), and checks nothing more. Borrowed. */
struct engine_spec {
    const char *name;                 /* the runner's name: container name, Hostname, DNS alias */
    const char *image;
    const char *network;              /* "" or NULL: the engine's default, no alias */
    const char *const *env;           /* "K=V", NULL-terminated; may be NULL */
    const char *const *cmd;           /* NULL-terminated or NULL (the image's) */
    const char *const *entrypoint;    /* NULL-terminated or NULL (the image's) */
    const char *user;                 /* NULL or "" */
    const char *working_dir;          /* NULL or "" */
    const cJSON *labels;              /* object of strings; may be NULL */
    const cJSON *host_config;         /* the canonical HostConfig (boot_config.c); may be NULL */
    const cJSON *mounts;              /* the canonical Mounts array; may be NULL */
    /* The canonical placement (boot_placement.h: Engine API TaskTemplate.Placement);
     * NULL: none. Only an engine with ENGINE_CAP_PLACEMENT takes one. */
    const cJSON *placement;
    /* The label that marks the container as this runner's: a create that finds
     * the name taken by a container carrying owner_key=owner_value (a retried
     * create whose first answer was lost) answers with that container. */
    const char *owner_key, *owner_value;
    /* 1: the container's stdin stays open for stdin_deliver (a warm runner). */
    int open_stdin;
};

/** Pull policies (flame.v1.PullPolicy's values). */
enum engine_pull {
    ENGINE_PULL_IF_NOT_PRESENT = 0,
    ENGINE_PULL_ALWAYS = 1,
    ENGINE_PULL_NEVER = 2,
};

/** How far an image pull has come: download bytes summed over the layers the
 *  engine has named so far (flame.v1.PullProgress). */
struct engine_pull_progress {
    int64_t bytes_done;  /* bytes downloaded */
    int64_t bytes_total; /* the layers' sizes as far as known; 0 while none is */
    int layers;          /* layers named */
    int layers_done;     /* layers complete: pulled, or already present */
};

/** A runner's container, as the engine sees it now. */
struct engine_state {
    char status[16];      /* created, running, exited, dead, ... */
    int running;
    int exit_code;
    int oom_killed;
    char health[16];      /* starting, healthy, unhealthy; "" without a health check */
    char error[256];      /* the engine's error for it (failed start), truncated */
    char ip_address[64];  /* on the runner's network (or the first), "" when none */
    int64_t started_at_ms; /* Unix ms of its start; 0 when unknown or never started */
};

/** One container of this flamed's, from the engine's list (for adoption). */
struct engine_listed {
    char id[72];
    char name[256];
    char image[512];
    char state[16];
    int running;
    int exit_code;          /* -1 when the list does not say */
    int64_t created_unix_s;
    char ip_address[64];    /* on the network its labels name (or the first), or "" */
    const cJSON *labels;    /* object of strings (borrowed from the list) */
};

/** A list of containers (engine_list_free). */
struct engine_list {
    struct engine_listed *items;
    size_t n;
    void *impl;             /* the engine's, owns what items borrow */
};

/** One event of a container of this flamed's. Borrowed for the callback. */
struct engine_event {
    const char *action;     /* create, start, die, oom, destroy, health_status, ... (Docker's words) */
    const char *id;         /* the container's id */
    const char *runner_id;  /* its runner-id label, or NULL */
    const char *exit_code;  /* die: the exit code as text, or NULL */
    const char *health;     /* health_status: healthy / unhealthy / starting, or NULL */
    int64_t time_nano;      /* when, Unix ns (0: unknown) */
    /* die: why, when the engine knows more than the exit code (a Swarm task
     * lost with its node, or shut down on a drained node), or NULL. */
    const char *error;
};

struct engine_events_io {
    int (*on_event)(void *ud, const struct engine_event *ev); /* non-zero stops the stream */
    void (*on_open)(void *ud);                                /* the stream is open; may be NULL */
    int (*should_stop)(void *ud);                             /* polled often; may be NULL */
    void *ud;
};

/** The write side of an exec's stdin (opaque; the engine's). */
struct engine_stdin;

/** An exec's output handling (see docker_exec_io in docker/docker.h: the same contract). */
struct engine_exec_io {
    int (*on_output)(void *ud, int stream, const char *data, size_t len);
    int (*should_abort)(void *ud);
    void *ud;
    int (*on_flush)(void *ud);
    long (*poll_ms)(void *ud);
    long (*hold_us)(void *ud);
    /* An exec created with attach_stdin: its stdin once the exec runs, owned
     * by the callee (exec_stdin_write / exec_stdin_close from one other
     * thread, exec_stdin_free when done, also after exec_start returned).
     * Called at most once, on exec_start's thread. NULL: none. */
    void (*on_stdin)(void *ud, struct engine_stdin *in);
};

/** Which of a container's logs to read (engine_ops.logs). */
struct engine_logs_opts {
    int follow;              /* keep reading until the container stops */
    uint32_t tail_lines;     /* last N lines, both streams together; 0: all */
    int64_t since_unix_nano; /* only output at or after this time (ns); <= 0: all */
    int timestamps;          /* prefix each line with the engine's RFC 3339 time */
};

/* Bytes an exec stream is read at a time: the largest output chunk. */
#define ENGINE_EXEC_READ_BYTES ((size_t)64 * 1024)

/* What an engine can do beyond the ops every engine has (engine_ops.caps). */
#define ENGINE_CAP_PLACEMENT 1u /* engine_spec.placement: where a runner may run (Swarm) */
/* The image a runner runs is the one image_present saw, never pulled behind
 * flamed's back: pull_policy NEVER can be honoured. (Not Swarm: the node that
 * runs a task pulls its image itself.) */
#define ENGINE_CAP_PULL_NEVER 2u

struct engine_ops {
    /** ENGINE_CAP_* bits. */
    unsigned caps;
    /** A view of e bounded by b (copied); free with free_view. */
    int (*bounded)(struct engine *e, const struct engine_bounds *b, struct engine **out);
    /** Free a view made by bounded (accepts NULL). */
    void (*free_view)(struct engine *view);
    /** Where the engine is, for messages ("/var/run/docker.sock"). Static for the engine's life. */
    const char *(*address)(const struct engine *e);
    /** The engine's API version, for logs. */
    const char *(*api_version)(const struct engine *e);
    /** How many requests were retried (metrics). */
    unsigned long (*retries)(const struct engine *e);

    /** Does the engine answer? */
    int (*ping)(struct engine *e, char *err, size_t errlen);
    /** Does the network exist? FLAME_ENOTFOUND when not. */
    int (*network_check)(struct engine *e, const char *network, char *err, size_t errlen);
    /**
     * The image's Config (Entrypoint, Cmd, Env, ...: what a container of it runs
     * by default). *out: a copy owned by the caller (cJSON_Delete); an empty
     * object when the engine says none. FLAME_ENOTFOUND: the image is absent.
     * Follows: Docker Engine API v1.41 ImageInspect ("Config").
     */
    int (*image_config)(struct engine *e, const char *ref, cJSON **out, char *err, size_t errlen);
    /** Is the image present? FLAME_ENOTFOUND when not; FLAME_EINVALID for a refused reference. */
    int (*image_present)(struct engine *e, const char *ref, char *err, size_t errlen);
    /**
     * Pull the image, up to timeout_ms. progress (may be NULL) is called on
     * the calling thread whenever the pull's summed progress changes (see
     * struct engine_pull_progress). FLAME_ENOTFOUND (no such image),
     * FLAME_EINVALID (refused reference), FLAME_EUNAVAILABLE (the pull failed).
     */
    int (*image_pull)(struct engine *e, const char *ref, long timeout_ms,
                      void (*progress)(void *ud, const struct engine_pull_progress *p), void *ud,
                      char *err, size_t errlen);

    /**
     * Create the runner's container from spec; *id (malloc'd) is its id.
     * FLAME_EEXISTS: the name is taken by another's; FLAME_ENOTFOUND: no image;
     * FLAME_EINVALID: the engine refused the config.
     */
    int (*create)(struct engine *e, const struct engine_spec *spec, char **id, char *err,
                  size_t errlen);
    /** Start it, up to timeout_ms. */
    int (*start)(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen);
    /** Its state now; network names the network whose address is wanted. */
    int (*inspect)(struct engine *e, const char *id, const char *network, struct engine_state *st,
                   char *err, size_t errlen);
    /**
     * Stop it: its stop signal (the image's, default SIGTERM), then SIGKILL
     * after grace_ms (any ms, not only whole seconds). 0 also when it was not
     * running.
     */
    int (*stop)(struct engine *e, const char *id, unsigned grace_ms, char *err, size_t errlen);
    /** Remove it (forced: a running one is killed). FLAME_ECONFLICT: a removal is in progress. */
    int (*remove)(struct engine *e, const char *id, char *err, size_t errlen);
    /** Wait up to timeout_ms until it is removed (0 also when it already was). */
    int (*wait_removed)(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen);
    /** Its last `lines` lines of output (*out malloc'd, may be ""). */
    int (*logs_tail)(struct engine *e, const char *id, int lines, char **out, char *err, size_t errlen);
    /**
     * Stream its logs, stdout and stderr apart, through io (the exec
     * contract: on_output may block, which is the backpressure). With follow,
     * until the container stops, should_abort or the view's cancel.
     * FLAME_ENOTFOUND: no such container. Follows: Docker Engine API ContainerLogs.
     */
    int (*logs)(struct engine *e, const char *id, const struct engine_logs_opts *opts,
                const struct engine_exec_io *io, char *err, size_t errlen);

    /**
     * Create an exec of argv in it; *exec_id malloc'd. attach_stdin: the exec
     * reads stdin through exec_start's on_stdin (else it has none: EOF).
     * FLAME_EPRECONDITION/ECONFLICT: not running.
     */
    int (*exec_create)(struct engine *e, const char *id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       int attach_stdin, char **exec_id, char *err, size_t errlen);
    /** Run it, streaming its output through io until it closes its output or io aborts. */
    int (*exec_start)(struct engine *e, const char *exec_id, const struct engine_exec_io *io,
                      char *err, size_t errlen);
    /** Its exit code and whether it still runs (either may be NULL). */
    int (*exec_inspect)(struct engine *e, const char *exec_id, int *exit_code, int *running,
                        char *err, size_t errlen);
    /**
     * Signal its process (signo: SIGTERM, SIGKILL). FLAME_EUNIMPLEMENTED when
     * flamed cannot reach the engine's processes.
     */
    int (*exec_kill)(struct engine *e, const char *exec_id, const char *id, int signo, char *err,
                     size_t errlen);
    /**
     * Write all of data[0..len) to an exec's stdin, blocking while the
     * process does not read (nothing is buffered: that is the backpressure);
     * polls should_abort (may be NULL) and the view's bounds every 50 ms.
     * FLAME_EUNAVAILABLE: the stdin is gone (the process exited).
     */
    int (*exec_stdin_write)(struct engine *e, struct engine_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen);
    /** EOF on the exec's stdin (its output goes on). Idempotent. */
    void (*exec_stdin_close)(struct engine *e, struct engine_stdin *in);
    /** Free a stdin from on_stdin (accepts NULL). */
    void (*exec_stdin_free)(struct engine *e, struct engine_stdin *in);

    /**
     * Follow the events of containers labelled `label` ("key=value") from
     * since_nano (Unix ns; 0: now) until io stops it or the stream is lost;
     * each event's runner_id is its container's `id_label` label. Blocking.
     * @return 0 when stopped by io or ended; an error when lost.
     */
    int (*events)(struct engine *e, const char *label, const char *id_label, int64_t since_nano,
                  const struct engine_events_io *io, char *err, size_t errlen);
    /**
     * Every container labelled `label` ("key=value"), running or not; each
     * one's ip_address is on the network its `network_label` label names.
     * *out: free with list_free.
     */
    int (*list)(struct engine *e, const char *label, const char *network_label,
                struct engine_list **out, char *err, size_t errlen);
    /** Free a list (accepts NULL). */
    void (*list_free)(struct engine *e, struct engine_list *l);

    /**
     * Deliver bytes to a running container's stdin: a warm runner's per-Boot
     * env frame for flamed-init (docs/warm.md, server/init/env_frame.h). 0
     * means the engine has passed every byte on to the container's stdin,
     * not only that the socket took them. The container must have been made
     * with its stdin open (Docker: OpenStdin true, StdinOnce false);
     * otherwise the bytes are dropped. data is borrowed; len may be 0;
     * timeout_ms (ms; <= 0: 30000) bounds the whole exchange, as do a view's
     * deadline and cancel. FLAME_ENOTFOUND: no such container;
     * FLAME_ECONFLICT: it cannot take them now (paused, not running).
     * Follows: Docker Engine API v1.41 ContainerAttach (hijacked stdin).
     */
    int (*stdin_deliver)(struct engine *e, const char *id, const void *data, size_t len,
                         long timeout_ms, char *err, size_t errlen);
};

/** An engine: its ops and the implementation's state. */
struct engine {
    const struct engine_ops *ops;
    void *impl;
};

/**
 * Is ref a valid image reference? Every engine speaks the same grammar
 * (distribution/reference: "app", "app:v2", "localhost:5000/team/app:v2",
 * "app@sha256:HEX"). Pure; thread-safe.
 * @return 0; FLAME_EINVALID with a detail in err ("image 'REF' is not a valid
 *         reference: ...").
 * Follows: github.com/distribution/reference.
 */
int engine_image_ref_validate(const char *ref, char *err, size_t errlen);

/* ---- shorthands ---- */

static inline int engine_bounded(struct engine *e, const struct engine_bounds *b, struct engine **out)
{
    return e->ops->bounded(e, b, out);
}

static inline void engine_free_view(struct engine *view)
{
    if (view)
        view->ops->free_view(view);
}

#endif
