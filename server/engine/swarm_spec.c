/*
 * The Swarm engine's ServiceSpec and task reading (swarm_spec.h). The spec is
 * printed from the canonical request only: a HostConfig field with no
 * service equivalent is refused by name, so what the policy checked is what
 * the swarm runs, or nothing runs.
 * Follows: Docker Engine API v1.41 ServiceCreate, TaskList; moby
 * api/types/swarm (ServiceSpec, TaskSpec, ContainerSpec, ResourceRequirements,
 * RestartPolicy, NetworkAttachmentConfig, EndpointSpec, Task, TaskStatus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "engine/swarm_spec.h"

static cJSON *strv(const char *const *v)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && v && v[i]; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    return a;
}

/* Put a copy of src at obj[key]; 0 or FLAME_ENOMEM. */
static int put_copy(cJSON *obj, const char *key, const cJSON *src)
{
    cJSON *c = cJSON_Duplicate(src, 1);
    if (!c || !cJSON_AddItemToObject(obj, key, c)) {
        cJSON_Delete(c);
        return FLAME_ENOMEM;
    }
    return 0;
}

/* obj[key], an object made when absent; NULL: out of memory. */
static cJSON *sub(cJSON *obj, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, key);
    return o ? o : cJSON_AddObjectToObject(obj, key);
}

/* Map the canonical HostConfig onto the task template. */
static int map_host_config(const cJSON *hc, cJSON *task, cJSON *cs, char *err, size_t errlen)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, hc)
    {
        const char *k = f->string;
        cJSON *dst = NULL;
        const char *as = NULL;
        if (cJSON_IsNull(f))
            continue; /* canonical "not set" */
        if (strcmp(k, "Memory") == 0) {
            dst = sub(sub(task, "Resources"), "Limits"), as = "MemoryBytes";
        } else if (strcmp(k, "NanoCpus") == 0) {
            dst = sub(sub(task, "Resources"), "Limits"), as = "NanoCPUs";
        } else if (strcmp(k, "PidsLimit") == 0) {
            dst = sub(sub(task, "Resources"), "Limits"), as = "Pids";
        } else if (strcmp(k, "MemoryReservation") == 0) {
            dst = sub(sub(task, "Resources"), "Reservations"), as = "MemoryBytes";
        } else if (strcmp(k, "Init") == 0) {
            dst = cs, as = "Init";
        } else if (strcmp(k, "ReadonlyRootfs") == 0) {
            dst = cs, as = "ReadOnly";
        } else if (strcmp(k, "CapAdd") == 0) {
            dst = cs, as = "CapabilityAdd";
        } else if (strcmp(k, "CapDrop") == 0) {
            dst = cs, as = "CapabilityDrop";
        } else if (strcmp(k, "Ulimits") == 0) {
            dst = cs, as = "Ulimits";
        } else if (strcmp(k, "Sysctls") == 0) {
            dst = cs, as = "Sysctls";
        } else if (strcmp(k, "GroupAdd") == 0) {
            dst = cs, as = "Groups";
        } else if (strcmp(k, "Dns") == 0) {
            dst = sub(cs, "DNSConfig"), as = "Nameservers";
        } else if (strcmp(k, "DnsSearch") == 0) {
            dst = sub(cs, "DNSConfig"), as = "Search";
        } else if (strcmp(k, "DnsOptions") == 0) {
            dst = sub(cs, "DNSConfig"), as = "Options";
        } else if (strcmp(k, "LogConfig") == 0) {
            /* {Type, Config} -> {Name, Options} */
            cJSON *ld = sub(task, "LogDriver");
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "Type");
            const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(f, "Config");
            if (!ld || (cJSON_IsString(type) && put_copy(ld, "Name", type) < 0) ||
                (cJSON_IsObject(cfg) && put_copy(ld, "Options", cfg) < 0))
                return FLAME_ENOMEM;
            continue;
        } else {
            snprintf(err, errlen,
                     "host_config.%s has no Swarm service equivalent (--engine swarm maps Memory, "
                     "NanoCpus, PidsLimit, MemoryReservation, Init, ReadonlyRootfs, CapAdd, "
                     "CapDrop, Ulimits, Sysctls, GroupAdd, Dns, DnsSearch, DnsOptions, LogConfig; "
                     "use mounts for volumes and tmpfs): leave it out",
                     k);
            return FLAME_EINVALID;
        }
        if (!dst || put_copy(dst, as, f) < 0)
            return FLAME_ENOMEM;
    }
    return 0;
}

