/*
 * Unit tests: request_boot_validate (BootRequest validation; host_config and
 * mounts through the canonical reading, boot_config.c, whose own tests are in
 * boot_config.c beside this file).
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
#include "service/request.h"
#include "struct_support.h"

/* ---------------------------------------------------------------- a BootRequest under test */

#define MAX_ENTRIES 1100

struct boot {
    Flame__V1__BootRequest req;
    Flame__V1__BootRequest__EnvEntry env[MAX_ENTRIES];
    Flame__V1__BootRequest__EnvEntry *envp[MAX_ENTRIES];
    Flame__V1__BootRequest__LabelsEntry labels[4];
    Flame__V1__BootRequest__LabelsEntry *labelsp[4];
    Google__Protobuf__Struct *mounts[REQ_MOUNTS_MAX + 2];
    cJSON *host_config_out, *mounts_out;
    char err[512];
};

static struct boot *boot_new(void)
{
    struct boot *b = calloc(1, sizeof(*b));

    assert_non_null(b);
    flame__v1__boot_request__init(&b->req);
    b->req.image = "app:latest";
    b->req.env = b->envp;
    b->req.labels = b->labelsp;
    b->req.mounts = b->mounts;
    return b;
}

static void boot_free(struct boot *b)
{
    sup_struct_free(b->req.host_config);
    for (size_t i = 0; i < b->req.n_mounts; i++)
        sup_struct_free(b->mounts[i]);
    cJSON_Delete(b->host_config_out);
    cJSON_Delete(b->mounts_out);
    free(b);
}

static void add_env(struct boot *b, const char *key, const char *value)
{
    size_t i = b->req.n_env++;

    assert_true(i < MAX_ENTRIES);
    flame__v1__boot_request__env_entry__init(&b->env[i]);
    b->env[i].key = (char *)key;
    b->env[i].value = (char *)value;
    b->envp[i] = &b->env[i];
}

static void add_label(struct boot *b, const char *key, const char *value)
{
    size_t i = b->req.n_labels++;

    assert_true(i < 4);
    flame__v1__boot_request__labels_entry__init(&b->labels[i]);
    b->labels[i].key = (char *)key;
    b->labels[i].value = (char *)value;
    b->labelsp[i] = &b->labels[i];
}

static void add_mount(struct boot *b, const char *json)
{
    assert_true(b->req.n_mounts < REQ_MOUNTS_MAX + 2);
    b->mounts[b->req.n_mounts++] = sup_struct_from_json(json);
}

static void set_host_config(struct boot *b, const char *json)
{
    b->req.host_config = sup_struct_from_json(json);
}

static int validate(struct boot *b)
{
    b->err[0] = '\0';
    return request_boot_validate(&b->req, &b->host_config_out, &b->mounts_out, b->err,
                                 sizeof(b->err));
}

/* Assert the request is refused, nothing is returned, and err mentions `must_mention`. */
static void assert_refused(struct boot *b, const char *must_mention)
{
    assert_int_equal(validate(b), FLAME_EINVALID);
    assert_null(b->host_config_out);
    assert_null(b->mounts_out);
    if (!strstr(b->err, must_mention))
        fail_msg("detail '%s' does not mention '%s'", b->err, must_mention);
}

static void assert_accepted(struct boot *b)
{
    int rc = validate(b);

    if (rc != 0)
        fail_msg("refused (%d): %s", rc, b->err);
}

static void refuse(const char *image_or_null, void (*edit)(struct boot *), const char *mention)
{
    struct boot *b = boot_new();

    if (image_or_null)
        b->req.image = (char *)image_or_null;
    if (edit)
        edit(b);
    assert_refused(b, mention);
    boot_free(b);
}

/* ---------------------------------------------------------------- image, network, pool */

static void image_only_request_is_accepted_with_nothing_to_return(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    assert_accepted(b);
    assert_null(b->host_config_out);
    assert_null(b->mounts_out);
    boot_free(b);
}

