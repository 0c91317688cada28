/*
 * Unit tests: the Swarm engine's ServiceSpec from a canonical Boot request and
 * its reading of tasks (engine/swarm_spec.h). Pure: no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"
#include "engine/swarm_spec.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("bad test JSON: %s", text);
    return j;
}

/* The value at a dotted path ("TaskTemplate.RestartPolicy.Condition"), printed compactly. */
static char *at(const cJSON *j, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        j = cJSON_GetObjectItemCaseSensitive(j, k);
    return j ? cJSON_PrintUnformatted(j) : strdup("(absent)");
}

static void assert_at(const cJSON *j, const char *path, const char *want)
{
    char *got = at(j, path);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", path, got, want);
    free(got);
}

static void spec_is_one_replica_restart_none_dnsrr_named_for_the_runner(void **state)
{
    (void)state;
    cJSON *labels = parse("{\"flamed.runner-id\":\"r1\",\"app\":\"x\"}");
    const char *env[] = {"A=1", NULL};
    struct engine_spec spec = {.name = "flame-r1", .image = "app:v1", .network = "ovl",
                               .env = env, .labels = labels, .working_dir = "/w", .user = "1000"};
    cJSON *s = NULL;
    char err[256] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), 0);
    assert_at(s, "Name", "\"flame-r1\"");
    assert_at(s, "Mode.Replicated.Replicas", "1");
    assert_at(s, "EndpointSpec.Mode", "\"dnsrr\"");
    assert_at(s, "TaskTemplate.RestartPolicy.Condition", "\"none\"");
    assert_at(s, "TaskTemplate.ContainerSpec.Hostname", "\"flame-r1\"");
    assert_at(s, "TaskTemplate.ContainerSpec.Image", "\"app:v1\"");
    assert_at(s, "TaskTemplate.ContainerSpec.Env", "[\"A=1\"]");
    assert_at(s, "TaskTemplate.ContainerSpec.Dir", "\"/w\"");
    assert_at(s, "TaskTemplate.ContainerSpec.User", "\"1000\"");
    assert_at(s, "Labels", "{\"flamed.runner-id\":\"r1\",\"app\":\"x\"}");
    assert_at(s, "TaskTemplate.ContainerSpec.Labels", "{\"flamed.runner-id\":\"r1\",\"app\":\"x\"}");
    assert_at(s, "TaskTemplate.Networks", "[{\"Target\":\"ovl\",\"Aliases\":[\"flame-r1\"]}]");
    assert_at(s, "TaskTemplate.ContainerSpec.Command", "(absent)");
    assert_at(s, "TaskTemplate.ContainerSpec.Args", "(absent)");
    cJSON_Delete(s);
    cJSON_Delete(labels);
}

static void entrypoint_is_command_and_cmd_is_args(void **state)
{
    (void)state;
    const char *ep[] = {"/bin/sh", "-c", NULL}, *cmd[] = {"echo hi", NULL};
    struct engine_spec spec = {.name = "n", .image = "i", .entrypoint = ep, .cmd = cmd};
    cJSON *s = NULL;
    char err[256] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), 0);
    assert_at(s, "TaskTemplate.ContainerSpec.Command", "[\"/bin/sh\",\"-c\"]");
    assert_at(s, "TaskTemplate.ContainerSpec.Args", "[\"echo hi\"]");
    assert_at(s, "TaskTemplate.Networks", "(absent)");
    cJSON_Delete(s);
}

static void host_config_resources_and_security_map_to_the_task(void **state)
{
    (void)state;
    cJSON *hc = parse("{\"Memory\":67108864,\"NanoCpus\":500000000,\"PidsLimit\":128,"
                      "\"MemoryReservation\":1048576,\"Init\":true,\"ReadonlyRootfs\":true,"
                      "\"CapDrop\":[\"ALL\"],\"Dns\":[\"10.0.0.2\"],\"Sysctls\":null,"
                      "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1m\"}}}");
    cJSON *mounts = parse("[{\"Type\":\"tmpfs\",\"Target\":\"/tmp\"}]");
    struct engine_spec spec = {.name = "n", .image = "i", .host_config = hc, .mounts = mounts};
    cJSON *s = NULL;
    char err[256] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), 0);
    assert_at(s, "TaskTemplate.Resources.Limits", "{\"MemoryBytes\":67108864,\"NanoCPUs\":500000000,\"Pids\":128}");
    assert_at(s, "TaskTemplate.Resources.Reservations.MemoryBytes", "1048576");
    assert_at(s, "TaskTemplate.ContainerSpec.Init", "true");
    assert_at(s, "TaskTemplate.ContainerSpec.ReadOnly", "true");
    assert_at(s, "TaskTemplate.ContainerSpec.CapabilityDrop", "[\"ALL\"]");
    assert_at(s, "TaskTemplate.ContainerSpec.DNSConfig.Nameservers", "[\"10.0.0.2\"]");
    assert_at(s, "TaskTemplate.ContainerSpec.Sysctls", "(absent)");
    assert_at(s, "TaskTemplate.LogDriver", "{\"Name\":\"json-file\",\"Options\":{\"max-size\":\"1m\"}}");
    assert_at(s, "TaskTemplate.ContainerSpec.Mounts", "[{\"Type\":\"tmpfs\",\"Target\":\"/tmp\"}]");
    cJSON_Delete(s);
    cJSON_Delete(hc);
    cJSON_Delete(mounts);
}