/*
 * A bind mount is refused: the policy's host_binds check resolves the source
 * on flamed's host (symlinks, sockets), while the swarm binds that path on
 * whichever node runs the task, where the same path may be anything. Volumes
 * and tmpfs mean the same on every node.
 */
static int check_mounts(const cJSON *mounts, char *err, size_t errlen)
{
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, mounts)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "Type");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "bind") == 0) {
            snprintf(err, errlen, "mounts[%d]: a bind mount is refused with --engine swarm: the "
                                  "swarm would bind that path on whichever node runs the task, "
                                  "which flamed's host_binds check (made on its own host) cannot "
                                  "vouch for; use a volume or tmpfs mount",
                     i);
            return FLAME_EINVALID;
        }
        i++;
    }
    return 0;
}

int swarm_spec_build(const struct engine_spec *spec, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (spec->open_stdin) {
        snprintf(err, errlen, "warm runners (an open stdin) are not supported with --engine swarm yet");
        return FLAME_EUNIMPLEMENTED;
    }
    int rc = FLAME_ENOMEM;
    cJSON *s = cJSON_CreateObject();
    cJSON *task = s ? cJSON_AddObjectToObject(s, "TaskTemplate") : NULL;
    cJSON *cs = task ? cJSON_AddObjectToObject(task, "ContainerSpec") : NULL;
    if (!cs || !cJSON_AddStringToObject(s, "Name", spec->name) ||
        !cJSON_AddStringToObject(cs, "Image", spec->image) ||
        !cJSON_AddStringToObject(cs, "Hostname", spec->name))
        goto fail;
    if (spec->labels && (put_copy(s, "Labels", spec->labels) < 0 ||
                         put_copy(cs, "Labels", spec->labels) < 0))
        goto fail;
    if (spec->entrypoint && !cJSON_AddItemToObject(cs, "Command", strv(spec->entrypoint)))
        goto fail;
    if (spec->cmd && !cJSON_AddItemToObject(cs, "Args", strv(spec->cmd)))
        goto fail;
    if (spec->env && !cJSON_AddItemToObject(cs, "Env", strv(spec->env)))
        goto fail;
    if (spec->working_dir && spec->working_dir[0] &&
        !cJSON_AddStringToObject(cs, "Dir", spec->working_dir))
        goto fail;
    if (spec->user && spec->user[0] && !cJSON_AddStringToObject(cs, "User", spec->user))
        goto fail;
    if (spec->mounts && (rc = check_mounts(spec->mounts, err, errlen)) < 0)
        goto done;
    rc = FLAME_ENOMEM;
    if (spec->mounts && cJSON_GetArraySize(spec->mounts) > 0 &&
        put_copy(cs, "Mounts", spec->mounts) < 0)
        goto fail;
    if (spec->host_config && (rc = map_host_config(spec->host_config, task, cs, err, errlen)) < 0)
        goto done;
    rc = FLAME_ENOMEM;
    if (spec->placement && put_copy(task, "Placement", spec->placement) < 0)
        goto fail;
    cJSON *rp = cJSON_AddObjectToObject(task, "RestartPolicy");
    if (!rp || !cJSON_AddStringToObject(rp, "Condition", "none"))
        goto fail;
    if (spec->network && spec->network[0]) {
        cJSON *nets = cJSON_AddArrayToObject(task, "Networks");
        cJSON *n = cJSON_CreateObject();
        const char *alias[] = {spec->name, NULL};
        if (!nets || !cJSON_AddItemToArray(nets, n) ||
            !cJSON_AddStringToObject(n, "Target", spec->network) ||
            !cJSON_AddItemToObject(n, "Aliases", strv(alias)))
            goto fail;
    }
    cJSON *rep = cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "Mode"), "Replicated");
    cJSON *ep = cJSON_AddObjectToObject(s, "EndpointSpec");
    if (!rep || !cJSON_AddNumberToObject(rep, "Replicas", 1) || !ep ||
        !cJSON_AddStringToObject(ep, "Mode", "dnsrr"))
        goto fail;
    *out = s;
    return 0;
fail:
    snprintf(err, errlen, "out of memory building the service spec");
    rc = FLAME_ENOMEM;
done:
    cJSON_Delete(s);
    return rc;
}

static void copy_str(char *dst, size_t n, const cJSON *v)
{
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* The task's Version.Index (0 when absent). */
static double task_index(const cJSON *t)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "Version"),
                                                        "Index");
    return cJSON_IsNumber(idx) ? idx->valuedouble : 0;
}

