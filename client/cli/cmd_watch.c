/*
 * cmd_watch.c - `flamectl watch`: one line per runner event, as it happens.
 *
 *   SEQ TYPE RUNNER_ID POOL STATE exit=N
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    W_POOL = 'p', W_RUNNER = 'r', W_TIMEOUT = 't',
    W_EXISTING = CLI_LONG_ONLY, W_AFTER, W_PARENT,
};

static const struct option watch_opts[] = {
    {"pool", required_argument, NULL, W_POOL},
    {"runner", required_argument, NULL, W_RUNNER},
    {"existing", no_argument, NULL, W_EXISTING},
    {"timeout", required_argument, NULL, W_TIMEOUT},
    {"after", required_argument, NULL, W_AFTER},
    {"parent", required_argument, NULL, W_PARENT},
    CLI_OPT_END,
};

static int watch_option(void *ud, int id, const char *arg)
{
    flame_watch_request *w = ud;

    switch (id) {
    case W_POOL: w->pool = arg; return 0;
    case W_RUNNER: w->runner_id = arg; return 0;
    case W_EXISTING: w->include_existing = 1; return 0;
    case W_TIMEOUT: return cli_parse_u32("--timeout", arg, &w->timeout_ms);
    case W_AFTER: return cli_parse_u64("--after", arg, &w->after_sequence);
    case W_PARENT: w->parent_id = arg; return 0;
    }
    return FLAME_ERROR;
}

static int print_event(void *ud, const flame_event *ev)
{
    const cli *g = ud;
    const flame_runner *r = ev->runner;

    if (g->json) {
        printf("{\"sequence\":%llu,\"type\":", (unsigned long long)ev->sequence);
        cli_json_string(stdout, flame_event_type_name(ev->type));
        printf(",\"time_unix_nano\":%lld,\"runner\":", (long long)ev->time_unix_nano);
        cli_json_runner(stdout, r);
        if (ev->pull) {
            fputs(",\"pull\":{\"image\":", stdout);
            cli_json_string(stdout, ev->pull->image);
            printf(",\"bytes_done\":%llu,\"bytes_total\":%llu,\"layers\":%u,\"layers_done\":%u}",
                   (unsigned long long)ev->pull->bytes_done,
                   (unsigned long long)ev->pull->bytes_total, (unsigned)ev->pull->layers,
                   (unsigned)ev->pull->layers_done);
        }
        fputs("}\n", stdout);
    } else {
        printf("%llu %s %s %s %s exit=%d", (unsigned long long)ev->sequence,
               flame_event_type_name(ev->type), *r->id ? r->id : "-", *r->pool ? r->pool : "-",
               flame_runner_state_name(r->state), r->exit_code);
        if (ev->pull) /* PULLING: bytes so far / known total, layers complete / named */
            printf(" pulled=%llu/%llu layers=%u/%u", (unsigned long long)ev->pull->bytes_done,
                   (unsigned long long)ev->pull->bytes_total, (unsigned)ev->pull->layers_done,
                   (unsigned)ev->pull->layers);
        putchar('\n');
    }
    /* a line per event, now: watchers pipe this into other programs */
    return fflush(stdout) != 0 ? 1 : 0;
}

static int on_tick(void *ud)
{
    (void)ud;
    return cli_interrupted();
}

static int watch_run(cli *g, int argc, char **argv)
{
    static const struct option *const tables[] = {watch_opts, NULL};
    flame_watch_request w;
    cli_args args = {0};
    flame_client *c;
    flame_status st;
    int err, rc = 0;

    memset(&w, 0, sizeof(w));
    if ((err = cli_parse(g, argc, argv, tables, -1, watch_option, &w, &args)) != 0) {
        rc = CLI_PARSE_EXIT(err);
        goto done;
    }
    if (args.n_pos || args.n_tail) {
        rc = cli_failf(FLAME_EINVALID,
                       "usage: flamectl watch [--pool P] [--runner ID] [--existing] [--timeout MS] "
                       "[--after SEQ] [--parent ID]");
        goto done;
    }
    if ((err = cli_client(g, &c)) < 0) {
        rc = flame_error_exit_code(err);
        goto done;
    }
    cli_trap_signals(NULL);
    w.on_tick = on_tick;
    err = flame_client_watch(c, &w, print_event, g, &st);
    /* --timeout is how long the user asked to watch: reaching it is success */
    if (err == FLAME_ETIMEOUT && w.timeout_ms)
        err = 0;
    if (err < 0)
        rc = cli_fail(err, &st);
done:
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_watch = {
    "watch",
    "print runner events as they happen",
    "usage: flamectl watch [--pool POOL] [--runner ID] [--existing] [--timeout MS]\n"
    "                      [--after SEQ] [--parent ID]\n"
    "\n"
    "Print one line per runner event until interrupted or the timeout:\n"
    "  SEQ TYPE RUNNER_ID POOL STATE exit=N\n"
    "(PULLING lines add: pulled=BYTES/TOTAL layers=DONE/NAMED)\n"
    "(with --json, one JSON object per line).\n"
    "\n"
    "Options:\n"
    "  -p, --pool POOL    only runners of this pool\n"
    "  -r, --runner ID    only this runner\n"
    "      --existing     first print every current runner as an EXISTING event\n"
    "  -t, --timeout MS   stop after MS milliseconds (exit 0)\n"
    "      --after SEQ    resume: first replay the events after sequence SEQ (a watch's\n"
    "                     last printed SEQ); fails with OUT_OF_RANGE (exit 65) when\n"
    "                     flamed's history no longer reaches back: ls, then watch again\n"
    "      --parent ID    hold the leases of parent ID's runners while watching\n",
    watch_run,
};
