/*
 * flame__list_decode() (client/src/runner_wire.c) against protobuf-c: the
 * same ListResponse bytes give the same runners through the hand decoder as
 * through protobuf_c_message_unpack() + flame__runner_view(), for a Runner
 * with every field of its descriptor set (so a field added to the proto and
 * to the view but not to the decoder fails here), unknown fields, repeated
 * scalars and every truncation of a valid message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../client/src/internal.h"

/* ------------------------------------------------------------ helpers */

/* Set every field of a Runner through its descriptor to a distinct value,
 * with `labels` map entries. Everything is malloc'd: free with
 * protobuf_c_message_free_unpacked(&r->base, NULL). */
static Flame__V1__Runner *full_runner(int seed, size_t labels)
{
    const ProtobufCMessageDescriptor *d = &flame__v1__runner__descriptor;
    Flame__V1__Runner *r = malloc(sizeof(*r));
    char buf[64];

    assert_non_null(r);
    flame__v1__runner__init(r);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *m = (char *)r + f->offset;

        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            snprintf(buf, sizeof(buf), "%s-%d", f->name, seed);
            *(char **)m = strdup(buf);
            break;
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_INT32:
            *(int32_t *)m = seed % 2 ? -(int32_t)f->id * 3 - seed : (int32_t)f->id * 3 + seed;
            break;
        case PROTOBUF_C_TYPE_UINT32:
            *(uint32_t *)m = 4000000000u - (uint32_t)f->id - (uint32_t)seed;
            break;
        case PROTOBUF_C_TYPE_INT64:
            *(int64_t *)m = (seed % 2 ? -1 : 1) * (1795489873472997476LL + f->id + seed);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            *(protobuf_c_boolean *)m = (f->id + (unsigned)seed) % 2;
            break;
        case PROTOBUF_C_TYPE_MESSAGE:
            assert_int_equal(f->label, PROTOBUF_C_LABEL_REPEATED); /* the labels map */
            assert_ptr_equal(f->descriptor, &flame__v1__runner__labels_entry__descriptor);
            r->labels = calloc(labels ? labels : 1, sizeof(*r->labels));
            for (size_t j = 0; j < labels; j++) {
                Flame__V1__Runner__LabelsEntry *e = malloc(sizeof(*e));

                flame__v1__runner__labels_entry__init(e);
                snprintf(buf, sizeof(buf), "key.%zu", j);
                e->key = strdup(buf);
                snprintf(buf, sizeof(buf), j == 1 ? "" : "value %zu of %d", j, seed);
                e->value = strdup(buf);
                r->labels[j] = e;
            }
            r->n_labels = labels;
            break;
        default:
            fail_msg("Runner field %s has a type this test (and runner_wire.c) does not know",
                     f->name);
        }
    }
    return r;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;

    *len = protobuf_c_message_get_packed_size(m);
    assert_non_null(buf = malloc(*len + 64)); /* room for appended fields */
    protobuf_c_message_pack(m, buf);
    return buf;
}

static uint8_t *pack_list(size_t n, size_t labels, size_t *len)
{
    Flame__V1__ListResponse resp = FLAME__V1__LIST_RESPONSE__INIT;
    Flame__V1__Runner **rs = calloc(n ? n : 1, sizeof(*rs));
    uint8_t *buf;

    for (size_t i = 0; i < n; i++)
        rs[i] = full_runner((int)i, labels);
    resp.runners = rs;
    resp.n_runners = n;
    buf = pack(&resp.base, len);
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&rs[i]->base, NULL);
    free(rs);
    return buf;
}

/* The reference: protobuf-c into an arena, then flame__runner_view(). */
static int reference(const uint8_t *p, size_t len, flame_runner ***out, size_t *n)
{
    flame__arena *a = NULL;
    Flame__V1__ListResponse *resp;

    *out = NULL;
    *n = 0;
    assert_int_equal(flame__arena_new(flame__arena_hint(len), &a), 0);
    resp = (Flame__V1__ListResponse *)protobuf_c_message_unpack(
        &flame__v1__list_response__descriptor, flame__arena_allocator(a), len, p);
    if (!resp) {
        flame__arena_unref(a, 1);
        return FLAME_ERROR;
    }
    if (resp->n_runners == 0) {
        flame__arena_unref(a, 1);
        return 0;
    }
    assert_non_null(*out = flame__runner_list_new(a, resp->n_runners));
    for (size_t i = 0; i < resp->n_runners; i++)
        assert_non_null((*out)[i] = flame__runner_view(a, resp->runners[i]));
    flame__arena_ref(a, resp->n_runners);
    *n = resp->n_runners;
    return 0;
}

