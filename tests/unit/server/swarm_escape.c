/*
 * Unit tests: the escape matrix of tests/integration/it_escape.c, on the Swarm
 * path (--engine swarm): request -> canonical reading (boot_config.h,
 * boot_placement.h) -> policy (a permissive one, every switch on, so that as
 * much as possible reaches the service spec; and the built-in one) -> the
 * ServiceSpec (swarm_spec_build). For every HostConfig field of the reading's
 * schema and a set of hostile values and mounts, each is refused by the
 * reading, denied by the policy, refused by name by the Swarm engine, or
 * mapped to its service-spec place with the canonical value byte for byte;
 * and the printed spec holds no key but the ones flamed writes (the spec is
 * printed from flamed's own tree: Go's case-insensitive and
 * last-duplicate-wins decoding has nothing of the caller's to act on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/swarm_spec.h"
#include "flame/error.h"
#include "service/boot_config.h"
#include "service/boot_placement.h"
#include "service/policy.h"
#include "struct_support.h"

static char bind_dir[64];
static struct policy *open_policy, *builtin_policy;

static int setup(void **state)
{
    (void)state;
    snprintf(bind_dir, sizeof(bind_dir), "/tmp/flamed-swarm-escape-XXXXXX");
    assert_non_null(mkdtemp(bind_dir));
    char json[1024], err[512] = "";
    snprintf(json, sizeof(json),
             "{\"allow\": {\"privileged\": true, \"capabilities\": [\"ALL\", \"SYS_ADMIN\", "
             "\"NET_ADMIN\"], \"host_namespaces\": true, \"devices\": true, \"device_requests\": "
             "true, \"host_binds\": [\"%s\"], \"volume_drivers\": true, \"apparmor_profiles\": "
             "[\"p\"], \"cgroup\": true, \"sysctls\": [\"net.ipv4.ip_local_port_range\"], "
             "\"runtimes\": [\"runsc\"], \"masked_paths\": true, \"port_bindings\": true, "
             "\"log_drivers\": [\"json-file\"], \"dns\": true, \"group_add\": true, "
             "\"placement\": true}}",
             bind_dir);
    if (policy_parse(&open_policy, json, NULL, err, sizeof(err)) < 0)
        fail_msg("permissive policy: %s", err);
    if (policy_parse(&builtin_policy, NULL, NULL, err, sizeof(err)) < 0)
        fail_msg("built-in policy: %s", err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    policy_free(open_policy);
    policy_free(builtin_policy);
    rmdir(bind_dir);
    return 0;
}

/* Where the Swarm engine puts each HostConfig field it maps (swarm_spec.h). */
static const struct {
    const char *field, *path;
} mapped[] = {
    {"Memory", "TaskTemplate.Resources.Limits.MemoryBytes"},
    {"NanoCpus", "TaskTemplate.Resources.Limits.NanoCPUs"},
    {"PidsLimit", "TaskTemplate.Resources.Limits.Pids"},
    {"MemoryReservation", "TaskTemplate.Resources.Reservations.MemoryBytes"},
    {"Init", "TaskTemplate.ContainerSpec.Init"},
    {"ReadonlyRootfs", "TaskTemplate.ContainerSpec.ReadOnly"},
    {"CapAdd", "TaskTemplate.ContainerSpec.CapabilityAdd"},
    {"CapDrop", "TaskTemplate.ContainerSpec.CapabilityDrop"},
    {"Ulimits", "TaskTemplate.ContainerSpec.Ulimits"},
    {"Sysctls", "TaskTemplate.ContainerSpec.Sysctls"},
    {"GroupAdd", "TaskTemplate.ContainerSpec.Groups"},
    {"Dns", "TaskTemplate.ContainerSpec.DNSConfig.Nameservers"},
    {"DnsSearch", "TaskTemplate.ContainerSpec.DNSConfig.Search"},
    {"DnsOptions", "TaskTemplate.ContainerSpec.DNSConfig.Options"},
    {"LogConfig", NULL}, /* {Type, Config} -> TaskTemplate.LogDriver {Name, Options} */
};

/* Every key path flamed writes into a ServiceSpec; the values of the ones
 * ending in '*' are maps or arrays the caller's canonical values fill. */
