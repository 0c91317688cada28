/*
 * server/docker/image.c - image inspect and pull (references: image_ref.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

int docker_image_inspect(docker_client *c, const char *ref, cJSON **out, char *err, size_t errlen)
{
    char esc[DOCKER__PATH_MAX / 2], path[DOCKER__PATH_MAX];
    int rc;

    if (out)
        *out = NULL;
    if ((rc = docker__check_name("image reference", ref, err, errlen)) < 0)
        return rc;
    if (docker__escape(ref, "/:@", esc, sizeof esc) < 0 ||
        docker__fmt(path, sizeof path, "/images/%s/json", esc) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "image reference too long");
    rc = docker__inspect(c, path, "image", ref, out, err, errlen);
    if (rc == FLAME_ENOTFOUND)
        rc = docker__fail(err, errlen, FLAME_ENOTFOUND,
                          "image '%s' not found locally: pull it with `docker pull %s`", ref, ref);
    return rc;
}

/* ---------------------------------------------------------------- pull */

struct docker__pull {
    struct docker_lines lines;
    char error[1024]; /* the first error line's text */
    struct docker__pull_tracker *track; /* NULL: no progress asked for */
    void (*progress)(void *ud, const struct docker_pull_progress *p);
    void *ud;
};

/* The statuses Docker's pull stream gives a layer (distribution/pull_v2.go,
 * progress.Update / progress.Message with the layer's short id). */
enum layer_status { L_SEEN, L_DOWNLOADING, L_DOWNLOADED, L_DONE };

static int layer_status(const char *s, enum layer_status *out)
{
    static const struct {
        const char *status;
        enum layer_status st;
    } known[] = {
        {"Pulling fs layer", L_SEEN},      {"Waiting", L_SEEN},
        {"Downloading", L_DOWNLOADING},    {"Verifying Checksum", L_DOWNLOADED},
        {"Download complete", L_DOWNLOADED}, {"Extracting", L_DOWNLOADED},
        {"Pull complete", L_DONE},         {"Already exists", L_DONE},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i].status) == 0) {
            *out = known[i].st;
            return 0;
        }
    if (strncmp(s, "Retrying in ", 12) == 0) { /* a failed download starts again */
        *out = L_SEEN;
        return 0;
    }
    return -1;
}

static int64_t bytes_of(const cJSON *detail, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(detail, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
        return 0;
    return v->valuedouble > 9007199254740992.0 ? INT64_C(9007199254740992) : (int64_t)v->valuedouble;
}

int docker__pull_track(struct docker__pull_tracker *t, const cJSON *line)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(line, "id");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(line, "status");
    enum layer_status st;
    struct docker__pull_layer *l = NULL;
    struct docker_pull_progress sum = {0};
    int i;

    if (!cJSON_IsString(id) || !cJSON_IsString(status) || !id->valuestring[0] ||
        strlen(id->valuestring) >= sizeof t->layer[0].id || layer_status(status->valuestring, &st) < 0)
        return 0;
    for (i = 0; i < t->n && !l; i++)
        if (strcmp(t->layer[i].id, id->valuestring) == 0)
            l = &t->layer[i];
    if (!l) {
        if (t->n == DOCKER_PULL_MAX_LAYERS)
            return 0;
        l = &t->layer[t->n++];
        snprintf(l->id, sizeof l->id, "%s", id->valuestring);
    }
    switch (st) {
    case L_SEEN:
        l->current = 0;
        break;
    case L_DOWNLOADING: {
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(line, "progressDetail");
        int64_t total = bytes_of(detail, "total");
        l->current = bytes_of(detail, "current");
        if (total > 0)
            l->total = total;
        if (l->total > 0 && l->current > l->total)
            l->current = l->total;
        break;
    }
    case L_DOWNLOADED:
        l->current = l->total;
        break;
    case L_DONE:
        l->current = l->total;
        l->done = 1;
        break;
    }
    for (i = 0; i < t->n; i++) {
        sum.bytes_done += t->layer[i].current;
        sum.bytes_total += t->layer[i].total;
        sum.layers_done += t->layer[i].done;
    }
    sum.layers = t->n;
    if (memcmp(&sum, &t->sum, sizeof sum) == 0)
        return 0;
    t->sum = sum;
    return 1;
}

static int docker__pull_line(void *ud, char *s, size_t n)
{
    struct docker__pull *p = ud;
    const cJSON *e, *detail;
    cJSON *obj;

    if (p->error[0] || n == 0)
        return 0;
    obj = cJSON_ParseWithLength(s, n);
    if (!obj)
        return 0; /* not JSON: progress noise we need not understand */
    e = cJSON_GetObjectItemCaseSensitive(obj, "error");
    detail = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "errorDetail"),
                                              "message");
    if (cJSON_IsString(e) && e->valuestring && *e->valuestring)
        snprintf(p->error, sizeof p->error, "%s", e->valuestring);
    else if (cJSON_IsString(detail) && detail->valuestring && *detail->valuestring)
        snprintf(p->error, sizeof p->error, "%s", detail->valuestring);
    else if (p->track && docker__pull_track(p->track, obj))
        p->progress(p->ud, &p->track->sum);
    cJSON_Delete(obj);
    return 0;
}

