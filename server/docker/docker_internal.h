/*
 * server/docker/docker_internal.h - helpers shared by the files of the Docker
 * client module (prefix docker__). Not part of the module's contract: only
 * the server/docker sources and the module's own unit tests include it.
 */
#ifndef FLAMED_DOCKER_INTERNAL_H
#define FLAMED_DOCKER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "docker.h"

/* Pooled easy handles kept for reuse; more concurrent calls create and
 * destroy extra handles. */
#define DOCKER__POOL_MAX 16

/* Largest plain response body accepted (container lists can be large). */
#define DOCKER__BODY_MAX ((size_t)64 * 1024 * 1024)

/* Largest error body kept from a failed stream request. */
#define DOCKER__ERRBODY_MAX ((size_t)64 * 1024)

/* Longest path (with query) we build. */
#define DOCKER__PATH_MAX 4096

struct docker_client {
    /* The client that owns the pool, the version and the counters: this one,
     * or the one a bounded view (docker_client_bounded) was made from. */
    docker_client *root;
    /* A bounded view's limits (docker.h struct docker_bounds); zero for a root. */
    int64_t deadline_ms;
    int (*cancelled)(void *ud);
    void *cancel_ud;
    /* Where Docker is (owned by a root, borrowed from it by a view). */
    struct docker_endpoint *ep;
    /* "http://localhost" (unix socket), "https://HOST:PORT" or "http://HOST:PORT";
     * owned by a root, borrowed by a view. */
    char *base_url;
    /* Points to static storage; written by docker_ping, read by every call. */
    _Atomic(const char *) api_version;
    pthread_mutex_t pool_lock; /* guards pool and pool_len */
    CURL *pool[DOCKER__POOL_MAX];
    size_t pool_len;
    atomic_ulong retries;      /* transient failures retried (docker_client_retries()) */
};

/* Attempts for one plain request on transient failures (see docker__do). */
#define DOCKER__RETRIES 4

/** Sleep ms. */
void docker__sleep_ms(long ms);

/**
 * A bounded view's limits applied to one call that would wait timeout_ms
 * (0 = none): the smaller of the two, in ms (0 = none); fails with
 * FLAME_ECANCELLED when cancelled or FLAME_ETIMEOUT when the deadline has
 * passed (detail names method and path).
 */
int docker__bound_timeout(const docker_client *c, long timeout_ms, const char *method,
                          const char *path, long *out, char *err, size_t errlen);

/** Has a bounded view's caller cancelled? 0 for a root client. */
int docker__is_cancelled(const docker_client *c);

/** What a stream loop does after one pass of reading (docker__stream_pace). */
enum docker__pace {
    DOCKER__PACE_WAIT,      /* wait up to *wait_ms for more I/O, then pass again */
    DOCKER__PACE_AGAIN,     /* output was held (hold_us slept): pass again at once */
    DOCKER__PACE_CANCELLED, /* the bounded view's caller cancelled */
    DOCKER__PACE_DEADLINE,  /* the bounded view's deadline has passed */
};

/**
 * The pacing shared by the two stream loops (transport.c's libcurl stream and
 * exec.c's hijacked exec with stdin), called after each pass of reading:
 * checks the view's cancel and deadline, sleeps the consumer's hold_us (its
 * gather window; NULL or <= 0: none) and else sets *wait_ms: the consumer's
 * next_poll_ms (NULL or <= 0: default_ms), at most 50 ms when the view can be
 * cancelled (a cancel ends a stream within 50 ms), at most the time to the
 * deadline (>= 1). Thread-safe as the client is (one loop per client view).
 */
enum docker__pace docker__stream_pace(const docker_client *c, long (*hold_us)(void *ud),
                                      long (*next_poll_ms)(void *ud), void *ud,
                                      long default_ms, long *wait_ms);

/* ------------------------------------------------------------- errors */

/** Write a detail into err (when errlen > 0) and return code. */
int docker__fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Map an HTTP status to a FLAME_E* code (the table in docker.h). 2xx/1xx/304 map to 0. */
int docker__status_code(long status, const char *message);

