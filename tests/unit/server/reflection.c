/*
 * Unit tests: server reflection's index (rpc/reflection.h) over the
 * descriptor set the build embeds (flamed_descriptor_set, made by protoc from
 * proto/ and server/rpc/proto/): services, file_containing_symbol for
 * services, methods, messages, nested messages and map entries, enums (top
 * level and nested), with and without a leading '.', file_by_filename, and
 * transitive imports with the requested file first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "rpc/reflection.h"

extern const unsigned char flamed_descriptor_set[];
extern const unsigned long flamed_descriptor_set_len;

#define RUNNER_PROTO "flame/v1/runner_service.proto"
#define STRUCT_PROTO "google/protobuf/struct.proto"
#define HEALTH_PROTO "grpc/health/v1/health.proto"
#define REFLECTION_PROTO "grpc/reflection/v1/reflection.proto"

static int setup(void **state)
{
    rpc_reflection *r = NULL;
    if (rpc_reflection_new(&r, flamed_descriptor_set, flamed_descriptor_set_len) != 0)
        return -1;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rpc_reflection_free(*state);
    return 0;
}

/* Names of the files a lookup answers, in order, comma-separated ("" when none). */
static size_t lookup_names(const rpc_reflection *r, const char *name, int by_symbol, char *out,
                           size_t outlen)
{
    const uint8_t *files[64];
    size_t lens[64];
    size_t n = rpc_reflection_lookup(r, name, by_symbol, files, lens, 64);
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        Google__Protobuf__FileDescriptorProto *fd =
            google__protobuf__file_descriptor_proto__unpack(NULL, lens[i], files[i]);
        assert_non_null(fd);
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "", fd->name);
        google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
        assert_true(o < outlen);
    }
    return n;
}

