/*
 * Adoption and the registry's sync with Docker: what a restarted flamed does
 * to find its runners again, and what calls do until the registry matches
 * Docker (the "gate").
 *
 * flamed listens at once; the registry is filled in the background. Each time
 * the Docker events stream opens (at start, and after every loss of Docker),
 * the reaper thread resyncs: one filtered GET /containers/json?all=1
 * &filters={"label":["flamed.instance=<instance>"]} gives every container of
 * this flamed with its labels, state, image, name, created time and, usually,
 * its IP address. Untracked containers are adopted from the entry alone; a
 * container is inspected only where the entry lacks something (the IP on the
 * runner's network, StartedAt for a max lifetime, the exit code and
 * OOMKilled of an exited one), by a small pool of threads. Tracked runners
 * that Docker no longer shows, or shows exited, are reconciled.
 *
 * Sync states (svc->sync_state, under sync_mu):
 *   ADOPTING   the registry does not match Docker yet (start, or the events
 *              stream reopened and the resync runs). Calls that need the
 *              registry wait for READY within their own deadline; health is
 *              NOT_SERVING.
 *   READY      the registry matches Docker and the events stream is open.
 *   AWAY       Docker does not answer (the events stream is lost and /_ping
 *              fails). Calls that need Docker's truth answer UNAVAILABLE /
 *              DOCKER_UNAVAILABLE at once.
 * Follows: Docker Engine API v1.41 ContainerList, ContainerInspect.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"
#include "service/adopt.h"
#include "service/boot_config.h"
#include "service/request.h"
#include "service/reaper.h"
#include "service/service.h"
#include "service/warm_record.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x

/* Inspects at once during a resync: enough to hide Docker's latency, few
 * enough not to crowd a loaded daemon (dockerd serialises much of its work). */
#define ADOPT_WORKERS 8
/* Boot-record reads (warm_record_read). Each is an exec that the container's
 * own code can stall for its whole bound (WARM_RECORD_READ_MS: SIGSTOP of
 * the exec'd process, an impostor at /.flamed/init), and flamed serves no one
 * until adoption is done. dockerd serialises exec setup (~30-50 ms each), so
 * the reads run ADOPT_WORKERS at a time, as before; but a read that has run
 * ADOPT_RECORD_SLOW_MS (an honest one takes ~0.3 s with 8 at once) no longer
 * counts as one of them: another worker starts beside it, up to
 * ADOPT_RECORD_WORKERS in all. So a stalled read costs the others about
 * ADOPT_RECORD_SLOW_MS of one slot, not its whole bound, and honest reads
 * never queue behind more than ADOPT_WORKERS execs while nothing stalls. */
#define ADOPT_RECORD_WORKERS 64
#define ADOPT_RECORD_SLOW_MS 1500

/* ------------------------------------------------------------ exits */

void service_runner_exited(struct service *svc, const struct runner *before, int exit_code, int oom)
{
    if (runner_registry_checked(runner_registry_set_exited(svc->reg, before->id, exit_code, oom),
                                "set_exited", before->id) < 0)
        return; /* not tracked any more: nothing to record or reap */
    /* BOOTING: Boot owns the cleanup. STOPPING: Shutdown does. */
    if (before->state == S(RUNNING) && !before->keep_runner)
        reaper_push(svc->reaper, REAPER_REMOVE, before->id);
    if (before->state == S(RUNNING))
        flamed_log(LOG_INFO, "runner_exited", "runner_id=%s pool=%s exit_code=%d oom_killed=%d",
                   before->id, before->pool, exit_code, oom > 0);
}

/* ------------------------------------------------------------ sync state */

/* Tell the health service; caller holds sync_mu. */
static void health_update_locked(struct service *svc)
{
    svc->serving = svc->ping_ok && svc->sync_state == SERVICE_SYNC_READY;
    if (svc->serving_fn)
        svc->serving_fn(svc->serving_ud, svc->serving);
}

void service_sync_init(struct service *svc)
{
    pthread_mutex_init(&svc->sync_mu, NULL);
    pthread_cond_init(&svc->sync_cv, NULL);
    svc->sync_state = SERVICE_SYNC_ADOPTING;
}

