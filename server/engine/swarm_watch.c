/*
 * The Swarm engine's events (swarm_watch.h): this node's container events
 * and a poll of the manager's tasks and nodes, merged. Each runner's service
 * has an entry holding what was told of it (pending, running, ended,
 * destroyed), so each state is told once, by whichever source saw it first;
 * a poll tells what the stream cannot see: tasks on other nodes, and a node
 * the swarm lost. Polling was chosen for other nodes because the manager
 * has no event stream of task states (its /events has service and node
 * events, not a task's end), and a node that goes down sends nothing at all.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine/swarm_spec.h"
#include "engine/swarm_watch.h"

#define LABEL_SERVICE_ID "com.docker.swarm.service.id"

enum told { TOLD_NONE = -1, TOLD_PENDING = 0, TOLD_RUNNING = 1, TOLD_ENDED = 2, TOLD_DESTROYED = 3 };

struct entry {
    char service_id[72];
    int told;          /* enum told */
    int error_told;    /* a die with the swarm's reason was told */
    unsigned seen;     /* the poll generation that last saw it */
    unsigned born;     /* the generation current when it was made */
};

struct watch {
    pthread_mutex_t mu; /* io's callbacks, entries */
    const struct engine_events_io *io;
    const char *label, *id_label;
    struct entry *entries;
    size_t n, cap;
    unsigned gen;
    atomic_int stop;
    atomic_int io_stopped; /* on_event asked to stop */
};

/* The entry of a service; made when absent (NULL: out of memory). Caller holds mu. */
static struct entry *entry_of(struct watch *w, const char *sid)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->entries[i].service_id, sid) == 0)
            return &w->entries[i];
    if (strlen(sid) >= sizeof(w->entries[0].service_id))
        return NULL;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct entry *e = realloc(w->entries, cap * sizeof(*e));
        if (!e)
            return NULL;
        w->entries = e;
        w->cap = cap;
    }
    struct entry *e = &w->entries[w->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->service_id, sizeof(e->service_id), "%s", sid);
    e->told = TOLD_NONE;
    e->born = w->gen;
    return e;
}

/* Tell io; caller holds mu. */
static void tell(struct watch *w, const struct engine_event *ev)
{
    if (!atomic_load(&w->io_stopped) && w->io->on_event(w->io->ud, ev))
        atomic_store(&w->io_stopped, 1);
}

/* ---- the container stream of this node ---- */

static const char *attr(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "Actor"), "Attributes"),
        key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_docker_event(void *ud, const cJSON *js)
{
    struct watch *w = ud;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(js, "Action");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(js, "timeNano");
    const char *service = attr(js, LABEL_SERVICE_ID);
    if (!service)
        return 0; /* labelled as ours but no task's container: not a runner of this engine */
    struct engine_event ev = {
        .action = cJSON_IsString(action) ? action->valuestring : NULL,
        .id = service,
        .runner_id = w->id_label ? attr(js, w->id_label) : NULL,
        .exit_code = attr(js, "exitCode"),
        .time_nano = cJSON_IsNumber(tn) ? (int64_t)tn->valuedouble : 0,
    };
    if (ev.action && strncmp(ev.action, "health_status: ", 15) == 0)
        ev.health = ev.action + 15;
    pthread_mutex_lock(&w->mu);
    struct entry *e = entry_of(w, service);
    if (e && ev.action) {
        int t = strcmp(ev.action, "start") == 0     ? TOLD_RUNNING
                : strcmp(ev.action, "die") == 0     ? TOLD_ENDED
                : strcmp(ev.action, "destroy") == 0 ? TOLD_DESTROYED
                                                    : TOLD_NONE;
        if (t > e->told)
            e->told = t;
    }
    tell(w, &ev);
    pthread_mutex_unlock(&w->mu);
    return atomic_load(&w->io_stopped);
}

static void on_docker_open(void *ud)
{
    struct watch *w = ud;
    if (w->io->on_open)
        w->io->on_open(w->io->ud);
}

static int docker_should_stop(void *ud)
{
    struct watch *w = ud;
    return atomic_load(&w->io_stopped) || (w->io->should_stop && w->io->should_stop(w->io->ud));
}

/* ---- the poll of the manager ---- */

/* Tell what one poll's reading says that was not told yet; gen: the
 * generation taken before the poll asked the manager. Caller holds mu. */
