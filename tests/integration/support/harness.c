/*
 * The integration-test harness: flamed as a child process, a Docker client to
 * check Docker's side, unique names and a teardown that removes everything a
 * test created even when it failed half-way. See harness.h.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

extern char **environ;

#define DOCKER_SOCK "/var/run/docker.sock"
#define LOG_PRINT_MAX (96 * 1024)
#define FLAMED_START_MS 30000

const char *const fl_cmd_termable[] = {"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait", NULL};

struct fl_watcher {
    fl_watcher *next;
    fl_env *env;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fl_event *events;
    size_t n, cap;
    int done, rc;
    flame_status st;
    atomic_int stop;
    char pool[72], runner_id[40];
    int include_existing;
};

/* ------------------------------------------------------------ utilities */

int64_t fl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fl_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static unsigned rand16(void)
{
    unsigned short v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (unsigned short)(fl_now_ms() ^ getpid());
    return v;
}

void fl_unique(char *out, size_t outlen)
{
    static atomic_int n;
    snprintf(out, outlen, "%d-%04x", atomic_fetch_add(&n, 1) + 1, rand16());
}

void fl__assert_contains(const char *hay, const char *needle, const char *file, int line)
{
    if (!hay || !needle || !strstr(hay, needle)) {
        print_error("%s:%d: expected to find \"%s\" in:\n---\n%s\n---\n", file, line,
                    needle ? needle : "(null)", hay ? hay : "(null)");
        _fail(file, line);
    }
}

void fl__assert_status(int rc, const flame_status *st, int want_grpc_code, const char *file,
                       int line)
{
    if (st->code != want_grpc_code || rc != flame_error_from_grpc_status(want_grpc_code)) {
        print_error("%s:%d: expected status %s, got rc=%s status=%s message=\"%s\" reason=%s\n",
                    file, line, flame_grpc_status_name(want_grpc_code), flame_error_name(rc),
                    flame_grpc_status_name(st->code), st->message, st->reason);
        _fail(file, line);
    }
}

const cJSON *fl_json_path(const cJSON *root, const char *dotted)
{
    char key[256];
    const cJSON *cur = root;
    const char *p = dotted;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p = dot ? dot + 1 : p + n;
    }
    return cur;
}

/* ------------------------------------------------------------ logs */

/* Print flamed's log from byte `offset` (the test's start), at most its last LOG_PRINT_MAX. */
static void print_log(const fl_env *e, long offset)
{
    FILE *f = fopen(e->log_path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size - offset > LOG_PRINT_MAX ? size - LOG_PRINT_MAX : offset;
    fseek(f, from, SEEK_SET);
    fprintf(stderr, "----- flamed log %s (%s%ld bytes from offset %ld) -----\n", e->log_path,
            from > offset ? "last " : "", size - from, from);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "----- end of flamed log (kept at %s) -----\n", e->log_path);
    fclose(f);
}

/* ------------------------------------------------------------ flamed */

static int wait_exit(pid_t pid, int timeout_ms, int *wstatus)
{
    int64_t until = fl_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, wstatus, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (fl_now_ms() >= until)
            return 1;
        fl_sleep_ms(10);
    }
}

void fl_flamed_start(fl_env *e)
{
    if (e->shared)
        fail_msg("this test restarts flamed: run its group with FL_RUN, not FL_RUN_SHARED");
    const char *bin = getenv("FLAMED_BIN");
    if (!bin || !bin[0])
        fail_msg("FLAMED_BIN is not set: run the integration tests through ctest");
    assert_int_equal(e->flamed_pid, 0);
    for (fl_watcher *w = e->watchers; w; w = w->next)
        fl_watch_stop(w); /* they use the old client */
    flame_client_close(e->client);
    e->client = NULL;

    unlink(e->sock_path);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, e->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const char *argv[] = {bin,     "--listen",          e->addr, "--log-level",
                          "debug", "--stop-timeout-ms", "1000",  "--shutdown-grace-ms",
                          "2000",  NULL,                NULL,    NULL,
                          NULL,    NULL,                NULL,    NULL};
    size_t na = 9;
    if (fl_engine_is_swarm()) {
        argv[na++] = "--engine";
        argv[na++] = "swarm";
    }
    if (fl_docker_host()) {
        argv[na++] = "--docker-host";
        argv[na++] = fl_docker_host();
    }
    if (fl_boot_settle_ms()) {
        argv[na++] = "--boot-settle-ms";
        argv[na++] = fl_boot_settle_ms();
    }
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("posix_spawn %s: %s", bin, strerror(rc));
    e->flamed_pid = pid;
    e->flamed_starts++;

    /* flamed adopts the daemon's flamed containers before it listens: with many
     * containers on a loaded daemon that alone takes seconds. */
    int64_t until = fl_now_ms() + FLAMED_START_MS;
    struct stat sb;
    for (;;) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            e->flamed_pid = 0;
            fail_msg("flamed exited during start-up (wait status 0x%x); see its log", ws);
        }
        if (stat(e->sock_path, &sb) == 0)
            break;
        if (fl_now_ms() >= until)
            fail_msg("flamed did not create %s within %d s", e->sock_path, FLAMED_START_MS / 1000);
        fl_sleep_ms(10);
    }
    flame_client_options opts = {.timeout_ms = 120000};
    assert_int_equal(flame_client_open(&e->client, e->addr, &opts), 0);
    flame_status st;
    for (;;) {
        flame_runner **rs = NULL;
        size_t n = 0;
        if (flame_client_list(e->client, NULL, &rs, &n, &st) == 0) {
            flame_runner_list_free(rs, n);
            break;
        }
        if (fl_now_ms() >= until)
            fail_msg("flamed did not answer List within %d s: %s", FLAMED_START_MS / 1000,
                     st.message);
        fl_sleep_ms(50);
    }
}