void service_sync_destroy(struct service *svc)
{
    pthread_mutex_destroy(&svc->sync_mu);
    pthread_cond_destroy(&svc->sync_cv);
}

void service_sync_set_health(struct service *svc, int ping_ok)
{
    pthread_mutex_lock(&svc->sync_mu);
    svc->ping_ok = ping_ok;
    health_update_locked(svc);
    pthread_mutex_unlock(&svc->sync_mu);
}

void service_sync_stream(struct service *svc, int open, int docker_up, const char *error)
{
    pthread_mutex_lock(&svc->sync_mu);
    int before = svc->sync_state;
    svc->stream_open = open;
    if (open) {
        svc->stream_gen++;
        svc->sync_state = SERVICE_SYNC_ADOPTING; /* until the resync for this opening is done */
    } else {
        svc->sync_state = docker_up ? SERVICE_SYNC_ADOPTING : SERVICE_SYNC_AWAY;
        if (!docker_up)
            snprintf(svc->docker_error, sizeof(svc->docker_error), "%s", error ? error : "");
    }
    if (svc->sync_state != before) {
        pthread_cond_broadcast(&svc->sync_cv);
        health_update_locked(svc);
        if (svc->sync_state == SERVICE_SYNC_AWAY)
            flamed_log(LOG_WARN, "registry_docker_away", "error=\"%s\"", svc->docker_error);
    }
    pthread_mutex_unlock(&svc->sync_mu);
}

int service_sync_state(struct service *svc)
{
    pthread_mutex_lock(&svc->sync_mu);
    int s = svc->sync_state;
    pthread_mutex_unlock(&svc->sync_mu);
    return s;
}

int service_serving(struct service *svc)
{
    pthread_mutex_lock(&svc->sync_mu);
    int s = svc->serving_fn ? svc->serving : -1;
    pthread_mutex_unlock(&svc->sync_mu);
    return s;
}

int service_docker_away(struct service *svc)
{
    return service_sync_state(svc) == SERVICE_SYNC_AWAY;
}

/* The message for calls refused while Docker is away; caller holds sync_mu. */
static void away_message_locked(struct service *svc, char *out, size_t outlen)
{
    if (svc->docker_error[0])
        snprintf(out, outlen,
                 "Docker does not answer (%s): flamed cannot tell which runners exist until it is "
                 "back; start dockerd (or check --docker-host) and retry: flamed resyncs on its own",
                 svc->docker_error);
    else
        snprintf(out, outlen,
                 "Docker at %s does not answer: flamed cannot tell which runners exist until it is "
                 "back; start dockerd (or check --docker-host) and retry: flamed resyncs on its own",
                 svc->engine->ops->address(svc->engine));
}

/* ------------------------------------------------------------ the gate */

void service_gate(svc_call *call, void (*handler)(svc_call *call), void (*waiter)(svc_call *call),
                  int need_docker)
{
    struct service *svc = call->service;
    char msg[768];
    pthread_mutex_lock(&svc->sync_mu);
    int state = svc->sync_state, once = svc->synced_once;
    if (state == SERVICE_SYNC_AWAY && (need_docker || !once))
        away_message_locked(svc, msg, sizeof(msg));
    pthread_mutex_unlock(&svc->sync_mu);
    if (state == SERVICE_SYNC_READY || (state == SERVICE_SYNC_AWAY && !need_docker && once)) {
        handler(call);
    } else if (state == SERVICE_SYNC_AWAY) {
        call_finish(call, FLAME_EUNAVAILABLE, "DOCKER_UNAVAILABLE", msg, NULL);
    } else {
        int rc = call_run_blocking(call, waiter);
        if (rc < 0)
            call_finish(call, rc, "TOO_MANY_CALLS",
                            "flamed is at its limit of concurrent calls waiting for adoption: retry "
                            "in a moment",
                            NULL);
    }
}

