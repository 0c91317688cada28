/*
 * The Docker event follower and the reaper: how flamed notices runners that
 * exit on their own (idle shutdown inside the runner, crash, OOM).
 *
 * One thread holds one GET /events stream filtered by this flamed's instance
 * label (flamed.instance). `oom` marks the runner OOM-killed, `die` records its exit code
 * (EXITED), `destroy` marks it REMOVED. A runner that exits on its own while
 * RUNNING is handed to the reaper thread, which removes its container unless
 * it is kept. The event thread never calls Docker itself (a subscriber that
 * does not read within 100 ms misses events), except to reconcile after
 * (re)connecting: then every tracked container is inspected, since events
 * during the gap are lost; the stream resumes with since = the last event's
 * time.
 *
 * On start, flamed adopts the containers that carry its instance label (running ones as
 * RUNNING, exited kept ones as EXITED), so a restarted flamed still lists,
 * watches and shuts down its runners.
 * Follows: Docker Engine API SystemEvents, ContainerList, ContainerInspect.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "flame/error.h"
#include "service/service.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x

struct reap_item {
    struct reap_item *next;
    char id[RUNNER_ID_LEN + 2]; /* a runner id, "-" + a runner id, "+" or "" */
    int attempts;
};

#define REAP_ATTEMPTS 30 /* a removal Docker refuses is retried, 1 s apart */

struct reaper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct reap_item *head, *tail;
    int stop;
    pthread_t thread;
    struct service *svc;
};

int64_t service_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t service_now_ms(void)
{
    return service_now_us() / 1000;
}

/* Queue a runner for removal; "" queues a reconcile of every tracked runner. */
void service_reap(struct service *svc, const char *runner_id)
{
    struct reaper *rp = svc->reaper;
    struct reap_item *it = calloc(1, sizeof(*it));
    if (!it) {
        flamed_log(LOG_ERROR, "reap_dropped", "runner_id=%s reason=out_of_memory", runner_id);
        return;
    }
    snprintf(it->id, sizeof(it->id), "%s", runner_id);
    pthread_mutex_lock(&rp->mu);
    if (rp->tail)
        rp->tail->next = it;
    else
        rp->head = it;
    rp->tail = it;
    pthread_cond_signal(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
}

static void reconcile(struct service *svc);
static void adopt(struct service *svc);

/*
 * A Boot that gave up (cancel, deadline, a lost create answer) can see Docker
 * create or start its container afterwards: Docker finishes a create whose
 * client hung up. Its runner is FAILED or REMOVED by then; remove the
 * container by its name (unique per runner id), whatever Boot's own cleanup
 * found.
 */
static void remove_late(struct service *svc, const char *runner_id)
{
    struct runner *r = runner_registry_get(svc->reg, runner_id);
    if (r && r->name[0] && !r->keep_runner) {
        char derr[512];
        int rc = docker_container_remove(svc->docker, r->name, derr, sizeof(derr));
        if (rc == 0)
            flamed_log(LOG_INFO, "boot_late_container_removed", "runner_id=%s pool=%s name=%s",
                       r->id, r->pool, r->name);
        else if (rc != FLAME_ENOTFOUND && rc != FLAME_ECONFLICT) /* 409: being removed */
            flamed_log(LOG_WARN, "boot_late_container_remove_failed",
                       "runner_id=%s pool=%s name=%s error=%s", r->id, r->pool, r->name, derr);
    }
    runner_free(r);
}

static void *reaper_main(void *arg)
{
    struct reaper *rp = arg;
    struct service *svc = rp->svc;
    for (;;) {
        pthread_mutex_lock(&rp->mu);
        while (!rp->head && !rp->stop)
            pthread_cond_wait(&rp->cv, &rp->mu);
        struct reap_item *it = rp->head;
        if (it) {
            rp->head = it->next;
            if (!rp->head)
                rp->tail = NULL;
        }
        int stop = rp->stop;
        pthread_mutex_unlock(&rp->mu);
        if (!it) {
            if (stop)
                break;
            continue;
        }
        if (!it->id[0]) { /* the event stream (re)opened: catch up on what we missed */
            reconcile(svc);
            free(it);
            continue;
        }
        if (it->id[0] == '+') { /* an event for a container of ours we do not track */
            atomic_store(&svc->adopt_pending, 0);
            adopt(svc);
            free(it);
            continue;
        }
        if (it->id[0] == '-') { /* a container Docker made for a Boot that gave up */
            remove_late(svc, it->id + 1);
            free(it);
            continue;
        }
        struct runner *r = runner_registry_get(svc->reg, it->id);
        if (r && r->container_id[0] && !r->keep_runner && r->state != S(REMOVED)) {
            char derr[512];
            int rc = docker_container_remove(svc->docker, r->container_id, derr, sizeof(derr));
            if (rc == 0 || rc == FLAME_ENOTFOUND)
                runner_registry_set_removed(svc->reg, r->id);
            else if (rc != FLAME_ECONFLICT && ++it->attempts < REAP_ATTEMPTS && !stop) {
                /* 409 means a removal is already in progress; anything else: try again. */
                flamed_log(LOG_WARN, "reap_retry", "runner_id=%s pool=%s attempt=%d error=%s", r->id,
                           r->pool, it->attempts, derr);
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&rp->mu);
                it->next = NULL;
                if (rp->tail)
                    rp->tail->next = it;
                else
                    rp->head = it;
                rp->tail = it;
                pthread_mutex_unlock(&rp->mu);
                runner_free(r);
                continue;
            } else if (rc != FLAME_ECONFLICT) {
                flamed_log(LOG_ERROR, "reap_failed", "runner_id=%s pool=%s error=%s", r->id,
                           r->pool, derr);
            }
            else
                flamed_log(LOG_DEBUG, "reap_in_progress", "runner_id=%s", r->id);
            if (rc == 0)
                flamed_log(LOG_INFO, "runner_reaped", "runner_id=%s pool=%s exit_code=%d oom_killed=%d",
                           r->id, r->pool, r->exit_code, r->oom_killed);
        }
        runner_free(r);
        free(it);
    }
    return NULL;
}

