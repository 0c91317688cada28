/*
 * The bounded decoder against the real flamed: request bytes sent as they
 * are over gRPC. A BootRequest whose host_config Struct nests 3,000 deep
 * (~41 KB, which overflowed flamed's stack inside protobuf-c) is refused with
 * INVALID_ARGUMENT before it is unpacked, and flamed goes on serving; nesting
 * exactly at the limit (32) reaches the service; malformed bytes are
 * INVALID_ARGUMENT (BAD_REQUEST).
 */
#include "harness_ext.h"

#include <stdlib.h>
#include <string.h>

#define BOOT "/flame.v1.RunnerService/Boot"
#define LIST "/flame.v1.RunnerService/List"

/* ---------------------------------------------------------------- wire bytes */

/* Bytes built from the inside out: they live in buf[start..cap). */
struct pb {
    uint8_t *buf;
    size_t cap, start;
};

static void pb_prepend(struct pb *p, const void *bytes, size_t n)
{
    assert_true(n <= p->start);
    p->start -= n;
    memcpy(p->buf + p->start, bytes, n);
}

static void pb_prepend_varint(struct pb *p, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    pb_prepend(p, tmp, n);
}

/* Everything so far becomes length-delimited field `number`. */
static void pb_wrap(struct pb *p, unsigned number)
{
    pb_prepend_varint(p, p->cap - p->start);
    pb_prepend_varint(p, (uint64_t)number << 3 | 2);
}

/*
 * A BootRequest: b's fields, then a host_config reaching level `depth`
 * exactly (Structs at levels 1, 4, 7..., their entries "a" at 2, 5..., the
 * Values holding the next Struct at 3, 6...; the deepest is empty). A
 * BootRequest may carry its fields in any order, so b is packed first and
 * host_config follows. Returns malloc'd bytes.
 */
static uint8_t *deep_boot(flx_boot *b, size_t depth, size_t *len)
{
    size_t head = protobuf_c_message_get_packed_size(&b->req.base);
    struct pb p = {NULL, head + 64 + 16 * depth, 0};
    p.buf = malloc(p.cap);
    assert_non_null(p.buf);
    p.start = p.cap;
    for (size_t level = depth; level > 1; level--) {
        switch ((level - 1) % 3) {
        case 1: /* the parent is a Struct: fields (1) holds the entry */
            pb_wrap(&p, 1);
            break;
        case 2: /* the parent is an entry: value (2), after key (1) "a" */
            pb_wrap(&p, 2);
            pb_prepend(&p, "a", 1);
            pb_prepend_varint(&p, 1);
            pb_prepend_varint(&p, 1u << 3 | 2);
            break;
        default: /* the parent is a Value: struct_value (5) */
            pb_wrap(&p, 5);
            break;
        }
    }
    pb_wrap(&p, 6); /* BootRequest.host_config */
    assert_true(head <= p.start);
    p.start -= head;
    protobuf_c_message_pack(&b->req.base, p.buf + p.start);
    *len = p.cap - p.start;
    memmove(p.buf, p.buf + p.start, *len);
    return p.buf;
}

static void assert_list_answers(fl_env *e)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int rc = flame_client_list(e->client, NULL, &rs, &n, &st);
    flx_assert_st(st.code, &st, GS_OK, NULL, NULL);
    assert_int_equal(rc, 0);
    flame_runner_list_free(rs, n);
}

/* ---------------------------------------------------------------- tests */

static void wire_struct_nested_3000_deep_is_refused_and_flamed_serves_on(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    flame_status st;
    flx_boot *b = flx_boot_new(e);
    size_t len = 0;
    uint8_t *req = deep_boot(b, 3 * 3000 - 2, &len); /* 3,000 Structs */
    assert_true(len > 30000 && len < 64 * 1024);

    for (int i = 0; i < 3; i++) {
        int code = flx_call(e, NULL, BOOT, req, len, NULL, NULL, NULL, &st);
        flx_assert_st(code, &st, GS_INVALID_ARGUMENT, "INVALID_REQUEST",
                      "request is nested deeper than 32 levels (policy limits.max_depth)");
        assert_list_answers(e);
    }
    flx_assert_managed(e, 0, "after refused deep Boots");
    free(req);
    flx_boot_free(b);

    /* Still a working flamed: an ordinary Boot, Spawn and Shutdown. */
    flame_runner *r = fl_boot_default(e, NULL);
    fl_output o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(fl_spawn_sh(e, r->id, "echo alive", &o), 0);
    assert_string_equal(o.out, "alive\n");
    fl_output_free(&o);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
    flx_pass(e);
}

static void wire_nesting_at_the_limit_reaches_the_service(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    flame_status st;
    flx_boot *b = flx_boot_new(e);
    /* A network that does not exist: whatever the service makes of the request,
     * no container is created. */
    char net[64];
    snprintf(net, sizeof(net), "%s-nonet", e->tag);
    b->req.network = net;
    size_t len = 0;

    uint8_t *at = deep_boot(b, 32, &len);
    int code = flx_call(e, NULL, BOOT, at, len, NULL, NULL, NULL, &st);
    free(at);
    if (code == GS_OK || strstr(st.message, "nested deeper"))
        fail_msg("depth 32: status %d \"%s\" (%s): want the service's own answer", code,
                 st.message, st.reason);

    uint8_t *over = deep_boot(b, 33, &len);
    code = flx_call(e, NULL, BOOT, over, len, NULL, NULL, NULL, &st);
    free(over);
    flx_assert_st(code, &st, GS_INVALID_ARGUMENT, "INVALID_REQUEST",
                  "nested deeper than 32 levels");
    flx_assert_managed(e, 0, "after Boots on a missing network");
    assert_list_answers(e);
    flx_boot_free(b);
    flx_pass(e);
}

static void wire_malformed_requests_are_bad_request(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    flame_status st;
    static const struct {
        const char *method, *what;
        uint8_t bytes[8];
        size_t len;
    } cases[] = {
        {BOOT, "group", {0x0b, 0x0c}, 2},
        {BOOT, "length past the end", {0x0a, 0x05, 'a'}, 3},
        {BOOT, "host_config past its end", {0x32, 0x02, 0x0a, 0x05, 'a'}, 5},
        {BOOT, "unterminated varint", {0x48, 0xff, 0xff}, 3},
        {LIST, "field number 0", {0x00, 0x00}, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int code = flx_call(e, NULL, cases[i].method, cases[i].bytes, cases[i].len, NULL, NULL,
                            NULL, &st);
        if (code != GS_INVALID_ARGUMENT)
            print_error("case: %s\n", cases[i].what);
        flx_assert_st(code, &st, GS_INVALID_ARGUMENT, "BAD_REQUEST", "is not a valid");
    }
    assert_list_answers(e);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLX_UNIT(wire_struct_nested_3000_deep_is_refused_and_flamed_serves_on),
        FLX_UNIT(wire_nesting_at_the_limit_reaches_the_service),
        FLX_UNIT(wire_malformed_requests_are_bad_request),
    };
    return FL_RUN("wire", tests);
}
