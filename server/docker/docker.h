/*
 * server/docker/docker.h - a small Docker Engine API client over the unix socket
 * or TCP (TLS).
 *
 * Knows nothing of gRPC: it speaks HTTP/JSON to dockerd through libcurl
 * (CURLOPT_UNIX_SOCKET_PATH, or https:// with a client certificate) and returns FLAME_E* codes from flame/error.h with
 * a human-readable detail written into the caller's `err` buffer (always
 * NUL-terminated when errlen > 0; untouched on success).
 *
 * Error mapping, for every function unless its doc says otherwise:
 *   transport failure (socket missing, refused, reset)  FLAME_EUNAVAILABLE
 *   a call's own timeout elapsed                         FLAME_ETIMEOUT
 *   a bounded view's deadline passed                     FLAME_ETIMEOUT
 *   a bounded view's caller cancelled                    FLAME_ECANCELLED
 *   HTTP 404                                             FLAME_ENOTFOUND
 *   HTTP 409                                             FLAME_ECONFLICT
 *   HTTP 400 (and 500 from a malformed body on 20.10)    FLAME_EINVALID
 *   other 5xx, unparseable JSON                          FLAME_ERROR
 * The detail holds Docker's own {"message": ...} text.
 *
 * Plain requests retry transient failures (a connection dropped mid-exchange,
 * HTTP 502/503/504) up to 4 times with backoff from 50 ms, within the call's
 * timeout. A refused connection (dockerd down) is not retried: the call fails
 * fast with FLAME_EUNAVAILABLE.
 *
 * Thread-safety: a docker_client may be shared by any number of threads; each
 * call borrows a libcurl easy handle from an internal pool (connections are
 * reused). Streams (exec start, events, pull) use their own handle.
 * Requires curl_global_init() before the first thread starts.
 *
 * Follows: Docker Engine API v1.41 (https://docs.docker.com/engine/api/v1.41/).
 */
#ifndef FLAMED_DOCKER_H
#define FLAMED_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "flame/error.h"

typedef struct docker_client docker_client;

/* The newest Engine API version this client speaks. */
#define DOCKER_API_VERSION_MAX "1.41"

/* ---------------------------------------------------------------- socket */

/**
 * Find the Docker socket path, the way the docker CLI does.
 *
 * @param[out] out        the socket path, NUL-terminated.
 * @param outlen          size of out in bytes.
 * @param docker_host     the --docker-host flag or $DOCKER_HOST, or NULL/"".
 *                        Accepts "unix:///path" and "/path".
 * @param home            $HOME, or NULL.
 * @param exists          predicate "path exists" (access(2) in production;
 *                        tests pass their own); NULL means access(path, F_OK).
 * @return 0; FLAME_EINVALID if docker_host has another scheme (tcp:// is
 *         docker_endpoint_resolve()'s) or is too long; FLAME_ENOTFOUND if docker_host is
 *         unset and none of /var/run/docker.sock, $HOME/.docker/run/docker.sock,
 *         /mnt/wsl/shared-docker/docker.sock exists (out then holds the first).
 */
int docker_socket_detect(char *out, size_t outlen, const char *docker_host, const char *home,
                         int (*exists)(const char *path));

/* -------------------------------------------------------------- endpoint */

/** Where the Docker Engine is and how flamed reaches it (docker_endpoint_resolve()). */
struct docker_endpoint {
    int tcp;                /* 0: the unix socket socket_path; 1: TCP to host:port */
    int tls;                /* tcp only: TLS, dockerd's certificate verified against ca_file
                             * (chain and host name); 0 with tcp: plain TCP (--docker-insecure) */
    char socket_path[4096]; /* unix: the socket's path */
    char host[256];         /* tcp: a name or an address (IPv6 without brackets) */
    int port;               /* tcp: 1-65535 */
    char ca_file[4096];     /* tls: PEM of the CA that signed dockerd's certificate (only it is
                             * trusted, not the system's CAs) */
    char cert_file[4096];   /* tls: flamed's client certificate (PEM), "" for none */
    char key_file[4096];    /* tls: its private key (PEM), "" when cert_file is "" */
    char address[4200];     /* for messages, logs and the instance lock: the socket path (unix,
                             * as flamed always wrote it) or tcp://HOST:PORT */
};

/** What docker_endpoint_resolve() reads: flags, then the docker CLI's environment.
 *  Every string is borrowed; NULL means unset. */
struct docker_endpoint_opts {
    const char *host_flag;       /* --docker-host */
    const char *host_env;        /* $DOCKER_HOST */
    int tls_verify_flag;         /* --docker-tls-verify */
    const char *tls_verify_env;  /* $DOCKER_TLS_VERIFY: non-empty means verify (the CLI's rule) */
    const char *ca_flag;         /* --docker-tls-ca */
    const char *cert_flag;       /* --docker-tls-cert */
    const char *key_flag;        /* --docker-tls-key */
    const char *cert_path_env;   /* $DOCKER_CERT_PATH */
    const char *config_env;      /* $DOCKER_CONFIG (the CLI's default certificate directory) */
    const char *home;            /* $HOME: ~/.docker, and the socket fallbacks */
    int insecure;                /* --docker-insecure: accept plain TCP */
    int (*exists)(const char *path);   /* for the unix socket; NULL: access(F_OK) */
    int (*readable)(const char *path); /* for the TLS files; NULL: access(R_OK) */
};

