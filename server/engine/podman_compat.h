/*
 * server/engine/podman_compat.h - what the Docker engine does differently
 * when the daemon behind the socket is Podman's Docker-compatible service
 * (`podman system service`), and only then. docs/engines.md lists each
 * difference; the Docker engine (docker_engine.c) applies them.
 *
 * Everything here is pure (no I/O) and thread-safe, so that the rules are unit
 * tested apart from a daemon (tests/unit/server/podman_compat.c).
 * Follows: Docker Engine API v1.41 SystemVersion and ContainerCreate
 * (HostConfig.Ulimits); Podman 4.3 pkg/specgen/generate (addRlimits).
 */
#ifndef FLAMED_ENGINE_PODMAN_COMPAT_H
#define FLAMED_ENGINE_PODMAN_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The ulimits ceiling: Podman's own default for nofile and nproc (1048576). */
#define PODMAN_ULIMIT_MAX ((int64_t)1048576)

/**
 * Is this GET /version answer Podman's? It is when one of Components[] has
 * Name "Podman Engine" (Docker's has "Engine").
 *
 * @param version  the parsed /version body (borrowed); NULL answers 0.
 * @param[out] ver Podman's version ("4.3.1"), NUL-terminated, "" when not
 *                 Podman; may be NULL. verlen: its size in bytes.
 * @return 1 (Podman) or 0.
 */
int podman_compat_is_podman(const cJSON *version, char *ver, size_t verlen);

/* The label the Docker engine puts on a runner's container on Podman: the
 * image reference as the request gave it. Podman's list answers with the name
 * it resolved ("localhost/app:v1" for "app:v1"); Docker's with the reference
 * given at create. Callers cannot set flamed.* labels (request.c). */
#define PODMAN_LABEL_IMAGE "flamed.image"

/* Docker's smallest Memory / MemoryReservation (6 MiB), which it refuses at
 * create; Podman accepts less and runc fails at start. */
#define PODMAN_MEMORY_MIN_BYTES ((int64_t)6 * 1024 * 1024)

/**
 * Refuse a create body the way Docker does where Podman would accept it and
 * fail later: HostConfig.Memory or MemoryReservation set (> 0) but under
 * PODMAN_MEMORY_MIN_BYTES (Docker: 400 "Minimum memory limit allowed is 6MB").
 * @return 0, or -1 with Docker's message in err (errlen bytes).
 */
int podman_compat_check_config(const cJSON *config, char *err, size_t errlen);

/**
 * Add the PODMAN_LABEL_IMAGE label (image, copied) to a create body's Labels
 * (created when absent). @return 0; -1 when out of memory or Labels is not an object.
 */
int podman_compat_add_image_label(cJSON *config, const char *image);

/** The two rlimits Podman sets on its own when a create does not name them. */
struct podman_ulimits {
    int64_t nofile; /* Soft = Hard, open files */
    int64_t nproc;  /* Soft = Hard, processes */
};

/**
 * The ulimits flamed gives a runner on Podman when its request names none.
 * Docker starts a container with its daemon's own limits; rootful Podman 4.3
 * asks for 1048576 for both instead, which runc cannot set where the service
 * lacks CAP_SYS_RESOURCE and its hard limits are lower (EPERM: "error setting
 * rlimit type 7"). flamed reaches Podman through a local unix socket, so its
 * own limits stand in for the daemon's: each is flamed's hard limit (an
 * unlimited one counts as PODMAN_ULIMIT_MAX), capped at PODMAN_ULIMIT_MAX and
 * nproc also at the kernel's pid_max (no more processes can exist; the
 * Podman 4.3 service measured here runs with nproc = pid_max = 32768).
 *
 * @param nofile_hard  flamed's RLIMIT_NOFILE rlim_max; < 0: unlimited.
 * @param nproc_hard   flamed's RLIMIT_NPROC rlim_max; < 0: unlimited.
 * @param pid_max      /proc/sys/kernel/pid_max; <= 0: unknown (no cap).
 * @return the limits, each >= 1.
 */
struct podman_ulimits podman_compat_ulimits(int64_t nofile_hard, int64_t nproc_hard,
                                            int64_t pid_max);

/**
 * Add to a create body's HostConfig.Ulimits the nofile and nproc entries it
 * does not have ({"Name", "Soft", "Hard"}), with the values in u. Entries the
 * request has (its Name, any case) are left as they are: the policy checked
 * them. Creates HostConfig and Ulimits when absent.
 *
 * @param config  the body from docker_container_config_build (modified).
 * @return 0; -1 when out of memory or when HostConfig / Ulimits have the
 *         wrong JSON type (config is then unchanged or partly extended).
 */
int podman_compat_add_ulimits(cJSON *config, const struct podman_ulimits *u);

/**
 * Docker's word for a Podman event action: "remove" -> "destroy",
 * "exec_died" -> "exec_die"; any other is the same word (Podman's create,
 * init, start, kill, die, cleanup, health_status, exec ... pass as they are;
 * Podman's health_status carries no status: the engine's inspect has it).
 * @return a static string or `action` itself (borrowed).
 */
const char *podman_compat_action(const char *action);

/**
 * When the next HEALTHCHECK run of a container is due, the way Docker paces
 * them: Config.Healthcheck.Interval (ns; 0 or absent: Docker's 30 s) after
 * the last run's start (State.Health.Log[-1].Start), or after State.StartedAt
 * before the first run.
 *
 * @param inspect  a container inspect body (borrowed).
 * @return Unix ms; 0 when the inspect has no health check or no times.
 */
int64_t podman_compat_health_due_ms(const cJSON *inspect);

/**
 * The limits for this process and host: podman_compat_ulimits() from
 * getrlimit(2) and /proc/sys/kernel/pid_max. Reads them at each call.
 */
struct podman_ulimits podman_compat_ulimits_here(void);

#endif
