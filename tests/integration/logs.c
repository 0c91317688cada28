/*
 * Logs: a runner's container output, stdout and stderr apart and in order per
 * stream; tail_lines; timestamps; since_unix_nano; follow streams output
 * written after the call started and ends OK when the runner is shut down; an
 * unknown runner is NOT_FOUND; a runner whose container was removed is
 * FAILED_PRECONDITION.
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_FOUND 5
#define FAILED_PRECONDITION 9

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

/* Each line of OUT matches RE (extended); OUT holds LINES lines. */
static void assert_each_line(const char *out, const char *re, int lines)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    int n = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[512];
        size_t len = (size_t)(nl - p);
        assert_true(len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        if (regexec(&rx, line, 0, NULL, 0) != 0)
            fail_msg("line '%s' does not match /%s/", line, re);
        n++;
        p = nl + 1;
    }
    regfree(&rx);
    assert_int_equal(n, lines);
}

FL_TEST(logs_with_timestamps_puts_dockers_rfc3339_time_before_each_line)
{
    flame_runner *r = boot_printing(e);
    wait_lines(e, r->id, "out1\nout2\n");
    struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    flame_status st;
    flame_logs_request req = {.runner_id = r->id, .timestamps = 1};
    fl_assert_status(read_logs(e, &req, &g, &st), &st, 0);
    /* Docker's RFC 3339 with nanoseconds, in UTC: 2026-12-05T23:59:01.123456789Z out1 */
    const char *ts = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z ";
    char re[256];
    snprintf(re, sizeof(re), "%sout[12]$", ts);
    assert_each_line(g.out, re, 2);
    snprintf(re, sizeof(re), "%serr[12]$", ts);
    assert_each_line(g.err, re, 2);
    assert_non_null(strstr(g.out, " out1\n"));
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

FL_TEST(logs_since_leaves_out_earlier_output)
{
    flame_runner *r = boot_printing(e);
    wait_lines(e, r->id, "out1\nout2\n");
    fl_sleep_ms(50);
    int64_t since = wall_ns();
    fl_sleep_ms(50);
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, r->id, "echo later > /proc/1/fd/1", &o), 0);
    fl_output_free(&o);
    wait_lines(e, r->id, "out1\nout2\nlater\n");
    struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    flame_status st;
    flame_logs_request req = {.runner_id = r->id, .since_unix_nano = since};
    fl_assert_status(read_logs(e, &req, &g, &st), &st, 0);
    assert_string_equal(g.out, "later\n");
    assert_string_equal(g.err, "");
    /* since in the future: nothing (not an error). */
    struct got none = {.mu = PTHREAD_MUTEX_INITIALIZER};
    req.since_unix_nano = wall_ns() + 3600LL * 1000000000;
    fl_assert_status(read_logs(e, &req, &none, &st), &st, 0);
    assert_string_equal(none.out, "");
    assert_string_equal(none.err, "");
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(logs_of_a_removed_runner_is_failed_precondition)
{
    flame_runner *r = boot_printing(e);
    fl_shutdown(e, r->id); /* stops and removes the container */
    struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    flame_status st;
    flame_logs_request req = {.runner_id = r->id};
    int rc = read_logs(e, &req, &g, &st);
    fl_assert_status(rc, &st, FAILED_PRECONDITION);
    assert_string_equal(st.reason, "RUNNER_NOT_RUNNING");
    assert_string_equal(g.out, "");
    flame_runner_free(r);
}

struct slow {
    size_t bytes, chunks;
};

/* A reader that takes 2 ms per chunk: slower than Docker and flamed. */
static int on_output_slowly(void *ud, int stream, const void *data, size_t len)
{
    struct slow *s = ud;
    (void)stream;
    (void)data;
    s->bytes += len;
    s->chunks++;
    fl_sleep_ms(2);
    return 0;
}

/* 32 MiB of past output read by a slow client: flamed keeps one chunk in
 * flight and does not read ahead of the client, so its peak RSS stays far
 * below the log's size. */
FL_TEST(logs_with_a_slow_reader_keeps_flamed_memory_bounded)
{
    static const char *const cmd[] = {
        "sh", "-c",
        /* one line: Docker logs it in 16 KiB pieces, so about 2,048 messages */
        "head -c 33554432 /dev/zero | tr '\\0' x; echo; echo done; "
        "trap 'exit 0' TERM; sleep 3600 & wait",
        NULL};
    flame_boot_request breq;
    fl_boot_req_init(e, &breq);
    breq.cmd = cmd;
    flame_runner *r = fl_boot(e, &breq);
    /* wait until the whole output is in Docker's log: its last line */
    int complete = 0;
    for (int i = 0; i < 300 && !complete; i++) {
        struct got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
        flame_logs_request last = {.runner_id = r->id, .tail_lines = 1};
        flame_status st;
        assert_int_equal(read_logs(e, &last, &g, &st), 0);
        complete = strcmp(g.out, "done\n") == 0;
        if (!complete)
            fl_sleep_ms(100);
    }
    assert_true(complete);

    struct slow s = {0};
    flame_logs_handler h = {.on_output = on_output_slowly, .ud = &s};
    flame_logs_request req = {.runner_id = r->id};
    flame_status st;
    long before = fl_vm_hwm_kib(fl_flamed_pid(e));
    int64_t t0 = fl_now_ms();
    int rc = flame_client_logs(e->client, &req, &h, &st);
    int64_t took = fl_now_ms() - t0;
    long after = fl_vm_hwm_kib(fl_flamed_pid(e));
    fl_assert_status(rc, &st, 0);
    /* 32 MiB, the newline after it and "done\n" */
    assert_int_equal(s.bytes, ((size_t)32 << 20) + 1 + 5);
    fprintf(stderr, "logs: 32 MiB in %zu chunks in %lld ms to a slow reader; flamed's peak RSS "
            "%ld KiB before, %ld KiB after\n", s.chunks, (long long)took, before, after);
    assert_true(before > 0 && after > 0);
    /* Under ASan the RSS says nothing of buffering (its quarantine keeps freed
     * chunks resident), so only the byte count is checked there. */
    if (!FL_UNDER_ASAN && after - before > 16 * 1024)
        fail_msg("flamed's peak RSS grew by %ld KiB (from %ld to %ld) while 32 MiB of logs went "
                 "to a slow reader: output is buffered, not paced", after - before, before, after);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(logs_returns_stdout_and_stderr_apart_and_in_order),
        FL_UNIT(logs_follow_streams_new_output_and_ends_when_the_runner_is_shut_down),
        FL_UNIT(logs_with_timestamps_puts_dockers_rfc3339_time_before_each_line),
        FL_UNIT(logs_since_leaves_out_earlier_output),
        FL_UNIT(logs_of_an_unknown_runner_is_not_found),
        FL_UNIT(logs_of_a_removed_runner_is_failed_precondition),
        FL_UNIT(logs_with_a_slow_reader_keeps_flamed_memory_bounded),
    };
    return FL_RUN_SHARED("logs", tests);
}
