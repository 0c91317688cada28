/*
 * Warm runners (issue 17, docs/warm.md) against the real flamed and dockerd:
 * `flamed --pools FILE --init-path build/flamed-init` keeps `warm` runners
 * ready; a matching Boot takes one (BootResponse.warm / Runner.warm, far
 * faster than a cold Boot) and the pool refills; a non-matching Boot boots
 * cold; the taken runner's env is the spec's plus the Boot's (FLAME_PARENT,
 * extra env); untaken warm runners are in neither List nor Watch; they count
 * against the quotas; flamed's shutdown removes them; a restarted flamed (kill
 * -9 or SIGTERM) adopts a taken one with its Boot's metadata (read back from
 * the record flamed-init keeps on its tmpfs) and removes the untaken ones and
 * any taken one whose record is gone or garbage; bad --init-path and denied
 * specs stop flamed at start.
 *
 * Warm containers carry flamed's labels only (no fltest.run: a pool spec has
 * no labels), so each test removes every container of its flamed instance in
 * its teardown (warm_teardown), whatever happened.
 */
#include "harness_ext.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *init_bin(void)
{
    const char *p = getenv("FLAMED_INIT_BIN");
    if (!p || !p[0])
        fail_msg("FLAMED_INIT_BIN is not set: run through ctest");
    return p;
}

/* The pool file: one pool named after the test, of the test's image and network. */
static const char *write_pools(fl_env *e, unsigned warm, const char *extra_spec)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"pools\": {\"%s\": {\"warm\": %u, \"image\": \"%s\", \"network\": \"%s\", "
             "\"cmd\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"], "
             "\"env\": {\"SPEC_ONLY\": \"kept\", \"SHARED\": \"spec\"}%s}}}",
             e->pool, warm, FL_IMAGE_APP, e->network, extra_spec ? extra_spec : "");
    return flx_write(e, "pools.json", json);
}

static fl_env *begin_warm(void **state, unsigned warm, const char *policy_json)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    const char *pools = write_pools(e0, warm, NULL);
    const char *args[8] = {"--pools", pools, "--init-path", init_bin(), NULL};
    if (policy_json) {
        args[4] = "--policy";
        args[5] = flx_write(e0, "policy.json", policy_json);
        args[6] = NULL;
    }
    return flx_begin(state, &(flx_flamed){.args = args});
}

static char instance_label[256];

/* Containers of this flamed instance: all, or only running warm ones. */
static int count_instance(fl_env *e, int warm_running_only)
{
    snprintf(instance_label, sizeof(instance_label), "flamed.instance=%s", e->addr);
    cJSON *list = NULL;
    char err[512];
    if (docker_container_list(e->docker, instance_label, &list, err, sizeof(err)) < 0)
        fail_msg("listing containers of %s: %s", instance_label, err);
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(c, "State");
        int warm = cJSON_GetObjectItemCaseSensitive(labels, "flamed.warm") != NULL;
        int running = cJSON_IsString(state) && strcmp(state->valuestring, "running") == 0;
        n += !warm_running_only || (warm && running);
    }
    cJSON_Delete(list);
    return n;
}

/* Wait until `want` warm containers of this instance run (made by flamed). */
static void wait_warm(fl_env *e, int want, int timeout_ms)
{
    int64_t until = fl_now_ms() + timeout_ms;
    int n = 0;
    while ((n = count_instance(e, 1)) != want && fl_now_ms() < until)
        fl_sleep_ms(100);
    if (n != want)
        fail_msg("%d warm containers running, want %d, after %d ms", n, want, timeout_ms);
}

