/*
 * Unit tests: the bounded decoder's depth check (rpc/wire_depth.h) - legit
 * BootRequests pass, a Struct nested 3,000 deep is refused without a crash,
 * the limit is exact, malformed wire data is refused, unknown fields are
 * skipped unread, and the server's limit is clamped to [8, 200].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "flame/v1/runner_service.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "rpc/wire_depth.h"

static const ProtobufCMessageDescriptor *const BOOT = &flame__v1__boot_request__descriptor;

/* ---------------------------------------------------------------- a writer that prepends */

/* Wire bytes built from the inside out: they live in buf[start..cap). */
struct pb {
    uint8_t *buf;
    size_t cap, start;
};

static void pb_init(struct pb *p, size_t cap)
{
    p->buf = malloc(cap);
    assert_non_null(p->buf);
    p->cap = cap;
    p->start = cap;
}

static size_t pb_len(const struct pb *p) { return p->cap - p->start; }
static const uint8_t *pb_data(const struct pb *p) { return p->buf + p->start; }

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

/* Everything written so far becomes length-delimited field `number`. */
static void pb_wrap(struct pb *p, unsigned number)
{
    pb_prepend_varint(p, pb_len(p));
    pb_prepend_varint(p, (uint64_t)number << 3 | 2);
}

/* Prepend a string field. */
static void pb_string(struct pb *p, unsigned number, const char *s)
{
    pb_prepend(p, s, strlen(s));
    pb_prepend_varint(p, strlen(s));
    pb_prepend_varint(p, (uint64_t)number << 3 | 2);
}

/*
 * A BootRequest (image "app") whose host_config reaches level `depth` exactly:
 * levels 1, 4, 7... are Structs, 2, 5, 8... their fields entries ("a"), 3, 6,
 * 9... Values holding the next Struct; the deepest is an empty message.
 */
static struct pb deep_boot(size_t depth)
{
    struct pb p;
    pb_init(&p, 64 + 16 * depth);
    for (size_t level = depth; level > 1; level--) {
        /* Wrap level `level` into its parent, level - 1. */
        switch ((level - 1) % 3) {
        case 1: /* parent is a Struct: map field 1 holds the entry */
            pb_wrap(&p, 1);
            break;
        case 2: /* parent is an entry: value (2) holds the Value, key (1) "a" */
            pb_wrap(&p, 2);
            pb_string(&p, 1, "a");
            break;
        default: /* parent is a Value: struct_value (5) holds the Struct */
            pb_wrap(&p, 5);
            break;
        }
    }
    pb_wrap(&p, 6); /* BootRequest.host_config */
    pb_string(&p, 1, "app");
    return p;
}

/* How deep protobuf-c's unpacked form of deep_boot() nests. */
static size_t unpacked_depth(const Flame__V1__BootRequest *req)
{
    size_t depth = 0;
    const Google__Protobuf__Struct *s = req->host_config;
    while (s) {
        depth++;
        if (s->n_fields == 0)
            break;
        depth++;
        const Google__Protobuf__Value *v = s->fields[0]->value;
        if (!v)
            break;
        depth++;
        s = v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE ? v->struct_value : NULL;
    }
    return depth;
}

static int check(const void *bytes, size_t len, size_t max_depth)
{
    return rpc_wire_depth_check(BOOT, bytes, len, max_depth);
}

/* ---------------------------------------------------------------- legit requests */

static void a_legit_boot_request_passes(void **state)
{
    (void)state;
    Google__Protobuf__Value one = GOOGLE__PROTOBUF__VALUE__INIT;
    one.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    one.number_value = 1;
    Google__Protobuf__Struct__FieldsEntry memory = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
    memory.key = "Memory";
    memory.value = &one;
    Google__Protobuf__Struct__FieldsEntry *fields[] = {&memory};
    Google__Protobuf__Struct hc = GOOGLE__PROTOBUF__STRUCT__INIT;
    hc.n_fields = 1;
    hc.fields = fields;
    Flame__V1__BootRequest__EnvEntry env = FLAME__V1__BOOT_REQUEST__ENV_ENTRY__INIT;
    env.key = "A";
    env.value = "1";
    Flame__V1__BootRequest__EnvEntry *envs[] = {&env};
    char *cmd[] = {"sleep", "60"};
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    req.image = "app:latest";
    req.network = "appnet";
    req.pool = "poola";
    req.n_env = 1;
    req.env = envs;
    req.n_cmd = 2;
    req.cmd = cmd;
    req.host_config = &hc;
    req.boot_timeout_ms = 30000;
    req.request_id = "req-1";
    uint8_t buf[512];
    size_t len = flame__v1__boot_request__get_packed_size(&req);
    assert_true(len <= sizeof(buf));
    flame__v1__boot_request__pack(&req, buf);

    assert_int_equal(check(buf, len, RPC_WIRE_DEPTH_DEFAULT), 0);
    /* host_config {"Memory": 1} reaches level 3: Struct, entry, Value. */
    assert_int_equal(check(buf, len, 3), 0);
    assert_int_equal(check(buf, len, 2), FLAME_ERANGE);
    /* The env map's entries are messages too (level 1). */
    req.host_config = NULL;
    len = flame__v1__boot_request__get_packed_size(&req);
    flame__v1__boot_request__pack(&req, buf);
    assert_int_equal(check(buf, len, 1), 0);
    assert_int_equal(check(buf, len, 0), FLAME_ERANGE);
}