static void host_config_without_service_equivalent_is_refused_by_name(void **state)
{
    (void)state;
    cJSON *hc = parse("{\"Memory\":67108864,\"PortBindings\":{}}");
    struct engine_spec spec = {.name = "n", .image = "i", .host_config = hc};
    cJSON *s = NULL;
    char err[512] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), FLAME_EINVALID);
    assert_null(s);
    assert_non_null(strstr(err, "host_config.PortBindings"));
    assert_non_null(strstr(err, "--engine swarm"));
    cJSON_Delete(hc);
}

static void placement_is_the_task_templates(void **state)
{
    (void)state;
    cJSON *pl = parse("{\"Constraints\":[\"node.labels.zone==a\"],\"Preferences\":"
                      "[{\"Spread\":{\"SpreadDescriptor\":\"node.labels.rack\"}}]}");
    struct engine_spec spec = {.name = "flame-r1", .image = "app:v1", .placement = pl};
    cJSON *s = NULL;
    char err[256] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), 0);
    assert_at(s, "TaskTemplate.Placement.Constraints", "[\"node.labels.zone==a\"]");
    assert_at(s, "TaskTemplate.Placement.Preferences",
              "[{\"Spread\":{\"SpreadDescriptor\":\"node.labels.rack\"}}]");
    cJSON_Delete(s);
    spec.placement = NULL;
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), 0);
    assert_at(s, "TaskTemplate.Placement", "(absent)");
    cJSON_Delete(s);
    cJSON_Delete(pl);
}

static void open_stdin_is_unimplemented(void **state)
{
    (void)state;
    struct engine_spec spec = {.name = "n", .image = "i", .open_stdin = 1};
    cJSON *s = NULL;
    char err[256] = "";
    assert_int_equal(swarm_spec_build(&spec, &s, err, sizeof(err)), FLAME_EUNIMPLEMENTED);
    assert_null(s);
    assert_non_null(strstr(err, "swarm"));
}

static const char *TASKS =
    "[{\"ID\":\"old\",\"Version\":{\"Index\":10},\"NodeID\":\"n1\",\"DesiredState\":\"shutdown\","
    "  \"Status\":{\"State\":\"failed\",\"Err\":\"gone\"}},"
    " {\"ID\":\"t2\",\"Version\":{\"Index\":42},\"NodeID\":\"n1\",\"DesiredState\":\"running\","
    "  \"Status\":{\"State\":\"running\",\"Timestamp\":\"2026-12-06T03:00:00.5Z\",\"Message\":\"started\","
    "   \"ContainerStatus\":{\"ContainerID\":\"c0ffee\",\"PID\":7,\"ExitCode\":0}},"
    "  \"NetworksAttachments\":[{\"Network\":{\"Spec\":{\"Name\":\"ingress\"}},\"Addresses\":[\"10.0.0.9/24\"]},"
    "   {\"Network\":{\"Spec\":{\"Name\":\"ovl\"}},\"Addresses\":[\"10.0.1.5/24\"]}]}]";

