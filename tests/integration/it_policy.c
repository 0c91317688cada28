/*
 * The Boot policy against the real flamed: the built-in policy's host-escape
 * denials, a policy file's allowlists, allow switches (privileged,
 * capabilities, host_binds), defaults and ceilings (checked in Docker's own
 * HostConfig), quotas (also under 8 concurrent Boots), size limits, and
 * policy files flamed refuses to start with (retired switches set true, a
 * host_binds prefix that gives root). Every refusal is checked for its
 * status, its flame-reason and that it left no container in Docker.
 */
#include "harness_ext.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DENIED GS_PERMISSION_DENIED, "POLICY_DENIED"

static fl_env *begin_with_policy(void **state, const char *json)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    const char *path = flx_write(e0, "policy.json", json);
    const char *args[] = {"--policy", path, NULL};
    return flx_begin(state, &(flx_flamed){.args = args});
}

static void restart_with_policy(fl_env *e, const char *name, const char *json)
{
    const char *path = flx_write(e, name, json);
    const char *args[] = {"--policy", path, NULL};
    flx_flamed_restart(e, &(flx_flamed){.args = args});
}

/* Boot b and expect a refusal; nothing may be left in Docker. */
static void expect_refused(fl_env *e, flx_boot *b, int code_want, const char *reason,
                           const char *msg, const char *what)
{
    int before = flx_count_managed(e);
    flame_status st;
    char id[40];
    int code = flx_boot_call(e, NULL, b, id, sizeof(id), &st);
    if (code != code_want || strcmp(st.reason, reason) != 0 || (msg && !strstr(st.message, msg)))
        print_error("case: %s\n", what);
    flx_assert_st(code, &st, code_want, reason, msg);
    /* A Boot that got as far as Docker may answer while flamed's reaper is still
     * removing the container: give it a moment. */
    flx_wait_managed(e, before, 5000, what);
}

/* Boot b, expect OK; returns the runner id in id. */
static void expect_booted(fl_env *e, flx_boot *b, char *id, size_t idlen, const char *what)
{
    flame_status st;
    int code = flx_boot_call(e, NULL, b, id, idlen, &st);
    if (code != GS_OK)
        print_error("case: %s\n", what);
    flx_assert_st(code, &st, GS_OK, NULL, NULL);
}

/* HostConfig of a runner's container, from Docker. */
static cJSON *inspect_runner(fl_env *e, const char *runner_id)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    cJSON *j = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, runner_id) == 0)
            j = fl_inspect(e, rs[i]->container_id);
    flame_runner_list_free(rs, n);
    assert_non_null(j);
    return j;
}

static double hc_number(const cJSON *inspect, const char *field)
{
    char path[64];
    snprintf(path, sizeof(path), "HostConfig.%s", field);
    const cJSON *v = fl_json_path(inspect, path);
    if (!cJSON_IsNumber(v))
        fail_msg("inspect has no number at %s", path);
    return v->valuedouble;
}

/* ------------------------------------------------------------------ built-in policy */

