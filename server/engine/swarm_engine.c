/*
 * The Docker Swarm mode engine (swarm_engine.h): a runner is a service with
 * one task. Services and tasks are the manager's (docker/swarm.c); what is
 * done to the runner's container (exec, logs, stop with a grace period) goes
 * through a Docker containers engine (docker_engine.h) over the same client,
 * to the task's container, when the task runs on the node that client
 * reaches (or, through --swarm-nodes, the node that runs it). The spec and
 * the task reading are in swarm_spec.c. A runner's state is its task's, read
 * from the manager; while the task says running, its container's own state
 * on its node has the last word (the manager hears of an exit later).
 *
 * Events (swarm_watch.c): this node's container events, and a poll of the
 * manager's tasks and nodes that sees every node's runners, and a node that
 * goes down.
 * Follows: Docker Engine API v1.41 (swarm.h's calls, SystemEvents).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/docker_engine.h"
#include "engine/swarm_engine.h"
#include "engine/swarm_nodes.h"
#include "engine/swarm_spec.h"
#include "engine/swarm_watch.h"

#define SWARM_POLL_MS 100
/* The longest a look at a running task's container on its node may take
 * (ms); the view's own deadline and cancel bound it too. */
#define SWARM_LOOK_MS 2000

/* This node's swarm id, asked once (GET /info), shared by the views. */
struct node_cache {
    pthread_mutex_t mu;
    char id[72];
};

struct sengine {
    docker_client *dk;
    struct engine *docker; /* containers of this node, over dk */
    int owns;              /* a view: dk and docker are its own */
    struct node_cache *node;
    struct node_cache own_node;
    const struct swarm_nodes *nodes; /* --swarm-nodes (borrowed), or NULL */
    struct docker_bounds bounds;     /* a view's, for its views of other nodes' clients */
};

static const struct engine_ops ops;

static struct sengine *S(const struct engine *e) { return e->impl; }

static struct engine *wrap(docker_client *dk, int owns, struct node_cache *node,
                           const struct swarm_nodes *nodes, const struct docker_bounds *b)
{
    struct engine *e = calloc(1, sizeof(*e));
    struct sengine *s = calloc(1, sizeof(*s));
    if (!e || !s || docker_engine_new(&s->docker, dk) < 0) {
        free(e);
        free(s);
        return NULL;
    }
    s->dk = dk;
    s->owns = owns;
    s->nodes = nodes;
    if (b)
        s->bounds = *b;
    if (node) {
        s->node = node;
    } else {
        pthread_mutex_init(&s->own_node.mu, NULL);
        s->node = &s->own_node;
    }
    e->ops = &ops;
    e->impl = s;
    return e;
}

int swarm_engine_new(struct engine **out, docker_client *dk, const struct swarm_nodes *nodes)
{
    *out = wrap(dk, 0, NULL, nodes, NULL);
    return *out ? 0 : FLAME_ENOMEM;
}

static void free_view(struct engine *e)
{
    if (!e)
        return;
    struct sengine *s = S(e);
    docker_engine_free(s->docker);
    if (s->owns)
        docker_client_free(s->dk);
    if (s->node == &s->own_node)
        pthread_mutex_destroy(&s->own_node.mu);
    free(s);
    free(e);
}

void swarm_engine_free(struct engine *e) { free_view(e); }

int swarm_engine_check(docker_client *dk, char *err, size_t errlen)
{
    char node[72];
    int manager = 0;
    int rc = docker_swarm_node(dk, node, sizeof(node), &manager, err, errlen);
    if (rc == 0 && !manager) {
        snprintf(err, errlen, "the Docker Engine at %s is a swarm worker (node %s), not a manager: "
                              "point --docker-host at a manager",
                 docker_client_address(dk), node);
        return FLAME_EPRECONDITION;
    }
    return rc;
}

static int bounded(struct engine *e, const struct engine_bounds *b, struct engine **out)
{
    struct docker_bounds db = {.deadline_ms = b->deadline_ms, .cancelled = b->cancelled, .ud = b->ud};
    docker_client *child = NULL;
    *out = NULL;
    int rc = docker_client_bounded(&child, S(e)->dk, &db);
    if (rc < 0)
        return rc;
    if (!(*out = wrap(child, 1, S(e)->node, S(e)->nodes, &db))) {
        docker_client_free(child);
        return FLAME_ENOMEM;
    }
    return 0;
}

