/* Live tests (real dockerd): exec create / start (demuxed, both 200 and 101) / inspect / kill. */
#include <pthread.h>
#include <signal.h>

#include "docker/docker_internal.h"
#include "live_support.h"

static char *box;     /* a running container (sleep) shared by the tests */
static char *stopped; /* a created, never started container */

struct out {
    char o[4096], e[4096];
    size_t olen, elen;
    size_t total;    /* bytes seen on any stream */
    int sleep_us;    /* per chunk: a slow consumer */
    int fail_after;  /* return non-zero after this many bytes (0 = never) */
    double abort_at; /* should_abort says yes after this monotonic time (0 = never) */
    long status;     /* HTTP status exec start answered */
};

static int on_output(void *ud, int stream, const char *p, size_t n)
{
    struct out *w = ud;
    char *dst = stream == 2 ? w->e : w->o;
    size_t *len = stream == 2 ? &w->elen : &w->olen;
    size_t room = sizeof w->o - 1 - *len;

    assert_true(stream == 1 || stream == 2);
    assert_true(n > 0);
    memcpy(dst + *len, p, n < room ? n : room);
    *len += n < room ? n : room;
    dst[*len] = '\0';
    w->total += n;
    if (w->sleep_us)
        usleep((useconds_t)w->sleep_us);
    return (w->fail_after && w->total >= (size_t)w->fail_after) ? 1 : 0;
}

static int should_abort(void *ud)
{
    struct out *w = ud;

    return w->abort_at > 0 && live_now_s() >= w->abort_at;
}

/* exec create + start (+ upgrade choice); returns start's code, exec id in *exec_id. */
static int run_exec(const char *const *argv, const char *const *env, const char *wd, struct out *w,
                    int upgrade, char **exec_id, char *err, size_t errlen)
{
    struct docker_exec_io io = {.on_output = on_output, .should_abort = should_abort, .ud = w};
    long status = 0;
    int rc;

    rc = docker_exec_create(live, box, argv, env, wd, NULL, exec_id, err, errlen);
    if (rc != 0)
        fail_msg("exec create: %s (%d)", err, rc);
    rc = docker__exec_start_ex(live, *exec_id, &io, upgrade, &status, err, errlen);
    w->status = status;
    return rc;
}

static int setup(void **state)
{
    const char *const cmd[] = {"sleep", "600", NULL};

    if (live_group_setup(state) != 0)
        return -1;
    if (live_up) {
        box = live_run("exec-box", cmd);
        stopped = live_create("exec-stopped", cmd, NULL);
    }
    return 0;
}

static int teardown(void **state)
{
    free(box);
    free(stopped);
    return live_group_teardown(state);
}

static void exec_output_is_demuxed_into_stdout_and_stderr_with_the_exit_code(void **state)
{
    const char *const argv[] = {"sh", "-c", "echo out-1; echo err-1 >&2; echo out-2; exit 3", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;
    int code = 0, running = 1;
    long pid = 0;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 0, &eid, err, sizeof err), 0);
    assert_int_equal(w.status, 200); /* no Upgrade header: a plain 200 with the raw stream */
    assert_string_equal(w.o, "out-1\nout-2\n");
    assert_string_equal(w.e, "err-1\n");
    assert_int_equal(docker_exec_inspect(live, eid, &code, &running, &pid, err, sizeof err), 0);
    assert_int_equal(code, 3);
    assert_int_equal(running, 0);
    free(eid);
}

