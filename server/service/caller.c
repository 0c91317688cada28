/*
 * The caller of an RPC, seen from the service: tenancy (which pools a token
 * may use) and the audit trail (who booted, spawned, shut down what). The
 * identity comes from the rpc layer (token name or client certificate
 * subject); secrets never reach this file.
 */
#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"
#include "service/service.h"

int service_caller_allows(const svc_call *call, const char *pool)
{
    return caller_identity_allows_pool(call->identity, pool);
}

void service_caller_pools(const svc_call *call, char *out, size_t outlen)
{
    const struct caller_identity *id = call->identity;
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; id->pools && i < id->n_pools && o + 2 < outlen; i++) {
        int n = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", id->pools[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

void service_audit(const svc_call *call, const char *fmt, ...)
{
    const struct caller_identity *id = call->identity;
    char kv[1024], who[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv, sizeof(kv), fmt, ap);
    va_end(ap);
    flamed_log(LOG_INFO, "audit", "rpc=%s caller=%s via=%s %s", call->method,
               log_quote(who, sizeof(who), id->name), id->via, kv);
}
