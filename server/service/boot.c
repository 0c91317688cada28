/*
 * Boot: FLAME.Backend.remote_boot/1 as a service, in named stages:
 *   prepare   (transport thread) the caller's pool, validation, the canonical
 *             host_config/mounts, the policy;
 *   register  the runner (BOOTING) within the quotas, or a replayed
 *             request_id's runner;
 *   create    the network and image (pull per policy), then the container
 *             (Hostname = name, DNS alias = name, flamed's labels);
 *   start     the container;
 *   wait      until it runs (and is healthy when it has a health check), on
 *             the engine's events (boot_news.h), inspect only as a fallback;
 *   commit    RUNNING, unless the client left;
 *   answer    OK, or the failure after removing the container (unless
 *             keep_runner), so nothing is orphaned.
 * Follows: Docker Engine API ContainerCreate, ContainerStart, ContainerInspect,
 * ImageCreate; FLAME.Backend.remote_boot/1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/status_name.h"
#include "common/metrics.h"
#include "flame/error.h"
#include "service/adopt.h"
#include "service/boot_news.h"
#include "service/boot_placement.h"
#include "service/reaper.h"
#include "service/request.h"
#include "service/service.h"
#include "service/warm.h"
#include "service/warm_record.h"

#define ERRLEN 2048

/* How long a warm runner's env delivery may take (ms), within the Boot's deadline. */
#define BOOT_WARM_DELIVER_MS 5000

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
    cJSON *placement; /* canonical (boot_placement.h), or NULL */
};

static void boot_free(void *p)
{
    struct boot *b = p;
    if (!b)
        return;
    cJSON_Delete(b->host_config);
    cJSON_Delete(b->mounts);
    cJSON_Delete(b->placement);
    free(b);
}

/* For the Docker client's bounded view: the Boot's client cancelled (or its
 * gRPC deadline passed). An atomic load. */
static int boot_cancelled(void *ud)
{
    return call_cancelled(ud);
}

/* The runner record for a request, before any Docker call. warm: the warm
 * runner the Boot took (its id and name are kept), or NULL for a new one. */