static void missing_image_is_refused(void **state)
{
    (void)state;
    refuse("", NULL, "image is required");
}

static void image_with_a_space_is_refused(void **state)
{
    (void)state;
    refuse("app latest", NULL, "image 'app latest' is not a valid reference");
}

static void image_with_shell_characters_is_refused(void **state)
{
    (void)state;
    refuse("app;rm -rf /", NULL, "not a valid reference");
}

static void image_starting_with_a_dash_is_refused(void **state)
{
    (void)state;
    refuse("-app", NULL, "not a valid reference");
}

static void image_with_registry_tag_and_digest_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    b->req.image = "registry.example:5000/team/app_x:1.2-rc_build@sha256:"
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_accepted(b);
    boot_free(b);
}

/* 255 bytes as Docker counts a name: with its registry (here given, so nothing is added). */
static void image_of_255_bytes_is_accepted(void **state)
{
    struct boot *b = boot_new();
    char image[REQ_IMAGE_MAX + 1];

    (void)state;
    memset(image, 'a', REQ_IMAGE_MAX);
    memcpy(image, "r.io/", 5);
    image[REQ_IMAGE_MAX] = '\0';
    b->req.image = image;
    assert_accepted(b);
    boot_free(b);
}

static void image_of_256_bytes_is_refused(void **state)
{
    char image[REQ_IMAGE_MAX + 2];

    (void)state;
    memset(image, 'a', REQ_IMAGE_MAX + 1);
    memcpy(image, "r.io/", 5);
    image[REQ_IMAGE_MAX + 1] = '\0';
    refuse(image, NULL, "not a valid reference");
}

static void edit_network_space(struct boot *b) { b->req.network = "my net"; }
static void network_with_a_space_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_network_space, "network 'my net' is not a valid Docker network name");
}

static void edit_network_dash(struct boot *b) { b->req.network = "-net"; }
static void network_starting_with_a_dash_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_network_dash, "network '-net'");
}

static void edit_network_long(struct boot *b)
{
    static char net[REQ_NETWORK_MAX + 2];

    memset(net, 'n', REQ_NETWORK_MAX + 1);
    net[REQ_NETWORK_MAX + 1] = '\0';
    b->req.network = net;
}
static void network_longer_than_128_bytes_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_network_long, "not a valid Docker network name");
}

static void network_with_dots_dashes_and_underscores_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    b->req.network = "flame_net-1.test";
    assert_accepted(b);
    boot_free(b);
}

static void edit_pool_slash(struct boot *b) { b->req.pool = "my/pool"; }
static void pool_with_a_slash_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_pool_slash, "pool 'my/pool' is invalid");
}

static void edit_pool_long(struct boot *b)
{
    static char pool[REQ_POOL_MAX + 2];

    memset(pool, 'p', REQ_POOL_MAX + 1);
    pool[REQ_POOL_MAX + 1] = '\0';
    b->req.pool = pool;
}
static void pool_longer_than_63_bytes_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_pool_long, "is invalid: use 1-63 characters");
}

static void elixir_module_pool_name_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    b->req.pool = "MyApp.FFMpegRunner";
    assert_accepted(b);
    boot_free(b);
}

/* ---------------------------------------------------------------- env */

static void edit_env_eq(struct boot *b) { add_env(b, "A=B", "c"); }
static void env_key_with_equals_sign_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_eq, "env key 'A=B' is invalid");
}

static void edit_env_empty(struct boot *b) { add_env(b, "", "c"); }
static void env_empty_key_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_empty, "env key '' is invalid: it must be non-empty");
}

/* Distinct keys K0, K1, ...: a repeated key is refused on its own. */
static char env_keys[MAX_ENTRIES][16];

static void add_distinct_env(struct boot *b, int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(env_keys[i], sizeof(env_keys[i]), "K%d", i);
        add_env(b, env_keys[i], "v");
    }
}

