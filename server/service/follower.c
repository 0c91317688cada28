/*
 * The Docker event follower: how flamed notices runners that exit on their
 * own (idle shutdown inside the runner, crash, OOM).
 *
 * One thread holds one GET /events stream filtered by this flamed's instance
 * label (flamed.instance). `oom` marks the runner OOM-killed, `die` records its exit code
 * (EXITED) and the engine's reason when it gives one (a Swarm node lost), `destroy`
 * marks it REMOVED. A runner that exits on its own while
 * RUNNING is handed to the reaper (reaper.h), which removes its container
 * unless it is kept. The event thread never calls Docker itself (a subscriber
 * that does not read within 100 ms misses events), except to ping it after
 * losing the stream; the stream resumes with since = the last event's time.
 *
 * Each opening of the stream queues a resync on the reaper (adopt.c): at
 * start it adopts the containers that carry the instance label (running ones
 * as RUNNING, exited kept ones as EXITED), so a restarted flamed still lists,
 * watches and shuts down its runners; after a loss it catches up on what the
 * gap hid. A lost stream makes the registry ADOPTING (Docker still answers)
 * or AWAY (it does not) until the next opening's resync.
 * Follows: Docker Engine API SystemEvents.
 */
#include "service/follower.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "flame/error.h"
#include "service/boot_news.h"
#include "service/adopt.h"
#include "service/reaper.h"
#include "service/service.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x

struct follower {
    struct service *svc;
    int64_t last_time_nano;
    int opened;
};

static int on_event(void *ud, const struct engine_event *ev)
{
    struct follower *f = ud;
    struct service *svc = f->svc;
    if (ev->time_nano > f->last_time_nano)
        f->last_time_nano = ev->time_nano;
    if (!ev->action || !ev->id)
        return 0;
    const char *a = ev->action;
    struct runner *r = NULL;
    int rc = runner_registry_get_by_container(svc->reg, ev->id, &r);
    const char *rid = ev->runner_id;
    if (rc == FLAME_ENOTFOUND && rid)
        rc = runner_registry_get(svc->reg, rid, &r);
    if (rc == FLAME_ENOMEM) {
        /* The event cannot be applied now: a resync (the adopt pass) catches
         * up on what it said, from Docker's own state. */
        flamed_log(LOG_WARN, "docker_event_dropped", "action=%s container_id=%.12s reason=out_of_memory",
                   a, ev->id);
        if (!atomic_exchange(&svc->adopt_pending, 1))
            reaper_push(svc->reaper, REAPER_ADOPT, NULL);
        return 0;
    }
    if (!r) {
        /* Ours (the stream is filtered by our instance label) but untracked: a create
         * that a killed flamed sent finished after we adopted. Adopt it (once queued). */
        if (strncmp(a, "destroy", 7) != 0 && !atomic_exchange(&svc->adopt_pending, 1))
            reaper_push(svc->reaper, REAPER_ADOPT, NULL);
        return 0;
    }
    /* A Boot waiting for this runner looks again (boot.c: start, die, oom,
     * health_status, destroy). */
    if (r->state == S(BOOTING))
        boot_news_tell(svc->news, r->id);
    /* REMOVED: Boot's own removal is done (it found nothing, or this is a stale
     * event); FAILED with the name as container id: Boot lost its create's answer
     * and may be removing by name right now. Otherwise Boot's cleanup owns it. */
    if ((strcmp(a, "create") == 0 || strcmp(a, "start") == 0) && !r->keep_runner &&
        (r->state == S(REMOVED) ||
         (r->state == S(FAILED) && strcmp(r->container_id, r->name) == 0))) {
        reaper_push(svc->reaper, REAPER_REMOVE_LATE, r->id);
    } else if (strncmp(a, "oom", 3) == 0) {
        runner_registry_checked(runner_registry_set_oom(svc->reg, r->id), "set_oom", r->id);
    } else if (strncmp(a, "die", 3) == 0) {
        const char *code = ev->exit_code;
        /* The engine's reason (a lost node) for a runner that ended on its own;
         * never over flamed's own (lease, idle) or Boot's. */
        if (ev->error && ev->error[0] && !(r->error && r->error[0]) &&
            (r->state == S(RUNNING) || r->state == S(EXITED)))
            runner_registry_checked(runner_registry_set_error(svc->reg, r->id, ev->error), "set_error",
                                    r->id);
        long ec = code ? strtol(code, NULL, 10) : -1;
        service_runner_exited(svc, r, (int)ec, -1);
    } else if (strncmp(a, "destroy", 7) == 0) {
        runner_registry_checked(runner_registry_set_removed(svc->reg, r->id), "set_removed", r->id);
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
    /* resync on the reaper thread: never block the reader */
    reaper_push(f->svc->reaper, REAPER_RESYNC_STREAM, NULL);
}

static int should_stop(void *ud)
{
    struct follower *f = ud;
    return atomic_load(&f->svc->stopping);
}

static void *follower_main(void *arg)
{
    struct service *svc = arg;
    struct follower f = {svc, 0, 0};
    long backoff = 100;
    while (!atomic_load(&svc->stopping)) {
        char derr[512] = "";
        f.opened = 0;
        struct engine_events_io io = {on_event, on_open, should_stop, &f};
        /* Events before this point are covered by the reconcile below. */
        int64_t since = f.last_time_nano;
        int rc = svc->engine->ops->events(svc->engine, svc->instance_label, RUNNER_LABEL_ID, since,
                                          &io, derr, sizeof(derr));
        if (atomic_load(&svc->stopping))
            break;
        if (f.opened)
            backoff = 100;
        /* Until the next opening's resync, the registry may miss what Docker did. */
        char perr[256] = "";
        int up = svc->engine->ops->ping(svc->engine, perr, sizeof(perr)) == 0;
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

int follower_start(struct service *svc)
{
    if (pthread_create(&svc->events_thread, NULL, follower_main, svc) != 0)
        return FLAME_ENOMEM;
    svc->events_started = 1;
    return 0;
}

void follower_join(struct service *svc)
{
    if (svc->events_started)
        pthread_join(svc->events_thread, NULL);
    svc->events_started = 0;
}
