/* List: the runners flamed tracks now, oldest first, optionally one pool's.
 * Answered on the CQ thread: a registry snapshot, no Docker call. The
 * ListResponse is assembled from each runner's cached wire form (field 1,
 * `repeated Runner runners`), so a List is a memcpy per runner. */
#include <stdlib.h>

#include "flame/error.h"
#include "service/request.h"
#include "service/service.h"

static int caller_allows(void *call, const char *pool)
{
    return service_caller_allows((const svc_call *)call, pool);
}

void service_list(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__ListRequest *req = (const Flame__V1__ListRequest *)call->request;
    char err[256];
    int rc = request_pool_validate(req->pool, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    uint8_t *wire = NULL;
    size_t len = 0;
    rc = runner_registry_list_wire(svc->reg, req->pool, 1 /* ListResponse.runners */,
                                   caller_allows, call, &wire, &len);
    if (rc < 0) {
        call_finish(call, rc, NULL, "out of memory", NULL);
        return;
    }
    call_finish_wire(call, wire, len);
}
