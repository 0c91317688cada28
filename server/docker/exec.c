/*
 * server/docker/exec.c - running commands in a runner: exec create, the
 * streamed exec start (demultiplexed, with backpressure), exec inspect, and a
 * best-effort kill of the exec'd process through its host pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/clock.h"
#include "docker_internal.h"

#define DOCKER__CALL_TIMEOUT_MS 30000L

static int docker__exec_path(const char *exec_id, const char *suffix, char *path, size_t pathlen,
                             char *err, size_t errlen)
{
    char esc[1600];
    int rc;

    if ((rc = docker__check_name("exec id", exec_id, err, errlen)) < 0)
        return rc;
    if (docker__escape(exec_id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, pathlen, "/exec/%s%s", esc, suffix) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "exec id too long");
    return 0;
}

int docker_exec_create(docker_client *c, const char *container_id, const char *const *argv,
                       const char *const *env, const char *working_dir, const char *user,
                       char **exec_id, char *err, size_t errlen)
{
    return docker_exec_create_ex(c, container_id, argv, env, working_dir, user, 0, exec_id, err,
                                 errlen);
}

int docker_exec_create_ex(docker_client *c, const char *container_id, const char *const *argv,
                          const char *const *env, const char *working_dir, const char *user,
                          int attach_stdin, char **exec_id, char *err, size_t errlen)
{
    struct docker__response r;
    char esc[1600], path[DOCKER__PATH_MAX];
    cJSON *body = NULL;
    const cJSON *jid;
    int rc;

    memset(&r, 0, sizeof r);
    *exec_id = NULL;
    if ((rc = docker__check_name("container id", container_id, err, errlen)) < 0)
        goto done;
    if (!argv || !argv[0] || !argv[0][0]) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "exec: the command (argv) is empty");
        goto done;
    }
    if (docker__escape(container_id, NULL, esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path, "/containers/%s/exec", esc) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "container id too long");
        goto done;
    }
    body = cJSON_CreateObject();
    if (!body || !cJSON_AddBoolToObject(body, "AttachStdin", attach_stdin ? 1 : 0) ||
        !cJSON_AddTrueToObject(body, "AttachStdout") ||
        !cJSON_AddTrueToObject(body, "AttachStderr") || !cJSON_AddFalseToObject(body, "Tty") ||
        docker__add_strv(body, "Cmd", argv) < 0 || (env && docker__add_strv(body, "Env", env) < 0) ||
        (working_dir && *working_dir &&
         !cJSON_AddStringToObject(body, "WorkingDir", working_dir)) ||
        (user && *user && !cJSON_AddStringToObject(body, "User", user))) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = docker__do(c, "POST", path, body, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status == 409) {
        docker__response_error(&r, err, errlen, "exec in container '%s' (it must be running)",
                               container_id);
        rc = FLAME_EPRECONDITION;
        goto done;
    }
    if (r.status != 201) {
        rc = docker__response_error(&r, err, errlen, "exec in container '%s'", container_id);
        goto done;
    }
    jid = cJSON_GetObjectItemCaseSensitive(r.json, "Id");
    if (!cJSON_IsString(jid) || !jid->valuestring || !*jid->valuestring) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "exec in container '%s': Docker sent no Id",
                          container_id);
        goto done;
    }
    *exec_id = strdup(jid->valuestring);
    if (!*exec_id)
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
done:
    cJSON_Delete(body);
    docker__response_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- stdin */

/*
 * An exec with stdin runs over a hijacked connection (hijack.c) driven by
 * one thread, the stream's: it reads the output and writes stdin, so the
 * bytes go through libcurl's TLS session when Docker is reached over TLS.
 * The writer (another thread) hands its chunk over here and waits until the
 * stream has sent it: nothing is buffered beyond one chunk.
 */
struct docker_exec_stdin {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake_fd;      /* eventfd: a new chunk or a close wakes the stream */
    int refs;         /* the stream's and the caller's */
    const char *data; /* the writer's chunk, what the stream has not taken yet */
    size_t len;
    int busy;         /* a write is not finished: data left, or taken but unsent */
    int close_req;    /* docker_exec_stdin_close was called */
    int ended;        /* the stream ended: nothing more is sent */
    int write_failed; /* Docker closed our write side (the command exited) */
};

