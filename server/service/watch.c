/*
 * Watch: stream runner events to one client.
 *
 * Events come from the hub (one Docker /events connection feeds every
 * watcher, see events.c). This file pumps one watcher's bounded queue into
 * its gRPC stream with one message in flight; it never blocks a CQ thread or
 * a publisher. A watcher whose queue overflows gets what it already had, then
 * RESOURCE_EXHAUSTED naming the last sequence it received (re-list, then
 * watch again).
 *
 * Locking: the hub calls watch_kick() with its lock held, so this file never
 * calls into the hub while holding w->mu, and unsubscribes only from
 * on_close (which every call gets exactly once).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem_trim.h"
#include "common/metrics.h"
#include "flame/error.h"
#include "service/request.h"
#include "service/service.h"

struct watch {
    pthread_mutex_t mu;
    svc_call *call;
    struct service *svc;
    hub_watcher *watcher;
    int sending;  /* a send (or the initial metadata) is in flight */
    int done;     /* finish decided; no more sends */
    int closed;   /* on_close ran */
    int finish_pending; /* closed while a send was in flight: finish when it completes */
    char *parent_id;    /* holds the parent's leases while open */
    char **scope;       /* the caller's pools (copied; NULL: every pool): only their leases */
    size_t n_scope;
};

static void scope_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A copy of the caller's pool list (*out NULL: every pool). -1: out of memory. */
static int scope_copy(const struct caller_identity *id, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!id || !id->pools)
        return 0;
    char **v = calloc(id->n_pools ? id->n_pools : 1, sizeof(char *));
    if (!v)
        return -1;
    for (size_t i = 0; i < id->n_pools; i++)
        if (!(v[i] = strdup(id->pools[i] ? id->pools[i] : ""))) {
            scope_free(v, i);
            return -1;
        }
    *out = v;
    *n = id->n_pools;
    return 0;
}

static void watch_free(void *p)
{
    struct watch *w = p;
    if (!w)
        return;
    free(w->parent_id);
    scope_free(w->scope, w->n_scope);
    pthread_mutex_destroy(&w->mu);
    free(w);
    mem_trim_note(); /* the call itself goes now: the trim waits for the burst's last */
}

static void on_sent(svc_call *call, int ok);

