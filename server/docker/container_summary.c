/*
 * server/docker/container_summary.c - the parts of a container list entry
 * (GET /containers/json) that flamed acts on (pure; no I/O). Adoption reads
 * these from one list call and inspects a container only for what the entry
 * lacks.
 * Follows: Docker Engine API v1.41 ContainerList.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

int docker_container_summary_parse(const cJSON *entry, const char *network,
                                   struct docker_container_summary *out)
{
    const cJSON *id, *names, *created, *status, *it;

    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    id = cJSON_GetObjectItemCaseSensitive(entry, "Id");
    if (!cJSON_IsString(id) || !id->valuestring[0])
        return FLAME_EINVALID;
    docker__copy_string(out->id, sizeof out->id, entry, "Id");
    names = cJSON_GetObjectItemCaseSensitive(entry, "Names");
    it = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
    if (cJSON_IsString(it))
        snprintf(out->name, sizeof out->name, "%s", it->valuestring + (it->valuestring[0] == '/'));
    docker__copy_string(out->image, sizeof out->image, entry, "Image");
    docker__copy_string(out->state, sizeof out->state, entry, "State");
    out->running = strcmp(out->state, "running") == 0;
    created = cJSON_GetObjectItemCaseSensitive(entry, "Created");
    out->created_unix_s = cJSON_IsNumber(created) ? (int64_t)created->valuedouble : 0;
    /* "Exited (137) 5 seconds ago": the exit code is only in this text. */
    status = cJSON_GetObjectItemCaseSensitive(entry, "Status");
    if (cJSON_IsString(status) && strncmp(status->valuestring, "Exited (", 8) == 0) {
        char *end = NULL;
        long code = strtol(status->valuestring + 8, &end, 10);
        if (end && *end == ')' && code >= -1 && code <= 255)
            out->exit_code = (int)code;
    }
    docker__network_ip(out->ip_address, sizeof out->ip_address, entry, network);
    return 0;
}
