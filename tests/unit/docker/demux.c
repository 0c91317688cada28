/* Unit tests: docker_demux_* (Docker's 8-byte-header stdout/stderr frames). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

struct capture {
    char out[1024], err[1024];
    size_t out_len, err_len;
    int calls, empty_calls, abort_at; /* abort_at: call number that returns 42 (0 = never) */
};

static int capture_cb(void *ud, int stream, const char *p, size_t n)
{
    struct capture *c = ud;

    c->calls++;
    if (n == 0)
        c->empty_calls++;
    if (stream == 1) {
        assert_true(c->out_len + n < sizeof c->out);
        memcpy(c->out + c->out_len, p, n);
        c->out_len += n;
    } else if (stream == 2) {
        assert_true(c->err_len + n < sizeof c->err);
        memcpy(c->err + c->err_len, p, n);
        c->err_len += n;
    } else {
        fail_msg("unexpected stream %d", stream);
    }
    return (c->abort_at && c->calls == c->abort_at) ? 42 : 0;
}

/* Append one frame to buf at *len. */
static void frame(unsigned char *buf, size_t *len, int stream, const char *payload, size_t n)
{
    buf[(*len)++] = (unsigned char)stream;
    buf[(*len)++] = 0;
    buf[(*len)++] = 0;
    buf[(*len)++] = 0;
    buf[(*len)++] = (unsigned char)(n >> 24);
    buf[(*len)++] = (unsigned char)(n >> 16);
    buf[(*len)++] = (unsigned char)(n >> 8);
    buf[(*len)++] = (unsigned char)n;
    memcpy(buf + *len, payload, n);
    *len += n;
}

static size_t sample(unsigned char *buf)
{
    size_t len = 0;

    frame(buf, &len, 1, "hello ", 6);
    frame(buf, &len, 2, "oops\n", 5);
    frame(buf, &len, 1, "", 0);
    frame(buf, &len, 1, "world\n", 6);
    return len;
}

static void frames_spanning_calls_byte_by_byte_are_reassembled(void **state)
{
    unsigned char buf[256];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = sample(buf), i;

    (void)state;
    docker_demux_init(&d);
    for (i = 0; i < len; i++)
        assert_int_equal(docker_demux_feed(&d, (const char *)buf + i, 1, capture_cb, &cap), 0);
    assert_int_equal(cap.out_len, 12);
    assert_memory_equal(cap.out, "hello world\n", 12);
    assert_int_equal(cap.err_len, 5);
    assert_memory_equal(cap.err, "oops\n", 5);
    assert_int_equal(cap.empty_calls, 0);
    assert_int_equal(d.remaining, 0);
    assert_int_equal(d.hdr_have, 0);
}

static void frames_in_one_call_are_delivered_whole(void **state)
{
    unsigned char buf[256];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = sample(buf);

    (void)state;
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len, capture_cb, &cap), 0);
    assert_int_equal(cap.calls, 3); /* the zero-length frame makes no call */
    assert_memory_equal(cap.out, "hello world\n", 12);
    assert_memory_equal(cap.err, "oops\n", 5);
}

static void split_header_across_calls_is_reassembled(void **state)
{
    unsigned char buf[64];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = 0;

    (void)state;
    frame(buf, &len, 2, "abc", 3);
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, 5, capture_cb, &cap), 0);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf + 5, len - 5, capture_cb, &cap), 0);
    assert_int_equal(cap.err_len, 3);
    assert_memory_equal(cap.err, "abc", 3);
}

static void zero_length_frames_make_no_output_calls(void **state)
{
    unsigned char buf[64];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = 0;

    (void)state;
    frame(buf, &len, 1, "", 0);
    frame(buf, &len, 2, "", 0);
    frame(buf, &len, 1, "", 0);
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len, capture_cb, &cap), 0);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(d.remaining, 0);
    assert_int_equal(d.hdr_have, 0);
}

static void length_is_big_endian(void **state)
{
    static char payload[300];
    unsigned char buf[400];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = 0;

    (void)state;
    memset(payload, 'x', sizeof payload);
    frame(buf, &len, 1, payload, sizeof payload);
    assert_int_equal(buf[6], 0x01);
    assert_int_equal(buf[7], 0x2c);
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len - 1, capture_cb, &cap), 0);
    assert_int_equal(d.remaining, 1);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf + len - 1, 1, capture_cb, &cap), 0);
    assert_int_equal(cap.out_len, 300);
}

static void stream_type_above_2_is_refused(void **state)
{
    unsigned char buf[64];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = 0;

    (void)state;
    frame(buf, &len, 3, "abc", 3);
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len, capture_cb, &cap),
                     FLAME_EINVALID);
    assert_int_equal(cap.calls, 0);
}

static void nonzero_header_padding_is_refused(void **state)
{
    unsigned char buf[64];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = 0;

    (void)state;
    frame(buf, &len, 1, "abc", 3);
    buf[2] = 1;
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len, capture_cb, &cap),
                     FLAME_EINVALID);
}

static void plain_text_is_refused(void **state)
{
    struct capture cap = {0};
    struct docker_demux d;

    (void)state;
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, "hello world\n", 12, capture_cb, &cap), FLAME_EINVALID);
}

static void out_nonzero_return_stops_feeding_and_is_returned(void **state)
{
    unsigned char buf[256];
    struct capture cap = {0};
    struct docker_demux d;
    size_t len = sample(buf);

    (void)state;
    cap.abort_at = 2; /* the stderr frame */
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (const char *)buf, len, capture_cb, &cap), 42);
    assert_int_equal(cap.calls, 2);
    assert_int_equal(cap.out_len, 6); /* "world\n" never delivered */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_spanning_calls_byte_by_byte_are_reassembled),
        cmocka_unit_test(frames_in_one_call_are_delivered_whole),
        cmocka_unit_test(split_header_across_calls_is_reassembled),
        cmocka_unit_test(zero_length_frames_make_no_output_calls),
        cmocka_unit_test(length_is_big_endian),
        cmocka_unit_test(stream_type_above_2_is_refused),
        cmocka_unit_test(nonzero_header_padding_is_refused),
        cmocka_unit_test(plain_text_is_refused),
        cmocka_unit_test(out_nonzero_return_stops_feeding_and_is_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
