/* An in-memory engine for the service's unit tests (mem_engine.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_engine.h"

#define MAX_CONTAINERS 256
#define MAX_NAMES 32

struct mem_container {
    char id[72];
    char name[256];
    char image[256];
    char network[128];
    cJSON *labels;
    char status[16];
    int running;
    int exit_code;
    int removed;
    char health[16];
    char health_final[16];
    int64_t health_at_ms; /* when health becomes health_final */
    int64_t started_at_ms;
    char entrypoint[256];  /* the create's entrypoint, space-joined ("" for the image's) */
    char *delivered;       /* bytes delivered to its stdin (stdin_deliver), appended */
    size_t delivered_len;
};

struct mem_event {
    struct mem_event *next;
    char action[32];
    int container; /* index */
    char exit_code[16];
};

struct fault {
    int nth;  /* >0: the nth call from now; 0 with every: all */
    int every;
    int code;
    char msg[256];
    int blocked;
};

struct mem_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mem_container *c[MAX_CONTAINERS];
    size_t n;
    char images[MAX_NAMES][256];
    size_t n_images;
    char networks[MAX_NAMES][128];
    size_t n_networks;
    struct fault faults[MEM_N_OPS];
    int calls[MEM_N_OPS];
    struct mem_script script;
    char health_script[16];
    char exec_out[4096], exec_err[4096];
    int exec_exit;
    int record_barrier;   /* record execs wait until this many are in flight (0: none) */
    int record_in_flight; /* record execs waiting at the barrier now */
    int record_met;       /* the barrier was met once: it lets everyone through */
    struct mem_event *head, *tail;
    unsigned next_id;
    int drop_events;
};

/* A view: the engine and its bounds. */
struct mview {
    mem_engine *m;
    struct engine_bounds b;
};

static const struct engine_ops ops;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct mview *mv(const struct engine *e) { return e->impl; }

static struct engine *wrap(mem_engine *m, const struct engine_bounds *b)
{
    struct engine *e = calloc(1, sizeof(*e));
    struct mview *v = calloc(1, sizeof(*v));
    if (!e || !v) {
        free(e);
        free(v);
        return NULL;
    }
    v->m = m;
    if (b)
        v->b = *b;
    e->ops = &ops;
    e->impl = v;
    return e;
}

int mem_engine_new(struct engine **e, mem_engine **out)
{
    mem_engine *m = calloc(1, sizeof(*m));
    if (!m)
        return FLAME_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (!(*e = wrap(m, NULL))) {
        free(m);
        return FLAME_ENOMEM;
    }
    *out = m;
    return 0;
}

