/* The /metrics HTTP listener on libmicrohttpd: see metrics_http.h. */
#include "common/metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "flame/error.h"

#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <microhttpd.h>

#ifndef FLAMED_MHD_SONAME
#define FLAMED_MHD_SONAME "libmicrohttpd.so.12"
#endif

#define METRICS_HTTP_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT_S 10
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
    struct MHD_Daemon *daemon;
};

/*
 * libmicrohttpd is loaded only when --metrics-listen asks for it: linked, it
 * brings GnuTLS, p11-kit, nettle, hogweed, gmp and friends into every flamed
 * and runs their initialisers (about 1 MiB of idle RSS, bench/idle_rss), for
 * a feature that is off by default. The headers still type every pointer.
 */
static struct {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_error[256];

static void mhd_load_once(void)
{
    /* Never dlclose'd: the daemon's thread runs its code until stop. */
    void *h = dlopen(FLAMED_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(mhd_error, sizeof(mhd_error), "%s", dlerror());
        return;
    }
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"MHD_start_daemon", (void **)&mhd.start_daemon},
        {"MHD_stop_daemon", (void **)&mhd.stop_daemon},
        {"MHD_get_daemon_info", (void **)&mhd.get_daemon_info},
        {"MHD_create_response_from_buffer", (void **)&mhd.create_response_from_buffer},
        {"MHD_add_response_header", (void **)&mhd.add_response_header},
        {"MHD_queue_response", (void **)&mhd.queue_response},
        {"MHD_destroy_response", (void **)&mhd.destroy_response},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
        if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
            snprintf(mhd_error, sizeof(mhd_error), "%s lacks %s", FLAMED_MHD_SONAME, syms[i].name);
            mhd.start_daemon = NULL;
            return;
        }
}

/* 0 once libmicrohttpd is loaded; FLAME_EUNAVAILABLE with the reason otherwise. */
static int mhd_load(const char *addr, char *err, size_t errlen)
{
    pthread_once(&mhd_once, mhd_load_once);
    if (mhd.start_daemon)
        return 0;
    snprintf(err, errlen, "--metrics-listen %s: cannot load libmicrohttpd (%s): install it "
             "(Debian: apt-get install libmicrohttpd12)", addr, mhd_error);
    return FLAME_EUNAVAILABLE;
}

/* Split "host:port" / "[v6]:port" / ":port" and resolve (numeric port). */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, int *port,
                      char *err, size_t errlen)
{
    char host[256];
    const char *colon, *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            goto bad;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            goto bad;
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= sizeof(host))
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        goto bad;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(host[0] ? host : "0.0.0.0", colon + 1, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errlen, "--metrics-listen '%s': cannot resolve '%s': %s", addr, host,
                 gai_strerror(gai));
        return FLAME_EINVALID;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    *port = (int)p;
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "--metrics-listen '%s': use HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464",
             addr);
    return FLAME_EINVALID;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512], q[600];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    flamed_log(LOG_WARN, "metrics_http", "error=%s", log_quote(q, sizeof(q), msg));
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, char *body, size_t len,
                               const char *type, const char *allow)
{
    struct MHD_Response *r = mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = mhd.queue_response(conn, code, r);
    mhd.destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned code, const char *text,
                                    const char *allow)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return respond(conn, code, body, strlen(body), "text/plain; charset=utf-8", allow);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    static int seen;
    (void)cls, (void)version, (void)upload;
    /* First call: headers only. Answer once any request body was consumed. */
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (strcmp(url, "/metrics") == 0) {
        if (!get)
            return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET\n", "GET, HEAD");
        char *text = NULL;
        size_t len = 0;
        if (metrics_render(&text, &len) < 0)
            return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
        return respond(conn, MHD_HTTP_OK, text, len, METRICS_CONTENT_TYPE, NULL);
    }
    if (strcmp(url, "/") == 0 && get)
        return respond_text(conn, MHD_HTTP_OK, "flamed: Prometheus metrics at /metrics\n", NULL);
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", NULL);
}

int metrics_http_start(metrics_http **out, const char *addr, int *bound_port, char *err,
                       size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    int port = 0, rc;
    *out = NULL;
    if (bound_port)
        *bound_port = 0;
    if ((rc = parse_addr(addr, &ss, &sslen, &port, err, errlen)) < 0 ||
        (rc = mhd_load(addr, err, errlen)) < 0)
        return rc;
    metrics_http *m = calloc(1, sizeof(*m));
    if (!m)
        return FLAME_ENOMEM;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->daemon = mhd.start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL,
        /* the logger first, so no message goes to MHD's own stderr logger */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S, MHD_OPTION_END);
    if (!m->daemon) {
        free(m);
        snprintf(err, errlen, "--metrics-listen %s: cannot listen (address in use or not local?)",
                 addr);
        return FLAME_EUNAVAILABLE;
    }
    const union MHD_DaemonInfo *info = mhd.get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (bound_port)
        *bound_port = info ? (int)info->port : port;
    *out = m;
    return 0;
}

void metrics_http_stop(metrics_http *m)
{
    if (!m)
        return;
    if (m->daemon)
        mhd.stop_daemon(m->daemon);
    free(m);
}
