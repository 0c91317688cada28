/*
 * Boot: FLAME.Backend.remote_boot/1 as a service. Validate, register the
 * runner (BOOTING), check the network, pull the image per policy, create the
 * container (name as a query parameter, Hostname = name, DNS alias = name,
 * flamed's labels), start it and wait until it is running (and healthy when
 * the image has a HEALTHCHECK). Every failure after create removes the
 * container (unless keep_runner), so nothing is orphaned.
 * Follows: Docker Engine API ContainerCreate, ContainerStart, ContainerInspect,
 * ImageCreate; FLAME.Backend.remote_boot/1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status_name.h"
#include "flame/error.h"
#include "service/reaper.h"
#include "service/request.h"
#include "service/service.h"

#define ERRLEN 2048

/* A Boot whose client's gRPC deadline is nearer than this when it would answer
 * OK answers DEADLINE_EXCEEDED instead and removes its runner: an OK that
 * reaches the client after its deadline would leave a runner nobody knows. */
#define BOOT_ANSWER_MARGIN_MS 50

/* How long the log tail of a failed Boot may take (ms): it runs after the
 * Boot's own deadline. */
#define BOOT_LOGS_MS 1000

/* How long past its deadline a failed Boot waits for Docker to remove its
 * container before it answers (ms); the removal goes on after the answer. */
#define BOOT_CLEANUP_WAIT_MS 1000

struct boot {
    cJSON *host_config;
    cJSON *mounts;
};

static void boot_free(void *p)
{
    struct boot *b = p;
    if (!b)
        return;
    cJSON_Delete(b->host_config);
    cJSON_Delete(b->mounts);
    free(b);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* For the Docker client's bounded view: the Boot's client cancelled (or its
 * gRPC deadline passed). An atomic load. */
static int boot_cancelled(void *ud)
{
    return call_cancelled(ud);
}

/* Sleep up to ms, in slices, returning early once the client cancelled. */
static void boot_sleep(svc_call *call, long ms)
{
    while (ms > 0 && !call_cancelled(call)) {
        long slice = ms < 20 ? ms : 20;
        sleep_ms(slice);
        ms -= slice;
    }
}

/* The runner record for a request, before any Docker call. */
static struct runner *runner_for(const struct service *svc, const Flame__V1__BootRequest *req)
{
    struct runner *r = runner_new();
    if (!r)
        return NULL;
    char id[RUNNER_ID_LEN + 1], name[64];
    runner_id_generate(id);
    const char *pool = (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL;
    request_runner_name(pool, id, name, sizeof(name));
    int rc = runner_set_str(&r->id, id) | runner_set_str(&r->name, name) |
             runner_set_str(&r->pool, pool) | runner_set_str(&r->image, req->image) |
             runner_set_str(&r->network, req->network);
    r->keep_runner = req->keep_runner;
    r->created_unix_nano = clock_unix_ns();
    rc |= runner_set_str(&r->request_id, req->request_id) | runner_set_str(&r->parent_id, req->parent_id);
    r->lease_ttl_ms = req->lease_ttl_ms;
    r->max_lifetime_ms = req->max_lifetime_ms;
    r->idle_after_ms = req->idle_shutdown_after_ms;
    cJSON *keys = cJSON_CreateArray();
    char *keys_json = NULL;
    rc |= !keys;
    for (size_t i = 0; i < req->n_labels; i++) {
        rc |= runner_add_label(r, req->labels[i]->key, req->labels[i]->value);
        rc |= !cJSON_AddItemToArray(keys, cJSON_CreateString(req->labels[i]->key));
    }
    if (!rc && (keys_json = cJSON_PrintUnformatted(keys)))
        rc |= runner_add_label(r, RUNNER_LABEL_BOOT_LABELS, keys_json);
    else
        rc = 1;
    free(keys_json);
    cJSON_Delete(keys);
    rc |= runner_add_label(r, RUNNER_LABEL_MANAGED_BY, RUNNER_LABEL_MANAGED_BY_VALUE);
    rc |= runner_add_label(r, RUNNER_LABEL_INSTANCE, strchr(svc->instance_label, '=') + 1);
    rc |= runner_add_label(r, RUNNER_LABEL_ID, id);
    rc |= runner_add_label(r, RUNNER_LABEL_POOL, pool);
    rc |= runner_add_label(r, RUNNER_LABEL_KEEP, req->keep_runner ? "true" : "false");
    if (req->network && req->network[0])
        rc |= runner_add_label(r, RUNNER_LABEL_NETWORK, req->network);
    /* Everything a restarted flamed needs to keep enforcing this runner's rules. */
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)r->created_unix_nano);
    rc |= runner_add_label(r, RUNNER_LABEL_CREATED, num);
    if (req->request_id && req->request_id[0])
        rc |= runner_add_label(r, RUNNER_LABEL_REQUEST_ID, req->request_id);
    if (req->parent_id && req->parent_id[0])
        rc |= runner_add_label(r, RUNNER_LABEL_PARENT_ID, req->parent_id);
    if (req->lease_ttl_ms) {
        snprintf(num, sizeof(num), "%u", req->lease_ttl_ms);
        rc |= runner_add_label(r, RUNNER_LABEL_LEASE_TTL, num);
    }
    if (req->max_lifetime_ms) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)req->max_lifetime_ms);
        rc |= runner_add_label(r, RUNNER_LABEL_MAX_LIFETIME, num);
    }
    if (req->idle_shutdown_after_ms) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)req->idle_shutdown_after_ms);
        rc |= runner_add_label(r, RUNNER_LABEL_IDLE_AFTER, num);
    }
    if (rc) {
        runner_free(r);
        return NULL;
    }
    return r;
}

