/*
 * client.c - the six RunnerService RPCs: build the request message from the
 * caller's plain-C request, run the call (call.c), convert the answer.
 *
 * Request messages are built entirely from malloc'd copies so that one
 * protobuf_c_message_free_unpacked(msg, NULL) frees each of them. Responses
 * are unpacked into an arena (arena.c); the runners handed out are views
 * into it (runner.c) that keep it alive, so nothing is copied twice.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define METHOD(name) "/flame.v1.RunnerService/" name

/* Extra deadline beyond a server-side wait (boot, stop grace, exec timeout):
 * the server must have time to clean up and answer with its own status. */
#define FLAME__DEADLINE_SLACK_MS 60000u
#define FLAME__SPAWN_SLACK_MS 10000u

static uint32_t max_u32(uint32_t a, uint64_t b)
{
    if (b > UINT32_MAX)
        b = UINT32_MAX;
    return a > b ? a : (uint32_t)b;
}

static void free_msg(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

/*
 * Hand out the response's runner: a view into the response's arena, which
 * then holds one reference more (the caller drops its own afterwards).
 */
static int runner_out(flame__arena *arena, const Flame__V1__Runner *r, flame_runner **out,
                      flame_status *st)
{
    if (!(*out = flame__runner_view(arena, r))) {
        flame__status_local(st, FLAME_ENOMEM, "out of memory");
        return FLAME_ENOMEM;
    }
    flame__arena_ref(arena, 1);
    return 0;
}

/* ------------------------------------------------------------ Boot */

/* HostConfig from JSON, with memory_bytes / nano_cpus merged over it. */
static int boot_host_config(const flame_boot_request *req, Google__Protobuf__Struct **out,
                            flame_status *st)
{
    Google__Protobuf__Struct *hc = NULL;
    char detail[sizeof(st->message)];
    int err = 0;

    *out = NULL;
    detail[0] = '\0';
    if (req->memory_bytes < 0 || req->nano_cpus < 0) {
        err = FLAME_EINVALID;
        snprintf(detail, sizeof(detail), "memory_bytes and nano_cpus must not be negative");
        goto done;
    }
    if (req->host_config_json) {
        if ((err = flame__struct_from_json(req->host_config_json, "host_config", &hc, detail,
                                           sizeof(detail))) < 0)
            goto done;
    } else if (req->memory_bytes || req->nano_cpus) {
        if (!(hc = malloc(sizeof(*hc)))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        google__protobuf__struct__init(hc);
    }
    if (req->memory_bytes && (err = flame__struct_set_number(hc, "Memory",
                                                             (double)req->memory_bytes)) < 0)
        goto done;
    if (req->nano_cpus && (err = flame__struct_set_number(hc, "NanoCpus",
                                                          (double)req->nano_cpus)) < 0)
        goto done;
    *out = hc;
    hc = NULL;
done:
    flame__struct_free(hc);
    if (err < 0)
        flame__status_local(st, err, "%s", detail[0] ? detail : "out of memory");
    return err;
}

static int boot_mounts(const flame_boot_request *req, Flame__V1__BootRequest *m, flame_status *st)
{
    char detail[sizeof(st->message)], what[32];
    size_t n = 0;
    int err = 0;

    if (!req->mounts_json)
        return 0;
    while (req->mounts_json[n])
        n++;
    if (n == 0)
        return 0;
    if (!(m->mounts = calloc(n, sizeof(*m->mounts)))) {
        flame__status_local(st, FLAME_ENOMEM, "out of memory");
        return FLAME_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof(what), "mount %zu", i + 1);
        if ((err = flame__struct_from_json(req->mounts_json[i], what, &m->mounts[i], detail,
                                           sizeof(detail))) < 0) {
            flame__status_local(st, err, "%s", detail);
            return err;
        }
        m->n_mounts++;
    }
    return 0;
}

/* BootRequest.placement from constraints and spreads (none: no placement).
 * Freed with the message (free_unpacked). 0 or FLAME_ENOMEM. */
static int boot_placement(const flame_boot_request *req, Flame__V1__BootRequest *m)
{
    size_t np = 0;
    int err;
    if (!(req->constraints && req->constraints[0]) && !(req->spreads && req->spreads[0]))
        return 0;
    if (!(m->placement = malloc(sizeof(*m->placement))))
        return FLAME_ENOMEM;
    flame__v1__placement__init(m->placement);
    if ((err = flame__strv_copy(req->constraints, &m->placement->constraints,
                                &m->placement->n_constraints)) < 0)
        return err;
    while (req->spreads && req->spreads[np])
        np++;
    if (np == 0)
        return 0;
    if (!(m->placement->preferences = calloc(np, sizeof(*m->placement->preferences))))
        return FLAME_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        Flame__V1__PlacementPreference *p = malloc(sizeof(*p));
        if (!p)
            return FLAME_ENOMEM;
        flame__v1__placement_preference__init(p);
        m->placement->preferences[m->placement->n_preferences++] = p;
        if (!(p->spread = strdup(req->spreads[i])))
            return FLAME_ENOMEM; /* p->spread NULL: free_unpacked skips it */
    }
    return 0;
}

