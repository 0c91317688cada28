/*
 * The response arena (client/src/arena.c) and the runner views built in it
 * (client/src/runner.c): alignment, growth past the first block, reuse after
 * a reset, protobuf-c's freed slabs handed out again, references held by
 * runners and lists, and the caller-built runner freed field by field.
 */
#include <pthread.h>
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

/* A packed ListResponse of n runners with `labels` labels each. */
static uint8_t *pack_list(size_t n, size_t labels, size_t *len)
{
    Flame__V1__ListResponse resp = FLAME__V1__LIST_RESPONSE__INIT;
    Flame__V1__Runner *rs = calloc(n, sizeof(*rs));
    Flame__V1__Runner **rps = calloc(n, sizeof(*rps));
    Flame__V1__Runner__LabelsEntry *es = calloc(n * labels + 1, sizeof(*es));
    Flame__V1__Runner__LabelsEntry **eps = calloc(n * labels + 1, sizeof(*eps));
    char (*strs)[48] = calloc(n * (labels * 2 + 2) + 1, sizeof(*strs));
    size_t k = 0, si = 0;
    uint8_t *buf;

    assert_true(rs && rps && es && eps && strs);
    for (size_t i = 0; i < n; i++) {
        flame__v1__runner__init(&rs[i]);
        snprintf(strs[si], sizeof(strs[si]), "%016zx", i + 1);
        rs[i].id = strs[si++];
        snprintf(strs[si], sizeof(strs[si]), "flame-bench-%016zx", i + 1);
        rs[i].name = strs[si++];
        rs[i].pool = "bench";
        rs[i].image = "flamed-test/app:latest";
        rs[i].state = FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING;
        rs[i].created_unix_nano = 1700000000000000000LL + (int64_t)i;
        rs[i].exit_code = (int32_t)i;
        rs[i].labels = &eps[k];
        rs[i].n_labels = labels;
        for (size_t j = 0; j < labels; j++, k++) {
            flame__v1__runner__labels_entry__init(&es[k]);
            snprintf(strs[si], sizeof(strs[si]), "flamed.key%zu", j);
            es[k].key = strs[si++];
            snprintf(strs[si], sizeof(strs[si]), "value-%zu-%zu", i, j);
            es[k].value = strs[si++];
            eps[k] = &es[k];
        }
        rps[i] = &rs[i];
    }
    resp.runners = rps;
    resp.n_runners = n;
    *len = protobuf_c_message_get_packed_size(&resp.base);
    assert_non_null(buf = malloc(*len ? *len : 1));
    protobuf_c_message_pack(&resp.base, buf);
    free(rs);
    free(rps);
    free(es);
    free(eps);
    free(strs);
    return buf;
}

/* Unpack a packed ListResponse the way flame_client_list() does. */
static flame_runner **list_from(const uint8_t *buf, size_t len, size_t hint, size_t *n)
{
    flame__arena *a = NULL;
    Flame__V1__ListResponse *resp;
    flame_runner **rs;

    assert_int_equal(flame__arena_new(hint, &a), 0);
    resp = (Flame__V1__ListResponse *)protobuf_c_message_unpack(
        &flame__v1__list_response__descriptor, flame__arena_allocator(a), len, buf);
    assert_non_null(resp);
    assert_non_null(rs = flame__runner_list_new(a, resp->n_runners));
    for (size_t i = 0; i < resp->n_runners; i++)
        assert_non_null(rs[i] = flame__runner_view(a, resp->runners[i]));
    flame__arena_ref(a, resp->n_runners);
    *n = resp->n_runners;
    return rs;
}

/* ------------------------------------------------------------ arena */

static void allocations_are_aligned_and_distinct(void **state)
{
    flame__arena *a = NULL;
    char *prev = NULL;

    (void)state;
    assert_int_equal(flame__arena_new(0, &a), 0);
    for (size_t n = 0; n < 100; n++) {
        char *p = flame__arena_alloc(a, n);

        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        if (prev)
            assert_true(p >= prev);
        memset(p, 0xab, n);
        prev = p;
    }
    assert_false(flame__arena_failed(a));
    flame__arena_unref(a, 1);
}

static void grows_past_the_first_block(void **state)
{
    flame__arena *a = NULL;
    char *big;

    (void)state;
    assert_int_equal(flame__arena_new(4096, &a), 0);
    assert_true(flame__arena_capacity(a) >= 4096);
    assert_int_equal(flame__arena_blocks(a), 1);
    for (int i = 0; i < 1000; i++) {
        char *p = flame__arena_alloc(a, 40);

        assert_non_null(p);
        memset(p, i & 0xff, 40);
    }
    assert_non_null(big = flame__arena_alloc(a, 1 << 20));
    memset(big, 1, 1 << 20);
    assert_true(flame__arena_capacity(a) >= flame__arena_used(a));
    assert_int_equal(flame__arena_used(a), 1000 * 40 + (1 << 20));
    flame__arena_unref(a, 1);
}

