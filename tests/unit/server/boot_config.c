/*
 * Unit tests: the canonical reading of a Boot's host_config and mounts
 * (service/boot_config.h, docs/security.md "One canonical reading"): exact
 * spellings, repeated keys (maps included), types, fields flamed owns or does
 * not support, UTF-8, HostConfig.Binds and Mount parsing, path cleaning, and
 * the promise that the tree printed for Docker is the decoded form, byte for
 * byte. Pure: no I/O.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/boot_config.h"
#include "struct_support.h"

/* ---------------------------------------------------------------- helpers */

/* Decode a host_config JSON text; returns the canonical tree (asserts success). */
static cJSON *hc_ok(const char *json)
{
    Google__Protobuf__Struct *s = sup_struct_from_json(json);
    cJSON *out = NULL;
    char err[512] = "";
    int rc = boot_config_host_config(&out, s, err, sizeof(err));
    sup_struct_free(s); /* the output must not borrow from the input */
    if (rc != 0)
        fail_msg("host_config %s: refused (%d): %s", json, rc, err);
    assert_non_null(out);
    return out;
}

/* The canonical text of a host_config JSON text. */
static char *hc_print(const char *json)
{
    cJSON *hc = hc_ok(json);
    char *text = cJSON_PrintUnformatted(hc);
    assert_non_null(text);
    cJSON_Delete(hc);
    return text;
}

static void hc_prints(const char *json, const char *want)
{
    char *got = hc_print(json);
    if (strcmp(got, want) != 0)
        fail_msg("host_config %s\n  printed %s\n  expected %s", json, got, want);
    free(got);
}

static void decoded_refused(int rc, cJSON *out, const char *what, const char *err,
                            const char *mention)
{
    if (rc != FLAME_EINVALID || !strstr(err, mention))
        fail_msg("%s: rc %d, err \"%s\"; expected FLAME_EINVALID mentioning \"%s\"", what, rc, err,
                 mention);
    assert_null(out);
}

/* Assert a host_config JSON text is refused and err mentions `mention`. */
static void hc_refused(const char *json, const char *mention)
{
    Google__Protobuf__Struct *s = sup_struct_from_json(json);
    cJSON *out = NULL;
    char err[512] = "";
    int rc = boot_config_host_config(&out, s, err, sizeof(err));
    decoded_refused(rc, out, json, err, mention);
    sup_struct_free(s);
}

static cJSON *mount_ok(const char *json)
{
    Google__Protobuf__Struct *s = sup_struct_from_json(json);
    cJSON *out = NULL;
    char err[512] = "";
    int rc = boot_config_mount(&out, s, 0, err, sizeof(err));
    sup_struct_free(s);
    if (rc != 0)
        fail_msg("mount %s: refused (%d): %s", json, rc, err);
    assert_non_null(out);
    return out;
}

static void mount_prints(const char *json, const char *want)
{
    cJSON *m = mount_ok(json);
    char *got = cJSON_PrintUnformatted(m);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("mount %s\n  printed %s\n  expected %s", json, got, want);
    free(got);
    cJSON_Delete(m);
}

static void mount_refused(const char *json, const char *mention)
{
    Google__Protobuf__Struct *s = sup_struct_from_json(json);
    cJSON *out = NULL;
    char err[512] = "";
    int rc = boot_config_mount(&out, s, 0, err, sizeof(err));
    decoded_refused(rc, out, json, err, mention);
    sup_struct_free(s);
}

/* ---------------------------------------------------------------- exact spellings */

static void case_variants_of_host_config_fields_are_refused_naming_the_spelling(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"binds\": []}", "unknown field 'binds': the Engine API spells it 'Binds'"},
        {"{\"BINDS\": []}", "unknown field 'BINDS': the Engine API spells it 'Binds'"},
        {"{\"privileged\": true}", "the Engine API spells it 'Privileged'"},
        {"{\"PRIVILEGED\": true}", "the Engine API spells it 'Privileged'"},
        {"{\"capAdd\": [\"NET_ADMIN\"]}", "the Engine API spells it 'CapAdd'"},
        {"{\"UtsMode\": \"host\"}", "the Engine API spells it 'UTSMode'"},
        {"{\"ReadOnlyRootfs\": true}", "the Engine API spells it 'ReadonlyRootfs'"},
        {"{\"memory\": 1}", "the Engine API spells it 'Memory'"},
        {"{\"networkmode\": \"host\"}", "the Engine API spells it 'NetworkMode'"},
        {"{\"LogConfig\": {\"type\": \"json-file\"}}",
         "host_config.LogConfig: unknown field 'type': the Engine API spells it 'Type'"},
        {"{\"Ulimits\": [{\"name\": \"nofile\", \"Soft\": 1, \"Hard\": 1}]}",
         "host_config.Ulimits[0]: unknown field 'name': the Engine API spells it 'Name'"},
        {"{\"PortBindings\": {\"80/tcp\": [{\"hostPort\": \"8080\"}]}}",
         "the Engine API spells it 'HostPort'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        hc_refused(cases[i][0], cases[i][1]);
}

/*
 * Go's encoding/json folds case with Unicode rules: KELVIN SIGN (U+212A) is a
 * 'k' and LATIN SMALL LETTER LONG S (U+017F) an 's' to it. flamed reads keys
 * byte for byte, so these never reach a field. DOTLESS I (U+0131) folds to
 * nothing in Go; flamed refuses it all the same.
 */