static int boot_request(const flame_boot_request *req, Flame__V1__BootRequest **out,
                        flame_status *st)
{
    Flame__V1__BootRequest *m = NULL;
    char detail[sizeof(st->message)];
    void **entries;
    size_t n;
    int err = 0;

    *out = NULL;
    if (!req->image || !*req->image) {
        flame__status_local(st, FLAME_EINVALID, "image is required, e.g. \"app:latest\"");
        return FLAME_EINVALID;
    }
    if (req->pull_policy < FLAME_PULL_DEFAULT || req->pull_policy > FLAME_PULL_NEVER) {
        flame__status_local(st, FLAME_EINVALID, "pull_policy %d is not a flame_pull_policy",
                            req->pull_policy);
        return FLAME_EINVALID;
    }
    if (!(m = malloc(sizeof(*m)))) {
        err = FLAME_ENOMEM;
        goto nomem;
    }
    flame__v1__boot_request__init(m);
    /* init points strings at protobuf_c_empty_string; replace each with a copy */
    m->image = m->network = m->pool = m->user = m->working_dir = NULL;
    m->request_id = m->parent_id = NULL;
    if (!(m->image = strdup(req->image)) || !(m->network = flame__strdup0(req->network)) ||
        !(m->pool = flame__strdup0(req->pool)) || !(m->user = flame__strdup0(req->user)) ||
        !(m->working_dir = flame__strdup0(req->working_dir)) ||
        !(m->request_id = flame__strdup0(req->request_id)) ||
        !(m->parent_id = flame__strdup0(req->parent_id))) {
        err = FLAME_ENOMEM;
        goto nomem;
    }
    if ((err = flame__kv_map(&flame__v1__boot_request__env_entry__descriptor, req->env, "env",
                             &entries, &n, detail, sizeof(detail))) < 0)
        goto fail;
    m->env = (Flame__V1__BootRequest__EnvEntry **)entries;
    m->n_env = n;
    if ((err = flame__kv_map(&flame__v1__boot_request__labels_entry__descriptor, req->labels,
                             "labels", &entries, &n, detail, sizeof(detail))) < 0)
        goto fail;
    m->labels = (Flame__V1__BootRequest__LabelsEntry **)entries;
    m->n_labels = n;
    if ((err = flame__strv_copy(req->cmd, &m->cmd, &m->n_cmd)) < 0 ||
        (err = flame__strv_copy(req->entrypoint, &m->entrypoint, &m->n_entrypoint)) < 0)
        goto nomem;
    if ((err = boot_host_config(req, &m->host_config, st)) < 0 ||
        (err = boot_mounts(req, m, st)) < 0)
        goto done;
    m->boot_timeout_ms = req->boot_timeout_ms;
    m->keep_runner = req->keep_runner ? 1 : 0;
    m->pull_policy = (Flame__V1__PullPolicy)req->pull_policy;
    m->lease_ttl_ms = req->lease_ttl_ms;
    m->max_lifetime_ms = req->max_lifetime_ms;
    m->idle_shutdown_after_ms = req->idle_shutdown_after_ms;
    if ((err = boot_placement(req, m)) < 0)
        goto nomem;
    *out = m;
    m = NULL;
    goto done;
nomem:
    flame__status_local(st, err, "out of memory");
    goto done;
fail:
    flame__status_local(st, err, "%s", detail);
done:
    free_msg(m);
    return err;
}

