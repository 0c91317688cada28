/*
 * A taken warm runner's boot record (see warm_record.h, docs/warm.md):
 * the frame a Boot delivers with its metadata, adoption's read of it through
 * flamed-init's --print-record exec, and the checks it passes before a
 * restarted flamed believes it.
 * Follows: Docker Engine API v1.41 ExecCreate, ExecStart, ExecInspect.
 */
#include "service/warm_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "engine/engine.h"
#include "flame/error.h"
#include "runner/runner.h"
#include "service/boot_config.h"
#include "service/request.h"

/* The labels a warm container has from its create: never taken from a record. */
static const char *const identity_keys[] = {
    RUNNER_LABEL_MANAGED_BY, RUNNER_LABEL_INSTANCE, RUNNER_LABEL_ID, RUNNER_LABEL_POOL,
    RUNNER_LABEL_NETWORK, RUNNER_LABEL_WARM, RUNNER_LABEL_BOOT_LABELS, NULL};

/* The per-Boot flamed.* keys a record carries (runner_for's). */
static const char *const boot_keys[] = {
    RUNNER_LABEL_KEEP, RUNNER_LABEL_CREATED, RUNNER_LABEL_REQUEST_ID, RUNNER_LABEL_PARENT_ID,
    RUNNER_LABEL_LEASE_TTL, RUNNER_LABEL_MAX_LIFETIME, RUNNER_LABEL_IDLE_AFTER, NULL};

static int in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return 1;
    return 0;
}

static int ours(const char *key)
{
    return strncmp(key, RUNNER_LABEL_PREFIX, strlen(RUNNER_LABEL_PREFIX)) == 0;
}

int warm_record_frame(char **frame, size_t *len, char *const *entries, const struct runner *meta,
                      char *err, size_t errlen)
{
    size_t n = 0, k = 0;
    while (entries && entries[n])
        n++;
    const char **keys = calloc(meta->n_labels + 1, sizeof(char *));
    const char **values = calloc(meta->n_labels + 1, sizeof(char *));
    int rc = FLAME_ENOMEM;
    if (!keys || !values)
        goto done;
    for (size_t i = 0; i < meta->n_labels; i++) {
        if (in_list(identity_keys, meta->label_keys[i]))
            continue;
        keys[k] = meta->label_keys[i];
        values[k++] = meta->label_values[i];
    }
    char ferr[256];
    if (env_frame_encode_meta(frame, len, (const char *const *)entries, n, keys, values, k, ferr,
                              sizeof(ferr)) < 0) {
        snprintf(err, errlen, "boot record: %s", ferr);
        rc = strstr(ferr, "out of memory") ? FLAME_ENOMEM : FLAME_EINVALID;
        goto done;
    }
    rc = 0;
done:
    free(keys);
    free(values);
    return rc;
}

/* ------------------------------------------------------------ the read */

struct capture {
    char *buf;
    size_t len, cap;
    int too_long;
    char stderr_text[256];
};

static int on_output(void *ud, int stream, const char *data, size_t len)
{
    struct capture *c = ud;
    if (stream != 1) {
        size_t used = strlen(c->stderr_text), room = sizeof(c->stderr_text) - 1 - used;
        size_t take = len < room ? len : room;
        memcpy(c->stderr_text + used, data, take);
        c->stderr_text[used + take] = '\0';
        return 0;
    }
    if (c->len + len > ENV_FRAME_BYTES_MAX) {
        c->too_long = 1;
        return 1; /* abort: a record is never that long */
    }
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + len)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return 1;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return 0;
}

