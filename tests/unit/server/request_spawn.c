/* Unit tests: request_spawn_validate, request_runner_id_validate, request_pool_validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "runner/runner.h"
#include "service/request.h"

struct spawn {
    Flame__V1__SpawnRequest req;
    char *argv[4];
    Flame__V1__SpawnRequest__EnvEntry env[4];
    Flame__V1__SpawnRequest__EnvEntry *envp[4];
    char err[512];
};

/* A valid request: runner 0123456789abcdef, argv ["sh", "-c", "echo hi"]. */
static void spawn_init(struct spawn *s)
{
    memset(s, 0, sizeof(*s));
    flame__v1__spawn_request__init(&s->req);
    s->req.runner_id = "0123456789abcdef";
    s->argv[0] = "sh";
    s->argv[1] = "-c";
    s->argv[2] = "echo hi";
    s->req.argv = s->argv;
    s->req.n_argv = 3;
    s->req.env = s->envp;
}

static void add_env(struct spawn *s, const char *key, const char *value)
{
    size_t i = s->req.n_env++;

    assert_true(i < 4);
    flame__v1__spawn_request__env_entry__init(&s->env[i]);
    s->env[i].key = (char *)key;
    s->env[i].value = (char *)value;
    s->envp[i] = &s->env[i];
}

static void assert_refused(struct spawn *s, const char *must_mention)
{
    s->err[0] = '\0';
    assert_int_equal(request_spawn_validate(&s->req, s->err, sizeof(s->err)), FLAME_EINVALID);
    if (!strstr(s->err, must_mention))
        fail_msg("detail '%s' does not mention '%s'", s->err, must_mention);
}

static void assert_accepted(struct spawn *s)
{
    s->err[0] = '\0';
    if (request_spawn_validate(&s->req, s->err, sizeof(s->err)) != 0)
        fail_msg("refused: %s", s->err);
}

/* ---------------------------------------------------------------- SpawnRequest */

static void valid_spawn_is_accepted(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    add_env(&s, "LANG", "C.UTF-8");
    s.req.working_dir = "/app";
    s.req.timeout_ms = 5000;
    assert_accepted(&s);
}

static void spawn_without_runner_id_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.req.runner_id = "";
    assert_refused(&s, "runner_id is required");
}

static void spawn_with_bad_runner_id_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.req.runner_id = "../etc";
    assert_refused(&s, "runner_id '../etc' has invalid characters");
}

static void spawn_without_argv_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.req.n_argv = 0;
    assert_refused(&s, "argv is required");
}

static void spawn_with_empty_program_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.argv[0] = "";
    assert_refused(&s, "argv is required");
}

static void spawn_with_empty_later_argument_is_accepted(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.argv[2] = "";
    assert_accepted(&s);
}

static void spawn_argv_larger_than_1_mib_is_refused(void **state)
{
    struct spawn s;
    char *big = malloc(REQ_ARGV_BYTES_MAX);

    (void)state;
    assert_non_null(big);
    memset(big, 'x', REQ_ARGV_BYTES_MAX - 1);
    big[REQ_ARGV_BYTES_MAX - 1] = '\0';
    spawn_init(&s);
    s.argv[2] = big; /* 3 + 3 + 1 MiB bytes with NULs */
    assert_refused(&s, "argv is 1048582 bytes, at most 1048576");
    free(big);
}

static void spawn_with_too_many_arguments_is_refused(void **state)
{
    struct spawn s;
    char **argv = calloc(REQ_ARGV_MAX + 1, sizeof(*argv));

    (void)state;
    assert_non_null(argv);
    for (size_t i = 0; i < REQ_ARGV_MAX + 1; i++)
        argv[i] = "x";
    spawn_init(&s);
    s.req.argv = argv;
    s.req.n_argv = REQ_ARGV_MAX + 1;
    assert_refused(&s, "argv has 4097 entries, at most 4096");
    free(argv);
}

static void spawn_env_key_with_equals_sign_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    add_env(&s, "A=B", "c");
    assert_refused(&s, "env key 'A=B' is invalid");
}

static void spawn_env_empty_key_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    add_env(&s, "", "c");
    assert_refused(&s, "env key '' is invalid");
}

static void spawn_with_too_many_env_entries_is_refused(void **state)
{
    struct spawn s;
    Flame__V1__SpawnRequest__EnvEntry e = FLAME__V1__SPAWN_REQUEST__ENV_ENTRY__INIT;
    Flame__V1__SpawnRequest__EnvEntry **env = calloc(REQ_ENV_MAX + 1, sizeof(*env));

    (void)state;
    assert_non_null(env);
    e.key = "K";
    e.value = "v";
    for (size_t i = 0; i < REQ_ENV_MAX + 1; i++)
        env[i] = &e;
    spawn_init(&s);
    s.req.env = env;
    s.req.n_env = REQ_ENV_MAX + 1;
    assert_refused(&s, "env has 1025 entries");
    free(env);
}