static void policy_builtin_denies_host_escapes(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    static const struct {
        const char *hc, *mount, *rule;
    } cases[] = {
        {"{\"Privileged\": true}", NULL, "allow.privileged"},
        {"{\"CapAdd\": [\"SYS_ADMIN\"]}", NULL, "allow.capabilities"},
        {"{\"CapAdd\": [\"cap_sys_admin\"]}", NULL, "allow.capabilities"},
        {"{\"CapAdd\": [\"ALL\"]}", NULL, "allow.capabilities"},
        {"{\"PidMode\": \"host\"}", NULL, "allow.host_namespaces"},
        {"{\"IpcMode\": \"host\"}", NULL, "allow.host_namespaces"},
        {"{\"UsernsMode\": \"host\"}", NULL, "allow.host_namespaces"},
        {"{\"UTSMode\": \"host\"}", NULL, "allow.host_namespaces"},
        {"{\"CgroupnsMode\": \"host\"}", NULL, "allow.host_namespaces"},
        {"{\"Devices\": [{\"PathOnHost\": \"/dev/kmsg\", \"PathInContainer\": \"/dev/kmsg\", "
         "\"CgroupPermissions\": \"rwm\"}]}", NULL, "allow.devices"},
        {"{\"DeviceCgroupRules\": [\"c 1:* rwm\"]}", NULL, "allow.devices"},
        {"{\"SecurityOpt\": [\"seccomp=unconfined\"]}", NULL, "allow.privileged"},
        {"{\"SecurityOpt\": [\"apparmor=unconfined\"]}", NULL, "allow.privileged"},
        {"{\"SecurityOpt\": [\"label=disable\"]}", NULL, "allow.privileged"},
        {"{\"SecurityOpt\": [\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]}", NULL,
         "allow.seccomp_profiles"},
        /* No host path without allow.host_binds: "/", the Docker socket, its directories. */
        {"{\"Binds\": [\"/:/host\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/:/host:ro\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"//:/host\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/var/run/docker.sock:/var/run/docker.sock\"]}", NULL,
         "allow.host_binds"},
        {"{\"Binds\": [\"/run/docker.sock:/s\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/var/run:/r\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/var/run/:/r\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/run:/r\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/var:/v\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"/tmp:/t\"]}", NULL, "allow.host_binds"},
        {"{\"Binds\": [\"fltest-data:/t\", \"/var/run/docker.sock:/s\"]}", NULL, "Binds[1]"},
        /* Docker cleans a bind's source lexically before it mounts it. */
        {"{\"Binds\": [\"/run/fltest-no-such-dir/..:/r\"]}", NULL, "host path '/run'"},
        {"{\"Binds\": [\"/fltest-no-such-dir/..:/host\"]}", NULL, "host path '/'"},
        {"{\"Binds\": [\"/var/run/./docker.sock:/s\"]}", NULL, "host path '/var/run/docker.sock'"},
        /* Modes that relabel or propagate, even on a named volume. */
        {"{\"Binds\": [\"fltest-data:/d:z\"]}", NULL, "it relabels host files"},
        {"{\"Binds\": [\"fltest-data:/d:rshared\"]}", NULL, "propagates mounts back to the host"},
        {NULL, "{\"Type\": \"bind\", \"Source\": \"/var/run/docker.sock\", \"Target\": \"/s\"}",
         "allow.host_binds"},
        {NULL, "{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/host\"}", "allow.host_binds"},
        {NULL, "{\"Type\": \"bind\", \"Source\": \"/var/run\", \"Target\": \"/r\"}",
         "allow.host_binds"},
        {NULL,
         "{\"Type\": \"volume\", \"Source\": \"fltest-sneaky\", \"Target\": \"/host\", "
         "\"VolumeOptions\": {\"DriverConfig\": {\"Name\": \"local\", \"Options\": "
         "{\"type\": \"none\", \"o\": \"bind\", \"device\": \"/\"}}}}",
         "allow.volume_drivers"},
        {NULL,
         "{\"Type\": \"volume\", \"Source\": \"fltest-sneaky2\", \"Target\": \"/r\", "
         "\"VolumeOptions\": {\"DriverConfig\": {\"Name\": \"local\", \"Options\": "
         "{\"type\": \"none\", \"o\": \"bind\", \"device\": \"/var/run\"}}}}",
         "allow.volume_drivers"},
        {"{\"MaskedPaths\": []}", NULL, "allow.masked_paths"},
        {"{\"Sysctls\": {\"kernel.core_pattern\": \"|/tmp/x\"}}", NULL, "allow.sysctls"},
        {"{\"Ulimits\": [{\"Name\": \"core\", \"Soft\": 1, \"Hard\": 1}]}", NULL,
         "ceilings.Ulimits"},
        {"{\"Tmpfs\": {\"/proc\": \"\"}}", NULL, "a tmpfs cannot cover the root, /proc or /sys"},
        {"{\"PortBindings\": {\"22/tcp\": [{\"HostPort\": \"2222\"}]}}", NULL,
         "allow.port_bindings"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flx_boot *b = flx_boot_new(e);
        flx_boot_host_config(b, cases[i].hc);
        if (cases[i].mount)
            flx_boot_mount(b, cases[i].mount);
        char what[512];
        snprintf(what, sizeof(what), "built-in policy, case %zu: %s", i,
                 cases[i].hc ? cases[i].hc : cases[i].mount);
        expect_refused(e, b, DENIED, cases[i].rule, what);
        flx_boot_free(b);
    }

    /* What stays allowed: tmpfs, an anonymous volume (removed with the container),
     * unprivileged settings, Ulimits within the built-in ceilings. */
    char id[40];
    flx_boot *b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"CapDrop\": [\"net_raw\"], \"Privileged\": false, \"PidMode\": \"\", "
                            "\"Memory\": 134217728, \"SecurityOpt\": [\"no-new-privileges\"], "
                            "\"Ulimits\": [{\"Name\": \"NOFILE\", \"Soft\": 1024, \"Hard\": 4096}], "
                            "\"Tmpfs\": {\"/run//app/\": \"rw,size=16m\"}}");
    flx_boot_mount(b, "{\"Type\": \"tmpfs\", \"Target\": \"/scratch\"}");
    flx_boot_mount(b, "{\"Type\": \"volume\", \"Target\": \"/anon\"}");
    expect_booted(e, b, id, sizeof(id), "tmpfs + anonymous volume + unprivileged settings");
    flx_boot_free(b);
    /* Docker holds the spellings flamed checked. */
    cJSON *j = inspect_runner(e, id);
    char *caps = cJSON_PrintUnformatted(fl_json_path(j, "HostConfig.CapDrop"));
    fl_assert_contains(caps, "CAP_NET_RAW");
    free(caps);
    const cJSON *ul = cJSON_GetArrayItem(fl_json_path(j, "HostConfig.Ulimits"), 0);
    assert_non_null(ul);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ul, "Name")->valuestring, "nofile");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(fl_json_path(j, "HostConfig.Tmpfs"), "/run/app"));
    cJSON_Delete(j);
    fl_shutdown(e, id);
    flx_wait_managed(e, 0, 10000, "after the allowed Boot's Shutdown");
    flx_pass(e);
}

