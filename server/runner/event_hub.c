/* Runner event fan-out; see event_hub.h. */
#include "runner/event_hub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"

struct hub_watcher {
    struct hub_watcher *next, *prev;
    char *pool, *runner_id;
    char **allowed;       /* tenancy: only these pools; NULL: all */
    size_t n_allowed;
    void (*kick)(void *ud);
    void *ud;
    pthread_mutex_t mu;   /* guards the queue fields below */
    hub_event **ring;
    size_t cap, head, count;
    int overflowed;
    int closed;
    uint64_t last_sequence;
};

struct event_hub {
    pthread_mutex_t mu;
    uint64_t sequence;
    uint64_t first_sequence;          /* the first one this process published */
    hub_event *history[HUB_HISTORY];  /* ring of the last published events */
    size_t hist_head, hist_count;
    hub_watcher *watchers;
    size_t n_watchers;
    int closed;
};

void hub_event_unref(hub_event *ev)
{
    if (!ev)
        return;
    if (atomic_fetch_sub((atomic_int *)&ev->refs, 1) == 1) {
        free(ev->data);
        free(ev->pool);
        free(ev->runner_id);
        free(ev);
    }
}

int event_hub_new(event_hub **out)
{
    event_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return FLAME_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    h->sequence = (uint64_t)(clock_unix_ns() / 1000);
    h->first_sequence = h->sequence + 1;
    *out = h;
    return 0;
}

void event_hub_free(event_hub *hub)
{
    if (!hub)
        return;
    for (size_t i = 0; i < hub->hist_count; i++)
        hub_event_unref(hub->history[(hub->hist_head + i) % HUB_HISTORY]);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

/* Pack a WatchResponse for r. Caller holds the hub lock (for seq). */
static hub_event *event_pack(int type, const struct runner *r, const struct hub_pull *pull,
                             uint64_t seq)
{
    Flame__V1__WatchResponse resp = FLAME__V1__WATCH_RESPONSE__INIT;
    Flame__V1__PullProgress pp = FLAME__V1__PULL_PROGRESS__INIT;
    Flame__V1__Runner pr;
    hub_event *ev = NULL;
    if (runner_to_proto(r, &pr) < 0)
        return NULL;
    resp.type = (Flame__V1__RunnerEventType)type;
    resp.runner = &pr;
    resp.sequence = seq;
    resp.time_unix_nano = clock_unix_ns();
    if (pull) {
        pp.image = (char *)(pull->image ? pull->image : "");
        pp.bytes_done = pull->bytes_done;
        pp.bytes_total = pull->bytes_total;
        pp.layers = pull->layers;
        pp.layers_done = pull->layers_done;
        resp.pull = &pp;
    }
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        goto done;
    ev->len = flame__v1__watch_response__get_packed_size(&resp);
    ev->data = malloc(ev->len ? ev->len : 1);
    ev->pool = strdup(r->pool);
    ev->runner_id = strdup(r->id);
    if (!ev->data || !ev->pool || !ev->runner_id) {
        free(ev->data);
        free(ev->pool);
        free(ev->runner_id);
        free(ev);
        ev = NULL;
        goto done;
    }
    flame__v1__watch_response__pack(&resp, ev->data);
    ev->refs = 1;
    ev->sequence = seq;
    ev->type = type;
done:
    runner_proto_release(&pr);
    return ev;
}

int event_hub_restrict(hub_watcher *w, const char *const *pools, size_t n)
{
    if (n == 0)
        return 0;
    char **a = calloc(n, sizeof(*a));
    if (!a)
        return FLAME_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(a[i] = strdup(pools[i]))) {
            while (i-- > 0)
                free(a[i]);
            free(a);
            return FLAME_ENOMEM;
        }
    }
    pthread_mutex_lock(&w->mu);
    w->allowed = a;
    w->n_allowed = n;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static int matches(const hub_watcher *w, const char *pool, const char *runner_id)
{
    if (w->allowed) {
        size_t i;
        for (i = 0; i < w->n_allowed; i++)
            if (strcmp(w->allowed[i], pool) == 0)
                break;
        if (i == w->n_allowed)
            return 0;
    }
    if (w->pool[0] && strcmp(w->pool, pool) != 0)
        return 0;
    if (w->runner_id[0] && strcmp(w->runner_id, runner_id) != 0)
        return 0;
    return 1;
}

