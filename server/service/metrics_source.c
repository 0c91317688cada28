/*
 * The service's scrape-time metrics (see metrics_source.h): computed from the
 * registry when Prometheus asks, so there is no second copy of runner state
 * to keep true. A scrape costs one registry snapshot (O(runners)).
 */
#include "service/metrics_source.h"

#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "runner/runner.h"
#include "service/adopt.h"
#include "service/service.h"

/* Runner states by their proto enum value, as List and Watch name them. */
static const char *state_name(int state)
{
    switch (state) {
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING: return "BOOTING";
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING: return "RUNNING";
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_STOPPING: return "STOPPING";
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_EXITED: return "EXITED";
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_REMOVED: return "REMOVED";
    case FLAME__V1__RUNNER_STATE__RUNNER_STATE_FAILED: return "FAILED";
    default: return "UNSPECIFIED";
    }
}

static int by_pool_state(const void *a, const void *b)
{
    const struct runner *x = *(const struct runner *const *)a, *y = *(const struct runner *const *)b;
    int c = strcmp(x->pool, y->pool);
    return c ? c : (int)x->state - (int)y->state;
}

static void runners(void *ud, metrics_emit_fn emit, void *emit_ud)
{
    struct service *svc = ud;
    struct runner **rs = NULL;
    size_t n = 0;
    if (runner_registry_list(svc->reg, NULL, &rs, &n) < 0)
        return;
    /* Sorted, equal (pool, state) runs are adjacent: one line per run. */
    qsort(rs, n, sizeof(*rs), by_pool_state);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && by_pool_state(&rs[i], &rs[j]) == 0)
            j++;
        emit(emit_ud, rs[i]->pool, state_name((int)rs[i]->state), j - i);
        i = j;
    }
    runner_list_free(rs, n);
}

static size_t watchers(void *ud)
{
    struct service *svc = ud;
    return event_hub_watchers(svc->hub);
}

static int docker_up(void *ud)
{
    struct service *svc = ud;
    return service_serving(svc);
}

static unsigned long docker_retries(void *ud)
{
    struct service *svc = ud;
    return svc->engine->ops->retries(svc->engine);
}

void service_metrics_register(struct service *svc)
{
    struct metrics_source src = {runners, watchers, docker_up, docker_retries, svc};
    metrics_set_source(&src);
}

void service_metrics_unregister(void) { metrics_set_source(NULL); }