int fl_flamed_stop(fl_env *e, int timeout_ms)
{
    int ws = 0;
    if (e->shared)
        fail_msg("this test stops flamed: run its group with FL_RUN, not FL_RUN_SHARED");
    if (!e->flamed_pid)
        return -1;
    kill(e->flamed_pid, SIGTERM);
    int rc = wait_exit(e->flamed_pid, timeout_ms, &ws);
    if (rc != 0) {
        fprintf(stderr, "flamed (pid %d) did not exit within %d ms of SIGTERM: SIGKILL\n",
                (int)e->flamed_pid, timeout_ms);
        kill(e->flamed_pid, SIGKILL);
        waitpid(e->flamed_pid, &ws, 0);
        e->flamed_pid = 0;
        return -1;
    }
    e->flamed_pid = 0;
    return ws;
}

void fl_assert_clean_exit(fl_env *e, int wstatus)
{
    (void)e;
    if (wstatus == -1)
        fail_msg("flamed did not exit in time after SIGTERM");
    if (WIFSIGNALED(wstatus))
        fail_msg("flamed was killed by signal %d", WTERMSIG(wstatus));
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
        fail_msg("flamed exited %d, not 0 (sanitizer report or error: see its log)",
                 WEXITSTATUS(wstatus));
}

/* ------------------------------------------------------------ fixtures */

void fl_apply_filter(void)
{
    const char *f = getenv("FLTEST_FILTER");
    if (f && f[0])
        cmocka_set_test_filter(f);
}

/* The group's env when tests share one flamed and network (FL_RUN_SHARED), else NULL. */
static fl_env *group;
static int group_teardown_failed;

/* Tests skipped in this run (fl_skip); the tests run one at a time. */
static int skipped;

void fl_skip(const char *why)
{
    const char *ci = getenv("CI");

    if (ci && *ci)
        fail_msg("not run, and CI is set, so that fails: %s", why);
    print_message("skipped: %s\n", why);
    skipped++;
    skip();
}

int fl_group_result(int cmocka_rc)
{
    if (cmocka_rc == 0 && group_teardown_failed)
        fprintf(stderr, "FAILED: the group teardown failed (see above)\n");
    if (cmocka_rc)
        return cmocka_rc;
    if (group_teardown_failed)
        return group_teardown_failed;
    if (skipped)
        fprintf(stderr, "%d test(s) skipped: exit %d (ctest: Skipped)\n", skipped, FL_EXIT_SKIPPED);
    return skipped ? FL_EXIT_SKIPPED : 0;
}

/* An env with a fresh tag; the network, socket and log named after it. */
static fl_env *env_new(void)
{
    static atomic_int n, curl_done;
    if (!atomic_exchange(&curl_done, 1))
        curl_global_init(CURL_GLOBAL_DEFAULT);
    fl_env *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    int k = atomic_fetch_add(&n, 1) + 1;
    snprintf(e->tag, sizeof(e->tag), "fltest-%d-%d-%04x", (int)getpid(), k, rand16());
    snprintf(e->network, sizeof(e->network), "%s", e->tag);
    snprintf(e->pool, sizeof(e->pool), "%s", e->tag);
    snprintf(e->run_label, sizeof(e->run_label), FL_RUN_LABEL_KEY "=%s", e->tag);
    e->labels[0] = e->run_label;
    e->labels[1] = NULL;
    snprintf(e->sock_path, sizeof(e->sock_path), "/tmp/%s.sock", e->tag);
    snprintf(e->addr, sizeof(e->addr), "unix:%s", e->sock_path);
    snprintf(e->log_path, sizeof(e->log_path), "/tmp/%s.log", e->tag);
    return e;
}

