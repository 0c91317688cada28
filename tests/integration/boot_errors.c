/*
 * Boot, failure paths: each refused request answers the documented status
 * with a message that names the problem, and no failed Boot leaves a
 * container behind (unless keep_runner asked for it).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INVALID_ARGUMENT 3
#define DEADLINE_EXCEEDED 4
#define NOT_FOUND 5
#define FAILED_PRECONDITION 9
#define ABORTED 10
#define UNAVAILABLE 14

/* Boot and return the code; the runner (if any) is freed. */
static int boot_status(fl_env *e, const flame_boot_request *req, flame_status *st)
{
    flame_runner *r = NULL;
    int rc = flame_client_boot(e->client, req, &r, st);
    flame_runner_free(r);
    return rc;
}

static void assert_no_container_left(fl_env *e)
{
    int n = fl_count_labelled(e, e->run_label);
    if (n != 0)
        fail_msg("%d container(s) labelled %s are left after a failed Boot", n, e->run_label);
}

/* Assert the status and the flame-reason of a failed call. */
static void assert_reason(int rc, const flame_status *st, int want_code, const char *want_reason)
{
    fl_assert_status(rc, st, want_code);
    if (strcmp(st->reason, want_reason) != 0)
        fail_msg("expected flame-reason %s, got \"%s\" (%s: %s)", want_reason, st->reason,
                 flame_grpc_status_name(st->code), st->message);
}

FL_TEST(boot_without_image_is_invalid_argument)
{
    /* libflame refuses an empty image itself: send the request by hand. */
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    req.network = e->network;
    req.pool = e->pool;
    char msg[1024];
    ProtobufCMessage *resp = NULL;
    int code = fl_grpc_unary(e, "/flame.v1.RunnerService/Boot", &req.base,
                             &flame__v1__boot_response__descriptor, &resp, msg, sizeof(msg));
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_equal(code, INVALID_ARGUMENT);
    fl_assert_contains(msg, "image");
    assert_no_container_left(e);
}

FL_TEST(boot_on_missing_network_fails_precondition_with_the_fix)
{
    char net[64];
    snprintf(net, sizeof(net), "fltest-missing-%d", (int)getpid());
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.network = net;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    assert_reason(rc, &st, FAILED_PRECONDITION, "NETWORK_NOT_FOUND");
    fl_assert_contains(st.message, "docker network create");
    fl_assert_contains(st.message, net);
    assert_no_container_left(e);
}

FL_TEST(boot_refuses_host_config_fields_flamed_owns)
{
    static const char *const cases[][2] = {
        {"{\"Hostname\": \"x\"}", "Hostname"},
        {"{\"NetworkMode\": \"host\"}", "NetworkMode"},
        {"{\"NetworkingConfig\": {}}", "NetworkingConfig"},
        {"{\"RestartPolicy\": {\"Name\": \"always\"}}", "RestartPolicy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flame_boot_request req;
        fl_boot_req_init(e, &req);
        req.host_config_json = cases[i][0];
        flame_status st;
        int rc = boot_status(e, &req, &st);
        fl_assert_status(rc, &st, INVALID_ARGUMENT);
        fl_assert_contains(st.message, cases[i][1]);
    }
    assert_no_container_left(e);
}

FL_TEST(boot_refuses_unknown_host_config_field)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.host_config_json = "{\"Memory\": 67108864, \"BogusField\": 1}";
    flame_status st;
    int rc = boot_status(e, &req, &st);
    fl_assert_status(rc, &st, INVALID_ARGUMENT);
    fl_assert_contains(st.message, "BogusField");
    assert_no_container_left(e);
}

FL_TEST(boot_refuses_host_config_field_of_wrong_type)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.host_config_json = "{\"Memory\": \"lots\"}";
    flame_status st;
    int rc = boot_status(e, &req, &st);
    fl_assert_status(rc, &st, INVALID_ARGUMENT);
    fl_assert_contains(st.message, "Memory");
    assert_no_container_left(e);
}

