/* Unit tests: request_struct_to_json (google.protobuf.Struct -> cJSON). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/request.h"

typedef Google__Protobuf__Struct Struct;
typedef Google__Protobuf__Value Value;
typedef Google__Protobuf__ListValue ListValue;

/* ---------------------------------------------------------------- builders (heap; freed with struct_free) */

static Value *v_new(Google__Protobuf__Value__KindCase kind)
{
    Value *v = calloc(1, sizeof(*v));

    assert_non_null(v);
    google__protobuf__value__init(v);
    v->kind_case = kind;
    return v;
}

static Value *v_number(double d)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);

    v->number_value = d;
    return v;
}

static Value *v_string(const char *s)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);

    v->string_value = strdup(s);
    assert_non_null(v->string_value);
    return v;
}

static Value *v_bool(int b)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);

    v->bool_value = b != 0;
    return v;
}

static Value *v_null(void)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);

    v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
    return v;
}

static Struct *s_new(void)
{
    Struct *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    google__protobuf__struct__init(s);
    return s;
}

/* Add key: v to s (takes v; v may be NULL: an entry without a value). */
static Struct *s_put(Struct *s, const char *key, Value *v)
{
    Google__Protobuf__Struct__FieldsEntry **f =
        realloc(s->fields, (s->n_fields + 1) * sizeof(*s->fields));
    Google__Protobuf__Struct__FieldsEntry *e = calloc(1, sizeof(*e));

    assert_non_null(f);
    assert_non_null(e);
    google__protobuf__struct__fields_entry__init(e);
    e->key = strdup(key);
    assert_non_null(e->key);
    e->value = v;
    s->fields = f;
    s->fields[s->n_fields++] = e;
    return s;
}

static Value *v_struct(Struct *s)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);

    v->struct_value = s;
    return v;
}

static Value *v_list(size_t n, Value **items)
{
    Value *v = v_new(GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    ListValue *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    google__protobuf__list_value__init(l);
    l->values = calloc(n ? n : 1, sizeof(*l->values));
    assert_non_null(l->values);
    for (size_t i = 0; i < n; i++)
        l->values[i] = items[i];
    l->n_values = n;
    v->list_value = l;
    return v;
}

static void struct_free(Struct *s);

static void value_free(Value *v)
{
    if (!v)
        return;
    if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)
        free(v->string_value);
    else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
        struct_free(v->struct_value);
    else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE && v->list_value) {
        for (size_t i = 0; i < v->list_value->n_values; i++)
            value_free(v->list_value->values[i]);
        free(v->list_value->values);
        free(v->list_value);
    }
    free(v);
}

static void struct_free(Struct *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_fields; i++) {
        free(s->fields[i]->key);
        value_free(s->fields[i]->value);
        free(s->fields[i]);
    }
    free(s->fields);
    free(s);
}

/* A chain of `below` objects under a top-level object: {"a":{"a":...{}}}. */
static Struct *nested_structs(int below)
{
    Struct *top = s_new(), *cur = top;

    for (int i = 0; i < below; i++) {
        Struct *child = s_new();

        s_put(cur, "a", v_struct(child));
        cur = child;
    }
    return top;
}

/* {"a":[[...[]]]} with `below` list levels under the top-level object. */
static Struct *nested_lists(int below)
{
    Value *inner = v_list(0, NULL);

    for (int i = 1; i < below; i++)
        inner = v_list(1, &inner);
    return s_put(s_new(), "a", inner);
}

static int convert(const Struct *s, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    return request_struct_to_json(s, out, err, errlen);
}

/* Convert and compare with the expected JSON text (compared as parsed JSON). */
static void assert_converts_to(const Struct *s, const char *expected_json)
{
    cJSON *out = NULL, *want = cJSON_Parse(expected_json);
    char err[256];
    int rc = convert(s, &out, err, sizeof(err));

    assert_non_null(want);
    if (rc != 0)
        fail_msg("refused (%d): %s", rc, err);
    if (!cJSON_Compare(out, want, 1)) {
        char *got = cJSON_PrintUnformatted(out);

        fail_msg("got %s, want %s", got ? got : "(null)", expected_json);
    }
    cJSON_Delete(out);
    cJSON_Delete(want);
}

/* ---------------------------------------------------------------- tests */

static void null_struct_is_an_empty_object(void **state)
{
    (void)state;
    assert_converts_to(NULL, "{}");
}

static void empty_struct_is_an_empty_object(void **state)
{
    Struct *s = s_new();

    (void)state;
    assert_converts_to(s, "{}");
    struct_free(s);
}

static void scalars_keep_their_json_types(void **state)
{
    Struct *s = s_new();

    (void)state;
    s_put(s, "n", v_number(268435456));
    s_put(s, "neg", v_number(-1.5));
    s_put(s, "s", v_string("json-file"));
    s_put(s, "t", v_bool(1));
    s_put(s, "f", v_bool(0));
    s_put(s, "z", v_null());
    assert_converts_to(s, "{\"n\":268435456,\"neg\":-1.5,\"s\":\"json-file\",\"t\":true,"
                          "\"f\":false,\"z\":null}");
    struct_free(s);
}