/* The exec's exit code: its stream has ended, the code follows shortly. */
static int exit_code_of(struct engine *eng, const char *exec_id, int *code, char *err, size_t errlen)
{
    int running = 1, rc = 0;
    for (int i = 0; i < 100 && running; i++) {
        if ((rc = eng->ops->exec_inspect(eng, exec_id, code, &running, err, errlen)) < 0)
            return rc;
        if (running) {
            struct timespec ts = {0, (i < 10 ? 2 : 20) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (running) {
        snprintf(err, errlen, "the record's exec closed its output but did not exit");
        return FLAME_ETIMEOUT;
    }
    return 0;
}

int warm_record_read(struct engine *eng, const char *container_id, struct env_frame *out, char *err,
                     size_t errlen)
{
    static const char *const argv[] = {WARM_INIT_TARGET, "--print-record", WARM_RECORD_PATH, NULL};
    struct engine *view = NULL;
    struct engine_bounds b = {.deadline_ms = clock_mono_ms() + WARM_RECORD_READ_MS};
    struct capture c = {0};
    char *exec_id = NULL, derr[512] = "";
    int rc, code = -1;
    if ((rc = engine_bounded(eng, &b, &view)) < 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if ((rc = view->ops->exec_create(view, container_id, argv, NULL, NULL, NULL, 0, &exec_id, derr,
                                     sizeof(derr))) < 0) {
        snprintf(err, errlen, "creating the record's exec: %s", derr);
        goto done;
    }
    struct engine_exec_io io = {.on_output = on_output, .ud = &c};
    rc = view->ops->exec_start(view, exec_id, &io, derr, sizeof(derr));
    if (c.too_long) {
        snprintf(err, errlen, "the record is longer than %zu bytes", ENV_FRAME_BYTES_MAX);
        rc = FLAME_EINVALID;
        goto done;
    }
    if (rc < 0) {
        snprintf(err, errlen, "running the record's exec: %s", derr);
        goto done;
    }
    if ((rc = exit_code_of(view, exec_id, &code, derr, sizeof(derr))) < 0) {
        snprintf(err, errlen, "%s", derr);
        goto done;
    }
    if (code != 0) {
        char *nl = strchr(c.stderr_text, '\n');
        if (nl)
            *nl = '\0';
        snprintf(err, errlen, "no boot record (flamed-init --print-record exited %d%s%s)", code,
                 c.stderr_text[0] ? ": " : "", c.stderr_text);
        rc = code == 2 ? FLAME_ENOTFOUND : FLAME_EINVALID;
        goto done;
    }
    struct env_frame f = {0};
    size_t used = 0;
    char ferr[256];
    int drc = env_frame_decode(&f, &used, c.buf ? c.buf : "", c.len, ferr, sizeof(ferr));
    if (drc == 0 && (used != c.len || !f.has_meta)) {
        env_frame_free(&f);
        snprintf(ferr, sizeof(ferr), "%s", used != c.len ? "bytes follow the frame" : "not a /2 frame");
        drc = -1;
    } else if (drc == 1) {
        snprintf(ferr, sizeof(ferr), "cut short");
    }
    if (drc != 0) {
        snprintf(err, errlen, "the boot record does not decode: %s", ferr);
        rc = FLAME_EINVALID;
        goto done;
    }
    *out = f;
    rc = 0;
done:
    if (exec_id)
        free(exec_id);
    free(c.buf);
    engine_free_view(view);
    return rc;
}

/* ------------------------------------------------------------ the checks */

static int decimal_ok(const char *v, unsigned long long max, unsigned long long *out)
{
    if (!v[0] || strlen(v) > 20)
        return 0;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    if (v[0] == '0' && v[1])
        return 0;
    errno = 0;
    unsigned long long n = strtoull(v, NULL, 10);
    if (errno || n > max)
        return 0;
    *out = n;
    return 1;
}

static int bad(char *err, size_t errlen, const char *what, const char *key)
{
    snprintf(err, errlen, "boot record: %s '%.64s'", what, key);
    return FLAME_EINVALID;
}

/* One flamed.* pair of a record: known, and well-formed as a Boot's field. */
static int check_boot_key(const char *k, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    char kerr[256];
    if (!in_list(boot_keys, k))
        return bad(err, errlen, "may not set", k);
    if (strcmp(k, RUNNER_LABEL_KEEP) == 0 && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return bad(err, errlen, "bad value for", k);
    if (strcmp(k, RUNNER_LABEL_REQUEST_ID) == 0 &&
        (!v[0] || request_key_validate(v, "request_id", 128, kerr, sizeof(kerr)) < 0))
        return bad(err, errlen, "bad value for", k);
    if (strcmp(k, RUNNER_LABEL_PARENT_ID) == 0 &&
        (!v[0] || request_key_validate(v, "parent_id", 256, kerr, sizeof(kerr)) < 0))
        return bad(err, errlen, "bad value for", k);
    if (strcmp(k, RUNNER_LABEL_LEASE_TTL) == 0 && (!decimal_ok(v, 0xffffffffull, &n) || n < 100))
        return bad(err, errlen, "bad value for", k);
    if ((strcmp(k, RUNNER_LABEL_MAX_LIFETIME) == 0 || strcmp(k, RUNNER_LABEL_IDLE_AFTER) == 0) &&
        (!decimal_ok(v, UINT64_MAX, &n) || n == 0))
        return bad(err, errlen, "bad value for", k);
    if (strcmp(k, RUNNER_LABEL_CREATED) == 0 && (!decimal_ok(v, INT64_MAX, &n) || n == 0))
        return bad(err, errlen, "bad value for", k);
    return 0;
}

int warm_record_is_boot_key(const char *key)
{
    return key && in_list(boot_keys, key);
}

int warm_record_check_label(const char *key, const char *value, char *err, size_t errlen)
{
    char local[256];
    if (!err || !errlen)
        err = local, errlen = sizeof(local);
    if (!key || !value)
        return bad(err, errlen, "missing", key ? key : "");
    if (!boot_config_utf8_valid(value))
        return bad(err, errlen, "not valid UTF-8:", key);
    return check_boot_key(key, value, err, errlen);
}

static int check_env(const struct env_frame *f, char *err, size_t errlen)
{
    size_t bytes = 0;
    if (f->n > REQ_ENV_MAX + 8) /* flamed's own (PHX_SERVER) beside the Boot's */
        return bad(err, errlen, "too many env entries", "env");
    for (size_t i = 0; i < f->n; i++) {
        if (!boot_config_utf8_valid(f->entries[i]))
            return bad(err, errlen, "env entry is not valid UTF-8:", f->entries[i]);
        bytes += strlen(f->entries[i]) + 1;
    }
    if (bytes > REQ_ENV_BYTES_MAX + 4096)
        return bad(err, errlen, "env is too long", "env");
    return 0;
}

int warm_record_labels(const struct env_frame *f, const cJSON *labels, cJSON **out, char *err,
                       size_t errlen)
{
    cJSON *m = cJSON_Duplicate(labels, 1), *keys = cJSON_CreateArray();
    char *keys_json = NULL;
    int rc = FLAME_ENOMEM;
    size_t n_user = 0;
    if (!m || !keys || !cJSON_IsObject(m))
        goto done;
    if ((rc = check_env(f, err, errlen)) < 0)
        goto done;
    for (size_t i = 0; i < f->n_meta; i++) {
        const char *k = f->meta_keys[i], *v = f->meta_values[i];
        if (!boot_config_utf8_valid(k) || !boot_config_utf8_valid(v)) {
            rc = bad(err, errlen, "a pair is not valid UTF-8:", k);
            goto done;
        }
        if (ours(k)) {
            if ((rc = check_boot_key(k, v, err, errlen)) < 0)
                goto done;
        } else {
            if (++n_user > REQ_LABELS_MAX || strlen(k) + strlen(v) > REQ_LABEL_BYTES_MAX) {
                rc = bad(err, errlen, "too many or too long labels at", k);
                goto done;
            }
            rc = FLAME_ENOMEM;
            if (!cJSON_AddItemToArray(keys, cJSON_CreateString(k)))
                goto done;
        }
        rc = FLAME_ENOMEM;
        cJSON *s = cJSON_CreateString(v);
        if (!s)
            goto done;
        if (cJSON_GetObjectItemCaseSensitive(m, k)) {
            cJSON_ReplaceItemInObjectCaseSensitive(m, k, s);
        } else if (!cJSON_AddItemToObject(m, k, s)) {
            cJSON_Delete(s);
            goto done;
        }
    }
    if (env_frame_meta(f, RUNNER_LABEL_LEASE_TTL) && !env_frame_meta(f, RUNNER_LABEL_PARENT_ID)) {
        rc = bad(err, errlen, "a lease needs", RUNNER_LABEL_PARENT_ID);
        goto done;
    }
    rc = FLAME_ENOMEM;
    if (!(keys_json = cJSON_PrintUnformatted(keys)))
        goto done;
    cJSON *kj = cJSON_CreateString(keys_json);
    if (!kj)
        goto done;
    if (cJSON_GetObjectItemCaseSensitive(m, RUNNER_LABEL_BOOT_LABELS)) {
        cJSON_ReplaceItemInObjectCaseSensitive(m, RUNNER_LABEL_BOOT_LABELS, kj);
    } else if (!cJSON_AddItemToObject(m, RUNNER_LABEL_BOOT_LABELS, kj)) {
        cJSON_Delete(kj);
        goto done;
    }
    *out = m;
    m = NULL;
    rc = 0;
done:
    cJSON_Delete(m);
    cJSON_Delete(keys);
    free(keys_json);
    return rc;
}