static void reset_reuses_the_blocks(void **state)
{
    flame__arena *a = NULL;
    size_t cap;

    (void)state;
    assert_int_equal(flame__arena_new(0, &a), 0);
    for (int round = 0; round < 5; round++) {
        flame__arena_reset(a);
        assert_int_equal(flame__arena_used(a), 0);
        /* a stream's messages: one small, one larger than the first block */
        assert_non_null(flame__arena_alloc(a, 100));
        assert_non_null(flame__arena_alloc(a, 20000));
        if (round == 0)
            cap = flame__arena_capacity(a);
        assert_int_equal(flame__arena_capacity(a), cap);
    }
    flame__arena_unref(a, 1);
}

static void a_freed_large_chunk_is_handed_out_again(void **state)
{
    flame__arena *a = NULL;
    ProtobufCAllocator *pa;
    void *slab, *again, *small;
    size_t used;

    (void)state;
    assert_int_equal(flame__arena_new(0, &a), 0);
    pa = flame__arena_allocator(a);
    slab = pa->alloc(pa->allocator_data, 1024);
    small = pa->alloc(pa->allocator_data, 16);
    used = flame__arena_used(a);
    pa->free(pa->allocator_data, slab);
    pa->free(pa->allocator_data, small); /* a no-op */
    again = pa->alloc(pa->allocator_data, 1000);
    assert_ptr_equal(again, slab);
    assert_int_equal(flame__arena_used(a), used);
    assert_ptr_not_equal(pa->alloc(pa->allocator_data, 1024), slab); /* in use again */
    flame__arena_unref(a, 1);
}

static void unpack_of_many_runners_stays_near_the_message_size(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(100, 10, &len);
    flame_runner **rs;
    flame__arena *a;

    (void)state;
    rs = list_from(buf, len, flame__arena_hint(len), &n);
    assert_int_equal(n, 100);
    a = rs[0]->internal;
    /* one slab reused for all runners, not one per runner: the first block holds it all */
    assert_true(flame__arena_capacity(a) >= flame__arena_hint(len));
    assert_int_equal(flame__arena_blocks(a), 1);
    flame_runner_list_free(rs, n);
    free(buf);
}

static void a_released_arena_is_reused(void **state)
{
    flame__arena *a = NULL, *b = NULL, *c = NULL;

    (void)state;
    assert_int_equal(flame__arena_new(100000, &a), 0);
    assert_non_null(flame__arena_alloc(a, 200000)); /* an extra block: freed on release */
    assert_int_equal(flame__arena_blocks(a), 2);
    flame__arena_unref(a, 1);
    assert_int_equal(flame__arena_new(90000, &b), 0);
    assert_ptr_equal(b, a); /* the same block, not a fresh malloc */
    assert_int_equal(flame__arena_blocks(b), 1);
    assert_int_equal(flame__arena_used(b), 0);
    assert_int_equal(flame__arena_new(90000, &c), 0); /* b is taken: another one */
    assert_ptr_not_equal(c, b);
    flame__arena_unref(b, 1);
    flame__arena_unref(c, 1);
    /* larger than 1 MiB: never kept */
    assert_int_equal(flame__arena_new(2u << 20, &a), 0);
    flame__arena_unref(a, 1);
}

static void an_exhausted_allocator_fails_the_unpack(void **state)
{
    flame__arena *a = NULL;
    ProtobufCAllocator *pa;

    (void)state;
    assert_int_equal(flame__arena_new(0, &a), 0);
    pa = flame__arena_allocator(a);
    assert_null(pa->alloc(pa->allocator_data, SIZE_MAX - 3));
    assert_true(flame__arena_failed(a));
    flame__arena_reset(a);
    assert_false(flame__arena_failed(a));
    flame__arena_unref(a, 1);
}

/* ------------------------------------------------------------ runner views */

static void a_listed_runner_has_every_field(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(3, 2, &len);
    flame_runner **rs = list_from(buf, len, 0, &n);

    (void)state;
    assert_int_equal(n, 3);
    assert_string_equal(rs[2]->id, "0000000000000003");
    assert_string_equal(rs[2]->name, "flame-bench-0000000000000003");
    assert_string_equal(rs[2]->pool, "bench");
    assert_string_equal(rs[2]->image, "flamed-test/app:latest");
    assert_int_equal(rs[2]->state, FLAME_RUNNER_RUNNING);
    assert_int_equal(rs[2]->exit_code, 2);
    assert_int_equal(rs[2]->created_unix_nano, 1700000000000000002LL);
    assert_int_equal(rs[2]->n_labels, 2);
    assert_string_equal(rs[2]->label_keys[1], "flamed.key1");
    assert_string_equal(rs[2]->label_values[1], "value-2-1");
    assert_string_equal(flame_runner_label(rs[1], "flamed.key0"), "value-1-0");
    assert_null(flame_runner_label(rs[1], "nope"));
    flame_runner_list_free(rs, n);
    free(buf);
}

