/*
 * Swarm mode's services and tasks (docker.h, "swarm"): the few calls the
 * Swarm engine (engine/swarm_engine.c) makes to a swarm manager. Each is one
 * plain request; the bodies are the caller's.
 * Follows: Docker Engine API v1.41 ServiceCreate, ServiceInspect,
 * ServiceDelete, ServiceList, TaskList, NodeList, SystemInfo (Swarm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"

#define SWARM_CALL_TIMEOUT_MS 30000L

/* A manager's 503 is "This node is not a swarm manager" (or not part of a
 * swarm): a setup to fix, not a transient fault. */
static int swarm_error(const struct docker__response *r, char *err, size_t errlen, const char *what,
                       const char *name)
{
    if (r->status == 503)
        return docker__fail(err, errlen, FLAME_EPRECONDITION,
                            "%s '%s': %s (flamed --engine swarm needs a swarm manager: "
                            "`docker swarm init` on it, or point --docker-host at a manager)",
                            what, name, docker__response_message(r));
    return docker__response_error(r, err, errlen, "%s '%s'", what, name);
}

/* GET path?filters={"key":[value]} into *out (a JSON array). */
static int list_filtered(docker_client *c, const char *base, const char *key, const char *value,
                         const char *what, cJSON **out, char *err, size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX], *text = NULL, *esc = NULL;
    cJSON *filters = NULL, *arr;
    int rc = 0;

    memset(&r, 0, sizeof r);
    *out = NULL;
    if (value && *value) {
        filters = cJSON_CreateObject();
        arr = filters ? cJSON_AddArrayToObject(filters, key) : NULL;
        if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString(value)) ||
            !(text = cJSON_PrintUnformatted(filters)) || !(esc = malloc(3 * strlen(text) + 1))) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        if (docker__escape(text, NULL, esc, 3 * strlen(text) + 1) < 0 ||
            docker__fmt(path, sizeof path, "%s?filters=%s", base, esc) < 0) {
            rc = docker__fail(err, errlen, FLAME_EINVALID, "%s filter too long", key);
            goto done;
        }
    } else if (docker__fmt(path, sizeof path, "%s", base) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "path too long");
        goto done;
    }
    if ((rc = docker__do(c, "GET", path, NULL, SWARM_CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = swarm_error(&r, err, errlen, what, value ? value : "");
        goto done;
    }
    if (!cJSON_IsArray(r.json)) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "%s: Docker sent no JSON array", what);
        goto done;
    }
    *out = r.json;
    r.json = NULL;
done:
    free(esc);
    cJSON_free(text);
    cJSON_Delete(filters);
    docker__response_free(&r);
    return rc;
}

int docker_service_create(docker_client *c, const cJSON *spec, char **id, char *err, size_t errlen)
{
    struct docker__response r;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(spec, "Name"), *jid;
    const char *n = cJSON_IsString(name) ? name->valuestring : "";
    int rc;

    memset(&r, 0, sizeof r);
    *id = NULL;
    if ((rc = docker__do(c, "POST", "/services/create", spec, SWARM_CALL_TIMEOUT_MS, &r, err,
                         errlen)) < 0)
        goto done;
    if (r.status == 409) {
        docker__response_error(&r, err, errlen, "create service '%s'", n);
        rc = FLAME_EEXISTS;
        goto done;
    }
    if (r.status == 404 || r.status == 401 || r.status == 403) {
        docker__response_error(&r, err, errlen, "create service '%s'", n);
        rc = FLAME_EINVALID; /* a network, secret or plugin the spec names is missing */
        goto done;
    }
    if (r.status != 201 && r.status != 200) {
        rc = swarm_error(&r, err, errlen, "create service", n);
        goto done;
    }
    jid = cJSON_GetObjectItemCaseSensitive(r.json, "ID");
    if (!cJSON_IsString(jid) || !jid->valuestring[0]) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "create service '%s': Docker sent no ID", n);
        goto done;
    }
    if (!(*id = strdup(jid->valuestring)))
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
done:
    docker__response_free(&r);
    return rc;
}

int docker_service_inspect(docker_client *c, const char *id, cJSON **out, char *err, size_t errlen)
{
    char esc[1600], path[DOCKER__PATH_MAX];
    int rc;

    if (out)
        *out = NULL;
    if ((rc = docker__check_name("service id", id, err, errlen)) < 0)
        return rc;
    if (docker__escape(id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path, "/services/%s", esc) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "service id too long");
    return docker__inspect(c, path, "service", id, out, err, errlen);
}

int docker_service_remove(docker_client *c, const char *id, char *err, size_t errlen)
{
    struct docker__response r;
    char esc[1600], path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = docker__check_name("service id", id, err, errlen)) < 0)
        return rc;
    if (docker__escape(id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path, "/services/%s", esc) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "service id too long");
    if ((rc = docker__do(c, "DELETE", path, NULL, SWARM_CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200 && r.status != 204)
        rc = swarm_error(&r, err, errlen, "remove service", id);
done:
    docker__response_free(&r);
    return rc;
}

int docker_service_list(docker_client *c, const char *label, cJSON **out, char *err, size_t errlen)
{
    return list_filtered(c, "/services", "label", label, "list services", out, err, errlen);
}

int docker_task_list(docker_client *c, const char *service_id, cJSON **out, char *err,
                     size_t errlen)
{
    if (!service_id || !*service_id)
        return docker__fail(err, errlen, FLAME_EINVALID, "list tasks: no service id");
    return list_filtered(c, "/tasks", "service", service_id, "list tasks of service", out, err,
                         errlen);
}

int docker_task_list_labelled(docker_client *c, const char *label, cJSON **out, char *err,
                              size_t errlen)
{
    if (!label || !*label)
        return docker__fail(err, errlen, FLAME_EINVALID, "list tasks: no label");
    return list_filtered(c, "/tasks", "label", label, "list tasks labelled", out, err, errlen);
}

int docker_node_list(docker_client *c, cJSON **out, char *err, size_t errlen)
{
    return list_filtered(c, "/nodes", "", NULL, "list nodes", out, err, errlen);
}

int docker_swarm_node(docker_client *c, char *node_id, size_t node_id_len, int *manager, char *err,
                      size_t errlen)
{
    struct docker__response r;
    int rc;

    memset(&r, 0, sizeof r);
    if (node_id_len)
        node_id[0] = '\0';
    if (manager)
        *manager = 0;
    if ((rc = docker__do(c, "GET", "/info", NULL, SWARM_CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "system info");
        goto done;
    }
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(r.json, "Swarm");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(sw, "LocalNodeState");
    const cJSON *nid = cJSON_GetObjectItemCaseSensitive(sw, "NodeID");
    const cJSON *ctl = cJSON_GetObjectItemCaseSensitive(sw, "ControlAvailable");
    if (!cJSON_IsString(state) || strcmp(state->valuestring, "active") != 0 ||
        !cJSON_IsString(nid) || !nid->valuestring[0]) {
        rc = docker__fail(err, errlen, FLAME_EPRECONDITION,
                          "the Docker Engine at %s is not in a swarm (Swarm.LocalNodeState %s): "
                          "`docker swarm init` on it, or point --docker-host at a swarm manager",
                          docker_client_address(c),
                          cJSON_IsString(state) ? state->valuestring : "absent");
        goto done;
    }
    if (node_id_len && (size_t)snprintf(node_id, node_id_len, "%s", nid->valuestring) >= node_id_len) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "system info: NodeID too long");
        goto done;
    }
    if (manager)
        *manager = cJSON_IsTrue(ctl);
done:
    docker__response_free(&r);
    return rc;
}
