/*
 * server/service/boot_config.c - the canonical reading of host_config and
 * mounts; see boot_config.h and docs/security.md.
 *
 * One schema table per Engine API object. The decoder walks the client's
 * Struct once, looks every key up by its exact spelling, refuses repeats, and
 * builds a new cJSON tree from typed values only. Nothing of the client's
 * object is copied as it came.
 */
#include "service/boot_config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flame/error.h"

enum bc_type {
    BC_INT,         /* JSON integer within +-BOOT_CONFIG_INT_MAX */
    BC_BOOL,        /* true/false */
    BC_STR,         /* string */
    BC_STRV,        /* array of strings */
    BC_STRVV,       /* array of arrays of strings (DeviceRequests.Capabilities) */
    BC_STRMAP,      /* object of string values, free-form keys (Go map[string]string) */
    BC_PATHMAP,     /* BC_STRMAP whose keys are absolute paths, sent cleaned (Tmpfs) */
    BC_OBJ,         /* object of the sub-schema */
    BC_OBJV,        /* array of objects of the sub-schema */
    BC_PORTMAP,     /* {"80/tcp": [PortBinding, ...]} */
    BC_BINDS,       /* array of "src:dst[:opts]" (HostConfig.Binds), parsed and rebuilt */
    BC_OWNED,       /* flamed sets it: refused */
    BC_UNSUPPORTED, /* an Engine API field flamed does not support: refused */
};

struct bc_schema;

struct bc_field {
    const char *name;
    enum bc_type type;
    const struct bc_schema *sub; /* BC_OBJ, BC_OBJV, BC_PORTMAP */
    const char *why;             /* BC_OWNED, BC_UNSUPPORTED: what to do instead */
};

struct bc_schema {
    const struct bc_field *fields;
    size_t n;
};