FL_TEST(boot_refuses_reserved_label_key)
{
    const char *labels[] = {e->run_label, "flamed.x=1", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.labels = labels;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    fl_assert_status(rc, &st, INVALID_ARGUMENT);
    fl_assert_contains(st.message, "flamed.x");
    assert_no_container_left(e);
}

/* Swarm: flamed neither checks nor pulls the image (the task's node does:
 * docs/engines.md); a missing image fails Boot with the swarm's task error,
 * as a refused start. */
static void assert_swarm_no_such_image(int rc, const flame_status *st, const char *image)
{
    assert_reason(rc, st, INVALID_ARGUMENT, "START_FAILED");
    fl_assert_contains(st->message, "No such image");
    fl_assert_contains(st->message, image);
}

FL_TEST(boot_with_pull_never_of_missing_image_is_not_found)
{
    char image[96];
    snprintf(image, sizeof(image), "fltest-nonexistent-%d/nope:latest", (int)getpid());
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = image;
    req.pull_policy = FLAME_PULL_NEVER;
    flame_status st;
    int64_t t0 = fl_now_ms();
    int rc = boot_status(e, &req, &st);
    if (fl_engine_is_swarm()) {
        /* No service setting stops a node pulling: NEVER is refused before anything
         * is made (docs/engines.md, "Docker Swarm mode"). */
        assert_reason(rc, &st, INVALID_ARGUMENT, "INVALID_REQUEST");
        fl_assert_contains(st.message, "pull_policy NEVER");
        assert_true(fl_now_ms() - t0 < 5000);
        assert_no_container_left(e);
        return;
    }
    fl_assert_status(rc, &st, NOT_FOUND);
    assert_string_equal(st.reason, "IMAGE_NOT_FOUND");
    fl_assert_contains(st.message, image);
    assert_true(fl_now_ms() - t0 < 5000);
    assert_no_container_left(e);
}

FL_TEST(boot_pulling_missing_image_fails_quickly)
{
    char image[96];
    snprintf(image, sizeof(image), "fltest-nonexistent-%d/nope:latest", (int)getpid());
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = image;
    req.pull_policy = FLAME_PULL_IF_NOT_PRESENT;
    flame_status st;
    int64_t t0 = fl_now_ms();
    int rc = boot_status(e, &req, &st);
    int64_t took = fl_now_ms() - t0;
    if (fl_engine_is_swarm())
        assert_swarm_no_such_image(rc, &st, image);
    else if (!(st.code == NOT_FOUND && strcmp(st.reason, "IMAGE_NOT_FOUND") == 0) &&
        !(st.code == UNAVAILABLE && strcmp(st.reason, "IMAGE_PULL_FAILED") == 0))
        fail_msg("expected NOT_FOUND IMAGE_NOT_FOUND or UNAVAILABLE IMAGE_PULL_FAILED, got %s "
                 "(%s, reason \"%s\"): %s",
                 flame_error_name(rc), flame_grpc_status_name(st.code), st.reason, st.message);
    fl_assert_contains(st.message, image);
    if (took > 20000)
        fail_msg("a pull with no registry reachable took %lld ms", (long long)took);
    assert_no_container_left(e);
}

FL_TEST(boot_of_command_that_exits_is_aborted_with_exit_code_and_logs)
{
    const char *cmd[] = {"sh", "-c", "echo boom-marker; exit 5", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    if (rc == 0)
        fail_msg("Boot answered OK (RUNNING) for a runner whose command exits at once: flamed "
                 "took the first inspect that showed it running as success, a few ms before "
                 "the command exited 5 (server/service/boot.c wait_running)");
    assert_reason(rc, &st, ABORTED, "RUNNER_EXITED");
    fl_assert_contains(st.message, "exit code 5");
    fl_assert_contains(st.message, "boom-marker");
    assert_no_container_left(e);
}

FL_TEST(boot_of_commands_that_exit_at_once_is_aborted_every_time)
{
    /* The race above, run often enough to be seen: on a swarm the manager hears
     * of the exit after the node's die (84 ms seen), and a Boot that took the
     * task's "running" for the runner's answered RUNNING once in four. Each
     * Boot must answer as one Docker host does, with its own exit code. */
    for (int i = 0; i < 6; i++) {
        char script[64], marker[32], code[32];
        snprintf(marker, sizeof(marker), "quick-exit-%d", i);
        snprintf(script, sizeof(script), "echo %s; exit %d", marker, 3 + i);
        snprintf(code, sizeof(code), "exit code %d", 3 + i);
        const char *cmd[] = {"sh", "-c", script, NULL};
        flame_boot_request req;
        fl_boot_req_init(e, &req);
        req.cmd = cmd;
        flame_status st;
        int rc = boot_status(e, &req, &st);
        if (rc == 0)
            fail_msg("Boot %d of %d answered OK (RUNNING) for a runner whose command exits at "
                     "once (%s)%s",
                     i + 1, 6, script,
                     fl_engine_is_swarm() ? ": the task still said running, and the engine did not "
                                            "read its container (server/engine/swarm_engine.c "
                                            "container_look)"
                                          : "");
        assert_reason(rc, &st, ABORTED, "RUNNER_EXITED");
        fl_assert_contains(st.message, code);
        fl_assert_contains(st.message, marker);
        assert_no_container_left(e);
    }
}

FL_TEST(boot_of_missing_binary_fails_and_leaves_no_container)
{
    /* Docker's start answers 400 "OCI runtime create failed: ... exec: ... no such file". */
    const char *cmd[] = {"/no/such/binary-fltest", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    assert_reason(rc, &st, INVALID_ARGUMENT, "START_FAILED");
    fl_assert_contains(st.message, "/no/such/binary-fltest");
    assert_no_container_left(e);
}

FL_TEST(boot_of_unknown_user_is_start_failed_not_internal)
{
    /* Docker's start answers 500 "unable to find user ...": the runner's, not Docker's. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.user = "fltest-nosuchuser";
    flame_status st;
    int rc = boot_status(e, &req, &st);
    assert_reason(rc, &st, INVALID_ARGUMENT, "START_FAILED");
    fl_assert_contains(st.message, "fltest-nosuchuser");
    assert_no_container_left(e);
}

FL_TEST(boot_with_a_mount_runc_cannot_make_is_start_failed)
{
    /* Create accepts it; runc's mount(2) fails: start answers 500 "OCI runtime create
     * failed: ... error mounting "tmpfs" ...: invalid argument". */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.host_config_json = "{\"Tmpfs\": {\"/fltest-tmp\": \"size=bogus\"}}";
    flame_status st;
    int rc = boot_status(e, &req, &st);
    if (fl_engine_is_swarm()) {
        /* A service has no Tmpfs (a tmpfs is a mount there): refused by name. */
        assert_reason(rc, &st, INVALID_ARGUMENT, "DOCKER_REFUSED");
        fl_assert_contains(st.message, "host_config.Tmpfs has no Swarm service equivalent");
        assert_no_container_left(e);
        return;
    }
    assert_reason(rc, &st, INVALID_ARGUMENT, "START_FAILED");
    /* Podman passes runc's own words on ("runc: runc create failed: ..."). */
    fl_assert_contains(st.message, fl_engine_is_podman(e) ? "runc create failed"
                                                          : "OCI runtime create failed");
    fl_assert_contains(st.message, "/fltest-tmp");
    assert_no_container_left(e);
}

FL_TEST(boot_with_memory_under_dockers_minimum_is_docker_refused)
{
    /* Docker's create answers 400 "Minimum memory limit allowed is 6MB". */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.host_config_json = "{\"Memory\": 1}";
    flame_status st;
    int rc = boot_status(e, &req, &st);
    assert_reason(rc, &st, INVALID_ARGUMENT, "DOCKER_REFUSED");
    /* Swarm's service create answers "invalid memory value 1: Must be at least 4MiB". */
    fl_assert_contains(st.message, fl_engine_is_swarm() ? "Must be at least 4MiB"
                                                        : "Minimum memory limit");
    assert_no_container_left(e);
}

/* The healthy image with `sleep 3600` as its command never creates /tmp/ready. */
static const char *const never_healthy[] = {"sleep", "3600", NULL};

FL_TEST(boot_not_healthy_within_timeout_is_deadline_exceeded_and_removed)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = FL_IMAGE_HEALTHY;
    req.cmd = never_healthy;
    req.boot_timeout_ms = 1500;
    flame_status st;
    int64_t t0 = fl_now_ms();
    int rc = boot_status(e, &req, &st);
    int64_t took = fl_now_ms() - t0;
    assert_reason(rc, &st, DEADLINE_EXCEEDED, "BOOT_TIMEOUT");
    /* "not healthy within boot_timeout", or, when Docker's start alone takes
     * longer than 1.5 s (a loaded daemon), "did not start within boot_timeout". */
    fl_assert_contains(st.message, "within boot_timeout");
    /* No bound on `took`: DEADLINE_EXCEEDED (not ABORTED by "unhealthy", ~3 s after the
     * start) already shows the timeout fired, and on a loaded daemon the synchronous
     * removal of a container whose start timed out can itself take many seconds. */
    print_message("Boot with boot_timeout_ms 1500 answered after %lld ms\n", (long long)took);
    assert_no_container_left(e);
}

FL_TEST(boot_failure_with_keep_runner_keeps_the_container)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = FL_IMAGE_HEALTHY;
    req.cmd = never_healthy;
    req.boot_timeout_ms = 1500;
    req.keep_runner = 1;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    fl_assert_status(rc, &st, DEADLINE_EXCEEDED);

    cJSON *list = NULL;
    char err[256];
    /* Swarm: the runner is its service (the swarm removes the container with it). */
    int swarm = fl_engine_is_swarm();
    assert_int_equal(swarm ? docker_service_list(e->docker, e->run_label, &list, err, sizeof(err))
                           : docker_container_list(e->docker, e->run_label, &list, err,
                                                   sizeof(err)),
                     0);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *c = cJSON_GetArrayItem(list, 0);
    const cJSON *labels = fl_json_path(c, swarm ? "Spec.Labels" : "Labels");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, "flamed.keep")->valuestring,
                        "true");
    char id[80];
    snprintf(id, sizeof(id), "%s",
             cJSON_GetObjectItemCaseSensitive(c, swarm ? "ID" : "Id")->valuestring);
    cJSON_Delete(list);
    assert_int_equal(fl_remove_container(e, id), 0);
    assert_no_container_left(e);
}

