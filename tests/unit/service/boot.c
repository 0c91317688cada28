/*
 * Boot through the transport-free call against the in-memory engine: the
 * answer, every stage's failure and cancellation (no container is left in the
 * engine, and the runner is never RUNNING), pool-scoped callers and replays.
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

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || fixture_start(f, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_stop(f);
    free(f);
    return 0;
}

static void boot_req(Flame__V1__BootRequest *req)
{
    flame__v1__boot_request__init(req);
    req->image = FIX_IMAGE;
}

/* A failed Boot leaves nothing: no container in the engine, no runner RUNNING. */
static void assert_nothing_left(struct fixture *f)
{
    assert_int_equal(mem_engine_count(f->m), 0);
    assert_int_equal(fixture_count_state(f, S(RUNNING)), 0);
    assert_int_equal(fixture_count_state(f, S(BOOTING)), 0);
}

static void test_boot_ok(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.pool = "web";
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__BootResponse *resp =
        (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
    assert_non_null(resp);
    assert_non_null(resp->runner);
    assert_int_equal(resp->runner->state, S(RUNNING));
    assert_string_equal(resp->runner->pool, "web");
    assert_string_equal(resp->runner->image, FIX_IMAGE);
    assert_true(strncmp(resp->runner->name, "flame-web-", 10) == 0 || resp->runner->name[0]);
    assert_true(resp->runner->ip_address[0] != '\0');
    assert_int_equal(fixture_state(f, resp->runner->id), S(RUNNING));
    assert_int_equal(mem_engine_running(f->m), 1);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
}

/* Boot's failure at a stage: code, reason, and nothing left behind. */
static void expect_failure(struct fixture *f, Flame__V1__BootRequest *req, int code, const char *reason,
                           const char *detail_has)
{
    fake_call *fc = fixture_call(f, "Boot", &req->base, NULL, 0);
    assert_non_null(fc);
    if (fake_call_code(fc) != code)
        fprintf(stderr, "got %d %s: %s\n", fake_call_code(fc), fake_call_reason(fc), fake_call_detail(fc));
    assert_int_equal(fake_call_code(fc), code);
    assert_string_equal(fake_call_reason(fc), reason);
    if (detail_has && !strstr(fake_call_detail(fc), detail_has)) {
        fprintf(stderr, "detail: %s\n", fake_call_detail(fc));
        fail();
    }
    fake_call_free(fc);
    assert_nothing_left(f);
}

static void test_invalid_request(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.image = "Not A Ref";
    expect_failure(f, &req, FLAME_EINVALID, "INVALID_REQUEST", "image");
    assert_int_equal(mem_engine_calls(f->m, MEM_CREATE), 0);
}

/* An engine without ENGINE_CAP_PLACEMENT (one Docker Engine) refuses a
 * placement before any engine call, saying it needs --engine swarm. */
static void test_placement_needs_swarm(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    char *constraints[] = {"node.labels.zone==a"};
    Flame__V1__Placement pl = FLAME__V1__PLACEMENT__INIT;
    pl.n_constraints = 1;
    pl.constraints = constraints;
    req.placement = &pl;
    expect_failure(f, &req, FLAME_EINVALID, "INVALID_REQUEST", "needs --engine swarm");
    assert_int_equal(mem_engine_calls(f->m, MEM_NETWORK), 0);
    assert_int_equal(mem_engine_calls(f->m, MEM_CREATE), 0);
    constraints[0] = "node.labels.zone=a";
    expect_failure(f, &req, FLAME_EINVALID, "INVALID_REQUEST", "placement.constraints[0]");
}

static void test_network_missing(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.network = "nonet";
    expect_failure(f, &req, FLAME_EPRECONDITION, "NETWORK_NOT_FOUND", "docker network create nonet");
}

static void test_network_check_unavailable(void **state)
{
    struct fixture *f = *state;
    mem_engine_add_network(f->m, "net1");
    mem_engine_fail(f->m, MEM_NETWORK, 1, FLAME_EUNAVAILABLE, "engine down");
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.network = "net1";
    expect_failure(f, &req, FLAME_EUNAVAILABLE, "DOCKER_UNAVAILABLE", "engine down");
}

static void test_image_never(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.image = "flt/absent:1";
    req.pull_policy = FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER;
    expect_failure(f, &req, FLAME_ENOTFOUND, "IMAGE_NOT_FOUND", "pull_policy is NEVER");
    assert_int_equal(mem_engine_calls(f->m, MEM_IMAGE_PULL), 0);
}

static void test_pull_fails(void **state)
{
    struct fixture *f = *state;
    mem_engine_fail(f->m, MEM_IMAGE_PULL, 1, FLAME_EUNAVAILABLE, "registry unreachable");
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.image = "flt/absent:1";
    expect_failure(f, &req, FLAME_EUNAVAILABLE, "IMAGE_PULL_FAILED", "registry unreachable");
}

static void test_pull_then_boot(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.image = "flt/pulled:1";
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    assert_int_equal(mem_engine_calls(f->m, MEM_IMAGE_PULL), 1);
    fake_call_free(fc);
}

static void nokick(void *ud) { (void)ud; }

/* A pull's progress reaches watchers as PULLING events of the BOOTING runner,
 * before STARTED: the first step at once, the last when the pull has finished
 * (the steps between come within 250 ms, so they are folded into the last). */
static void test_pull_progress_is_published_as_pulling_events(void **state)
{
    struct fixture *f = *state;
    const struct runner_watch_opts o = {.kick = nokick};
    hub_watcher *w = NULL;
    assert_int_equal(runner_registry_watch(f->svc->reg, &o, &w), 0);
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.image = "flt/pulled:1";
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    fake_call_free(fc);

    Flame__V1__WatchResponse *pulling[4] = {0};
    int n_pulling = 0, started = 0;
    hub_event *ev = NULL;
    while (event_hub_pop(w, &ev, NULL) == HUB_POP_EVENT) {
        Flame__V1__WatchResponse *resp = flame__v1__watch_response__unpack(NULL, ev->len, ev->data);
        assert_non_null(resp);
        if (resp->type == FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_PULLING) {
            assert_false(started);
            assert_true(n_pulling < 4);
            assert_int_equal(resp->runner->state, S(BOOTING));
            pulling[n_pulling++] = resp;
        } else {
            assert_null(resp->pull);
            started |= resp->type == FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_STARTED;
            flame__v1__watch_response__free_unpacked(resp, NULL);
        }
        hub_event_unref(ev);
    }
    event_hub_unsubscribe(f->svc->hub, w);
    assert_true(started);
    assert_int_equal(n_pulling, 2);
    assert_string_equal(pulling[0]->pull->image, "flt/pulled:1");
    assert_int_equal(pulling[0]->pull->bytes_done, 500);
    assert_int_equal(pulling[0]->pull->bytes_total, 1000);
    assert_int_equal(pulling[0]->pull->layers, 2);
    assert_int_equal(pulling[0]->pull->layers_done, 0);
    assert_int_equal(pulling[1]->pull->bytes_done, 4000);
    assert_int_equal(pulling[1]->pull->bytes_total, 4000);
    assert_int_equal(pulling[1]->pull->layers_done, 2);
    for (int i = 0; i < n_pulling; i++)
        flame__v1__watch_response__free_unpacked(pulling[i], NULL);
}

/* An image already present: no pull, so no PULLING event. */
static void test_present_image_has_no_pulling_event(void **state)
{
    struct fixture *f = *state;
    const struct runner_watch_opts o = {.kick = nokick};
    hub_watcher *w = NULL;
    assert_int_equal(runner_registry_watch(f->svc->reg, &o, &w), 0);
    char id[RUNNER_ID_LEN + 1];
    fixture_boot_ok(f, NULL, id);
    hub_event *ev = NULL;
    int n = 0;
    while (event_hub_pop(w, &ev, NULL) == HUB_POP_EVENT) {
        assert_int_not_equal(ev->type, FLAME__V1__RUNNER_EVENT_TYPE__RUNNER_EVENT_TYPE_PULLING);
        n++;
        hub_event_unref(ev);
    }
    event_hub_unsubscribe(f->svc->hub, w);
    assert_true(n >= 2); /* BOOTING, STARTED */
}

static void test_create_refused(void **state)
{
    struct fixture *f = *state;
    mem_engine_fail(f->m, MEM_CREATE, 1, FLAME_EINVALID, "bad config");
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_EINVALID, "DOCKER_REFUSED", "bad config");
}

