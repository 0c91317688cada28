/*
 * cmd_version.c - `flamectl version`: flamectl's (libflame's) version and, when
 * flamed answers, its address and health. flamed has no version RPC: its
 * health (grpc.health.v1) is what a client can learn without a token.
 */
#include <stdlib.h>

#include "cli.h"

enum { V_TIMEOUT = 't', V_CLIENT = CLI_LONG_ONLY };

static const struct option version_opts[] = {
    {"client", no_argument, NULL, V_CLIENT},
    {"timeout", required_argument, NULL, V_TIMEOUT},
    CLI_OPT_END,
};

struct version_opts {
    int client_only;
    uint32_t timeout_ms;
};

static int version_option(void *ud, int id, const char *arg)
{
    struct version_opts *o = ud;

    if (id == V_CLIENT) {
        o->client_only = 1;
        return 0;
    }
    return cli_parse_u32("--timeout", arg, &o->timeout_ms);
}

static int version_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {version_opts, NULL};
    struct version_opts o = {0, 0};
    cli_args args = {0};
    flame_status st;
    int err = 0, rc = 0, status = FLAME_HEALTH_UNKNOWN, printed = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, version_option, &o, &args)) != 0)
        return CLI_PARSE_EXIT(err);
    if (args.n_pos || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "version: unexpected argument '%s'",
                       args.n_pos ? args.pos[0] : args.tail[0]);
        goto done;
    }
    if (!o.client_only) {
        fflush(stdout);
        err = cli_server_health(g, NULL, o.timeout_ms ? o.timeout_ms : 2000, &status, &st,
                                &printed);
    }
    if (g->json) {
        fputs("{\"version\":", stdout);
        cli_json_string(stdout, flame_version());
        if (!o.client_only) {
            fputs(",\"server\":{\"address\":", stdout);
            cli_json_string(stdout, g->addr);
            if (err == 0) {
                fputs(",\"health\":", stdout);
                cli_json_string(stdout, flame_health_status_name(status));
            } else {
                fputs(",\"error\":", stdout);
                cli_json_string(stdout, st.message);
            }
            fputc('}', stdout);
        }
        fputs("}\n", stdout);
    } else {
        printf("Client:\n Version:  %s\n", flame_version());
        if (!o.client_only) {
            printf("Server:\n Address:  %s\n", g->addr);
            if (err == 0)
                printf(" Health:   %s\n", flame_health_status_name(status));
        }
    }
    /* Like `docker version`: the versions print either way, and an unreachable
     * server is an error (the exit code says which). */
    if (err < 0) {
        fflush(stdout);
        rc = printed || g->json ? flame_error_exit_code(err) : cli_fail(err, &st);
    }
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_version = {
    "version",
    "print flamectl's version and flamed's health",
    "usage: flamectl version [--client] [--timeout MS]\n"
    "\n"
    "Print flamectl's (libflame's) version, then flamed's address and health\n"
    "(grpc.health.v1: SERVING or NOT_SERVING). Exits non-zero when flamed cannot\n"
    "be reached, with the versions printed all the same.\n"
    "\n"
    "Options:\n"
    "      --client       only flamectl's version; do not contact flamed\n"
    "  -t, --timeout MS   how long to wait for flamed (default 2000)\n",
    version_run,
};