/* Runner ids of this instance's warm containers (taken or not), appended to ids. */
static size_t warm_ids(fl_env *e, char ids[][40], size_t n, size_t max)
{
    snprintf(instance_label, sizeof(instance_label), "flamed.instance=%s", e->addr);
    cJSON *list = NULL;
    char err[512];
    if (docker_container_list(e->docker, instance_label, &list, err, sizeof(err)) < 0)
        fail_msg("listing containers of %s: %s", instance_label, err);
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(labels, "flamed.runner-id");
        if (cJSON_GetObjectItemCaseSensitive(labels, "flamed.warm") && cJSON_IsString(id) && n < max)
            snprintf(ids[n++], 40, "%s", id->valuestring);
    }
    cJSON_Delete(list);
    return n;
}

/* Fail if the watch showed a warm runner other than taken. */
static void assert_watch_hid_warm(fl_watcher *w, char ids[][40], size_t n, const char *taken)
{
    fl_event *evs = NULL;
    size_t k = fl_watch_events(w, &evs);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n; j++)
            if (strcmp(evs[i].runner_id, ids[j]) == 0 && strcmp(ids[j], taken) != 0)
                fail_msg("Watch showed warm runner %s (event %d), which no Boot took",
                         ids[j], evs[i].type);
    free(evs);
}

/* Runners of the test's pool that List shows. */
static size_t list_count(fl_env *e)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    flame_runner_list_free(rs, n);
    return n;
}

/* Remove every container of this flamed instance (warm ones lack fltest.run). */
static void remove_instance(fl_env *e)
{
    snprintf(instance_label, sizeof(instance_label), "flamed.instance=%s", e->addr);
    cJSON *list = NULL;
    char err[512];
    if (docker_container_list(e->docker, instance_label, &list, err, sizeof(err)) < 0)
        return;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
        if (cJSON_IsString(id))
            docker_container_remove(e->docker, id->valuestring, err, sizeof(err));
    }
    cJSON_Delete(list);
}

/* Stop flamed (it must exit 0), remove what is left of its instance, then the
 * usual teardown (network, temp dir). */
static int warm_teardown(void **state)
{
    fl_env *e = *state;
    int failed = 0;
    if (e && e->docker && !e->skip_reason[0]) {
        if (e->flamed_pid) {
            int ws = fl_flamed_stop(e, 40000); /* it removes its warm runners first */
            if (ws == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
                fprintf(stderr, "teardown: flamed did not exit 0 (wait status %d)\n", ws);
                failed = 1;
            }
        }
        remove_instance(e);
    }
    int rc = flx_teardown(state);
    return rc ? rc : failed ? -1 : 0;
}

#define WARM_UNIT(name) cmocka_unit_test_setup_teardown(name, fl_setup, warm_teardown)

/* A Boot request matching the pool's spec, with the Boot's own env. */
static void matching_req(fl_env *e, flame_boot_request *req, const char *const *env)
{
    fl_boot_req_init(e, req);
    req->env = env;
}

/* ------------------------------------------------------------------ tests */

