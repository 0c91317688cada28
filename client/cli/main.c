/*
 * main.c - flamectl: global options, the command table, the client, errors
 * and signals. Each verb lives in its own cmd_<verb>.c.
 *
 *   flamectl [--addr ADDR] [--token-file FILE] [--json] VERB [ARGS...]
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const cli_cmd *const cli_commands[] = {
    &cli_cmd_boot,  &cli_cmd_spawn,  &cli_cmd_run,     &cli_cmd_watch, &cli_cmd_ls,
    &cli_cmd_shutdown, &cli_cmd_renew, &cli_cmd_logs, &cli_cmd_health, &cli_cmd_version, &cli_cmd_help, NULL,
};

const cli_cmd *cli_find_command(const char *name)
{
    for (size_t i = 0; cli_commands[i]; i++)
        if (strcmp(cli_commands[i]->name, name) == 0)
            return cli_commands[i];
    return NULL;
}

/* ------------------------------------------------------------ errors */

static int vfail(int err, int grpc_code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vfail(int err, int grpc_code, const char *fmt, va_list ap)
{
    fprintf(stderr, "flamectl: %s: ", flame_grpc_status_name(grpc_code));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return flame_error_exit_code(err);
}

static int fail_fmt(int err, int grpc_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_fmt(int err, int grpc_code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(err, grpc_code, fmt, ap);
    va_end(ap);
    return rc;
}

/* The address cli_client() dialled, for the "is flamed running?" hint. */
static const char *dialled_addr;

int cli_fail(int err, const flame_status *st)
{
    int code = st && st->code ? st->code : flame_error_grpc_status(err);
    const char *msg = st && st->message[0] ? st->message : flame_error_name(err);

    if (err == 0)
        err = FLAME_ERROR; /* a caller bug, but never exit 0 on a failure path */
    /* gRPC's own connect failure, not flamed saying Docker is unavailable */
    if (err == FLAME_EUNAVAILABLE && dialled_addr && strstr(msg, "failed to connect"))
        return fail_fmt(err, code, "%s (is flamed listening on %s? set --addr or $FLAMED_ADDR)", msg,
                        dialled_addr);
    /* flamed's flame-reason (WATCH_TOO_SLOW, WATCH_HISTORY_GONE, ...): for scripts */
    if (st && st->reason[0])
        return fail_fmt(err, code, "%s [%s]", msg, st->reason);
    return fail_fmt(err, code, "%s", msg);
}

int cli_failf(int err, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(err, flame_error_grpc_status(err), fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t interrupted;
static const char *interrupt_note; /* set before the handler is installed */

static void on_signal(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
    /* write(2) is async-signal-safe; the result does not matter here */
    if (interrupt_note && write(2, interrupt_note, strlen(interrupt_note)) < 0)
        interrupted = 1;
}

void cli_trap_signals(const char *note)
{
    struct sigaction sa;

    interrupt_note = note;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int cli_interrupted(void)
{
    return interrupted != 0;
}

/* ------------------------------------------------------------ client */

/* The token file's first line, without surrounding whitespace. */
static int read_token(const char *path, char **out)
{
    FILE *f = NULL;
    char buf[8192], *s, *e;
    size_t n;
    int err = 0;

    *out = NULL;
    if (!(f = fopen(path, "r"))) {
        cli_failf(FLAME_EINVALID, "cannot read token file '%s': %s", path, strerror(errno));
        err = FLAME_EINVALID;
        goto done;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    if (ferror(f)) {
        cli_failf(FLAME_EINVALID, "cannot read token file '%s': %s", path, strerror(errno));
        err = FLAME_EINVALID;
        goto done;
    }
    buf[n] = '\0';
    for (s = buf; *s && isspace((unsigned char)*s); s++)
        ;
    for (e = s; *e && *e != '\n' && *e != '\r'; e++)
        ;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *e = '\0';
    if (!*s) {
        cli_failf(FLAME_EINVALID, "token file '%s' is empty", path);
        err = FLAME_EINVALID;
        goto done;
    }
    if (!(*out = strdup(s))) {
        cli_failf(FLAME_ENOMEM, "out of memory");
        err = FLAME_ENOMEM;
    }
done:
    if (f)
        fclose(f);
    return err;
}

int cli_client(cli *g, flame_client **out)
{
    flame_client_options opts;
    char *token = NULL;
    int err = 0;

    if (g->client) {
        *out = g->client;
        return 0;
    }
    memset(&opts, 0, sizeof(opts));
    if (g->token_file && (err = read_token(g->token_file, &token)) < 0)
        goto done;
    opts.bearer_token = token;
    opts.timeout_ms = g->timeout_ms;
    if ((err = flame_client_open(&g->client, g->addr, &opts)) < 0) {
        cli_failf(err, "cannot open a channel to '%s'", g->addr);
        goto done;
    }
    dialled_addr = g->addr;
    *out = g->client;
done:
    free(token);
    return err;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: flamectl [--addr ADDR] [--token-file FILE] [--json] [-q] COMMAND [ARGS...]\n"
            "\n"
            "Boot, use and shut down FLAME runners through flamed.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fprintf(f,
            "\n"
            "Global options:\n"
            "  --addr ADDR        flamed's gRPC address (default $FLAMED_ADDR or %s)\n"
            "  --token-file FILE  send the file's first line as a bearer token\n"
            "  --json             machine-readable output (JSON lines for streams)\n"
            "  -q, --quiet        no progress lines (they go to stderr, on a terminal only)\n"
            "\n"
            "Run 'flamectl help COMMAND' or 'flamectl COMMAND --help' for a command's options.\n",
            CLI_DEFAULT_ADDR);
}

static int no_option(void *ud, int val, const char *arg)
{
    (void)ud;
    (void)val;
    (void)arg;
    return FLAME_ERROR; /* there are none: cli_parse() reports unknown ones */
}

static int help_run(cli *g, int argc, char **argv)
{
    static const struct option none[] = {CLI_OPT_END};
    static const struct option *const tables[] = {none, NULL};
    const cli_cmd *cmd;
    cli_args args = {0};
    int err, rc = 0;

    if ((err = cli_parse(g, argc, argv, tables, -1, no_option, NULL, &args)) != 0)
        return CLI_PARSE_EXIT(err);
    if (args.n_pos + args.n_tail == 0)
        usage(stdout);
    else if (!(cmd = cli_find_command(args.n_pos ? args.pos[0] : args.tail[0])))
        rc = cli_failf(FLAME_EINVALID, "unknown command '%s'; see 'flamectl help'",
                       args.n_pos ? args.pos[0] : args.tail[0]);
    else
        printf("%s", cmd->usage);
    free(args.pos);
    return rc;
}

const cli_cmd cli_cmd_help = {
    "help",
    "show help for flamectl or one command",
    "usage: flamectl help [COMMAND]\n",
    help_run,
};

/* getopt_long vals of the global options without a short form */
enum { M_ADDR = CLI_LONG_ONLY, M_TOKEN_FILE, M_JSON, M_VERSION };

int main(int argc, char **argv)
{
    static const struct option global[] = {
        {"addr", required_argument, NULL, M_ADDR},
        {"token-file", required_argument, NULL, M_TOKEN_FILE},
        {"json", no_argument, NULL, M_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, M_VERSION},
        CLI_OPT_END,
    };
    cli g;
    const cli_cmd *cmd;
    const char *env_addr = getenv("FLAMED_ADDR");
    const char *abbrev = NULL;
    int c, rc, longindex;

    memset(&g, 0, sizeof(g));
    g.addr = env_addr && *env_addr ? env_addr : CLI_DEFAULT_ADDR;
    opterr = 0;
    /* "+": the global options end at the verb, whose own options follow it */
    while ((c = getopt_long(argc, argv, "+:hq", global, (longindex = -1, &longindex))) != -1) {
        if (longindex >= 0 && (abbrev = cli_long_abbreviated(argv, global, longindex)))
            c = '?';
        switch (c) {
        case M_JSON: g.json = 1; break;
        case 'q': g.quiet = 1; break;
        case M_ADDR: g.addr = optarg; break;
        case M_TOKEN_FILE: g.token_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case M_VERSION: printf("flamectl %s\n", flame_version()); return 0;
        case ':':
            return cli_failf(FLAME_EINVALID, "%s needs a value", argv[optind - 1]);
        default:
            if (!abbrev && optopt > 0 && optopt < CLI_LONG_ONLY)
                return cli_failf(FLAME_EINVALID,
                                 "unknown global option '-%c'; see 'flamectl help'", optopt);
            return cli_failf(FLAME_EINVALID, "unknown global option '%s'; see 'flamectl help'",
                             abbrev ? abbrev : argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return flame_error_exit_code(FLAME_EINVALID);
    }
    if (!(cmd = cli_find_command(argv[optind])))
        return cli_failf(FLAME_EINVALID, "unknown command '%s'; see 'flamectl help'", argv[optind]);
    rc = cmd->run(&g, argc - optind, argv + optind);
    flame_client_close(g.client);
    return rc;
}
