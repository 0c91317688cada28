/*
 * server/service/policy.h - what a parent may ask Docker for. flamed holds
 * the Docker socket (root on the host), so every Boot passes this policy.
 *
 * Without --policy the built-in policy applies: any image and network, and
 * none of the host-escaping HostConfig settings (Privileged, CapAdd, host
 * PidMode/IpcMode/UsernsMode/Cgroupns, Devices, binds or mounts of "/" or of
 * the Docker socket or a directory holding it). A policy file (JSON) can
 * narrow images and networks, allow what is denied by default, set defaults
 * and ceilings for Memory, NanoCpus and PidsLimit, quotas, and size limits:
 *
 *   {
 *     "images":   ["app:latest", "registry.example/team-*"],
 *     "networks": ["appnet"],
 *     "allow":    {"privileged": false, "cap_add": false, "host_namespaces": false,
 *                  "devices": false, "docker_socket": false, "root_bind": false},
 *     "defaults": {"Memory": 536870912, "NanoCpus": 1000000000, "PidsLimit": 512},
 *     "ceilings": {"Memory": 4294967296, "NanoCpus": 4000000000, "PidsLimit": 4096},
 *     "quotas":   {"max_runners": 200, "max_runners_per_pool": 50},
 *     "limits":   {"max_env_entries": 256, "max_env_bytes": 131072, "max_labels": 64,
 *                  "max_argv": 1024, "max_request_bytes": 4194304}
 *   }
 *
 * Every field is optional. A violation is PERMISSION_DENIED (quotas:
 * RESOURCE_EXHAUSTED; sizes: INVALID_ARGUMENT) with a message naming the rule
 * ("policy images", "policy allow.privileged", ...).
 *
 * Thread-safety: a policy is read-only after policy_load().
 */
#ifndef FLAMED_POLICY_H
#define FLAMED_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "flame/v1/runner_service.pb-c.h"

struct policy_allow {
    int privileged, cap_add, host_namespaces, devices, docker_socket, root_bind;
};

struct policy {
    char **images;          /* NULL: any image */
    size_t n_images;
    char **networks;        /* NULL: any network */
    size_t n_networks;
    struct policy_allow allow;
    int64_t def_memory, def_nano_cpus, def_pids;   /* 0: none */
    int64_t max_memory, max_nano_cpus, max_pids;   /* 0: no ceiling */
    size_t max_runners, max_runners_per_pool;      /* 0: no quota */
    size_t max_env_entries, max_env_bytes, max_labels, max_argv; /* 0: request.h's limits */
    size_t max_request_bytes;                      /* 0: gRPC's default, 4 MiB */
    char docker_socket[4096];                      /* the socket path bind checks protect */
};

/**
 * Load a policy: from JSON text (NULL: the built-in policy).
 * @param docker_socket  the socket flamed uses; binds of it (or a directory
 *                       holding it) are denied unless allow.docker_socket.
 * @param[out] out  free with policy_free().
 * @return 0; FLAME_EINVALID with err naming the bad field; FLAME_ENOMEM.
 */
int policy_parse(struct policy **out, const char *json, const char *docker_socket, char *err,
                 size_t errlen);

/** Read a file and policy_parse() it. */
int policy_load(struct policy **out, const char *path, const char *docker_socket, char *err,
                size_t errlen);

void policy_free(struct policy *p);

/**
 * Check a validated BootRequest and apply defaults/ceilings to its HostConfig.
 * @param host_config  the request's HostConfig (may be NULL); on success
 *                     *host_config may be replaced by one holding the defaults
 *                     (owned by the caller as before).
 * @param mounts       the request's Mounts array (may be NULL).
 * @return 0; FLAME_EPERM (a rule denies it; err names the rule);
 *         FLAME_EINVALID (a size limit); FLAME_ENOMEM.
 */
int policy_check_boot(const struct policy *p, const Flame__V1__BootRequest *req,
                      cJSON **host_config, const cJSON *mounts, char *err, size_t errlen);

/** Check a SpawnRequest against the size limits. @return 0 or FLAME_EINVALID. */
int policy_check_spawn(const struct policy *p, const Flame__V1__SpawnRequest *req, char *err,
                       size_t errlen);

/** Does image match the allowlist? (exact names; a trailing star is a prefix pattern: "repo/" + star) */
int policy_image_allowed(const struct policy *p, const char *image);

#endif
