/* The gRPC server: CQ threads, method table, unknown methods, shutdown; see rpc.h. */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"
#include "rpc/rpc_internal.h"
#include "rpc/unix_listen.h"
#include "rpc/wire_depth.h"

/* An outstanding grpc_server_request_registered_call for one method. */
struct pending {
    struct rpc_tag tag;
    rpc_server *srv;
    const struct rpc_method *method;
    void *handle;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
};

/* An outstanding generic grpc_server_request_call: any unregistered method. */
struct generic {
    struct rpc_tag tag;      /* TAG_GENERIC: the call arrived */
    struct rpc_tag t_done;   /* TAG_GENERIC with owner->call set: answered */
    rpc_server *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    int cancelled;
    grpc_slice status;
    int answered;
};

/* Read a whole PEM file into a NUL-terminated buffer (caller frees). */
static char *read_pem(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory reading %s", path);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf || len > 1 << 20) {
        free(buf);
        snprintf(err, errlen, "%s is empty or larger than 1 MiB", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Credentials for a TCP address: TLS (mTLS with a client CA) when configured. */
static grpc_server_credentials *tcp_credentials(const struct rpc_server_options *o, char *err,
                                                size_t errlen)
{
    if (!o->tls_cert)
        return grpc_insecure_server_credentials_create();
    char *cert = read_pem(o->tls_cert, err, errlen);
    char *key = cert ? read_pem(o->tls_key, err, errlen) : NULL;
    char *ca = (key && o->tls_client_ca) ? read_pem(o->tls_client_ca, err, errlen) : NULL;
    grpc_server_credentials *creds = NULL;
    if (cert && key && (!o->tls_client_ca || ca)) {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        creds = grpc_ssl_server_credentials_create_ex(
            ca, &pair, 1,
            ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
        if (!creds)
            snprintf(err, errlen, "invalid TLS certificate or key (%s, %s)", o->tls_cert, o->tls_key);
    }
    free(cert);
    free(key);
    free(ca);
    return creds;
}

/*
 * Can flamed bind this TCP address? Tried with a socket of our own first, so a
 * taken port or a foreign address gets one actionable line instead of gRPC
 * core's error dump. Like gRPC, succeeds when any resolved address binds.
 * Addresses that getaddrinfo cannot read (dns:///, ipv4:...) are left to gRPC.
 */
static int tcp_bind_check(const char *addr, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return 0;
    size_t hlen = (size_t)(colon - addr);
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    char *h = host;
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h[hlen - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &res) != 0)
        return 0;
    int bound = 0, last = 0;
    for (struct addrinfo *ai = res; ai && !bound; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            bound = 1;
        else
            last = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (bound || !last)
        return 0;
    snprintf(err, errlen, "cannot listen on %s: %s: %s", addr, strerror(last),
             last == EADDRINUSE    ? "another process listens on that port; stop it or choose "
                                     "another --listen port"
             : last == EADDRNOTAVAIL ? "no interface of this host has that address; use one it "
                                       "has, 127.0.0.1 or 0.0.0.0"
             : last == EACCES      ? "ports below 1024 need root or CAP_NET_BIND_SERVICE; choose "
                                     "a higher --listen port"
                                   : "choose another --listen address");
    return FLAME_EUNAVAILABLE;
}

static void arm_pending(rpc_server *srv, struct pending *p)
{
    p->call = NULL;
    p->payload = NULL;
    grpc_metadata_array_init(&p->md);
    grpc_call_error e = grpc_server_request_registered_call(
        srv->server, p->handle, &p->call, &p->deadline, &p->md,
        p->method->client_streaming ? NULL : &p->payload, srv->cq, srv->cq, &p->tag);
    if (e != GRPC_CALL_OK) {
        flamed_log(LOG_ERROR, "rpc_request_failed", "rpc=%s grpc_call_error=%d", p->method->path,
                   (int)e);
        grpc_metadata_array_destroy(&p->md);
        free(p);
    }
}

static void arm_generic(rpc_server *srv)
{
    struct generic *g = calloc(1, sizeof(*g));
    if (!g) {
        flamed_log(LOG_ERROR, "rpc_request_failed", "reason=out_of_memory");
        return;
    }
    g->tag = (struct rpc_tag){TAG_GENERIC, g};
    g->t_done = (struct rpc_tag){TAG_GENERIC, g};
    g->srv = srv;
    grpc_call_details_init(&g->details);
    grpc_metadata_array_init(&g->md);
    if (grpc_server_request_call(srv->server, &g->call, &g->details, &g->md, srv->cq, srv->cq,
                                 &g->tag) != GRPC_CALL_OK) {
        grpc_call_details_destroy(&g->details);
        grpc_metadata_array_destroy(&g->md);
        free(g);
    }
}

static void generic_free(struct generic *g)
{
    if (g->call)
        grpc_call_unref(g->call);
    if (g->answered)
        grpc_slice_unref(g->status);
    grpc_call_details_destroy(&g->details);
    grpc_metadata_array_destroy(&g->md);
    free(g);
}

/* An unknown method: answer UNIMPLEMENTED at once (grpcurl probes reflection this way). */
static void on_generic(struct generic *g, struct rpc_tag *tag, int success)
{
    rpc_server *srv = g->srv;
    if (tag == &g->t_done) {
        generic_free(g);
        return;
    }
    if (!success) {
        generic_free(g);
        return;
    }
    if (!atomic_load(&srv->shutting_down))
        arm_generic(srv);
    char path[256];
    size_t len = GRPC_SLICE_LENGTH(g->details.method);
    if (len >= sizeof(path))
        len = sizeof(path) - 1;
    memcpy(path, GRPC_SLICE_START_PTR(g->details.method), len);
    path[len] = '\0';
    char msg[400];
    snprintf(msg, sizeof(msg), "unknown method %s", path);
    g->status = grpc_slice_from_copied_string(msg);
    g->answered = 1;
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
    ops[1].data.send_status_from_server.status_details = &g->status;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &g->cancelled;
    if (grpc_call_start_batch(g->call, ops, 3, &g->t_done, NULL) != GRPC_CALL_OK)
        generic_free(g);
    else
        flamed_log(LOG_INFO, "rpc_unimplemented", "path=%s", path);
}

static void on_request(struct pending *p, int success)
{
    rpc_server *srv = p->srv;
    if (!success) { /* server shutting down */
        grpc_metadata_array_destroy(&p->md);
        if (p->payload)
            grpc_byte_buffer_destroy(p->payload);
        free(p);
        return;
    }
    grpc_call *call = p->call;
    grpc_byte_buffer *payload = p->payload;
    gpr_timespec deadline = p->deadline;
    grpc_metadata_array md = p->md;
    rpc_call *c = rpc__call_new(srv, p->method, call, deadline, &md);
    /* Re-arm before handling, so the next call of this method is accepted at once. */
    if (!atomic_load(&srv->shutting_down))
        arm_pending(srv, p);
    else
        free(p);
    if (!c) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
        grpc_call_unref(call);
        grpc_metadata_array_destroy(&md);
        if (payload)
            grpc_byte_buffer_destroy(payload);
        return;
    }
    rpc__call_start(c, payload);
}

static void *cq_thread(void *arg)
{
    rpc_server *srv = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct rpc_tag *tag = ev.tag;
        switch (tag->kind) {
        case TAG_REQUEST:
            on_request(tag->owner, ev.success);
            break;
        case TAG_GENERIC:
            on_generic(tag->owner, tag, ev.success);
            break;
        case TAG_SHUTDOWN:
            pthread_mutex_lock(&srv->mu);
            srv->shutdown_done = 1;
            pthread_cond_broadcast(&srv->cv);
            pthread_mutex_unlock(&srv->mu);
            break;
        default:
            rpc__call_on_tag(tag, ev.success);
            break;
        }
    }
    return NULL;
}

int rpc_server_start(rpc_server **out, const struct rpc_server_options *opts, int *bound_port,
                     char *err, size_t errlen)
{
    int rc = 0;
    rpc_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return FLAME_ENOMEM;
    srv->opts = *opts;
    srv->opts.max_depth = rpc_wire_depth_clamp(opts->max_depth);
    if (opts->max_depth && srv->opts.max_depth != opts->max_depth)
        flamed_log(LOG_WARN, "max_depth_clamped", "max_depth=%zu used=%zu range=%d..%d",
                   opts->max_depth, srv->opts.max_depth, RPC_WIRE_DEPTH_MIN, RPC_WIRE_DEPTH_MAX);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    srv->t_shutdown = (struct rpc_tag){TAG_SHUTDOWN, srv};
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_CONCURRENT_STREAMS;
    args[0].value.integer = 4096;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[1].value.integer = opts->max_receive_bytes && opts->max_receive_bytes < (1u << 30)
                                ? (int)opts->max_receive_bytes
                                : 4 * 1024 * 1024;
    grpc_channel_args cargs = {2, args};
    srv->server = grpc_server_create(&cargs, NULL);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    srv->method_handles = calloc(opts->n_methods, sizeof(void *));
    if (!srv->method_handles) {
        rc = FLAME_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < opts->n_methods; i++)
        srv->method_handles[i] = grpc_server_register_method(
            srv->server, opts->methods[i].path, NULL,
            opts->methods[i].client_streaming ? GRPC_SRM_PAYLOAD_NONE
                                              : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
    if (bound_port)
        *bound_port = 0;
    /* Unix sockets are born owner-only, then opened up to --socket-mode: no window where
     * anyone may connect. */
    mode_t old_umask = umask(0177);
    for (const char *const *a = opts->listen; a && *a; a++) {
        const char *addr = *a;
        int is_unix = strncmp(addr, "unix:", 5) == 0;
        /* A live flamed's socket is refused, a stale one (a crashed flamed's) replaced. */
        if (is_unix && (rc = rpc_unix_listen_prepare(rpc_unix_listen_path(addr), err, errlen)) < 0) {
            umask(old_umask);
            goto fail;
        }
        if (!is_unix && (rc = tcp_bind_check(addr, err, errlen)) < 0) {
            umask(old_umask);
            goto fail;
        }
        grpc_server_credentials *creds =
            is_unix ? grpc_insecure_server_credentials_create() : tcp_credentials(opts, err, errlen);
        if (!creds) {
            rc = FLAME_EINVALID;
            umask(old_umask);
            goto fail;
        }
        int port = grpc_server_add_http2_port(srv->server, addr, creds);
        grpc_server_credentials_release(creds);
        if (port == 0) {
            snprintf(err, errlen, "cannot listen on %s (address in use, bad address, or the "
                                  "directory does not exist / is not writable)", addr);
            rc = FLAME_EUNAVAILABLE;
            umask(old_umask);
            goto fail;
        }
        if (!is_unix && bound_port && *bound_port == 0)
            *bound_port = port;
    }
    grpc_server_start(srv->server);
    umask(old_umask);
    for (const char *const *a = opts->listen; a && *a; a++) {
        if (strncmp(*a, "unix:", 5) == 0 && opts->unix_socket_mode) {
            const char *path = *a + 5;
            if (strncmp(path, "//", 2) == 0)
                path += 2;
            struct group *g = opts->unix_socket_group ? getgrnam(opts->unix_socket_group) : NULL;
            if (opts->unix_socket_group && (!g || chown(path, (uid_t)-1, g->gr_gid) != 0)) {
                snprintf(err, errlen, "cannot give %s to group '%s' (%s)", path,
                         opts->unix_socket_group, g ? strerror(errno) : "no such group");
                rc = FLAME_EINVALID;
                goto fail_started;
            }
            if (chmod(path, (mode_t)opts->unix_socket_mode) != 0) {
                snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
                rc = FLAME_EINVALID;
                goto fail_started;
            }
        }
    }
    for (size_t i = 0; i < opts->n_methods; i++) {
        struct pending *p = calloc(1, sizeof(*p));
        if (!p) {
            rc = FLAME_ENOMEM;
            goto fail_started;
        }
        p->tag = (struct rpc_tag){TAG_REQUEST, p};
        p->srv = srv;
        p->method = &opts->methods[i];
        p->handle = srv->method_handles[i];
        arm_pending(srv, p);
    }
    arm_generic(srv);
    srv->n_threads = opts->cq_threads > 0 ? opts->cq_threads : 2;
    srv->threads = calloc((size_t)srv->n_threads, sizeof(pthread_t));
    if (!srv->threads) {
        rc = FLAME_ENOMEM;
        goto fail_started;
    }
    for (int i = 0; i < srv->n_threads; i++)
        pthread_create(&srv->threads[i], NULL, cq_thread, srv);
    *out = srv;
    return 0;
fail_started:
    srv->n_threads = 0;
    rpc_server_shutdown(srv, 0);
    rpc_server_free(srv);
    return rc;
fail:
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->t_shutdown);
    grpc_server_cancel_all_calls(srv->server);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_OP_COMPLETE && ((struct rpc_tag *)ev.tag)->kind == TAG_SHUTDOWN)
            break;
    }
    grpc_completion_queue_shutdown(srv->cq);
    while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_server_destroy(srv->server);
    grpc_completion_queue_destroy(srv->cq);
    free(srv->method_handles);
    free(srv);
    return rc;
}