/**
 * Decide where Docker is, the way the docker CLI does, with flamed's flags
 * taking precedence over the environment.
 *
 * - The host is --docker-host, else $DOCKER_HOST. Unset, unix:///path or /path:
 *   the unix socket, exactly as docker_socket_detect() finds it; the TLS
 *   environment is then ignored, and TLS flags or --docker-insecure are an error.
 * - tcp://HOST[:PORT] (IPv6 as [ADDR]): TLS when --docker-tls-verify or
 *   $DOCKER_TLS_VERIFY is non-empty, with ca.pem, cert.pem and key.pem from
 *   $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else $HOME/.docker; each flag
 *   (--docker-tls-ca/-cert/-key) replaces one file. The CA is required; the
 *   client certificate and key are used when both exist (a flag's file must).
 *   Without TLS verification plain TCP is refused unless --docker-insecure.
 *   PORT defaults to 2376 with TLS, 2375 without.
 *
 * @param[out] out  filled (zeroed first); on FLAME_ENOTFOUND it still names the
 *                  unix socket flamed will try (/var/run/docker.sock).
 * @param o         the inputs (borrowed).
 * @param err       on FLAME_EINVALID, one line saying what is wrong and what to
 *                  do, naming the flag or variable at fault (flamed prints it
 *                  and exits 64).
 * @return 0; FLAME_ENOTFOUND (no host given and no unix socket found: as
 *         docker_socket_detect()); FLAME_EINVALID (a scheme other than unix://
 *         and tcp://, a malformed tcp:// address, plain TCP without
 *         --docker-insecure, contradicting or misplaced TLS options, a missing
 *         CA, a certificate without its key, an unreadable flag file).
 * Thread-safety: reentrant; reads the filesystem only through the predicates.
 * Follows: the docker CLI's DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
 *          and --tlsverify/--tlscacert/--tlscert/--tlskey; dockerd --tlsverify.
 */
int docker_endpoint_resolve(struct docker_endpoint *out, const struct docker_endpoint_opts *o,
                            char *err, size_t errlen);

/* ---------------------------------------------------------------- client */

/**
 * Create a client for the daemon at a unix socket. Does no I/O.
 *
 * @param[out] out     owned by the caller; free with docker_client_free().
 * @param socket_path  path of the unix socket; copied.
 * @return 0 or FLAME_ENOMEM.
 */
int docker_client_new(docker_client **out, const char *socket_path);

/**
 * Create a client for the daemon an endpoint names (docker_endpoint_resolve()):
 * a unix socket as docker_client_new(), or TCP: https://HOST:PORT with
 * dockerd's certificate checked against ep->ca_file alone (peer and host name)
 * and ep->cert_file/key_file as flamed's client certificate, or plain
 * http://HOST:PORT when ep->tls is 0. Does no I/O: the files are read at the
 * first connection, and their errors come back from that call.
 *
 * @param[out] out  owned by the caller; free with docker_client_free().
 * @param ep        copied.
 * @return 0, FLAME_EINVALID (an empty endpoint), or FLAME_ENOMEM.
 */
int docker_client_new_endpoint(docker_client **out, const struct docker_endpoint *ep);

/** Free a client and its pooled handles (a bounded view: only the view). Accepts NULL.
 *  No call may be in flight. */
void docker_client_free(docker_client *c);

/** Monotonic clock (CLOCK_MONOTONIC) in ms: the clock of struct docker_bounds. Thread-safe. */
int64_t docker_now_ms(void);

/** What bounds every call made through a bounded view (docker_client_bounded()). */
struct docker_bounds {
    /* docker_now_ms() time after which no call may wait: each call's own timeout
     * becomes min(its timeout, deadline_ms - now); a call made past it fails at
     * once with FLAME_ETIMEOUT. 0 = none. */
    int64_t deadline_ms;
    /* Polled on the calling thread before each call and at least every 50 ms
     * while a call waits on Docker (plain requests and streams); non-zero aborts
     * the call in flight (its connection is closed) with FLAME_ECANCELLED.
     * Must be cheap and thread-safe (an atomic load). NULL: never cancelled. */
    int (*cancelled)(void *ud);
    void *ud;
};

/**
 * A view of `parent` whose every call (any docker_* function given the view)
 * is bounded by a deadline and can be cancelled: one Boot or Spawn hands it
 * to each Docker call it makes, so its deadline and its client's cancel reach
 * all of them. The view shares parent's connections, negotiated version and
 * counters; it does no I/O.
 *
 * A call aborted by a cancel or the deadline may still take effect in Docker
 * (a create that Docker finishes after the connection closed): the caller
 * looks the object up by name or labels to clean up.
 *
 * @param[out] out  owned by the caller; free with docker_client_free() before
 *                  parent is freed. No call may be in flight on it then.
 * @param parent    a client or another view (borrowed).
 * @param bounds    copied; NULL means no bounds.
 * @return 0 or FLAME_ENOMEM. Thread-safety: as a client; the bounds apply to
 *         calls from any thread.
 */
int docker_client_bounded(docker_client **out, docker_client *parent,
                          const struct docker_bounds *bounds);

