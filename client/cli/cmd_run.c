/*
 * cmd_run.c - `flamectl run`: boot a runner, run one command in it, shut it
 * down. The shutdown happens on every path after a successful boot, also on
 * errors and SIGINT/SIGTERM, so `run` never leaves a runner behind.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* long-only vals above cli_boot_opts' */
enum { R_TIMEOUT = 't', R_SHUTDOWN_TIMEOUT = CLI_LONG_ONLY + 100, R_NO_STDIN };

static const struct option run_opts[] = {
    {"no-stdin", no_argument, NULL, R_NO_STDIN},
    {"timeout", required_argument, NULL, R_TIMEOUT},
    {"shutdown-timeout", required_argument, NULL, R_SHUTDOWN_TIMEOUT},
    CLI_OPT_END,
};

struct run_opts {
    cli_boot boot;
    uint32_t timeout_ms;
    uint32_t shutdown_timeout_ms;
    int no_stdin;
};

static int run_option(void *ud, int id, const char *arg)
{
    struct run_opts *o = ud;

    switch (id) {
    case R_TIMEOUT: return cli_parse_u32("--timeout", arg, &o->timeout_ms);
    case R_SHUTDOWN_TIMEOUT: return cli_parse_u32("--shutdown-timeout", arg, &o->shutdown_timeout_ms);
    case R_NO_STDIN: o->no_stdin = 1; return 0;
    }
    return cli_boot_option(&o->boot, id, arg);
}

static int run_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {cli_boot_opts, run_opts, NULL};
    struct run_opts o;
    cli_args args = {0};
    flame_client *c;
    flame_runner *r = NULL, *final = NULL;
    flame_spawn_request sreq;
    flame_status st, sd_st;
    int err, sd_err, rc = 0, code = 0;

    memset(&o, 0, sizeof(o));
    memset(&sreq, 0, sizeof(sreq));
    if ((err = cli_parse(g, argc, argv, tables, 0, run_option, &o, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (!o.boot.req.image || args.n_tail == 0) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl run --image IMAGE [OPTIONS] -- ARGV...");
        goto done;
    }
    o.boot.req.env = o.boot.env.v;
    o.boot.req.labels = o.boot.labels.v;
    o.boot.req.mounts_json = o.boot.mounts.v;
    o.boot.req.constraints = o.boot.constraints.v;
    o.boot.req.spreads = o.boot.spreads.v;
    o.boot.req.cmd = o.boot.cmd.v;
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    /* From here SIGINT only sets a flag: the runner must be shut down. */
    cli_trap_signals("flamectl: interrupted, shutting the runner down (again to force)\n");
    err = cli_boot_progress(g, c, &o.boot.req, &r, &st);
    if (err < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    if (g->json) {
        fputs("{\"type\":\"booted\",\"runner\":", stdout);
        cli_json_runner(stdout, r);
        fputs("}\n", stdout);
    }
    if (cli_interrupted()) {
        err = FLAME_ECANCELLED;
        rc = cli_failf(err, "interrupted before the command started");
    } else {
        sreq.runner_id = r->id;
        sreq.argv = (const char *const *)args.tail;
        sreq.timeout_ms = o.timeout_ms;
        if ((err = (g->json ? cli_spawn_json : cli_spawn)(c, &sreq, cli_spawn_stdin_fd(o.no_stdin),
                                                          &code, &st)) < 0)
            rc = cli_fail(err, &st);
        else
            rc = code & 0xff;
    }
    cli_progress_shutdown(g, r->id, o.shutdown_timeout_ms);
    sd_err = flame_client_shutdown(c, r->id, o.shutdown_timeout_ms, g->json ? &final : NULL, &sd_st);
    cli_progress_done(g);
    if (sd_err == 0 && g->json) {
        fputs("{\"type\":\"shut_down\",\"runner\":", stdout);
        cli_json_runner(stdout, final);
        fputs("}\n", stdout);
    }
    if (sd_err < 0) {
        int sd_rc = cli_fail(sd_err, &sd_st);

        fprintf(stderr, "flamectl: runner %s may still be running\n", r->id);
        if (err == 0)
            rc = sd_rc; /* the command worked, but a runner leaked: that is the failure */
    }
done:
    flame_runner_free(r);
    flame_runner_free(final);
    free(args.pos);
    cli_boot_free(&o.boot);
    return rc;
}

const cli_cmd cli_cmd_run = {
    "run",
    "boot a runner, run a command in it, shut it down",
    "usage: flamectl run --image IMAGE [OPTIONS] [--] ARGV...\n"
    "\n"
    "Boot a runner, run ARGV in it (as `spawn`), then shut the runner down, also\n"
    "on error or Ctrl-C. Exits with the command's exit code. With --json, JSON\n"
    "lines: {\"type\":\"booted\",\"runner\":...}, the command's lines as `spawn\n"
    "--json` prints them, then {\"type\":\"shut_down\",\"runner\":...}. Our stdin\n"
    "goes to the command as with `spawn` (not from a terminal; --no-stdin: never).\n"
    "\n"
    "Options:\n" CLI_BOOT_OPTIONS_HELP
    "  -t, --timeout MS   kill the command after MS milliseconds\n"
    "      --shutdown-timeout MS  grace between SIGTERM and SIGKILL (default 10000)\n"
    "      --no-stdin     do not forward our stdin (the command reads EOF at once)\n",
    run_run,
};
