/*
 * cmd_ls.c - `flamectl ls`: the runners flamed tracks, as a docker-like
 * table, bare ids (--quiet) or a JSON array (--json).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { L_POOL = 'p', L_QUIET = 'q', L_TIMEOUT = 't' };

static const struct option ls_opts[] = {
    {"pool", required_argument, NULL, L_POOL},
    {"quiet", no_argument, NULL, L_QUIET},
    {"timeout", required_argument, NULL, L_TIMEOUT},
    CLI_OPT_END,
};

struct ls_opts {
    const char *pool;
    int quiet;
    uint32_t timeout_ms;
};

static int ls_option(void *ud, int id, const char *arg)
{
    struct ls_opts *o = ud;

    if (id == L_POOL)
        o->pool = arg;
    else if (id == L_TIMEOUT)
        return cli_parse_u32("--timeout", arg, &o->timeout_ms);
    else
        o->quiet = 1;
    return 0;
}

#define LS_COLS 7

static const char *const ls_heads[LS_COLS] = {"RUNNER ID", "POOL", "STATE", "NAME",
                                              "IMAGE",     "IP",   "EXIT"};

/* One row's cells; exit_buf holds the EXIT text. Empty cells show "-". */
static void ls_cells(const flame_runner *r, const char *cells[LS_COLS], char *exit_buf,
                     size_t exit_len)
{
    int exited = r->state == FLAME_RUNNER_EXITED || r->state == FLAME_RUNNER_REMOVED ||
                 r->state == FLAME_RUNNER_FAILED;

    if (exited)
        snprintf(exit_buf, exit_len, "%d%s", r->exit_code, r->oom_killed ? " (OOM)" : "");
    else
        snprintf(exit_buf, exit_len, "-");
    cells[0] = r->id;
    cells[1] = r->pool;
    cells[2] = flame_runner_state_name(r->state);
    cells[3] = r->name;
    cells[4] = r->image;
    cells[5] = r->ip_address;
    cells[6] = exit_buf;
    for (int i = 0; i < LS_COLS; i++)
        if (!cells[i] || !*cells[i])
            cells[i] = "-";
}

static void ls_row(const char *const cells[LS_COLS], const size_t width[LS_COLS])
{
    for (int i = 0; i < LS_COLS; i++) {
        if (i == LS_COLS - 1)
            printf("%s\n", cells[i]);
        else
            printf("%-*s   ", (int)width[i], cells[i]);
    }
}

static void ls_table(flame_runner *const *rs, size_t n)
{
    size_t width[LS_COLS];
    const char *cells[LS_COLS];
    char exit_buf[32];

    for (int i = 0; i < LS_COLS; i++)
        width[i] = strlen(ls_heads[i]);
    for (size_t k = 0; k < n; k++) {
        ls_cells(rs[k], cells, exit_buf, sizeof(exit_buf));
        for (int i = 0; i < LS_COLS; i++)
            if (strlen(cells[i]) > width[i])
                width[i] = strlen(cells[i]);
    }
    ls_row(ls_heads, width);
    for (size_t k = 0; k < n; k++) {
        ls_cells(rs[k], cells, exit_buf, sizeof(exit_buf));
        ls_row(cells, width);
    }
}

static int ls_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {ls_opts, NULL};
    struct ls_opts o = {0};
    cli_args args = {0};
    flame_client *c;
    flame_runner **rs = NULL;
    flame_status st;
    size_t n = 0;
    int err, rc = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, ls_option, &o, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID, "usage: flamectl ls [--pool POOL] [--quiet] [--timeout MS] [--json]");
        goto done;
    }
    if (o.timeout_ms)
        g->timeout_ms = o.timeout_ms;
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    if ((err = flame_client_list(c, o.pool, &rs, &n, &st)) < 0) {
        rc = cli_fail(err, &st);
        goto done;
    }
    if (o.quiet) {
        for (size_t k = 0; k < n; k++)
            printf("%s\n", rs[k]->id);
    } else if (g->json) {
        fputc('[', stdout);
        for (size_t k = 0; k < n; k++) {
            if (k)
                fputc(',', stdout);
            cli_json_runner(stdout, rs[k]);
        }
        fputs("]\n", stdout);
    } else {
        ls_table(rs, n);
    }
done:
    flame_runner_list_free(rs, n);
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_ls = {
    "ls",
    "list runners",
    "usage: flamectl ls [--pool POOL] [--quiet] [--timeout MS] [--json]\n"
    "\n"
    "List the runners flamed tracks, oldest first.\n"
    "\n"
    "Options:\n"
    "  -p, --pool POOL    only runners of this pool\n"
    "  -q, --quiet        print runner ids only\n"
    "  -t, --timeout MS   the call's deadline (default 120000); while flamed adopts its\n"
    "                     runners after a start, List waits for that within it\n"
    "      --json         print a JSON array of runners\n",
    ls_run,
};