/** The socket path ("" when the client speaks TCP); borrowed from c, valid until
 *  docker_client_free(). */
const char *docker_client_socket_path(const docker_client *c);

/** Where Docker is, for messages: the socket path, or tcp://HOST:PORT. Borrowed
 *  from c, valid until docker_client_free(). Thread-safe. */
const char *docker_client_address(const docker_client *c);

/**
 * GET /_ping and negotiate the API version: min(DOCKER_API_VERSION_MAX, the
 * daemon's Api-Version header). Every later path is prefixed with it.
 * Safe to call again at any time (health checks, reconnects).
 *
 * @return 0; FLAME_EUNAVAILABLE when the daemon does not answer;
 *         FLAME_EPRECONDITION when the daemon's API is older than 1.41.
 */
int docker_ping(docker_client *c, char *err, size_t errlen);

/** How many transient failures (connection reset, 502/503/504) were retried so far. */
unsigned long docker_client_retries(const docker_client *c);

/** Negotiated API version ("1.41"); borrowed, static storage. */
const char *docker_client_api_version(const docker_client *c);

/**
 * One plain request. `path` starts with '/' and excludes the version prefix
 * ("/containers/json?all=1"). `body` (may be NULL) is sent as JSON.
 *
 * @param[out] status    HTTP status.
 * @param[out] response  parsed JSON body or NULL when empty/not JSON; owned by
 *                       the caller (cJSON_Delete). May be NULL to discard.
 * @param timeout_ms     total timeout in ms; 0 = none.
 * @return 0 when the exchange happened (any HTTP status; callers map it), or
 *         FLAME_EUNAVAILABLE / FLAME_ETIMEOUT / FLAME_ENOMEM.
 */
int docker_request(docker_client *c, const char *method, const char *path, const cJSON *body,
                   long timeout_ms, long *status, cJSON **response, char *err, size_t errlen);

/* --------------------------------------------------------------- network */

/**
 * GET /networks/{name}.
 * @param[out] out  inspect JSON (may be NULL to discard); owned by the caller.
 * @return 0, FLAME_ENOTFOUND (detail says to run `docker network create NAME`).
 */
int docker_network_inspect(docker_client *c, const char *name, cJSON **out, char *err, size_t errlen);

/** POST /networks/create {"Name": name, "Driver": "bridge", "Labels": labels}. Test helper and
 *  future use. @param[out] id owned by the caller (free()), may be NULL. */
int docker_network_create(docker_client *c, const char *name, const cJSON *labels, char **id,
                          char *err, size_t errlen);

/** DELETE /networks/{name}. 0 or FLAME_ENOTFOUND / FLAME_ECONFLICT (in use). */
int docker_network_remove(docker_client *c, const char *name, char *err, size_t errlen);

/* ----------------------------------------------------------------- image */

/**
 * GET /images/{ref}/json.
 * @return 0 (present), FLAME_ENOTFOUND (absent).
 */
int docker_image_inspect(docker_client *c, const char *ref, cJSON **out, char *err, size_t errlen);

/**
 * Pull an image: POST /images/create?fromImage=REPO&tag=TAG (digest refs go in
 * fromImage whole). Reads the whole progress stream; an "error"/"errorDetail"
 * line inside a 200 stream is a failure. Then confirms with image inspect.
 *
 * @param ref          "repo[:tag]" or "repo@sha256:..."; ":latest" when no tag.
 * @param registry_auth base64url X-Registry-Auth value or NULL.
 * @param timeout_ms   abort when no byte arrives for this long (low-speed
 *                     limit, not a total timeout); 0 = 60000.
 * @param progress     called on the calling thread whenever the summed progress
 *                     changes (each layer's download bytes; see struct
 *                     docker_pull_progress); NULL for none. The struct is
 *                     borrowed for the call.
 * @return 0; FLAME_ENOTFOUND when the registry says the image or tag does not
 *         exist or access is denied ("not found", "manifest unknown",
 *         "pull access denied", "repository does not exist");
 *         FLAME_EUNAVAILABLE for anything else (registry unreachable, DNS, TLS),
 *         the registry's words in the detail.
 */
/**
 * A pull's progress, summed over the layers Docker's pull stream has named so
 * far ({"status":"Downloading","progressDetail":{"current":N,"total":M},"id":L},
 * "Download complete", "Pull complete", "Already exists"). Bytes count the
 * download (the compressed layers), not the extraction.
 */
struct docker_pull_progress {
    int64_t bytes_done;  /* bytes downloaded */
    int64_t bytes_total; /* the layers' sizes as far as known; 0 while none is */
    int layers;          /* layers named (at most DOCKER_PULL_MAX_LAYERS are tracked) */
    int layers_done;     /* layers complete: pulled, or already present */
};

/* Layers tracked per pull; more are left out of the sums (bounded memory). */
#define DOCKER_PULL_MAX_LAYERS 128

int docker_image_pull(docker_client *c, const char *ref, const char *registry_auth, long timeout_ms,
                      void (*progress)(void *ud, const struct docker_pull_progress *p), void *ud,
                      char *err, size_t errlen);

/* ------------------------------------------------------------- container */

