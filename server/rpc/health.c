/* grpc.health.v1.Health; see health.h. */
#include "rpc/health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "flame/error.h"
#include "grpc/health/v1/health.pb-c.h"

struct health_watch {
    struct health_watch *next, *prev;
    rpc_call *call;
    rpc_health *h;
    int known;          /* the service is one we serve */
    int last_sent;      /* -1: nothing yet */
    int sending;
    int done;
    int linked;
};

struct rpc_health {
    pthread_mutex_t mu;
    char **services;
    size_t n_services;
    enum rpc_health_status status;
    int closed;
    struct health_watch *watchers;
};

int rpc_health_new(rpc_health **out, const char *const *services)
{
    rpc_health *h = calloc(1, sizeof(*h));
    if (!h)
        return FLAME_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    h->status = RPC_HEALTH_NOT_SERVING;
    size_t n = 0;
    while (services && services[n])
        n++;
    h->services = calloc(n + 1, sizeof(char *));
    if (!h->services) {
        free(h);
        return FLAME_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(h->services[i] = strdup(services[i]))) {
            h->n_services = i;
            rpc_health_free(h);
            return FLAME_ENOMEM;
        }
    }
    h->n_services = n;
    *out = h;
    return 0;
}

void rpc_health_free(rpc_health *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_services; i++)
        free(h->services[i]);
    free(h->services);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int known(rpc_health *h, const char *service)
{
    if (!service || !service[0])
        return 1;
    for (size_t i = 0; i < h->n_services; i++)
        if (strcmp(h->services[i], service) == 0)
            return 1;
    return 0;
}

enum rpc_health_status rpc_health_get(rpc_health *h)
{
    pthread_mutex_lock(&h->mu);
    enum rpc_health_status s = h->status;
    pthread_mutex_unlock(&h->mu);
    return s;
}

static void on_sent(rpc_call *call, int ok);

/* Send the watcher's current status if it changed. Caller holds h->mu. */
static void pump_locked(struct health_watch *w)
{
    rpc_health *h = w->h;
    if (w->done || w->sending)
        return;
    if (h->closed) {
        w->done = 1;
        rpc_call_finish(w->call, FLAME_EUNAVAILABLE, "SHUTTING_DOWN",
                        "flamed is shutting down: reconnect and Watch again", NULL);
        return;
    }
    int status = w->known ? (int)h->status : RPC_HEALTH_SERVICE_UNKNOWN;
    if (status == w->last_sent)
        return;
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    uint8_t buf[16];
    size_t len = grpc__health__v1__health_check_response__pack(&resp, buf);
    w->sending = 1;
    if (rpc_call_send_packed(w->call, buf, len, on_sent) < 0) {
        w->sending = 0;
        w->done = 1;
        rpc_call_finish(w->call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        return;
    }
    w->last_sent = status;
}

static void on_sent(rpc_call *call, int ok)
{
    struct health_watch *w = rpc_call_state(call);
    rpc_health *h = w->h;
    pthread_mutex_lock(&h->mu);
    w->sending = 0;
    if (!ok) {
        if (!w->done) {
            w->done = 1;
            rpc_call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        }
    } else {
        pump_locked(w);
    }
    pthread_mutex_unlock(&h->mu);
}

static void on_close(rpc_call *call)
{
    struct health_watch *w = rpc_call_state(call);
    rpc_health *h = w->h;
    pthread_mutex_lock(&h->mu);
    if (w->linked) {
        if (w->prev)
            w->prev->next = w->next;
        else
            h->watchers = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->linked = 0;
    }
    if (!w->done && !w->sending) {
        w->done = 1;
        rpc_call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
    } else if (!w->done) {
        w->done = 1; /* the in-flight send completes with ok = 0 */
    }
    pthread_mutex_unlock(&h->mu);
}

void rpc_health_set(rpc_health *h, enum rpc_health_status status)
{
    pthread_mutex_lock(&h->mu);
    if (h->status != status) {
        h->status = status;
        for (struct health_watch *w = h->watchers; w; w = w->next)
            pump_locked(w);
    }
    pthread_mutex_unlock(&h->mu);
}

void rpc_health_close(rpc_health *h)
{
    pthread_mutex_lock(&h->mu);
    h->closed = 1;
    for (struct health_watch *w = h->watchers; w; w = w->next)
        pump_locked(w);
    pthread_mutex_unlock(&h->mu);
}

static void health_check(rpc_call *call)
{
    rpc_health *h = rpc_call_context(call);
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)rpc_call_request(call);
    if (!known(h, req->service)) {
        rpc_call_finish(call, FLAME_ENOTFOUND, "SERVICE_UNKNOWN", "unknown service", NULL);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)rpc_health_get(h);
    rpc_call_finish(call, 0, NULL, NULL, &resp.base);
}

static void health_watch(rpc_call *call)
{
    rpc_health *h = rpc_call_context(call);
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)rpc_call_request(call);
    struct health_watch *w = calloc(1, sizeof(*w));
    if (!w) {
        rpc_call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    w->call = call;
    w->h = h;
    w->known = known(h, req->service);
    w->last_sent = -1;
    rpc_call_set_state(call, w, free);
    pthread_mutex_lock(&h->mu);
    w->next = h->watchers;
    if (h->watchers)
        h->watchers->prev = w;
    h->watchers = w;
    w->linked = 1;
    pump_locked(w);
    pthread_mutex_unlock(&h->mu);
    rpc_call_on_close(call, on_close); /* runs at once if the call already ended */
}

size_t rpc_health_methods(rpc_health *h, struct rpc_method out[2])
{
    out[0] = (struct rpc_method){.path = "/grpc.health.v1.Health/Check",
                                 .request = &grpc__health__v1__health_check_request__descriptor,
                                 .handler = health_check, .context = h};
    out[1] = (struct rpc_method){.path = "/grpc.health.v1.Health/Watch",
                                 .request = &grpc__health__v1__health_check_request__descriptor,
                                 .server_streaming = 1, .handler = health_watch, .context = h};
    return 2;
}
