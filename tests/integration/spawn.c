/*
 * Spawn: output streamed per stream and in order, exit codes, large outputs,
 * env and working_dir, the error statuses, and that timeout_ms and a client
 * cancel end the call quickly and kill the command. Most tests run in one
 * runner the group shares (fl_group_runner): Spawn does not change it.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define INVALID_ARGUMENT 3
#define DEADLINE_EXCEEDED 4
#define NOT_FOUND 5
#define FAILED_PRECONDITION 9

/* Is a process whose command line is exactly `cmdline` running in the runner? */
static int process_running(fl_env *e, const char *runner_id, const char *cmdline)
{
    fl_output o = {0};
    const char *argv[] = {"ps", "-o", "args", NULL};
    assert_int_equal(fl_spawn_argv(e, runner_id, argv, &o), 0);
    int found = 0;
    size_t n = strlen(cmdline);
    for (const char *p = o.out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == n && strncmp(p, cmdline, n) == 0)
            found = 1;
        p = nl ? nl + 1 : p + strlen(p);
    }
    fl_output_free(&o);
    return found;
}

/* Wait up to timeout_ms for the process to be gone. 0 when gone. */
static int wait_process_gone(fl_env *e, const char *runner_id, const char *cmdline, int timeout_ms)
{
    int64_t until = fl_now_ms() + timeout_ms;
    while (process_running(e, runner_id, cmdline)) {
        if (fl_now_ms() >= until)
            return -1;
        fl_sleep_ms(100);
    }
    return 0;
}

FL_TEST(spawn_delivers_stdout_and_stderr_separately_and_the_exit_code)
{
    const char *rid = fl_group_runner(e);
    fl_output o = {0};
    int code = fl_spawn_sh(e, rid, "echo out1; echo err1 >&2; echo out2; exit 3", &o);
    assert_int_equal(code, 3);
    assert_string_equal(o.out, "out1\nout2\n");
    assert_string_equal(o.err, "err1\n");
    assert_true(o.exec_id[0] != '\0');
    fl_output_free(&o);
}

FL_TEST(spawn_keeps_the_order_of_writes_across_streams)
{
    const char *rid = fl_group_runner(e);
    fl_output o = {0};
    int code = fl_spawn_sh(e, rid,
                           "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; "
                           "echo err2 >&2",
                           &o);
    assert_int_equal(code, 0);
    assert_string_equal(o.all, "out1\nerr1\nout2\nerr2\n");
    assert_string_equal(o.out, "out1\nout2\n");
    assert_string_equal(o.err, "err1\nerr2\n");
    fl_output_free(&o);
}

FL_TEST(spawn_streams_output_as_it_is_written)
{
    const char *rid = fl_group_runner(e);
    fl_output o = {0};
    int64_t t0 = fl_now_ms();
    int code = fl_spawn_sh(e, rid, "echo first; sleep 3; echo second", &o);
    int64_t took = fl_now_ms() - t0;
    assert_int_equal(code, 0);
    assert_string_equal(o.out, "first\nsecond\n");
    assert_true(took >= 3000);
    /* The first line arrived long before the command ended. */
    if (o.first_chunk_ms - t0 > 2000)
        fail_msg("the first chunk arrived %lld ms after the call started, the command took "
                 "%lld ms: output is not streamed", (long long)(o.first_chunk_ms - t0),
                 (long long)took);
    fl_output_free(&o);
}

FL_TEST(spawn_delivers_large_output_completely_and_in_order)
{
    const char *rid = fl_group_runner(e);
    fl_output o = {0};
    const size_t total = 5000000;
    int code = fl_spawn_sh(e, rid, "yes 0123456789 | head -c 5000000; echo done >&2", &o);
    assert_int_equal(code, 0);
    assert_int_equal(o.out_len, total);
    assert_string_equal(o.err, "done\n");
    static const char pattern[] = "0123456789\n";
    for (size_t i = 0; i < total; i++)
        if (o.out[i] != pattern[i % 11])
            fail_msg("stdout byte %zu is 0x%02x, expected '%c'", i, (unsigned char)o.out[i],
                     pattern[i % 11]);
    assert_true(o.chunks > 1);
    fl_output_free(&o);
}

FL_TEST(spawn_applies_env_working_dir_and_user)
{
    const char *rid = fl_group_runner(e);
    const char *argv[] = {"sh", "-c", "echo \"$GREETING\"; pwd; id -u", NULL};
    const char *env[] = {"GREETING=hello there = 'x'", NULL};
    flame_spawn_request req = {
        .runner_id = rid, .argv = argv, .env = env, .working_dir = "/etc", .user = "65534"};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    fl_assert_status(rc, &st, 0);
    assert_int_equal(code, 0);
    assert_string_equal(o.out, "hello there = 'x'\n/etc\n65534\n");
    fl_output_free(&o);
}

FL_TEST(spawn_reports_127_for_a_missing_command)
{
    const char *rid = fl_group_runner(e);
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, rid, "no-such-command-fltest", &o), 127);
    fl_assert_contains(o.err, "no-such-command-fltest");
    fl_output_free(&o);
}

FL_TEST(spawn_in_unknown_runner_is_not_found)
{
    const char *argv[] = {"true", NULL};
    flame_spawn_request req = {.runner_id = "0123456789abcdef", .argv = argv};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    fl_assert_status(rc, &st, NOT_FOUND);
    fl_assert_contains(st.message, "0123456789abcdef");
    fl_output_free(&o);
}

