/*
 * server/docker/attach.c - write to a running container's stdin through a
 * hijacked attach: how flamed delivers a warm runner's per-Boot env to
 * flamed-init (docs/warm.md says why this channel).
 *
 * libcurl speaks no hijacked HTTP, so the exchange is raw over a connection
 * libcurl opens (CURLOPT_CONNECT_ONLY, curl_easy_send/recv): the same socket
 * options as every other call, and the way to TLS later.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "docker_internal.h"

#define ATTACH__HEAD_MAX ((size_t)16 * 1024) /* response head + error body kept */
#define ATTACH__CONNECT_TIMEOUT_MS 10000L

/* curl_easy_setopt inside a function with rc, err, errlen and done:. */
#define ATTACH__SETOPT(h, opt, val)                                                                \
    do {                                                                                           \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                     \
            rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl refused option %s", #opt);        \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/*
 * Wait until fd is ready for `events`, the deadline (monotonic ms) passes or
 * the client's view is cancelled (checked every 50 ms).
 */
static int attach__wait(const docker_client *c, curl_socket_t fd, short events,
                        int64_t deadline_ms, const char *what, char *err, size_t errlen)
{
    for (;;) {
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0)
            return docker__fail(err, errlen, FLAME_ETIMEOUT, "attach: timed out %s", what);
        if (docker__is_cancelled(c))
            return docker__fail(err, errlen, FLAME_ECANCELLED, "attach: cancelled %s", what);
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 50 ? 50 : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "attach: poll: %s",
                                strerror(errno));
    }
}

static int attach__send(const docker_client *c, CURL *h, curl_socket_t fd, const char *p,
                        size_t n, int64_t deadline_ms, char *err, size_t errlen)
{
    int rc;
    while (n > 0) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(h, p, n, &sent);
        if (cc == CURLE_AGAIN) {
            if ((rc = attach__wait(c, fd, POLLOUT, deadline_ms, "writing", err, errlen)) < 0)
                return rc;
            continue;
        }
        if (cc != CURLE_OK)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "attach: send: %s",
                                curl_easy_strerror(cc));
        p += sent;
        n -= sent;
    }
    return 0;
}

/* One recv into buf[*len..cap): 0 with *eof set at EOF, or an error. */
static int attach__recv(const docker_client *c, CURL *h, curl_socket_t fd, char *buf,
                        size_t *len, size_t cap, int *eof, int64_t deadline_ms, const char *what,
                        char *err, size_t errlen)
{
    int rc;
    *eof = 0;
    for (;;) {
        size_t got = 0;
        CURLcode cc = curl_easy_recv(h, buf + *len, cap - *len, &got);
        if (cc == CURLE_AGAIN) {
            if ((rc = attach__wait(c, fd, POLLIN, deadline_ms, what, err, errlen)) < 0)
                return rc;
            continue;
        }
        if (cc != CURLE_OK)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "attach: recv: %s",
                                curl_easy_strerror(cc));
        *eof = got == 0;
        *len += got;
        return 0;
    }
}

/* The status of "HTTP/1.x NNN ...", or 0. */
static long attach__status(const char *head)
{
    if (strncmp(head, "HTTP/1.", 7) != 0 || !head[7] || head[8] != ' ')
        return 0;
    char *end;
    long s = strtol(head + 9, &end, 10);
    return (end == head + 12 && s >= 100 && s <= 599) ? s : 0;
}