static void edit_env_many(struct boot *b) { add_distinct_env(b, REQ_ENV_MAX + 1); }
static void env_with_more_than_1024_entries_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_many, "env has 1025 entries, at most 1024");
}

static void env_with_1024_entries_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_distinct_env(b, REQ_ENV_MAX);
    assert_accepted(b);
    boot_free(b);
}

static void env_larger_than_1_mib_is_refused(void **state)
{
    struct boot *b = boot_new();
    char *big = malloc(REQ_ENV_BYTES_MAX);

    (void)state;
    assert_non_null(big);
    memset(big, 'x', REQ_ENV_BYTES_MAX - 1);
    big[REQ_ENV_BYTES_MAX - 1] = '\0';
    add_env(b, "BIG", big);
    assert_refused(b, "env is 1048580 bytes, at most 1048576");
    free(big);
    boot_free(b);
}

static void edit_env_repeated(struct boot *b)
{
    add_env(b, "PATH", "/bin");
    add_env(b, "HOME", "/root");
    add_env(b, "PATH", "/evil");
}
static void repeated_env_key_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_repeated, "env key 'PATH' is repeated: give each variable once");
}

/* Keys are exact bytes: "path" and "PATH" are two variables to Docker and the kernel. */
static void env_keys_differing_in_case_are_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_env(b, "PATH", "/bin");
    add_env(b, "path", "/bin");
    assert_accepted(b);
    boot_free(b);
}

static void edit_env_key_utf8(struct boot *b) { add_env(b, "K\xff", "v"); }
static void env_key_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_key_utf8, "is not valid UTF-8");
}

static void edit_env_value_utf8(struct boot *b) { add_env(b, "K", "a\xc0\xaf" "b"); }
static void env_value_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_env_value_utf8, "env 'K' is not valid UTF-8");
}

static void env_value_with_any_bytes_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_env(b, "FLAME_PARENT", "g2gDdAAAAAN3 \"quoted\" a=b \xc3\xa9\xe2\x82\xac");
    assert_accepted(b);
    boot_free(b);
}

/* ---------------------------------------------------------------- cmd, labels, misc fields */

static void cmd_larger_than_1_mib_is_refused(void **state)
{
    struct boot *b = boot_new();
    char *big = malloc(REQ_ARGV_BYTES_MAX + 1);
    char *cmd[1];

    (void)state;
    assert_non_null(big);
    memset(big, 'x', REQ_ARGV_BYTES_MAX);
    big[REQ_ARGV_BYTES_MAX] = '\0';
    cmd[0] = big;
    b->req.cmd = cmd;
    b->req.n_cmd = 1;
    assert_refused(b, "cmd is 1048577 bytes");
    free(big);
    boot_free(b);
}

static void entrypoint_with_too_many_entries_is_refused(void **state)
{
    struct boot *b = boot_new();
    char **argv = calloc(REQ_ARGV_MAX + 1, sizeof(*argv));

    (void)state;
    assert_non_null(argv);
    for (size_t i = 0; i < REQ_ARGV_MAX + 1; i++)
        argv[i] = "x";
    b->req.entrypoint = argv;
    b->req.n_entrypoint = REQ_ARGV_MAX + 1;
    assert_refused(b, "entrypoint has 4097 entries");
    free(argv);
    boot_free(b);
}

static char *bad_cmd[] = {"sh", "-c", "echo \xed\xa0\x80"};
static void edit_cmd_utf8(struct boot *b)
{
    b->req.cmd = bad_cmd;
    b->req.n_cmd = 3;
}
static void cmd_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_cmd_utf8, "cmd[2] is not valid UTF-8");
}

static char *bad_entrypoint[] = {"/bin/\xff"};
static void edit_entrypoint_utf8(struct boot *b)
{
    b->req.entrypoint = bad_entrypoint;
    b->req.n_entrypoint = 1;
}
static void entrypoint_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_entrypoint_utf8, "entrypoint[0] is not valid UTF-8");
}