static void unicode_look_alike_keys_are_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"Priv\xc4\xb1leged\": true}", "unknown field 'Priv\xc4\xb1leged'"},
        {"{\"Oom\xe2\x84\xaa" "illDisable\": true}", "unknown field 'Oom\xe2\x84\xaa" "illDisable'"},
        {"{\"Mas\xe2\x84\xaa" "edPaths\": []}", "unknown field 'Mas\xe2\x84\xaa" "edPaths'"},
        {"{\"\xc5\xbfysctls\": {}}", "unknown field '\xc5\xbfysctls'"},
        {"{\"\xc5\xbfhm\xc5\xbfize\": 1}", "unknown field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        hc_refused(cases[i][0], cases[i][1]);
}

static void case_variants_of_mount_fields_are_refused_naming_the_spelling(void **state)
{
    (void)state;
    mount_refused("{\"type\": \"volume\", \"Target\": \"/v\"}",
                  "mounts[0]: unknown field 'type': the Engine API spells it 'Type'");
    mount_refused("{\"Type\": \"volume\", \"target\": \"/v\"}", "spells it 'Target'");
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"volumeOptions\": {}}",
                  "spells it 'VolumeOptions'");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"/s\", \"Target\": \"/v\", "
                  "\"BindOptions\": {\"propagation\": \"rprivate\"}}",
                  "mounts[0].BindOptions: unknown field 'propagation': the Engine API spells it "
                  "'Propagation'");
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"VolumeOptions\": "
                  "{\"DriverConfig\": {\"name\": \"local\"}}}",
                  "mounts[0].VolumeOptions.DriverConfig: unknown field 'name'");
    mount_refused("{\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": {\"sizeBytes\": 1}}",
                  "spells it 'SizeBytes'");
}

static void field_that_is_no_engine_api_field_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Memory\": 1, \"Bogus\": 1}",
               "host_config: unknown field 'Bogus' (not an Engine API v1.41 field");
    hc_refused("{\"\": 1}", "host_config: unknown field ''");
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"Mode\": \"z\"}",
                  "mounts[0]: unknown field 'Mode'");
}

/* ---------------------------------------------------------------- repeated keys */

static void repeated_top_level_field_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Memory\": 1, \"Memory\": 2}",
               "host_config.Memory is repeated: give each field once");
    hc_refused("{\"Privileged\": false, \"CapDrop\": [], \"Privileged\": true}",
               "host_config.Privileged is repeated");
    /* null is "not set", yet a repeat all the same */
    hc_refused("{\"Privileged\": null, \"Privileged\": true}", "host_config.Privileged is repeated");
}

static void repeated_key_in_log_config_config_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": "
               "{\"max-size\": \"1m\", \"max-file\": \"2\", \"max-size\": \"1g\"}}}",
               "host_config.LogConfig.Config: key 'max-size' is repeated");
    hc_refused("{\"LogConfig\": {\"Type\": \"json-file\", \"Type\": \"syslog\"}}",
               "host_config.LogConfig.Type is repeated");
}

static void repeated_sysctl_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Sysctls\": {\"net.core.somaxconn\": \"1\", \"net.core.somaxconn\": \"2\"}}",
               "host_config.Sysctls: key 'net.core.somaxconn' is repeated");
}

static void repeated_tmpfs_path_is_refused_also_after_cleaning(void **state)
{
    (void)state;
    hc_refused("{\"Tmpfs\": {\"/a\": \"\", \"/a\": \"size=1g\"}}",
               "host_config.Tmpfs: key '/a' is repeated");
    hc_refused("{\"Tmpfs\": {\"/a\": \"\", \"/a/\": \"size=1g\"}}",
               "host_config.Tmpfs: key '/a/' is the path '/a' again");
    hc_refused("{\"Tmpfs\": {\"/a/b\": \"\", \"//a/./c/../b\": \"\"}}", "the path '/a/b' again");
}

static void repeated_port_binding_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"PortBindings\": {\"80/tcp\": [], \"80/tcp\": [{\"HostPort\": \"80\"}]}}",
               "host_config.PortBindings: key '80/tcp' is repeated");
    hc_refused("{\"PortBindings\": {\"80/tcp\": [{\"HostPort\": \"1\", \"HostPort\": \"2\"}]}}",
               "host_config.PortBindings['80/tcp'][0].HostPort is repeated");
}

static void repeated_key_in_list_element_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 2, \"Name\": \"core\"}]}",
               "host_config.Ulimits[0].Name is repeated");
    hc_refused("{\"DeviceRequests\": [{\"Count\": 1, \"Options\": {\"a\": \"1\", \"a\": \"2\"}}]}",
               "host_config.DeviceRequests[0].Options: key 'a' is repeated");
}

static void repeated_mount_field_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/a\", \"Target\": \"/b\"}",
                  "mounts[0].Target is repeated");
    mount_refused("{\"Type\": \"volume\", \"Type\": \"bind\", \"Target\": \"/a\"}",
                  "mounts[0].Type is repeated");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"/srv\", \"Target\": \"/a\", "
                  "\"BindOptions\": {\"Propagation\": \"rprivate\", \"Propagation\": \"rshared\"}}",
                  "mounts[0].BindOptions.Propagation is repeated");
}

static void repeated_driver_config_option_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"VolumeOptions\": "
                  "{\"DriverConfig\": {\"Name\": \"local\", \"Options\": "
                  "{\"o\": \"bind\", \"device\": \"/srv\", \"o\": \"rbind\"}}}}",
                  "mounts[0].VolumeOptions.DriverConfig.Options: key 'o' is repeated");
    mount_refused("{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/v\", \"VolumeOptions\": "
                  "{\"Labels\": {\"a\": \"1\", \"a\": \"2\"}}}",
                  "mounts[0].VolumeOptions.Labels: key 'a' is repeated");
}

