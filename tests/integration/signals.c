/*
 * flamed's own lifecycle: SIGTERM ends Watch streams with UNAVAILABLE, exits
 * 0 and leaves the runners running; a flamed restarted on the same socket
 * adopts them (List, Spawn, Shutdown work on them).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define UNAVAILABLE 14

FL_TEST(sigterm_ends_watches_unavailable_and_leaves_runners_running)
{
    flame_runner *r = fl_boot_default(e, NULL);
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 1);
    assert_true(fl_watch_wait(w, r->id, FLAME_EVENT_EXISTING, 10000) >= 0);

    int64_t t0 = fl_now_ms();
    int ws = fl_flamed_stop(e, 10000);
    fl_assert_clean_exit(e, ws);
    int64_t took = fl_now_ms() - t0;
    if (took > 10000)
        fail_msg("flamed took %lld ms to exit on SIGTERM with one Watch open", (long long)took);

    int rc = 0;
    flame_status st;
    memset(&st, 0, sizeof(st));
    if (fl_watch_wait_end(w, 5000, &rc, &st) < 0)
        fail_msg("the Watch stream did not end within 5 s of flamed exiting");
    if (rc != FLAME_EUNAVAILABLE || st.code != UNAVAILABLE)
        fail_msg("the Watch ended with %s (%s: %s), expected UNAVAILABLE", flame_error_name(rc),
                 flame_grpc_status_name(st.code), st.message);

    cJSON *j = fl_inspect(e, r->container_id);
    assert_non_null(j);
    if (!cJSON_IsTrue(fl_json_path(j, "State.Running")))
        fail_msg("runner %s's container stopped when flamed exited", r->id);
    cJSON_Delete(j);
    assert_int_equal(fl_remove_container(e, r->container_id), 0);
    flame_runner_free(r);
}

FL_TEST(restarted_flamed_adopts_its_running_runners)
{
    const char *labels[] = {e->run_label, "team=blue", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.labels = labels;
    flame_runner *r = fl_boot(e, &req);
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));

    fl_flamed_start(e); /* same socket path */
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    /* Adoption runs on flamed's event thread after start, inspecting every flamed
     * container on the daemon one by one (other flameds' too): List answers before it
     * is done, so poll. */
    int64_t until = fl_now_ms() + 30000;
    for (;;) {
        assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
        if (n > 0 || fl_now_ms() >= until)
            break;
        flame_runner_list_free(rs, n);
        fl_sleep_ms(50);
    }
    assert_int_equal(n, 1);
    const flame_runner *a = rs[0];
    assert_string_equal(a->id, r->id);
    assert_int_equal(a->state, FLAME_RUNNER_RUNNING);
    assert_string_equal(a->container_id, r->container_id);
    assert_string_equal(a->name, r->name);
    assert_string_equal(a->pool, r->pool);
    assert_string_equal(a->network, r->network);
    assert_string_equal(a->ip_address, r->ip_address);
    assert_string_equal(flame_runner_label(a, "team"), "blue");
    flame_runner_list_free(rs, n);

    fl_output o = {0};
    const char *argv[] = {"hostname", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    char want[128];
    snprintf(want, sizeof(want), "%s\n", r->name);
    assert_string_equal(o.out, want);
    fl_output_free(&o);

    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_REMOVED);
    assert_int_equal(fl_wait_container_gone(e, r->container_id, 10000), 0);
    flame_runner_free(r);
}

FL_TEST(restarted_flamed_adopts_kept_exited_runners_as_exited)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.keep_runner = 1;
    flame_runner *r = fl_boot(e, &req);
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_EXITED);
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));

    fl_flamed_start(e);
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int64_t until = fl_now_ms() + 30000;
    for (;;) {
        assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
        if (n > 0 || fl_now_ms() >= until)
            break;
        flame_runner_list_free(rs, n);
        fl_sleep_ms(50);
    }
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, r->id);
    assert_int_equal(rs[0]->state, FLAME_RUNNER_EXITED);
    assert_int_equal(rs[0]->keep_runner, 1);
    flame_runner_list_free(rs, n);
    /* Still there: a restart must not reap kept runners. */
    cJSON *j = fl_inspect(e, r->container_id);
    assert_non_null(j);
    cJSON_Delete(j);
    assert_int_equal(fl_remove_container(e, r->container_id), 0);
    flame_runner_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(sigterm_ends_watches_unavailable_and_leaves_runners_running),
        FL_UNIT(restarted_flamed_adopts_its_running_runners),
        FL_UNIT(restarted_flamed_adopts_kept_exited_runners_as_exited),
    };
    return FL_RUN("signals", tests);
}
