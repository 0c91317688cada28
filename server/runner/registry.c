/* The runner registry: see registry.h. A plain array is enough: flamed tracks
 * hundreds of runners, and every operation is a short scan under one lock. */
#include "runner/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/identity.h"
#include "common/log.h"
#include "common/wire.h"
#include "flame/error.h"

#define TOMBSTONES_MAX 4096

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x
#define E(x) FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_##x

/* Open Watches of one parent_id in one pool (pool NULL: a caller scoped to no
 * pool list, i.e. every pool). Keyed by pool so that a caller's Watch holds
 * only the leases of runners it may see (docs/security.md). */
struct parent_watch {
    char *parent_id;
    char *pool;
    int watchers;
};

struct runner_registry {
    pthread_mutex_t mu;
    event_hub *hub;
    struct runner **rs; /* insertion order: oldest first */
    size_t n, cap;
    struct parent_watch *parents; /* parents with an open Watch */
    size_t n_parents;
};

int runner_state_is_live(int state) { return state != S(REMOVED) && state != S(FAILED); }

int runner_registry_new(runner_registry **out, event_hub *hub)
{
    runner_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return FLAME_ENOMEM;
    pthread_mutex_init(&reg->mu, NULL);
    reg->hub = hub;
    *out = reg;
    return 0;
}

void runner_registry_free(runner_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        runner_free(reg->rs[i]);
    free(reg->rs);
    for (size_t i = 0; i < reg->n_parents; i++) {
        free(reg->parents[i].parent_id);
        free(reg->parents[i].pool);
    }
    free(reg->parents);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

static struct runner *find(runner_registry *reg, const char *id)
{
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->rs[i]->id, id) == 0)
            return reg->rs[i];
    return NULL;
}

/* Drop the oldest tombstones beyond TOMBSTONES_MAX. Caller holds the lock. */
static void prune(runner_registry *reg)
{
    size_t dead = 0;
    for (size_t i = 0; i < reg->n; i++)
        dead += !runner_state_is_live(reg->rs[i]->state);
    size_t j = 0;
    for (size_t i = 0; i < reg->n; i++) {
        struct runner *r = reg->rs[i];
        if (dead > TOMBSTONES_MAX && !runner_state_is_live(r->state)) {
            runner_free(r);
            dead--;
            continue;
        }
        reg->rs[j++] = r;
    }
    reg->n = j;
}

/*
 * The newest runner of `pool` with this request_id. A request_id is an
 * idempotency key within its pool only: matching another pool's runner would
 * hand one tenant another's runner (id, container, IP) for a guessed key.
 */
static struct runner *find_request(runner_registry *reg, const char *pool, const char *request_id)
{
    if (!request_id || !request_id[0])
        return NULL;
    for (size_t i = reg->n; i-- > 0;)
        if (strcmp(reg->rs[i]->request_id, request_id) == 0 &&
            strcmp(reg->rs[i]->pool, pool ? pool : "") == 0)
            return reg->rs[i];
    return NULL;
}

/* Insert r (taken on success); with publish, publish BOOTING. opts and info as
 * runner_registry_insert() (adopt passes neither). */
static int add(runner_registry *reg, struct runner *r, int publish, const struct runner_insert_opts *opts,
               struct runner_insert_info *info)
{
    static const struct runner_insert_opts none;
    int err = 0;
    if (!opts)
        opts = &none;
    if (info)
        *info = (struct runner_insert_info){0};
    pthread_mutex_lock(&reg->mu);
    if (find(reg, r->id)) {
        err = FLAME_EEXISTS;
        goto done;
    }
    if (opts->idempotent) {
        struct runner *same = find_request(reg, r->pool, r->request_id);
        if (same && same->state != S(FAILED)) {
            struct runner *snap = runner_dup(same);
            err = snap ? FLAME_EEXISTS : FLAME_ENOMEM;
            if (info)
                info->existing = snap;
            else
                runner_free(snap);
            goto done;
        }
    }
    size_t max_total = opts->max_total, max_pool = opts->max_pool;
    if (max_total || max_pool || info) {
        size_t total = 0, in_pool = 0;
        for (size_t i = 0; i < reg->n; i++) {
            if (!runner_state_is_live(reg->rs[i]->state))
                continue;
            total++;
            in_pool += strcmp(reg->rs[i]->pool, r->pool) == 0;
        }
        if (info) {
            info->live_total = total;
            info->live_pool = in_pool;
        }
        if ((max_total && total >= max_total) || (max_pool && in_pool >= max_pool)) {
            err = FLAME_EEXHAUSTED;
            goto done;
        }
    }
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 64;
        struct runner **rs = realloc(reg->rs, cap * sizeof(*rs));
        if (!rs) {
            err = FLAME_ENOMEM;
            goto done;
        }
        reg->rs = rs;
        reg->cap = cap;
    }
    reg->rs[reg->n++] = r;
    if (publish && !r->hidden)
        event_hub_publish(reg->hub, E(BOOTING), r);
    prune(reg);