static void edit_label_repeated(struct boot *b)
{
    add_label(b, "team", "a");
    add_label(b, "app", "x");
    add_label(b, "team", "b");
}
static void repeated_label_key_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_repeated, "labels: key 'team' is repeated: give each label once");
}

static void edit_label_key_utf8(struct boot *b) { add_label(b, "team\xfe", "a"); }
static void label_key_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_key_utf8, "is not valid UTF-8");
}

static void edit_label_value_utf8(struct boot *b) { add_label(b, "team", "\xf4\x90\x80\x80"); }
static void label_value_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_value_utf8, "labels: 'team' is not valid UTF-8");
}

static void edit_user_utf8(struct boot *b) { b->req.user = "us\xc1\xbf" "er"; }
static void user_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_user_utf8, "user and working_dir must be valid UTF-8");
}

static void edit_working_dir_utf8(struct boot *b) { b->req.working_dir = "/app/\x80"; }
static void working_dir_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_working_dir_utf8, "user and working_dir must be valid UTF-8");
}

static void edit_label_reserved(struct boot *b) { add_label(b, "flamed.pool", "x"); }
static void label_with_reserved_flamed_prefix_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_reserved, "labels: key 'flamed.pool' is reserved");
}

static void label_merely_containing_flamed_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_label(b, "com.example.flamed.team", "a");
    add_label(b, "flamedx", "b");
    assert_accepted(b);
    boot_free(b);
}

static void edit_label_empty(struct boot *b) { add_label(b, "", "x"); }
static void label_with_empty_key_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_empty, "labels: empty key");
}

static void edit_label_long(struct boot *b)
{
    static char v[REQ_LABEL_BYTES_MAX + 1];

    memset(v, 'v', REQ_LABEL_BYTES_MAX);
    v[REQ_LABEL_BYTES_MAX] = '\0';
    add_label(b, "k", v);
}
static void label_longer_than_4096_bytes_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_label_long, "labels: 'k' is longer than 4096 bytes");
}

static void boot_timeout_of_30_minutes_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    b->req.boot_timeout_ms = REQ_BOOT_TIMEOUT_MAX_MS;
    assert_accepted(b);
    boot_free(b);
}

static void edit_timeout(struct boot *b) { b->req.boot_timeout_ms = REQ_BOOT_TIMEOUT_MAX_MS + 1; }
static void boot_timeout_over_30_minutes_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_timeout, "boot_timeout_ms 1800001 is too large");
}

static void edit_pull_policy(struct boot *b)
{
    b->req.pull_policy = (Flame__V1__PullPolicy)(FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER + 1);
}
static void unknown_pull_policy_value_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_pull_policy, "is not a PullPolicy value");
}

static void edit_pull_policy_negative(struct boot *b)
{
    b->req.pull_policy = (Flame__V1__PullPolicy)-1;
}
static void negative_pull_policy_value_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_pull_policy_negative, "pull_policy -1");
}

static void every_pull_policy_value_is_accepted(void **state)
{
    const Flame__V1__PullPolicy ok[] = {FLAME__V1__PULL_POLICY__PULL_POLICY_UNSPECIFIED,
                                        FLAME__V1__PULL_POLICY__PULL_POLICY_IF_NOT_PRESENT,
                                        FLAME__V1__PULL_POLICY__PULL_POLICY_ALWAYS,
                                        FLAME__V1__PULL_POLICY__PULL_POLICY_NEVER};

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct boot *b = boot_new();

        b->req.pull_policy = ok[i];
        assert_accepted(b);
        boot_free(b);
    }
}

static void edit_working_dir(struct boot *b) { b->req.working_dir = "app/bin"; }
static void relative_working_dir_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_working_dir, "working_dir 'app/bin' must be an absolute path");
}

static void absolute_working_dir_is_accepted(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    b->req.working_dir = "/app";
    assert_accepted(b);
    boot_free(b);
}