FL_TEST(boot_failed_runner_is_not_listed)
{
    /* A start that fails for sure (a command that exits at once may be seen running). */
    const char *cmd[] = {"/no/such/binary-fltest", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.cmd = cmd;
    flame_status st;
    int rc = boot_status(e, &req, &st);
    assert_true(rc < 0);
    flame_runner **rs = NULL;
    size_t n = 99;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    assert_int_equal(n, 0);
    flame_runner_list_free(rs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(boot_without_image_is_invalid_argument),
        FL_UNIT(boot_on_missing_network_fails_precondition_with_the_fix),
        FL_UNIT(boot_refuses_host_config_fields_flamed_owns),
        FL_UNIT(boot_refuses_unknown_host_config_field),
        FL_UNIT(boot_refuses_host_config_field_of_wrong_type),
        FL_UNIT(boot_refuses_reserved_label_key),
        FL_UNIT(boot_with_pull_never_of_missing_image_is_not_found),
        FL_UNIT(boot_pulling_missing_image_fails_quickly),
        FL_UNIT(boot_of_command_that_exits_is_aborted_with_exit_code_and_logs),
        FL_UNIT(boot_of_commands_that_exit_at_once_is_aborted_every_time),
        FL_UNIT(boot_of_missing_binary_fails_and_leaves_no_container),
        FL_UNIT(boot_of_unknown_user_is_start_failed_not_internal),
        FL_UNIT(boot_with_a_mount_runc_cannot_make_is_start_failed),
        FL_UNIT(boot_with_memory_under_dockers_minimum_is_docker_refused),
        FL_UNIT(boot_not_healthy_within_timeout_is_deadline_exceeded_and_removed),
        FL_UNIT(boot_failure_with_keep_runner_keeps_the_container),
        FL_UNIT(boot_failed_runner_is_not_listed),
    };
    return FL_RUN_SHARED("boot_errors", tests);
}
