/* Unit tests: env_frame_* (the per-Boot env frame flamed-init decodes, server/init/env_frame.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env_frame.h"

#define MAGIC "12:flamed-env/1,"

/* Decode a C string; returns the decoder's code, err filled on -1. */
static int decode(const char *s, struct env_frame *f, size_t *used, char *err, size_t errlen)
{
    return env_frame_decode(f, used, s, strlen(s), err, errlen);
}

static void assert_invalid(const char *s, const char *why)
{
    struct env_frame f = {0};
    size_t used = 0;
    char err[256] = "";
    assert_int_equal(decode(s, &f, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, why));
    assert_null(f.entries);
}

static void a_frame_with_entries_decodes_in_order(void **state)
{
    (void)state;
    const char *s = MAGIC "18:FLAME_PARENT=abc==,5:A=b=c,2:B=,0:,";
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(decode(s, &f, &used, err, sizeof(err)), 0);
    assert_int_equal(used, strlen(s));
    assert_int_equal(f.n, 3);
    assert_string_equal(f.entries[0], "FLAME_PARENT=abc==");
    assert_string_equal(f.entries[1], "A=b=c"); /* the value holds '=' */
    assert_string_equal(f.entries[2], "B=");   /* an empty value */
    assert_null(f.entries[3]);
    env_frame_free(&f);
}

static void an_empty_frame_decodes_to_no_entries(void **state)
{
    (void)state;
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(decode(MAGIC "0:,", &f, &used, err, sizeof(err)), 0);
    assert_int_equal(f.n, 0);
    assert_null(f.entries[0]);
    env_frame_free(&f);
}

static void bytes_after_the_end_marker_are_not_consumed(void **state)
{
    (void)state;
    const char *s = MAGIC "3:A=1,0:,trailing";
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(decode(s, &f, &used, err, sizeof(err)), 0);
    assert_int_equal(used, strlen(s) - strlen("trailing"));
    env_frame_free(&f);
}

static void every_proper_prefix_asks_for_more(void **state)
{
    (void)state;
    const char *s = MAGIC "18:FLAME_PARENT=abc==,3:A=1,0:,";
    for (size_t n = 0; n < strlen(s); n++) {
        struct env_frame f = {0};
        size_t used = 0;
        char err[256];
        assert_int_equal(env_frame_decode(&f, &used, s, n, err, sizeof(err)), 1);
        assert_null(f.entries);
    }
}

static void a_wrong_magic_is_refused(void **state)
{
    (void)state;
    assert_invalid("12:flamed-env/3,0:,", "does not start with");
    assert_invalid("12:flamed-env/0,0:,", "does not start with");
    assert_invalid("3:A=1,0:,", "does not start with");
    assert_invalid("0:,", "does not start with");
}

static void malformed_lengths_are_refused(void **state)
{
    (void)state;
    assert_invalid(MAGIC "03:A=1,0:,", "leading zero");
    assert_invalid(MAGIC "00:,", "leading zero");
    assert_invalid(MAGIC ":A=1,0:,", "expected a netstring length");
    assert_invalid(MAGIC "-3:A=1,0:,", "expected a netstring length");
    assert_invalid(MAGIC "3;A=1,0:,", "expected a netstring length");
    assert_invalid(MAGIC " 3:A=1,0:,", "expected a netstring length");
    assert_invalid(MAGIC "12345678:", "more than 7 digits");
    assert_invalid(MAGIC "3:A=1;0:,", "does not end with ','");
    assert_invalid(MAGIC "2:A=1,0:,", "does not end with ','");
}

static void an_entry_longer_than_execve_takes_is_refused(void **state)
{
    (void)state;
    char head[64];
    snprintf(head, sizeof(head), MAGIC "%zu:", ENV_FRAME_ENTRY_MAX + 1);
    /* Refused from the length alone: the bytes need not arrive. */
    assert_invalid(head, "at most 131071");
}

