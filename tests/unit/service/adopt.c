/*
 * Adoption and the gate, against the in-memory engine: a started service
 * adopts the containers that carry its instance label (running ones as
 * RUNNING, exited unkept ones reaped), leaves other instances' alone, and
 * calls wait for adoption within their deadline.
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

#define RUNNING_ID "aaaaaaaaaaaaaaa1"
#define EXITED_ID "aaaaaaaaaaaaaaa2"
#define OTHER_ID "aaaaaaaaaaaaaaa3"

static void prepare(mem_engine *m)
{
    static const char *const running[] = {
        RUNNER_LABEL_INSTANCE, "unit", RUNNER_LABEL_ID, RUNNING_ID, RUNNER_LABEL_POOL, "web",
        RUNNER_LABEL_KEEP, "false", RUNNER_LABEL_PARENT_ID, "p1", RUNNER_LABEL_LEASE_TTL, "60000", NULL};
    static const char *const exited[] = {RUNNER_LABEL_INSTANCE, "unit", RUNNER_LABEL_ID, EXITED_ID,
                                         RUNNER_LABEL_POOL, "web", RUNNER_LABEL_KEEP, "false", NULL};
    static const char *const other[] = {RUNNER_LABEL_INSTANCE, "someone-else", RUNNER_LABEL_ID,
                                        OTHER_ID, RUNNER_LABEL_POOL, "web", NULL};
    mem_engine_add_container(m, "flame-web-aaaaaaaaaaaa", 1, 0, running);
    mem_engine_add_container(m, "flame-web-aaaaaaaaaaab", 0, 2, exited);
    mem_engine_add_container(m, "flame-web-aaaaaaaaaaac", 1, 0, other);
}

static int pred_reaped(struct fixture *f, void *ud)
{
    (void)ud;
    return mem_engine_count(f->m) == 2;
}

static void test_adopts_its_own(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(fixture_start(&f, prepare), 0);
    assert_int_equal(fixture_state(&f, RUNNING_ID), S(RUNNING));
    assert_int_equal(fixture_state(&f, OTHER_ID), -1);
    /* The exited, unkept one is recorded and reaped. */
    assert_true(fixture_until(&f, pred_reaped, NULL, 3000));
    int s = fixture_state(&f, EXITED_ID);
    assert_true(s == S(EXITED) || s == S(REMOVED));
    /* Its rules hold: the lease from the labels is renewable by its parent. */
    Flame__V1__RenewRequest rreq = FLAME__V1__RENEW_REQUEST__INIT;
    rreq.parent_id = "p1";
    fake_call *fc = fixture_call(&f, "Renew", &rreq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    Flame__V1__RenewResponse *rr =
        (Flame__V1__RenewResponse *)fake_call_response(fc, &flame__v1__renew_response__descriptor);
    assert_int_equal(rr->renewed, 1);
    protobuf_c_message_free_unpacked(&rr->base, NULL);
    fake_call_free(fc);
    /* And Shutdown works on it. */
    Flame__V1__ShutdownRequest sreq = FLAME__V1__SHUTDOWN_REQUEST__INIT;
    sreq.runner_id = RUNNING_ID;
    fc = fixture_call(&f, "Shutdown", &sreq.base, NULL, 0);
    assert_int_equal(fake_call_code(fc), 0);
    fake_call_free(fc);
    assert_int_equal(mem_engine_count(f.m), 1); /* only the other instance's */
    fixture_stop(&f);
}

static void block_list(mem_engine *m) { mem_engine_block(m, MEM_LIST); }

