/*
 * server/service/follower.h - the Docker event follower: one thread that
 * holds GET /events (filtered by this flamed's instance label) and keeps the
 * registry true when runners change on their own.
 */
#ifndef FLAMED_FOLLOWER_H
#define FLAMED_FOLLOWER_H

struct service;

/**
 * Start the follower thread (svc->events_thread). Each opening of the stream
 * queues a REAPER_RESYNC_STREAM job (adoption at start, catch-up after a
 * loss); each loss makes the sync ADOPTING or AWAY (service_sync_stream).
 * It runs until svc->stopping is set.
 * @return 0, or FLAME_ENOMEM (no thread).
 */
int follower_start(struct service *svc);

/** Wait for the follower thread to end (set svc->stopping first). Accepts a never-started follower. */
void follower_join(struct service *svc);

#endif
