/*
 * server/service/shutdown.h - stopping runners (shutdown.c): the Shutdown
 * RPC's work, shared with the janitor.
 */
#ifndef FLAMED_SHUTDOWN_H
#define FLAMED_SHUTDOWN_H

#include <stddef.h>

#include "runner/runner.h"

struct service;

/**
 * Stop a runner (grace in ms), record its exit, remove its container unless
 * kept; the registry transitions publish STOPPING, EXITED, REMOVED. A removal
 * Docker refuses with 409 past 10 s is left to the reaper. Blocking: call from
 * a worker or the janitor.
 * @param r  a snapshot of the runner (borrowed).
 * @return 0 or the Docker error (FLAME_EUNAVAILABLE, ...), detail in err.
 * Follows: Docker Engine API ContainerStop, ContainerKill, ContainerWait, ContainerDelete.
 */
int service_stop_runner(struct service *svc, const struct runner *r, unsigned grace_ms, char *err,
                        size_t errlen);

#endif