/* ------------------------------------------------------------------ allow switches */

static void policy_allow_switches(void **state)
{
    fl_env *e = begin_with_policy(state, "{\"allow\": {\"privileged\": true, "
                                         "\"capabilities\": [\"NET_ADMIN\"]}}");
    char id[40];

    /* Privileged passes the policy. Some hosts (Docker in an unprivileged container)
     * cannot start a privileged container: then Docker's refusal is what comes back. */
    flx_boot *b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"Privileged\": true}");
    flame_status st;
    int before = flx_count_managed(e);
    int code = flx_boot_call(e, NULL, b, id, sizeof(id), &st);
    flx_boot_free(b);
    cJSON *j;
    if (code == GS_OK) {
        j = inspect_runner(e, id);
        assert_true(cJSON_IsTrue(fl_json_path(j, "HostConfig.Privileged")));
        cJSON_Delete(j);
        fl_shutdown(e, id);
    } else {
        print_message("Docker could not start a privileged container here: %s\n", st.message);
        assert_string_not_equal(st.reason, "POLICY_DENIED");
        fl_assert_contains(st.message, "start");
        flx_wait_managed(e, before, 5000, "after Docker refused a privileged container");
    }
    /* allow.privileged also lifts the SecurityOpt denials. */
    b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"SecurityOpt\": [\"seccomp=unconfined\"]}");
    expect_booted(e, b, id, sizeof(id), "seccomp=unconfined with allow.privileged");
    flx_boot_free(b);
    j = inspect_runner(e, id);
    char *secopt = cJSON_PrintUnformatted(fl_json_path(j, "HostConfig.SecurityOpt"));
    fl_assert_contains(secopt, "seccomp=unconfined");
    free(secopt);
    cJSON_Delete(j);
    fl_shutdown(e, id);

    /* A listed capability, in any of Docker's spellings, reaches Docker as CAP_X. */
    static const char *const net_admin[] = {"{\"CapAdd\": [\"NET_ADMIN\"]}",
                                            "{\"CapAdd\": [\"cap_net_admin\"]}"};
    for (size_t i = 0; i < 2; i++) {
        b = flx_boot_new(e);
        flx_boot_host_config(b, net_admin[i]);
        expect_booted(e, b, id, sizeof(id), net_admin[i]);
        flx_boot_free(b);
        j = inspect_runner(e, id);
        const cJSON *caps = fl_json_path(j, "HostConfig.CapAdd");
        assert_true(cJSON_IsArray(caps) && cJSON_GetArraySize(caps) == 1);
        assert_string_equal(cJSON_GetArrayItem(caps, 0)->valuestring, "CAP_NET_ADMIN");
        cJSON_Delete(j);
        fl_shutdown(e, id);
    }

    /* What was not switched on stays denied. */
    static const struct {
        const char *hc, *rule;
    } still[] = {
        {"{\"PidMode\": \"host\"}", "allow.host_namespaces"},
        {"{\"CapAdd\": [\"SYS_ADMIN\"]}", "allow.capabilities"},
        {"{\"CapAdd\": [\"NET_ADMIN\", \"ALL\"]}", "host_config.CapAdd[1] 'ALL'"},
        {"{\"SecurityOpt\": [\"seccomp=strict\"]}", "allow.seccomp_profiles"},
        {"{\"Binds\": [\"/:/host\"]}", "allow.host_binds"},
        {"{\"Binds\": [\"/var/run/docker.sock:/s\"]}", "allow.host_binds"},
        {"{\"Devices\": [{\"PathOnHost\": \"/dev/kmsg\", \"PathInContainer\": \"/dev/kmsg\", "
         "\"CgroupPermissions\": \"r\"}]}", "allow.devices"},
    };
    for (size_t i = 0; i < sizeof(still) / sizeof(still[0]); i++) {
        b = flx_boot_new(e);
        flx_boot_host_config(b, still[i].hc);
        expect_refused(e, b, DENIED, still[i].rule, still[i].hc);
        flx_boot_free(b);
    }
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

/*
 * allow.host_binds: a bind (Binds or a mount of Type bind) under the prefix
 * reaches Docker with its path cleaned and the runner sees the files; the
 * prefix's parent, a symlink under it to "/", another host path, the Docker
 * socket and a relabelling mode stay denied.
 */