static void an_entry_of_the_largest_size_is_accepted(void **state)
{
    (void)state;
    size_t n = ENV_FRAME_ENTRY_MAX;
    size_t cap = n + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    int h = snprintf(s, cap, MAGIC "%zu:A=", n);
    memset(s + h, 'x', n - 2);
    memcpy(s + h + n - 2, ",0:,", 4);
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(env_frame_decode(&f, &used, s, (size_t)h + n - 2 + 4, err, sizeof(err)), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(strlen(f.entries[0]), n);
    env_frame_free(&f);
    free(s);
}

static void a_frame_over_the_size_cap_is_refused_even_unfinished(void **state)
{
    (void)state;
    /* Many valid 100 KiB entries, never an end marker: refused once past the cap. */
    size_t ent = 100 * 1024, count = ENV_FRAME_BYTES_MAX / ent + 2;
    size_t cap = strlen(MAGIC) + count * (ent + 16);
    char *s = malloc(cap);
    assert_non_null(s);
    size_t pos = (size_t)snprintf(s, cap, MAGIC);
    for (size_t i = 0; i < count; i++) {
        pos += (size_t)snprintf(s + pos, cap - pos, "%zu:V%zu=", ent, i % 10);
        size_t fill = ent - 3;
        memset(s + pos, 'y', fill);
        pos += fill;
        s[pos++] = ',';
    }
    struct env_frame f = {0};
    size_t used = 0;
    char err[256] = "";
    assert_int_equal(env_frame_decode(&f, &used, s, pos, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "exceeds"));
    free(s);
}

static void more_entries_than_the_cap_are_refused(void **state)
{
    (void)state;
    size_t count = ENV_FRAME_ENTRIES_MAX + 1;
    size_t cap = strlen(MAGIC) + count * 16 + 8;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t pos = (size_t)snprintf(s, cap, MAGIC);
    for (size_t i = 0; i < count; i++)
        pos += (size_t)snprintf(s + pos, cap - pos, "%d:V%04zu=,", 6, i);
    pos += (size_t)snprintf(s + pos, cap - pos, "0:,");
    struct env_frame f = {0};
    size_t used = 0;
    char err[256] = "";
    assert_int_equal(env_frame_decode(&f, &used, s, pos, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 1100 entries"));
    free(s);
}

static void a_nul_byte_in_an_entry_is_refused(void **state)
{
    (void)state;
    const char s[] = MAGIC "5:A=x\0y,0:,";
    struct env_frame f = {0};
    size_t used = 0;
    char err[256] = "";
    assert_int_equal(env_frame_decode(&f, &used, s, sizeof(s) - 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
}

static void invalid_names_are_refused(void **state)
{
    (void)state;
    assert_invalid(MAGIC "3:ABC,0:,", "not NAME=VALUE");
    assert_invalid(MAGIC "2:=x,0:,", "the name must be");
    assert_invalid(MAGIC "5:A B=x,0:,", "the name must be");
    assert_invalid(MAGIC "5:A\tB=x,0:,", "the name must be");
    assert_invalid(MAGIC "5:A\nB=x,0:,", "the name must be");
    assert_invalid(MAGIC "4:\xc3\xa9=x,0:,", "the name must be"); /* é: not ASCII */
    char name[300];
    memset(name, 'N', 256);
    snprintf(name + 256, sizeof(name) - 256, "=v");
    char s[400];
    snprintf(s, sizeof(s), MAGIC "%zu:%s,0:,", strlen(name), name);
    assert_invalid(s, "the name must be");
}

static void a_name_delivered_twice_is_refused(void **state)
{
    (void)state;
    assert_invalid(MAGIC "3:A=1,3:A=2,0:,", "delivered twice");
    /* A name that is a prefix of another is not a repeat. */
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(decode(MAGIC "3:A=1,4:AB=2,0:,", &f, &used, err, sizeof(err)), 0);
    env_frame_free(&f);
}

static void names_use_printable_ascii(void **state)
{
    (void)state;
    assert_true(env_frame_name_ok("FLAME_PARENT", 12));
    assert_true(env_frame_name_ok("my.var-1", 8));
    assert_false(env_frame_name_ok("", 0));
    assert_false(env_frame_name_ok("A=B", 3));
    assert_false(env_frame_name_ok("A B", 3));
    assert_false(env_frame_name_ok("A\x7f", 2));
}

static void merge_replaces_in_place_and_appends_new_names(void **state)
{
    (void)state;
    char *base[] = {"PATH=/bin", "FLAME_PARENT=old", "HOME=/root", "ODD", NULL};
    char *fe[] = {"X=1", "FLAME_PARENT=new", NULL};
    struct env_frame f = {.entries = fe, .n = 2}, m = {0};
    assert_int_equal(env_frame_merge(&m, base, &f), 0);
    assert_int_equal(m.n, 5);
    assert_string_equal(m.entries[0], "PATH=/bin");
    assert_string_equal(m.entries[1], "FLAME_PARENT=new");
    assert_string_equal(m.entries[2], "HOME=/root");
    assert_string_equal(m.entries[3], "ODD");
    assert_string_equal(m.entries[4], "X=1");
    assert_null(m.entries[5]);
    env_frame_free(&m);
}

static void merge_keeps_one_entry_when_base_repeats_a_delivered_name(void **state)
{
    (void)state;
    char *base[] = {"A=1", "A=2", NULL};
    char *fe[] = {"A=3", NULL};
    struct env_frame f = {.entries = fe, .n = 1}, m = {0};
    assert_int_equal(env_frame_merge(&m, base, &f), 0);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.entries[0], "A=3");
    env_frame_free(&m);
}

static void merge_over_an_empty_base_gives_the_frame(void **state)
{
    (void)state;
    char *base[] = {NULL};
    char *fe[] = {"A=1", NULL};
    struct env_frame f = {.entries = fe, .n = 1}, m = {0};
    assert_int_equal(env_frame_merge(&m, base, &f), 0);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.entries[0], "A=1");
    env_frame_free(&m);
}

static void encode_then_decode_gives_the_entries_back(void **state)
{
    (void)state;
    const char *in[] = {"FLAME_PARENT=g2gDZAAEbm9kZQ==", "EMPTY=", "MULTI=line1\nline2", "U=\xc3\xa9"};
    char *buf = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(env_frame_encode(&buf, &len, in, 4, err, sizeof(err)), 0);
    assert_true(len > strlen(MAGIC) && memcmp(buf, MAGIC, strlen(MAGIC)) == 0);
    struct env_frame f = {0};
    size_t used = 0;
    assert_int_equal(env_frame_decode(&f, &used, buf, len, err, sizeof(err)), 0);
    assert_int_equal(used, len);
    assert_int_equal(f.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f.entries[i], in[i]);
    env_frame_free(&f);
    free(buf);
}

static void encode_refuses_what_decode_would_refuse(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    char err[256];
    const char *noeq[] = {"NOEQ"};
    assert_int_equal(env_frame_encode(&buf, &len, noeq, 1, err, sizeof(err)), -1);
    const char *space[] = {"A B=1"};
    assert_int_equal(env_frame_encode(&buf, &len, space, 1, err, sizeof(err)), -1);
    assert_null(buf);
}

#define MAGIC2 "12:flamed-env/2,"

static void a_v2_frame_carries_metadata_pairs_after_the_env(void **state)
{
    (void)state;
    const char *s = MAGIC2 "3:A=1,0:," "17:flamed.request-id,2:r1," "3:k=v,0:," "0:,";
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(decode(s, &f, &used, err, sizeof(err)), 0);
    assert_int_equal(used, strlen(s));
    assert_true(f.has_meta);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.entries[0], "A=1");
    assert_int_equal(f.n_meta, 2);
    assert_string_equal(f.meta_keys[1], "k=v"); /* a label key may hold '=' */
    assert_string_equal(f.meta_values[1], "");
    assert_string_equal(env_frame_meta(&f, "flamed.request-id"), "r1");
    assert_null(env_frame_meta(&f, "nope"));
    env_frame_free(&f);
    /* A /1 frame has none. */
    assert_int_equal(decode(MAGIC "3:A=1,0:,", &f, &used, err, sizeof(err)), 0);
    assert_false(f.has_meta);
    assert_int_equal(f.n_meta, 0);
    env_frame_free(&f);
}

static void every_proper_prefix_of_a_v2_frame_asks_for_more(void **state)
{
    (void)state;
    const char *s = MAGIC2 "3:A=1,0:,1:k,1:v,0:,";
    for (size_t n = 0; n < strlen(s); n++) {
        struct env_frame f = {0};
        size_t used = 0;
        char err[256];
        assert_int_equal(env_frame_decode(&f, &used, s, n, err, sizeof(err)), 1);
    }
}

static void bad_metadata_is_refused(void **state)
{
    (void)state;
    assert_invalid(MAGIC2 "0:,1:k,1:v,1:k,1:w,0:,", "given twice");
    char nul[] = MAGIC2 "0:,3:k_k,1:v,0:,";
    nul[strlen(MAGIC2) + 3 + 3] = '\0';
    struct env_frame f = {0};
    size_t used = 0;
    char err[256] = "";
    assert_int_equal(env_frame_decode(&f, &used, nul, sizeof(nul) - 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
    /* key and value together over ENV_FRAME_META_ENTRY_MAX */
    char big[ENV_FRAME_META_ENTRY_MAX + 64];
    int h = snprintf(big, sizeof(big), MAGIC2 "0:,2:kk,%zu:", ENV_FRAME_META_ENTRY_MAX - 1);
    assert_int_equal(env_frame_decode(&f, &used, big, (size_t)h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most"));
}

static void more_metadata_pairs_than_the_cap_are_refused(void **state)
{
    (void)state;
    size_t count = ENV_FRAME_META_MAX + 1, cap = 32 + count * 24, pos = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    pos += (size_t)snprintf(s, cap, MAGIC2 "0:,");
    for (size_t i = 0; i < count; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "k%zu", i);
        pos += (size_t)snprintf(s + pos, cap - pos, "%d:%s,1:v,", kl, k);
    }
    pos += (size_t)snprintf(s + pos, cap - pos, "0:,");
    struct env_frame f = {0};
    size_t used = 0;
    char err[256];
    assert_int_equal(env_frame_decode(&f, &used, s, pos, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "metadata pairs"));
    free(s);
}

static void encode_meta_then_decode_gives_everything_back(void **state)
{
    (void)state;
    const char *in[] = {"FLAME_PARENT=x", "E="};
    const char *keys[] = {"flamed.parent-id", "team=a", "empty"};
    const char *vals[] = {"p1", "x,y:z", ""};
    char *buf = NULL, err[256];
    size_t len = 0, used = 0;
    assert_int_equal(env_frame_encode_meta(&buf, &len, in, 2, keys, vals, 3, err, sizeof(err)), 0);
    assert_true(memcmp(buf, MAGIC2, strlen(MAGIC2)) == 0);
    struct env_frame f = {0};
    assert_int_equal(env_frame_decode(&f, &used, buf, len, err, sizeof(err)), 0);
    assert_int_equal(used, len);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.n_meta, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(f.meta_keys[i], keys[i]);
        assert_string_equal(f.meta_values[i], vals[i]);
    }
    env_frame_free(&f);
    free(buf);
    buf = NULL;
    const char *dup[] = {"k", "k"};
    assert_int_equal(env_frame_encode_meta(&buf, &len, in, 0, dup, vals, 2, err, sizeof(err)), -1);
    const char *empty[] = {""};
    assert_int_equal(env_frame_encode_meta(&buf, &len, in, 0, empty, vals, 1, err, sizeof(err)), -1);
    assert_null(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_frame_with_entries_decodes_in_order),
        cmocka_unit_test(an_empty_frame_decodes_to_no_entries),
        cmocka_unit_test(bytes_after_the_end_marker_are_not_consumed),
        cmocka_unit_test(every_proper_prefix_asks_for_more),
        cmocka_unit_test(a_wrong_magic_is_refused),
        cmocka_unit_test(malformed_lengths_are_refused),
        cmocka_unit_test(an_entry_longer_than_execve_takes_is_refused),
        cmocka_unit_test(an_entry_of_the_largest_size_is_accepted),
        cmocka_unit_test(a_frame_over_the_size_cap_is_refused_even_unfinished),
        cmocka_unit_test(more_entries_than_the_cap_are_refused),
        cmocka_unit_test(a_nul_byte_in_an_entry_is_refused),
        cmocka_unit_test(invalid_names_are_refused),
        cmocka_unit_test(a_name_delivered_twice_is_refused),
        cmocka_unit_test(names_use_printable_ascii),
        cmocka_unit_test(merge_replaces_in_place_and_appends_new_names),
        cmocka_unit_test(merge_keeps_one_entry_when_base_repeats_a_delivered_name),
        cmocka_unit_test(merge_over_an_empty_base_gives_the_frame),
        cmocka_unit_test(encode_then_decode_gives_the_entries_back),
        cmocka_unit_test(encode_refuses_what_decode_would_refuse),
        cmocka_unit_test(a_v2_frame_carries_metadata_pairs_after_the_env),
        cmocka_unit_test(every_proper_prefix_of_a_v2_frame_asks_for_more),
        cmocka_unit_test(bad_metadata_is_refused),
        cmocka_unit_test(more_metadata_pairs_than_the_cap_are_refused),
        cmocka_unit_test(encode_meta_then_decode_gives_everything_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
