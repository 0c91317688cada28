/*
 * opts.c - flamectl's option parsing (getopt_long) and small shared helpers.
 *
 * getopt_long in REQUIRE_ORDER mode (a leading '+' in the optstring): GNU
 * getopt would otherwise permute arguments, mixing the runner id of
 * `spawn ID -- ARGV` with the command's own arguments. When getopt stops at a
 * positional, cli_parse() records it and resumes after it, so options may
 * follow positionals (`shutdown ID --timeout MS`) until "--" or the tail.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ------------------------------------------------------------ parser */

/* getopt_long vals of the options every verb takes (above any verb's). */
enum { G_ADDR = 0x1000, G_TOKEN_FILE, G_JSON, G_QUIET };

static const struct option global_opts[] = {
    {"addr", required_argument, NULL, G_ADDR},
    {"token-file", required_argument, NULL, G_TOKEN_FILE},
    {"json", no_argument, NULL, G_JSON},
    {"quiet", no_argument, NULL, G_QUIET}, /* a verb's own --quiet (ls) comes first */
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char *cli_long_abbreviated(char **argv, const struct option *longopts, int longindex)
{
    const struct option *o = &longopts[longindex];
    /* the option's own word: before its separate value, if it took one */
    int at = o->has_arg != no_argument && optarg && optind >= 2 && optarg == argv[optind - 1]
                 ? optind - 2
                 : optind - 1;
    const char *word = argv[at], *w = word + 2;
    size_t len = strcspn(w, "=");

    if (strncmp(word, "--", 2) != 0 || (strlen(o->name) == len && strncmp(o->name, w, len) == 0))
        return NULL;
    return word;
}

/* The option whose getopt val is `val`, or NULL. */
static const struct option *find_val(const struct option *longopts, int val)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == val)
            return o;
    return NULL;
}

/* Unknown or abbreviated long option: print the word up to '='. */
static int unknown_long(const char *verb, const char *word)
{
    const char *name = word + (strncmp(word, "--", 2) == 0 ? 2 : 0);

    cli_failf(FLAME_EINVALID, "%s: unknown option '--%.*s'; see 'flamectl help %s'", verb,
              (int)strcspn(name, "="), name, verb);
    return FLAME_EINVALID;
}

int cli_parse(cli *g, int argc, char **argv, const struct option *const *tables, int tail_after,
              int (*on_opt)(void *ud, int val, const char *arg), void *ud, cli_args *out)
{
    const char *verb = argv[0];
    struct option *longopts = NULL;
    char *shorts = NULL;
    size_t n_long = 0, n_short = 0;
    int err = 0, own_q = 0;

    memset(out, 0, sizeof(*out));
    for (size_t t = 0; tables && tables[t]; t++)
        for (const struct option *o = tables[t]; o->name; o++)
            n_long++;
    n_long += sizeof(global_opts) / sizeof(global_opts[0]); /* with the terminator */
    out->pos = calloc((size_t)argc + 1, sizeof(char *));
    longopts = calloc(n_long, sizeof(*longopts));
    shorts = calloc(3 + 2 * n_long + 1, 1);
    if (!out->pos || !longopts || !shorts) {
        cli_failf(FLAME_ENOMEM, "out of memory");
        err = FLAME_ENOMEM;
        goto done;
    }
    /* "+": stop at the first positional; ":": report a missing value as ':' */
    shorts[n_short++] = '+';
    shorts[n_short++] = ':';
    shorts[n_short++] = 'h';
    n_long = 0;
    for (size_t t = 0; tables && tables[t]; t++)
        for (const struct option *o = tables[t]; o->name; o++) {
            longopts[n_long++] = *o;
            if (o->val > 0 && o->val < CLI_LONG_ONLY) {
                own_q |= o->val == 'q';
                shorts[n_short++] = (char)o->val;
                if (o->has_arg == required_argument)
                    shorts[n_short++] = ':';
            }
        }
    memcpy(longopts + n_long, global_opts, sizeof(global_opts));
    if (!own_q)
        shorts[n_short++] = 'q'; /* the global -q, unless the verb has its own */

    opterr = 0; /* errors are printed below, in flamectl's words */
    optind = 0; /* glibc: start afresh (main() parsed the global options) */
    for (;;) {
        int prev = optind ? optind : 1, longindex = -1, c;
        const struct option *o;
        const char *abbrev;

        c = getopt_long(argc, argv, shorts, longopts, &longindex);
        if (c == -1) {
            if (optind == prev + 1 && strcmp(argv[prev], "--") == 0)
                break; /* "--": the rest is the tail */
            if (optind >= argc)
                break;
            if (tail_after >= 0 && out->n_pos >= tail_after)
                break; /* this positional starts the tail */
            out->pos[out->n_pos++] = argv[optind++];
            continue;
        }
        if (longindex >= 0 && (abbrev = cli_long_abbreviated(argv, longopts, longindex))) {
            err = unknown_long(verb, abbrev);
            goto done;
        }
        if (c == 'q' && !own_q)
            c = G_QUIET;
        switch (c) {
        case '?':
            if (optopt && (o = find_val(longopts, optopt)) && o->has_arg == no_argument &&
                strncmp(argv[optind - 1], "--", 2) == 0) {
                cli_failf(FLAME_EINVALID, "%s: option '--%s' takes no value", verb, o->name);
                err = FLAME_EINVALID;
            } else if (optopt && optopt < CLI_LONG_ONLY) {
                cli_failf(FLAME_EINVALID, "%s: unknown option '-%c'; see 'flamectl help %s'", verb,
                          optopt, verb);
                err = FLAME_EINVALID;
            } else {
                err = unknown_long(verb, argv[optind - 1]);
            }
            goto done;
        case ':':
            o = find_val(longopts, optopt);
            if (optopt == G_ADDR || optopt == G_TOKEN_FILE)
                cli_failf(FLAME_EINVALID, "--%s needs a value", o->name);
            else if (o)
                cli_failf(FLAME_EINVALID, "%s: option '--%s' needs a value", verb, o->name);
            else
                cli_failf(FLAME_EINVALID, "%s: option '-%c' needs a value", verb, optopt);
            err = FLAME_EINVALID;
            goto done;
        case 'h': {
            const cli_cmd *cmd = cli_find_command(verb);

            printf("%s", cmd ? cmd->usage : "");
            err = 1;
            goto done;
        }
        case G_ADDR: g->addr = optarg; break;
        case G_TOKEN_FILE: g->token_file = optarg; break;
        case G_JSON: g->json = 1; break;
        case G_QUIET: g->quiet = 1; break;
        default:
            if ((err = on_opt(ud, c, optarg)) < 0)
                goto done;
        }
    }
    if (optind < argc) {
        out->tail = argv + optind;
        out->n_tail = argc - optind;
    }
done:
    free(longopts);
    free(shorts);
    if (err != 0) {
        free(out->pos);
        memset(out, 0, sizeof(*out));
    }
    return err;
}

