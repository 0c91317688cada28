/*
 * Warm runners in the service (service/warm.c, boot.c's warm stage) over the
 * in-memory engine: the manager fills a pool to `warm` with hidden runners
 * made under flamed-init; a matching Boot takes one and delivers only the
 * Boot's own env; a non-matching Boot boots cold; a failed delivery removes
 * that runner and boots cold; warm runners count against the quotas; the
 * service's stop removes untaken ones. (Real dockerd: tests/integration/it_warm.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"
#include "init/env_frame.h"
#include "service/warm_pools.h"

#define POOL "fast"

struct wfix {
    struct engine *e;
    mem_engine *m;
    struct service *svc;
    struct policy *pol;
    struct warm_pools *pools;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start the service with pool POOL of `warm` runners; extra: more spec keys
 * ("\"k\": v, "), or "". */
static void wstart_spec(struct wfix *f, unsigned warm, const char *extra, const char *policy_json)
{
    char err[512] = "", json[768];
    memset(f, 0, sizeof(*f));
    assert_int_equal(mem_engine_new(&f->e, &f->m), 0);
    mem_engine_add_image(f->m, FIX_IMAGE);
    assert_int_equal(policy_parse(&f->pol, policy_json, "/var/run/docker.sock", err, sizeof(err)), 0);
    snprintf(json, sizeof(json),
             "{\"pools\": {\"" POOL "\": {\"warm\": %u, %s\"image\": \"" FIX_IMAGE "\", "
             "\"cmd\": [\"serve\"], \"env\": {\"A\": \"1\"}}}}", warm, extra);
    if (warm_pools_parse(&f->pools, json, strlen(json), f->pol, err, sizeof(err)) < 0)
        fail_msg("pools: %s", err);
    struct service_config cfg = {.instance = "unit", .policy = f->pol, .pools = f->pools,
                                 .init_path = "/opt/flamed/flamed-init"};
    assert_int_equal(service_start(&f->svc, f->e, &cfg), 0);
}

static void wstart(struct wfix *f, unsigned warm, const char *policy_json)
{
    wstart_spec(f, warm, "", policy_json);
}

static void wstop(struct wfix *f)
{
    service_close_watches(f->svc);
    service_stop(f->svc);
    mem_engine_free(f->e);
    warm_pools_free(f->pools);
    policy_free(f->pol);
}

static void wait_running(struct wfix *f, size_t want)
{
    for (int i = 0; i < 500 && mem_engine_running(f->m) != want; i++)
        sleep_ms(10);
    assert_int_equal(mem_engine_running(f->m), want);
}

/* Until n warm runners are ready for a Boot (a container runs a moment
 * before the manager marks its record RUNNING). */
static void wait_ready(struct wfix *f, size_t n)
{
    size_t ready = 0;
    for (int i = 0; i < 500; i++) {
        runner_registry_warm_count(f->svc->reg, POOL, &ready, NULL);
        if (ready >= n)
            break;
        sleep_ms(10);
    }
    assert_true(ready >= n);
}

static size_t list_n(struct wfix *f)
{
    Flame__V1__ListRequest req = FLAME__V1__LIST_REQUEST__INIT;
    fake_call *fc = fake_call_new(f->svc, "List", &req.base, NULL, 0);
    assert_non_null(fc);
    fake_call_start(fc);
    assert_true(fake_call_wait(fc, 5000));
    Flame__V1__ListResponse *resp =
        (Flame__V1__ListResponse *)fake_call_response(fc, &flame__v1__list_response__descriptor);
    assert_non_null(resp);
    size_t n = resp->n_runners;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
    return n;
}

/* Boot into POOL with env (K, V, K, V, ..., NULL) and cmd "serve" (the spec's)
 * unless cmd is given; *warm: BootResponse.warm; the container id in cid. */