static void warm_boot_takes_a_warm_runner_and_the_pool_refills(void **state)
{
    fl_env *e = begin_warm(state, 2, NULL);
    wait_warm(e, 2, 60000);
    assert_int_equal(list_count(e), 0); /* hidden until taken */
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 1);
    fl_watch_sync(e, w, e->pool);
    char ids[16][40];
    size_t n_ids = warm_ids(e, ids, 0, 16);
    assert_int_equal(n_ids, 2);

    char parent[96];
    snprintf(parent, sizeof(parent), "FLAME_PARENT=%s-parent-ref", e->tag);
    const char *env[] = {parent, "EXTRA=one two", "SPEC_ONLY=kept", "SHARED=spec", NULL};
    flame_boot_request req;
    matching_req(e, &req, env);
    int64_t t0 = fl_now_ms();
    flame_runner *r = fl_boot(e, &req);
    int64_t warm_ms = fl_now_ms() - t0;
    assert_int_equal(r->warm, 1);
    assert_int_equal(r->state, FLAME_RUNNER_RUNNING);
    assert_non_null(strstr(r->name, e->pool));
    assert_int_equal(list_count(e), 1);

    /* The runner's env: the spec's, and the Boot's delivered to flamed-init,
     * in its command's environment (PID 1). */
    fl_output o = {0};
    const char *argv[] = {"sh", "-c", "tr '\\0' '\\n' </proc/1/environ", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    fl_assert_contains(o.out, parent);
    fl_assert_contains(o.out, "EXTRA=one two\n");
    fl_assert_contains(o.out, "SHARED=spec\n");
    fl_assert_contains(o.out, "SPEC_ONLY=kept\n");
    fl_assert_contains(o.out, "PHX_SERVER=false\n");
    fl_output_free(&o);
    /* A Spawn's env is what it is in a cold runner: the Boot's env too. */
    const char *envcmd[] = {"env", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, envcmd, &o), 0);
    fl_assert_contains(o.out, parent);
    fl_assert_contains(o.out, "EXTRA=one two\n");
    fl_assert_contains(o.out, "SPEC_ONLY=kept\n");
    fl_output_free(&o);
    /* Its command is PID 1 (flamed-init exec'd it, nothing stays in between). */
    const char *ps1[] = {"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, ps1, &o), 0);
    fl_assert_contains(o.out, "sh -c trap");
    fl_output_free(&o);

    /* Watch saw it from BOOTING on (never before it was taken). */
    assert_true(fl_watch_wait(w, r->id, FLAME_EVENT_STARTED, 5000) >= 0);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(w, &evs);
    int booting = 0;
    for (size_t i = 0; i < n; i++)
        booting += evs[i].type == FLAME_EVENT_BOOTING && strcmp(evs[i].runner_id, r->id) == 0;
    assert_int_equal(booting, 1);
    free(evs);
    /* The watch opened with include_existing while two warm runners ran: the
     * untaken one never shows. */
    assert_watch_hid_warm(w, ids, n_ids, r->id);

    /* The pool refills: two warm ready again beside the taken one. */
    wait_warm(e, 3, 60000);
    assert_int_equal(list_count(e), 1);
    n_ids = warm_ids(e, ids, n_ids, 16); /* and the refill's */
    assert_watch_hid_warm(w, ids, n_ids, r->id);

    /* A Boot that does not match (another cmd) boots cold. */
    flame_boot_request cold;
    fl_boot_req_init(e, &cold);
    const char *cmd[] = {"sleep", "3600", NULL};
    cold.cmd = cmd;
    t0 = fl_now_ms();
    flame_runner *c = fl_boot(e, &cold);
    int64_t cold_ms = fl_now_ms() - t0;
    assert_int_equal(c->warm, 0);
    fprintf(stderr, "warm Boot %lld ms, cold Boot %lld ms\n", (long long)warm_ms, (long long)cold_ms);
    if (warm_ms * 3 > cold_ms)
        fail_msg("a warm Boot (%lld ms) is not much faster than a cold one (%lld ms)",
                 (long long)warm_ms, (long long)cold_ms);
    flame_runner_free(c);
    flame_runner_free(r);
    flx_pass(e);
}

static void warm_non_matching_boots_boot_cold(void **state)
{
    fl_env *e = begin_warm(state, 1, NULL);
    wait_warm(e, 1, 60000);
    /* The spec's env with another value, a user, a host_config: all cold. */
    const char *env_other[] = {"SPEC_ONLY=other", "SHARED=spec", NULL};
    flame_boot_request req;
    matching_req(e, &req, env_other);
    flame_runner *r = fl_boot(e, &req);
    assert_int_equal(r->warm, 0);
    flame_runner_free(r);
    const char *env_ok[] = {"SPEC_ONLY=kept", "SHARED=spec", NULL};
    matching_req(e, &req, env_ok);
    req.host_config_json = "{\"Memory\": 134217728}";
    r = fl_boot(e, &req);
    assert_int_equal(r->warm, 0);
    flame_runner_free(r);
    /* Without the spec's env at all: cold too. */
    fl_boot_req_init(e, &req);
    r = fl_boot(e, &req);
    assert_int_equal(r->warm, 0);
    flame_runner_free(r);
    /* The warm runner is still there, untaken, and a matching Boot takes it. */
    assert_int_equal(count_instance(e, 1), 1);
    matching_req(e, &req, env_ok);
    r = fl_boot(e, &req);
    assert_int_equal(r->warm, 1);
    flame_runner_free(r);
    flx_pass(e);
}