static const char *address(const struct engine *e) { return docker_client_address(S(e)->dk); }
static const char *api_version(const struct engine *e) { return docker_client_api_version(S(e)->dk); }
static unsigned long retries(const struct engine *e) { return docker_client_retries(S(e)->dk); }
static int ping(struct engine *e, char *err, size_t errlen) { return docker_ping(S(e)->dk, err, errlen); }

/* The runner's network must be an overlay that containers may join
 * (attachable): a parent container reaches its runners there by name. */
static int network_check(struct engine *e, const char *network, char *err, size_t errlen)
{
    cJSON *js = NULL;
    int rc = docker_network_inspect(S(e)->dk, network, &js, err, errlen);
    if (rc < 0)
        return rc;
    const cJSON *driver = cJSON_GetObjectItemCaseSensitive(js, "Driver");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(js, "Attachable");
    if (!cJSON_IsString(driver) || strcmp(driver->valuestring, "overlay") != 0 || !cJSON_IsTrue(att)) {
        snprintf(err, errlen, "network '%s' is %s%s network: --engine swarm needs an attachable "
                              "overlay (`docker network create -d overlay --attachable %s`)",
                 network, cJSON_IsTrue(att) ? "an attachable " : "a ",
                 cJSON_IsString(driver) ? driver->valuestring : "unknown", network);
        rc = FLAME_EINVALID;
    }
    cJSON_Delete(js);
    return rc;
}

/* The node that runs a task pulls its image (and falls back to a local one
 * when the pull fails): the manager's image store says nothing of it. A
 * missing image fails the task, with the swarm's error in Boot's answer. */
static int image_present(struct engine *e, const char *ref, char *err, size_t errlen)
{
    (void)e, (void)ref, (void)err, (void)errlen;
    return 0;
}

static int image_pull(struct engine *e, const char *ref, long timeout_ms,
                      void (*progress)(void *ud, const struct engine_pull_progress *p), void *ud,
                      char *err, size_t errlen)
{
    (void)e, (void)ref, (void)timeout_ms, (void)progress, (void)ud, (void)err, (void)errlen;
    return 0;
}

static int image_config(struct engine *e, const char *ref, cJSON **out, char *err, size_t errlen)
{
    struct engine *d = S(e)->docker;
    return d->ops->image_config(d, ref, out, err, errlen);
}

static int create(struct engine *e, const struct engine_spec *spec, char **id, char *err,
                  size_t errlen)
{
    cJSON *body = NULL;
    *id = NULL;
    int rc = swarm_spec_build(spec, &body, err, errlen);
    if (rc < 0)
        return rc;
    rc = docker_service_create(S(e)->dk, body, id, err, errlen);
    cJSON_Delete(body);
    if (rc == FLAME_EEXISTS && spec->owner_key && spec->owner_value) {
        /* A create retried after a lost answer may have worked the first time. */
        cJSON *svc = NULL;
        char ierr[256];
        if (docker_service_inspect(S(e)->dk, spec->name, &svc, ierr, sizeof(ierr)) == 0) {
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(svc, "Spec"), "Labels");
            const cJSON *lid = cJSON_GetObjectItemCaseSensitive(labels, spec->owner_key);
            const cJSON *sid = cJSON_GetObjectItemCaseSensitive(svc, "ID");
            if (cJSON_IsString(lid) && strcmp(lid->valuestring, spec->owner_value) == 0 &&
                cJSON_IsString(sid) && (*id = strdup(sid->valuestring)))
                rc = 0;
        }
        cJSON_Delete(svc);
        if (rc == FLAME_EEXISTS)
            snprintf(err, errlen, "service name %s is taken by another service", spec->name);
    }
    return rc;
}

/* The service's task now. FLAME_ENOTFOUND: no such service; a service
 * without a task yet answers 0 with state "". */