/*
 * A Docker call failed for a reason that is not the request's: the code and
 * flame-reason Boot answers. Docker's own timeouts count as the Boot's;
 * anything else Docker could not do (unreachable, a 5xx of its own) is
 * UNAVAILABLE, never a bare INTERNAL.
 */
static int docker_failure(int rc, const char **reason)
{
    if (rc == FLAME_ETIMEOUT) {
        *reason = "BOOT_TIMEOUT";
        return rc;
    }
    if (rc == FLAME_ENOMEM || rc == FLAME_ECANCELLED) /* the client is gone: no reason */
        return rc;
    *reason = "DOCKER_UNAVAILABLE";
    return FLAME_EUNAVAILABLE;
}

/* Check the image is present, pulling it per policy. */
static int ensure_image(struct service *svc, struct engine *eng, const Flame__V1__BootRequest *req,
                        long timeout_ms, char *err, size_t errlen, const char **reason)
{
    int rc;
    char derr[1024] = "";
    int absent = 0; /* the local Docker said it does not have the image */
    if (req->pull_policy != FLAME__V1__PULL_POLICY__PULL_POLICY_ALWAYS) {
        rc = eng->ops->image_present(eng, req->image, derr, sizeof(derr));
        if (rc == 0)
            return 0;
        if (rc == FLAME_EINVALID) {
            /* Docker's reference grammar: request.c checks it first, this is the backstop. */
            snprintf(err, errlen, "image '%s': Docker refused the reference: %s", req->image, derr);
            *reason = "INVALID_REQUEST";
            return rc;
        }
        if (rc != FLAME_ENOTFOUND) {
            snprintf(err, errlen, "inspecting image '%s': %s", req->image, derr);
            return docker_failure(rc, reason);
        }
        absent = 1;
        if (req->pull_policy == FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER) {
            snprintf(err, errlen, "image '%s' is not present in the local Docker and pull_policy "
                                  "is NEVER: build or load it first (docker build / docker load)",
                     req->image);
            *reason = "IMAGE_NOT_FOUND";
            return FLAME_ENOTFOUND;
        }
    }
    flamed_log(LOG_INFO, "image_pull", "image=%s", req->image);
    rc = eng->ops->image_pull(eng, req->image, timeout_ms, NULL, NULL, derr, sizeof(derr));
    if (rc == 0)
        return 0;
    /* Say first what the local Docker lacks, then what the pull said. */
    if (absent)
        snprintf(err, errlen, "image '%s' is not in the local Docker, and pulling it failed: %s",
                 req->image, derr);
    else
        snprintf(err, errlen, "pulling image '%s' (pull_policy ALWAYS) failed: %s", req->image,
                 derr);
    if (rc == FLAME_EINVALID) { /* 400: Docker refused the reference */
        *reason = "INVALID_REQUEST";
        return rc;
    }
    if (rc == FLAME_ENOTFOUND) {
        *reason = "IMAGE_NOT_FOUND";
        return rc;
    }
    if (rc == FLAME_ETIMEOUT || rc == FLAME_ECANCELLED || rc == FLAME_ENOMEM)
        return docker_failure(rc, reason);
    /* FLAME_EUNAVAILABLE: the registry, or Docker itself? Only a pull that Docker
     * tried and that failed is IMAGE_PULL_FAILED. */
    char perr[256];
    struct engine *probe = NULL;
    struct engine_bounds pb = {.deadline_ms = clock_mono_ms() + 2000};
    if (engine_bounded(svc->engine, &pb, &probe) < 0)
        return docker_failure(FLAME_ENOMEM, reason);
    int prc = probe->ops->ping(probe, perr, sizeof(perr));
    engine_free_view(probe);
    if (prc < 0) {
        snprintf(err, errlen, "Docker does not answer (no pull was tried for image '%s'): %s",
                 req->image, derr);
        *reason = "DOCKER_UNAVAILABLE";
        return FLAME_EUNAVAILABLE;
    }
    *reason = "IMAGE_PULL_FAILED";
    return FLAME_EUNAVAILABLE;
}

