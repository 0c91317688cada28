/*
 * opts.c - flamectl's option parser and small shared helpers.
 *
 * Hand-written rather than getopt_long: GNU getopt permutes arguments, which
 * would mix the runner id of `spawn ID -- ARGV` with the command's own
 * arguments. Here options end at "--" (or at the command tail) and nothing
 * is reordered.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ------------------------------------------------------------ parser */

static const cli_opt *find_opt(const cli_opt *const *tables, const char *long_name, size_t len,
                               char short_name)
{
    for (size_t t = 0; tables && tables[t]; t++) {
        for (const cli_opt *o = tables[t]; o->long_name; o++) {
            if (short_name ? o->short_name == short_name
                           : strlen(o->long_name) == len && strncmp(o->long_name, long_name, len) == 0)
                return o;
        }
    }
    return NULL;
}

/* --json, --addr, --token-file are accepted after the verb as well. */
static int global_opt(cli *g, const char *name, size_t len, const char *inline_val, int argc,
                      char **argv, int *i)
{
    const char **dst = NULL;

    if (len == 4 && strncmp(name, "json", 4) == 0 && !inline_val) {
        g->json = 1;
        return 1;
    }
    if (len == 4 && strncmp(name, "addr", 4) == 0)
        dst = &g->addr;
    else if (len == 10 && strncmp(name, "token-file", 10) == 0)
        dst = &g->token_file;
    if (!dst)
        return 0;
    if (inline_val) {
        *dst = inline_val;
    } else if (*i + 1 < argc) {
        *dst = argv[++*i];
    } else {
        cli_failf(FLAME_EINVALID, "--%.*s needs a value", (int)len, name);
        return FLAME_EINVALID;
    }
    return 1;
}

int cli_parse(cli *g, int argc, char **argv, const cli_opt *const *tables, int tail_after,
              int (*on_opt)(void *ud, int id, const char *arg), void *ud, cli_args *out)
{
    int i, err = 0;

    memset(out, 0, sizeof(*out));
    if (!(out->pos = calloc((size_t)argc + 1, sizeof(char *)))) {
        cli_failf(FLAME_ENOMEM, "out of memory");
        return FLAME_ENOMEM;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const cli_opt *o;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') { /* positional ("-" too) */
            if (tail_after >= 0 && out->n_pos >= tail_after)
                break;
            out->pos[out->n_pos++] = argv[i];
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            int gr;

            if ((gr = global_opt(g, name, len, eq ? eq + 1 : NULL, argc, argv, &i)) < 0) {
                err = gr;
                goto done;
            }
            if (gr > 0)
                continue;
            if (!(o = find_opt(tables, name, len, 0))) {
                cli_failf(FLAME_EINVALID, "%s: unknown option '--%.*s'; see 'flamectl help %s'",
                          argv[0], (int)len, name, argv[0]);
                err = FLAME_EINVALID;
                goto done;
            }
            if (o->has_arg) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
            } else if (eq) {
                cli_failf(FLAME_EINVALID, "%s: option '--%s' takes no value", argv[0], o->long_name);
                err = FLAME_EINVALID;
                goto done;
            }
        } else {
            if (!(o = find_opt(tables, NULL, 0, a[1]))) {
                cli_failf(FLAME_EINVALID, "%s: unknown option '-%c'; see 'flamectl help %s'", argv[0],
                          a[1], argv[0]);
                err = FLAME_EINVALID;
                goto done;
            }
            if (o->has_arg) {
                if (a[2])
                    val = a + 2;
                else if (i + 1 < argc)
                    val = argv[++i];
            } else if (a[2]) {
                cli_failf(FLAME_EINVALID, "%s: option '-%c' takes no value (combine short options "
                          "separately)", argv[0], a[1]);
                err = FLAME_EINVALID;
                goto done;
            }
        }
        if (o->has_arg && !val) {
            cli_failf(FLAME_EINVALID, "%s: option '--%s' needs a value", argv[0], o->long_name);
            err = FLAME_EINVALID;
            goto done;
        }
        if ((err = on_opt(ud, o->id, val)) < 0)
            goto done;
    }
    if (i < argc) {
        out->tail = argv + i;
        out->n_tail = argc - i;
    }
done:
    if (err < 0) {
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
