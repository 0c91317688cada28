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
 * Mounts as given (a bind mount refused: its source would be a path of
 * whichever node runs the task, not the one the policy checked); one replica (Mode.Replicated.Replicas 1);
 * RestartPolicy.Condition "none"; EndpointSpec.Mode "dnsrr";
 * TaskTemplate.Networks [{Target: network, Aliases: [name]}] when a network
 * is given. From the canonical HostConfig: Memory -> Resources.Limits.MemoryBytes,
 * NanoCpus -> Limits.NanoCPUs, PidsLimit -> Limits.Pids,
 * MemoryReservation -> Reservations.MemoryBytes, Init, ReadonlyRootfs ->
 * ReadOnly, CapAdd/CapDrop -> CapabilityAdd/CapabilityDrop, Ulimits,
 * Sysctls, GroupAdd -> Groups, Dns/DnsSearch/DnsOptions -> DNSConfig,
 * LogConfig -> TaskTemplate.LogDriver. Any other HostConfig field has no
 * service equivalent: refused (never dropped). spec->placement (canonical,
 * boot_placement.h) -> TaskTemplate.Placement as it is.
 *
 * @param[out] out  owned by the caller (cJSON_Delete).
 * @return 0; FLAME_EINVALID naming the HostConfig field ("host_config.X has no
 *         Swarm service equivalent ...") or the bind mount ("mounts[N]: ..."); FLAME_EUNIMPLEMENTED for open_stdin
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

struct docker_container_state;

/**
 * The task as an engine_state (swarm_task_state), corrected by its
 * container's own state as the node that runs it reports it (Docker Engine
 * API ContainerInspect, docker_container_state_parse). The manager learns of
 * a container's exit after the node does (84 ms seen on one node, more under
 * load), so while a task still says running:
 * - a container that has ended (State.Status exited or dead) is reported as
 *   the Docker engine reports it on one host: its status, running 0, its
 *   exit code, OOMKilled and State.Error; the address stays the task's;
 * - a running container gives its StartedAt (the start itself, where the
 *   task's Status.Timestamp is when the manager heard of it).
 * A task that has ended (status exited) keeps its own word, except
 * OOMKilled, which a task's status does not carry: an ended container's
 * OOMKilled is taken. Any other container state (paused, restarting) and
 * any other task state leave the task's word as it is. Pure.
 * @param c  the container's state (borrowed); NULL: the task's word alone.
 */
void swarm_task_state_container(const struct swarm_task *t, const struct docker_container_state *c,
                                struct engine_state *st);

/** A swarm node, as GET /nodes reports it (copied out of the JSON). */
struct swarm_node {
    char id[72];            /* ID */
    char hostname[256];     /* Description.Hostname */
    char state[16];         /* Status.State: ready, down, disconnected, unknown */
    char availability[16];  /* Spec.Availability: active, pause, drain */
    char addr[64];          /* Status.Addr */
};

/**
 * The node with this ID in a GET /nodes answer (an array; borrowed).
 * @return 0; FLAME_ENOTFOUND when absent (or id is NULL or "").
 */
int swarm_node_find(const cJSON *nodes, const char *id, struct swarm_node *out);

/** Is the node lost to the swarm (Status.State down or disconnected)? "unknown"
 *  (a manager that just started and has not heard from it yet) is not. */
int swarm_node_lost(const struct swarm_node *n);

/** Where a runner's task is, for Watch (swarm_watch_read). */
enum swarm_phase {
    SWARM_PHASE_PENDING = 0, /* not running yet */
    SWARM_PHASE_RUNNING = 1,
    SWARM_PHASE_ENDED = 2,   /* ended, never ran, or lost with its node */
};

/** One runner's task as Watch sees it (the newest task of its service). */
struct swarm_watch_item {
    char service_id[72];    /* ServiceID */
    char runner_id[72];     /* its Spec.ContainerSpec.Labels[id_label], "" when absent */
    char node_id[72];       /* NodeID, "" until assigned */
    int phase;              /* enum swarm_phase */
    int exit_code;          /* ENDED: the container's exit code; -1 when unknown (node lost) */
    char error[384];        /* ENDED: why, naming the node when it is the cause; else "" */
};

/**
 * Read every runner's task from one poll: per ServiceID the task with the
 * highest Version.Index; its phase from Status.State, and ENDED also when
 * its node is lost (swarm_node_lost: the task still says running, since
 * the node cannot report) with exit_code -1 and an error naming the node's
 * ID and hostname. A task shut down on a drained node says so in error.
 *
 * @param tasks     GET /tasks?filters={"label":[...]} (an array; borrowed).
 * @param nodes     GET /nodes (an array; borrowed); NULL: no node is lost.
 * @param id_label  the label holding the runner's id (may be NULL).
 * @param[out] out  malloc'd array of *n items (free()); NULL when *n is 0.
 * @return 0 or FLAME_ENOMEM.
 */
int swarm_watch_read(const cJSON *tasks, const cJSON *nodes, const char *id_label,
                     struct swarm_watch_item **out, size_t *n);

#endif
