/*
 * Shutdown: stop a runner with a grace period (SIGTERM, then SIGKILL), then
 * remove its container unless it was booted with keep_runner. Idempotent: a
 * runner that is already gone answers OK with its last state; an id flamed
 * never knew answers NOT_FOUND.
 * Follows: Docker Engine API ContainerStop, ContainerInspect, ContainerDelete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"
#include "service/adopt.h"
#include "service/reaper.h"
#include "service/request.h"
#include "service/service.h"
#include "service/shutdown.h"

static void finish_with(svc_call *call, struct runner *r)
{
    Flame__V1__ShutdownResponse resp = FLAME__V1__SHUTDOWN_RESPONSE__INIT;
    Flame__V1__Runner pr;
    if (!r || runner_to_proto(r, &pr) < 0) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    resp.runner = &pr;
    call_finish(call, 0, NULL, NULL, &resp.base);
    runner_proto_release(&pr);
}

int service_stop_runner(struct service *svc, const struct runner *r, unsigned grace_ms, char *err,
                        size_t errlen)
{
    char derr[1024] = "";
    /* Not tracked any more (logged): its container is stopped all the same. */
    runner_registry_checked(runner_registry_set_stopping(svc->reg, r->id), "set_stopping", r->id);
    struct engine *eng = svc->engine;
    int rc = eng->ops->stop(eng, r->container_id, grace_ms, derr, sizeof(derr));
    if (rc == FLAME_ENOTFOUND) {
        runner_registry_checked(runner_registry_set_removed(svc->reg, r->id), "set_removed", r->id);
        return 0;
    }
    if (rc < 0) {
        snprintf(err, errlen, "stopping runner %s: %s", r->id, derr);
        return rc;
    }
    struct engine_state st;
    if (eng->ops->inspect(eng, r->container_id, r->network, &st, derr, sizeof(derr)) == 0)
        runner_registry_checked(runner_registry_set_exited(svc->reg, r->id, st.exit_code, st.oom_killed),
                                "set_exited", r->id);
    if (r->keep_runner)
        return 0;
    rc = eng->ops->remove(eng, r->container_id, derr, sizeof(derr));
    if (rc == FLAME_ECONFLICT) {
        /* 409 (with force=1): a removal is already in progress (the reaper,
         * a docker rm). Docker's wait?condition=removed answers when it ends
         * (404: it already has); after 10 s, the reaper keeps removing it
         * until Docker lets it go. */
        if (eng->ops->wait_removed(eng, r->container_id, 10000, derr, sizeof(derr)) == 0)
            rc = 0;
        else {
            reaper_push(svc->reaper, REAPER_REMOVE, r->id);
            return 0;
        }
    }
    if (rc == 0 || rc == FLAME_ENOTFOUND) {
        runner_registry_checked(runner_registry_set_removed(svc->reg, r->id), "set_removed", r->id);
        return 0;
    }
    snprintf(err, errlen, "removing runner %s's container: %s", r->id, derr);
    return rc;
}

static void shutdown_worker(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__ShutdownRequest *req = (const Flame__V1__ShutdownRequest *)call->request;
    struct runner *r = call->state;
    char err[2048] = "";
    int64_t t0 = clock_mono_ms();
    unsigned grace_ms = req->timeout_ms ? req->timeout_ms
                                        : (svc->cfg.default_stop_timeout_ms ? svc->cfg.default_stop_timeout_ms : 10000);
    int rc = service_stop_runner(svc, r, grace_ms, err, sizeof(err));
    if (rc < 0 && !r->keep_runner) {
        /* Docker did not stop or remove it (an outage, a hung daemon): the
         * reaper keeps removing it (DELETE ?force=1) so it is not left behind. */
        reaper_push(svc->reaper, REAPER_REMOVE, r->id);
        size_t n = strlen(err);
        snprintf(err + n, sizeof(err) - n, "; flamed keeps trying to remove it");
    }
    if (rc < 0) {
        flamed_log(LOG_WARN, "shutdown_failed", "runner_id=%s pool=%s error=%s", r->id, r->pool, err);
        /* A reason names what failed: Docker unreachable, or Docker refused/failed. */
        call_finish(call, rc, rc == FLAME_EUNAVAILABLE ? "DOCKER_UNAVAILABLE" : "DOCKER_ERROR", err,
                        NULL);
        return;
    }
    struct runner *final = NULL;
    runner_registry_get(svc->reg, r->id, &final); /* NULL: finish_with answers out of memory */
    flamed_log(LOG_INFO, "shutdown_ok", "runner_id=%s pool=%s state=%s exit_code=%d duration_ms=%lld",
               r->id, r->pool, final ? runner_state_name(final->state) : "?",
               final ? final->exit_code : -1, (long long)(clock_mono_ms() - t0));
    finish_with(call, final);
    runner_free(final);
}

static void runner_free_void(void *p) { runner_free(p); }

void service_shutdown(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__ShutdownRequest *req = (const Flame__V1__ShutdownRequest *)call->request;
    char err[512];
    int rc = request_runner_id_validate(req->runner_id, "runner_id", err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    if (req->timeout_ms > 3600000u) {
        call_finish(call, FLAME_EINVALID, "INVALID_REQUEST",
                        "timeout_ms is larger than one hour (3600000)", NULL);
        return;
    }
    struct runner *r = NULL;
    rc = runner_registry_get(svc->reg, req->runner_id, &r);
    service_audit(call, "runner_id=%s", req->runner_id);
    if (rc == FLAME_ENOMEM) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    /* Another tenant's, or a warm runner no Boot took (service/warm.h): as if unknown. */
    if (r && (r->hidden || !service_caller_allows(call, r->pool))) {
        runner_free(r);
        r = NULL;
    }
    if (!r && service_docker_away(svc)) { /* the registry may lag Docker: do not say "never" */
        snprintf(err, sizeof(err), "Docker does not answer, and runner '%s' is not among the runners "
                                   "flamed knows: retry once Docker is back", req->runner_id);
        call_finish(call, FLAME_EUNAVAILABLE, "DOCKER_UNAVAILABLE", err, NULL);
        return;
    }
    if (!r) {
        snprintf(err, sizeof(err), "runner '%s' not found: flamed never booted it (List shows "
                                   "the current runners)", req->runner_id);
        call_finish(call, FLAME_ENOTFOUND, "RUNNER_NOT_FOUND", err, NULL);
        return;
    }
    call_set_state(call, r, runner_free_void);
    int st = r->state;
    if (st == FLAME__V1__RUNNER_STATE__RUNNER_STATE_REMOVED ||
        (!r->container_id[0] && st == FLAME__V1__RUNNER_STATE__RUNNER_STATE_FAILED)) {
        finish_with(call, r); /* already gone: idempotent */
        return;
    }
    if (!r->container_id[0]) {
        snprintf(err, sizeof(err), "runner %s is still booting and has no container yet: retry "
                                   "Shutdown once Boot has returned", r->id);
        call_finish(call, FLAME_EPRECONDITION, "RUNNER_BOOTING", err, NULL);
        return;
    }
    if ((rc = call_run_blocking(call, shutdown_worker)) < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn and Shutdown calls: retry later", NULL);
}
