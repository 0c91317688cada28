/* Bearer tokens and caller identities; see auth.h. */
#include "rpc/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame/error.h"

struct token {
    char *name;
    char *secret;
    size_t secret_len;
    char **pools; /* NULL: all pools */
    size_t n_pools;
};

struct rpc_auth {
    struct token *tokens;
    size_t n;
};

static void token_free(struct token *t)
{
    free(t->name);
    free(t->secret);
    for (size_t i = 0; i < t->n_pools; i++)
        free(t->pools[i]);
    free(t->pools);
}

void rpc_auth_free(rpc_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        token_free(&a->tokens[i]);
    free(a->tokens);
    free(a);
}

size_t rpc_auth_count(const rpc_auth *a) { return a ? a->n : 0; }

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Parse "name:token[:pool,pool]" into t. Returns 0 or -1. */
static int parse_line(char *line, struct token *t)
{
    char *name = line, *secret = strchr(line, ':');
    if (!secret)
        return -1;
    *secret++ = '\0';
    char *pools = strchr(secret, ':');
    if (pools)
        *pools++ = '\0';
    name = trim(name);
    secret = trim(secret);
    if (!name[0] || !secret[0] || strlen(secret) < 16)
        return -1;
    for (const char *p = secret; *p; p++)
        if (isspace((unsigned char)*p))
            return -1;
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    t->secret = strdup(secret);
    t->secret_len = strlen(secret);
    if (!t->name || !t->secret)
        goto fail;
    if (pools) {
        for (char *next = pools, *p; next;) {
            p = next;
            next = strchr(p, ',');
            if (next)
                *next++ = '\0';
            p = trim(p);
            if (!p[0])
                continue;
            char **np = realloc(t->pools, (t->n_pools + 1) * sizeof(*np));
            if (!np)
                goto fail;
            t->pools = np;
            if (!(t->pools[t->n_pools] = strdup(p)))
                goto fail;
            t->n_pools++;
        }
        if (t->n_pools == 0)
            goto fail; /* "name:token:" with no pool is a mistake, not "all pools" */
    }
    return 0;
fail:
    token_free(t);
    memset(t, 0, sizeof(*t));
    return -1;
}

int rpc_auth_load(rpc_auth **out, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read tokens file %s", path);
        return FLAME_EINVALID;
    }
    rpc_auth *a = calloc(1, sizeof(*a));
    int rc = 0, lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    if (!a) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *l = trim(line);
        if (!l[0])
            continue;
        struct token t;
        if (parse_line(l, &t) < 0) {
            snprintf(err, errlen, "%s:%d: expected name:token or name:token:pool-a,pool-b (tokens "
                                  "at least 16 characters, no spaces)", path, lineno);
            rc = FLAME_EINVALID;
            goto done;
        }
        for (size_t i = 0; i < a->n; i++) {
            if (strcmp(a->tokens[i].name, t.name) == 0) {
                snprintf(err, errlen, "%s:%d: token name '%s' is used twice", path, lineno, t.name);
                token_free(&t);
                rc = FLAME_EINVALID;
                goto done;
            }
        }
        struct token *nt = realloc(a->tokens, (a->n + 1) * sizeof(*nt));
        if (!nt) {
            token_free(&t);
            rc = FLAME_ENOMEM;
            goto done;
        }
        a->tokens = nt;
        a->tokens[a->n++] = t;
    }
    if (a->n == 0) {
        snprintf(err, errlen, "%s holds no token", path);
        rc = FLAME_EINVALID;
    }
done:
    free(line);
    fclose(f);
    if (rc < 0) {
        rpc_auth_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Constant-time equality for the secret: time depends only on the lengths. */
static int secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(b[i] ^ a[i % (alen ? alen : 1)]);
    return diff == 0 && alen > 0;
}

int rpc_auth_check(const rpc_auth *a, const char *authorization, struct caller_identity *id)
{
    if (!authorization)
        return FLAME_EUNAUTH;
    const char *p = authorization;
    if (strncasecmp(p, "Bearer ", 7) != 0)
        return FLAME_EUNAUTH;
    p += 7;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    const struct token *match = NULL;
    for (size_t i = 0; i < a->n; i++) {
        /* No early exit: every token is compared. */
        if (secret_equal(p, len, a->tokens[i].secret, a->tokens[i].secret_len) && !match)
            match = &a->tokens[i];
    }
    if (!match)
        return FLAME_EUNAUTH;
    id->name = match->name;
    id->pools = (const char *const *)match->pools;
    id->n_pools = match->n_pools;
    id->via = "token";
    return 0;
}

int rpc_auth_check_headers(const rpc_auth *a, size_t n_headers, const char *first,
                           struct caller_identity *id, const char **why)
{
    if (n_headers > 1) {
        *why = "more than one authorization header: send exactly one, `authorization: Bearer "
               "<token>`";
        return FLAME_EUNAUTH;
    }
    if (rpc_auth_check(a, n_headers ? first : NULL, id) < 0) {
        *why = "missing or invalid bearer token: send metadata `authorization: Bearer <token>` "
               "with a token from flamed's --auth-tokens file";
        return FLAME_EUNAUTH;
    }
    return 0;
}
