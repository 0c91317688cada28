/* Boot policy: allowlists, host-escape denials, defaults, ceilings, limits; see policy.h. */
#include "service/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame/error.h"
#include "service/request.h"

static int deny(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int deny(int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_images; i++)
        free(p->images[i]);
    free(p->images);
    for (size_t i = 0; i < p->n_networks; i++)
        free(p->networks[i]);
    free(p->networks);
    free(p);
}

static int str_list(const cJSON *arr, const char *field, char ***out, size_t *n, char *err,
                    size_t errlen)
{
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must be an array of strings", field);
    size_t k = (size_t)cJSON_GetArraySize(arr);
    char **v = calloc(k ? k : 1, sizeof(char *));
    if (!v)
        return FLAME_ENOMEM;
    *out = v;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must hold non-empty strings", field);
        if (!(v[*n] = strdup(it->valuestring)))
            return FLAME_ENOMEM;
        (*n)++;
    }
    return 0;
}

static int get_bool(const cJSON *obj, const char *key, int *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return deny(FLAME_EINVALID, err, errlen, "policy: allow.%s must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_num(const cJSON *obj, const char *section, const char *key, int64_t *out, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return deny(FLAME_EINVALID, err, errlen, "policy: %s.%s must be a non-negative integer",
                    section, key);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_size(const cJSON *obj, const char *section, const char *key, size_t *out, char *err,
                    size_t errlen)
{
    int64_t v = 0;
    int rc = get_num(obj, section, key, &v, err, errlen);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(obj, key))
        *out = (size_t)v;
    return rc;
}

/* Reject keys a section does not know: a typo in a policy must not silently allow. */
static int known_keys(const cJSON *obj, const char *section, const char *const *keys, char *err,
                      size_t errlen)
{
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj))
        return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must be an object", section);
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int ok = 0;
        for (const char *const *k = keys; *k && !ok; k++)
            ok = strcmp(*k, it->string) == 0;
        if (!ok)
            return deny(FLAME_EINVALID, err, errlen, "policy: unknown field \"%s%s%s\"", section,
                        section[0] ? "." : "", it->string);
    }
    return 0;
}