int cli_parse_u32(const char *what, const char *s, uint32_t *out)
{
    char *end = NULL;
    unsigned long v;

    if (!s || !isdigit((unsigned char)*s))
        goto bad;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        goto bad;
    *out = (uint32_t)v;
    return 0;
bad:
    cli_failf(FLAME_EINVALID, "%s: '%s' is not a number from 0 to %u", what, s ? s : "",
              (unsigned)UINT32_MAX);
    return FLAME_EINVALID;
}

int cli_parse_u64(const char *what, const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!s || !isdigit((unsigned char)*s))
        goto bad;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    cli_failf(FLAME_EINVALID, "%s: '%s' is not a number from 0 to %llu", what, s ? s : "",
              (unsigned long long)UINT64_MAX);
    return FLAME_EINVALID;
}

/* ------------------------------------------------------------ string vectors */

int cli_strv_push(cli_strv *sv, const char *s)
{
    const char **grown = realloc(sv->v, (sv->n + 2) * sizeof(*grown));

    if (!grown) {
        cli_failf(FLAME_ENOMEM, "out of memory");
        return FLAME_ENOMEM;
    }
    sv->v = grown;
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return 0;
}

void cli_strv_free(cli_strv *sv)
{
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* ------------------------------------------------------------ JSON output */

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void json_field(FILE *f, const char *key, const char *val, int comma)
{
    if (comma)
        fputc(',', f);
    cli_json_string(f, key);
    fputc(':', f);
    cli_json_string(f, val);
}

void cli_json_runner(FILE *f, const flame_runner *r)
{
    fputc('{', f);
    json_field(f, "id", r->id, 0);
    json_field(f, "container_id", r->container_id, 1);
    json_field(f, "name", r->name, 1);
    json_field(f, "pool", r->pool, 1);
    json_field(f, "image", r->image, 1);
    json_field(f, "network", r->network, 1);
    json_field(f, "ip_address", r->ip_address, 1);
    json_field(f, "state", flame_runner_state_name(r->state), 1);
    fputs(",\"labels\":{", f);
    for (size_t i = 0; i < r->n_labels; i++)
        json_field(f, r->label_keys[i], r->label_values[i], i > 0);
    fprintf(f, "},\"exit_code\":%d,\"oom_killed\":%s,\"keep_runner\":%s,\"created_unix_nano\":%lld",
            r->exit_code, r->oom_killed ? "true" : "false", r->keep_runner ? "true" : "false",
            (long long)r->created_unix_nano);
    json_field(f, "error", r->error, 1);
    json_field(f, "request_id", r->request_id, 1);
    json_field(f, "parent_id", r->parent_id, 1);
    fprintf(f, ",\"lease_ttl_ms\":%u", (unsigned)r->lease_ttl_ms);
    fputc('}', f);
}
