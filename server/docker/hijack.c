/*
 * server/docker/hijack.c - a hijacked HTTP connection to Docker: the request
 * is sent, Docker answers "101 UPGRADED" (or 200 from an old daemon) and the
 * connection then carries raw bytes both ways. How flamed writes a
 * container's stdin (attach.c) and an exec's stdin (exec.c).
 *
 * libcurl speaks no hijacked HTTP, so the exchange is raw over a connection
 * libcurl opens (CURLOPT_CONNECT_ONLY, curl_easy_send/recv): the same
 * socket options as every other call, on a unix socket or over TLS, where
 * the bytes must go through libcurl's TLS session, never the bare socket.
 * Follows: Docker Engine API, "Hijacking" (ContainerAttach, ExecStart).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "docker_internal.h"

#define HIJACK__HEAD_MAX ((size_t)16 * 1024) /* response head + error body kept */
#define HIJACK__CONNECT_TIMEOUT_MS 10000L
#define HIJACK__BODY_MAX ((size_t)4096) /* a request body (exec start's JSON) */

struct docker__hijack {
    CURL *h;
    curl_socket_t fd;
    char *buf;   /* the response head, then the first raw bytes after it */
    size_t blen; /* bytes in buf */
    size_t boff; /* raw bytes of buf already handed out by docker__hijack_recv */
};

/* curl_easy_setopt inside a function with rc, err, errlen and done:. */
#define HIJACK__SETOPT(h, opt, val)                                                                \
    do {                                                                                           \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                     \
            rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl refused option %s", #opt);        \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

int docker__hijack_wait(const docker_client *c, const struct docker__hijack *hj, short events,
                        int64_t deadline_ms, const char *what, char *err, size_t errlen)
{
    for (;;) {
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0)
            return docker__fail(err, errlen, FLAME_ETIMEOUT, "timed out %s", what);
        if (docker__is_cancelled(c))
            return docker__fail(err, errlen, FLAME_ECANCELLED, "cancelled %s", what);
        struct pollfd p = {.fd = hj->fd, .events = events};
        int n = poll(&p, 1, left > 50 ? 50 : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "poll: %s", strerror(errno));
    }
}

int docker__hijack_send_some(struct docker__hijack *hj, const void *p, size_t n, size_t *sent,
                             char *err, size_t errlen)
{
    CURLcode cc;

    *sent = 0;
    cc = curl_easy_send(hj->h, p, n, sent);
    if (cc == CURLE_AGAIN) {
        *sent = 0;
        return 0;
    }
    if (cc != CURLE_OK)
        return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                            "the connection to Docker is closed (%s)", curl_easy_strerror(cc));
    return 0;
}

int docker__hijack_send(const docker_client *c, struct docker__hijack *hj, const void *data,
                        size_t n, int64_t deadline_ms, char *err, size_t errlen)
{
    const char *p = data;
    int rc;

    while (n > 0) {
        size_t sent;
        if ((rc = docker__hijack_send_some(hj, p, n, &sent, err, errlen)) < 0)
            return rc;
        if (sent == 0) {
            if ((rc = docker__hijack_wait(c, hj, POLLOUT, deadline_ms, "writing to Docker", err,
                                          errlen)) < 0)
                return rc;
            continue;
        }
        p += sent;
        n -= sent;
    }
    return 0;
}

int docker__hijack_recv(struct docker__hijack *hj, char *buf, size_t cap, size_t *got, int *eof,
                        char *err, size_t errlen)
{
    CURLcode cc;

    *got = 0;
    *eof = 0;
    if (hj->boff < hj->blen) { /* bytes that came with the response head */
        size_t n = hj->blen - hj->boff;
        if (n > cap)
            n = cap;
        memcpy(buf, hj->buf + hj->boff, n);
        hj->boff += n;
        *got = n;
        return 0;
    }
    cc = curl_easy_recv(hj->h, buf, cap, got);
    if (cc == CURLE_AGAIN) {
        *got = 0;
        return 0;
    }
    if (cc != CURLE_OK)
        return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "reading from Docker: %s",
                            curl_easy_strerror(cc));
    *eof = *got == 0;
    return 0;
}

