/*
 * server/rpc/health.h - grpc.health.v1.Health (Check and Watch).
 *
 * The rpc layer does not know what "healthy" means: the owner calls
 * rpc_health_set() on each change (flamed: SERVING while Docker answers
 * /_ping). Check("") and Check(<known service>) answer the status; an unknown
 * service is NOT_FOUND. Watch sends the current status at once, keeps the
 * stream open and sends each change; an unknown service streams
 * SERVICE_UNKNOWN without ending.
 *
 * Thread-safety: all functions are safe from any thread.
 * Follows: https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 */
#ifndef FLAMED_RPC_HEALTH_H
#define FLAMED_RPC_HEALTH_H

#include "rpc/rpc.h"

typedef struct rpc_health rpc_health;

/* Serving statuses (grpc.health.v1.HealthCheckResponse.ServingStatus). */
enum rpc_health_status {
    RPC_HEALTH_UNKNOWN = 0,
    RPC_HEALTH_SERVING = 1,
    RPC_HEALTH_NOT_SERVING = 2,
    RPC_HEALTH_SERVICE_UNKNOWN = 3,
};

/**
 * @param services  NULL-terminated names the server serves (besides ""); copied.
 * @param[out] out  free with rpc_health_free() after the server is shut down.
 * @return 0 or FLAME_ENOMEM. The initial status is NOT_SERVING.
 */
int rpc_health_new(rpc_health **out, const char *const *services);
void rpc_health_free(rpc_health *h);

/** Set every service's status; watchers are told when it changes. */
void rpc_health_set(rpc_health *h, enum rpc_health_status status);

/** The current status. */
enum rpc_health_status rpc_health_get(rpc_health *h);

/** End every Watch (server shutting down): they get UNAVAILABLE. */
void rpc_health_close(rpc_health *h);

/**
 * The two methods (Check, Watch), with h as their context: append to the
 * server's method table. @return 2; fills out[0..1].
 */
size_t rpc_health_methods(rpc_health *h, struct rpc_method out[2]);

#endif