/* The runner exited on its own (or we learned so late): record it, reap it. */
static void runner_exited(struct service *svc, const struct runner *before, int exit_code, int oom)
{
    runner_registry_set_exited(svc->reg, before->id, exit_code, oom);
    /* BOOTING: Boot owns the cleanup. STOPPING: Shutdown does. */
    if (before->state == S(RUNNING) && !before->keep_runner)
        service_reap(svc, before->id);
    if (before->state == S(RUNNING))
        flamed_log(LOG_INFO, "runner_exited", "runner_id=%s pool=%s exit_code=%d oom_killed=%d",
                   before->id, before->pool, exit_code, oom > 0);
}

struct follower {
    struct service *svc;
    int64_t last_time_nano;
    int opened;
};

static const char *attr(const cJSON *ev, const char *key)
{
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_event(void *ud, const cJSON *ev)
{
    struct follower *f = ud;
    struct service *svc = f->svc;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(ev, "timeNano");
    if (cJSON_IsNumber(tn) && (int64_t)tn->valuedouble > f->last_time_nano)
        f->last_time_nano = (int64_t)tn->valuedouble;
    if (!cJSON_IsString(action) || !cJSON_IsString(id))
        return 0;
    const char *a = action->valuestring;
    struct runner *r = runner_registry_get_by_container(svc->reg, id->valuestring);
    if (!r) {
        const char *rid = attr(ev, RUNNER_LABEL_ID);
        if (rid)
            r = runner_registry_get(svc->reg, rid);
    }
    if (!r) {
        /* Ours (the stream is filtered by our instance label) but untracked: a create
         * that a killed flamed sent finished after we adopted. Adopt it (once queued). */
        if (strncmp(a, "destroy", 7) != 0 && !atomic_exchange(&svc->adopt_pending, 1))
            service_reap(svc, "+");
        return 0;
    }
    /* REMOVED: Boot's own removal is done (it found nothing, or this is a stale
     * event); FAILED with the name as container id: Boot lost its create's answer
     * and may be removing by name right now. Otherwise Boot's cleanup owns it. */
    if ((strcmp(a, "create") == 0 || strcmp(a, "start") == 0) && !r->keep_runner &&
        (r->state == S(REMOVED) ||
         (r->state == S(FAILED) && strcmp(r->container_id, r->name) == 0))) {
        char late[RUNNER_ID_LEN + 2];
        snprintf(late, sizeof(late), "-%s", r->id);
        service_reap(svc, late);
    } else if (strncmp(a, "oom", 3) == 0) {
        runner_registry_set_oom(svc->reg, r->id);
    } else if (strncmp(a, "die", 3) == 0) {
        const char *code = attr(ev, "exitCode");
        long ec = code ? strtol(code, NULL, 10) : -1;
        runner_exited(svc, r, (int)ec, -1);
    } else if (strncmp(a, "destroy", 7) == 0) {
        runner_registry_set_removed(svc->reg, r->id);
    }
    if (log_enabled(LOG_DEBUG))
        flamed_log(LOG_DEBUG, "docker_event", "action=%s runner_id=%s", a, r->id);
    runner_free(r);
    return 0;
}

/* Inspect every live runner's container and apply what changed while we were not listening. */
static void reconcile(struct service *svc)
{
    struct runner **rs = NULL;
    size_t n = 0;
    if (runner_registry_list(svc->reg, NULL, &rs, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct runner *r = rs[i];
        if (!r->container_id[0] || r->state == S(BOOTING))
            continue;
        cJSON *inspect = NULL;
        char derr[256];
        int rc = docker_container_inspect(svc->docker, r->container_id, &inspect, derr, sizeof(derr));
        if (rc == FLAME_ENOTFOUND) {
            runner_registry_set_removed(svc->reg, r->id);
        } else if (rc == 0) {
            struct docker_container_state st;
            if (docker_container_state_parse(inspect, r->network, &st) == 0 && !st.running &&
                (r->state == S(RUNNING) || r->state == S(STOPPING)))
                runner_exited(svc, r, st.exit_code, st.oom_killed);
        }
        cJSON_Delete(inspect);
    }
    runner_list_free(rs, n);
}

static void on_open(void *ud)
{
    struct follower *f = ud;
    f->opened = 1;
    service_reap(f->svc, ""); /* reconcile on the reaper thread: never block the reader */
}

static int should_stop(void *ud)
{
    struct follower *f = ud;
    return atomic_load(&f->svc->stopping);
}

/* Read one label from a container list entry's Labels. */
static const char *label_of(const cJSON *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "Labels"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Adopt flamed's containers found in Docker (a restarted flamed keeps its runners). */
static void adopt(struct service *svc)
{
    cJSON *list = NULL;
    char derr[512];
    if (docker_container_list(svc->docker, svc->instance_label, &list, derr, sizeof(derr)) < 0) {
        flamed_log(LOG_WARN, "adopt_failed", "error=%s", derr);
        return;
    }
    int adopted = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const char *rid = label_of(c, RUNNER_LABEL_ID);
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "Id");
        if (!rid || !cJSON_IsString(cid))
            continue;
        struct runner *existing = runner_registry_get(svc->reg, rid);
        if (existing) {
            runner_free(existing);
            continue;
        }
        cJSON *inspect = NULL;
        struct docker_container_state st;
        const char *net = label_of(c, RUNNER_LABEL_NETWORK);
        if (docker_container_inspect(svc->docker, cid->valuestring, &inspect, derr, sizeof(derr)) < 0)
            continue;
        int ok = docker_container_state_parse(inspect, net, &st) == 0;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(inspect, "Name");
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(inspect, "Config");
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(cfg, "Image");
        struct runner *r = runner_new();
        if (ok && r) {
            const char *keep = label_of(c, RUNNER_LABEL_KEEP);
            runner_set_str(&r->id, rid);
            runner_set_str(&r->container_id, cid->valuestring);
            runner_set_str(&r->name, cJSON_IsString(name) ? name->valuestring + (name->valuestring[0] == '/') : "");
            runner_set_str(&r->pool, label_of(c, RUNNER_LABEL_POOL));
            runner_set_str(&r->image, cJSON_IsString(image) ? image->valuestring : "");
            runner_set_str(&r->network, net);
            runner_set_str(&r->ip_address, st.ip_address);
            r->keep_runner = keep && strcmp(keep, "true") == 0;
            r->exit_code = st.exit_code;
            r->oom_killed = st.oom_killed;
            r->state = st.running ? S(RUNNING) : S(EXITED);
            const char *v;
            runner_set_str(&r->request_id, label_of(c, RUNNER_LABEL_REQUEST_ID));
            runner_set_str(&r->parent_id, label_of(c, RUNNER_LABEL_PARENT_ID));
            if ((v = label_of(c, RUNNER_LABEL_LEASE_TTL)))
                r->lease_ttl_ms = (uint32_t)strtoul(v, NULL, 10);
            if ((v = label_of(c, RUNNER_LABEL_MAX_LIFETIME)))
                r->max_lifetime_ms = strtoull(v, NULL, 10);
            if ((v = label_of(c, RUNNER_LABEL_IDLE_AFTER)))
                r->idle_after_ms = strtoull(v, NULL, 10);
            /* Leases and idle clocks restart at adoption: the parent gets a full TTL to
             * reconnect. Max lifetime counts from the container's start, which Docker knows. */
            int64_t now = service_now_ms();
            r->started_ms = now;
            r->last_active_ms = now;
            if (r->lease_ttl_ms)
                r->lease_expires_ms = now + r->lease_ttl_ms;
            const cJSON *started = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(inspect, "State"), "StartedAt");
            if (cJSON_IsString(started) && r->max_lifetime_ms) {
                struct tm tm = {0};
                if (strptime(started->valuestring, "%Y-%m-%dT%H:%M:%S", &tm)) {
                    int64_t age_ms = ((int64_t)time(NULL) - (int64_t)timegm(&tm)) * 1000;
                    if (age_ms > 0)
                        r->started_ms = now - age_ms;
                }
            }
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels"), *l;
            cJSON_ArrayForEach(l, labels)
            {
                if (cJSON_IsString(l))
                    runner_add_label(r, l->string, l->valuestring);
            }
            const cJSON *created = cJSON_GetObjectItemCaseSensitive(c, "Created");
            r->created_unix_nano = cJSON_IsNumber(created) ? (int64_t)created->valuedouble * 1000000000LL : 0;
            int exited_unkept = !st.running && !r->keep_runner;
            char id[RUNNER_ID_LEN + 8];
            snprintf(id, sizeof(id), "%s", rid);
            if (runner_registry_adopt(svc->reg, r) == 0) {
                adopted++;
                r = NULL;
                if (exited_unkept)
                    service_reap(svc, id);
            }
        }
        runner_free(r);
        cJSON_Delete(inspect);
    }
    cJSON_Delete(list);
    if (adopted)
        flamed_log(LOG_INFO, "runners_adopted", "count=%d", adopted);
}

