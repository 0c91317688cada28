/* Request validation and proto <-> Docker JSON conversions; see request.h. */
#include "service/request.h"

#include "service/boot_config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "flame/error.h"
#include "runner/runner.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return FLAME_EINVALID;
}

int request_pool_validate(const char *pool, char *err, size_t errlen)
{
    if (!pool || !pool[0])
        return 0;
    if (strlen(pool) > REQ_POOL_MAX || !boot_config_docker_name_ok(pool))
        return fail(err, errlen,
                    "pool '%.80s' is invalid: use 1-%d characters of [A-Za-z0-9_.-], starting "
                    "with a letter or digit",
                    pool, REQ_POOL_MAX);
    return 0;
}

int request_key_validate(const char *key, const char *field, size_t max, char *err, size_t errlen)
{
    if (!key || !key[0])
        return 0;
    size_t n = strlen(key);
    if (n > max)
        return fail(err, errlen, "%s is too long (%zu bytes, at most %zu)", field, n, max);
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.:@/-", *p))
            return fail(err, errlen, "%s has invalid characters: use [A-Za-z0-9_.:@/-]", field);
    return 0;
}

int request_runner_id_validate(const char *id, const char *field, char *err, size_t errlen)
{
    if (!id || !id[0])
        return fail(err, errlen, "%s is required", field);
    size_t n = strlen(id);
    if (n > 64)
        return fail(err, errlen, "%s is too long (%zu bytes, at most 64)", field, n);
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return fail(err, errlen, "%s '%.64s' has invalid characters (expected a runner id "
                                     "as returned by Boot or List)", field, id);
    return 0;
}

static int env_key_ok(const char *k)
{
    if (!k || !k[0] || strchr(k, '='))
        return 0;
    return 1;
}

static int check_env(size_t n, const char *const *keys, const char *const *values, char *err,
                     size_t errlen)
{
    if (n > REQ_ENV_MAX)
        return fail(err, errlen, "env has %zu entries, at most %d are allowed", n, REQ_ENV_MAX);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!env_key_ok(keys[i]))
            return fail(err, errlen, "env key '%.64s' is invalid: it must be non-empty and must "
                                     "not contain '='", keys[i] ? keys[i] : "");
        if (!boot_config_utf8_valid(keys[i]) || !boot_config_utf8_valid(values[i] ? values[i] : ""))
            return fail(err, errlen, "env '%.64s' is not valid UTF-8", keys[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[j], keys[i]) == 0)
                return fail(err, errlen, "env key '%.64s' is repeated: give each variable once",
                            keys[i]);
        bytes += strlen(keys[i]) + strlen(values[i] ? values[i] : "") + 2;
    }
    if (bytes > REQ_ENV_BYTES_MAX)
        return fail(err, errlen, "env is %zu bytes, at most %d are allowed", bytes,
                    REQ_ENV_BYTES_MAX);
    return 0;
}

static int check_argv(const char *field, size_t n, char **argv, char *err, size_t errlen)
{
    if (n > REQ_ARGV_MAX)
        return fail(err, errlen, "%s has %zu entries, at most %d are allowed", field, n,
                    REQ_ARGV_MAX);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!boot_config_utf8_valid(argv[i]))
            return fail(err, errlen, "%s[%zu] is not valid UTF-8", field, i);
        bytes += strlen(argv[i]) + 1;
    }
    if (bytes > REQ_ARGV_BYTES_MAX)
        return fail(err, errlen, "%s is %zu bytes, at most %d are allowed", field, bytes,
                    REQ_ARGV_BYTES_MAX);
    return 0;
}

