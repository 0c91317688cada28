/*
 * fuzz_container_state - docker_container_state_parse() (server/docker/
 * container_state.c) on arbitrary JSON, as flamed applies it to
 * GET /containers/{id}/json answers: with a named network and with none.
 * Checks the fixed-size fields stay NUL-terminated.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker/docker.h"

static void check(const struct docker_container_state *st)
{
    assert(memchr(st->status, 0, sizeof st->status));
    assert(memchr(st->health, 0, sizeof st->health));
    assert(memchr(st->error, 0, sizeof st->error));
    assert(memchr(st->ip_address, 0, sizeof st->ip_address));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* First line (up to 64 bytes): the network name to look up; the rest: JSON. */
    char network[65] = "";
    const uint8_t *nl = memchr(data, '\n', size < 65 ? size : 65);
    if (nl) {
        memcpy(network, data, (size_t)(nl - data));
        network[nl - data] = '\0';
        size -= (size_t)(nl - data) + 1;
        data = nl + 1;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    struct docker_container_state st;
    if (docker_container_state_parse(j, network, &st) == 0)
        check(&st);
    if (docker_container_state_parse(j, NULL, &st) == 0)
        check(&st);
    cJSON_Delete(j);
    return 0;
}