#define DOCKER__STDIN_POLL_MS 50
#define DOCKER__STDIN_CHUNK ((size_t)64 * 1024) /* stdin bytes the stream holds at most */

static struct docker_exec_stdin *docker__stdin_new(void)
{
    struct docker_exec_stdin *in = calloc(1, sizeof *in);

    if (!in)
        return NULL;
    in->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in->wake_fd < 0) {
        free(in);
        return NULL;
    }
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cv, NULL);
    in->refs = 2;
    return in;
}

/* Drop one reference; the last one frees. */
static void docker__stdin_unref(struct docker_exec_stdin *in)
{
    int last;

    pthread_mutex_lock(&in->mu);
    last = --in->refs == 0;
    pthread_mutex_unlock(&in->mu);
    if (!last)
        return;
    close(in->wake_fd);
    pthread_cond_destroy(&in->cv);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

static void docker__stdin_wake(struct docker_exec_stdin *in)
{
    uint64_t one = 1;
    ssize_t n = write(in->wake_fd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already set, the stream wakes anyway */
}

int docker_exec_stdin_write(docker_client *c, struct docker_exec_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen)
{
    int rc = 0;

    if (len == 0)
        return 0;
    pthread_mutex_lock(&in->mu);
    if (in->close_req) {
        pthread_mutex_unlock(&in->mu);
        return docker__fail(err, errlen, FLAME_EINVALID, "exec stdin: already closed");
    }
    in->data = data;
    in->len = len;
    in->busy = 1;
    docker__stdin_wake(in);
    while (in->busy && !in->ended && !in->write_failed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += DOCKER__STDIN_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&in->cv, &in->mu, &ts);
        if (!in->busy)
            break;
        if (should_abort && should_abort(ud))
            rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec stdin: aborted");
        else if (docker__is_cancelled(c))
            rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec stdin: the caller cancelled");
        else if (c->deadline_ms && clock_mono_ms() >= c->deadline_ms)
            rc = docker__fail(err, errlen, FLAME_ETIMEOUT,
                              "exec stdin: the deadline passed while the command did not read "
                              "its stdin");
        if (rc < 0)
            break;
    }
    if (rc == 0 && in->busy)
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "exec stdin: the connection is closed: the command exited or Docker "
                          "closed its stream");
    /* The stream never reads the caller's buffer after this returns (what it
     * took is in its own buffer). */
    in->data = NULL;
    in->len = 0;
    in->busy = 0;
    pthread_mutex_unlock(&in->mu);
    return rc;
}

void docker_exec_stdin_close(struct docker_exec_stdin *in)
{
    if (!in)
        return;
    pthread_mutex_lock(&in->mu);
    if (!in->close_req) {
        in->close_req = 1;
        docker__stdin_wake(in);
    }
    pthread_mutex_unlock(&in->mu);
}

void docker_exec_stdin_free(struct docker_exec_stdin *in)
{
    if (in)
        docker__stdin_unref(in);
}

/* ---------------------------------------------------------------- start */

struct docker__exec_run {
    const struct docker_exec_io *io;
    struct docker_demux demux;
};

static int docker__exec_out(void *ud, int stream, const char *p, size_t n)
{
    struct docker__exec_run *run = ud;

    if (run->io->on_output(run->io->ud, stream, p, n) != 0)
        return FLAME_ECANCELLED;
    return 0;
}

/* Called from libcurl's write callback: on_output may block, and while it
 * does the socket is not read, so dockerd and the process slow down. */
static int docker__exec_data(void *ud, const char *p, size_t n)
{
    struct docker__exec_run *run = ud;
    int rc = docker_demux_feed(&run->demux, p, n, docker__exec_out, run);

    if (rc == 0 && run->io->on_flush && run->io->on_flush(run->io->ud) != 0)
        rc = FLAME_ECANCELLED;
    return rc;
}

static int docker__exec_should_stop(void *ud)
{
    struct docker__exec_run *run = ud;

    return run->io->should_abort ? run->io->should_abort(run->io->ud) : 0;
}

static long docker__exec_next_poll_ms(void *ud)
{
    struct docker__exec_run *run = ud;

    return run->io->poll_ms ? run->io->poll_ms(run->io->ud) : 0;
}