static void the_newest_task_stands_for_the_runner(void **state)
{
    (void)state;
    cJSON *tasks = parse(TASKS);
    struct swarm_task t;
    assert_int_equal(swarm_task_pick(tasks, "ovl", &t), 0);
    assert_string_equal(t.id, "t2");
    assert_string_equal(t.state, "running");
    assert_string_equal(t.node_id, "n1");
    assert_string_equal(t.container_id, "c0ffee");
    assert_string_equal(t.ip_address, "10.0.1.5");
    assert_int_equal(t.timestamp_ms, 1796526000500LL);
    struct engine_state st;
    swarm_task_state(&t, &st);
    assert_string_equal(st.status, "running");
    assert_int_equal(st.running, 1);
    assert_int_equal(st.started_at_ms, 1796526000500LL);
    assert_string_equal(st.ip_address, "10.0.1.5");
    assert_int_equal(swarm_task_pick(tasks, NULL, &t), 0);
    assert_string_equal(t.ip_address, "10.0.0.9");
    cJSON_Delete(tasks);
}

/* The task of TASKS (running on the manager's word, on ovl) corrected by a
 * container whose inspect is `container` (Docker Engine API ContainerInspect,
 * trimmed). */
static void task_with_container(const char *container, struct engine_state *st)
{
    cJSON *tasks = parse(TASKS), *c = parse(container);
    struct swarm_task t;
    struct docker_container_state cs;
    assert_int_equal(swarm_task_pick(tasks, "ovl", &t), 0);
    assert_int_equal(docker_container_state_parse(c, "ovl", &cs), 0);
    swarm_task_state_container(&t, &cs, st);
    cJSON_Delete(c);
    cJSON_Delete(tasks);
}

static void a_running_task_whose_container_exited_is_exited_as_on_one_host(void **state)
{
    (void)state;
    struct engine_state st;
    /* `sh -c 'exit 5'`: the node's dockerd has it exited; the manager has not heard yet. */
    task_with_container("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":5,"
                        "\"OOMKilled\":false,\"Error\":\"\",\"StartedAt\":\"2026-12-06T03:00:00.25Z\","
                        "\"FinishedAt\":\"2026-12-06T03:00:00.26Z\"},"
                        "\"NetworkSettings\":{\"Networks\":{\"ovl\":{\"IPAddress\":\"\"}}}}",
                        &st);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.running, 0);
    assert_int_equal(st.exit_code, 5);
    assert_int_equal(st.oom_killed, 0);
    assert_string_equal(st.error, "");
    assert_string_equal(st.ip_address, "10.0.1.5"); /* the task's */
    assert_int_equal(st.started_at_ms, 1796526000250LL);
    /* OOM-killed, and dead with Docker's error: as the container says. */
    task_with_container("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":137,"
                        "\"OOMKilled\":true}}",
                        &st);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.oom_killed, 1);
    task_with_container("{\"State\":{\"Status\":\"dead\",\"Running\":false,\"ExitCode\":128,"
                        "\"Error\":\"driver failed\"}}",
                        &st);
    assert_string_equal(st.status, "dead");
    assert_int_equal(st.running, 0);
    assert_int_equal(st.exit_code, 128);
    assert_string_equal(st.error, "driver failed");
}

static void a_running_task_whose_container_runs_gives_the_containers_start(void **state)
{
    (void)state;
    struct engine_state st;
    task_with_container("{\"State\":{\"Status\":\"running\",\"Running\":true,\"ExitCode\":0,"
                        "\"StartedAt\":\"2026-12-06T03:00:00.25Z\"}}",
                        &st);
    assert_string_equal(st.status, "running");
    assert_int_equal(st.running, 1);
    assert_int_equal(st.started_at_ms, 1796526000250LL);
    assert_string_equal(st.ip_address, "10.0.1.5");
    /* Paused (Docker: Running true) or restarting: the task's word stands. */
    task_with_container("{\"State\":{\"Status\":\"restarting\",\"Running\":false,\"ExitCode\":1}}",
                        &st);
    assert_string_equal(st.status, "running");
    assert_int_equal(st.running, 1);
    assert_int_equal(st.started_at_ms, 1796526000500LL);
}

static void a_task_not_running_keeps_its_own_word_over_its_container(void **state)
{
    (void)state;
    cJSON *tasks = parse("[{\"Status\":{\"State\":\"failed\",\"Err\":\"task: non-zero exit (3)\","
                         "\"ContainerStatus\":{\"ContainerID\":\"c\",\"ExitCode\":3}}}]");
    cJSON *c = parse("{\"State\":{\"Status\":\"running\",\"Running\":true}}");
    struct swarm_task t;
    struct docker_container_state cs;
    struct engine_state st;
    assert_int_equal(swarm_task_pick(tasks, NULL, &t), 0);
    assert_int_equal(docker_container_state_parse(c, NULL, &cs), 0);
    swarm_task_state_container(&t, &cs, &st);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.exit_code, 3);
    assert_string_equal(st.error, "task failed: task: non-zero exit (3)");
    /* No container read: the task alone. */
    swarm_task_state_container(&t, NULL, &st);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.exit_code, 3);
    cJSON_Delete(c);
    cJSON_Delete(tasks);
}

