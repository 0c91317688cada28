/*
 * Unit tests: bearer tokens (rpc/auth.h) - the tokens file format and its
 * errors (which name the line, never the secret), checking "authorization"
 * values (scheme, exact match, prefixes, suffixes, case), identities and
 * their pools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flame/error.h"
#include "rpc/auth.h"

#define ADMIN "admin-secret-0123456789"
#define ALICE "alice-secret-abcdefghij"
#define BOB "bob-secret-ZYXWVUTSRQPO"

/* Write content to a temp file; returns its path (static buffer per call slot). */
static const char *tmpfile_with(const char *content)
{
    static char paths[8][64];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 64, "/tmp/fltest-tokens-XXXXXX");
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    size_t n = strlen(content);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return p;
}

static rpc_auth *load_ok(const char *content)
{
    const char *path = tmpfile_with(content);
    rpc_auth *a = NULL;
    char err[512] = "";
    int rc = rpc_auth_load(&a, path, err, sizeof(err));
    unlink(path);
    if (rc != 0)
        fail_msg("rpc_auth_load: %d %s", rc, err);
    return a;
}

static void load_fails(const char *content, const char *want, const char *secret)
{
    const char *path = tmpfile_with(content);
    rpc_auth *a = NULL;
    char err[512] = "";
    int rc = rpc_auth_load(&a, path, err, sizeof(err));
    unlink(path);
    if (rc != FLAME_EINVALID || !strstr(err, want))
        fail_msg("tokens file \"%s\": rc %d err \"%s\"; expected FLAME_EINVALID naming \"%s\"",
                 content, rc, err, want);
    assert_null(a);
    if (secret && strstr(err, secret))
        fail_msg("the error holds the secret: %s", err);
}

static void tokens_file_format(void **state)
{
    (void)state;
    rpc_auth *a = load_ok("# flamed tokens\n"
                          "\n"
                          "admin:" ADMIN "\n"
                          "  alice : " ALICE " : pool-a, pool-b  # two pools\n"
                          "bob:" BOB ":solo\n"
                          "   # indented comment\n");
    assert_int_equal(rpc_auth_count(a), 3);

    struct caller_identity id;
    assert_int_equal(rpc_auth_check(a, "Bearer " ADMIN, &id), 0);
    assert_string_equal(id.name, "admin");
    assert_string_equal(id.via, "token");
    assert_null(id.pools);
    assert_int_equal(caller_identity_allows_pool(&id, "anything"), 1);
    assert_int_equal(caller_identity_allows_pool(&id, ""), 1);

    assert_int_equal(rpc_auth_check(a, "Bearer " ALICE, &id), 0);
    assert_string_equal(id.name, "alice");
    assert_int_equal(id.n_pools, 2);
    assert_string_equal(id.pools[0], "pool-a");
    assert_string_equal(id.pools[1], "pool-b");
    assert_int_equal(caller_identity_allows_pool(&id, "pool-a"), 1);
    assert_int_equal(caller_identity_allows_pool(&id, "pool-b"), 1);
    assert_int_equal(caller_identity_allows_pool(&id, "pool-c"), 0);
    assert_int_equal(caller_identity_allows_pool(&id, "pool"), 0);
    assert_int_equal(caller_identity_allows_pool(&id, "pool-a "), 0);
    assert_int_equal(caller_identity_allows_pool(&id, "default"), 0);
    assert_int_equal(caller_identity_allows_pool(&id, NULL), 0);

    assert_int_equal(rpc_auth_check(a, "Bearer " BOB, &id), 0);
    assert_string_equal(id.name, "bob");
    assert_int_equal(id.n_pools, 1);
    assert_int_equal(caller_identity_allows_pool(&id, "solo"), 1);
    rpc_auth_free(a);

    /* No identity: everything allowed (auth off). */
    assert_int_equal(caller_identity_allows_pool(NULL, "x"), 1);
    /* A file without a trailing newline; CRLF line ends. */
    a = load_ok("admin:" ADMIN);
    assert_int_equal(rpc_auth_count(a), 1);
    rpc_auth_free(a);
    a = load_ok("admin:" ADMIN "\r\nbob:" BOB "\r\n");
    assert_int_equal(rpc_auth_count(a), 2);
    assert_int_equal(rpc_auth_check(a, "Bearer " BOB, &id), 0);
    rpc_auth_free(a);
    assert_int_equal(rpc_auth_count(NULL), 0);
    rpc_auth_free(NULL);
}

