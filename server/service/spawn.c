/*
 * Spawn: run a command in a runner (Docker exec) and stream its output.
 * FLAME.Backend.remote_spawn_monitor/2 for parents that are not BEAM nodes.
 *
 * stdout and stderr are demultiplexed from Docker's 8-byte-header stream and
 * sent as they arrive, with one message in flight: while the client has not
 * taken the previous one, flamed stops reading the exec stream, so a slow
 * reader pushes back on the command instead of growing flamed's memory.
 * Output is gathered per stream into messages of up to ENGINE_EXEC_READ_BYTES,
 * written in wire form straight into the buffer gRPC sends (no pack, no
 * copy). A message goes out when it is full, when the output switches
 * stream, or GATHER_US after its first byte once no message is in flight
 * (like Nagle's algorithm, with a bound): while one is, flamed keeps reading
 * and gathering, and only waits when the next message is full. Each message
 * costs a gRPC batch and thread hand-offs on both sides, so a fast command
 * fills 64 KiB messages instead of one per Docker frame (~7 KB), and an
 * interactive one still gets each line within 2 ms.
 *
 * Ending a command (timeout_ms, client cancel, client deadline): Docker has
 * no API to kill an exec'd process, so flamed reads its host pid from exec
 * inspect, checks through /proc/PID/cgroup that it belongs to the runner's
 * container, and sends SIGTERM, then SIGKILL after 2 s. The RPC ends right
 * after the SIGTERM (within ~100 ms of the limit): the SIGKILL wait goes on
 * after the answer. When flamed cannot see the host pid namespace (flamed
 * itself in a container without --pid=host), the command runs to its end;
 * the RPC still ends at once. Every Docker call of a Spawn is bounded by its
 * timeout and aborted by its client's cancel.
 *
 * SpawnStream is the same run with the command's stdin: its first client
 * message is the SpawnRequest (then the same checks and the same worker),
 * and a second blocking job, the stdin pump, receives the client's chunks
 * and writes each to the exec's start connection before it receives the
 * next one: one chunk (at most STDIN_CHUNK_MAX) in flight, so neither a
 * large input nor a command that does not read grows flamed's memory; the
 * client's gRPC flow control pushes back. close_stdin, or the end of the
 * client's stream, half-closes the connection: the command reads EOF. Bytes
 * that arrive after the command exited are dropped.
 * Follows: Docker Engine API ContainerExec, ExecStart (its "Hijacking"
 * section for stdin), ExecInspect.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/status_name.h"
#include "common/wire.h"
#include "flame/error.h"
#include "service/request.h"
#include "service/service.h"

/* One gathered SpawnResponse being built: the payload goes at HDR_ROOM and
 * the field key and length are written just in front of it when sent. */
#define HDR_ROOM WIRE_LEN_HEADER_MAX

/* How long output may wait for more before it is sent (µs). */
#define GATHER_US 2000
/* How often held output is looked at while a message is in flight (ms). */
#define BUSY_POLL_MS 10

struct pending {
    uint8_t *buf; /* HDR_ROOM + ENGINE_EXEC_READ_BYTES, or NULL */
    size_t len;   /* payload bytes */
    int stream;   /* 1 stdout, 2 stderr; 0 when empty */
    int64_t since_us; /* monotonic time of the first payload byte */
};

/* Largest SpawnStreamRequest.stdin chunk (bytes): the proto's documented bound. */
#define STDIN_CHUNK_MAX ((size_t)64 * 1024)

struct spawn {
    const Flame__V1__SpawnRequest *req; /* Spawn: the call's request; SpawnStream: in first */
    Flame__V1__SpawnStreamRequest *first; /* SpawnStream's first message (owned), or NULL */
    int attach_stdin;                   /* SpawnStream */
    /* The stdin pump and the worker meet here (mu): the worker hands over
     * the exec's stdin once it runs (in), and says when the exec is over
     * (exec_done); the pump reports a refused message (stdin_failed). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct engine *eng_for_in;          /* the engine that made `in` (svc->engine) */
    struct engine_stdin *in;            /* freed with the state */
    atomic_int exec_done;
    atomic_int stdin_failed;
    int stdin_code;
    const char *stdin_reason;
    char stdin_err[256];
    atomic_ullong bytes_in;
    struct runner *runner;
    struct pending out;
    svc_call *call;
    int64_t deadline_ms;   /* INT64_MAX: none */
    int timed_out;
    int send_failed;
    uint64_t bytes_out, bytes_err;
    int counted; /* runner_registry_spawn_begin() was called */
};

