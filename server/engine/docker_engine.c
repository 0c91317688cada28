/*
 * The Docker containers engine (docker_engine.h): each op is one or a few
 * Docker Engine API calls through the docker client. The create body is
 * printed by docker_container_config_build() from the canonical request the
 * service validated and the policy checked: nothing is added or changed here,
 * except on Podman's Docker-compatible service, where a fixed set of additions
 * (podman_compat.h: nofile/nproc Ulimits the request lacks, the flamed.image
 * label) and Docker's create-time Memory minimum apply; docs/engines.md lists
 * every Podman difference and how this file handles it.
 * Follows: Docker Engine API v1.41 ContainerCreate, ContainerStart,
 * ContainerInspect, ContainerStop, ContainerKill, ContainerWait,
 * ContainerDelete, ContainerLogs, ContainerList, ImageInspect, ImageCreate,
 * NetworkInspect, ContainerExec, ExecStart, ExecInspect, SystemEvents,
 * SystemPing, SystemVersion, ContainerAttach (stdin, hijacked); libpod 4.3
 * ContainerHealthcheck (Podman only).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine/docker_engine.h"
#include "engine/podman_compat.h"

/* Which daemon answers on the socket: asked once (GET /version), shared by views. */
enum flavor { FLAVOR_UNKNOWN = 0, FLAVOR_DOCKER = 1, FLAVOR_PODMAN = 2 };

/* An engine's (or a view's) state. */
struct dengine {
    docker_client *dk;
    int owns;              /* a view's bounded client, freed with the view */
    _Atomic int *flavor;   /* the engine's; a view borrows its parent's */
    _Atomic int own_flavor;
};

static docker_client *dk_of(const struct engine *e) { return ((struct dengine *)e->impl)->dk; }

static const struct engine_ops ops;

static struct engine *wrap(docker_client *dk, int owns, _Atomic int *flavor)
{
    struct engine *e = calloc(1, sizeof(*e));
    struct dengine *d = calloc(1, sizeof(*d));
    if (!e || !d) {
        free(e);
        free(d);
        return NULL;
    }
    d->dk = dk;
    d->owns = owns;
    d->flavor = flavor ? flavor : &d->own_flavor;
    e->ops = &ops;
    e->impl = d;
    return e;
}

int docker_engine_new(struct engine **out, docker_client *dk)
{
    *out = wrap(dk, 0, NULL);
    return *out ? 0 : FLAME_ENOMEM;
}

static void free_view(struct engine *e)
{
    if (!e)
        return;
    struct dengine *d = e->impl;
    if (d->owns)
        docker_client_free(d->dk);
    free(d);
    free(e);
}

void docker_engine_free(struct engine *e) { free_view(e); }

static int bounded(struct engine *e, const struct engine_bounds *b, struct engine **out)
{
    struct docker_bounds db = {.deadline_ms = b->deadline_ms, .cancelled = b->cancelled, .ud = b->ud};
    docker_client *child = NULL;
    *out = NULL;
    int rc = docker_client_bounded(&child, dk_of(e), &db);
    if (rc < 0)
        return rc;
    if (!(*out = wrap(child, 1, ((struct dengine *)e->impl)->flavor))) {
        docker_client_free(child);
        return FLAME_ENOMEM;
    }
    return 0;
}

static const char *address(const struct engine *e) { return docker_client_address(dk_of(e)); }

static const char *api_version(const struct engine *e) { return docker_client_api_version(dk_of(e)); }

static unsigned long retries(const struct engine *e) { return docker_client_retries(dk_of(e)); }

static int ping(struct engine *e, char *err, size_t errlen) { return docker_ping(dk_of(e), err, errlen); }

static int network_check(struct engine *e, const char *network, char *err, size_t errlen)
{
    return docker_network_inspect(dk_of(e), network, NULL, err, errlen);
}

static int image_present(struct engine *e, const char *ref, char *err, size_t errlen)
{
    return docker_image_inspect(dk_of(e), ref, NULL, err, errlen);
}

