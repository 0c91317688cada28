/*
 * server/service/warm_pools.c - the pool file of warm runners (see warm_pools.h).
 */
#include "warm_pools.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json_strict.h"
#include "flame/error.h"
#include "policy.h"
#include "request.h"

/* Deeper Struct nesting than any HostConfig field has (Ulimits, LogConfig...). */
#define WARM__DEPTH_MAX 16

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---------------------------------------------------------------- JSON -> Struct */

static void struct_free(Google__Protobuf__Struct *s)
{
    if (s)
        protobuf_c_message_free_unpacked(&s->base, NULL);
}

static Google__Protobuf__Struct *struct_from_json(const cJSON *o, int depth);

/* Every node malloc'd, so protobuf_c_message_free_unpacked(NULL allocator) frees it. */
static Google__Protobuf__Value *value_from_json(const cJSON *j, int depth)
{
    Google__Protobuf__Value *v = malloc(sizeof(*v));
    if (!v)
        return NULL;
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
        if (!(v->string_value = strdup(j->valuestring)))
            goto fail;
    } else if (cJSON_IsObject(j)) {
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        if (!(v->struct_value = struct_from_json(j, depth + 1)))
            goto fail;
    } else if (cJSON_IsArray(j)) {
        Google__Protobuf__ListValue *l = malloc(sizeof(*l));
        if (!l)
            goto fail;
        google__protobuf__list_value__init(l);
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        v->list_value = l;
        size_t n = (size_t)cJSON_GetArraySize(j);
        if (depth >= WARM__DEPTH_MAX || !(l->values = calloc(n ? n : 1, sizeof(*l->values))))
            goto fail;
        const cJSON *e;
        cJSON_ArrayForEach(e, j)
        {
            if (!(l->values[l->n_values] = value_from_json(e, depth + 1)))
                goto fail;
            l->n_values++;
        }
    } else {
        goto fail;
    }
    return v;
fail:
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return NULL;
}

/* NULL: out of memory or nested deeper than WARM__DEPTH_MAX (checked by the caller first). */
static Google__Protobuf__Struct *struct_from_json(const cJSON *o, int depth)
{
    Google__Protobuf__Struct *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    google__protobuf__struct__init(s);
    size_t n = (size_t)cJSON_GetArraySize(o);
    if (depth >= WARM__DEPTH_MAX || !(s->fields = calloc(n ? n : 1, sizeof(*s->fields))))
        goto fail;
    const cJSON *e;
    cJSON_ArrayForEach(e, o)
    {
        Google__Protobuf__Struct__FieldsEntry *f = malloc(sizeof(*f));
        if (!f)
            goto fail;
        google__protobuf__struct__fields_entry__init(f);
        s->fields[s->n_fields++] = f;
        if (!(f->key = strdup(e->string)) || !(f->value = value_from_json(e, depth)))
            goto fail;
    }
    return s;
fail:
    struct_free(s);
    return NULL;
}

static int json_depth(const cJSON *j)
{
    int d = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        int cd = json_depth(c);
        if (cd > d)
            d = cd;
        if (d >= WARM__DEPTH_MAX)
            break;
    }
    return (cJSON_IsObject(j) || cJSON_IsArray(j)) ? d + 1 : 0;
}

/* ---------------------------------------------------------------- strict reading */

static void strv_free(char **v)
{
    request_strv_free(v);
}

/* ---------------------------------------------------------------- one pool */

static const char *const spec_keys[] = {"warm", "refill_delay_ms", "image", "network",
                                        "host_config", "mounts", "cmd", "env", NULL};

/*
 * flamed-init is one host file, bound read-only into every warm runner of
 * every pool. A container with CAP_SYS_ADMIN can remount that bind
 * read-write and rewrite the host file, and with it the PID 1 of every later
 * warm runner of any pool. So a warm spec's canonical HostConfig (after the
 * policy: CapAdd names are "CAP_X" or "ALL") may not grant it: Privileged,
 * or CapAdd CAP_SYS_ADMIN or ALL (CapDrop is not counted on). FLAME_EINVALID.
 */