void service_gate_wait(svc_call *call, void (*handler)(svc_call *call), int need_docker)
{
    struct service *svc = call->service;
    int64_t left = call_deadline_left_ms(call);
    /* Answer a little before the client's deadline, so it gets our reason
     * rather than DEADLINE_EXCEEDED. */
    int64_t margin = left == INT64_MAX ? 0 : left / 10 < 5 ? 5 : left / 10 > 100 ? 100 : left / 10;
    char msg[768] = "";
    int state;
    pthread_mutex_lock(&svc->sync_mu);
    for (;;) {
        state = svc->sync_state;
        if (state != SERVICE_SYNC_ADOPTING || call_cancelled(call) || atomic_load(&svc->stopping))
            break;
        left = call_deadline_left_ms(call);
        if (left != INT64_MAX && left <= margin)
            break;
        int64_t wait_ms = 50; /* re-check cancellation that often */
        if (left != INT64_MAX && left - margin < wait_ms)
            wait_ms = left - margin;
        struct timespec ts;
        clock_realtime_after_ms(&ts, wait_ms);
        pthread_cond_timedwait(&svc->sync_cv, &svc->sync_mu, &ts);
    }
    int once = svc->synced_once;
    if (state == SERVICE_SYNC_AWAY)
        away_message_locked(svc, msg, sizeof(msg));
    else if (state == SERVICE_SYNC_ADOPTING && atomic_load(&svc->adopt_total) == 0)
        snprintf(msg, sizeof(msg),
                 "flamed is still adopting its runners from Docker (waiting for Docker's container "
                 "list, for %lld ms): the call's deadline passed first; retry, or give it a longer "
                 "deadline",
                 (long long)(svc->adopt_started_ms ? clock_mono_ms() - svc->adopt_started_ms : 0));
    else if (state == SERVICE_SYNC_ADOPTING)
        snprintf(msg, sizeof(msg),
                 "flamed is still adopting its runners from Docker (%d of %d so far, for %lld ms): "
                 "the call's deadline passed first; retry, or give it a longer deadline",
                 atomic_load(&svc->adopt_done), atomic_load(&svc->adopt_total),
                 (long long)(svc->adopt_started_ms ? clock_mono_ms() - svc->adopt_started_ms : 0));
    pthread_mutex_unlock(&svc->sync_mu);
    if (state == SERVICE_SYNC_READY || (state == SERVICE_SYNC_AWAY && !need_docker && once))
        handler(call);
    else if (call_cancelled(call))
        call_finish(call, FLAME_ECANCELLED, NULL, "the client went away", NULL);
    else if (atomic_load(&svc->stopping))
        call_finish(call, FLAME_EUNAVAILABLE, "SHUTTING_DOWN", "flamed is shutting down: retry", NULL);
    else if (state == SERVICE_SYNC_AWAY)
        call_finish(call, FLAME_EUNAVAILABLE, "DOCKER_UNAVAILABLE", msg, NULL);
    else
        call_finish(call, FLAME_EUNAVAILABLE, "ADOPTING", msg, NULL);
}

/* ------------------------------------------------------------ the resync */

enum job_kind {
    JOB_ADOPT,  /* a container of ours the registry does not track */
    JOB_EXITED, /* tracked as RUNNING/STOPPING, Docker says it is not running */
    JOB_CHECK,  /* tracked, absent from the list: gone, or created after the list */
};

struct adopt_job {
    enum job_kind kind;
    const struct engine_listed *sum; /* JOB_ADOPT: the list entry (borrowed from the list) */
    int inspect;         /* the entry lacks something: inspect the container */
    int record;          /* a running warm container: read its boot record (warm_record.h) */
    struct runner *snap; /* JOB_EXITED, JOB_CHECK: the registry's snapshot (owned) */
};

struct adopt_pass {
    struct service *svc;
    struct adopt_job *jobs;
    size_t n;
    pthread_mutex_t mu;
    size_t next, next_record; /* the two lanes' cursors: other jobs, record reads */
    int adopted, inspected;
};

/* A worker of one lane: the record reads, or every other job. */
struct adopt_lane {
    struct adopt_pass *p;
    int record;
    int64_t busy_since; /* clock_mono_ms() its current job began; 0: none (under p->mu) */
};

