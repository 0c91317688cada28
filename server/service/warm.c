/*
 * The pool manager of warm runners: see warm.h and docs/warm.md.
 *
 * One thread. Per pool it compares the runners ready plus those being made
 * with `warm`, and makes the missing ones one at a time: the image (pulled
 * when absent) and its Config give the command (warm_pool_command), a hidden
 * record is inserted within the quotas, the container is created with
 * flamed-init as its Entrypoint and its stdin open, started, and the record
 * becomes RUNNING (still hidden). A pool whose runner cannot be made backs
 * off (1 s, doubling to 60 s) so a broken spec does not spin.
 * Follows: Docker Engine API v1.41 ContainerCreate (Entrypoint, Cmd,
 * OpenStdin, StdinOnce, HostConfig.Mounts), ContainerStart, ImageInspect.
 */
#include "service/warm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "flame/error.h"
#include "init/env_frame.h"
#include "service/adopt.h"
#include "service/request.h"
#include "service/service.h"
#include "service/warm_pools.h"
#include "service/warm_record.h"

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x

#define WARM_MAKE_MS 120000    /* a make (pull, create, start) at most (ms) */
#define WARM_IDLE_WAIT_MS 1000 /* look at the pools at least this often (ms) */
#define WARM_BACKOFF_MIN_MS 1000
#define WARM_BACKOFF_MAX_MS 60000
#define WARM_REMOVE_MS 10000   /* each removal at stop (ms) */

struct pool_state {
    char **command;        /* flamed-init's argv after "--"; NULL until resolved */
    _Atomic int64_t refill_after; /* clock_mono_ms(): no make before (warm_taken); 0: none */
    int64_t backoff_until; /* clock_mono_ms(); 0: none */
    int64_t backoff_ms;
    int quota_logged;      /* "quota full" said once until a make succeeds */
};

struct warm_manager {
    struct service *svc;
    const struct warm_pools *pools;
    struct pool_state *ps; /* one per pool, in file order */
    char *init_path;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int kicked;            /* under mu */
    atomic_int stop;
};

void warm_kick(warm_manager *wm)
{
    if (!wm)
        return;
    pthread_mutex_lock(&wm->mu);
    wm->kicked = 1;
    pthread_cond_signal(&wm->cv);
    pthread_mutex_unlock(&wm->mu);
}

void warm_taken(warm_manager *wm, const char *pool)
{
    if (!wm)
        return;
    for (size_t i = 0; pool && i < wm->pools->n; i++) {
        const struct warm_pool *wp = &wm->pools->pools[i];
        if (wp->refill_delay_ms && strcmp(wp->name, pool) == 0)
            atomic_store(&wm->ps[i].refill_after, clock_mono_ms() + wp->refill_delay_ms);
    }
    warm_kick(wm);
}

static int stopping_cb(void *ud)
{
    warm_manager *wm = ud;
    return atomic_load(&wm->stop) || atomic_load(&wm->svc->stopping);
}

static void backoff(struct pool_state *ps)
{
    ps->backoff_ms = ps->backoff_ms ? ps->backoff_ms * 2 : WARM_BACKOFF_MIN_MS;
    if (ps->backoff_ms > WARM_BACKOFF_MAX_MS)
        ps->backoff_ms = WARM_BACKOFF_MAX_MS;
    ps->backoff_until = clock_mono_ms() + ps->backoff_ms;
}

/* The pool's command: the image present (pulled if not), its Config read. */
static int resolve_command(struct engine *eng, const struct warm_pool *wp, struct pool_state *ps,
                           char *err, size_t errlen)
{
    char derr[1024] = "";
    int rc = eng->ops->image_present(eng, wp->image, derr, sizeof(derr));
    if (rc == FLAME_ENOTFOUND) {
        flamed_log(LOG_INFO, "image_pull", "image=%s pool=%s warm=1", wp->image, wp->name);
        rc = eng->ops->image_pull(eng, wp->image, WARM_MAKE_MS, NULL, NULL, derr, sizeof(derr));
    }
    if (rc < 0) {
        snprintf(err, errlen, "image '%s': %s", wp->image, derr);
        return rc;
    }
    cJSON *config = NULL;
    if ((rc = eng->ops->image_config(eng, wp->image, &config, derr, sizeof(derr))) < 0) {
        snprintf(err, errlen, "inspecting image '%s': %s", wp->image, derr);
        return rc;
    }
    /* A health check would judge flamed-init, which waits: such a pool stays cold. */
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(config, "Healthcheck");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(hc, "Test");
    const cJSON *first = cJSON_IsArray(test) ? cJSON_GetArrayItem(test, 0) : NULL;
    if (first && !(cJSON_IsString(first) && strcmp(first->valuestring, "NONE") == 0)) {
        cJSON_Delete(config);
        snprintf(err, errlen, "image '%s' has a HEALTHCHECK: warm runners of it are not supported "
                              "(its Boots boot cold)", wp->image);
        return FLAME_EUNIMPLEMENTED;
    }
    rc = warm_pool_command(&ps->command, wp, config, err, errlen);
    cJSON_Delete(config);
    return rc;
}