static void edit_user(struct boot *b)
{
    static char user[258];

    memset(user, 'u', 257);
    user[257] = '\0';
    b->req.user = user;
}
static void user_longer_than_256_bytes_is_refused(void **state)
{
    (void)state;
    refuse(NULL, edit_user, "user is longer than 256 bytes");
}

/* ---------------------------------------------------------------- host_config */

static void host_config_refused(const char *json, const char *mention)
{
    struct boot *b = boot_new();

    set_host_config(b, json);
    assert_refused(b, mention);
    boot_free(b);
}

static void host_config_hostname_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"Hostname\":\"x\"}", "host_config.Hostname cannot be set");
}

static void host_config_networking_config_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"NetworkingConfig\":{}}", "host_config.NetworkingConfig cannot be set");
}

static void host_config_network_mode_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"Memory\":1048576,\"NetworkMode\":\"host\"}",
                        "host_config.NetworkMode cannot be set: use the `network` field");
}

static void host_config_labels_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"Labels\":{\"a\":\"b\"}}", "host_config.Labels cannot be set");
}

static void host_config_restart_policy_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"RestartPolicy\":{\"Name\":\"always\"}}",
                        "host_config.RestartPolicy cannot be set");
}

static void host_config_auto_remove_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"AutoRemove\":true}", "host_config.AutoRemove cannot be set");
}

static void host_config_mounts_is_refused_by_name(void **state)
{
    (void)state;
    host_config_refused("{\"Mounts\":[]}", "host_config.Mounts cannot be set: use the `mounts`");
}

static void host_config_unknown_field_is_refused(void **state)
{
    (void)state;
    host_config_refused("{\"Memory\":1,\"Bogus\":1}", "host_config: unknown field 'Bogus'");
}

static void host_config_field_of_wrong_type_is_refused(void **state)
{
    (void)state;
    host_config_refused("{\"Memory\":\"lots\"}",
                        "host_config.Memory must be an integer, got a string");
}

static void host_config_nan_is_refused_naming_host_config(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    set_host_config(b, "{\"Memory\":0}");
    b->req.host_config->fields[0]->value->number_value = NAN;
    assert_refused(b, "host_config.Memory must be an integer, got nan");
    boot_free(b);
}

static void host_config_with_a_repeated_key_is_refused(void **state)
{
    (void)state;
    host_config_refused("{\"Privileged\":false,\"Privileged\":true}",
                        "host_config.Privileged is repeated");
}

static void host_config_with_a_case_variant_key_is_refused(void **state)
{
    (void)state;
    host_config_refused("{\"privileged\":true}",
                        "unknown field 'privileged': the Engine API spells it 'Privileged'");
}

static void host_config_with_invalid_utf8_is_refused(void **state)
{
    (void)state;
    host_config_refused("{\"CapAdd\":[\"NET_\xff" "ADMIN\"]}", "host_config.CapAdd[0] is not valid UTF-8");
}

/* What comes back is the canonical form, not the client's object: paths cleaned, nulls gone. */
static void host_config_is_returned_in_canonical_form(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    set_host_config(b, "{\"Binds\":[\"/srv//data/./:/data/:ro\"],\"PidMode\":null,"
                       "\"Tmpfs\":{\"/run/\":\"\"}}");
    add_mount(b, "{\"Type\":\"bind\",\"Source\":\"/srv/a/../b\",\"Target\":\"//b/\"}");
    assert_accepted(b);
    char *hc = cJSON_PrintUnformatted(b->host_config_out);
    char *ms = cJSON_PrintUnformatted(b->mounts_out);
    assert_string_equal(hc, "{\"Binds\":[\"/srv/data:/data:ro\"],\"Tmpfs\":{\"/run\":\"\"}}");
    assert_string_equal(ms, "[{\"Type\":\"bind\",\"Source\":\"/srv/b\",\"Target\":\"/b\"}]");
    free(hc);
    free(ms);
    boot_free(b);
}