int flame_client_boot(flame_client *c, const flame_boot_request *req, flame_runner **out,
                      flame_status *st)
{
    Flame__V1__BootRequest *m = NULL;
    Flame__V1__BootResponse *resp = NULL;
    flame__arena *arena = NULL;
    uint32_t boot_ms;
    int err = 0;

    if (out)
        *out = NULL;
    if (!c || !req || !out) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_boot: NULL argument");
        return FLAME_EINVALID;
    }
    if ((err = boot_request(req, &m, st)) < 0)
        goto done;
    boot_ms = req->boot_timeout_ms ? req->boot_timeout_ms : 30000u;
    if ((err = flame__call_unary(c, METHOD("Boot"),
                                 max_u32(c->timeout_ms, (uint64_t)boot_ms + FLAME__DEADLINE_SLACK_MS),
                                 &m->base, &flame__v1__boot_response__descriptor,
                                 (ProtobufCMessage **)&resp, &arena, st)) < 0)
        goto done;
    err = runner_out(arena, resp->runner, out, st);
done:
    free_msg(m);
    flame__arena_unref(arena, 1);
    return err;
}

/* ------------------------------------------------------------ Shutdown */

int flame_client_shutdown(flame_client *c, const char *runner_id, uint32_t timeout_ms,
                          flame_runner **out, flame_status *st)
{
    Flame__V1__ShutdownRequest m = FLAME__V1__SHUTDOWN_REQUEST__INIT;
    Flame__V1__ShutdownResponse *resp = NULL;
    flame__arena *arena = NULL;
    uint32_t grace_ms = timeout_ms ? timeout_ms : 10000u;
    int err = 0;

    if (out)
        *out = NULL;
    if (!c || !runner_id || !*runner_id) {
        flame__status_local(st, FLAME_EINVALID, "runner id is required");
        return FLAME_EINVALID;
    }
    /* stack message with borrowed strings: nothing in it is freed */
    m.runner_id = (char *)runner_id;
    m.timeout_ms = timeout_ms;
    if ((err = flame__call_unary(c, METHOD("Shutdown"),
                                 max_u32(c->timeout_ms, (uint64_t)grace_ms + FLAME__DEADLINE_SLACK_MS),
                                 &m.base, &flame__v1__shutdown_response__descriptor,
                                 (ProtobufCMessage **)&resp, &arena, st)) < 0)
        goto done;
    if (out)
        err = runner_out(arena, resp->runner, out, st);
done:
    flame__arena_unref(arena, 1);
    return err;
}

/* ------------------------------------------------------------ List */

struct list_out {
    flame_runner **rs;
    size_t n;
};

static int list_decode(void *ud, const uint8_t *p, size_t len)
{
    struct list_out *o = ud;

    return flame__list_decode(p, len, &o->rs, &o->n);
}

int flame_client_list(flame_client *c, const char *pool, flame_runner ***out, size_t *n,
                      flame_status *st)
{
    Flame__V1__ListRequest m = FLAME__V1__LIST_REQUEST__INIT;
    struct list_out o = {NULL, 0};
    int err = 0;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!c || !out || !n) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_list: NULL argument");
        return FLAME_EINVALID;
    }
    m.pool = (char *)(pool ? pool : "");
    /* decoded from the wire straight into the runners (runner_wire.c): the
     * array, the runners and their strings all in one arena */
    if ((err = flame__call_unary_wire(c, METHOD("List"), c->timeout_ms, &m.base, list_decode, &o,
                                      st)) < 0)
        return err;
    *out = o.rs;
    *n = o.n;
    return 0;
}

/* ------------------------------------------------------------ Renew */

int flame_client_renew(flame_client *c, const char *parent_id, unsigned *renewed,
                       flame_status *st)
{
    Flame__V1__RenewRequest m = FLAME__V1__RENEW_REQUEST__INIT;
    Flame__V1__RenewResponse *resp = NULL;
    flame__arena *arena = NULL;
    int err = 0;

    if (renewed)
        *renewed = 0;
    if (!c || !parent_id || !*parent_id) {
        flame__status_local(st, FLAME_EINVALID, "parent_id is required");
        return FLAME_EINVALID;
    }
    /* stack message with a borrowed string: nothing in it is freed */
    m.parent_id = (char *)parent_id;
    if ((err = flame__call_unary(c, METHOD("Renew"), c->timeout_ms, &m.base,
                                 &flame__v1__renew_response__descriptor,
                                 (ProtobufCMessage **)&resp, &arena, st)) < 0)
        goto done;
    if (renewed)
        *renewed = resp->renewed;
done:
    flame__arena_unref(arena, 1);
    return err;
}