static long docker__exec_hold_us(void *ud)
{
    struct docker__exec_run *run = ud;

    return run->io->hold_us ? run->io->hold_us(run->io->ud) : 0;
}

/* One round of stdin: take from the writer's chunk when our buffer is empty,
 * send what the connection takes, half-close once asked and all is sent. */
static int docker__exec_pump_stdin(struct docker_exec_stdin *in, struct docker__hijack *hj,
                                   char *tx, size_t *tx_off, size_t *tx_len, int *wr_closed,
                                   char *err, size_t errlen)
{
    int close_now = 0;

    pthread_mutex_lock(&in->mu);
    if (*tx_off == *tx_len && in->len > 0 && in->data) {
        size_t n = in->len < DOCKER__STDIN_CHUNK ? in->len : DOCKER__STDIN_CHUNK;
        memcpy(tx, in->data, n);
        in->data += n;
        in->len -= n;
        *tx_off = 0;
        *tx_len = n;
    }
    pthread_mutex_unlock(&in->mu);
    while (*tx_off < *tx_len) {
        size_t sent;
        if (docker__hijack_send_some(hj, tx + *tx_off, *tx_len - *tx_off, &sent, err, errlen) < 0) {
            /* Docker closed our write side: the command exited. Its output
             * and exit still come; the writer hears of it. */
            pthread_mutex_lock(&in->mu);
            in->write_failed = 1;
            pthread_cond_broadcast(&in->cv);
            pthread_mutex_unlock(&in->mu);
            *tx_off = *tx_len = 0;
            *wr_closed = 1;
            return 0;
        }
        if (sent == 0)
            return 0; /* full: the caller polls for POLLOUT */
        *tx_off += sent;
    }
    pthread_mutex_lock(&in->mu);
    if (in->len == 0 && in->busy) {
        in->busy = 0;
        pthread_cond_broadcast(&in->cv);
    }
    close_now = in->close_req && in->len == 0 && !*wr_closed;
    pthread_mutex_unlock(&in->mu);
    if (close_now) {
        *wr_closed = 1;
        if (docker__hijack_close_write(hj, err, errlen) < 0) {
            pthread_mutex_lock(&in->mu);
            in->write_failed = 1;
            pthread_cond_broadcast(&in->cv);
            pthread_mutex_unlock(&in->mu);
        }
    }
    return 0;
}

/*
 * An exec with stdin: POST /exec/{id}/start hijacked (hijack.c), then one
 * loop reads and demultiplexes the output (with on_output's backpressure,
 * on_flush, poll_ms and hold_us as the libcurl stream has them) and writes
 * the stdin the writer hands over, until Docker closes the connection.
 */