static void test_create_name_taken(void **state)
{
    struct fixture *f = *state;
    mem_engine_fail(f->m, MEM_CREATE, 1, FLAME_EEXISTS, "name taken");
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_ECONFLICT, "NAME_CONFLICT", "retry the Boot");
}

static void test_create_answer_lost(void **state)
{
    struct fixture *f = *state;
    mem_engine_fail(f->m, MEM_CREATE, 1, FLAME_EUNAVAILABLE, "connection reset");
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_EUNAVAILABLE, "DOCKER_UNAVAILABLE", "connection reset");
    /* Boot removes by name whatever Docker may have made. */
    assert_true(mem_engine_calls(f->m, MEM_REMOVE) >= 1);
}

static void test_start_fails(void **state)
{
    struct fixture *f = *state;
    mem_engine_fail(f->m, MEM_START, 1, FLAME_EINVALID, "exec format error");
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_EINVALID, "START_FAILED", "exec format error");
    assert_true(mem_engine_calls(f->m, MEM_REMOVE) >= 1);
}

static void test_exits_during_boot(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.exits = 1, .exit_code = 3};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_EABORTED, "RUNNER_EXITED", "exit code 3");
}

static void test_unhealthy(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "unhealthy", .health_after_ms = 50};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    expect_failure(f, &req, FLAME_EABORTED, "RUNNER_EXITED", "unhealthy");
}

