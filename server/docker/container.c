/*
 * server/docker/container.c - container lifecycle calls: create, start, stop,
 * kill, remove, inspect, list, and the log tail used for boot-failure messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

#define DOCKER__CALL_TIMEOUT_MS 30000L
#define DOCKER__LOGS_MAX 8192

/* "/containers/ID" + suffix, ID escaped. */
static int docker__container_path(const char *id, const char *suffix, char *path, size_t pathlen,
                                  char *err, size_t errlen)
{
    char esc[1600];
    int rc;

    if ((rc = docker__check_name("container id", id, err, errlen)) < 0)
        return rc;
    if (docker__escape(id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, pathlen, "/containers/%s%s", esc, suffix) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "container id too long");
    return 0;
}

int docker_container_create(docker_client *c, const char *name, const cJSON *config, char **id,
                            char *err, size_t errlen)
{
    struct docker__response r;
    char esc[1600], path[DOCKER__PATH_MAX];
    const cJSON *jid, *image;
    int rc = 0;

    memset(&r, 0, sizeof r);
    if (id)
        *id = NULL;
    if (!cJSON_IsObject(config)) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "container config must be a JSON object");
        goto done;
    }
    if (name && *name) {
        if ((rc = docker__check_name("container name", name, err, errlen)) < 0)
            goto done;
        if (docker__escape(name, NULL, esc, sizeof esc) < 0 ||
            docker__fmt(path, sizeof path, "/containers/create?name=%s", esc) < 0) {
            rc = docker__fail(err, errlen, FLAME_EINVALID, "container name too long");
            goto done;
        }
    } else {
        docker__fmt(path, sizeof path, "/containers/create");
        name = "";
    }
    if ((rc = docker__do(c, "POST", path, config, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 404 && strcasestr(docker__response_message(&r), "no such image")) {
        image = cJSON_GetObjectItemCaseSensitive(config, "Image");
        rc = docker__fail(err, errlen, FLAME_ENOTFOUND,
                          "create container '%s': %s (pull it with `docker pull %s`)", name,
                          docker__response_message(&r),
                          cJSON_IsString(image) && image->valuestring ? image->valuestring
                                                                      : "IMAGE");
        goto done;
    }
    /* Any other 404 is something the config names that Docker lacks (a volume or
     * logging plugin); 401/403 an authorization plugin's refusal: the config is refused. */
    if (r.status == 404 || r.status == 401 || r.status == 403) {
        docker__response_error(&r, err, errlen, "create container '%s'", name);
        rc = FLAME_EINVALID;
        goto done;
    }
    if (r.status == 409) {
        docker__response_error(&r, err, errlen, "create container '%s'", name);
        rc = FLAME_EEXISTS;
        goto done;
    }
    if (r.status != 201) {
        rc = docker__response_error(&r, err, errlen, "create container '%s'", name);
        goto done;
    }
    jid = cJSON_GetObjectItemCaseSensitive(r.json, "Id");
    if (!cJSON_IsString(jid) || !jid->valuestring || !*jid->valuestring) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "create container '%s': Docker sent no Id",
                          name);
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
    docker__response_free(&r);
    return rc;
}

int docker_container_start(docker_client *c, const char *id, long timeout_ms, char *err,
                           size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    const char *msg;
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = docker__container_path(id, "/start", path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "POST", path, NULL, timeout_ms, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 204 || r.status == 304)
        goto done;
    msg = docker__response_message(&r);
    /* A missing network passes create and fails here; say which thing is missing. */
    if (r.status == 404 && strstr(msg, "network") && !strstr(msg, "No such container")) {
        rc = docker__fail(err, errlen, FLAME_ENOTFOUND,
                          "start container '%s': %s (create the network with `docker network "
                          "create NAME`)",
                          id, msg);
        goto done;
    }
    rc = docker__response_error(&r, err, errlen, "start container '%s'", id);
    if (r.status == 404) {
        /* "No such container: ID" is this one gone; another name is one its config
         * refers to (NetworkMode container:X, VolumesFrom): the config's fault. */
        if (!strstr(msg, id))
            rc = FLAME_EINVALID;
    } else if (r.status == 400 || r.status == 401 || r.status == 403 ||
               (r.status == 500 && !docker__is_unavailable(msg))) {
        /* 20.10 answers 400 only for a missing or non-executable command and a file
         * mounted on a directory; everything else runc or the daemon refuses at start
         * (rlimits, mounts, devices, an unknown user, a seccomp profile, a port in
         * use) comes as 500: all of it is this container's, not Docker's. */
        rc = FLAME_EINVALID;
    } else if (r.status >= 500) {
        rc = FLAME_EUNAVAILABLE;
    }
done:
    docker__response_free(&r);
    return rc;
}