static int remount_capable(const cJSON *hc, const char *where, char *err, size_t errlen)
{
    const char *why = NULL;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hc, "Privileged")))
        why = "Privileged";
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(hc, "CapAdd"))
    {
        if (!why && cJSON_IsString(c) &&
            (strcmp(c->valuestring, "CAP_SYS_ADMIN") == 0 || strcmp(c->valuestring, "ALL") == 0))
            why = strcmp(c->valuestring, "ALL") == 0 ? "CapAdd ALL" : "CapAdd CAP_SYS_ADMIN";
    }
    if (!why)
        return 0;
    return fail(FLAME_EINVALID, err, errlen,
                "%s.host_config: %s gives warm runners CAP_SYS_ADMIN, with which a runner can "
                "remount flamed-init (one host file shared by every warm runner) read-write and "
                "replace it for all pools: boot such runners cold (warm 0, or no pool entry)",
                where, why);
}

/* A JSON integer from 0 to max. The range is checked before the cast, which
 * is undefined for a double beyond int64_t (1e300). */
static int integer_upto(const cJSON *j, int max)
{
    return cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble <= max &&
           j->valuedouble == (double)(int64_t)j->valuedouble;
}

/* Parse pool `name` (spec) into *wp through the BootRequest path. */
static int parse_pool(struct warm_pool *wp, const char *name, const cJSON *spec,
                      const struct policy *p, char *err, size_t errlen)
{
    char where[128];
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    Flame__V1__BootRequest__EnvEntry *env = NULL, **envp = NULL;
    Google__Protobuf__Struct **mounts = NULL;
    char **cmd = NULL;
    char sub[1024];
    int rc = 0;

    snprintf(where, sizeof(where), "pools.%.64s", name);
    if ((rc = request_pool_validate(name, sub, sizeof(sub))) < 0)
        return fail(rc, err, errlen, "pools: %s", sub);
    if (!name[0])
        return fail(FLAME_EINVALID, err, errlen, "pools: a pool name is empty");
    if (!cJSON_IsObject(spec))
        return fail(FLAME_EINVALID, err, errlen, "%s must be an object", where);
    if ((rc = json_strict_keys(spec, where, spec_keys, err, errlen)) < 0)
        return rc;

    const cJSON *warm = cJSON_GetObjectItemCaseSensitive(spec, "warm");
    if (!integer_upto(warm, WARM_POOL_WARM_MAX))
        return fail(FLAME_EINVALID, err, errlen, "%s.warm must be an integer from 0 to %d", where,
                    WARM_POOL_WARM_MAX);
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(spec, "refill_delay_ms");
    if (delay && !integer_upto(delay, WARM_REFILL_DELAY_MAX_MS))
        return fail(FLAME_EINVALID, err, errlen, "%s.refill_delay_ms must be an integer from 0 to %d",
                    where, WARM_REFILL_DELAY_MAX_MS);
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(spec, "image");
    if (!cJSON_IsString(image) || !image->valuestring[0])
        return fail(FLAME_EINVALID, err, errlen, "%s.image is required: a string", where);
    const cJSON *network = cJSON_GetObjectItemCaseSensitive(spec, "network");
    if (network && !cJSON_IsString(network))
        return fail(FLAME_EINVALID, err, errlen, "%s.network must be a string", where);
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(spec, "host_config");
    if (hc && !cJSON_IsObject(hc))
        return fail(FLAME_EINVALID, err, errlen, "%s.host_config must be an object", where);
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(spec, "mounts");
    if (jm && !cJSON_IsArray(jm))
        return fail(FLAME_EINVALID, err, errlen, "%s.mounts must be an array of objects", where);
    const cJSON *jc = cJSON_GetObjectItemCaseSensitive(spec, "cmd");
    if (jc && !cJSON_IsArray(jc))
        return fail(FLAME_EINVALID, err, errlen, "%s.cmd must be an array of strings", where);
    const cJSON *je = cJSON_GetObjectItemCaseSensitive(spec, "env");
    if (je && !cJSON_IsObject(je))
        return fail(FLAME_EINVALID, err, errlen, "%s.env must be an object of strings", where);
    if ((hc && json_depth(hc) >= WARM__DEPTH_MAX) || (jm && json_depth(jm) >= WARM__DEPTH_MAX))
        return fail(FLAME_EINVALID, err, errlen, "%s: host_config or mounts nest deeper than %d",
                    where, WARM__DEPTH_MAX - 1);

    /* The BootRequest a parent would send for this spec. */
    req.image = image->valuestring;
    req.network = network ? network->valuestring : (char *)"";
    req.pool = (char *)name;
    size_t n = (size_t)cJSON_GetArraySize(jc);
    if (jc) {
        if (n > REQ_ARGV_MAX)
            return fail(FLAME_EINVALID, err, errlen, "%s.cmd has more than %d entries", where,
                        REQ_ARGV_MAX);
        if (!(cmd = calloc(n + 1, sizeof(char *))))
            return FLAME_ENOMEM;
        const cJSON *c;
        size_t i = 0;
        cJSON_ArrayForEach(c, jc)
        {
            if (!cJSON_IsString(c)) {
                rc = fail(FLAME_EINVALID, err, errlen, "%s.cmd[%zu] must be a string", where, i);
                goto done;
            }
            cmd[i++] = c->valuestring;
        }
        req.cmd = cmd;
        req.n_cmd = n;
    }
    if (je) {
        n = (size_t)cJSON_GetArraySize(je);
        if ((rc = json_strict_keys(je, "env", NULL, sub, sizeof(sub))) < 0) {
            rc = fail(rc, err, errlen, "%s.%s", where, sub);
            goto done;
        }
        if (n > REQ_ENV_MAX) {
            rc = fail(FLAME_EINVALID, err, errlen, "%s.env has more than %d entries", where,
                      REQ_ENV_MAX);
            goto done;
        }
        if (!(env = calloc(n ? n : 1, sizeof(*env))) || !(envp = calloc(n ? n : 1, sizeof(*envp)))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        const cJSON *e;
        size_t i = 0;
        cJSON_ArrayForEach(e, je)
        {
            if (!cJSON_IsString(e)) {
                rc = fail(FLAME_EINVALID, err, errlen, "%s.env.%.64s must be a string", where,
                          e->string);
                goto done;
            }
            flame__v1__boot_request__env_entry__init(&env[i]);
            env[i].key = e->string;
            env[i].value = e->valuestring;
            envp[i] = &env[i];
            i++;
        }
        req.env = envp;
        req.n_env = n;
    }
    if (hc && !(req.host_config = struct_from_json(hc, 0))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    if (jm) {
        n = (size_t)cJSON_GetArraySize(jm);
        if (n > REQ_MOUNTS_MAX) {
            rc = fail(FLAME_EINVALID, err, errlen, "%s.mounts has more than %d entries", where,
                      REQ_MOUNTS_MAX);
            goto done;
        }
        if (!(mounts = calloc(n ? n : 1, sizeof(*mounts)))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        req.mounts = mounts;
        const cJSON *m;
        cJSON_ArrayForEach(m, jm)
        {
            if (!cJSON_IsObject(m)) {
                rc = fail(FLAME_EINVALID, err, errlen, "%s.mounts[%zu] must be an object", where,
                          req.n_mounts);
                goto done;
            }
            if (!(mounts[req.n_mounts] = struct_from_json(m, 0))) {
                rc = FLAME_ENOMEM;
                goto done;
            }
            req.n_mounts++;
        }
    }

    /* The same reading and policy as a Boot into this pool. */
    if ((rc = request_boot_validate(&req, &wp->host_config, &wp->mounts, sub, sizeof(sub))) < 0 ||
        (rc = policy_check_limits(p, &req, sub, sizeof(sub))) < 0 ||
        (rc = policy_check_boot(p, &req, &wp->host_config, wp->mounts, sub, sizeof(sub))) < 0) {
        rc = fail(rc, err, errlen, "%s: %s", where, sub);
        goto done;
    }
    if (warm->valuedouble > 0 && (rc = remount_capable(wp->host_config, where, err, errlen)) < 0)
        goto done;
    const cJSON *cm;
    size_t mi = 0;
    cJSON_ArrayForEach(cm, wp->mounts)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(cm, "Target");
        size_t dl = strlen(WARM_INIT_DIR);
        if (cJSON_IsString(t) && strncmp(t->valuestring, WARM_INIT_DIR, dl) == 0 &&
            (t->valuestring[dl] == '\0' || t->valuestring[dl] == '/')) {
            rc = fail(FLAME_EINVALID, err, errlen,
                      "%s.mounts[%zu].Target '%.64s' is flamed's own (" WARM_INIT_DIR
                      " holds flamed-init): mount elsewhere",
                      where, mi, t->valuestring);
            goto done;
        }
        mi++;
    }
    if (!(wp->name = strdup(name)) || !(wp->image = strdup(req.image)) ||
        (network && !(wp->network = strdup(network->valuestring))) ||
        request_boot_env(&req, &wp->env) < 0) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    if (jc) {
        if (!(wp->cmd = calloc(req.n_cmd + 1, sizeof(char *)))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < req.n_cmd; i++)
            if (!(wp->cmd[i] = strdup(req.cmd[i]))) {
                rc = FLAME_ENOMEM;
                goto done;
            }
    }
    wp->warm = (uint32_t)warm->valuedouble;
    wp->refill_delay_ms = delay ? (uint32_t)delay->valuedouble : WARM_REFILL_DELAY_DEFAULT_MS;
done:
    if (rc == FLAME_ENOMEM)
        fail(rc, err, errlen, "out of memory reading %s", where);
    struct_free(req.host_config);
    for (size_t i = 0; i < req.n_mounts; i++)
        struct_free(mounts[i]);
    free(mounts);
    free(env);
    free(envp);
    free(cmd);
    return rc;
}

static void pool_clear(struct warm_pool *wp)
{
    free(wp->name);
    free(wp->image);
    free(wp->network);
    strv_free(wp->cmd);
    strv_free(wp->env);
    cJSON_Delete(wp->host_config);
    cJSON_Delete(wp->mounts);
    memset(wp, 0, sizeof(*wp));
}

void warm_pools_free(struct warm_pools *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        pool_clear(&w->pools[i]);
    free(w->pools);
    free(w);
}

const struct warm_pool *warm_pools_find(const struct warm_pools *w, const char *name)
{
    for (size_t i = 0; w && name && i < w->n; i++)
        if (strcmp(w->pools[i].name, name) == 0)
            return &w->pools[i];
    return NULL;
}

int warm_pools_parse(struct warm_pools **out, const char *json, size_t len,
                     const struct policy *p, char *err, size_t errlen)
{
    static const char *const top_keys[] = {"pools", NULL};
    struct warm_pools *w = NULL;
    cJSON *root = NULL;
    int rc = 0;

    if ((rc = json_strict_parse(&root, json, len, WARM_POOLS_FILE_MAX, "the pool file", err,
                                errlen)) < 0)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = fail(FLAME_EINVALID, err, errlen, "the pool file must be an object {\"pools\": {...}}");
        goto done;
    }
    if ((rc = json_strict_keys(root, "the pool file", top_keys, err, errlen)) < 0)
        goto done;
    const cJSON *pools = cJSON_GetObjectItemCaseSensitive(root, "pools");
    if (!cJSON_IsObject(pools)) {
        rc = fail(FLAME_EINVALID, err, errlen, "pools must be an object of pool name: spec");
        goto done;
    }
    if ((rc = json_strict_keys(pools, "pools", NULL, err, errlen)) < 0)
        goto done;
    size_t n = (size_t)cJSON_GetArraySize(pools);
    if (n > WARM_POOLS_MAX) {
        rc = fail(FLAME_EINVALID, err, errlen, "pools has %zu pools, at most %d are allowed", n,
                  WARM_POOLS_MAX);
        goto done;
    }
    if (!(w = calloc(1, sizeof(*w))) || !(w->pools = calloc(n ? n : 1, sizeof(*w->pools)))) {
        rc = fail(FLAME_ENOMEM, err, errlen, "out of memory");
        goto done;
    }
    const cJSON *spec;
    cJSON_ArrayForEach(spec, pools)
    {
        rc = parse_pool(&w->pools[w->n], spec->string, spec, p, err, errlen);
        if (rc < 0) {
            pool_clear(&w->pools[w->n]);
            goto done;
        }
        w->n++;
    }
done:
    cJSON_Delete(root);
    if (rc < 0) {
        warm_pools_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int warm_pools_load(struct warm_pools **out, const char *path, const struct policy *p, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(FLAME_EINVALID, err, errlen, "cannot read the pool file %s: %s", path,
                    strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(FLAME_EINVALID, err, errlen, "the pool file %s is not a regular file", path);
    }
    char *buf = malloc(WARM_POOLS_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return fail(FLAME_ENOMEM, err, errlen, "out of memory");
    }
    size_t len = fread(buf, 1, WARM_POOLS_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = fail(FLAME_EINVALID, err, errlen, "cannot read the pool file %s", path);
    else if (len > WARM_POOLS_FILE_MAX)
        rc = fail(FLAME_EINVALID, err, errlen, "the pool file %s is larger than %zu bytes", path,
                  WARM_POOLS_FILE_MAX);
    else
        rc = warm_pools_parse(out, buf, len, p, err, errlen);
    free(buf);
    return rc;
}

/* Append the strings of arr (an array of strings, or null/absent) to v[*n..]. */
static int append_strv(char **v, size_t *n, size_t cap, const cJSON *arr, const char *field,
                       char *err, size_t errlen)
{
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return fail(FLAME_EINVALID, err, errlen, "the image's %s is not an array", field);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e))
            return fail(FLAME_EINVALID, err, errlen, "the image's %s holds a non-string", field);
        if (*n >= cap)
            return fail(FLAME_EINVALID, err, errlen, "the image's %s is too long", field);
        if (!(v[*n] = strdup(e->valuestring)))
            return fail(FLAME_ENOMEM, err, errlen, "out of memory");
        (*n)++;
    }
    return 0;
}

int warm_pool_command(char ***out, const struct warm_pool *wp, const cJSON *image_config,
                      char *err, size_t errlen)
{
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(image_config, "Entrypoint");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(image_config, "Cmd");
    size_t spec_n = 0, n = 0;
    while (wp->cmd && wp->cmd[spec_n])
        spec_n++;
    size_t cap = (size_t)cJSON_GetArraySize(ep) + (spec_n ? spec_n : (size_t)cJSON_GetArraySize(cmd));
    char **v = calloc(cap + 1, sizeof(char *));
    int rc;
    if (!v)
        return fail(FLAME_ENOMEM, err, errlen, "out of memory");
    if ((rc = append_strv(v, &n, cap, ep, "Entrypoint", err, errlen)) < 0)
        goto done;
    if (spec_n) {
        for (size_t i = 0; i < spec_n; i++)
            if (!(v[n++] = strdup(wp->cmd[i]))) {
                rc = fail(FLAME_ENOMEM, err, errlen, "out of memory");
                goto done;
            }
    } else if ((rc = append_strv(v, &n, cap, cmd, "Cmd", err, errlen)) < 0) {
        goto done;
    }
    if (n == 0)
        rc = fail(FLAME_EINVALID, err, errlen,
                  "pool '%.64s': no command: image '%.200s' has no ENTRYPOINT or CMD and the "
                  "pool gives no cmd",
                  wp->name, wp->image);
done:
    if (rc < 0) {
        request_strv_free(v);
        return rc;
    }
    *out = v;
    return 0;
}
