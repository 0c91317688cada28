/*
 * cli.h - flamectl's shared parts: the command table, option parsing, error
 * reporting and output helpers. One cmd_<verb>.c per verb; main.c dispatches.
 *
 * Every cmd_*.c `run` function returns the process exit code: the command's
 * own (spawn, run), 0, or flame_error_exit_code() of the error it printed.
 */
#ifndef FLAMECTL_CLI_H
#define FLAMECTL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "flame/client.h"

/* ------------------------------------------------------------ global state */

/** Global options and the lazily opened client. */
typedef struct cli {
    const char *addr;       /* --addr, $FLAMED_ADDR or the default socket */
    const char *token_file; /* --token-file or NULL */
    int json;               /* --json */
    int quiet;              /* -q, --quiet: no progress lines */
    uint32_t timeout_ms;    /* unary deadline for cli_client(); 0: libflame's (120 s) */
    flame_client *client;   /* opened by cli_client() */
} cli;

#define CLI_DEFAULT_ADDR "unix:/run/flamed/flamed.sock"

/**
 * The client, opened on first use from g->addr and g->token_file.
 * @return 0 or a FLAME_E* code, already printed.
 */
int cli_client(cli *g, flame_client **out);

/* ------------------------------------------------------------ commands */

typedef struct cli_cmd {
    const char *name;
    const char *summary; /* one line for `flamectl help` */
    const char *usage;   /* full text for `flamectl help VERB` */
    int (*run)(cli *g, int argc, char **argv); /* argv[0] is the verb */
} cli_cmd;

extern const cli_cmd cli_cmd_boot, cli_cmd_spawn, cli_cmd_watch, cli_cmd_ls, cli_cmd_shutdown,
    cli_cmd_run, cli_cmd_version, cli_cmd_help, cli_cmd_renew, cli_cmd_health, cli_cmd_logs;
/** --json output chunk as spawn prints it ({"type":"stdout","data":...}); ud points to an
 *  int set to 1 when stdout cannot be written (then returns non-zero). cmd_spawn.c. */
int cli_json_output(void *ud, int stream, const void *data, size_t len);

/** The command table, NULL-terminated (main.c). */
extern const cli_cmd *const cli_commands[];

/** The command named `name`, or NULL. */
const cli_cmd *cli_find_command(const char *name);

/* ------------------------------------------------------------ options */

/*
 * A verb's options are getopt_long `struct option` tables (flag NULL). val is
 * the short option character, or for a long-only option a value from
 * CLI_LONG_ONLY up, unique within the tables a verb passes to cli_parse().
 */
#define CLI_LONG_ONLY 256

/** Terminates an option table. */
#define CLI_OPT_END {NULL, 0, NULL, 0}

/** What is left after the options: positionals, then the command tail. */
typedef struct cli_args {
    char **pos;   /* positionals before the tail (pointers into argv) */
    int n_pos;
    char **tail;  /* after "--", or from the first positional past `tail_after` */
    int n_tail;
} cli_args;

/**
 * Parse a verb's argv (argv[0] is the verb) with getopt_long. Accepts
 * --opt VALUE, --opt=VALUE, -o VALUE, -oVALUE, the global options (--addr,
 * --token-file, --json) in any position, -h/--help (prints the verb's usage to
 * stdout), and "--" which starts the tail. Positionals and options may mix;
 * nothing is reordered. Long options are never abbreviated.
 *
 * @param tables      NULL-terminated list of option tables (see CLI_LONG_ONLY).
 * @param tail_after  -1: the tail starts only at "--"; k >= 0: the first
 *                    positional after k positionals also starts it (so
 *                    `spawn ID sh -c x` works without "--").
 * @param on_opt      called with each verb option's val and value (NULL for
 *                    none); returns 0 or a FLAME_E* code (having printed it).
 * @param[out] out    pos/tail point into argv; free out->pos with free().
 * @return 0; 1 when the usage was printed for -h/--help (exit 0 without doing
 *         anything); or FLAME_EINVALID / FLAME_ENOMEM (printed). Not
 *         thread-safe (getopt's globals).
 */
int cli_parse(cli *g, int argc, char **argv, const struct option *const *tables, int tail_after,
              int (*on_opt)(void *ud, int val, const char *arg), void *ud, cli_args *out);