static void exec_with_upgrade_answers_101_and_streams_the_same(void **state)
{
    const char *const argv[] = {"sh", "-c", "echo out-1; echo err-1 >&2; exit 5", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;
    int code = 0;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 1, &eid, err, sizeof err), 0);
    assert_int_equal(w.status, 101);
    assert_string_equal(w.o, "out-1\n");
    assert_string_equal(w.e, "err-1\n");
    assert_int_equal(docker_exec_inspect(live, eid, &code, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(code, 5);
    free(eid);
}

static void exec_env_and_working_dir_are_applied(void **state)
{
    const char *const argv[] = {"sh", "-c", "echo \"$FLTEST_A\"; pwd", NULL};
    const char *const env[] = {"FLTEST_A=hello world", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(run_exec(argv, env, "/tmp", &w, 0, &eid, err, sizeof err), 0);
    assert_string_equal(w.o, "hello world\n/tmp\n");
    free(eid);
}

static void slow_consumer_gets_every_byte(void **state)
{
    /* 2 MiB through a consumer that sleeps per chunk: backpressure, not loss. */
    const char *const argv[] = {"sh", "-c", "yes 0123456789abcdef | head -c 2097152; echo e >&2",
                                NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;

    (void)state;
    LIVE_REQUIRE();
    w.sleep_us = 200;
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 0, &eid, err, sizeof err), 0);
    assert_int_equal(w.total, 2097152 + 2);
    assert_string_equal(w.e, "e\n");
    free(eid);
}

static void should_abort_cancels_an_idle_stream_promptly(void **state)
{
    const char *const argv[] = {"sleep", "30", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;
    double t0 = live_now_s();

    (void)state;
    LIVE_REQUIRE();
    w.abort_at = t0 + 0.3;
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 0, &eid, err, sizeof err), FLAME_ECANCELLED);
    assert_true(live_now_s() - t0 < 3.0);
    assert_true(err[0] != '\0');
    /* The process lives on: Docker has no exec kill; ours goes through the host pid. */
    assert_int_equal(docker_exec_kill(live, eid, box, SIGKILL, err, sizeof err), 0);
    free(eid);
}

static void on_output_nonzero_cancels_the_stream(void **state)
{
    const char *const argv[] = {"sh", "-c", "echo first; sleep 30", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;
    double t0 = live_now_s();

    (void)state;
    LIVE_REQUIRE();
    w.fail_after = 1;
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 0, &eid, err, sizeof err), FLAME_ECANCELLED);
    assert_true(live_now_s() - t0 < 3.0);
    assert_string_equal(w.o, "first\n");
    docker_exec_kill(live, eid, box, SIGKILL, err, sizeof err);
    free(eid);
}

struct bg {
    char *eid;
    struct out w;
    int rc;
    char err[512];
};

static void *bg_start(void *arg)
{
    struct bg *b = arg;
    struct docker_exec_io io = {.on_output = on_output, .ud = &b->w};

    b->rc = docker_exec_start(live, b->eid, &io, b->err, sizeof b->err);
    return NULL;
}

static void exec_kill_signals_the_process_through_its_host_pid(void **state)
{
    const char *const argv[] = {"sleep", "300", NULL};
    struct bg b;
    pthread_t t;
    char err[512] = "";
    int code = 0, running = 1;
    long pid = 0;
    double t0;

    (void)state;
    LIVE_REQUIRE();
    memset(&b, 0, sizeof b);
    assert_int_equal(docker_exec_create(live, box, argv, NULL, NULL, NULL, &b.eid, err, sizeof err),
                     0);
    assert_int_equal(pthread_create(&t, NULL, bg_start, &b), 0);
    t0 = live_now_s();
    while (pid == 0 && live_now_s() - t0 < 10) {
        assert_int_equal(docker_exec_inspect(live, b.eid, NULL, &running, &pid, err, sizeof err),
                         0);
        if (pid == 0)
            usleep(20000);
    }
    assert_true(pid > 0);
    assert_int_equal(docker_exec_kill(live, b.eid, box, SIGTERM, err, sizeof err), 0);
    pthread_join(t, NULL);
    assert_int_equal(b.rc, 0);
    assert_true(live_now_s() - t0 < 10);
    assert_int_equal(docker_exec_inspect(live, b.eid, &code, &running, NULL, err, sizeof err), 0);
    assert_int_equal(running, 0);
    assert_int_equal(code, 143);
    /* Already gone: still success. */
    assert_int_equal(docker_exec_kill(live, b.eid, box, SIGTERM, err, sizeof err), 0);
    free(b.eid);
}

