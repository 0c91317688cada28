/*
 * cmd_shutdown.c - `flamectl shutdown`: stop and remove one runner, print its
 * final state.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { D_TIMEOUT = 't' };

static const struct option shutdown_opts[] = {
    {"timeout", required_argument, NULL, D_TIMEOUT},
    CLI_OPT_END,
};

static int shutdown_option(void *ud, int id, const char *arg)
{
    (void)id;
    return cli_parse_u32("--timeout", arg, ud);
}

static int shutdown_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {shutdown_opts, NULL};
    cli_args args = {0};
    flame_client *c;
    flame_runner *r = NULL;
    flame_status st;
    uint32_t timeout_ms = 0;
    int err, rc = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, shutdown_option, &timeout_ms, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos != 1 || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl shutdown RUNNER_ID [--timeout MS]");
        goto done;
    }
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    cli_progress_shutdown(g, args.pos[0], timeout_ms);
    err = flame_client_shutdown(c, args.pos[0], timeout_ms, &r, &st);
    cli_progress_done(g);
    if (err < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    if (g->json) {
        cli_json_runner(stdout, r);
        fputc('\n', stdout);
    } else {
        printf("%s\n", flame_runner_state_name(r->state));
    }
done:
    flame_runner_free(r);
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_shutdown = {
    "shutdown",
    "stop and remove a runner",
    "usage: flamectl shutdown RUNNER_ID [--timeout MS]\n"
    "\n"
    "Stop the runner (SIGTERM, then SIGKILL after the grace period) and remove\n"
    "its container unless it was booted with --keep. Prints the final state.\n"
    "Shutting down a runner that is already gone succeeds.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout MS   grace between SIGTERM and SIGKILL (default 10000)\n",
    shutdown_run,
};