/* A hidden record for a new warm runner of wp. */
static struct runner *warm_record(const struct service *svc, const struct warm_pool *wp)
{
    struct runner *r = runner_new();
    if (!r)
        return NULL;
    char id[RUNNER_ID_LEN + 1], name[64], num[32];
    runner_id_generate(id);
    request_runner_name(wp->name, id, name, sizeof(name));
    r->created_unix_nano = clock_unix_ns();
    snprintf(num, sizeof(num), "%lld", (long long)r->created_unix_nano);
    int rc = runner_set_str(&r->id, id) | runner_set_str(&r->name, name) |
             runner_set_str(&r->pool, wp->name) | runner_set_str(&r->image, wp->image) |
             runner_set_str(&r->network, wp->network);
    rc |= runner_add_label(r, RUNNER_LABEL_MANAGED_BY, RUNNER_LABEL_MANAGED_BY_VALUE);
    rc |= runner_add_label(r, RUNNER_LABEL_INSTANCE, strchr(svc->instance_label, '=') + 1);
    rc |= runner_add_label(r, RUNNER_LABEL_ID, id);
    rc |= runner_add_label(r, RUNNER_LABEL_POOL, wp->name);
    rc |= runner_add_label(r, RUNNER_LABEL_KEEP, "false");
    if (wp->network && wp->network[0])
        rc |= runner_add_label(r, RUNNER_LABEL_NETWORK, wp->network);
    rc |= runner_add_label(r, RUNNER_LABEL_CREATED, num);
    rc |= runner_add_label(r, RUNNER_LABEL_WARM, "true");
    if (rc) {
        runner_free(r);
        return NULL;
    }
    r->hidden = 1;
    r->warm = 1;
    return r;
}

/* Remove a warm runner's container (by id, else by name) and mark it REMOVED. */
static void discard(struct service *svc, const struct runner *r, const char *container)
{
    char derr[512] = "";
    struct engine *eng = NULL;
    struct engine_bounds b = {.deadline_ms = clock_mono_ms() + WARM_REMOVE_MS};
    int rc = FLAME_ENOMEM;
    runner_registry_checked(runner_registry_set_failed(svc->reg, r->id, "warm runner discarded"),
                            "set_failed", r->id);
    if (engine_bounded(svc->engine, &b, &eng) == 0)
        rc = eng->ops->remove(eng, container && container[0] ? container : r->name, derr, sizeof(derr));
    engine_free_view(eng);
    if (rc == 0 || rc == FLAME_ENOTFOUND)
        runner_registry_checked(runner_registry_set_removed(svc->reg, r->id), "set_removed", r->id);
    else
        flamed_log(LOG_WARN, "warm_remove_failed", "runner_id=%s pool=%s error=\"%s\"", r->id,
                   r->pool, derr);
}