static void test_healthy(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "healthy", .health_after_ms = 50};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    assert_int_equal(mem_engine_running(f->m), 1);
    fake_call_free(fc);
}

/* The wait follows the engine's events: one look after start, one per event
 * of the runner (create and start may still be on their way, then
 * health_status); no polling in between (20 -> 200 ms polling looked 8 times
 * in 900 ms). */
static void test_wait_follows_events(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "healthy", .health_after_ms = 900};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    assert_in_range(mem_engine_calls(f->m, MEM_INSPECT), 2, 4);
    fake_call_free(fc);
}

/* A missed event (a gap in the stream) only delays the wait: inspect is the fallback. */
static void test_wait_missed_event(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "healthy", .health_after_ms = 100};
    mem_engine_script(f->m, &s);
    mem_engine_drop_events(f->m, 1);
    Flame__V1__BootRequest req;
    boot_req(&req);
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    assert_int_equal(mem_engine_running(f->m), 1);
    mem_engine_drop_events(f->m, 0);
    fake_call_free(fc);
}

static void test_boot_timeout(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "healthy", .health_after_ms = 1000000};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.boot_timeout_ms = 300;
    expect_failure(f, &req, FLAME_ETIMEOUT, "BOOT_TIMEOUT", "boot_timeout");
}

