/*
 * server/docker/events.c - the container events stream, one JSON object per
 * line, delivered to a callback on the calling thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

/* on_data's "stop, not an error" code (positive so it never meets FLAME_E*). */
#define DOCKER__EVENTS_STOP 1

struct docker__events_run {
    const struct docker_events_io *io;
    struct docker_lines lines;
    int stopped_by_callback;
};

static int docker__events_line(void *ud, char *s, size_t n)
{
    struct docker__events_run *run = ud;
    cJSON *ev;
    int rc;

    if (n == 0)
        return 0;
    ev = cJSON_ParseWithLength(s, n);
    if (!ev)
        return 0; /* not JSON: nothing a caller could act on */
    rc = run->io->on_event ? run->io->on_event(run->io->ud, ev) : 0;
    cJSON_Delete(ev);
    if (rc) {
        run->stopped_by_callback = 1;
        return DOCKER__EVENTS_STOP;
    }
    return 0;
}

static int docker__events_data(void *ud, const char *p, size_t n)
{
    struct docker__events_run *run = ud;

    return docker_lines_feed(&run->lines, p, n, docker__events_line, run);
}

static void docker__events_open(void *ud, long status)
{
    struct docker__events_run *run = ud;

    if (status == 200 && run->io->on_open)
        run->io->on_open(run->io->ud);
}

static int docker__events_should_stop(void *ud)
{
    struct docker__events_run *run = ud;

    return run->io->should_stop ? run->io->should_stop(run->io->ud) : 0;
}

/* "/events?filters=...&since=S.N" */
static int docker__events_path(const char *label, int64_t since_nano, char *path, size_t pathlen,
                               char *err, size_t errlen)
{
    cJSON *filters = NULL, *arr;
    char *text = NULL, esc[2048], since[48];
    int rc = 0;

    filters = cJSON_CreateObject();
    arr = filters ? cJSON_AddArrayToObject(filters, "type") : NULL;
    if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString("container"))) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if (label && *label) {
        arr = cJSON_AddArrayToObject(filters, "label");
        if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString(label))) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
    }
    text = cJSON_PrintUnformatted(filters);
    if (!text) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if (docker__escape(text, NULL, esc, sizeof esc) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "events label filter too long");
        goto done;
    }
    since[0] = '\0';
    if (since_nano > 0)
        snprintf(since, sizeof since, "&since=%lld.%09lld", (long long)(since_nano / 1000000000),
                 (long long)(since_nano % 1000000000));
    if (docker__fmt(path, pathlen, "/events?filters=%s%s", esc, since) < 0)
        rc = docker__fail(err, errlen, FLAME_EINVALID, "events label filter too long");
done:
    cJSON_free(text);
    cJSON_Delete(filters);
    return rc;
}

int docker_events_stream(docker_client *c, const char *label, int64_t since_nano,
                         const struct docker_events_io *io, char *err, size_t errlen)
{
    struct docker__events_run run;
    struct docker__stream s;
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    int rc, stopped = 0;

    memset(&r, 0, sizeof r);
    memset(&run, 0, sizeof run);
    run.io = io;
    docker_lines_init(&run.lines, 0);
    if (!io || !io->on_event) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "events: on_event is required");
        goto done;
    }
    if ((rc = docker__events_path(label, since_nano, path, sizeof path, err, errlen)) < 0)
        goto done;
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.path = path;
    s.poll_ms = 100;
    s.on_open = docker__events_open;
    s.on_data = docker__events_data;
    s.should_stop = docker__events_should_stop;
    s.ud = &run;
    rc = docker__stream_run(c, &s, &r, &stopped, err, errlen);
    if (rc == DOCKER__EVENTS_STOP || stopped) {
        rc = 0;
        goto done;
    }
    if (rc == FLAME_EINVALID) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "events: a line from Docker exceeds %zu bytes",
                          run.lines.max);
        goto done;
    }
    if (rc < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "events stream");
        goto done;
    }
    rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                      "Docker at %s closed the events stream (daemon restarting?)",
                      docker_client_address(c));
done:
    docker_lines_free(&run.lines);
    docker__response_free(&r);
    return rc;
}
