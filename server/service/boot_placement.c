/*
 * The canonical reading of BootRequest.placement (boot_placement.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame/error.h"
#include "service/boot_placement.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return FLAME_EINVALID;
}

int boot_placement_given(const Flame__V1__Placement *p)
{
    return p && (p->n_constraints > 0 || p->n_preferences > 0);
}

static int label_key_ok(const char *k, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* An attribute a constraint or spread may name: the fixed ones (when
 * `fixed`), or a label under node.labels. / engine.labels. */
static int attribute_ok(const char *a, size_t n, int fixed)
{
    static const char *const names[] = {"node.id", "node.hostname", "node.role", "node.platform.os",
                                         "node.platform.arch", NULL};
    static const char *const prefixes[] = {"node.labels.", "engine.labels.", NULL};
    for (size_t i = 0; fixed && names[i]; i++)
        if (strlen(names[i]) == n && memcmp(a, names[i], n) == 0)
            return 1;
    for (size_t i = 0; prefixes[i]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (n > pl && memcmp(a, prefixes[i], pl) == 0)
            return label_key_ok(a + pl, n - pl);
    }
    return 0;
}

/* swarmkit's valuePattern without white space. */
static int value_ok(const char *v, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(":-_.*()?+[]\\^$|/", c)))
            return 0;
    }
    return 1;
}

/* [s, s+n) without the spaces and tabs at its ends. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* One constraint, printed again from its parts into out (outlen bytes). */
static int constraint_read(const char *c, size_t index, char *out, size_t outlen, char *err,
                           size_t errlen)
{
    size_t len = c ? strlen(c) : 0;
    if (len == 0 || len > BOOT_PLACEMENT_ITEM_MAX)
        return fail(err, errlen, "placement.constraints[%zu] must be 1 to %d bytes", index,
                    BOOT_PLACEMENT_ITEM_MAX);
    const char *eq = strstr(c, "=="), *ne = strstr(c, "!=");
    const char *op = eq ? eq : ne;
    if (!op || (eq && ne) || strstr(op + 2, "==") || strstr(op + 2, "!="))
        return fail(err, errlen, "placement.constraints[%zu] '%.64s' must be ATTRIBUTE==VALUE or "
                                 "ATTRIBUTE!=VALUE, with one operator", index, c);
    const char *a = c, *v = op + 2;
    size_t an = (size_t)(op - c), vn = len - an - 2;
    trim(&a, &an);
    trim(&v, &vn);
    if (!attribute_ok(a, an, 1))
        return fail(err, errlen, "placement.constraints[%zu]: '%.*s' is not a node attribute: use "
                                 "node.id, node.hostname, node.role, node.platform.os, "
                                 "node.platform.arch, node.labels.KEY or engine.labels.KEY (KEY: "
                                 "[A-Za-z0-9_.-])", index, (int)(an > 64 ? 64 : an), a);
    if (!value_ok(v, vn))
        return fail(err, errlen, "placement.constraints[%zu] '%.64s': the value must be 1 or more "
                                 "of [A-Za-z0-9:_.*()?+[]\\^$|/-], no spaces", index, c);
    if (an == 9 && memcmp(a, "node.role", 9) == 0 &&
        !((vn == 7 && memcmp(v, "manager", 7) == 0) || (vn == 6 && memcmp(v, "worker", 6) == 0)))
        return fail(err, errlen, "placement.constraints[%zu]: node.role is manager or worker", index);
    snprintf(out, outlen, "%.*s%s%.*s", (int)an, a, op == eq ? "==" : "!=", (int)vn, v);
    return 0;
}

int boot_placement_read(cJSON **out, const Flame__V1__Placement *p, char *err, size_t errlen)
{
    char buf[BOOT_PLACEMENT_ITEM_MAX + 8];
    int rc = FLAME_ENOMEM;
    *out = NULL;
    if (!boot_placement_given(p))
        return 0;
    if (p->n_constraints > BOOT_PLACEMENT_CONSTRAINTS_MAX)
        return fail(err, errlen, "placement.constraints has %zu entries, at most %d are allowed",
                    p->n_constraints, BOOT_PLACEMENT_CONSTRAINTS_MAX);
    if (p->n_preferences > BOOT_PLACEMENT_PREFERENCES_MAX)
        return fail(err, errlen, "placement.preferences has %zu entries, at most %d are allowed",
                    p->n_preferences, BOOT_PLACEMENT_PREFERENCES_MAX);
    cJSON *pl = cJSON_CreateObject();
    if (!pl)
        return FLAME_ENOMEM;
    if (p->n_constraints) {
        cJSON *cs = cJSON_AddArrayToObject(pl, "Constraints");
        if (!cs)
            goto fail;
        for (size_t i = 0; i < p->n_constraints; i++) {
            if ((rc = constraint_read(p->constraints[i], i, buf, sizeof(buf), err, errlen)) < 0)
                goto fail;
            rc = FLAME_ENOMEM;
            if (!cJSON_AddItemToArray(cs, cJSON_CreateString(buf)))
                goto fail;
        }
    }
    if (p->n_preferences) {
        cJSON *ps = cJSON_AddArrayToObject(pl, "Preferences");
        if (!ps)
            goto fail;
        for (size_t i = 0; i < p->n_preferences; i++) {
            const char *d = p->preferences[i] ? p->preferences[i]->spread : NULL;
            size_t n = d ? strlen(d) : 0;
            if (n == 0 || n > BOOT_PLACEMENT_ITEM_MAX || !attribute_ok(d, n, 0)) {
                rc = fail(err, errlen, "placement.preferences[%zu].spread '%.64s' must be "
                                       "node.labels.KEY or engine.labels.KEY (KEY: [A-Za-z0-9_.-], "
                                       "at most %d bytes in all)",
                          i, d ? d : "", BOOT_PLACEMENT_ITEM_MAX);
                goto fail;
            }
            cJSON *pref = cJSON_CreateObject();
            cJSON *spread = pref ? cJSON_AddObjectToObject(pref, "Spread") : NULL;
            if (!spread || !cJSON_AddStringToObject(spread, "SpreadDescriptor", d) ||
                !cJSON_AddItemToArray(ps, pref)) {
                cJSON_Delete(pref);
                goto fail;
            }
        }
    }
    *out = pl;
    return 0;
fail:
    if (rc == FLAME_ENOMEM)
        snprintf(err, errlen, "out of memory");
    cJSON_Delete(pl);
    return rc;
}