const char *fl_docker_host(void)
{
    const char *h = getenv("FLTEST_DOCKER_HOST");
    return h && h[0] ? h : NULL;
}

const char *fl_boot_settle_ms(void)
{
    const char *v = getenv("FLTEST_BOOT_SETTLE_MS");
    return v && v[0] ? v : NULL;
}

const char *fl_docker_socket(void)
{
    const char *h = fl_docker_host();
    if (!h)
        return DOCKER_SOCK;
    if (strncmp(h, "unix://", 7) == 0 && h[7] == '/')
        return h + 7;
    if (h[0] == '/')
        return h;
    fail_msg("FLTEST_DOCKER_HOST=%s: the harness takes unix:///path only", h);
    return NULL;
}

int fl_engine_is_podman(fl_env *e)
{
    static atomic_int known = -1;
    int k = atomic_load(&known);
    if (k >= 0)
        return k;
    long status = 0;
    cJSON *js = NULL;
    char err[256] = "";
    if (docker_request(e->docker, "GET", "/version", NULL, 10000, &status, &js, err, sizeof(err)) < 0 ||
        status != 200)
        fail_msg("GET /version: %s (HTTP %ld)", err, status);
    k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(js, "Components"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "Name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, "Podman Engine") == 0)
            k = 1;
    }
    cJSON_Delete(js);
    atomic_store(&known, k);
    return k;
}

int fl_engine_is_swarm(void)
{
    const char *v = getenv("FLTEST_ENGINE");
    return v && strcmp(v, "swarm") == 0;
}

cJSON *fl_service_inspect(fl_env *e, const char *service_id)
{
    cJSON *j = NULL;
    char err[512];
    int rc = docker_service_inspect(e->docker, service_id, &j, err, sizeof(err));
    if (rc == FLAME_ENOTFOUND)
        return NULL;
    if (rc < 0)
        fail_msg("docker service inspect %s: %s", service_id, err);
    return j;
}

/* The label every task container of a service carries. */
static void service_label(const char *service_id, char *out, size_t outlen)
{
    snprintf(out, outlen, "com.docker.swarm.service.id=%s", service_id);
}

/* Swarm: the container of the service's newest task (highest Version.Index),
 * else any container labelled with the service; "" when none. */
static void service_container(fl_env *e, const char *service_id, char *out, size_t outlen)
{
    cJSON *tasks = NULL;
    char err[512];
    double best = -1;
    out[0] = '\0';
    if (docker_task_list(e->docker, service_id, &tasks, err, sizeof(err)) == 0) {
        const cJSON *t;
        cJSON_ArrayForEach(t, tasks)
        {
            const cJSON *ix = fl_json_path(t, "Version.Index");
            const cJSON *cid = fl_json_path(t, "Status.ContainerStatus.ContainerID");
            double v = cJSON_IsNumber(ix) ? ix->valuedouble : 0;
            if (cJSON_IsString(cid) && cid->valuestring[0] && v > best) {
                best = v;
                snprintf(out, outlen, "%s", cid->valuestring);
            }
        }
    }
    cJSON_Delete(tasks);
    if (out[0])
        return;
    char label[128];
    cJSON *list = NULL;
    service_label(service_id, label, sizeof(label));
    if (docker_container_list(e->docker, label, &list, err, sizeof(err)) == 0) {
        const cJSON *id = fl_json_path(cJSON_GetArrayItem(list, 0), "Id");
        if (cJSON_IsString(id))
            snprintf(out, outlen, "%s", id->valuestring);
    }
    cJSON_Delete(list);
}

/* Swarm: create the test's network as an attachable overlay. 0 or -1 (err). */
static int overlay_create(fl_env *e, char *err, size_t errlen)
{
    cJSON *body = cJSON_CreateObject(), *resp = NULL;
    assert_non_null(body);
    cJSON_AddStringToObject(body, "Name", e->network);
    cJSON_AddStringToObject(body, "Driver", "overlay");
    cJSON_AddBoolToObject(body, "Attachable", 1);
    cJSON_AddBoolToObject(body, "CheckDuplicate", 1);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "Labels"), FL_RUN_LABEL_KEY, e->tag);
    long status = 0;
    int rc = docker_request(e->docker, "POST", "/networks/create", body, 30000, &status, &resp,
                            err, errlen);
    cJSON_Delete(body);
    if (rc == 0 && status != 201) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(resp, "message");
        snprintf(err, errlen, "HTTP %ld: %s", status, cJSON_IsString(m) ? m->valuestring : "");
        rc = -1;
    }
    cJSON_Delete(resp);
    return rc < 0 ? -1 : 0;
}