/* Keys that differ only in case are two keys of a map (Go's maps are exact too). */
static void map_keys_differing_in_case_are_two_keys(void **state)
{
    (void)state;
    hc_prints("{\"LogConfig\": {\"Config\": {\"tag\": \"a\", \"Tag\": \"b\"}}}",
              "{\"LogConfig\":{\"Config\":{\"tag\":\"a\",\"Tag\":\"b\"}}}");
}

/* ---------------------------------------------------------------- types */

static void string_where_an_integer_goes_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Memory\": \"1\"}", "host_config.Memory must be an integer, got a string");
    hc_refused("{\"Memory\": true}", "host_config.Memory must be an integer, got a boolean");
    hc_refused("{\"Memory\": [1]}", "host_config.Memory must be an integer, got an array");
    hc_refused("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": \"1\"}]}",
               "host_config.Ulimits[0].Soft must be an integer, got a string");
}

static void fraction_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Memory\": 1.5}", "host_config.Memory must be an integer, got 1.5");
    hc_refused("{\"NanoCpus\": 0.001}", "host_config.NanoCpus must be an integer");
    hc_refused("{\"Memory\": -0.5}", "must be an integer");
}

static void integer_beyond_fifteen_digits_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Memory\": 1e16}", "host_config.Memory 1e+16 is out of range");
    hc_refused("{\"Memory\": -1e16}", "host_config.Memory -1e+16 is out of range");
    hc_refused("{\"Memory\": 1000000000000000}", "out of range (at most 999999999999999");
    hc_refused("{\"Memory\": 1e300}", "out of range");
    /* The largest allowed prints as an integer, as Go reads it. */
    hc_prints("{\"Memory\": 999999999999999, \"MemorySwap\": -999999999999999}",
              "{\"Memory\":999999999999999,\"MemorySwap\":-999999999999999}");
    hc_prints("{\"Memory\": 4294967296, \"MemorySwap\": -1, \"CpuShares\": 0}",
              "{\"Memory\":4294967296,\"MemorySwap\":-1,\"CpuShares\":0}");
}

static void nan_and_infinity_are_refused(void **state)
{
    (void)state;
    static const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        Google__Protobuf__Struct *s = sup_struct_from_json("{\"Memory\": 0}");
        cJSON *out = NULL;
        char err[512] = "";
        sup_number_at(s, "Memory")->number_value = bad[i];
        int rc = boot_config_host_config(&out, s, err, sizeof(err));
        decoded_refused(rc, out, "Memory NaN/Inf", err, "host_config.Memory must be an integer, got");
        sup_struct_free(s);
    }
}

static void wrong_type_for_strings_booleans_arrays_and_objects_is_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"PidMode\": true}", "host_config.PidMode must be a string, got a boolean"},
        {"{\"Runtime\": 1}", "host_config.Runtime must be a string, got a number"},
        {"{\"Privileged\": 1}", "host_config.Privileged must be true or false, got a number"},
        {"{\"Privileged\": \"true\"}", "host_config.Privileged must be true or false, got a string"},
        {"{\"CapAdd\": \"NET_ADMIN\"}", "host_config.CapAdd must be an array of strings, got a string"},
        {"{\"CapAdd\": [1]}", "host_config.CapAdd[0] must be a string, got a number"},
        {"{\"CapAdd\": [null]}", "host_config.CapAdd[0] must be a string, got null"},
        {"{\"CapAdd\": {}}", "must be an array of strings, got an object"},
        {"{\"Binds\": \"/a:/b\"}", "host_config.Binds must be an array, got a string"},
        {"{\"Binds\": [1]}", "host_config.Binds[0] must be a string, got a number"},
        {"{\"Binds\": [null]}", "host_config.Binds[0] must not be null"},
        {"{\"LogConfig\": []}", "host_config.LogConfig must be an object, got an array"},
        {"{\"LogConfig\": \"json-file\"}", "host_config.LogConfig must be an object, got a string"},
        {"{\"Ulimits\": {}}", "host_config.Ulimits must be an array, got an object"},
        {"{\"Ulimits\": [null]}", "host_config.Ulimits[0] must not be null"},
        {"{\"Ulimits\": [\"nofile\"]}", "host_config.Ulimits[0] must be an object, got a string"},
        {"{\"Sysctls\": []}", "host_config.Sysctls must be an object of strings, got an array"},
        {"{\"Sysctls\": {\"a\": 1}}", "host_config.Sysctls['a'] must be a string, got a number"},
        {"{\"Sysctls\": {\"a\": null}}", "host_config.Sysctls['a'] must be a string, got null"},
        {"{\"Sysctls\": {\"\": \"1\"}}", "host_config.Sysctls has an empty key"},
        {"{\"Tmpfs\": {\"tmp\": \"\"}}", "host_config.Tmpfs: key 'tmp' must be an absolute path"},
        {"{\"PortBindings\": []}", "host_config.PortBindings must be an object, got an array"},
        {"{\"PortBindings\": {\"80/tcp\": null}}", "host_config.PortBindings['80/tcp'] must be an array, got null"},
        {"{\"PortBindings\": {\"80/tcp\": {}}}", "must be an array, got an object"},
        {"{\"PortBindings\": {\"\": []}}", "host_config.PortBindings has an empty or non-UTF-8 key"},
        {"{\"DeviceRequests\": [{\"Capabilities\": [\"gpu\"]}]}",
         "host_config.DeviceRequests[0].Capabilities[0] must be an array of strings, got a string"},
        {"{\"DeviceRequests\": [{\"Capabilities\": [[true]]}]}",
         "host_config.DeviceRequests[0].Capabilities[0][0] must be a string, got a boolean"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        hc_refused(cases[i][0], cases[i][1]);
}

