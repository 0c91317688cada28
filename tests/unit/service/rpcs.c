/*
 * Spawn, Shutdown, Watch, List, Renew and leases through the transport-free
 * call against the in-memory engine.
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

#define S(x) FLAME__V1__RUNNER_STATE__RUNNER_STATE_##x
#define EV(x) FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_##x

/* ------------------------------------------------------------ Spawn */

static void test_spawn_output_and_exit(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    assert_true(id[0]);
    mem_engine_exec_script(f->m, "hello\n", "oops\n", 7);
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    char *argv[] = {"echo", "hello"};
    req.runner_id = id;
    req.argv = argv;
    req.n_argv = 2;
    fake_call *fc = fixture_call(f, "Spawn", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    assert_int_equal(fake_call_n_messages(fc), 4);
    const ProtobufCMessageDescriptor *d = &flame__v1__spawn_response__descriptor;
    Flame__V1__SpawnResponse *m0 = (Flame__V1__SpawnResponse *)fake_call_message(fc, 0, d);
    Flame__V1__SpawnResponse *m1 = (Flame__V1__SpawnResponse *)fake_call_message(fc, 1, d);
    Flame__V1__SpawnResponse *m2 = (Flame__V1__SpawnResponse *)fake_call_message(fc, 2, d);
    Flame__V1__SpawnResponse *m3 = (Flame__V1__SpawnResponse *)fake_call_message(fc, 3, d);
    assert_int_equal(m0->event_case, FLAME__V1__SPAWN_RESPONSE__EVENT_STARTED);
    assert_int_equal(m1->event_case, FLAME__V1__SPAWN_RESPONSE__EVENT_STDOUT);
    assert_memory_equal(m1->stdout.data, "hello\n", 6);
    assert_int_equal(m2->event_case, FLAME__V1__SPAWN_RESPONSE__EVENT_STDERR);
    assert_memory_equal(m2->stderr.data, "oops\n", 5);
    assert_int_equal(m3->event_case, FLAME__V1__SPAWN_RESPONSE__EVENT_EXITED);
    assert_int_equal(m3->exited->exit_code, 7);
    protobuf_c_message_free_unpacked(&m0->base, NULL);
    protobuf_c_message_free_unpacked(&m1->base, NULL);
    protobuf_c_message_free_unpacked(&m2->base, NULL);
    protobuf_c_message_free_unpacked(&m3->base, NULL);
    fake_call_free(fc);
}

static void test_spawn_unknown_and_other_pool(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, "b", id);
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    char *argv[] = {"true"};
    req.argv = argv;
    req.n_argv = 1;
    req.runner_id = "0123456789abcdef";
    fake_call *fc = fixture_call(f, "Spawn", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_ENOTFOUND);
    assert_string_equal(fake_call_reason(fc), "RUNNER_NOT_FOUND");
    fake_call_free(fc);
    /* Another tenant's runner does not exist for a caller scoped to pool "a". */
    static const char *const pools[] = {"a"};
    struct caller_identity who = {"team-a", pools, 1, "token"};
    req.runner_id = id;
    fc = fixture_call(f, "Spawn", &req.base, &who, 0);
    assert_int_equal(fake_call_code(fc), FLAME_ENOTFOUND);
    assert_string_equal(fake_call_reason(fc), "RUNNER_NOT_FOUND");
    fake_call_free(fc);
    assert_int_equal(mem_engine_calls(f->m, MEM_EXEC_CREATE), 0);
}

static void test_spawn_not_running(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    mem_engine_fail(f->m, MEM_EXEC_CREATE, 1, FLAME_ECONFLICT, "container is not running");
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    char *argv[] = {"true"};
    req.argv = argv;
    req.n_argv = 1;
    req.runner_id = id;
    fake_call *fc = fixture_call(f, "Spawn", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_EPRECONDITION);
    assert_string_equal(fake_call_reason(fc), "RUNNER_NOT_RUNNING");
    fake_call_free(fc);
}

