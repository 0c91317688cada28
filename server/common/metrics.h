/*
 * server/common/metrics.h - flamed's Prometheus metrics: counters and
 * histograms the other modules feed, gauges read at scrape time, and the
 * text exposition format (version 0.0.4) that GET /metrics serves
 * (common/metrics_http.c).
 *
 * Who feeds what (each a single call where the thing completes):
 *   rpc/call.c         metrics_rpc_done()       every finished call
 *   service/boot.c     metrics_boot_done()      every Boot attempt (not replays)
 *   docker (hook)      metrics_docker_request() every plain Engine API request
 *   service/watch.c    metrics_watch_dropped()  a watcher fell behind and was dropped
 *                      metrics_watch_resumed()  a Watch resumed after a sequence
 *   service/events.c   metrics_docker_events_lost()     /events stream lost (re-opened)
 *   service/metrics_source.c  metrics_set_source(): runners by pool and state,
 *                      watchers, Docker up, walked at scrape time
 *
 * Metric names and labels are documented in README.md ("Metrics"); they are
 * an interface: rename nothing.
 *
 * Thread-safety: every function is safe from any thread. Counters and
 * histograms live behind one mutex (held for a table lookup and an add);
 * the scrape-time source is called without it, under a read lock that
 * metrics_set_source() takes for writing, so a source is never called after
 * it was replaced. No callback runs with the metrics mutex held.
 */
#ifndef FLAMED_METRICS_H
#define FLAMED_METRICS_H

#include <stddef.h>
#include <stdint.h>

/**
 * Count one finished gRPC call in flamed_rpc_total{service,rpc,status}.
 * @param method_path  "/flame.v1.RunnerService/Boot" (split into service and rpc).
 * @param grpc_status  the status sent (0 OK, 5 NOT_FOUND, ...).
 */
void metrics_rpc_done(const char *method_path, int grpc_status);

/**
 * One Boot attempt ended: flamed_boot_duration_seconds{result="ok"|"error"}.
 * @param err  0 or the FLAME_E* code Boot answered with.
 */
void metrics_boot_done(int err, int64_t duration_ms);

/**
 * One Docker Engine API request completed (signature of docker_request_hook):
 * flamed_docker_request_duration_seconds{endpoint} and
 * flamed_docker_requests_total{endpoint,code}.
 * @param method          "GET", "POST", ...
 * @param path_template   "/containers/{id}/start" (bounded set: never a raw id).
 * @param http_status     the HTTP status, 0 when no answer came (transport error).
 */
void metrics_docker_request(const char *method, const char *path_template, long http_status,
                            int64_t duration_us);

/** A Watch stream was ended because its watcher fell behind (WATCH_TOO_SLOW). */
void metrics_watch_dropped(void);
/** A Watch resumed from an after_sequence (replayed from history). */
void metrics_watch_resumed(void);
/** Docker's /events stream was lost (flamed opens it again and reconciles). */
void metrics_docker_events_lost(void);

/** Callback a source uses to report one (pool, state) runner count. */
typedef void (*metrics_emit_fn)(void *emit_ud, const char *pool, const char *state, size_t count);

/** Gauges read at scrape time; any function may be NULL. */
struct metrics_source {
    /* Report flamed_runners{pool,state}: call emit once per (pool, state). */
    void (*runners)(void *ud, metrics_emit_fn emit, void *emit_ud);
    /* flamed_watchers: open Watch streams. */
    size_t (*watchers)(void *ud);
    /* flamed_docker_up: 1 Docker answers /_ping, 0 it does not, -1 unknown. */
    int (*docker_up)(void *ud);
    /* flamed_docker_retries_total: transient Docker failures retried. */
    unsigned long (*docker_retries)(void *ud);
    void *ud;
};

/**
 * Install (src copied) or clear (NULL) the scrape-time source. Returns once
 * no scrape is using the previous one, so its state may then be freed.
 */
void metrics_set_source(const struct metrics_source *src);

/** flamed_build_info{version,grpc_core_version} 1 and process_start_time_seconds. Copied. */
void metrics_set_build_info(const char *version, const char *grpc_version);

/**
 * Render every metric in the Prometheus text exposition format 0.0.4.
 * @param[out] out  malloc'd, NUL-terminated; the caller frees it.
 * @param[out] len  its length (without the NUL); may be NULL.
 * @return 0 or FLAME_ENOMEM.
 */
int metrics_render(char **out, size_t *len);

/** Forget every counter and histogram (tests). */
void metrics_reset(void);

#endif
