/*
 * server/docker/attach.c - write to a running container's stdin through a
 * hijacked attach (hijack.c): how flamed delivers a warm runner's per-Boot
 * env to flamed-init (docs/warm.md says why this channel).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "docker_internal.h"

int docker_container_stdin_write(docker_client *c, const char *id, const void *data, size_t len,
                                 long timeout_ms, char *err, size_t errlen)
{
    char esc[1600], path[DOCKER__PATH_MAX], what[128], buf[4096];
    struct docker__hijack *hj = NULL;
    long bounded;
    int64_t deadline_ms;
    int rc, eof = 0;

    if ((rc = docker__check_name("container id", id, err, errlen)) < 0)
        return rc;
    if ((rc = docker__bound_timeout(c, timeout_ms, "POST", "/containers/{id}/attach", &bounded,
                                    err, errlen)) < 0)
        return rc;
    deadline_ms = clock_mono_ms() + (bounded > 0 ? bounded : 30000L);
    if (docker__escape(id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path, "/containers/%s/attach?stream=1&stdin=1", esc) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "container id too long");
    snprintf(what, sizeof what, "attach to container '%.64s'", id);
    if ((rc = docker__hijack_open(c, "POST", path, NULL, deadline_ms, what, &hj, err, errlen)) < 0)
        return rc;
    if ((rc = docker__hijack_send(c, hj, data, len, deadline_ms, err, errlen)) < 0)
        goto done;
    /*
     * Half-close and wait for Docker to close: it does once it has copied all
     * of our stdin to the container (the attach ends at stdin's EOF when no
     * output stream is attached), so a 0 return means delivered, not only
     * sent. Anything Docker sends meanwhile is discarded.
     */
    if ((rc = docker__hijack_close_write(hj, err, errlen)) < 0)
        goto done;
    while (!eof) {
        size_t got;
        if ((rc = docker__hijack_recv_wait(c, hj, buf, sizeof buf, &got, &eof, deadline_ms,
                                           "waiting for Docker to take stdin", err, errlen)) < 0)
            goto done;
    }
done:
    docker__hijack_free(hj);
    return rc;
}