/**
 * After getopt_long() matched longopts[longindex]: the argv word when it is an
 * abbreviation of the option's name (GNU getopt accepts "--ima" for
 * "--image"; flamectl does not, so a new option can never make an old command
 * line ambiguous), else NULL. Reads optind and optarg; the word is argv's.
 */
const char *cli_long_abbreviated(char **argv, const struct option *longopts, int longindex);

/** The exit code for cli_parse()'s result err != 0: 0 after --help, else err's. */
#define CLI_PARSE_EXIT(err) ((err) > 0 ? 0 : flame_error_exit_code(err))

/** Parse a decimal uint32 ("30000"); on error print "<what>: ..." and return FLAME_EINVALID. */
int cli_parse_u32(const char *what, const char *s, uint32_t *out);

/** Parse a decimal uint64; on error print "<what>: ..." and return FLAME_EINVALID. */
int cli_parse_u64(const char *what, const char *s, uint64_t *out);

/** A growable NULL-terminated string vector of borrowed strings. */
typedef struct cli_strv {
    const char **v; /* NULL until the first push; always NULL-terminated after */
    size_t n;
} cli_strv;

/** Append (borrowed) s. @return 0 or FLAME_ENOMEM (printed). */
int cli_strv_push(cli_strv *sv, const char *s);
/** Free the vector (not the strings). */
void cli_strv_free(cli_strv *sv);

/* ------------------------------------------------------------ errors */

/**
 * Print "flamectl: <STATUS_NAME>: <message>" for a failed call and return
 * flame_error_exit_code(err). st may be NULL (the error's own status then).
 */
int cli_fail(int err, const flame_status *st);