static void an_ended_task_takes_its_containers_oom_killed(void **state)
{
    (void)state;
    /* The swarm's task status has no OOMKilled: an OOM-killed runner's task says
     * failed with exit code 137; its container says why. */
    cJSON *tasks = parse("[{\"Status\":{\"State\":\"failed\",\"Err\":\"task: non-zero exit (137)\","
                         "\"ContainerStatus\":{\"ContainerID\":\"c\",\"ExitCode\":137}}}]");
    cJSON *oom = parse("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":137,"
                       "\"OOMKilled\":true}}");
    cJSON *killed = parse("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":137,"
                          "\"OOMKilled\":false}}");
    struct swarm_task t;
    struct docker_container_state cs;
    struct engine_state st;
    assert_int_equal(swarm_task_pick(tasks, NULL, &t), 0);
    swarm_task_state(&t, &st);
    assert_int_equal(st.oom_killed, 0);
    assert_int_equal(docker_container_state_parse(oom, NULL, &cs), 0);
    swarm_task_state_container(&t, &cs, &st);
    assert_string_equal(st.status, "exited");
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.oom_killed, 1);
    assert_string_equal(st.error, "task failed: task: non-zero exit (137)");
    /* Killed by a signal, not the OOM killer: no OOM. */
    assert_int_equal(docker_container_state_parse(killed, NULL, &cs), 0);
    swarm_task_state_container(&t, &cs, &st);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.oom_killed, 0);
    cJSON_Delete(killed);
    cJSON_Delete(oom);
    cJSON_Delete(tasks);
}

static void no_task_is_not_found(void **state)
{
    (void)state;
    cJSON *tasks = parse("[]");
    struct swarm_task t;
    assert_int_equal(swarm_task_pick(tasks, NULL, &t), FLAME_ENOTFOUND);
    cJSON_Delete(tasks);
}

