/*
 * server/docker/host_config.c - validation of the user-supplied HostConfig.
 *
 * Docker 20.10 silently ignores unknown fields and answers a wrong type with a
 * 500, so a typo ("memory") would boot a runner without its limit. We check
 * every key against the Engine API 1.41 HostConfig schema instead.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "docker_internal.h"

enum docker__jtype {
    JT_INT,       /* JSON number, integral */
    JT_BOOL,      /* true/false */
    JT_STRING,    /* string */
    JT_OBJECT,    /* object */
    JT_ARRAY_STR, /* array of strings */
    JT_ARRAY_OBJ, /* array of objects */
    JT_ARRAY_INT, /* array of integers */
    JT_FORBIDDEN, /* flamed owns this field */
};

struct docker__hc_field {
    const char *name;
    enum docker__jtype type;
    const char *why; /* JT_FORBIDDEN: what to do instead */
};

/* Engine API v1.41 HostConfig, Resources included (docs.docker.com/engine/api/v1.41). */
static const struct docker__hc_field docker__hc_fields[] = {
    /* Resources */
    {"CpuShares", JT_INT, NULL},
    {"Memory", JT_INT, NULL},
    {"CgroupParent", JT_STRING, NULL},
    {"BlkioWeight", JT_INT, NULL},
    {"BlkioWeightDevice", JT_ARRAY_OBJ, NULL},
    {"BlkioDeviceReadBps", JT_ARRAY_OBJ, NULL},
    {"BlkioDeviceWriteBps", JT_ARRAY_OBJ, NULL},
    {"BlkioDeviceReadIOps", JT_ARRAY_OBJ, NULL},
    {"BlkioDeviceWriteIOps", JT_ARRAY_OBJ, NULL},
    {"CpuPeriod", JT_INT, NULL},
    {"CpuQuota", JT_INT, NULL},
    {"CpuRealtimePeriod", JT_INT, NULL},
    {"CpuRealtimeRuntime", JT_INT, NULL},
    {"CpusetCpus", JT_STRING, NULL},
    {"CpusetMems", JT_STRING, NULL},
    {"Devices", JT_ARRAY_OBJ, NULL},
    {"DeviceCgroupRules", JT_ARRAY_STR, NULL},
    {"DeviceRequests", JT_ARRAY_OBJ, NULL},
    {"KernelMemory", JT_INT, NULL},
    {"KernelMemoryTCP", JT_INT, NULL},
    {"MemoryReservation", JT_INT, NULL},
    {"MemorySwap", JT_INT, NULL},
    {"MemorySwappiness", JT_INT, NULL},
    {"NanoCpus", JT_INT, NULL},
    {"OomKillDisable", JT_BOOL, NULL},
    {"Init", JT_BOOL, NULL},
    {"PidsLimit", JT_INT, NULL},
    {"Ulimits", JT_ARRAY_OBJ, NULL},
    {"CpuCount", JT_INT, NULL},
    {"CpuPercent", JT_INT, NULL},
    {"IOMaximumIOps", JT_INT, NULL},
    {"IOMaximumBandwidth", JT_INT, NULL},
    /* HostConfig proper */
    {"Binds", JT_ARRAY_STR, NULL},
    {"ContainerIDFile", JT_STRING, NULL},
    {"LogConfig", JT_OBJECT, NULL},
    {"NetworkMode", JT_FORBIDDEN,
     "flamed attaches the runner to the boot request's network; set the network there"},
    {"PortBindings", JT_OBJECT, NULL},
    {"RestartPolicy", JT_FORBIDDEN,
     "flamed owns the runner lifecycle and never lets Docker restart a runner; remove it"},
    {"AutoRemove", JT_FORBIDDEN,
     "flamed removes runner containers itself (it needs their exit state first); remove it"},
    {"VolumeDriver", JT_STRING, NULL},
    {"VolumesFrom", JT_ARRAY_STR, NULL},
    {"Mounts", JT_ARRAY_OBJ, NULL},
    {"CapAdd", JT_ARRAY_STR, NULL},
    {"CapDrop", JT_ARRAY_STR, NULL},
    {"CgroupnsMode", JT_STRING, NULL},
    {"Dns", JT_ARRAY_STR, NULL},
    {"DnsOptions", JT_ARRAY_STR, NULL},
    {"DnsSearch", JT_ARRAY_STR, NULL},
    {"ExtraHosts", JT_ARRAY_STR, NULL},
    {"GroupAdd", JT_ARRAY_STR, NULL},
    {"IpcMode", JT_STRING, NULL},
    {"Cgroup", JT_STRING, NULL},
    {"Links", JT_FORBIDDEN,
     "legacy links are not supported; runners on the same network reach each other by hostname"},
    {"OomScoreAdj", JT_INT, NULL},
    {"PidMode", JT_STRING, NULL},
    {"Privileged", JT_BOOL, NULL},
    {"PublishAllPorts", JT_BOOL, NULL},
    {"ReadonlyRootfs", JT_BOOL, NULL},
    {"SecurityOpt", JT_ARRAY_STR, NULL},
    {"StorageOpt", JT_OBJECT, NULL},
    {"Tmpfs", JT_OBJECT, NULL},
    {"UTSMode", JT_STRING, NULL},
    {"UsernsMode", JT_STRING, NULL},
    {"ShmSize", JT_INT, NULL},
    {"Sysctls", JT_OBJECT, NULL},
    {"Runtime", JT_STRING, NULL},
    {"ConsoleSize", JT_ARRAY_INT, NULL},
    {"Isolation", JT_STRING, NULL},
    {"MaskedPaths", JT_ARRAY_STR, NULL},
    {"ReadonlyPaths", JT_ARRAY_STR, NULL},
};