static void null_means_not_set_and_is_not_emitted(void **state)
{
    (void)state;
    hc_prints("{\"Memory\": null, \"Privileged\": null, \"Binds\": null, \"LogConfig\": null, "
              "\"Sysctls\": null, \"PortBindings\": null, \"Ulimits\": null}",
              "{}");
    hc_prints("{\"Memory\": 5, \"PidMode\": null, \"LogConfig\": {\"Type\": null, \"Config\": null}}",
              "{\"Memory\":5,\"LogConfig\":{}}");
    hc_prints("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": null, \"Hard\": 10}]}",
              "{\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":10}]}");
    mount_prints("{\"Type\": \"tmpfs\", \"Source\": null, \"Target\": \"/t\", \"ReadOnly\": null}",
                 "{\"Type\":\"tmpfs\",\"Target\":\"/t\"}");
}

static void empty_or_absent_host_config_is_an_empty_object(void **state)
{
    (void)state;
    cJSON *out = NULL;
    char err[64];
    assert_int_equal(boot_config_host_config(&out, NULL, err, sizeof(err)), 0);
    assert_true(cJSON_IsObject(out));
    assert_null(out->child);
    cJSON_Delete(out);
    hc_prints("{}", "{}");
}

/* ---------------------------------------------------------------- owned, unsupported */

static void fields_flamed_owns_are_refused_naming_what_to_use(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"NetworkMode\": \"host\"}", "host_config.NetworkMode cannot be set: use the `network` field"},
        {"{\"RestartPolicy\": {\"Name\": \"always\"}}", "host_config.RestartPolicy cannot be set"},
        {"{\"AutoRemove\": true}", "host_config.AutoRemove cannot be set"},
        {"{\"Mounts\": []}", "host_config.Mounts cannot be set: use the `mounts` field"},
        {"{\"Links\": [\"a:b\"]}", "host_config.Links cannot be set"},
        {"{\"Hostname\": \"x\"}", "host_config.Hostname cannot be set"},
        {"{\"NetworkingConfig\": {}}", "host_config.NetworkingConfig cannot be set"},
        {"{\"Labels\": {\"a\": \"b\"}}", "host_config.Labels cannot be set: use the `labels` field"},
        /* Owned means never, not even null or after a good field. */
        {"{\"NetworkMode\": null}", "host_config.NetworkMode cannot be set"},
        {"{\"Memory\": 1048576, \"NetworkMode\": \"bridge\"}", "host_config.NetworkMode cannot be set"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        hc_refused(cases[i][0], cases[i][1]);
}

static void unsupported_engine_api_fields_are_refused(void **state)
{
    (void)state;
    static const char *const fields[] = {"ContainerIDFile", "KernelMemory", "KernelMemoryTCP",
                                         "CpuCount", "CpuPercent", "IOMaximumIOps",
                                         "IOMaximumBandwidth", "Isolation", "ConsoleSize",
                                         "StorageOpt", "Annotations"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char json[96], want[96];
        snprintf(json, sizeof(json), "{\"%s\": 1}", fields[i]);
        snprintf(want, sizeof(want), "host_config.%s is not supported by flamed: ", fields[i]);
        hc_refused(json, want);
    }
}

/* ---------------------------------------------------------------- UTF-8 */

static void utf8_validity(void **state)
{
    (void)state;
    static const char *const good[] = {"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
                                       "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
                                       "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80"};
    static const char *const bad[] = {
        "\x80",             /* continuation byte first */
        "\xff", "\xfe",     /* never in UTF-8 */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong '/' in 3 bytes */
        "\xe0\x9f\xbf",     /* overlong */
        "\xf0\x80\x80\xaf", /* overlong '/' in 4 bytes */
        "\xf0\x8f\xbf\xbf", /* overlong */
        "\xed\xa0\x80",     /* surrogate D800 */
        "\xed\xbf\xbf",     /* surrogate DFFF */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80",
        "\xe2\x82",         /* truncated */
        "a\xc3",            /* truncated at the end */
        "\xc3\x28",         /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!boot_config_utf8_valid(good[i]))
            fail_msg("good[%zu] read as invalid", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (boot_config_utf8_valid(bad[i]))
            fail_msg("bad[%zu] read as valid", i);
}

static void invalid_utf8_in_keys_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"Mem\xffory\": 1}", "host_config has a key that is not valid UTF-8");
    hc_refused("{\"Sysctls\": {\"net.\xc0\xae\": \"1\"}}",
               "host_config.Sysctls has a key that is not valid UTF-8");
    hc_refused("{\"Tmpfs\": {\"/t\xed\xa0\x80\": \"\"}}",
               "host_config.Tmpfs has a key that is not valid UTF-8");
    hc_refused("{\"PortBindings\": {\"80\xff/tcp\": []}}", "has an empty or non-UTF-8 key");
    hc_refused("{\"LogConfig\": {\"Config\": {\"\xfe\": \"x\"}}}",
               "host_config.LogConfig.Config has a key that is not valid UTF-8");
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"\xff\": 1}",
                  "mounts[0] has a key that is not valid UTF-8");
}