/**
 * POST /containers/create?name=NAME with `config` as the body.
 * @param[out] id  container id; owned by the caller (free()).
 * @return 0; FLAME_ENOTFOUND (404 "No such image" only; the detail says to
 *         pull it); FLAME_EEXISTS (name in use, 409); FLAME_EINVALID (Docker
 *         refused the config: 400, 500 for a body it cannot decode, any other
 *         404 such as a missing volume or logging plugin, 401/403 from an
 *         authorization plugin); FLAME_ERROR (another 5xx: Docker failed on its
 *         own, e.g. its disk is full); transport codes (FLAME_EUNAVAILABLE,
 *         FLAME_ETIMEOUT after 30 s or a bounded view's deadline, FLAME_ECANCELLED
 *         from a bounded view's cancel: the container may then exist, or appear
 *         later, since Docker finishes a create whose client hung up).
 */
int docker_container_create(docker_client *c, const char *name, const cJSON *config, char **id,
                            char *err, size_t errlen);

/**
 * POST /containers/{id}/start. 304 (already running) is success.
 * A failed start leaves the container in "created": remove it.
 * @param timeout_ms  total timeout; 0 = none.
 * @return 0; FLAME_ENOTFOUND (this container is gone, or its network is
 *         missing: the detail says which, and names `docker network create`
 *         for a network); FLAME_EINVALID (Docker or runc could not start this
 *         container: 400, e.g. the command is not in the image, or a 500 such
 *         as "OCI runtime create failed" for rlimits, mounts, devices, an
 *         unknown user; or a 404 for another container its config refers to);
 *         FLAME_ECONFLICT (409: the container is being removed);
 *         FLAME_EUNAVAILABLE (Docker unreachable, a 500 saying containerd is
 *         unavailable, another 5xx); FLAME_ETIMEOUT.
 */
int docker_container_start(docker_client *c, const char *id, long timeout_ms, char *err,
                           size_t errlen);

/**
 * POST /containers/{id}/stop?t=SECONDS (SIGTERM, then SIGKILL after t).
 * 304 (not running) is success. The HTTP timeout is t + 30 s.
 * @return 0; FLAME_ENOTFOUND.
 */
int docker_container_stop(docker_client *c, const char *id, int grace_s, char *err, size_t errlen);

/**
 * POST /containers/{id}/wait?condition=CONDITION ("not-running", "removed"):
 * returns when Docker says the container reached it, or after timeout_ms.
 * @param[out] status  HTTP status (200 reached, 404 no such container).
 * @return 0 when Docker answered (any status); FLAME_ETIMEOUT (not within
 *         timeout_ms), FLAME_EUNAVAILABLE, FLAME_EINVALID (bad id).
 */
int docker_container_wait(docker_client *c, const char *id, const char *condition,
                          long timeout_ms, long *status, char *err, size_t errlen);

/**
 * POST /containers/{id}/kill?signal=SIG.
 * @return 0; FLAME_ENOTFOUND; FLAME_ECONFLICT (not running).
 */
int docker_container_kill(docker_client *c, const char *id, const char *signal, char *err,
                          size_t errlen);

/**
 * DELETE /containers/{id}?force=1&v=1 (removes anonymous volumes too).
 * @return 0; FLAME_ENOTFOUND (already gone); FLAME_ECONFLICT (removal in progress).
 */
int docker_container_remove(docker_client *c, const char *id, char *err, size_t errlen);

/**
 * GET /containers/{id}/json.
 * @param[out] out  owned by the caller (cJSON_Delete).
 * @return 0; FLAME_ENOTFOUND.
 */
int docker_container_inspect(docker_client *c, const char *id, cJSON **out, char *err,
                             size_t errlen);

/** The parts of a container inspect flamed uses, copied out of the JSON. */
struct docker_container_state {
    char status[16];      /* State.Status: created, running, exited, dead, ... */
    int running;          /* State.Running */
    int exit_code;        /* State.ExitCode */
    int oom_killed;       /* State.OOMKilled */
    char health[16];      /* State.Health.Status or "" when no HEALTHCHECK */
    char error[256];      /* State.Error, truncated */
    char ip_address[64];  /* NetworkSettings.Networks.{network}.IPAddress, or the first */
    int64_t started_at_ms; /* State.StartedAt as Unix time in ms (RFC 3339, any offset);
                            * 0 when absent, unparsable, or never started (0001-01-01) */
};

/**
 * An RFC 3339 time as Docker and Podman write it ("2026-11-24T06:50:01.123456789Z",
 * or with a "+01:00" offset) as Unix ms. Pure; thread-safe.
 * @param s  NUL-terminated text, or NULL.
 * @return the time; 0 when s is not one or is before 1970 (Go's zero time).
 */
int64_t docker_time_rfc3339_ms(const char *s);

/**
 * Extract docker_container_state from an inspect JSON (pure; no I/O).
 * @param network  network whose IP to take; NULL or "" for the first found.
 * @return 0; FLAME_EINVALID when State is missing.
 */
int docker_container_state_parse(const cJSON *inspect, const char *network,
                                 struct docker_container_state *out);

/**
 * GET /containers/json?all=1&filters={"label":[label]}.
 * @param label  "key" or "key=value"; copied into the filter.
 * @param[out] out  a JSON array; owned by the caller.
 */