static void unset_strings_are_empty_and_writable(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(1, 0, &len);
    flame_runner **rs = list_from(buf, len, 0, &n);

    (void)state;
    assert_int_equal(n, 1);
    assert_non_null(rs[0]->error);
    assert_string_equal(rs[0]->error, "");
    assert_string_equal(rs[0]->container_id, "");
    assert_string_equal(rs[0]->request_id, "");
    assert_int_equal(rs[0]->n_labels, 0);
    rs[0]->error[0] = '\0'; /* not protobuf-c's read-only default "" */
    flame_runner_list_free(rs, n);
    free(buf);
}

static void a_runner_taken_out_of_a_list_outlives_it(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(5, 3, &len);
    flame_runner **rs = list_from(buf, len, 0, &n);
    flame_runner *kept = rs[3], *kept2 = rs[0];

    (void)state;
    rs[3] = NULL;
    rs[0] = NULL;
    flame_runner_list_free(rs, n);
    free(buf); /* the wire bytes are gone too: the runner owns its copies */
    assert_string_equal(kept->id, "0000000000000004");
    assert_string_equal(kept->label_values[2], "value-3-2");
    flame_runner_free(kept);
    assert_string_equal(kept2->id, "0000000000000001");
    flame_runner_free(kept2);
}

/* Each runner holds one reference on the list's arena and the array one
 * more: freeing a runner drops exactly its own, the array's last frees it. */
static void runners_freed_one_by_one_then_the_array(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(4, 1, &len);
    flame_runner **rs = list_from(buf, len, 0, &n);
    flame__arena *a = rs[0]->internal;

    (void)state;
    assert_int_equal(n, 4);
    assert_non_null(a);
    assert_int_equal(flame__arena_refs(a), n + 1);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(rs[i]->internal, a);
        flame_runner_free(rs[i]);
        rs[i] = NULL;
        assert_int_equal(flame__arena_refs(a), n - i);
    }
    /* the runners are gone, the array (all NULL now) still holds the arena */
    assert_int_equal(flame__arena_refs(a), 1);
    assert_int_equal(flame__arena_failed(a), 0);
    flame_runner_list_free(rs, n); /* the last reference: LSan/valgrind see no leak */
    flame_runner_list_free(NULL, 3); /* accepted, nothing to do */
    flame_runner_free(NULL);
    free(buf);
}

struct free_job {
    flame_runner *r;
};

static void *free_one(void *p)
{
    struct free_job *j = p;

    assert_int_equal(strlen(j->r->id), 16);
    flame_runner_free(j->r);
    return NULL;
}

static void runners_of_one_list_freed_on_several_threads(void **state)
{
    size_t len, n;
    uint8_t *buf = pack_list(8, 2, &len);
    flame_runner **rs = list_from(buf, len, 0, &n);
    pthread_t th[8];
    struct free_job jobs[8];

    (void)state;
    for (size_t i = 0; i < 8; i++) {
        jobs[i].r = rs[i];
        rs[i] = NULL;
    }
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, free_one, &jobs[i]), 0);
    flame_runner_list_free(rs, n);
    for (size_t i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    free(buf);
}

static void a_runner_built_by_the_caller_is_freed_field_by_field(void **state)
{
    flame_runner *r = calloc(1, sizeof(*r));

    (void)state;
    assert_non_null(r);
    r->id = strdup("00000000000000ff");
    r->image = strdup("app:latest");
    r->n_labels = 1;
    r->label_keys = calloc(1, sizeof(char *));
    r->label_values = calloc(1, sizeof(char *));
    r->label_keys[0] = strdup("k");
    r->label_values[0] = strdup("v");
    flame_runner_free(r); /* valgrind/LSan: nothing leaks */
}

static void an_empty_view_from_no_message(void **state)
{
    flame__arena *a = NULL;
    flame_runner *r;

    (void)state;
    assert_int_equal(flame__arena_new(0, &a), 0);
    assert_non_null(r = flame__runner_view(a, NULL));
    assert_string_equal(r->id, "");
    assert_int_equal(r->state, FLAME_RUNNER_UNSPECIFIED);
    flame__arena_ref(a, 1);
    flame__arena_unref(a, 1);
    flame_runner_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(grows_past_the_first_block),
        cmocka_unit_test(reset_reuses_the_blocks),
        cmocka_unit_test(a_freed_large_chunk_is_handed_out_again),
        cmocka_unit_test(unpack_of_many_runners_stays_near_the_message_size),
        cmocka_unit_test(a_released_arena_is_reused),
        cmocka_unit_test(an_exhausted_allocator_fails_the_unpack),
        cmocka_unit_test(a_listed_runner_has_every_field),
        cmocka_unit_test(unset_strings_are_empty_and_writable),
        cmocka_unit_test(a_runner_taken_out_of_a_list_outlives_it),
        cmocka_unit_test(runners_freed_one_by_one_then_the_array),
        cmocka_unit_test(runners_of_one_list_freed_on_several_threads),
        cmocka_unit_test(a_runner_built_by_the_caller_is_freed_field_by_field),
        cmocka_unit_test(an_empty_view_from_no_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