static int image_config(struct engine *e, const char *ref, cJSON **out, char *err, size_t errlen)
{
    cJSON *js = NULL;
    *out = NULL;
    int rc = docker_image_inspect(dk_of(e), ref, &js, err, errlen);
    if (rc < 0)
        return rc;
    cJSON *cfg = cJSON_DetachItemFromObjectCaseSensitive(js, "Config");
    cJSON_Delete(js);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        cfg = cJSON_CreateObject();
    }
    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return FLAME_ENOMEM;
    }
    *out = cfg;
    return 0;
}

/* Docker's summed pull progress, passed on as the engine's. */
struct pull_relay {
    void (*progress)(void *ud, const struct engine_pull_progress *p);
    void *ud;
};

static void pull_relay(void *ud, const struct docker_pull_progress *d)
{
    const struct pull_relay *r = ud;
    struct engine_pull_progress p = {.bytes_done = d->bytes_done,
                                     .bytes_total = d->bytes_total,
                                     .layers = d->layers,
                                     .layers_done = d->layers_done};
    r->progress(r->ud, &p);
}

static int image_pull(struct engine *e, const char *ref, long timeout_ms,
                      void (*progress)(void *ud, const struct engine_pull_progress *p), void *ud,
                      char *err, size_t errlen)
{
    struct pull_relay relay = {.progress = progress, .ud = ud};
    return docker_image_pull(dk_of(e), ref, NULL, timeout_ms, progress ? pull_relay : NULL, &relay,
                             err, errlen);
}

/*
 * Docker or Podman? GET /version once per engine; Podman names a component
 * "Podman Engine". When the daemon does not answer, flavor_of says Docker for
 * this call and the question is asked again next time: a Docker daemon then
 * gets exactly the requests it got before Podman was known. A create must not
 * guess (a Podman start without the ulimits fails in runc with a confusing
 * "error setting rlimit"): it asks flavor_detect, and fails instead.
 */
static enum flavor flavor_detect(struct engine *e, char *err, size_t errlen);

static enum flavor flavor_of(struct engine *e)
{
    char err[256];
    enum flavor f = flavor_detect(e, err, sizeof(err));
    return f == FLAVOR_UNKNOWN ? FLAVOR_DOCKER : f;
}

/* The flavor, or FLAVOR_UNKNOWN with the reason in err (Docker did not answer
 * GET /version). */
static enum flavor flavor_detect(struct engine *e, char *err, size_t errlen)
{
    struct dengine *d = e->impl;
    int f = atomic_load(d->flavor);
    if (f != FLAVOR_UNKNOWN)
        return (enum flavor)f;
    long status = 0;
    cJSON *js = NULL;
    char ver[64] = "";
    if (docker_request(d->dk, "GET", "/version", NULL, 10000, &status, &js, err, errlen) < 0 ||
        status != 200) {
        if (status != 0 && status != 200)
            snprintf(err, errlen, "GET /version answered HTTP %ld", status);
        cJSON_Delete(js);
        return FLAVOR_UNKNOWN;
    }
    f = podman_compat_is_podman(js, ver, sizeof(ver)) ? FLAVOR_PODMAN : FLAVOR_DOCKER;
    cJSON_Delete(js);
    int expected = FLAVOR_UNKNOWN;
    if (atomic_compare_exchange_strong(d->flavor, &expected, f) && f == FLAVOR_PODMAN) {
        struct podman_ulimits u = podman_compat_ulimits_here();
        flamed_log(LOG_INFO, "engine_podman",
                   "version=%s nofile=%lld nproc=%lld hint=\"Podman's Docker-compatible API: "
                   "see docs/engines.md\"", ver, (long long)u.nofile, (long long)u.nproc);
    }
    return (enum flavor)f;
}