static void exec_kill_refuses_another_containers_exec(void **state)
{
    const char *const argv[] = {"sleep", "300", NULL};
    struct bg b;
    pthread_t t;
    char err[512] = "";
    long pid = 0;
    double t0;

    (void)state;
    LIVE_REQUIRE();
    memset(&b, 0, sizeof b);
    assert_int_equal(docker_exec_create(live, box, argv, NULL, NULL, NULL, &b.eid, err, sizeof err),
                     0);
    assert_int_equal(pthread_create(&t, NULL, bg_start, &b), 0);
    t0 = live_now_s();
    while (pid == 0 && live_now_s() - t0 < 10) {
        assert_int_equal(docker_exec_inspect(live, b.eid, NULL, NULL, &pid, err, sizeof err), 0);
        if (pid == 0)
            usleep(20000);
    }
    assert_int_equal(docker_exec_kill(live, b.eid, stopped, SIGKILL, err, sizeof err),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "belongs to container"));
    assert_int_equal(docker_exec_kill(live, b.eid, box, SIGKILL, err, sizeof err), 0);
    pthread_join(t, NULL);
    free(b.eid);
}

static void exec_in_a_stopped_container_is_precondition(void **state)
{
    const char *const argv[] = {"true", NULL};
    char err[512] = "";
    char *eid = NULL;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(
        docker_exec_create(live, stopped, argv, NULL, NULL, NULL, &eid, err, sizeof err),
        FLAME_EPRECONDITION);
    assert_null(eid);
    assert_non_null(strstr(err, "running"));
}

static void exec_in_a_missing_container_is_notfound(void **state)
{
    const char *const argv[] = {"true", NULL};
    char err[512] = "";
    char *eid = NULL;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_exec_create(live, "fltest-dk-no-such-container", argv, NULL, NULL, NULL,
                                        &eid, err, sizeof err),
                     FLAME_ENOTFOUND);
}

static void exec_of_a_missing_binary_reports_the_error_in_stdout(void **state)
{
    const char *const argv[] = {"/no/such/binary", NULL};
    struct out w = {0};
    char err[512] = "";
    char *eid = NULL;
    int code = 0;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(run_exec(argv, NULL, NULL, &w, 0, &eid, err, sizeof err), 0);
    assert_non_null(strstr(w.o, "/no/such/binary"));
    assert_int_equal(docker_exec_inspect(live, eid, &code, NULL, NULL, err, sizeof err), 0);
    assert_true(code == 126 || code == 127);
    free(eid);
}

static void start_of_a_missing_exec_is_notfound(void **state)
{
    struct out w = {0};
    struct docker_exec_io io = {.on_output = on_output, .ud = &w};
    char err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_exec_start(live, "0123456789abcdef", &io, err, sizeof err),
                     FLAME_ENOTFOUND);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exec_output_is_demuxed_into_stdout_and_stderr_with_the_exit_code),
        cmocka_unit_test(exec_with_upgrade_answers_101_and_streams_the_same),
        cmocka_unit_test(exec_env_and_working_dir_are_applied),
        cmocka_unit_test(slow_consumer_gets_every_byte),
        cmocka_unit_test(should_abort_cancels_an_idle_stream_promptly),
        cmocka_unit_test(on_output_nonzero_cancels_the_stream),
        cmocka_unit_test(exec_kill_signals_the_process_through_its_host_pid),
        cmocka_unit_test(exec_kill_refuses_another_containers_exec),
        cmocka_unit_test(exec_in_a_stopped_container_is_precondition),
        cmocka_unit_test(exec_in_a_missing_container_is_notfound),
        cmocka_unit_test(exec_of_a_missing_binary_reports_the_error_in_stdout),
        cmocka_unit_test(start_of_a_missing_exec_is_notfound),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, setup, teardown));
}