static const char *const spec_paths[] = {
    "Name", "Labels*", "Mode", "Mode.Replicated", "Mode.Replicated.Replicas", "EndpointSpec",
    "EndpointSpec.Mode", "TaskTemplate", "TaskTemplate.ContainerSpec",
    "TaskTemplate.ContainerSpec.Image", "TaskTemplate.ContainerSpec.Hostname",
    "TaskTemplate.ContainerSpec.Labels*", "TaskTemplate.ContainerSpec.Command*",
    "TaskTemplate.ContainerSpec.Args*", "TaskTemplate.ContainerSpec.Env*",
    "TaskTemplate.ContainerSpec.Dir", "TaskTemplate.ContainerSpec.User",
    "TaskTemplate.ContainerSpec.Mounts*", "TaskTemplate.ContainerSpec.Init",
    "TaskTemplate.ContainerSpec.ReadOnly", "TaskTemplate.ContainerSpec.CapabilityAdd*",
    "TaskTemplate.ContainerSpec.CapabilityDrop*", "TaskTemplate.ContainerSpec.Ulimits*",
    "TaskTemplate.ContainerSpec.Sysctls*", "TaskTemplate.ContainerSpec.Groups*",
    "TaskTemplate.ContainerSpec.DNSConfig", "TaskTemplate.ContainerSpec.DNSConfig.Nameservers*",
    "TaskTemplate.ContainerSpec.DNSConfig.Search*", "TaskTemplate.ContainerSpec.DNSConfig.Options*",
    "TaskTemplate.Resources", "TaskTemplate.Resources.Limits",
    "TaskTemplate.Resources.Limits.MemoryBytes", "TaskTemplate.Resources.Limits.NanoCPUs",
    "TaskTemplate.Resources.Limits.Pids", "TaskTemplate.Resources.Reservations",
    "TaskTemplate.Resources.Reservations.MemoryBytes", "TaskTemplate.LogDriver",
    "TaskTemplate.LogDriver.Name", "TaskTemplate.LogDriver.Options*", "TaskTemplate.RestartPolicy",
    "TaskTemplate.RestartPolicy.Condition", "TaskTemplate.Networks*", "TaskTemplate.Placement",
    "TaskTemplate.Placement.Constraints*", "TaskTemplate.Placement.Preferences*", NULL,
};

/* Every key of the spec is one flamed writes (walks objects; stops at '*' paths). */
static void assert_only_flamed_keys(const cJSON *o, const char *prefix)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, o)
    {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k->string);
        size_t i = 0;
        int leaf = 0;
        for (; spec_paths[i]; i++) {
            size_t n = strlen(spec_paths[i]);
            if (spec_paths[i][n - 1] == '*' && strlen(path) == n - 1 &&
                strncmp(spec_paths[i], path, n - 1) == 0) {
                leaf = 1;
                break;
            }
            if (strcmp(spec_paths[i], path) == 0)
                break;
        }
        if (!spec_paths[i])
            fail_msg("the service spec holds a key flamed does not write: %s", path);
        if (!leaf && cJSON_IsObject(k))
            assert_only_flamed_keys(k, path);
    }
}

static const cJSON *at(const cJSON *j, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        j = cJSON_GetObjectItemCaseSensitive(j, k);
    return j;
}

static void assert_same(const cJSON *a, const cJSON *b, const char *what)
{
    char *x = a ? cJSON_PrintUnformatted(a) : strdup("(absent)");
    char *y = b ? cJSON_PrintUnformatted(b) : strdup("(absent)");
    if (strcmp(x, y) != 0)
        fail_msg("%s: the spec has %s, the canonical reading %s", what, y, x);
    free(x);
    free(y);
}

enum outcome { READ_REFUSED, POLICY_DENIED, SWARM_REFUSED, MAPPED };
static int tally[4];