static int docker__exec_start_stdin(docker_client *c, const char *exec_id, const char *path,
                                    const cJSON *body, struct docker__exec_run *run, char *err,
                                    size_t errlen)
{
    struct docker__hijack *hj = NULL;
    struct docker_exec_stdin *in = NULL;
    char what[64], *rx = NULL, *tx = NULL;
    size_t tx_off = 0, tx_len = 0;
    int64_t head_deadline;
    long bounded;
    int rc, eof = 0, wr_closed = 0;

    if ((rc = docker__bound_timeout(c, DOCKER__CALL_TIMEOUT_MS, "POST", "/exec/{id}/start",
                                    &bounded, err, errlen)) < 0)
        return rc;
    head_deadline = clock_mono_ms() + (bounded > 0 ? bounded : DOCKER__CALL_TIMEOUT_MS);
    rx = malloc(DOCKER_EXEC_READ_BYTES);
    tx = malloc(DOCKER__STDIN_CHUNK);
    in = docker__stdin_new();
    if (!rx || !tx || !in) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(what, sizeof what, "start exec %.12s", exec_id);
    if ((rc = docker__hijack_open(c, "POST", path, body, head_deadline, what, &hj, err, errlen)) <
        0) {
        if (rc == FLAME_ECONFLICT)
            rc = FLAME_EPRECONDITION;
        goto done;
    }
    run->io->on_stdin(run->io->ud, in); /* the caller's reference from now on */

    for (;;) {
        int got_any = 0;
        for (;;) { /* read all there is (the TLS session may hold some) */
            size_t got;
            if ((rc = docker__hijack_recv(hj, rx, DOCKER_EXEC_READ_BYTES, &got, &eof, err,
                                          errlen)) < 0)
                goto done;
            if (got == 0)
                break;
            got_any = 1;
            if ((rc = docker_demux_feed(&run->demux, rx, got, docker__exec_out, run)) != 0)
                goto mapped;
        }
        if (got_any && run->io->on_flush && run->io->on_flush(run->io->ud) != 0) {
            rc = FLAME_ECANCELLED;
            goto mapped;
        }
        if (eof)
            break;
        if (!wr_closed && (rc = docker__exec_pump_stdin(in, hj, tx, &tx_off, &tx_len, &wr_closed,
                                                        err, errlen)) < 0)
            goto done;
        if (run->io->should_abort && run->io->should_abort(run->io->ud)) {
            rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: stream aborted",
                              exec_id);
            goto done;
        }
        long wait_ms = 0;
        enum docker__pace pace = docker__stream_pace(c, run->io->hold_us, run->io->poll_ms,
                                                     run->io->ud, DOCKER__STDIN_POLL_MS, &wait_ms);
        if (pace == DOCKER__PACE_CANCELLED) {
            rc = FLAME_ECANCELLED;
            goto mapped;
        }
        if (pace == DOCKER__PACE_DEADLINE) {
            rc = docker__fail(err, errlen, FLAME_ETIMEOUT,
                              "the deadline passed while streaming exec %.12s from Docker",
                              exec_id);
            goto done;
        }
        if (pace == DOCKER__PACE_AGAIN)
            continue;
        struct pollfd pfd[2] = {
            {.fd = docker__hijack_fd(hj),
             .events = (short)(POLLIN | (tx_off < tx_len && !wr_closed ? POLLOUT : 0))},
            {.fd = in->wake_fd, .events = POLLIN},
        };
        int pr = poll(pfd, 2, (int)wait_ms);
        if (pr < 0 && errno != EINTR) {
            rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE, "exec %.12s: poll: %s", exec_id,
                              strerror(errno));
            goto done;
        }
        if (pr > 0 && (pfd[1].revents & POLLIN)) {
            uint64_t v;
            ssize_t n = read(in->wake_fd, &v, sizeof v);
            (void)n;
        }
    }
    if (run->demux.remaining > 0 || run->demux.hdr_have > 0)
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "exec %.12s: Docker closed the output stream inside a frame", exec_id);
    goto done;
mapped:
    if (rc == FLAME_ECANCELLED && docker__is_cancelled(c))
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: the caller cancelled",
                          exec_id);
    else if (rc == FLAME_ECANCELLED)
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: output consumer aborted",
                          exec_id);
    else if (rc == FLAME_EINVALID)
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "exec %.12s: malformed stream frame header from Docker", exec_id);
done:
    if (in) {
        pthread_mutex_lock(&in->mu);
        in->ended = 1;
        pthread_cond_broadcast(&in->cv);
        pthread_mutex_unlock(&in->mu);
        if (!hj) /* on_stdin was not called: the caller's reference is ours too */
            docker__stdin_unref(in);
        docker__stdin_unref(in);
    }
    docker__hijack_free(hj);
    free(rx);
    free(tx);
    return rc;
}