static void tokens_file_errors(void **state)
{
    (void)state;
    load_fails("admin\n", ":1:", NULL);                               /* no token */
    load_fails("# c\nadmin:short\n", ":2:", "short");                 /* under 16 characters */
    load_fails("admin:" ADMIN "\n:" ALICE "\n", ":2:", ALICE);        /* no name */
    load_fails("admin:\n", ":1:", NULL);                              /* empty token */
    load_fails("admin:with space in the token\n", ":1:", "with space");
    load_fails("admin:" ADMIN ":\n", ":1:", ADMIN);                   /* empty pool list */
    load_fails("admin:" ADMIN ": , ,\n", ":1:", ADMIN);               /* only separators */
    load_fails("admin:" ADMIN "\nadmin:" ALICE "\n", "used twice", ALICE);
    load_fails("", "no token", NULL);
    load_fails("# only comments\n\n   \n", "no token", NULL);
    rpc_auth *a = NULL;
    char err[512];
    assert_int_equal(rpc_auth_load(&a, "/nonexistent/fltest-tokens", err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "/nonexistent/fltest-tokens"));
    assert_null(a);
}

static void checking_authorization_values(void **state)
{
    (void)state;
    rpc_auth *a = load_ok("admin:" ADMIN "\nalice:" ALICE ":pool-a\n");
    struct caller_identity id = {0};
    static const char *const bad[] = {
        NULL,
        "",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        ADMIN,                          /* no scheme */
        "Basic " ADMIN,                 /* another scheme */
        "Bearer" ADMIN,                 /* no space */
        "Bearer admin-secret-012345678", /* a prefix */
        "Bearer admin-secret-01234567890", /* one character more */
        "Bearer admin-secret-012345678X", /* last character differs */
        "Bearer Xdmin-secret-0123456789", /* first character differs */
        "Bearer ADMIN-SECRET-0123456789", /* tokens are case-sensitive */
        "Bearer " ADMIN " ",            /* trailing space */
        "Bearer " ADMIN "\n",
        "Bearer " ADMIN ALICE,          /* two tokens glued */
        "Bearer admin",                 /* the name is not the token */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = rpc_auth_check(a, bad[i], &id);
        if (rc != FLAME_EUNAUTH)
            fail_msg("authorization \"%s\": rc %d, expected FLAME_EUNAUTH", bad[i] ? bad[i] : "(none)",
                     rc);
    }
    /* The scheme is case-insensitive (RFC 7235); spaces after it are skipped. */
    static const char *const good[] = {"Bearer " ADMIN, "bearer " ADMIN, "BEARER " ADMIN,
                                       "Bearer    " ADMIN};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&id, 0, sizeof(id));
        if (rpc_auth_check(a, good[i], &id) != 0)
            fail_msg("authorization \"%s\" refused", good[i]);
        assert_string_equal(id.name, "admin");
    }
    /* The second token of the file matches too (every token is compared). */
    assert_int_equal(rpc_auth_check(a, "Bearer " ALICE, &id), 0);
    assert_string_equal(id.name, "alice");
    rpc_auth_free(a);
}

static void exactly_one_authorization_header_is_accepted(void **state)
{
    (void)state;
    rpc_auth *a = load_ok("admin:" ADMIN "\nalice:" ALICE ":pool-a\n");
    struct caller_identity id = {0};
    const char *why = NULL;

    assert_int_equal(rpc_auth_check_headers(a, 1, "Bearer " ALICE, &id, &why), 0);
    assert_string_equal(id.name, "alice");
    /* None, or one that is not a token: the usual message. */
    why = NULL;
    assert_int_equal(rpc_auth_check_headers(a, 0, NULL, &id, &why), FLAME_EUNAUTH);
    assert_non_null(why);
    assert_non_null(strstr(why, "bearer token"));
    why = NULL;
    assert_int_equal(rpc_auth_check_headers(a, 1, "Bearer nope", &id, &why), FLAME_EUNAUTH);
    assert_non_null(strstr(why, "bearer token"));
    /* Two, even when the first (or both) are valid: refused, and said so. */
    for (size_t n = 2; n <= 3; n++) {
        memset(&id, 0, sizeof(id));
        why = NULL;
        assert_int_equal(rpc_auth_check_headers(a, n, "Bearer " ADMIN, &id, &why), FLAME_EUNAUTH);
        assert_non_null(why);
        assert_non_null(strstr(why, "more than one authorization header"));
        assert_null(id.name);
    }
    rpc_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_file_format),
        cmocka_unit_test(tokens_file_errors),
        cmocka_unit_test(checking_authorization_values),
        cmocka_unit_test(exactly_one_authorization_header_is_accepted),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