static void task_read(const cJSON *best, const char *network, struct swarm_task *out)
{
    memset(out, 0, sizeof(*out));
    out->exit_code = -1;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(best, "Status");
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(st, "ContainerStatus");
    copy_str(out->id, sizeof(out->id), cJSON_GetObjectItemCaseSensitive(best, "ID"));
    copy_str(out->state, sizeof(out->state), cJSON_GetObjectItemCaseSensitive(st, "State"));
    copy_str(out->desired, sizeof(out->desired), cJSON_GetObjectItemCaseSensitive(best, "DesiredState"));
    copy_str(out->node_id, sizeof(out->node_id), cJSON_GetObjectItemCaseSensitive(best, "NodeID"));
    copy_str(out->container_id, sizeof(out->container_id),
             cJSON_GetObjectItemCaseSensitive(cst, "ContainerID"));
    copy_str(out->err, sizeof(out->err), cJSON_GetObjectItemCaseSensitive(st, "Err"));
    copy_str(out->message, sizeof(out->message), cJSON_GetObjectItemCaseSensitive(st, "Message"));
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(cst, "ExitCode");
    if (cJSON_IsNumber(ec))
        out->exit_code = ec->valueint;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(st, "Timestamp");
    out->timestamp_ms = cJSON_IsString(ts) ? docker_time_rfc3339_ms(ts->valuestring) : 0;
    /* Addresses are "10.0.1.5/24", on each attached network. */
    const cJSON *na;
    cJSON_ArrayForEach(na, cJSON_GetObjectItemCaseSensitive(best, "NetworksAttachments"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(na, "Network"), "Spec"),
            "Name");
        const cJSON *addr = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(na, "Addresses"), 0);
        if (!cJSON_IsString(addr))
            continue;
        if (network && network[0] && !(cJSON_IsString(name) && strcmp(name->valuestring, network) == 0))
            continue;
        size_t n = strcspn(addr->valuestring, "/");
        if (n >= sizeof(out->ip_address))
            n = 0;
        memcpy(out->ip_address, addr->valuestring, n);
        out->ip_address[n] = '\0';
        break;
    }
}

int swarm_task_pick(const cJSON *tasks, const char *network, struct swarm_task *out)
{
    const cJSON *best = NULL, *t;
    double best_index = -1;
    cJSON_ArrayForEach(t, tasks)
    {
        double i = task_index(t);
        if (cJSON_IsObject(t) && i > best_index)
            best = t, best_index = i;
    }
    if (!best) {
        memset(out, 0, sizeof(*out));
        out->exit_code = -1;
        return FLAME_ENOTFOUND;
    }
    task_read(best, network, out);
    return 0;
}

int swarm_task_terminal(const struct swarm_task *t)
{
    static const char *const end[] = {"complete", "failed", "rejected", "shutdown", "remove", "orphaned"};
    for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
        if (strcmp(t->state, end[i]) == 0)
            return 1;
    return 0;
}

void swarm_task_state(const struct swarm_task *t, struct engine_state *st)
{
    memset(st, 0, sizeof(*st));
    st->exit_code = t->exit_code < 0 ? 0 : t->exit_code;
    if (strcmp(t->state, "running") == 0) {
        snprintf(st->status, sizeof(st->status), "running");
        st->running = 1;
        st->started_at_ms = t->timestamp_ms;
    } else if (strcmp(t->state, "rejected") == 0) {
        snprintf(st->status, sizeof(st->status), "dead");
    } else if (swarm_task_terminal(t)) {
        snprintf(st->status, sizeof(st->status), "exited");
    } else {
        snprintf(st->status, sizeof(st->status), "created");
    }
    if (t->err[0])
        snprintf(st->error, sizeof(st->error), "task %.15s: %.200s", t->state, t->err);
    snprintf(st->ip_address, sizeof(st->ip_address), "%s", t->ip_address);
}

void swarm_task_state_container(const struct swarm_task *t, const struct docker_container_state *c,
                                struct engine_state *st)
{
    swarm_task_state(t, st);
    if (!c)
        return;
    int ended = strcmp(c->status, "exited") == 0 || strcmp(c->status, "dead") == 0;
    if (!st->running) {
        if (strcmp(st->status, "exited") == 0 && ended)
            st->oom_killed = c->oom_killed;
        return;
    }
    if (c->running) {
        if (c->started_at_ms > 0)
            st->started_at_ms = c->started_at_ms;
        return;
    }
    if (!ended)
        return;
    snprintf(st->status, sizeof(st->status), "%s", c->status);
    st->running = 0;
    st->exit_code = c->exit_code;
    st->oom_killed = c->oom_killed;
    snprintf(st->error, sizeof(st->error), "%s", c->error);
    st->started_at_ms = c->started_at_ms;
}

/* ------------------------------------------------------------ nodes and Watch */

