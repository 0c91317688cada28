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

int cli_spawn(flame_client *c, const flame_spawn_request *req, int *exit_code, flame_status *st)
{
    struct out_state o = {0};
    flame_spawn_handler h;
    int err;

    memset(&h, 0, sizeof(h));
    h.on_output = on_output;
    h.on_tick = on_tick;
    h.ud = &o;
    fflush(stdout);
    err = flame_client_spawn(c, req, &h, exit_code, st);
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

enum { S_ENV = 'e', S_WORKDIR = 'w', S_TIMEOUT = 't', S_USER = 'u' };

static const struct option spawn_opts[] = {
    {"env", required_argument, NULL, S_ENV},
    {"workdir", required_argument, NULL, S_WORKDIR},
    {"timeout", required_argument, NULL, S_TIMEOUT},
    {"user", required_argument, NULL, S_USER},
    CLI_OPT_END,
};

struct spawn_opts {
    flame_spawn_request req;
    cli_strv env;
};

static int spawn_option(void *ud, int id, const char *arg)
{
    struct spawn_opts *s = ud;

    switch (id) {
    case S_ENV: return cli_strv_push(&s->env, arg);
    case S_WORKDIR: s->req.working_dir = arg; return 0;
    case S_USER: s->req.user = arg; return 0;
    case S_TIMEOUT: return cli_parse_u32("--timeout", arg, &s->req.timeout_ms);
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
    if ((err = cli_spawn(c, &s.req, &code, &st)) < 0) {
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
    "arrive. Exits with the command's exit code.\n"
    "\n"
    "Options:\n"
    "  -e, --env K=V      extra environment variable (repeatable)\n"
    "  -w, --workdir D    working directory\n"
    "  -u, --user U       user to run as\n"
    "  -t, --timeout MS   kill the command after MS milliseconds\n",
    spawn_run,
};
