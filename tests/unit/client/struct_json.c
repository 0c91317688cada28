/* JSON text (HostConfig, Mounts) into google.protobuf.Struct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../client/src/internal.h"

typedef Google__Protobuf__Value Value;

static Google__Protobuf__Struct *parse_ok(const char *json)
{
    Google__Protobuf__Struct *s = NULL;
    char err[256] = "";
    int rc = flame__struct_from_json(json, "host_config", &s, err, sizeof(err));

    if (rc != 0)
        fail_msg("parse of %s failed: %d %s", json, rc, err);
    assert_non_null(s);
    return s;
}

static const Value *field(const Google__Protobuf__Struct *s, const char *key, int kind)
{
    const Value *v = flame__struct_get(s, key);

    assert_non_null(v);
    assert_int_equal(v->kind_case, kind);
    return v;
}

static void empty_object_gives_empty_struct(void **state)
{
    Google__Protobuf__Struct *s = parse_ok("  {}\n");

    (void)state;
    assert_int_equal(s->n_fields, 0);
    flame__struct_free(s);
}

static void scalars_keep_their_kinds(void **state)
{
    Google__Protobuf__Struct *s =
        parse_ok("{\"Memory\":536870912,\"CpuShares\":-2,\"Ratio\":0.25,\"Privileged\":true,"
                 "\"ReadonlyRootfs\":false,\"CgroupParent\":\"flame\",\"Runtime\":null}");

    (void)state;
    assert_int_equal(s->n_fields, 7);
    assert_true(field(s, "Memory", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value ==
                536870912.0);
    assert_true(field(s, "CpuShares", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value ==
                -2.0);
    assert_true(field(s, "Ratio", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value == 0.25);
    assert_true(field(s, "Privileged", GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE)->bool_value);
    assert_false(field(s, "ReadonlyRootfs", GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE)->bool_value);
    assert_string_equal(
        field(s, "CgroupParent", GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)->string_value, "flame");
    assert_int_equal(field(s, "Runtime", GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE)->null_value,
                     GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE);
    flame__struct_free(s);
}

static void nested_objects_and_arrays_become_struct_and_list(void **state)
{
    Google__Protobuf__Struct *s = parse_ok(
        "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":4096}],"
        "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"10m\"}},"
        "\"Dns\":[],\"Mixed\":[1,\"two\",false,null,[3]]}");
    const Value *ul, *lc, *cfg, *mixed;
    const Google__Protobuf__Struct *u0;

    (void)state;
    ul = field(s, "Ulimits", GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    assert_int_equal(ul->list_value->n_values, 1);
    assert_int_equal(ul->list_value->values[0]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    u0 = ul->list_value->values[0]->struct_value;
    assert_string_equal(field(u0, "Name", GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)->string_value,
                        "nofile");
    assert_true(field(u0, "Hard", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value == 4096);

    lc = field(s, "LogConfig", GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    cfg = field(lc->struct_value, "Config", GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    assert_string_equal(
        field(cfg->struct_value, "max-size", GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)->string_value,
        "10m");

    assert_int_equal(field(s, "Dns", GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE)->list_value->n_values,
                     0);

    mixed = field(s, "Mixed", GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    assert_int_equal(mixed->list_value->n_values, 5);
    assert_int_equal(mixed->list_value->values[0]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
    assert_string_equal(mixed->list_value->values[1]->string_value, "two");
    assert_int_equal(mixed->list_value->values[2]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
    assert_int_equal(mixed->list_value->values[3]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    assert_int_equal(mixed->list_value->values[4]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    assert_int_equal(mixed->list_value->values[4]->list_value->n_values, 1);
    flame__struct_free(s);
}

static void strings_are_unescaped_utf8(void **state)
{
    Google__Protobuf__Struct *s = parse_ok("{\"Target\":\"/data \\\"q\\\" \\u00e9\\n\"}");

    (void)state;
    assert_string_equal(field(s, "Target", GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)->string_value,
                        "/data \"q\" \xc3\xa9\n");
    flame__struct_free(s);
}

static void struct_round_trips_through_the_wire(void **state)
{
    Google__Protobuf__Struct *s =
        parse_ok("{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/data\",\"ReadOnly\":true,"
                 "\"VolumeOptions\":{\"Labels\":{\"a\":\"b\"}}}");
    Google__Protobuf__Struct *back;
    size_t len = google__protobuf__struct__get_packed_size(s);
    uint8_t *buf = malloc(len);

    (void)state;
    assert_non_null(buf);
    assert_int_equal(google__protobuf__struct__pack(s, buf), len);
    back = google__protobuf__struct__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->n_fields, 5);
    assert_string_equal(field(back, "Source", GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)->string_value,
                        "v");
    assert_true(field(back, "ReadOnly", GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE)->bool_value);
    google__protobuf__struct__free_unpacked(back, NULL);
    free(buf);
    flame__struct_free(s);
}

static void invalid_json_is_einvalid_with_position(void **state)
{
    static const char *const bad[] = {
        "",  "{",        "{\"Memory\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} trailing",
        "nope", "{\"a\":tru}", "{\"a\":[1,2}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Google__Protobuf__Struct *s = (Google__Protobuf__Struct *)1;
        char err[256] = "";

        assert_int_equal(flame__struct_from_json(bad[i], "host_config", &s, err, sizeof(err)),
                         FLAME_EINVALID);
        assert_null(s);
        assert_non_null(strstr(err, "host_config: invalid JSON at byte"));
    }
}

static void non_object_json_is_einvalid(void **state)
{
    static const char *const bad[] = {"[]", "[{\"a\":1}]", "42", "\"str\"", "true", "null"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Google__Protobuf__Struct *s = NULL;
        char err[256] = "";

        assert_int_equal(flame__struct_from_json(bad[i], "mount 2", &s, err, sizeof(err)),
                         FLAME_EINVALID);
        assert_null(s);
        assert_non_null(strstr(err, "mount 2: JSON must be an object"));
    }
}

static void null_json_is_einvalid(void **state)
{
    Google__Protobuf__Struct *s = NULL;
    char err[128] = "";

    (void)state;
    assert_int_equal(flame__struct_from_json(NULL, "host_config", &s, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_null(s);
}

static void set_number_replaces_or_adds(void **state)
{
    Google__Protobuf__Struct *s = parse_ok("{\"Memory\":{\"nested\":[1]},\"Privileged\":false}");

    (void)state;
    assert_int_equal(flame__struct_set_number(s, "Memory", 1073741824.0), 0);
    assert_int_equal(flame__struct_set_number(s, "NanoCpus", 1.5e9), 0);
    assert_int_equal(s->n_fields, 3);
    assert_true(field(s, "Memory", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value ==
                1073741824.0);
    assert_true(field(s, "NanoCpus", GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)->number_value ==
                1.5e9);
    field(s, "Privileged", GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
    flame__struct_free(s);
}

static void deep_nesting_is_bounded_by_the_parser(void **state)
{
    enum { DEPTH = 2000 };
    char *json = malloc(DEPTH * 6 + 16);
    Google__Protobuf__Struct *s = NULL;
    char err[256] = "";
    size_t n = 0;

    (void)state;
    assert_non_null(json);
    json[n++] = '{';
    for (int i = 0; i < DEPTH; i++) {
        memcpy(json + n, "\"a\":{", 5);
        n += 5;
    }
    for (int i = 0; i <= DEPTH; i++)
        json[n++] = '}';
    json[n] = '\0';
    /* cJSON refuses nesting beyond 1000: an error, not a stack overflow */
    assert_int_equal(flame__struct_from_json(json, "host_config", &s, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_null(s);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_object_gives_empty_struct),
        cmocka_unit_test(scalars_keep_their_kinds),
        cmocka_unit_test(nested_objects_and_arrays_become_struct_and_list),
        cmocka_unit_test(strings_are_unescaped_utf8),
        cmocka_unit_test(struct_round_trips_through_the_wire),
        cmocka_unit_test(invalid_json_is_einvalid_with_position),
        cmocka_unit_test(non_object_json_is_einvalid),
        cmocka_unit_test(null_json_is_einvalid),
        cmocka_unit_test(set_number_replaces_or_adds),
        cmocka_unit_test(deep_nesting_is_bounded_by_the_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
