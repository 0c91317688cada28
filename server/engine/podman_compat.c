/*
 * Podman's Docker-compatible service: the differences the Docker engine
 * handles (podman_compat.h). Pure functions, plus one that reads this
 * process's limits.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "docker/docker.h"
#include "engine/podman_compat.h"

int podman_compat_is_podman(const cJSON *version, char *ver, size_t verlen)
{
    const cJSON *c;
    if (ver && verlen)
        ver[0] = '\0';
    const cJSON *components = cJSON_GetObjectItemCaseSensitive(version, "Components");
    cJSON_ArrayForEach(c, components)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "Name");
        if (!cJSON_IsString(name) || strcmp(name->valuestring, "Podman Engine") != 0)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "Version");
        if (ver && verlen && cJSON_IsString(v))
            snprintf(ver, verlen, "%s", v->valuestring);
        return 1;
    }
    return 0;
}

static int64_t cap(int64_t v, int64_t max)
{
    if (v < 0 || v > max)
        return max;
    return v < 1 ? 1 : v;
}

struct podman_ulimits podman_compat_ulimits(int64_t nofile_hard, int64_t nproc_hard,
                                            int64_t pid_max)
{
    struct podman_ulimits u;
    u.nofile = cap(nofile_hard, PODMAN_ULIMIT_MAX);
    u.nproc = cap(nproc_hard, PODMAN_ULIMIT_MAX);
    if (pid_max > 0 && u.nproc > pid_max)
        u.nproc = pid_max;
    return u;
}

static int64_t hard_limit(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_max == RLIM_INFINITY)
        return -1;
    return rl.rlim_max > (rlim_t)INT64_MAX ? -1 : (int64_t)rl.rlim_max;
}

static int64_t read_pid_max(void)
{
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    char buf[32] = "";
    if (!f)
        return 0;
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!ok)
        return 0;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    return end != buf && v > 0 ? (int64_t)v : 0;
}

struct podman_ulimits podman_compat_ulimits_here(void)
{
    return podman_compat_ulimits(hard_limit(RLIMIT_NOFILE), hard_limit(RLIMIT_NPROC),
                                 read_pid_max());
}

/* Does arr have an entry named name (any case)? */
static int has_ulimit(const cJSON *arr, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "Name");
        if (!cJSON_IsString(n))
            continue;
        size_t i = 0;
        for (; n->valuestring[i] && name[i]; i++)
            if (tolower((unsigned char)n->valuestring[i]) != name[i])
                break;
        if (!n->valuestring[i] && !name[i])
            return 1;
    }
    return 0;
}

static int add_ulimit(cJSON *arr, const char *name, int64_t v)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "Name", name) ||
        !cJSON_AddNumberToObject(o, "Soft", (double)v) ||
        !cJSON_AddNumberToObject(o, "Hard", (double)v) || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return -1;
    }
    return 0;
}

int podman_compat_add_ulimits(cJSON *config, const struct podman_ulimits *u)
{
    if (!cJSON_IsObject(config))
        return -1;
    cJSON *hc = cJSON_GetObjectItemCaseSensitive(config, "HostConfig");
    if (!hc && !(hc = cJSON_AddObjectToObject(config, "HostConfig")))
        return -1;
    if (!cJSON_IsObject(hc))
        return -1;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(hc, "Ulimits");
    if (cJSON_IsNull(arr)) {
        cJSON_DeleteItemFromObjectCaseSensitive(hc, "Ulimits");
        arr = NULL;
    }
    if (!arr && !(arr = cJSON_AddArrayToObject(hc, "Ulimits")))
        return -1;
    if (!cJSON_IsArray(arr))
        return -1;
    if (!has_ulimit(arr, "nofile") && add_ulimit(arr, "nofile", u->nofile) < 0)
        return -1;
    if (!has_ulimit(arr, "nproc") && add_ulimit(arr, "nproc", u->nproc) < 0)
        return -1;
    return 0;
}

const char *podman_compat_action(const char *action)
{
    if (strcmp(action, "remove") == 0)
        return "destroy";
    if (strcmp(action, "exec_died") == 0)
        return "exec_die";
    return action;
}

/* Docker's default HEALTHCHECK interval (30 s), in ms. */
#define HEALTH_INTERVAL_DEFAULT_MS 30000

int64_t podman_compat_health_due_ms(const cJSON *inspect)
{
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(inspect, "Config"), "Healthcheck");
    if (!cJSON_IsObject(hc))
        return 0;
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(hc, "Interval");
    int64_t interval_ms = cJSON_IsNumber(iv) && iv->valuedouble >= 1e6
                              ? (int64_t)(iv->valuedouble / 1e6)
                              : HEALTH_INTERVAL_DEFAULT_MS;
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(inspect, "State");
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "Health"), "Log");
    int64_t last = 0;
    int n = cJSON_IsArray(log) ? cJSON_GetArraySize(log) : 0;
    if (n > 0) {
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, n - 1), "Start");
        last = cJSON_IsString(start) ? docker_time_rfc3339_ms(start->valuestring) : 0;
    }
    if (!last) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(state, "StartedAt");
        last = cJSON_IsString(st) ? docker_time_rfc3339_ms(st->valuestring) : 0;
    }
    return last ? last + interval_ms : 0;
}

int podman_compat_check_config(const cJSON *config, char *err, size_t errlen)
{
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(config, "HostConfig");
    static const struct {
        const char *field, *what;
    } mins[] = {{"Memory", "limit"}, {"MemoryReservation", "reservation"}};
    for (size_t i = 0; i < sizeof(mins) / sizeof(mins[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, mins[i].field);
        if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < (double)PODMAN_MEMORY_MIN_BYTES) {
            snprintf(err, errlen, "Minimum memory %s allowed is 6MB", mins[i].what);
            return -1;
        }
    }
    return 0;
}

int podman_compat_add_image_label(cJSON *config, const char *image)
{
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(config, "Labels");
    if (!labels && !(labels = cJSON_AddObjectToObject(config, "Labels")))
        return -1;
    if (!cJSON_IsObject(labels))
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(labels, PODMAN_LABEL_IMAGE);
    return cJSON_AddStringToObject(labels, PODMAN_LABEL_IMAGE, image) ? 0 : -1;
}
