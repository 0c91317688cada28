/*
 * server/docker/observe.h - a hook told of every completed Engine API request,
 * so someone else (flamed's metrics) can time them while this module stays
 * ignorant of who listens.
 *
 * Plain requests only (docker__do: inspect, create, start, stop, remove,
 * exec create, ping, ...); long streams (/events, exec start, logs follow,
 * image pull) are not requests that have a latency and are not reported.
 *
 * Thread-safety: the hook is an atomic pointer; set it once at start-up,
 * before requests are made, or at any time. It runs on the requesting thread,
 * after the response arrived: it must be quick and must not call Docker.
 */
#ifndef FLAMED_DOCKER_OBSERVE_H
#define FLAMED_DOCKER_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Told of one completed request.
 * @param method         "GET", "POST", "DELETE", "HEAD".
 * @param path_template  docker_path_template() of the path: "/containers/{id}/start".
 * @param http_status    the HTTP status; 0 when no response came (transport error).
 * @param duration_us    from connect (or reuse) to the last byte.
 */
typedef void (*docker_request_hook)(const char *method, const char *path_template,
                                    long http_status, int64_t duration_us);

/** Install the hook (NULL: none). */
void docker_set_request_hook(docker_request_hook hook);

/**
 * The endpoint of a request path, with ids and names replaced so the result
 * is one of a small set: "/containers/abc/json?size=1" -> "/containers/{id}/json",
 * "/images/reg.example/app:1/json" -> "/images/{name}/json", "/exec/ID/start"
 * -> "/exec/{id}/start". A leading "/v1.41" is dropped. Pure.
 * @return out (always NUL-terminated; truncated to outlen).
 */
const char *docker_path_template(const char *path, char *out, size_t outlen);

/* ---- module-internal (transport.c) ---- */

/** Report a finished request on easy handle h (a CURL *) to the hook, if any. */
void docker__observe(void *h, const char *method, const char *path);

#endif
