/*
 * server/engine/swarm_spec.h - the pure half of the Swarm engine
 * (swarm_engine.h): a runner's ServiceSpec from the canonical Boot request,
 * and a runner's state from its service's tasks. No I/O; thread-safe (no
 * state).
 * Follows: Docker Engine API v1.41 ServiceCreate (ServiceSpec: TaskTemplate,
 * ContainerSpec, Resources, RestartPolicy, Networks, Mode, EndpointSpec) and
 * TaskList (Task: Status, DesiredState, NetworksAttachments); moby
 * api/types/swarm.
 */
#ifndef FLAMED_ENGINE_SWARM_SPEC_H
#define FLAMED_ENGINE_SWARM_SPEC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "engine/engine.h"

/**
 * The ServiceSpec of a runner: Name and ContainerSpec.Hostname = spec->name;
 * Labels on the service and on ContainerSpec; Image, Env, Dir, User;
 * Command = entrypoint, Args = cmd (Swarm's words for ENTRYPOINT and CMD);
 * Mounts as given; one replica (Mode.Replicated.Replicas 1);
 * RestartPolicy.Condition "none"; EndpointSpec.Mode "dnsrr";
 * TaskTemplate.Networks [{Target: network, Aliases: [name]}] when a network
 * is given. From the canonical HostConfig: Memory -> Resources.Limits.MemoryBytes,
 * NanoCpus -> Limits.NanoCPUs, PidsLimit -> Limits.Pids,
 * MemoryReservation -> Reservations.MemoryBytes, Init, ReadonlyRootfs ->
 * ReadOnly, CapAdd/CapDrop -> CapabilityAdd/CapabilityDrop, Ulimits,
 * Sysctls, GroupAdd -> Groups, Dns/DnsSearch/DnsOptions -> DNSConfig,
 * LogConfig -> TaskTemplate.LogDriver. Any other HostConfig field has no
 * service equivalent: refused (never dropped).
 *
 * @param[out] out  owned by the caller (cJSON_Delete).
 * @return 0; FLAME_EINVALID naming the HostConfig field ("host_config.X has no
 *         Swarm service equivalent ..."); FLAME_EUNIMPLEMENTED for open_stdin
 *         (warm runners); FLAME_ENOMEM.
 */
int swarm_spec_build(const struct engine_spec *spec, cJSON **out, char *err, size_t errlen);

/** A runner's task, as the swarm reports it (copied out of the JSON). */
struct swarm_task {
    char id[72];            /* ID */
    char state[16];         /* Status.State: new ... running, complete, failed, rejected, ... */
    char desired[16];       /* DesiredState */
    char node_id[72];       /* NodeID ("" until assigned) */
    char container_id[72];  /* Status.ContainerStatus.ContainerID ("" until created) */
    int exit_code;          /* Status.ContainerStatus.ExitCode; -1 when absent */
    char err[256];          /* Status.Err, truncated; "" when none */
    char message[128];      /* Status.Message */
    int64_t timestamp_ms;   /* Status.Timestamp (Unix ms; 0 unknown) */
    char ip_address[64];    /* on the network named (or the first), without /prefix */
};

/**
 * The task that stands for the runner: the one with the highest
 * Version.Index (a one-replica service with RestartPolicy none has one).
 * @param tasks    GET /tasks?filters={"service":[id]} (an array; borrowed).
 * @param network  the network whose address is wanted; NULL/"": the first.
 * @return 0; FLAME_ENOTFOUND when there is no task.
 */
int swarm_task_pick(const cJSON *tasks, const char *network, struct swarm_task *out);

/** Is the task's state one it never leaves (complete, failed, rejected, shutdown, remove, orphaned)? */
int swarm_task_terminal(const struct swarm_task *t);

/**
 * The task as an engine_state: running -> "running"; before it -> "created";
 * complete, failed, shutdown, remove, orphaned -> "exited" (exit code from the
 * container, error from Status.Err); rejected -> "dead" (never ran).
 * started_at_ms: Status.Timestamp while running.
 */
void swarm_task_state(const struct swarm_task *t, struct engine_state *st);

#endif