int request_boot_validate(const Flame__V1__BootRequest *req, cJSON **host_config, cJSON **mounts,
                          char *err, size_t errlen)
{
    int rc = 0;
    cJSON *hc = NULL, *ms = NULL;
    *host_config = NULL;
    *mounts = NULL;
    if (!req->image || !req->image[0])
        return fail(err, errlen, "image is required (e.g. \"app:latest\")");
    if (engine_image_ref_validate(req->image, err, errlen) < 0)
        return FLAME_EINVALID;
    if (req->network && req->network[0] &&
        (strlen(req->network) > REQ_NETWORK_MAX || !boot_config_docker_name_ok(req->network)))
        return fail(err, errlen, "network '%.80s' is not a valid Docker network name", req->network);
    if ((rc = request_pool_validate(req->pool, err, errlen)) < 0)
        return rc;
    {
        const char *keys[REQ_ENV_MAX + 1], *vals[REQ_ENV_MAX + 1];
        size_t n = req->n_env;
        if (n > REQ_ENV_MAX)
            return fail(err, errlen, "env has %zu entries, at most %d are allowed", n, REQ_ENV_MAX);
        for (size_t i = 0; i < n; i++) {
            keys[i] = req->env[i]->key;
            vals[i] = req->env[i]->value;
        }
        if ((rc = check_env(n, keys, vals, err, errlen)) < 0)
            return rc;
    }
    if ((rc = check_argv("cmd", req->n_cmd, req->cmd, err, errlen)) < 0 ||
        (rc = check_argv("entrypoint", req->n_entrypoint, req->entrypoint, err, errlen)) < 0)
        return rc;
    if (req->n_labels > REQ_LABELS_MAX)
        return fail(err, errlen, "labels has %zu entries, at most %d are allowed", req->n_labels,
                    REQ_LABELS_MAX);
    for (size_t i = 0; i < req->n_labels; i++) {
        const char *k = req->labels[i]->key, *v = req->labels[i]->value;
        if (!k || !k[0])
            return fail(err, errlen, "labels: empty key");
        if (!boot_config_utf8_valid(k) || !boot_config_utf8_valid(v ? v : ""))
            return fail(err, errlen, "labels: '%.64s' is not valid UTF-8", k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->labels[j]->key, k) == 0)
                return fail(err, errlen, "labels: key '%.64s' is repeated: give each label once", k);
        if (strncmp(k, RUNNER_LABEL_PREFIX, strlen(RUNNER_LABEL_PREFIX)) == 0)
            return fail(err, errlen, "labels: key '%.64s' is reserved: keys starting with "
                                     "\"flamed.\" are flamed's own", k);
        if (strlen(k) + strlen(v ? v : "") > REQ_LABEL_BYTES_MAX)
            return fail(err, errlen, "labels: '%.64s' is longer than %d bytes", k,
                        REQ_LABEL_BYTES_MAX);
    }
    if (req->boot_timeout_ms > REQ_BOOT_TIMEOUT_MAX_MS)
        return fail(err, errlen, "boot_timeout_ms %u is too large (at most %u, 30 minutes)",
                    req->boot_timeout_ms, REQ_BOOT_TIMEOUT_MAX_MS);
    if (req->pull_policy != FLAME__V1__PULL_POLICY__PULL_POLICY_UNSPECIFIED &&
        req->pull_policy != FLAME__V1__PULL_POLICY__PULL_POLICY_IF_NOT_PRESENT &&
        req->pull_policy != FLAME__V1__PULL_POLICY__PULL_POLICY_ALWAYS &&
        req->pull_policy != FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER)
        return fail(err, errlen, "pull_policy %d is not a PullPolicy value", (int)req->pull_policy);
    if (req->user && strlen(req->user) > 256)
        return fail(err, errlen, "user is longer than 256 bytes");
    if ((req->user && !boot_config_utf8_valid(req->user)) ||
        (req->working_dir && !boot_config_utf8_valid(req->working_dir)))
        return fail(err, errlen, "user and working_dir must be valid UTF-8");
    if (req->working_dir && req->working_dir[0] && req->working_dir[0] != '/')
        return fail(err, errlen, "working_dir '%.80s' must be an absolute path", req->working_dir);
    if ((rc = request_key_validate(req->request_id, "request_id", 128, err, errlen)) < 0 ||
        (rc = request_key_validate(req->parent_id, "parent_id", 256, err, errlen)) < 0)
        return rc;
    if (req->lease_ttl_ms && (!req->parent_id || !req->parent_id[0]))
        return fail(err, errlen, "lease_ttl_ms needs parent_id: the lease belongs to a parent, "
                                 "which renews it by watching with its parent_id or calling Renew");
    if (req->lease_ttl_ms && req->lease_ttl_ms < 100)
        return fail(err, errlen, "lease_ttl_ms %u is too short (at least 100)", req->lease_ttl_ms);

    if (req->host_config && (rc = boot_config_host_config(&hc, req->host_config, err, errlen)) < 0)
        goto done;
    if (req->n_mounts > REQ_MOUNTS_MAX) {
        rc = fail(err, errlen, "mounts has %zu entries, at most %d are allowed", req->n_mounts,
                  REQ_MOUNTS_MAX);
        goto done;
    }
    if (req->n_mounts) {
        if (!(ms = cJSON_CreateArray())) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < req->n_mounts; i++) {
            cJSON *m = NULL;
            if ((rc = boot_config_mount(&m, req->mounts[i], i, err, errlen)) < 0)
                goto done;
            if (!cJSON_AddItemToArray(ms, m)) {
                cJSON_Delete(m);
                rc = FLAME_ENOMEM;
                goto done;
            }
        }
    }
