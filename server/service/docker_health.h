/*
 * server/service/docker_health.h - the Docker health monitor (docker_health.c).
 */
#ifndef FLAMED_DOCKER_HEALTH_H
#define FLAMED_DOCKER_HEALTH_H

struct service;

/**
 * Start the Docker health monitor thread (it runs until service_stop()).
 * serving_fn(ud, serving) is told each change of whether flamed serves (1
 * while Docker answers /_ping and the registry matches Docker; 0 at first),
 * from the monitor's or the reaper's thread, under the service's sync lock:
 * it must not call back into the service. `ud` is borrowed and must outlive
 * the service.
 * @return 0 or FLAME_ENOMEM.
 */
int service_health_start(struct service *svc, void (*serving_fn)(void *ud, int serving), void *ud);

#endif