static void policy_host_binds(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    const char *data = flx_path(e0, "data");
    assert_int_equal(mkdir(data, 0755), 0);
    char p[512], json[1024];
    snprintf(p, sizeof(p), "%s/sub", data);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/sub/hello", data);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("hello\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/root-link", data);
    assert_int_equal(symlink("/", p), 0);
    snprintf(json, sizeof(json), "{\"allow\": {\"host_binds\": [\"%s\"]}}", data);
    fl_env *e = begin_with_policy(state, json);
    char id[40];

    flx_boot *b = flx_boot_new(e);
    snprintf(json, sizeof(json), "{\"Binds\": [\"%s//sub/./:/data/:ro\"]}", data);
    flx_boot_host_config(b, json);
    snprintf(json, sizeof(json), "{\"Type\": \"bind\", \"Source\": \"%s/sub/\", \"Target\": \"//m/\", "
                                 "\"ReadOnly\": true}", data);
    flx_boot_mount(b, json);
    expect_booted(e, b, id, sizeof(id), "binds under allow.host_binds");
    flx_boot_free(b);
    cJSON *j = inspect_runner(e, id);
    char want[600];
    snprintf(want, sizeof(want), "%s/sub:/data:ro", data);
    const cJSON *binds = fl_json_path(j, "HostConfig.Binds");
    assert_int_equal(cJSON_GetArraySize(binds), 1);
    assert_string_equal(cJSON_GetArrayItem(binds, 0)->valuestring, want);
    const cJSON *m = cJSON_GetArrayItem(fl_json_path(j, "HostConfig.Mounts"), 0);
    assert_non_null(m);
    snprintf(want, sizeof(want), "%s/sub", data);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Source")->valuestring, want);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Target")->valuestring, "/m");
    cJSON_Delete(j);
    const char *argv[] = {"sh", "-c", "test -f /data/hello && test -f /m/hello", NULL};
    flame_spawn_request sreq = {.runner_id = id, .argv = argv};
    flame_status st;
    int exit_code = -1;
    assert_int_equal(flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st), 0);
    assert_int_equal(exit_code, 0);
    fl_shutdown(e, id);

    struct {
        char hc[600];
        const char *rule;
    } denied[6];
    snprintf(denied[0].hc, sizeof(denied[0].hc), "{\"Binds\": [\"%s/..:/d\"]}", data);
    denied[0].rule = "is not under a prefix in allow.host_binds";
    snprintf(denied[1].hc, sizeof(denied[1].hc), "{\"Binds\": [\"%s/root-link:/h\"]}", data);
    denied[1].rule = "gives root on the host";
    snprintf(denied[2].hc, sizeof(denied[2].hc), "{\"Binds\": [\"/etc:/e\"]}");
    denied[2].rule = "is not under a prefix in allow.host_binds";
    snprintf(denied[3].hc, sizeof(denied[3].hc), "{\"Binds\": [\"/var/run/docker.sock:/s\"]}");
    denied[3].rule = "gives root on the host";
    snprintf(denied[4].hc, sizeof(denied[4].hc), "{\"Binds\": [\"%s/sub:/d:Z\"]}", data);
    denied[4].rule = "it relabels host files";
    snprintf(denied[5].hc, sizeof(denied[5].hc), "{\"Binds\": [\"%s/root-link/etc:/e\"]}", data);
    denied[5].rule = "(resolved: '/etc')";
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        b = flx_boot_new(e);
        flx_boot_host_config(b, denied[i].hc);
        expect_refused(e, b, DENIED, denied[i].rule, denied[i].hc);
        flx_boot_free(b);
    }
    flx_wait_managed(e, 0, 10000, "after the Shutdown");
    flx_pass(e);
}

/* allow.sysctls: a listed sysctl, in either spelling, reaches Docker dotted; another is denied. */
static void policy_sysctls_reach_docker(void **state)
{
    fl_env *e = begin_with_policy(state, "{\"allow\": {\"sysctls\": [\"net.core.somaxconn\"]}}");
    char id[40];
    flx_boot *b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"Sysctls\": {\"net/core/somaxconn\": \"1024\"}, \"Memory\": 134217728}");
    expect_booted(e, b, id, sizeof(id), "a listed sysctl");
    flx_boot_free(b);
    cJSON *j = inspect_runner(e, id);
    const cJSON *v = fl_json_path(j, "HostConfig.Sysctls");
    char *text = cJSON_PrintUnformatted(v);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "net.core.somaxconn")))
        fail_msg("Docker's HostConfig.Sysctls is %s; expected net.core.somaxconn", text);
    free(text);
    assert_int_equal((int64_t)hc_number(j, "Memory"), 134217728);
    cJSON_Delete(j);
    fl_shutdown(e, id);
    b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\"}}");
    expect_refused(e, b, DENIED, "allow.sysctls", "an unlisted sysctl");
    flx_boot_free(b);
    flx_wait_managed(e, 0, 10000, "after the Shutdown");
    flx_pass(e);
}

/* ------------------------------------------------------------------ allowlists */