static int env_docker(fl_env *e)
{
    char err[512] = "";
    const char *sock = fl_docker_socket();
    if (docker_client_new(&e->docker, sock) < 0)
        return -1;
    if (docker_ping(e->docker, err, sizeof(err)) < 0)
        snprintf(e->skip_reason, sizeof(e->skip_reason), "Docker does not answer /_ping on "
                 "%.100s (%.60s): %.50s", sock, err, fl_docker_host() ? "start the engine "
                 "FLTEST_DOCKER_HOST names" : "start it with scripts/dockerd-up");
    return 0;
}

int fl_group_setup(void **state)
{
    group = env_new();
    if (!group || env_docker(group) < 0)
        return -1;
    *state = group;
    return 0;
}

int fl_setup(void **state)
{
    fl_env *e = env_new();
    if (!e)
        return -1;
    if (group) {
        /* Its own tag, pool and label; the group's network, flamed and clients. */
        e->shared = 1;
        snprintf(e->network, sizeof(e->network), "%s", group->network);
        snprintf(e->sock_path, sizeof(e->sock_path), "%s", group->sock_path);
        snprintf(e->addr, sizeof(e->addr), "%s", group->addr);
        snprintf(e->log_path, sizeof(e->log_path), "%s", group->log_path);
        snprintf(e->skip_reason, sizeof(e->skip_reason), "%s", group->skip_reason);
        e->docker = group->docker;
    } else if (env_docker(e) < 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

void fl_network_create(fl_env *e)
{
    char err[512] = "";
    cJSON *labels = cJSON_CreateObject();
    assert_non_null(labels);
    cJSON_AddStringToObject(labels, FL_RUN_LABEL_KEY, e->tag);
    int rc = fl_engine_is_swarm()
                 ? overlay_create(e, err, sizeof(err))
                 : docker_network_create(e->docker, e->network, labels, NULL, err, sizeof(err));
    cJSON_Delete(labels);
    if (rc < 0)
        fail_msg("docker network create %s: %s", e->network, err);
    e->network_created = 1;
}

/* Check the images, create the network, start flamed. Asserts. */
static void env_start(fl_env *e)
{
    char err[512] = "";
    const char *images[] = {FL_IMAGE_BUSYBOX, FL_IMAGE_APP, FL_IMAGE_HEALTHY};
    for (size_t i = 0; i < 3; i++)
        if (docker_image_inspect(e->docker, images[i], NULL, err, sizeof(err)) < 0)
            fail_msg("test image %s is missing: build it with scripts/test-images (%s)", images[i],
                     err);
    int64_t t0 = fl_now_ms();
    fl_network_create(e);
    e->network_ms = fl_now_ms() - t0;
    t0 = fl_now_ms();
    fl_flamed_start(e);
    e->flamed_start_ms = fl_now_ms() - t0;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

fl_env *fl_begin(void **state)
{
    fl_env *e = *state;
    e->t_begin = fl_now_ms();
    if (e->skip_reason[0]) {
        e->passed = 1;
        fl_skip(e->skip_reason);
    }
    if (e->shared) {
        /* The first test starts the group's flamed (here, where assertions work). */
        if (group->start_failed)
            fail_msg("the group's flamed or network failed to start in an earlier test");
        if (!group->flamed_starts) {
            group->start_failed = 1;
            env_start(group);
            group->start_failed = 0;
        }
        if (!group->flamed_pid)
            fail_msg("the group's flamed is not running (it exited during an earlier test)");
        e->client = group->client;
        e->log_offset = file_size(e->log_path);
    } else {
        env_start(e);
    }
    e->t_body = fl_now_ms();
    return e;
}

pid_t fl_flamed_pid(const fl_env *e)
{
    return e->shared && group ? group->flamed_pid : e->flamed_pid;
}

long fl_vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* Swarm: remove the services labelled with the tag (the swarm then removes
 * their containers). */
static void remove_leftover_services(fl_env *e)
{
    cJSON *list = NULL;
    char err[512];
    if (docker_service_list(e->docker, e->run_label, &list, err, sizeof(err)) < 0) {
        fprintf(stderr, "teardown: listing services labelled %s: %s\n", e->run_label, err);
        return;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "ID");
        if (cJSON_IsString(id) && docker_service_remove(e->docker, id->valuestring, err,
                                                        sizeof(err)) < 0)
            fprintf(stderr, "teardown: removing service %.12s: %s\n", id->valuestring, err);
    }
    cJSON_Delete(list);
}

static void remove_leftovers(fl_env *e)
{
    cJSON *list = NULL;
    char err[512];
    if (fl_engine_is_swarm())
        remove_leftover_services(e);
    if (docker_container_list(e->docker, e->run_label, &list, err, sizeof(err)) < 0) {
        fprintf(stderr, "teardown: listing containers labelled %s: %s\n", e->run_label, err);
        return;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
        if (cJSON_IsString(id) && docker_container_remove(e->docker, id->valuestring, err,
                                                          sizeof(err)) < 0)
            fprintf(stderr, "teardown: removing container %.12s: %s\n", id->valuestring, err);
    }
    cJSON_Delete(list);
}

static void free_watchers(fl_env *e)
{
    fl_watcher *w = e->watchers;
    while (w) {
        fl_watcher *next = w->next;
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->events);
        free(w);
        w = next;
    }
    e->watchers = NULL;
}

/* Stop flamed (asserting exit 0), remove containers and network. 0 or -1. */
static int env_stop(fl_env *e)
{
    int failed = 0;
    char err[512];
    flame_client_close(e->client);
    e->client = NULL;
    if (e->flamed_pid) {
        int ws = fl_flamed_stop(e, 10000);
        if (ws == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "teardown: flamed did not exit 0 after SIGTERM (wait status %d): "
                            "see its log below\n", ws);
            failed = 1;
        }
    }
    remove_leftovers(e);
    if (e->network_created) {
        int rc = 0;
        /* Swarm removes a service's container after the service, and its
         * overlay endpoint after that: up to 30 s there. */
        int tries = fl_engine_is_swarm() ? 300 : 50;
        for (int i = 0; i < tries; i++) {
            rc = docker_network_remove(e->docker, e->network, err, sizeof(err));
            /* 409, or 403 "has active endpoints": a removed container's
             * endpoint can outlive its destroy event for a moment on a
             * loaded daemon. */
            if (rc != FLAME_ECONFLICT && !(rc == FLAME_EPERM && strstr(err, "active endpoints")))
                break;
            remove_leftovers(e);
            fl_sleep_ms(100);
        }
        if (rc < 0 && rc != FLAME_ENOTFOUND) {
            fprintf(stderr, "teardown: removing network %s: %s\n", e->network, err);
            failed = 1;
        }
        e->network_created = 0;
    }
    return failed ? -1 : 0;
}