int docker__hijack_recv_wait(const docker_client *c, struct docker__hijack *hj, char *buf,
                             size_t cap, size_t *got, int *eof, int64_t deadline_ms,
                             const char *what, char *err, size_t errlen)
{
    int rc;

    for (;;) {
        if ((rc = docker__hijack_recv(hj, buf, cap, got, eof, err, errlen)) < 0)
            return rc;
        if (*got > 0 || *eof)
            return 0;
        if ((rc = docker__hijack_wait(c, hj, POLLIN, deadline_ms, what, err, errlen)) < 0)
            return rc;
    }
}

int docker__hijack_fd(const struct docker__hijack *hj)
{
    return (int)hj->fd;
}

int docker__hijack_close_write(struct docker__hijack *hj, char *err, size_t errlen)
{
    /* What the docker CLI does, also over TLS (a TCP half-close, no
     * close_notify): Docker's copy to the process's stdin then ends. */
    if (shutdown(hj->fd, SHUT_WR) < 0)
        return docker__fail(err, errlen, FLAME_EUNAVAILABLE, "half-closing the connection: %s",
                            strerror(errno));
    return 0;
}

void docker__hijack_free(struct docker__hijack *hj)
{
    if (!hj)
        return;
    if (hj->h)
        curl_easy_cleanup(hj->h);
    free(hj->buf);
    free(hj);
}

/* The status of "HTTP/1.x NNN ...", or 0. */
static long hijack__status(const char *head)
{
    if (strncmp(head, "HTTP/1.", 7) != 0 || !head[7] || head[8] != ' ')
        return 0;
    char *end;
    long s = strtol(head + 9, &end, 10);
    return (end == head + 12 && s >= 100 && s <= 599) ? s : 0;
}

/* A refused hijack: read the error body that follows the head (bounded) and
 * map it. Docker answers a refused attach in plain text (Content-Type
 * application/vnd.docker.raw-stream, then closes); JSON is taken too. */
static int hijack__refused(const docker_client *c, struct docker__hijack *hj, long status,
                           const char *what, int64_t deadline_ms, char *err, size_t errlen)
{
    char scratch[64];
    int eof = 0, rc;

    while (!eof && hj->blen < HIJACK__HEAD_MAX) {
        size_t got = 0;
        hj->boff = hj->blen; /* only fresh bytes: append them below */
        if (docker__hijack_recv_wait(c, hj, hj->buf + hj->blen, HIJACK__HEAD_MAX - hj->blen, &got,
                                     &eof, deadline_ms, "reading Docker's error", scratch,
                                     sizeof scratch) < 0)
            break;
        hj->blen += got;
    }
    hj->buf[hj->blen] = '\0';
    char *body = strstr(hj->buf, "\r\n\r\n") + 4;
    size_t bl = strlen(body);
    while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
        body[--bl] = '\0';
    cJSON *j = cJSON_Parse(body);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const char *msg = cJSON_IsString(m) && m->valuestring ? m->valuestring : body;
    rc = docker__status_code(status, msg);
    if (rc == 0)
        rc = FLAME_ERROR;
    docker__fail(err, errlen, rc, "%s: HTTP %ld%s%.300s", what, status, msg[0] ? ": " : "", msg);
    cJSON_Delete(j);
    return rc;
}

int docker__hijack_open(docker_client *c, const char *method, const char *path_q,
                        const cJSON *body, int64_t deadline_ms, const char *what,
                        struct docker__hijack **out, char *err, size_t errlen)
{
    char url[DOCKER__PATH_MAX], req[DOCKER__PATH_MAX + 512], curl_err[CURL_ERROR_SIZE];
    char *json = NULL, *end = NULL;
    struct docker__hijack *hj = NULL;
    size_t jlen = 0;
    long status;
    CURLcode cc;
    int rc = 0, eof = 0;