static void invalid_utf8_in_values_is_refused(void **state)
{
    (void)state;
    hc_refused("{\"PidMode\": \"ho\xffst\"}", "host_config.PidMode is not valid UTF-8");
    hc_refused("{\"CapAdd\": [\"NET_ADMIN\", \"\xc0\xaf\"]}", "host_config.CapAdd[1] is not valid UTF-8");
    hc_refused("{\"Binds\": [\"/srv\xe0\x80\xaf:/a\"]}", "host_config.Binds[0] is not valid UTF-8");
    hc_refused("{\"Sysctls\": {\"a\": \"\xed\xb0\x80\"}}", "host_config.Sysctls['a'] is not valid UTF-8");
    hc_refused("{\"SecurityOpt\": [\"apparmor=\xff\"]}", "host_config.SecurityOpt[0] is not valid UTF-8");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"/srv/\xc1\xbf\", \"Target\": \"/a\"}",
                  "mounts[0].Source is not valid UTF-8");
    mount_refused("{\"Type\": \"tmpfs\", \"Target\": \"/\xf4\x90\x80\x80\"}",
                  "mounts[0].Target is not valid UTF-8");
}

static void valid_non_ascii_passes_unchanged(void **state)
{
    (void)state;
    hc_prints("{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"tag\": \"caf\xc3\xa9 \xe2\x82\xac\"}}}",
              "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"tag\":\"caf\xc3\xa9 \xe2\x82\xac\"}}}");
}

/* ---------------------------------------------------------------- Binds */

static void binds_of_two_or_three_parts_are_cleaned(void **state)
{
    (void)state;
    hc_prints("{\"Binds\": [\"/srv/data:/data\", \"/srv/logs:/logs:ro\"]}",
              "{\"Binds\":[\"/srv/data:/data\",\"/srv/logs:/logs:ro\"]}");
    hc_prints("{\"Binds\": [\"//srv//a/./b/../c/:/x/./y//:ro,rprivate\"]}",
              "{\"Binds\":[\"/srv/a/c:/x/y:ro,rprivate\"]}");
    hc_prints("{\"Binds\": [\"/fltest-no-such-dir/..:/host\"]}", "{\"Binds\":[\"/:/host\"]}");
    hc_prints("{\"Binds\": []}", "{\"Binds\":[]}");
}

static void binds_of_named_volumes_keep_the_name(void **state)
{
    (void)state;
    hc_prints("{\"Binds\": [\"data:/data\", \"my.vol_2-x:/v/:ro,nocopy\", \"0abc:/z\"]}",
              "{\"Binds\":[\"data:/data\",\"my.vol_2-x:/v:ro,nocopy\",\"0abc:/z\"]}");
}

static void binds_of_one_or_four_parts_are_refused(void **state)
{
    (void)state;
    hc_refused("{\"Binds\": [\"/srv\"]}",
               "host_config.Binds[0] '/srv' must be \"SOURCE:TARGET\" or \"SOURCE:TARGET:MODE\"");
    hc_refused("{\"Binds\": [\"/a:/b:/c:d\"]}", "host_config.Binds[0] '/a:/b:/c:d' must be");
    hc_refused("{\"Binds\": [\"/a:/b:ro:x\"]}", "must be \"SOURCE:TARGET\"");
    hc_refused("{\"Binds\": [\"/a:/b:ro:x:y:z\"]}", "must be \"SOURCE:TARGET\"");
    hc_refused("{\"Binds\": [\"\"]}", "host_config.Binds[0] '' must be");
    hc_refused("{\"Binds\": [\"data:/ok\", \"/x\"]}", "host_config.Binds[1]");
}

static void binds_with_a_bad_mode_are_refused(void **state)
{
    (void)state;
    hc_refused("{\"Binds\": [\"/a:/b:rx\"]}", "host_config.Binds[0]: mode 'rx' is not one of");
    hc_refused("{\"Binds\": [\"/a:/b:ro,exec\"]}", "mode 'exec'");
    hc_refused("{\"Binds\": [\"/a:/b:RO\"]}", "mode 'RO'");
    hc_refused("{\"Binds\": [\"/a:/b:ro,,rw\"]}", "mode ''");
    hc_refused("{\"Binds\": [\"/a:/b:ro,\"]}", "mode ''");
    hc_refused("{\"Binds\": [\"/a:/b:\"]}", "host_config.Binds[0]: empty mode after the last ':'");
    /* Every mode Docker knows is read (the policy decides which are allowed). */
    hc_prints("{\"Binds\": [\"/a:/b:ro,rw,z,Z,nocopy,shared,rshared,slave,rslave,private,rprivate,"
              "consistent,cached,delegated\"]}",
              "{\"Binds\":[\"/a:/b:ro,rw,z,Z,nocopy,shared,rshared,slave,rslave,private,rprivate,"
              "consistent,cached,delegated\"]}");
}

static void binds_with_a_bad_target_are_refused(void **state)
{
    (void)state;
    hc_refused("{\"Binds\": [\"/a:b\"]}", "host_config.Binds[0]: target 'b' must be an absolute path");
    hc_refused("{\"Binds\": [\"/a:\"]}", "target '' must be an absolute path");
    hc_refused("{\"Binds\": [\"/a:/\"]}", "host_config.Binds[0]: target '/' cannot be the container's root");
    hc_refused("{\"Binds\": [\"data:/x/..\"]}", "target '/x/..' cannot be the container's root");
    hc_refused("{\"Binds\": [\"/a://\"]}", "cannot be the container's root");
}

static void binds_whose_source_is_neither_path_nor_volume_name_are_refused(void **state)
{
    (void)state;
    static const char *const srcs[] = {"./a", "../a", "-v", "_v", ".v", "a b", "a/b", "~/a", "",
                                       "v$x"};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        char json[96];
        snprintf(json, sizeof(json), "{\"Binds\": [\"%s:/b\"]}", srcs[i]);
        hc_refused(json, "is neither an absolute host path nor a volume name");
    }
}

/* ---------------------------------------------------------------- mounts */