int docker__exec_start_ex(docker_client *c, const char *exec_id, const struct docker_exec_io *io,
                          int upgrade, long *status, char *err, size_t errlen)
{
    static const char *const upgrade_headers[] = {"Connection: Upgrade", "Upgrade: tcp", NULL};
    struct docker__exec_run run;
    struct docker__stream s;
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    cJSON *body = NULL;
    int rc, stopped = 0;

    memset(&r, 0, sizeof r);
    memset(&run, 0, sizeof run);
    if (status)
        *status = 0;
    if (!io || !io->on_output) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "exec start: on_output is required");
        goto done;
    }
    run.io = io;
    docker_demux_init(&run.demux);
    if ((rc = docker__exec_path(exec_id, "/start", path, sizeof path, err, errlen)) < 0)
        goto done;
    body = cJSON_CreateObject();
    if (!body || !cJSON_AddFalseToObject(body, "Detach") || !cJSON_AddFalseToObject(body, "Tty")) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    if (io->on_stdin) {
        rc = docker__exec_start_stdin(c, exec_id, path, body, &run, err, errlen);
        if (status)
            *status = rc == 0 ? 101 : 0;
        goto done;
    }
    memset(&s, 0, sizeof s);
    s.method = "POST";
    s.path = path;
    s.body = body;
    s.headers = upgrade ? upgrade_headers : NULL;
    s.poll_ms = 50;
    s.buffer_size = (long)DOCKER_EXEC_READ_BYTES;
    s.on_data = docker__exec_data;
    s.should_stop = docker__exec_should_stop;
    s.next_poll_ms = docker__exec_next_poll_ms;
    s.hold_us = docker__exec_hold_us;
    s.ud = &run;
    rc = docker__stream_run(c, &s, &r, &stopped, err, errlen);
    if (status)
        *status = r.status;
    if (rc == FLAME_ECANCELLED && docker__is_cancelled(c)) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: the caller cancelled",
                          exec_id);
        goto done;
    }
    if (rc == FLAME_ECANCELLED) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: output consumer aborted",
                          exec_id);
        goto done;
    }
    if (rc == FLAME_EINVALID) {
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "exec %.12s: malformed stream frame header from Docker", exec_id);
        goto done;
    }
    if (rc < 0)
        goto done;
    if (stopped) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "exec %.12s: stream aborted", exec_id);
        goto done;
    }
    if (r.status != 200 && r.status != 101) {
        rc = docker__response_error(&r, err, errlen, "start exec %.12s", exec_id);
        if (r.status == 409)
            rc = FLAME_EPRECONDITION;
        goto done;
    }
    if (run.demux.remaining > 0 || run.demux.hdr_have > 0)
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "exec %.12s: Docker closed the output stream inside a frame", exec_id);
done:
    cJSON_Delete(body);
    docker__response_free(&r);
    return rc;
}

int docker_exec_start(docker_client *c, const char *exec_id, const struct docker_exec_io *io,
                      char *err, size_t errlen)
{
    /* Without "Upgrade: tcp" dockerd answers 200 and streams the same raw
     * frames on the same socket; no 101 handling needed from libcurl. */
    return docker__exec_start_ex(c, exec_id, io, 0, NULL, err, errlen);
}

/* ---------------------------------------------------------------- inspect */

struct docker__exec_info {
    int exit_code; /* -1 while running */
    int running;
    long pid;
    char container_id[80];
};

static int docker__exec_info_get(docker_client *c, const char *exec_id,
                                 struct docker__exec_info *info, char *err, size_t errlen)
{
    struct docker__response r;
    char path[DOCKER__PATH_MAX];
    const cJSON *v;
    int rc;

    memset(&r, 0, sizeof r);
    memset(info, 0, sizeof *info);
    info->exit_code = -1;
    if ((rc = docker__exec_path(exec_id, "/json", path, sizeof path, err, errlen)) < 0)
        goto done;
    if ((rc = docker__do(c, "GET", path, NULL, DOCKER__CALL_TIMEOUT_MS, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "inspect exec %.12s", exec_id);
        goto done;
    }
    if (!cJSON_IsObject(r.json)) {
        rc = docker__fail(err, errlen, FLAME_ERROR,
                          "inspect exec %.12s: Docker sent no JSON object", exec_id);
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(r.json, "ExitCode");
    if (cJSON_IsNumber(v))
        info->exit_code = v->valueint;
    info->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "Running"));
    v = cJSON_GetObjectItemCaseSensitive(r.json, "Pid");
    if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 4194305.0)
        info->pid = (long)v->valuedouble;
    if (info->running)
        info->exit_code = -1;
    docker__copy_string(info->container_id, sizeof info->container_id, r.json, "ContainerID");
done:
    docker__response_free(&r);
    return rc;
}

int docker_exec_inspect(docker_client *c, const char *exec_id, int *exit_code, int *running,
                        long *pid, char *err, size_t errlen)
{
    struct docker__exec_info info;
    int rc;

    if ((rc = docker__exec_info_get(c, exec_id, &info, err, errlen)) < 0)
        return rc;
    if (exit_code)
        *exit_code = info.exit_code;
    if (running)
        *running = info.running;
    if (pid)
        *pid = info.pid;
    return 0;
}