int docker_container_list(docker_client *c, const char *label, cJSON **out, char *err,
                          size_t errlen);

/** The parts of a container list entry (GET /containers/json) flamed uses, copied out. */
struct docker_container_summary {
    char id[72];          /* Id */
    char name[256];       /* Names[0] without its leading '/', or "" */
    char image[512];      /* Image, as given at create (or the image id, if the tag moved) */
    char state[16];       /* State: created, running, paused, restarting, exited, dead, ... */
    int running;          /* State is "running" */
    int exit_code;        /* from Status "Exited (N) ...", -1 when the entry does not say */
    int64_t created_unix_s; /* Created */
    char ip_address[64];  /* NetworkSettings.Networks.{network}.IPAddress (or the first
                           * network with one when network is NULL/""); "" when absent */
};

/**
 * Extract docker_container_summary from one entry of docker_container_list()
 * (pure; no I/O). An entry lacks what only an inspect has: OOMKilled,
 * StartedAt, Config; and, on some daemons, a network's IPAddress.
 * @param network  the network whose IP to take; NULL or "" for the first with one.
 * @return 0; FLAME_EINVALID when the entry has no string Id.
 * Follows: Docker Engine API v1.41 ContainerList.
 */
int docker_container_summary_parse(const cJSON *entry, const char *network,
                                   struct docker_container_summary *out);

/**
 * Write bytes to a running container's stdin and close our side: a hijacked
 * POST /containers/{id}/attach?stream=1&stdin=1 (101 Upgrade: tcp), the bytes,
 * a half-close, then a wait until Docker closes the connection, which it does
 * once it has copied all of them to the container's stdin. How flamed
 * delivers a warm runner's per-Boot env to flamed-init (docs/warm.md).
 * The container must have been created with OpenStdin (and StdinOnce false,
 * so that its stdin stays open for a later writer); otherwise Docker takes
 * the bytes and drops them. Uses its own connection. Thread-safe.
 *
 * @param id          container id or name; copied.
 * @param data, len   the bytes (borrowed); len may be 0.
 * @param timeout_ms  for the whole exchange (ms); <= 0 means 30000. A bounded
 *                    view's deadline and cancel apply too.
 * @return 0 delivered; FLAME_ENOTFOUND (no such container); FLAME_ECONFLICT
 *         (409: e.g. paused); FLAME_ETIMEOUT; FLAME_ECANCELLED; transport codes.
 * Follows: Docker Engine API v1.41 ContainerAttach ("Hijacking").
 */
int docker_container_stdin_write(docker_client *c, const char *id, const void *data, size_t len,
                                 long timeout_ms, char *err, size_t errlen);

/**
 * GET /containers/{id}/logs?stdout=1&stderr=1&tail=N, demultiplexed.
 * @param[out] out  NUL-terminated text (stdout and stderr interleaved as sent);
 *                  owned by the caller (free()). At most 8 KiB (the tail is kept).
 */
int docker_container_logs_tail(docker_client *c, const char *id, int lines, char **out, char *err,
                               size_t errlen);

/* ------------------------------------------------------------------ exec */

/**
 * POST /containers/{id}/exec {AttachStdout, AttachStderr, Tty:false, Cmd, Env,
 * WorkingDir, User}.
 * @param argv  NULL-terminated, at least one element; copied.
 * @param env   NULL-terminated "K=V" strings, or NULL.
 * @param working_dir, user  NULL or "" for the container's.
 * @param[out] exec_id  owned by the caller (free()).
 * @return 0; FLAME_ENOTFOUND (no such container); FLAME_EPRECONDITION (409:
 *         the container is not running).
 */
int docker_exec_create(docker_client *c, const char *container_id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       char **exec_id, char *err, size_t errlen);

/**
 * As docker_exec_create(), with AttachStdin set to attach_stdin: the exec's
 * stdin is then read from its start connection (docker_exec_io.on_stdin),
 * and the process reads EOF when the client half-closes it. Start such an
 * exec with on_stdin set, or it waits for stdin until the stream ends.
 * Follows: Docker Engine API ContainerExec (AttachStdin), ExecStart ("Hijacking").
 */
int docker_exec_create_ex(docker_client *c, const char *container_id, const char *const *argv,
                          const char *const *env, const char *working_dir, const char *user,
                          int attach_stdin, char **exec_id, char *err, size_t errlen);

/** The write side of an exec's start connection: its stdin (opaque). */
struct docker_exec_stdin;