void mem_engine_free(struct engine *e)
{
    if (!e)
        return;
    mem_engine *m = mv(e)->m;
    for (size_t i = 0; i < m->n; i++) {
        cJSON_Delete(m->c[i]->labels);
        free(m->c[i]->delivered);
        free(m->c[i]);
    }
    while (m->head) {
        struct mem_event *ev = m->head;
        m->head = ev->next;
        free(ev);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
    free(e->impl);
    free(e);
}

/* ---- scripting ---- */

void mem_engine_fail(mem_engine *m, enum mem_op op, int nth, int code, const char *msg)
{
    pthread_mutex_lock(&m->mu);
    m->faults[op].nth = nth;
    m->faults[op].every = nth == 0;
    m->faults[op].code = code;
    snprintf(m->faults[op].msg, sizeof(m->faults[op].msg), "%s", msg ? msg : "scripted fault");
    pthread_mutex_unlock(&m->mu);
}

void mem_engine_block(mem_engine *m, enum mem_op op)
{
    pthread_mutex_lock(&m->mu);
    m->faults[op].blocked = 1;
    pthread_mutex_unlock(&m->mu);
}

void mem_engine_record_barrier(mem_engine *m, int n)
{
    pthread_mutex_lock(&m->mu);
    m->record_barrier = n;
    m->record_in_flight = 0;
    m->record_met = 0;
    pthread_mutex_unlock(&m->mu);
}

/* A record exec at the barrier: 0 once n are in flight at once (or were),
 * FLAME_ETIMEOUT at the view's deadline, as an exec stopped by its
 * container's own code would end. */
static int record_barrier_wait(const struct mview *v, mem_engine *m, char *err, size_t errlen)
{
    pthread_mutex_lock(&m->mu);
    if (!m->record_barrier || m->record_met) {
        pthread_mutex_unlock(&m->mu);
        return 0;
    }
    if (++m->record_in_flight >= m->record_barrier)
        m->record_met = 1;
    int rc = 0;
    while (!m->record_met) {
        pthread_mutex_unlock(&m->mu);
        if (v->b.deadline_ms && now_ms() >= v->b.deadline_ms) {
            snprintf(err, errlen, "deadline passed");
            rc = FLAME_ETIMEOUT;
            pthread_mutex_lock(&m->mu);
            break;
        }
        sleep_ms(2);
        pthread_mutex_lock(&m->mu);
    }
    m->record_in_flight--;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void mem_engine_unblock(mem_engine *m, enum mem_op op)
{
    pthread_mutex_lock(&m->mu);
    m->faults[op].blocked = 0;
    pthread_mutex_unlock(&m->mu);
}

int mem_engine_calls(mem_engine *m, enum mem_op op)
{
    pthread_mutex_lock(&m->mu);
    int n = m->calls[op];
    pthread_mutex_unlock(&m->mu);
    return n;
}

void mem_engine_add_image(mem_engine *m, const char *ref)
{
    pthread_mutex_lock(&m->mu);
    if (m->n_images < MAX_NAMES)
        snprintf(m->images[m->n_images++], sizeof(m->images[0]), "%s", ref);
    pthread_mutex_unlock(&m->mu);
}

void mem_engine_add_network(mem_engine *m, const char *name)
{
    pthread_mutex_lock(&m->mu);
    if (m->n_networks < MAX_NAMES)
        snprintf(m->networks[m->n_networks++], sizeof(m->networks[0]), "%s", name);
    pthread_mutex_unlock(&m->mu);
}

void mem_engine_script(mem_engine *m, const struct mem_script *s)
{
    pthread_mutex_lock(&m->mu);
    m->script = *s;
    snprintf(m->health_script, sizeof(m->health_script), "%s", s->health ? s->health : "");
    m->script.health = NULL;
    pthread_mutex_unlock(&m->mu);
}

void mem_engine_exec_script(mem_engine *m, const char *out, const char *err, int exit_code)
{
    pthread_mutex_lock(&m->mu);
    snprintf(m->exec_out, sizeof(m->exec_out), "%s", out ? out : "");
    snprintf(m->exec_err, sizeof(m->exec_err), "%s", err ? err : "");
    m->exec_exit = exit_code;
    pthread_mutex_unlock(&m->mu);
}

size_t mem_engine_count(mem_engine *m)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++)
        n += !m->c[i]->removed;
    pthread_mutex_unlock(&m->mu);
    return n;
}

size_t mem_engine_running(mem_engine *m)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++)
        n += !m->c[i]->removed && m->c[i]->running;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- internals (m->mu held) ---- */

static void emit_locked(mem_engine *m, const char *action, int idx, int exit_code)
{
    if (m->drop_events)
        return;
    struct mem_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return;
    snprintf(ev->action, sizeof(ev->action), "%s", action);
    ev->container = idx;
    if (exit_code >= 0)
        snprintf(ev->exit_code, sizeof(ev->exit_code), "%d", exit_code);
    if (m->tail)
        m->tail->next = ev;
    else
        m->head = ev;
    m->tail = ev;
    pthread_cond_broadcast(&m->cv);
}