/* One request through the Swarm path; the outcome, checked as the file's header says. */
static enum outcome run(const struct policy *p, const char *hc_json, const char *mounts_json,
                        const char *name)
{
    Google__Protobuf__Struct *s = hc_json ? sup_struct_from_json(hc_json) : NULL;
    cJSON *hc = NULL, *ms = NULL, *spec = NULL;
    char err[1024] = "";
    enum outcome out;
    if (s && boot_config_host_config(&hc, s, err, sizeof(err)) < 0) {
        out = READ_REFUSED;
        goto done;
    }
    if (mounts_json) {
        cJSON *arr = cJSON_Parse(mounts_json), *it;
        assert_non_null(arr);
        ms = cJSON_CreateArray();
        size_t i = 0;
        int bad = 0;
        cJSON_ArrayForEach(it, arr)
        {
            Google__Protobuf__Struct *ms_s = sup_struct_from_cjson(it);
            cJSON *m = NULL;
            bad = bad || boot_config_mount(&m, ms_s, i++, err, sizeof(err)) < 0;
            sup_struct_free(ms_s);
            if (m)
                cJSON_AddItemToArray(ms, m);
        }
        cJSON_Delete(arr);
        if (bad) {
            out = READ_REFUSED;
            goto done;
        }
    }
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    req.image = "app:v1";
    if (policy_check_boot(p, &req, &hc, ms, err, sizeof(err)) < 0) {
        out = POLICY_DENIED;
        goto done;
    }
    struct engine_spec es = {.name = "flame-r1", .image = "app:v1", .network = "ovl",
                             .host_config = hc, .mounts = ms};
    int rc = swarm_spec_build(&es, &spec, err, sizeof(err));
    if (rc < 0) {
        assert_int_equal(rc, FLAME_EINVALID);
        /* Refused by name: the field (or the mount) is in the message. */
        const cJSON *f = hc ? hc->child : NULL;
        int named = strstr(err, "mounts[") != NULL;
        for (; f && !named; f = f->next) {
            char want[96];
            snprintf(want, sizeof(want), "host_config.%s ", f->string);
            named = strstr(err, want) != NULL;
        }
        if (!named)
            fail_msg("%s: refused without naming the field: %s", name, err);
        out = SWARM_REFUSED;
        goto done;
    }
    assert_only_flamed_keys(spec, "");
    const cJSON *f;
    cJSON_ArrayForEach(f, hc)
    {
        size_t i = 0;
        while (i < sizeof(mapped) / sizeof(mapped[0]) && strcmp(mapped[i].field, f->string) != 0)
            i++;
        if (i == sizeof(mapped) / sizeof(mapped[0]))
            fail_msg("%s: host_config.%s was accepted but has no mapping", name, f->string);
        if (mapped[i].path) {
            assert_same(f, at(spec, mapped[i].path), f->string);
        } else { /* LogConfig */
            assert_same(cJSON_GetObjectItemCaseSensitive(f, "Type"), at(spec, "TaskTemplate.LogDriver.Name"),
                        "LogConfig.Type");
            assert_same(cJSON_GetObjectItemCaseSensitive(f, "Config"),
                        at(spec, "TaskTemplate.LogDriver.Options"), "LogConfig.Config");
        }
    }
    if (ms && cJSON_GetArraySize(ms) > 0)
        assert_same(ms, at(spec, "TaskTemplate.ContainerSpec.Mounts"), "Mounts");
    out = MAPPED;
done:
    tally[out]++;
    sup_struct_free(s);
    cJSON_Delete(hc);
    cJSON_Delete(ms);
    cJSON_Delete(spec);
    return out;
}

