/*
 * fuzz_host_config - docker_host_config_validate() (server/docker/
 * host_config.c) on arbitrary JSON: the check every user-supplied HostConfig
 * passes before flamed sends it to Docker. The error text must be
 * NUL-terminated and non-empty on refusal.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker/docker.h"
#include "flame/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    char err[512];
    memset(err, 'x', sizeof err);
    err[0] = '\0';
    int rc = docker_host_config_validate(j, err, sizeof err);
    assert(rc == 0 || rc == FLAME_EINVALID || rc == FLAME_ENOMEM);
    assert(memchr(err, 0, sizeof err));
    if (rc == FLAME_EINVALID)
        assert(err[0]);
    /* A small error buffer must still be terminated. */
    char small[8];
    docker_host_config_validate(j, small, sizeof small);
    assert(memchr(small, 0, sizeof small));
    cJSON_Delete(j);
    return 0;
}
