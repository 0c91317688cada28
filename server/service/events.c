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
 * Each opening of the stream queues a resync on the reaper (adopt.c): at
 * start it adopts the containers that carry the instance label (running ones
 * as RUNNING, exited kept ones as EXITED), so a restarted flamed still lists,
 * watches and shuts down its runners; after a loss it catches up on what the
 * gap hid. A lost stream makes the registry ADOPTING (Docker still answers)
 * or AWAY (it does not) until the next opening's resync.
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
        if (!it->id[0]) { /* the event stream (re)opened: adopt, catch up on what we missed */
            free(it);
            if (!stop)
                service_resync_for_stream(svc);
            continue;
        }
        if (it->id[0] == '+') { /* an event for a container of ours we do not track */
            atomic_store(&svc->adopt_pending, 0);
            free(it);
            char derr[512];
            if (!stop && service_resync(svc, derr, sizeof(derr)) < 0)
                flamed_log(LOG_WARN, "adopt_failed", "error=\"%s\"", derr);
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
void service_runner_exited(struct service *svc, const struct runner *before, int exit_code, int oom)
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
        service_runner_exited(svc, r, (int)ec, -1);
    } else if (strncmp(a, "destroy", 7) == 0) {
        runner_registry_set_removed(svc->reg, r->id);
    }
    if (log_enabled(LOG_DEBUG))
        flamed_log(LOG_DEBUG, "docker_event", "action=%s runner_id=%s", a, r->id);
    runner_free(r);
    return 0;
}

static void on_open(void *ud)
{
    struct follower *f = ud;
    f->opened = 1;
    service_sync_stream(f->svc, 1, 1, NULL);
    service_reap(f->svc, ""); /* resync on the reaper thread: never block the reader */
}

static int should_stop(void *ud)
{
    struct follower *f = ud;
    return atomic_load(&f->svc->stopping);
}

static void *events_main(void *arg)
{
    struct service *svc = arg;
    struct follower f = {svc, 0, 0};
    long backoff = 100;
    while (!atomic_load(&svc->stopping)) {
        char derr[512] = "";
        f.opened = 0;
        struct docker_events_io io = {on_event, on_open, should_stop, &f};
        /* Events before this point are covered by the reconcile below. */
        int64_t since = f.last_time_nano;
        int rc = docker_events_stream(svc->docker, svc->instance_label, since, &io, derr, sizeof(derr));
        if (atomic_load(&svc->stopping))
            break;
        if (f.opened)
            backoff = 100;
        /* Until the next opening's resync, the registry may miss what Docker did. */
        char perr[256] = "";
        int up = docker_ping(svc->docker, perr, sizeof(perr)) == 0;
        service_sync_stream(svc, 0, up, up ? NULL : perr);
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
    service_sync_init(svc);
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    rp->svc = svc;
    if (event_hub_new(&svc->hub) < 0 || runner_registry_new(&svc->reg, svc->hub) < 0)
        goto nomem;
    if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0)
        goto nomem;
    /* Adoption runs in the background (the events thread's first opening
     * queues it): flamed serves at once, and calls that need the registry
     * wait for it (service_gate). */
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
        if (svc->reaper)
            service_sync_destroy(svc);
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
    service_sync_destroy(svc);
    free(svc);
}