/* ------------------------------------------------------------ Spawn */

static int spawn_request(const flame_spawn_request *req, Flame__V1__SpawnRequest **out,
                         flame_status *st)
{
    Flame__V1__SpawnRequest *m = NULL;
    char detail[sizeof(st->message)];
    void **entries;
    size_t n;
    int err = 0;

    *out = NULL;
    if (!req->runner_id || !*req->runner_id) {
        flame__status_local(st, FLAME_EINVALID, "runner id is required");
        return FLAME_EINVALID;
    }
    if (!req->argv || !req->argv[0]) {
        flame__status_local(st, FLAME_EINVALID, "argv needs at least the command to run");
        return FLAME_EINVALID;
    }
    if (!(m = malloc(sizeof(*m)))) {
        err = FLAME_ENOMEM;
        goto nomem;
    }
    flame__v1__spawn_request__init(m);
    m->runner_id = m->working_dir = m->user = NULL;
    if (!(m->runner_id = strdup(req->runner_id)) ||
        !(m->working_dir = flame__strdup0(req->working_dir)) ||
        !(m->user = flame__strdup0(req->user))) {
        err = FLAME_ENOMEM;
        goto nomem;
    }
    if ((err = flame__strv_copy(req->argv, &m->argv, &m->n_argv)) < 0)
        goto nomem;
    if ((err = flame__kv_map(&flame__v1__spawn_request__env_entry__descriptor, req->env, "env",
                             &entries, &n, detail, sizeof(detail))) < 0) {
        flame__status_local(st, err, "%s", detail);
        goto done;
    }
    m->env = (Flame__V1__SpawnRequest__EnvEntry **)entries;
    m->n_env = n;
    m->timeout_ms = req->timeout_ms;
    *out = m;
    m = NULL;
    goto done;
nomem:
    flame__status_local(st, err, "out of memory");
done:
    free_msg(m);
    return err;
}

/* One SpawnResponse (or the wire-identical SpawnStreamResponse) to the
 * handler. Returns 1 when the handler asked to stop. */
static int spawn_event(const flame_spawn_handler *h, const Flame__V1__SpawnResponse *ev,
                       int *got_exit, int *code)
{
    switch (ev->event_case) {
    case FLAME__V1__SPAWN_RESPONSE__EVENT_STARTED:
        if (h->on_started)
            h->on_started(h->ud, ev->started && ev->started->exec_id ? ev->started->exec_id : "");
        break;
    case FLAME__V1__SPAWN_RESPONSE__EVENT_STDOUT:
    case FLAME__V1__SPAWN_RESPONSE__EVENT_STDERR: {
        int is_err = ev->event_case == FLAME__V1__SPAWN_RESPONSE__EVENT_STDERR;
        ProtobufCBinaryData d = is_err ? ev->stderr : ev->stdout;

        if (h->on_output && h->on_output(h->ud, is_err ? 2 : 1, d.data, d.len))
            return 1;
        break;
    }
    case FLAME__V1__SPAWN_RESPONSE__EVENT_EXITED:
        *got_exit = 1;
        *code = ev->exited ? ev->exited->exit_code : 0;
        break;
    default:
        break; /* a newer flamed's event: skip */
    }
    return 0;
}

/* The end of a Spawn or SpawnStream: the status, then the outcome. */
static int spawn_outcome(const char *rpc, int err, int rc, int stopped, int got_exit, int code,
                         int *exit_code, flame_status *st)
{
    if (err < 0) {
        flame__status_local(st, err, "%s: %s", rpc,
                            err == FLAME_ENOMEM ? "out of memory" : "flamed sent a malformed message");
        return err;
    }
    if (stopped) {
        flame__status_local(st, FLAME_ECANCELLED,
                            "%s cancelled by the caller; flamed kills the command", rpc);
        return FLAME_ECANCELLED;
    }
    if (rc < 0)
        return rc;
    if (!got_exit) {
        flame__status_local(st, FLAME_ERROR, "%s: the stream ended without the command's exit code",
                            rpc);
        return FLAME_ERROR;
    }
    *exit_code = code;
    return 0;
}

