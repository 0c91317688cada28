/*
 * kv.c - "K=V" entries and string arrays into protobuf-c fields.
 *
 * Everything built here is malloc'd piece by piece so that the enclosing
 * request message can be freed with protobuf_c_message_free_unpacked(msg, NULL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char *flame__strdup0(const char *s)
{
    return strdup(s ? s : "");
}

int flame__kv_split(const char *kv, char **key, char **value)
{
    const char *eq;
    char *k = NULL, *v = NULL;
    int err = 0;

    if (!kv || !(eq = strchr(kv, '=')) || eq == kv) {
        err = FLAME_EINVALID;
        goto done;
    }
    if (!(k = strndup(kv, (size_t)(eq - kv))) || !(v = strdup(eq + 1))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    *key = k;
    *value = v;
    k = v = NULL;
done:
    free(k);
    free(v);
    return err;
}

/* Map entries are messages with two string fields; their offsets come from the
 * descriptor so one function serves every map<string, string> of the proto. */
int flame__kv_map(const ProtobufCMessageDescriptor *entry_desc, const char *const *kvs,
                  const char *what, void ***out_entries, size_t *out_n, char *err,
                  size_t errlen)
{
    const ProtobufCFieldDescriptor *fk, *fv;
    ProtobufCMessage **entries = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    *out_entries = NULL;
    *out_n = 0;
    if (!kvs || !kvs[0])
        return 0;
    fk = protobuf_c_message_descriptor_get_field_by_name(entry_desc, "key");
    fv = protobuf_c_message_descriptor_get_field_by_name(entry_desc, "value");
    if (!fk || !fv || fk->type != PROTOBUF_C_TYPE_STRING || fv->type != PROTOBUF_C_TYPE_STRING) {
        snprintf(err, errlen, "%s: not a map<string, string>", what);
        return FLAME_ERROR;
    }
    while (kvs[cap])
        cap++;
    if (!(entries = calloc(cap, sizeof(*entries)))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    for (; n < cap; n++) {
        ProtobufCMessage *e;
        char *k = NULL, *v = NULL;

        if ((rc = flame__kv_split(kvs[n], &k, &v)) < 0) {
            if (rc == FLAME_EINVALID)
                snprintf(err, errlen, "%s entry '%s' is not KEY=VALUE", what, kvs[n]);
            goto done;
        }
        if (!(e = malloc(entry_desc->sizeof_message))) {
            free(k);
            free(v);
            rc = FLAME_ENOMEM;
            goto done;
        }
        entry_desc->message_init(e);
        *(char **)((char *)e + fk->offset) = k;
        *(char **)((char *)e + fv->offset) = v;
        entries[n] = e;
    }
    *out_entries = (void **)entries;
    *out_n = n;
    entries = NULL;
done:
    if (entries) {
        for (size_t i = 0; i < n; i++)
            protobuf_c_message_free_unpacked(entries[i], NULL);
        free(entries);
    }
    if (rc == FLAME_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", what);
    return rc;
}

int flame__strv_copy(const char *const *v, char ***out, size_t *n)
{
    char **copy = NULL;
    size_t len = 0, i = 0;
    int err = 0;

    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    while (v[len])
        len++;
    if (len == 0)
        return 0;
    if (!(copy = calloc(len, sizeof(*copy)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    for (; i < len; i++) {
        if (!(copy[i] = strdup(v[i]))) {
            err = FLAME_ENOMEM;
            goto done;
        }
    }
    *out = copy;
    *n = len;
    copy = NULL;
done:
    if (copy) {
        for (size_t j = 0; j < i; j++)
            free(copy[j]);
        free(copy);
    }
    return err;
}
