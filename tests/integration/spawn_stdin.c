/*
 * SpawnStream: the command's stdin. Bytes reach the command in order and
 * whole (also many MiB, with flamed's memory bounded: one chunk in flight),
 * close_stdin is EOF, a command that does not read its stdin still ends the
 * call, and the refusals: an oversized chunk, a first message that is not
 * start, an unknown runner. Most tests share one runner (fl_group_runner).
 * The pool-scoped token case is in it_auth.c, the CLI's in flamectl.c.
 */
#include "harness.h"
#include "harness_ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libflame's bidirectional plumbing, to send what libflame itself never
 * would (an oversized chunk, no start first). */
#include "../../client/src/internal.h"

/* An input of `total` bytes of a fixed pseudo-random sequence, read in
 * pieces of varying size (as a pipe gives them). */
struct gen {
    size_t total, done;
    uint32_t x;
    int endless; /* never EOF */
};

static uint8_t gen_byte(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return (uint8_t)(*x >> 16);
}

static ssize_t gen_read(void *ud, void *buf, size_t len)
{
    struct gen *g = ud;
    size_t left = g->endless ? len : g->total - g->done;
    size_t n = len < left ? len : left;
    if (n > 1000 + g->done % 50000)
        n = 1000 + g->done % 50000; /* uneven pieces */
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = gen_byte(&g->x);
    g->done += n;
    return (ssize_t)n;
}

FL_TEST(spawn_stdin_of_32_mib_keeps_flamed_memory_bounded)
{
    const char *rid = fl_group_runner(e);
    const char *argv[] = {"wc", "-c", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv};
    struct gen g = {.total = (size_t)32 << 20, .x = 7};
    flame_spawn_input in = {.fd = -1, .read = gen_read, .ud = &g};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    long before = fl_vm_hwm_kib(fl_flamed_pid(e));
    int rc = fl_spawn_stdin_req(e, &req, &in, &o, &code, &st);
    long after = fl_vm_hwm_kib(fl_flamed_pid(e));
    if (rc != 0)
        fail_msg("SpawnStream failed: %s: %s", flame_error_name(rc), st.message);
    assert_int_equal(code, 0);
    assert_int_equal(strtol(o.out, NULL, 10), 32L << 20);
    fprintf(stderr, "flamed's peak RSS: %ld KiB before, %ld KiB after 32 MiB of stdin\n", before,
            after);
    assert_true(before > 0 && after > 0);
    /* Buffering the input would take 32 MiB more; one chunk in flight takes
     * a few gRPC buffers. Under ASan the RSS says nothing of buffering: its
     * quarantine keeps freed chunks resident (up to 256 MiB), so only the
     * byte count above is checked there. */
    if (!FL_UNDER_ASAN && after - before > 16 * 1024)
        fail_msg("flamed's peak RSS grew by %ld KiB (from %ld to %ld) while 32 MiB went to a "
                 "command's stdin: input is buffered, not paced",
                 after - before, before, after);
    fl_output_free(&o);
}

FL_TEST(spawn_stdin_reaches_cat_byte_for_byte)
{
    const char *rid = fl_group_runner(e);
    const char *argv[] = {"cat", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv};
    const size_t total = (size_t)8 << 20;
    struct gen g = {.total = total, .x = 42};
    flame_spawn_input in = {.fd = -1, .read = gen_read, .ud = &g};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_stdin_req(e, &req, &in, &o, &code, &st);
    if (rc != 0)
        fail_msg("SpawnStream failed: %s: %s", flame_error_name(rc), st.message);
    assert_int_equal(code, 0);
    assert_int_equal(o.out_len, total);
    uint32_t x = 42;
    for (size_t i = 0; i < total; i++) {
        uint8_t want = gen_byte(&x);
        if ((uint8_t)o.out[i] != want)
            fail_msg("stdout byte %zu is 0x%02x, sent 0x%02x", i, (unsigned char)o.out[i], want);
    }
    assert_string_equal(o.err, "");
    fl_output_free(&o);
}

FL_TEST(spawn_stdin_from_a_pipe_then_eof_lets_wc_print_and_exit)
{
    const char *rid = fl_group_runner(e);
    const char *argv[] = {"wc", "-c", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv};
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "hello stdin\n", 12), 12);
    close(p[1]); /* EOF after 12 bytes */
    flame_spawn_input in = {.fd = p[0]};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int64_t t0 = fl_now_ms();
    int rc = fl_spawn_stdin_req(e, &req, &in, &o, &code, &st);
    close(p[0]);
    if (rc != 0)
        fail_msg("SpawnStream failed: %s: %s", flame_error_name(rc), st.message);
    assert_int_equal(code, 0);
    assert_int_equal(strtol(o.out, NULL, 10), 12);
    assert_true(fl_now_ms() - t0 < 10000);
    fl_output_free(&o);
}