int event_hub_matches(const hub_watcher *w, const struct runner *r)
{
    return matches(w, r->pool, r->id);
}

/* Queue ev for w (taking a ref). Returns 1 if w must be kicked. */
static int watcher_push(hub_watcher *w, hub_event *ev)
{
    int kick = 0;
    pthread_mutex_lock(&w->mu);
    if (w->overflowed || w->closed) {
        /* already told to end */
    } else if (w->count == w->cap) {
        w->overflowed = 1;
        kick = 1;
    } else {
        atomic_fetch_add((atomic_int *)&ev->refs, 1);
        w->ring[(w->head + w->count) % w->cap] = ev;
        kick = (w->count == 0);
        w->count++;
    }
    pthread_mutex_unlock(&w->mu);
    return kick;
}

static uint64_t publish(event_hub *hub, int type, const struct runner *r, const struct hub_pull *pull)
{
    pthread_mutex_lock(&hub->mu);
    uint64_t seq = ++hub->sequence;
    hub_event *ev = event_pack(type, r, pull, seq);
    if (!ev) {
        for (hub_watcher *w = hub->watchers; w; w = w->next) {
            pthread_mutex_lock(&w->mu);
            w->overflowed = 1;
            pthread_mutex_unlock(&w->mu);
            w->kick(w->ud);
        }
        pthread_mutex_unlock(&hub->mu);
        flamed_log(LOG_ERROR, "event_dropped", "sequence=%llu reason=out_of_memory",
                   (unsigned long long)seq);
        return 0;
    }
    for (hub_watcher *w = hub->watchers; w; w = w->next) {
        if (event_hub_matches(w, r) && watcher_push(w, ev))
            w->kick(w->ud);
    }
    /* Keep it for resumes; the oldest goes. */
    if (hub->hist_count == HUB_HISTORY) {
        hub_event_unref(hub->history[hub->hist_head]);
        hub->hist_head = (hub->hist_head + 1) % HUB_HISTORY;
        hub->hist_count--;
    }
    hub->history[(hub->hist_head + hub->hist_count) % HUB_HISTORY] = ev; /* takes our ref */
    hub->hist_count++;
    pthread_mutex_unlock(&hub->mu);
    return seq;
}

uint64_t event_hub_publish(event_hub *hub, int type, const struct runner *r)
{
    return publish(hub, type, r, NULL);
}

uint64_t event_hub_publish_pull(event_hub *hub, const struct runner *r, const struct hub_pull *pull)
{
    return publish(hub, FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_PULLING, r, pull);
}

