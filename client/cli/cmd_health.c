/*
 * cmd_health.c - `flamectl health`: grpc.health.v1.Health/Check, for probes
 * (the container image's HEALTHCHECK runs it). Exit 0 only when SERVING.
 * Also cli_server_health(), which `flamectl version` shares.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HEALTH_DEFAULT_TIMEOUT_MS 5000u

enum { H_SERVICE = 's', H_TIMEOUT = 't' };

static const struct option health_opts[] = {
    {"service", required_argument, NULL, H_SERVICE},
    {"timeout", required_argument, NULL, H_TIMEOUT},
    CLI_OPT_END,
};

struct health_opts {
    const char *service;
    uint32_t timeout_ms;
};

static int health_option(void *ud, int id, const char *arg)
{
    struct health_opts *o = ud;

    if (id == H_SERVICE) {
        o->service = arg;
        return 0;
    }
    return cli_parse_u32("--timeout", arg, &o->timeout_ms);
}

int cli_server_health(cli *g, const char *service, uint32_t timeout_ms, int *status,
                      flame_status *st, int *printed)
{
    flame_client *c;
    int err;

    *printed = 0;
    memset(st, 0, sizeof(*st));
    g->timeout_ms = timeout_ms ? timeout_ms : HEALTH_DEFAULT_TIMEOUT_MS;
    if ((err = cli_client(g, &c)) < 0) {
        *printed = 1; /* cli_client() said why */
        st->code = flame_error_grpc_status(err);
        snprintf(st->message, sizeof(st->message), "cannot open a channel to '%s'", g->addr);
        return err;
    }
    return flame_client_health(c, service, status, st);
}

static int health_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {health_opts, NULL};
    struct health_opts o = {NULL, 0};
    cli_args args = {0};
    flame_status st;
    int err, status = FLAME_HEALTH_UNKNOWN, rc = 1, printed = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, health_option, &o, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl health [--service NAME] [--timeout MS]");
        goto done;
    }
    err = cli_server_health(g, o.service, o.timeout_ms, &status, &st, &printed);
    if (g->json) {
        fputs("{\"service\":", stdout);
        cli_json_string(stdout, o.service ? o.service : "");
        fputs(",\"status\":", stdout);
        if (err == 0) {
            cli_json_string(stdout, flame_health_status_name(status));
        } else {
            cli_json_string(stdout, err == FLAME_ENOTFOUND ? "SERVICE_UNKNOWN" : "UNREACHABLE");
            fputs(",\"error\":", stdout);
            cli_json_string(stdout, st.message);
        }
        fputs("}\n", stdout);
    } else if (err == 0) {
        printf("%s\n", flame_health_status_name(status));
    }
    if (err < 0 && !g->json && !printed)
        cli_fail(err, &st);
    /* probes read 0 / non-0: anything but SERVING is 1, as Docker's HEALTHCHECK wants */
    rc = err == 0 && status == FLAME_HEALTH_SERVING ? 0 : 1;
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_health = {
    "health",
    "check flamed's health (gRPC health service); exit 0 when SERVING",
    "usage: flamectl health [--service NAME] [--timeout MS]\n"
    "\n"
    "Ask flamed's standard gRPC health service (grpc.health.v1.Health/Check) and\n"
    "print SERVING (flamed answers and Docker answers /_ping) or NOT_SERVING (with\n"
    "--json, an object). Exits 0 when SERVING and 1 otherwise, also when flamed\n"
    "cannot be reached: fit for a container HEALTHCHECK or a probe. Needs no\n"
    "token unless flamed runs with --auth-health.\n"
    "\n"
    "Options:\n"
    "  -s, --service NAME  a service's health (flame.v1.RunnerService); default the server's\n"
    "  -t, --timeout MS    give up after MS milliseconds (default 5000)\n",
    health_run,
};