static void expect_symbol(const rpc_reflection *r, const char *symbol, const char *want)
{
    char got[1024];
    lookup_names(r, symbol, 1, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("file_containing_symbol %s: got \"%s\", expected \"%s\"", symbol, got, want);
    /* With a leading '.', as fully-qualified type names are written in descriptors. */
    char dotted[256];
    snprintf(dotted, sizeof(dotted), ".%s", symbol);
    lookup_names(r, dotted, 1, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("file_containing_symbol %s: got \"%s\", expected \"%s\"", dotted, got, want);
}

static void the_embedded_set_parses(void **state)
{
    (void)state;
    assert_true(flamed_descriptor_set_len > 1000);
    /* It is a FileDescriptorSet holding every file flamed serves, imports included. */
    Google__Protobuf__FileDescriptorSet *set = google__protobuf__file_descriptor_set__unpack(
        NULL, flamed_descriptor_set_len, flamed_descriptor_set);
    assert_non_null(set);
    int seen = 0;
    for (size_t i = 0; i < set->n_file; i++) {
        const char *n = set->file[i]->name;
        seen |= (!strcmp(n, RUNNER_PROTO)) << 0 | (!strcmp(n, STRUCT_PROTO)) << 1 |
                (!strcmp(n, HEALTH_PROTO)) << 2 | (!strcmp(n, REFLECTION_PROTO)) << 3;
        /* Source info is not needed to answer, but names must be there. */
        assert_non_null(n);
    }
    assert_int_equal(seen, 0xf);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
}

static void list_services(void **state)
{
    const rpc_reflection *r = *state;
    size_t n = 0;
    const char *const *names = rpc_reflection_services(r, &n);
    int runner = 0, health = 0, refl = 0;
    for (size_t i = 0; i < n; i++) {
        runner += !strcmp(names[i], "flame.v1.RunnerService");
        health += !strcmp(names[i], "grpc.health.v1.Health");
        refl += !strcmp(names[i], "grpc.reflection.v1.ServerReflection");
    }
    assert_int_equal(runner, 1);
    assert_int_equal(health, 1);
    assert_int_equal(refl, 1);
    assert_int_equal(n, 3);
}

static void symbols(void **state)
{
    const rpc_reflection *r = *state;
    const char *runner = RUNNER_PROTO "," STRUCT_PROTO;
    /* A service and its methods (the five of the issue and any added since). */
    expect_symbol(r, "flame.v1.RunnerService", runner);
    static const char *const methods[] = {"Boot", "Spawn", "Shutdown", "Watch", "List"};
    for (size_t i = 0; i < 5; i++) {
        char m[128];
        snprintf(m, sizeof(m), "flame.v1.RunnerService.%s", methods[i]);
        expect_symbol(r, m, runner);
    }
    /* Messages, nested messages, map entries (generated nested types), enums. */
    expect_symbol(r, "flame.v1.BootRequest", runner);
    expect_symbol(r, "flame.v1.Runner", runner);
    expect_symbol(r, "flame.v1.BootRequest.EnvEntry", runner);
    expect_symbol(r, "flame.v1.BootRequest.LabelsEntry", runner);
    expect_symbol(r, "flame.v1.Runner.LabelsEntry", runner);
    expect_symbol(r, "flame.v1.SpawnResponse.Started", runner);
    expect_symbol(r, "flame.v1.SpawnResponse.Exited", runner);
    expect_symbol(r, "flame.v1.RunnerState", runner);
    expect_symbol(r, "flame.v1.PullPolicy", runner);
    expect_symbol(r, "flame.v1.RunnerEventType", runner);
    /* The imported file's own symbols answer with that file alone. */
    expect_symbol(r, "google.protobuf.Struct", STRUCT_PROTO);
    expect_symbol(r, "google.protobuf.Struct.FieldsEntry", STRUCT_PROTO);
    expect_symbol(r, "google.protobuf.Value", STRUCT_PROTO);
    expect_symbol(r, "google.protobuf.NullValue", STRUCT_PROTO);
    /* Health and reflection, with a nested enum. */
    expect_symbol(r, "grpc.health.v1.Health", HEALTH_PROTO);
    expect_symbol(r, "grpc.health.v1.Health.Watch", HEALTH_PROTO);
    expect_symbol(r, "grpc.health.v1.HealthCheckResponse.ServingStatus", HEALTH_PROTO);
    expect_symbol(r, "grpc.reflection.v1.ServerReflection.ServerReflectionInfo", REFLECTION_PROTO);
    expect_symbol(r, "grpc.reflection.v1.ServerReflectionRequest", REFLECTION_PROTO);
}

static void unknown_symbols_answer_nothing(void **state)
{
    const rpc_reflection *r = *state;
    static const char *const unknown[] = {
        "flame.v1.NoSuchMessage", "flame.v1.RunnerService.Nope", "RunnerService",
        "v1.RunnerService",       "flame.v1.runnerservice",       "flame.v1.RunnerService.",
        "..flame.v1.RunnerService", "",                          ".",
        "flame.v1.BootRequest.EnvEntry.Nested", "grpc.reflection.v1alpha.ServerReflection",
    };
    char got[1024];
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        size_t n = lookup_names(r, unknown[i], 1, got, sizeof(got));
        if (n != 0)
            fail_msg("file_containing_symbol \"%s\" answered \"%s\"", unknown[i], got);
    }
}

static void files_by_name(void **state)
{
    const rpc_reflection *r = *state;
    char got[1024];
    /* The file first, then its transitive imports. */
    assert_int_equal(lookup_names(r, RUNNER_PROTO, 0, got, sizeof(got)), 2);
    assert_string_equal(got, RUNNER_PROTO "," STRUCT_PROTO);
    assert_int_equal(lookup_names(r, STRUCT_PROTO, 0, got, sizeof(got)), 1);
    assert_string_equal(got, STRUCT_PROTO);
    assert_int_equal(lookup_names(r, HEALTH_PROTO, 0, got, sizeof(got)), 1);
    assert_string_equal(got, HEALTH_PROTO);
    assert_int_equal(lookup_names(r, REFLECTION_PROTO, 0, got, sizeof(got)), 1);
    /* Unknown names, symbols given as file names, near misses. */
    static const char *const unknown[] = {"flame/v1/nope.proto", "flame.v1.RunnerService",
                                          "/" RUNNER_PROTO, "runner_service.proto", "",
                                          "google/protobuf/descriptor.proto"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        if (lookup_names(r, unknown[i], 0, got, sizeof(got)) != 0)
            fail_msg("file_by_filename \"%s\" answered \"%s\"", unknown[i], got);

    /* The bytes are the descriptor itself: it names its dependency. */
    const uint8_t *files[4];
    size_t lens[4];
    assert_int_equal(rpc_reflection_lookup(r, "flame.v1.RunnerService", 1, files, lens, 4), 2);
    Google__Protobuf__FileDescriptorProto *fd =
        google__protobuf__file_descriptor_proto__unpack(NULL, lens[0], files[0]);
    assert_non_null(fd);
    assert_string_equal(fd->package, "flame.v1");
    assert_int_equal(fd->n_dependency, 1);
    assert_string_equal(fd->dependency[0], STRUCT_PROTO);
    int found = 0;
    for (size_t i = 0; i < fd->n_service; i++)
        if (!strcmp(fd->service[i]->name, "RunnerService")) {
            found = 1;
            assert_true(fd->service[i]->n_method >= 5);
        }
    assert_true(found);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);

    /* `max` caps the answer; the requested file stays first. */
    assert_int_equal(rpc_reflection_lookup(r, RUNNER_PROTO, 0, files, lens, 1), 1);
    fd = google__protobuf__file_descriptor_proto__unpack(NULL, lens[0], files[0]);
    assert_string_equal(fd->name, RUNNER_PROTO);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
    assert_int_equal(rpc_reflection_lookup(r, RUNNER_PROTO, 0, files, lens, 0), 0);
}

static void methods_for_v1_and_v1alpha(void **state)
{
    rpc_reflection *r = *state;
    struct rpc_method m[2];
    assert_int_equal(rpc_reflection_methods(r, m), 2);
    assert_string_equal(m[0].path, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    assert_string_equal(m[1].path,
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    for (int i = 0; i < 2; i++) {
        assert_true(m[i].client_streaming);
        assert_true(m[i].server_streaming);
        assert_ptr_equal(m[i].context, r);
        assert_non_null(m[i].handler);
    }
}

static void bad_sets(void **state)
{
    (void)state;
    rpc_reflection *r = NULL;
    /* Empty: a valid set of nothing. */
    assert_int_equal(rpc_reflection_new(&r, (const uint8_t *)"", 0), 0);
    size_t n = 99;
    rpc_reflection_services(r, &n);
    assert_int_equal(n, 0);
    const uint8_t *files[1];
    size_t lens[1];
    assert_int_equal(rpc_reflection_lookup(r, "flame.v1.RunnerService", 1, files, lens, 1), 0);
    rpc_reflection_free(r);
    r = NULL;
    static const uint8_t wrong_field[] = {0x12, 0x00};        /* field 2, not file = 1 */
    static const uint8_t truncated[] = {0x0a, 0x10, 0x0a, 0x01}; /* says 16 bytes, has 2 */
    static const uint8_t bad_varint[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t not_a_file[] = {0x0a, 0x02, 0xff, 0xff}; /* undecodable FileDescriptorProto */
    assert_int_equal(rpc_reflection_new(&r, wrong_field, sizeof(wrong_field)), FLAME_EINVALID);
    assert_int_equal(rpc_reflection_new(&r, truncated, sizeof(truncated)), FLAME_EINVALID);
    assert_int_equal(rpc_reflection_new(&r, bad_varint, sizeof(bad_varint)), FLAME_EINVALID);
    assert_int_equal(rpc_reflection_new(&r, not_a_file, sizeof(not_a_file)), FLAME_EINVALID);
    assert_null(r);
    /* The embedded set minus its last byte is not a set any more. */
    assert_int_equal(rpc_reflection_new(&r, flamed_descriptor_set, flamed_descriptor_set_len - 1),
                     FLAME_EINVALID);
    rpc_reflection_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_embedded_set_parses),
        cmocka_unit_test_setup_teardown(list_services, setup, teardown),
        cmocka_unit_test_setup_teardown(symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_symbols_answer_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(files_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(methods_for_v1_and_v1alpha, setup, teardown),
        cmocka_unit_test(bad_sets),
    };
    return cmocka_run_group_tests_name("reflection", tests, NULL, NULL);
}