static void policy_image_allowlist(void **state)
{
    /* Exact ("flamed-test/app" is flamed-test/app:latest) and prefix patterns. */
    fl_env *e = begin_with_policy(state,
                                  "{\"images\": [\"flamed-test/app\", \"flamed-test/busy*\"]}");
    char id[40];
    const char *ok[] = {"flamed-test/app", "flamed-test/app:latest", FL_IMAGE_BUSYBOX};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        flx_boot *b = flx_boot_new(e);
        b->req.image = (char *)ok[i];
        expect_booted(e, b, id, sizeof(id), ok[i]);
        flx_boot_free(b);
        fl_shutdown(e, id);
    }
    const char *denied[] = {FL_IMAGE_HEALTHY, "flamed-test/app:other", "flamed-test/apple",
                            "docker.io/flamed-test/app", "evil/flamed-test/app",
                            "flamed-test/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        flx_boot *b = flx_boot_new(e);
        b->req.image = (char *)denied[i];
        expect_refused(e, b, DENIED, "images allowlist", denied[i]);
        flx_boot_free(b);
    }
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

static void policy_network_allowlist(void **state)
{
    fl_env *e0 = *state;
    char json[256];
    snprintf(json, sizeof(json), "{\"networks\": [\"%s\"]}", e0->network);
    fl_env *e = begin_with_policy(state, json);
    char id[40], other[64];
    flx_boot *b = flx_boot_new(e);
    expect_booted(e, b, id, sizeof(id), "the allowed network");
    flx_boot_free(b);
    fl_shutdown(e, id);

    /* Another network (the policy answers before flamed looks for it), or none. */
    snprintf(other, sizeof(other), "%s-other", e->network);
    const char *nets[] = {other, "bridge", "host", ""};
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        b = flx_boot_new(e);
        b->req.network = (char *)nets[i];
        expect_refused(e, b, DENIED, "networks allowlist", nets[i]);
        flx_boot_free(b);
    }
    flx_wait_managed(e, 0, 10000, "after the Shutdown");
    flx_pass(e);
}

/* ------------------------------------------------------------------ defaults, ceilings */

static void policy_defaults_and_ceilings(void **state)
{
    fl_env *e = begin_with_policy(state,
                                  "{\"defaults\": {\"Memory\": 134217728, \"PidsLimit\": 256, "
                                  "\"NanoCpus\": 500000000},"
                                  " \"ceilings\": {\"Memory\": 268435456, \"PidsLimit\": 1024, "
                                  "\"NanoCpus\": 1000000000}}");
    char id[40];

    /* No HostConfig: the defaults, as Docker stores them. */
    flx_boot *b = flx_boot_new(e);
    expect_booted(e, b, id, sizeof(id), "defaults");
    flx_boot_free(b);
    cJSON *j = inspect_runner(e, id);
    assert_int_equal((int64_t)hc_number(j, "Memory"), 134217728);
    assert_int_equal((int64_t)hc_number(j, "PidsLimit"), 256);
    assert_int_equal((int64_t)hc_number(j, "NanoCpus"), 500000000);
    cJSON_Delete(j);
    fl_shutdown(e, id);

    /* "Unlimited" values (0; PidsLimit -1) get the defaults too; values under the ceiling stay. */
    b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"Memory\": 0, \"PidsLimit\": -1, \"NanoCpus\": 750000000}");
    expect_booted(e, b, id, sizeof(id), "unlimited -> defaults");
    flx_boot_free(b);
    j = inspect_runner(e, id);
    assert_int_equal((int64_t)hc_number(j, "Memory"), 134217728);
    assert_int_equal((int64_t)hc_number(j, "PidsLimit"), 256);
    assert_int_equal((int64_t)hc_number(j, "NanoCpus"), 750000000);
    cJSON_Delete(j);
    fl_shutdown(e, id);

    /* At the ceiling: allowed. Above: denied, naming the ceiling. */
    b = flx_boot_new(e);
    flx_boot_host_config(b, "{\"Memory\": 268435456}");
    expect_booted(e, b, id, sizeof(id), "at the ceiling");
    flx_boot_free(b);
    j = inspect_runner(e, id);
    assert_int_equal((int64_t)hc_number(j, "Memory"), 268435456);
    cJSON_Delete(j);
    fl_shutdown(e, id);
    static const struct {
        const char *hc, *rule;
    } over[] = {
        {"{\"Memory\": 268435457}", "ceilings.Memory"},
        {"{\"Memory\": 4294967296}", "ceilings.Memory"},
        {"{\"PidsLimit\": 4096}", "ceilings.PidsLimit"},
        {"{\"NanoCpus\": 2000000000}", "ceilings.NanoCpus"},
    };
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        b = flx_boot_new(e);
        flx_boot_host_config(b, over[i].hc);
        expect_refused(e, b, DENIED, over[i].rule, over[i].hc);
        flx_boot_free(b);
    }

    /* A ceiling without a default: an unlimited request gets the ceiling. */
    restart_with_policy(e, "ceiling-only.json", "{\"ceilings\": {\"Memory\": 201326592}}");
    b = flx_boot_new(e);
    expect_booted(e, b, id, sizeof(id), "ceiling only");
    flx_boot_free(b);
    j = inspect_runner(e, id);
    assert_int_equal((int64_t)hc_number(j, "Memory"), 201326592);
    cJSON_Delete(j);
    fl_shutdown(e, id);
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

/* ------------------------------------------------------------------ quotas */