static void mount_type_must_be_exactly_bind_volume_or_tmpfs(void **state)
{
    (void)state;
    static const char *const types[] = {"\"Bind\"", "\"BIND\"", "\"Volume\"", "\"TMPFS\"",
                                        "\"nfs\"", "\"npipe\"", "\"cluster\"", "\"\"", "null",
                                        "\"bind \""};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"Type\": %s, \"Source\": \"/s\", \"Target\": \"/t\"}",
                 types[i]);
        mount_refused(json, "mounts[0].Type must be \"bind\", \"volume\" or \"tmpfs\"");
    }
    mount_refused("{\"Target\": \"/t\"}", "mounts[0].Type must be");
    mount_refused("{\"Type\": \"nfs\", \"Target\": \"/t\"}", "got 'nfs'");
    mount_refused("{\"Type\": 1, \"Target\": \"/t\"}", "mounts[0].Type must be a string, got a number");
}

static void mount_target_must_be_absolute(void **state)
{
    (void)state;
    static const char *const mounts[] = {
        "{\"Type\": \"volume\", \"Source\": \"v\"}",
        "{\"Type\": \"volume\", \"Target\": \"\"}",
        "{\"Type\": \"volume\", \"Target\": \"data\"}",
        "{\"Type\": \"tmpfs\", \"Target\": \"./t\"}",
        "{\"Type\": \"bind\", \"Source\": \"/s\", \"Target\": \"t/\"}",
        "{\"Type\": \"tmpfs\", \"Target\": null}",
    };
    for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
        mount_refused(mounts[i], "mounts[0].Target must be an absolute path in the container");
    mount_refused("{\"Type\": \"tmpfs\", \"Target\": 1}", "mounts[0].Target must be a string");
}

static void mount_target_is_sent_cleaned(void **state)
{
    (void)state;
    mount_prints("{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"//data//x/../y/./\"}",
                 "{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/data/y\"}");
}

static void mount_target_cannot_be_the_root(void **state)
{
    (void)state;
    static const char *const mounts[] = {
        "{\"Type\": \"volume\", \"Source\": \"v\", \"Target\": \"/\"}",
        "{\"Type\": \"bind\", \"Source\": \"/s\", \"Target\": \"//\"}",
        "{\"Type\": \"tmpfs\", \"Target\": \"/a/..\"}",
        "{\"Type\": \"volume\", \"Target\": \"/../..\"}",
    };
    for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
        mount_refused(mounts[i], "cannot be the container's root");
}

/* Covering /proc or /sys is the policy's to deny (PERMISSION_DENIED, like host_config.Tmpfs):
 * the decoder only sends the target cleaned, so the policy sees the path Docker mounts. */
static void tmpfs_mount_targets_are_sent_cleaned(void **state)
{
    (void)state;
    mount_prints("{\"Type\": \"tmpfs\", \"Target\": \"/x/../proc\"}",
                 "{\"Type\":\"tmpfs\",\"Target\":\"/proc\"}");
    mount_prints("{\"Type\": \"tmpfs\", \"Target\": \"//sys//kernel/\"}",
                 "{\"Type\":\"tmpfs\",\"Target\":\"/sys/kernel\"}");
    mount_prints("{\"Type\": \"tmpfs\", \"Target\": \"/procx\"}",
                 "{\"Type\":\"tmpfs\",\"Target\":\"/procx\"}");
}


static void bind_mount_source_must_be_absolute_and_is_cleaned(void **state)
{
    (void)state;
    mount_refused("{\"Type\": \"bind\", \"Target\": \"/t\"}",
                  "mounts[0].Source must be an absolute host path for a bind");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"\", \"Target\": \"/t\"}",
                  "mounts[0].Source must be an absolute host path");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"srv/data\", \"Target\": \"/t\"}",
                  "mounts[0].Source must be an absolute host path");
    mount_prints("{\"Type\": \"bind\", \"Source\": \"/srv//d/./x/..\", \"Target\": \"/t\"}",
                 "{\"Type\":\"bind\",\"Source\":\"/srv/d\",\"Target\":\"/t\"}");
    mount_prints("{\"Type\": \"bind\", \"Source\": \"/x/../..\", \"Target\": \"/t\"}",
                 "{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/t\"}");
}

static void volume_mount_source_is_a_volume_name_or_empty(void **state)
{
    (void)state;
    mount_prints("{\"Type\": \"volume\", \"Source\": \"\", \"Target\": \"/v\"}",
                 "{\"Type\":\"volume\",\"Source\":\"\",\"Target\":\"/v\"}");
    mount_prints("{\"Type\": \"volume\", \"Source\": \"my.vol_2-x\", \"Target\": \"/v\"}",
                 "{\"Type\":\"volume\",\"Source\":\"my.vol_2-x\",\"Target\":\"/v\"}");
    static const char *const srcs[] = {"/srv", "a/b", "-v", ".v", "a b", "a:b"};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"Type\": \"volume\", \"Source\": \"%s\", \"Target\": \"/v\"}",
                 srcs[i]);
        mount_refused(json, "must be a volume name ([A-Za-z0-9][A-Za-z0-9_.-]*) or empty");
    }
}

static void tmpfs_mount_has_no_source(void **state)
{
    (void)state;
    mount_refused("{\"Type\": \"tmpfs\", \"Source\": \"x\", \"Target\": \"/t\"}",
                  "mounts[0].Source must be empty for a tmpfs");
    mount_prints("{\"Type\": \"tmpfs\", \"Source\": \"\", \"Target\": \"/t\"}",
                 "{\"Type\":\"tmpfs\",\"Source\":\"\",\"Target\":\"/t\"}");
}