static int create(struct engine *e, const struct engine_spec *spec, char **id, char *err,
                  size_t errlen)
{
    docker_client *dk = dk_of(e);
    cJSON *config = NULL;
    *id = NULL;
    if (spec->placement) { /* the service refuses it first (no ENGINE_CAP_PLACEMENT) */
        snprintf(err, errlen, "placement needs --engine swarm: one Docker Engine has no nodes to place on");
        return FLAME_EINVALID;
    }
    struct docker_container_spec ds = {
        .image = spec->image,
        .hostname = spec->name,
        .network = spec->network,
        .env = spec->env,
        .cmd = spec->cmd,
        .entrypoint = spec->entrypoint,
        .user = spec->user,
        .working_dir = spec->working_dir,
        .labels = spec->labels,
        .host_config = spec->host_config,
        .mounts = spec->mounts,
        .open_stdin = spec->open_stdin,
    };
    char ferr[200] = "";
    enum flavor flavor = flavor_detect(e, ferr, sizeof(ferr));
    if (flavor == FLAVOR_UNKNOWN) {
        snprintf(err, errlen,
                 "cannot tell whether Docker or Podman serves %s, which decides the create body "
                 "(%s): try again when it answers",
                 docker_client_address(dk), ferr);
        return FLAME_EUNAVAILABLE;
    }
    int rc = docker_container_config_build(&ds, &config, err, errlen);
    if (rc < 0)
        return rc;
    if (flavor == FLAVOR_PODMAN) {
        /* docs/engines.md: refuse what Docker refuses at create; give runc
         * nofile/nproc it can set (Podman asks for 1048576 unless told); keep
         * the image reference as given, for list. */
        struct podman_ulimits u = podman_compat_ulimits_here();
        if (podman_compat_check_config(config, err, errlen) < 0) {
            cJSON_Delete(config);
            return FLAME_EINVALID;
        }
        if (podman_compat_add_ulimits(config, &u) < 0 ||
            podman_compat_add_image_label(config, spec->image) < 0) {
            cJSON_Delete(config);
            snprintf(err, errlen, "out of memory adding Podman's ulimits and image label to the "
                                  "create body");
            return FLAME_ENOMEM;
        }
    }
    rc = docker_container_create(dk, spec->name, config, id, err, errlen);
    cJSON_Delete(config);
    if (rc == FLAME_EEXISTS && spec->owner_key && spec->owner_value) {
        /* A create retried after a dropped connection may have worked the first time:
         * the name is ours if the container carries our owner label. */
        cJSON *inspect = NULL;
        char ierr[256];
        if (docker_container_inspect(dk, spec->name, &inspect, ierr, sizeof(ierr)) == 0) {
            const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(inspect, "Config");
            const cJSON *lid = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cfg, "Labels"), spec->owner_key);
            const cJSON *cid = cJSON_GetObjectItemCaseSensitive(inspect, "Id");
            if (cJSON_IsString(lid) && strcmp(lid->valuestring, spec->owner_value) == 0 &&
                cJSON_IsString(cid) && (*id = strdup(cid->valuestring)))
                rc = 0;
        }
        cJSON_Delete(inspect);
        if (rc == FLAME_EEXISTS)
            snprintf(err, errlen, "container name %s is taken by another container", spec->name);
    }
    return rc;
}

static int start(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    return docker_container_start(dk_of(e), id, timeout_ms, err, errlen);
}

/*
 * Podman runs a container's HEALTHCHECK from a systemd timer; where there is
 * no systemd (containers, CI) it never runs and the health stays "starting".
 * So while a running container's health is starting, a look at it runs the
 * check (libpod's GET /containers/{id}/healthcheck, the timer's own call)
 * once it is due at Docker's pace (podman_compat_health_due_ms), then reads
 * the container's health (starting until Retries failures in a row, as
 * Docker counts them; the call's own answer is that one run's result). A
 * failed run leaves st as it was: a later look tries again.
 * docs/engines.md.
 */
static void podman_health_run(struct engine *e, const char *id, const cJSON *inspect,
                              struct engine_state *st)
{
    char path[160], err[256];
    long status = 0;
    cJSON *js = NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t due = podman_compat_health_due_ms(inspect);
    if (!due || now_ms < due)
        return;
    snprintf(path, sizeof(path), "/libpod/containers/%.72s/healthcheck", id);
    int ran = docker_request(dk_of(e), "GET", path, NULL, 30000, &status, &js, err, sizeof(err)) ==
                  0 &&
              status == 200;
    cJSON_Delete(js);
    js = NULL;
    if (!ran)
        return;
    /* The answer is this one run's result ("unhealthy" at the first failure);
     * the container's status counts failures against Retries as Docker does,
     * so read that. */
    struct docker_container_state ds;
    if (docker_container_inspect(dk_of(e), id, &js, err, sizeof(err)) == 0 &&
        docker_container_state_parse(js, NULL, &ds) == 0 && ds.health[0])
        memcpy(st->health, ds.health, sizeof(st->health));
    cJSON_Delete(js);
}