/** Callbacks for docker_exec_start(). Both run on the calling thread. */
struct docker_exec_io {
    /* A demultiplexed chunk of output: stream 1 = stdout, 2 = stderr. May
     * block (that is the backpressure: the socket is not read meanwhile).
     * Return 0 to go on, non-zero to abort the stream. */
    int (*on_output)(void *ud, int stream, const char *data, size_t len);
    /* Polled at least every 100 ms while the stream is idle; non-zero aborts
     * the stream (client cancel, deadline). May be NULL. */
    int (*should_abort)(void *ud);
    void *ud;
    /* Called after each read from the socket (up to DOCKER_EXEC_READ_BYTES)
     * has been demultiplexed into on_output calls: a consumer that gathers
     * chunks sends them now. Return 0 to go on, non-zero to abort. May be NULL. */
    int (*on_flush)(void *ud);
    /* How soon (ms, >= 1) should_abort wants its next call while the stream
     * is quiet, e.g. sooner while a consumer holds gathered output; <= 0 (or
     * NULL) means the default 50 ms. Called before each wait on the socket. */
    long (*poll_ms)(void *ud);
    /* How long (µs) to leave the socket unread before the next read, so that
     * output piles up in the socket buffer and comes in one large read
     * instead of one read per Docker frame (a consumer that gathers output
     * for a short window); <= 0 (or NULL): read as it comes. Called before
     * each wait; the stream's abort checks wait meanwhile. */
    long (*hold_us)(void *ud);
    /* Once the exec's stream is open (its request sent, Docker's answer
     * read; with on_stdin set the exec runs over a hijacked connection,
     * hijack.c, on the unix socket and over TLS alike): its stdin, owned by the callee from then on (write it with
     * docker_exec_stdin_write from any one thread, also while this stream
     * runs; free with docker_exec_stdin_free, also after the stream ended).
     * Called at most once, on the stream's thread; not when the start
     * failed. NULL: stdin is not written. */
    void (*on_stdin)(void *ud, struct docker_exec_stdin *in);
};

/**
 * Write data[0..len) to an exec's stdin, all of it: the chunk is handed to
 * the exec's stream (docker_exec_start's thread, which alone drives the
 * connection, so the bytes go through TLS when Docker is reached over it)
 * and this waits until the stream has sent it, also while the process reads
 * slower: nothing is buffered by flamed beyond DOCKER_EXEC_READ_BYTES, so the
 * caller's next chunk waits for this one. Polls should_abort (may be NULL)
 * and c's bounds (a bounded view's cancel and deadline) every 50 ms; data is
 * not read after this returns. len 0 does nothing.
 * Thread-safe against the stream that reads the same connection; one writer
 * at a time per `in`.
 * @return 0; FLAME_ECANCELLED (should_abort or the view's cancel);
 *         FLAME_ETIMEOUT (the view's deadline); FLAME_EUNAVAILABLE when the
 *         connection is closed (the process exited, or Docker closed it);
 *         FLAME_EINVALID after docker_exec_stdin_close; with a detail in err.
 * Follows: Docker Engine API ExecStart, "Hijacking".
 */
int docker_exec_stdin_write(docker_client *c, struct docker_exec_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen);

/**
 * Close an exec's stdin: once the stream has sent what it holds, it
 * half-closes the connection (shutdown(SHUT_WR), also under TLS, as the
 * docker CLI does) and the process reads EOF; its output still streams.
 * Returns at once. Idempotent; accepts NULL. Thread-safe.
 * Follows: Docker Engine API ExecStart, "Hijacking" (the client closes its
 * write side for EOF on stdin).
 */
void docker_exec_stdin_close(struct docker_exec_stdin *in);

/** Drop the caller's hold on it (the stream keeps its own until it ends; the
 *  last one frees). Does not half-close. Accepts NULL. Thread-safe. */
void docker_exec_stdin_free(struct docker_exec_stdin *in);

/* Bytes read from an exec stream at a time (CURLOPT_BUFFERSIZE, or one
 * read of a stdin exec's hijacked connection):
 * the most one on_output..on_flush round can carry. */
#define DOCKER_EXEC_READ_BYTES ((size_t)64 * 1024)

/**
 * POST /exec/{id}/start {"Detach":false,"Tty":false} and stream the output
 * until the process closes it. Uses its own connection.
 * @return 0 when the stream ended normally; FLAME_ECANCELLED when a callback
 *         aborted; FLAME_EINVALID on a malformed frame header; transport codes.
 */
int docker_exec_start(docker_client *c, const char *exec_id, const struct docker_exec_io *io,
                      char *err, size_t errlen);

/** What docker_container_logs() reads. */
struct docker_logs_opts {
    int follow;              /* keep reading until the container stops */
    uint32_t tail_lines;     /* last N lines, both streams together; 0: all */
    int64_t since_unix_nano; /* only output at or after this time (ns); <= 0: all */
    int timestamps;          /* prefix each line with Docker's RFC 3339 time */
};

/**
 * GET /containers/{id}/logs?stdout=1&stderr=1&follow&tail&since&timestamps and
 * stream the demultiplexed output through io (same callbacks, same
 * backpressure as docker_exec_start: on_output may block, the socket is not
 * read meanwhile). Uses its own connection. Thread-safe for distinct io.
 * Follows: Docker Engine API ContainerLogs (non-TTY multiplexed stream).
 * @return 0 when Docker ended the stream (all past output read, or with
 *         follow the container stopped); FLAME_ENOTFOUND (no such container);
 *         FLAME_ECANCELLED when a callback or the client's view aborted;
 *         FLAME_EINVALID on a malformed frame header; transport codes.
 */
int docker_container_logs(docker_client *c, const char *container_id,
                          const struct docker_logs_opts *opts, const struct docker_exec_io *io,
                          char *err, size_t errlen);

/**
 * GET /exec/{id}/json.
 * @param[out] exit_code  ExitCode (-1 while running / null).
 * @param[out] running    Running.
 * @param[out] pid        Pid: the host pid (0 when unknown). Any out may be NULL.
 */