static int boot(struct wfix *f, const char *const *env, const char *cmd, int *warm, char *cid,
                size_t cidlen)
{
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    Flame__V1__BootRequest__EnvEntry ent[8], *entp[8];
    size_t n = 0;
    for (; env && env[2 * n]; n++) {
        flame__v1__boot_request__env_entry__init(&ent[n]);
        ent[n].key = (char *)env[2 * n];
        ent[n].value = (char *)env[2 * n + 1];
        entp[n] = &ent[n];
    }
    char *argv[] = {(char *)(cmd ? cmd : "serve")};
    req.image = FIX_IMAGE;
    req.pool = POOL;
    req.env = entp;
    req.n_env = n;
    req.cmd = argv;
    req.n_cmd = 1;
    fake_call *fc = fake_call_new(f->svc, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    fake_call_start(fc);
    assert_true(fake_call_wait(fc, 10000));
    int code = fake_call_code(fc);
    if (code == 0) {
        Flame__V1__BootResponse *resp =
            (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
        assert_non_null(resp);
        assert_non_null(resp->runner);
        *warm = resp->warm;
        assert_int_equal(resp->warm, resp->runner->warm);
        snprintf(cid, cidlen, "%s", resp->runner->container_id);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    fake_call_free(fc);
    return code;
}

/* Stop the service (untaken warm runners go) and start a new one over the
 * same engine: a restarted flamed, which adopts what is left. */
static void wrestart(struct wfix *f)
{
    service_close_watches(f->svc);
    service_stop(f->svc);
    struct service_config cfg = {.instance = "unit", .policy = f->pol, .pools = f->pools,
                                 .init_path = "/opt/flamed/flamed-init"};
    assert_int_equal(service_start(&f->svc, f->e, &cfg), 0);
    for (int i = 0; i < 500 && service_sync_state(f->svc) != SERVICE_SYNC_READY; i++)
        sleep_ms(10);
    assert_int_equal(service_sync_state(f->svc), SERVICE_SYNC_READY);
}

/* A Boot with a request_id, parent_id, lease and a user label. */
static Flame__V1__BootResponse *boot_meta(struct wfix *f, const char *request_id)
{
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    Flame__V1__BootRequest__EnvEntry ent[2], *entp[2];
    Flame__V1__BootRequest__LabelsEntry lab, *labp[1] = {&lab};
    const char *kv[] = {"A", "1", "FLAME_PARENT", "pref"};
    for (int i = 0; i < 2; i++) {
        flame__v1__boot_request__env_entry__init(&ent[i]);
        ent[i].key = (char *)kv[2 * i];
        ent[i].value = (char *)kv[2 * i + 1];
        entp[i] = &ent[i];
    }
    flame__v1__boot_request__labels_entry__init(&lab);
    lab.key = "team=x";
    lab.value = "blue";
    char *argv[] = {"serve"};
    req.image = FIX_IMAGE;
    req.pool = POOL;
    req.env = entp;
    req.n_env = 2;
    req.cmd = argv;
    req.n_cmd = 1;
    req.labels = labp;
    req.n_labels = 1;
    req.request_id = (char *)request_id;
    req.parent_id = "par-1";
    req.lease_ttl_ms = 60000;
    fake_call *fc = fake_call_new(f->svc, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    fake_call_start(fc);
    assert_true(fake_call_wait(fc, 10000));
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__BootResponse *resp =
        (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
    assert_non_null(resp);
    fake_call_free(fc);
    return resp;
}

static void a_restart_adopts_a_taken_runner_with_its_record_and_removes_the_rest(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 1, NULL);
    wait_running(&f, 1);
    wait_ready(&f, 1);
    Flame__V1__BootResponse *a = boot_meta(&f, "req-a");
    assert_true(a->warm);
    wait_running(&f, 2);
    wait_ready(&f, 1);
    Flame__V1__BootResponse *b = boot_meta(&f, "req-b");
    assert_true(b->warm);
    wait_running(&f, 3);
    /* b's record is rewritten: a flamed.pool of its own is refused (identity
     * is the create's), so b is removed, never handed out. */
    const char *tampered = "12:flamed-env/2,0:,11:flamed.pool,5:other,0:,";
    assert_int_equal(mem_engine_set_delivered(f.m, b->runner->container_id, tampered,
                                              strlen(tampered)), 0);
    wrestart(&f);
    /* a, the new untaken one made after the restart; b gone. */
    wait_running(&f, 2);
    struct runner *r = NULL;
    assert_int_equal(runner_registry_get(f.svc->reg, a->runner->id, &r), 0);
    assert_int_equal(r->state, FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING);
    assert_true(r->warm);
    assert_false(r->hidden);
    assert_string_equal(r->request_id, "req-a");
    assert_string_equal(r->parent_id, "par-1");
    assert_int_equal(r->lease_ttl_ms, 60000);
    assert_int_equal(r->created_unix_nano, a->runner->created_unix_nano);
    int team = 0;
    for (size_t i = 0; i < r->n_labels; i++)
        team |= strcmp(r->label_keys[i], "team=x") == 0 && strcmp(r->label_values[i], "blue") == 0;
    assert_true(team);
    assert_non_null(r->boot_env);
    assert_string_equal(r->boot_env[0], "FLAME_PARENT=pref");
    assert_null(r->boot_env[1]);
    runner_free(r);
    struct runner *gone = NULL;
    int grc = runner_registry_get(f.svc->reg, b->runner->id, &gone);
    assert_true(grc == FLAME_ENOTFOUND ||
                (gone && (gone->hidden || gone->state == FLAME__V1__RUNNER_STATE__RUNNER_STATE_REMOVED)));
    runner_free(gone);
    assert_int_equal(list_n(&f), 1);
    /* The same request_id: the same runner. */
    Flame__V1__BootResponse *again = boot_meta(&f, "req-a");
    assert_string_equal(again->runner->id, a->runner->id);
    protobuf_c_message_free_unpacked(&again->base, NULL);
    protobuf_c_message_free_unpacked(&a->base, NULL);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    wstop(&f);
}

/*
 * Attack: the code in a taken warm runner stops its record's exec (SIGSTOP
 * of the exec'd flamed-init, a FIFO as its record, or an impostor at
 * /.flamed/init: the container's user can do each), so the read lasts its
 * whole bound (WARM_RECORD_READ_MS). flamed serves nobody until adoption is
 * done; with the reads queued behind 8 workers, M such runners held every
 * tenant off for M/8 bounds. The reads must overlap: here each waits until
 * all 12 are in flight at once (else it fails at its deadline and that runner
 * is removed), and all 12 are adopted.
 */
#define MANY 12
static void record_reads_of_taken_runners_overlap(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, MANY, NULL);
    wait_running(&f, MANY);
    wait_ready(&f, MANY);
    char ids[MANY][RUNNER_ID_LEN + 1];
    for (int i = 0; i < MANY; i++) {
        char rid[32];
        snprintf(rid, sizeof(rid), "req-%d", i);
        Flame__V1__BootResponse *r = boot_meta(&f, rid);
        assert_true(r->warm);
        snprintf(ids[i], sizeof(ids[i]), "%s", r->runner->id);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    mem_engine_record_barrier(f.m, MANY);
    service_close_watches(f.svc);
    service_stop(f.svc);
    struct service_config cfg = {.instance = "unit", .policy = f.pol, .pools = f.pools,
                                 .init_path = "/opt/flamed/flamed-init"};
    assert_int_equal(service_start(&f.svc, f.e, &cfg), 0);
    for (int i = 0; i < 3000 && service_sync_state(f.svc) != SERVICE_SYNC_READY; i++)
        sleep_ms(10);
    assert_int_equal(service_sync_state(f.svc), SERVICE_SYNC_READY);
    for (int i = 0; i < MANY; i++) {
        struct runner *r = NULL;
        assert_int_equal(runner_registry_get(f.svc->reg, ids[i], &r), 0);
        assert_false(r->hidden);
        assert_int_equal(r->state, FLAME__V1__RUNNER_STATE__RUNNER_STATE_RUNNING);
        runner_free(r);
    }
    assert_int_equal(list_n(&f), MANY);
    wstop(&f);
}

static void the_pool_fills_with_hidden_runners_under_flamed_init(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 2, NULL);
    wait_running(&f, 2);
    sleep_ms(100);
    assert_int_equal(mem_engine_running(f.m), 2); /* no more than warm */
    assert_int_equal(list_n(&f), 0);
    size_t ready = 0;
    runner_registry_warm_count(f.svc->reg, POOL, &ready, NULL);
    assert_int_equal(ready, 2);
    wstop(&f);
}

static void a_matching_boot_takes_one_delivers_its_env_and_the_pool_refills(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 1, NULL);
    wait_running(&f, 1);
    const char *env[] = {"A", "1", "FLAME_PARENT", "parent-ref", "EXTRA", "x y", NULL};
    int warm = -1;
    char cid[128], ep[256], *got = NULL;
    size_t len = 0;
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 1);
    assert_int_equal(mem_engine_entrypoint(f.m, cid, ep, sizeof(ep)), 0);
    assert_string_equal(ep, "/.flamed/init --stdin --record /.flamed/run/boot --");
    assert_int_equal(mem_engine_delivered(f.m, cid, &got, &len), 0);
    struct env_frame fr = {0};
    size_t used = 0;
    char err[128];
    assert_int_equal(env_frame_decode(&fr, &used, got, len, err, sizeof(err)), 0);
    assert_int_equal(used, len);
    /* Only what the spec lacks: the spec's A=1 is in the container already. */
    assert_int_equal(fr.n, 2);
    assert_string_equal(fr.entries[0], "FLAME_PARENT=parent-ref");
    assert_string_equal(fr.entries[1], "EXTRA=x y");
    /* The metadata a cold runner's labels would hold, for a restarted flamed. */
    assert_true(fr.has_meta);
    assert_string_equal(env_frame_meta(&fr, "flamed.keep"), "false");
    assert_non_null(env_frame_meta(&fr, "flamed.created-unix-nano"));
    assert_null(env_frame_meta(&fr, "flamed.pool")); /* identity stays the create's */
    assert_null(env_frame_meta(&fr, "flamed.runner-id"));
    assert_null(env_frame_meta(&fr, "flamed.labels"));
    env_frame_free(&fr);
    free(got);
    assert_int_equal(list_n(&f), 1);
    wait_running(&f, 2); /* refilled */
    assert_int_equal(list_n(&f), 1);
    wstop(&f);
}

/* refill_delay_ms: the taken runner's start has the machine first. The delay
 * here (60 s) outlasts the test: nothing is made after the take, so the next
 * matching Boot finds no warm runner and boots cold. */
static void a_take_holds_the_pools_refill_back_for_its_refill_delay(void **state)
{
    (void)state;
    struct wfix f;
    wstart_spec(&f, 1, "\"refill_delay_ms\": 60000, ", NULL);
    wait_running(&f, 1);
    const char *env[] = {"A", "1", "FLAME_PARENT", "parent-ref", NULL};
    int warm = -1;
    char cid[128];
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 1);
    sleep_ms(300); /* without the delay the in-memory engine refills within a few ms */
    assert_int_equal(mem_engine_running(f.m), 1);
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 0);
    assert_int_equal(mem_engine_running(f.m), 2); /* the taken one and the cold one */
    wstop(&f);
}