static void test_spawn_timeout(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    mem_engine_block(f->m, MEM_EXEC_START);
    Flame__V1__SpawnRequest req = FLAME__V1__SPAWN_REQUEST__INIT;
    char *argv[] = {"sleep", "10"};
    req.argv = argv;
    req.n_argv = 2;
    req.runner_id = id;
    req.timeout_ms = 200;
    fake_call *fc = fixture_call(f, "Spawn", &req.base, NULL, 0);
    mem_engine_unblock(f->m, MEM_EXEC_START);
    assert_int_equal(fake_call_code(fc), FLAME_ETIMEOUT);
    assert_string_equal(fake_call_reason(fc), "SPAWN_TIMEOUT");
    fake_call_free(fc);
}

/* ------------------------------------------------------------ Shutdown */

static void test_shutdown(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    assert_int_equal(mem_engine_count(f->m), 1);
    Flame__V1__ShutdownRequest req = FLAME__V1__SHUTDOWN_REQUEST__INIT;
    req.runner_id = id;
    req.timeout_ms = 500;
    fake_call *fc = fixture_call(f, "Shutdown", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__ShutdownResponse *resp =
        (Flame__V1__ShutdownResponse *)fake_call_response(fc, &flame__v1__shutdown_response__descriptor);
    assert_int_equal(resp->runner->state, S(REMOVED));
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
    assert_int_equal(mem_engine_count(f->m), 0);
    /* Idempotent: again answers OK with the final state. */
    fc = fixture_call(f, "Shutdown", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    fake_call_free(fc);
    req.runner_id = "0123456789abcdef";
    fc = fixture_call(f, "Shutdown", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_ENOTFOUND);
    assert_string_equal(fake_call_reason(fc), "RUNNER_NOT_FOUND");
    fake_call_free(fc);
}

static void test_shutdown_engine_fails(void **state)
{
    struct fixture *f = *state;
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    mem_engine_fail(f->m, MEM_STOP, 1, FLAME_EUNAVAILABLE, "engine down");
    Flame__V1__ShutdownRequest req = FLAME__V1__SHUTDOWN_REQUEST__INIT;
    req.runner_id = id;
    fake_call *fc = fixture_call(f, "Shutdown", &req.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_EUNAVAILABLE);
    assert_string_equal(fake_call_reason(fc), "DOCKER_UNAVAILABLE");
    assert_non_null(strstr(fake_call_detail(fc), "flamed keeps trying to remove it"));
    fake_call_free(fc);
}

/* ------------------------------------------------------------ Watch */

static int watch_has(fake_call *fc, int type, int rstate, const char *id)
{
    size_t n = fake_call_n_messages(fc);
    for (size_t i = 0; i < n; i++) {
        Flame__V1__WatchResponse *m = (Flame__V1__WatchResponse *)fake_call_message(
            fc, i, &flame__v1__watch_response__descriptor);
        int hit = m && (int)m->type == type && m->runner && (int)m->runner->state == rstate &&
                  strcmp(m->runner->id, id) == 0;
        if (m)
            protobuf_c_message_free_unpacked(&m->base, NULL);
        if (hit)
            return 1;
    }
    return 0;
}

struct wait_ev {
    fake_call *fc;
    int type, state;
    const char *id;
};

static int pred_watch(struct fixture *f, void *ud)
{
    (void)f;
    struct wait_ev *w = ud;
    return watch_has(w->fc, w->type, w->state, w->id);
}

static void test_watch_events(void **state)
{
    struct fixture *f = *state;
    Flame__V1__WatchRequest wreq = FLAME__V1__WATCH_REQUEST__INIT;
    fake_call *w = fake_call_new(f->svc, "Watch", &wreq.base, NULL, 0);
    fake_call_start(w);
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    struct wait_ev booting = {w, EV(BOOTING), S(BOOTING), id};
    struct wait_ev started = {w, EV(STARTED), S(RUNNING), id};
    assert_true(fixture_until(f, pred_watch, &booting, 2000));
    assert_true(fixture_until(f, pred_watch, &started, 2000));
    /* The runner exits on its own: EXITED is reported and the reaper removes it. */
    struct runner *r = NULL;
    (void)runner_registry_get(f->svc->reg, id, &r);
    assert_non_null(r);
    assert_int_equal(mem_engine_exit(f->m, r->container_id, 9), 0);
    runner_free(r);
    struct wait_ev exited = {w, EV(EXITED), S(EXITED), id};
    assert_true(fixture_until(f, pred_watch, &exited, 2000));
    for (int i = 0; i < 400 && mem_engine_count(f->m); i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(mem_engine_count(f->m), 0);
    fake_call_cancel(w);
    assert_true(fake_call_wait(w, 2000));
    fake_call_free(w);
}

static void test_watch_scoped_and_existing(void **state)
{
    struct fixture *f = *state;
    char a[RUNNER_ID_LEN + 1], b[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, "a", a);
    fixture_boot_ok(f, "b", b);
    static const char *const pools[] = {"a"};
    struct caller_identity who = {"team-a", pools, 1, "token"};
    Flame__V1__WatchRequest wreq = FLAME__V1__WATCH_REQUEST__INIT;
    wreq.include_existing = 1;
    fake_call *w = fake_call_new(f->svc, "Watch", &wreq.base, &who, 0);
    fake_call_start(w);
    struct wait_ev ea = {w, EV(EXISTING), S(RUNNING), a};
    assert_true(fixture_until(f, pred_watch, &ea, 2000));
    assert_false(watch_has(w, EV(EXISTING), S(RUNNING), b));
    fake_call_cancel(w);
    assert_true(fake_call_wait(w, 2000));
    fake_call_free(w);
}

static void test_watch_invalid(void **state)
{
    struct fixture *f = *state;
    Flame__V1__WatchRequest wreq = FLAME__V1__WATCH_REQUEST__INIT;
    wreq.runner_id = "not-an-id!";
    fake_call *fc = fixture_call(f, "Watch", &wreq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_EINVALID);
    assert_string_equal(fake_call_reason(fc), "INVALID_REQUEST");
    fake_call_free(fc);
}

/* ------------------------------------------------------------ List */

static void test_list_scoped(void **state)
{
    struct fixture *f = *state;
    char a[RUNNER_ID_LEN + 1], b[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, "a", a);
    fixture_boot_ok(f, "b", b);
    static const char *const pools[] = {"a"};
    struct caller_identity who = {"team-a", pools, 1, "token"};
    Flame__V1__ListRequest req = FLAME__V1__LIST_REQUEST__INIT;
    fake_call *fc = fixture_call(f, "List", &req.base, &who, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__ListResponse *resp =
        (Flame__V1__ListResponse *)fake_call_response(fc, &flame__v1__list_response__descriptor);
    assert_non_null(resp);
    assert_int_equal(resp->n_runners, 1);
    assert_string_equal(resp->runners[0]->id, a);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
    fc = fixture_call(f, "List", &req.base, NULL, 0);
    resp = (Flame__V1__ListResponse *)fake_call_response(fc, &flame__v1__list_response__descriptor);
    assert_int_equal(resp->n_runners, 2);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
}

/* ------------------------------------------------------------ Renew and leases */

static int pred_gone(struct fixture *f, void *ud)
{
    int s = fixture_state(f, ud);
    return s == S(REMOVED) || s == -1;
}

static void test_renew_and_lease_expiry(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest breq = FLAME__V1__BOOT_REQUEST__INIT;
    breq.image = FIX_IMAGE;
    breq.parent_id = "parent-1";
    breq.lease_ttl_ms = 400;
    fake_call *fc = fixture_call(f, "Boot", &breq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__BootResponse *bresp =
        (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
    char id[RUNNER_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", bresp->runner->id);
    protobuf_c_message_free_unpacked(&bresp->base, NULL);
    fake_call_free(fc);

    Flame__V1__RenewRequest rreq = FLAME__V1__RENEW_REQUEST__INIT;
    rreq.parent_id = "parent-1";
    fc = fixture_call(f, "Renew", &rreq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__RenewResponse *rresp =
        (Flame__V1__RenewResponse *)fake_call_response(fc, &flame__v1__renew_response__descriptor);
    assert_int_equal(rresp->renewed, 1);
    assert_int_equal(rresp->lease_ttl_ms, 400);
    protobuf_c_message_free_unpacked(&rresp->base, NULL);
    fake_call_free(fc);
    assert_int_equal(fixture_state(f, id), S(RUNNING));

    /* No more renewals: the janitor shuts the runner down once the lease expires. */
    assert_true(fixture_until(f, pred_gone, id, 5000));
    assert_int_equal(mem_engine_count(f->m), 0);

    rreq.parent_id = "";
    fc = fixture_call(f, "Renew", &rreq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), FLAME_EINVALID);
    fake_call_free(fc);
}

/* Boot into pool with parent_id and a lease of ttl_ms; the runner's id into id. */
static void boot_leased(struct fixture *f, const char *pool, const char *parent, unsigned ttl_ms,
                        char *id)
{
    Flame__V1__BootRequest breq = FLAME__V1__BOOT_REQUEST__INIT;
    breq.image = FIX_IMAGE;
    breq.pool = (char *)pool;
    breq.parent_id = (char *)parent;
    breq.lease_ttl_ms = ttl_ms;
    fake_call *fc = fixture_call(f, "Boot", &breq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__BootResponse *bresp =
        (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
    snprintf(id, RUNNER_ID_LEN + 1, "%s", bresp->runner->id);
    protobuf_c_message_free_unpacked(&bresp->base, NULL);
    fake_call_free(fc);
}

/*
 * Attack: a caller scoped to pool "a" learns of and keeps alive pool "b"'s
 * runners by their parent_id (a parent id is no secret: it is in labels,
 * logs, FLAME_PARENT). Renew from team-a renews none of b's, and says so.
 */
static void test_renew_reaches_only_the_callers_pools(void **state)
{
    struct fixture *f = *state;
    char a[RUNNER_ID_LEN + 1], b[RUNNER_ID_LEN + 1];
    boot_leased(f, "a", "parent-x", 60000, a);
    boot_leased(f, "b", "parent-x", 400, b);
    static const char *const pools[] = {"a"};
    struct caller_identity who = {"team-a", pools, 1, "token"};
    Flame__V1__RenewRequest rreq = FLAME__V1__RENEW_REQUEST__INIT;
    rreq.parent_id = "parent-x";
    fake_call *fc = fixture_call(f, "Renew", &rreq.base, &who, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__RenewResponse *rresp =
        (Flame__V1__RenewResponse *)fake_call_response(fc, &flame__v1__renew_response__descriptor);
    assert_int_equal(rresp->renewed, 1); /* a's only: b's is not counted */
    assert_int_equal(rresp->lease_ttl_ms, 60000);
    protobuf_c_message_free_unpacked(&rresp->base, NULL);
    fake_call_free(fc);
    /* b's lease was not renewed by it: b goes when its own parent stops. */
    assert_true(fixture_until(f, pred_gone, b, 5000));
    assert_int_equal(fixture_state(f, a), S(RUNNING));
    /* Unscoped (the operator's token): every pool. */
    fc = fixture_call(f, "Renew", &rreq.base, NULL, 0);
    rresp = (Flame__V1__RenewResponse *)fake_call_response(fc, &flame__v1__renew_response__descriptor);
    assert_int_equal(rresp->renewed, 1);
    protobuf_c_message_free_unpacked(&rresp->base, NULL);
    fake_call_free(fc);
}

/* Attack: the same through a Watch with parent_id, which holds the parent's
 * leases while it is open: team-a's Watch must not hold pool b's. */
static void test_watch_holds_leases_only_in_the_callers_pools(void **state)
{
    struct fixture *f = *state;
    char a[RUNNER_ID_LEN + 1], b[RUNNER_ID_LEN + 1];
    boot_leased(f, "a", "parent-x", 400, a);
    boot_leased(f, "b", "parent-x", 400, b);
    static const char *const pools[] = {"a"};
    struct caller_identity who = {"team-a", pools, 1, "token"};
    Flame__V1__WatchRequest wreq = FLAME__V1__WATCH_REQUEST__INIT;
    wreq.parent_id = "parent-x";
    fake_call *w = fake_call_new(f->svc, "Watch", &wreq.base, &who, 0);
    fake_call_start(w);
    assert_true(fixture_until(f, pred_gone, b, 5000));
    assert_int_equal(fixture_state(f, a), S(RUNNING)); /* held by the Watch */
    fake_call_cancel(w);
    assert_true(fake_call_wait(w, 2000));
    fake_call_free(w);
    assert_true(fixture_until(f, pred_gone, a, 5000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spawn_output_and_exit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_unknown_and_other_pool, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_not_running, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_timeout, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_engine_fails, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_watch_events, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_watch_scoped_and_existing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_watch_invalid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_list_scoped, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_renew_and_lease_expiry, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_renew_reaches_only_the_callers_pools, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_watch_holds_leases_only_in_the_callers_pools,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