int docker_exec_inspect(docker_client *c, const char *exec_id, int *exit_code, int *running,
                        long *pid, char *err, size_t errlen);

/**
 * Best-effort signal to an exec'd process. Docker has no API for this: we read
 * the exec's host pid (exec inspect) and kill(2) it, after checking through
 * /proc/PID/cgroup that the pid belongs to container_id (so a pid from another
 * pid namespace is never signalled).
 * @return 0 when signalled or already gone; FLAME_EUNIMPLEMENTED when the pid
 *         is not visible from here (flamed in its own pid namespace), and
 *         always for a client over TCP (the pid is on Docker's host, not ours).
 */
int docker_exec_kill(docker_client *c, const char *exec_id, const char *container_id, int signo,
                     char *err, size_t errlen);

/* ---------------------------------------------------------------- events */

/** Callbacks for docker_events_stream(). Run on the calling thread; must not block long. */
struct docker_events_io {
    /* One event object (borrowed for the call). Non-zero return stops the stream. */
    int (*on_event)(void *ud, const cJSON *event);
    /* Called once the stream is open (HTTP 200 headers seen). May be NULL. */
    void (*on_open)(void *ud);
    /* Polled at least every 200 ms; non-zero stops the stream. May be NULL. */
    int (*should_stop)(void *ud);
    void *ud;
};

/**
 * GET /events?filters={"type":["container"],"label":[label]}&since=SINCE and
 * deliver each JSON line. Returns when the stream ends or is stopped.
 * @param label       "key=value" filter, or NULL.
 * @param since_nano  0 for "from now", else Unix ns (sent as seconds.nanos).
 * @return 0 when stopped by a callback; FLAME_EUNAVAILABLE when the daemon
 *         closed or dropped the stream.
 */
int docker_events_stream(docker_client *c, const char *label, int64_t since_nano,
                         const struct docker_events_io *io, char *err, size_t errlen);

/* ------------------------------------------------- pure parsers (testable) */

/** Demultiplexer for Docker's 8-byte-header stream ([type,0,0,0,len BE32]). */
struct docker_demux {
    unsigned char hdr[8];
    size_t hdr_have;
    uint32_t remaining; /* payload bytes left in the current frame */
    int stream;         /* current frame's stream: 0 stdin, 1 stdout, 2 stderr */
};

/** Reset a demultiplexer to expect a header. */
void docker_demux_init(struct docker_demux *d);

/**
 * Feed bytes; frames may span calls. `out` gets each payload piece (never
 * empty). A non-zero return from out stops feeding and is returned.
 * @return 0; FLAME_EINVALID on a header with a stream type > 2 or non-zero
 *         padding; or out's non-zero return.
 */
int docker_demux_feed(struct docker_demux *d, const char *data, size_t len,
                      int (*out)(void *ud, int stream, const char *p, size_t n), void *ud);

/** Splits a byte stream into '\n'-terminated lines (events, pull progress). */
struct docker_lines {
    char *buf;
    size_t len, cap;
    size_t max; /* longest line accepted, bytes; longer lines are an error */
};

/** Initialise; max_line bytes (0 = 1 MiB). Free with docker_lines_free(). */
void docker_lines_init(struct docker_lines *l, size_t max_line);
void docker_lines_free(struct docker_lines *l);

/**
 * Feed bytes; `line` gets each complete line without its '\n' (may be empty,
 * NUL-terminated, borrowed for the call). Non-zero from line stops and is returned.
 * @return 0; FLAME_EINVALID when a line exceeds max; FLAME_ENOMEM.
 */
int docker_lines_feed(struct docker_lines *l, const char *data, size_t len,
                      int (*line)(void *ud, char *s, size_t n), void *ud);

/**
 * Check an image reference against Docker's grammar (distribution/reference
 * as dockerd 20.10 applies it): [domain '/'] path-component ('/' path-component)*
 * [':' tag] ['@' digest]. The first component is a registry only when it holds
 * '.' or ':' or is "localhost"; path components are lowercase [a-z0-9]
 * separated by '.', '_', '__' or '-'; a tag is [\w][\w.-]{0,127}; a digest is
 * sha256, sha384 or sha512 with 64, 96 or 128 lowercase hex digits; the name
 * is at most 255 bytes as Docker normalises it ("x" counts as
 * "docker.io/library/x"). Refused besides: bracketed IPv6 registries (Docker
 * 20.10 does too) and registry ports outside 1-65535 (Docker takes any digits).
 * Pure; no I/O.
 *
 * @param ref  the reference as the user wrote it ("busybox",
 *             "localhost:5000/team/app:v2", "app@sha256:HEX"); borrowed.
 * @return 0; FLAME_EINVALID (ref NULL, empty or not in the grammar) with a
 *         detail in err: "image 'REF' is not a valid reference: WHAT AND HOW"
 *         (REF quoted as printable ASCII, at most 120 bytes). err is untouched
 *         on success.
 * Follows: github.com/distribution/reference (reference.go, normalize.go),
 *          github.com/opencontainers/go-digest.
 */
int docker_image_ref_validate(const char *ref, char *err, size_t errlen);

