/*
 * cmd_spawn.c - `flamectl spawn`: run a command in a runner, stream its
 * stdout and stderr to ours as they arrive, exit with its exit code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct out_state {
    int write_errno; /* first failed write to stdout/stderr, 0 if none */
};

/* Write everything, unbuffered: output must appear as the command makes it. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int on_output(void *ud, int stream, const void *data, size_t len)
{
    struct out_state *o = ud;

    if (write_all(stream == 2 ? 2 : 1, data, len) < 0) {
        o->write_errno = errno;
        return 1; /* cancel: nobody reads the output any more */
    }
    return 0;
}

static int on_tick(void *ud)
{
    (void)ud;
    return cli_interrupted();
}

int cli_spawn_stdin_fd(int no_stdin)
{
    return no_stdin || isatty(0) ? -1 : 0;
}

/* Spawn, or SpawnStream when there is a stdin to forward. */
static int spawn_call(flame_client *c, const flame_spawn_request *req, const flame_spawn_handler *h,
                      int stdin_fd, int *exit_code, flame_status *st)
{
    if (stdin_fd < 0)
        return flame_client_spawn(c, req, h, exit_code, st);
    flame_spawn_input in = {.fd = stdin_fd};
    int err = flame_client_spawn_stdin(c, req, h, &in, exit_code, st);
    /* gRPC's own UNIMPLEMENTED (no flame-reason): the method is unknown. */
    if (err == FLAME_EUNIMPLEMENTED && st && !st->reason[0])
        snprintf(st->message, sizeof(st->message),
                 "flamed does not serve SpawnStream (it is older than this flamectl): pass "
                 "--no-stdin to run the command without stdin");
    return err;
}

int cli_spawn(flame_client *c, const flame_spawn_request *req, int stdin_fd, int *exit_code,
              flame_status *st)
{
    struct out_state o = {0};
    flame_spawn_handler h;
    int err;

    memset(&h, 0, sizeof(h));
    h.on_output = on_output;
    h.on_tick = on_tick;
    h.ud = &o;
    fflush(stdout);
    err = spawn_call(c, req, &h, stdin_fd, exit_code, st);
    if (err == FLAME_ECANCELLED && st) {
        if (o.write_errno)
            snprintf(st->message, sizeof(st->message),
                     "could not write the command's output (%s); the command was killed",
                     strerror(o.write_errno));
        else if (cli_interrupted())
            snprintf(st->message, sizeof(st->message), "interrupted; the command was killed");
    }
    return err;
}

/* ---- --json: one JSON object per line ---- */

struct json_state {
    int write_failed;
};

/* 1 when p[0..len) is valid UTF-8 without NUL (a JSON string carries it as text). */
static int is_utf8_text(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t n;            /* continuation bytes */
        unsigned lo = 0x80, hi = 0xbf; /* range of the first continuation byte */

        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return 0; /* a continuation byte first, an overlong lead, or above U+10FFFF */
        if (len - i <= n || p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

static void put_base64(FILE *f, const unsigned char *p, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    fputc('"', f);
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);

        fputc(a[v >> 18 & 63], f);
        fputc(a[v >> 12 & 63], f);
        fputc(i + 1 < len ? a[v >> 6 & 63] : '=', f);
        fputc(i + 2 < len ? a[v & 63] : '=', f);
    }
    fputc('"', f);
}

static void json_started(void *ud, const char *exec_id)
{
    struct json_state *j = ud;

    fputs("{\"type\":\"started\",\"exec_id\":", stdout);
    cli_json_string(stdout, exec_id);
    fputs("}\n", stdout);
    j->write_failed |= fflush(stdout) != 0;
}

int cli_json_output(void *ud, int stream, const void *data, size_t len)
{
    struct json_state *j = ud;
    char *text;

    printf("{\"type\":\"%s\",", stream == 2 ? "stderr" : "stdout");
    if (is_utf8_text(data, len) && (text = strndup(data, len))) {
        fputs("\"data\":", stdout);
        cli_json_string(stdout, text);
        free(text);
    } else {
        fputs("\"data_base64\":", stdout);
        put_base64(stdout, data, len);
    }
    fputs("}\n", stdout);
    if (fflush(stdout) != 0)
        j->write_failed = 1;
    return j->write_failed; /* cancel: nobody reads the output any more */
}

