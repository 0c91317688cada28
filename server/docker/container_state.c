/*
 * server/docker/container_state.c - the parts of a container inspect that
 * flamed acts on, copied into a fixed struct (pure; no I/O).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker_internal.h"

/* A JSON number as int, 0 when absent or not a number. */
static int docker__json_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

/*
 * An RFC 3339 time as Docker writes it (Go's RFC3339Nano: "2026-11-24T06:50:01.123456789Z",
 * or with a "+01:00" offset) to Unix ms; 0 when it is not one or is before 1970 (Go's zero
 * time, "0001-01-01T00:00:00Z", for a container never started).
 */
static int64_t docker__rfc3339_ms(const char *s)
{
    struct tm tm;
    int n = 0, ms = 0, digits = 0;
    long off_s = 0;
    const char *p;

    if (!s)
        return 0;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return 0;
    p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
    for (; digits > 0 && digits < 3; digits++)
        ms *= 10;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(p) != 6)
            return 0;
        off_s = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    } else if (strcmp(p, "Z") != 0) {
        return 0;
    }
    if (tm.tm_year < 1970)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return 0;
    return ((int64_t)t - off_s) * 1000 + ms;
}

/* The container's address: on `network` when given, else on the first network that has one. */
void docker__network_ip(char *out, size_t outlen, const cJSON *container, const char *network)
{
    const cJSON *networks = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(container, "NetworkSettings"), "Networks");
    const cJSON *net = NULL, *it, *ip;
    if (network && *network) {
        net = cJSON_GetObjectItemCaseSensitive(networks, network);
    } else if (cJSON_IsObject(networks)) {
        cJSON_ArrayForEach (it, networks) {
            ip = cJSON_GetObjectItemCaseSensitive(it, "IPAddress");
            if (cJSON_IsString(ip) && ip->valuestring && *ip->valuestring) {
                net = it;
                break;
            }
        }
    }
    docker__copy_string(out, outlen, net, "IPAddress");
}

int docker_container_state_parse(const cJSON *inspect, const char *network,
                                 struct docker_container_state *out)
{
    const cJSON *state, *health, *it;

    memset(out, 0, sizeof *out);
    state = cJSON_GetObjectItemCaseSensitive(inspect, "State");
    if (!cJSON_IsObject(state))
        return FLAME_EINVALID;
    docker__copy_string(out->status, sizeof out->status, state, "Status");
    out->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
    out->exit_code = docker__json_int(state, "ExitCode");
    out->oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "OOMKilled"));
    health = cJSON_GetObjectItemCaseSensitive(state, "Health");
    docker__copy_string(out->health, sizeof out->health, health, "Status");
    docker__copy_string(out->error, sizeof out->error, state, "Error");
    it = cJSON_GetObjectItemCaseSensitive(state, "StartedAt");
    out->started_at_ms = cJSON_IsString(it) ? docker__rfc3339_ms(it->valuestring) : 0;

    docker__network_ip(out->ip_address, sizeof out->ip_address, inspect, network);
    return 0;
}

int64_t docker_time_rfc3339_ms(const char *s) { return docker__rfc3339_ms(s); }