/* Cancel while the Boot is blocked in op: it ends CANCELLED and leaves nothing. */
static void cancel_at(struct fixture *f, enum mem_op op)
{
    Flame__V1__BootRequest req;
    boot_req(&req);
    if (op == MEM_NETWORK) {
        mem_engine_add_network(f->m, "net1");
        req.network = "net1";
    }
    if (op == MEM_IMAGE_PULL)
        req.image = "flt/absent:1";
    int before = mem_engine_calls(f->m, op);
    mem_engine_block(f->m, op);
    fake_call *fc = fake_call_new(f->svc, "Boot", &req.base, NULL, 0);
    fake_call_start(fc);
    for (int i = 0; i < 2000 && mem_engine_calls(f->m, op) == before; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(mem_engine_calls(f->m, op) > before);
    fake_call_cancel(fc);
    assert_true(fake_call_wait(fc, 5000));
    mem_engine_unblock(f->m, op);
    assert_int_equal(fake_call_code(fc), FLAME_ECANCELLED);
    fake_call_free(fc);
    assert_nothing_left(f);
}

static void test_cancel_network(void **state) { cancel_at(*state, MEM_NETWORK); }
static void test_cancel_image(void **state) { cancel_at(*state, MEM_IMAGE_PRESENT); }
static void test_cancel_pull(void **state) { cancel_at(*state, MEM_IMAGE_PULL); }
static void test_cancel_create(void **state) { cancel_at(*state, MEM_CREATE); }
static void test_cancel_start(void **state) { cancel_at(*state, MEM_START); }
static void test_cancel_wait(void **state) { cancel_at(*state, MEM_INSPECT); }

static void test_pool_scoped_caller(void **state)
{
    struct fixture *f = *state;
    static const char *const pools[] = {"a"};
    struct caller_identity id = {"team-a", pools, 1, "token"};
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.pool = "b";
    fake_call *fc = fixture_call(f, "Boot", &req.base, &id, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), FLAME_EPERM);
    assert_string_equal(fake_call_reason(fc), "POOL_NOT_ALLOWED");
    assert_non_null(strstr(fake_call_detail(fc), "team-a"));
    fake_call_free(fc);
    assert_int_equal(mem_engine_calls(f->m, MEM_CREATE), 0);
    req.pool = "a";
    fc = fixture_call(f, "Boot", &req.base, &id, 0);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), 0);
    fake_call_free(fc);
}

static void test_replayed_request_id(void **state)
{
    struct fixture *f = *state;
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.request_id = "req-1";
    fake_call *a = fixture_call(f, "Boot", &req.base, NULL, 0);
    fake_call *b = fixture_call(f, "Boot", &req.base, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(fake_call_code(a), 0);
    assert_int_equal(fake_call_code(b), 0);
    Flame__V1__BootResponse *ra =
        (Flame__V1__BootResponse *)fake_call_response(a, &flame__v1__boot_response__descriptor);
    Flame__V1__BootResponse *rb =
        (Flame__V1__BootResponse *)fake_call_response(b, &flame__v1__boot_response__descriptor);
    assert_string_equal(ra->runner->id, rb->runner->id);
    assert_int_equal(mem_engine_count(f->m), 1);
    protobuf_c_message_free_unpacked(&ra->base, NULL);
    protobuf_c_message_free_unpacked(&rb->base, NULL);
    fake_call_free(a);
    fake_call_free(b);
}

static void test_replay_while_booting(void **state)
{
    struct fixture *f = *state;
    struct mem_script s = {.health = "healthy", .health_after_ms = 300};
    mem_engine_script(f->m, &s);
    Flame__V1__BootRequest req;
    boot_req(&req);
    req.request_id = "req-2";
    fake_call *a = fake_call_new(f->svc, "Boot", &req.base, NULL, 0);
    fake_call *b = fake_call_new(f->svc, "Boot", &req.base, NULL, 0);
    fake_call_start(a);
    while (mem_engine_calls(f->m, MEM_CREATE) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fake_call_start(b);
    assert_true(fake_call_wait(a, 10000));
    assert_true(fake_call_wait(b, 10000));
    assert_int_equal(fake_call_code(a), 0);
    assert_int_equal(fake_call_code(b), 0);
    assert_int_equal(mem_engine_count(f->m), 1);
    fake_call_free(a);
    fake_call_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boot_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement_needs_swarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_check_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_never, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_progress_is_published_as_pulling_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_present_image_has_no_pulling_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_then_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_name_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_answer_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exits_during_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unhealthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_follows_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_missed_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_scoped_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_while_booting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