static void mount_options_belong_to_their_type(void **state)
{
    (void)state;
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"BindOptions\": {}}",
                  "mounts[0].BindOptions is only for Type \"bind\"");
    mount_refused("{\"Type\": \"tmpfs\", \"Target\": \"/v\", \"BindOptions\": {\"Propagation\": \"rshared\"}}",
                  "mounts[0].BindOptions is only for Type \"bind\"");
    mount_refused("{\"Type\": \"tmpfs\", \"Target\": \"/v\", \"VolumeOptions\": {}}",
                  "mounts[0].VolumeOptions is only for Type \"volume\"");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"/s\", \"Target\": \"/v\", "
                  "\"VolumeOptions\": {\"NoCopy\": true}}",
                  "mounts[0].VolumeOptions is only for Type \"volume\"");
    mount_refused("{\"Type\": \"bind\", \"Source\": \"/s\", \"Target\": \"/v\", \"TmpfsOptions\": {}}",
                  "mounts[0].TmpfsOptions is only for Type \"tmpfs\"");
    mount_refused("{\"Type\": \"volume\", \"Target\": \"/v\", \"TmpfsOptions\": {\"SizeBytes\": 1}}",
                  "mounts[0].TmpfsOptions is only for Type \"tmpfs\"");
    /* A null option object is "not set". */
    mount_prints("{\"Type\": \"volume\", \"Target\": \"/v\", \"BindOptions\": null}",
                 "{\"Type\":\"volume\",\"Target\":\"/v\"}");
}

static void mount_messages_name_its_index(void **state)
{
    (void)state;
    Google__Protobuf__Struct *s = sup_struct_from_json("{\"Type\": \"nfs\", \"Target\": \"/t\"}");
    cJSON *out = NULL;
    char err[256];
    assert_int_equal(boot_config_mount(&out, s, 7, err, sizeof(err)), FLAME_EINVALID);
    assert_null(out);
    assert_non_null(strstr(err, "mounts[7].Type"));
    sup_struct_free(s);
}

/* ---------------------------------------------------------------- canonical form */

/*
 * The promise of docs/security.md: the JSON Docker receives is printed from
 * the decoded form alone. A representative HostConfig, with nulls, paths to
 * clean and every kind of value, prints exactly this.
 */
static void representative_host_config_prints_its_canonical_form(void **state)
{
    (void)state;
    hc_prints("{ \"Memory\" : 536870912, \"MemorySwap\": -1, \"NanoCpus\": 1.5e9,"
              "  \"PidsLimit\": 512, \"CpusetCpus\": \"0-3\", \"Privileged\": false,"
              "  \"Init\": true, \"ReadonlyRootfs\": null,"
              "  \"Binds\": [\"/srv//data/./:/data:ro\", \"cache:/cache/\"],"
              "  \"Tmpfs\": {\"/run//app/\": \"rw,size=64m\", \"/tmp\": \"\"},"
              "  \"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 4096}],"
              "  \"CapAdd\": [\"NET_ADMIN\"], \"CapDrop\": [\"ALL\"],"
              "  \"SecurityOpt\": [\"no-new-privileges\"],"
              "  \"Sysctls\": {\"net.ipv4.ip_local_port_range\": \"1024 65000\"},"
              "  \"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"max-size\": \"10m\"}},"
              "  \"PortBindings\": {\"80/tcp\": [{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"8080\"}]},"
              "  \"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1,"
              "                        \"Capabilities\": [[\"gpu\", \"utility\"]]}],"
              "  \"ShmSize\": 67108864, \"Dns\": [\"10.0.0.2\"], \"Runtime\": \"runc\" }",
              "{\"Memory\":536870912,\"MemorySwap\":-1,\"NanoCpus\":1500000000,\"PidsLimit\":512,"
              "\"CpusetCpus\":\"0-3\",\"Privileged\":false,\"Init\":true,"
              "\"Binds\":[\"/srv/data:/data:ro\",\"cache:/cache\"],"
              "\"Tmpfs\":{\"/run/app\":\"rw,size=64m\",\"/tmp\":\"\"},"
              "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":4096}],"
              "\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"ALL\"],"
              "\"SecurityOpt\":[\"no-new-privileges\"],"
              "\"Sysctls\":{\"net.ipv4.ip_local_port_range\":\"1024 65000\"},"
              "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"10m\"}},"
              "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]},"
              "\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"Count\":-1,"
              "\"Capabilities\":[[\"gpu\",\"utility\"]]}],"
              "\"ShmSize\":67108864,\"Dns\":[\"10.0.0.2\"],\"Runtime\":\"runc\"}");
}

static void representative_mounts_print_their_canonical_form(void **state)
{
    (void)state;
    mount_prints("{\"Type\": \"bind\", \"Source\": \"/srv/a/../b/\", \"Target\": \"/b//\","
                 " \"ReadOnly\": true, \"Consistency\": \"cached\","
                 " \"BindOptions\": {\"Propagation\": \"rprivate\", \"NonRecursive\": false}}",
                 "{\"Type\":\"bind\",\"Source\":\"/srv/b\",\"Target\":\"/b\",\"ReadOnly\":true,"
                 "\"Consistency\":\"cached\",\"BindOptions\":{\"Propagation\":\"rprivate\","
                 "\"NonRecursive\":false}}");
    mount_prints("{\"Type\": \"volume\", \"Source\": \"data\", \"Target\": \"/data\","
                 " \"VolumeOptions\": {\"NoCopy\": true, \"Labels\": {\"team\": \"a\"},"
                 " \"DriverConfig\": {\"Name\": \"local\", \"Options\": {\"type\": \"tmpfs\"}}}}",
                 "{\"Type\":\"volume\",\"Source\":\"data\",\"Target\":\"/data\","
                 "\"VolumeOptions\":{\"NoCopy\":true,\"Labels\":{\"team\":\"a\"},"
                 "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\"}}}}");
    mount_prints("{\"TmpfsOptions\": {\"SizeBytes\": 67108864, \"Mode\": 1023},"
                 " \"Target\": \"/scratch\", \"Type\": \"tmpfs\"}",
                 "{\"TmpfsOptions\":{\"SizeBytes\":67108864,\"Mode\":1023},"
                 "\"Target\":\"/scratch\",\"Type\":\"tmpfs\"}");
}