static void a_boot_that_does_not_match_boots_cold(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 1, NULL);
    wait_running(&f, 1);
    int warm = -1;
    char cid[128];
    const char *other_env[] = {"A", "2", NULL};
    assert_int_equal(boot(&f, other_env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 0);
    const char *env[] = {"A", "1", NULL};
    assert_int_equal(boot(&f, env, "other", &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 0);
    const char *bad_name[] = {"A", "1", "NAM\xc3\x89", "v", NULL}; /* flamed-init refuses the name */
    assert_int_equal(boot(&f, bad_name, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 0);
    size_t ready = 0;
    runner_registry_warm_count(f.svc->reg, POOL, &ready, NULL);
    assert_int_equal(ready, 1); /* untouched */
    wstop(&f);
}

static void a_failed_delivery_removes_that_runner_and_boots_cold(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 1, NULL);
    wait_running(&f, 1);
    mem_engine_fail(f.m, MEM_DELIVER, 1, FLAME_EUNAVAILABLE, "attach refused");
    const char *env[] = {"A", "1", NULL};
    int warm = -1;
    char cid[128];
    size_t before = mem_engine_count(f.m);
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 0);
    /* The failed one is gone, the cold one is there, and the pool refills. */
    wait_running(&f, 2);
    assert_int_equal(mem_engine_count(f.m), before + 1);
    assert_int_equal(list_n(&f), 1);
    wstop(&f);
}