int policy_parse(struct policy **out, const char *json, const char *docker_socket, char *err,
                 size_t errlen)
{
    struct policy *p = calloc(1, sizeof(*p));
    cJSON *root = NULL;
    int rc = 0;
    if (!p)
        return FLAME_ENOMEM;
    snprintf(p->docker_socket, sizeof(p->docker_socket), "%s",
             docker_socket ? docker_socket : "/var/run/docker.sock");
    if (!json)
        goto done;
    root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        rc = deny(FLAME_EINVALID, err, errlen, "policy: not a JSON object");
        goto done;
    }
    static const char *const top[] = {"images", "networks", "allow", "defaults", "ceilings",
                                      "quotas", "limits", NULL};
    static const char *const allow_keys[] = {"privileged", "cap_add", "host_namespaces", "devices",
                                             "docker_socket", "root_bind", NULL};
    static const char *const res_keys[] = {"Memory", "NanoCpus", "PidsLimit", NULL};
    static const char *const quota_keys[] = {"max_runners", "max_runners_per_pool", NULL};
    static const char *const limit_keys[] = {"max_env_entries", "max_env_bytes", "max_labels",
                                             "max_argv", "max_request_bytes", NULL};
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(root, "allow");
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    const cJSON *ceil = cJSON_GetObjectItemCaseSensitive(root, "ceilings");
    const cJSON *quotas = cJSON_GetObjectItemCaseSensitive(root, "quotas");
    const cJSON *limits = cJSON_GetObjectItemCaseSensitive(root, "limits");
    if ((rc = known_keys(root, "", top, err, errlen)) < 0 ||
        (rc = known_keys(allow, "allow", allow_keys, err, errlen)) < 0 ||
        (rc = known_keys(defs, "defaults", res_keys, err, errlen)) < 0 ||
        (rc = known_keys(ceil, "ceilings", res_keys, err, errlen)) < 0 ||
        (rc = known_keys(quotas, "quotas", quota_keys, err, errlen)) < 0 ||
        (rc = known_keys(limits, "limits", limit_keys, err, errlen)) < 0)
        goto done;
    if ((rc = str_list(cJSON_GetObjectItemCaseSensitive(root, "images"), "images", &p->images,
                       &p->n_images, err, errlen)) < 0 ||
        (rc = str_list(cJSON_GetObjectItemCaseSensitive(root, "networks"), "networks",
                       &p->networks, &p->n_networks, err, errlen)) < 0)
        goto done;
    if ((rc = get_bool(allow, "privileged", &p->allow.privileged, err, errlen)) < 0 ||
        (rc = get_bool(allow, "cap_add", &p->allow.cap_add, err, errlen)) < 0 ||
        (rc = get_bool(allow, "host_namespaces", &p->allow.host_namespaces, err, errlen)) < 0 ||
        (rc = get_bool(allow, "devices", &p->allow.devices, err, errlen)) < 0 ||
        (rc = get_bool(allow, "docker_socket", &p->allow.docker_socket, err, errlen)) < 0 ||
        (rc = get_bool(allow, "root_bind", &p->allow.root_bind, err, errlen)) < 0)
        goto done;
    if ((rc = get_num(defs, "defaults", "Memory", &p->def_memory, err, errlen)) < 0 ||
        (rc = get_num(defs, "defaults", "NanoCpus", &p->def_nano_cpus, err, errlen)) < 0 ||
        (rc = get_num(defs, "defaults", "PidsLimit", &p->def_pids, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "Memory", &p->max_memory, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "NanoCpus", &p->max_nano_cpus, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "PidsLimit", &p->max_pids, err, errlen)) < 0)
        goto done;
    const char *over = (p->max_memory && p->def_memory > p->max_memory)          ? "Memory"
                       : (p->max_nano_cpus && p->def_nano_cpus > p->max_nano_cpus) ? "NanoCpus"
                       : (p->max_pids && p->def_pids > p->max_pids)                ? "PidsLimit"
                                                                                   : NULL;
    if (over) {
        rc = deny(FLAME_EINVALID, err, errlen, "policy: defaults.%s is above ceilings.%s", over,
                  over);
        goto done;
    }
    if ((rc = get_size(quotas, "quotas", "max_runners", &p->max_runners, err, errlen)) < 0 ||
        (rc = get_size(quotas, "quotas", "max_runners_per_pool", &p->max_runners_per_pool, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_env_entries", &p->max_env_entries, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_env_bytes", &p->max_env_bytes, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_labels", &p->max_labels, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_argv", &p->max_argv, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_request_bytes", &p->max_request_bytes, err, errlen)) < 0)
        goto done;
done:
    cJSON_Delete(root);
    if (rc < 0) {
        policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int policy_load(struct policy **out, const char *path, const char *docker_socket, char *err,
                size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return deny(FLAME_EINVALID, err, errlen, "cannot read policy file %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;
    if (!(buf = malloc(1 << 20))) {
        fclose(f);
        return FLAME_ENOMEM;
    }
    len = fread(buf, 1, (1 << 20) - 1, f);
    if (!feof(f))
        rc = deny(FLAME_EINVALID, err, errlen, "policy file %s is larger than 1 MiB", path);
    fclose(f);
    buf[len] = '\0';
    if (rc == 0) {
        char perr[400] = "";
        rc = policy_parse(out, buf, docker_socket, perr, sizeof(perr));
        if (rc < 0)
            snprintf(err, errlen, "%s: %s", path, perr);
    }
    free(buf);
    return rc;
}

/* "app" and "app:latest" are the same image; digests and tags are kept. */
static void normalize_ref(const char *ref, char *out, size_t outlen)
{
    const char *slash = strrchr(ref, '/');
    const char *last = slash ? slash + 1 : ref;
    int has_tag = strchr(last, ':') != NULL || strchr(ref, '@') != NULL;
    snprintf(out, outlen, "%s%s", ref, has_tag ? "" : ":latest");
}

int policy_image_allowed(const struct policy *p, const char *image)
{
    if (!p->images)
        return 1;
    char img[600], pat[600];
    normalize_ref(image, img, sizeof(img));
    for (size_t i = 0; i < p->n_images; i++) {
        const char *e = p->images[i];
        size_t n = strlen(e);
        if (n && e[n - 1] == '*') {
            if (strncmp(image, e, n - 1) == 0)
                return 1;
            continue;
        }
        normalize_ref(e, pat, sizeof(pat));
        if (strcmp(img, pat) == 0)
            return 1;
    }
    return 0;
}

/*
 * Clean an absolute path lexically, as Docker does with a bind's source before
 * it mounts it (Go's path.Clean): "//" and "." go, ".." removes the previous
 * component (never above "/"). Without this, "/run/no-such-dir/.." would pass
 * the checks below (realpath fails on it) and Docker would bind /run.
 * @return a malloc'd path, or NULL (out of memory).
 */
static char *clean_abs_path(const char *path)
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

/* Is `src` (a host path) "/", the Docker socket, or a directory holding the socket? */
static const char *forbidden_source(const struct policy *p, const char *src)
{
    char real_src[PATH_MAX], real_sock[PATH_MAX];
    if (!src || src[0] != '/')
        return NULL; /* a named volume */
    char *clean = clean_abs_path(src);
    if (!clean)
        return p->allow.docker_socket && p->allow.root_bind ? NULL : "docker_socket";
    const char *s = realpath(clean, real_src) ? real_src : clean;
    const char *rule = NULL;
    size_t sl = strlen(s);
    while (sl > 1 && s[sl - 1] == '/')
        sl--;
    if (sl == 1 && s[0] == '/') {
        rule = p->allow.root_bind ? NULL : "root_bind";
        goto out;
    }
    if (p->allow.docker_socket)
        goto out;
    const char *socks[2] = {p->docker_socket, realpath(p->docker_socket, real_sock) ? real_sock : NULL};
    for (int i = 0; i < 2 && !rule; i++) {
        const char *k = socks[i];
        if (k && strncmp(k, s, sl) == 0 && (k[sl] == '\0' || k[sl] == '/'))
            rule = "docker_socket";
    }
    if (!rule && strstr(s, "docker.sock"))
        rule = "docker_socket";
out:
    free(clean);
    return rule;
}

static int check_source(const struct policy *p, const char *where, const char *src, char *err,
                        size_t errlen)
{
    const char *rule = forbidden_source(p, src);
    if (!rule)
        return 0;
    if (strcmp(rule, "root_bind") == 0)
        return deny(FLAME_EPERM, err, errlen, "%s binds the host's \"/\": denied by policy "
                                              "allow.root_bind", where);
    return deny(FLAME_EPERM, err, errlen, "%s exposes the Docker socket (%s): denied by policy "
                                          "allow.docker_socket", where, src);
}

static int truthy_array(const cJSON *v) { return cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0; }

static int check_host_config(const struct policy *p, const cJSON *hc, char *err, size_t errlen)
{
    if (!hc)
        return 0;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hc, "Privileged")) && !p->allow.privileged)
        return deny(FLAME_EPERM, err, errlen, "host_config.Privileged is denied by policy allow.privileged");
    if (truthy_array(cJSON_GetObjectItemCaseSensitive(hc, "CapAdd")) && !p->allow.cap_add)
        return deny(FLAME_EPERM, err, errlen, "host_config.CapAdd is denied by policy allow.cap_add");
    static const char *const ns[] = {"PidMode", "IpcMode", "UsernsMode", "UTSMode", "CgroupnsMode"};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, ns[i]);
        if (cJSON_IsString(v) && strcmp(v->valuestring, "host") == 0 && !p->allow.host_namespaces)
            return deny(FLAME_EPERM, err, errlen, "host_config.%s \"host\" is denied by policy "
                                                  "allow.host_namespaces", ns[i]);
        /* Joining another container's namespace reaches another runner (another tenant's). */
        if (cJSON_IsString(v) && strncmp(v->valuestring, "container:", 10) == 0 &&
            !p->allow.host_namespaces)
            return deny(FLAME_EPERM, err, errlen, "host_config.%s \"container:...\" is denied by "
                                                  "policy allow.host_namespaces", ns[i]);
    }
    if (truthy_array(cJSON_GetObjectItemCaseSensitive(hc, "VolumesFrom")) && !p->allow.host_namespaces)
        return deny(FLAME_EPERM, err, errlen, "host_config.VolumesFrom (another container's "
                                              "volumes) is denied by policy allow.host_namespaces");
    if ((truthy_array(cJSON_GetObjectItemCaseSensitive(hc, "Devices")) ||
         truthy_array(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests")) ||
         truthy_array(cJSON_GetObjectItemCaseSensitive(hc, "DeviceCgroupRules"))) &&
        !p->allow.devices)
        return deny(FLAME_EPERM, err, errlen, "host_config.Devices is denied by policy allow.devices");
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt"), *it;
    cJSON_ArrayForEach(it, sec)
    {
        if (cJSON_IsString(it) && (strstr(it->valuestring, "unconfined") ||
                                   strstr(it->valuestring, "label=disable") ||
                                   strstr(it->valuestring, "label:disable")) &&
            !p->allow.privileged)
            return deny(FLAME_EPERM, err, errlen, "host_config.SecurityOpt \"%.64s\" is denied by "
                                                  "policy allow.privileged", it->valuestring);
    }
    const cJSON *binds = cJSON_GetObjectItemCaseSensitive(hc, "Binds");
    int i = 0;
    cJSON_ArrayForEach(it, binds)
    {
        if (!cJSON_IsString(it))
            continue;
        char src[PATH_MAX], where[64];
        snprintf(src, sizeof(src), "%s", it->valuestring);
        char *colon = strchr(src, ':');
        if (colon)
            *colon = '\0';
        snprintf(where, sizeof(where), "host_config.Binds[%d]", i++);
        int rc = check_source(p, where, src, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_mounts(const struct policy *p, const cJSON *mounts, char *err, size_t errlen)
{
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, mounts)
    {
        char where[64];
        snprintf(where, sizeof(where), "mounts[%d]", i++);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "Type");
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "Source");
        int rc;
        if (cJSON_IsString(type) && strcmp(type->valuestring, "bind") == 0 &&
            (rc = check_source(p, where, cJSON_IsString(src) ? src->valuestring : NULL, err, errlen)) < 0)
            return rc;
        /* A local volume with o=bind,device=/path is a bind in disguise. */
        const cJSON *opts = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "VolumeOptions"),
                                             "DriverConfig"),
            "Options");
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(opts, "device");
        if (cJSON_IsString(dev) && (rc = check_source(p, where, dev->valuestring, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

/* Apply a default when the field is absent or 0 (Docker's "unlimited"), then the ceiling. */
static int apply_resource(cJSON *hc, const char *field, int64_t def, int64_t max, char *err,
                          size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, field);
    double cur = cJSON_IsNumber(v) ? v->valuedouble : 0;
    /* PidsLimit -1 also means unlimited. */
    int unlimited = cur == 0 || (cur < 0 && strcmp(field, "PidsLimit") == 0);
    if (unlimited && (def || max)) {
        double nv = (double)(def ? def : max);
        if (v)
            cJSON_SetNumberValue(v, nv);
        else if (!cJSON_AddNumberToObject(hc, field, nv))
            return FLAME_ENOMEM;
        return 0;
    }
    if (max && cur > (double)max)
        return deny(FLAME_EPERM, err, errlen, "host_config.%s %.0f is above the policy ceiling "
                                              "ceilings.%s (%lld)", field, cur, field, (long long)max);
    return 0;
}

static size_t limit(size_t policy_value, size_t builtin)
{
    return policy_value && policy_value < builtin ? policy_value : builtin;
}

int policy_check_boot(const struct policy *p, const Flame__V1__BootRequest *req,
                      cJSON **host_config, const cJSON *mounts, char *err, size_t errlen)
{
    int rc;
    if (!policy_image_allowed(p, req->image))
        return deny(FLAME_EPERM, err, errlen, "image '%.200s' is not in the policy's images "
                                              "allowlist", req->image);
    if (p->networks) {
        const char *net = req->network ? req->network : "";
        size_t i;
        for (i = 0; i < p->n_networks; i++)
            if (strcmp(p->networks[i], net) == 0)
                break;
        if (i == p->n_networks)
            return deny(FLAME_EPERM, err, errlen, "network '%.64s' is not in the policy's "
                                                  "networks allowlist", net);
    }
    size_t env_bytes = 0;
    for (size_t i = 0; i < req->n_env; i++)
        env_bytes += strlen(req->env[i]->key) + strlen(req->env[i]->value) + 2;
    if (req->n_env > limit(p->max_env_entries, REQ_ENV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env has %zu entries; the limit is %zu "
                                                 "(policy limits.max_env_entries)",
                    req->n_env, limit(p->max_env_entries, REQ_ENV_MAX));
    if (env_bytes > limit(p->max_env_bytes, REQ_ENV_BYTES_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env is %zu bytes; the limit is %zu (policy "
                                                 "limits.max_env_bytes)",
                    env_bytes, limit(p->max_env_bytes, REQ_ENV_BYTES_MAX));
    if (req->n_labels > limit(p->max_labels, REQ_LABELS_MAX))
        return deny(FLAME_EINVALID, err, errlen, "labels has %zu entries; the limit is %zu "
                                                 "(policy limits.max_labels)",
                    req->n_labels, limit(p->max_labels, REQ_LABELS_MAX));
    if (req->n_cmd > limit(p->max_argv, REQ_ARGV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "cmd has %zu entries; the limit is %zu (policy "
                                                 "limits.max_argv)",
                    req->n_cmd, limit(p->max_argv, REQ_ARGV_MAX));
    if ((rc = check_host_config(p, *host_config, err, errlen)) < 0 ||
        (rc = check_mounts(p, mounts, err, errlen)) < 0)
        return rc;
    if (p->def_memory || p->max_memory || p->def_nano_cpus || p->max_nano_cpus || p->def_pids ||
        p->max_pids) {
        if (!*host_config && !(*host_config = cJSON_CreateObject()))
            return FLAME_ENOMEM;
        if ((rc = apply_resource(*host_config, "Memory", p->def_memory, p->max_memory, err, errlen)) < 0 ||
            (rc = apply_resource(*host_config, "NanoCpus", p->def_nano_cpus, p->max_nano_cpus, err, errlen)) < 0 ||
            (rc = apply_resource(*host_config, "PidsLimit", p->def_pids, p->max_pids, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

int policy_check_spawn(const struct policy *p, const Flame__V1__SpawnRequest *req, char *err,
                       size_t errlen)
{
    if (req->n_argv > limit(p->max_argv, REQ_ARGV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "argv has %zu entries; the limit is %zu (policy "
                                                 "limits.max_argv)",
                    req->n_argv, limit(p->max_argv, REQ_ARGV_MAX));
    if (req->n_env > limit(p->max_env_entries, REQ_ENV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env has %zu entries; the limit is %zu (policy "
                                                 "limits.max_env_entries)",
                    req->n_env, limit(p->max_env_entries, REQ_ENV_MAX));
    return 0;
}
