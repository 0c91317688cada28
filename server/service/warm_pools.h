/*
 * server/service/warm_pools.h - the pool file of warm runners (issue 17,
 * docs/warm.md): `flamed --pools FILE`, read by the operator's hand.
 *
 *   {"pools": {"NAME": {"warm": 2, "refill_delay_ms": 1000, "image": "app:latest", "network": "net",
 *                       "host_config": {...}, "mounts": [{...}],
 *                       "cmd": ["..."], "env": {"K": "V"}}}}
 *
 * Each pool's spec gets the reading a BootRequest into that pool gets: it is
 * turned into a Flame__V1__BootRequest (host_config and mounts as
 * google.protobuf.Struct, repeated keys kept as a map on the wire may repeat
 * them) and passed through request_boot_validate() (the canonical reading,
 * boot_config.h), policy_check_limits() and policy_check_boot() with the
 * pool's policy: one reading, one policy, whichever way a runner is asked for.
 * What is kept is that canonical form, with the policy's defaults applied.
 *
 * Strict: an unknown or repeated key anywhere, a value of the wrong type, a
 * "\u0000" escape or NUL byte, trailing text, more than WARM_POOLS_MAX pools,
 * a warm count outside 0..WARM_POOL_WARM_MAX, a Mounts Target at or under
 * /.flamed (flamed's own, where flamed-init is mounted) are refused, naming
 * the key. Quotas are not checked here: they count live runners, and the
 * refill (warm.c) keeps within them.
 *
 * Read by `flamed --pools FILE` (server/main.c); used by the pool manager
 * (warm.h) and Boot's warm matching.
 * Thread-safety: a parsed warm_pools is read-only; share it freely.
 */
#ifndef FLAMED_WARM_POOLS_H
#define FLAMED_WARM_POOLS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct policy;

#define WARM_POOLS_FILE_MAX ((size_t)1 << 20) /* bytes */
#define WARM_POOLS_MAX 64                     /* pools in one file */
#define WARM_POOL_WARM_MAX 64                 /* warm runners kept per pool */
#define WARM_REFILL_DELAY_MAX_MS 60000        /* refill_delay_ms at most */
#define WARM_REFILL_DELAY_DEFAULT_MS 1000     /* refill_delay_ms when the spec has none */
#define WARM_INIT_DIR "/.flamed"              /* where flamed mounts flamed-init */

/** One pool's warm spec, in canonical form. Every member is owned by the warm_pools. */
struct warm_pool {
    char *name;
    uint32_t warm;      /* runners to keep ready; 0 keeps none (the pool is drained) */
    uint32_t refill_delay_ms; /* after a Boot takes one, wait this long before making
                                 the next (the taken runner's start gets the CPU) */
    char *image;
    char *network;      /* NULL: none given (flamed's default applies) */
    char **cmd;         /* NULL-terminated; NULL: the image's */
    char **env;         /* "K=V", NULL-terminated, as request_boot_env() builds it
                           (PHX_SERVER=false unless env sets it) */
    cJSON *host_config; /* canonical HostConfig, policy defaults applied; NULL: none */
    cJSON *mounts;      /* canonical Mounts array; NULL: none */
};

struct warm_pools {
    struct warm_pool *pools; /* in file order */
    size_t n;
};

/**
 * Parse a pool file's text.
 *
 * @param[out] out  on 0: the pools; free with warm_pools_free().
 * @param json, len the file's bytes (borrowed; need not be NUL-terminated).
 * @param p         the policy every spec must pass (borrowed; read only).
 * @param err       on failure: what is wrong, naming the pool and key.
 * @return 0; FLAME_EINVALID (bad file or spec); FLAME_EPERM (the policy
 *         denies a spec; err names the rule); FLAME_ENOMEM.
 */
int warm_pools_parse(struct warm_pools **out, const char *json, size_t len,
                     const struct policy *p, char *err, size_t errlen);

/**
 * Read (at most WARM_POOLS_FILE_MAX bytes, a regular file) and parse a pool file.
 * @return as warm_pools_parse(); FLAME_EINVALID when the file cannot be read.
 */
int warm_pools_load(struct warm_pools **out, const char *path, const struct policy *p, char *err,
                    size_t errlen);

/** The pool named name, or NULL. Borrowed from w, valid until warm_pools_free(w). */
const struct warm_pool *warm_pools_find(const struct warm_pools *w, const char *name);

/** Free. Accepts NULL. */
void warm_pools_free(struct warm_pools *w);

/**
 * The command a warm runner of wp runs: the argv flamed-init execs (after
 * its "--"), equal to what Docker runs for a cold Boot of the same spec. A
 * warm runner's Entrypoint is flamed-init, and a create body that sets
 * Entrypoint makes Docker drop the image's Entrypoint *and* Cmd (checked on
 * 20.10: Config.Cmd is then null), so flamed resolves them itself as Docker
 * does for a body without Entrypoint: the image's Entrypoint, then the
 * spec's cmd, or the image's Cmd when the spec has none (an empty cmd is none).
 *
 * @param[out] out       NULL-terminated argv; free with request_strv_free().
 * @param wp             the pool (borrowed).
 * @param image_config   the image's Config (GET /images/{name}/json, "Config";
 *                       borrowed); NULL or a missing Entrypoint/Cmd: none.
 * @return 0; FLAME_EINVALID when Entrypoint or Cmd is not an array of strings,
 *         or there is no command at all (Docker: "No command specified");
 *         FLAME_ENOMEM.
 * Follows: Docker Engine API v1.41 ContainerCreate (Entrypoint, Cmd), ImageInspect.
 */
int warm_pool_command(char ***out, const struct warm_pool *wp, const cJSON *image_config,
                      char *err, size_t errlen);

#endif