static void task_states_map_to_container_states(void **state)
{
    (void)state;
    struct {
        const char *json, *status;
        int running, exit_code, terminal;
        const char *error;
    } cases[] = {
        {"[{\"Status\":{\"State\":\"pending\"}}]", "created", 0, 0, 0, ""},
        {"[{\"Status\":{\"State\":\"rejected\",\"Err\":\"No such image: x:v0\"}}]", "dead", 0, 0, 1,
         "task rejected: No such image: x:v0"},
        {"[{\"Status\":{\"State\":\"failed\",\"Err\":\"task: non-zero exit (3)\","
         "\"ContainerStatus\":{\"ContainerID\":\"c\",\"ExitCode\":3}}}]", "exited", 0, 3, 1,
         "task failed: task: non-zero exit (3)"},
        {"[{\"Status\":{\"State\":\"complete\",\"ContainerStatus\":{\"ContainerID\":\"c\",\"ExitCode\":0}}}]",
         "exited", 0, 0, 1, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *tasks = parse(cases[i].json);
        struct swarm_task t;
        struct engine_state st;
        assert_int_equal(swarm_task_pick(tasks, NULL, &t), 0);
        swarm_task_state(&t, &st);
        assert_string_equal(st.status, cases[i].status);
        assert_int_equal(st.running, cases[i].running);
        assert_int_equal(st.exit_code, cases[i].exit_code);
        assert_int_equal(swarm_task_terminal(&t), cases[i].terminal);
        assert_string_equal(st.error, cases[i].error);
        cJSON_Delete(tasks);
    }
}

/* GET /nodes and GET /tasks as a 20.10 manager answers (trimmed): node n1 is
 * up, n2 went down with s2's task still "running" on it, n3 is drained and
 * s3's task was shut down there; s1 has an old failed task and a newer
 * running one; s4 is pending (no node yet). */
static const char NODES[] =
    "[{\"ID\":\"n1\",\"Spec\":{\"Role\":\"manager\",\"Availability\":\"active\"},"
    "  \"Description\":{\"Hostname\":\"vm1\"},\"Status\":{\"State\":\"ready\",\"Addr\":\"10.1.0.1\"}},"
    " {\"ID\":\"n2\",\"Spec\":{\"Role\":\"worker\",\"Availability\":\"active\"},"
    "  \"Description\":{\"Hostname\":\"vm2\"},\"Status\":{\"State\":\"down\",\"Message\":\"heartbeat failure\"}},"
    " {\"ID\":\"n3\",\"Spec\":{\"Role\":\"worker\",\"Availability\":\"drain\"},"
    "  \"Description\":{\"Hostname\":\"vm3\"},\"Status\":{\"State\":\"ready\"}}]";

static const char WATCH_TASKS[] =
    "[{\"ID\":\"t1\",\"Version\":{\"Index\":10},\"ServiceID\":\"s1\",\"NodeID\":\"n1\","
    "  \"Spec\":{\"ContainerSpec\":{\"Labels\":{\"flamed.runner-id\":\"r1\"}}},"
    "  \"Status\":{\"State\":\"failed\",\"Err\":\"old\",\"ContainerStatus\":{\"ExitCode\":1}},\"DesiredState\":\"shutdown\"},"
    " {\"ID\":\"t1b\",\"Version\":{\"Index\":20},\"ServiceID\":\"s1\",\"NodeID\":\"n1\","
    "  \"Spec\":{\"ContainerSpec\":{\"Labels\":{\"flamed.runner-id\":\"r1\"}}},"
    "  \"Status\":{\"State\":\"running\",\"ContainerStatus\":{\"ContainerID\":\"c1\"}},\"DesiredState\":\"running\"},"
    " {\"ID\":\"t2\",\"Version\":{\"Index\":31},\"ServiceID\":\"s2\",\"NodeID\":\"n2\","
    "  \"Spec\":{\"ContainerSpec\":{\"Labels\":{\"flamed.runner-id\":\"r2\"}}},"
    "  \"Status\":{\"State\":\"running\",\"ContainerStatus\":{\"ContainerID\":\"c2\"}},\"DesiredState\":\"shutdown\"},"
    " {\"ID\":\"t3\",\"Version\":{\"Index\":30},\"ServiceID\":\"s3\",\"NodeID\":\"n3\","
    "  \"Spec\":{\"ContainerSpec\":{\"Labels\":{\"flamed.runner-id\":\"r3\"}}},"
    "  \"Status\":{\"State\":\"shutdown\",\"Message\":\"shutdown\",\"ContainerStatus\":{\"ContainerID\":\"c3\",\"ExitCode\":0}},"
    "  \"DesiredState\":\"shutdown\"},"
    " {\"ID\":\"t4\",\"Version\":{\"Index\":41},\"ServiceID\":\"s4\","
    "  \"Status\":{\"State\":\"pending\",\"Err\":\"no suitable node (scheduling constraints not satisfied on 3 nodes)\"},"
    "  \"DesiredState\":\"running\"},"
    " {\"ID\":\"t5\",\"Version\":{\"Index\":42},\"ServiceID\":\"s5\",\"NodeID\":\"n1\","
    "  \"Status\":{\"State\":\"failed\",\"Err\":\"task: non-zero exit (3)\",\"ContainerStatus\":{\"ExitCode\":3}}}]";

static const struct swarm_watch_item *item_of(const struct swarm_watch_item *items, size_t n,
                                              const char *sid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].service_id, sid) == 0)
            return &items[i];
    fail_msg("no item for service %s", sid);
    return NULL;
}

static void nodes_are_read_by_id(void **state)
{
    (void)state;
    cJSON *nodes = parse(NODES);
    struct swarm_node n;
    assert_int_equal(swarm_node_find(nodes, "n2", &n), 0);
    assert_string_equal(n.hostname, "vm2");
    assert_string_equal(n.state, "down");
    assert_true(swarm_node_lost(&n));
    assert_int_equal(swarm_node_find(nodes, "n3", &n), 0);
    assert_string_equal(n.availability, "drain");
    assert_false(swarm_node_lost(&n));
    assert_int_equal(swarm_node_find(nodes, "n1", &n), 0);
    assert_string_equal(n.addr, "10.1.0.1");
    assert_int_equal(swarm_node_find(nodes, "n9", &n), FLAME_ENOTFOUND);
    assert_int_equal(swarm_node_find(nodes, "", &n), FLAME_ENOTFOUND);
    cJSON_Delete(nodes);
}

