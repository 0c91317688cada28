/*
 * Logs: a runner's container output, stdout and stderr apart and in order per
 * stream; tail_lines; follow streams output written after the call started and
 * ends OK when the runner is shut down; an unknown runner is NOT_FOUND.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND 5

/* PID 1 writes two lines to each stream, then waits for SIGTERM. */
static const char *const cmd_printing[] = {
    "sh", "-c",
    "echo out1; echo err1 >&2; echo out2; echo err2 >&2; "
    "trap 'exit 0' TERM; sleep 3600 & wait",
    NULL};

struct got {
    char out[4096], err[4096];
    size_t out_len, err_len;
    pthread_mutex_t mu;
};

static int on_output(void *ud, int stream, const void *data, size_t len)
{
    struct got *g = ud;
    pthread_mutex_lock(&g->mu);
    char *buf = stream == 2 ? g->err : g->out;
    size_t *n = stream == 2 ? &g->err_len : &g->out_len;
    if (*n + len < sizeof(g->out)) {
        memcpy(buf + *n, data, len);
        *n += len;
        buf[*n] = '\0';
    }
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static flame_runner *boot_printing(fl_env *e)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd_printing;
    return fl_boot(e, &req);
}

static int read_logs(fl_env *e, const flame_logs_request *req, struct got *g, flame_status *st)
{
    flame_logs_handler h = {.on_output = on_output, .ud = g};
    return flame_client_logs(e->client, req, &h, st);
}

/* The container's own output may take a moment to reach Docker's log. */
static void wait_lines(fl_env *e, const char *rid, const char *want_out)
{
    for (int i = 0; i < 50; i++) {
        struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
        flame_status st;
        flame_logs_request req = {.runner_id = rid};
        fl_assert_status(read_logs(e, &req, &g, &st), &st, 0);
        if (strcmp(g.out, want_out) == 0)
            return;
        fl_sleep_ms(100);
    }
    fail_msg("the runner's output never reached its logs");
}

FL_TEST(logs_returns_stdout_and_stderr_apart_and_in_order)
{
    flame_runner *r = boot_printing(e);
    wait_lines(e, r->id, "out1\nout2\n");
    struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    flame_status st;
    flame_logs_request req = {.runner_id = r->id};
    fl_assert_status(read_logs(e, &req, &g, &st), &st, 0);
    assert_string_equal(g.out, "out1\nout2\n");
    assert_string_equal(g.err, "err1\nerr2\n");

    /* tail_lines: the last N lines of the log, both streams counted together
     * (as Docker counts; its two copiers may log out2 and err2 in either order). */
    struct got t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    req.tail_lines = 1;
    fl_assert_status(read_logs(e, &req, &t, &st), &st, 0);
    assert_true((strcmp(t.out, "out2\n") == 0 && !t.err[0]) ||
                (strcmp(t.err, "err2\n") == 0 && !t.out[0]));
    struct got t3 = {.mu = PTHREAD_MUTEX_INITIALIZER};
    req.tail_lines = 3;
    fl_assert_status(read_logs(e, &req, &t3, &st), &st, 0);
    assert_int_equal(t3.out_len + t3.err_len, strlen("out1\n") * 3);
    assert_true(strstr(t3.out, "out2\n") && strstr(t3.err, "err2\n"));
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

struct follower {
    fl_env *e;
    const char *rid;
    struct got g;
    int rc;
    flame_status st;
};

static void *follow_thread(void *p)
{
    struct follower *f = p;
    flame_logs_request req = {.runner_id = f->rid, .follow = 1, .timeout_ms = 60000};
    f->rc = read_logs(f->e, &req, &f->g, &f->st);
    return NULL;
}

FL_TEST(logs_follow_streams_new_output_and_ends_when_the_runner_is_shut_down)
{
    flame_runner *r = boot_printing(e);
    wait_lines(e, r->id, "out1\nout2\n");
    struct follower f = {.e = e, .rid = r->id, .g = {.mu = PTHREAD_MUTEX_INITIALIZER}, .rc = -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &f), 0);
    fl_sleep_ms(300);
    /* Written to PID 1's stdout after the call started: it is the container's output. */
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, r->id, "echo late > /proc/1/fd/1", &o), 0);
    fl_output_free(&o);
    int seen = 0;
    for (int i = 0; i < 50 && !seen; i++) {
        pthread_mutex_lock(&f.g.mu);
        seen = strstr(f.g.out, "late\n") != NULL;
        pthread_mutex_unlock(&f.g.mu);
        if (!seen)
            fl_sleep_ms(100);
    }
    assert_true(seen);
    int64_t t0 = fl_now_ms();
    fl_shutdown(e, r->id);
    assert_int_equal(pthread_join(th, NULL), 0);
    fl_assert_status(f.rc, &f.st, 0);
    assert_true(fl_now_ms() - t0 < 30000);
    assert_string_equal(f.g.out, "out1\nout2\nlate\n");
    assert_string_equal(f.g.err, "err1\nerr2\n");
    flame_runner_free(r);
}

FL_TEST(logs_of_an_unknown_runner_is_not_found)
{
    struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    flame_status st;
    flame_logs_request req = {.runner_id = "0123456789abcdef"};
    int rc = read_logs(e, &req, &g, &st);
    fl_assert_status(rc, &st, NOT_FOUND);
    assert_string_equal(st.reason, "RUNNER_NOT_FOUND");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(logs_returns_stdout_and_stderr_apart_and_in_order),
        FL_UNIT(logs_follow_streams_new_output_and_ends_when_the_runner_is_shut_down),
        FL_UNIT(logs_of_an_unknown_runner_is_not_found),
    };
    return FL_RUN_SHARED("logs", tests);
}