static void warm_runners_count_against_quotas(void **state)
{
    fl_env *e = begin_warm(state, 2, "{\"quotas\": {\"max_runners_per_pool\": 2}}");
    wait_warm(e, 2, 60000);
    /* The pool is full of warm runners: a cold Boot is over the quota. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(e->client, &req, &r, &st);
    assert_int_not_equal(rc, 0);
    assert_int_equal(st.code, GS_RESOURCE_EXHAUSTED);
    fl_assert_contains(st.reason, "QUOTA_EXCEEDED");
    /* A matching Boot takes one, and no refill goes beyond the quota. */
    const char *env[] = {"SPEC_ONLY=kept", "SHARED=spec", "FLAME_PARENT=p", NULL};
    matching_req(e, &req, env);
    r = fl_boot(e, &req);
    assert_int_equal(r->warm, 1);
    fl_sleep_ms(2500);
    assert_int_equal(count_instance(e, 0), 2);
    /* Its Shutdown frees a place: the pool refills to two warm. */
    fl_shutdown(e, r->id); /* asserts OK */
    wait_warm(e, 2, 60000);
    flame_runner_free(r);
    flx_pass(e);
}

/* A runner's label value, or NULL. */
static const char *label_value(const flame_runner *r, const char *key)
{
    for (size_t i = 0; i < r->n_labels; i++)
        if (strcmp(r->label_keys[i], key) == 0)
            return r->label_values[i];
    return NULL;
}

/* The runner with this id that List shows in the test's pool, or NULL (free it). */
static flame_runner *list_find(fl_env *e, const char *id)
{
    flame_runner **rs = NULL, *found = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, id) == 0) {
            found = rs[i];
            rs[i] = NULL;
        }
    flame_runner_list_free(rs, n);
    return found;
}

/* docker exec as root in a container (the test's own tampering); exit code. */
static int docker_exec_root(const char *container_id, const char *script)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "docker exec -u 0 %s sh -c '%s' >/dev/null 2>&1", container_id, script);
    int ws = system(cmd);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* A matching Boot with the metadata a restart must keep. */
static flame_runner *boot_with_meta(fl_env *e, const char *request_id, const char *const *env,
                                    const char *const *labels)
{
    flame_boot_request req;
    matching_req(e, &req, env);
    req.request_id = request_id;
    req.parent_id = "it-warm-parent";
    req.lease_ttl_ms = 600000;
    req.labels = labels;
    flame_runner *r = fl_boot(e, &req);
    assert_int_equal(r->warm, 1);
    return r;
}

/* What a restarted flamed must show of the taken runner. */
static void assert_kept(fl_env *e, const flame_runner *want, const char *parent)
{
    flame_runner *got = list_find(e, want->id);
    if (!got)
        fail_msg("the taken warm runner %s is not in List after the restart", want->id);
    assert_int_equal(got->state, FLAME_RUNNER_RUNNING);
    assert_int_equal(got->warm, 1);
    assert_string_equal(got->container_id, want->container_id);
    assert_string_equal(got->name, want->name);
    assert_string_equal(got->request_id, want->request_id);
    assert_string_equal(got->parent_id, "it-warm-parent");
    assert_int_equal(got->lease_ttl_ms, 600000);
    assert_int_equal(got->created_unix_nano, want->created_unix_nano);
    assert_non_null(label_value(got, "team"));
    assert_string_equal(label_value(got, "team"), "blue=green");
    assert_non_null(label_value(got, "fltest.run"));
    /* Spawn's env has the Boot's delivered env, as before the restart. */
    fl_output o = {0};
    const char *envcmd[] = {"env", NULL};
    assert_int_equal(fl_spawn_argv(e, got->id, envcmd, &o), 0);
    fl_assert_contains(o.out, parent);
    fl_assert_contains(o.out, "EXTRA=one two\n");
    fl_output_free(&o);
    /* The same request_id answers with it (idempotency across the restart). */
    const char *env[] = {parent, "EXTRA=one two", "SPEC_ONLY=kept", "SHARED=spec", NULL};
    const char *labels[] = {e->labels[0], "team=blue=green", NULL};
    flame_runner *again = boot_with_meta(e, want->request_id, env, labels);
    assert_string_equal(again->id, want->id);
    flame_runner_free(again);
    flame_runner_free(got);
}