static int wait_until(rpc_server *srv, int (*done)(rpc_server *), long ms)
{
    struct timespec ts;
    clock_realtime_after_ms(&ts, ms);
    pthread_mutex_lock(&srv->mu);
    int ok;
    while (!(ok = done(srv))) {
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &ts) == ETIMEDOUT) {
            ok = done(srv);
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return ok;
}

static int shutdown_is_done(rpc_server *srv) { return srv->shutdown_done; }
static int workers_are_done(rpc_server *srv) { return atomic_load(&srv->workers) == 0; }

void rpc_server_shutdown(rpc_server *srv, long grace_ms)
{
    atomic_store(&srv->shutting_down, 1);
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->t_shutdown);
    if (srv->n_threads == 0) {
        /* never started threads: drain here */
        grpc_server_cancel_all_calls(srv->server);
        for (;;) {
            grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            if (ev.type != GRPC_OP_COMPLETE)
                continue;
            struct rpc_tag *tag = ev.tag;
            if (tag->kind == TAG_SHUTDOWN)
                break;
            if (tag->kind == TAG_REQUEST)
                on_request(tag->owner, 0);
            else if (tag->kind == TAG_GENERIC)
                on_generic(tag->owner, tag, 0);
        }
        srv->shutdown_done = 1;
    }
    if (!wait_until(srv, shutdown_is_done, grace_ms)) {
        flamed_log(LOG_INFO, "shutdown_cancel_calls", "active_calls=%d workers=%d",
                   atomic_load(&srv->active_calls), atomic_load(&srv->workers));
        grpc_server_cancel_all_calls(srv->server);
        wait_until(srv, shutdown_is_done, 60000);
    }
    /* Workers may still be cleaning up (a cancelled Boot removes its container). */
    if (!wait_until(srv, workers_are_done, 60000))
        flamed_log(LOG_WARN, "shutdown_workers_left", "workers=%d", atomic_load(&srv->workers));
    grpc_completion_queue_shutdown(srv->cq);
    for (int i = 0; i < srv->n_threads; i++)
        pthread_join(srv->threads[i], NULL);
    srv->n_threads = 0;
}

void rpc_server_free(rpc_server *srv)
{
    if (!srv)
        return;
    if (srv->server)
        grpc_server_destroy(srv->server);
    if (srv->cq)
        grpc_completion_queue_destroy(srv->cq);
    free(srv->threads);
    free(srv->method_handles);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}

int rpc_server_active_calls(rpc_server *srv) { return atomic_load(&srv->active_calls); }
