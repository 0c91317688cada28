/*
 * server/service/reaper_jobs.h - what the service's reaper does with each
 * typed job (reaper.h): removals through Docker, resyncs through adopt.c.
 */
#ifndef FLAMED_REAPER_JOBS_H
#define FLAMED_REAPER_JOBS_H

#include "service/reaper.h"

/** A removal Docker refuses is retried this many times in all, 1 s apart. */
#define REAPER_REMOVE_ATTEMPTS 30
#define REAPER_RETRY_DELAY_MS 1000

/**
 * The service's reaper_run_fn: `ctx` is the struct service (borrowed).
 * REAPER_REMOVE: remove the runner's container unless kept or already
 * REMOVED, then mark it REMOVED; retried (REAPER_RETRY) while Docker refuses,
 * except 409 (a removal already in progress). REAPER_REMOVE_LATE: remove by
 * name the container of a Boot that gave up. REAPER_RESYNC_STREAM and
 * REAPER_ADOPT: a resync (service_resync_for_stream / service_resync); not
 * run once stopping. Blocking (Docker calls): reaper thread only.
 * Follows: Docker Engine API ContainerDelete.
 */
int service_reaper_run(void *ctx, const struct reaper_job *job, int stopping);

#endif