static void valid_host_config_is_returned_as_json(void **state)
{
    struct boot *b = boot_new();
    const cJSON *hc, *ul, *u0;

    (void)state;
    set_host_config(b, "{\"Memory\":268435456,\"NanoCpus\":1500000000,"
                       "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048}]}");
    assert_accepted(b);
    hc = b->host_config_out;
    assert_non_null(hc);
    assert_true(cJSON_IsObject(hc));
    assert_int_equal(cJSON_GetArraySize(hc), 3);
    assert_true(cJSON_GetObjectItemCaseSensitive(hc, "Memory")->valuedouble == 268435456.0);
    assert_true(cJSON_GetObjectItemCaseSensitive(hc, "NanoCpus")->valuedouble == 1500000000.0);
    ul = cJSON_GetObjectItemCaseSensitive(hc, "Ulimits");
    assert_true(cJSON_IsArray(ul));
    assert_int_equal(cJSON_GetArraySize(ul), 1);
    u0 = cJSON_GetArrayItem(ul, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(u0, "Name")->valuestring, "nofile");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(u0, "Soft")->valueint, 1024);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(u0, "Hard")->valueint, 2048);
    assert_null(b->mounts_out);
    boot_free(b);
}

static void empty_host_config_is_returned_as_empty_object(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    set_host_config(b, "{}");
    assert_accepted(b);
    assert_true(cJSON_IsObject(b->host_config_out));
    assert_int_equal(cJSON_GetArraySize(b->host_config_out), 0);
    boot_free(b);
}

/* ---------------------------------------------------------------- mounts */

static void mount_refused(const char *json, const char *mention)
{
    struct boot *b = boot_new();

    add_mount(b, json);
    assert_refused(b, mention);
    boot_free(b);
}

static void mount_without_type_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Target\":\"/data\"}",
                  "mounts[0].Type must be \"bind\", \"volume\" or \"tmpfs\"");
}

static void mount_without_target_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\":\"volume\",\"Source\":\"v\"}",
                  "mounts[0].Target must be an absolute path in the container");
}

static void mount_with_empty_target_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\":\"volume\",\"Target\":\"\"}",
                  "mounts[0].Target must be an absolute path in the container");
}

static void mount_with_non_string_type_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\":1,\"Target\":\"/data\"}",
                  "mounts[0].Type must be a string, got a number");
}

static void mount_with_relative_target_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"data\"}",
                  "mounts[0].Target must be an absolute path in the container");
}

static void mount_with_unknown_type_is_refused(void **state)
{
    (void)state;
    mount_refused("{\"Type\":\"nfs\",\"Target\":\"/data\"}",
                  "mounts[0].Type must be \"bind\", \"volume\" or \"tmpfs\", got 'nfs'");
}

static void bad_second_mount_is_reported_with_its_index(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_mount(b, "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\"}");
    add_mount(b, "{\"Type\":\"bind\",\"Source\":\"/h\",\"Target\":\"rel\"}");
    assert_refused(b, "mounts[1].Target");
    boot_free(b);
}

static void mount_nan_is_refused_naming_the_mount(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    add_mount(b, "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\",\"TmpfsOptions\":{\"SizeBytes\":0}}");
    b->mounts[0]->fields[2]->value->struct_value->fields[0]->value->number_value = INFINITY;
    assert_refused(b, "mounts[0].TmpfsOptions.SizeBytes must be an integer, got inf");
    boot_free(b);
}

static void more_than_64_mounts_are_refused(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    for (int i = 0; i < REQ_MOUNTS_MAX + 1; i++)
        add_mount(b, "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\"}");
    assert_refused(b, "mounts has 65 entries, at most 64");
    boot_free(b);
}