#define SCHEMA(name, ...)                                                                          \
    static const struct bc_field name##_fields[] = {__VA_ARGS__};                                  \
    static const struct bc_schema name = {name##_fields, sizeof(name##_fields) / sizeof(name##_fields[0])}

/* moby api/types/container: Ulimit (units.Ulimit), DeviceMapping, DeviceRequest, LogConfig. */
SCHEMA(ulimit_schema, {"Name", BC_STR, NULL, NULL}, {"Soft", BC_INT, NULL, NULL},
       {"Hard", BC_INT, NULL, NULL});
SCHEMA(device_schema, {"PathOnHost", BC_STR, NULL, NULL}, {"PathInContainer", BC_STR, NULL, NULL},
       {"CgroupPermissions", BC_STR, NULL, NULL});
SCHEMA(device_request_schema, {"Driver", BC_STR, NULL, NULL}, {"Count", BC_INT, NULL, NULL},
       {"DeviceIDs", BC_STRV, NULL, NULL}, {"Capabilities", BC_STRVV, NULL, NULL},
       {"Options", BC_STRMAP, NULL, NULL});
SCHEMA(log_config_schema, {"Type", BC_STR, NULL, NULL}, {"Config", BC_STRMAP, NULL, NULL});
SCHEMA(port_binding_schema, {"HostIp", BC_STR, NULL, NULL}, {"HostPort", BC_STR, NULL, NULL});
/* blkiodev.WeightDevice and ThrottleDevice */
SCHEMA(weight_device_schema, {"Path", BC_STR, NULL, NULL}, {"Weight", BC_INT, NULL, NULL});
SCHEMA(throttle_device_schema, {"Path", BC_STR, NULL, NULL}, {"Rate", BC_INT, NULL, NULL});

/* Engine API v1.41 HostConfig (Resources included). */
SCHEMA(host_config_schema,
       /* resources */
       {"CpuShares", BC_INT, NULL, NULL},
       {"Memory", BC_INT, NULL, NULL},
       {"CgroupParent", BC_STR, NULL, NULL},
       {"BlkioWeight", BC_INT, NULL, NULL},
       {"BlkioWeightDevice", BC_OBJV, &weight_device_schema, NULL},
       {"BlkioDeviceReadBps", BC_OBJV, &throttle_device_schema, NULL},
       {"BlkioDeviceWriteBps", BC_OBJV, &throttle_device_schema, NULL},
       {"BlkioDeviceReadIOps", BC_OBJV, &throttle_device_schema, NULL},
       {"BlkioDeviceWriteIOps", BC_OBJV, &throttle_device_schema, NULL},
       {"CpuPeriod", BC_INT, NULL, NULL},
       {"CpuQuota", BC_INT, NULL, NULL},
       {"CpuRealtimePeriod", BC_INT, NULL, NULL},
       {"CpuRealtimeRuntime", BC_INT, NULL, NULL},
       {"CpusetCpus", BC_STR, NULL, NULL},
       {"CpusetMems", BC_STR, NULL, NULL},
       {"Devices", BC_OBJV, &device_schema, NULL},
       {"DeviceCgroupRules", BC_STRV, NULL, NULL},
       {"DeviceRequests", BC_OBJV, &device_request_schema, NULL},
       {"MemoryReservation", BC_INT, NULL, NULL},
       {"MemorySwap", BC_INT, NULL, NULL},
       {"MemorySwappiness", BC_INT, NULL, NULL},
       {"NanoCpus", BC_INT, NULL, NULL},
       {"OomKillDisable", BC_BOOL, NULL, NULL},
       {"Init", BC_BOOL, NULL, NULL},
       {"PidsLimit", BC_INT, NULL, NULL},
       {"Ulimits", BC_OBJV, &ulimit_schema, NULL},
       /* host config proper */
       {"Binds", BC_BINDS, NULL, NULL},
       {"LogConfig", BC_OBJ, &log_config_schema, NULL},
       {"PortBindings", BC_PORTMAP, &port_binding_schema, NULL},
       {"VolumeDriver", BC_STR, NULL, NULL},
       {"VolumesFrom", BC_STRV, NULL, NULL},
       {"CapAdd", BC_STRV, NULL, NULL},
       {"CapDrop", BC_STRV, NULL, NULL},
       {"CgroupnsMode", BC_STR, NULL, NULL},
       {"Dns", BC_STRV, NULL, NULL},
       {"DnsOptions", BC_STRV, NULL, NULL},
       {"DnsSearch", BC_STRV, NULL, NULL},
       {"ExtraHosts", BC_STRV, NULL, NULL},
       {"GroupAdd", BC_STRV, NULL, NULL},
       {"IpcMode", BC_STR, NULL, NULL},
       {"Cgroup", BC_STR, NULL, NULL},
       {"OomScoreAdj", BC_INT, NULL, NULL},
       {"PidMode", BC_STR, NULL, NULL},
       {"Privileged", BC_BOOL, NULL, NULL},
       {"PublishAllPorts", BC_BOOL, NULL, NULL},
       {"ReadonlyRootfs", BC_BOOL, NULL, NULL},
       {"SecurityOpt", BC_STRV, NULL, NULL},
       {"Tmpfs", BC_PATHMAP, NULL, NULL},
       {"UTSMode", BC_STR, NULL, NULL},
       {"UsernsMode", BC_STR, NULL, NULL},
       {"ShmSize", BC_INT, NULL, NULL},
       {"Sysctls", BC_STRMAP, NULL, NULL},
       {"Runtime", BC_STR, NULL, NULL},
       {"MaskedPaths", BC_STRV, NULL, NULL},
       {"ReadonlyPaths", BC_STRV, NULL, NULL},
       /* flamed's own wiring */
       {"NetworkMode", BC_OWNED, NULL, "use the `network` field instead"},
       {"RestartPolicy", BC_OWNED, NULL, "runners are never restarted: FLAME boots a new one"},
       {"AutoRemove", BC_OWNED, NULL, "flamed removes runners itself; use keep_runner to keep one"},
       {"Mounts", BC_OWNED, NULL, "use the `mounts` field instead"},
       {"Links", BC_OWNED, NULL,
        "legacy links are not supported; runners on the same network reach each other by name"},
       {"Hostname", BC_OWNED, NULL, "flamed sets the hostname to the runner's name"},
       {"NetworkingConfig", BC_OWNED, NULL,
        "flamed attaches the runner to `network` with its name as DNS alias"},
       {"Labels", BC_OWNED, NULL, "use the `labels` field instead"},
       /* Engine API fields flamed does not pass on */
       {"ContainerIDFile", BC_UNSUPPORTED, NULL, "it is a docker CLI option the daemon ignores"},
       {"KernelMemory", BC_UNSUPPORTED, NULL, "it is deprecated; use Memory"},
       {"KernelMemoryTCP", BC_UNSUPPORTED, NULL, "it is deprecated; use Memory"},
       {"CpuCount", BC_UNSUPPORTED, NULL, "it is Windows-only; use NanoCpus"},
       {"CpuPercent", BC_UNSUPPORTED, NULL, "it is Windows-only; use NanoCpus"},
       {"IOMaximumIOps", BC_UNSUPPORTED, NULL, "it is Windows-only"},
       {"IOMaximumBandwidth", BC_UNSUPPORTED, NULL, "it is Windows-only"},
       {"Isolation", BC_UNSUPPORTED, NULL, "it is Windows-only"},
       {"ConsoleSize", BC_UNSUPPORTED, NULL, "runners have no TTY"},
       {"StorageOpt", BC_UNSUPPORTED, NULL, "use Memory and tmpfs mounts to bound a runner"},
       {"Annotations", BC_UNSUPPORTED, NULL, "use the `labels` field"});

/* moby api/types/mount: Mount and its options. */
SCHEMA(bind_options_schema, {"Propagation", BC_STR, NULL, NULL},
       {"NonRecursive", BC_BOOL, NULL, NULL});
SCHEMA(driver_config_schema, {"Name", BC_STR, NULL, NULL}, {"Options", BC_STRMAP, NULL, NULL});
SCHEMA(volume_options_schema, {"NoCopy", BC_BOOL, NULL, NULL}, {"Labels", BC_STRMAP, NULL, NULL},
       {"DriverConfig", BC_OBJ, &driver_config_schema, NULL});
SCHEMA(tmpfs_options_schema, {"SizeBytes", BC_INT, NULL, NULL}, {"Mode", BC_INT, NULL, NULL});
SCHEMA(mount_schema, {"Type", BC_STR, NULL, NULL}, {"Source", BC_STR, NULL, NULL},
       {"Target", BC_STR, NULL, NULL}, {"ReadOnly", BC_BOOL, NULL, NULL},
       {"Consistency", BC_STR, NULL, NULL},
       {"BindOptions", BC_OBJ, &bind_options_schema, NULL},
       {"VolumeOptions", BC_OBJ, &volume_options_schema, NULL},
       {"TmpfsOptions", BC_OBJ, &tmpfs_options_schema, NULL});

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return FLAME_EINVALID;
}

