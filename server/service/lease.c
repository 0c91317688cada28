/*
 * Runners must not outlive their purpose: the janitor thread shuts down
 * runners whose parent's lease expired (the parent neither kept a Watch with
 * its parent_id open nor called Renew for lease_ttl_ms: FLAME's Terminator
 * failsafe moved server-side, for parents that crash or are redeployed), that
 * reached max_lifetime_ms, or that ran no Spawn for idle_shutdown_after_ms.
 * Renew is here too. The registry decides who is due (runner_registry_take_due);
 * this file only acts, 5 times a second.
 * Follows: FLAME.Terminator (parent monitoring, shutdown_timeout), FLAME.Pool idle_shutdown_after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"
#include "service/lease.h"
#include "service/request.h"
#include "service/service.h"
#include "service/shutdown.h"

static void *janitor_main(void *arg)
{
    struct service *svc = arg;
    while (!atomic_load(&svc->stopping)) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        struct runner_due *due = NULL;
        size_t n = 0;
        if (runner_registry_take_due(svc->reg, clock_mono_ms(), &due, &n) < 0)
            continue;
        for (size_t i = 0; i < n && !atomic_load(&svc->stopping); i++) {
            struct runner *r = NULL;
            int rc = runner_registry_get(svc->reg, due[i].id, &r);
            if (rc < 0) {
                /* ENOTFOUND: gone meanwhile. ENOMEM: it is marked retiring and will not
                 * be due again, so say so; Shutdown or its parent can still stop it. */
                if (rc == FLAME_ENOMEM)
                    flamed_log(LOG_WARN, "runner_retire_failed", "runner_id=%s error=\"out of memory\"",
                               due[i].id);
                continue;
            }
            char err[1024] = "";
            /* Without its reason (out of memory) the runner is retired all the same. */
            runner_registry_checked(runner_registry_set_error(svc->reg, r->id, due[i].reason), "set_error",
                                    r->id);
            char q[512];
            flamed_log(LOG_INFO, "runner_retired", "runner_id=%s pool=%s reason=%s", r->id, r->pool,
                       log_quote(q, sizeof(q), due[i].reason));
            unsigned grace = svc->cfg.default_stop_timeout_ms ? svc->cfg.default_stop_timeout_ms : 10000;
            if (service_stop_runner(svc, r, grace, err, sizeof(err)) < 0)
                flamed_log(LOG_WARN, "runner_retire_failed", "runner_id=%s error=%s", r->id,
                           log_quote(q, sizeof(q), err));
            runner_free(r);
        }
        free(due);
    }
    return NULL;
}

int service_janitor_start(struct service *svc)
{
    if (pthread_create(&svc->janitor_thread, NULL, janitor_main, svc) != 0)
        return FLAME_ENOMEM;
    svc->janitor_started = 1;
    return 0;
}

void service_renew(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__RenewRequest *req = (const Flame__V1__RenewRequest *)call->request;
    char err[300];
    if (!req->parent_id || !req->parent_id[0]) {
        call_finish(call, FLAME_EINVALID, "INVALID_REQUEST", "parent_id is required", NULL);
        return;
    }
    int rc = request_key_validate(req->parent_id, "parent_id", 256, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    Flame__V1__RenewResponse resp = FLAME__V1__RENEW_RESPONSE__INIT;
    unsigned renewed = 0, ttl = 0;
    /* Only the runners of pools the caller may reach: a parent_id is no secret. */
    const struct caller_identity *who = call->identity;
    runner_registry_renew_parent(svc->reg, req->parent_id, who ? who->pools : NULL,
                                 who ? who->n_pools : 0, clock_mono_ms(), &renewed, &ttl);
    resp.renewed = renewed;
    resp.lease_ttl_ms = ttl;
    call_finish(call, 0, NULL, NULL, &resp.base);
}