int docker_container_stop(docker_client *c, const char *id, int grace_s, char *err, size_t errlen)
{
    struct docker__response r;
    char suffix[64], path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    if (grace_s < 0)
        grace_s = 0;
    snprintf(suffix, sizeof suffix, "/stop?t=%d", grace_s);
    if ((rc = docker__container_path(id, suffix, path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "POST", path, NULL, ((long)grace_s + 30) * 1000L, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 204 || r.status == 304)
        goto done;
    rc = docker__response_error(&r, err, errlen, "stop container '%s'", id);
done:
    docker__response_free(&r);
    return rc;
}

int docker_container_wait(docker_client *c, const char *id, const char *condition,
                          long timeout_ms, long *status, char *err, size_t errlen)
{
    struct docker__response r;
    char suffix[64], path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    *status = 0;
    snprintf(suffix, sizeof suffix, "/wait?condition=%s", condition);
    if ((rc = docker__container_path(id, suffix, path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "POST", path, NULL, timeout_ms, &r, err, errlen)) < 0)
        goto done;
    *status = r.status;
done:
    docker__response_free(&r);
    return rc;
}

int docker_container_kill(docker_client *c, const char *id, const char *signal, char *err,
                          size_t errlen)
{
    struct docker__response r;
    char esc[64], suffix[96], path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    if (!signal || !*signal)
        signal = "SIGKILL";
    if (docker__escape(signal, NULL, esc, sizeof esc) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "signal name too long");
        goto done;
    }
    snprintf(suffix, sizeof suffix, "/kill?signal=%s", esc);
    if ((rc = docker__container_path(id, suffix, path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "POST", path, NULL, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 204)
        goto done;
    rc = docker__response_error(&r, err, errlen, "kill container '%s'", id);
done:
    docker__response_free(&r);
    return rc;
}

int docker_container_remove(docker_client *c, const char *id, char *err, size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = docker__container_path(id, "?force=1&v=1", path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "DELETE", path, NULL, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 204 || r.status == 200)
        goto done;
    rc = docker__response_error(&r, err, errlen, "remove container '%s'", id);
done:
    docker__response_free(&r);
    return rc;
}

int docker_container_inspect(docker_client *c, const char *id, cJSON **out, char *err,
                             size_t errlen)
{
    char path[DOCKER__PATH_MAX];
    int rc;

    if (out)
        *out = NULL;
    if ((rc = docker__container_path(id, "/json", path, sizeof path, err, errlen)) < 0)
        return rc;
    return docker__inspect(c, path, "container", id, out, err, errlen);
}

int docker_container_list(docker_client *c, const char *label, cJSON **out, char *err,
                          size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX], *filters_text = NULL, *esc = NULL;
    cJSON *filters = NULL, *arr;
    size_t esclen;
    int rc = 0;

    memset(&r, 0, sizeof r);
    if (out)
        *out = NULL;
    if (label && *label) {
        filters = cJSON_CreateObject();
        arr = filters ? cJSON_AddArrayToObject(filters, "label") : NULL;
        if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString(label)) ||
            !(filters_text = cJSON_PrintUnformatted(filters))) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        esclen = 3 * strlen(filters_text) + 1;
        esc = malloc(esclen);
        if (!esc) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        if (docker__escape(filters_text, NULL, esc, esclen) < 0 ||
            docker__fmt(path, sizeof path, "/containers/json?all=1&filters=%s", esc) < 0) {
            rc = docker__fail(err, errlen, FLAME_EINVALID, "label filter too long");
            goto done;
        }
    } else {
        docker__fmt(path, sizeof path, "/containers/json?all=1");
    }
    if ((rc = docker__do(c, "GET", path, NULL, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "list containers");
        goto done;
    }
    if (!cJSON_IsArray(r.json)) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "list containers: Docker sent no JSON array");
        goto done;
    }
    if (out) {
        *out = r.json;
        r.json = NULL;
    }
done:
    cJSON_Delete(filters);
    cJSON_free(filters_text);
    free(esc);
    docker__response_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- logs */

static int docker__logs_out(void *ud, int stream, const char *p, size_t n)
{
    struct docker__buf *b = ud;

    (void)stream;
    return docker__buf_append(b, p, n);
}

int docker_container_logs_tail(docker_client *c, const char *id, int lines, char **out, char *err,
                               size_t errlen)
{
    struct docker__response r;
    struct docker__buf text = {0};
    struct docker_demux d;
    char suffix[96], path[DOCKER__PATH_MAX];
    const char *src;
    size_t len;
    int rc, drc;

    memset(&r, 0, sizeof r);
    *out = NULL;
    if (lines > 0)
        snprintf(suffix, sizeof suffix, "/logs?stdout=1&stderr=1&tail=%d", lines);
    else
        snprintf(suffix, sizeof suffix, "/logs?stdout=1&stderr=1&tail=all");
    if ((rc = docker__container_path(id, suffix, path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "GET", path, NULL, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "logs of container '%s'", id);
        goto done;
    }
    src = r.body.data ? r.body.data : "";
    len = r.body.len;
    docker_demux_init(&d);
    drc = docker_demux_feed(&d, src, len, docker__logs_out, &text);
    if (drc == FLAME_ENOMEM) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if (drc == 0) {
        src = text.data ? text.data : "";
        len = text.len;
    } /* else a Tty container: the body is plain text */
    if (len > DOCKER__LOGS_MAX) {
        src += len - DOCKER__LOGS_MAX;
        len = DOCKER__LOGS_MAX;
    }
    *out = malloc(len + 1);
    if (!*out) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(*out, src, len);
    (*out)[len] = '\0';
done:
    docker__buf_free(&text);
    docker__response_free(&r);
    return rc;
}
