/*
 * The strict reading of an operator's JSON file (json_strict.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json_strict.h"
#include "flame/error.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return FLAME_EINVALID;
}

/* A "\u0000" escape: cJSON would cut the string there. */
static int has_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '\\') {
            if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* the escaped character is not an escape */
        }
    return 0;
}

int json_strict_parse(cJSON **out, const char *json, size_t len, size_t max, const char *what,
                      char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root;

    *out = NULL;
    if (len > max)
        return fail(err, errlen, "%s is larger than %zu bytes", what, max);
    if (memchr(json, '\0', len) || has_nul_escape(json, len))
        return fail(err, errlen, "%s holds a NUL byte or \\u0000", what);
    if (!(root = cJSON_ParseWithLengthOpts(json, len, &end, 0))) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return fail(err, errlen, "%s is not JSON (near byte %zu)", what, at);
    }
    for (; end && (size_t)(end - json) < len; end++)
        if (!strchr(" \t\r\n", *end)) {
            cJSON_Delete(root);
            return fail(err, errlen, "%s has text after its JSON value", what);
        }
    *out = root;
    return 0;
}

int json_strict_keys(const cJSON *o, const char *where, const char *const *allowed, char *err,
                     size_t errlen)
{
    const cJSON *k, *j;
    cJSON_ArrayForEach(k, o)
    {
        if (allowed) {
            size_t i = 0;
            while (allowed[i] && strcmp(allowed[i], k->string) != 0)
                i++;
            if (!allowed[i])
                return fail(err, errlen, "%s: unknown key '%.64s'", where, k->string);
        }
        for (j = o->child; j != k; j = j->next)
            if (strcmp(j->string, k->string) == 0)
                return fail(err, errlen, "%s: the key '%.64s' is repeated: give it once", where,
                            k->string);
    }
    return 0;
}