/**
 * Split an image reference for /images/create: "repo:tag" -> ("repo","tag"),
 * "repo" -> ("repo","latest"), "host:5000/repo" -> (..,"latest"),
 * "repo@sha256:x" -> ("repo@sha256:x", "").
 * @return 0; FLAME_EINVALID when the ref is empty or too long for the buffers.
 */
int docker_image_ref_split(const char *ref, char *repo, size_t repolen, char *tag, size_t taglen);


/** What flamed creates a runner container with (all strings borrowed). */
struct docker_container_spec {
    const char *image;
    const char *hostname;             /* also the DNS alias on network */
    const char *network;              /* "" or NULL: default bridge, no alias */
    const char *const *env;           /* "K=V", NULL-terminated; may be NULL */
    const char *const *cmd;           /* NULL-terminated or NULL (image's) */
    const char *const *entrypoint;    /* NULL-terminated or NULL (image's) */
    const char *user;                 /* NULL or "" */
    const char *working_dir;          /* NULL or "" */
    const cJSON *labels;              /* object of strings; may be NULL */
    const cJSON *host_config;         /* validated object; may be NULL; copied */
    const cJSON *mounts;              /* array of Mount objects; may be NULL; copied */
    int open_stdin;                   /* 1: OpenStdin true, StdinOnce false (a warm runner's
                                         delivery channel, docker_container_stdin_write) */
};

/**
 * Build the POST /containers/create body: Image, Hostname, Env, Cmd,
 * Entrypoint, User, WorkingDir, Labels, OpenStdin/StdinOnce (open_stdin), HostConfig (the user's plus
 * NetworkMode=network, RestartPolicy {"Name":"no"}, Mounts appended), and
 * NetworkingConfig.EndpointsConfig.{network}.Aliases=[hostname].
 * @param[out] out  owned by the caller (cJSON_Delete).
 * @return 0; FLAME_EINVALID (mounts not an array of objects); FLAME_ENOMEM.
 */
int docker_container_config_build(const struct docker_container_spec *spec, cJSON **out,
                                   char *err, size_t errlen);

/* ----------------------------------------------------------------- swarm */

/**
 * POST /services/create with `spec` (a ServiceSpec, borrowed).
 * @param[out] id  the service's ID, owned by the caller (free()).
 * @return 0; FLAME_EEXISTS (409: the name is taken); FLAME_EINVALID (400, or
 *         404/401/403: something the spec names is missing or refused);
 *         FLAME_EPRECONDITION (503: not a swarm manager); transport codes.
 *         Thread-safe. Follows: Docker Engine API v1.41 ServiceCreate.
 */
int docker_service_create(docker_client *c, const cJSON *spec, char **id, char *err, size_t errlen);

/** GET /services/{id} (id or name). @param[out] out owned by the caller; may be NULL.
 *  @return 0; FLAME_ENOTFOUND; see docker_container_inspect. Follows: ServiceInspect. */
int docker_service_inspect(docker_client *c, const char *id, cJSON **out, char *err, size_t errlen);

/** DELETE /services/{id}: the swarm stops and removes its tasks' containers
 *  afterwards. @return 0; FLAME_ENOTFOUND; FLAME_EPRECONDITION (not a manager).
 *  Follows: ServiceDelete. */
int docker_service_remove(docker_client *c, const char *id, char *err, size_t errlen);

/** GET /services?filters={"label":[label]} (label "key" or "key=value"; NULL: all).
 *  @param[out] out a JSON array, owned by the caller. Follows: ServiceList. */
int docker_service_list(docker_client *c, const char *label, cJSON **out, char *err, size_t errlen);

/** GET /tasks?filters={"service":[service_id]}: every task of it, newest or
 *  not (the swarm keeps a few old ones). @param[out] out a JSON array, owned by
 *  the caller. Follows: TaskList. */
int docker_task_list(docker_client *c, const char *service_id, cJSON **out, char *err,
                     size_t errlen);

/** GET /tasks?filters={"label":[label]}: every task of the services labelled
 *  `label` ("key" or "key=value"; the swarm matches the services' labels), in
 *  any state. @param[out] out a JSON array, owned by the caller. Thread-safe.
 *  Follows: TaskList. */
int docker_task_list_labelled(docker_client *c, const char *label, cJSON **out, char *err,
                              size_t errlen);

/** GET /nodes: every node of the swarm (ID, Spec.Availability, Status.State,
 *  Description.Hostname, ...). @param[out] out a JSON array, owned by the
 *  caller. @return 0; FLAME_EPRECONDITION (not a manager); transport codes.
 *  Thread-safe. Follows: Docker Engine API v1.41 NodeList. */
int docker_node_list(docker_client *c, cJSON **out, char *err, size_t errlen);

/**
 * GET /info: this engine's swarm node id (Swarm.NodeID) and whether it is a
 * manager (Swarm.ControlAvailable).
 * @param node_id  out buffer (node_id_len bytes, NUL-terminated).
 * @param manager  may be NULL.
 * @return 0; FLAME_EPRECONDITION when the engine is not an active swarm node
 *         (message says `docker swarm init`); transport codes.
 * Follows: Docker Engine API v1.41 SystemInfo.
 */
int docker_swarm_node(docker_client *c, char *node_id, size_t node_id_len, int *manager, char *err,
                      size_t errlen);

#endif
