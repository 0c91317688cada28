/*
 * tests/unit/docker/live_support.h - shared by the live_*.c tests, which talk
 * to the real dockerd. Every container and network they create is named
 * fltest-dk-<pid>-... and labelled fltest-dk=<pid>; the group teardown removes
 * all of them, even after a failed test. They carry the ctest label "live"
 * (not "unit": they need dockerd). When dockerd does not answer /_ping they
 * fail if $CI is set, and otherwise skip, counted: the program then exits 77,
 * which ctest reports as Skipped (LIVE_RESULT, SKIP_RETURN_CODE).
 */
#ifndef LIVE_SUPPORT_H
#define LIVE_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "docker/docker.h"

#define LIVE_IMAGE "flamed-test/busybox:latest"
#define LIVE_LABEL_KEY "fltest-dk"

static docker_client *live;
static int live_up;
static char live_prefix[64];   /* fltest-dk-<pid> */
static char live_pid_text[24]; /* <pid>, the label value */
static char live_label[96];    /* fltest-dk=<pid>, the label filter */
static int live_skipped;       /* tests skipped for want of dockerd */

#define LIVE_REQUIRE()                                                                             \
    do {                                                                                           \
        if (!live_up) {                                                                            \
            const char *ci_ = getenv("CI");                                                        \
            if (ci_ && *ci_)                                                                       \
                fail_msg("dockerd does not answer, and CI is set: live tests must run");           \
            live_skipped++;                                                                        \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/** main's exit code: cmocka's failures, else 77 (ctest: Skipped) when a test skipped. */
#define LIVE_RESULT(cmocka_rc) ((cmocka_rc) ? (cmocka_rc) : live_skipped ? 77 : 0)

static inline double live_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The object {"fltest-dk": "<pid>"}; owned by the caller. */
static inline cJSON *live_labels(void)
{
    cJSON *l = cJSON_CreateObject();

    assert_non_null(l);
    assert_non_null(cJSON_AddStringToObject(l, LIVE_LABEL_KEY, live_pid_text));
    return l;
}

static inline void live_name(char *out, size_t outlen, const char *suffix)
{
    snprintf(out, outlen, "%s-%s", live_prefix, suffix);
}

/* Create a labelled busybox container named <prefix>-<suffix>; returns its id (free()). */
static inline char *live_create(const char *suffix, const char *const *cmd, const char *network)
{
    struct docker_container_spec spec = {0};
    char name[128], err[512] = "";
    cJSON *labels = live_labels(), *cfg = NULL;
    char *id = NULL;
    int rc;

    live_name(name, sizeof name, suffix);
    spec.image = LIVE_IMAGE;
    spec.hostname = suffix;
    spec.cmd = cmd;
    spec.network = network;
    spec.labels = labels;
    assert_int_equal(docker_container_config_build(&spec, &cfg, err, sizeof err), 0);
    rc = docker_container_create(live, name, cfg, &id, err, sizeof err);
    cJSON_Delete(cfg);
    cJSON_Delete(labels);
    if (rc != 0)
        fail_msg("create %s: %s (%d)", name, err, rc);
    return id;
}

/* Create and start; returns the id (free()). */
static inline char *live_run(const char *suffix, const char *const *cmd)
{
    char err[512] = "";
    char *id = live_create(suffix, cmd, NULL);
    int rc = docker_container_start(live, id, 30000, err, sizeof err);

    if (rc != 0) {
        docker_container_remove(live, id, NULL, 0);
        free(id);
        fail_msg("start %s: %s (%d)", suffix, err, rc);
    }
    return id;
}

/* Remove every container and network labelled for this process. */
static inline void live_cleanup(void)
{
    char err[512], path[512], esc[256];
    cJSON *list = NULL, *it, *id, *nets = NULL;
    long status = 0;
    size_t i, o = 0;

    if (docker_container_list(live, live_label, &list, err, sizeof err) == 0) {
        cJSON_ArrayForEach (it, list) {
            id = cJSON_GetObjectItemCaseSensitive(it, "Id");
            if (cJSON_IsString(id))
                docker_container_remove(live, id->valuestring, err, sizeof err);
        }
    }
    cJSON_Delete(list);
    /* {"label":["fltest-dk=<pid>"]} URL-encoded by hand: only '=' and quotes need it. */
    for (i = 0; live_label[i] && o + 4 < sizeof esc; i++) {
        if (live_label[i] == '=') {
            memcpy(esc + o, "%3D", 3);
            o += 3;
        } else {
            esc[o++] = live_label[i];
        }
    }
    esc[o] = '\0';
    snprintf(path, sizeof path, "/networks?filters=%%7B%%22label%%22%%3A%%5B%%22%s%%22%%5D%%7D",
             esc);
    if (docker_request(live, "GET", path, NULL, 10000, &status, &nets, err, sizeof err) == 0 &&
        status == 200) {
        cJSON_ArrayForEach (it, nets) {
            id = cJSON_GetObjectItemCaseSensitive(it, "Id");
            if (cJSON_IsString(id))
                docker_network_remove(live, id->valuestring, err, sizeof err);
        }
    }
    cJSON_Delete(nets);
}

static inline int live_group_setup(void **state)
{
    char err[512] = "", path[512];
    const char *dh = getenv("DOCKER_HOST");

    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    snprintf(live_pid_text, sizeof live_pid_text, "%ld", (long)getpid());
    snprintf(live_prefix, sizeof live_prefix, "fltest-dk-%s", live_pid_text);
    snprintf(live_label, sizeof live_label, "%s=%s", LIVE_LABEL_KEY, live_pid_text);
    if (docker_socket_detect(path, sizeof path, dh, getenv("HOME"), NULL) < 0)
        snprintf(path, sizeof path, "/var/run/docker.sock");
    if (docker_client_new(&live, path) != 0)
        return -1;
    live_up = docker_ping(live, err, sizeof err) == 0;
    if (!live_up)
        fprintf(stderr, "# dockerd does not answer at %s (%s): live tests skipped\n", path, err);
    return 0;
}

static inline int live_group_teardown(void **state)
{
    (void)state;
    if (live_up)
        live_cleanup();
    docker_client_free(live);
    live = NULL;
    curl_global_cleanup();
    return 0;
}

#endif