/* Append the container's last log lines to a message. */
static void append_logs(struct service *svc, const char *container_id, char *err, size_t errlen)
{
    char *logs = NULL;
    char derr[256];
    struct engine *eng = NULL;
    struct engine_bounds b = {.deadline_ms = clock_mono_ms() + BOOT_LOGS_MS};
    if (engine_bounded(svc->engine, &b, &eng) < 0)
        return;
    int rc = eng->ops->logs_tail(eng, container_id, 20, &logs, derr, sizeof(derr));
    engine_free_view(eng);
    if (rc < 0 || !logs) {
        free(logs);
        return;
    }
    size_t n = strlen(logs);
    while (n > 0 && (logs[n - 1] == '\n' || logs[n - 1] == '\r'))
        logs[--n] = '\0';
    size_t used = strlen(err);
    if (n && used + 32 < errlen)
        snprintf(err + used, errlen - used, "; last log lines:\n%s", logs);
    else if (!n && used + 32 < errlen)
        snprintf(err + used, errlen - used, "; the container wrote no logs");
    free(logs);
}

/* How much longer (ms) a container started at started_at_ms (Unix ms; 0 when
 * unknown) must run before it has run settle_ms; settle_ms when Docker's clock
 * says it started in the future. */
static long settle_left_ms(unsigned settle_ms, int64_t started_at_ms)
{
    if (!settle_ms)
        return 0;
    if (!started_at_ms)
        return (long)settle_ms;
    int64_t ran = clock_unix_ns() / 1000000 - started_at_ms;
    if (ran < 0)
        return (long)settle_ms;
    return ran >= (int64_t)settle_ms ? 0 : (long)((int64_t)settle_ms - ran);
}

/*
 * Wait until the container runs (and is healthy if it has a HEALTHCHECK).
 * Returns 0 with ip filled, or an error with err filled.
 */