static void apply_poll(struct watch *w, unsigned gen, const struct swarm_watch_item *items, size_t n)
{
    char code[16];
    for (size_t i = 0; i < n; i++) {
        const struct swarm_watch_item *it = &items[i];
        struct entry *e = entry_of(w, it->service_id);
        if (!e)
            continue; /* out of memory: the next poll tries again */
        e->seen = gen;
        struct engine_event ev = {.id = it->service_id, .runner_id = it->runner_id[0] ? it->runner_id : NULL};
        if (it->phase == SWARM_PHASE_RUNNING && e->told < TOLD_RUNNING) {
            ev.action = "start";
            e->told = TOLD_RUNNING;
            tell(w, &ev);
        } else if (it->phase == SWARM_PHASE_ENDED &&
                   (e->told < TOLD_ENDED ||
                    (e->told == TOLD_ENDED && it->error[0] && !e->error_told))) {
            /* Also after this node's own die: the swarm's reason (a drained
             * node) is more than the exit code said. */
            snprintf(code, sizeof(code), "%d", it->exit_code);
            ev.action = "die";
            ev.exit_code = it->exit_code >= 0 ? code : NULL;
            ev.error = it->error[0] ? it->error : NULL;
            e->told = TOLD_ENDED;
            e->error_told = it->error[0] != '\0';
            tell(w, &ev);
        } else if (it->phase == SWARM_PHASE_PENDING && e->told < TOLD_PENDING) {
            e->told = TOLD_PENDING;
        }
    }
    /* Not in this poll: the service and its tasks are gone, unless the
     * stream made its entry after the poll asked (a runner just started). */
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++) {
        struct entry *e = &w->entries[i];
        if (e->seen == gen || e->born >= gen) {
            w->entries[k++] = *e;
            continue;
        }
        if (e->told >= TOLD_PENDING && e->told < TOLD_DESTROYED) {
            struct engine_event ev = {.action = "destroy", .id = e->service_id};
            tell(w, &ev);
        }
    }
    w->n = k;
}

static int poll_cancelled(void *ud)
{
    struct watch *w = ud;
    return atomic_load(&w->stop);
}

static void poll_once(struct watch *w, docker_client *view)
{
    cJSON *tasks = NULL, *nodes = NULL;
    struct swarm_watch_item *items = NULL;
    size_t n = 0;
    char err[512];
    pthread_mutex_lock(&w->mu);
    unsigned gen = ++w->gen;
    pthread_mutex_unlock(&w->mu);
    int rc = docker_task_list_labelled(view, w->label, &tasks, err, sizeof(err));
    if (rc == 0 && docker_node_list(view, &nodes, err, sizeof(err)) < 0)
        nodes = NULL; /* no node is known lost; tasks still tell their own ends */
    if (rc == 0)
        rc = swarm_watch_read(tasks, nodes, w->id_label, &items, &n);
    if (rc == 0) {
        pthread_mutex_lock(&w->mu);
        apply_poll(w, gen, items, n);
        pthread_mutex_unlock(&w->mu);
    } else if (!atomic_load(&w->stop)) {
        flamed_log(LOG_DEBUG, "swarm_poll_failed", "error=\"%s\"", err);
    }
    free(items);
    cJSON_Delete(tasks);
    cJSON_Delete(nodes);
}

struct poller {
    struct watch *w;
    docker_client *view;
};

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    while (!atomic_load(&p->w->stop)) {
        poll_once(p->w, p->view);
        for (int ms = 0; ms < SWARM_WATCH_POLL_MS && !atomic_load(&p->w->stop); ms += 50) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int swarm_watch_events(docker_client *dk, const char *label, const char *id_label, int64_t since_nano,
                       const struct engine_events_io *io, char *err, size_t errlen)
{
    struct watch w = {.io = io, .label = label, .id_label = id_label};
    struct poller p = {&w, NULL};
    struct docker_bounds b = {.cancelled = poll_cancelled, .ud = &w};
    pthread_t th;
    int polling = 0;
    pthread_mutex_init(&w.mu, NULL);
    atomic_init(&w.stop, 0);
    atomic_init(&w.io_stopped, 0);
    /* Without the poll, Watch still sees this node's runners: start the stream regardless. */
    if (label && docker_client_bounded(&p.view, dk, &b) == 0) {
        polling = pthread_create(&th, NULL, poll_main, &p) == 0;
        if (!polling)
            docker_client_free(p.view);
    }
    if (!polling)
        flamed_log(LOG_WARN, "swarm_poll_not_started", "hint=\"runners on other swarm nodes are not watched\"");
    struct docker_events_io dio = {on_docker_event, on_docker_open, docker_should_stop, &w};
    int rc = docker_events_stream(dk, label, since_nano, &dio, err, errlen);
    atomic_store(&w.stop, 1);
    if (polling) {
        pthread_join(th, NULL);
        docker_client_free(p.view);
    }
    pthread_mutex_destroy(&w.mu);
    free(w.entries);
    return rc;
}
