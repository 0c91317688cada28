/*
 * server/docker/container_state.c - the parts of a container inspect that
 * flamed acts on, copied into a fixed struct (pure; no I/O).
 */
#include <stdio.h>
#include <string.h>

#include "docker_internal.h"

/* A JSON number as int, 0 when absent or not a number. */
static int docker__json_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

int docker_container_state_parse(const cJSON *inspect, const char *network,
                                 struct docker_container_state *out)
{
    const cJSON *state, *health, *networks, *net = NULL, *it, *ip;

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

    networks = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(inspect, "NetworkSettings"), "Networks");
    if (network && *network) {
        net = cJSON_GetObjectItemCaseSensitive(networks, network);
    } else if (cJSON_IsObject(networks)) {
        /* The first network that has an address. */
        cJSON_ArrayForEach (it, networks) {
            ip = cJSON_GetObjectItemCaseSensitive(it, "IPAddress");
            if (cJSON_IsString(ip) && ip->valuestring && *ip->valuestring) {
                net = it;
                break;
            }
        }
    }
    docker__copy_string(out->ip_address, sizeof out->ip_address, net, "IPAddress");
    return 0;
}