    *out = NULL;
    if (body) {
        if (!(json = cJSON_PrintUnformatted(body))) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        jlen = strlen(json);
        if (jlen > HIJACK__BODY_MAX) {
            rc = docker__fail(err, errlen, FLAME_EINVALID, "%s: request body over %zu bytes", what,
                              HIJACK__BODY_MAX);
            goto done;
        }
    }
    if (docker__fmt(req, sizeof req,
                    "%s /v%s%s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: flamed/" FLAMED_VERSION
                    "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n%sContent-Length: %zu\r\n\r\n",
                    method, docker_client_api_version(c), path_q,
                    json ? "Content-Type: application/json\r\n" : "", jlen) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "%s: request path too long", what);
        goto done;
    }
    snprintf(url, sizeof url, "%s/", c->base_url);
    hj = calloc(1, sizeof *hj);
    if (!hj || !(hj->buf = malloc(HIJACK__HEAD_MAX + 1)) || !(hj->h = curl_easy_init())) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    hj->fd = CURL_SOCKET_BAD;
    if ((rc = docker__setup_conn(c, hj->h, err, errlen)) < 0) /* the unix socket, or TCP+TLS */
        goto done;
    HIJACK__SETOPT(hj->h, CURLOPT_URL, url);
    HIJACK__SETOPT(hj->h, CURLOPT_CONNECT_ONLY, 1L);
    HIJACK__SETOPT(hj->h, CURLOPT_NOSIGNAL, 1L);
    HIJACK__SETOPT(hj->h, CURLOPT_CONNECTTIMEOUT_MS, HIJACK__CONNECT_TIMEOUT_MS);
    HIJACK__SETOPT(hj->h, CURLOPT_ERRORBUFFER, curl_err);
    curl_err[0] = '\0';
    cc = curl_easy_perform(hj->h);
    if (cc != CURLE_OK) {
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE, "%s: cannot reach Docker at %s: %s",
                          what, docker_client_address(c),
                          curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto done;
    }
    /* The error buffer lives on this stack frame: later calls must not use it. */
    HIJACK__SETOPT(hj->h, CURLOPT_ERRORBUFFER, (char *)NULL);
    if (curl_easy_getinfo(hj->h, CURLINFO_ACTIVESOCKET, &hj->fd) != CURLE_OK ||
        hj->fd == CURL_SOCKET_BAD) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "%s: libcurl gave no socket", what);
        goto done;
    }
    if ((rc = docker__hijack_send(c, hj, req, strlen(req), deadline_ms, err, errlen)) < 0 ||
        (json && (rc = docker__hijack_send(c, hj, json, jlen, deadline_ms, err, errlen)) < 0))
        goto done;

    /* The response head: 101 (or 200 from an old daemon) means hijacked. */
    while (!end) {
        size_t got = 0;
        if (hj->blen == HIJACK__HEAD_MAX) {
            rc = docker__fail(err, errlen, FLAME_ERROR, "%s: response head over %zu bytes", what,
                              HIJACK__HEAD_MAX);
            goto done;
        }
        hj->boff = hj->blen;
        if ((rc = docker__hijack_recv_wait(c, hj, hj->buf + hj->blen, HIJACK__HEAD_MAX - hj->blen,
                                           &got, &eof, deadline_ms, "waiting for Docker's answer",
                                           err, errlen)) < 0)
            goto done;
        hj->blen += got;
        hj->buf[hj->blen] = '\0';
        end = strstr(hj->buf, "\r\n\r\n");
        if (!end && eof) {
            rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                              "%s: Docker closed the connection before answering", what);
            goto done;
        }
    }
    status = hijack__status(hj->buf);
    if (status != 101 && status != 200) {
        rc = hijack__refused(c, hj, status, what, deadline_ms, err, errlen);
        goto done;
    }
    /* Raw bytes that came with the head are handed out first. */
    hj->boff = (size_t)(end + 4 - hj->buf);
done:
    free(json);
    if (rc < 0)
        docker__hijack_free(hj);
    else
        *out = hj;
    return rc;
}
