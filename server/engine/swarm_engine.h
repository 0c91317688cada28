/*
 * server/engine/swarm_engine.h - the Docker Swarm mode engine (`flamed
 * --engine swarm`): struct engine (engine.h) over a swarm manager reached
 * through the docker client (local socket or TCP+TLS). One service per
 * runner: one replica, RestartPolicy none, endpoint mode dnsrr, named and
 * hostnamed as the runner, on the request's attachable overlay network. The
 * id an op takes is the service's ID. docs/engines.md ("Docker Swarm mode")
 * says what works and what does not yet.
 *
 * Exec, logs and stop of a runner go to its task's container: through the
 * same client when the task runs on the node that client reaches, else
 * through the --swarm-nodes entry of its node (swarm_nodes.h). A node that
 * is neither, or that does not answer: FLAME_EUNREACHABLE naming the node
 * and the flag (a stop then removes the service instead). An exec made on a
 * mapped node has the id "EXECID@KEY" (KEY: the node's --swarm-nodes key).
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

struct swarm_nodes;

/**
 * An engine over `dk` (borrowed: it must outlive the engine and its views),
 * reaching other nodes' engines through `nodes` (borrowed likewise; NULL:
 * none, only the node dk reaches).
 * Makes no request: whether dk reaches a swarm manager is known at the first
 * op that needs it (FLAME_EPRECONDITION saying `docker swarm init`).
 * @param[out] out  free with swarm_engine_free().
 * @return 0 or FLAME_ENOMEM.
 */
int swarm_engine_new(struct engine **out, docker_client *dk, const struct swarm_nodes *nodes);

/** Free an engine made by swarm_engine_new() (not a view). Accepts NULL. */
void swarm_engine_free(struct engine *e);

/**
 * Is the engine at dk an active swarm manager? For flamed's start-up log.
 * @return 0; FLAME_EPRECONDITION (not in a swarm, or a worker) with what to
 *         do in err; transport codes.
 */
int swarm_engine_check(docker_client *dk, char *err, size_t errlen);

#endif