done:
    pthread_mutex_unlock(&reg->mu);
    return err;
}

int runner_registry_insert(runner_registry *reg, struct runner *r, const struct runner_insert_opts *opts,
                           struct runner_insert_info *info)
{
    r->state = S(BOOTING);
    return add(reg, r, 1, opts, info);
}

int runner_registry_adopt(runner_registry *reg, struct runner *r)
{
    return add(reg, r, 0, NULL, NULL);
}

void runner_registry_spawn_begin(runner_registry *reg, const char *id, int64_t now_ms)
{
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (r) {
        r->active_spawns++;
        r->last_active_ms = now_ms;
    }
    pthread_mutex_unlock(&reg->mu);
}

void runner_registry_spawn_end(runner_registry *reg, const char *id, int64_t now_ms)
{
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (r) {
        if (r->active_spawns > 0)
            r->active_spawns--;
        r->last_active_ms = now_ms;
    }
    pthread_mutex_unlock(&reg->mu);
}

/* May a caller scoped to pools (NULL: every pool) reach a runner of pool?
 * The identity's own rule (common/identity.h), which the RPCs apply too. */
static int in_scope(const char *const *pools, size_t n_pools, const char *pool)
{
    const struct caller_identity scope = {.pools = pools, .n_pools = n_pools};
    return caller_identity_allows_pool(&scope, pool);
}

/* Is a Watch of parent_id open by a caller that may see pool's runners? */
static int parent_watching(runner_registry *reg, const char *parent_id, const char *pool)
{
    for (size_t i = 0; i < reg->n_parents; i++)
        if (strcmp(reg->parents[i].parent_id, parent_id) == 0 && reg->parents[i].watchers > 0 &&
            (!reg->parents[i].pool || strcmp(reg->parents[i].pool, pool) == 0))
            return 1;
    return 0;
}

static void renew_locked(runner_registry *reg, const char *parent_id, const char *const *pools,
                         size_t n_pools, int64_t now_ms, unsigned *renewed, unsigned *min_ttl)
{
    unsigned n = 0, m = 0;
    for (size_t i = 0; i < reg->n; i++) {
        struct runner *r = reg->rs[i];
        if (!r->lease_ttl_ms || !runner_state_is_live(r->state) || strcmp(r->parent_id, parent_id) ||
            !in_scope(pools, n_pools, r->pool))
            continue;
        r->lease_expires_ms = now_ms + r->lease_ttl_ms;
        n++;
        if (!m || r->lease_ttl_ms < m)
            m = r->lease_ttl_ms;
    }
    if (renewed)
        *renewed = n;
    if (min_ttl)
        *min_ttl = m;
}

void runner_registry_set_started_at(runner_registry *reg, const char *id, int64_t now_ms)
{
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (r) {
        r->started_ms = now_ms;
        r->last_active_ms = now_ms;
        if (r->lease_ttl_ms)
            r->lease_expires_ms = now_ms + r->lease_ttl_ms;
    }
    pthread_mutex_unlock(&reg->mu);
}

void runner_registry_renew_parent(runner_registry *reg, const char *parent_id,
                                  const char *const *pools, size_t n_pools, int64_t now_ms,
                                  unsigned *renewed, unsigned *min_ttl_ms)
{
    pthread_mutex_lock(&reg->mu);
    renew_locked(reg, parent_id, pools, n_pools, now_ms, renewed, min_ttl_ms);
    pthread_mutex_unlock(&reg->mu);
}