int event_hub_subscribe(event_hub *hub, const char *pool, const char *runner_id, size_t max_queue,
                        void (*kick)(void *ud), void *ud, hub_watcher **out)
{
    hub_watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return FLAME_ENOMEM;
    w->cap = max_queue ? max_queue : 1024;
    w->ring = calloc(w->cap, sizeof(*w->ring));
    w->pool = strdup(pool ? pool : "");
    w->runner_id = strdup(runner_id ? runner_id : "");
    if (!w->ring || !w->pool || !w->runner_id) {
        free(w->ring);
        free(w->pool);
        free(w->runner_id);
        free(w);
        return FLAME_ENOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    w->kick = kick;
    w->ud = ud;
    pthread_mutex_lock(&hub->mu);
    w->closed = hub->closed;
    w->next = hub->watchers;
    if (hub->watchers)
        hub->watchers->prev = w;
    hub->watchers = w;
    hub->n_watchers++;
    pthread_mutex_unlock(&hub->mu);
    *out = w;
    return 0;
}

int event_hub_push_existing(event_hub *hub, hub_watcher *w, const struct runner *r)
{
    pthread_mutex_lock(&hub->mu);
    uint64_t seq = ++hub->sequence;
    hub_event *ev = event_pack(FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_EXISTING, r, NULL, seq);
    if (ev && watcher_push(w, ev))
        w->kick(w->ud);
    pthread_mutex_unlock(&hub->mu);
    if (!ev)
        return FLAME_ENOMEM;
    hub_event_unref(ev);
    return 0;
}

int event_hub_reserve(hub_watcher *w, size_t extra)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    size_t cap = w->cap + extra;
    hub_event **ring = extra ? calloc(cap, sizeof(*ring)) : NULL;
    if (extra && !ring) {
        rc = FLAME_ENOMEM;
    } else if (extra) {
        for (size_t i = 0; i < w->count; i++)
            ring[i] = w->ring[(w->head + i) % w->cap];
        free(w->ring);
        w->ring = ring;
        w->cap = cap;
        w->head = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int event_hub_replay(event_hub *hub, hub_watcher *w, uint64_t after_sequence)
{
    int rc = 0;
    pthread_mutex_lock(&hub->mu);
    uint64_t oldest = hub->hist_count ? hub->history[hub->hist_head]->sequence : hub->sequence + 1;
    if (after_sequence > hub->sequence || after_sequence + 1 < hub->first_sequence ||
        after_sequence + 1 < oldest) {
        rc = FLAME_ERANGE;
        goto done;
    }
    /* The replay is owed in full: room for it comes on top of the live bound. */
    size_t owed = 0;
    for (size_t i = 0; i < hub->hist_count; i++) {
        hub_event *ev = hub->history[(hub->hist_head + i) % HUB_HISTORY];
        owed += ev->sequence > after_sequence && matches(w, ev->pool, ev->runner_id);
    }
    if ((rc = event_hub_reserve(w, owed)) < 0)
        goto done;
    for (size_t i = 0; i < hub->hist_count; i++) {
        hub_event *ev = hub->history[(hub->hist_head + i) % HUB_HISTORY];
        if (ev->sequence > after_sequence && matches(w, ev->pool, ev->runner_id) &&
            watcher_push(w, ev))
            w->kick(w->ud);
    }
done:
    pthread_mutex_unlock(&hub->mu);
    return rc;
}

enum hub_pop event_hub_pop(hub_watcher *w, hub_event **out, uint64_t *last_sequence)
{
    enum hub_pop res;
    pthread_mutex_lock(&w->mu);
    if (w->count > 0) {
        *out = w->ring[w->head];
        w->ring[w->head] = NULL;
        w->head = (w->head + 1) % w->cap;
        w->count--;
        w->last_sequence = (*out)->sequence;
        res = HUB_POP_EVENT;
    } else if (w->closed) {
        res = HUB_POP_CLOSED;
    } else if (w->overflowed) {
        res = HUB_POP_OVERFLOW;
    } else {
        res = HUB_POP_EMPTY;
    }
    if (last_sequence)
        *last_sequence = w->last_sequence;
    pthread_mutex_unlock(&w->mu);
    return res;
}

void event_hub_unsubscribe(event_hub *hub, hub_watcher *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&hub->mu);
    if (w->prev)
        w->prev->next = w->next;
    else if (hub->watchers == w)
        hub->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    hub->n_watchers--;
    pthread_mutex_unlock(&hub->mu);
    while (w->count > 0) {
        hub_event_unref(w->ring[w->head]);
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    pthread_mutex_destroy(&w->mu);
    for (size_t i = 0; i < w->n_allowed; i++)
        free(w->allowed[i]);
    free(w->allowed);
    free(w->ring);
    free(w->pool);
    free(w->runner_id);
    free(w);
}

void event_hub_close(event_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    hub->closed = 1;
    for (hub_watcher *w = hub->watchers; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        w->closed = 1;
        pthread_mutex_unlock(&w->mu);
        w->kick(w->ud);
    }
    pthread_mutex_unlock(&hub->mu);
}

size_t event_hub_watchers(event_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    size_t n = hub->n_watchers;
    pthread_mutex_unlock(&hub->mu);
    return n;
}