static int inspect(struct engine *e, const char *id, const char *network, struct engine_state *st,
                   char *err, size_t errlen)
{
    cJSON *js = NULL;
    int rc = docker_container_inspect(dk_of(e), id, &js, err, errlen);
    if (rc < 0)
        return rc;
    struct docker_container_state ds;
    rc = docker_container_state_parse(js, network, &ds);
    if (rc < 0) {
        cJSON_Delete(js);
        snprintf(err, errlen, "Docker's inspect of container %.64s has no State", id);
        return FLAME_ERROR;
    }
    memset(st, 0, sizeof(*st));
    memcpy(st->status, ds.status, sizeof(st->status));
    st->running = ds.running;
    st->exit_code = ds.exit_code;
    st->oom_killed = ds.oom_killed;
    memcpy(st->health, ds.health, sizeof(st->health));
    memcpy(st->error, ds.error, sizeof(st->error));
    memcpy(st->ip_address, ds.ip_address, sizeof(st->ip_address));
    st->started_at_ms = ds.started_at_ms;
    if (st->running && strcmp(st->health, "starting") == 0 && flavor_of(e) == FLAVOR_PODMAN)
        podman_health_run(e, id, js, st);
    cJSON_Delete(js);
    return 0;
}

/*
 * Stop with a grace period in ms. Docker's stop takes whole seconds, so a grace
 * that is not a whole number of seconds is done by hand the way dockerd does
 * it: the image's StopSignal (default SIGTERM), wait until not running, then
 * SIGKILL.
 */
static int stop(struct engine *e, const char *id, unsigned grace_ms, char *derr, size_t derrlen)
{
    docker_client *dk = dk_of(e);
    if (grace_ms % 1000 == 0)
        return docker_container_stop(dk, id, (int)(grace_ms / 1000), derr, derrlen);
    char signal[32] = "SIGTERM";
    cJSON *js = NULL;
    int rc = docker_container_inspect(dk, id, &js, derr, derrlen);
    if (rc < 0)
        return rc;
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(js, "Config"), "StopSignal");
    if (cJSON_IsString(sig) && sig->valuestring[0])
        snprintf(signal, sizeof(signal), "%s", sig->valuestring);
    cJSON_Delete(js);
    rc = docker_container_kill(dk, id, signal, derr, derrlen);
    if (rc == FLAME_ECONFLICT)
        return 0; /* not running */
    if (rc < 0)
        return rc;
    long status = 0;
    rc = docker_container_wait(dk, id, "not-running", (long)grace_ms, &status, derr, derrlen);
    if (rc == 0 && status == 200)
        return 0;
    rc = docker_container_kill(dk, id, "SIGKILL", derr, derrlen);
    if (rc == FLAME_ECONFLICT)
        return 0;
    if (rc < 0)
        return rc;
    rc = docker_container_wait(dk, id, "not-running", 30000, &status, derr, derrlen);
    return rc < 0 ? rc : 0;
}

static int remove_(struct engine *e, const char *id, char *err, size_t errlen)
{
    return docker_container_remove(dk_of(e), id, err, errlen);
}

/* Docker's wait?condition=removed answers when a removal ends (404: it already has). */
static int wait_removed(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    long status = 0;
    int rc = docker_container_wait(dk_of(e), id, "removed", timeout_ms, &status, err, errlen);
    if (rc < 0)
        return rc;
    if (status == 200 || status == 404)
        return 0;
    snprintf(err, errlen, "waiting for container %.64s's removal: Docker answered %ld", id, status);
    return FLAME_ERROR;
}

static int logs_tail(struct engine *e, const char *id, int lines, char **out, char *err, size_t errlen)
{
    return docker_container_logs_tail(dk_of(e), id, lines, out, err, errlen);
}

static int exec_create(struct engine *e, const char *id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       int attach_stdin, char **exec_id, char *err, size_t errlen)
{
    return docker_exec_create_ex(dk_of(e), id, argv, env, working_dir, user, attach_stdin,
                                 exec_id, err, errlen);
}

/* The engine's stdin is the Docker client's: engine_stdin is never defined,
 * only converted to and from docker_exec_stdin here. */
struct exec_start_ctx {
    const struct engine_exec_io *io;
};