/* One (parent_id, pool) entry's count changes by delta; under reg->mu. */
static void parent_watch_one(runner_registry *reg, const char *parent_id, const char *pool, int delta)
{
    size_t i;
    for (i = 0; i < reg->n_parents; i++)
        if (strcmp(reg->parents[i].parent_id, parent_id) == 0 &&
            (pool ? reg->parents[i].pool && strcmp(reg->parents[i].pool, pool) == 0
                  : !reg->parents[i].pool))
            break;
    if (i == reg->n_parents && delta > 0) {
        struct parent_watch *np = realloc(reg->parents, (reg->n_parents + 1) * sizeof(*np));
        char *id = strdup(parent_id), *p = pool ? strdup(pool) : NULL;
        if (np)
            reg->parents = np;
        if (!np || !id || (pool && !p)) {
            free(id);
            free(p);
            return; /* out of memory: the lease then relies on Renew */
        }
        reg->parents[reg->n_parents++] = (struct parent_watch){id, p, 0};
    }
    if (i < reg->n_parents) {
        reg->parents[i].watchers += delta;
        if (reg->parents[i].watchers <= 0) {
            free(reg->parents[i].parent_id);
            free(reg->parents[i].pool);
            reg->parents[i] = reg->parents[--reg->n_parents];
        }
    }
}

void runner_registry_parent_watch(runner_registry *reg, const char *parent_id,
                                  const char *const *pools, size_t n_pools, int delta,
                                  int64_t now_ms)
{
    if (!parent_id || !parent_id[0])
        return;
    pthread_mutex_lock(&reg->mu);
    if (!pools)
        parent_watch_one(reg, parent_id, NULL, delta);
    for (size_t i = 0; pools && i < n_pools; i++)
        if (pools[i])
            parent_watch_one(reg, parent_id, pools[i], delta);
    /* Opening and closing both count as a renewal: the TTL runs from the last contact. */
    renew_locked(reg, parent_id, pools, n_pools, now_ms, NULL, NULL);
    pthread_mutex_unlock(&reg->mu);
}

int runner_registry_take_due(runner_registry *reg, int64_t now_ms, struct runner_due **out,
                             size_t *n)
{
    struct runner_due *due = NULL;
    size_t k = 0;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n; i++) {
        struct runner *r = reg->rs[i];
        if (r->state != S(RUNNING) || r->retiring || !r->started_ms || r->hidden)
            continue;
        char reason[256] = "";
        if (r->lease_ttl_ms && r->lease_expires_ms && now_ms >= r->lease_expires_ms &&
            !parent_watching(reg, r->parent_id, r->pool))
            snprintf(reason, sizeof(reason), "lease expired: parent '%.100s' neither watched nor "
                     "renewed for %u ms", r->parent_id, r->lease_ttl_ms);
        else if (r->max_lifetime_ms && now_ms - r->started_ms >= (int64_t)r->max_lifetime_ms)
            snprintf(reason, sizeof(reason), "max lifetime of %llu ms reached",
                     (unsigned long long)r->max_lifetime_ms);
        else if (r->idle_after_ms && r->active_spawns == 0 &&
                 now_ms - r->last_active_ms >= (int64_t)r->idle_after_ms)
            snprintf(reason, sizeof(reason), "idle (no Spawn) for %llu ms",
                     (unsigned long long)r->idle_after_ms);
        if (!reason[0])
            continue;
        struct runner_due *nd = realloc(due, (k + 1) * sizeof(*nd));
        if (!nd)
            break;
        due = nd;
        snprintf(due[k].id, sizeof(due[k].id), "%s", r->id);
        snprintf(due[k].reason, sizeof(due[k].reason), "%s", reason);
        k++;
        r->retiring = 1;
    }
    pthread_mutex_unlock(&reg->mu);
    *out = due;
    *n = k;
    return 0;
}



/* Snapshot r (or not found) into *out. */
static int snapshot(const struct runner *r, struct runner **out)
{
    *out = NULL;
    if (!r)
        return FLAME_ENOTFOUND;
    *out = runner_dup(r);
    return *out ? 0 : FLAME_ENOMEM;
}