static void valid_mounts_are_returned_as_a_json_array(void **state)
{
    struct boot *b = boot_new();
    const cJSON *m0, *m1;

    (void)state;
    add_mount(b, "{\"Type\":\"volume\",\"Source\":\"cache\",\"Target\":\"/data\","
                 "\"ReadOnly\":true}");
    add_mount(b, "{\"Type\":\"tmpfs\",\"Target\":\"/scratch\","
                 "\"TmpfsOptions\":{\"SizeBytes\":67108864}}");
    assert_accepted(b);
    assert_null(b->host_config_out);
    assert_true(cJSON_IsArray(b->mounts_out));
    assert_int_equal(cJSON_GetArraySize(b->mounts_out), 2);
    m0 = cJSON_GetArrayItem(b->mounts_out, 0);
    m1 = cJSON_GetArrayItem(b->mounts_out, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m0, "Type")->valuestring, "volume");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m0, "Source")->valuestring, "cache");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m0, "Target")->valuestring, "/data");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m0, "ReadOnly")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m1, "Target")->valuestring, "/scratch");
    assert_true(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(m1, "TmpfsOptions"), "SizeBytes")
                    ->valuedouble == 67108864.0);
    boot_free(b);
}

static void valid_host_config_and_bad_mount_return_nothing(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    set_host_config(b, "{\"Memory\":1048576}");
    add_mount(b, "{\"Type\":\"volume\",\"Target\":\"/ok\"}");
    add_mount(b, "{\"Type\":\"volume\"}");
    assert_refused(b, "mounts[1]");
    boot_free(b);
}

static void host_config_and_mounts_are_both_returned(void **state)
{
    struct boot *b = boot_new();

    (void)state;
    set_host_config(b, "{\"Memory\":1048576}");
    add_mount(b, "{\"Type\":\"volume\",\"Target\":\"/ok\"}");
    assert_accepted(b);
    assert_true(cJSON_IsObject(b->host_config_out));
    assert_int_equal(cJSON_GetArraySize(b->mounts_out), 1);
    boot_free(b);
}