/* Make one warm runner of wp. 0 made; FLAME_EEXHAUSTED quota full; else failed (err). */
static int make_one(warm_manager *wm, const struct warm_pool *wp, struct pool_state *ps, char *err,
                    size_t errlen)
{
    struct service *svc = wm->svc;
    const struct policy *pol = svc->policy;
    struct engine *eng = NULL;
    struct engine_bounds b = {.deadline_ms = clock_mono_ms() + WARM_MAKE_MS,
                              .cancelled = stopping_cb, .ud = wm};
    struct runner *r = NULL, *snap = NULL;
    cJSON *labels = NULL, *mounts = NULL;
    char *cid = NULL, derr[1024] = "";
    int rc, inserted = 0;
    int64_t t0 = clock_mono_ms();
    if (engine_bounded(svc->engine, &b, &eng) < 0)
        return FLAME_ENOMEM;
    if (!ps->command && (rc = resolve_command(eng, wp, ps, err, errlen)) < 0)
        goto done;
    if (!(r = warm_record(svc, wp)) || !(snap = runner_dup(r))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    const struct runner_insert_opts admit = {.max_total = pol->max_runners,
                                             .max_pool = pol->max_runners_per_pool};
    if ((rc = runner_registry_insert(svc->reg, r, &admit, NULL)) < 0) {
        runner_free(r);
        goto done;
    }
    inserted = 1;
    if (!(labels = cJSON_CreateObject()) ||
        !(mounts = wp->mounts ? cJSON_Duplicate(wp->mounts, 1) : cJSON_CreateArray())) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < snap->n_labels; i++)
        if (!cJSON_AddStringToObject(labels, snap->label_keys[i], snap->label_values[i])) {
            rc = FLAME_ENOMEM;
            goto done;
        }
    /* flamed's own mount, added after the policy checked the spec's (docs/warm.md). */
    cJSON *init = cJSON_CreateObject();
    if (!init || !cJSON_AddItemToArray(mounts, init) || !cJSON_AddStringToObject(init, "Type", "bind") ||
        !cJSON_AddStringToObject(init, "Source", wm->init_path) ||
        !cJSON_AddStringToObject(init, "Target", WARM_INIT_TARGET) ||
        !cJSON_AddBoolToObject(init, "ReadOnly", 1)) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    /* The tmpfs flamed-init keeps the Boot's record on (warm_record.h). */
    cJSON *run = cJSON_CreateObject(), *tmpfs = NULL;
    if (!run || !cJSON_AddItemToArray(mounts, run) || !cJSON_AddStringToObject(run, "Type", "tmpfs") ||
        !cJSON_AddStringToObject(run, "Target", WARM_RUN_TARGET) ||
        !(tmpfs = cJSON_AddObjectToObject(run, "TmpfsOptions")) ||
        !cJSON_AddNumberToObject(tmpfs, "SizeBytes", WARM_RUN_TMPFS_BYTES) ||
        !cJSON_AddNumberToObject(tmpfs, "Mode", WARM_RUN_TMPFS_MODE)) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    static const char *const entrypoint[] = {WARM_INIT_TARGET, "--stdin", "--record",
                                             WARM_RECORD_PATH, "--", NULL};
    struct engine_spec spec = {
        .name = snap->name,
        .image = wp->image,
        .network = wp->network,
        .env = (const char *const *)wp->env,
        .cmd = (const char *const *)ps->command,
        .entrypoint = entrypoint,
        .labels = labels,
        .host_config = wp->host_config,
        .mounts = mounts,
        .owner_key = RUNNER_LABEL_ID,
        .owner_value = snap->id,
        .open_stdin = 1,
    };
    if ((rc = eng->ops->create(eng, &spec, &cid, derr, sizeof(derr))) < 0) {
        snprintf(err, errlen, "creating a warm runner: %s", derr);
        goto done;
    }
    if ((rc = runner_registry_checked(runner_registry_set_container(svc->reg, snap->id, cid),
                                      "set_container", snap->id)) < 0)
        goto done;
    if ((rc = eng->ops->start(eng, cid, WARM_MAKE_MS, derr, sizeof(derr))) < 0) {
        snprintf(err, errlen, "starting a warm runner: %s", derr);
        goto done;
    }
    struct engine_state st;
    if ((rc = eng->ops->inspect(eng, cid, wp->network, &st, derr, sizeof(derr))) < 0) {
        snprintf(err, errlen, "inspecting a warm runner: %s", derr);
        goto done;
    }
    if (!st.running) {
        snprintf(err, errlen, "the warm runner exited at once (exit code %d%s%s)", st.exit_code,
                 st.error[0] ? ": " : "", st.error);
        rc = FLAME_EABORTED;
        goto done;
    }
    runner_registry_set_started_at(svc->reg, snap->id, clock_mono_ms());
    if ((rc = runner_registry_checked(runner_registry_set_running(svc->reg, snap->id, st.ip_address),
                                      "set_running", snap->id)) < 0)
        goto done;
    flamed_log(LOG_INFO, "warm_runner_ready", "runner_id=%s pool=%s container_id=%.12s duration_ms=%lld",
               snap->id, wp->name, cid, (long long)(clock_mono_ms() - t0));
    rc = 0;
done:
    if (rc < 0 && inserted)
        discard(svc, snap, cid);
    engine_free_view(eng);
    runner_free(snap);
    free(cid);
    cJSON_Delete(labels);
    cJSON_Delete(mounts);
    return rc;
}