/* ---------------------------------------------------------------- kill */

/* A pidfd pins the process: the cgroup check and the signal then refer to
 * the same process even if the pid is reused in between. -1 when the kernel
 * has no pidfd (we fall back to kill(2)) or the pid does not exist. */
static int docker__pidfd_open(long pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int docker__pidfd_signal(int pidfd, long pid, int signo)
{
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
#else
    (void)pidfd;
#endif
    return kill((pid_t)pid, signo);
}

/* 1 when /proc/PID/cgroup names the container, 0 when not, -1 when unreadable. */
static int docker__pid_in_container(long pid, const char *container_id)
{
    char path[64], buf[8192];
    size_t n;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, container_id) != NULL;
}

int docker_exec_kill(docker_client *c, const char *exec_id, const char *container_id, int signo,
                     char *err, size_t errlen)
{
    struct docker__exec_info info, again;
    cJSON *cinspect = NULL;
    const cJSON *cid;
    int rc, pidfd = -1, in;

    if ((rc = docker__check_name("container id", container_id, err, errlen)) < 0)
        goto done;
    if (c->ep->tcp) {
        /* The exec's pid is a pid on Docker's host: never one of ours to signal. */
        rc = docker__fail(err, errlen, FLAME_EUNIMPLEMENTED,
                          "cannot signal exec %.12s: flamed reaches Docker at %s over TCP, and "
                          "its processes live on that host",
                          exec_id, c->ep->address);
        goto done;
    }
    rc = docker__exec_info_get(c, exec_id, &info, err, errlen);
    if (rc == FLAME_ENOTFOUND) {
        rc = 0; /* the exec is gone with its container */
        goto done;
    }
    if (rc < 0)
        goto done;
    if (!info.running || info.pid <= 0)
        goto done; /* already exited */
    if (strlen(info.container_id) < 12) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "inspect exec %.12s: no ContainerID", exec_id);
        goto done;
    }
    if (strncmp(info.container_id, container_id, strlen(container_id)) != 0) {
        /* Maybe a name: resolve it before refusing. */
        if ((rc = docker_container_inspect(c, container_id, &cinspect, err, errlen)) < 0)
            goto done;
        cid = cJSON_GetObjectItemCaseSensitive(cinspect, "Id");
        if (!cJSON_IsString(cid) || !cid->valuestring ||
            strcmp(cid->valuestring, info.container_id) != 0) {
            rc = docker__fail(err, errlen, FLAME_EINVALID,
                              "exec %.12s belongs to container %.12s, not '%s'", exec_id,
                              info.container_id, container_id);
            goto done;
        }
    }

    pidfd = docker__pidfd_open(info.pid);
    in = (pidfd >= 0 || errno == ENOSYS) ? docker__pid_in_container(info.pid, info.container_id)
                                         : -1;
    if (in != 1) {
        /* Gone meanwhile, or a pid from another pid namespace: ask again. */
        if ((rc = docker__exec_info_get(c, exec_id, &again, err, errlen)) < 0) {
            if (rc == FLAME_ENOTFOUND)
                rc = 0;
            goto done;
        }
        if (!again.running)
            goto done;
        rc = docker__fail(err, errlen, FLAME_EUNIMPLEMENTED,
                          "cannot signal exec %.12s: its host pid %ld is not visible from flamed "
                          "(run flamed in the host pid namespace, e.g. `--pid=host`)",
                          exec_id, info.pid);
        goto done;
    }
    if (docker__pidfd_signal(pidfd, info.pid, signo) != 0) {
        if (errno == ESRCH)
            goto done; /* exited meanwhile */
        if (errno == EPERM) {
            rc = docker__fail(err, errlen, FLAME_EPERM,
                              "not permitted to signal pid %ld of exec %.12s (flamed needs the "
                              "same user or CAP_KILL)",
                              info.pid, exec_id);
            goto done;
        }
        rc = docker__fail(err, errlen, FLAME_ERROR, "signal pid %ld of exec %.12s: %s", info.pid,
                          exec_id, strerror(errno));
        goto done;
    }
done:
    if (pidfd >= 0)
        close(pidfd);
    cJSON_Delete(cinspect);
    return rc;
}