int fl_teardown(void **state)
{
    fl_env *e = *state;
    int failed = 0;
    int64_t t_td = fl_now_ms();
    for (fl_watcher *w = e->watchers; w; w = w->next)
        fl_watch_stop(w);
    if (e->shared) {
        e->client = NULL; /* the group's */
        remove_leftovers(e);
        int ws;
        if (group->flamed_pid && waitpid(group->flamed_pid, &ws, WNOHANG) == group->flamed_pid) {
            fprintf(stderr, "teardown: flamed exited during the test (wait status 0x%x)\n", ws);
            group->flamed_pid = 0;
            failed = 1;
        }
    } else {
        failed = env_stop(e) < 0;
    }
    if (getenv("FLTEST_TIMES") && e->t_body)
        fprintf(stderr, "times: network %lld ms, flamed start %lld ms, body %lld ms, teardown "
                        "%lld ms\n", (long long)e->network_ms, (long long)e->flamed_start_ms,
                (long long)(t_td - e->t_body), (long long)(fl_now_ms() - t_td));
    if (e->shared) {
        if (!e->passed || failed) {
            group->any_failed = 1;
            print_log(e, e->log_offset);
        }
    } else {
        if (e->flamed_starts && (!e->passed || failed))
            print_log(e, 0);
        else
            unlink(e->log_path);
        unlink(e->sock_path);
        docker_client_free(e->docker);
    }
    free_watchers(e);
    free(e);
    *state = NULL;
    return failed ? -1 : 0;
}

int fl_group_teardown(void **state)
{
    fl_env *g = *state;
    int failed = env_stop(g) < 0;
    if (g->flamed_starts && failed)
        print_log(g, 0); /* the whole log: flamed's exit is what failed */
    else if (g->flamed_starts && g->any_failed)
        fprintf(stderr, "flamed's log is kept at %s\n", g->log_path);
    else
        unlink(g->log_path);
    unlink(g->sock_path);
    docker_client_free(g->docker);
    free(g);
    group = NULL;
    *state = NULL;
    if (failed)
        group_teardown_failed = 1;
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------ boot */

void fl_boot_req_init(fl_env *e, flame_boot_request *req)
{
    memset(req, 0, sizeof(*req));
    req->image = FL_IMAGE_APP;
    req->network = e->network;
    req->pool = e->pool;
    req->labels = e->labels;
    req->cmd = fl_cmd_termable;
    req->boot_timeout_ms = 60000;
}

flame_runner *fl_boot(fl_env *e, const flame_boot_request *req)
{
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(e->client, req, &r, &st);
    if (rc != 0)
        fail_msg("Boot failed: %s %s: %s", flame_error_name(rc), flame_grpc_status_name(st.code),
                 st.message);
    assert_non_null(r);
    return r;
}

flame_runner *fl_boot_default(fl_env *e, const char *pool)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    if (pool)
        req.pool = pool;
    return fl_boot(e, &req);
}