static int docker__pull_data(void *ud, const char *data, size_t len)
{
    struct docker__pull *p = ud;
    int rc = docker_lines_feed(&p->lines, data, len, docker__pull_line, p);

    /* An over-long progress line is not worth failing the pull for. */
    return rc == FLAME_EINVALID ? 0 : rc;
}

/* The registry's words decide: absent or forbidden is NOTFOUND, the rest UNAVAILABLE. */
static int docker__pull_classify(const char *ref, const char *msg, char *err, size_t errlen)
{
    static const char *const absent[] = {
        "not found",     "manifest unknown", "pull access denied", "repository does not exist",
        "no such image",
    };
    size_t i;

    for (i = 0; i < sizeof absent / sizeof absent[0]; i++)
        if (strcasestr(msg, absent[i]))
            return docker__fail(err, errlen, FLAME_ENOTFOUND,
                                "pull '%s': %s (check the image name and tag, and the registry "
                                "credentials)",
                                ref, msg);
    return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                        "pull '%s': %s (is the registry reachable from the Docker host?)", ref,
                        msg);
}

int docker_image_pull(docker_client *c, const char *ref, const char *registry_auth, long timeout_ms,
                      void (*progress)(void *ud, const struct docker_pull_progress *p), void *ud,
                      char *err, size_t errlen)
{
    struct docker__pull p;
    struct docker__stream s;
    struct docker__response r;
    char repo[1024], tag[256], erepo[3 * sizeof repo], etag[3 * sizeof tag];
    char path[DOCKER__PATH_MAX];
    char *auth_header = NULL;
    const char *headers[2] = {NULL, NULL};
    const char *msg;
    size_t n;
    int rc, stopped;

    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    docker_lines_init(&p.lines, 0);
    if ((rc = docker__check_name("image reference", ref, err, errlen)) < 0)
        goto done;
    if (progress) {
        if (!(p.track = calloc(1, sizeof *p.track))) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        p.progress = progress;
        p.ud = ud;
    }
    if (docker_image_ref_split(ref, repo, sizeof repo, tag, sizeof tag) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "invalid image reference '%s'", ref);
        goto done;
    }
    if (docker__escape(repo, NULL, erepo, sizeof erepo) < 0 ||
        docker__escape(tag, NULL, etag, sizeof etag) < 0 ||
        (tag[0] ? docker__fmt(path, sizeof path, "/images/create?fromImage=%s&tag=%s", erepo, etag)
                : docker__fmt(path, sizeof path, "/images/create?fromImage=%s", erepo)) < 0) {
        rc = docker__fail(err, errlen, FLAME_EINVALID, "image reference '%s' too long", ref);
        goto done;
    }
    if (registry_auth && *registry_auth) {
        if (strpbrk(registry_auth, "\r\n")) {
            rc = docker__fail(err, errlen, FLAME_EINVALID, "registry auth contains a line break");
            goto done;
        }
        n = strlen(registry_auth) + sizeof "X-Registry-Auth: ";
        auth_header = malloc(n);
        if (!auth_header) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        snprintf(auth_header, n, "X-Registry-Auth: %s", registry_auth);
        headers[0] = auth_header;
    }

    memset(&s, 0, sizeof s);
    s.method = "POST";
    s.path = path;
    s.headers = headers;
    s.low_speed_time_s = ((timeout_ms > 0 ? timeout_ms : 60000) + 999) / 1000;
    s.on_data = docker__pull_data;
    s.ud = &p;
    if ((rc = docker__stream_run(c, &s, &r, &stopped, err, errlen)) < 0)
        goto done;
    if (r.status < 200 || r.status >= 300) {
        msg = docker__response_message(&r);
        if (r.status == 400)
            rc = docker__response_error(&r, err, errlen, "pull '%s'", ref);
        else if (r.status == 401 || r.status == 403)
            rc = docker__fail(err, errlen, FLAME_ENOTFOUND,
                              "pull '%s': %s (check the registry "
                              "credentials)",
                              ref, msg);
        else
            rc = docker__pull_classify(ref, *msg ? msg : "Docker refused the pull", err, errlen);
        goto done;
    }
    if (p.lines.len > 0) /* a last line without its newline */
        docker__pull_line(&p, p.lines.buf, p.lines.len);
    /* Errors after progress has started arrive inside the 200 stream. */
    if (p.error[0]) {
        rc = docker__pull_classify(ref, p.error, err, errlen);
        goto done;
    }
    rc = docker_image_inspect(c, ref, NULL, err, errlen);
    if (rc == FLAME_ENOTFOUND)
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "pull '%s' finished without error but the image is not present", ref);
done:
    docker__response_free(&r);
    docker_lines_free(&p.lines);
    free(p.track);
    free(auth_header);
    return rc;
}