static int wait_running(struct service *svc, struct engine *eng, svc_call *call,
                        const struct runner *r, int64_t deadline_ms, char *ip, size_t iplen,
                        char *err, size_t errlen)
{
    long delay = 20;
    int settled = 0;
    struct engine_state st;
    for (;;) {
        char derr[512] = "";
        int rc = eng->ops->inspect(eng, r->container_id, r->network, &st, derr, sizeof(derr));
        if (rc == FLAME_ECANCELLED) {
            snprintf(err, errlen, "the client cancelled Boot");
            return rc;
        }
        if (rc == FLAME_ETIMEOUT) {
            snprintf(err, errlen, "runner %s (%s) was not running within boot_timeout: %s", r->id,
                     r->name, derr);
            return rc;
        }
        if (rc < 0) {
            snprintf(err, errlen, "inspecting runner %s's container: %s", r->id, derr);
            return rc == FLAME_ENOTFOUND ? FLAME_EABORTED : rc;
        }
        if (call_cancelled(call)) { /* whatever the state: never report a cancelled Boot */
            snprintf(err, errlen, "the client cancelled Boot");
            return FLAME_ECANCELLED;
        }
        if (st.running && (!st.health[0] || strcmp(st.health, "healthy") == 0)) {
            /* A command that fails at once (bad config, crash on start) is still "running"
             * for a few ms after start: look again once it has run for the settle time
             * before saying so. That time counts from Docker's State.StartedAt (start
             * answers ~15 ms after it, more under load), not from this inspect; when
             * Docker's clock is off, at most the whole settle is waited. */
            long wait = settled ? 0 : settle_left_ms(svc->cfg.boot_settle_ms, st.started_at_ms);
            if (wait <= 0 || clock_mono_ms() + wait >= deadline_ms) {
                snprintf(ip, iplen, "%s", st.ip_address);
                return 0;
            }
            settled = 1;
            boot_sleep(call, wait);
            continue;
        }
        if (!st.running && strcmp(st.status, "created") != 0) {
            snprintf(err, errlen, "runner %s (%s) exited during boot with exit code %d%s%s%s",
                     r->id, r->name, st.exit_code, st.oom_killed ? " (OOM killed)" : "",
                     st.error[0] ? ": " : "", st.error);
            append_logs(svc, r->container_id, err, errlen);
            return FLAME_EABORTED;
        }
        if (strcmp(st.health, "unhealthy") == 0) {
            snprintf(err, errlen, "runner %s (%s) is running but its HEALTHCHECK reports unhealthy",
                     r->id, r->name);
            append_logs(svc, r->container_id, err, errlen);
            return FLAME_EABORTED;
        }
        if (call_cancelled(call)) {
            snprintf(err, errlen, "the client cancelled Boot");
            return FLAME_ECANCELLED;
        }
        if (clock_mono_ms() >= deadline_ms) {
            snprintf(err, errlen, "runner %s (%s) was not %s within boot_timeout (state %s%s%s)",
                     r->id, r->name, st.health[0] ? "healthy" : "running", st.status,
                     st.health[0] ? ", health " : "", st.health);
            append_logs(svc, r->container_id, err, errlen);
            return FLAME_ETIMEOUT;
        }
        boot_sleep(call, delay);
        if (delay < 200)
            delay *= 2;
    }
}

static void finish_ok(svc_call *call, const struct runner *r, const char *event, int64_t t0)
{
    Flame__V1__BootResponse resp = FLAME__V1__BOOT_RESPONSE__INIT;
    Flame__V1__Runner pr;
    if (runner_to_proto(r, &pr) < 0) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    resp.runner = &pr;
    flamed_log(LOG_INFO, event, "runner_id=%s pool=%s container_id=%.12s ip=%s request_id=%s duration_ms=%lld",
               r->id, r->pool, r->container_id, r->ip_address, r->request_id,
               (long long)(clock_mono_ms() - t0));
    call_finish(call, 0, NULL, NULL, &resp.base);
    runner_proto_release(&pr);
}

/*
 * A Boot with a request_id we already have: wait while the first one is still
 * booting, then answer with its runner (whatever its state now) or its failure.
 * Replaces *r with the latest snapshot.
 */
static int await_same_request(struct service *svc, svc_call *call, struct runner *r,
                              int64_t deadline, char *err, size_t errlen, const char **reason)
{
    while (r->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING) {
        if (call_cancelled(call)) {
            snprintf(err, errlen, "the client cancelled Boot");
            return FLAME_ECANCELLED;
        }
        if (clock_mono_ms() >= deadline) {
            snprintf(err, errlen, "runner %s (request_id %s) is still booting", r->id, r->request_id);
            *reason = "BOOT_TIMEOUT";
            return FLAME_ETIMEOUT;
        }
        sleep_ms(50);
        struct runner *now = NULL;
        int grc = runner_registry_get(svc->reg, r->id, &now);
        if (grc < 0) {
            if (grc == FLAME_ENOTFOUND) /* a tombstone pruned meanwhile */
                snprintf(err, errlen, "runner %s (request_id %s) is no longer known: retry the Boot",
                         r->id, r->request_id);
            return grc;
        }
        /* Swap contents so the caller's pointer stays valid. */
        struct runner tmp = *r;
        *r = *now;
        *now = tmp;
        runner_free(now);
    }
    if (r->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_FAILED) {
        snprintf(err, errlen, "the Boot with request_id %s failed: %s", r->request_id, r->error);
        *reason = "RUNNER_EXITED";
        return FLAME_EABORTED;
    }
    return 0;
}

