/*
 * flamectl against a real flamed: spawn streams the command's output and
 * exits with its code; run boots, runs and shuts down; errors map to the
 * documented exit codes.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

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

/* A file holding `data` for flamectl's stdin (removed by the caller). */
static void stdin_file(fl_env *e, char *path, size_t len, const char *data)
{
    snprintf(path, len, "/tmp/%s-stdin", e->tag);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(data, f);
    assert_int_equal(fclose(f), 0);
}

FL_TEST(flamectl_spawn_forwards_stdin_and_closes_it_at_eof)
{
    flame_runner *r = fl_boot_default(e, NULL);
    char path[128];
    stdin_file(e, path, sizeof(path), "data\n");
    const char *args[] = {"spawn", r->id, "--", "cat", NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl_stdin(e, args, path, &out, &err, 60000);
    if (code != 0)
        print_error("flamectl exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 0);
    assert_string_equal(out, "data\n");
    free(out);
    free(err);
    /* --no-stdin: cat reads EOF at once, prints nothing. */
    const char *args2[] = {"spawn", "--no-stdin", r->id, "--", "cat", NULL};
    code = fl_flamectl_stdin(e, args2, path, &out, &err, 60000);
    unlink(path);
    if (code != 0)
        print_error("flamectl exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 0);
    assert_string_equal(out, "");
    free(out);
    free(err);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
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
                                        "shutdown", "renew", "health", "version", "help", "logs"};
    static const char *const flags[] = {"-h", "--help"};
    char *out = NULL, *err = NULL;
    char want[64];

    for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
        for (size_t f = 0; f < 2; f++) {
            const char *args[] = {verbs[v], flags[f], NULL, NULL};
            if (strcmp(verbs[v], "shutdown") == 0 || strcmp(verbs[v], "logs") == 0) { /* after a positional too */
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

/* --json makes spawn a stream of JSON lines: started, each chunk (text, or
 * base64 when not UTF-8), exited; the exit code stays the command's. */
FL_TEST(flamectl_spawn_json_prints_one_object_per_line)
{
    flame_runner *r = fl_boot_default(e, NULL);
    const char *args[] = {"--json", "spawn", r->id, "--", "sh", "-c",
                          "echo hi; printf '\\377\\376' >&2; exit 3", NULL};
    char *out = NULL, *err = NULL;
    int code = fl_flamectl(e, args, &out, &err, 60000);
    if (code != 3)
        print_error("flamectl exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 3);
    const char *first = "{\"type\":\"started\",\"exec_id\":\"";
    assert_true(strncmp(out, first, strlen(first)) == 0);
    fl_assert_contains(out, "\n{\"type\":\"stdout\",\"data\":\"hi\\n\"}\n");
    fl_assert_contains(out, "\n{\"type\":\"stderr\",\"data_base64\":\"//4=\"}\n");
    /* exited is the last line */
    const char *last = "{\"type\":\"exited\",\"exit_code\":3}\n";
    assert_true(strlen(out) > strlen(last));
    assert_string_equal(out + strlen(out) - strlen(last), last);
    assert_string_equal(err, "");
    free(out);
    free(err);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

/* logs prints the runner's container output, stdout and stderr apart; --json
 * as spawn's JSON lines. */
FL_TEST(flamectl_logs_prints_the_container_output)
{
    flame_runner *r = fl_boot_default(e, NULL);
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, r->id, "echo hi > /proc/1/fd/1; echo oops > /proc/1/fd/2", &o), 0);
    fl_output_free(&o);
    const char *args[] = {"logs", r->id, NULL};
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 50; i++) {
        free(out);
        free(err);
        assert_int_equal(fl_flamectl(e, args, &out, &err, 60000), 0);
        if (strcmp(out, "hi\n") == 0 && strcmp(err, "oops\n") == 0)
            break;
        fl_sleep_ms(100);
    }
    assert_string_equal(out, "hi\n");
    assert_string_equal(err, "oops\n");
    free(out);
    free(err);
    const char *json[] = {"--json", "logs", r->id, NULL};
    assert_int_equal(fl_flamectl(e, json, &out, &err, 60000), 0);
    fl_assert_contains(out, "{\"type\":\"stdout\",\"data\":\"hi\\n\"}\n");
    fl_assert_contains(out, "{\"type\":\"stderr\",\"data\":\"oops\\n\"}\n");
    assert_string_equal(err, "");
    free(out);
    free(err);
    const char *unknown[] = {"logs", "0123456789abcdef", NULL};
    assert_int_equal(fl_flamectl(e, unknown, &out, &err, 60000),
                     flame_error_exit_code(FLAME_ENOTFOUND));
    free(out);
    free(err);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

/* Each line of `out` parses as a JSON object (a value for `array_ok`); returns
 * how many lines there were. */
static size_t json_lines(const char *what, const char *out, int array_ok)
{
    size_t n = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            fail_msg("%s: the last line has no newline: %s", what, p);
        char *line = strndup(p, (size_t)(nl - p));
        assert_non_null(line);
        cJSON *j = cJSON_Parse(line);
        if (!j || !(cJSON_IsObject(j) || (array_ok && cJSON_IsArray(j))))
            fail_msg("%s: line %zu is not a JSON %s: %s", what, n + 1,
                     array_ok ? "value" : "object", line);
        cJSON_Delete(j);
        free(line);
        n++;
        p = nl + 1;
    }
    return n;
}

/* Every verb that talks to flamed prints JSON with --json (one object per line
 * for streams), exits as without it, and prints nothing else on stdout. */
FL_TEST(flamectl_every_verb_honours_json)
{
    char *out = NULL, *err = NULL;
    char parent[64];
    snprintf(parent, sizeof(parent), "p-%s", e->tag);

    const char *boot[] = {"--json", "boot", "--image", FL_IMAGE_APP, "--network", e->network,
                          "--pool", e->pool, "--label", e->run_label, "--parent", parent, NULL};
    int code = fl_flamectl(e, boot, &out, &err, 60000);
    if (code != 0)
        print_error("boot --json exited %d\nstderr: %s\n", code, err);
    assert_int_equal(code, 0);
    assert_int_equal(json_lines("boot", out, 0), 1);
    cJSON *j = cJSON_Parse(out);
    const cJSON *idj = fl_json_path(j, "id");
    assert_true(cJSON_IsString(idj) && strlen(idj->valuestring) == 16);
    char id[17];
    snprintf(id, sizeof(id), "%s", idj->valuestring);
    assert_string_equal(fl_json_path(j, "state")->valuestring, "RUNNING");
    cJSON_Delete(j);
    assert_string_equal(err, "");
    free(out);
    free(err);

    const char *ls[] = {"--json", "ls", "--pool", e->pool, NULL};
    assert_int_equal(fl_flamectl(e, ls, &out, &err, 60000), 0);
    assert_int_equal(json_lines("ls", out, 1), 1);
    fl_assert_contains(out, id);
    free(out);
    free(err);

    const char *watch[] = {"--json", "watch", "--runner", id, "--existing", "--timeout", "1000",
                           NULL};
    assert_int_equal(fl_flamectl(e, watch, &out, &err, 60000), 0);
    assert_true(json_lines("watch", out, 0) >= 1);
    fl_assert_contains(out, "\"type\":\"EXISTING\"");
    free(out);
    free(err);

    const char *renew[] = {"--json", "renew", parent, NULL};
    assert_int_equal(fl_flamectl(e, renew, &out, &err, 60000), 0);
    assert_int_equal(json_lines("renew", out, 0), 1);
    fl_assert_contains(out, "\"renewed\":");
    free(out);
    free(err);

    const char *version[] = {"--json", "version", NULL};
    assert_int_equal(fl_flamectl(e, version, &out, &err, 60000), 0);
    assert_int_equal(json_lines("version", out, 0), 1);
    free(out);
    free(err);

    const char *shutdown[] = {"--json", "shutdown", "--timeout", "1000", id, NULL};
    assert_int_equal(fl_flamectl(e, shutdown, &out, &err, 60000), 0);
    assert_int_equal(json_lines("shutdown", out, 0), 1);
    fl_assert_contains(out, "\"state\":\"REMOVED\"");
    assert_string_equal(err, "");
    free(out);
    free(err);

    const char *run[] = {"--json", "run", "--image", FL_IMAGE_APP, "--network", e->network,
                         "--pool", e->pool, "--label", e->run_label, "--shutdown-timeout", "1000",
                         "--", "sh", "-c", "echo hi; exit 4", NULL};
    code = fl_flamectl(e, run, &out, &err, 120000);
    if (code != 4)
        print_error("run --json exited %d\nstdout: %s\nstderr: %s\n", code, out, err);
    assert_int_equal(code, 4); /* the command's code, as without --json */
    assert_true(json_lines("run", out, 0) >= 4);
    fl_assert_contains(out, "{\"type\":\"stdout\",\"data\":\"hi\\n\"}\n");
    fl_assert_contains(out, "{\"type\":\"exited\",\"exit_code\":4}\n");
    fl_assert_contains(out, "\"type\":\"shut_down\"");
    assert_string_equal(err, "");
    free(out);
    free(err);

    /* a failure keeps its exit code; stdout stays empty, the reason goes to stderr */
    const char *unknown[] = {"--json", "logs", "0123456789abcdef", NULL};
    assert_int_equal(fl_flamectl(e, unknown, &out, &err, 60000),
                     flame_error_exit_code(FLAME_ENOTFOUND));
    assert_string_equal(out, "");
    fl_assert_contains(err, "RUNNER_NOT_FOUND");
    free(out);
    free(err);
    assert_int_equal(fl_count_labelled(e, e->run_label), 0);
}

/* logs --tail, --timestamps, --since and -f: the follow prints what comes after
 * the call started and ends (exit 0) when the runner's container stops. */
FL_TEST(flamectl_logs_tail_since_and_follow)
{
    static const char *const cmd[] = {"sh", "-c", "echo one; echo err1 >&2; sleep 4; echo two",
                                      NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    req.keep_runner = 1; /* its output outlives the command */
    flame_runner *r = fl_boot(e, &req);
    const char *args[] = {"logs", r->id, NULL};
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 50; i++) {
        free(out);
        free(err);
        assert_int_equal(fl_flamectl(e, args, &out, &err, 60000), 0);
        if (strcmp(out, "one\n") == 0 && strcmp(err, "err1\n") == 0)
            break;
        fl_sleep_ms(100);
    }
    assert_string_equal(out, "one\n");
    assert_string_equal(err, "err1\n");
    free(out);
    free(err);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char since[40];
    snprintf(since, sizeof(since), "%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
    const char *follow[] = {"logs", "-f", "--since", since, r->id, NULL};
    int64_t t0 = fl_now_ms();
    int code = fl_flamectl(e, follow, &out, &err, 60000);
    int64_t took = fl_now_ms() - t0;
    if (code != 0)
        print_error("logs -f exited %d\nstderr: %s\n", code, err);
    assert_int_equal(code, 0);
    assert_string_equal(out, "two\n"); /* not "one": before --since */
    assert_string_equal(err, "");
    /* it waited for "two" (about 4 s after the start), then the container stopped */
    assert_true(took > 1000 && took < 30000);
    free(out);
    free(err);

    const char *tail[] = {"logs", "--tail", "1", r->id, NULL};
    assert_int_equal(fl_flamectl(e, tail, &out, &err, 60000), 0);
    assert_string_equal(out, "two\n");
    assert_string_equal(err, "");
    free(out);
    free(err);

    /* all three lines: "one" and "err1" may reach Docker's log in either order */
    const char *stamped[] = {"logs", "--timestamps", "--tail", "3", r->id, NULL};
    assert_int_equal(fl_flamectl(e, stamped, &out, &err, 60000), 0);
    /* Docker's RFC 3339 time, a space, the line */
    assert_true(strncmp(out, "20", 2) == 0 && strstr(out, "Z one\n") && strstr(out, "Z two\n"));
    assert_true(strncmp(err, "20", 2) == 0 && strstr(err, "Z err1\n") != NULL);
    free(out);
    free(err);

    const char *bad[] = {"logs", "--since", "yesterday", r->id, NULL};
    assert_int_equal(fl_flamectl(e, bad, &out, &err, 60000),
                     flame_error_exit_code(FLAME_EINVALID));
    free(out);
    free(err);
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_EXITED); /* kept: stays EXITED */
    flame_runner_free(r);
}

/* Run flamectl under `script` (a pseudo-terminal for its stdin, stdout and
 * stderr); returns what the terminal showed, malloc'd. */
static char *on_terminal(const fl_env *e, const char *args, int *status)
{
    char cmd[1024];
    char *buf = calloc(1, 65536);
    size_t n = 0, got;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "script -qec '%s --addr %s %s' /dev/null </dev/null",
             getenv("FLAMECTL_BIN"), e->addr, args);
    assert_non_null(buf);
    assert_non_null(p = popen(cmd, "r"));
    while (n < 65535 && (got = fread(buf + n, 1, 65535 - n, p)) > 0)
        n += got;
    *status = pclose(p);
    return buf;
}

/* On a terminal, boot and shutdown say what they wait for (and why, with the
 * grace), then erase the line; -q silences it; off a terminal (the tests'
 * pipes) stderr stays empty. */
FL_TEST(flamectl_progress_only_on_a_terminal)
{
    char args[512];
    int status;
    char *tty;

    /* off a terminal: nothing on stderr */
    const char *boot[] = {"boot", "--image", FL_IMAGE_APP, "--network", e->network, "--pool",
                          e->pool, "--label", e->run_label, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(fl_flamectl(e, boot, &out, &err, 60000), 0);
    assert_string_equal(err, "");
    char id[40];
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(out, "\n"), out);
    free(out);
    free(err);

    /* On a terminal, boot follows its runner (a Watch by request_id): once
     * flamed has it, the line names it. The id is printed after the line is erased. */
    snprintf(args, sizeof(args), "boot --image %s --network %s --pool %s --label %s",
             FL_IMAGE_APP, e->network, e->pool, e->run_label);
    tty = on_terminal(e, args, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char id2[17] = "";
    for (const char *p = strstr(tty, "\r\033[K"); p; p = strstr(p + 1, "\r\033[K"))
        if (strspn(p + 4, "0123456789abcdef") == 16 && p[20] == '\r')
            snprintf(id2, sizeof(id2), "%.16s", p + 4);
    assert_int_equal(strlen(id2), 16);
    char want2[200];
    snprintf(want2, sizeof(want2), "flamectl: booting %s from " FL_IMAGE_APP ": pull if missing", id2);
    fl_assert_contains(tty, want2);
    free(tty);
    assert_int_equal(fl_shutdown(e, id2), FLAME_RUNNER_REMOVED);

    snprintf(args, sizeof(args), "shutdown --timeout 1500 %s", id);
    tty = on_terminal(e, args, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char want[160];
    snprintf(want, sizeof(want),
             "\r\033[Kflamectl: stopping %s: SIGTERM sent, waiting up to 1500 ms before SIGKILL\r\033[K",
             id);
    fl_assert_contains(tty, want);
    fl_assert_contains(tty, "REMOVED");
    free(tty);

    snprintf(args, sizeof(args), "-q run --image %s --network %s --pool %s --label %s -- true",
             FL_IMAGE_APP, e->network, e->pool, e->run_label);
    tty = on_terminal(e, args, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(strstr(tty, "flamectl:"));
    free(tty);

    /* --json on a terminal: no progress either, the JSON alone */
    snprintf(args, sizeof(args), "--json run --image %s --network %s --pool %s --label %s "
             "--shutdown-timeout 1000 -- true", FL_IMAGE_APP, e->network, e->pool, e->run_label);
    tty = on_terminal(e, args, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(strstr(tty, "flamectl:"));
    fl_assert_contains(tty, "\"type\":\"shut_down\"");
    free(tty);

    snprintf(args, sizeof(args), "run --image %s --network %s --pool %s --label %s "
             "--shutdown-timeout 2000 -- true", FL_IMAGE_APP, e->network, e->pool, e->run_label);
    tty = on_terminal(e, args, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fl_assert_contains(tty, "flamectl: booting a runner from " FL_IMAGE_APP
                            ": pull if missing, create, start, wait until it runs (up to 30 s)");
    fl_assert_contains(tty, "SIGTERM sent, waiting up to 2 s before SIGKILL");
    free(tty);
    assert_int_equal(fl_count_labelled(e, e->run_label), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(flamectl_spawn_prints_output_and_exits_with_the_command_code),
        FL_UNIT(flamectl_run_boots_runs_and_shuts_down),
        FL_UNIT(flamectl_spawn_forwards_stdin_and_closes_it_at_eof),
        FL_UNIT(flamectl_spawn_in_unknown_runner_exits_not_found),
        FL_UNIT(flamectl_ls_shows_the_pool_runners),
        FL_UNIT(flamectl_every_verb_prints_its_usage_for_help),
        FL_UNIT(flamectl_spawn_json_prints_one_object_per_line),
        FL_UNIT(flamectl_logs_prints_the_container_output),
        FL_UNIT(flamectl_progress_only_on_a_terminal),
        FL_UNIT(flamectl_every_verb_honours_json),
        FL_UNIT(flamectl_logs_tail_since_and_follow),
    };
    return FL_RUN_SHARED("flamectl", tests);
}
