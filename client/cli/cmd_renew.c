/*
 * cmd_renew.c - `flamectl renew`: renew the leases of one parent's runners.
 */
#include <stdlib.h>

#include "cli.h"

static int no_option(void *ud, int id, const char *arg)
{
    (void)ud;
    (void)id;
    (void)arg;
    return FLAME_ERROR; /* there are none: cli_parse() reports unknown ones */
}

static int renew_run(cli *g, int argc, char **argv)
{
    static const struct option none[] = {CLI_OPT_END};
    static const struct option *const tables[] = {none, NULL};
    cli_args args = {0};
    flame_client *c;
    flame_status st;
    unsigned renewed = 0;
    int err, rc = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, no_option, NULL, &args)) != 0)
        return CLI_PARSE_EXIT(err);
    if (args.n_pos != 1 || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl renew PARENT_ID");
        goto done;
    }
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    if ((err = flame_client_renew(c, args.pos[0], &renewed, &st)) < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    if (g->json)
        printf("{\"renewed\":%u}\n", renewed);
    else
        printf("%u\n", renewed);
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_renew = {
    "renew",
    "renew the leases of a parent's runners",
    "usage: flamectl renew PARENT_ID\n"
    "\n"
    "Renew the leases of the runners booted with --parent PARENT_ID and a\n"
    "--lease-ttl, as an open `flamectl watch --parent PARENT_ID` does; print how\n"
    "many were renewed.\n",
    renew_run,
};