static void policy_quota_per_pool(void **state)
{
    fl_env *e = begin_with_policy(state, "{\"quotas\": {\"max_runners_per_pool\": 2}}");
    char ids[2][40], id[40], pool_b[64];
    for (int i = 0; i < 2; i++) {
        flx_boot *b = flx_boot_new(e);
        expect_booted(e, b, ids[i], sizeof(ids[i]), "within the pool quota");
        flx_boot_free(b);
    }
    flx_boot *b = flx_boot_new(e);
    expect_refused(e, b, GS_RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", "quotas.max_runners_per_pool",
                   "third runner in the pool");
    flame_status st;
    flx_boot_call(e, NULL, b, id, sizeof(id), &st);
    fl_assert_contains(st.message, "2 runners, the limit is 2");
    fl_assert_contains(st.message, e->pool);

    /* Another pool has its own quota. */
    snprintf(pool_b, sizeof(pool_b), "%s-b", e->pool);
    b->req.pool = pool_b;
    expect_booted(e, b, id, sizeof(id), "another pool");
    fl_shutdown(e, id);

    /* A runner shut down frees its place. */
    fl_shutdown(e, ids[0]);
    b->req.pool = e->pool;
    expect_booted(e, b, id, sizeof(id), "after a Shutdown");
    flx_boot_free(b);
    fl_shutdown(e, id);
    fl_shutdown(e, ids[1]);
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

/*
 * flamed adopts every flamed-managed container it finds in Docker at start,
 * other flamed processes' too (test runs beside this one): those "foreign"
 * runners count against quotas.max_runners. Adoption happens once, at start,
 * so the number of live foreign runners can only go down afterwards (their
 * owners shut them down, or this flamed reaps the exited ones). The total
 * quota checks below hold whatever they do meanwhile.
 */
static int foreign_live(fl_env *e)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, NULL, &rs, &n, &st), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(rs[i]->pool, e->pool, strlen(e->pool)) != 0 &&
            rs[i]->state != FLAME_RUNNER_REMOVED && rs[i]->state != FLAME_RUNNER_FAILED)
            k++;
    flame_runner_list_free(rs, n);
    return k;
}

/* Restart flamed with quotas.max_runners = (live foreign runners) + room, again while
 * more foreign runners than that were adopted (up to 5 times); returns the limit. */
static int restart_with_total_quota(fl_env *e, int room)
{
    int limit = 0;
    for (int i = 0; i < 5; i++) {
        char json[128];
        limit = foreign_live(e) + room;
        snprintf(json, sizeof(json), "{\"quotas\": {\"max_runners\": %d}}", limit);
        restart_with_policy(e, "total-quota.json", json);
        if (limit - foreign_live(e) >= room)
            break;
    }
    return limit;
}

