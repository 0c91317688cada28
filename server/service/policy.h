/*
 * server/service/policy.h - what a parent may ask Docker for. flamed holds
 * the Docker socket (root on the host), so every Boot passes this policy.
 *
 * The policy is an allowlist over the canonical reading of a Boot
 * (boot_config.h): a HostConfig field or value it does not name is denied.
 * Without --policy the built-in policy applies: any image and network;
 * resource and hygiene fields (Memory*, NanoCpus, CpuShares, Cpuset*,
 * CpuPeriod/CpuQuota, PidsLimit, Ulimits within ceilings, ShmSize, Tmpfs,
 * ReadonlyRootfs, Init, CapDrop, SecurityOpt no-new-privileges) and named
 * volumes without driver options. Everything else is off until a policy file
 * turns it on with a switch under "allow" (or "pools.NAME.allow" for one
 * pool): privileged, capabilities, host_namespaces, devices,
 * device_requests, host_binds, volume_drivers, seccomp_profiles,
 * apparmor_profiles, cgroup, sysctls, runtimes, masked_paths, port_bindings,
 * log_drivers, dns, group_add, placement. docs/security.md has the full table and an
 * example; "defaults" and "ceilings" bound resources, "quotas" count
 * runners, "limits" bound request sizes and nesting.
 *
 * A violation is PERMISSION_DENIED (quotas: RESOURCE_EXHAUSTED; sizes:
 * INVALID_ARGUMENT) with a message naming the field and the rule
 * ("policy allow.capabilities", "ceilings.Memory", ...).
 *
 * Thread-safety: a policy is read-only after policy_load().
 */
#ifndef FLAMED_POLICY_H
#define FLAMED_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "flame/v1/runner_service.pb-c.h"

/* The switches under "allow" (and "pools.NAME.allow"). */
enum policy_switch {
    POLICY_PRIVILEGED,
    POLICY_CAPABILITIES,      /* list: CapAdd names */
    POLICY_HOST_NAMESPACES,
    POLICY_DEVICES,
    POLICY_DEVICE_REQUESTS,
    POLICY_HOST_BINDS,        /* list: host path prefixes (cleaned, and resolved at load) */
    POLICY_VOLUME_DRIVERS,
    POLICY_SECCOMP_PROFILES,  /* map: name -> profile JSON read at load */
    POLICY_APPARMOR_PROFILES, /* list */
    POLICY_CGROUP,
    POLICY_SYSCTLS,           /* list */
    POLICY_RUNTIMES,          /* list */
    POLICY_MASKED_PATHS,
    POLICY_PORT_BINDINGS,
    POLICY_LOG_DRIVERS,       /* list */
    POLICY_DNS,
    POLICY_GROUP_ADD,
    POLICY_PLACEMENT,         /* BootRequest.placement (--engine swarm) */
    POLICY_SWITCHES
};

struct policy_allow {
    unsigned set;                   /* bit (1 << switch) for each switch the file sets */
    int on[POLICY_SWITCHES];        /* boolean switches */
    char **list[POLICY_SWITCHES];   /* list switches (NULL-terminated; NULL: empty) */
    char **values[POLICY_SWITCHES]; /* seccomp_profiles: the profile per name in list */
};

struct policy_pool {
    char *name;
    struct policy_allow allow;
};

struct policy_ulimit {
    char name[16];
    int64_t max;
};

struct policy {
    char **images;          /* NULL: any image */
    size_t n_images;
    char **networks;        /* NULL: any network */
    size_t n_networks;
    struct policy_allow allow;
    struct policy_pool *pools;
    size_t n_pools;
    int64_t def_memory, def_nano_cpus, def_pids;   /* 0: none */
    int64_t max_memory, max_nano_cpus, max_pids;   /* 0: no ceiling */
    int64_t max_shm;                               /* 0: no ceiling */
    struct policy_ulimit ulimits[16];              /* Ulimits allowed, with their ceilings */
    size_t n_ulimits;
    size_t max_runners, max_runners_per_pool;      /* 0: no quota */
    size_t max_env_entries, max_env_bytes, max_labels, max_argv; /* 0: request.h's limits */
    size_t max_request_bytes;                      /* 0: gRPC's default, 4 MiB */
    size_t max_depth;                              /* message nesting; 0: the rpc default (32) */
    char docker_socket[4096];                      /* the socket path bind checks protect */
};

/**
 * Load a policy: from JSON text (NULL: the built-in policy).
 * @param docker_socket  the socket flamed uses; binds of it (or a directory
 *                       holding it) are never allowed, whatever host_binds says.
 *                       NULL or not an absolute path (a remote engine,
 *                       "tcp://HOST:PORT"): the conventional /var/run/docker.sock.
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
 * Check a validated BootRequest against the policy of its pool, and apply
 * defaults (resources, seccomp profiles by name) to its canonical HostConfig.
 * @param host_config  the canonical HostConfig from request_boot_validate()
 *                     (may be NULL); on success *host_config may be replaced by
 *                     one holding the defaults (owned by the caller as before).
 *                     CapAdd/CapDrop names, Ulimit names and Sysctl keys are
 *                     rewritten to the one spelling that was checked.
 * @param mounts       the canonical Mounts array (may be NULL).
 * @return 0; FLAME_EPERM (a rule denies it; err names the rule);
 *         FLAME_EINVALID (a size limit, see policy_check_limits(), or a value
 *         no runner can use: negative resources, Soft > Hard, a bad
 *         capability name); FLAME_ENOMEM.
 */
int policy_check_boot(const struct policy *p, const Flame__V1__BootRequest *req,
                      cJSON **host_config, const cJSON *mounts, char *err, size_t errlen);

/**
 * Check a BootRequest against the policy's size limits only (env entries and
 * bytes, labels, cmd entries); policy_check_boot() runs it too.
 * @return 0 or FLAME_EINVALID (err names the limit, "limits.max_env_entries").
 */
int policy_check_limits(const struct policy *p, const Flame__V1__BootRequest *req, char *err,
                        size_t errlen);

/** The switch's name in a policy file ("capabilities"). */
const char *policy_switch_name(enum policy_switch sw);

/** Check a SpawnRequest against the size limits. @return 0 or FLAME_EINVALID. */
int policy_check_spawn(const struct policy *p, const Flame__V1__SpawnRequest *req, char *err,
                       size_t errlen);

/**
 * The allow.host_binds prefix, top level or any pool's, that is or holds
 * path (an absolute, resolved host path), or NULL when none does: a path a
 * Boot could bind read-write. flamed refuses to start with --pools when
 * --init-path is one (flamed-init is shared by every warm runner).
 *
 * @param[out] pool  the pool whose allow names it, or NULL for the top level
 *                   (borrowed from p); may be NULL.
 * @return the prefix, borrowed from p (as resolved at load).
 */
const char *policy_host_binds_covering(const struct policy *p, const char *path, const char **pool);

/** Does image match the allowlist? (exact names; a trailing star is a prefix pattern: "repo/" + star) */
int policy_image_allowed(const struct policy *p, const char *image);

#endif