/* Read one label from a container's labels. */
static const char *label_of(const cJSON *labels, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A per-Boot label (keep, created time, request_id, parent_id, lease,
 * lifetimes) only as a Boot could have written it, else NULL: Docker merges
 * the image's labels into the container's, so one its Boot left unset can
 * come from the image (or a record), and adoption believes neither unchecked. */
static const char *boot_label(const cJSON *labels, const char *key)
{
    const char *v = label_of(labels, key);
    return v && warm_record_check_label(key, v, NULL, 0) == 0 ? v : NULL;
}

/* flamed.network is set at create only when the Boot named a network, else it
 * may be the image's: believed only as a Docker network name. */
static int network_label_ok(const char *v)
{
    return strlen(v) <= REQ_NETWORK_MAX && boot_config_docker_name_ok(v);
}

/* Adopt one container from its list entry and, when needed, its inspect. */
/* The container's labels that are the runner's: flamed.* and the Boot's own
 * (RUNNER_LABEL_BOOT_LABELS lists their keys), not those the image adds (Docker
 * merges image labels into the container's). A container booted before that
 * label existed keeps all its labels. */
static void adopt_labels(struct runner *r, const cJSON *labels)
{
    const cJSON *boot = cJSON_GetObjectItemCaseSensitive(labels, RUNNER_LABEL_BOOT_LABELS), *l;
    cJSON *keys = NULL;
    if (cJSON_IsString(boot))
        keys = cJSON_ParseWithLength(boot->valuestring, strlen(boot->valuestring));
    cJSON_ArrayForEach(l, labels)
    {
        if (!cJSON_IsString(l) ||
            (warm_record_is_boot_key(l->string) &&
             warm_record_check_label(l->string, l->valuestring, NULL, 0) < 0) ||
            (strcmp(l->string, RUNNER_LABEL_NETWORK) == 0 && !network_label_ok(l->valuestring)))
            continue;
        int ours = !cJSON_IsArray(keys) ||
                   strncmp(l->string, RUNNER_LABEL_PREFIX, strlen(RUNNER_LABEL_PREFIX)) == 0;
        for (const cJSON *k = ours ? NULL : keys->child; k && !ours; k = k->next)
            ours = cJSON_IsString(k) && strcmp(k->valuestring, l->string) == 0;
        if (ours)
            runner_add_label(r, l->string, l->valuestring);
    }
    cJSON_Delete(keys);
}

/*
 * Adopt one container. rec: a running warm container's boot record, read
 * and decoded (NULL: none, or it could not be read: why says why). A warm
 * container with a record that passes warm_record_labels() is adopted as the
 * taken runner it is, with its Boot's metadata and delivered env; any other
 * warm container is tracked hidden and removed.
 */
static int adopt_one(struct service *svc, const struct adopt_job *j, const struct engine_state *inspect,
                     const struct env_frame *rec, const char *why)
{
    const cJSON *c = j->sum->labels;
    cJSON *merged = NULL;
    char rerr[256] = "";
    int warm = label_of(c, RUNNER_LABEL_WARM) != NULL, taken = 0;
    if (warm && rec) {
        int mrc = warm_record_labels(rec, c, &merged, rerr, sizeof(rerr));
        if (mrc == FLAME_ENOMEM)
            return mrc;
        if (mrc == 0) {
            c = merged;
            taken = 1;
        }
    }
    const char *rid = label_of(c, RUNNER_LABEL_ID);
    const char *net = label_of(c, RUNNER_LABEL_NETWORK);
    if (net && !network_label_ok(net))
        net = NULL;
    struct engine_state st;
    memset(&st, 0, sizeof(st));
    if (inspect)
        st = *inspect;
    int running = inspect ? st.running : j->sum->running;
    struct runner *r = runner_new();
    if (!r) {
        cJSON_Delete(merged);
        return FLAME_ENOMEM;
    }
    const char *keep = boot_label(c, RUNNER_LABEL_KEEP), *v;
    runner_set_str(&r->id, rid);
    runner_set_str(&r->container_id, j->sum->id);
    runner_set_str(&r->name, j->sum->name);
    runner_set_str(&r->pool, label_of(c, RUNNER_LABEL_POOL));
    runner_set_str(&r->image, j->sum->image);
    runner_set_str(&r->network, net);
    runner_set_str(&r->ip_address, inspect && st.ip_address[0] ? st.ip_address : j->sum->ip_address);
    r->keep_runner = keep && strcmp(keep, "true") == 0;
    r->exit_code = inspect ? st.exit_code : j->sum->exit_code < 0 ? 0 : j->sum->exit_code;
    r->oom_killed = inspect ? st.oom_killed : 0;
    r->state = running ? S(RUNNING) : S(EXITED);
    runner_set_str(&r->request_id, boot_label(c, RUNNER_LABEL_REQUEST_ID));
    runner_set_str(&r->parent_id, boot_label(c, RUNNER_LABEL_PARENT_ID));
    if ((v = boot_label(c, RUNNER_LABEL_LEASE_TTL)) && r->parent_id[0])
        r->lease_ttl_ms = (uint32_t)strtoul(v, NULL, 10);
    if ((v = boot_label(c, RUNNER_LABEL_MAX_LIFETIME)))
        r->max_lifetime_ms = strtoull(v, NULL, 10);
    if ((v = boot_label(c, RUNNER_LABEL_IDLE_AFTER)))
        r->idle_after_ms = strtoull(v, NULL, 10);
    /* Leases and idle clocks restart at adoption: the parent gets a full TTL to
     * reconnect. Max lifetime counts from the container's start, which Docker knows. */
    int64_t now = clock_mono_ms();
    r->started_ms = now;
    r->last_active_ms = now;
    if (r->lease_ttl_ms)
        r->lease_expires_ms = now + r->lease_ttl_ms;
    if (inspect && st.started_at_ms > 0 && r->max_lifetime_ms) {
        int64_t age_ms = clock_unix_ns() / 1000000 - st.started_at_ms;
        if (age_ms > 0)
            r->started_ms = now - age_ms;
    }
    adopt_labels(r, c);
    r->created_unix_nano = j->sum->created_unix_s * 1000000000LL;
    if ((v = boot_label(c, RUNNER_LABEL_CREATED))) {
        char *end;
        long long ns = strtoll(v, &end, 10);
        if (*end == '\0' && end != v && ns > 0)
            r->created_unix_nano = ns; /* the Boot's own reading, as List showed it before */
    }
    int exited_unkept = !running && !r->keep_runner;
    /* A warm runner (docs/warm.md). Taken, with a record that checks out: the
     * runner its Boot made, with the env that Boot delivered (Spawn needs
     * it). Else it is not handed out again: an untaken one may be of a spec
     * the pool file no longer has, and a taken one without its record has
     * none of its Boot's metadata (or its delivery was cut short). Tracked
     * hidden and removed. */
    r->warm = warm;
    if (taken) {
        r->boot_env = calloc(rec->n + 1, sizeof(char *));
        for (size_t i = 0; r->boot_env && i < rec->n; i++)
            if (!(r->boot_env[i] = strdup(rec->entries[i]))) {
                runner_free(r);
                cJSON_Delete(merged);
                return FLAME_ENOMEM;
            }
        if (!r->boot_env) {
            runner_free(r);
            cJSON_Delete(merged);
            return FLAME_ENOMEM;
        }
    } else if (warm) {
        r->hidden = 1;
        r->claimed = 1; /* never ready for a Boot */
        r->keep_runner = 0;
        exited_unkept = 1;
    }
    char id[RUNNER_ID_LEN + 8];
    snprintf(id, sizeof(id), "%s", rid);
    cJSON_Delete(merged);
    int rc = runner_registry_adopt(svc->reg, r);
    if (rc < 0) {
        runner_free(r); /* EEXISTS: adopted meanwhile (an event's adopt pass, a Boot's own) */
        if (rc != FLAME_EEXISTS)
            flamed_log(LOG_WARN, "adopt_failed", "runner_id=%s error=%s", id, flame_error_name(rc));
        return rc;
    }
    if (warm && taken) {
        flamed_log(LOG_INFO, "warm_runner_adopted", "runner_id=%s action=keep", id);
    } else if (warm) {
        char q[700];
        const char *reason = rerr[0] ? rerr : why && why[0] ? why : running ? "no record" : "not running";
        flamed_log(LOG_INFO, "warm_runner_adopted", "runner_id=%s action=remove reason=%s", id,
                   log_quote(q, sizeof(q), reason));
    }
    if (exited_unkept)
        reaper_push(svc->reaper, REAPER_REMOVE, id);
    return 0;
}

static void run_job(struct adopt_pass *p, struct adopt_job *j)
{
    struct service *svc = p->svc;
    struct engine_state st;
    char derr[512];
    int rc = 0, adopted = 0;
    const char *cid = j->kind == JOB_ADOPT ? j->sum->id : j->snap->container_id;
    const char *net = j->kind == JOB_ADOPT ? label_of(j->sum->labels, RUNNER_LABEL_NETWORK) : j->snap->network;
    struct env_frame rec = {0};
    char why[512] = "";
    int have_rec = 0, inspected = j->inspect;
    if (j->record) {
        int64_t t0 = clock_mono_ms();
        int rrc = warm_record_read(svc->engine, cid, &rec, why, sizeof(why));
        have_rec = rrc == 0;
        flamed_log(LOG_DEBUG, "warm_record_read", "container_id=%.12s ok=%d duration_ms=%lld", cid,
                   have_rec, (long long)(clock_mono_ms() - t0));
        /* A max lifetime counts from the container's start: StartedAt. */
        const char *ml = have_rec ? env_frame_meta(&rec, RUNNER_LABEL_MAX_LIFETIME) : NULL;
        inspected |= ml != NULL;
    }
    if (inspected)
        rc = svc->engine->ops->inspect(svc->engine, cid, net, &st, derr, sizeof(derr));
    if (j->kind == JOB_ADOPT) {
        if (rc == 0)
            adopted = adopt_one(svc, j, inspected ? &st : NULL, have_rec ? &rec : NULL, why) == 0;
        else if (rc != FLAME_ENOTFOUND) /* gone since the list: nothing to adopt */
            flamed_log(LOG_WARN, "adopt_inspect_failed", "container_id=%.12s error=%s", cid, derr);
        atomic_fetch_add(&svc->adopt_done, 1);
    } else if (rc == FLAME_ENOTFOUND && j->kind == JOB_CHECK) {
        runner_registry_checked(runner_registry_set_removed(svc->reg, j->snap->id), "set_removed",
                                j->snap->id);
    } else if (rc == 0) {
        if (!st.running && (j->snap->state == S(RUNNING) || j->snap->state == S(STOPPING)))
            service_runner_exited(svc, j->snap, st.exit_code, st.oom_killed);
    }
    env_frame_free(&rec);
    pthread_mutex_lock(&p->mu);
    p->adopted += adopted;
    p->inspected += inspected;
    pthread_mutex_unlock(&p->mu);
}

static void *pass_worker(void *arg)
{
    struct adopt_lane *lane = arg;
    struct adopt_pass *p = lane->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t *cur = lane->record ? &p->next_record : &p->next;
        while (*cur < p->n && !p->jobs[*cur].record != !lane->record)
            (*cur)++;
        size_t i = *cur < p->n ? (*cur)++ : p->n;
        lane->busy_since = i < p->n ? clock_mono_ms() : 0;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        run_job(p, &p->jobs[i]);
        pthread_mutex_lock(&p->mu);
        lane->busy_since = 0;
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Is a record read left that no worker has taken? Caller holds p->mu. */
static int record_left_locked(struct adopt_pass *p)
{
    for (size_t i = p->next_record; i < p->n; i++)
        if (p->jobs[i].record)
            return 1;
    return 0;
}

/*
 * Run the record reads: ADOPT_WORKERS workers, and one more each time fewer
 * than ADOPT_WORKERS are on a read younger than ADOPT_RECORD_SLOW_MS (or
 * idle), up to ADOPT_RECORD_WORKERS, until every read is taken. *started:
 * the threads made (th[0..]), for the caller to join.
 */
static void run_record_lane(struct adopt_pass *p, struct adopt_lane *w, pthread_t *th, size_t *started)
{
    size_t n = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int left = record_left_locked(p);
        size_t fresh = 0;
        int64_t now = clock_mono_ms();
        for (size_t i = 0; i < n; i++)
            fresh += !w[i].busy_since || now - w[i].busy_since < ADOPT_RECORD_SLOW_MS;
        pthread_mutex_unlock(&p->mu);
        if (!left)
            break;
        if (fresh < ADOPT_WORKERS && n < ADOPT_RECORD_WORKERS) {
            w[n] = (struct adopt_lane){p, 1, 0};
            if (pthread_create(&th[n], NULL, pass_worker, &w[n]) != 0)
                break; /* the caller takes what is left on its own thread */
            n++;
            continue;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    *started = n;
}

/* Is `id` among the list's runner ids? (n is small enough for a scan per runner.) */
static int listed(const struct engine_list *list, const char *id)
{
    for (size_t i = 0; i < list->n; i++) {
        const char *rid = label_of(list->items[i].labels, RUNNER_LABEL_ID);
        if (rid && strcmp(rid, id) == 0)
            return 1;
    }
    return 0;
}

int service_resync(struct service *svc, char *err, size_t errlen)
{
    struct engine_list *list = NULL;
    struct runner **tracked = NULL;
    size_t n_tracked = 0;
    struct adopt_pass p;
    int rc;
    int64_t t0 = clock_mono_ms();

    memset(&p, 0, sizeof(p));
    p.svc = svc;
    pthread_mutex_init(&p.mu, NULL);
    /* Tracked runners first: one that a Boot adds after this snapshot is not
     * checked (its container may postdate the list). */
    if ((rc = runner_registry_list(svc->reg, NULL, &tracked, &n_tracked)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if ((rc = svc->engine->ops->list(svc->engine, svc->instance_label, RUNNER_LABEL_NETWORK, &list,
                                     err, errlen)) < 0)
        goto done;
    size_t cap = list->n + n_tracked;
    p.jobs = calloc(cap ? cap : 1, sizeof(*p.jobs));
    if (!p.jobs) {
        rc = FLAME_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t li = 0; li < list->n; li++) {
        const struct engine_listed *c = &list->items[li];
        const char *rid = label_of(c->labels, RUNNER_LABEL_ID);
        struct adopt_job *j = &p.jobs[p.n];
        if (!rid)
            continue;
        j->sum = c;
        struct runner *r = NULL;
        if ((rc = runner_registry_get(svc->reg, rid, &r)) == FLAME_ENOMEM) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        rc = 0;
        if (!r) { /* FLAME_ENOTFOUND: not tracked */
            const char *ml = label_of(c->labels, RUNNER_LABEL_MAX_LIFETIME);
            j->kind = JOB_ADOPT;
            /* What the entry lacks: an exited container's OOMKilled (and exit
             * code), a running one's IP, StartedAt for a max lifetime. */
            j->inspect = !j->sum->running || !j->sum->ip_address[0] || (ml && strtoull(ml, NULL, 10) > 0);
            j->record = j->sum->running && label_of(c->labels, RUNNER_LABEL_WARM) != NULL;
            p.n++;
        } else if (!c->running && (r->state == S(RUNNING) || r->state == S(STOPPING))) {
            j->kind = JOB_EXITED;
            j->snap = r;
            j->inspect = 1;
            p.n++;
        } else {
            runner_free(r);
        }
    }
    int to_adopt = 0;
    for (size_t i = 0; i < p.n; i++)
        to_adopt += p.jobs[i].kind == JOB_ADOPT;
    for (size_t i = 0; i < n_tracked; i++) {
        struct runner *r = tracked[i];
        if (!r->container_id[0] || r->state == S(BOOTING) || r->state == S(REMOVED) ||
            r->state == S(FAILED) || listed(list, r->id))
            continue;
        struct adopt_job *j = &p.jobs[p.n++];
        j->kind = JOB_CHECK;
        j->snap = r;
        j->inspect = 1;
        tracked[i] = NULL;
    }
    atomic_store(&svc->adopt_total, to_adopt);
    atomic_store(&svc->adopt_done, 0);
    size_t n_inspect = 0, n_record = 0; /* jobs that wait on the engine */
    for (size_t i = 0; i < p.n; i++) {
        n_record += p.jobs[i].record != 0;
        n_inspect += !p.jobs[i].record && p.jobs[i].inspect;
    }
    struct adopt_lane others = {&p, 0, 0}, records = {&p, 1, 0};
    struct adopt_lane *rw = n_record ? calloc(ADOPT_RECORD_WORKERS, sizeof(*rw)) : NULL;
    pthread_t th[ADOPT_WORKERS], rth[ADOPT_RECORD_WORKERS];
    size_t n_threads = n_inspect > ADOPT_WORKERS ? ADOPT_WORKERS : n_inspect;
    size_t started = 0, rstarted = 0;
    if (n_record && !n_threads && p.n > n_record)
        n_threads = 1; /* the cheap jobs must not wait for the record reads */
    for (; (n_record ? n_threads > 0 : n_threads > 1) && started < n_threads; started++)
        if (pthread_create(&th[started], NULL, pass_worker, &others) != 0)
            break;
    if (rw)
        run_record_lane(&p, rw, rth, &rstarted);
    pass_worker(&others);  /* this thread works too (alone when nothing needs an inspect) */
    pass_worker(&records); /* and takes the record reads no thread could be made for */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < rstarted; i++)
        pthread_join(rth[i], NULL);
    free(rw);
    if (p.adopted || to_adopt)
        flamed_log(LOG_INFO, "runners_adopted", "count=%d listed=%d inspected=%d duration_ms=%lld",
                   p.adopted, list ? (int)list->n : 0, p.inspected, (long long)(clock_mono_ms() - t0));
    rc = 0;
done:
    for (size_t i = 0; i < p.n; i++)
        runner_free(p.jobs[i].snap);
    free(p.jobs);
    if (tracked) {
        for (size_t i = 0; i < n_tracked; i++)
            runner_free(tracked[i]);
        free(tracked);
    }
    if (list)
        svc->engine->ops->list_free(svc->engine, list);
    pthread_mutex_destroy(&p.mu);
    return rc;
}

void service_resync_for_stream(struct service *svc)
{
    pthread_mutex_lock(&svc->sync_mu);
    unsigned gen = svc->stream_gen;
    if (svc->adopt_started_ms == 0 || svc->sync_state != SERVICE_SYNC_ADOPTING)
        svc->adopt_started_ms = clock_mono_ms();
    atomic_store(&svc->adopt_total, 0); /* "waiting for the list" until it is in */
    pthread_mutex_unlock(&svc->sync_mu);
    char err[512] = "";
    int rc = service_resync(svc, err, sizeof(err));
    pthread_mutex_lock(&svc->sync_mu);
    /* Ready only if the stream this resync was for is still the open one:
     * otherwise the next opening queues its own. */
    if (rc == 0 && gen == svc->stream_gen && svc->stream_open &&
        svc->sync_state == SERVICE_SYNC_ADOPTING) {
        svc->sync_state = SERVICE_SYNC_READY;
        if (!svc->synced_once)
            flamed_log(LOG_INFO, "adoption_done", "duration_ms=%lld",
                       (long long)(clock_mono_ms() - svc->adopt_started_ms));
        svc->synced_once = 1;
        svc->adopt_started_ms = 0;
        pthread_cond_broadcast(&svc->sync_cv);
        health_update_locked(svc);
    }
    pthread_mutex_unlock(&svc->sync_mu);
    if (rc < 0 && !atomic_load(&svc->stopping)) {
        flamed_log(LOG_WARN, "adopt_failed", "error=\"%s\" retry_ms=500", err);
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&svc->sync_mu);
        int again = gen == svc->stream_gen && svc->stream_open;
        pthread_mutex_unlock(&svc->sync_mu);
        if (again)
            reaper_push(svc->reaper, REAPER_RESYNC_STREAM, NULL);
    }
}