/** As cli_fail() with a formatted message. */
int cli_failf(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ signals */

/**
 * Catch SIGINT and SIGTERM into a flag instead of dying (a second one kills);
 * ignore SIGPIPE. note: written to stderr on the first signal, or NULL.
 */
void cli_trap_signals(const char *note);
/** Non-zero once SIGINT or SIGTERM arrived (async-signal-safe flag). */
int cli_interrupted(void);

/* ------------------------------------------------------------ output */

/** Write a JSON string literal (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);
/** Write a runner as one JSON object (proto field names, no newline). */
void cli_json_runner(FILE *f, const flame_runner *r);

/* ------------------------------------------------------------ progress (progress.c) */

/**
 * 1 when progress lines go out: stderr is a terminal, and neither --json nor
 * -q/--quiet was given. Thread-safe (reads g).
 */
int cli_progress_on(const cli *g);
/**
 * Show one transient status line on stderr, replacing the previous one (only
 * when cli_progress_on()). One thread at a time: the main thread, or the Boot
 * progress thread while the main thread waits for the Boot (boot_progress.c).
 */
void cli_progress(const cli *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Erase the status line (only when cli_progress_on()). */
void cli_progress_done(const cli *g);
/** "10 s" for whole seconds, else "1500 ms"; returns buf. */
const char *cli_duration(uint32_t ms, char *buf, size_t buflen);
/** The line for a Boot: what it does and how long it may wait (boot_timeout_ms, 0: 30 s). */
void cli_progress_boot(const cli *g, const flame_boot_request *req);
/** The line for a Shutdown: SIGTERM sent, up to timeout_ms (0: 10 s) before SIGKILL. */
void cli_progress_shutdown(const cli *g, const char *runner_id, uint32_t timeout_ms);

/* ------------------------------------------------------------ boot_progress.c */

/** "pulling IMAGE: 12.3 MB of 45.6 MB, 1 of 3 layers" into buf (n bytes, truncated). */
void cli_pull_text(const flame_pull_progress *p, char *buf, size_t n);
/**
 * flame_client_boot() with its progress on the status line: when
 * cli_progress_on(), a Watch of req->pool on a second thread follows this
 * Boot's runner (by request_id; a fresh "flamectl-<16 hex>" when req has none)
 * and shows its PULLING progress; the line is erased before returning. The
 * progress lines are written from that thread while the Boot call blocks the
 * main thread, so the two never write at once.
 * @return flame_client_boot()'s; *out and st as it sets them.
 */
int cli_boot_progress(const cli *g, flame_client *c, const flame_boot_request *req,
                      flame_runner **out, flame_status *st);

/* ------------------------------------------------------------ spawn (cmd_spawn.c) */

/**
 * Spawn with flamectl's handler: output to fds 1 and 2 unbuffered, cancelled
 * by SIGINT/SIGTERM (after cli_trap_signals()) or a failed write.
 * @param stdin_fd  forwarded as the command's stdin until EOF (SpawnStream);
 *                  -1: none (Spawn; the command reads EOF at once).
 * @return flame_client_spawn()'s result; st explains a cancellation.
 */
int cli_spawn(flame_client *c, const flame_spawn_request *req, int stdin_fd, int *exit_code,
              flame_status *st);

/**
 * The stdin fd spawn and run forward: 0 unless no_stdin is set or stdin is
 * a terminal (then -1: an interactive session is not a command's input).
 */
int cli_spawn_stdin_fd(int no_stdin);

/**
 * As cli_spawn(), writing JSON lines to stdout instead of the raw output (with
 * --json): {"type":"started","exec_id":...}, {"type":"stdout"|"stderr",
 * "data":TEXT} (or "data_base64" when a chunk is not valid UTF-8), and last
 * {"type":"exited","exit_code":N}. Each line is flushed as it is written.
 */
int cli_spawn_json(flame_client *c, const flame_spawn_request *req, int stdin_fd,
                   int *exit_code, flame_status *st);

/* ------------------------------------------------------------ health (cmd_health.c) */

/**
 * grpc.health.v1 Check through cli_client() with a short deadline (timeout_ms,
 * 0: 5000; set before the client is opened). service NULL: the server's.
 * @param[out] status   enum flame_health_status, when 0 is returned.
 * @param[out] st       the failure's status and message.
 * @param[out] printed  1 when the failure was already printed (opening the client).
 * @return flame_client_health()'s result.
 */
int cli_server_health(cli *g, const char *service, uint32_t timeout_ms, int *status,
                      flame_status *st, int *printed);

/* ------------------------------------------------------------ boot options (cmd_boot.c) */

/** Boot options shared by `boot` and `run`. */
typedef struct cli_boot {
    flame_boot_request req;
    cli_strv env, labels, mounts, cmd, constraints, spreads;
    const char *entrypoint[2];
} cli_boot;

/** The boot option table (long-only vals from CLI_LONG_ONLY to CLI_LONG_ONLY + 99). */
extern const struct option cli_boot_opts[];

/** Handle a cli_boot_opts option (on_opt signature, ud = cli_boot *). */
int cli_boot_option(void *ud, int id, const char *arg);

/** Free a cli_boot's vectors. */
void cli_boot_free(cli_boot *b);

/** The boot options' help text (a string literal). */
#define CLI_BOOT_OPTIONS_HELP                                                                         \
    "  -i, --image IMAGE      image to boot (required)\n"                                         \
    "      --network NET      user-defined Docker network to attach to\n"                         \
    "  -p, --pool POOL        FLAME pool (default \"default\")\n"                                 \
    "  -e, --env K=V          environment variable (repeatable)\n"                                \
    "  -l, --label K=V        Docker label (repeatable)\n"                                        \
    "  -m, --memory SIZE      memory limit: bytes or with k/m/g/t suffix (512m)\n"                \
    "      --cpus N           CPU limit, decimal (1.5)\n"                                         \
    "      --host-config JSON Docker HostConfig object; --memory/--cpus override its keys\n"      \
    "      --mount JSON       Docker Mount object (repeatable)\n"                                 \
    "      --keep             keep the container after it exits or is shut down\n"               \
    "      --pull POLICY      always, never or if-not-present (default)\n"                        \
    "      --boot-timeout MS  wait this long for the runner to run (default 30000)\n"             \
    "      --entrypoint X     override the image's entrypoint\n"                                  \
    "  -u, --user U           user to run as\n"                                                   \
    "  -w, --workdir D        working directory\n"                                                \
    "      --cmd ARG          one argument of the container's command (repeatable)\n"       \
    "      --request-id ID    idempotency key: a retried boot with it returns the same runner\n" \
    "      --parent ID        the parent that owns the runner (needed for --lease-ttl)\n"      \
    "      --lease-ttl MS     shut the runner down when the parent neither watches (watch\n"  \
    "                         --parent) nor renews (flamectl renew) for MS\n"               \
    "      --max-lifetime MS  shut the runner down MS after it started\n"                     \
    "      --idle-shutdown MS shut the runner down after MS with no spawn running\n"             \
    "      --constraint C     swarm placement constraint, e.g. node.labels.zone==a\n"          \
    "                         (flamed --engine swarm; repeatable)\n"                           \
    "      --placement-pref P swarm placement preference spread=node.labels.KEY (repeatable)\n"

#endif
