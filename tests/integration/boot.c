/*
 * Boot, success paths: what a booted runner looks like through flamed and in
 * Docker (state, ids, labels, hostname, DNS alias, restart policy, env,
 * HostConfig), DNS between runners, and waiting for a HEALTHCHECK.
 */
#include "harness.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int is_hex(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Does the container's Config.Env hold exactly `kv`? Returns how many entries start with "K=". */
static int env_count(const cJSON *inspect, const char *kv, int *exact)
{
    const cJSON *env = fl_json_path(inspect, "Config.Env"), *it;
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) + 1 : strlen(kv);
    int n = 0;
    *exact = 0;
    cJSON_ArrayForEach(it, env)
    {
        if (!cJSON_IsString(it))
            continue;
        if (strncmp(it->valuestring, kv, klen) == 0)
            n++;
        if (strcmp(it->valuestring, kv) == 0)
            *exact = 1;
    }
    return n;
}

/* The value of KEY in `env` output (one K=V a line), copied to out. 0 or -1 when absent. */
static int env_line(const char *env_out, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    for (const char *p = env_out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen >= outlen)
                return -1;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = nl ? nl + 1 : p + len;
    }
    return -1;
}

FL_TEST(boot_returns_running_runner_with_ids_ip_and_labels)
{
    const char *labels[] = {e->run_label, "team=blue", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.labels = labels;
    flame_runner *r = fl_boot(e, &req);

    assert_int_equal(r->state, FLAME_RUNNER_RUNNING);
    assert_true(is_hex(r->id, 16));
    if (fl_engine_is_swarm()) {
        /* Swarm: the service's ID (25 characters), and that service exists. */
        assert_int_equal(strlen(r->container_id), 25);
        cJSON *svc = fl_service_inspect(e, r->container_id);
        assert_non_null(svc);
        cJSON_Delete(svc);
    } else {
        assert_true(is_hex(r->container_id, 64));
    }
    assert_true(r->ip_address && r->ip_address[0]);
    assert_string_equal(r->pool, e->pool);
    assert_string_equal(r->network, e->network);
    assert_string_equal(r->image, FL_IMAGE_APP);
    assert_true(r->created_unix_nano > 0);
    assert_int_equal(r->keep_runner, 0);
    assert_non_null(flame_runner_label(r, "flamed.runner-id"));
    assert_string_equal(flame_runner_label(r, "flamed.runner-id"), r->id);
    assert_string_equal(flame_runner_label(r, "flamed.pool"), e->pool);
    assert_string_equal(flame_runner_label(r, "flamed.managed-by"), "flamed");
    assert_string_equal(flame_runner_label(r, "team"), "blue");
    assert_string_equal(flame_runner_label(r, FL_RUN_LABEL_KEY), e->tag);

    /* Docker agrees: the same labels on the container, and it runs. */
    cJSON *j = fl_inspect(e, r->container_id);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(fl_json_path(j, "State.Running")));
    const cJSON *l = fl_json_path(j, "Config.Labels");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(l, "flamed.runner-id")->valuestring,
                        r->id);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(l, "team")->valuestring, "blue");
    const cJSON *ip = fl_json_path(j, "NetworkSettings.Networks");
    ip = cJSON_GetObjectItemCaseSensitive(ip, e->network);
    assert_non_null(ip);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ip, "IPAddress")->valuestring,
                        r->ip_address);
    cJSON_Delete(j);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(boot_sets_hostname_to_runner_name)
{
    flame_runner *r = fl_boot_default(e, NULL);
    assert_true(strncmp(r->name, "flame-", 6) == 0);
    fl_output o = {0};
    const char *argv[] = {"hostname", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    char want[128];
    snprintf(want, sizeof(want), "%s\n", r->name);
    assert_string_equal(o.out, want);
    cJSON *j = fl_inspect(e, r->container_id);
    assert_string_equal(fl_json_path(j, "Config.Hostname")->valuestring, r->name);
    /* Docker's Name has a leading '/'. Swarm names a task's container
     * SERVICE.SLOT.TASK, the service being named as the runner. */
    if (fl_engine_is_swarm()) {
        char want_prefix[160];
        snprintf(want_prefix, sizeof(want_prefix), "/%s.1.", r->name);
        fl_assert_contains(fl_json_path(j, "Name")->valuestring, want_prefix);
        cJSON *svc = fl_service_inspect(e, r->container_id);
        assert_non_null(svc);
        assert_string_equal(fl_json_path(svc, "Spec.Name")->valuestring, r->name);
        assert_string_equal(fl_json_path(svc, "Spec.TaskTemplate.ContainerSpec.Hostname")->valuestring,
                            r->name);
        cJSON_Delete(svc);
    } else {
        assert_string_equal(fl_json_path(j, "Name")->valuestring + 1, r->name);
    }
    cJSON_Delete(j);
    fl_output_free(&o);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(boot_sets_restart_policy_no_and_dns_alias_on_network)
{
    flame_runner *r = fl_boot_default(e, NULL);
    cJSON *j = fl_inspect(e, r->container_id);
    assert_non_null(j);
    if (fl_engine_is_swarm()) {
        /* Swarm restarts tasks, not containers: the service says never, and has no
         * virtual IP (dnsrr), so the runner's name resolves to its task. */
        cJSON *svc = fl_service_inspect(e, r->container_id);
        assert_non_null(svc);
        assert_string_equal(
            fl_json_path(svc, "Spec.TaskTemplate.RestartPolicy.Condition")->valuestring, "none");
        assert_string_equal(fl_json_path(svc, "Spec.EndpointSpec.Mode")->valuestring, "dnsrr");
        cJSON_Delete(svc);
    } else {
        assert_string_equal(fl_json_path(j, "HostConfig.RestartPolicy.Name")->valuestring, "no");
    }
    /* Podman's inspect says "bridge" for any bridge network; Networks below names it.
     * A swarm task's container has NetworkMode "default". */
    if (!fl_engine_is_podman(e) && !fl_engine_is_swarm())
        assert_string_equal(fl_json_path(j, "HostConfig.NetworkMode")->valuestring, e->network);
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(fl_json_path(j, "NetworkSettings.Networks"),
                                                        e->network);
    const cJSON *aliases = cJSON_GetObjectItemCaseSensitive(net, "Aliases"), *a;
    int found = 0;
    cJSON_ArrayForEach(a, aliases)
    {
        if (cJSON_IsString(a) && strcmp(a->valuestring, r->name) == 0)
            found = 1;
    }
    if (!found) {
        char *s = cJSON_Print(net);
        print_error("alias %s not in %s\n", r->name, s ? s : "?");
        free(s);
    }
    assert_true(found);
    cJSON_Delete(j);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

/* Spaces, both quotes, '=', '$', backslash, newline-free unicode and base64 padding. */
#define PARENT_VALUE                                                                              \
    "g2gCZAAEbm9kZWQAD2ZsYW1lQDEyNy4wLjAuMQ== a=b \"q\" 'r' $HOME \\n caf\xc3\xa9 "        \
    "\xe2\x9c\x93 \xf0\x9f\x94\xa5 +/="

FL_TEST(boot_passes_env_and_flame_parent_byte_for_byte)
{
    const char *env[] = {"FOO=bar baz", "FLAME_PARENT=" PARENT_VALUE, NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.env = env;
    flame_runner *r = fl_boot(e, &req);

    /* The image has no printenv: `env` prints the bytes with no shell in between. */
    fl_output o = {0};
    const char *argv[] = {"env", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    char line[512];
    assert_int_equal(env_line(o.out, "FLAME_PARENT", line, sizeof(line)), 0);
    assert_int_equal(strlen(line), strlen(PARENT_VALUE));
    assert_memory_equal(line, PARENT_VALUE, strlen(PARENT_VALUE));
    assert_int_equal(env_line(o.out, "FOO", line, sizeof(line)), 0);
    assert_string_equal(line, "bar baz");
    assert_int_equal(env_line(o.out, "PHX_SERVER", line, sizeof(line)), 0);
    assert_string_equal(line, "false");
    fl_output_free(&o);

    cJSON *j = fl_inspect(e, r->container_id);
    int exact = 0;
    assert_int_equal(env_count(j, "FOO=bar baz", &exact), 1);
    assert_true(exact);
    assert_int_equal(env_count(j, "PHX_SERVER=false", &exact), 1);
    assert_true(exact);
    cJSON_Delete(j);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(boot_keeps_phx_server_the_request_sets)
{
    const char *env[] = {"PHX_SERVER=true", NULL};
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.env = env;
    flame_runner *r = fl_boot(e, &req);
    fl_output o = {0};
    const char *argv[] = {"env", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    char line[64];
    assert_int_equal(env_line(o.out, "PHX_SERVER", line, sizeof(line)), 0);
    assert_string_equal(line, "true");
    fl_output_free(&o);
    cJSON *j = fl_inspect(e, r->container_id);
    int exact = 0;
    assert_int_equal(env_count(j, "PHX_SERVER=true", &exact), 1);
    assert_true(exact);
    cJSON_Delete(j);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(boot_memory_reaches_docker_host_config)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.memory_bytes = 64 * 1024 * 1024;
    flame_runner *r = fl_boot(e, &req);
    cJSON *j = fl_inspect(e, r->container_id);
    assert_int_equal((int64_t)fl_json_path(j, "HostConfig.Memory")->valuedouble, 64 * 1024 * 1024);
    cJSON_Delete(j);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(boot_host_config_json_reaches_docker)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.host_config_json = "{\"CpuShares\": 512, \"Memory\": 33554432, "
                           "\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1000, \"Hard\": 2000}]}";
    req.memory_bytes = 67108864; /* overrides the JSON's Memory */
    if (fl_engine_is_swarm()) {
        /* A service has no CpuShares: refused by name, no service made; the
         * rest reaches the service's Resources and ContainerSpec. */
        flame_runner *bad = NULL;
        flame_status st;
        int rc = flame_client_boot(e->client, &req, &bad, &st);
        flame_runner_free(bad);
        fl_assert_status(rc, &st, 3 /* INVALID_ARGUMENT */);
        fl_assert_contains(st.message, "host_config.CpuShares has no Swarm service equivalent");
        assert_int_equal(fl_count_labelled(e, e->run_label), 0);
        req.host_config_json = "{\"Memory\": 33554432, "
                               "\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1000, \"Hard\": 2000}]}";
    }
    flame_runner *r = fl_boot(e, &req);
    cJSON *j = fl_inspect(e, r->container_id);
    if (!fl_engine_is_swarm())
        assert_int_equal((int64_t)fl_json_path(j, "HostConfig.CpuShares")->valuedouble, 512);
    assert_int_equal((int64_t)fl_json_path(j, "HostConfig.Memory")->valuedouble, 67108864);
    cJSON_Delete(j);
    if (fl_engine_is_swarm()) {
        cJSON *svc = fl_service_inspect(e, r->container_id);
        assert_non_null(svc);
        assert_int_equal(
            (int64_t)fl_json_path(svc, "Spec.TaskTemplate.Resources.Limits.MemoryBytes")->valuedouble,
            67108864);
        cJSON_Delete(svc);
    }
    fl_output o = {0};
    /* PID 1: Docker gives exec'd processes soft = hard. */
    const char *argv[] = {"grep", "open files", "/proc/1/limits", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    fl_assert_contains(o.out, " 1000 ");
    fl_assert_contains(o.out, " 2000 ");
    fl_output_free(&o);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

FL_TEST(runners_on_one_network_resolve_each_other_by_name)
{
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    fl_output o = {0};
    const char *argv[] = {"ping", "-c", "1", "-W", "5", a->name, NULL};
    int code = fl_spawn_argv(e, b->id, argv, &o);
    if (code != 0)
        print_error("ping %s: exit %d\nstdout: %s\nstderr: %s\n", a->name, code, o.out, o.err);
    /* Podman's default capabilities have no NET_RAW (docs/engines.md): the name
     * resolves (the PING line below) but the echo cannot be sent. */
    if (fl_engine_is_podman(e) && code != 0)
        fl_assert_contains(o.err, "permission denied");
    else
        assert_int_equal(code, 0);
    char want[96];
    snprintf(want, sizeof(want), "(%s)", a->ip_address);
    fl_assert_contains(o.out, want);
    fl_output_free(&o);
    fl_shutdown(e, a->id);
    fl_shutdown(e, b->id);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(boot_waits_until_healthcheck_passes)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = FL_IMAGE_HEALTHY;
    req.cmd = NULL; /* the image's: healthy ~1 s after start */
    int64_t t0 = fl_now_ms();
    flame_runner *r = fl_boot(e, &req);
    int64_t took = fl_now_ms() - t0;
    assert_int_equal(r->state, FLAME_RUNNER_RUNNING);
    if (took < 900)
        fail_msg("Boot returned after %lld ms, before the HEALTHCHECK could pass (~1 s)",
                 (long long)took);
    cJSON *j = fl_inspect(e, r->container_id);
    assert_string_equal(fl_json_path(j, "State.Health.Status")->valuestring, "healthy");
    cJSON_Delete(j);
    fl_output o = {0};
    const char *argv[] = {"test", "-f", "/tmp/ready", NULL};
    assert_int_equal(fl_spawn_argv(e, r->id, argv, &o), 0);
    fl_output_free(&o);
    /* The image's CMD ignores SIGTERM: the grace (1 s) then SIGKILL. */
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_REMOVED);
    flame_runner_free(r);
}

FL_TEST(boot_with_user_and_working_dir_applies_them)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.user = "65534";
    req.working_dir = "/tmp";
    flame_runner *r = fl_boot(e, &req);
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, r->id, "id -u; pwd", &o), 0);
    assert_string_equal(o.out, "65534\n/tmp\n");
    fl_output_free(&o);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(boot_returns_running_runner_with_ids_ip_and_labels),
        FL_UNIT(boot_sets_hostname_to_runner_name),
        FL_UNIT(boot_sets_restart_policy_no_and_dns_alias_on_network),
        FL_UNIT(boot_passes_env_and_flame_parent_byte_for_byte),
        FL_UNIT(boot_keeps_phx_server_the_request_sets),
        FL_UNIT(boot_memory_reaches_docker_host_config),
        FL_UNIT(boot_host_config_json_reaches_docker),
        FL_UNIT(runners_on_one_network_resolve_each_other_by_name),
        FL_UNIT(boot_waits_until_healthcheck_passes),
        FL_UNIT(boot_with_user_and_working_dir_applies_them),
    };
    return FL_RUN_SHARED("boot", tests);
}
