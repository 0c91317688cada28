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
#include <sys/socket.h>
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
    if (attach_stdin && c->ep->tls) {
        /* stdin is written on the exec's raw socket (docker__exec_socket), which
         * under TLS carries TLS records, not our bytes. */
        rc = docker__fail(err, errlen, FLAME_EUNIMPLEMENTED,
                          "exec stdin: flamed reaches Docker at %s over TLS, where stdin for a "
                          "command is not supported yet; use Spawn (no stdin) or a local engine",
                          c->ep->address);
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

/* A dup() of the start connection's socket: the stream's libcurl handle
 * closes its own descriptor when the stream ends, so the writer never
 * writes to a descriptor number that was closed and reused meanwhile.
 * shutdown() acts on the socket, so a half-close here is the connection's. */
struct docker_exec_stdin {
    int fd;
    int closed;
};

#define DOCKER__STDIN_POLL_MS 50

int docker_exec_stdin_write(docker_client *c, struct docker_exec_stdin *in, const void *data,
                            size_t len, int (*should_abort)(void *ud), void *ud, char *err,
                            size_t errlen)
{
    const char *p = data;

    if (in->closed)
        return docker__fail(err, errlen, FLAME_EINVALID, "exec stdin: already closed");
    while (len > 0) {
        /* The socket is non-blocking (libcurl's): write what fits, then wait. */
        ssize_t n = send(in->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                                "exec stdin: the connection is closed (%s): the command exited "
                                "or Docker closed its stream",
                                strerror(errno));
        for (;;) {
            if (should_abort && should_abort(ud))
                return docker__fail(err, errlen, FLAME_ECANCELLED, "exec stdin: aborted");
            if (docker__is_cancelled(c))
                return docker__fail(err, errlen, FLAME_ECANCELLED,
                                    "exec stdin: the caller cancelled");
            if (c->deadline_ms && clock_mono_ms() >= c->deadline_ms)
                return docker__fail(err, errlen, FLAME_ETIMEOUT,
                                    "exec stdin: the deadline passed while the command did not "
                                    "read its stdin");
            struct pollfd pfd = {.fd = in->fd, .events = POLLOUT};
            int pr = poll(&pfd, 1, DOCKER__STDIN_POLL_MS);
            if (pr > 0 || (pr < 0 && errno != EINTR))
                break; /* writable, or an error the next send() reports */
        }
    }
    return 0;
}

void docker_exec_stdin_close(struct docker_exec_stdin *in)
{
    if (!in || in->closed)
        return;
    in->closed = 1;
    shutdown(in->fd, SHUT_WR);
}

void docker_exec_stdin_free(struct docker_exec_stdin *in)
{
    if (!in)
        return;
    close(in->fd);
    free(in);
}

/* ---------------------------------------------------------------- start */

struct docker__exec_run {
    const struct docker_exec_io *io;
    struct docker_demux demux;
};

/* The stream is open: hand its stdin to the caller (a dup of the socket). */
static void docker__exec_socket(void *ud, int fd)
{
    struct docker__exec_run *run = ud;
    struct docker_exec_stdin *in;
    int dfd;

    if (!run->io->on_stdin)
        return;
    in = calloc(1, sizeof *in);
    dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (!in || dfd < 0) {
        /* The command reads EOF at once rather than waiting for input that
         * cannot be delivered; the caller sees no on_stdin and drops its input. */
        free(in);
        if (dfd >= 0)
            close(dfd);
        shutdown(fd, SHUT_WR);
        return;
    }
    in->fd = dfd;
    run->io->on_stdin(run->io->ud, in);
}

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
    s.on_socket = docker__exec_socket;
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