static void boot_worker(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__BootRequest *req = (const Flame__V1__BootRequest *)call->request;
    struct boot *b = call->state;
    int64_t t0 = clock_mono_ms();
    unsigned timeout = req->boot_timeout_ms ? req->boot_timeout_ms
                                            : (svc->cfg.default_boot_timeout_ms ? svc->cfg.default_boot_timeout_ms : 30000);
    int64_t deadline = t0 + timeout;
    int64_t client_left = call_deadline_left_ms(call);
    if (client_left != INT64_MAX && t0 + client_left < deadline)
        deadline = t0 + client_left;

    char err[ERRLEN] = "", derr[1024] = "";
    const char *reason = NULL;
    int rc = 0, created = 0, logged = 0;
    char **env = NULL, **cmd = NULL, **entrypoint = NULL;
    cJSON *labels = NULL;
    char *container_id = NULL;
    struct runner *snap = NULL;
    /* Every engine call of this Boot goes through eng: the Boot's deadline and its
     * client's cancel reach each one, including one in flight. */
    struct engine *eng = NULL;
    struct engine_bounds bounds = {.deadline_ms = deadline, .cancelled = boot_cancelled, .ud = call};
    if (engine_bounded(svc->engine, &bounds, &eng) < 0) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    struct runner *r = runner_for(svc, req);
    if (!r) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    snap = runner_dup(r);
    const struct policy *pol = svc->policy;
    const struct runner_insert_opts admit = {
        .max_total = pol->max_runners, .max_pool = pol->max_runners_per_pool, .idempotent = 1};
    struct runner_insert_info found = {0};
    if (!snap || (rc = runner_registry_insert(svc->reg, r, &admit, &found)) < 0) {
        struct runner *existing = found.existing;
        size_t live_total = found.live_total, live_pool = found.live_pool;
        runner_free(r);
        if (rc == FLAME_EEXISTS && existing) {
            /* A retry of a Boot we already have: answer with that runner, never a second one. */
            runner_free(snap);
            snap = NULL;
            rc = await_same_request(svc, call, existing, deadline, err, sizeof(err), &reason);
            if (rc == 0) {
                finish_ok(call, existing, "boot_replayed", t0);
                runner_free(existing);
                goto cleanup;
            }
            runner_free(existing);
            goto done;
        }
        if (rc == FLAME_EEXHAUSTED) {
            if (pol->max_runners && live_total >= pol->max_runners)
                snprintf(err, sizeof(err), "flamed runs %zu runners, the limit is %zu (policy "
                                           "quotas.max_runners): shut some down or retry later",
                         live_total, pol->max_runners);
            else
                snprintf(err, sizeof(err), "pool '%s' has %zu runners, the limit is %zu (policy "
                                           "quotas.max_runners_per_pool): shut some down or retry later",
                         snap->pool, live_pool, pol->max_runners_per_pool);
            reason = "QUOTA_EXCEEDED";
            runner_free(snap);
            snap = NULL;
        }
        rc = rc ? rc : FLAME_ENOMEM;
        goto done;
    }
    flamed_log(LOG_INFO, "boot_start", "runner_id=%s pool=%s image=%s network=%s", snap->id,
               snap->pool, snap->image, snap->network[0] ? snap->network : "(default)");

    if (req->network && req->network[0]) {
        rc = eng->ops->network_check(eng, req->network, derr, sizeof(derr));
        if (rc == FLAME_ENOTFOUND) {
            snprintf(err, sizeof(err), "network '%s' not found: create it with `docker network "
                                       "create %s` (a user-defined network gives runners DNS)",
                     req->network, req->network);
            rc = FLAME_EPRECONDITION;
            reason = "NETWORK_NOT_FOUND";
            goto done;
        } else if (rc < 0) {
            snprintf(err, sizeof(err), "checking network '%s': %s", req->network, derr);
            if (rc == FLAME_EINVALID)
                reason = "INVALID_REQUEST";
            else
                rc = docker_failure(rc, &reason);
            goto done;
        }
    }
    if ((rc = ensure_image(svc, eng, req, deadline - clock_mono_ms(), err, sizeof(err), &reason)) < 0)
        goto done;
    if (call_cancelled(call)) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client cancelled Boot");
        goto done;
    }

    if ((rc = request_boot_env(req, &env)) < 0)
        goto done;
    if (req->n_cmd) {
        if (!(cmd = calloc(req->n_cmd + 1, sizeof(char *)))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        memcpy(cmd, req->cmd, req->n_cmd * sizeof(char *));
    }
    if (req->n_entrypoint) {
        if (!(entrypoint = calloc(req->n_entrypoint + 1, sizeof(char *)))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        memcpy(entrypoint, req->entrypoint, req->n_entrypoint * sizeof(char *));
    }
    if (!(labels = cJSON_CreateObject())) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < snap->n_labels; i++)
        cJSON_AddStringToObject(labels, snap->label_keys[i], snap->label_values[i]);
    struct engine_spec spec = {
        .name = snap->name,
        .image = req->image,
        .network = req->network,
        .env = (const char *const *)env,
        .cmd = (const char *const *)cmd,
        .entrypoint = (const char *const *)entrypoint,
        .user = req->user,
        .working_dir = req->working_dir,
        .labels = labels,
        .host_config = b->host_config,
        .mounts = b->mounts,
        /* A create whose first answer was lost may have worked: the name is ours
         * if the container carries our runner id. */
        .owner_key = RUNNER_LABEL_ID,
        .owner_value = snap->id,
    };
    rc = eng->ops->create(eng, &spec, &container_id, derr, sizeof(derr));
    if (rc < 0) {
        if (rc == FLAME_ENOTFOUND) {
            snprintf(err, sizeof(err), "image '%s' not found: %s", req->image, derr);
            reason = "IMAGE_NOT_FOUND";
        } else if (rc == FLAME_EINVALID) {
            snprintf(err, sizeof(err), "Docker refused the container config: %s", derr);
            reason = "DOCKER_REFUSED";
        } else if (rc == FLAME_EEXISTS) {
            /* Not ours (see above): something else took the name; a retry draws a new id. */
            snprintf(err, sizeof(err), "creating the container: %s: retry the Boot", derr);
            rc = FLAME_ECONFLICT;
            reason = "NAME_CONFLICT";
        } else {
            snprintf(err, sizeof(err), "creating the container: %s", derr);
            if ((rc == FLAME_ETIMEOUT || rc == FLAME_EUNAVAILABLE || rc == FLAME_ECANCELLED) &&
                (container_id = strdup(snap->name))) {
                /* The answer was lost (deadline, cancel, dropped connection): Docker may
                 * have created it, or may still. Remove it by name below (and by the
                 * reaper, which goes by the registry's container id); one that Docker
                 * creates later is removed on its create event (events.c). */
                created = 1;
                /* Not recorded (out of memory): the removal by name below still runs. */
                runner_registry_checked(runner_registry_set_container(svc->reg, snap->id, container_id),
                                        "set_container", snap->id);
            }
            rc = docker_failure(rc, &reason);
        }
        goto done;
    }
    created = 1;
    /* Unrecorded, the container would be invisible to Shutdown and the event
     * follower: fail the Boot (which removes it) instead. */
    if ((rc = runner_set_str(&snap->container_id, container_id)) < 0 ||
        (rc = runner_registry_checked(runner_registry_set_container(svc->reg, snap->id, container_id),
                                      "set_container", snap->id)) < 0) {
        snprintf(err, sizeof(err), "recording runner %s's container: %s", snap->id,
                 flame_error_name(rc));
        goto done;
    }

    if (call_cancelled(call)) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client cancelled Boot");
        goto done;
    }
    int64_t left = deadline - clock_mono_ms();
    rc = eng->ops->start(eng, container_id, left > 0 ? left : 1, derr, sizeof(derr));
    if (rc < 0) {
        if (rc == FLAME_ENOTFOUND && strstr(derr, "network")) {
            snprintf(err, sizeof(err), "starting runner %s: %s", snap->id, derr);
            rc = FLAME_EPRECONDITION;
            reason = "NETWORK_NOT_FOUND";
        } else if (rc == FLAME_EINVALID) {
            snprintf(err, sizeof(err), "Docker could not start runner %s: %s", snap->id, derr);
            reason = "START_FAILED";
        } else if (rc == FLAME_ENOTFOUND || rc == FLAME_ECONFLICT) {
            snprintf(err, sizeof(err), "runner %s's container was removed before it started: %s",
                     snap->id, derr);
            rc = FLAME_EABORTED;
            reason = "RUNNER_EXITED";
        } else if (rc == FLAME_ETIMEOUT) {
            snprintf(err, sizeof(err), "runner %s did not start within boot_timeout: %s", snap->id,
                     derr);
            reason = "BOOT_TIMEOUT";
        } else if (rc == FLAME_ECANCELLED) {
            snprintf(err, sizeof(err), "the client cancelled Boot while runner %s was starting",
                     snap->id);
        } else {
            snprintf(err, sizeof(err), "starting runner %s: %s", snap->id, derr);
            rc = docker_failure(rc, &reason);
        }
        goto done;
    }
    char ip[64] = "";
    if ((rc = wait_running(svc, eng, call, snap, deadline, ip, sizeof(ip), err, sizeof(err))) < 0) {
        if (rc == FLAME_EABORTED)
            reason = "RUNNER_EXITED";
        else
            rc = docker_failure(rc, &reason); /* the boot_timeout, or Docker's inspect */
        goto done;
    }
    /* The last look before RUNNING: a Boot whose client is gone, or whose answer
     * would reach the client after its deadline, removes its runner instead. */
    if (call_cancelled(call)) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client cancelled Boot");
        goto done;
    }
    if (client_left != INT64_MAX && call_deadline_left_ms(call) < BOOT_ANSWER_MARGIN_MS) {
        rc = FLAME_ETIMEOUT;
        reason = "BOOT_TIMEOUT";
        snprintf(err, sizeof(err), "runner %s was running only %d ms before the call's deadline: "
                                   "it was removed (give Boot a longer deadline)",
                 snap->id, BOOT_ANSWER_MARGIN_MS);
        goto done;
    }
    runner_registry_set_started_at(svc->reg, snap->id, clock_mono_ms());
    /* Not RUNNING (out of memory for its IP): the state check below fails the
     * Boot and removes the container. */
    runner_registry_checked(runner_registry_set_running(svc->reg, snap->id, ip), "set_running", snap->id);
    struct runner *now = NULL;
    if ((rc = runner_registry_get(svc->reg, snap->id, &now)) < 0)
        goto done;
    runner_free(snap);
    snap = now;
    if (snap->state != FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING) {
        snprintf(err, sizeof(err), "runner %s left RUNNING during boot (now %s): it was shut down "
                                   "or exited", snap->id, runner_state_name(snap->state));
        rc = FLAME_EABORTED;
        reason = "RUNNER_EXITED";
        created = 0; /* whoever moved it owns its cleanup */
        goto done;
    }
    if (call_cancelled(call)) {
        /* Cancelled between the last look and RUNNING: nobody will learn of this
         * runner, so it goes (STOPPING, then REMOVED) instead of being answered. */
        runner_registry_checked(runner_registry_set_stopping(svc->reg, snap->id), "set_stopping", snap->id);
        char rerr[256];
        int rrc = svc->engine->ops->remove(svc->engine, container_id, rerr, sizeof(rerr));
        if (rrc == 0 || rrc == FLAME_ENOTFOUND)
            runner_registry_checked(runner_registry_set_removed(svc->reg, snap->id), "set_removed",
                                    snap->id);
        else
            reaper_push(svc->reaper, REAPER_REMOVE, snap->id);
        flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=CANCELLED duration_ms=%lld "
                   "error=\"the client cancelled Boot as it became RUNNING: runner removed\"",
                   snap->id, snap->pool, (long long)(clock_mono_ms() - t0));
        metrics_boot_done(FLAME_ECANCELLED, clock_mono_ms() - t0);
        call_finish(call, FLAME_ECANCELLED, NULL, "the client cancelled Boot", NULL);
        goto cleanup;
    }

