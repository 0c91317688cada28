/*
 * struct_json.c - JSON text into google.protobuf.Struct (HostConfig, Mounts).
 *
 * flamed takes Docker's HostConfig and Mount objects as Structs so that any
 * Engine API field passes through without the proto naming it. Every node is
 * malloc'd so the tree is freed with protobuf_c_message_free_unpacked().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

static int value_from_json(const cJSON *j, Google__Protobuf__Value **out);

static int struct_from_object(const cJSON *obj, Google__Protobuf__Struct **out)
{
    Google__Protobuf__Struct *s = NULL;
    const cJSON *it;
    size_t n = 0;
    int err = 0;

    if (!(s = malloc(sizeof(*s)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    google__protobuf__struct__init(s);
    cJSON_ArrayForEach(it, obj) n++;
    if (n && !(s->fields = calloc(n, sizeof(*s->fields)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    cJSON_ArrayForEach(it, obj)
    {
        Google__Protobuf__Struct__FieldsEntry *e;

        if (!(e = malloc(sizeof(*e)))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        google__protobuf__struct__fields_entry__init(e);
        s->fields[s->n_fields++] = e; /* owned by s from here on */
        if (!(e->key = strdup(it->string ? it->string : ""))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        if ((err = value_from_json(it, &e->value)) < 0)
            goto done;
    }
    *out = s;
    s = NULL;
done:
    flame__struct_free(s);
    return err;
}

static int list_from_array(const cJSON *arr, Google__Protobuf__ListValue **out)
{
    Google__Protobuf__ListValue *l = NULL;
    const cJSON *it;
    size_t n = 0;
    int err = 0;

    if (!(l = malloc(sizeof(*l)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    google__protobuf__list_value__init(l);
    cJSON_ArrayForEach(it, arr) n++;
    if (n && !(l->values = calloc(n, sizeof(*l->values)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if ((err = value_from_json(it, &l->values[l->n_values])) < 0)
            goto done;
        l->n_values++;
    }
    *out = l;
    l = NULL;
done:
    if (l)
        protobuf_c_message_free_unpacked(&l->base, NULL);
    return err;
}

/* cJSON's nesting limit (1000) bounds the recursion. */
static int value_from_json(const cJSON *j, Google__Protobuf__Value **out)
{
    Google__Protobuf__Value *v = NULL;
    int err = 0;

    *out = NULL;
    if (!(v = malloc(sizeof(*v)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    google__protobuf__value__init(v);
    if (cJSON_IsNull(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
    } else if (cJSON_IsBool(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        v->bool_value = cJSON_IsTrue(j) ? 1 : 0;
    } else if (cJSON_IsNumber(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        v->number_value = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        if (!(v->string_value = strdup(j->valuestring))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    } else if (cJSON_IsObject(j)) {
        if ((err = struct_from_object(j, &v->struct_value)) < 0)
            goto done;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
    } else if (cJSON_IsArray(j)) {
        if ((err = list_from_array(j, &v->list_value)) < 0)
            goto done;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
    } else {
        err = FLAME_EINVALID; /* cJSON_Raw/cJSON_Invalid: never from the parser */
        goto done;
    }
    *out = v;
    v = NULL;
done:
    if (v)
        protobuf_c_message_free_unpacked(&v->base, NULL);
    return err;
}

int flame__struct_from_json(const char *json, const char *what, Google__Protobuf__Struct **out,
                            char *err, size_t errlen)
{
    cJSON *root = NULL;
    const char *end = NULL;
    int rc = 0;

    *out = NULL;
    if (!json) {
        snprintf(err, errlen, "%s: no JSON given", what);
        rc = FLAME_EINVALID;
        goto done;
    }
    /* ParseWithOpts reports the error position through `end`, unlike the
     * global cJSON_GetErrorPtr(), so this stays thread-safe. */
    if (!(root = cJSON_ParseWithOpts(json, &end, 1))) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;

        snprintf(err, errlen, "%s: invalid JSON at byte %zu near '%.20s': pass one JSON object, "
                 "e.g. '{\"Memory\":536870912}'",
                 what, off, end && *end ? end : "(end of input)");
        rc = FLAME_EINVALID;
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: JSON must be an object ({...}), not %s", what,
                 cJSON_IsArray(root) ? "an array" : "a scalar");
        rc = FLAME_EINVALID;
        goto done;
    }
    if ((rc = struct_from_object(root, out)) < 0)
        snprintf(err, errlen, "%s: out of memory", what);
done:
    cJSON_Delete(root);
    return rc;
}

const Google__Protobuf__Value *flame__struct_get(const Google__Protobuf__Struct *s,
                                                 const char *key)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n_fields; i++)
        if (s->fields[i]->key && strcmp(s->fields[i]->key, key) == 0)
            return s->fields[i]->value;
    return NULL;
}

int flame__struct_set_number(Google__Protobuf__Struct *s, const char *key, double v)
{
    Google__Protobuf__Struct__FieldsEntry *e = NULL, **grown;
    Google__Protobuf__Value *val = NULL;
    int err = 0;

    if (!(val = malloc(sizeof(*val)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    google__protobuf__value__init(val);
    val->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    val->number_value = v;
    for (size_t i = 0; i < s->n_fields; i++) {
        if (s->fields[i]->key && strcmp(s->fields[i]->key, key) == 0) {
            if (s->fields[i]->value)
                protobuf_c_message_free_unpacked(&s->fields[i]->value->base, NULL);
            s->fields[i]->value = val;
            val = NULL;
            goto done;
        }
    }
    if (!(e = malloc(sizeof(*e)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    google__protobuf__struct__fields_entry__init(e);
    if (!(e->key = strdup(key))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    if (!(grown = realloc(s->fields, (s->n_fields + 1) * sizeof(*grown)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    s->fields = grown;
    e->value = val;
    val = NULL;
    s->fields[s->n_fields++] = e;
    e = NULL;
done:
    if (e)
        protobuf_c_message_free_unpacked(&e->base, NULL);
    if (val)
        protobuf_c_message_free_unpacked(&val->base, NULL);
    return err;
}

void flame__struct_free(Google__Protobuf__Struct *s)
{
    if (s)
        protobuf_c_message_free_unpacked(&s->base, NULL);
}
