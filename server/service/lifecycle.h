/*
 * server/service/lifecycle.h - start and stop the service: its state, the
 * registry and event hub, and its threads (the reaper, the Docker event
 * follower, the janitor; the Docker health monitor is started apart, by
 * service_health_start()).
 *
 * Thread-safety: call service_start() and service_stop() from one thread
 * (main); service_close_watches() is thread-safe.
 */
#ifndef FLAMED_LIFECYCLE_H
#define FLAMED_LIFECYCLE_H

#include "engine/engine.h"

struct service;
struct service_config;

/**
 * Create the service: hub, registry, reaper, the Docker event follower
 * thread (which adopts flamed's existing containers and then follows
 * /events) and the janitor.
 * @param[out] out  the service; stop and free it with service_stop().
 * @param engine    borrowed; must outlive the service.
 * @param cfg       copied (its strings and policy are borrowed, and must outlive the service).
 * @return 0 or FLAME_ENOMEM.
 */
int service_start(struct service **out, struct engine *engine, const struct service_config *cfg);

/** End every Watch stream (flamed is shutting down). Call before the transport stops. */
void service_close_watches(struct service *svc);

/**
 * Stop the event follower, health monitor, janitor and reaper (the reaper
 * first runs the jobs still queued, without retries), and free everything.
 * Accepts NULL.
 */
void service_stop(struct service *svc);

#endif