done:
    /* Counted before the answer is on the wire (see call_finish). */
    metrics_boot_done(rc, clock_mono_ms() - t0);
    if (rc < 0 && snap) {
        if (rc == FLAME_ENOMEM && !err[0])
            snprintf(err, sizeof(err), "out of memory");
        if (call_cancelled(call) && rc != FLAME_ECANCELLED) {
            /* The client is gone (cancel or its deadline): say so in the logs. */
            rc = FLAME_ECANCELLED;
        }
        runner_registry_checked(runner_registry_set_failed(svc->reg, snap->id, err), "set_failed",
                                snap->id);
        if (created && !req->keep_runner) {
            /* The answer waits for the removal (the client then finds nothing left), but
             * not for long past the Boot's deadline: Docker removes a container it is
             * still starting only once the start is done, seconds under load. Then the
             * answer goes first and the removal goes on. A client that is gone gets
             * nothing anyway. */
            char rerr[256];
            int rrc = FLAME_ETIMEOUT;
            if (!call_cancelled(call)) {
                struct engine *reng = NULL;
                int64_t at = clock_mono_ms();
                struct engine_bounds rb = {
                    .deadline_ms = (deadline > at ? deadline : at) + BOOT_CLEANUP_WAIT_MS};
                if (engine_bounded(svc->engine, &rb, &reng) == 0)
                    rrc = reng->ops->remove(reng, container_id, rerr, sizeof(rerr));
                engine_free_view(reng);
            }
            if (rrc == FLAME_ETIMEOUT || rrc == FLAME_ENOMEM) {
                char q[600];
                flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=%s duration_ms=%lld "
                           "error=%s removing=1", snap->id, snap->pool,
                           status_name_of(rc),
                           (long long)(clock_mono_ms() - t0), log_quote(q, sizeof(q), err));
                call_finish(call, rc, reason, err, NULL);
                logged = 1;
                rrc = svc->engine->ops->remove(svc->engine, container_id, rerr, sizeof(rerr));
            }
            if (rrc == 0 || rrc == FLAME_ENOTFOUND) {
                runner_registry_checked(runner_registry_set_removed(svc->reg, snap->id), "set_removed",
                                        snap->id);
            } else {
                /* Never leave it behind: the reaper retries until Docker lets it go. */
                flamed_log(LOG_WARN, "boot_cleanup_retry", "runner_id=%s container_id=%.12s error=%s",
                           snap->id, container_id, rerr);
                reaper_push(svc->reaper, REAPER_REMOVE, snap->id);
            }
        }
        if (!logged) {
            char q[600];
            flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=%s duration_ms=%lld error=%s",
                       snap->id, snap->pool, status_name_of(rc),
                       (long long)(clock_mono_ms() - t0), log_quote(q, sizeof(q), err));
            call_finish(call, rc, reason, err, NULL);
        }
    } else if (rc < 0) {
        call_finish(call, rc, reason, err[0] ? err : "out of memory", NULL);
    } else {
        finish_ok(call, snap, "boot_ok", t0);
    }
