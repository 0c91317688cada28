/*
 * server/engine/swarm_watch.h - the Swarm engine's events op (engine.h
 * `events`): what happens to runners' tasks, on every node of the swarm.
 *
 * Two sources, one callback: the container events of the node flamed
 * reaches (label-filtered as on one host, each one's id turned into its
 * service's id: a die or destroy there is seen at once, with the exit code
 * and oom), and a poll of the manager every SWARM_WATCH_POLL_MS (GET
 * /tasks?filters={"label":[label]} and GET /nodes), which sees the tasks of
 * every node: a task that starts (start), ends (die, with its exit code and
 * the swarm's error), is lost with its node (die, exit code unknown, an
 * error naming the node) or is gone with its service (destroy). A state told
 * by one source is not told again by the other.
 *
 * Thread-safety: io's callbacks are called from two threads (the stream's,
 * the poll's), never at once (one lock).
 * Follows: Docker Engine API v1.41 SystemEvents, TaskList, NodeList.
 */
#ifndef FLAMED_ENGINE_SWARM_WATCH_H
#define FLAMED_ENGINE_SWARM_WATCH_H

#include "docker/docker.h"
#include "engine/engine.h"

/* How often the manager's tasks and nodes are polled (ms). */
#define SWARM_WATCH_POLL_MS 1000

/**
 * Follow the runners labelled `label` ("key=value") until io stops it or the
 * container event stream is lost (the poll stops with it). Blocking.
 * @param dk        the manager's client (borrowed; shared, thread-safe).
 * @param id_label  the label holding the runner's id (events' runner_id).
 * @param since_nano  the container stream's start (Unix ns; 0: now).
 * @return 0 when stopped by io or ended; an error when the stream is lost.
 *         A failed poll is retried at the next period, not an error.
 */
int swarm_watch_events(docker_client *dk, const char *label, const char *id_label, int64_t since_nano,
                       const struct engine_events_io *io, char *err, size_t errlen);

#endif
