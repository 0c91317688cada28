/*
 * cmd_boot.c - `flamectl boot`: boot one runner and print its id. Also owns
 * the boot option table that `flamectl run` shares.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    B_IMAGE = 'i', B_POOL = 'p', B_ENV = 'e', B_LABEL = 'l', B_MEMORY = 'm', B_USER = 'u',
    B_WORKDIR = 'w',
    B_NETWORK = CLI_LONG_ONLY, B_CPUS, B_HOST_CONFIG, B_MOUNT, B_KEEP, B_PULL, B_BOOT_TIMEOUT,
    B_ENTRYPOINT, B_CMD, B_REQUEST_ID, B_PARENT, B_LEASE_TTL, B_MAX_LIFETIME, B_IDLE_SHUTDOWN,
    B_CONSTRAINT, B_PLACEMENT_PREF,
};

const struct option cli_boot_opts[] = {
    {"image", required_argument, NULL, B_IMAGE},
    {"network", required_argument, NULL, B_NETWORK},
    {"pool", required_argument, NULL, B_POOL},
    {"env", required_argument, NULL, B_ENV},
    {"label", required_argument, NULL, B_LABEL},
    {"memory", required_argument, NULL, B_MEMORY},
    {"cpus", required_argument, NULL, B_CPUS},
    {"host-config", required_argument, NULL, B_HOST_CONFIG},
    {"mount", required_argument, NULL, B_MOUNT},
    {"keep", no_argument, NULL, B_KEEP},
    {"pull", required_argument, NULL, B_PULL},
    {"boot-timeout", required_argument, NULL, B_BOOT_TIMEOUT},
    {"entrypoint", required_argument, NULL, B_ENTRYPOINT},
    {"user", required_argument, NULL, B_USER},
    {"workdir", required_argument, NULL, B_WORKDIR},
    {"cmd", required_argument, NULL, B_CMD},
    {"request-id", required_argument, NULL, B_REQUEST_ID},
    {"parent", required_argument, NULL, B_PARENT},
    {"lease-ttl", required_argument, NULL, B_LEASE_TTL},
    {"max-lifetime", required_argument, NULL, B_MAX_LIFETIME},
    {"idle-shutdown", required_argument, NULL, B_IDLE_SHUTDOWN},
    {"constraint", required_argument, NULL, B_CONSTRAINT},
    {"placement-pref", required_argument, NULL, B_PLACEMENT_PREF},
    CLI_OPT_END,
};

int cli_boot_option(void *ud, int id, const char *arg)
{
    cli_boot *b = ud;
    flame_boot_request *r = &b->req;

    switch (id) {
    case B_IMAGE: r->image = arg; return 0;
    case B_NETWORK: r->network = arg; return 0;
    case B_POOL: r->pool = arg; return 0;
    case B_USER: r->user = arg; return 0;
    case B_WORKDIR: r->working_dir = arg; return 0;
    case B_HOST_CONFIG: r->host_config_json = arg; return 0;
    case B_KEEP: r->keep_runner = 1; return 0;
    case B_ENV: return cli_strv_push(&b->env, arg);
    case B_LABEL: return cli_strv_push(&b->labels, arg);
    case B_MOUNT: return cli_strv_push(&b->mounts, arg);
    case B_CMD: return cli_strv_push(&b->cmd, arg);
    case B_CONSTRAINT: return cli_strv_push(&b->constraints, arg);
    case B_PLACEMENT_PREF:
        /* The docker CLI's form: spread=DESCRIPTOR (the only preference kind). */
        if (strncmp(arg, "spread=", 7) != 0 || !arg[7]) {
            cli_failf(FLAME_EINVALID, "--placement-pref: '%s' is not spread=node.labels.KEY", arg);
            return FLAME_EINVALID;
        }
        return cli_strv_push(&b->spreads, arg + 7);
    case B_ENTRYPOINT:
        b->entrypoint[0] = arg;
        b->entrypoint[1] = NULL;
        r->entrypoint = b->entrypoint;
        return 0;
    case B_BOOT_TIMEOUT: return cli_parse_u32("--boot-timeout", arg, &r->boot_timeout_ms);
    case B_REQUEST_ID: r->request_id = arg; return 0;
    case B_PARENT: r->parent_id = arg; return 0;
    case B_LEASE_TTL: return cli_parse_u32("--lease-ttl", arg, &r->lease_ttl_ms);
    case B_MAX_LIFETIME: return cli_parse_u64("--max-lifetime", arg, &r->max_lifetime_ms);
    case B_IDLE_SHUTDOWN: return cli_parse_u64("--idle-shutdown", arg, &r->idle_shutdown_after_ms);
    case B_MEMORY:
        if (flame_parse_memory_bytes(arg, &r->memory_bytes) < 0) {
            cli_failf(FLAME_EINVALID, "--memory: '%s' is not a size: use bytes or a k, m, g or t "
                      "suffix, e.g. 512m", arg);
            return FLAME_EINVALID;
        }
        return 0;
    case B_CPUS:
        if (flame_parse_nano_cpus(arg, &r->nano_cpus) < 0) {
            cli_failf(FLAME_EINVALID, "--cpus: '%s' is not a CPU count, e.g. 1.5", arg);
            return FLAME_EINVALID;
        }
        return 0;
    case B_PULL:
        if (strcmp(arg, "always") == 0)
            r->pull_policy = FLAME_PULL_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            r->pull_policy = FLAME_PULL_NEVER;
        else if (strcmp(arg, "if-not-present") == 0 || strcmp(arg, "missing") == 0)
            r->pull_policy = FLAME_PULL_IF_NOT_PRESENT;
        else {
            cli_failf(FLAME_EINVALID, "--pull: '%s' is not always, never or if-not-present", arg);
            return FLAME_EINVALID;
        }
        return 0;
    }
    cli_failf(FLAME_ERROR, "boot: unhandled option %d", id);
    return FLAME_ERROR;
}