/**
 * Whether Docker's error message says that Docker itself, or containerd
 * behind it, could not do the work (a gRPC "unavailable", a refused or closed
 * connection to containerd): a 500 that is no fault of the request.
 */
int docker__is_unavailable(const char *message);

/* ------------------------------------------------------------- buffers */

/** A growable byte buffer, always NUL-terminated when data != NULL. */
struct docker__buf {
    char *data;
    size_t len, cap;
    size_t max;   /* bytes accepted; more sets overflow */
    int overflow; /* set when an append exceeded max */
};

/** Append n bytes. @return 0, FLAME_ENOMEM, or FLAME_EEXHAUSTED (over max; overflow set). */
int docker__buf_append(struct docker__buf *b, const char *p, size_t n);
void docker__buf_free(struct docker__buf *b);
/** Empty the buffer, keeping its memory and max. */
void docker__buf_reset(struct docker__buf *b);

/* ------------------------------------------------------------- plain requests */

/** A plain response: status, the body and its JSON (when the body is JSON). */
struct docker__response {
    long status;
    struct docker__buf body;
    cJSON *json;          /* NULL when the body is empty or not JSON */
    char api_version[16]; /* the Api-Version response header, or "" */
};

void docker__response_free(struct docker__response *r);

/** Docker's error text: json "message", else the body text, else "". Borrowed from r. */
const char *docker__response_message(const struct docker__response *r);

/**
 * Turn a non-success response into a FLAME_E* code with the detail
 * "<context>: <Docker's message>". The context is formatted from fmt.
 */