static void spawn_free(void *p)
{
    struct spawn *s = p;
    if (!s)
        return;
    if (s->in)
        s->eng_for_in->ops->exec_stdin_free(s->eng_for_in, s->in);
    if (s->first)
        protobuf_c_message_free_unpacked(&s->first->base, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    runner_free(s->runner);
    free(s->out.buf);
    free(s);
}

/* The SpawnResponse field number of stdout or stderr (from the descriptor). */
static uint32_t field_of(int stream)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
        &flame__v1__spawn_response__descriptor, stream == 2 ? "stderr" : "stdout");
    return f->id;
}

/* Send what is gathered as one SpawnResponse; gRPC takes the buffer. */
static int flush(struct spawn *s)
{
    struct pending *o = &s->out;
    if (!o->len)
        return 0;
    uint8_t hdr[HDR_ROOM];
    size_t h = wire_put_len_header(hdr, field_of(o->stream), o->len);
    uint8_t *start = o->buf + HDR_ROOM - h;
    memcpy(start, hdr, h);
    uint8_t *buf = o->buf;
    size_t len = h + o->len;
    o->buf = NULL;
    o->len = 0;
    o->stream = 0;
    if (call_send_wire(s->call, start, len, buf) < 0) {
        s->send_failed = 1;
        return 1;
    }
    return 0;
}

static int on_output(void *ud, int stream, const char *data, size_t len)
{
    struct spawn *s = ud;
    struct pending *o = &s->out;
    if (stream == 2)
        s->bytes_err += len;
    else
        s->bytes_out += len;
    while (len > 0) {
        if ((o->stream && o->stream != stream) || o->len == ENGINE_EXEC_READ_BYTES) {
            if (flush(s))
                return 1;
        }
        if (!o->buf && !(o->buf = malloc(HDR_ROOM + ENGINE_EXEC_READ_BYTES))) {
            s->send_failed = 1;
            return 1;
        }
        if (!o->len)
            o->since_us = clock_mono_us();
        size_t take = ENGINE_EXEC_READ_BYTES - o->len;
        if (take > len)
            take = len;
        memcpy(o->buf + HDR_ROOM + o->len, data, take);
        o->len += take;
        o->stream = stream == 2 ? 2 : 1;
        data += take;
        len -= take;
    }
    return 0;
}

/* µs left of the held output's GATHER_US window (<= 0: it is up). */
static int64_t gather_left_us(const struct spawn *s)
{
    return GATHER_US - (clock_mono_us() - s->out.since_us);
}

/* After each socket read, and when polled: send what has waited GATHER_US,
 * unless a message is still in flight. */
static int on_flush(void *ud)
{
    struct spawn *s = ud;
    if (!s->out.len || gather_left_us(s) > 0 || call_send_busy(s->call))
        return 0;
    return flush(s);
}

/* While output is gathered, poll again when its GATHER_US is up (at least
 * 1 ms: curl's wait has ms resolution), or in BUSY_POLL_MS while a message
 * is in flight (a slow reader: no 1-ms spinning meanwhile); otherwise the
 * default. */
static long poll_ms(void *ud)
{
    struct spawn *s = ud;
    if (!s->out.len)
        return 0;
    if (call_send_busy(s->call))
        return BUSY_POLL_MS;
    int64_t left_us = gather_left_us(s);
    return left_us <= 1000 ? 1 : (long)((left_us + 999) / 1000);
}

/* While a message is open and not full, leave the socket unread until its
 * GATHER_US is up: Docker's frames pile up in the socket buffer and come in
 * one 64 KiB read instead of one wake-up and read per ~7 KB frame. */
static long hold_us(void *ud)
{
    struct spawn *s = ud;
    if (!s->out.len || s->out.len >= ENGINE_EXEC_READ_BYTES)
        return 0;
    int64_t left_us = gather_left_us(s);
    return left_us > 0 ? (long)left_us : 0;
}