int cli_spawn_json(flame_client *c, const flame_spawn_request *req, int stdin_fd,
                   int *exit_code, flame_status *st)
{
    struct json_state j = {0};
    flame_spawn_handler h;
    int err;

    memset(&h, 0, sizeof(h));
    h.on_started = json_started;
    h.on_output = cli_json_output;
    h.on_tick = on_tick;
    h.ud = &j;
    fflush(stdout);
    err = spawn_call(c, req, &h, stdin_fd, exit_code, st);
    if (err == 0) {
        printf("{\"type\":\"exited\",\"exit_code\":%d}\n", *exit_code);
        fflush(stdout);
    } else if (err == FLAME_ECANCELLED && st && (j.write_failed || cli_interrupted())) {
        snprintf(st->message, sizeof(st->message), "%s; the command was killed",
                 j.write_failed ? "could not write the command's output" : "interrupted");
    }
    return err;
}

enum { S_ENV = 'e', S_WORKDIR = 'w', S_TIMEOUT = 't', S_USER = 'u', S_NO_STDIN = CLI_LONG_ONLY + 200 };

static const struct option spawn_opts[] = {
    {"no-stdin", no_argument, NULL, S_NO_STDIN},
    {"env", required_argument, NULL, S_ENV},
    {"workdir", required_argument, NULL, S_WORKDIR},
    {"timeout", required_argument, NULL, S_TIMEOUT},
    {"user", required_argument, NULL, S_USER},
    CLI_OPT_END,
};

struct spawn_opts {
    flame_spawn_request req;
    cli_strv env;
    int no_stdin;
};

static int spawn_option(void *ud, int id, const char *arg)
{
    struct spawn_opts *s = ud;

    switch (id) {
    case S_ENV: return cli_strv_push(&s->env, arg);
    case S_WORKDIR: s->req.working_dir = arg; return 0;
    case S_USER: s->req.user = arg; return 0;
    case S_TIMEOUT: return cli_parse_u32("--timeout", arg, &s->req.timeout_ms);
    case S_NO_STDIN: s->no_stdin = 1; return 0;
    }
    return FLAME_ERROR;
}

static int spawn_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {spawn_opts, NULL};
    struct spawn_opts s;
    cli_args args = {0};
    flame_client *c;
    flame_status st;
    int err, rc = 0, code = 0;

    memset(&s, 0, sizeof(s));
    if ((err = cli_parse(g, argc, argv, tables, 1, spawn_option, &s, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos != 1 || args.n_tail == 0) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl spawn RUNNER_ID [OPTIONS] -- ARGV...");
        goto done;
    }
    s.req.runner_id = args.pos[0];
    s.req.argv = (const char *const *)args.tail;
    s.req.env = s.env.v;
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    cli_trap_signals("flamectl: interrupted, stopping the command\n");
    if ((err = (g->json ? cli_spawn_json : cli_spawn)(c, &s.req, cli_spawn_stdin_fd(s.no_stdin),
                                                      &code, &st)) < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    rc = code & 0xff;
done:
    free(args.pos);
    cli_strv_free(&s.env);
    return rc;
}

const cli_cmd cli_cmd_spawn = {
    "spawn",
    "run a command in a runner, streaming its output",
    "usage: flamectl spawn RUNNER_ID [OPTIONS] [--] ARGV...\n"
    "\n"
    "Run ARGV (no shell) in the runner; its stdout and stderr go to ours as they\n"
    "arrive. Exits with the command's exit code. With --json, one JSON object per\n"
    "line instead: {\"type\":\"started\",\"exec_id\":...}, {\"type\":\"stdout\" or\n"
    "\"stderr\",\"data\":TEXT} (\"data_base64\" when a chunk is not valid UTF-8), then\n"
    "{\"type\":\"exited\",\"exit_code\":N}.\n"
    "\n"
    "When our stdin is not a terminal (a pipe, a file, /dev/null), it is forwarded\n"
    "to the command's stdin until EOF, then closed (the command reads EOF), with\n"
    "backpressure: `echo data | flamectl spawn R -- cat` prints `data`. From a\n"
    "terminal, or with --no-stdin, the command gets no stdin (EOF at once).\n"
    "\n"
    "Options:\n"
    "  -e, --env K=V      extra environment variable (repeatable)\n"
    "  -w, --workdir D    working directory\n"
    "  -u, --user U       user to run as\n"
    "  -t, --timeout MS   kill the command after MS milliseconds\n"
    "      --no-stdin     do not forward our stdin (the command reads EOF at once)\n",
    spawn_run,
};