cleanup:
    engine_free_view(eng);
    runner_free(snap);
    free(container_id);
    cJSON_Delete(labels);
    request_strv_free(env);
    free(cmd);
    free(entrypoint);
}

void service_boot(svc_call *call)
{
    const Flame__V1__BootRequest *req = (const Flame__V1__BootRequest *)call->request;
    char err[1024];
    struct boot *b = calloc(1, sizeof(*b));
    if (!b) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    call_set_state(call, b, boot_free);
    const char *pool = (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL;
    service_audit(call, "pool=%.64s image=%.200s network=%.64s", pool, req->image ? req->image : "",
                  req->network ? req->network : "");
    if (!service_caller_allows(call, pool)) {
        char pools[512];
        service_caller_pools(call, pools, sizeof(pools));
        snprintf(err, sizeof(err), "caller '%s' may not boot into pool '%.64s' (its token allows: %s)",
                 call->identity->name, pool, pools);
        call_finish(call, FLAME_EPERM, "POOL_NOT_ALLOWED", err, NULL);
        return;
    }
    int rc = request_boot_validate(req, &b->host_config, &b->mounts, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return;
    }
    struct service *svc = call->service;
    if ((rc = policy_check_limits(svc->policy, req, err, sizeof(err))) < 0) {
        call_finish(call, rc, "LIMIT_EXCEEDED", err, NULL);
        return;
    }
    rc = policy_check_boot(svc->policy, req, &b->host_config, b->mounts, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, rc == FLAME_EPERM ? "POLICY_DENIED" : "INVALID_REQUEST", err, NULL);
        return;
    }
    if ((rc = call_run_blocking(call, boot_worker)) < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn and Shutdown calls: retry later", NULL);
}