const char *fl_group_runner(fl_env *e)
{
    fl_env *owner = e->shared ? group : e;
    if (!owner->runner_id[0]) {
        flame_boot_request req;
        fl_boot_req_init(owner, &req); /* the owner's pool and label: removed with it */
        flame_runner *r = fl_boot(e, &req);
        snprintf(owner->runner_id, sizeof(owner->runner_id), "%s", r->id);
        flame_runner_free(r);
    }
    return owner->runner_id;
}

int fl_shutdown(fl_env *e, const char *runner_id)
{
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_shutdown(e->client, runner_id, 0, &r, &st);
    if (rc != 0)
        fail_msg("Shutdown %s failed: %s: %s", runner_id, flame_error_name(rc), st.message);
    assert_non_null(r);
    int state = r->state;
    flame_runner_free(r);
    return state;
}

void fl_probe_boot(fl_env *e, const char *pool, const char *probe)
{
    char net[64], label[96];
    snprintf(net, sizeof(net), "fltest-nonet-%d", (int)getpid());
    snprintf(label, sizeof(label), FL_PROBE_LABEL_KEY "=%s", probe);
    const char *labels[] = {e->run_label, label, NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.network = net;
    req.pool = pool ? pool : e->pool;
    req.labels = labels;
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(e->client, &req, &r, &st);
    flame_runner_free(r);
    fl_assert_status(rc, &st, 9 /* FAILED_PRECONDITION */);
}

/* ------------------------------------------------------------ spawn */

static int buf_add(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

void fl_output_free(fl_output *o)
{
    if (!o)
        return;
    free(o->out);
    free(o->err);
    free(o->all);
    memset(o, 0, sizeof(*o));
}

static int out_cb(void *ud, int stream, const void *data, size_t len)
{
    fl_output *o = ud;
    if (!o->first_chunk_ms)
        o->first_chunk_ms = fl_now_ms();
    int bad = stream == 2 ? buf_add(&o->err, &o->err_len, &o->err_cap, data, len)
                          : buf_add(&o->out, &o->out_len, &o->out_cap, data, len);
    bad |= buf_add(&o->all, &o->all_len, &o->all_cap, data, len);
    o->chunks++;
    if (bad)
        return 1;
    if (o->cancel_after_chunks > 0 && o->chunks >= (size_t)o->cancel_after_chunks)
        return 1;
    return 0;
}

static void started_cb(void *ud, const char *exec_id)
{
    fl_output *o = ud;
    snprintf(o->exec_id, sizeof(o->exec_id), "%s", exec_id);
}

int fl_spawn_req(fl_env *e, const flame_spawn_request *req, fl_output *o, int *exit_code,
                 flame_status *st)
{
    flame_spawn_handler h = {.on_started = started_cb, .on_output = out_cb, .ud = o};
    /* never NULL buffers, so tests can strcmp an empty stream */
    buf_add(&o->out, &o->out_len, &o->out_cap, "", 0);
    buf_add(&o->err, &o->err_len, &o->err_cap, "", 0);
    buf_add(&o->all, &o->all_len, &o->all_cap, "", 0);
    return flame_client_spawn(e->client, req, &h, exit_code, st);
}

int fl_spawn_stdin_req(fl_env *e, const flame_spawn_request *req, const flame_spawn_input *in,
                       fl_output *o, int *exit_code, flame_status *st)
{
    flame_spawn_handler h = {.on_started = started_cb, .on_output = out_cb, .ud = o};
    buf_add(&o->out, &o->out_len, &o->out_cap, "", 0);
    buf_add(&o->err, &o->err_len, &o->err_cap, "", 0);
    buf_add(&o->all, &o->all_len, &o->all_cap, "", 0);
    return flame_client_spawn_stdin(e->client, req, &h, in, exit_code, st);
}

int fl_spawn_argv(fl_env *e, const char *runner_id, const char *const *argv, fl_output *o)
{
    flame_spawn_request req = {.runner_id = runner_id, .argv = argv};
    flame_status st;
    int code = -1;
    int rc = fl_spawn_req(e, &req, o, &code, &st);
    if (rc != 0)
        fail_msg("Spawn %s in %s failed: %s: %s", argv[0], runner_id, flame_error_name(rc),
                 st.message);
    return code;
}

int fl_spawn_sh(fl_env *e, const char *runner_id, const char *script, fl_output *o)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    return fl_spawn_argv(e, runner_id, argv, o);
}

/* ------------------------------------------------------------ docker */

cJSON *fl_inspect(fl_env *e, const char *container_id)
{
    cJSON *j = NULL;
    char err[512], cid[80];
    if (fl_engine_is_swarm()) {
        service_container(e, container_id, cid, sizeof(cid));
        if (!cid[0])
            return NULL;
        container_id = cid;
    }
    int rc = docker_container_inspect(e->docker, container_id, &j, err, sizeof(err));
    if (rc == FLAME_ENOTFOUND)
        return NULL;
    if (rc < 0)
        fail_msg("docker inspect %s: %s", container_id, err);
    return j;
}

int fl_count_labelled(fl_env *e, const char *label)
{
    cJSON *list = NULL;
    char err[512];
    if (fl_engine_is_swarm()) {
        if (docker_service_list(e->docker, label, &list, err, sizeof(err)) < 0)
            fail_msg("docker service ls --filter label=%s: %s", label, err);
    } else if (docker_container_list(e->docker, label, &list, err, sizeof(err)) < 0)
        fail_msg("docker ps --filter label=%s: %s", label, err);
    int n = cJSON_GetArraySize(list);
    cJSON_Delete(list);
    return n;
}

int fl_wait_container_gone(fl_env *e, const char *container_id, int timeout_ms)
{
    int64_t until = fl_now_ms() + timeout_ms;
    for (;;) {
        cJSON *j = fl_engine_is_swarm() ? fl_service_inspect(e, container_id) : NULL;
        if (!j)
            j = fl_inspect(e, container_id); /* swarm: the service's containers */
        if (!j)
            return 0;
        cJSON_Delete(j);
        if (fl_now_ms() >= until)
            return -1;
        fl_sleep_ms(50);
    }
}

int fl_remove_container(fl_env *e, const char *container_id)
{
    char err[512];
    if (fl_engine_is_swarm()) {
        char cid[80];
        service_container(e, container_id, cid, sizeof(cid));
        int rc = docker_service_remove(e->docker, container_id, err, sizeof(err));
        if (cid[0] && docker_container_remove(e->docker, cid, err, sizeof(err)) == 0)
            rc = 0;
        return rc;
    }
    return docker_container_remove(e->docker, container_id, err, sizeof(err));
}

/* ------------------------------------------------------------ watch */

static int watch_fn(void *ud, const flame_event *ev)
{
    fl_watcher *w = ud;
    fl_event rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = ev->type;
    rec.sequence = ev->sequence;
    if (ev->runner) {
        const flame_runner *r = ev->runner;
        const char *probe = flame_runner_label(r, FL_PROBE_LABEL_KEY);
        snprintf(rec.runner_id, sizeof(rec.runner_id), "%s", r->id ? r->id : "");
        snprintf(rec.pool, sizeof(rec.pool), "%s", r->pool ? r->pool : "");
        snprintf(rec.probe, sizeof(rec.probe), "%s", probe ? probe : "");
        rec.state = r->state;
        rec.exit_code = r->exit_code;
        rec.oom_killed = r->oom_killed;
    }
    pthread_mutex_lock(&w->mu);
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        fl_event *ne = realloc(w->events, nc * sizeof(*ne));
        if (!ne) {
            pthread_mutex_unlock(&w->mu);
            return 1;
        }
        w->events = ne;
        w->cap = nc;
    }
    w->events[w->n++] = rec;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return atomic_load(&w->stop);
}

