/*
 * server/docker/logs.c - a container's logs, streamed and demultiplexed, with
 * the same backpressure as exec start (the socket is not read while the
 * consumer blocks).
 * Follows: Docker Engine API ContainerLogs (GET /containers/{id}/logs); a
 * container without a TTY answers in the multiplexed 8-byte-header format.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "docker_internal.h"

struct docker__logs_run {
    const struct docker_exec_io *io;
    struct docker_demux demux;
};

static int docker__logs_out(void *ud, int stream, const char *p, size_t n)
{
    struct docker__logs_run *run = ud;

    if (stream != 1 && stream != 2)
        return 0; /* stdin frames carry nothing for logs */
    return run->io->on_output(run->io->ud, stream, p, n) != 0 ? FLAME_ECANCELLED : 0;
}

static int docker__logs_data(void *ud, const char *p, size_t n)
{
    struct docker__logs_run *run = ud;
    int rc = docker_demux_feed(&run->demux, p, n, docker__logs_out, run);

    if (rc == 0 && run->io->on_flush && run->io->on_flush(run->io->ud) != 0)
        rc = FLAME_ECANCELLED;
    return rc;
}

static int docker__logs_should_stop(void *ud)
{
    struct docker__logs_run *run = ud;

    return run->io->should_abort ? run->io->should_abort(run->io->ud) : 0;
}

static long docker__logs_next_poll_ms(void *ud)
{
    struct docker__logs_run *run = ud;

    return run->io->poll_ms ? run->io->poll_ms(run->io->ud) : 0;
}

static long docker__logs_hold_us(void *ud)
{
    struct docker__logs_run *run = ud;

    return run->io->hold_us ? run->io->hold_us(run->io->ud) : 0;
}

int docker_container_logs(docker_client *c, const char *container_id,
                          const struct docker_logs_opts *opts, const struct docker_exec_io *io,
                          char *err, size_t errlen)
{
    struct docker__logs_run run;
    struct docker__stream s;
    struct docker__response r;
    char esc[1600], path[DOCKER__PATH_MAX], tail[32], since[64];
    int rc, stopped = 0;

    memset(&r, 0, sizeof r);
    memset(&run, 0, sizeof run);
    if (!io || !io->on_output || !opts) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "logs: on_output and opts are required");
        goto done;
    }
    if ((rc = docker__check_name("container id", container_id, err, errlen)) < 0)
        goto done;
    if (opts->tail_lines)
        snprintf(tail, sizeof tail, "%" PRIu32, opts->tail_lines);
    else
        snprintf(tail, sizeof tail, "all");
    /* Docker's since: seconds since the epoch with an optional .fraction (ns). */
    if (opts->since_unix_nano > 0)
        snprintf(since, sizeof since, "%" PRId64 ".%09" PRId64, opts->since_unix_nano / 1000000000,
                 opts->since_unix_nano % 1000000000);
    else
        snprintf(since, sizeof since, "0");
    if (docker__escape(container_id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path,
                    "/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&tail=%s&since=%s",
                    esc, opts->follow ? 1 : 0, opts->timestamps ? 1 : 0, tail, since) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "container id too long");
        goto done;
    }
    run.io = io;
    docker_demux_init(&run.demux);
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.path = path;
    s.poll_ms = 50;
    s.buffer_size = (long)DOCKER_EXEC_READ_BYTES;
    s.on_data = docker__logs_data;
    s.should_stop = docker__logs_should_stop;
    s.next_poll_ms = docker__logs_next_poll_ms;
    s.hold_us = docker__logs_hold_us;
    s.ud = &run;
    rc = docker__stream_run(c, &s, &r, &stopped, err, errlen);
    if (rc == FLAME_ECANCELLED && docker__is_cancelled(c)) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "logs of %.12s: the caller cancelled",
                          container_id);
        goto done;
    }
    if (rc == FLAME_ECANCELLED) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "logs of %.12s: consumer aborted",
                          container_id);
        goto done;
    }
    if (rc == FLAME_EINVALID) {
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "logs of %.12s: malformed stream frame header from Docker", container_id);
        goto done;
    }
    if (rc < 0)
        goto done;
    if (stopped) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "logs of %.12s: stream aborted",
                          container_id);
        goto done;
    }
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "logs of container '%s'", container_id);
        goto done;
    }
    if (run.demux.remaining > 0 || run.demux.hdr_have > 0)
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "logs of %.12s: Docker closed the stream inside a frame", container_id);
done:
    docker__response_free(&r);
    return rc;
}