/* Send the next queued event or end the stream. Caller holds w->mu, nothing in flight. */
static void pump_locked(struct watch *w)
{
    hub_event *ev = NULL;
    uint64_t last = 0;
    if (w->done || !w->watcher)
        return;
    switch (event_hub_pop(w->watcher, &ev, &last)) {
    case HUB_POP_EVENT:
        w->sending = 1;
        if (w->call->ops->send_packed(w->call, ev->data, ev->len, on_sent) < 0) {
            w->sending = 0;
            w->done = 1;
            call_finish(w->call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        }
        hub_event_unref(ev);
        break;
    case HUB_POP_EMPTY:
        break;
    case HUB_POP_OVERFLOW: {
        char msg[256];
        snprintf(msg, sizeof(msg), "this watcher fell more than %zu events behind and was "
                                   "dropped after sequence %llu: List, then Watch again",
                 w->svc->cfg.watch_queue_max ? w->svc->cfg.watch_queue_max : 1024,
                 (unsigned long long)last);
        w->done = 1;
        flamed_log(LOG_WARN, "watch_overflow", "last_sequence=%llu", (unsigned long long)last);
        metrics_watch_dropped();
        call_finish(w->call, FLAME_EEXHAUSTED, "WATCH_TOO_SLOW", msg, NULL);
        break;
    }
    case HUB_POP_CLOSED:
        w->done = 1;
        call_finish(w->call, FLAME_EUNAVAILABLE, "SHUTTING_DOWN",
                        "flamed is shutting down: reconnect and Watch again", NULL);
        break;
    }
}

static void watch_kick(void *ud)
{
    struct watch *w = ud;
    pthread_mutex_lock(&w->mu);
    if (!w->sending)
        pump_locked(w);
    pthread_mutex_unlock(&w->mu);
}

static void on_sent(svc_call *call, int ok)
{
    struct watch *w = call->state;
    pthread_mutex_lock(&w->mu);
    w->sending = 0;
    if (w->finish_pending) {
        w->finish_pending = 0;
        call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
    } else if (!ok) {
        if (!w->done) {
            w->done = 1;
            call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        }
    } else {
        pump_locked(w);
    }
    pthread_mutex_unlock(&w->mu);
}

static void on_close(svc_call *call)
{
    struct watch *w = call->state;
    hub_watcher *hw;
    pthread_mutex_lock(&w->mu);
    w->closed = 1;
    hw = w->watcher;
    if (!w->done) {
        w->done = 1;
        if (w->sending)
            w->finish_pending = 1;
        else
            call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
    }
    pthread_mutex_unlock(&w->mu);
    /* Outside w->mu: the hub's lock comes before ours. */
    event_hub_unsubscribe(w->svc->hub, hw);
    if (w->parent_id)
        runner_registry_parent_watch(w->svc->reg, w->parent_id, (const char *const *)w->scope,
                                     w->n_scope, -1, clock_mono_ms());
    pthread_mutex_lock(&w->mu);
    w->watcher = NULL;
    pthread_mutex_unlock(&w->mu);
    /* The stream's queue and gRPC's call arena are freed around now: give the
     * pages back once the burst of closes is over (common/mem_trim.h). */
    mem_trim_note();
}

void service_watch(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__WatchRequest *req = (const Flame__V1__WatchRequest *)call->request;
    char err[256];
    int rc = request_pool_validate(req->pool, err, sizeof(err));
    if (rc == 0 && req->runner_id && req->runner_id[0])
        rc = request_runner_id_validate(req->runner_id, "runner_id", err, sizeof(err));
    if (rc == 0)
        rc = request_key_validate(req->parent_id, "parent_id", 256, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    struct watch *w = calloc(1, sizeof(*w));
    if (!w) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    pthread_mutex_init(&w->mu, NULL);
    w->call = call;
    w->svc = svc;
    call_set_state(call, w, watch_free);
    /* Hold the pump until the initial metadata is out: sending = 1. */
    w->sending = 1;
    hub_watcher *hw = NULL;
    const struct caller_identity *id = call->identity;
    const struct runner_watch_opts wopts = {
        .pool = req->pool,
        .runner_id = req->runner_id,
        .include_existing = req->include_existing,
        .after_sequence = req->after_sequence,
        .pools = id->pools,
        .n_pools = id->pools ? id->n_pools : 0,
        .max_queue = svc->cfg.watch_queue_max,
        .kick = watch_kick,
        .ud = w,
    };
    rc = runner_registry_watch(svc->reg, &wopts, &hw);
    if (rc < 0) {
        w->sending = 0;
        w->done = 1;
        if (rc == FLAME_ERANGE)
            call_finish(call, rc, "WATCH_HISTORY_GONE",
                            "after_sequence is older than flamed's event history (or from another "
                            "flamed process): List, then Watch again without after_sequence", NULL);
        else
            call_finish(call, rc, NULL, "out of memory", NULL);
        return;
    }
    if (req->after_sequence)
        metrics_watch_resumed();
    if (req->parent_id && req->parent_id[0]) {
        /* The parent is here: its runners' leases hold while this stream is open,
         * in the caller's pools only (a parent_id is no secret). Out of memory:
         * no hold, and the leases rely on Renew. */
        if (scope_copy(call->identity, &w->scope, &w->n_scope) == 0 &&
            (w->parent_id = strdup(req->parent_id)))
            runner_registry_parent_watch(svc->reg, w->parent_id, (const char *const *)w->scope,
                                         w->n_scope, +1, clock_mono_ms());
    }
    pthread_mutex_lock(&w->mu);
    w->watcher = hw;
    pthread_mutex_unlock(&w->mu);
    call->ops->on_close(call, on_close); /* runs at once if the call already ended */
    if (call->ops->send_initial_metadata(call, on_sent) != 0) {
        pthread_mutex_lock(&w->mu);
        w->sending = 0;
        if (w->finish_pending) {
            w->finish_pending = 0;
            call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        } else if (!w->done) {
            w->done = 1;
            call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
        }
        pthread_mutex_unlock(&w->mu);
    }
}