static int watch_tick(void *ud)
{
    fl_watcher *w = ud;
    return atomic_load(&w->stop);
}

static void *watch_main(void *arg)
{
    fl_watcher *w = arg;
    flame_watch_request req = {
        .pool = w->pool,
        .runner_id = w->runner_id,
        .include_existing = w->include_existing,
        .on_tick = watch_tick,
    };
    flame_status st;
    memset(&st, 0, sizeof(st));
    int rc = flame_client_watch(w->env->client, &req, watch_fn, w, &st);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->st = st;
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

fl_watcher *fl_watch_start(fl_env *e, const char *pool, const char *runner_id,
                           int include_existing)
{
    fl_watcher *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->env = e;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(w->pool, sizeof(w->pool), "%s", pool ? pool : "");
    snprintf(w->runner_id, sizeof(w->runner_id), "%s", runner_id ? runner_id : "");
    w->include_existing = include_existing;
    w->next = e->watchers;
    e->watchers = w;
    assert_int_equal(pthread_create(&w->thread, NULL, watch_main, w), 0);
    w->started = 1;
    return w;
}

/* Wait until match() finds an event; its index, or -1 (timeout or stream ended). */
static int wait_match(fl_watcher *w, int (*match)(const fl_event *, const void *),
                      const void *ud, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int found = -1;
    size_t scanned = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        for (; scanned < w->n; scanned++)
            if (match(&w->events[scanned], ud)) {
                found = (int)scanned;
                break;
            }
        if (found >= 0 || w->done)
            break;
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) {
            for (; scanned < w->n && found < 0; scanned++)
                if (match(&w->events[scanned], ud))
                    found = (int)scanned;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

struct id_type {
    const char *runner_id;
    int type;
};

static int match_id_type(const fl_event *ev, const void *ud)
{
    const struct id_type *m = ud;
    return ev->type == m->type && (!m->runner_id || strcmp(ev->runner_id, m->runner_id) == 0);
}

static int match_probe_failed(const fl_event *ev, const void *ud)
{
    return ev->type == FLAME_EVENT_FAILED && strcmp(ev->probe, (const char *)ud) == 0;
}

int fl_watch_wait(fl_watcher *w, const char *runner_id, int type, int timeout_ms)
{
    struct id_type m = {runner_id, type};
    return wait_match(w, match_id_type, &m, timeout_ms);
}

void fl_watch_sync(fl_env *e, fl_watcher *w, const char *pool)
{
    /* The Watch call may reach flamed after a probe: probe again until one is seen. */
    int64_t until = fl_now_ms() + 10000;
    while (fl_now_ms() < until) {
        char probe[40];
        fl_unique(probe, sizeof(probe));
        fl_probe_boot(e, pool, probe);
        if (wait_match(w, match_probe_failed, probe, 300) >= 0)
            return;
    }
    fail_msg("the watcher saw none of its probes' FAILED events within 10 s");
}

int fl_watch_wait_end(fl_watcher *w, int timeout_ms, int *rc, flame_status *st)
{
    int64_t until = fl_now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int done = w->done;
        if (done) {
            if (rc)
                *rc = w->rc;
            if (st)
                *st = w->st;
        }
        pthread_mutex_unlock(&w->mu);
        if (done)
            return 0;
        if (fl_now_ms() >= until)
            return -1;
        fl_sleep_ms(20);
    }
}

size_t fl_watch_events(fl_watcher *w, fl_event **out)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->n;
    fl_event *copy = malloc((n ? n : 1) * sizeof(*copy));
    if (copy && n)
        memcpy(copy, w->events, n * sizeof(*copy));
    pthread_mutex_unlock(&w->mu);
    assert_non_null(copy);
    *out = copy;
    return n;
}