static void long_detail_is_truncated_to_errlen(void **state)
{
    struct boot *b = boot_new();
    char small[16];

    (void)state;
    memset(small, 'Z', sizeof(small));
    b->req.image = "";
    assert_int_equal(request_boot_validate(&b->req, &b->host_config_out, &b->mounts_out, small,
                                           sizeof(small)),
                     FLAME_EINVALID);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    boot_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(image_only_request_is_accepted_with_nothing_to_return),
        cmocka_unit_test(missing_image_is_refused),
        cmocka_unit_test(image_with_a_space_is_refused),
        cmocka_unit_test(image_with_shell_characters_is_refused),
        cmocka_unit_test(image_starting_with_a_dash_is_refused),
        cmocka_unit_test(image_with_registry_tag_and_digest_is_accepted),
        cmocka_unit_test(image_of_255_bytes_is_accepted),
        cmocka_unit_test(image_of_256_bytes_is_refused),
        cmocka_unit_test(network_with_a_space_is_refused),
        cmocka_unit_test(network_starting_with_a_dash_is_refused),
        cmocka_unit_test(network_longer_than_128_bytes_is_refused),
        cmocka_unit_test(network_with_dots_dashes_and_underscores_is_accepted),
        cmocka_unit_test(pool_with_a_slash_is_refused),
        cmocka_unit_test(pool_longer_than_63_bytes_is_refused),
        cmocka_unit_test(elixir_module_pool_name_is_accepted),
        cmocka_unit_test(env_key_with_equals_sign_is_refused),
        cmocka_unit_test(env_empty_key_is_refused),
        cmocka_unit_test(env_with_more_than_1024_entries_is_refused),
        cmocka_unit_test(env_with_1024_entries_is_accepted),
        cmocka_unit_test(env_larger_than_1_mib_is_refused),
        cmocka_unit_test(repeated_env_key_is_refused),
        cmocka_unit_test(env_keys_differing_in_case_are_accepted),
        cmocka_unit_test(env_key_with_invalid_utf8_is_refused),
        cmocka_unit_test(env_value_with_invalid_utf8_is_refused),
        cmocka_unit_test(env_value_with_any_bytes_is_accepted),
        cmocka_unit_test(cmd_with_invalid_utf8_is_refused),
        cmocka_unit_test(entrypoint_with_invalid_utf8_is_refused),
        cmocka_unit_test(repeated_label_key_is_refused),
        cmocka_unit_test(label_key_with_invalid_utf8_is_refused),
        cmocka_unit_test(label_value_with_invalid_utf8_is_refused),
        cmocka_unit_test(user_with_invalid_utf8_is_refused),
        cmocka_unit_test(working_dir_with_invalid_utf8_is_refused),
        cmocka_unit_test(cmd_larger_than_1_mib_is_refused),
        cmocka_unit_test(entrypoint_with_too_many_entries_is_refused),
        cmocka_unit_test(label_with_reserved_flamed_prefix_is_refused),
        cmocka_unit_test(label_merely_containing_flamed_is_accepted),
        cmocka_unit_test(label_with_empty_key_is_refused),
        cmocka_unit_test(label_longer_than_4096_bytes_is_refused),
        cmocka_unit_test(boot_timeout_of_30_minutes_is_accepted),
        cmocka_unit_test(boot_timeout_over_30_minutes_is_refused),
        cmocka_unit_test(unknown_pull_policy_value_is_refused),
        cmocka_unit_test(negative_pull_policy_value_is_refused),
        cmocka_unit_test(every_pull_policy_value_is_accepted),
        cmocka_unit_test(relative_working_dir_is_refused),
        cmocka_unit_test(absolute_working_dir_is_accepted),
        cmocka_unit_test(user_longer_than_256_bytes_is_refused),
        cmocka_unit_test(host_config_hostname_is_refused_by_name),
        cmocka_unit_test(host_config_networking_config_is_refused_by_name),
        cmocka_unit_test(host_config_network_mode_is_refused_by_name),
        cmocka_unit_test(host_config_labels_is_refused_by_name),
        cmocka_unit_test(host_config_restart_policy_is_refused_by_name),
        cmocka_unit_test(host_config_auto_remove_is_refused_by_name),
        cmocka_unit_test(host_config_mounts_is_refused_by_name),
        cmocka_unit_test(host_config_unknown_field_is_refused),
        cmocka_unit_test(host_config_field_of_wrong_type_is_refused),
        cmocka_unit_test(host_config_nan_is_refused_naming_host_config),
        cmocka_unit_test(host_config_with_a_repeated_key_is_refused),
        cmocka_unit_test(host_config_with_a_case_variant_key_is_refused),
        cmocka_unit_test(host_config_with_invalid_utf8_is_refused),
        cmocka_unit_test(host_config_is_returned_in_canonical_form),
        cmocka_unit_test(valid_host_config_is_returned_as_json),
        cmocka_unit_test(empty_host_config_is_returned_as_empty_object),
        cmocka_unit_test(mount_without_type_is_refused),
        cmocka_unit_test(mount_without_target_is_refused),
        cmocka_unit_test(mount_with_empty_target_is_refused),
        cmocka_unit_test(mount_with_non_string_type_is_refused),
        cmocka_unit_test(mount_with_relative_target_is_refused),
        cmocka_unit_test(mount_with_unknown_type_is_refused),
        cmocka_unit_test(bad_second_mount_is_reported_with_its_index),
        cmocka_unit_test(mount_nan_is_refused_naming_the_mount),
        cmocka_unit_test(more_than_64_mounts_are_refused),
        cmocka_unit_test(valid_mounts_are_returned_as_a_json_array),
        cmocka_unit_test(valid_host_config_and_bad_mount_return_nothing),
        cmocka_unit_test(host_config_and_mounts_are_both_returned),
        cmocka_unit_test(long_detail_is_truncated_to_errlen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