static void assert_same_runner(const flame_runner *a, const flame_runner *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->container_id, b->container_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->pool, b->pool);
    assert_string_equal(a->image, b->image);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->ip_address, b->ip_address);
    assert_string_equal(a->error, b->error);
    assert_string_equal(a->request_id, b->request_id);
    assert_string_equal(a->parent_id, b->parent_id);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_int_equal(a->oom_killed, b->oom_killed);
    assert_int_equal(a->keep_runner, b->keep_runner);
    assert_int_equal(a->created_unix_nano, b->created_unix_nano);
    assert_int_equal(a->lease_ttl_ms, b->lease_ttl_ms);
    assert_int_equal(a->n_labels, b->n_labels);
    for (size_t i = 0; i < a->n_labels; i++) {
        assert_string_equal(a->label_keys[i], b->label_keys[i]);
        assert_string_equal(a->label_values[i], b->label_values[i]);
    }
    assert_non_null(a->internal);
}

/* Decode both ways; they must agree on success and on every runner. */
static void assert_decodes_like_protobuf_c(const uint8_t *p, size_t len)
{
    flame_runner **ra = NULL, **rb = NULL;
    size_t na = 0, nb = 0;
    int ea = flame__list_decode(p, len, &ra, &na);
    int eb = reference(p, len, &rb, &nb);

    assert_int_equal(ea, eb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_same_runner(ra[i], rb[i]);
    if (ea < 0) {
        assert_null(ra);
        assert_int_equal(na, 0);
    }
    flame_runner_list_free(ra, na);
    flame_runner_list_free(rb, nb);
}

/* ------------------------------------------------------------ tests */

static void every_runner_field_decodes_like_protobuf_c(void **state)
{
    size_t len;
    uint8_t *buf = pack_list(5, 7, &len);

    (void)state;
    assert_decodes_like_protobuf_c(buf, len);
    free(buf);
}

static void a_decoded_list_is_the_runners_in_order(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(3, 2, &len);
    flame_runner **rs = NULL;

    (void)state;
    assert_int_equal(flame__list_decode(buf, len, &rs, &n), 0);
    free(buf); /* the runners hold copies */
    assert_int_equal(n, 3);
    assert_string_equal(rs[2]->id, "id-2");
    assert_string_equal(rs[1]->parent_id, "parent_id-1");
    assert_int_equal(rs[1]->exit_code, -10 * 3 - 1);
    assert_int_equal(rs[2]->lease_ttl_ms, 4000000000u - 17 - 2);
    assert_int_equal(rs[1]->created_unix_nano, -(1795489873472997476LL + 13 + 1));
    assert_string_equal(flame_runner_label(rs[0], "key.0"), "value 0 of 0");
    assert_string_equal(flame_runner_label(rs[0], "key.1"), "");
    flame_runner_list_free(rs, n);
}

static void an_empty_list_is_null(void **state)
{
    flame_runner **rs = (flame_runner **)&rs;
    size_t n = 9;

    (void)state;
    assert_int_equal(flame__list_decode((const uint8_t *)"", 0, &rs, &n), 0);
    assert_null(rs);
    assert_int_equal(n, 0);
}

static void unknown_fields_are_skipped(void **state)
{
    Flame__V1__Runner *r = full_runner(4, 3);
    /* field 99 of each wire type: varint, 64-bit, length-delimited, 32-bit */
    static const uint8_t extra[] = {0x98, 0x06, 0x96, 0x01,
                                    0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,
                                    0x9a, 0x06, 0x03, 'a', 'b', 'c',
                                    0x9d, 0x06, 1, 2, 3, 4};
    size_t rlen, len;
    uint8_t *rbuf = pack(&r->base, &rlen), *buf = malloc(rlen + 2 * sizeof(extra) + 16);
    size_t k = 0;

    (void)state;
    /* ListResponse{ 99: extra, runners: Runner{ ...r..., 99: extra } } */
    memcpy(buf + k, extra, sizeof(extra));
    k += sizeof(extra);
    buf[k++] = 0x0a;
    assert_true(rlen + sizeof(extra) < 0x4000);
    buf[k++] = (uint8_t)(((rlen + sizeof(extra)) & 0x7f) | 0x80);
    buf[k++] = (uint8_t)((rlen + sizeof(extra)) >> 7);
    memcpy(buf + k, rbuf, rlen);
    k += rlen;
    memcpy(buf + k, extra, sizeof(extra));
    k += sizeof(extra);
    len = k;
    assert_decodes_like_protobuf_c(buf, len);
    free(rbuf);
    free(buf);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void a_scalar_given_twice_keeps_the_last(void **state)
{
    /* Runner{ id: "a", state: 2, id: "bb", state: 4 } in a ListResponse */
    static const uint8_t buf[] = {0x0a, 0x0b, 0x0a, 0x01, 'a', 0x40, 0x02,
                                  0x0a, 0x02, 'b', 'b', 0x40, 0x04};
    flame_runner **rs = NULL;
    size_t n;

    (void)state;
    assert_decodes_like_protobuf_c(buf, sizeof(buf));
    assert_int_equal(flame__list_decode(buf, sizeof(buf), &rs, &n), 0);
    assert_string_equal(rs[0]->id, "bb");
    assert_int_equal(rs[0]->state, 4);
    flame_runner_list_free(rs, n);
}

static void every_truncation_fails_as_protobuf_c_does(void **state)
{
    size_t len;
    uint8_t *buf = pack_list(2, 2, &len);

    (void)state;
    for (size_t cut = 0; cut <= len; cut++)
        assert_decodes_like_protobuf_c(buf, cut);
    free(buf);
}

static void a_wrong_wire_type_is_malformed(void **state)
{
    /* Runner{ id as a varint }, Runner{ state as a string }, runners as a varint, a group */
    static const uint8_t id_varint[] = {0x0a, 0x02, 0x08, 0x01};
    static const uint8_t state_len[] = {0x0a, 0x03, 0x42, 0x01, 'x'};
    static const uint8_t runners_varint[] = {0x08, 0x01};
    static const uint8_t group[] = {0x0b, 0x0c};
    flame_runner **rs = NULL;
    size_t n;

    (void)state;
    assert_int_equal(flame__list_decode(id_varint, sizeof(id_varint), &rs, &n), FLAME_ERROR);
    assert_int_equal(flame__list_decode(state_len, sizeof(state_len), &rs, &n), FLAME_ERROR);
    assert_int_equal(flame__list_decode(runners_varint, sizeof(runners_varint), &rs, &n),
                     FLAME_ERROR);
    assert_int_equal(flame__list_decode(group, sizeof(group), &rs, &n), FLAME_ERROR);
    assert_null(rs);
    assert_decodes_like_protobuf_c(id_varint, sizeof(id_varint));
    assert_decodes_like_protobuf_c(state_len, sizeof(state_len));
}

static void many_runners_fit_the_first_block(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(300, 12, &len);
    flame_runner **rs = NULL;
    flame__arena *a;

    (void)state;
    assert_int_equal(flame__list_decode(buf, len, &rs, &n), 0);
    assert_int_equal(n, 300);
    a = rs[0]->internal;
    assert_true(flame__arena_used(a) <= flame__arena_capacity(a));
    /* one block: the size guess held */
    assert_int_equal(flame__arena_blocks(a), 1);
    flame_runner_list_free(rs, n);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_runner_field_decodes_like_protobuf_c),
        cmocka_unit_test(a_decoded_list_is_the_runners_in_order),
        cmocka_unit_test(an_empty_list_is_null),
        cmocka_unit_test(unknown_fields_are_skipped),
        cmocka_unit_test(a_scalar_given_twice_keeps_the_last),
        cmocka_unit_test(every_truncation_fails_as_protobuf_c_does),
        cmocka_unit_test(a_wrong_wire_type_is_malformed),
        cmocka_unit_test(many_runners_fit_the_first_block),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
