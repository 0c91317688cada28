/* Request observation hook and endpoint templates: see observe.h. */
#include "observe.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static _Atomic(docker_request_hook) request_hook;

void docker_set_request_hook(docker_request_hook hook) { atomic_store(&request_hook, hook); }

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* A segment we keep verbatim: a short lowercase word ("start", "json", "_ping"). */
static int plain_word(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_'))
            return 0;
    return n > 0 && n <= 24;
}

#define MAX_SEGS 32

const char *docker_path_template(const char *path, char *out, size_t outlen)
{
    /* Resources addressed as /<kind>/<id>[/<verb>], and the words at the
     * <id> position that are verbs on the collection instead. */
    static const char *const by_id[] = {"containers", "exec",    "networks", "volumes",
                                        "plugins",    "services", "nodes",   "tasks",
                                        "secrets",    "configs",  NULL};
    static const char *const collection_verbs[] = {"create", "json", "prune", "pull", "privileges",
                                                   NULL};
    static const char *const image_collection[] = {"create", "json", "prune", "search",
                                                   "load",   "get",  NULL};
    static const char *const image_verbs[] = {"json", "history", "push", "tag", "get", NULL};
    char buf[1024];
    char *segs[MAX_SEGS];
    size_t n = 0, o = 0;

    if (!out || outlen == 0)
        return out;
    out[0] = '\0';
    snprintf(buf, sizeof(buf), "%s", path ? path : "");
    buf[strcspn(buf, "?#")] = '\0';
    for (char *p = buf; *p && n < MAX_SEGS;) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        segs[n++] = p;
        p += strcspn(p, "/");
    }
    size_t first = 0;
    if (n > 0 && segs[0][0] == 'v' && segs[0][1] >= '0' && segs[0][1] <= '9')
        first = 1; /* "/v1.41/..." */

#define PUT(str) (o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s", (str)), \
                  o = o < outlen ? o : outlen - 1)
    if (first >= n) {
        PUT("/");
        return out;
    }
    const char *kind = segs[first];
    size_t rest = n - first - 1; /* segments after the kind */
    if (in_list(kind, by_id)) {
        PUT("/");
        PUT(kind);
        if (rest >= 1) {
            PUT("/");
            PUT(in_list(segs[first + 1], collection_verbs) ? segs[first + 1] : "{id}");
        }
        for (size_t i = first + 2; i < n && i < first + 4; i++) {
            PUT("/");
            PUT(plain_word(segs[i]) ? segs[i] : "{...}");
        }
        return out;
    }
    if (strcmp(kind, "images") == 0 || strcmp(kind, "distribution") == 0) {
        PUT("/");
        PUT(kind);
        if (rest == 0)
            return out;
        if (rest == 1 && in_list(segs[first + 1], image_collection)) {
            PUT("/");
            PUT(segs[first + 1]);
            return out;
        }
        /* A name may hold slashes (registry/team/app:tag): the verb is last. */
        PUT("/{name}");
        if (rest >= 2 && in_list(segs[n - 1], image_verbs)) {
            PUT("/");
            PUT(segs[n - 1]);
        }
        return out;
    }
    /* /_ping, /version, /info, /events, /system/df, /build, ... */
    PUT("/");
    PUT(plain_word(kind) ? kind : "{...}");
    for (size_t i = first + 1; i < n && i < first + 3; i++) {
        PUT("/");
        PUT(plain_word(segs[i]) ? segs[i] : "{...}");
    }
#undef PUT
    return out;
}

void docker__observe(void *h, const char *method, const char *path)
{
    docker_request_hook hook = atomic_load(&request_hook);
    if (!hook || !h)
        return;
    long status = 0;
    curl_off_t us = 0;
    if (curl_easy_getinfo((CURL *)h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (curl_easy_getinfo((CURL *)h, CURLINFO_TOTAL_TIME_T, &us) != CURLE_OK)
        us = 0;
    char tmpl[256];
    docker_path_template(path, tmpl, sizeof(tmpl));
    hook(method, tmpl, status, (int64_t)us);
}
