/*
 * server/common/metrics_http.h - the optional HTTP listener for Prometheus
 * (flamed --metrics-listen ADDR): GET /metrics answers metrics_render() in
 * the text exposition format; GET / says where the metrics are; anything
 * else is 404 (or 405 for other methods). HTTP is libmicrohttpd's: one
 * internal polling thread, a few connections at a time, short timeouts.
 *
 * Plaintext and unauthenticated, as Prometheus endpoints usually are: the
 * metrics hold pool names and counts, never tokens or runner ids. Bind it to
 * loopback or a private network.
 *
 * Thread-safety: start and stop from one thread (main); requests are served
 * on libmicrohttpd's thread.
 */
#ifndef FLAMED_METRICS_HTTP_H
#define FLAMED_METRICS_HTTP_H

#include <stddef.h>

typedef struct metrics_http metrics_http;

/**
 * Listen on addr and serve /metrics.
 * @param addr  "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", ":9464" (all
 *              IPv4 addresses); port 0 picks a free port. Copied.
 * @param[out] out         stop with metrics_http_stop().
 * @param[out] bound_port  the port listened on (for port 0); may be NULL.
 * @param err, errlen      why it failed.
 * @return 0; FLAME_EINVALID (bad address); FLAME_EUNAVAILABLE (cannot listen, or
 *         libmicrohttpd cannot be loaded: it is dlopen()ed by the first call, so a
 *         flamed without --metrics-listen never loads it nor the GnuTLS it pulls in);
 *         FLAME_ENOMEM.
 */
int metrics_http_start(metrics_http **out, const char *addr, int *bound_port, char *err,
                       size_t errlen);

/** Stop listening, wait for requests in progress, free. Accepts NULL. */
void metrics_http_stop(metrics_http *m);

#endif
