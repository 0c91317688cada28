/*
 * fuzz_boot_request - a Boot's path from bytes to the Docker create body, as
 * server/service/boot.c walks it, without Docker: the bounded decode of
 * server/rpc/call.c (rpc_wire_depth_check() with the default limit, 32: only
 * what passes is unpacked, as flamed does), protobuf-c unpack of a
 * flame.v1.BootRequest, request_boot_validate() (server/service/request.c),
 * policy_check_boot() with the built-in policy (server/service/policy.c),
 * request_boot_env(), the runner's labels and docker_container_config_build()
 * (server/docker/container_config.c), then the body printed as Docker gets it.
 * A request that validates must build and print.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker/docker.h"
#include "flame/error.h"
#include "flame/v1/runner_service.pb-c.h"
#include "rpc/wire_depth.h"
#include "runner/runner.h"
#include "service/policy.h"
#include "service/request.h"

static struct policy *builtin;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (policy_parse(&builtin, NULL, "/var/run/docker.sock", err, sizeof err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int depth_rc = rpc_wire_depth_check(&flame__v1__boot_request__descriptor, data, size,
                                        RPC_WIRE_DEPTH_DEFAULT);
    assert(depth_rc == 0 || depth_rc == FLAME_ERANGE || depth_rc == FLAME_EINVALID);
    if (depth_rc < 0)
        return 0; /* flamed answers INVALID_ARGUMENT; protobuf-c never sees it */
    Flame__V1__BootRequest *req = flame__v1__boot_request__unpack(NULL, size, data);
    if (!req)
        return 0;
    cJSON *host_config = NULL, *mounts = NULL, *labels = NULL, *config = NULL;
    char **env = NULL, **cmd = NULL, **entrypoint = NULL;
    char err[2048];
    err[0] = '\0';
    int rc = request_boot_validate(req, &host_config, &mounts, err, sizeof err);
    assert(memchr(err, 0, sizeof err));
    if (rc < 0) {
        assert(rc == FLAME_EINVALID || rc == FLAME_ENOMEM);
        goto done;
    }
    rc = policy_check_boot(builtin, req, &host_config, mounts, err, sizeof err);
    if (rc < 0) {
        assert(rc == FLAME_EPERM || rc == FLAME_EINVALID || rc == FLAME_ENOMEM);
        goto done;
    }
    if (request_boot_env(req, &env) < 0)
        goto done;
    if (req->n_cmd) {
        cmd = calloc(req->n_cmd + 1, sizeof(char *));
        if (!cmd)
            goto done;
        memcpy(cmd, req->cmd, req->n_cmd * sizeof(char *));
    }
    if (req->n_entrypoint) {
        entrypoint = calloc(req->n_entrypoint + 1, sizeof(char *));
        if (!entrypoint)
            goto done;
        memcpy(entrypoint, req->entrypoint, req->n_entrypoint * sizeof(char *));
    }
    const char *pool = req->pool && req->pool[0] ? req->pool : REQ_DEFAULT_POOL;
    char name[64];
    request_runner_name(pool, "0123456789abcdef", name, sizeof name);
    assert(memchr(name, 0, sizeof name));
    labels = cJSON_CreateObject();
    if (!labels)
        goto done;
    for (size_t i = 0; i < req->n_labels; i++)
        cJSON_AddStringToObject(labels, req->labels[i]->key, req->labels[i]->value);
    cJSON_AddStringToObject(labels, RUNNER_LABEL_MANAGED_BY, RUNNER_LABEL_MANAGED_BY_VALUE);
    cJSON_AddStringToObject(labels, RUNNER_LABEL_POOL, pool);
    if (req->request_id && req->request_id[0])
        cJSON_AddStringToObject(labels, RUNNER_LABEL_REQUEST_ID, req->request_id);
    if (req->parent_id && req->parent_id[0])
        cJSON_AddStringToObject(labels, RUNNER_LABEL_PARENT_ID, req->parent_id);
    struct docker_container_spec spec = {
        .image = req->image,
        .hostname = name,
        .network = req->network,
        .env = (const char *const *)env,
        .cmd = (const char *const *)cmd,
        .entrypoint = (const char *const *)entrypoint,
        .user = req->user,
        .working_dir = req->working_dir,
        .labels = labels,
        .host_config = host_config,
        .mounts = mounts,
    };
    rc = docker_container_config_build(&spec, &config, err, sizeof err);
    assert(rc == 0 || rc == FLAME_ENOMEM); /* validated requests build */
    if (rc == 0) {
        char *body = cJSON_PrintUnformatted(config);
        assert(body);
        cJSON *back = cJSON_Parse(body); /* Docker must get valid JSON */
        assert(back);
        cJSON_Delete(back);
        free(body);
    }
done:
    cJSON_Delete(config);
    cJSON_Delete(labels);
    cJSON_Delete(host_config);
    cJSON_Delete(mounts);
    request_strv_free(env);
    free(cmd);
    free(entrypoint);
    flame__v1__boot_request__free_unpacked(req, NULL);
    return 0;
}