int flame_client_spawn(flame_client *c, const flame_spawn_request *req,
                       const flame_spawn_handler *h, int *exit_code, flame_status *st)
{
    static const flame_spawn_handler none = {0};
    Flame__V1__SpawnRequest *m = NULL;
    flame__call *call = NULL;
    flame__arena *arena = NULL;
    int err = 0, got_exit = 0, code = 0, stopped = 0, rc;

    if (!c || !req || !exit_code) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_spawn: NULL argument");
        return FLAME_EINVALID;
    }
    if (!h)
        h = &none;
    if ((err = spawn_request(req, &m, st)) < 0)
        goto done;
    /* one arena for every message of the stream, rewound after each */
    if ((err = flame__arena_new(0, &arena)) < 0) {
        flame__status_local(st, err, "out of memory");
        goto done;
    }
    if ((err = flame__call_start(c, METHOD("Spawn"),
                                 req->timeout_ms ? req->timeout_ms + FLAME__SPAWN_SLACK_MS : 0,
                                 &m->base, &call)) < 0) {
        flame__status_local(st, err, "Spawn: could not start the call");
        goto done;
    }
    while (!stopped) {
        Flame__V1__SpawnResponse *ev = NULL;

        flame__arena_reset(arena);
        rc = flame__call_recv(call, &flame__v1__spawn_response__descriptor, arena, h->on_tick,
                              h->ud, (ProtobufCMessage **)&ev);
        if (rc <= 0) {
            if (rc < 0)
                err = rc; /* malformed message; the call is cancelled */
            break;
        }
        if (spawn_event(h, ev, &got_exit, &code)) {
            flame__call_cancel(call);
            stopped = 1;
        }
    }
    stopped |= flame__call_ticked_out(call);
    rc = flame__call_finish(call, st);
    call = NULL;
    err = spawn_outcome("Spawn", err, rc, stopped, got_exit, code, exit_code, st);
done:
    if (call)
        flame__call_finish(call, NULL);
    free_msg(m);
    flame__arena_unref(arena, 1);
    return err;
}

static int64_t flame__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long the SpawnStream loop waits on the call while stdin may have
 * more to read (ms): the latency of an input that trickles in. */
#define FLAME__STDIN_POLL_MS 10

/* Read the next stdin chunk without blocking on an fd that has nothing yet.
 * @return bytes read (> 0), 0 at EOF, -1 when nothing is ready now. */
static ssize_t stdin_read(const flame_spawn_input *in, uint8_t *buf, size_t len)
{
    if (in->fd < 0)
        return in->read(in->ud, buf, len);
    struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, 0);
    if (pr == 0 || (pr < 0 && errno == EINTR))
        return -1;
    ssize_t n = read(in->fd, buf, len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return -1;
    return n < 0 ? 0 : n; /* a read error ends the input like EOF */
}

