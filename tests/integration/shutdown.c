/*
 * Shutdown: a running runner ends REMOVED with its container gone; a second
 * Shutdown answers the same (idempotent); unknown and malformed ids; a kept
 * runner stays as an exited container; a command deaf to SIGTERM is killed
 * after the grace.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define INVALID_ARGUMENT 3
#define NOT_FOUND 5

FL_TEST(shutdown_removes_a_running_runner_and_its_container)
{
    flame_runner *r = fl_boot_default(e, NULL);
    flame_runner *out = NULL;
    flame_status st;
    int rc = flame_client_shutdown(e->client, r->id, 0, &out, &st);
    fl_assert_status(rc, &st, 0);
    assert_non_null(out);
    assert_string_equal(out->id, r->id);
    assert_int_equal(out->state, FLAME_RUNNER_REMOVED);
    assert_int_equal(out->exit_code, 0); /* the command exits 0 on SIGTERM */
    /* Gone from Docker. Not asserted at the instant Shutdown answers: when another
     * flamed on the same daemon (they adopt each other's runners) is removing the
     * container too, Docker answers flamed's DELETE with 409 and flamed reports
     * REMOVED while that removal is still finishing (server/service/shutdown.c). */
    cJSON *j = fl_inspect(e, r->container_id);
    if (j) {
        cJSON_Delete(j);
        print_message("note: container %.12s still existed when Shutdown answered REMOVED\n",
                      r->container_id);
        if (fl_wait_container_gone(e, r->container_id, 10000) < 0)
            fail_msg("container %.12s still exists 10 s after Shutdown answered REMOVED",
                     r->container_id);
    }
    flame_runner_free(out);
    flame_runner_free(r);
}

FL_TEST(shutdown_twice_answers_removed_both_times)
{
    flame_runner *r = fl_boot_default(e, NULL);
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_REMOVED);
    flame_runner *out = NULL;
    flame_status st;
    int rc = flame_client_shutdown(e->client, r->id, 0, &out, &st);
    fl_assert_status(rc, &st, 0);
    assert_non_null(out);
    assert_string_equal(out->id, r->id);
    assert_int_equal(out->state, FLAME_RUNNER_REMOVED);
    flame_runner_free(out);
    flame_runner_free(r);
}

FL_TEST(shutdown_of_a_never_known_runner_is_not_found)
{
    flame_status st;
    int rc = flame_client_shutdown(e->client, "fedcba9876543210", 0, NULL, &st);
    fl_assert_status(rc, &st, NOT_FOUND);
    fl_assert_contains(st.message, "fedcba9876543210");
}

FL_TEST(shutdown_with_a_malformed_id_is_invalid_argument)
{
    flame_status st;
    int rc = flame_client_shutdown(e->client, "not a/valid id!", 0, NULL, &st);
    fl_assert_status(rc, &st, INVALID_ARGUMENT);
    fl_assert_contains(st.message, "runner_id");

    /* An empty id, sent by hand (libflame may refuse it itself). */
    Flame__V1__ShutdownRequest req = FLAME__V1__SHUTDOWN_REQUEST__INIT;
    char msg[1024];
    int code = fl_grpc_unary(e, "/flame.v1.RunnerService/Shutdown", &req.base,
                             &flame__v1__shutdown_response__descriptor, NULL, msg, sizeof(msg));
    assert_int_equal(code, INVALID_ARGUMENT);
    fl_assert_contains(msg, "runner_id");
}

FL_TEST(shutdown_of_a_kept_runner_leaves_its_container_exited)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.keep_runner = 1;
    flame_runner *r = fl_boot(e, &req);
    assert_int_equal(r->keep_runner, 1);
    flame_runner *out = NULL;
    flame_status st;
    int rc = flame_client_shutdown(e->client, r->id, 0, &out, &st);
    fl_assert_status(rc, &st, 0);
    assert_int_equal(out->state, FLAME_RUNNER_EXITED);
    flame_runner_free(out);

    cJSON *j = fl_inspect(e, r->container_id);
    assert_non_null(j);
    assert_true(cJSON_IsFalse(fl_json_path(j, "State.Running")));
    assert_string_equal(fl_json_path(j, "State.Status")->valuestring, "exited");
    cJSON_Delete(j);

    /* List still shows it, EXITED. */
    flame_runner **rs = NULL;
    size_t n = 0;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, r->id);
    assert_int_equal(rs[0]->state, FLAME_RUNNER_EXITED);
    flame_runner_list_free(rs, n);

    assert_int_equal(fl_remove_container(e, r->container_id), 0);
    flame_runner_free(r);
}

FL_TEST(shutdown_kills_a_runner_that_ignores_sigterm_after_the_grace)
{
    /* PID 1 `sleep` has no SIGTERM handler: the kernel ignores the signal. */
    const char *cmd[] = {"sleep", "3600", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    flame_runner *r = fl_boot(e, &req);
    flame_runner *out = NULL;
    flame_status st;
    int64_t t0 = fl_now_ms();
    int rc = flame_client_shutdown(e->client, r->id, 1000, &out, &st);
    int64_t took = fl_now_ms() - t0;
    fl_assert_status(rc, &st, 0);
    assert_int_equal(out->state, FLAME_RUNNER_REMOVED);
    assert_int_equal(out->exit_code, 137);
    if (took < 900 || took > 15000)
        fail_msg("Shutdown with a 1000 ms grace of a SIGTERM-deaf runner took %lld ms",
                 (long long)took);
    assert_int_equal(fl_wait_container_gone(e, r->container_id, 10000), 0);
    flame_runner_free(out);
    flame_runner_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(shutdown_removes_a_running_runner_and_its_container),
        FL_UNIT(shutdown_twice_answers_removed_both_times),
        FL_UNIT(shutdown_of_a_never_known_runner_is_not_found),
        FL_UNIT(shutdown_with_a_malformed_id_is_invalid_argument),
        FL_UNIT(shutdown_of_a_kept_runner_leaves_its_container_exited),
        FL_UNIT(shutdown_kills_a_runner_that_ignores_sigterm_after_the_grace),
    };
    return FL_RUN_SHARED("shutdown", tests);
}
