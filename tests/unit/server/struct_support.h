/*
 * tests/unit/server/struct_support.h - google.protobuf.Struct from JSON text,
 * for the tests of the canonical reading (boot_config.c, request_boot.c,
 * policy.c). cJSON keeps every member of an object, so a JSON text with a
 * repeated key becomes a Struct that repeats it, as a map may on the wire;
 * cJSON copies bytes >= 0x80 as they are, so invalid UTF-8 in the text
 * reaches the Struct too. NaN and infinities are set on the Value by hand
 * (sup_number_at).
 *
 * Every node is malloc'd; free with sup_struct_free().
 */
#ifndef FLTEST_STRUCT_SUPPORT_H
#define FLTEST_STRUCT_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "google/protobuf/struct.pb-c.h"

static inline Google__Protobuf__Struct *sup_struct_from_cjson(const cJSON *o);

static inline Google__Protobuf__Value *sup_value_from_cjson(const cJSON *j)
{
    Google__Protobuf__Value *v = calloc(1, sizeof(*v));

    assert_non_null(v);
    google__protobuf__value__init(v);
    if (cJSON_IsNull(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
    } else if (cJSON_IsBool(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        v->bool_value = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        v->number_value = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        v->string_value = strdup(j->valuestring);
        assert_non_null(v->string_value);
    } else if (cJSON_IsObject(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        v->struct_value = sup_struct_from_cjson(j);
    } else {
        Google__Protobuf__ListValue *l = calloc(1, sizeof(*l));
        size_t n = (size_t)cJSON_GetArraySize(j), i = 0;
        const cJSON *e;

        assert_non_null(l);
        google__protobuf__list_value__init(l);
        l->values = calloc(n ? n : 1, sizeof(*l->values));
        assert_non_null(l->values);
        cJSON_ArrayForEach(e, j) l->values[i++] = sup_value_from_cjson(e);
        l->n_values = n;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        v->list_value = l;
    }
    return v;
}

static inline Google__Protobuf__Struct *sup_struct_from_cjson(const cJSON *o)
{
    Google__Protobuf__Struct *s = calloc(1, sizeof(*s));
    size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
    const cJSON *e;

    assert_non_null(s);
    google__protobuf__struct__init(s);
    s->fields = calloc(n ? n : 1, sizeof(*s->fields));
    assert_non_null(s->fields);
    cJSON_ArrayForEach(e, o)
    {
        Google__Protobuf__Struct__FieldsEntry *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        google__protobuf__struct__fields_entry__init(f);
        f->key = strdup(e->string);
        assert_non_null(f->key);
        f->value = sup_value_from_cjson(e);
        s->fields[i++] = f;
    }
    s->n_fields = n;
    return s;
}

/** A Struct from a JSON object text (asserts that it parses as an object). */
static inline Google__Protobuf__Struct *sup_struct_from_json(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    Google__Protobuf__Struct *s;

    if (!cJSON_IsObject(j))
        fail_msg("test JSON is not an object: %s", json);
    s = sup_struct_from_cjson(j);
    cJSON_Delete(j);
    return s;
}

static inline void sup_struct_free(Google__Protobuf__Struct *s);

static inline void sup_value_free(Google__Protobuf__Value *v)
{
    if (!v)
        return;
    if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)
        free(v->string_value);
    else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
        sup_struct_free(v->struct_value);
    else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE) {
        for (size_t i = 0; i < v->list_value->n_values; i++)
            sup_value_free(v->list_value->values[i]);
        free(v->list_value->values);
        free(v->list_value);
    }
    free(v);
}

static inline void sup_struct_free(Google__Protobuf__Struct *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_fields; i++) {
        free(s->fields[i]->key);
        sup_value_free(s->fields[i]->value);
        free(s->fields[i]);
    }
    free(s->fields);
    free(s);
}

/**
 * The number Value of field `key` (top level of s; asserts it is a number),
 * to set a NaN or an infinity, which JSON text cannot carry.
 */
static inline Google__Protobuf__Value *sup_number_at(Google__Protobuf__Struct *s, const char *key)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i]->key, key) == 0) {
            assert_int_equal(s->fields[i]->value->kind_case,
                             GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
            return s->fields[i]->value;
        }
    fail_msg("no field %s", key);
    return NULL;
}

#endif
