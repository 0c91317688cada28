/*
 * cmd_version.c - `flamectl version`: libflame's version.
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

static int version_run(cli *g, int argc, char **argv)
{
    static const cli_opt none[] = {CLI_OPT_END};
    static const cli_opt *const tables[] = {none, NULL};
    cli_args args = {0};
    int err, rc = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, no_option, NULL, &args)) < 0)
        return flame_error_exit_code(err);
    if (args.n_pos || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "version: unexpected argument '%s'",
                       args.n_pos ? args.pos[0] : args.tail[0]);
        goto done;
    }
    if (g->json) {
        fputs("{\"version\":", stdout);
        cli_json_string(stdout, flame_version());
        fputs("}\n", stdout);
    } else {
        printf("flamectl %s\n", flame_version());
    }
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_version = {
    "version",
    "print flamectl's version",
    "usage: flamectl version\n",
    version_run,
};