void fl_watch_stop(fl_watcher *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    w->started = 0;
}

/* ------------------------------------------------------------ raw gRPC */

int fl_grpc_unary(fl_env *e, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                  char *message, size_t msglen)
{
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(e->addr, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice path = grpc_slice_from_copied_string(method);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(60000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               deadline, NULL);
    grpc_slice_unref(path);

    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *recv = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, 6, (void *)1, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);

    if (message && msglen) {
        size_t n = GRPC_SLICE_LENGTH(details);
        if (n >= msglen)
            n = msglen - 1;
        memcpy(message, GRPC_SLICE_START_PTR(details), n);
        message[n] = '\0';
    }
    if (resp) {
        *resp = NULL;
        if (recv) {
            grpc_byte_buffer_reader reader;
            if (grpc_byte_buffer_reader_init(&reader, recv)) {
                grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
                grpc_byte_buffer_reader_destroy(&reader);
                *resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all),
                                                  GRPC_SLICE_START_PTR(all));
                grpc_slice_unref(all);
            }
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    return (int)status;
}

/* ------------------------------------------------------------ flamectl */

int fl_flamectl(fl_env *e, const char *const *args, char **out, char **err, int timeout_ms)
{
    return fl_flamectl_stdin(e, args, "/dev/null", out, err, timeout_ms);
}

int fl_flamectl_stdin(fl_env *e, const char *const *args, const char *stdin_path, char **out,
                      char **err, int timeout_ms)
{
    const char *bin = getenv("FLAMECTL_BIN");
    if (!bin || !bin[0])
        fail_msg("FLAMECTL_BIN is not set: run the integration tests through ctest");
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--addr";
    argv[n++] = e->addr;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    int po[2], pe[2];
    assert_int_equal(pipe2(po, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_path, O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        fail_msg("posix_spawn %s: %s", bin, strerror(rc));
    }
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0}, caps[2] = {0, 0};
    buf_add(&bufs[0], &lens[0], &caps[0], "", 0);
    buf_add(&bufs[1], &lens[1], &caps[1], "", 0);
    struct pollfd pfd[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2, timed_out = 0;
    int64_t until = fl_now_ms() + timeout_ms;
    while (open_fds > 0) {
        int64_t left = until - fl_now_ms();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t r = read(pfd[i].fd, chunk, sizeof(chunk));
            if (r > 0) {
                buf_add(&bufs[i], &lens[i], &caps[i], chunk, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (out)
        *out = bufs[0];
    else
        free(bufs[0]);
    if (err)
        *err = bufs[1];
    else
        free(bufs[1]);
    if (timed_out || !WIFEXITED(ws))
        return -1;
    return WEXITSTATUS(ws);
}