/* One look at every pool; 1 when a runner was made (look again at once).
 * *wake_ms: lowered to when a pool held back by its refill delay may go on. */
static int refill(warm_manager *wm, int64_t *wake_ms)
{
    int made = 0;
    for (size_t i = 0; i < wm->pools->n && !stopping_cb(wm); i++) {
        const struct warm_pool *wp = &wm->pools->pools[i];
        struct pool_state *ps = &wm->ps[i];
        size_t ready = 0, making = 0;
        int64_t after = atomic_load(&ps->refill_after);
        if (!wp->warm || clock_mono_ms() < ps->backoff_until)
            continue;
        if (after && clock_mono_ms() < after) {
            /* A runner of this pool was just taken: its start has the machine first. */
            if (after < *wake_ms)
                *wake_ms = after;
            continue;
        }
        runner_registry_warm_count(wm->svc->reg, wp->name, &ready, &making);
        if (ready + making >= wp->warm)
            continue;
        char err[1536] = "";
        int rc = make_one(wm, wp, ps, err, sizeof(err));
        if (rc == 0) {
            ps->backoff_ms = 0;
            ps->quota_logged = 0;
            made = 1;
        } else if (rc == FLAME_EEXHAUSTED) {
            if (!ps->quota_logged)
                flamed_log(LOG_INFO, "warm_pool_quota_full", "pool=%s ready=%zu warm=%u "
                           "hint=\"warm runners count against the policy's quotas\"",
                           wp->name, ready, wp->warm);
            ps->quota_logged = 1;
            ps->backoff_until = clock_mono_ms() + WARM_BACKOFF_MIN_MS;
        } else if (!stopping_cb(wm)) {
            backoff(ps);
            char q[1700];
            flamed_log(LOG_WARN, "warm_runner_failed", "pool=%s error=%s retry_ms=%lld", wp->name,
                       log_quote(q, sizeof(q), err[0] ? err : flame_error_name(rc)),
                       (long long)ps->backoff_ms);
        }
    }
    return made;
}

static void *manager_main(void *arg)
{
    warm_manager *wm = arg;
    while (!stopping_cb(wm)) {
        int made = 0;
        int64_t now = clock_mono_ms(), wake = now + WARM_IDLE_WAIT_MS;
        if (service_sync_state(wm->svc) == SERVICE_SYNC_READY)
            made = refill(wm, &wake);
        else
            wake = now + 200;
        pthread_mutex_lock(&wm->mu);
        if (!made && !wm->kicked && !atomic_load(&wm->stop)) {
            struct timespec ts;
            now = clock_mono_ms();
            clock_realtime_after_ms(&ts, wake > now ? wake - now : 1);
            pthread_cond_timedwait(&wm->cv, &wm->mu, &ts);
        }
        wm->kicked = 0;
        pthread_mutex_unlock(&wm->mu);
    }
    return NULL;
}

int warm_start(warm_manager **out, struct service *svc, const struct warm_pools *pools,
               const char *init_path)
{
    warm_manager *wm = calloc(1, sizeof(*wm));
    if (!wm)
        return FLAME_ENOMEM;
    wm->svc = svc;
    wm->pools = pools;
    wm->ps = calloc(pools->n ? pools->n : 1, sizeof(*wm->ps));
    wm->init_path = strdup(init_path);
    pthread_mutex_init(&wm->mu, NULL);
    pthread_cond_init(&wm->cv, NULL);
    if (!wm->ps || !wm->init_path || pthread_create(&wm->thread, NULL, manager_main, wm) != 0) {
        warm_stop(wm);
        return FLAME_ENOMEM;
    }
    wm->started = 1;
    for (size_t i = 0; i < pools->n; i++)
        flamed_log(LOG_INFO, "warm_pool", "pool=%s warm=%u image=%s", pools->pools[i].name,
                   pools->pools[i].warm, pools->pools[i].image);
    *out = wm;
    return 0;
}