static struct runner *runner_for(const struct service *svc, const Flame__V1__BootRequest *req,
                                 const struct runner *warm)
{
    struct runner *r = runner_new();
    if (!r)
        return NULL;
    char id[RUNNER_ID_LEN + 1], name[64];
    const char *pool = (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL;
    if (warm) {
        snprintf(id, sizeof(id), "%s", warm->id);
        snprintf(name, sizeof(name), "%s", warm->name);
    } else {
        runner_id_generate(id);
        request_runner_name(pool, id, name, sizeof(name));
    }
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
    if (warm)
        rc |= runner_add_label(r, RUNNER_LABEL_WARM, "true");
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

/* A pull's progress as PULLING events of the runner: the first at once, then
 * at most one per PULL_EVENT_MS, and the last when the pull has finished. */
#define PULL_EVENT_MS 250

struct pull_news {
    struct service *svc;
    const char *runner_id, *image;
    int64_t last_ms; /* when the last PULLING went out; 0: none yet */
    int pending;     /* progress not yet published */
    struct engine_pull_progress p;
};

static void pull_publish(struct pull_news *n)
{
    struct hub_pull hp = {.image = n->image,
                          .bytes_done = (uint64_t)n->p.bytes_done,
                          .bytes_total = (uint64_t)n->p.bytes_total,
                          .layers = (uint32_t)n->p.layers,
                          .layers_done = (uint32_t)n->p.layers_done};
    runner_registry_note_pull(n->svc->reg, n->runner_id, &hp);
    n->last_ms = clock_mono_ms();
    n->pending = 0;
}

static void pull_progress(void *ud, const struct engine_pull_progress *p)
{
    struct pull_news *n = ud;
    n->p = *p;
    n->pending = 1;
    if (!n->last_ms || clock_mono_ms() - n->last_ms >= PULL_EVENT_MS)
        pull_publish(n);
}

/* Check the image is present, pulling it per policy (PULLING events go to the
 * runner runner_id). */
static int ensure_image(struct service *svc, struct engine *eng, const Flame__V1__BootRequest *req,
                        const char *runner_id, long timeout_ms, char *err, size_t errlen,
                        const char **reason)
{
    struct pull_news news = {.svc = svc, .runner_id = runner_id, .image = req->image};
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
    rc = eng->ops->image_pull(eng, req->image, timeout_ms, pull_progress, &news, derr, sizeof(derr));
    if (news.pending)
        pull_publish(&news);
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

static void finish_ok(svc_call *call, const struct runner *r, const char *event, int64_t t0)
{
    Flame__V1__BootResponse resp = FLAME__V1__BOOT_RESPONSE__INIT;
    Flame__V1__Runner pr;
    if (runner_to_proto(r, &pr) < 0) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    resp.runner = &pr;
    resp.warm = r->warm != 0;
    flamed_log(LOG_INFO, event, "runner_id=%s pool=%s container_id=%.12s ip=%s request_id=%s duration_ms=%lld",
               r->id, r->pool, r->container_id, r->ip_address, r->request_id,
               (long long)(clock_mono_ms() - t0));
    call_finish(call, 0, NULL, NULL, &resp.base);
    runner_proto_release(&pr);
}

/* ------------------------------------------------------------ one Boot's run */

/* A Boot between its stages. */
struct boot_run {
    struct service *svc;
    svc_call *call;
    const Flame__V1__BootRequest *req;
    struct boot *b;            /* prepare's canonical host_config and mounts */
    struct engine *eng;        /* every engine call of this Boot: its deadline and cancel */
    int64_t t0, deadline, client_left;
    struct runner *snap;       /* the runner as this Boot knows it */
    char *container_id;
    int created;               /* a container may exist: remove it on failure */
    int waiting;               /* waiter is registered */
    struct boot_waiter waiter; /* news of the runner (boot_news.h) */
    char **env, **cmd, **entrypoint;
    cJSON *labels;
    char ip[64];
    const char *reason;
    char err[ERRLEN], derr[1024];
};

/* Returned by a stage that has answered the call itself. */
#define BOOT_ANSWERED 1

/* How long the wait trusts the event stream before it inspects anyway (ms):
 * longer while the stream is open and synced, short while it is not. */
#define BOOT_FALLBACK_MS 1000
#define BOOT_FALLBACK_AWAY_MS 200

static int cancelled_err(struct boot_run *br)
{
    snprintf(br->err, sizeof(br->err), "the client cancelled Boot");
    return FLAME_ECANCELLED;
}

/*
 * A Boot with a request_id we already have: wait while the first one is still
 * booting (on its news, boot_news.h), then answer with its runner (whatever its
 * state now) or its failure. Replaces *r with the latest snapshot.
 */
static int await_same_request(struct boot_run *br, struct runner *r)
{
    struct service *svc = br->svc;
    struct boot_waiter w;
    boot_news_join(svc->news, &w, r->id);
    int rc = 0;
    while (r->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING) {
        unsigned seen = boot_news_seen(svc->news, &w);
        if (call_cancelled(br->call)) {
            rc = cancelled_err(br);
            break;
        }
        if (clock_mono_ms() >= br->deadline) {
            snprintf(br->err, sizeof(br->err), "runner %s (request_id %s) is still booting", r->id,
                     r->request_id);
            br->reason = "BOOT_TIMEOUT";
            rc = FLAME_ETIMEOUT;
            break;
        }
        struct runner *now = NULL;
        if ((rc = runner_registry_get(svc->reg, r->id, &now)) < 0) {
            if (rc == FLAME_ENOTFOUND) /* a tombstone pruned meanwhile */
                snprintf(br->err, sizeof(br->err),
                         "runner %s (request_id %s) is no longer known: retry the Boot", r->id,
                         r->request_id);
            break;
        }
        /* Swap contents so the caller's pointer stays valid. */
        struct runner tmp = *r;
        *r = *now;
        *now = tmp;
        runner_free(now);
        if (r->state != FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING)
            break;
        /* The first Boot tells when its runner leaves BOOTING; a second look now
         * and then covers a Boot that ended without telling (it always does). */
        int64_t until = clock_mono_ms() + BOOT_FALLBACK_MS;
        boot_news_wait(svc->news, &w, seen, until < br->deadline ? until : br->deadline, br->call);
    }
    boot_news_leave(svc->news, &w);
    if (rc == 0 && r->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_FAILED) {
        snprintf(br->err, sizeof(br->err), "the Boot with request_id %s failed: %s", r->request_id,
                 r->error);
        br->reason = "RUNNER_EXITED";
        rc = FLAME_EABORTED;
    }
    return rc;
}

/* A retry of a Boot we already have (existing: its runner, taken): answer
 * with that runner, never a second one. */
static int answer_replay(struct boot_run *br, struct runner *existing)
{
    int rc = await_same_request(br, existing);
    if (rc == 0)
        finish_ok(br->call, existing, "boot_replayed", br->t0);
    runner_free(existing);
    return rc == 0 ? BOOT_ANSWERED : rc;
}

/* Returned by boot_warm when the Boot boots cold. */
#define BOOT_COLD 2

/*
 * Stage (with --pools): take a warm runner (service/warm.h) when the request
 * matches its pool's spec and one is ready: claim it (still hidden), deliver
 * the env frame to its flamed-init, then make it the Boot's runner (its
 * metadata, BOOTING published). 0: taken (br->snap, container_id, ip set:
 * commit is next); BOOT_COLD: boot cold (no match, none ready, or the
 * delivery failed: that runner is removed); BOOT_ANSWERED: a replayed
 * request_id was answered; < 0: the Boot fails.
 */
static int boot_warm(struct boot_run *br)
{
    struct service *svc = br->svc;
    const Flame__V1__BootRequest *req = br->req;
    const char *pool = (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL;
    char *frame = NULL, why[256], **delivered = NULL;
    size_t flen = 0;
    int rc = warm_match(svc->warm, req, br->b->host_config, br->b->mounts, NULL, NULL,
                        &delivered, why, sizeof(why));
    if (rc <= 0) {
        if (rc == 0 && strcmp(why, "no warm pool") != 0)
            flamed_log(LOG_INFO, "boot_cold", "pool=%s reason=\"%s\"", pool, why);
        return rc < 0 ? rc : BOOT_COLD;
    }
    struct runner_insert_info found = {0};
    struct runner *claimed = NULL, *meta = NULL;
    rc = runner_registry_claim_warm(svc->reg, pool, req->request_id, &found, &claimed);
    if (rc != 0)
        request_strv_free(delivered);
    if (rc == FLAME_EEXISTS && found.existing)
        return answer_replay(br, found.existing);
    if (rc == FLAME_ENOTFOUND) {
        flamed_log(LOG_INFO, "boot_cold", "pool=%s reason=\"no warm runner ready\"", pool);
        warm_kick(svc->warm);
        return BOOT_COLD;
    }
    if (rc < 0)
        return rc;
    warm_taken(svc->warm, pool); /* refill, after the pool's refill_delay_ms */
    char derr[512] = "";
    /* The frame carries the env and, for a restarted flamed, the metadata a
     * cold runner's labels hold (warm_record.h). */
    if (!(meta = runner_for(svc, req, claimed)))
        rc = FLAME_ENOMEM;
    else
        rc = warm_record_frame(&frame, &flen, delivered, meta, derr, sizeof(derr));
    /* How long the delivery and the look took, for the log (bench/flame/timeline). */
    int64_t t_deliver = clock_mono_ms(), t_inspect, t_looked;
    if (rc == 0)
        rc = br->eng->ops->stdin_deliver(br->eng, claimed->container_id, frame, flen,
                                         BOOT_WARM_DELIVER_MS, derr, sizeof(derr));
    free(frame);
    t_inspect = t_looked = clock_mono_ms();
    if (rc == 0) {
        /* One look once the command has been exec'd: a command that is not
         * there or fails at once (flamed-init exits 126/127 within a ms of the
         * frame) is seen here rather than answered RUNNING. Such a runner goes
         * and the Boot boots cold, which reports the failure as it would. */
        struct engine_state st;
        int irc = br->eng->ops->inspect(br->eng, claimed->container_id, claimed->network, &st, derr,
                                        sizeof(derr));
        if (irc == 0 && !st.running) {
            snprintf(derr, sizeof(derr), "the warm runner's command exited at once with code %d",
                     st.exit_code);
            rc = FLAME_EABORTED;
        } else if (irc == FLAME_ENOTFOUND || irc == FLAME_ECANCELLED) {
            rc = irc;
        } else if (irc == 0 && st.ip_address[0]) {
            runner_set_str(&claimed->ip_address, st.ip_address); /* out of memory: the warm one's */
        }
        t_looked = clock_mono_ms();
    }
    if (rc < 0) {
        /* Never hand out a runner whose env may have arrived in part: remove it. */
        flamed_log(LOG_WARN, "warm_take_failed", "runner_id=%s pool=%s error=\"%s\"", claimed->id,
                   pool, derr);
        runner_registry_checked(runner_registry_set_failed(svc->reg, claimed->id, derr), "set_failed",
                                claimed->id);
        char rerr[256];
        int rrc = svc->engine->ops->remove(svc->engine, claimed->container_id, rerr, sizeof(rerr));
        if (rrc == 0 || rrc == FLAME_ENOTFOUND)
            runner_registry_checked(runner_registry_set_removed(svc->reg, claimed->id), "set_removed",
                                    claimed->id);
        else
            reaper_push(svc->reaper, REAPER_REMOVE, claimed->id);
        runner_free(claimed);
        runner_free(meta);
        request_strv_free(delivered);
        if (rc == FLAME_ECANCELLED || call_cancelled(br->call))
            return cancelled_err(br);
        return BOOT_COLD;
    }
    meta->boot_env = delivered; /* the runner's now (runner_free) */
    if ((rc = runner_registry_reveal_warm(svc->reg, claimed->id, meta)) == 0 &&
        (rc = runner_registry_get(svc->reg, claimed->id, &br->snap)) == 0 &&
        (br->container_id = strdup(claimed->container_id))) {
        br->created = 1;
        snprintf(br->ip, sizeof(br->ip), "%s", claimed->ip_address);
        boot_news_join(svc->news, &br->waiter, claimed->id);
        br->waiting = 1;
        flamed_log(LOG_INFO, "boot_start", "runner_id=%s pool=%s image=%s network=%s warm=1 "
                   "deliver_ms=%lld inspect_ms=%lld",
                   claimed->id, pool, claimed->image, claimed->network[0] ? claimed->network : "(default)",
                   (long long)(t_inspect - t_deliver), (long long)(t_looked - t_inspect));
        runner_free(meta);
        runner_free(claimed);
        return 0;
    }
    /* Out of memory after the delivery: this runner cannot be handed out. */
    if (rc == 0)
        rc = FLAME_ENOMEM;
    runner_registry_checked(runner_registry_set_failed(svc->reg, claimed->id, "out of memory"),
                            "set_failed", claimed->id);
    reaper_push(svc->reaper, REAPER_REMOVE, claimed->id);
    runner_free(meta);
    runner_free(claimed);
    return rc;
}

/*
 * Stage: register the runner (BOOTING) within the quotas, or find the runner a
 * replayed request_id already has (then answer with it: BOOT_ANSWERED).
 */
static int boot_register(struct boot_run *br)
{
    struct service *svc = br->svc;
    const struct policy *pol = svc->policy;
    struct runner *r = runner_for(svc, br->req, NULL);
    if (!r)
        return FLAME_ENOMEM;
    br->snap = runner_dup(r);
    const struct runner_insert_opts admit = {
        .max_total = pol->max_runners, .max_pool = pol->max_runners_per_pool, .idempotent = 1};
    struct runner_insert_info found = {0};
    int rc = 0;
    if (br->snap && (rc = runner_registry_insert(svc->reg, r, &admit, &found)) == 0) {
        boot_news_join(svc->news, &br->waiter, br->snap->id);
        br->waiting = 1;
        flamed_log(LOG_INFO, "boot_start", "runner_id=%s pool=%s image=%s network=%s", br->snap->id,
                   br->snap->pool, br->snap->image, br->snap->network[0] ? br->snap->network : "(default)");
        return 0;
    }
    runner_free(r);
    struct runner *existing = found.existing;
    size_t live_total = found.live_total, live_pool = found.live_pool;
    if (rc == FLAME_EEXISTS && existing) {
        runner_free(br->snap);
        br->snap = NULL;
        return answer_replay(br, existing);
    }
    if (rc == FLAME_EEXHAUSTED) {
        if (pol->max_runners && live_total >= pol->max_runners)
            snprintf(br->err, sizeof(br->err), "flamed runs %zu runners, the limit is %zu (policy "
                                               "quotas.max_runners): shut some down or retry later",
                     live_total, pol->max_runners);
        else
            snprintf(br->err, sizeof(br->err), "pool '%s' has %zu runners, the limit is %zu (policy "
                                               "quotas.max_runners_per_pool): shut some down or retry later",
                     br->snap->pool, live_pool, pol->max_runners_per_pool);
        br->reason = "QUOTA_EXCEEDED";
    }
    runner_free(br->snap);
    br->snap = NULL;
    return rc ? rc : FLAME_ENOMEM;
}

/* Stage: the network and the image are there (pull per policy), then the
 * container is created from the canonical request. */
static int boot_create(struct boot_run *br)
{
    struct service *svc = br->svc;
    const Flame__V1__BootRequest *req = br->req;
    struct engine *eng = br->eng;
    struct runner *snap = br->snap;
    char *err = br->err, *derr = br->derr;
    size_t errlen = sizeof(br->err), derrlen = sizeof(br->derr);
    int rc;
    if (req->network && req->network[0]) {
        rc = eng->ops->network_check(eng, req->network, derr, derrlen);
        if (rc == FLAME_ENOTFOUND) {
            snprintf(err, errlen, "network '%s' not found: create it with `docker network "
                                  "create %s` (a user-defined network gives runners DNS)",
                     req->network, req->network);
            br->reason = "NETWORK_NOT_FOUND";
            return FLAME_EPRECONDITION;
        } else if (rc < 0) {
            snprintf(err, errlen, "checking network '%s': %s", req->network, derr);
            if (rc == FLAME_EINVALID)
                br->reason = "INVALID_REQUEST";
            else
                rc = docker_failure(rc, &br->reason);
            return rc;
        }
    }
    if ((rc = ensure_image(svc, eng, req, snap->id, br->deadline - clock_mono_ms(), err, errlen,
                           &br->reason)) < 0)
        return rc;
    if (call_cancelled(br->call))
        return cancelled_err(br);

    if ((rc = request_boot_env(req, &br->env)) < 0)
        return rc;
    if (req->n_cmd) {
        if (!(br->cmd = calloc(req->n_cmd + 1, sizeof(char *))))
            return FLAME_ENOMEM;
        memcpy(br->cmd, req->cmd, req->n_cmd * sizeof(char *));
    }
    if (req->n_entrypoint) {
        if (!(br->entrypoint = calloc(req->n_entrypoint + 1, sizeof(char *))))
            return FLAME_ENOMEM;
        memcpy(br->entrypoint, req->entrypoint, req->n_entrypoint * sizeof(char *));
    }
    if (!(br->labels = cJSON_CreateObject()))
        return FLAME_ENOMEM;
    for (size_t i = 0; i < snap->n_labels; i++)
        cJSON_AddStringToObject(br->labels, snap->label_keys[i], snap->label_values[i]);
    struct engine_spec spec = {
        .name = snap->name,
        .image = req->image,
        .network = req->network,
        .env = (const char *const *)br->env,
        .cmd = (const char *const *)br->cmd,
        .entrypoint = (const char *const *)br->entrypoint,
        .user = req->user,
        .working_dir = req->working_dir,
        .labels = br->labels,
        .host_config = br->b->host_config,
        .mounts = br->b->mounts,
        .placement = br->b->placement,
        /* A create whose first answer was lost may have worked: the name is ours
         * if the container carries our runner id. */
        .owner_key = RUNNER_LABEL_ID,
        .owner_value = snap->id,
    };
    rc = eng->ops->create(eng, &spec, &br->container_id, derr, derrlen);
    if (rc < 0) {
        if (rc == FLAME_ENOTFOUND) {
            snprintf(err, errlen, "image '%s' not found: %s", req->image, derr);
            br->reason = "IMAGE_NOT_FOUND";
        } else if (rc == FLAME_EINVALID) {
            snprintf(err, errlen, "Docker refused the container config: %s", derr);
            br->reason = "DOCKER_REFUSED";
        } else if (rc == FLAME_EEXISTS) {
            /* Not ours (see above): something else took the name; a retry draws a new id. */
            snprintf(err, errlen, "creating the container: %s: retry the Boot", derr);
            rc = FLAME_ECONFLICT;
            br->reason = "NAME_CONFLICT";
        } else {
            snprintf(err, errlen, "creating the container: %s", derr);
            if ((rc == FLAME_ETIMEOUT || rc == FLAME_EUNAVAILABLE || rc == FLAME_ECANCELLED) &&
                (br->container_id = strdup(snap->name))) {
                /* The answer was lost (deadline, cancel, dropped connection): Docker may
                 * have created it, or may still. Remove it by name below (and by the
                 * reaper, which goes by the registry's container id); one that Docker
                 * creates later is removed on its create event (the event follower). */
                br->created = 1;
                /* Not recorded (out of memory): the removal by name still runs. */
                runner_registry_checked(runner_registry_set_container(svc->reg, snap->id, br->container_id),
                                        "set_container", snap->id);
            }
            rc = docker_failure(rc, &br->reason);
        }
        return rc;
    }
    br->created = 1;
    /* Unrecorded, the container would be invisible to Shutdown and the event
     * follower: fail the Boot (which removes it) instead. */
    if ((rc = runner_set_str(&snap->container_id, br->container_id)) < 0 ||
        (rc = runner_registry_checked(runner_registry_set_container(svc->reg, snap->id, br->container_id),
                                      "set_container", snap->id)) < 0) {
        snprintf(br->err, sizeof(br->err), "recording runner %s's container: %s", snap->id,
                 flame_error_name(rc));
        return rc;
    }
    return 0;
}

/* Stage: start the container. */
static int boot_start(struct boot_run *br)
{
    struct engine *eng = br->eng;
    const struct runner *snap = br->snap;
    char *err = br->err, *derr = br->derr;
    size_t errlen = sizeof(br->err);
    if (call_cancelled(br->call))
        return cancelled_err(br);
    int64_t left = br->deadline - clock_mono_ms();
    int rc = eng->ops->start(eng, br->container_id, left > 0 ? left : 1, derr, sizeof(br->derr));
    if (rc == 0)
        return 0;
    if (rc == FLAME_ENOTFOUND && strstr(derr, "network")) {
        snprintf(err, errlen, "starting runner %s: %s", snap->id, derr);
        rc = FLAME_EPRECONDITION;
        br->reason = "NETWORK_NOT_FOUND";
    } else if (rc == FLAME_EINVALID) {
        snprintf(err, errlen, "Docker could not start runner %s: %s", snap->id, derr);
        br->reason = "START_FAILED";
    } else if (rc == FLAME_ENOTFOUND || rc == FLAME_ECONFLICT) {
        snprintf(err, errlen, "runner %s's container was removed before it started: %s", snap->id,
                 derr);
        rc = FLAME_EABORTED;
        br->reason = "RUNNER_EXITED";
    } else if (rc == FLAME_ETIMEOUT) {
        snprintf(err, errlen, "runner %s did not start within boot_timeout: %s", snap->id, derr);
        br->reason = "BOOT_TIMEOUT";
    } else if (rc == FLAME_ECANCELLED) {
        snprintf(err, errlen, "the client cancelled Boot while runner %s was starting", snap->id);
    } else {
        snprintf(err, errlen, "starting runner %s: %s", snap->id, derr);
        rc = docker_failure(rc, &br->reason);
    }
    return rc;
}

/*
 * Stage: wait until the container runs (and is healthy if it has a health
 * check), filling br->ip. It looks (inspect) once after start, then again only
 * when the engine's events bring news of this runner (start, die, oom,
 * health_status, destroy: boot_news.h) or, should an event be missed, after
 * BOOT_FALLBACK_MS (BOOT_FALLBACK_AWAY_MS while the event stream is not in
 * sync); the settle look waits the same way.
 */
static int wait_running(struct boot_run *br)
{
    struct service *svc = br->svc;
    struct engine *eng = br->eng;
    const struct runner *r = br->snap;
    char *err = br->err;
    size_t errlen = sizeof(br->err);
    int64_t settle_until = 0;
    struct engine_state st;
    for (;;) {
        char derr[512] = "";
        unsigned seen = boot_news_seen(svc->news, &br->waiter);
        int rc = eng->ops->inspect(eng, r->container_id, r->network, &st, derr, sizeof(derr));
        if (rc == FLAME_ECANCELLED)
            return cancelled_err(br);
        if (rc == FLAME_ETIMEOUT) {
            snprintf(err, errlen, "runner %s (%s) was not running within boot_timeout: %s", r->id,
                     r->name, derr);
            return rc;
        }
        if (rc < 0) {
            snprintf(err, errlen, "inspecting runner %s's container: %s", r->id, derr);
            return rc == FLAME_ENOTFOUND ? FLAME_EABORTED : rc;
        }
        if (call_cancelled(br->call)) /* whatever the state: never report a cancelled Boot */
            return cancelled_err(br);
        int64_t now = clock_mono_ms();
        int64_t until = now + (service_sync_state(svc) == SERVICE_SYNC_READY ? BOOT_FALLBACK_MS
                                                                              : BOOT_FALLBACK_AWAY_MS);
        if (st.running && (!st.health[0] || strcmp(st.health, "healthy") == 0)) {
            /* A command that fails at once (bad config, crash on start) is still "running"
             * for a few ms after start: look again once it has run for the settle time
             * before saying so. That time counts from the engine's StartedAt (start
             * answers ~15 ms after it, more under load), not from this inspect; when
             * the engine's clock is off, at most the whole settle is waited. A die
             * meanwhile is news: it is looked at at once. */
            if (!settle_until) {
                long wait = settle_left_ms(svc->cfg.boot_settle_ms, st.started_at_ms);
                if (wait <= 0 || now + wait >= br->deadline) {
                    snprintf(br->ip, sizeof(br->ip), "%s", st.ip_address);
                    return 0;
                }
                settle_until = now + wait;
            } else if (now >= settle_until) {
                snprintf(br->ip, sizeof(br->ip), "%s", st.ip_address);
                return 0;
            }
            boot_news_wait(svc->news, &br->waiter, seen, settle_until, br->call);
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
        if (now >= br->deadline) {
            snprintf(err, errlen, "runner %s (%s) was not %s within boot_timeout (state %s%s%s)",
                     r->id, r->name, st.health[0] ? "healthy" : "running", st.status,
                     st.health[0] ? ", health " : "", st.health);
            append_logs(svc, r->container_id, err, errlen);
            return FLAME_ETIMEOUT;
        }
        boot_news_wait(svc->news, &br->waiter, seen, until < br->deadline ? until : br->deadline,
                       br->call);
    }
}

/* Stage: wait until it runs (wait_running), with the Boot's reasons. */
static int boot_wait(struct boot_run *br)
{
    int rc = wait_running(br);
    if (rc == FLAME_EABORTED)
        br->reason = "RUNNER_EXITED";
    else if (rc < 0)
        rc = docker_failure(rc, &br->reason); /* the boot_timeout, or the engine's inspect */
    return rc;
}

/*
 * Stage: the runner is RUNNING, unless the client left. The last look before
 * RUNNING: a Boot whose client is gone, or whose answer would reach the client
 * after its deadline, removes its runner instead; one cancelled between that
 * look and RUNNING retires it (STOPPING, REMOVED) and answers itself
 * (BOOT_ANSWERED).
 */
static int boot_commit(struct boot_run *br)
{
    struct service *svc = br->svc;
    if (call_cancelled(br->call))
        return cancelled_err(br);
    if (br->client_left != INT64_MAX && call_deadline_left_ms(br->call) < BOOT_ANSWER_MARGIN_MS) {
        br->reason = "BOOT_TIMEOUT";
        snprintf(br->err, sizeof(br->err), "runner %s was running only %d ms before the call's "
                                           "deadline: it was removed (give Boot a longer deadline)",
                 br->snap->id, BOOT_ANSWER_MARGIN_MS);
        return FLAME_ETIMEOUT;
    }
    runner_registry_set_started_at(svc->reg, br->snap->id, clock_mono_ms());
    /* Not RUNNING (out of memory for its IP): the state check below fails the
     * Boot and removes the container. */
    runner_registry_checked(runner_registry_set_running(svc->reg, br->snap->id, br->ip), "set_running",
                            br->snap->id);
    boot_news_tell(svc->news, br->snap->id); /* for Boots replaying this request_id */
    struct runner *now = NULL;
    int rc = runner_registry_get(svc->reg, br->snap->id, &now);
    if (rc < 0)
        return rc;
    runner_free(br->snap);
    br->snap = now;
    if (br->snap->state != FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING) {
        snprintf(br->err, sizeof(br->err), "runner %s left RUNNING during boot (now %s): it was "
                                           "shut down or exited",
                 br->snap->id, runner_state_name(br->snap->state));
        br->reason = "RUNNER_EXITED";
        br->created = 0; /* whoever moved it owns its cleanup */
        return FLAME_EABORTED;
    }
    if (call_cancelled(br->call)) {
        /* Cancelled between the last look and RUNNING: nobody will learn of this
         * runner, so it goes (STOPPING, then REMOVED) instead of being answered. */
        runner_registry_checked(runner_registry_set_stopping(svc->reg, br->snap->id), "set_stopping",
                                br->snap->id);
        char rerr[256];
        int rrc = svc->engine->ops->remove(svc->engine, br->container_id, rerr, sizeof(rerr));
        if (rrc == 0 || rrc == FLAME_ENOTFOUND)
            runner_registry_checked(runner_registry_set_removed(svc->reg, br->snap->id), "set_removed",
                                    br->snap->id);
        else
            reaper_push(svc->reaper, REAPER_REMOVE, br->snap->id);
        flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=CANCELLED duration_ms=%lld "
                   "error=\"the client cancelled Boot as it became RUNNING: runner removed\"",
                   br->snap->id, br->snap->pool, (long long)(clock_mono_ms() - br->t0));
        metrics_boot_done(FLAME_ECANCELLED, clock_mono_ms() - br->t0);
        call_finish(br->call, FLAME_ECANCELLED, NULL, "the client cancelled Boot", NULL);
        return BOOT_ANSWERED;
    }
    return 0;
}

/*
 * Answer the Boot: OK with its runner, or its failure, after marking the
 * runner FAILED and removing its container (unless keep_runner).
 */
static void boot_answer(struct boot_run *br, int rc)
{
    struct service *svc = br->svc;
    svc_call *call = br->call;
    char *err = br->err;
    size_t errlen = sizeof(br->err);
    int logged = 0;
    /* Counted before the answer is on the wire (see call_finish). */
    metrics_boot_done(rc, clock_mono_ms() - br->t0);
    if (rc == 0) {
        finish_ok(call, br->snap, br->snap->warm ? "boot_ok_warm" : "boot_ok", br->t0);
        return;
    }
    if (!br->snap) {
        call_finish(call, rc, br->reason, err[0] ? err : "out of memory", NULL);
        return;
    }
    struct runner *snap = br->snap;
    if (rc == FLAME_ENOMEM && !err[0])
        snprintf(err, errlen, "out of memory");
    if (call_cancelled(call) && rc != FLAME_ECANCELLED) {
        /* The client is gone (cancel or its deadline): say so in the logs. */
        rc = FLAME_ECANCELLED;
    }
    runner_registry_checked(runner_registry_set_failed(svc->reg, snap->id, err), "set_failed", snap->id);
    boot_news_tell(svc->news, snap->id); /* for Boots replaying this request_id */
    if (br->created && !br->req->keep_runner) {
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
                .deadline_ms = (br->deadline > at ? br->deadline : at) + BOOT_CLEANUP_WAIT_MS};
            if (engine_bounded(svc->engine, &rb, &reng) == 0)
                rrc = reng->ops->remove(reng, br->container_id, rerr, sizeof(rerr));
            engine_free_view(reng);
        }
        if (rrc == FLAME_ETIMEOUT || rrc == FLAME_ENOMEM) {
            char q[600];
            flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=%s duration_ms=%lld "
                       "error=%s removing=1", snap->id, snap->pool, status_name_of(rc),
                       (long long)(clock_mono_ms() - br->t0), log_quote(q, sizeof(q), err));
            call_finish(call, rc, br->reason, err, NULL);
            logged = 1;
            rrc = svc->engine->ops->remove(svc->engine, br->container_id, rerr, sizeof(rerr));
        }
        if (rrc == 0 || rrc == FLAME_ENOTFOUND) {
            runner_registry_checked(runner_registry_set_removed(svc->reg, snap->id), "set_removed",
                                    snap->id);
        } else {
            /* Never leave it behind: the reaper retries until the engine lets it go. */
            flamed_log(LOG_WARN, "boot_cleanup_retry", "runner_id=%s container_id=%.12s error=%s",
                       snap->id, br->container_id, rerr);
            reaper_push(svc->reaper, REAPER_REMOVE, snap->id);
        }
    }
    if (!logged) {
        char q[600];
        flamed_log(LOG_WARN, "boot_failed", "runner_id=%s pool=%s status=%s duration_ms=%lld error=%s",
                   snap->id, snap->pool, status_name_of(rc), (long long)(clock_mono_ms() - br->t0),
                   log_quote(q, sizeof(q), err));
        call_finish(call, rc, br->reason, err, NULL);
    }
}

/* The blocking part of a Boot: register, create, start, wait, commit, answer. */
static void boot_worker(svc_call *call)
{
    struct service *svc = call->service;
    struct boot_run *br = calloc(1, sizeof(*br));
    if (!br) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    br->svc = svc;
    br->call = call;
    br->req = (const Flame__V1__BootRequest *)call->request;
    br->b = call->state;
    br->t0 = clock_mono_ms();
    unsigned timeout = br->req->boot_timeout_ms
                           ? br->req->boot_timeout_ms
                           : (svc->cfg.default_boot_timeout_ms ? svc->cfg.default_boot_timeout_ms : 30000);
    br->deadline = br->t0 + timeout;
    br->client_left = call_deadline_left_ms(call);
    if (br->client_left != INT64_MAX && br->t0 + br->client_left < br->deadline)
        br->deadline = br->t0 + br->client_left;
    /* Every engine call of this Boot goes through eng: the Boot's deadline and its
     * client's cancel reach each one, including one in flight. */
    struct engine_bounds bounds = {.deadline_ms = br->deadline, .cancelled = boot_cancelled, .ud = call};
    int rc = engine_bounded(svc->engine, &bounds, &br->eng) < 0 ? FLAME_ENOMEM : 0;
    int warm = 0;
    if (rc == 0 && svc->warm) {
        rc = boot_warm(br);
        warm = rc == 0;
        if (rc == BOOT_COLD)
            rc = 0;
    }
    if (rc == 0 && !warm)
        rc = boot_register(br);
    if (rc == 0 && !warm)
        rc = boot_create(br);
    if (rc == 0 && !warm)
        rc = boot_start(br);
    if (rc == 0 && !warm)
        rc = boot_wait(br);
    if (rc == 0)
        rc = boot_commit(br);
    if (rc != BOOT_ANSWERED)
        boot_answer(br, rc);
    if (br->waiting)
        boot_news_leave(svc->news, &br->waiter);
    engine_free_view(br->eng);
    runner_free(br->snap);
    free(br->container_id);
    cJSON_Delete(br->labels);
    request_strv_free(br->env);
    free(br->cmd);
    free(br->entrypoint);
    free(br);
}

/*
 * Stage: prepare (on the transport's thread, no blocking): the caller may use
 * the pool, the request is valid, its host_config and mounts are read into
 * flamed's canonical tree (boot_config.c), and the policy allows that tree.
 * What the policy checks is what the engine receives.
 */
static int boot_prepare(svc_call *call, struct boot *b, char *err, size_t errlen, const char **reason)
{
    struct service *svc = call->service;
    const Flame__V1__BootRequest *req = (const Flame__V1__BootRequest *)call->request;
    const char *pool = (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL;
    service_audit(call, "pool=%.64s image=%.200s network=%.64s", pool, req->image ? req->image : "",
                  req->network ? req->network : "");
    if (!service_caller_allows(call, pool)) {
        char pools[512];
        service_caller_pools(call, pools, sizeof(pools));
        snprintf(err, errlen, "caller '%s' may not boot into pool '%.64s' (its token allows: %s)",
                 call->identity->name, pool, pools);
        *reason = "POOL_NOT_ALLOWED";
        return FLAME_EPERM;
    }
    int rc = request_boot_validate(req, &b->host_config, &b->mounts, err, errlen);
    if (rc == 0)
        rc = boot_placement_read(&b->placement, req->placement, err, errlen);
    if (rc == 0 && req->pull_policy == FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER &&
        !(svc->engine->ops->caps & ENGINE_CAP_PULL_NEVER)) {
        snprintf(err, errlen, "pull_policy NEVER cannot be honoured by this engine: with --engine "
                              "swarm the node that runs the runner pulls its image itself (and "
                              "uses its local copy when the pull fails); leave pull_policy unset");
        rc = FLAME_EINVALID;
    }
    if (rc == 0 && b->placement && !(svc->engine->ops->caps & ENGINE_CAP_PLACEMENT)) {
        snprintf(err, errlen, "placement needs --engine swarm: this flamed runs runners on one "
                              "Docker Engine, which has no nodes to place them on");
        rc = FLAME_EINVALID;
    }
    if (rc < 0) {
        *reason = "INVALID_REQUEST";
        return rc;
    }
    if ((rc = policy_check_limits(svc->policy, req, err, errlen)) < 0) {
        *reason = "LIMIT_EXCEEDED";
        return rc;
    }
    rc = policy_check_boot(svc->policy, req, &b->host_config, b->mounts, err, errlen);
    if (rc < 0) {
        *reason = rc == FLAME_EPERM ? "POLICY_DENIED" : "INVALID_REQUEST";
        return rc;
    }
    return 0;
}

void service_boot(svc_call *call)
{
    char err[1024];
    const char *reason = NULL;
    struct boot *b = calloc(1, sizeof(*b));
    if (!b) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    call_set_state(call, b, boot_free);
    int rc = boot_prepare(call, b, err, sizeof(err), &reason);
    if (rc < 0) {
        call_finish(call, rc, reason, err, NULL);
        return;
    }
    if ((rc = call_run_blocking(call, boot_worker)) < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                "Spawn and Shutdown calls: retry later", NULL);
}