done:
    if (rc < 0) {
        cJSON_Delete(hc);
        cJSON_Delete(ms);
        return rc;
    }
    *host_config = hc;
    *mounts = ms;
    return 0;
}

int request_spawn_validate(const Flame__V1__SpawnRequest *req, char *err, size_t errlen)
{
    int rc;
    if ((rc = request_runner_id_validate(req->runner_id, "runner_id", err, errlen)) < 0)
        return rc;
    if (req->n_argv == 0 || !req->argv[0][0])
        return fail(err, errlen, "argv is required: the command and its arguments, e.g. "
                                 "[\"sh\", \"-c\", \"echo hi\"]");
    if ((rc = check_argv("argv", req->n_argv, req->argv, err, errlen)) < 0)
        return rc;
    if (req->n_env > REQ_ENV_MAX)
        return fail(err, errlen, "env has %zu entries, at most %d are allowed", req->n_env,
                    REQ_ENV_MAX);
    const char *keys[REQ_ENV_MAX + 1], *vals[REQ_ENV_MAX + 1];
    for (size_t i = 0; i < req->n_env; i++) {
        keys[i] = req->env[i]->key;
        vals[i] = req->env[i]->value;
    }
    if ((rc = check_env(req->n_env, keys, vals, err, errlen)) < 0)
        return rc;
    if ((req->user && !boot_config_utf8_valid(req->user)) ||
        (req->working_dir && !boot_config_utf8_valid(req->working_dir)))
        return fail(err, errlen, "user and working_dir must be valid UTF-8");
    if (req->working_dir && req->working_dir[0] && req->working_dir[0] != '/')
        return fail(err, errlen, "working_dir '%.80s' must be an absolute path", req->working_dir);
    return 0;
}

void request_runner_name(const char *pool, const char *runner_id, char *out, size_t outlen)
{
    char slug[25];
    size_t n = 0;
    int dash = 0;
    for (const char *p = (pool && pool[0]) ? pool : REQ_DEFAULT_POOL; *p && n < sizeof(slug) - 1; p++) {
        char ch = (char)tolower((unsigned char)*p);
        if (isalnum((unsigned char)ch)) {
            slug[n++] = ch;
            dash = 0;
        } else if (!dash && n > 0) {
            slug[n++] = '-';
            dash = 1;
        }
    }
    while (n > 0 && slug[n - 1] == '-')
        n--;
    slug[n] = '\0';
    snprintf(out, outlen, "flame-%s%s%.12s", slug, n ? "-" : "", runner_id);
}

static int strv_push(char ***v, size_t *n, const char *k, const char *val)
{
    size_t len = strlen(k) + 1 + strlen(val ? val : "") + 1;
    char *s = malloc(len);
    if (!s)
        return FLAME_ENOMEM;
    snprintf(s, len, "%s=%s", k, val ? val : "");
    char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
    if (!nv) {
        free(s);
        return FLAME_ENOMEM;
    }
    nv[(*n)++] = s;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

void request_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int request_boot_env(const Flame__V1__BootRequest *req, char ***out)
{
    char **v = calloc(1, sizeof(*v));
    size_t n = 0;
    int has_phx = 0;
    if (!v)
        return FLAME_ENOMEM;
    for (size_t i = 0; i < req->n_env; i++) {
        if (strcmp(req->env[i]->key, "PHX_SERVER") == 0)
            has_phx = 1;
        if (strv_push(&v, &n, req->env[i]->key, req->env[i]->value) < 0)
            goto nomem;
    }
    /* A runner is a copy of the app: it must not start the web endpoint (FLAME's own rule). */
    if (!has_phx && strv_push(&v, &n, "PHX_SERVER", "false") < 0)
        goto nomem;
    *out = v;
    return 0;
nomem:
    request_strv_free(v);
    return FLAME_ENOMEM;
}

int request_env_strv(Flame__V1__SpawnRequest__EnvEntry **env, size_t n_env, char ***out)
{
    char **v = calloc(1, sizeof(*v));
    size_t n = 0;
    if (!v)
        return FLAME_ENOMEM;
    for (size_t i = 0; i < n_env; i++) {
        if (strv_push(&v, &n, env[i]->key, env[i]->value) < 0) {
            request_strv_free(v);
            return FLAME_ENOMEM;
        }
    }
    *out = v;
    return 0;
}