static int exec_out(void *ud, int stream, const char *data, size_t len)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    return io->on_output(io->ud, stream, data, len);
}
static int exec_abort(void *ud)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    return io->should_abort ? io->should_abort(io->ud) : 0;
}
static int exec_flush(void *ud)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    return io->on_flush ? io->on_flush(io->ud) : 0;
}
static long exec_poll(void *ud)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    return io->poll_ms ? io->poll_ms(io->ud) : 0;
}
static long exec_hold(void *ud)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    return io->hold_us ? io->hold_us(io->ud) : 0;
}
static void exec_stdin_open(void *ud, struct docker_exec_stdin *in)
{
    const struct engine_exec_io *io = ((struct exec_start_ctx *)ud)->io;
    io->on_stdin(io->ud, (struct engine_stdin *)in);
}

static int exec_start(struct engine *e, const char *exec_id, const struct engine_exec_io *io,
                      char *err, size_t errlen)
{
    if (!io->on_stdin) {
        struct docker_exec_io dio = {
            .on_output = io->on_output,
            .should_abort = io->should_abort,
            .ud = io->ud,
            .on_flush = io->on_flush,
            .poll_ms = io->poll_ms,
            .hold_us = io->hold_us,
        };
        return docker_exec_start(dk_of(e), exec_id, &dio, err, errlen);
    }
    /* on_stdin's argument type differs: go through a context. */
    struct exec_start_ctx ctx = {io};
    struct docker_exec_io dio = {
        .on_output = exec_out,
        .should_abort = exec_abort,
        .ud = &ctx,
        .on_flush = exec_flush,
        .poll_ms = exec_poll,
        .hold_us = exec_hold,
        .on_stdin = exec_stdin_open,
    };
    return docker_exec_start(dk_of(e), exec_id, &dio, err, errlen);
}

static int exec_stdin_write(struct engine *e, struct engine_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen)
{
    return docker_exec_stdin_write(dk_of(e), (struct docker_exec_stdin *)in, data, len,
                                   should_abort, ud, err, errlen);
}

static void exec_stdin_close(struct engine *e, struct engine_stdin *in)
{
    (void)e;
    docker_exec_stdin_close((struct docker_exec_stdin *)in);
}

static void exec_stdin_free(struct engine *e, struct engine_stdin *in)
{
    (void)e;
    docker_exec_stdin_free((struct docker_exec_stdin *)in);
}

static int logs(struct engine *e, const char *id, const struct engine_logs_opts *opts,
                const struct engine_exec_io *io, char *err, size_t errlen)
{
    struct docker_logs_opts dopts = {.follow = opts->follow, .tail_lines = opts->tail_lines,
                                     .since_unix_nano = opts->since_unix_nano,
                                     .timestamps = opts->timestamps};
    struct docker_exec_io dio = {
        .on_output = io->on_output,
        .should_abort = io->should_abort,
        .ud = io->ud,
        .on_flush = io->on_flush,
        .poll_ms = io->poll_ms,
        .hold_us = io->hold_us,
    };
    return docker_container_logs(dk_of(e), id, &dopts, &dio, err, errlen);
}

static int exec_inspect(struct engine *e, const char *exec_id, int *exit_code, int *running,
                        char *err, size_t errlen)
{
    return docker_exec_inspect(dk_of(e), exec_id, exit_code, running, NULL, err, errlen);
}

static int exec_kill(struct engine *e, const char *exec_id, const char *id, int signo, char *err,
                     size_t errlen)
{
    return docker_exec_kill(dk_of(e), exec_id, id, signo, err, errlen);
}

/* ---- events ---- */

struct events_adapter {
    const struct engine_events_io *io;
    const char *id_label; /* the label key whose value is the runner id */
    int podman;           /* translate Podman's action words to Docker's */
};

