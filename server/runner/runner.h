/*
 * server/runner/runner.h - a runner, flamed's record of one FLAME runner
 * (one Docker container), and its wire form (flame.v1.Runner).
 *
 * A struct runner handed out by the registry is always a copy (a snapshot):
 * owned by the caller, freed with runner_free(). Thread-safety: a snapshot is
 * plain data, owned by one thread at a time.
 */
#ifndef FLAMED_RUNNER_H
#define FLAMED_RUNNER_H

#include <stdint.h>

#include "flame/v1/runner_service.pb-c.h"

/* Labels flamed puts on every runner container. */
#define RUNNER_LABEL_MANAGED_BY "flamed.managed-by"
#define RUNNER_LABEL_MANAGED_BY_VALUE "flamed"
#define RUNNER_LABEL_ID "flamed.runner-id"
#define RUNNER_LABEL_POOL "flamed.pool"
#define RUNNER_LABEL_KEEP "flamed.keep"
#define RUNNER_LABEL_NETWORK "flamed.network"
#define RUNNER_LABEL_REQUEST_ID "flamed.request-id"
#define RUNNER_LABEL_PARENT_ID "flamed.parent-id"
#define RUNNER_LABEL_LEASE_TTL "flamed.lease-ttl-ms"
#define RUNNER_LABEL_MAX_LIFETIME "flamed.max-lifetime-ms"
#define RUNNER_LABEL_IDLE_AFTER "flamed.idle-shutdown-after-ms"
#define RUNNER_LABEL_INSTANCE "flamed.instance"
/* The Boot's own label keys, a JSON array: adoption shows these and flamed.*
 * only, not the labels the image adds to its containers. */
#define RUNNER_LABEL_BOOT_LABELS "flamed.labels"
/* created_unix_nano to the nanosecond (Docker's list says whole seconds). */
#define RUNNER_LABEL_CREATED "flamed.created-unix-nano"
#define RUNNER_LABEL_PREFIX "flamed."
/* A warm runner (docs/warm.md): made ahead of its Boot from a pool's spec
 * (`flamed --pools`). Its labels were fixed before any Boot took it, so they
 * carry none of a Boot's metadata: adoption removes such a container. */
#define RUNNER_LABEL_WARM "flamed.warm"

#define RUNNER_ID_LEN 16 /* hex digits */

struct runner {
    char *id;
    char *container_id; /* "" until created */
    char *name;
    char *pool;
    char *image;
    char *network;
    char *ip_address;
    char *error;
    int state;          /* FLAME__V1__RUNNER_STATE__* */
    int exit_code;
    int oom_killed;
    int keep_runner;
    int64_t created_unix_nano;
    size_t n_labels;
    char **label_keys;
    char **label_values;

    /* Lifetime rules (BootRequest), restored from labels on adoption. */
    char *request_id;
    char *parent_id;
    uint32_t lease_ttl_ms;
    uint64_t max_lifetime_ms;
    uint64_t idle_after_ms;
    /* Runtime bookkeeping, CLOCK_MONOTONIC ms (clock_mono_ms()). */
    int64_t started_ms;        /* when it became RUNNING (or was adopted) */
    int64_t lease_expires_ms;  /* 0: no lease */
    int64_t last_active_ms;    /* last Spawn end, or start */
    int active_spawns;
    int retiring;              /* flamed decided to shut it down (lease, idle, lifetime) */

    /* Warm runners (service/warm.h, docs/warm.md). hidden: made ahead of any
     * Boot and not taken yet: no event is published for it, List and Watch
     * skip it, RPCs do not find it; adoption, the reaper and shutdown do.
     * warm: made warm (Runner.warm), kept once taken. claimed: a Boot is
     * delivering its env (still hidden, no longer ready for another Boot). */
    int hidden;
    int warm;
    int claimed;
    /* A taken warm runner's delivered env ("K=V", NULL-terminated; NULL:
     * none): its command has it, Docker's Config.Env does not, so Spawn adds
     * it to each exec's env (a cold runner's execs get it from Docker). */
    char **boot_env;

    /* The registry's cache of this record's wire form (runner_pack()):
     * NULL until packed, dropped on every transition. Never copied. */
    uint8_t *packed;
    size_t packed_len;
};

/**
 * Allocate an empty runner (all strings "", state BOOTING).
 * @return NULL on allocation failure; free with runner_free().
 */
struct runner *runner_new(void);

/** Deep copy. @return NULL on allocation failure. */
struct runner *runner_dup(const struct runner *r);

/** Free a runner. Accepts NULL. */
void runner_free(struct runner *r);

/**
 * Replace a string field (*field) with a copy of value (NULL means "").
 * @return 0 or FLAME_ENOMEM (the field is then unchanged).
 */
int runner_set_str(char **field, const char *value);

/**
 * Append a label (copied). @return 0 or FLAME_ENOMEM.
 */
int runner_add_label(struct runner *r, const char *key, const char *value);

/** Label value or NULL; borrowed from r. */
const char *runner_label(const struct runner *r, const char *key);

/**
 * Fill a flame.v1.Runner that borrows r's strings (valid while r lives and is
 * unchanged). Allocates the label map entries: release them with
 * runner_proto_release().
 * @return 0 or FLAME_ENOMEM.
 */
int runner_to_proto(const struct runner *r, Flame__V1__Runner *out);

/** Free what runner_to_proto() allocated (not the borrowed strings). */
void runner_proto_release(Flame__V1__Runner *p);

/**
 * Make sure r->packed holds r's flame.v1.Runner wire form (protobuf-c pack of
 * runner_to_proto()); a no-op when it already does. The caller drops the
 * cache (runner_unpack()) whenever it changes a field of the wire form.
 * Thread-safety: r must be owned by the caller (the registry: under its lock).
 * @return 0 or FLAME_ENOMEM (r->packed stays NULL).
 */
int runner_pack(struct runner *r);

/** Drop r's cached wire form (r->packed). */
void runner_unpack(struct runner *r);

/** Fill `out` with 16 random lowercase hex digits and a NUL (getrandom(2)). */
void runner_id_generate(char out[RUNNER_ID_LEN + 1]);

/** "RUNNING", "EXITED", ...; static. */
const char *runner_state_name(int state);

#endif