int flame_client_spawn_stdin(flame_client *c, const flame_spawn_request *req,
                             const flame_spawn_handler *h, const flame_spawn_input *in,
                             int *exit_code, flame_status *st)
{
    static const flame_spawn_handler none = {0};
    Flame__V1__SpawnRequest *m = NULL;
    Flame__V1__SpawnStreamRequest first = FLAME__V1__SPAWN_STREAM_REQUEST__INIT;
    flame__call *call = NULL;
    flame__arena *arena = NULL;
    uint8_t *buf = NULL;
    int err = 0, got_exit = 0, code = 0, stopped = 0, in_done = 0, rc = 0;
    int64_t next_tick_ms = 0;

    if (!c || !req || !exit_code || !in || (in->fd < 0 && !in->read)) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_spawn_stdin: NULL argument");
        return FLAME_EINVALID;
    }
    if (!h)
        h = &none;
    if ((err = spawn_request(req, &m, st)) < 0)
        goto done;
    if ((err = flame__arena_new(0, &arena)) < 0 || !(buf = malloc(FLAME_SPAWN_STDIN_CHUNK_MAX))) {
        err = FLAME_ENOMEM;
        flame__status_local(st, err, "out of memory");
        goto done;
    }
    first.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_START;
    first.start = m;
    if ((err = flame__call_open(c, METHOD("SpawnStream"),
                                req->timeout_ms ? req->timeout_ms + FLAME__SPAWN_SLACK_MS : 0,
                                &first.base, &call)) < 0) {
        flame__status_local(st, err, "SpawnStream: could not start the call");
        goto done;
    }
    next_tick_ms = flame__mono_ms() + FLAME__TICK_MS;
    while (!stopped) {
        /* Feed stdin: one chunk in flight, the next read only once it is sent. */
        int waiting_input = 0;
        if (!in_done && !flame__call_send_busy(call)) {
            if (flame__call_send_failed(call)) {
                in_done = 1; /* the call is over */
            } else {
                ssize_t n = stdin_read(in, buf, FLAME_SPAWN_STDIN_CHUNK_MAX);
                Flame__V1__SpawnStreamRequest msg = FLAME__V1__SPAWN_STREAM_REQUEST__INIT;
                if (n > 0) {
                    msg.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_STDIN;
                    msg.stdin.data = buf;
                    msg.stdin.len = (size_t)n;
                    err = flame__call_send_begin(call, &msg.base, 0);
                } else if (n == 0) {
                    msg.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_CLOSE_STDIN;
                    msg.close_stdin = 1;
                    err = flame__call_send_begin(call, &msg.base, 1);
                    in_done = 1;
                } else {
                    waiting_input = 1;
                }
                if (err < 0) {
                    flame__call_cancel(call);
                    break;
                }
            }
        }
        Flame__V1__SpawnResponse *ev = NULL;
        flame__arena_reset(arena);
        rc = flame__call_poll(call, &flame__v1__spawn_response__descriptor, arena,
                              waiting_input ? FLAME__STDIN_POLL_MS : FLAME__TICK_MS,
                              (ProtobufCMessage **)&ev);
        if (h->on_tick && flame__mono_ms() >= next_tick_ms) {
            next_tick_ms = flame__mono_ms() + FLAME__TICK_MS;
            if (h->on_tick(h->ud)) {
                flame__call_cancel(call);
                stopped = 1;
                break;
            }
        }
        if (rc == 2 || rc == 3)
            continue;
        if (rc <= 0) {
            if (rc < 0)
                err = rc; /* malformed message; the call is cancelled */
            break;
        }
        if (spawn_event(h, ev, &got_exit, &code)) {
            flame__call_cancel(call);
            stopped = 1;
        }
    }
    rc = flame__call_finish(call, st);
    call = NULL;
    err = spawn_outcome("SpawnStream", err, rc, stopped, got_exit, code, exit_code, st);
done:
    if (call)
        flame__call_finish(call, NULL);
    free(buf);
    free_msg(m);
    flame__arena_unref(arena, 1);
    return err;
}

/* ------------------------------------------------------------ Logs */

int flame_client_logs(flame_client *c, const flame_logs_request *req, const flame_logs_handler *h,
                      flame_status *st)
{
    static const flame_logs_handler none = {0};
    Flame__V1__LogsRequest m;
    flame__call *call = NULL;
    flame__arena *arena = NULL;
    int err = 0, stopped = 0, rc;

    if (!c || !req || !req->runner_id || !*req->runner_id) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_logs: NULL argument or empty runner id");
        return FLAME_EINVALID;
    }
    if (!h)
        h = &none;
    flame__v1__logs_request__init(&m);
    m.runner_id = (char *)req->runner_id;
    m.follow = req->follow ? 1 : 0;
    m.tail_lines = req->tail_lines;
    m.since_unix_nano = req->since_unix_nano;
    m.timestamps = req->timestamps ? 1 : 0;
    if ((err = flame__arena_new(0, &arena)) < 0) {
        flame__status_local(st, err, "out of memory");
        goto done;
    }
    if ((err = flame__call_start(c, METHOD("Logs"), req->timeout_ms, &m.base, &call)) < 0) {
        flame__status_local(st, err, "Logs: could not start the call");
        goto done;
    }
    while (!stopped) {
        Flame__V1__LogsResponse *ev = NULL;

        flame__arena_reset(arena);
        rc = flame__call_recv(call, &flame__v1__logs_response__descriptor, arena, h->on_tick,
                              h->ud, (ProtobufCMessage **)&ev);
        if (rc <= 0) {
            if (rc < 0)
                err = rc;
            break;
        }
        if (ev->event_case == FLAME__V1__LOGS_RESPONSE__EVENT_STDOUT ||
            ev->event_case == FLAME__V1__LOGS_RESPONSE__EVENT_STDERR) {
            int is_err = ev->event_case == FLAME__V1__LOGS_RESPONSE__EVENT_STDERR;
            ProtobufCBinaryData d = is_err ? ev->stderr : ev->stdout;

            if (h->on_output && h->on_output(h->ud, is_err ? 2 : 1, d.data, d.len)) {
                flame__call_cancel(call);
                stopped = 1;
            }
        } /* else a newer flamed's event: skip */
    }
    stopped |= flame__call_ticked_out(call);
    rc = flame__call_finish(call, st);
    call = NULL;
    if (err < 0) {
        flame__status_local(st, err, "Logs: %s", err == FLAME_ENOMEM
                                                     ? "out of memory"
                                                     : "flamed sent a malformed message");
        goto done;
    }
    if (stopped) {
        err = FLAME_ECANCELLED;
        flame__status_local(st, err, "Logs cancelled by the caller");
        goto done;
    }
    err = rc;
