/*
 * server/engine/swarm_engine.h - the Docker Swarm mode engine (`flamed
 * --engine swarm`): struct engine (engine.h) over a swarm manager reached
 * through the docker client (local socket or TCP+TLS). One service per
 * runner: one replica, RestartPolicy none, endpoint mode dnsrr, named and
 * hostnamed as the runner, on the request's attachable overlay network. The
 * id an op takes is the service's ID. docs/engines.md ("Docker Swarm mode")
 * says what works and what does not yet.
 *
 * Exec, logs and stop of a runner go to its task's container through the same
 * client: they work when the task runs on the node flamed reaches (a
 * single-node swarm, or a task placed on the manager); otherwise they answer
 * FLAME_EPRECONDITION (exec) or FLAME_EUNIMPLEMENTED (logs) naming swarm.
 *
 * Thread-safety: as engine.h; the docker_client is shared by every view.
 * Follows: Docker Engine API v1.41 ServiceCreate, ServiceInspect,
 * ServiceDelete, ServiceList, TaskList, SystemInfo, and the container calls
 * of docker_engine.h for the task's container.
 */
#ifndef FLAMED_ENGINE_SWARM_ENGINE_H
#define FLAMED_ENGINE_SWARM_ENGINE_H

#include "docker/docker.h"
#include "engine/engine.h"

/**
 * An engine over `dk` (borrowed: it must outlive the engine and its views).
 * Makes no request: whether dk reaches a swarm manager is known at the first
 * op that needs it (FLAME_EPRECONDITION saying `docker swarm init`).
 * @param[out] out  free with swarm_engine_free().
 * @return 0 or FLAME_ENOMEM.
 */
int swarm_engine_new(struct engine **out, docker_client *dk);

/** Free an engine made by swarm_engine_new() (not a view). Accepts NULL. */
void swarm_engine_free(struct engine *e);

/**
 * Is the engine at dk an active swarm manager? For flamed's start-up log.
 * @return 0; FLAME_EPRECONDITION (not in a swarm, or a worker) with what to
 *         do in err; transport codes.
 */
int swarm_engine_check(docker_client *dk, char *err, size_t errlen);

#endif