/* Wait until the container is gone (removed by flamed). */
static void wait_gone(fl_env *e, const char *container_id, const char *what)
{
    int64_t until = fl_now_ms() + 30000;
    cJSON *j = NULL;
    while ((j = fl_inspect(e, container_id)) && fl_now_ms() < until) {
        cJSON_Delete(j);
        fl_sleep_ms(100);
    }
    if (j)
        fail_msg("%s (container %.12s) survived a flamed restart", what, container_id);
}

/* A taken warm runner keeps its Boot's metadata across a restart (kill -9,
 * then SIGTERM): adoption reads the record flamed-init wrote on its tmpfs. A
 * taken one whose record is gone or garbage, and every untaken one, is
 * removed and never handed out; the pool refills. */
static void warm_taken_runners_survive_a_restart(void **state)
{
    fl_env *e = begin_warm(state, 2, NULL);
    wait_warm(e, 2, 60000);
    char parent[96], rid[3][64];
    snprintf(parent, sizeof(parent), "FLAME_PARENT=%s-parent-ref", e->tag);
    const char *env[] = {parent, "EXTRA=one two", "SPEC_ONLY=kept", "SHARED=spec", NULL};
    const char *labels[] = {e->labels[0], "team=blue=green", NULL};
    for (int i = 0; i < 3; i++)
        snprintf(rid[i], sizeof(rid[i]), "it-warm-%s-%d", e->tag, i);
    flame_runner *a = boot_with_meta(e, rid[0], env, labels);
    flame_runner *b = boot_with_meta(e, rid[1], env, labels);
    wait_warm(e, 4, 60000); /* two taken, two refilled */
    flame_runner *c = boot_with_meta(e, rid[2], env, labels);
    wait_warm(e, 5, 60000);
    /* The record is there, 0400, owned by the container's user, not writable by it. */
    assert_int_equal(docker_exec_root(a->container_id, "test -f /.flamed/run/boot && "
                                      "test \"$(stat -c %a /.flamed/run/boot)\" = 400"), 0);
    /* b: its record removed; c: overwritten with garbage. */
    assert_int_equal(docker_exec_root(b->container_id, "rm -f /.flamed/run/boot"), 0);
    assert_int_equal(docker_exec_root(c->container_id, "chmod 600 /.flamed/run/boot && "
                                      "echo 12:flamed-env/2,garbage > /.flamed/run/boot"), 0);
    char untaken[16][40];
    size_t n_untaken = 0;
    {
        char all[16][40];
        size_t n = warm_ids(e, all, 0, 16);
        for (size_t i = 0; i < n; i++)
            if (strcmp(all[i], a->id) && strcmp(all[i], b->id) && strcmp(all[i], c->id))
                snprintf(untaken[n_untaken++], 40, "%.39s", all[i]);
    }
    assert_int_equal(n_untaken, 2);

    /* kill -9: nothing is cleaned up by flamed itself. */
    const char *pools = flx_path(e, "pools.json");
    const char *args[] = {"--pools", pools, "--init-path", init_bin(), NULL};
    kill(e->flamed_pid, SIGKILL);
    waitpid(e->flamed_pid, NULL, 0);
    e->flamed_pid = 0;
    int64_t t0 = fl_now_ms();
    flx_flamed_start(e, &(flx_flamed){.args = args});
    fprintf(stderr, "restart (kill -9) until List answers: %lld ms\n", (long long)(fl_now_ms() - t0));
    assert_kept(e, a, parent);
    wait_gone(e, b->container_id, "a taken warm runner without its record");
    wait_gone(e, c->container_id, "a taken warm runner with a garbage record");
    assert_null(list_find(e, b->id));
    assert_null(list_find(e, c->id));
    for (size_t i = 0; i < n_untaken; i++) {
        flame_runner *u = list_find(e, untaken[i]);
        if (u)
            fail_msg("untaken warm runner %s is in List after the restart", untaken[i]);
    }
    char *log = flx_log(e);
    fl_assert_contains(log, "action=keep");
    /* b: no record (flamed-init --print-record exits 2); c: garbage. */
    fl_assert_contains(log, "print-record exited 2");
    fl_assert_contains(log, "the boot record does not decode");
    free(log);
    wait_warm(e, 3, 60000); /* a, and the pool refilled to two */

    /* SIGTERM: the untaken ones go, the taken one stays and is adopted again. */
    flx_flamed_restart(e, &(flx_flamed){.args = args});
    assert_kept(e, a, parent);
    wait_warm(e, 3, 60000);
    /* SIGTERM: flamed removes its untaken warm runners before it exits; the
     * taken one stays, as any runner does. */
    int ws = fl_flamed_stop(e, 40000);
    fl_assert_clean_exit(e, ws);
    assert_int_equal(count_instance(e, 0), 1);
    flame_runner_free(a);
    flame_runner_free(b);
    flame_runner_free(c);
    flx_pass(e);
}

