/*
 * cmd_logs.c - `flamectl logs`: a runner's container output (the Logs RPC),
 * stdout chunks to fd 1 and stderr chunks to fd 2, or JSON lines with --json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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
    int *write_failed = ud;

    if (write_all(stream == 2 ? 2 : 1, data, len) < 0) {
        *write_failed = 1;
        return 1;
    }
    return 0;
}

static int on_tick(void *ud)
{
    (void)ud;
    return cli_interrupted();
}

/* --since: Unix seconds (fractions allowed), or a duration ago: 30s, 5m, 2h. */
static int parse_since(const char *arg, int64_t *out_ns)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || v < 0)
        return FLAME_EINVALID;
    if (!*end) {
        *out_ns = (int64_t)(v * 1e9);
        return 0;
    }
    double unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
    if (!unit)
        return FLAME_EINVALID;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - (int64_t)(v * unit * 1e9);
    if (*out_ns < 1)
        *out_ns = 1;
    return 0;
}

enum { L_FOLLOW = 'f', L_TAIL = 'n', L_SINCE = 's', L_TIMESTAMPS = 't' };

static const struct option logs_opts[] = {
    {"follow", no_argument, NULL, L_FOLLOW},
    {"tail", required_argument, NULL, L_TAIL},
    {"since", required_argument, NULL, L_SINCE},
    {"timestamps", no_argument, NULL, L_TIMESTAMPS},
    CLI_OPT_END,
};

static int logs_option(void *ud, int id, const char *arg)
{
    flame_logs_request *r = ud;

    switch (id) {
    case L_FOLLOW: r->follow = 1; return 0;
    case L_TIMESTAMPS: r->timestamps = 1; return 0;
    case L_TAIL: return cli_parse_u32("--tail", arg, &r->tail_lines);
    case L_SINCE:
        if (parse_since(arg, &r->since_unix_nano) < 0)
        {
            fprintf(stderr, "flamectl: --since '%s': give Unix seconds (e.g. 1700000000.5) or a "
                            "duration ago (30s, 5m, 2h)\n", arg);
            return FLAME_EINVALID;
        }
        return 0;
    }
    return FLAME_ERROR;
}

static int logs_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {logs_opts, NULL};
    flame_logs_request req;
    cli_args args = {0};
    flame_client *c;
    flame_status st;
    int err, rc = 0, write_failed = 0;

    memset(&req, 0, sizeof(req));
    if ((err = cli_parse(g, argc, argv, tables, -1, logs_option, &req, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos != 1 || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID,
                       "usage: flamectl logs RUNNER_ID [-f] [--tail N] [--since T] [--timestamps]");
        goto done;
    }
    req.runner_id = args.pos[0];
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    cli_trap_signals("flamectl: interrupted\n");
    flame_logs_handler h = {.on_output = g->json ? cli_json_output : on_output,
                            .ud = &write_failed, .on_tick = on_tick};
    fflush(stdout);
    err = flame_client_logs(c, &req, &h, &st);
    if (err == FLAME_ECANCELLED && cli_interrupted())
        err = 0; /* ^C ends a follow: not an error */
    if (err < 0)
        rc = cli_fail(err, &st);
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_logs = {
    "logs",
    "print a runner's container output",
    "usage: flamectl logs RUNNER_ID [-f] [--tail N] [--since T] [--timestamps]\n"
    "\n"
    "Print the runner's container output (its main process's stdout and stderr,\n"
    "as Docker logs it): stdout to stdout, stderr to stderr.\n"
    "  -f, --follow      go on until the runner's container stops (or ^C)\n"
    "  -n, --tail N      only the last N lines, both streams counted together\n"
    "  -s, --since T     only output since T: Unix seconds (fractions allowed) or\n"
    "                    a duration ago (30s, 5m, 2h)\n"
    "  -t, --timestamps  prefix each line with Docker's RFC 3339 time\n"
    "With --json, one JSON object per line: {\"type\":\"stdout\"|\"stderr\",\"data\":TEXT}\n"
    "(\"data_base64\" when a chunk is not valid UTF-8).\n"
    "Exit codes: 0, or the error's (NOT_FOUND for an unknown runner).\n",
    logs_run,
};