done:
    if (call)
        flame__call_finish(call, NULL);
    flame__arena_unref(arena, 1);
    return err;
}

/* ------------------------------------------------------------ Watch */

int flame_client_watch(flame_client *c, const flame_watch_request *req,
                       int (*fn)(void *ud, const flame_event *ev), void *ud, flame_status *st)
{
    static const flame_watch_request all = {0};
    Flame__V1__WatchRequest m = FLAME__V1__WATCH_REQUEST__INIT;
    flame__call *call = NULL;
    flame__arena *arena = NULL;
    int err = 0, stopped = 0, rc;

    if (!c || !fn) {
        flame__status_local(st, FLAME_EINVALID, "flame_client_watch: NULL argument");
        return FLAME_EINVALID;
    }
    if (!req)
        req = &all;
    /* stack message with borrowed strings: nothing in it is freed */
    m.pool = (char *)(req->pool ? req->pool : "");
    m.runner_id = (char *)(req->runner_id ? req->runner_id : "");
    m.include_existing = req->include_existing ? 1 : 0;
    m.after_sequence = req->after_sequence;
    m.parent_id = (char *)(req->parent_id ? req->parent_id : "");
    /* one arena for every event, rewound after each: an event's runner is
     * borrowed for the callback only */
    if ((err = flame__arena_new(0, &arena)) < 0) {
        flame__status_local(st, err, "out of memory");
        goto done;
    }
    if ((err = flame__call_start(c, METHOD("Watch"), req->timeout_ms, &m.base, &call)) < 0) {
        flame__status_local(st, err, "Watch: could not start the call");
        goto done;
    }
    while (!stopped) {
        Flame__V1__WatchResponse *ev = NULL;
        flame_event fe;
        flame_pull_progress pull;

        flame__arena_reset(arena);
        rc = flame__call_recv(call, &flame__v1__watch_response__descriptor, arena, req->on_tick,
                              ud, (ProtobufCMessage **)&ev);
        if (rc <= 0) {
            if (rc < 0)
                err = rc;
            break;
        }
        if (!(fe.runner = flame__runner_view(arena, ev->runner))) {
            flame__call_cancel(call);
            err = FLAME_ENOMEM;
            break;
        }
        fe.type = (int)ev->type;
        fe.sequence = ev->sequence;
        fe.time_unix_nano = ev->time_unix_nano;
        fe.pull = NULL;
        if (ev->pull) {
            pull.image = ev->pull->image ? ev->pull->image : "";
            pull.bytes_done = ev->pull->bytes_done;
            pull.bytes_total = ev->pull->bytes_total;
            pull.layers = ev->pull->layers;
            pull.layers_done = ev->pull->layers_done;
            fe.pull = &pull;
        }
        if (fn(ud, &fe)) {
            flame__call_cancel(call);
            stopped = 1;
        }
    }
    stopped |= flame__call_ticked_out(call);
    rc = flame__call_finish(call, st);
    call = NULL;
    if (err < 0) {
        flame__status_local(st, err, "Watch: %s", err == FLAME_ENOMEM ? "out of memory"
                                                                      : "flamed sent a malformed message");
        goto done;
    }
    if (stopped) {
        /* the caller ended it: not an error, whatever status the cancel produced */
        flame__status_local(st, 0, "watch stopped by the caller");
        err = 0;
        goto done;
    }
    err = rc;
done:
    if (call)
        flame__call_finish(call, NULL);
    flame__arena_unref(arena, 1);
    return err;
}