void warm_stop(warm_manager *wm)
{
    if (!wm)
        return;
    atomic_store(&wm->stop, 1);
    warm_kick(wm);
    if (wm->started)
        pthread_join(wm->thread, NULL);
    struct runner **rs = NULL;
    size_t n = 0, removed = 0;
    if (wm->svc->reg && runner_registry_list(wm->svc->reg, NULL, &rs, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!rs[i]->hidden)
                continue;
            discard(wm->svc, rs[i], rs[i]->container_id);
            removed++;
        }
        runner_list_free(rs, n);
    }
    if (removed)
        flamed_log(LOG_INFO, "warm_runners_removed", "count=%zu", removed);
    for (size_t i = 0; wm->pools && i < wm->pools->n && wm->ps; i++)
        request_strv_free(wm->ps[i].command);
    free(wm->ps);
    free(wm->init_path);
    pthread_mutex_destroy(&wm->mu);
    pthread_cond_destroy(&wm->cv);
    free(wm);
}

/* ------------------------------------------------------------ matching */

static int strv_has(char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return 1;
    return 0;
}

static int json_eq(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    return cJSON_Compare(a, b, 1);
}

int warm_match(const warm_manager *wm, const Flame__V1__BootRequest *req, const cJSON *host_config,
               const cJSON *mounts, char **frame, size_t *frame_len, char ***entries, char *why,
               size_t whylen)
{
    char *own_frame = NULL;
    size_t own_len = 0;
    if (!frame) { /* only the check that the env fits a frame */
        frame = &own_frame;
        frame_len = &own_len;
    }
    *frame = NULL;
    if (entries)
        *entries = NULL;
    *frame_len = 0;
    why[0] = '\0';
    if (!wm)
        return 0;
    const char *pool = req->pool && req->pool[0] ? req->pool : REQ_DEFAULT_POOL;
    const struct warm_pool *wp = warm_pools_find(wm->pools, pool);
    if (!wp || !wp->warm) {
        snprintf(why, whylen, "no warm pool");
        return 0;
    }
    size_t n_cmd = 0;
    while (wp->cmd && wp->cmd[n_cmd])
        n_cmd++;
    int same_cmd = n_cmd == req->n_cmd;
    for (size_t i = 0; same_cmd && i < n_cmd; i++)
        same_cmd = strcmp(wp->cmd[i], req->cmd[i]) == 0;
    const char *reason = NULL;
    if (strcmp(wp->image, req->image ? req->image : "") != 0)
        reason = "image";
    else if (strcmp(wp->network ? wp->network : "", req->network ? req->network : "") != 0)
        reason = "network";
    else if (!same_cmd)
        reason = "cmd";
    else if (req->n_entrypoint || (req->user && req->user[0]) ||
             (req->working_dir && req->working_dir[0]))
        reason = "entrypoint, user or working_dir";
    else if (req->pull_policy == FLAME__V1__PULL_POLICY__PULL_POLICY_ALWAYS)
        reason = "pull_policy ALWAYS";
    else if (!json_eq(host_config, wp->host_config))
        reason = "host_config";
    else if (!json_eq(mounts, wp->mounts))
        reason = "mounts";
    if (reason) {
        snprintf(why, whylen, "%s differs from the pool's spec", reason);
        return 0;
    }
    char **env = NULL;
    if (request_boot_env(req, &env) < 0)
        return FLAME_ENOMEM;
    int rc = 1;
    size_t n = 0, k = 0;
    for (char **e = wp->env; e && *e; e++)
        if (!strv_has(env, *e)) {
            const char *eq = strchr(*e, '=');
            snprintf(why, whylen, "env %.*s differs from the pool's spec",
                     (int)(eq ? eq - *e : 64), *e);
            rc = 0;
            goto done;
        }
    for (char **e = env; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !env_frame_name_ok(*e, (size_t)(eq - *e))) {
            snprintf(why, whylen, "an env name flamed-init does not take");
            rc = 0;
            goto done;
        }
        n++;
    }
    /* The frame: the Boot's entries the spec lacks, in order (compacted in place). */
    for (size_t i = 0; i < n; i++)
        if (!strv_has(wp->env, env[i])) {
            char *t = env[k];
            env[k++] = env[i];
            env[i] = t;
        }
    char ferr[256];
    if (env_frame_encode(frame, frame_len, (const char *const *)env, k, ferr, sizeof(ferr)) < 0) {
        snprintf(why, whylen, "env frame: %s", ferr);
        *frame = NULL;
        rc = 0;
    } else if (entries) {
        for (size_t i = k; i < n; i++) {
            free(env[i]);
            env[i] = NULL;
        }
        *entries = env;
        env = NULL;
    }
done:
    request_strv_free(env);
    free(own_frame);
    return rc;
}