static int should_abort(void *ud)
{
    struct spawn *s = ud;
    if (call_cancelled(s->call) || atomic_load(&s->stdin_failed))
        return 1;
    if (s->deadline_ms != INT64_MAX && clock_mono_ms() >= s->deadline_ms) {
        s->timed_out = 1;
        return 1;
    }
    /* Polled while the stream is quiet: gathered output goes out once it
     * has waited GATHER_US and no message is in flight. */
    return on_flush(s);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* How long the SIGTERM of a command that overran may take before the RPC
 * answers anyway (ms): one exec inspect and a kill(2). */
#define TERM_WAIT_MS 100

/* For the Docker client's bounded view: the client cancelled (or its gRPC
 * deadline passed). An atomic load. */
static int spawn_cancelled(void *ud)
{
    return call_cancelled(ud);
}

/* SIGTERM the command, within TERM_WAIT_MS. Sets *signalled to 1 when it was
 * sent, 2 when Docker was too slow to tell its pid in time (the SIGTERM is then
 * sent after the answer). Returns a note for the message. */
static const char *term_exec(struct service *svc, const char *exec_id, const char *container_id,
                             int *signalled)
{
    char derr[256];
    struct engine *eng = NULL;
    struct engine_bounds b = {.deadline_ms = clock_mono_ms() + TERM_WAIT_MS};
    *signalled = 0;
    if (engine_bounded(svc->engine, &b, &eng) < 0)
        return "signalling the command failed (out of memory)";
    int rc = eng->ops->exec_kill(eng, exec_id, container_id, SIGTERM, derr, sizeof(derr));
    engine_free_view(eng);
    if (rc == FLAME_EUNIMPLEMENTED)
        return "the command could not be signalled (flamed cannot see the runner's processes) "
               "and runs to its end";
    if (rc == FLAME_ETIMEOUT) {
        *signalled = 2;
        return "the command is being sent SIGTERM, and SIGKILL if it still runs 2 s later";
    }
    if (rc < 0)
        return "signalling the command failed";
    *signalled = 1;
    return "the command was sent SIGTERM, and SIGKILL if it still runs 2 s later";
}

/* After a SIGTERM: SIGKILL if the command still runs 2 s later. Runs after the
 * RPC has answered. */
static void kill_exec_later(struct service *svc, const char *exec_id, const char *container_id,
                            int signalled)
{
    char derr[256];
    struct engine *eng = svc->engine;
    if (signalled == 2 &&
        eng->ops->exec_kill(eng, exec_id, container_id, SIGTERM, derr, sizeof(derr)) < 0)
        return;
    for (int i = 0; i < 20; i++) {
        int running = 0;
        if (eng->ops->exec_inspect(eng, exec_id, NULL, &running, derr, sizeof(derr)) < 0 || !running)
            return;
        sleep_ms(100);
    }
    eng->ops->exec_kill(eng, exec_id, container_id, SIGKILL, derr, sizeof(derr));
}

/* exec_start's on_stdin: the pump may write from now on. */
static void on_stdin(void *ud, struct engine_stdin *in)
{
    struct spawn *s = ud;
    pthread_mutex_lock(&s->mu);
    s->in = in;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The exec is over (or never ran): a waiting or writing pump gives up. */
static void exec_over(struct spawn *s)
{
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->exec_done, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void spawn_worker(svc_call *call)
{
    struct service *svc = call->service;
    struct spawn *s = call->state;
    const Flame__V1__SpawnRequest *req = s->req;
    char err[2048] = "", derr[1024] = "";
    const char *reason = NULL;
    char **env = NULL, **argv = NULL;
    char *exec_id = NULL;
    int rc, exit_code = -1, signalled = 0;
    int64_t t0 = clock_mono_ms();
    /* The Spawn's timeout and its client's cancel reach every engine call. */
    struct engine *eng = NULL;
    struct engine_bounds bounds = {.deadline_ms = s->deadline_ms != INT64_MAX ? s->deadline_ms : 0,
                                   .cancelled = spawn_cancelled, .ud = call};
    if ((rc = engine_bounded(svc->engine, &bounds, &eng)) < 0)
        goto done;

    if ((rc = request_env_strv(req->env, req->n_env, &env)) < 0)
        goto done;
    if (s->runner->boot_env) {
        /* A taken warm runner: its command got the Boot's env from flamed-init,
         * Docker's Config.Env lacks it. Put it first, so the exec sees what a
         * cold runner's would, and the Spawn's own env still wins (Docker
         * applies an exec's Env in order). */
        size_t nb = 0, ne = 0;
        while (s->runner->boot_env[nb])
            nb++;
        while (env[ne])
            ne++;
        char **merged = calloc(nb + ne + 1, sizeof(char *));
        if (!merged) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < nb; i++)
            if (!(merged[i] = strdup(s->runner->boot_env[i]))) {
                request_strv_free(merged);
                rc = FLAME_ENOMEM;
                goto done;
            }
        memcpy(merged + nb, env, ne * sizeof(char *));
        free(env); /* its strings are merged's now */
        env = merged;
    }
    if (!(argv = calloc(req->n_argv + 1, sizeof(char *)))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    memcpy(argv, req->argv, req->n_argv * sizeof(char *));
    rc = eng->ops->exec_create(eng, s->runner->container_id, (const char *const *)argv,
                            (const char *const *)env, req->working_dir, req->user,
                            s->attach_stdin, &exec_id, derr, sizeof(derr));
    if (rc < 0) {
        if (rc == FLAME_ETIMEOUT) {
            snprintf(err, sizeof(err), "the command ran longer than its timeout (%u ms): Docker "
                                       "had not created it yet: %s", req->timeout_ms, derr);
            reason = "SPAWN_TIMEOUT";
        } else if (rc == FLAME_ECANCELLED) {
            snprintf(err, sizeof(err), "the client cancelled Spawn");
        } else if (rc == FLAME_EPRECONDITION || rc == FLAME_ECONFLICT) {
            snprintf(err, sizeof(err), "runner %s is not running: %s", s->runner->id, derr);
            rc = FLAME_EPRECONDITION;
            reason = "RUNNER_NOT_RUNNING";
        } else if (rc == FLAME_EUNREACHABLE) {
            /* The engine cannot reach the runner's host (a swarm node not mapped, or away). */
            snprintf(err, sizeof(err), "runner %s cannot be reached: %s", s->runner->id, derr);
            reason = "RUNNER_NODE_UNREACHABLE";
        } else if (rc == FLAME_ENOTFOUND) {
            snprintf(err, sizeof(err), "runner %s's container is gone: %s", s->runner->id, derr);
            rc = FLAME_EPRECONDITION;
            reason = "RUNNER_NOT_RUNNING";
        } else {
            snprintf(err, sizeof(err), "creating the exec in runner %s: %s", s->runner->id, derr);
        }
        goto done;
    }
    Flame__V1__SpawnResponse__Started started = FLAME__V1__SPAWN_RESPONSE__STARTED__INIT;
    started.exec_id = exec_id;
    Flame__V1__SpawnResponse msg = FLAME__V1__SPAWN_RESPONSE__INIT;
    msg.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_STARTED;
    msg.started = &started;
    if (call_send(call, &msg.base) < 0) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client went away");
        term_exec(svc, exec_id, s->runner->container_id, &signalled);
        goto done;
    }
    flamed_log(LOG_INFO, "spawn_start", "runner_id=%s pool=%s exec_id=%.12s", s->runner->id,
               s->runner->pool, exec_id);
    runner_registry_spawn_begin(svc->reg, s->runner->id, clock_mono_ms());
    s->counted = 1;
    struct engine_exec_io io = {.on_output = on_output, .should_abort = should_abort, .ud = s, .on_flush = on_flush,
                                 .poll_ms = poll_ms, .hold_us = hold_us,
                                 .on_stdin = s->attach_stdin ? on_stdin : NULL};
    rc = eng->ops->exec_start(eng, exec_id, &io, derr, sizeof(derr));
    exec_over(s);
    if (atomic_load(&s->stdin_failed)) {
        /* The pump refused a message: the command is ended, the call answers why. */
        term_exec(svc, exec_id, s->runner->container_id, &signalled);
        rc = s->stdin_code;
        reason = s->stdin_reason;
        snprintf(err, sizeof(err), "%s", s->stdin_err);
        goto done;
    }
    if (rc == FLAME_ETIMEOUT && !s->timed_out && s->deadline_ms != INT64_MAX &&
        clock_mono_ms() >= s->deadline_ms)
        s->timed_out = 1; /* the view's deadline ended the stream before should_abort saw it */
    if (rc == FLAME_ECANCELLED || s->timed_out || s->send_failed || call_cancelled(call)) {
        const char *note = term_exec(svc, exec_id, s->runner->container_id, &signalled);
        if (s->timed_out && !call_cancelled(call)) {
            snprintf(err, sizeof(err), "the command ran longer than its timeout (%u ms): %s",
                     req->timeout_ms, note);
            rc = FLAME_ETIMEOUT;
            reason = "SPAWN_TIMEOUT";
        } else {
            snprintf(err, sizeof(err), "the client cancelled Spawn: %s", note);
            rc = FLAME_ECANCELLED;
        }
        goto done;
    }
    if (rc < 0) {
        snprintf(err, sizeof(err), "reading the command's output: %s", derr);
        goto done;
    }
    if (flush(s)) { /* the last gathered output */
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client went away");
        goto done;
    }
    /* The stream ends when the process closes its output; its exit code follows shortly. */
    int running = 1;
    for (int i = 0; i < 100 && running; i++) {
        rc = svc->engine->ops->exec_inspect(svc->engine, exec_id, &exit_code, &running, derr,
                                            sizeof(derr));
        if (rc < 0) {
            snprintf(err, sizeof(err), "reading the command's exit code: %s", derr);
            goto done;
        }
        if (running)
            sleep_ms(i < 10 ? 5 : 50);
    }
    if (running) {
        snprintf(err, sizeof(err), "the command closed its output but did not exit");
        rc = FLAME_EABORTED;
        goto done;
    }
    Flame__V1__SpawnResponse__Exited exited = FLAME__V1__SPAWN_RESPONSE__EXITED__INIT;
    exited.exit_code = exit_code;
    Flame__V1__SpawnResponse emsg = FLAME__V1__SPAWN_RESPONSE__INIT;
    emsg.event_case = FLAME__V1__SPAWN_RESPONSE__EVENT_EXITED;
    emsg.exited = &exited;
    if (call_send(call, &emsg.base) < 0) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client went away");
        goto done;
    }
    rc = 0;
done:
    exec_over(s);
    if (s->counted)
        runner_registry_spawn_end(svc->reg, s->runner->id, clock_mono_ms());
    flamed_log(rc == 0 ? LOG_INFO : LOG_WARN, "spawn_done",
               "runner_id=%s pool=%s status=%s exit_code=%d stdout_bytes=%llu stderr_bytes=%llu stdin_bytes=%llu duration_ms=%lld",
               s->runner->id, s->runner->pool, status_name_of(rc),
               exit_code, (unsigned long long)s->bytes_out, (unsigned long long)s->bytes_err,
               (unsigned long long)atomic_load(&s->bytes_in), (long long)(clock_mono_ms() - t0));
    if (rc == FLAME_ENOMEM && !err[0])
        snprintf(err, sizeof(err), "out of memory");
    call_finish(call, rc, reason, err, NULL);
    /* The answer is out: now wait for a SIGTERMed command, SIGKILL if it lingers. */
    if (signalled && exec_id)
        kill_exec_later(svc, exec_id, s->runner->container_id, signalled);
    engine_free_view(eng);
    free(exec_id);
    free(argv);
    request_strv_free(env);
}

/* Spawn's checks, shared by SpawnStream: validate req, find the runner as
 * the caller may see it, attach the call's state. 0, or the call is
 * finished with the answer (and the state, when made, holds `first`). */
static int spawn_prepare(svc_call *call, const Flame__V1__SpawnRequest *req,
                         Flame__V1__SpawnStreamRequest *first)
{
    struct service *svc = call->service;
    char err[1024];
    int rc = request_spawn_validate(req, err, sizeof(err));
    if (rc < 0) {
        call_finish(call, rc, "INVALID_REQUEST", err, NULL);
        return rc;
    }
    if ((rc = policy_check_spawn(svc->policy, req, err, sizeof(err))) < 0) {
        call_finish(call, rc, "LIMIT_EXCEEDED", err, NULL);
        return rc;
    }
    struct spawn *s = calloc(1, sizeof(*s));
    if (!s) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return FLAME_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->req = req;
    s->first = first;
    s->attach_stdin = first != NULL;
    s->eng_for_in = svc->engine;
    call_set_state(call, s, spawn_free);
    s->call = call;
    int grc = runner_registry_get(svc->reg, req->runner_id, &s->runner);
    service_audit(call, "runner_id=%s argv0=%.64s", req->runner_id, req->argv[0]);
    if (grc == FLAME_ENOMEM) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return FLAME_ENOMEM;
    }
    /* Another tenant's runner, or a warm one no Boot took, does not exist for this caller. */
    if (s->runner && (s->runner->hidden || !service_caller_allows(call, s->runner->pool))) {
        runner_free(s->runner);
        s->runner = NULL;
    }
    if (!s->runner) {
        snprintf(err, sizeof(err), "runner '%s' not found: List shows the current runners",
                 req->runner_id);
        call_finish(call, FLAME_ENOTFOUND, "RUNNER_NOT_FOUND", err, NULL);
        return FLAME_ENOTFOUND;
    }
    if (s->runner->state != FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING) {
        if (s->runner->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING)
            snprintf(err, sizeof(err), "runner %s is still booting: wait for Boot to return",
                     s->runner->id);
        else
            snprintf(err, sizeof(err), "runner %s is %s (exit code %d), not RUNNING: boot a new "
                                       "runner", s->runner->id, runner_state_name(s->runner->state),
                     s->runner->exit_code);
        call_finish(call, FLAME_EPRECONDITION, "RUNNER_NOT_RUNNING", err, NULL);
        return FLAME_EPRECONDITION;
    }
    s->deadline_ms = req->timeout_ms ? clock_mono_ms() + req->timeout_ms : INT64_MAX;
    return 0;
}