/* One value per HostConfig field of the canonical reading's schema (boot_config.c). */
static const struct {
    const char *hc;
    int mapped; /* 1: the Swarm engine maps it (with the permissive policy) */
} fields[] = {
    {"{\"CpuShares\": 512}", 0}, {"{\"Memory\": 268435456}", 1}, {"{\"CgroupParent\": \"/x\"}", 0},
    {"{\"BlkioWeight\": 100}", 0}, {"{\"BlkioWeightDevice\": [{\"Path\": \"/dev/sda\", \"Weight\": 10}]}", 0},
    {"{\"BlkioDeviceReadBps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}", 0},
    {"{\"BlkioDeviceWriteBps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}", 0},
    {"{\"BlkioDeviceReadIOps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}", 0},
    {"{\"BlkioDeviceWriteIOps\": [{\"Path\": \"/dev/sda\", \"Rate\": 1}]}", 0},
    {"{\"CpuPeriod\": 100000}", 0}, {"{\"CpuQuota\": 50000}", 0}, {"{\"CpuRealtimePeriod\": 1000000}", 0},
    {"{\"CpuRealtimeRuntime\": 950000}", 0}, {"{\"CpusetCpus\": \"0\"}", 0}, {"{\"CpusetMems\": \"0\"}", 0},
    {"{\"Devices\": [{\"PathOnHost\": \"/dev/kmsg\", \"PathInContainer\": \"/dev/kmsg\", "
     "\"CgroupPermissions\": \"rwm\"}]}", 0},
    {"{\"DeviceCgroupRules\": [\"c 1:* rwm\"]}", 0},
    {"{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1, \"Capabilities\": [[\"gpu\"]]}]}", 0},
    {"{\"MemoryReservation\": 1048576}", 1}, {"{\"MemorySwap\": -1}", 0}, {"{\"MemorySwappiness\": 0}", 0},
    {"{\"NanoCpus\": 500000000}", 1}, {"{\"OomKillDisable\": true}", 0}, {"{\"Init\": true}", 1},
    {"{\"PidsLimit\": 64}", 1}, {"{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 2048}]}", 1},
    {"{\"Binds\": [\"@B@:/data\"]}", 0}, {"{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1m\"}}}", 1},
    {"{\"PortBindings\": {\"80/tcp\": [{\"HostIp\": \"0.0.0.0\", \"HostPort\": \"8080\"}]}}", 0},
    {"{\"VolumeDriver\": \"local\"}", 0}, {"{\"VolumesFrom\": [\"other\"]}", 0},
    {"{\"CapAdd\": [\"NET_ADMIN\"]}", 1}, {"{\"CapAdd\": [\"ALL\"]}", 1}, {"{\"CapDrop\": [\"ALL\"]}", 1},
    {"{\"CgroupnsMode\": \"host\"}", 0}, {"{\"Dns\": [\"10.0.0.2\"]}", 1}, {"{\"DnsOptions\": [\"ndots:2\"]}", 1},
    {"{\"DnsSearch\": [\"example\"]}", 1}, {"{\"ExtraHosts\": [\"evil:10.0.0.1\"]}", 0},
    {"{\"GroupAdd\": [\"0\"]}", 1}, {"{\"IpcMode\": \"host\"}", 0}, {"{\"Cgroup\": \"host\"}", 0},
    {"{\"OomScoreAdj\": -1000}", 0}, {"{\"PidMode\": \"host\"}", 0}, {"{\"Privileged\": true}", 0},
    {"{\"PublishAllPorts\": true}", 0}, {"{\"ReadonlyRootfs\": true}", 1},
    {"{\"SecurityOpt\": [\"seccomp=unconfined\"]}", 0}, {"{\"SecurityOpt\": [\"no-new-privileges\"]}", 0},
    {"{\"Tmpfs\": {\"/run\": \"size=1m\"}}", 0}, {"{\"UTSMode\": \"host\"}", 0},
    {"{\"UsernsMode\": \"host\"}", 0}, {"{\"ShmSize\": 67108864}", 0},
    {"{\"Sysctls\": {\"net.ipv4.ip_local_port_range\": \"1024 65000\"}}", 1},
    {"{\"Runtime\": \"runsc\"}", 0}, {"{\"MaskedPaths\": []}", 0}, {"{\"ReadonlyPaths\": []}", 0},
    /* owned and unsupported fields: refused by the reading */
    {"{\"NetworkMode\": \"host\"}", 0}, {"{\"RestartPolicy\": {\"Name\": \"always\"}}", 0},
    {"{\"AutoRemove\": true}", 0}, {"{\"Mounts\": []}", 0}, {"{\"Links\": [\"a:b\"]}", 0},
    {"{\"Hostname\": \"x\"}", 0}, {"{\"Labels\": {}}", 0}, {"{\"Capabilities\": [\"CAP_SYS_ADMIN\"]}", 0},
    {"{\"StorageOpt\": {\"size\": \"1G\"}}", 0}, {"{\"Isolation\": \"hyperv\"}", 0},
    /* two readings: case variants and repeated keys never reach the spec */
    {"{\"memory\": 1}", 0}, {"{\"MEMORY\": 1}", 0}, {"{\"Memory\": 1, \"Memory\": 2}", 0},
    {"{\"CapAdd\": [], \"CapAdd\": [\"SYS_ADMIN\"]}", 0}, {"{\"Privileged\": false, \"privileged\": true}", 0},
    {"{\"Init\": true, \"init\": false}", 0}, {"{\"Ulimits\": [{\"Name\": \"nofile\", \"name\": \"core\", \"Soft\": 1, \"Hard\": 1}]}", 0},
    {"{\"LogConfig\": {\"Type\": \"json-file\", \"type\": \"syslog\"}}", 0},
    {"{\"Sysctls\": {\"kernel.core_pattern\": \"|/x\"}}", 0},
};

