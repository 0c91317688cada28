/*
 * The service's reaper jobs (see reaper_jobs.h): the reaper thread removes
 * the containers of runners that exited on its own (idle shutdown inside the
 * runner, crash, OOM) or that Boot and Shutdown could not remove, and runs
 * the resyncs the Docker event follower asks for, since the follower's
 * thread must never call Docker itself.
 */
#include "service/reaper_jobs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "flame/error.h"
#include "service/adopt.h"
#include "service/service.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x

/*
 * A Boot that gave up (cancel, deadline, a lost create answer) can see Docker
 * create or start its container afterwards: Docker finishes a create whose
 * client hung up. Its runner is FAILED or REMOVED by then; remove the
 * container by its name (unique per runner id), whatever Boot's own cleanup
 * found.
 */
static void remove_late(struct service *svc, const char *runner_id)
{
    struct runner *r = NULL;
    if (runner_registry_get(svc->reg, runner_id, &r) == FLAME_ENOMEM)
        flamed_log(LOG_WARN, "boot_late_container_remove_failed", "runner_id=%s error=out of memory",
                   runner_id);
    if (r && r->name[0] && !r->keep_runner) {
        char derr[512];
        int rc = svc->engine->ops->remove(svc->engine, r->name, derr, sizeof(derr));
        if (rc == 0)
            flamed_log(LOG_INFO, "boot_late_container_removed", "runner_id=%s pool=%s name=%s",
                       r->id, r->pool, r->name);
        else if (rc != FLAME_ENOTFOUND && rc != FLAME_ECONFLICT) /* 409: being removed */
            flamed_log(LOG_WARN, "boot_late_container_remove_failed",
                       "runner_id=%s pool=%s name=%s error=%s", r->id, r->pool, r->name, derr);
    }
    runner_free(r);
}

/* Remove a runner's container; REAPER_RETRY while Docker refuses (not 409). */
static int remove_container(struct service *svc, const struct reaper_job *job, int stopping)
{
    struct runner *r = NULL;
    int out = REAPER_DONE;
    if (runner_registry_get(svc->reg, job->runner_id, &r) == FLAME_ENOMEM)
        return job->attempts + 1 < REAPER_REMOVE_ATTEMPTS && !stopping ? REAPER_RETRY : REAPER_DONE;
    if (r && r->container_id[0] && !r->keep_runner && r->state != S(REMOVED)) {
        char derr[512];
        int rc = svc->engine->ops->remove(svc->engine, r->container_id, derr, sizeof(derr));
        if (rc == 0 || rc == FLAME_ENOTFOUND) {
            runner_registry_checked(runner_registry_set_removed(svc->reg, r->id), "set_removed", r->id);
            if (rc == 0)
                flamed_log(LOG_INFO, "runner_reaped", "runner_id=%s pool=%s exit_code=%d oom_killed=%d",
                           r->id, r->pool, r->exit_code, r->oom_killed);
        } else if (rc == FLAME_ECONFLICT) { /* 409: a removal is already in progress */
            flamed_log(LOG_DEBUG, "reap_in_progress", "runner_id=%s", r->id);
        } else if (job->attempts + 1 < REAPER_REMOVE_ATTEMPTS && !stopping) {
            flamed_log(LOG_WARN, "reap_retry", "runner_id=%s pool=%s attempt=%d error=%s", r->id,
                       r->pool, job->attempts + 1, derr);
            out = REAPER_RETRY;
        } else {
            flamed_log(LOG_ERROR, "reap_failed", "runner_id=%s pool=%s error=%s", r->id, r->pool,
                       derr);
        }
    }
    runner_free(r);
    return out;
}

int service_reaper_run(void *ctx, const struct reaper_job *job, int stopping)
{
    struct service *svc = ctx;
    switch (job->kind) {
    case REAPER_REMOVE:
        return remove_container(svc, job, stopping);
    case REAPER_REMOVE_LATE:
        remove_late(svc, job->runner_id);
        return REAPER_DONE;
    case REAPER_RESYNC_STREAM: /* the event stream (re)opened: adopt, catch up on what we missed */
        if (!stopping)
            service_resync_for_stream(svc);
        return REAPER_DONE;
    case REAPER_ADOPT: { /* an event for a container of ours we do not track */
        atomic_store(&svc->adopt_pending, 0);
        char derr[512];
        if (!stopping && service_resync(svc, derr, sizeof(derr)) < 0)
            flamed_log(LOG_WARN, "adopt_failed", "error=\"%s\"", derr);
        return REAPER_DONE;
    }
    }
    return REAPER_DONE;
}
