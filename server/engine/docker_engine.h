/*
 * server/engine/docker_engine.h - the Docker containers engine: struct engine
 * (engine.h) over the Docker Engine API client (docker/docker.h), one
 * container per runner on one Docker Engine.
 *
 * Thread-safety: as engine.h; the docker_client is shared by every view.
 * Follows: Docker Engine API v1.41 (containers, images, networks, exec, events).
 */
#ifndef FLAMED_ENGINE_DOCKER_ENGINE_H
#define FLAMED_ENGINE_DOCKER_ENGINE_H

#include "docker/docker.h"
#include "engine/engine.h"

/**
 * An engine over `dk` (borrowed: it must outlive the engine and its views).
 * @param[out] out  free with docker_engine_free().
 * @return 0 or FLAME_ENOMEM.
 */
int docker_engine_new(struct engine **out, docker_client *dk);

/** Free an engine made by docker_engine_new() (not a view). Accepts NULL. */
void docker_engine_free(struct engine *e);

#endif
