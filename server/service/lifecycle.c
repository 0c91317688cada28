/*
 * Service start and stop (see lifecycle.h). Threads start in dependency
 * order (reaper, then the follower that feeds it, then the janitor) and stop
 * in the reverse: the producers of reaper jobs end before the reaper drains.
 */
#include "service/boot_news.h"
#include "service/lifecycle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "flame/error.h"
#include "service/adopt.h"
#include "service/follower.h"
#include "service/lease.h"
#include "service/reaper.h"
#include "service/reaper_jobs.h"
#include "service/service.h"
#include "service/warm.h"

int service_start(struct service **out, struct engine *engine, const struct service_config *cfg)
{
    struct service *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return FLAME_ENOMEM;
    service_sync_init(svc);
    svc->cfg = *cfg;
    svc->engine = engine;
    snprintf(svc->instance_label, sizeof(svc->instance_label), "%s=%s", RUNNER_LABEL_INSTANCE,
             cfg->instance && cfg->instance[0] ? cfg->instance : "default");
    if (!cfg->policy) {
        char perr[256];
        if (policy_parse(&svc->builtin_policy, NULL, engine->ops->address(engine), perr,
                         sizeof(perr)) < 0)
            goto nomem;
    }
    svc->policy = cfg->policy ? cfg->policy : svc->builtin_policy;
    if (boot_news_new(&svc->news) < 0 || event_hub_new(&svc->hub) < 0 ||
        runner_registry_new(&svc->reg, svc->hub) < 0)
        goto nomem;
    if (reaper_start(&svc->reaper, service_reaper_run, svc, REAPER_RETRY_DELAY_MS) < 0)
        goto nomem;
    /* Adoption runs in the background (the follower's first opening queues
     * it): flamed serves at once, and calls that need the registry wait for
     * it (service_gate). */
    if (follower_start(svc) < 0 || service_janitor_start(svc) < 0 ||
        (cfg->pools && warm_start(&svc->warm, svc, cfg->pools, cfg->init_path) < 0)) {
        service_stop(svc);
        return FLAME_ENOMEM;
    }
    *out = svc;
    return 0;
nomem:
    reaper_stop(svc->reaper);
    service_sync_destroy(svc);
    runner_registry_free(svc->reg);
    event_hub_free(svc->hub);
    boot_news_free(svc->news);
    policy_free(svc->builtin_policy);
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
    /* First, while the engine and the registry are whole: untaken warm
     * runners are removed (taken ones stay, as every runner does). */
    warm_stop(svc->warm);
    svc->warm = NULL;
    follower_join(svc);
    if (svc->health_started)
        pthread_join(svc->health_thread, NULL);
    if (svc->janitor_started)
        pthread_join(svc->janitor_thread, NULL);
    reaper_stop(svc->reaper);
    runner_registry_free(svc->reg);
    event_hub_free(svc->hub);
    boot_news_free(svc->news);
    policy_free(svc->builtin_policy);
    service_sync_destroy(svc);
    free(svc);
}
