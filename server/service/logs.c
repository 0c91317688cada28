/*
 * Logs: a runner's container output (Docker container logs), stdout and
 * stderr kept apart, optionally followed until the container stops.
 *
 * Each demultiplexed Docker chunk (at most ENGINE_EXEC_READ_BYTES) goes out as
 * one LogsResponse with one message in flight, as Spawn does: while the client
 * has not taken the previous message, flamed does not read Docker's stream, so
 * a slow reader pushes back on dockerd instead of growing flamed's memory (one
 * chunk per call at most).
 *
 * Errors: an unknown runner, or another pool's runner for a pool-scoped token,
 * is NOT_FOUND / RUNNER_NOT_FOUND (Spawn's answer). A runner flamed still
 * tracks whose container is gone (removed after Shutdown, or by hand) is
 * FAILED_PRECONDITION / RUNNER_NOT_RUNNING: the runner id is known, its output
 * is not there any more, and retrying cannot help. The client's cancel or
 * deadline ends the stream; with follow, Docker ends it when the container
 * stops, and the RPC then ends OK.
 * Follows: Docker Engine API ContainerLogs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/status_name.h"
#include "flame/error.h"
#include "service/service.h"

struct logs {
    struct runner *runner;
    svc_call *call;
    int send_failed;
    uint64_t bytes_out, bytes_err;
};

static void logs_free(void *p)
{
    struct logs *l = p;
    if (!l)
        return;
    runner_free(l->runner);
    free(l);
}

/* One chunk, sent at once; waits while the previous message is in flight. */
static int on_output(void *ud, int stream, const char *data, size_t len)
{
    struct logs *l = ud;
    Flame__V1__LogsResponse msg;
    ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)data};
    if (!len)
        return 0;
    flame__v1__logs_response__init(&msg); /* the INIT macro trips -Wmissing-braces (bytes in a oneof) */
    if (stream == 2) {
        msg.event_case = FLAME__V1__LOGS_RESPONSE__EVENT_STDERR;
        msg.stderr = b;
        l->bytes_err += len;
    } else {
        msg.event_case = FLAME__V1__LOGS_RESPONSE__EVENT_STDOUT;
        msg.stdout = b;
        l->bytes_out += len;
    }
    if (call_send(l->call, &msg.base) < 0) {
        l->send_failed = 1;
        return 1;
    }
    return 0;
}

static int should_abort(void *ud)
{
    struct logs *l = ud;
    return call_cancelled(l->call);
}

static int logs_cancelled(void *ud)
{
    return call_cancelled(ud);
}

static void logs_worker(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__LogsRequest *req = (const Flame__V1__LogsRequest *)call->request;
    struct logs *l = call->state;
    char err[2048] = "", derr[1024] = "";
    const char *reason = NULL;
    int rc;
    int64_t t0 = clock_mono_ms();
    struct engine *eng = NULL;
    struct engine_bounds bounds = {.cancelled = logs_cancelled, .ud = call};
    if ((rc = engine_bounded(svc->engine, &bounds, &eng)) < 0)
        goto done;
    struct engine_logs_opts opts = {.follow = req->follow, .tail_lines = req->tail_lines,
                                    .since_unix_nano = req->since_unix_nano,
                                    .timestamps = req->timestamps};
    struct engine_exec_io io = {.on_output = on_output, .should_abort = should_abort, .ud = l};
    rc = eng->ops->logs(eng, l->runner->container_id, &opts, &io, derr, sizeof(derr));
    if (rc == FLAME_ECANCELLED || l->send_failed || call_cancelled(call)) {
        rc = FLAME_ECANCELLED;
        snprintf(err, sizeof(err), "the client cancelled Logs");
    } else if (rc == FLAME_EUNREACHABLE) {
        reason = "RUNNER_NODE_UNREACHABLE";
        snprintf(err, sizeof(err), "runner %s cannot be reached: %s", l->runner->id, derr);
    } else if (rc == FLAME_ENOTFOUND) {
        rc = FLAME_EPRECONDITION;
        reason = "RUNNER_NOT_RUNNING";
        snprintf(err, sizeof(err), "runner %s's container is gone (removed), so are its logs: %s",
                 l->runner->id, derr);
    } else if (rc < 0) {
        snprintf(err, sizeof(err), "reading runner %s's logs: %s", l->runner->id, derr);
    }
done:
    flamed_log(rc == 0 ? LOG_INFO : LOG_WARN, "logs_done",
               "runner_id=%s pool=%s status=%s follow=%d stdout_bytes=%llu stderr_bytes=%llu "
               "duration_ms=%lld",
               l->runner->id, l->runner->pool, status_name_of(rc), req->follow ? 1 : 0,
               (unsigned long long)l->bytes_out, (unsigned long long)l->bytes_err,
               (long long)(clock_mono_ms() - t0));
    if (rc == FLAME_ENOMEM && !err[0])
        snprintf(err, sizeof(err), "out of memory");
    call_finish(call, rc, reason, err, NULL);
    engine_free_view(eng);
}

void service_logs(svc_call *call)
{
    struct service *svc = call->service;
    const Flame__V1__LogsRequest *req = (const Flame__V1__LogsRequest *)call->request;
    char err[1024];
    int rc;
    if (!req->runner_id || !*req->runner_id) {
        call_finish(call, FLAME_EINVALID, "INVALID_REQUEST",
                    "runner_id is empty: give the id Boot or List returned", NULL);
        return;
    }
    if (req->since_unix_nano < 0) {
        call_finish(call, FLAME_EINVALID, "INVALID_REQUEST",
                    "since_unix_nano is negative: give ns since the Unix epoch, or 0 for all",
                    NULL);
        return;
    }
    struct logs *l = calloc(1, sizeof(*l));
    if (!l) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    call_set_state(call, l, logs_free);
    l->call = call;
    int grc = runner_registry_get(svc->reg, req->runner_id, &l->runner);
    service_audit(call, "runner_id=%s follow=%d tail_lines=%u", req->runner_id,
                  req->follow ? 1 : 0, req->tail_lines);
    if (grc == FLAME_ENOMEM) {
        call_finish(call, FLAME_ENOMEM, NULL, "out of memory", NULL);
        return;
    }
    /* Another tenant's runner, or a warm one no Boot took, does not exist for this caller. */
    if (l->runner && (l->runner->hidden || !service_caller_allows(call, l->runner->pool))) {
        runner_free(l->runner);
        l->runner = NULL;
    }
    if (!l->runner) {
        snprintf(err, sizeof(err), "runner '%s' not found: List shows the current runners",
                 req->runner_id);
        call_finish(call, FLAME_ENOTFOUND, "RUNNER_NOT_FOUND", err, NULL);
        return;
    }
    if (!l->runner->container_id || !*l->runner->container_id) {
        snprintf(err, sizeof(err), "runner %s has no container yet: wait for Boot to return",
                 l->runner->id);
        call_finish(call, FLAME_EPRECONDITION, "RUNNER_NOT_RUNNING", err, NULL);
        return;
    }
    if ((rc = call_run_blocking(call, logs_worker)) < 0)
        call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent Boot, "
                                                    "Spawn, Shutdown and Logs calls: retry later",
                    NULL);
}
