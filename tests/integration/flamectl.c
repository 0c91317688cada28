/*
 * flamectl against a real flamed: spawn streams the command's output and
 * exits with its code; run boots, runs and shuts down; errors map to the
 * documented exit codes.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

FL_TEST(flamectl_spawn_prints_output_and_exits_with_the_command_code)
{
    flame_runner *r = fl_boot_default(e, NULL);
    const char *args[] = {"spawn", r->id, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3",
                          NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl(e, args, &out, &err, 60000);
    if (code != 3)
        print_error("flamectl exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 3);
    assert_string_equal(out, "hi\n");
    assert_string_equal(err, "oops\n");
    free(out);
    free(err);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(flamectl_run_boots_runs_and_shuts_down)
{
    char label[96];
    snprintf(label, sizeof(label), "%s", e->run_label);
    const char *args[] = {"run",     "--image", FL_IMAGE_APP, "--network", e->network, "--pool",
                          e->pool,   "--label", label,        "--",        "uname",    "-a",
                          NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl(e, args, &out, &err, 120000);
    if (code != 0)
        print_error("flamectl exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 0);
    fl_assert_contains(out, "Linux");
    free(out);
    free(err);
    /* run shut the runner down: nothing listed, no container left. */
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    assert_int_equal(n, 0);
    flame_runner_list_free(rs, n);
    assert_int_equal(fl_count_labelled(e, e->run_label), 0);
}

FL_TEST(flamectl_spawn_in_unknown_runner_exits_not_found)
{
    const char *args[] = {"spawn", "0123456789abcdef", "--", "true", NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl(e, args, &out, &err, 60000);
    assert_int_equal(code, flame_error_exit_code(FLAME_ENOTFOUND));
    fl_assert_contains(err, "NOT_FOUND");
    assert_string_equal(out, "");
    free(out);
    free(err);
}

FL_TEST(flamectl_ls_shows_the_pool_runners)
{
    flame_runner *r = fl_boot_default(e, NULL);
    const char *args[] = {"--json", "ls", "--pool", e->pool, NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl(e, args, &out, &err, 60000);
    if (code != 0)
        print_error("flamectl exited %d\nstderr: %s\n", code, err);
    assert_int_equal(code, 0);
    fl_assert_contains(out, r->id);
    fl_assert_contains(out, "RUNNING");
    free(out);
    free(err);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

/* Every verb's -h and --help print its usage to stdout and exit 0, without
 * calling flamed; options may follow positionals; long options are exact. */
FL_TEST(flamectl_every_verb_prints_its_usage_for_help)
{
    static const char *const verbs[] = {"boot",  "spawn",  "run",     "watch", "ls",
                                        "shutdown", "renew", "health", "version", "help"};
    static const char *const flags[] = {"-h", "--help"};
    char *out = NULL, *err = NULL;
    char want[64];

    for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
        for (size_t f = 0; f < 2; f++) {
            const char *args[] = {verbs[v], flags[f], NULL, NULL};
            if (strcmp(verbs[v], "shutdown") == 0) { /* after a positional too */
                args[1] = "some-id";
                args[2] = flags[f];
            }
            int code = fl_flamectl(e, args, &out, &err, 10000);
            if (code != 0)
                print_error("flamectl %s %s exited %d\nstderr: %s\n", verbs[v], flags[f], code,
                            err);
            assert_int_equal(code, 0);
            snprintf(want, sizeof(want), "usage: flamectl %s", verbs[v]);
            assert_true(strncmp(out, want, strlen(want)) == 0);
            assert_string_equal(err, "");
            free(out);
            free(err);
        }
    /* -h in the command tail is the command's, not flamectl's */
    const char *tail[] = {"spawn", "0123456789abcdef", "--", "sh", "-h", NULL};
    assert_int_equal(fl_flamectl(e, tail, &out, &err, 60000),
                     flame_error_exit_code(FLAME_ENOTFOUND));
    free(out);
    free(err);
    /* an abbreviation is an unknown option, not --image */
    const char *abbrev[] = {"boot", "--ima", FL_IMAGE_APP, NULL};
    assert_int_equal(fl_flamectl(e, abbrev, &out, &err, 10000),
                     flame_error_exit_code(FLAME_EINVALID));
    fl_assert_contains(err, "unknown option '--ima'");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(flamectl_spawn_prints_output_and_exits_with_the_command_code),
        FL_UNIT(flamectl_run_boots_runs_and_shuts_down),
        FL_UNIT(flamectl_spawn_in_unknown_runner_exits_not_found),
        FL_UNIT(flamectl_ls_shows_the_pool_runners),
        FL_UNIT(flamectl_every_verb_prints_its_usage_for_help),
    };
    return FL_RUN_SHARED("flamectl", tests);
}