static void *events_main(void *arg)
{
    struct service *svc = arg;
    struct follower f = {svc, 0, 0};
    long backoff = 100;
    int adopted = svc->adopted;
    while (!atomic_load(&svc->stopping)) {
        char derr[512] = "";
        if (!adopted) {
            char perr[256];
            if (docker_ping(svc->docker, perr, sizeof(perr)) == 0) {
                adopt(svc);
                adopted = 1;
            }
        }
        f.opened = 0;
        struct docker_events_io io = {on_event, on_open, should_stop, &f};
        /* Events before this point are covered by the reconcile below. */
        int64_t since = f.last_time_nano;
        int rc = docker_events_stream(svc->docker, svc->instance_label, since, &io, derr, sizeof(derr));
        if (atomic_load(&svc->stopping))
            break;
        if (f.opened)
            backoff = 100;
        metrics_docker_events_lost();
        flamed_log(LOG_WARN, "docker_events_lost", "error=%s retry_ms=%ld", rc < 0 ? derr : "stream ended",
                   backoff);
        struct timespec ts = {backoff / 1000, (backoff % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (backoff < 5000)
            backoff *= 2;
    }
    return NULL;
}

int service_start(struct service **out, docker_client *docker, const struct service_config *cfg)
{
    struct service *svc = calloc(1, sizeof(*svc));
    struct reaper *rp = calloc(1, sizeof(*rp));
    if (!svc || !rp)
        goto nomem;
    svc->cfg = *cfg;
    svc->docker = docker;
    snprintf(svc->instance_label, sizeof(svc->instance_label), "%s=%s", RUNNER_LABEL_INSTANCE,
             cfg->instance && cfg->instance[0] ? cfg->instance : "default");
    if (!cfg->policy) {
        char perr[256];
        if (policy_parse(&svc->builtin_policy, NULL, docker_client_socket_path(docker), perr,
                         sizeof(perr)) < 0)
            goto nomem;
    }
    svc->policy = cfg->policy ? cfg->policy : svc->builtin_policy;
    svc->reaper = rp;
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    rp->svc = svc;
    if (event_hub_new(&svc->hub) < 0 || runner_registry_new(&svc->reg, svc->hub) < 0)
        goto nomem;
    if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0)
        goto nomem;
    /* Adopt before serving, so the first List after a restart already shows the runners.
     * If Docker is down now, the events thread adopts once it answers. */
    char perr[256];
    if (docker_ping(docker, perr, sizeof(perr)) == 0) {
        adopt(svc);
        svc->adopted = 1;
    }
    if (pthread_create(&svc->events_thread, NULL, events_main, svc) != 0) {
        service_stop(svc);
        return FLAME_ENOMEM;
    }
    svc->events_started = 1;
    if (service_janitor_start(svc) < 0) {
        service_stop(svc);
        return FLAME_ENOMEM;
    }
    *out = svc;
    return 0;
nomem:
    if (svc) {
        runner_registry_free(svc->reg);
        event_hub_free(svc->hub);
        policy_free(svc->builtin_policy);
    }
    free(rp);
    free(svc);
    return FLAME_ENOMEM;
}

void service_close_watches(struct service *svc)
{
    if (svc)
        event_hub_close(svc->hub);
}

void service_stop(struct service *svc)
{
    if (!svc)
        return;
    atomic_store(&svc->stopping, 1);
    if (svc->events_started)
        pthread_join(svc->events_thread, NULL);
    if (svc->health_started)
        pthread_join(svc->health_thread, NULL);
    if (svc->janitor_started)
        pthread_join(svc->janitor_thread, NULL);
    struct reaper *rp = svc->reaper;
    pthread_mutex_lock(&rp->mu);
    rp->stop = 1;
    pthread_cond_signal(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    pthread_join(rp->thread, NULL);
    while (rp->head) {
        struct reap_item *it = rp->head;
        rp->head = it->next;
        free(it);
    }
    pthread_mutex_destroy(&rp->mu);
    pthread_cond_destroy(&rp->cv);
    free(rp);
    runner_registry_free(svc->reg);
    event_hub_free(svc->hub);
    policy_free(svc->builtin_policy);
    free(svc);
}
