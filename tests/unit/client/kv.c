/* "K=V" entries (env, labels) into protobuf map fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../client/src/internal.h"

static void split_at_first_equals(void **state)
{
    char *k = NULL, *v = NULL;

    (void)state;
    assert_int_equal(flame__kv_split("FLAME_PARENT=abc=def==", &k, &v), 0);
    assert_string_equal(k, "FLAME_PARENT");
    assert_string_equal(v, "abc=def==");
    free(k);
    free(v);
}

static void split_allows_empty_value(void **state)
{
    char *k = NULL, *v = NULL;

    (void)state;
    assert_int_equal(flame__kv_split("EMPTY=", &k, &v), 0);
    assert_string_equal(k, "EMPTY");
    assert_string_equal(v, "");
    free(k);
    free(v);
}

static void split_keeps_spaces_and_utf8(void **state)
{
    char *k = NULL, *v = NULL;

    (void)state;
    assert_int_equal(flame__kv_split("com.example.note= h\xc3\xa9 llo ", &k, &v), 0);
    assert_string_equal(k, "com.example.note");
    assert_string_equal(v, " h\xc3\xa9 llo ");
    free(k);
    free(v);
}

static void split_rejects_missing_equals_or_key(void **state)
{
    char *k = (char *)"untouched", *v = (char *)"untouched";

    (void)state;
    assert_int_equal(flame__kv_split("NOEQUALS", &k, &v), FLAME_EINVALID);
    assert_int_equal(flame__kv_split("=value", &k, &v), FLAME_EINVALID);
    assert_int_equal(flame__kv_split("", &k, &v), FLAME_EINVALID);
    assert_int_equal(flame__kv_split(NULL, &k, &v), FLAME_EINVALID);
    assert_string_equal(k, "untouched");
    assert_string_equal(v, "untouched");
}

static void map_builds_entries_in_order(void **state)
{
    const char *env[] = {"A=1", "B=two=2", "C=", NULL};
    Flame__V1__BootRequest *m = malloc(sizeof(*m));
    char err[128] = "";
    void **entries;
    size_t n;

    (void)state;
    assert_non_null(m);
    flame__v1__boot_request__init(m);
    assert_int_equal(flame__kv_map(&flame__v1__boot_request__env_entry__descriptor, env, "env",
                                   &entries, &n, err, sizeof(err)),
                     0);
    m->env = (Flame__V1__BootRequest__EnvEntry **)entries;
    m->n_env = n;
    assert_int_equal(m->n_env, 3);
    assert_string_equal(m->env[0]->key, "A");
    assert_string_equal(m->env[0]->value, "1");
    assert_string_equal(m->env[1]->key, "B");
    assert_string_equal(m->env[1]->value, "two=2");
    assert_string_equal(m->env[2]->key, "C");
    assert_string_equal(m->env[2]->value, "");
    /* the entries pack as the map field */
    assert_true(protobuf_c_message_get_packed_size(&m->base) > 0);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void map_of_null_or_empty_is_empty(void **state)
{
    const char *none[] = {NULL};
    char err[128] = "";
    void **entries = (void **)1;
    size_t n = 9;

    (void)state;
    assert_int_equal(flame__kv_map(&flame__v1__boot_request__labels_entry__descriptor, NULL,
                                   "labels", &entries, &n, err, sizeof(err)),
                     0);
    assert_null(entries);
    assert_int_equal(n, 0);
    assert_int_equal(flame__kv_map(&flame__v1__boot_request__labels_entry__descriptor, none,
                                   "labels", &entries, &n, err, sizeof(err)),
                     0);
    assert_null(entries);
    assert_int_equal(n, 0);
}

static void map_names_the_bad_entry(void **state)
{
    const char *labels[] = {"ok=1", "broken", NULL};
    char err[128] = "";
    void **entries;
    size_t n;

    (void)state;
    assert_int_equal(flame__kv_map(&flame__v1__boot_request__labels_entry__descriptor, labels,
                                   "labels", &entries, &n, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_null(entries);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "labels entry 'broken'"));
    assert_non_null(strstr(err, "KEY=VALUE"));
}

static void strv_copy_copies_each_string(void **state)
{
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    char **out;
    size_t n;

    (void)state;
    assert_int_equal(flame__strv_copy(argv, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[2], "echo hi");
    assert_ptr_not_equal(out[2], argv[2]);
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);
    assert_int_equal(flame__strv_copy(NULL, &out, &n), 0);
    assert_null(out);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_at_first_equals),
        cmocka_unit_test(split_allows_empty_value),
        cmocka_unit_test(split_keeps_spaces_and_utf8),
        cmocka_unit_test(split_rejects_missing_equals_or_key),
        cmocka_unit_test(map_builds_entries_in_order),
        cmocka_unit_test(map_of_null_or_empty_is_empty),
        cmocka_unit_test(map_names_the_bad_entry),
        cmocka_unit_test(strv_copy_copies_each_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