/* A spec whose command is not in the image: flamed-init waits fine, but the
 * command fails (127) once the Boot delivers. Boot's one look after the
 * delivery usually sees it (the runner goes and the Boot boots cold, which
 * fails as a cold Boot does); when the exit comes after that look (a loaded
 * machine), the runner is reported EXITED and reaped like any runner. Never
 * left RUNNING. */
static void warm_command_that_fails_at_once_is_not_answered_running(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"pools\": {\"%s\": {\"warm\": 1, \"image\": \"%s\", \"network\": \"%s\", "
             "\"cmd\": [\"/no/such/command\"]}}}", e0->pool, FL_IMAGE_APP, e0->network);
    const char *pools = flx_write(e0, "pools.json", json);
    const char *args[] = {"--pools", pools, "--init-path", init_bin(), NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
    wait_warm(e, 1, 60000);
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    const char *cmd[] = {"/no/such/command", NULL};
    req.cmd = cmd;
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(e->client, &req, &r, &st);
    if (rc == 0) {
        fprintf(stderr, "the command's exit came after Boot's look: checking it is reaped\n");
        assert_int_equal(r->warm, 1);
        int64_t until = fl_now_ms() + 20000;
        while (list_count(e) != 0 && fl_now_ms() < until)
            fl_sleep_ms(100);
        flame_runner_free(r);
    } else {
        assert_null(r);
        char *log = flx_log(e);
        fl_assert_contains(log, "warm_take_failed");
        fl_assert_contains(log, "exited at once with code 127");
        free(log);
    }
    assert_int_equal(list_count(e), 0);
    flx_pass(e);
}