static void policy_quota_total(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    int limit = restart_with_total_quota(e, 2);
    int f_start = foreign_live(e);
    /* Boot until refused: the refusal comes exactly at the limit. */
    char ids[16][40];
    int ok = 0;
    flame_status st;
    int code = GS_OK;
    while (ok < 16) {
        flx_boot *b = flx_boot_new(e);
        code = flx_boot_call(e, NULL, b, ids[ok], sizeof(ids[ok]), &st);
        flx_boot_free(b);
        if (code != GS_OK)
            break;
        ok++;
    }
    int f_end = foreign_live(e);
    flx_assert_st(code, &st, GS_RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", "quotas.max_runners");
    char want[96];
    snprintf(want, sizeof(want), "flamed runs %d runners, the limit is %d", limit, limit);
    fl_assert_contains(st.message, want);
    print_message("limit %d, foreign runners %d -> %d, booted %d\n", limit, f_start, f_end, ok);
    /* Room at the start was limit - f_start; foreign runners only leave. */
    assert_true(ok >= limit - f_start);
    assert_true(ok <= limit - f_end);
    for (int i = 0; i < ok; i++)
        fl_shutdown(e, ids[i]);
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

struct racer {
    fl_env *e;
    pthread_barrier_t *go;
    int code;
    flame_status st;
    char id[40];
};

static void *race_boot(void *arg)
{
    struct racer *r = arg;
    flx_boot *b = flx_boot_new(r->e);
    pthread_barrier_wait(r->go);
    r->code = flx_boot_call(r->e, NULL, b, r->id, sizeof(r->id), &r->st);
    flx_boot_free(b);
    return NULL;
}

static void run_race(fl_env *e, struct racer *rs, int n, int *ok, int *quota)
{
    pthread_t th[16];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        rs[i] = (struct racer){.e = e, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race_boot, &rs[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    *ok = *quota = 0;
    for (int i = 0; i < n; i++) {
        if (rs[i].code == GS_OK) {
            (*ok)++;
        } else {
            flx_assert_st(rs[i].code, &rs[i].st, GS_RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", NULL);
            (*quota)++;
        }
    }
}

static void policy_quota_is_atomic_under_concurrent_boots(void **state)
{
    /* Per pool: only this test uses its pool. */
    fl_env *e = begin_with_policy(state, "{\"quotas\": {\"max_runners_per_pool\": 3}}");
    struct racer rs[8];
    int ok, quota;
    run_race(e, rs, 8, &ok, &quota);
    assert_int_equal(ok, 3);
    assert_int_equal(quota, 5);
    flx_assert_managed(e, 3, "after 8 racing Boots, quota 3 per pool");
    for (int i = 0; i < 8; i++)
        if (rs[i].code == GS_OK)
            fl_shutdown(e, rs[i].id);

    /* In total (foreign runners, see foreign_live, are part of the count): at least the
     * room there was at the start, never more than the limit allows at the end. */
    int limit = restart_with_total_quota(e, 3);
    int f_start = foreign_live(e);
    run_race(e, rs, 8, &ok, &quota);
    int f_end = foreign_live(e);
    print_message("limit %d, foreign runners %d -> %d, %d of 8 booted\n", limit, f_start, f_end,
                  ok);
    for (int i = 0; i < 8; i++)
        if (rs[i].code != GS_OK) {
            char want[96];
            snprintf(want, sizeof(want), "the limit is %d (policy quotas.max_runners)", limit);
            fl_assert_contains(rs[i].st.message, want);
        }
    assert_true(ok >= (limit - f_start < 8 ? limit - f_start : 8));
    assert_true(ok <= limit - f_end);
    assert_int_equal(ok + quota, 8);
    for (int i = 0; i < 8; i++)
        if (rs[i].code == GS_OK)
            fl_shutdown(e, rs[i].id);
    flx_wait_managed(e, 0, 10000, "after the Shutdowns");
    flx_pass(e);
}

/* ------------------------------------------------------------------ size limits */

static void policy_size_limits(void **state)
{
    fl_env *e = begin_with_policy(state,
                                  "{\"limits\": {\"max_env_entries\": 2, \"max_env_bytes\": 200, "
                                  "\"max_labels\": 3, \"max_argv\": 4}}");
    char id[40];
    flame_status st;

    /* At the limits: fine. */
    flx_boot *b = flx_boot_new(e);
    flx_boot_env(b, "A", "1");
    flx_boot_env(b, "B", "2");
    flx_boot_label(b, "x", "1");
    flx_boot_label(b, "y", "2");
    expect_booted(e, b, id, sizeof(id), "at the limits");
    flx_boot_free(b);

    b = flx_boot_new(e);
    flx_boot_env(b, "A", "1");
    flx_boot_env(b, "B", "2");
    flx_boot_env(b, "C", "3");
    expect_refused(e, b, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_env_entries", "env");
    flx_boot_free(b);

    char big[256];
    memset(big, 'v', 220);
    big[220] = '\0';
    b = flx_boot_new(e);
    flx_boot_env(b, "BIG", big);
    expect_refused(e, b, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_env_bytes",
                   "env bytes");
    flx_boot_free(b);

    b = flx_boot_new(e);
    flx_boot_label(b, "x", "1");
    flx_boot_label(b, "y", "2");
    flx_boot_label(b, "z", "3");
    expect_refused(e, b, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_labels", "labels");
    flx_boot_free(b);

    static char *cmd5[] = {"sh", "-c", "sleep 1", "a", "b"};
    b = flx_boot_new(e);
    char **own_cmd = b->req.cmd;
    size_t own_n = b->req.n_cmd;
    b->req.cmd = cmd5;
    b->req.n_cmd = 5;
    expect_refused(e, b, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_argv", "cmd");
    b->req.cmd = own_cmd; /* flx_boot frees its own array */
    b->req.n_cmd = own_n;
    flx_boot_free(b);

    /* Spawn: argv and env are limited too (checked before the runner is looked up). */
    const char *argv5[] = {"sh", "-c", "true", "a", "b", NULL};
    flame_spawn_request sreq = {.runner_id = id, .argv = argv5};
    int exit_code = -1;
    flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_argv");
    const char *argv1[] = {"true", NULL};
    const char *env3[] = {"A=1", "B=2", "C=3", NULL};
    sreq.argv = argv1;
    sreq.env = env3;
    flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st);
    flx_assert_st(st.code, &st, GS_INVALID_ARGUMENT, "LIMIT_EXCEEDED", "limits.max_env_entries");
    sreq.env = NULL;
    assert_int_equal(flame_client_spawn(e->client, &sreq, NULL, &exit_code, &st), 0);
    assert_int_equal(exit_code, 0);
    fl_shutdown(e, id);

    /* max_request_bytes: gRPC itself refuses a larger message. */
    restart_with_policy(e, "small-requests.json", "{\"limits\": {\"max_request_bytes\": 16384}}");
    char *huge = malloc(40000);
    assert_non_null(huge);
    memset(huge, 'h', 39999);
    huge[39999] = '\0';
    b = flx_boot_new(e);
    flx_boot_env(b, "HUGE", huge);
    int before = flx_count_managed(e);
    int code = flx_boot_call(e, NULL, b, id, sizeof(id), &st);
    flx_assert_st(code, &st, GS_RESOURCE_EXHAUSTED, NULL, NULL);
    flx_assert_managed(e, before, "after a too-large request");
    flx_boot_free(b);
    free(huge);
    flx_wait_managed(e, 0, 10000, "after the Shutdown");
    flx_pass(e);
}

/* ------------------------------------------------------------------ bad policy files */

static void policy_file_errors_stop_flamed_at_start(void **state)
{
    fl_env *e = *state;
    FL_SKIP_IF_NO_DOCKER(e);
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"imagez\": [\"app\"]}", "imagez"},
        {"{\"allow\": {\"privleged\": true}}", "allow.privleged"},
        {"{\"defaults\": {\"Memroy\": 1}}", "defaults.Memroy"},
        {"{\"quotas\": {\"max_runner\": 1}}", "quotas.max_runner"},
        {"{\"limits\": {\"max_env\": 1}}", "limits.max_env"},
        {"{\"images\": \"app\"}", "images"},
        {"{\"images\": [\"\"]}", "images"},
        {"{\"networks\": [1]}", "networks"},
        {"{\"allow\": {\"privileged\": \"yes\"}}", "allow.privileged"},
        {"{\"allow\": {\"cap_add\": true}}", "allow.capabilities"},
        {"{\"allow\": {\"docker_socket\": true}}", "allow.host_binds"},
        {"{\"allow\": {\"root_bind\": true}}", "allow.host_binds"},
        {"{\"pools\": {\"p\": {\"allow\": {\"root_bind\": true}}}}", "allow.host_binds"},
        {"{\"allow\": {\"host_binds\": [\"/\"]}}", "allow.host_binds: '/'"},
        {"{\"allow\": {\"host_binds\": [\"/var/run\"]}}", "allow.host_binds: '/var/run'"},
        {"{\"allow\": {\"host_binds\": [\"relative/dir\"]}}", "must be an absolute path"},
        {"{\"allow\": {\"capabilities\": true}}", "allow.capabilities"},
        {"{\"allow\": {\"seccomp_profiles\": {\"strict\": \"/nonexistent/fltest-seccomp.json\"}}}",
         "allow.seccomp_profiles.strict"},
        {"{\"ceilings\": {\"Ulimits\": {\"nofiles\": 1}}}", "ceilings.Ulimits.nofiles"},
        {"{\"limits\": {\"max_depth\": 4}}", "limits.max_depth"},
        {"{\"allow\": {\"privileged\": false, \"privileged\": true}}", "allow.privileged"},
        {"{\"allow\": [\"privileged\"]}", "allow"},
        {"{\"defaults\": {\"Memory\": \"lots\"}}", "defaults.Memory"},
        {"{\"defaults\": {\"Memory\": -1}}", "defaults.Memory"},
        {"{\"ceilings\": {\"NanoCpus\": 1.5}}", "ceilings.NanoCpus"},
        {"{\"quotas\": {\"max_runners\": -2}}", "quotas.max_runners"},
        {"{\"defaults\": {\"Memory\": 2048}, \"ceilings\": {\"Memory\": 1024}}", "defaults.Memory"},
        {"[1, 2]", "JSON object"},
        {"{\"images\": [\"app\"", "JSON object"},
        {"", "JSON object"},
    };
    char sock[160];
    snprintf(sock, sizeof(sock), "unix:/tmp/%s-bad.sock", e->tag);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "bad-%zu.json", i);
        const char *path = flx_write(e, name, cases[i].json);
        const char *args[] = {"--listen", sock, "--policy", path, NULL};
        char *out = NULL;
        int code = flx_flamed_run(args, &out, 10000);
        if (code <= 0 || !strstr(out, cases[i].want) || !strstr(out, path)) {
            print_error("policy %zu (%s): flamed exited %d, expected non-zero and a message "
                        "naming \"%s\" and the file:\n%s\n",
                        i, cases[i].json, code, cases[i].want, out);
            free(out);
            fail();
        }
        free(out);
    }
    const char *args[] = {"--listen", sock, "--policy", "/nonexistent/fltest-policy.json", NULL};
    char *out = NULL;
    int code = flx_flamed_run(args, &out, 10000);
    assert_true(code > 0);
    fl_assert_contains(out, "/nonexistent/fltest-policy.json");
    free(out);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLX_UNIT(policy_builtin_denies_host_escapes),
        FLX_UNIT(policy_allow_switches),
        FLX_UNIT(policy_host_binds),
        FLX_UNIT(policy_sysctls_reach_docker),
        FLX_UNIT(policy_image_allowlist),
        FLX_UNIT(policy_network_allowlist),
        FLX_UNIT(policy_defaults_and_ceilings),
        FLX_UNIT(policy_quota_per_pool),
        FLX_UNIT(policy_quota_total),
        FLX_UNIT(policy_quota_is_atomic_under_concurrent_boots),
        FLX_UNIT(policy_size_limits),
        FLX_UNIT(policy_file_errors_stop_flamed_at_start),
    };
    return FL_RUN("policy", tests);
}