void cli_boot_free(cli_boot *b)
{
    cli_strv_free(&b->env);
    cli_strv_free(&b->labels);
    cli_strv_free(&b->mounts);
    cli_strv_free(&b->cmd);
    cli_strv_free(&b->constraints);
    cli_strv_free(&b->spreads);
}

static int boot_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {cli_boot_opts, NULL};
    cli_boot b;
    cli_args args = {0};
    flame_client *c;
    flame_runner *r = NULL;
    flame_status st;
    int err, rc = 0;

    memset(&b, 0, sizeof(b));
    if ((err = cli_parse(g, argc, argv, tables, -1, cli_boot_option, &b, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos > 0) {
        rc = cli_failf(FLAME_EINVALID, "boot: unexpected argument '%s'; put the command after --",
                       args.pos[0]);
        goto done;
    }
    if (!b.req.image) {
        rc = cli_failf(FLAME_EINVALID, "boot: --image is required");
        goto done;
    }
    if (args.n_tail && b.cmd.n) {
        rc = cli_failf(FLAME_EINVALID, "boot: give the command with --cmd or after --, not both");
        goto done;
    }
    for (int i = 0; i < args.n_tail; i++)
        if ((err = cli_strv_push(&b.cmd, args.tail[i])) < 0) {
            rc = flame_error_exit_code(err);
            goto done;
        }
    b.req.env = b.env.v;
    b.req.labels = b.labels.v;
    b.req.mounts_json = b.mounts.v;
    b.req.constraints = b.constraints.v;
    b.req.spreads = b.spreads.v;
    b.req.cmd = b.cmd.v;
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    err = cli_boot_progress(g, c, &b.req, &r, &st);
    if (err < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    if (g->json) {
        cli_json_runner(stdout, r);
        fputc('\n', stdout);
    } else {
        printf("%s\n", r->id);
    }
done:
    flame_runner_free(r);
    free(args.pos);
    cli_boot_free(&b);
    return rc;
}

const cli_cmd cli_cmd_boot = {
    "boot",
    "boot a runner and print its id",
    "usage: flamectl boot --image IMAGE [OPTIONS] [-- CMD...]\n"
    "\n"
    "Boot a runner (a container from IMAGE) and wait until it runs; print its id\n"
    "(with --json, the runner). CMD replaces the image's command.\n"
    "\n"
    "Options:\n" CLI_BOOT_OPTIONS_HELP,
    boot_run,
};