/* Health checks that are due reach their final state (with their event). */
static void tick_locked(mem_engine *m)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < m->n; i++) {
        struct mem_container *c = m->c[i];
        if (c->removed || !c->running || !c->health_final[0] || now < c->health_at_ms ||
            strcmp(c->health, c->health_final) == 0)
            continue;
        snprintf(c->health, sizeof(c->health), "%s", c->health_final);
        emit_locked(m, c->health_final[0] == 'h' ? "health_status: healthy" : "health_status: unhealthy",
                    (int)i, -1);
    }
}

static int find_locked(mem_engine *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (!m->c[i]->removed && (strcmp(m->c[i]->id, id) == 0 || strcmp(m->c[i]->name, id) == 0))
            return (int)i;
    return -1;
}

static int has_locked(char (*names)[256], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

static int add_locked(mem_engine *m, const char *name, const char *image, const char *network,
                      const cJSON *labels)
{
    if (m->n >= MAX_CONTAINERS)
        return FLAME_ENOMEM;
    struct mem_container *c = calloc(1, sizeof(*c));
    if (!c)
        return FLAME_ENOMEM;
    snprintf(c->id, sizeof(c->id), "%08x%056u", 0xc0de0000u + ++m->next_id, 0u);
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->image, sizeof(c->image), "%s", image ? image : "");
    snprintf(c->network, sizeof(c->network), "%s", network ? network : "");
    c->labels = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
    snprintf(c->status, sizeof(c->status), "created");
    m->c[m->n] = c;
    return (int)m->n++;
}

/*
 * Every op starts here: the view's bounds, then the op's scripted fault.
 * Returns 0 to go on, or the code to answer with (err filled).
 */
static int enter(const struct engine *e, enum mem_op op, char *err, size_t errlen)
{
    struct mview *v = mv(e);
    mem_engine *m = v->m;
    if (v->b.cancelled && v->b.cancelled(v->b.ud)) {
        snprintf(err, errlen, "cancelled");
        return FLAME_ECANCELLED;
    }
    if (v->b.deadline_ms && now_ms() >= v->b.deadline_ms) {
        snprintf(err, errlen, "deadline passed");
        return FLAME_ETIMEOUT;
    }
    pthread_mutex_lock(&m->mu);
    m->calls[op]++;
    struct fault *f = &m->faults[op];
    int code = 0;
    if (f->code && (f->every || (f->nth > 0 && --f->nth == 0))) {
        code = f->code;
        snprintf(err, errlen, "%s", f->msg);
        if (!f->every)
            f->code = 0;
    }
    pthread_mutex_unlock(&m->mu);
    if (code)
        return code;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        int blocked = f->blocked;
        pthread_mutex_unlock(&m->mu);
        if (!blocked)
            return 0;
        if (v->b.cancelled && v->b.cancelled(v->b.ud)) {
            snprintf(err, errlen, "cancelled");
            return FLAME_ECANCELLED;
        }
        if (v->b.deadline_ms && now_ms() >= v->b.deadline_ms) {
            snprintf(err, errlen, "deadline passed");
            return FLAME_ETIMEOUT;
        }
        sleep_ms(2);
    }
}

/* ---- ops ---- */

static int bounded(struct engine *e, const struct engine_bounds *b, struct engine **out)
{
    *out = wrap(mv(e)->m, b);
    return *out ? 0 : FLAME_ENOMEM;
}

static void free_view(struct engine *e)
{
    if (!e)
        return;
    free(e->impl);
    free(e);
}

static const char *address(const struct engine *e)
{
    (void)e;
    return "mem://test";
}

static const char *api_version(const struct engine *e)
{
    (void)e;
    return "mem";
}

static unsigned long retries(const struct engine *e)
{
    (void)e;
    return 0;
}

static int ping(struct engine *e, char *err, size_t errlen) { return enter(e, MEM_PING, err, errlen); }