static void warm_flags_are_checked_at_start(void **state)
{
    fl_env *e = *state;
    FL_SKIP_IF_NO_DOCKER(e);
    e = flx_begin(state, NULL);
    const char *pools = write_pools(e, 1, NULL);
    char *out = NULL;
    /* flamed-init writable by others. */
    char bad[512];
    snprintf(bad, sizeof(bad), "%s/flamed-init", flx_dir(e));
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0777 '%s'", init_bin(), bad, bad);
    assert_int_equal(system(cmd), 0);
    const char *a1[] = {"--listen", "unix:/tmp/fltest-warm-never.sock", "--pools", pools,
                        "--init-path", bad, NULL};
    assert_int_equal(flx_flamed_run(a1, &out, 10000), 64);
    fl_assert_contains(out, "--init-path");
    fl_assert_contains(out, "writable by its group or others");
    free(out);
    /* A spec the policy denies: named. */
    const char *denied = flx_write(e, "denied.json",
                                   "{\"pools\": {\"p1\": {\"warm\": 1, \"image\": \"app:1\", "
                                   "\"host_config\": {\"Privileged\": true}}}}");
    const char *a2[] = {"--listen", "unix:/tmp/fltest-warm-never.sock", "--pools", denied,
                        "--init-path", init_bin(), NULL};
    assert_int_equal(flx_flamed_run(a2, &out, 10000), 64);
    fl_assert_contains(out, "p1");
    free(out);
    /* CAP_SYS_ADMIN, even where the policy allows it: a runner could remount the
     * shared flamed-init read-write and replace it for every pool. */
    const char *pol = flx_write(e, "sysadmin-policy.json",
                                "{\"allow\": {\"capabilities\": [\"SYS_ADMIN\"]}}");
    const char *sysadmin = flx_write(e, "sysadmin.json",
                                     "{\"pools\": {\"p2\": {\"warm\": 1, \"image\": \"app:1\", "
                                     "\"host_config\": {\"CapAdd\": [\"sys_admin\"]}}}}");
    const char *a4[] = {"--listen", "unix:/tmp/fltest-warm-never.sock", "--policy", pol, "--pools",
                        sysadmin, "--init-path", init_bin(), NULL};
    assert_int_equal(flx_flamed_run(a4, &out, 10000), 64);
    fl_assert_contains(out, "p2");
    fl_assert_contains(out, "CAP_SYS_ADMIN");
    free(out);
    /* flamed-init under a host_binds prefix: a Boot could bind it read-write. */
    char shared[512];
    snprintf(shared, sizeof(shared), "%s/bindable/flamed-init", flx_dir(e));
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/bindable' && cp '%s' '%s' && chmod 0755 '%s'",
             flx_dir(e), init_bin(), shared, shared);
    assert_int_equal(system(cmd), 0);
    char bpol[1024];
    snprintf(bpol, sizeof(bpol), "{\"pools\": {\"p3\": {\"allow\": {\"host_binds\": [\"%s/bindable\"]}}}}",
             flx_dir(e));
    const char *bp = flx_write(e, "binds-policy.json", bpol);
    const char *a5[] = {"--listen", "unix:/tmp/fltest-warm-never.sock", "--policy", bp, "--pools",
                        pools, "--init-path", shared, NULL};
    assert_int_equal(flx_flamed_run(a5, &out, 10000), 64);
    fl_assert_contains(out, "pools.p3.allow.host_binds");
    free(out);
    /* Not with the Swarm engine (a task's stdin cannot take the frame). */
    const char *a3[] = {"--listen", "unix:/tmp/fltest-warm-never.sock", "--engine", "swarm",
                        "--pools", pools, "--init-path", init_bin(), NULL};
    assert_int_equal(flx_flamed_run(a3, &out, 10000), 64);
    fl_assert_contains(out, "--engine swarm");
    free(out);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WARM_UNIT(warm_boot_takes_a_warm_runner_and_the_pool_refills),
        WARM_UNIT(warm_non_matching_boots_boot_cold),
        WARM_UNIT(warm_runners_count_against_quotas),
        WARM_UNIT(warm_taken_runners_survive_a_restart),
        WARM_UNIT(warm_command_that_fails_at_once_is_not_answered_running),
        WARM_UNIT(warm_flags_are_checked_at_start),
    };
    return FL_RUN("warm", tests);
}