#define DOCKER__HC_COUNT (sizeof docker__hc_fields / sizeof docker__hc_fields[0])

static const char *docker__jtype_name(enum docker__jtype t)
{
    switch (t) {
    case JT_INT:
        return "an integer";
    case JT_BOOL:
        return "a boolean";
    case JT_STRING:
        return "a string";
    case JT_OBJECT:
        return "an object";
    case JT_ARRAY_STR:
        return "an array of strings";
    case JT_ARRAY_OBJ:
        return "an array of objects";
    case JT_ARRAY_INT:
        return "an array of integers";
    default:
        return "absent";
    }
}

/* An integral number within int64 (doubles carry JSON numbers in cJSON). */
static int docker__is_integer(const cJSON *v)
{
    double d;

    if (!cJSON_IsNumber(v))
        return 0;
    d = v->valuedouble;
    /* Range first: converting an out-of-range double to an integer is undefined. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return 0; /* also NaN */
    return d == (double)(long long)d;
}

/* What the value is, in words, for messages. */
static const char *docker__json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return docker__is_integer(v) ? "an integer" : "a non-integral number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNull(v))
        return "null";
    return "an unknown value";
}

static int docker__type_ok(enum docker__jtype t, const cJSON *v, const cJSON **bad_elem)
{
    const cJSON *e;

    *bad_elem = NULL;
    switch (t) {
    case JT_INT:
        return docker__is_integer(v);
    case JT_BOOL:
        return cJSON_IsBool(v);
    case JT_STRING:
        return cJSON_IsString(v);
    case JT_OBJECT:
        return cJSON_IsObject(v);
    case JT_ARRAY_STR:
    case JT_ARRAY_OBJ:
    case JT_ARRAY_INT:
        if (!cJSON_IsArray(v))
            return 0;
        cJSON_ArrayForEach (e, v) {
            if ((t == JT_ARRAY_STR && !cJSON_IsString(e)) ||
                (t == JT_ARRAY_OBJ && !cJSON_IsObject(e)) ||
                (t == JT_ARRAY_INT && !docker__is_integer(e))) {
                *bad_elem = e;
                return 0;
            }
        }
        return 1;
    default:
        return 0;
    }
}

int docker_host_config_validate(const cJSON *host_config, char *err, size_t errlen)
{
    const struct docker__hc_field *f;
    const cJSON *v, *bad;
    size_t i;

    if (!host_config)
        return 0;
    if (!cJSON_IsObject(host_config))
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "host_config must be a JSON object of HostConfig fields, got %s",
                            docker__json_kind(host_config));
    cJSON_ArrayForEach (v, host_config) {
        f = NULL;
        for (i = 0; i < DOCKER__HC_COUNT; i++)
            if (v->string && strcmp(v->string, docker__hc_fields[i].name) == 0) {
                f = &docker__hc_fields[i];
                break;
            }
        if (!f) {
            for (i = 0; i < DOCKER__HC_COUNT; i++)
                if (v->string && strcasecmp(v->string, docker__hc_fields[i].name) == 0)
                    return docker__fail(err, errlen, FLAME_EINVALID,
                                        "host_config: unknown field '%s' (HostConfig field names "
                                        "are CamelCase, e.g. '%s')",
                                        v->string, docker__hc_fields[i].name);
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "host_config: unknown field '%s' (not a Docker Engine API 1.41 "
                                "HostConfig field; see "
                                "https://docs.docker.com/engine/api/v1.41/#operation/"
                                "ContainerCreate)",
                                v->string ? v->string : "");
        }
        if (f->type == JT_FORBIDDEN)
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "host_config: field '%s' is not allowed: %s", f->name, f->why);
        if (cJSON_IsNull(v))
            continue; /* Docker reads null as "the default" */
        if (!docker__type_ok(f->type, v, &bad)) {
            if (bad)
                return docker__fail(err, errlen, FLAME_EINVALID,
                                    "host_config: field '%s' must be %s, but an element is %s",
                                    f->name, docker__jtype_name(f->type), docker__json_kind(bad));
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "host_config: field '%s' must be %s, got %s", f->name,
                                docker__jtype_name(f->type), docker__json_kind(v));
        }
    }
    return 0;
}