int boot_config_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

char *boot_config_clean_path(const char *path)
{
    size_t o = 0;
    char *out = malloc(strlen(path) + 2);
    if (!out)
        return NULL;
    out[o++] = '/';
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* the '/' before the removed component */
        } else if (!(len == 1 && s[0] == '.')) {
            if (o > 1)
                out[o++] = '/';
            memcpy(out + o, s, len);
            o += len;
        }
        s += len;
    }
    out[o] = '\0';
    return out;
}

int boot_config_docker_name_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static const char *kind_name(const Google__Protobuf__Value *v)
{
    switch (v ? v->kind_case : GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        return "a number";
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        return "a string";
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        return "a boolean";
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return "an object";
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        return "an array";
    default:
        return "null";
    }
}

static int is_null(const Google__Protobuf__Value *v)
{
    return !v || v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET ||
           v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
}

static int add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return FLAME_ENOMEM;
    if (!(key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item))) {
        cJSON_Delete(item);
        return FLAME_ENOMEM;
    }
    return 0;
}

static int decode_string(const char *path, const Google__Protobuf__Value *v, cJSON **out,
                         char *err, size_t errlen)
{
    if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)
        return fail(err, errlen, "%s must be a string, got %s", path, kind_name(v));
    const char *s = v->string_value ? v->string_value : "";
    if (!boot_config_utf8_valid(s))
        return fail(err, errlen, "%s is not valid UTF-8", path);
    return (*out = cJSON_CreateString(s)) ? 0 : FLAME_ENOMEM;
}

static int decode_struct(const struct bc_schema *schema, const char *path,
                         const Google__Protobuf__Struct *s, cJSON **out, char *err, size_t errlen);

/* Is key i of s a repeat of an earlier one? Exact bytes: Go's maps and our schema both are. */
static int repeated_key(const Google__Protobuf__Struct *s, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->fields[j]->key ? s->fields[j]->key : "", s->fields[i]->key ? s->fields[i]->key : "") == 0)
            return 1;
    return 0;
}