static void spawn_relative_working_dir_is_refused(void **state)
{
    struct spawn s;

    (void)state;
    spawn_init(&s);
    s.req.working_dir = "tmp";
    assert_refused(&s, "working_dir 'tmp' must be an absolute path");
}

/* ---------------------------------------------------------------- runner ids */

static void generated_runner_id_is_valid(void **state)
{
    char id[RUNNER_ID_LEN + 1];
    char err[128];

    (void)state;
    runner_id_generate(id);
    assert_int_equal(strlen(id), RUNNER_ID_LEN);
    assert_int_equal(request_runner_id_validate(id, "runner_id", err, sizeof(err)), 0);
}

static void runner_id_of_64_bytes_is_accepted(void **state)
{
    char id[65], err[128];

    (void)state;
    memset(id, 'a', 64);
    id[64] = '\0';
    assert_int_equal(request_runner_id_validate(id, "runner_id", err, sizeof(err)), 0);
}

static void runner_id_of_65_bytes_is_refused(void **state)
{
    char id[66], err[128];

    (void)state;
    memset(id, 'a', 65);
    id[65] = '\0';
    assert_int_equal(request_runner_id_validate(id, "runner_id", err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "runner_id is too long (65 bytes, at most 64)"));
}

static void runner_id_with_underscore_dash_and_capitals_is_accepted(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_runner_id_validate("Ab_9-z", "runner_id", err, sizeof(err)), 0);
}

static void runner_id_with_a_space_is_refused(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_runner_id_validate("ab cd", "runner_id", err, sizeof(err)),
                     FLAME_EINVALID);
}

static void runner_id_with_a_dot_is_refused(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_runner_id_validate("ab.cd", "runner_id", err, sizeof(err)),
                     FLAME_EINVALID);
}

static void null_runner_id_is_refused_as_required(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_runner_id_validate(NULL, "runner_id", err, sizeof(err)),
                     FLAME_EINVALID);
    assert_string_equal(err, "runner_id is required");
}

static void runner_id_message_names_the_given_field(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_runner_id_validate("a/b", "filter.runner_id", err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "filter.runner_id 'a/b'"));
}

/* ---------------------------------------------------------------- pool filters */

static void empty_pool_filter_is_accepted(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(request_pool_validate("", err, sizeof(err)), 0);
    assert_int_equal(request_pool_validate(NULL, err, sizeof(err)), 0);
}

static void pool_of_63_bytes_is_accepted(void **state)
{
    char pool[REQ_POOL_MAX + 1], err[128];

    (void)state;
    memset(pool, 'p', REQ_POOL_MAX);
    pool[REQ_POOL_MAX] = '\0';
    assert_int_equal(request_pool_validate(pool, err, sizeof(err)), 0);
}

static void pool_starting_with_a_dot_is_refused(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(request_pool_validate(".hidden", err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "pool '.hidden' is invalid"));
}

static void pool_with_non_ascii_is_refused(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(request_pool_validate("caf\xc3\xa9", err, sizeof(err)), FLAME_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_spawn_is_accepted),
        cmocka_unit_test(spawn_without_runner_id_is_refused),
        cmocka_unit_test(spawn_with_bad_runner_id_is_refused),
        cmocka_unit_test(spawn_without_argv_is_refused),
        cmocka_unit_test(spawn_with_empty_program_is_refused),
        cmocka_unit_test(spawn_with_empty_later_argument_is_accepted),
        cmocka_unit_test(spawn_argv_larger_than_1_mib_is_refused),
        cmocka_unit_test(spawn_with_too_many_arguments_is_refused),
        cmocka_unit_test(spawn_env_key_with_equals_sign_is_refused),
        cmocka_unit_test(spawn_env_empty_key_is_refused),
        cmocka_unit_test(spawn_with_too_many_env_entries_is_refused),
        cmocka_unit_test(spawn_relative_working_dir_is_refused),
        cmocka_unit_test(generated_runner_id_is_valid),
        cmocka_unit_test(runner_id_of_64_bytes_is_accepted),
        cmocka_unit_test(runner_id_of_65_bytes_is_refused),
        cmocka_unit_test(runner_id_with_underscore_dash_and_capitals_is_accepted),
        cmocka_unit_test(runner_id_with_a_space_is_refused),
        cmocka_unit_test(runner_id_with_a_dot_is_refused),
        cmocka_unit_test(null_runner_id_is_refused_as_required),
        cmocka_unit_test(runner_id_message_names_the_given_field),
        cmocka_unit_test(empty_pool_filter_is_accepted),
        cmocka_unit_test(pool_of_63_bytes_is_accepted),
        cmocka_unit_test(pool_starting_with_a_dot_is_refused),
        cmocka_unit_test(pool_with_non_ascii_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