static void warm_runners_count_against_the_quotas(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 2, "{\"quotas\": {\"max_runners_per_pool\": 2}}");
    wait_running(&f, 2);
    int warm = -1;
    char cid[128];
    const char *other_env[] = {"A", "2", NULL};
    assert_int_equal(boot(&f, other_env, NULL, &warm, cid, sizeof(cid)), FLAME_EEXHAUSTED);
    const char *env[] = {"A", "1", NULL};
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 1);
    sleep_ms(300);
    assert_int_equal(mem_engine_running(f.m), 2); /* no refill beyond the quota */
    wstop(&f);
}

static void stopping_the_service_removes_untaken_warm_runners_only(void **state)
{
    (void)state;
    struct wfix f;
    wstart(&f, 2, NULL);
    wait_running(&f, 2);
    const char *env[] = {"A", "1", NULL};
    int warm = -1;
    char cid[128];
    assert_int_equal(boot(&f, env, NULL, &warm, cid, sizeof(cid)), 0);
    assert_int_equal(warm, 1);
    wait_running(&f, 3);
    service_close_watches(f.svc);
    service_stop(f.svc);
    assert_int_equal(mem_engine_count(f.m), 1); /* the taken one stays, as runners do */
    mem_engine_free(f.e);
    warm_pools_free(f.pools);
    policy_free(f.pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_pool_fills_with_hidden_runners_under_flamed_init),
        cmocka_unit_test(a_matching_boot_takes_one_delivers_its_env_and_the_pool_refills),
        cmocka_unit_test(a_take_holds_the_pools_refill_back_for_its_refill_delay),
        cmocka_unit_test(a_boot_that_does_not_match_boots_cold),
        cmocka_unit_test(a_failed_delivery_removes_that_runner_and_boots_cold),
        cmocka_unit_test(warm_runners_count_against_the_quotas),
        cmocka_unit_test(stopping_the_service_removes_untaken_warm_runners_only),
        cmocka_unit_test(a_restart_adopts_a_taken_runner_with_its_record_and_removes_the_rest),
        cmocka_unit_test(record_reads_of_taken_runners_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