static void value_without_kind_is_null(void **state)
{
    Struct *s = s_put(s_new(), "unset", v_new(GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET));

    (void)state;
    assert_converts_to(s, "{\"unset\":null}");
    struct_free(s);
}

static void entry_without_value_is_null(void **state)
{
    Struct *s = s_put(s_new(), "missing", NULL);

    (void)state;
    assert_converts_to(s, "{\"missing\":null}");
    struct_free(s);
}

static void nested_structs_and_lists_are_converted(void **state)
{
    Struct *lim = s_new();
    Value *ul[2];
    Struct *s = s_new();

    (void)state;
    s_put(lim, "Name", v_string("nofile"));
    s_put(lim, "Soft", v_number(1024));
    s_put(lim, "Hard", v_number(2048));
    ul[0] = v_struct(lim);
    ul[1] = v_list(0, NULL);
    s_put(s, "Ulimits", v_list(2, ul));
    s_put(s, "LogConfig",
          v_struct(s_put(s_put(s_new(), "Type", v_string("json-file")), "Config",
                         v_struct(s_put(s_new(), "max-size", v_string("10m"))))));
    assert_converts_to(s, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048},[]],"
                          "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":"
                          "\"10m\"}}}");
    struct_free(s);
}

static void list_keeps_order_and_mixed_types(void **state)
{
    Value *items[4] = {v_number(1), v_string("two"), v_bool(1), v_null()};
    Struct *s = s_put(s_new(), "l", v_list(4, items));

    (void)state;
    assert_converts_to(s, "{\"l\":[1,\"two\",true,null]}");
    struct_free(s);
}

static void string_with_utf8_and_quotes_is_kept(void **state)
{
    Struct *s = s_put(s_new(), "k", v_string("caf\xc3\xa9 \"q\" \\ \xe2\x82\xac"));
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(out, "k")->valuestring,
                        "caf\xc3\xa9 \"q\" \\ \xe2\x82\xac");
    cJSON_Delete(out);
    struct_free(s);
}

static void nan_is_refused(void **state)
{
    Struct *s = s_put(s_new(), "Memory", v_number(NAN));
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    assert_non_null(strstr(err, "finite"));
    struct_free(s);
}

static void infinity_is_refused(void **state)
{
    Struct *s = s_put(s_new(), "Memory", v_number(-INFINITY));
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    struct_free(s);
}

static void nan_deep_in_a_list_is_refused(void **state)
{
    Value *items[3] = {v_number(1), v_number(2), v_number(NAN)};
    Struct *s = s_put(s_new(), "a", v_struct(s_put(s_new(), "b", v_list(3, items))));
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    struct_free(s);
}

static void objects_nested_32_levels_below_the_top_are_accepted(void **state)
{
    Struct *s = nested_structs(32);
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), 0);
    assert_non_null(out);
    cJSON_Delete(out);
    struct_free(s);
}

static void objects_nested_33_levels_below_the_top_are_refused(void **state)
{
    Struct *s = nested_structs(33);
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    assert_non_null(strstr(err, "nested deeper than 32 levels"));
    struct_free(s);
}

static void lists_nested_32_levels_below_the_top_are_accepted(void **state)
{
    Struct *s = nested_lists(32);
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), 0);
    cJSON_Delete(out);
    struct_free(s);
}

static void lists_nested_33_levels_below_the_top_are_refused(void **state)
{
    Struct *s = nested_lists(33);
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    assert_non_null(strstr(err, "nested deeper than 32 levels"));
    struct_free(s);
}

static void very_deep_nesting_is_refused_without_exhausting_the_stack(void **state)
{
    Struct *s = nested_structs(10000);
    cJSON *out = NULL;
    char err[128];

    (void)state;
    assert_int_equal(convert(s, &out, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    /* struct_free recurses 10000 deep too; unwind iteratively instead. */
    while (s) {
        Struct *child = s->n_fields ? s->fields[0]->value->struct_value : NULL;

        if (s->n_fields) {
            s->fields[0]->value->struct_value = NULL;
            s->fields[0]->value->kind_case = GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET;
        }
        struct_free(s);
        s = child;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_struct_is_an_empty_object),
        cmocka_unit_test(empty_struct_is_an_empty_object),
        cmocka_unit_test(scalars_keep_their_json_types),
        cmocka_unit_test(value_without_kind_is_null),
        cmocka_unit_test(entry_without_value_is_null),
        cmocka_unit_test(nested_structs_and_lists_are_converted),
        cmocka_unit_test(list_keeps_order_and_mixed_types),
        cmocka_unit_test(string_with_utf8_and_quotes_is_kept),
        cmocka_unit_test(nan_is_refused),
        cmocka_unit_test(infinity_is_refused),
        cmocka_unit_test(nan_deep_in_a_list_is_refused),
        cmocka_unit_test(objects_nested_32_levels_below_the_top_are_accepted),
        cmocka_unit_test(objects_nested_33_levels_below_the_top_are_refused),
        cmocka_unit_test(lists_nested_32_levels_below_the_top_are_accepted),
        cmocka_unit_test(lists_nested_33_levels_below_the_top_are_refused),
        cmocka_unit_test(very_deep_nesting_is_refused_without_exhausting_the_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