static void watch_reads_each_service_newest_task(void **state)
{
    (void)state;
    cJSON *nodes = parse(NODES), *tasks = parse(WATCH_TASKS);
    struct swarm_watch_item *items = NULL;
    size_t n = 0;
    assert_int_equal(swarm_watch_read(tasks, nodes, "flamed.runner-id", &items, &n), 0);
    assert_int_equal(n, 5);
    const struct swarm_watch_item *it = item_of(items, n, "s1");
    assert_int_equal(it->phase, SWARM_PHASE_RUNNING);
    assert_string_equal(it->runner_id, "r1");
    assert_string_equal(it->error, "");
    it = item_of(items, n, "s4");
    assert_int_equal(it->phase, SWARM_PHASE_PENDING);
    assert_string_equal(it->runner_id, "");
    it = item_of(items, n, "s5");
    assert_int_equal(it->phase, SWARM_PHASE_ENDED);
    assert_int_equal(it->exit_code, 3);
    assert_string_equal(it->error, "task failed: task: non-zero exit (3)");
    free(items);
    cJSON_Delete(nodes);
    cJSON_Delete(tasks);
}

static void a_task_on_a_lost_node_has_ended_naming_the_node(void **state)
{
    (void)state;
    cJSON *nodes = parse(NODES), *tasks = parse(WATCH_TASKS);
    struct swarm_watch_item *items = NULL;
    size_t n = 0;
    assert_int_equal(swarm_watch_read(tasks, nodes, "flamed.runner-id", &items, &n), 0);
    const struct swarm_watch_item *it = item_of(items, n, "s2");
    assert_int_equal(it->phase, SWARM_PHASE_ENDED);
    assert_int_equal(it->exit_code, -1);
    assert_string_equal(it->runner_id, "r2");
    assert_string_equal(it->node_id, "n2");
    assert_non_null(strstr(it->error, "swarm node n2 (vm2) is down"));
    free(items);
    /* Without the node list, the task's own word stands. */
    assert_int_equal(swarm_watch_read(tasks, NULL, "flamed.runner-id", &items, &n), 0);
    assert_int_equal(item_of(items, n, "s2")->phase, SWARM_PHASE_RUNNING);
    free(items);
    cJSON_Delete(nodes);
    cJSON_Delete(tasks);
}

static void a_task_shut_down_on_a_drained_node_says_so(void **state)
{
    (void)state;
    cJSON *nodes = parse(NODES), *tasks = parse(WATCH_TASKS);
    struct swarm_watch_item *items = NULL;
    size_t n = 0;
    assert_int_equal(swarm_watch_read(tasks, nodes, "flamed.runner-id", &items, &n), 0);
    const struct swarm_watch_item *it = item_of(items, n, "s3");
    assert_int_equal(it->phase, SWARM_PHASE_ENDED);
    assert_int_equal(it->exit_code, 0);
    assert_non_null(strstr(it->error, "swarm node n3 (vm3) is drained"));
    free(items);
    cJSON_Delete(nodes);
    cJSON_Delete(tasks);
}

static void watch_of_no_task_is_empty(void **state)
{
    (void)state;
    cJSON *tasks = parse("[]");
    struct swarm_watch_item *items = (void *)1;
    size_t n = 9;
    assert_int_equal(swarm_watch_read(tasks, NULL, NULL, &items, &n), 0);
    assert_int_equal(n, 0);
    assert_null(items);
    cJSON_Delete(tasks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_is_one_replica_restart_none_dnsrr_named_for_the_runner),
        cmocka_unit_test(entrypoint_is_command_and_cmd_is_args),
        cmocka_unit_test(host_config_resources_and_security_map_to_the_task),
        cmocka_unit_test(host_config_without_service_equivalent_is_refused_by_name),
        cmocka_unit_test(open_stdin_is_unimplemented),
        cmocka_unit_test(placement_is_the_task_templates),
        cmocka_unit_test(the_newest_task_stands_for_the_runner),
        cmocka_unit_test(no_task_is_not_found),
        cmocka_unit_test(task_states_map_to_container_states),
        cmocka_unit_test(a_running_task_whose_container_exited_is_exited_as_on_one_host),
        cmocka_unit_test(a_running_task_whose_container_runs_gives_the_containers_start),
        cmocka_unit_test(a_task_not_running_keeps_its_own_word_over_its_container),
        cmocka_unit_test(an_ended_task_takes_its_containers_oom_killed),
        cmocka_unit_test(nodes_are_read_by_id),
        cmocka_unit_test(watch_reads_each_service_newest_task),
        cmocka_unit_test(a_task_on_a_lost_node_has_ended_naming_the_node),
        cmocka_unit_test(a_task_shut_down_on_a_drained_node_says_so),
        cmocka_unit_test(watch_of_no_task_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
