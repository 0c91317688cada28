/* List: the runners flamed tracks now, oldest first, optionally one pool's.
 * Answered on the CQ thread: a registry snapshot, no Docker call. */
#include <stdlib.h>

#include "flame/error.h"
#include "service/request.h"
#include "service/service.h"

void service_list(rpc_call *call)
{
    struct service *svc = rpc_call_context(call);
    const Flame__V1__ListRequest *req = (const Flame__V1__ListRequest *)rpc_call_request(call);
    char err[256];
    struct runner **rs = NULL;
    size_t n = 0;
    Flame__V1__Runner *prs = NULL;
    Flame__V1__Runner **ptrs = NULL;
    size_t converted = 0;
    int rc = request_pool_validate(req->pool, err, sizeof(err));
    if (rc < 0) {
        rpc_call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    if ((rc = runner_registry_list(svc->reg, req->pool, &rs, &n)) < 0)
        goto done;
    prs = calloc(n ? n : 1, sizeof(*prs));
    ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    if (!prs || !ptrs) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    size_t shown = 0;
    for (; converted < n; converted++) {
        if ((rc = runner_to_proto(rs[converted], &prs[converted])) < 0)
            goto done;
        if (service_caller_allows(call, rs[converted]->pool))
            ptrs[shown++] = &prs[converted];
    }
    Flame__V1__ListResponse resp = FLAME__V1__LIST_RESPONSE__INIT;
    resp.n_runners = shown;
    resp.runners = ptrs;
    rpc_call_finish(call, 0, NULL, NULL, &resp.base);
done:
    if (rc < 0)
        rpc_call_finish(call, rc, NULL, "out of memory", NULL);
    for (size_t i = 0; i < converted; i++)
        runner_proto_release(&prs[i]);
    free(prs);
    free(ptrs);
    runner_list_free(rs, n);
}