int docker__response_error(const struct docker__response *r, char *err, size_t errlen,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * The options that make h reach c's Docker: the unix socket, or for TCP the
 * TLS files and verification (peer and host name). The URL (from
 * c->base_url) and the rest are the caller's. For a handle that speaks raw
 * HTTP itself (CURLOPT_CONNECT_ONLY, attach.c) as for every request.
 * @return 0; FLAME_ERROR / FLAME_ENOMEM when libcurl refuses an option (detail in err).
 */
int docker__setup_conn(const docker_client *c, CURL *h, char *err, size_t errlen);

/**
 * One request on a pooled handle. `path` is versioned unless it starts with
 * "/_ping". On return r is filled (free with docker__response_free even on
 * failure). @return 0 when an HTTP exchange happened; transport codes.
 */
int docker__do(docker_client *c, const char *method, const char *path, const cJSON *body,
               long timeout_ms, struct docker__response *r, char *err, size_t errlen);

/**
 * The inspect skeleton of containers, networks and images: GET path (30 s
 * timeout) and expect HTTP 200 with a JSON object.
 * @param kind, name  for messages: "inspect <kind> '<name>': <Docker's message>".
 * @param[out] out    the object, owned by the caller (cJSON_Delete); NULL: not kept.
 * @return 0; FLAME_ENOTFOUND for HTTP 404 only (callers may replace the
 *         message with a hint); another status's code (docker__status_code);
 *         FLAME_ERROR when the body is no JSON object; transport codes.
 */
int docker__inspect(docker_client *c, const char *path, const char *kind, const char *name,
                    cJSON **out, char *err, size_t errlen);

/* ------------------------------------------------------------- streams */

/** A long request on its own handle, driven by a private multi handle. */
struct docker__stream {
    const char *method;
    const char *path;           /* unversioned; the prefix is added */
    const cJSON *body;          /* may be NULL */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    long low_speed_time_s;      /* abort when < 1 byte/s for this long; 0 = never */
    long poll_ms;               /* should_stop interval; 0 = 100 */
    long buffer_size;           /* CURLOPT_BUFFERSIZE in bytes; 0 = libcurl's default (16 KiB) */
    /* Headers seen with a 2xx/101 status; may be NULL. */
    void (*on_open)(void *ud, long status);
    /* Body bytes of a successful response; non-zero aborts and is returned. */
    int (*on_data)(void *ud, const char *p, size_t n);
    /* Polled while idle; non-zero stops the stream (result 0, *stopped = 1). May be NULL. */
    int (*should_stop)(void *ud);
    /* The next wait's should_stop interval in ms; <= 0 (or NULL) = poll_ms. */
    long (*next_poll_ms)(void *ud);
    /* µs to sleep without reading before the next wait; <= 0 (or NULL): none. */
    long (*hold_us)(void *ud);
    void *ud;
};

/**
 * Run a stream until the server closes it, a callback aborts, or should_stop.
 * A non-2xx/101 response is not streamed: its body lands in errresp (status
 * set) and 0 is returned; the caller maps it.
 * @param[out] stopped  1 when should_stop ended the stream.
 * @return 0; on_data's non-zero code; transport codes (FLAME_EUNAVAILABLE,
 *         FLAME_ETIMEOUT for the low-speed limit, FLAME_ENOMEM).
 */
int docker__stream_run(docker_client *c, const struct docker__stream *s,
                       struct docker__response *errresp, int *stopped, char *err, size_t errlen);

/* ------------------------------------------------------------- hijacked connections */

/*
 * A hijacked HTTP connection (hijack.c): Docker answered 101 (or 200) and the
 * connection carries raw bytes both ways, on the unix socket or through
 * libcurl's TLS session. One thread at a time per connection.
 * Follows: Docker Engine API, "Hijacking".
 */
struct docker__hijack;

/**
 * Connect (c's endpoint), send "METHOD /v<api>PATH_Q" with Connection:
 * Upgrade, Upgrade: tcp and body (JSON, at most 4 KiB; may be NULL), read
 * Docker's head until deadline_ms (monotonic ms).
 * @param what  the call, for messages ("attach to container 'x'").
 * @param[out] out  the connection on success, owned by the caller
 *                  (docker__hijack_free).
 * @return 0; a refused hijack maps Docker's status (docker__status_code:
 *         FLAME_ENOTFOUND, FLAME_EPRECONDITION...) with Docker's message in
 *         err; FLAME_EUNAVAILABLE (cannot connect, closed), FLAME_ETIMEOUT,
 *         FLAME_ECANCELLED (c's bounds), FLAME_ENOMEM.
 */
int docker__hijack_open(docker_client *c, const char *method, const char *path_q,
                        const cJSON *body, int64_t deadline_ms, const char *what,
                        struct docker__hijack **out, char *err, size_t errlen);

/** Wait until the connection's socket is ready for events (POLLIN/POLLOUT),
 *  polling c's bounds every 50 ms. @return 0, FLAME_ETIMEOUT, FLAME_ECANCELLED,
 *  FLAME_EUNAVAILABLE. */
int docker__hijack_wait(const docker_client *c, const struct docker__hijack *hj, short events,
                        int64_t deadline_ms, const char *what, char *err, size_t errlen);

/** Send what the connection takes now (non-blocking): *sent bytes, 0 when it
 *  would block. @return 0 or FLAME_EUNAVAILABLE (closed). */
int docker__hijack_send_some(struct docker__hijack *hj, const void *p, size_t n, size_t *sent,
                             char *err, size_t errlen);

/** Send all n bytes, waiting while the socket is full, until deadline_ms.
 *  @return 0 or as docker__hijack_wait / docker__hijack_send_some. */
int docker__hijack_send(const docker_client *c, struct docker__hijack *hj, const void *data,
                        size_t n, int64_t deadline_ms, char *err, size_t errlen);

/** Read what is there now (non-blocking) into buf[0..cap): *got bytes, 0
 *  and *eof 0 when it would block, *eof 1 at Docker's close. Bytes that came
 *  with the response head come first. Data may be buffered inside the TLS
 *  session: call again until *got is 0 before waiting on the socket.
 *  @return 0 or FLAME_EUNAVAILABLE. */
int docker__hijack_recv(struct docker__hijack *hj, char *buf, size_t cap, size_t *got, int *eof,
                        char *err, size_t errlen);

/** As docker__hijack_recv, waiting until something came or EOF (deadline_ms). */
int docker__hijack_recv_wait(const docker_client *c, struct docker__hijack *hj, char *buf,
                             size_t cap, size_t *got, int *eof, int64_t deadline_ms,
                             const char *what, char *err, size_t errlen);

/** The connection's socket, borrowed (for poll()). */
int docker__hijack_fd(const struct docker__hijack *hj);

/** Half-close: Docker reads EOF (the process's stdin ends); reading goes on.
 *  @return 0 or FLAME_EUNAVAILABLE. */
int docker__hijack_close_write(struct docker__hijack *hj, char *err, size_t errlen);

/** Close and free. Accepts NULL. */
void docker__hijack_free(struct docker__hijack *hj);

/* ------------------------------------------------------------- text helpers */

/**
 * Percent-encode s into out (curl_easy_escape: RFC 3986, all but A-Za-z0-9-._~
 * as %XX). `keep` lists extra characters left as they are, or NULL.
 * @return 0, FLAME_EINVALID (does not fit outlen bytes with the NUL) or
 *         FLAME_ENOMEM. Thread-safe.
 */
int docker__escape(const char *s, const char *keep, char *out, size_t outlen);

/** snprintf that reports truncation: 0 or FLAME_EINVALID. */
int docker__fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * obj[key] = a JSON array of the strings of v (NULL-terminated; copied).
 * @return 0 or FLAME_ENOMEM (obj may then hold a partial array: delete obj).
 */
int docker__add_strv(cJSON *obj, const char *key, const char *const *v);

/** Copy a JSON string field (or "") into out, truncating. */
void docker__copy_string(char *out, size_t outlen, const cJSON *obj, const char *key);

/* Copy into out (outlen bytes, always NUL-terminated; "" when absent) the IPAddress of
 * `container` (an inspect or a container list entry: both carry NetworkSettings.Networks)
 * on `network`, or, when network is NULL or "", on the first network that has one.
 * Thread-safe (reads only). Follows: Engine API ContainerInspect / ContainerList. */
void docker__network_ip(char *out, size_t outlen, const cJSON *container, const char *network);

/**
 * Validate a path component we put into a URL (id, name, ref): non-empty, no
 * control characters, at most 512 bytes.
 * @return 0 or FLAME_EINVALID with a detail naming `what`.
 */
int docker__check_name(const char *what, const char *value, char *err, size_t errlen);

/* ------------------------------------------------------------- exec */

/**
 * docker_exec_start with a choice of protocol: upgrade != 0 sends
 * "Connection: Upgrade" / "Upgrade: tcp" (dockerd answers 101, as the docker
 * CLI gets); 0 sends neither (dockerd answers 200). Both stream the same raw
 * frames. docker_exec_start uses 0. Exposed for the live tests.
 * @param[out] status  the HTTP status of the answer (101 or 200 when it
 *                     streamed); may be NULL.
 */
int docker__exec_start_ex(docker_client *c, const char *exec_id, const struct docker_exec_io *io,
                          int upgrade, long *status, char *err, size_t errlen);

/* ------------------------------------------------------------- image pull */

/** One layer of a pull, as its progress lines tell it (image.c). */
struct docker__pull_layer {
    char id[72];     /* the layer's short id, as Docker names it in the stream */
    int64_t current; /* bytes downloaded */
    int64_t total;   /* its size; 0 while unknown */
    int done;        /* pulled, or already present */
};

/** A pull's layers and their sums. Zero-initialise before the first line. */
struct docker__pull_tracker {
    struct docker__pull_layer layer[DOCKER_PULL_MAX_LAYERS];
    int n;
    struct docker_pull_progress sum;
};

/**
 * Feed one line of Docker's pull stream (parsed). Lines without a string
 * "id" and a layer "status" (e.g. "Pulling from ...", "Digest: ...") are left
 * out; layers beyond DOCKER_PULL_MAX_LAYERS too. Byte counts are clamped to
 * [0, 2^53]. Exposed for the unit tests.
 * @return 1 when t->sum changed, else 0.
 */
int docker__pull_track(struct docker__pull_tracker *t, const cJSON *line);

#endif