static int network_check(struct engine *e, const char *network, char *err, size_t errlen)
{
    int rc = enter(e, MEM_NETWORK, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int ok = 0;
    for (size_t i = 0; i < m->n_networks; i++)
        ok |= strcmp(m->networks[i], network) == 0;
    pthread_mutex_unlock(&m->mu);
    if (!ok) {
        snprintf(err, errlen, "network %s not found", network);
        return FLAME_ENOTFOUND;
    }
    return 0;
}

static int image_present(struct engine *e, const char *ref, char *err, size_t errlen)
{
    int rc = enter(e, MEM_IMAGE_PRESENT, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int ok = has_locked(m->images, m->n_images, ref);
    pthread_mutex_unlock(&m->mu);
    if (!ok) {
        snprintf(err, errlen, "No such image: %s", ref);
        return FLAME_ENOTFOUND;
    }
    return 0;
}

/* Every image's Config says Cmd ["run"] and no Entrypoint. */
static int image_config(struct engine *e, const char *ref, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = image_present(e, ref, err, errlen);
    if (rc)
        return rc;
    cJSON *cfg = cJSON_CreateObject();
    cJSON *cmd = cfg ? cJSON_AddArrayToObject(cfg, "Cmd") : NULL;
    if (!cmd || !cJSON_AddItemToArray(cmd, cJSON_CreateString("run"))) {
        cJSON_Delete(cfg);
        return FLAME_ENOMEM;
    }
    *out = cfg;
    return 0;
}

static int image_pull(struct engine *e, const char *ref, long timeout_ms,
                      void (*progress)(void *ud, const struct engine_pull_progress *p), void *ud,
                      char *err, size_t errlen)
{
    (void)timeout_ms;
    int rc = enter(e, MEM_IMAGE_PULL, err, errlen);
    if (rc)
        return rc;
    /* Two layers of 1000 and 3000 bytes: half of the first, all of the first,
     * then both complete (the pull's steps as Docker reports them). */
    static const struct engine_pull_progress steps[] = {
        {.bytes_done = 500, .bytes_total = 1000, .layers = 2},
        {.bytes_done = 1000, .bytes_total = 4000, .layers = 2, .layers_done = 1},
        {.bytes_done = 4000, .bytes_total = 4000, .layers = 2, .layers_done = 2},
    };
    for (size_t i = 0; progress && i < sizeof steps / sizeof steps[0]; i++)
        progress(ud, &steps[i]);
    mem_engine_add_image(mv(e)->m, ref);
    return 0;
}

static int create(struct engine *e, const struct engine_spec *spec, char **id, char *err,
                  size_t errlen)
{
    *id = NULL;
    int rc = enter(e, MEM_CREATE, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, spec->name);
    if (i >= 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->c[i]->labels, spec->owner_key ? spec->owner_key : "");
        if (spec->owner_value && cJSON_IsString(v) && strcmp(v->valuestring, spec->owner_value) == 0)
            rc = (*id = strdup(m->c[i]->id)) ? 0 : FLAME_ENOMEM;
        else {
            snprintf(err, errlen, "container name %s is taken by another container", spec->name);
            rc = FLAME_EEXISTS;
        }
    } else if (!has_locked(m->images, m->n_images, spec->image)) {
        snprintf(err, errlen, "No such image: %s", spec->image);
        rc = FLAME_ENOTFOUND;
    } else if ((i = add_locked(m, spec->name, spec->image, spec->network, spec->labels)) < 0) {
        rc = i;
    } else {
        rc = (*id = strdup(m->c[i]->id)) ? 0 : FLAME_ENOMEM;
        struct mem_container *c = m->c[i];
        for (size_t k = 0; spec->entrypoint && spec->entrypoint[k]; k++) {
            size_t used = strlen(c->entrypoint);
            snprintf(c->entrypoint + used, sizeof(c->entrypoint) - used, "%s%s", k ? " " : "",
                     spec->entrypoint[k]);
        }
        emit_locked(m, "create", i, -1);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int start(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    (void)timeout_ms;
    int rc = enter(e, MEM_START, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else {
        struct mem_container *c = m->c[i];
        c->started_at_ms = unix_ms();
        emit_locked(m, "start", i, -1);
        if (m->script.exits) {
            c->running = 0;
            c->exit_code = m->script.exit_code;
            snprintf(c->status, sizeof(c->status), "exited");
            emit_locked(m, "die", i, c->exit_code);
        } else {
            c->running = 1;
            snprintf(c->status, sizeof(c->status), "running");
            if (m->health_script[0]) {
                snprintf(c->health, sizeof(c->health), "starting");
                snprintf(c->health_final, sizeof(c->health_final), "%s", m->health_script);
                c->health_at_ms = now_ms() + m->script.health_after_ms;
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int inspect(struct engine *e, const char *id, const char *network, struct engine_state *st,
                   char *err, size_t errlen)
{
    (void)network;
    int rc = enter(e, MEM_INSPECT, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else {
        struct mem_container *c = m->c[i];
        tick_locked(m);
        snprintf(st->status, sizeof(st->status), "%s", c->status);
        st->running = c->running;
        st->exit_code = c->exit_code;
        snprintf(st->health, sizeof(st->health), "%s", c->health);
        if (c->running)
            snprintf(st->ip_address, sizeof(st->ip_address), "10.0.0.%d", i % 250 + 2);
        st->started_at_ms = c->started_at_ms;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int stop(struct engine *e, const char *id, unsigned grace_ms, char *err, size_t errlen)
{
    (void)grace_ms;
    int rc = enter(e, MEM_STOP, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else if (m->c[i]->running) {
        m->c[i]->running = 0;
        m->c[i]->exit_code = 143;
        snprintf(m->c[i]->status, sizeof(m->c[i]->status), "exited");
        emit_locked(m, "die", i, 143);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int remove_(struct engine *e, const char *id, char *err, size_t errlen)
{
    int rc = enter(e, MEM_REMOVE, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else {
        if (m->c[i]->running) {
            m->c[i]->running = 0;
            m->c[i]->exit_code = 137;
            emit_locked(m, "die", i, 137);
        }
        m->c[i]->removed = 1;
        emit_locked(m, "destroy", i, -1);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int wait_removed(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    (void)e;
    (void)id;
    (void)timeout_ms;
    (void)err;
    (void)errlen;
    return 0;
}

static int logs_tail(struct engine *e, const char *id, int lines, char **out, char *err, size_t errlen)
{
    (void)id;
    (void)lines;
    *out = NULL;
    int rc = enter(e, MEM_LOGS, err, errlen);
    if (rc)
        return rc;
    return (*out = strdup("mem: last words\n")) ? 0 : FLAME_ENOMEM;
}

static int exec_create(struct engine *e, const char *id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       int attach_stdin, char **exec_id, char *err, size_t errlen)
{
    (void)attach_stdin; /* the in-memory exec reads no stdin */
    (void)env;
    (void)working_dir;
    (void)user;
    *exec_id = NULL;
    int rc = enter(e, MEM_EXEC_CREATE, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else if (!m->c[i]->running) {
        snprintf(err, errlen, "container %s is not running", id);
        rc = FLAME_ECONFLICT;
    } else if (argv && argv[0] && argv[1] && strcmp(argv[0], "/.flamed/init") == 0 &&
               strcmp(argv[1], "--print-record") == 0) {
        /* flamed-init's record, as it keeps it: what was delivered, when its
         * Entrypoint asked for --record. "rec:<index>" names the container. */
        char rid[32];
        snprintf(rid, sizeof(rid), "rec:%d", i);
        rc = (*exec_id = strdup(rid)) ? 0 : FLAME_ENOMEM;
    } else {
        rc = (*exec_id = strdup("exec-0001")) ? 0 : FLAME_ENOMEM;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* A record exec's container, or NULL; caller holds mu. */
static struct mem_container *record_of_locked(mem_engine *m, const char *exec_id)
{
    if (strncmp(exec_id, "rec:", 4) != 0)
        return NULL;
    size_t i = strtoul(exec_id + 4, NULL, 10);
    return i < m->n ? m->c[i] : NULL;
}

/* The record exec's exit code: 0 with a record, 2 without (flamed-init's). */
static int record_exit_locked(const struct mem_container *c)
{
    return c->delivered && strstr(c->entrypoint, "--record") ? 0 : 2;
}

/* The in-memory exec never calls on_stdin, so these never run on a stdin of
 * theirs; they exist because every op is required. */
static int exec_stdin_write(struct engine *e, struct engine_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen)
{
    (void)e, (void)in, (void)data, (void)len, (void)should_abort, (void)ud;
    snprintf(err, errlen, "mem: no stdin");
    return FLAME_EUNAVAILABLE;
}

static void exec_stdin_close(struct engine *e, struct engine_stdin *in) { (void)e, (void)in; }

static void exec_stdin_free(struct engine *e, struct engine_stdin *in) { (void)e, (void)in; }

static int exec_start(struct engine *e, const char *exec_id, const struct engine_exec_io *io,
                      char *err, size_t errlen)
{
    (void)exec_id;
    int rc = enter(e, MEM_EXEC_START, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    char out[4096], errs[4096];
    pthread_mutex_lock(&m->mu);
    struct mem_container *rc_c = record_of_locked(m, exec_id);
    if (rc_c) {
        pthread_mutex_unlock(&m->mu);
        if ((rc = record_barrier_wait(mv(e), m, err, errlen)) < 0)
            return rc;
        pthread_mutex_lock(&m->mu);
        char *rec = NULL;
        size_t len = 0;
        if (record_exit_locked(rc_c) == 0 && (rec = malloc(rc_c->delivered_len + 1))) {
            memcpy(rec, rc_c->delivered, rc_c->delivered_len);
            len = rc_c->delivered_len;
        }
        pthread_mutex_unlock(&m->mu);
        int abort = rec ? io->on_output(io->ud, 1, rec, len)
                        : io->on_output(io->ud, 2, "no record\n", 10);
        free(rec);
        return abort ? FLAME_ECANCELLED : 0;
    }
    memcpy(out, m->exec_out, sizeof(out));
    memcpy(errs, m->exec_err, sizeof(errs));
    pthread_mutex_unlock(&m->mu);
    if (out[0] && io->on_output(io->ud, 1, out, strlen(out)))
        return FLAME_ECANCELLED;
    if (errs[0] && io->on_output(io->ud, 2, errs, strlen(errs)))
        return FLAME_ECANCELLED;
    if (io->on_flush && io->on_flush(io->ud))
        return FLAME_ECANCELLED;
    return 0;
}

static int exec_inspect(struct engine *e, const char *exec_id, int *exit_code, int *running,
                        char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    struct mem_container *rc_c = record_of_locked(m, exec_id);
    if (exit_code)
        *exit_code = rc_c ? record_exit_locked(rc_c) : m->exec_exit;
    if (running)
        *running = 0;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int exec_kill(struct engine *e, const char *exec_id, const char *id, int signo, char *err,
                     size_t errlen)
{
    (void)e;
    (void)exec_id;
    (void)id;
    (void)signo;
    (void)err;
    (void)errlen;
    return 0;
}

static int label_match(const cJSON *labels, const char *label)
{
    const char *eq = strchr(label, '=');
    if (!eq)
        return 0;
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - label), label);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, eq + 1) == 0;
}

static int events(struct engine *e, const char *label, const char *id_label, int64_t since_nano,
                  const struct engine_events_io *io, char *err, size_t errlen)
{
    (void)since_nano;
    (void)err;
    (void)errlen;
    mem_engine *m = mv(e)->m;
    if (io->on_open)
        io->on_open(io->ud);
    for (;;) {
        if (io->should_stop && io->should_stop(io->ud))
            return 0;
        pthread_mutex_lock(&m->mu);
        tick_locked(m);
        struct mem_event *ev = m->head;
        if (ev) {
            m->head = ev->next;
            if (!m->head)
                m->tail = NULL;
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
            pthread_mutex_unlock(&m->mu);
            continue;
        }
        struct mem_container *c = m->c[ev->container];
        int match = label_match(c->labels, label);
        const cJSON *rid = id_label ? cJSON_GetObjectItemCaseSensitive(c->labels, id_label) : NULL;
        char id[72], runner_id[128] = "";
        snprintf(id, sizeof(id), "%s", c->id);
        if (cJSON_IsString(rid))
            snprintf(runner_id, sizeof(runner_id), "%s", rid->valuestring);
        pthread_mutex_unlock(&m->mu);
        if (match) {
            struct engine_event ee = {
                .action = ev->action,
                .id = id,
                .runner_id = runner_id[0] ? runner_id : NULL,
                .exit_code = ev->exit_code[0] ? ev->exit_code : NULL,
                .health = strncmp(ev->action, "health_status: ", 15) == 0 ? ev->action + 15 : NULL,
                .time_nano = unix_ms() * 1000000,
            };
            int stop_now = io->on_event(io->ud, &ee);
            free(ev);
            if (stop_now)
                return 0;
        } else {
            free(ev);
        }
    }
}

struct mlist {
    cJSON *labels[MAX_CONTAINERS];
};

static void list_free(struct engine *e, struct engine_list *l)
{
    (void)e;
    if (!l)
        return;
    struct mlist *ml = l->impl;
    for (size_t i = 0; ml && i < l->n; i++)
        cJSON_Delete(ml->labels[i]);
    free(ml);
    free(l->items);
    free(l);
}

static int list(struct engine *e, const char *label, const char *network_label,
                struct engine_list **out, char *err, size_t errlen)
{
    (void)network_label;
    *out = NULL;
    int rc = enter(e, MEM_LIST, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    struct engine_list *l = calloc(1, sizeof(*l));
    struct mlist *ml = calloc(1, sizeof(*ml));
    if (!l || !ml || !(l->items = calloc(MAX_CONTAINERS, sizeof(*l->items)))) {
        free(l);
        free(ml);
        return FLAME_ENOMEM;
    }
    l->impl = ml;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        struct mem_container *c = m->c[i];
        if (c->removed || !label_match(c->labels, label))
            continue;
        struct engine_listed *it = &l->items[l->n];
        snprintf(it->id, sizeof(it->id), "%s", c->id);
        snprintf(it->name, sizeof(it->name), "%s", c->name);
        snprintf(it->image, sizeof(it->image), "%s", c->image);
        snprintf(it->state, sizeof(it->state), "%s", c->status);
        it->running = c->running;
        it->exit_code = c->running ? -1 : c->exit_code;
        it->created_unix_s = unix_ms() / 1000;
        if (c->running)
            snprintf(it->ip_address, sizeof(it->ip_address), "10.0.0.%zu", i % 250 + 2);
        ml->labels[l->n] = cJSON_Duplicate(c->labels, 1);
        it->labels = ml->labels[l->n];
        l->n++;
    }
    pthread_mutex_unlock(&m->mu);
    *out = l;
    return 0;
}

const char *mem_engine_add_container(mem_engine *m, const char *name, int running, int exit_code,
                                     const char *const *labels)
{
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2)
        cJSON_AddStringToObject(obj, labels[i], labels[i + 1]);
    pthread_mutex_lock(&m->mu);
    int i = add_locked(m, name, "mem/adopted:1", "", obj);
    const char *id = NULL;
    if (i >= 0) {
        struct mem_container *c = m->c[i];
        c->running = running;
        c->exit_code = exit_code;
        c->started_at_ms = unix_ms();
        snprintf(c->status, sizeof(c->status), "%s", running ? "running" : "exited");
        id = c->id;
    }
    pthread_mutex_unlock(&m->mu);
    cJSON_Delete(obj);
    return id;
}

void mem_engine_drop_events(mem_engine *m, int drop)
{
    pthread_mutex_lock(&m->mu);
    m->drop_events = drop;
    pthread_mutex_unlock(&m->mu);
}

int mem_engine_exit(mem_engine *m, const char *id, int exit_code)
{
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i >= 0 && m->c[i]->running) {
        m->c[i]->running = 0;
        m->c[i]->exit_code = exit_code;
        snprintf(m->c[i]->status, sizeof(m->c[i]->status), "exited");
        emit_locked(m, "die", i, exit_code);
    }
    pthread_mutex_unlock(&m->mu);
    return i >= 0 ? 0 : FLAME_ENOTFOUND;
}

/* Docker's attach: a running container's stdin takes the bytes; kept for mem_engine_delivered. */
static int stdin_deliver(struct engine *e, const char *id, const void *data, size_t len,
                         long timeout_ms, char *err, size_t errlen)
{
    (void)timeout_ms;
    int rc = enter(e, MEM_DELIVER, err, errlen);
    if (rc)
        return rc;
    mem_engine *m = mv(e)->m;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i < 0) {
        snprintf(err, errlen, "No such container: %s", id);
        rc = FLAME_ENOTFOUND;
    } else if (!m->c[i]->running) {
        snprintf(err, errlen, "container %s is not running", id);
        rc = FLAME_ECONFLICT;
    } else {
        struct mem_container *c = m->c[i];
        char *p = realloc(c->delivered, c->delivered_len + len + 1);
        if (!p) {
            rc = FLAME_ENOMEM;
        } else {
            if (len)
                memcpy(p + c->delivered_len, data, len);
            c->delivered = p;
            c->delivered_len += len;
            p[c->delivered_len] = '\0';
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int mem_engine_delivered(mem_engine *m, const char *id, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    int rc = i < 0 ? FLAME_ENOTFOUND : 0;
    if (i >= 0 && m->c[i]->delivered) {
        struct mem_container *c = m->c[i];
        if ((*out = malloc(c->delivered_len + 1))) {
            memcpy(*out, c->delivered, c->delivered_len + 1);
            *len = c->delivered_len;
        } else {
            rc = FLAME_ENOMEM;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int mem_engine_set_delivered(mem_engine *m, const char *id, const char *data, size_t len)
{
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id), rc = i < 0 ? FLAME_ENOTFOUND : 0;
    if (i >= 0) {
        struct mem_container *c = m->c[i];
        free(c->delivered);
        c->delivered = NULL;
        c->delivered_len = 0;
        if (data && !(c->delivered = malloc(len + 1))) {
            rc = FLAME_ENOMEM;
        } else if (data) {
            memcpy(c->delivered, data, len);
            c->delivered[len] = '\0';
            c->delivered_len = len;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int mem_engine_entrypoint(mem_engine *m, const char *id, char *buf, size_t buflen)
{
    pthread_mutex_lock(&m->mu);
    int i = find_locked(m, id);
    if (i >= 0)
        snprintf(buf, buflen, "%s", m->c[i]->entrypoint);
    pthread_mutex_unlock(&m->mu);
    return i < 0 ? FLAME_ENOTFOUND : 0;
}

static const struct engine_ops ops = {
    .caps = ENGINE_CAP_PULL_NEVER,
    .bounded = bounded,
    .free_view = free_view,
    .address = address,
    .api_version = api_version,
    .retries = retries,
    .ping = ping,
    .network_check = network_check,
    .image_present = image_present,
    .image_config = image_config,
    .image_pull = image_pull,
    .create = create,
    .start = start,
    .inspect = inspect,
    .stop = stop,
    .remove = remove_,
    .wait_removed = wait_removed,
    .logs_tail = logs_tail,
    .exec_create = exec_create,
    .exec_start = exec_start,
    .exec_inspect = exec_inspect,
    .exec_kill = exec_kill,
    .exec_stdin_write = exec_stdin_write,
    .exec_stdin_close = exec_stdin_close,
    .exec_stdin_free = exec_stdin_free,
    .events = events,
    .list = list,
    .list_free = list_free,
    .stdin_deliver = stdin_deliver,
};