/* Printing the decoded form and decoding it again gives the same text. */
static void canonical_form_is_a_fixed_point(void **state)
{
    (void)state;
    char *once = hc_print("{\"Binds\": [\"//a/./b/:/c/../d:ro\"], \"Tmpfs\": {\"/x/\": \"\"},"
                          " \"Memory\": 1e9, \"LogConfig\": {\"Type\": null}}");
    char *twice = hc_print(once);
    assert_string_equal(once, twice);
    assert_string_equal(once, "{\"Binds\":[\"/a/b:/d:ro\"],\"Tmpfs\":{\"/x\":\"\"},"
                              "\"Memory\":1000000000,\"LogConfig\":{}}");
    free(once);
    free(twice);
}

/* ---------------------------------------------------------------- path cleaning */

static void clean_path_follows_go_path_clean(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/", "/"},           {"//", "/"},           {"///", "/"},
        {"/a", "/a"},         {"/a/", "/a"},         {"/a//b", "/a/b"},
        {"/a/./b", "/a/b"},   {"/a/../b", "/b"},     {"/..", "/"},
        {"/../..", "/"},      {"/a/b/../../..", "/"}, {"/a/b/../c/./d/", "/a/c/d"},
        {"/./", "/"},         {"/..a/b", "/..a/b"},  {"/a/.b", "/a/.b"},
        {"/a/b..", "/a/b.."}, {"/a/...", "/a/..."},  {"//srv//x/..//y", "/srv/y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = boot_config_clean_path(cases[i][0]);
        assert_non_null(got);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("clean(%s) = %s, expected %s", cases[i][0], got, cases[i][1]);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case_variants_of_host_config_fields_are_refused_naming_the_spelling),
        cmocka_unit_test(unicode_look_alike_keys_are_refused),
        cmocka_unit_test(case_variants_of_mount_fields_are_refused_naming_the_spelling),
        cmocka_unit_test(field_that_is_no_engine_api_field_is_refused),
        cmocka_unit_test(repeated_top_level_field_is_refused),
        cmocka_unit_test(repeated_key_in_log_config_config_is_refused),
        cmocka_unit_test(repeated_sysctl_is_refused),
        cmocka_unit_test(repeated_tmpfs_path_is_refused_also_after_cleaning),
        cmocka_unit_test(repeated_port_binding_is_refused),
        cmocka_unit_test(repeated_key_in_list_element_is_refused),
        cmocka_unit_test(repeated_mount_field_is_refused),
        cmocka_unit_test(repeated_driver_config_option_is_refused),
        cmocka_unit_test(map_keys_differing_in_case_are_two_keys),
        cmocka_unit_test(string_where_an_integer_goes_is_refused),
        cmocka_unit_test(fraction_is_refused),
        cmocka_unit_test(integer_beyond_fifteen_digits_is_refused),
        cmocka_unit_test(nan_and_infinity_are_refused),
        cmocka_unit_test(wrong_type_for_strings_booleans_arrays_and_objects_is_refused),
        cmocka_unit_test(null_means_not_set_and_is_not_emitted),
        cmocka_unit_test(empty_or_absent_host_config_is_an_empty_object),
        cmocka_unit_test(fields_flamed_owns_are_refused_naming_what_to_use),
        cmocka_unit_test(unsupported_engine_api_fields_are_refused),
        cmocka_unit_test(utf8_validity),
        cmocka_unit_test(invalid_utf8_in_keys_is_refused),
        cmocka_unit_test(invalid_utf8_in_values_is_refused),
        cmocka_unit_test(valid_non_ascii_passes_unchanged),
        cmocka_unit_test(binds_of_two_or_three_parts_are_cleaned),
        cmocka_unit_test(binds_of_named_volumes_keep_the_name),
        cmocka_unit_test(binds_of_one_or_four_parts_are_refused),
        cmocka_unit_test(binds_with_a_bad_mode_are_refused),
        cmocka_unit_test(binds_with_a_bad_target_are_refused),
        cmocka_unit_test(binds_whose_source_is_neither_path_nor_volume_name_are_refused),
        cmocka_unit_test(mount_type_must_be_exactly_bind_volume_or_tmpfs),
        cmocka_unit_test(mount_target_must_be_absolute),
        cmocka_unit_test(mount_target_is_sent_cleaned),
        cmocka_unit_test(mount_target_cannot_be_the_root),
        cmocka_unit_test(tmpfs_mount_targets_are_sent_cleaned),
        cmocka_unit_test(bind_mount_source_must_be_absolute_and_is_cleaned),
        cmocka_unit_test(volume_mount_source_is_a_volume_name_or_empty),
        cmocka_unit_test(tmpfs_mount_has_no_source),
        cmocka_unit_test(mount_options_belong_to_their_type),
        cmocka_unit_test(mount_messages_name_its_index),
        cmocka_unit_test(representative_host_config_prints_its_canonical_form),
        cmocka_unit_test(representative_mounts_print_their_canonical_form),
        cmocka_unit_test(canonical_form_is_a_fixed_point),
        cmocka_unit_test(clean_path_follows_go_path_clean),
    };
    return cmocka_run_group_tests_name("boot_config", tests, NULL, NULL);
}