/* A Go map[string]string: any UTF-8 keys, each once; string values. */
static int decode_strmap(const char *path, const Google__Protobuf__Value *v, int paths,
                         cJSON **out, char *err, size_t errlen)
{
    if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
        return fail(err, errlen, "%s must be an object of strings, got %s", path, kind_name(v));
    const Google__Protobuf__Struct *s = v->struct_value;
    cJSON *o = cJSON_CreateObject();
    int rc = 0;
    if (!o)
        return FLAME_ENOMEM;
    for (size_t i = 0; s && i < s->n_fields; i++) {
        const char *k = s->fields[i]->key ? s->fields[i]->key : "";
        const Google__Protobuf__Value *e = s->fields[i]->value;
        char *clean = NULL;
        cJSON *item = NULL;
        if (!boot_config_utf8_valid(k)) {
            rc = fail(err, errlen, "%s has a key that is not valid UTF-8", path);
            break;
        }
        if (!k[0]) {
            rc = fail(err, errlen, "%s has an empty key", path);
            break;
        }
        if (repeated_key(s, i)) {
            rc = fail(err, errlen, "%s: key '%.100s' is repeated: give each key once", path, k);
            break;
        }
        if (paths) {
            if (k[0] != '/') {
                rc = fail(err, errlen, "%s: key '%.100s' must be an absolute path", path, k);
                break;
            }
            if (!(clean = boot_config_clean_path(k))) {
                rc = FLAME_ENOMEM;
                break;
            }
            if (cJSON_GetObjectItemCaseSensitive(o, clean)) {
                rc = fail(err, errlen, "%s: key '%.100s' is the path '%.100s' again: give each "
                                       "path once", path, k, clean);
                free(clean);
                break;
            }
        }
        char epath[300];
        snprintf(epath, sizeof(epath), "%s['%.100s']", path, k);
        if (is_null(e)) {
            rc = fail(err, errlen, "%s must be a string, got null", epath);
        } else if ((rc = decode_string(epath, e, &item, err, errlen)) == 0) {
            rc = add(o, clean ? clean : k, item);
        }
        free(clean);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int decode_strv(const char *path, const Google__Protobuf__Value *v, cJSON **out, char *err,
                       size_t errlen)
{
    if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE)
        return fail(err, errlen, "%s must be an array of strings, got %s", path, kind_name(v));
    const Google__Protobuf__ListValue *l = v->list_value;
    cJSON *a = cJSON_CreateArray();
    int rc = 0;
    if (!a)
        return FLAME_ENOMEM;
    for (size_t i = 0; l && i < l->n_values && rc == 0; i++) {
        char epath[300];
        cJSON *item = NULL;
        snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
        if (is_null(l->values[i]))
            rc = fail(err, errlen, "%s must be a string, got null", epath);
        else if ((rc = decode_string(epath, l->values[i], &item, err, errlen)) == 0)
            rc = add(a, NULL, item);
    }
    if (rc < 0) {
        cJSON_Delete(a);
        return rc;
    }
    *out = a;
    return 0;
}

static const char *const bind_modes[] = {"ro", "rw", "z", "Z", "nocopy", "shared", "rshared",
                                         "slave", "rslave", "private", "rprivate", "consistent",
                                         "cached", "delegated", NULL};

/*
 * One HostConfig.Binds entry, "src:dst[:mode,...]", as Docker's Linux parser
 * reads it (volume/mounts/linux_parser.go): a src starting with '/' is a host
 * path, anything else a volume name. Rebuilt with the source and target cleaned.
 */
static int decode_bind(const char *path, const char *spec, cJSON **out, char *err, size_t errlen)
{
    char *copy = strdup(spec), *parts[4] = {0};
    char *src_clean = NULL, *dst_clean = NULL, *text = NULL;
    int n = 0, rc = 0;
    if (!copy)
        return FLAME_ENOMEM;
    for (char *p = copy, *colon; n < 4; p = colon + 1) {
        parts[n++] = p;
        if (!(colon = strchr(p, ':')))
            break;
        *colon = '\0';
    }
    if (n < 2 || n > 3) {
        rc = fail(err, errlen, "%s '%.200s' must be \"SOURCE:TARGET\" or \"SOURCE:TARGET:MODE\"",
                  path, spec);
        goto done;
    }
    if (parts[0][0] == '/') {
        if (!(src_clean = boot_config_clean_path(parts[0]))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
    } else if (!boot_config_docker_name_ok(parts[0])) {
        rc = fail(err, errlen, "%s: source '%.200s' is neither an absolute host path nor a volume "
                               "name ([A-Za-z0-9][A-Za-z0-9_.-]*)", path, parts[0]);
        goto done;
    }
    if (parts[1][0] != '/') {
        rc = fail(err, errlen, "%s: target '%.200s' must be an absolute path", path, parts[1]);
        goto done;
    }
    if (!(dst_clean = boot_config_clean_path(parts[1]))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    if (strcmp(dst_clean, "/") == 0) {
        rc = fail(err, errlen, "%s: target '%.200s' cannot be the container's root", path, parts[1]);
        goto done;
    }
    if (n == 3) {
        char *m = parts[2];
        if (!m[0]) {
            rc = fail(err, errlen, "%s: empty mode after the last ':'", path);
            goto done;
        }
        for (char *tok = m, *comma;; tok = comma + 1) {
            comma = strchr(tok, ',');
            size_t len = comma ? (size_t)(comma - tok) : strlen(tok);
            int ok = 0;
            for (const char *const *k = bind_modes; *k && !ok; k++)
                ok = strlen(*k) == len && strncmp(*k, tok, len) == 0;
            if (!ok) {
                rc = fail(err, errlen, "%s: mode '%.*s' is not one of ro, rw, nocopy, private, "
                                       "rprivate, slave, rslave (Docker's bind modes)",
                          path, (int)(len > 64 ? 64 : len), tok);
                goto done;
            }
            if (!comma)
                break;
        }
    }
    size_t tlen = strlen(src_clean ? src_clean : parts[0]) + strlen(dst_clean) +
                  (n == 3 ? strlen(parts[2]) : 0) + 3;
    if (!(text = malloc(tlen))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    snprintf(text, tlen, "%s:%s%s%s", src_clean ? src_clean : parts[0], dst_clean,
             n == 3 ? ":" : "", n == 3 ? parts[2] : "");
    rc = (*out = cJSON_CreateString(text)) ? 0 : FLAME_ENOMEM;
done:
    free(text);
    free(dst_clean);
    free(src_clean);
    free(copy);
    return rc;
}

static int decode_value(const struct bc_field *f, const char *path, const Google__Protobuf__Value *v,
                        cJSON **out, char *err, size_t errlen)
{
    int rc = 0;
    switch (f->type) {
    case BC_INT: {
        if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE)
            return fail(err, errlen, "%s must be an integer, got %s", path, kind_name(v));
        double d = v->number_value;
        if (!isfinite(d))
            return fail(err, errlen, "%s must be an integer, got %g", path, d);
        if (d > BOOT_CONFIG_INT_MAX || d < -BOOT_CONFIG_INT_MAX)
            return fail(err, errlen, "%s %g is out of range (at most %.0f in magnitude)", path, d,
                        BOOT_CONFIG_INT_MAX);
        if (d != (double)(long long)d)
            return fail(err, errlen, "%s must be an integer, got %g", path, d);
        return (*out = cJSON_CreateNumber(d)) ? 0 : FLAME_ENOMEM;
    }
    case BC_BOOL:
        if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE)
            return fail(err, errlen, "%s must be true or false, got %s", path, kind_name(v));
        return (*out = cJSON_CreateBool(v->bool_value)) ? 0 : FLAME_ENOMEM;
    case BC_STR:
        return decode_string(path, v, out, err, errlen);
    case BC_STRV:
        return decode_strv(path, v, out, err, errlen);
    case BC_STRMAP:
    case BC_PATHMAP:
        return decode_strmap(path, v, f->type == BC_PATHMAP, out, err, errlen);
    case BC_OBJ:
        if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
            return fail(err, errlen, "%s must be an object, got %s", path, kind_name(v));
        return decode_struct(f->sub, path, v->struct_value, out, err, errlen);
    case BC_BINDS:
    case BC_STRVV:
    case BC_OBJV: {
        if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE)
            return fail(err, errlen, "%s must be an array, got %s", path, kind_name(v));
        const Google__Protobuf__ListValue *l = v->list_value;
        cJSON *a = cJSON_CreateArray();
        if (!a)
            return FLAME_ENOMEM;
        for (size_t i = 0; l && i < l->n_values && rc == 0; i++) {
            char epath[300];
            const Google__Protobuf__Value *e = l->values[i];
            cJSON *item = NULL;
            snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
            if (is_null(e))
                rc = fail(err, errlen, "%s must not be null", epath);
            else if (f->type == BC_STRVV)
                rc = decode_strv(epath, e, &item, err, errlen);
            else if (f->type == BC_BINDS && e->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE)
                rc = fail(err, errlen, "%s must be a string, got %s", epath, kind_name(e));
            else if (f->type == BC_BINDS && !boot_config_utf8_valid(e->string_value ? e->string_value : ""))
                rc = fail(err, errlen, "%s is not valid UTF-8", epath);
            else if (f->type == BC_BINDS)
                rc = decode_bind(epath, e->string_value ? e->string_value : "", &item, err, errlen);
            else if (e->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
                rc = fail(err, errlen, "%s must be an object, got %s", epath, kind_name(e));
            else
                rc = decode_struct(f->sub, epath, e->struct_value, &item, err, errlen);
            if (rc == 0)
                rc = add(a, NULL, item);
        }
        if (rc < 0) {
            cJSON_Delete(a);
            return rc;
        }
        *out = a;
        return 0;
    }
    case BC_PORTMAP: {
        if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
            return fail(err, errlen, "%s must be an object, got %s", path, kind_name(v));
        const Google__Protobuf__Struct *s = v->struct_value;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return FLAME_ENOMEM;
        for (size_t i = 0; s && i < s->n_fields && rc == 0; i++) {
            const char *k = s->fields[i]->key ? s->fields[i]->key : "";
            char epath[300];
            struct bc_field each = {k, BC_OBJV, f->sub, NULL};
            cJSON *item = NULL;
            snprintf(epath, sizeof(epath), "%s['%.60s']", path, k);
            if (!k[0] || !boot_config_utf8_valid(k))
                rc = fail(err, errlen, "%s has an empty or non-UTF-8 key", path);
            else if (repeated_key(s, i))
                rc = fail(err, errlen, "%s: key '%.60s' is repeated: give each key once", path, k);
            else if (is_null(s->fields[i]->value))
                rc = fail(err, errlen, "%s must be an array, got null", epath);
            else if ((rc = decode_value(&each, epath, s->fields[i]->value, &item, err, errlen)) == 0)
                rc = add(o, k, item);
        }
        if (rc < 0) {
            cJSON_Delete(o);
            return rc;
        }
        *out = o;
        return 0;
    }
    case BC_OWNED:
    case BC_UNSUPPORTED:
        break;
    }
    return fail(err, errlen, "%s cannot be set", path);
}

static const struct bc_field *lookup(const struct bc_schema *schema, const char *key, int exact)
{
    for (size_t i = 0; i < schema->n; i++)
        if (exact ? strcmp(schema->fields[i].name, key) == 0
                  : strcasecmp(schema->fields[i].name, key) == 0)
            return &schema->fields[i];
    return NULL;
}

static int decode_struct(const struct bc_schema *schema, const char *path,
                         const Google__Protobuf__Struct *s, cJSON **out, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    int rc = 0;
    if (!o)
        return FLAME_ENOMEM;
    for (size_t i = 0; s && i < s->n_fields && rc == 0; i++) {
        const char *k = s->fields[i]->key ? s->fields[i]->key : "";
        const Google__Protobuf__Value *v = s->fields[i]->value;
        const struct bc_field *f = lookup(schema, k, 1);
        char fpath[300];
        cJSON *item = NULL;
        if (!boot_config_utf8_valid(k)) {
            rc = fail(err, errlen, "%s has a key that is not valid UTF-8", path);
            break;
        }
        if (!f) {
            const struct bc_field *near = lookup(schema, k, 0);
            if (near)
                rc = fail(err, errlen, "%s: unknown field '%.100s': the Engine API spells it '%s' "
                                       "(flamed reads field names exactly as spelled)",
                          path, k, near->name);
            else
                rc = fail(err, errlen, "%s: unknown field '%.100s' (not an Engine API v1.41 field "
                                       "flamed supports; see docs/security.md)", path, k);
            break;
        }
        snprintf(fpath, sizeof(fpath), "%s.%s", path, f->name);
        if (repeated_key(s, i)) {
            rc = fail(err, errlen, "%s is repeated: give each field once (Docker would apply "
                                   "only the last)", fpath);
            break;
        }
        if (f->type == BC_OWNED) {
            rc = fail(err, errlen, "%s cannot be set: %s", fpath, f->why);
            break;
        }
        if (f->type == BC_UNSUPPORTED) {
            rc = fail(err, errlen, "%s is not supported by flamed: %s", fpath, f->why);
            break;
        }
        if (is_null(v))
            continue; /* null is "not set": nothing goes to Docker */
        if ((rc = decode_value(f, fpath, v, &item, err, errlen)) == 0)
            rc = add(o, f->name, item);
    }
    if (rc < 0) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}

int boot_config_host_config(cJSON **out, const Google__Protobuf__Struct *s, char *err,
                            size_t errlen)
{
    *out = NULL;
    return decode_struct(&host_config_schema, "host_config", s, out, err, errlen);
}

int boot_config_mount(cJSON **out, const Google__Protobuf__Struct *s, size_t index, char *err,
                      size_t errlen)
{
    char path[32];
    cJSON *m = NULL;
    int rc;
    *out = NULL;
    snprintf(path, sizeof(path), "mounts[%zu]", index);
    if ((rc = decode_struct(&mount_schema, path, s, &m, err, errlen)) < 0)
        return rc;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "Type");
    cJSON *source = cJSON_GetObjectItemCaseSensitive(m, "Source");
    cJSON *target = cJSON_GetObjectItemCaseSensitive(m, "Target");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    const char *src = cJSON_IsString(source) ? source->valuestring : "";
    char *clean = NULL;
    if (strcmp(t, "bind") && strcmp(t, "volume") && strcmp(t, "tmpfs")) {
        rc = fail(err, errlen, "%s.Type must be \"bind\", \"volume\" or \"tmpfs\"%s%.32s%s", path,
                  t[0] ? ", got '" : "", t, t[0] ? "'" : "");
        goto done;
    }
    if (!cJSON_IsString(target) || target->valuestring[0] != '/') {
        rc = fail(err, errlen, "%s.Target must be an absolute path in the container", path);
        goto done;
    }
    if (!(clean = boot_config_clean_path(target->valuestring))) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    if (strcmp(clean, "/") == 0) {
        rc = fail(err, errlen, "%s.Target '%.100s' cannot be the container's root", path,
                  target->valuestring);
        goto done;
    }
    if (!cJSON_SetValuestring(target, clean)) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    free(clean);
    clean = NULL;
    if (cJSON_GetObjectItemCaseSensitive(m, "BindOptions") && strcmp(t, "bind")) {
        rc = fail(err, errlen, "%s.BindOptions is only for Type \"bind\"", path);
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(m, "VolumeOptions") && strcmp(t, "volume")) {
        rc = fail(err, errlen, "%s.VolumeOptions is only for Type \"volume\"", path);
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(m, "TmpfsOptions") && strcmp(t, "tmpfs")) {
        rc = fail(err, errlen, "%s.TmpfsOptions is only for Type \"tmpfs\"", path);
        goto done;
    }
    if (strcmp(t, "bind") == 0) {
        if (src[0] != '/') {
            rc = fail(err, errlen, "%s.Source must be an absolute host path for a bind", path);
            goto done;
        }
        if (!(clean = boot_config_clean_path(src)) || !cJSON_SetValuestring(source, clean)) {
            rc = FLAME_ENOMEM;
            goto done;
        }
    } else if (strcmp(t, "volume") == 0) {
        if (src[0] && !boot_config_docker_name_ok(src)) {
            rc = fail(err, errlen, "%s.Source '%.100s' must be a volume name "
                                   "([A-Za-z0-9][A-Za-z0-9_.-]*) or empty", path, src);
            goto done;
        }
    } else if (src[0]) {
        rc = fail(err, errlen, "%s.Source must be empty for a tmpfs", path);
        goto done;
    }
done:
    free(clean);
    if (rc < 0) {
        cJSON_Delete(m);
        return rc;
    }
    *out = m;
    return 0;
}