static const char *attr(const cJSON *ev, const char *key)
{
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_docker_event(void *ud, const cJSON *js)
{
    struct events_adapter *a = ud;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(js, "Action");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(js, "id");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(js, "timeNano");
    struct engine_event ev = {
        .action = cJSON_IsString(action) ? action->valuestring : NULL,
        .id = cJSON_IsString(id) ? id->valuestring : NULL,
        .runner_id = a->id_label ? attr(js, a->id_label) : NULL,
        .exit_code = attr(js, "exitCode"),
        .time_nano = cJSON_IsNumber(tn) ? (int64_t)tn->valuedouble : 0,
    };
    /* Docker's health events are "health_status: healthy". */
    if (ev.action && strncmp(ev.action, "health_status: ", 15) == 0)
        ev.health = ev.action + 15;
    if (a->podman && ev.action)
        ev.action = podman_compat_action(ev.action);
    return a->io->on_event(a->io->ud, &ev);
}

static void on_docker_open(void *ud)
{
    struct events_adapter *a = ud;
    if (a->io->on_open)
        a->io->on_open(a->io->ud);
}

static int docker_should_stop(void *ud)
{
    struct events_adapter *a = ud;
    return a->io->should_stop ? a->io->should_stop(a->io->ud) : 0;
}

static int events(struct engine *e, const char *label, const char *id_label, int64_t since_nano,
                  const struct engine_events_io *io, char *err, size_t errlen)
{
    struct events_adapter a = {io, id_label, flavor_of(e) == FLAVOR_PODMAN};
    struct docker_events_io dio = {on_docker_event, on_docker_open, docker_should_stop, &a};
    return docker_events_stream(dk_of(e), label, since_nano, &dio, err, errlen);
}

/* ---- list ---- */

struct dlist {
    cJSON *json;
};

static void list_free(struct engine *e, struct engine_list *l)
{
    (void)e;
    if (!l)
        return;
    if (l->impl)
        cJSON_Delete(((struct dlist *)l->impl)->json);
    free(l->impl);
    free(l->items);
    free(l);
}

static int list(struct engine *e, const char *label, const char *network_label,
                struct engine_list **out, char *err, size_t errlen)
{
    cJSON *js = NULL;
    *out = NULL;
    int rc = docker_container_list(dk_of(e), label, &js, err, errlen);
    if (rc < 0)
        return rc;
    struct engine_list *l = calloc(1, sizeof(*l));
    struct dlist *d = calloc(1, sizeof(*d));
    size_t n = (size_t)cJSON_GetArraySize(js);
    if (!l || !d || !(l->items = calloc(n ? n : 1, sizeof(*l->items)))) {
        free(l ? l->items : NULL);
        free(l);
        free(d);
        cJSON_Delete(js);
        snprintf(err, errlen, "out of memory");
        return FLAME_ENOMEM;
    }
    d->json = js;
    l->impl = d;
    int podman = flavor_of(e) == FLAVOR_PODMAN;
    cJSON *c;
    cJSON_ArrayForEach(c, js)
    {
        cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
        /* Podman: the image as the request gave it, from the label create put there. */
        cJSON *given = podman ? cJSON_DetachItemFromObjectCaseSensitive(labels, PODMAN_LABEL_IMAGE) : NULL;
        if (!cJSON_IsString(given) || !cJSON_ReplaceItemInObjectCaseSensitive(c, "Image", given))
            cJSON_Delete(given);
        const cJSON *net = network_label ? cJSON_GetObjectItemCaseSensitive(labels, network_label) : NULL;
        struct docker_container_summary s;
        if (docker_container_summary_parse(c, cJSON_IsString(net) ? net->valuestring : NULL, &s) < 0)
            continue;
        struct engine_listed *it = &l->items[l->n++];
        memcpy(it->id, s.id, sizeof(it->id));
        memcpy(it->name, s.name, sizeof(it->name));
        memcpy(it->image, s.image, sizeof(it->image));
        memcpy(it->state, s.state, sizeof(it->state));
        it->running = s.running;
        it->exit_code = s.exit_code;
        it->created_unix_s = s.created_unix_s;
        memcpy(it->ip_address, s.ip_address, sizeof(it->ip_address));
        it->labels = labels;
    }
    *out = l;
    return 0;
}

/* docker_container_stdin_write waits for Docker's close, so 0 means Docker copied it all. */
static int stdin_deliver(struct engine *e, const char *id, const void *data, size_t len,
                         long timeout_ms, char *err, size_t errlen)
{
    return docker_container_stdin_write(dk_of(e), id, data, len, timeout_ms, err, errlen);
}

int engine_image_ref_validate(const char *ref, char *err, size_t errlen)
{
    return docker_image_ref_validate(ref, err, errlen);
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
    .logs = logs,
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