static void test_gate_waits_for_adoption(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(fixture_start_ex(&f, block_list, 0), 0);
    assert_int_equal(service_sync_state(f.svc), SERVICE_SYNC_ADOPTING);
    /* A call whose deadline passes first answers UNAVAILABLE / ADOPTING. */
    Flame__V1__ListRequest req = FLAME__V1__LIST_REQUEST__INIT;
    fake_call *fc = fixture_call(&f, "List", &req.base, NULL, 300);
    assert_non_null(fc);
    assert_int_equal(fake_call_code(fc), FLAME_EUNAVAILABLE);
    assert_string_equal(fake_call_reason(fc), "ADOPTING");
    fake_call_free(fc);
    /* A call without a deadline waits, and runs once adoption is done. */
    fc = fake_call_new(f.svc, "List", &req.base, NULL, 0);
    fake_call_start(fc);
    assert_false(fake_call_wait(fc, 100));
    mem_engine_unblock(f.m, MEM_LIST);
    assert_true(fake_call_wait(fc, 5000));
    assert_int_equal(fake_call_code(fc), 0);
    fake_call_free(fc);
    fixture_stop(&f);
}

static void test_gate_cancel(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(fixture_start_ex(&f, block_list, 0), 0);
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    req.image = FIX_IMAGE;
    fake_call *fc = fake_call_new(f.svc, "Boot", &req.base, NULL, 0);
    fake_call_start(fc);
    assert_false(fake_call_wait(fc, 100));
    fake_call_cancel(fc);
    assert_true(fake_call_wait(fc, 2000));
    assert_int_equal(fake_call_code(fc), FLAME_ECANCELLED);
    fake_call_free(fc);
    assert_int_equal(mem_engine_calls(f.m, MEM_CREATE), 0);
    mem_engine_unblock(f.m, MEM_LIST);
    fixture_stop(&f);
}

/*
 * Attack: Docker merges the image's labels into the container's, so a
 * tenant's image with LABEL flamed.parent-id=... supplies every per-Boot
 * flamed.* label its Boot left unset, and a restarted flamed read them
 * unchecked (a parent id with a quote and a newline forged log lines in
 * runner_retired; a lease of "1x" was read as 1). Adoption holds each
 * per-Boot label to a Boot's checks, whatever its source; one that fails is
 * read as unset.
 */
#define IMAGE_ID "aaaaaaaaaaaaaaa4"
static void prepare_image_labels(mem_engine *m)
{
    static const char *const labels[] = {
        RUNNER_LABEL_INSTANCE, "unit", RUNNER_LABEL_ID, IMAGE_ID, RUNNER_LABEL_POOL, "web",
        RUNNER_LABEL_KEEP, "yes", RUNNER_LABEL_PARENT_ID, "p\" msg=forged\nlevel=error msg=x",
        RUNNER_LABEL_LEASE_TTL, "60000", RUNNER_LABEL_REQUEST_ID, "r 1",
        RUNNER_LABEL_MAX_LIFETIME, "12abc", RUNNER_LABEL_IDLE_AFTER, "-5",
        RUNNER_LABEL_NETWORK, "net\nlevel=error", NULL};
    mem_engine_add_container(m, "flame-web-aaaaaaaaaaa4", 1, 0, labels);
}

static void test_per_boot_labels_are_checked_at_adoption(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(fixture_start(&f, prepare_image_labels), 0);
    struct runner *r = NULL;
    assert_int_equal(runner_registry_get(f.svc->reg, IMAGE_ID, &r), 0);
    assert_int_equal(r->state, S(RUNNING));
    assert_string_equal(r->parent_id, "");
    assert_string_equal(r->request_id, "");
    assert_int_equal(r->lease_ttl_ms, 0);
    assert_int_equal(r->max_lifetime_ms, 0);
    assert_int_equal(r->idle_after_ms, 0);
    assert_false(r->keep_runner);
    assert_string_equal(r->network, "");
    for (size_t i = 0; i < r->n_labels; i++)
        if (strcmp(r->label_keys[i], RUNNER_LABEL_PARENT_ID) == 0 ||
            strcmp(r->label_keys[i], RUNNER_LABEL_NETWORK) == 0)
            fail_msg("the unchecked %s is still among the runner's labels", r->label_keys[i]);
    runner_free(r);
    fixture_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adopts_its_own),
        cmocka_unit_test(test_gate_waits_for_adoption),
        cmocka_unit_test(test_gate_cancel),
        cmocka_unit_test(test_per_boot_labels_are_checked_at_adoption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