int runner_registry_get(runner_registry *reg, const char *id, struct runner **out)
{
    pthread_mutex_lock(&reg->mu);
    int rc = snapshot(find(reg, id), out);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

int runner_registry_get_by_container(runner_registry *reg, const char *container_id,
                                     struct runner **out)
{
    *out = NULL;
    size_t len = strlen(container_id);
    if (len < 12)
        return FLAME_ENOTFOUND;
    const struct runner *found = NULL;
    pthread_mutex_lock(&reg->mu);
    /* Newest first: a container id belongs to one runner, but tombstones may share a prefix. */
    for (size_t i = reg->n; i-- > 0;) {
        if (strncmp(reg->rs[i]->container_id, container_id, len) == 0) {
            found = reg->rs[i];
            break;
        }
    }
    int rc = snapshot(found, out);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

void runner_list_free(struct runner **rs, size_t n)
{
    if (!rs)
        return;
    for (size_t i = 0; i < n; i++)
        runner_free(rs[i]);
    free(rs);
}

/* What List shows: live runners, of `pool` when it is non-empty. */
static int listed(const struct runner *r, const char *pool)
{
    return runner_state_is_live(r->state) && (!pool || !pool[0] || strcmp(pool, r->pool) == 0);
}

int runner_registry_list(runner_registry *reg, const char *pool, struct runner ***out, size_t *n)
{
    int err = 0;
    struct runner **rs = NULL;
    size_t k = 0;
    pthread_mutex_lock(&reg->mu);
    rs = calloc(reg->n ? reg->n : 1, sizeof(*rs));
    if (!rs) {
        err = FLAME_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < reg->n; i++) {
        struct runner *r = reg->rs[i];
        if (!listed(r, pool))
            continue;
        if (!(rs[k] = runner_dup(r))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        k++;
    }
done:
    pthread_mutex_unlock(&reg->mu);
    if (err < 0) {
        runner_list_free(rs, k);
        return err;
    }
    *out = rs;
    *n = k;
    return 0;
}

int runner_registry_list_wire(runner_registry *reg, const char *pool, int field_number,
                              int (*allow)(void *ctx, const char *pool), void *ctx, uint8_t **out,
                              size_t *len)
{
    int err = 0;
    uint8_t *buf = NULL;
    size_t total = 0, at = 0;
    pthread_mutex_lock(&reg->mu);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < reg->n; i++) {
            struct runner *r = reg->rs[i];
            if (!listed(r, pool) || r->hidden || (allow && !allow(ctx, r->pool)))
                continue;
            if (pass == 0) {
                if ((err = runner_pack(r)) < 0)
                    goto done;
                total += wire_len_header_size((uint32_t)field_number, r->packed_len) + r->packed_len;
                continue;
            }
            at += wire_put_len_header(buf + at, (uint32_t)field_number, r->packed_len);
            memcpy(buf + at, r->packed, r->packed_len);
            at += r->packed_len;
        }
        if (pass == 0 && !(buf = malloc(total ? total : 1))) {
            err = FLAME_ENOMEM;
            goto done;
        }
    }
done:
    pthread_mutex_unlock(&reg->mu);
    if (err < 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = at;
    return 0;
}

/* The one transition routine: apply fn to the runner under the lock; if it
 * returns an event type, publish it. */
typedef int (*transition_fn)(struct runner *r, const void *arg);

static int transition(runner_registry *reg, const char *id, transition_fn fn, const void *arg)
{
    int err = 0;
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (!r) {
        err = FLAME_ENOTFOUND;
        goto done;
    }
    int ev = fn(r, arg);
    runner_unpack(r); /* its wire form may have changed */
    if (ev < 0)
        err = ev;
    else if (ev > 0 && !r->hidden) /* a warm runner nobody took: nobody hears of it */
        event_hub_publish(reg->hub, ev, r);
done:
    pthread_mutex_unlock(&reg->mu);
    return err;
}

static int t_container(struct runner *r, const void *arg)
{
    return runner_set_str(&r->container_id, arg);
}

static int t_running(struct runner *r, const void *arg)
{
    if (r->state != S(BOOTING))
        return 0;
    if (runner_set_str(&r->ip_address, arg) < 0)
        return FLAME_ENOMEM;
    r->state = S(RUNNING);
    return E(STARTED);
}

static int t_stopping(struct runner *r, const void *arg)
{
    (void)arg;
    if (r->state != S(RUNNING) && r->state != S(BOOTING))
        return 0;
    r->state = S(STOPPING);
    return E(STOPPING);
}

struct exit_arg {
    int exit_code, oom_killed;
};

static int t_exited(struct runner *r, const void *arg)
{
    const struct exit_arg *a = arg;
    if (r->state == S(EXITED) || r->state == S(REMOVED) || r->state == S(FAILED))
        return 0;
    r->exit_code = a->exit_code;
    if (a->oom_killed >= 0)
        r->oom_killed = r->oom_killed || a->oom_killed;
    if (r->state == S(BOOTING))
        return 0;
    r->state = S(EXITED);
    return E(EXITED);
}

static int t_oom(struct runner *r, const void *arg)
{
    (void)arg;
    r->oom_killed = 1;
    return 0;
}

static int t_failed(struct runner *r, const void *arg)
{
    /* Only a boot fails. A runner already RUNNING or STOPPING (Shutdown raced the boot) keeps
     * its own path to EXITED and REMOVED, and List keeps it until then. */
    if (r->state != S(BOOTING))
        return 0;
    runner_set_str(&r->error, arg); /* out of memory: FAILED all the same, without the reason */
    r->state = S(FAILED);
    return E(FAILED);
}

static int t_removed(struct runner *r, const void *arg)
{
    (void)arg;
    if (r->state == S(REMOVED))
        return 0;
    r->state = S(REMOVED);
    return E(REMOVED);
}

int runner_registry_set_container(runner_registry *reg, const char *id, const char *container_id)
{
    return transition(reg, id, t_container, container_id);
}

int runner_registry_set_running(runner_registry *reg, const char *id, const char *ip_address)
{
    return transition(reg, id, t_running, ip_address);
}

int runner_registry_set_stopping(runner_registry *reg, const char *id)
{
    return transition(reg, id, t_stopping, NULL);
}

int runner_registry_set_exited(runner_registry *reg, const char *id, int exit_code, int oom_killed)
{
    struct exit_arg a = {exit_code, oom_killed};
    return transition(reg, id, t_exited, &a);
}

int runner_registry_set_oom(runner_registry *reg, const char *id)
{
    return transition(reg, id, t_oom, NULL);
}

int runner_registry_set_failed(runner_registry *reg, const char *id, const char *error)
{
    return transition(reg, id, t_failed, error);
}

int runner_registry_set_removed(runner_registry *reg, const char *id)
{
    return transition(reg, id, t_removed, NULL);
}

int runner_registry_note_pull(runner_registry *reg, const char *id, const struct hub_pull *pull)
{
    int err = 0;
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (!r)
        err = FLAME_ENOTFOUND;
    else if (r->state == S(BOOTING) && !r->hidden)
        event_hub_publish_pull(reg->hub, r, pull);
    pthread_mutex_unlock(&reg->mu);
    return err;
}

int runner_registry_watch(runner_registry *reg, const struct runner_watch_opts *opts,
                          hub_watcher **out)
{
    int err;
    *out = NULL;
    pthread_mutex_lock(&reg->mu);
    if ((err = event_hub_subscribe(reg->hub, opts->pool, opts->runner_id, opts->max_queue, opts->kick,
                                   opts->ud, out)) < 0)
        goto done;
    if ((err = event_hub_restrict(*out, opts->pools, opts->n_pools)) < 0) {
        event_hub_unsubscribe(reg->hub, *out);
        *out = NULL;
        goto done;
    }
    if (opts->after_sequence) {
        if ((err = event_hub_replay(reg->hub, *out, opts->after_sequence)) < 0) {
            event_hub_unsubscribe(reg->hub, *out);
            *out = NULL;
        }
    } else if (opts->include_existing) {
        size_t owed = 0;
        for (size_t i = 0; i < reg->n; i++)
            owed += runner_state_is_live(reg->rs[i]->state) && !reg->rs[i]->hidden &&
                    event_hub_matches(*out, reg->rs[i]);
        if ((err = event_hub_reserve(*out, owed)) < 0) {
            event_hub_unsubscribe(reg->hub, *out);
            *out = NULL;
            goto done;
        }
        for (size_t i = 0; i < reg->n; i++) {
            struct runner *r = reg->rs[i];
            if (!runner_state_is_live(r->state) || r->hidden || !event_hub_matches(*out, r))
                continue;
            if ((err = event_hub_push_existing(reg->hub, *out, r)) < 0) {
                event_hub_unsubscribe(reg->hub, *out);
                *out = NULL;
                break;
            }
        }
    }
done:
    pthread_mutex_unlock(&reg->mu);
    return err;
}

static int t_error(struct runner *r, const void *arg) { return runner_set_str(&r->error, arg); }

int runner_registry_set_error(runner_registry *reg, const char *id, const char *error)
{
    return transition(reg, id, t_error, error);
}

int runner_registry_checked(int rc, const char *transition, const char *id)
{
    if (rc < 0)
        flamed_log(LOG_WARN, "registry_transition_failed", "transition=%s runner_id=%s error=%s",
                   transition, id ? id : "", flame_error_name(rc));
    return rc;
}

/* ------------------------------------------------------------ warm runners */

void runner_registry_warm_count(runner_registry *reg, const char *pool, size_t *ready, size_t *making)
{
    size_t k = 0, m = 0;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n; i++) {
        const struct runner *r = reg->rs[i];
        if (!r->hidden || r->claimed || strcmp(r->pool, pool) != 0)
            continue;
        k += r->state == S(RUNNING);
        m += r->state == S(BOOTING);
    }
    pthread_mutex_unlock(&reg->mu);
    if (ready)
        *ready = k;
    if (making)
        *making = m;
}

int runner_registry_claim_warm(runner_registry *reg, const char *pool, const char *request_id,
                               struct runner_insert_info *info, struct runner **out)
{
    int err = FLAME_ENOTFOUND;
    *out = NULL;
    if (info)
        *info = (struct runner_insert_info){0};
    pthread_mutex_lock(&reg->mu);
    struct runner *same = find_request(reg, pool, request_id);
    if (same && same->state != S(FAILED)) {
        struct runner *snap = runner_dup(same);
        err = snap ? FLAME_EEXISTS : FLAME_ENOMEM;
        if (info)
            info->existing = snap;
        else
            runner_free(snap);
        goto done;
    }
    for (size_t i = 0; i < reg->n; i++) { /* oldest first: it has waited longest */
        struct runner *r = reg->rs[i];
        if (!r->hidden || r->claimed || r->state != S(RUNNING) || !r->container_id[0] ||
            strcmp(r->pool, pool) != 0)
            continue;
        char *rid = strdup(request_id ? request_id : "");
        struct runner *snap = rid ? runner_dup(r) : NULL;
        if (!snap || runner_set_str(&snap->request_id, rid) < 0) {
            free(rid);
            runner_free(snap);
            err = FLAME_ENOMEM;
            goto done;
        }
        free(r->request_id);
        r->request_id = rid;
        r->claimed = 1;
        r->state = S(BOOTING); /* a replay of its request_id waits on it, as on a cold Boot */
        runner_unpack(r);
        snap->claimed = 1;
        snap->state = S(BOOTING);
        *out = snap;
        err = 0;
        break;
    }
done:
    pthread_mutex_unlock(&reg->mu);
    return err;
}

int runner_registry_reveal_warm(runner_registry *reg, const char *id, const struct runner *meta)
{
    struct runner *copy = runner_dup(meta); /* its strings and labels, moved in below */
    if (!copy)
        return FLAME_ENOMEM;
    int err = 0;
    pthread_mutex_lock(&reg->mu);
    struct runner *r = find(reg, id);
    if (!r || !r->hidden || !r->claimed) {
        err = FLAME_ENOTFOUND;
        goto done;
    }
    /* Swap in the Boot's own metadata; the identity (id, name, container,
     * image, network, pool) is the warm runner's. */
    char *t;
    t = r->request_id, r->request_id = copy->request_id, copy->request_id = t;
    t = r->parent_id, r->parent_id = copy->parent_id, copy->parent_id = t;
    char **be = r->boot_env;
    r->boot_env = copy->boot_env;
    copy->boot_env = be;
    size_t nl = r->n_labels;
    char **lk = r->label_keys, **lv = r->label_values;
    r->n_labels = copy->n_labels, r->label_keys = copy->label_keys, r->label_values = copy->label_values;
    copy->n_labels = nl, copy->label_keys = lk, copy->label_values = lv;
    r->keep_runner = meta->keep_runner;
    r->lease_ttl_ms = meta->lease_ttl_ms;
    r->max_lifetime_ms = meta->max_lifetime_ms;
    r->idle_after_ms = meta->idle_after_ms;
    r->created_unix_nano = meta->created_unix_nano;
    r->hidden = 0;
    r->claimed = 0;
    r->warm = 1;
    runner_unpack(r);
    event_hub_publish(reg->hub, E(BOOTING), r);
done:
    pthread_mutex_unlock(&reg->mu);
    runner_free(copy);
    return err;
}