int docker_container_stdin_write(docker_client *c, const char *id, const void *data, size_t len,
                                 long timeout_ms, char *err, size_t errlen)
{
    char esc[1600], url[DOCKER__PATH_MAX], req[DOCKER__PATH_MAX + 512], curl_err[CURL_ERROR_SIZE];
    char *buf = NULL;
    size_t blen = 0;
    CURL *h = NULL;
    curl_socket_t fd = CURL_SOCKET_BAD;
    long bounded, status;
    int64_t deadline_ms;
    char *end = NULL;
    CURLcode cc;
    int rc = 0, eof = 0;

    if ((rc = docker__check_name("container id", id, err, errlen)) < 0)
        goto done;
    if ((rc = docker__bound_timeout(c, timeout_ms, "POST", "/containers/{id}/attach", &bounded,
                                    err, errlen)) < 0)
        goto done;
    deadline_ms = clock_mono_ms() + (bounded > 0 ? bounded : 30000L);
    if (docker__escape(id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(req, sizeof req,
                    "POST /v%s/containers/%s/attach?stream=1&stdin=1 HTTP/1.1\r\n"
                    "Host: localhost\r\nUser-Agent: flamed/" FLAMED_VERSION "\r\n"
                    "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n",
                    docker_client_api_version(c), esc) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "container id too long");
        goto done;
    }
    snprintf(url, sizeof url, "%s/", c->base_url);
    if (!(h = curl_easy_init()) || !(buf = malloc(ATTACH__HEAD_MAX + 1))) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = docker__setup_conn(c, h, err, errlen)) < 0) /* the unix socket, or TCP+TLS */
        goto done;
    ATTACH__SETOPT(h, CURLOPT_URL, url);
    ATTACH__SETOPT(h, CURLOPT_CONNECT_ONLY, 1L);
    ATTACH__SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    ATTACH__SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, ATTACH__CONNECT_TIMEOUT_MS);
    ATTACH__SETOPT(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_err[0] = '\0';
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE, "attach: cannot reach Docker at %s: %s",
                          docker_client_address(c),
                          curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto done;
    }
    if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "attach: libcurl gave no socket");
        goto done;
    }
    if ((rc = attach__send(c, h, fd, req, strlen(req), deadline_ms, err, errlen)) < 0)
        goto done;

    /* The response head: 101 (or 200 from an old daemon) means hijacked. */
    while (!end) {
        if (blen == ATTACH__HEAD_MAX) {
            rc = docker__fail(err, errlen, FLAME_ERROR, "attach: response head over %zu bytes",
                              ATTACH__HEAD_MAX);
            goto done;
        }
        if ((rc = attach__recv(c, h, fd, buf, &blen, ATTACH__HEAD_MAX, &eof, deadline_ms,
                               "waiting for Docker's answer", err, errlen)) < 0)
            goto done;
        buf[blen] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end && eof) {
            rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                              "attach: Docker closed the connection before answering");
            goto done;
        }
    }
    status = attach__status(buf);
    if (status != 101 && status != 200) {
        /* An error: {"message": ...} follows the head (read what came, bounded). */
        while (!eof && blen < ATTACH__HEAD_MAX &&
               attach__recv(c, h, fd, buf, &blen, ATTACH__HEAD_MAX, &eof, deadline_ms,
                            "reading Docker's error", err, errlen) == 0)
            buf[blen] = '\0';
        buf[blen] = '\0';
        /* Docker answers a refused attach in plain text (Content-Type
         * application/vnd.docker.raw-stream, then closes); JSON is taken too. */
        char *body = strstr(buf, "\r\n\r\n") + 4;
        size_t bl = strlen(body);
        while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
            body[--bl] = '\0';
        cJSON *j = cJSON_Parse(body);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        const char *msg = cJSON_IsString(m) && m->valuestring ? m->valuestring : body;
        rc = docker__status_code(status, msg);
        if (rc == 0)
            rc = FLAME_ERROR;
        docker__fail(err, errlen, rc, "attach to container '%.64s': HTTP %ld%s%.300s", id, status,
                     msg[0] ? ": " : "", msg);
        cJSON_Delete(j);
        goto done;
    }
    if ((rc = attach__send(c, h, fd, data, len, deadline_ms, err, errlen)) < 0)
        goto done;
    /*
     * Half-close and wait for Docker to close: it does once it has copied all
     * of our stdin to the container (the attach ends at stdin's EOF when no
     * output stream is attached), so a 0 return means delivered, not only
     * sent. Anything Docker sends meanwhile is discarded.
     */
    if (shutdown(fd, SHUT_WR) < 0) {
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE, "attach: shutdown: %s", strerror(errno));
        goto done;
    }
    while (!eof) {
        blen = 0;
        if ((rc = attach__recv(c, h, fd, buf, &blen, ATTACH__HEAD_MAX, &eof, deadline_ms,
                               "waiting for Docker to take stdin", err, errlen)) < 0)
            goto done;
    }
done:
    if (h)
        curl_easy_cleanup(h);
    free(buf);
    return rc;
}