static void every_host_config_field_is_mapped_or_refused_by_name(void **state)
{
    (void)state;
    memset(tally, 0, sizeof(tally));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char hc[1024];
        const char *at_b = strstr(fields[i].hc, "@B@");
        if (at_b)
            snprintf(hc, sizeof(hc), "%.*s%s%s", (int)(at_b - fields[i].hc), fields[i].hc, bind_dir,
                     at_b + 3);
        else
            snprintf(hc, sizeof(hc), "%s", fields[i].hc);
        enum outcome o = run(open_policy, hc, NULL, hc);
        if ((o == MAPPED) != fields[i].mapped)
            fail_msg("%s: outcome %d, expected %s", hc, o, fields[i].mapped ? "mapped" : "refused");
        /* The built-in policy never lets through more than the permissive one. */
        enum outcome b = run(builtin_policy, hc, NULL, hc);
        if (b == MAPPED && o != MAPPED)
            fail_msg("%s: mapped under the built-in policy only", hc);
    }
    print_message("swarm escape matrix (host_config, x2 policies): %d refused by the reading, %d "
                  "denied by the policy, %d refused by the Swarm engine by name, %d mapped\n",
                  tally[READ_REFUSED], tally[POLICY_DENIED], tally[SWARM_REFUSED], tally[MAPPED]);
}

static void mounts_are_the_canonical_ones_or_refused(void **state)
{
    (void)state;
    char bind[512];
    snprintf(bind, sizeof(bind), "[{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/d\"}]", bind_dir);
    static const struct {
        const char *m;
        int mapped;
    } cases[] = {
        {"[{\"Type\": \"volume\", \"Source\": \"data\", \"Target\": \"/data\"}]", 1},
        {"[{\"Type\": \"volume\", \"Target\": \"/v\", \"VolumeOptions\": {\"NoCopy\": true}}]", 1},
        {"[{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": {\"SizeBytes\": 1048576}}]", 1},
        {"[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"VolumeOptions\": "
         "{\"DriverConfig\": {\"Name\": \"local\", \"Options\": {\"type\": \"none\", \"o\": \"bind\", "
         "\"device\": \"/\"}}}}]", 1}, /* volume_drivers on: the same on every node */
        {"[{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/h\"}]", 0},
        {"[{\"Type\": \"bind\", \"Source\": \"/var/run/docker.sock\", \"Target\": \"/s\"}]", 0},
        {"[{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"type\": \"bind\"}]", 0},
        {"[{\"Type\": \"volume\", \"Source\": \"v\", \"Source\": \"/\", \"Target\": \"/v\"}]", 0},
        {"[{\"Type\": \"npipe\", \"Source\": \"x\", \"Target\": \"/p\"}]", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum outcome o = run(open_policy, NULL, cases[i].m, cases[i].m);
        if ((o == MAPPED) != cases[i].mapped)
            fail_msg("%s: outcome %d, expected %s", cases[i].m, o, cases[i].mapped ? "mapped" : "refused");
    }
    /* A bind the policy allows (under host_binds) is refused by name on the swarm. */
    assert_int_equal(run(open_policy, NULL, bind, bind), SWARM_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_host_config_field_is_mapped_or_refused_by_name),
        cmocka_unit_test(mounts_are_the_canonical_ones_or_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