static int task_of(struct engine *e, const char *id, const char *network, struct swarm_task *t,
                   char *err, size_t errlen)
{
    cJSON *tasks = NULL;
    int rc = docker_task_list(S(e)->dk, id, &tasks, err, errlen);
    if (rc < 0)
        return rc;
    rc = swarm_task_pick(tasks, network, t);
    cJSON_Delete(tasks);
    if (rc == FLAME_ENOTFOUND) /* no task: is there a service? */
        return docker_service_inspect(S(e)->dk, id, NULL, err, errlen);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A start that did not run in time: the task's last state, and the swarm's
 * reason when it gives one (a placement no node satisfies: "no suitable node
 * (scheduling constraints not satisfied on 1 node)"). */
static int start_timeout(const char *id, const struct swarm_task *t, char *err, size_t errlen)
{
    const char *why = t->err[0] ? t->err : t->message;
    snprintf(err, errlen, "service %.64s's task is still %s%s%s", id,
             t->state[0] ? t->state : "not scheduled", why[0] ? ": " : "", why);
    return FLAME_ETIMEOUT;
}

/*
 * Start: the swarm starts the task by itself; wait until it runs, or has
 * ended. A task that never ran (rejected, or failed before its container
 * started: no such image, a bad mount, an OCI error) is a failed start,
 * FLAME_EINVALID with the swarm's error, as Docker's refused start is. One
 * that ran and ended answers 0: inspect then reports it exited.
 */
static int start(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    int64_t until = docker_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
    struct swarm_task t, last;
    int seen = 0;
    for (;;) {
        int rc = task_of(e, id, NULL, &t, err, errlen);
        if (rc == FLAME_ETIMEOUT && seen) /* the view's deadline: say where the task was */
            return start_timeout(id, &last, err, errlen);
        if (rc < 0)
            return rc;
        last = t, seen = 1;
        if (strcmp(t.state, "running") == 0)
            return 0;
        if (swarm_task_terminal(&t)) {
            if (strcmp(t.state, "rejected") == 0 || t.exit_code < 0 || !t.container_id[0] ||
                strstr(t.err, "starting container failed")) {
                snprintf(err, errlen, "the swarm could not start service %.64s's task (%s): %s", id,
                         t.state, t.err[0] ? t.err : t.message);
                return FLAME_EINVALID;
            }
            return 0;
        }
        if (docker_now_ms() >= until)
            return start_timeout(id, &t, err, errlen);
        sleep_ms(SWARM_POLL_MS);
    }
}

/* This node's swarm id (cached once known). */
static int node_id(struct engine *e, char *out, size_t outlen, char *err, size_t errlen)
{
    struct node_cache *n = S(e)->node;
    pthread_mutex_lock(&n->mu);
    int have = n->id[0] != '\0';
    if (have)
        snprintf(out, outlen, "%s", n->id);
    pthread_mutex_unlock(&n->mu);
    if (have)
        return 0;
    char id[72];
    int rc = docker_swarm_node(S(e)->dk, id, sizeof(id), NULL, err, errlen);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&n->mu);
    snprintf(n->id, sizeof(n->id), "%s", id);
    pthread_mutex_unlock(&n->mu);
    snprintf(out, outlen, "%s", id);
    return 0;
}

/* Where a runner's task's container is reached (target_of). */
struct target {
    struct engine *d;      /* the containers engine of the task's node */
    struct engine *own;    /* d when made for this call (a mapped node's), else NULL */
    docker_client *own_dk; /* own's client: a view of the mapped node's */
    const char *key;       /* the --swarm-nodes key of the node; NULL: this node */
    char node[340];        /* "ID (hostname)" for messages */
    char cid[72];
    struct swarm_task t;
};

static void target_done(struct target *tg)
{
    docker_engine_free(tg->own);
    docker_client_free(tg->own_dk);
    tg->own = NULL, tg->own_dk = NULL;
}

/* The node's hostname (for the map and messages); "" when unknown. */
static void node_hostname(struct engine *e, const char *node_id, char *out, size_t outlen)
{
    cJSON *nodes = NULL;
    struct swarm_node n;
    char err[256];
    out[0] = '\0';
    if (docker_node_list(S(e)->dk, &nodes, err, sizeof(err)) == 0 &&
        swarm_node_find(nodes, node_id, &n) == 0)
        snprintf(out, outlen, "%s", n.hostname);
    cJSON_Delete(nodes);
}

/*
 * The engine that reaches the container of tg->t (the service id's task,
 * read): a view of the --swarm-nodes entry of its node (by ID, then
 * hostname), bounded as e is; else this node's containers engine when the
 * task runs here. FLAME_EPRECONDITION when the task has no container yet;
 * FLAME_EUNREACHABLE when its node is neither this one nor in the map, naming
 * the node and the flag (`what` names the op). Free with target_done().
 */
static int target_node(struct engine *e, const char *id, const char *what, struct target *tg,
                       char *err, size_t errlen)
{
    char here[72], host[256];
    int rc;
    if (!tg->t.container_id[0]) {
        snprintf(err, errlen, "%s: service %.64s's task has no container (task %s)", what, id,
                 tg->t.state[0] ? tg->t.state : "not scheduled");
        return FLAME_EPRECONDITION;
    }
    snprintf(tg->cid, sizeof(tg->cid), "%s", tg->t.container_id);
    /* The map first: it may name this node too (another address for it). */
    docker_client *ndk = NULL;
    host[0] = '\0';
    if (swarm_nodes_count(S(e)->nodes) > 0 &&
        !(ndk = swarm_nodes_find(S(e)->nodes, tg->t.node_id, NULL, &tg->key))) {
        node_hostname(e, tg->t.node_id, host, sizeof(host));
        ndk = swarm_nodes_find(S(e)->nodes, NULL, host, &tg->key);
    }
    if (!ndk) {
        if ((rc = node_id(e, here, sizeof(here), err, errlen)) < 0)
            return rc;
        if (strcmp(tg->t.node_id, here) == 0) {
            tg->d = S(e)->docker;
            snprintf(tg->node, sizeof(tg->node), "%s (this node)", here);
            return 0;
        }
    }
    if (!host[0])
        node_hostname(e, tg->t.node_id, host, sizeof(host));
    snprintf(tg->node, sizeof(tg->node), "%.72s (%.255s)", tg->t.node_id, host[0] ? host : "?");
    if (!ndk) {
        if (swarm_nodes_count(S(e)->nodes) == 0)
            snprintf(err, errlen, "%s: service %.64s's task runs on swarm node %s, and flamed reaches "
                                  "only node %s (%s): map the node to its Docker Engine with "
                                  "--swarm-nodes FILE (docs/engines.md)",
                     what, id, tg->node, here, docker_client_address(S(e)->dk));
        else
            snprintf(err, errlen, "%s: service %.64s's task runs on swarm node %s, which the "
                                  "--swarm-nodes file does not name: add it (its ID or hostname) "
                                  "with its Docker Engine's address",
                     what, id, tg->node);
        return FLAME_EUNREACHABLE;
    }
    if ((rc = docker_client_bounded(&tg->own_dk, ndk, &S(e)->bounds)) < 0 ||
        (rc = docker_engine_new(&tg->own, tg->own_dk)) < 0) {
        target_done(tg);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    tg->d = tg->own;
    return 0;
}

/* target_node() of the service's task now. */
static int target_of(struct engine *e, const char *id, const char *what, struct target *tg,
                     char *err, size_t errlen)
{
    memset(tg, 0, sizeof(*tg));
    int rc = task_of(e, id, NULL, &tg->t, err, errlen);
    if (rc < 0)
        return rc;
    return target_node(e, id, what, tg, err, errlen);
}

/*
 * The state of a task that says running, corrected by its container's own
 * (swarm_task_state_container): the manager hears of a container's exit
 * after the node does, so a command that exits at once can still be running
 * there when Boot looks, and Boot would answer RUNNING where one Docker host
 * answers ABORTED. The container is read on its node when flamed reaches it
 * (this node, or --swarm-nodes), within SWARM_LOOK_MS; a node it does not
 * reach, or that does not answer in time, leaves the task's word.
 */
static void container_look(struct engine *e, const char *id, const char *network,
                           struct target *tg, struct engine_state *st)
{
    char err[512];
    docker_client *c = NULL;
    cJSON *js = NULL;
    struct docker_container_state cs;
    if (target_node(e, id, "inspect", tg, err, sizeof(err)) < 0)
        return;
    struct docker_bounds b = {.deadline_ms = docker_now_ms() + SWARM_LOOK_MS};
    if (docker_client_bounded(&c, tg->own_dk ? tg->own_dk : S(e)->dk, &b) == 0 &&
        docker_container_inspect(c, tg->cid, &js, err, sizeof(err)) == 0 &&
        docker_container_state_parse(js, network, &cs) == 0)
        swarm_task_state_container(&tg->t, &cs, st);
    cJSON_Delete(js);
    docker_client_free(c);
    target_done(tg);
}

/* The service's task now; while it says running, as its container is (container_look);
 * once it has ended, with its container's OOMKilled, which the task does not carry. */
static int inspect(struct engine *e, const char *id, const char *network, struct engine_state *st,
                   char *err, size_t errlen)
{
    struct target tg;
    memset(&tg, 0, sizeof(tg));
    int rc = task_of(e, id, network, &tg.t, err, errlen);
    if (rc < 0)
        return rc;
    swarm_task_state(&tg.t, st);
    if (st->running || strcmp(st->status, "exited") == 0)
        container_look(e, id, network, &tg, st);
    return 0;
}

/* A mapped node that does not answer: FLAME_EUNREACHABLE naming it and the flag. */
static int node_failed(const struct target *tg, int rc, const char *what, char *err, size_t errlen)
{
    if (!tg->key || (rc != FLAME_EUNAVAILABLE && rc != FLAME_ETIMEOUT))
        return rc;
    char was[512];
    snprintf(was, sizeof(was), "%s", err);
    snprintf(err, errlen, "%s: swarm node %s's Docker Engine at %s (--swarm-nodes '%s') does not "
                          "answer: %s",
             what, tg->node, docker_client_address(tg->own_dk), tg->key, was);
    return FLAME_EUNREACHABLE;
}

/*
 * Stop with a grace period: the task's container is stopped on its node as
 * the Docker engine stops one (its StopSignal, SIGKILL after grace_ms), on
 * this node or through --swarm-nodes; with RestartPolicy none the swarm
 * leaves it stopped, and its exit code stays readable until remove. A task
 * on a node flamed cannot reach: the service is removed (the swarm stops it
 * with its StopGracePeriod, 10 s by default).
 */
static int stop(struct engine *e, const char *id, unsigned grace_ms, char *err, size_t errlen)
{
    struct target tg;
    int rc = target_of(e, id, "stop", &tg, err, errlen);
    if (rc == FLAME_EPRECONDITION || rc == FLAME_EUNREACHABLE)
        return swarm_task_terminal(&tg.t) ? 0 : docker_service_remove(S(e)->dk, id, err, errlen);
    if (rc < 0)
        return rc;
    if (!swarm_task_terminal(&tg.t)) {
        rc = tg.d->ops->stop(tg.d, tg.cid, grace_ms, err, errlen);
        if (rc == FLAME_ENOTFOUND)
            rc = 0;
        else if (node_failed(&tg, rc, "stop", err, errlen) == FLAME_EUNREACHABLE)
            rc = docker_service_remove(S(e)->dk, id, err, errlen);
    }
    target_done(&tg);
    return rc;
}

static int remove_(struct engine *e, const char *id, char *err, size_t errlen)
{
    return docker_service_remove(S(e)->dk, id, err, errlen);
}

/* Gone when the manager no longer knows the service (its task's container
 * is removed by the node soon after). */
static int wait_removed(struct engine *e, const char *id, long timeout_ms, char *err, size_t errlen)
{
    int64_t until = docker_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int rc = docker_service_inspect(S(e)->dk, id, NULL, err, errlen);
        if (rc == FLAME_ENOTFOUND)
            return 0;
        if (rc < 0)
            return rc;
        if (docker_now_ms() >= until) {
            snprintf(err, errlen, "service %.64s is still there", id);
            return FLAME_ETIMEOUT;
        }
        sleep_ms(SWARM_POLL_MS);
    }
}

static int logs_tail(struct engine *e, const char *id, int lines, char **out, char *err, size_t errlen)
{
    struct target tg;
    *out = NULL;
    int rc = target_of(e, id, "logs", &tg, err, errlen);
    if (rc < 0)
        return rc;
    rc = tg.d->ops->logs_tail(tg.d, tg.cid, lines, out, err, errlen);
    rc = node_failed(&tg, rc, "logs", err, errlen);
    target_done(&tg);
    return rc;
}

static int logs(struct engine *e, const char *id, const struct engine_logs_opts *opts,
                const struct engine_exec_io *io, char *err, size_t errlen)
{
    struct target tg;
    int rc = target_of(e, id, "logs", &tg, err, errlen);
    if (rc < 0)
        return rc;
    rc = tg.d->ops->logs(tg.d, tg.cid, opts, io, err, errlen);
    rc = node_failed(&tg, rc, "logs", err, errlen);
    target_done(&tg);
    return rc;
}

/*
 * Exec ids: this node's are Docker's as they are; one made on a mapped node
 * is "EXECID@KEY" (KEY: its --swarm-nodes key, which holds no '@'), so that
 * exec_start, exec_inspect and exec_kill find the node again without state.
 */
static int exec_create(struct engine *e, const char *id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       int attach_stdin, char **exec_id, char *err, size_t errlen)
{
    struct target tg;
    char *plain = NULL;
    *exec_id = NULL;
    int rc = target_of(e, id, "exec", &tg, err, errlen);
    if (rc < 0)
        return rc;
    if (strcmp(tg.t.state, "running") != 0) {
        snprintf(err, errlen, "exec: service %.64s's task is %s, not running", id, tg.t.state);
        rc = FLAME_EPRECONDITION;
        goto done;
    }
    rc = tg.d->ops->exec_create(tg.d, tg.cid, argv, env, working_dir, user, attach_stdin, &plain,
                                err, errlen);
    if ((rc = node_failed(&tg, rc, "exec", err, errlen)) < 0)
        goto done;
    if (!tg.key) {
        *exec_id = plain;
        plain = NULL;
    } else {
        size_t n = strlen(plain) + 1 + strlen(tg.key) + 1;
        if (!(*exec_id = malloc(n))) {
            snprintf(err, errlen, "out of memory");
            rc = FLAME_ENOMEM;
            goto done;
        }
        snprintf(*exec_id, n, "%s@%s", plain, tg.key);
    }
done:
    free(plain);
    target_done(&tg);
    return rc;
}

/* The engine an exec id belongs to (see exec_create), and Docker's id for it. */
static int exec_target(struct engine *e, const char *exec_id, char *plain, size_t plainlen,
                       struct target *tg, char *err, size_t errlen)
{
    memset(tg, 0, sizeof(*tg));
    const char *at = strrchr(exec_id, '@');
    size_t n = at ? (size_t)(at - exec_id) : strlen(exec_id);
    if (n >= plainlen) {
        snprintf(err, errlen, "exec id too long");
        return FLAME_EINVALID;
    }
    memcpy(plain, exec_id, n);
    plain[n] = '\0';
    if (!at) {
        tg->d = S(e)->docker;
        return 0;
    }
    docker_client *ndk = swarm_nodes_by_key(S(e)->nodes, at + 1);
    if (!ndk) {
        snprintf(err, errlen, "exec %.80s: its node '%.64s' is not in --swarm-nodes", exec_id, at + 1);
        return FLAME_ENOTFOUND;
    }
    tg->key = at + 1;
    snprintf(tg->node, sizeof(tg->node), "%.255s", at + 1);
    if (docker_client_bounded(&tg->own_dk, ndk, &S(e)->bounds) < 0 ||
        docker_engine_new(&tg->own, tg->own_dk) < 0) {
        target_done(tg);
        snprintf(err, errlen, "out of memory");
        return FLAME_ENOMEM;
    }
    tg->d = tg->own;
    return 0;
}

static int exec_start(struct engine *e, const char *exec_id, const struct engine_exec_io *io,
                      char *err, size_t errlen)
{
    struct target tg;
    char plain[128];
    int rc = exec_target(e, exec_id, plain, sizeof(plain), &tg, err, errlen);
    if (rc < 0)
        return rc;
    rc = tg.d->ops->exec_start(tg.d, plain, io, err, errlen);
    rc = node_failed(&tg, rc, "exec", err, errlen);
    target_done(&tg);
    return rc;
}

static int exec_inspect(struct engine *e, const char *exec_id, int *exit_code, int *running,
                        char *err, size_t errlen)
{
    struct target tg;
    char plain[128];
    int rc = exec_target(e, exec_id, plain, sizeof(plain), &tg, err, errlen);
    if (rc < 0)
        return rc;
    rc = tg.d->ops->exec_inspect(tg.d, plain, exit_code, running, err, errlen);
    rc = node_failed(&tg, rc, "exec", err, errlen);
    target_done(&tg);
    return rc;
}

static int exec_kill(struct engine *e, const char *exec_id, const char *id, int signo, char *err,
                     size_t errlen)
{
    struct target tg, xt;
    char plain[128];
    int rc = target_of(e, id, "exec kill", &tg, err, errlen);
    if (rc == FLAME_EPRECONDITION || rc == FLAME_EUNREACHABLE)
        return FLAME_EUNIMPLEMENTED;
    if (rc < 0)
        return rc;
    target_done(&tg); /* the exec id names the node; the task gave the container */
    if ((rc = exec_target(e, exec_id, plain, sizeof(plain), &xt, err, errlen)) < 0)
        return rc;
    rc = xt.d->ops->exec_kill(xt.d, plain, tg.cid, signo, err, errlen);
    target_done(&xt);
    return rc;
}

/* A stdin is its exec stream's own; the containers engine only bounds the
 * wait (the view's deadline and cancel, the same for every node's view). */
static int exec_stdin_write(struct engine *e, struct engine_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen)
{
    struct engine *d = S(e)->docker;
    return d->ops->exec_stdin_write(d, in, data, len, should_abort, ud, err, errlen);
}

static void exec_stdin_close(struct engine *e, struct engine_stdin *in)
{
    struct engine *d = S(e)->docker;
    d->ops->exec_stdin_close(d, in);
}

static void exec_stdin_free(struct engine *e, struct engine_stdin *in)
{
    struct engine *d = S(e)->docker;
    d->ops->exec_stdin_free(d, in);
}

/* ---- events: every node's tasks (swarm_watch.c) ---- */

static int events(struct engine *e, const char *label, const char *id_label, int64_t since_nano,
                  const struct engine_events_io *io, char *err, size_t errlen)
{
    return swarm_watch_events(S(e)->dk, label, id_label, since_nano, io, err, errlen);
}

/* ---- list ---- */

struct slist {
    cJSON *json;
};

static void list_free(struct engine *e, struct engine_list *l)
{
    (void)e;
    if (!l)
        return;
    if (l->impl)
        cJSON_Delete(((struct slist *)l->impl)->json);
    free(l->impl);
    free(l->items);
    free(l);
}

static int list(struct engine *e, const char *label, const char *network_label,
                struct engine_list **out, char *err, size_t errlen)
{
    cJSON *js = NULL;
    *out = NULL;
    int rc = docker_service_list(S(e)->dk, label, &js, err, errlen);
    if (rc < 0)
        return rc;
    struct engine_list *l = calloc(1, sizeof(*l));
    struct slist *d = calloc(1, sizeof(*d));
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
    cJSON *svc;
    cJSON_ArrayForEach(svc, js)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(svc, "ID");
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(svc, "Spec");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(spec, "Name");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(spec, "Labels");
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "TaskTemplate"),
                                             "ContainerSpec"),
            "Image");
        const cJSON *created = cJSON_GetObjectItemCaseSensitive(svc, "CreatedAt");
        const cJSON *net = network_label ? cJSON_GetObjectItemCaseSensitive(labels, network_label) : NULL;
        if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof(l->items[0].id))
            continue;
        struct swarm_task t;
        struct engine_state st;
        rc = task_of(e, id->valuestring, cJSON_IsString(net) ? net->valuestring : NULL, &t, err,
                     errlen);
        if (rc == FLAME_ENOTFOUND)
            continue; /* removed meanwhile */
        if (rc < 0) {
            list_free(e, l);
            return rc;
        }
        swarm_task_state(&t, &st);
        struct engine_listed *it = &l->items[l->n++];
        snprintf(it->id, sizeof(it->id), "%s", id->valuestring);
        snprintf(it->name, sizeof(it->name), "%s", cJSON_IsString(name) ? name->valuestring : "");
        snprintf(it->image, sizeof(it->image), "%s", cJSON_IsString(image) ? image->valuestring : "");
        snprintf(it->state, sizeof(it->state), "%s", st.status);
        it->running = st.running;
        it->exit_code = swarm_task_terminal(&t) ? st.exit_code : -1;
        it->created_unix_s = cJSON_IsString(created) ? docker_time_rfc3339_ms(created->valuestring) / 1000 : 0;
        snprintf(it->ip_address, sizeof(it->ip_address), "%s", st.ip_address);
        it->labels = labels;
    }
    *out = l;
    return 0;
}

static int stdin_deliver(struct engine *e, const char *id, const void *data, size_t len,
                         long timeout_ms, char *err, size_t errlen)
{
    (void)e, (void)id, (void)data, (void)len, (void)timeout_ms;
    snprintf(err, errlen, "warm runners (stdin delivery) are not supported with --engine swarm yet");
    return FLAME_EUNIMPLEMENTED;
}

static const struct engine_ops ops = {
    .caps = ENGINE_CAP_PLACEMENT,
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