FL_TEST(spawn_without_argv_is_invalid_argument)
{
    /* Validation comes first: no runner is needed. libflame refuses an empty argv
     * itself, so the request is sent by hand. */
    char rid[] = "0123456789abcdef";
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    req.runner_id = rid;
    char msg[1024];
    ProtobufCMessage *resp = NULL;
    int code = fl_grpc_unary(e, "/flame.v1.RunnerService/Spawn", &req.base,
                             &flame__v1__spawn_response__descriptor, &resp, msg, sizeof(msg));
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_equal(code, INVALID_ARGUMENT);
    fl_assert_contains(msg, "argv");
}

FL_TEST(spawn_in_exited_runner_fails_precondition)
{
    flame_boot_request breq;
    fl_boot_req_init(e, &breq);
    breq.keep_runner = 1;
    flame_runner *r = fl_boot(e, &breq);
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_EXITED);

    const char *argv[] = {"true", NULL};
    flame_spawn_request req = {.runner_id = r->id, .argv = argv};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    fl_assert_status(rc, &st, FAILED_PRECONDITION);
    fl_assert_contains(st.message, r->id);
    fl_output_free(&o);
    assert_int_equal(fl_remove_container(e, r->container_id), 0);
    flame_runner_free(r);
}

FL_TEST(spawn_timeout_kills_the_command_with_deadline_exceeded)
{
    const char *rid = fl_group_runner(e);
    /* The process check itself sees a running sleep (a detached one, left running). */
    fl_output d = {0};
    assert_int_equal(fl_spawn_sh(e, rid, "setsid sleep 29 </dev/null >/dev/null 2>&1 &", &d), 0);
    fl_output_free(&d);
    assert_true(process_running(e, rid, "sleep 29"));
    const char *argv[] = {"sleep", "30", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv, .timeout_ms = 500};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int64_t t0 = fl_now_ms();
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    int64_t took = fl_now_ms() - t0;
    fl_assert_status(rc, &st, DEADLINE_EXCEEDED);
    assert_string_equal(st.reason, "SPAWN_TIMEOUT");
    fl_assert_contains(st.message, "longer than its timeout (500 ms)");
    /* The RPC ends within 200 ms of the limit; bounded generously here. */
    if (took > 1500)
        fail_msg("Spawn with timeout_ms 500 took %lld ms", (long long)took);
    fl_output_free(&o);
    if (wait_process_gone(e, rid, "sleep 30", 3000) < 0)
        fail_msg("`sleep 30` still runs in the runner after its Spawn timed out (%s)", st.message);
}

FL_TEST(spawn_timeout_ends_the_rpc_at_once_even_when_the_command_ignores_sigterm)
{
    const char *rid = fl_group_runner(e);
    /* The shell ignores SIGTERM and waits for its child: only the SIGKILL 2 s
     * after the SIGTERM ends it, and the RPC does not wait for that. */
    const char *argv[] = {"sh", "-c", "trap '' TERM; sleep 31; echo never", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv, .timeout_ms = 500};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int64_t t0 = fl_now_ms();
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    int64_t took = fl_now_ms() - t0;
    fl_assert_status(rc, &st, DEADLINE_EXCEEDED);
    assert_string_equal(st.reason, "SPAWN_TIMEOUT");
    print_message("Spawn with timeout_ms 500 (SIGTERM ignored) ended after %lld ms: %s\n",
                  (long long)took, st.message);
    if (took > 1500)
        fail_msg("Spawn with timeout_ms 500 took %lld ms", (long long)took);
    fl_output_free(&o);
    /* SIGKILL follows 2 s after the SIGTERM, after the answer. */
    if (wait_process_gone(e, rid, "sh -c trap '' TERM; sleep 31; echo never", 6000) < 0)
        fail_msg("the command that ignores SIGTERM still runs 6 s after its Spawn timed out (%s)",
                 st.message);
}

FL_TEST(spawn_cancelled_by_the_client_kills_the_command)
{
    const char *rid = fl_group_runner(e);
    /* busybox sh execs the last command: the exec's process becomes `sleep 30`. */
    const char *argv[] = {"sh", "-c", "echo x; sleep 30", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv};
    fl_output o = {.cancel_after_chunks = 1};
    flame_status st;
    int code = -1;
    int64_t t0 = fl_now_ms();
    int rc = fl_spawn_req(e, &req, &o, &code, &st);
    int64_t took = fl_now_ms() - t0;
    if (rc != FLAME_ECANCELLED)
        fail_msg("expected FLAME_ECANCELLED, got %s: %s", flame_error_name(rc), st.message);
    assert_string_equal(o.out, "x\n");
    if (took > 10000)
        fail_msg("cancelling Spawn took %lld ms", (long long)took);
    fl_output_free(&o);
    if (wait_process_gone(e, rid, "sleep 30", 5000) < 0)
        fail_msg("`sleep 30` still runs in the runner 5 s after the client cancelled its Spawn");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(spawn_delivers_stdout_and_stderr_separately_and_the_exit_code),
        FL_UNIT(spawn_keeps_the_order_of_writes_across_streams),
        FL_UNIT(spawn_streams_output_as_it_is_written),
        FL_UNIT(spawn_delivers_large_output_completely_and_in_order),
        FL_UNIT(spawn_applies_env_working_dir_and_user),
        FL_UNIT(spawn_reports_127_for_a_missing_command),
        FL_UNIT(spawn_in_unknown_runner_is_not_found),
        FL_UNIT(spawn_without_argv_is_invalid_argument),
        FL_UNIT(spawn_in_exited_runner_fails_precondition),
        FL_UNIT(spawn_timeout_kills_the_command_with_deadline_exceeded),
        FL_UNIT(spawn_timeout_ends_the_rpc_at_once_even_when_the_command_ignores_sigterm),
        FL_UNIT(spawn_cancelled_by_the_client_kills_the_command),
    };
    return FL_RUN_SHARED("spawn", tests);
}