static void an_empty_request_passes(void **state)
{
    (void)state;
    assert_int_equal(check(NULL, 0, RPC_WIRE_DEPTH_DEFAULT), 0);
    assert_int_equal(check("", 0, 0), 0);
}

/* ---------------------------------------------------------------- depth */

static void a_struct_nested_3000_deep_is_refused_without_crashing(void **state)
{
    (void)state;
    /* 3,000 Structs: levels 1..8998, about 41 KB on the wire. */
    struct pb p = deep_boot(3 * 3000 - 2);
    assert_true(pb_len(&p) > 30000 && pb_len(&p) < 64 * 1024);
    assert_int_equal(check(pb_data(&p), pb_len(&p), RPC_WIRE_DEPTH_DEFAULT), FLAME_ERANGE);
    assert_int_equal(check(pb_data(&p), pb_len(&p), RPC_WIRE_DEPTH_MAX), FLAME_ERANGE);
    /* A limit above the maximum counts as the maximum. */
    assert_int_equal(check(pb_data(&p), pb_len(&p), 100000), FLAME_ERANGE);
    free(p.buf);
}

static void exactly_at_the_limit_passes_one_more_fails(void **state)
{
    (void)state;
    /* Every kind of message at the bottom (Struct, entry, Value), around 32 and 200. */
    static const size_t limits[] = {RPC_WIRE_DEPTH_DEFAULT, 33, 34, RPC_WIRE_DEPTH_MIN,
                                    RPC_WIRE_DEPTH_MAX};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        size_t limit = limits[i];
        struct pb at = deep_boot(limit), over = deep_boot(limit + 1);
        assert_int_equal(check(pb_data(&at), pb_len(&at), limit), 0);
        assert_int_equal(check(pb_data(&over), pb_len(&over), limit), FLAME_ERANGE);
        if (limit < RPC_WIRE_DEPTH_MAX)
            assert_int_equal(check(pb_data(&over), pb_len(&over), limit + 1), 0);
        /* The levels counted here are the levels protobuf-c builds. */
        Flame__V1__BootRequest *req =
            flame__v1__boot_request__unpack(NULL, pb_len(&at), pb_data(&at));
        assert_non_null(req);
        assert_int_equal(unpacked_depth(req), limit);
        flame__v1__boot_request__free_unpacked(req, NULL);
        free(at.buf);
        free(over.buf);
    }
}

static void repeated_and_map_messages_count_like_any_other(void **state)
{
    (void)state;
    /* mounts (repeated Struct) with one entry holding a ListValue holding a Value: level 5. */
    struct pb p;
    pb_init(&p, 64);
    pb_wrap(&p, 1);          /* ListValue.values: an empty Value, level 5 */
    pb_wrap(&p, 6);          /* Value.list_value: the ListValue, level 4 */
    pb_wrap(&p, 2);          /* entry.value, level 3 */
    pb_string(&p, 1, "Type");
    pb_wrap(&p, 1);          /* Struct.fields entry, level 2 */
    pb_wrap(&p, 7);          /* BootRequest.mounts, level 1 */
    assert_int_equal(check(pb_data(&p), pb_len(&p), 5), 0);
    assert_int_equal(check(pb_data(&p), pb_len(&p), 4), FLAME_ERANGE);
    free(p.buf);
}

/* ---------------------------------------------------------------- malformed */

static void truncated_requests_are_refused(void **state)
{
    (void)state;
    struct pb p = deep_boot(12);
    pb_string(&p, 15, "req-1"); /* and a string field before it */
    /* Cut anywhere: refused unless the cut falls between top-level fields, exactly
     * when protobuf-c refuses it too. */
    for (size_t n = 0; n < pb_len(&p); n++) {
        int rc = check(pb_data(&p), n, RPC_WIRE_DEPTH_DEFAULT);
        Flame__V1__BootRequest *req = flame__v1__boot_request__unpack(NULL, n, pb_data(&p));
        if ((rc == 0) != (req != NULL))
            fail_msg("prefix of %zu bytes: check %d, protobuf-c %s", n, rc, req ? "ok" : "refused");
        assert_true(rc == 0 || rc == FLAME_EINVALID);
        flame__v1__boot_request__free_unpacked(req, NULL);
    }
    assert_int_equal(check(pb_data(&p), pb_len(&p), RPC_WIRE_DEPTH_DEFAULT), 0);
    free(p.buf);
}