void service_spawn(svc_call *call)
{
    const Flame__V1__SpawnRequest *req = (const Flame__V1__SpawnRequest *)call->request;
    int rc;
    if (spawn_prepare(call, req, NULL) < 0)
        return;
    if ((rc = call_run_blocking(call, spawn_worker)) < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn and Shutdown calls: retry later", NULL);
}

/* ---- SpawnStream ---- */

/* The pump refused a message: the worker ends the command and the call. */
static void stdin_fail(struct spawn *s, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void stdin_fail(struct spawn *s, int code, const char *reason, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->stdin_failed)) {
        s->stdin_code = code;
        s->stdin_reason = reason;
        va_start(ap, fmt);
        vsnprintf(s->stdin_err, sizeof(s->stdin_err), fmt, ap);
        va_end(ap);
        atomic_store(&s->stdin_failed, 1);
    }
    pthread_mutex_unlock(&s->mu);
    /* The worker's should_abort sees the flag once the exec runs (within
     * its poll); before, exec_start aborts at its first poll. */
}

/* The exec's stdin once it runs; NULL when it is over (or the call is). */
static struct engine_stdin *stdin_wait(struct spawn *s)
{
    struct engine_stdin *in = NULL;
    pthread_mutex_lock(&s->mu);
    while (!s->in && !atomic_load(&s->exec_done) && !call_cancelled(s->call)) {
        struct timespec ts;
        clock_realtime_after_ms(&ts, 100);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    if (!atomic_load(&s->exec_done))
        in = s->in;
    pthread_mutex_unlock(&s->mu);
    return in;
}

static int pump_abort(void *ud)
{
    struct spawn *s = ud;
    return atomic_load(&s->exec_done) || atomic_load(&s->stdin_failed) || call_cancelled(s->call);
}

/* The stdin pump: receive a chunk, write it, only then receive the next. */
static void stdin_pump(svc_call *call)
{
    struct spawn *s = call->state;
    struct engine *eng = s->eng_for_in;
    int gone = 0; /* the command no longer reads: drop the rest */
    char derr[256];
    for (;;) {
        ProtobufCMessage *m = NULL;
        int rc = call_recv(call, &flame__v1__spawn_stream_request__descriptor, &m);
        if (rc == FLAME_EINVALID) {
            stdin_fail(s, FLAME_EINVALID, "BAD_REQUEST",
                       "a message is not a valid flame.v1.SpawnStreamRequest");
            return;
        }
        if (rc < 0)
            return; /* the call ended */
        if (!m) { /* the client ended its stream: EOF */
            struct engine_stdin *in = stdin_wait(s);
            if (in)
                eng->ops->exec_stdin_close(eng, in);
            return;
        }
        Flame__V1__SpawnStreamRequest *r = (Flame__V1__SpawnStreamRequest *)m;
        int stop = 0;
        switch (r->event_case) {
        case FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_STDIN: {
            size_t len = r->stdin.len;
            if (len > STDIN_CHUNK_MAX) {
                stdin_fail(s, FLAME_EINVALID, "INVALID_REQUEST",
                           "SpawnStreamRequest.stdin: %zu bytes in one message, more than %zu: "
                           "send it in chunks of at most %zu bytes",
                           len, STDIN_CHUNK_MAX, STDIN_CHUNK_MAX);
                stop = 1;
                break;
            }
            if (!len || gone)
                break;
            struct engine_stdin *in = stdin_wait(s);
            if (!in) {
                gone = 1;
                break;
            }
            rc = eng->ops->exec_stdin_write(eng, in, r->stdin.data, len, pump_abort, s, derr,
                                            sizeof(derr));
            if (rc == 0)
                atomic_fetch_add(&s->bytes_in, len);
            else
                gone = 1; /* exited, or the exec is being ended: drain and drop */
            break;
        }
        case FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_CLOSE_STDIN: {
            struct engine_stdin *in = stdin_wait(s);
            if (in)
                eng->ops->exec_stdin_close(eng, in);
            stop = 1;
            break;
        }
        case FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_START:
            stdin_fail(s, FLAME_EINVALID, "INVALID_REQUEST",
                       "SpawnStreamRequest.start: only the first message may be start");
            stop = 1;
            break;
        default:
            stdin_fail(s, FLAME_EINVALID, "INVALID_REQUEST",
                       "SpawnStreamRequest: a message sets none of start, stdin, close_stdin");
            stop = 1;
            break;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        if (stop)
            return;
    }
}

/* SpawnStream's first job: the first message is the SpawnRequest; then
 * Spawn's checks, the pump, and Spawn's worker on this thread. */
static void spawn_stream_main(svc_call *call)
{
    ProtobufCMessage *m = NULL;
    int rc = call_recv(call, &flame__v1__spawn_stream_request__descriptor, &m);
    if (rc < 0) {
        call_finish(call, rc, rc == FLAME_EINVALID ? "BAD_REQUEST" : NULL,
                    rc == FLAME_EINVALID ? "the first message is not a valid "
                                           "flame.v1.SpawnStreamRequest"
                                         : "the client went away",
                    NULL);
        return;
    }
    Flame__V1__SpawnStreamRequest *first = (Flame__V1__SpawnStreamRequest *)m;
    if (!first || first->event_case != FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_START ||
        !first->start) {
        if (first)
            protobuf_c_message_free_unpacked(m, NULL);
        call_finish(call, FLAME_EINVALID, "INVALID_REQUEST",
                    "SpawnStreamRequest.start: the first message must be start (the "
                    "SpawnRequest), then stdin chunks",
                    NULL);
        return;
    }
    if (spawn_prepare(call, first->start, first) < 0) {
        if (!call->state) /* no state took it */
            protobuf_c_message_free_unpacked(m, NULL);
        return;
    }
    if ((rc = call_run_blocking(call, stdin_pump)) < 0) {
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn and Shutdown calls: retry later", NULL);
        return;
    }
    spawn_worker(call);
}

void service_spawn_stream(svc_call *call)
{
    int rc = call_run_blocking(call, spawn_stream_main);
    if (rc < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn and Shutdown calls: retry later", NULL);
}
