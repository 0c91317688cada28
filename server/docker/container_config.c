/*
 * server/docker/container_config.c - the POST /containers/create body for a
 * runner: the user's image, command and HostConfig, plus the wiring flamed
 * owns (network, DNS alias, restart policy, mounts).
 */
#include <string.h>

#include "docker_internal.h"

/* Add item to obj under key, taking ownership even on failure. */
static int docker__add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return FLAME_ENOMEM;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return FLAME_ENOMEM;
    }
    return 0;
}

static int docker__is_array_of_objects(const cJSON *a)
{
    const cJSON *e;

    if (!cJSON_IsArray(a))
        return 0;
    cJSON_ArrayForEach (e, a) {
        if (!cJSON_IsObject(e))
            return 0;
    }
    return 1;
}

/* The user's HostConfig (copied) with flamed's wiring set over it. */
static int docker__host_config(const struct docker_container_spec *spec, cJSON **out, char *err,
                               size_t errlen)
{
    static const char *const owned[] = {"NetworkMode", "RestartPolicy", "AutoRemove", "Links"};
    cJSON *hc = NULL, *restart, *mounts, *m;
    const cJSON *src;
    size_t i;
    int rc = 0;

    *out = NULL;
    hc = spec->host_config ? cJSON_Duplicate(spec->host_config, 1) : cJSON_CreateObject();
    if (!hc) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    /* Validation refuses these; dropping them again keeps the wiring ours. */
    for (i = 0; i < sizeof owned / sizeof owned[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(hc, owned[i]);
    if (spec->network && *spec->network &&
        !cJSON_AddStringToObject(hc, "NetworkMode", spec->network)) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    restart = cJSON_AddObjectToObject(hc, "RestartPolicy");
    if (!restart || !cJSON_AddStringToObject(restart, "Name", "no")) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    if (spec->mounts && cJSON_GetArraySize(spec->mounts) > 0) {
        mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
        if (cJSON_IsNull(mounts)) {
            cJSON_DeleteItemFromObjectCaseSensitive(hc, "Mounts");
            mounts = NULL;
        }
        if (mounts && !cJSON_IsArray(mounts)) {
            rc = docker__fail(err, errlen, FLAME_EINVALID,
                              "host_config: field 'Mounts' must be an array of objects");
            goto done;
        }
        if (!mounts && !(mounts = cJSON_AddArrayToObject(hc, "Mounts"))) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        cJSON_ArrayForEach (src, spec->mounts) {
            m = cJSON_Duplicate(src, 1);
            if (!m) {
                rc = FLAME_ENOMEM;
                goto done;
            }
            if (!cJSON_AddItemToArray(mounts, m)) {
                cJSON_Delete(m);
                rc = FLAME_ENOMEM;
                goto done;
            }
        }
    }
    *out = hc;
    hc = NULL;
done:
    cJSON_Delete(hc);
    if (rc == FLAME_ENOMEM)
        docker__fail(err, errlen, rc, "out of memory building HostConfig");
    return rc;
}

/* NetworkingConfig.EndpointsConfig.{network}.Aliases = [hostname]. */
static int docker__networking_config(const struct docker_container_spec *spec, cJSON *cfg)
{
    cJSON *nc, *ec, *ep, *aliases, *s;

    nc = cJSON_AddObjectToObject(cfg, "NetworkingConfig");
    ec = nc ? cJSON_AddObjectToObject(nc, "EndpointsConfig") : NULL;
    ep = ec ? cJSON_AddObjectToObject(ec, spec->network) : NULL;
    if (!ep)
        return FLAME_ENOMEM;
    if (spec->hostname && *spec->hostname) {
        aliases = cJSON_AddArrayToObject(ep, "Aliases");
        s = aliases ? cJSON_CreateString(spec->hostname) : NULL;
        if (!s)
            return FLAME_ENOMEM;
        if (!cJSON_AddItemToArray(aliases, s)) {
            cJSON_Delete(s);
            return FLAME_ENOMEM;
        }
    }
    return 0;
}

int docker_container_config_build(const struct docker_container_spec *spec, cJSON **out, char *err,
                                  size_t errlen)
{
    cJSON *cfg = NULL, *hc = NULL;
    int rc = 0;

    *out = NULL;
    if (!spec || !spec->image || !*spec->image) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "container spec: image is required");
        goto done;
    }
    if (spec->mounts && !docker__is_array_of_objects(spec->mounts)) {
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "container spec: mounts must be an array of Mount objects");
        goto done;
    }
    if (spec->labels && !cJSON_IsObject(spec->labels)) {
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "container spec: labels must be an object of strings");
        goto done;
    }
    if (spec->host_config && !cJSON_IsObject(spec->host_config)) {
        rc = docker__fail(err, errlen, FLAME_EINVALID,
                          "container spec: host_config must be a JSON object");
        goto done;
    }
    cfg = cJSON_CreateObject();
    if (!cfg || !cJSON_AddStringToObject(cfg, "Image", spec->image))
        goto nomem;
    if (spec->hostname && *spec->hostname &&
        !cJSON_AddStringToObject(cfg, "Hostname", spec->hostname))
        goto nomem;
    if (spec->env && docker__add_strv(cfg, "Env", spec->env) < 0)
        goto nomem;
    if (spec->cmd && docker__add_strv(cfg, "Cmd", spec->cmd) < 0)
        goto nomem;
    if (spec->entrypoint && docker__add_strv(cfg, "Entrypoint", spec->entrypoint) < 0)
        goto nomem;
    if (spec->user && *spec->user && !cJSON_AddStringToObject(cfg, "User", spec->user))
        goto nomem;
    if (spec->working_dir && *spec->working_dir &&
        !cJSON_AddStringToObject(cfg, "WorkingDir", spec->working_dir))
        goto nomem;
    if (spec->labels && docker__add(cfg, "Labels", cJSON_Duplicate(spec->labels, 1)) < 0)
        goto nomem;
    /* StdinOnce false: Docker keeps the container's stdin open after the writer's
     * attach closes, so a later delivery is not cut short by an earlier one. */
    if (spec->open_stdin && (!cJSON_AddBoolToObject(cfg, "OpenStdin", 1) ||
                             !cJSON_AddBoolToObject(cfg, "StdinOnce", 0)))
        goto nomem;
    if ((rc = docker__host_config(spec, &hc, err, errlen)) < 0)
        goto done;
    rc = docker__add(cfg, "HostConfig", hc);
    hc = NULL;
    if (rc < 0)
        goto nomem;
    if (spec->network && *spec->network && docker__networking_config(spec, cfg) < 0)
        goto nomem;
    *out = cfg;
    cfg = NULL;
    goto done;
nomem:
    rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory building the container config");
done:
    cJSON_Delete(cfg);
    return rc;
}