static void malformed_wire_data_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {"length past the end", {0x0a, 0x05, 'a'}, 3},
        {"length varint cut short", {0x0a, 0x80}, 2},
        {"length over 5 bytes", {0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00}, 7},
        {"length of 2^32 - 1", {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, 7},
        {"tag cut short", {0x80}, 1},
        {"tag over 5 bytes", {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6},
        {"field number 0", {0x00, 0x00}, 2},
        {"field number over 2^29 - 1", {0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00}, 6},
        {"varint over 10 bytes",
         {0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
        {"varint cut short", {0x48, 0xff}, 2},
        {"group start (wire type 3)", {0x0b, 0x0c}, 2},
        {"group end (wire type 4)", {0x0c}, 1},
        {"wire type 6", {0x0e}, 1},
        {"wire type 7", {0x0f}, 1},
        {"fixed64 cut short", {0x09, 1, 2, 3, 4, 5, 6, 7}, 8},
        {"fixed32 cut short", {0x0d, 1, 2, 3}, 4},
        {"host_config as a varint", {0x30, 0x01}, 2},
        {"host_config as a fixed32", {0x35, 0, 0, 0, 0}, 5},
        /* host_config of 2 bytes whose field claims 5: past the end of its message
         * though not of the request. */
        {"field past its message's end", {0x32, 0x02, 0x0a, 0x05, 'a', 'b', 'c', 'd', 'e'}, 9},
        {"group inside a nested message", {0x32, 0x01, 0x0b}, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = check(cases[i].bytes, cases[i].len, RPC_WIRE_DEPTH_DEFAULT);
        if (rc != FLAME_EINVALID)
            fail_msg("%s: %d, want FLAME_EINVALID", cases[i].what, rc);
    }
}

static void unknown_fields_are_skipped_unread(void **state)
{
    (void)state;
    /* Field 100, length-delimited, holding what would be 3,000 levels if read as
     * a Struct: protobuf-c keeps unknown fields as bytes, so it is not a level. */
    struct pb p = deep_boot(3 * 3000 - 2);
    pb_wrap(&p, 100);
    pb_prepend_varint(&p, 7);
    pb_prepend_varint(&p, 101u << 3 | 0); /* field 101, varint */
    uint8_t fixed[4] = {1, 2, 3, 4};
    pb_prepend(&p, fixed, 4);
    pb_prepend_varint(&p, 102u << 3 | 5); /* field 102, fixed32 */
    assert_int_equal(check(pb_data(&p), pb_len(&p), RPC_WIRE_DEPTH_MIN), 0);
    Flame__V1__BootRequest *req = flame__v1__boot_request__unpack(NULL, pb_len(&p), pb_data(&p));
    assert_non_null(req);
    assert_int_equal(req->base.n_unknown_fields, 3);
    flame__v1__boot_request__free_unpacked(req, NULL);
    free(p.buf);
}

static void garbage_never_crashes(void **state)
{
    (void)state;
    /* Random bytes, biased towards length-delimited tags of known message fields. */
    uint32_t x = 0x2545f491u;
    uint8_t buf[256];
    static const uint8_t likely[] = {0x32, 0x3a, 0x0a, 0x12, 0x2a, 0x22, 0x01, 0x05, 0x80, 0x00};
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        size_t n = x % sizeof(buf);
        for (len = 0; len < n; len++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf[len] = (x & 1) ? likely[(x >> 1) % sizeof(likely)] : (uint8_t)(x >> 8);
        }
        int rc = check(buf, len, RPC_WIRE_DEPTH_MIN);
        assert_true(rc == 0 || rc == FLAME_ERANGE || rc == FLAME_EINVALID);
    }
}

/* ---------------------------------------------------------------- the server's limit */

static void the_limit_defaults_to_32_and_is_clamped_to_8_200(void **state)
{
    (void)state;
    assert_int_equal(rpc_wire_depth_clamp(0), 32);
    assert_int_equal(rpc_wire_depth_clamp(1), 8);
    assert_int_equal(rpc_wire_depth_clamp(7), 8);
    assert_int_equal(rpc_wire_depth_clamp(8), 8);
    assert_int_equal(rpc_wire_depth_clamp(32), 32);
    assert_int_equal(rpc_wire_depth_clamp(200), 200);
    assert_int_equal(rpc_wire_depth_clamp(201), 200);
    assert_int_equal(rpc_wire_depth_clamp((size_t)-1), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_legit_boot_request_passes),
        cmocka_unit_test(an_empty_request_passes),
        cmocka_unit_test(a_struct_nested_3000_deep_is_refused_without_crashing),
        cmocka_unit_test(exactly_at_the_limit_passes_one_more_fails),
        cmocka_unit_test(repeated_and_map_messages_count_like_any_other),
        cmocka_unit_test(truncated_requests_are_refused),
        cmocka_unit_test(malformed_wire_data_is_refused),
        cmocka_unit_test(unknown_fields_are_skipped_unread),
        cmocka_unit_test(garbage_never_crashes),
        cmocka_unit_test(the_limit_defaults_to_32_and_is_clamped_to_8_200),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