FL_TEST(spawn_stdin_command_that_does_not_read_still_exits)
{
    const char *rid = fl_group_runner(e);
    const char *argv[] = {"sh", "-c", "echo done; exit 5", NULL};
    flame_spawn_request req = {.runner_id = rid, .argv = argv};
    struct gen g = {.endless = 1, .x = 1}; /* never EOF */
    flame_spawn_input in = {.fd = -1, .read = gen_read, .ud = &g};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int64_t t0 = fl_now_ms();
    int rc = fl_spawn_stdin_req(e, &req, &in, &o, &code, &st);
    int64_t took = fl_now_ms() - t0;
    if (rc != 0)
        fail_msg("SpawnStream failed: %s: %s", flame_error_name(rc), st.message);
    assert_int_equal(code, 5);
    assert_string_equal(o.out, "done\n");
    if (took > 15000)
        fail_msg("a command that exits at once with endless stdin took %lld ms", (long long)took);
    fl_output_free(&o);
}

/* Open SpawnStream by hand with `first`, then send `then` (may be NULL), and
 * read to the end: the call's status. */
static int raw_spawn_stream(fl_env *e, const ProtobufCMessage *first, const ProtobufCMessage *then,
                            flame_status *st)
{
    flame__call *call = NULL;
    flame__arena *arena = NULL;
    assert_int_equal(flame__arena_new(0, &arena), 0);
    assert_int_equal(flame__call_open(e->client, "/flame.v1.RunnerService/SpawnStream", 30000,
                                      first, &call),
                     0);
    int sent = then == NULL;
    for (;;) {
        if (!sent && !flame__call_send_busy(call)) {
            assert_int_equal(flame__call_send_begin(call, then, 0), 0);
            sent = 1;
        }
        ProtobufCMessage *m = NULL;
        flame__arena_reset(arena);
        int rc = flame__call_poll(call, &flame__v1__spawn_response__descriptor, arena, 100, &m);
        if (rc == 0 || rc < 0)
            break;
    }
    int rc = flame__call_finish(call, st);
    flame__arena_unref(arena, 1);
    return rc;
}

FL_TEST(spawn_stdin_chunk_over_64_kib_is_invalid_argument)
{
    const char *rid = fl_group_runner(e);
    char *argv[] = {"cat", NULL};
    Flame__V1__SpawnRequest sreq = FLAME__V1__SPAWN_REQUEST__INIT;
    sreq.runner_id = (char *)rid;
    sreq.argv = argv;
    sreq.n_argv = 1;
    Flame__V1__SpawnStreamRequest first = FLAME__V1__SPAWN_STREAM_REQUEST__INIT;
    first.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_START;
    first.start = &sreq;
    size_t big = FLAME_SPAWN_STDIN_CHUNK_MAX + 1;
    uint8_t *data = calloc(1, big);
    assert_non_null(data);
    Flame__V1__SpawnStreamRequest chunk = FLAME__V1__SPAWN_STREAM_REQUEST__INIT;
    chunk.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_STDIN;
    chunk.stdin.data = data;
    chunk.stdin.len = big;
    flame_status st;
    int64_t t0 = fl_now_ms();
    int rc = raw_spawn_stream(e, &first.base, &chunk.base, &st);
    free(data);
    flx_assert_st(rc < 0 ? st.code : 0, &st, 3 /* INVALID_ARGUMENT */, "INVALID_REQUEST",
                  "SpawnStreamRequest.stdin");
    /* cat, waiting for stdin that never came, was ended with the call. */
    if (fl_now_ms() - t0 > 10000)
        fail_msg("refusing an oversized chunk took %lld ms", (long long)(fl_now_ms() - t0));
}

FL_TEST(spawn_stdin_first_message_must_be_start)
{
    Flame__V1__SpawnStreamRequest first = FLAME__V1__SPAWN_STREAM_REQUEST__INIT;
    first.event_case = FLAME__V1__SPAWN_STREAM_REQUEST__EVENT_STDIN;
    first.stdin.data = (uint8_t *)"x";
    first.stdin.len = 1;
    flame_status st;
    int rc = raw_spawn_stream(e, &first.base, NULL, &st);
    flx_assert_st(rc < 0 ? st.code : 0, &st, 3 /* INVALID_ARGUMENT */, "INVALID_REQUEST",
                  "first message must be start");
}

FL_TEST(spawn_stdin_in_unknown_runner_is_not_found)
{
    const char *argv[] = {"cat", NULL};
    flame_spawn_request req = {.runner_id = "0123456789abcdef", .argv = argv};
    struct gen g = {.total = 10, .x = 3};
    flame_spawn_input in = {.fd = -1, .read = gen_read, .ud = &g};
    fl_output o = {0};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_stdin_req(e, &req, &in, &o, &code, &st);
    flx_assert_st(rc < 0 ? st.code : 0, &st, 5 /* NOT_FOUND */, "RUNNER_NOT_FOUND", NULL);
    fl_output_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(spawn_stdin_of_32_mib_keeps_flamed_memory_bounded),
        FL_UNIT(spawn_stdin_reaches_cat_byte_for_byte),
        FL_UNIT(spawn_stdin_from_a_pipe_then_eof_lets_wc_print_and_exit),
        FL_UNIT(spawn_stdin_command_that_does_not_read_still_exits),
        FL_UNIT(spawn_stdin_chunk_over_64_kib_is_invalid_argument),
        FL_UNIT(spawn_stdin_first_message_must_be_start),
        FL_UNIT(spawn_stdin_in_unknown_runner_is_not_found),
    };
    return FL_RUN_SHARED("spawn_stdin", tests);
}