static const cJSON *at2(const cJSON *o, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
}

int swarm_node_find(const cJSON *nodes, const char *id, struct swarm_node *out)
{
    const cJSON *n;
    memset(out, 0, sizeof(*out));
    if (!id || !id[0])
        return FLAME_ENOTFOUND;
    cJSON_ArrayForEach(n, nodes)
    {
        const cJSON *nid = cJSON_GetObjectItemCaseSensitive(n, "ID");
        if (!cJSON_IsString(nid) || strcmp(nid->valuestring, id) != 0)
            continue;
        copy_str(out->id, sizeof(out->id), nid);
        copy_str(out->hostname, sizeof(out->hostname), at2(n, "Description", "Hostname"));
        copy_str(out->state, sizeof(out->state), at2(n, "Status", "State"));
        copy_str(out->availability, sizeof(out->availability), at2(n, "Spec", "Availability"));
        copy_str(out->addr, sizeof(out->addr), at2(n, "Status", "Addr"));
        return 0;
    }
    return FLAME_ENOTFOUND;
}

int swarm_node_lost(const struct swarm_node *n)
{
    return strcmp(n->state, "down") == 0 || strcmp(n->state, "disconnected") == 0;
}

/* The phase, exit code and error of one service's newest task. */
static void watch_item(const cJSON *task, const cJSON *nodes, const char *id_label,
                       struct swarm_watch_item *it)
{
    struct swarm_task t;
    struct swarm_node node;
    task_read(task, NULL, &t);
    memset(it, 0, sizeof(*it));
    copy_str(it->service_id, sizeof(it->service_id), cJSON_GetObjectItemCaseSensitive(task, "ServiceID"));
    if (id_label)
        copy_str(it->runner_id, sizeof(it->runner_id),
                 cJSON_GetObjectItemCaseSensitive(
                     cJSON_GetObjectItemCaseSensitive(at2(task, "Spec", "ContainerSpec"), "Labels"),
                     id_label));
    snprintf(it->node_id, sizeof(it->node_id), "%s", t.node_id);
    it->exit_code = t.exit_code;
    int have_node = swarm_node_find(nodes, t.node_id, &node) == 0;
    if (swarm_task_terminal(&t)) {
        it->phase = SWARM_PHASE_ENDED;
        if (have_node && strcmp(t.state, "shutdown") == 0 && strcmp(node.availability, "drain") == 0)
            snprintf(it->error, sizeof(it->error),
                     "the swarm shut the runner's task down: swarm node %.64s (%.128s) is drained",
                     node.id, node.hostname);
        else if (t.err[0])
            snprintf(it->error, sizeof(it->error), "task %.15s: %.300s", t.state, t.err);
    } else if (have_node && swarm_node_lost(&node)) {
        it->phase = SWARM_PHASE_ENDED;
        it->exit_code = -1;
        snprintf(it->error, sizeof(it->error),
                 "swarm node %.64s (%.128s) is %.15s: the runner's task was lost with it", node.id,
                 node.hostname, node.state);
    } else {
        it->phase = strcmp(t.state, "running") == 0 ? SWARM_PHASE_RUNNING : SWARM_PHASE_PENDING;
    }
}

int swarm_watch_read(const cJSON *tasks, const cJSON *nodes, const char *id_label,
                     struct swarm_watch_item **out, size_t *n)
{
    const cJSON *t;
    size_t cap = (size_t)cJSON_GetArraySize(tasks), k = 0;
    struct swarm_watch_item *items = NULL;
    double *index = NULL;
    *out = NULL;
    *n = 0;
    if (cap == 0)
        return 0;
    items = calloc(cap, sizeof(*items));
    index = calloc(cap, sizeof(*index));
    if (!items || !index) {
        free(items);
        free(index);
        return FLAME_ENOMEM;
    }
    /* A linear search per task: a poll holds one task per runner (a few
     * after a drain), and flamed runs hundreds, not many thousands. */
    cJSON_ArrayForEach(t, tasks)
    {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(t, "ServiceID");
        if (!cJSON_IsObject(t) || !cJSON_IsString(sid) || !sid->valuestring[0])
            continue;
        size_t i = 0;
        while (i < k && strcmp(items[i].service_id, sid->valuestring) != 0)
            i++;
        double idx = task_index(t);
        if (i < k && idx <= index[i])
            continue; /* an older task of a service already read */
        watch_item(t, nodes, id_label, &items[i]);
        index[i] = idx;
        if (i == k)
            k++;
    }
    free(index);
    if (k == 0) {
        free(items);
        return 0;
    }
    *out = items;
    *n = k;
    return 0;
}
