/*
 * server/docker/network.c - user networks: inspect (boot checks the runner's
 * network exists), create and remove (tests, future use).
 */
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

/* "/networks/NAME" + suffix, NAME escaped. */
static int docker__network_path(const char *name, char *path, size_t pathlen, char *err,
                                size_t errlen)
{
    char esc[1600];
    int rc;

    if ((rc = docker__check_name("network name", name, err, errlen)) < 0)
        return rc;
    if (docker__escape(name, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, pathlen, "/networks/%s", esc) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "network name too long");
    return 0;
}

int docker_network_inspect(docker_client *c, const char *name, cJSON **out, char *err,
                           size_t errlen)
{
    char path[DOCKER__PATH_MAX];
    int rc;

    if (out)
        *out = NULL;
    if ((rc = docker__network_path(name, path, sizeof path, err, errlen)) < 0)
        return rc;
    rc = docker__inspect(c, path, "network", name, out, err, errlen);
    if (rc == FLAME_ENOTFOUND)
        rc = docker__fail(err, errlen, FLAME_ENOTFOUND,
                          "network '%s' not found: create it with `docker network create %s`", name,
                          name);
    return rc;
}

int docker_network_create(docker_client *c, const char *name, const cJSON *labels, char **id,
                          char *err, size_t errlen)
{
    struct docker__response r;
    cJSON *body = NULL, *l = NULL;
    const cJSON *jid;
    int rc;

    memset(&r, 0, sizeof r);
    if (id)
        *id = NULL;
    if ((rc = docker__check_name("network name", name, err, errlen)) < 0)
        goto done;
    if (labels && !cJSON_IsObject(labels)) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "network labels must be a JSON object");
        goto done;
    }
    body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "Name", name) ||
        !cJSON_AddStringToObject(body, "Driver", "bridge") ||
        !cJSON_AddTrueToObject(body, "CheckDuplicate")) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if (labels) {
        l = cJSON_Duplicate(labels, 1);
        if (!l || !cJSON_AddItemToObject(body, "Labels", l)) {
            cJSON_Delete(l);
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
    }
    if ((rc = docker__do(c, "POST", "/networks/create", body, 30000, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 409) {
        rc = docker__response_error(&r, err, errlen, "create network '%s'", name);
        rc = FLAME_EEXISTS;
        goto done;
    }
    if (r.status != 201 && r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "create network '%s'", name);
        goto done;
    }
    jid = cJSON_GetObjectItemCaseSensitive(r.json, "Id");
    if (!cJSON_IsString(jid) || !jid->valuestring) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "create network '%s': Docker sent no Id", name);
        goto done;
    }
    if (id) {
        *id = strdup(jid->valuestring);
        if (!*id) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    cJSON_Delete(body);
    docker__response_free(&r);
    return rc;
}

int docker_network_remove(docker_client *c, const char *name, char *err, size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = docker__network_path(name, path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "DELETE", path, NULL, 30000, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 204 || r.status == 200)
        goto done;
    if (r.status == 404) {
        rc = docker__fail(err, errlen, FLAME_ENOTFOUND, "network '%s' not found", name);
        goto done;
    }
    rc = docker__response_error(&r, err, errlen, "remove network '%s'", name);
    /* 20.10 answers 403 "has active endpoints" for a network in use. */
    if (r.status == 403 || r.status == 409)
        rc = FLAME_ECONFLICT;
done:
    docker__response_free(&r);
    return rc;
}
