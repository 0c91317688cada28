/* Unit tests: request_boot_env and request_env_strv (container environment as "K=V"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service/request.h"

struct boot {
    Flame__V1__BootRequest req;
    Flame__V1__BootRequest__EnvEntry env[8];
    Flame__V1__BootRequest__EnvEntry *envp[8];
};

static void boot_init(struct boot *b)
{
    memset(b, 0, sizeof(*b));
    flame__v1__boot_request__init(&b->req);
    b->req.image = "app:latest";
    b->req.env = b->envp;
}

static void add_env(struct boot *b, const char *key, const char *value)
{
    size_t i = b->req.n_env++;

    assert_true(i < 8);
    flame__v1__boot_request__env_entry__init(&b->env[i]);
    b->env[i].key = (char *)key;
    b->env[i].value = (char *)value;
    b->envp[i] = &b->env[i];
}

static size_t strv_len(char **v)
{
    size_t n = 0;

    while (v[n])
        n++;
    return n;
}

static char **boot_env(struct boot *b)
{
    char **v = NULL;

    assert_int_equal(request_boot_env(&b->req, &v), 0);
    assert_non_null(v);
    return v;
}

static void empty_env_gets_phx_server_false(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    v = boot_env(&b);
    assert_int_equal(strv_len(v), 1);
    assert_string_equal(v[0], "PHX_SERVER=false");
    request_strv_free(v);
}

static void phx_server_false_is_added_after_the_request_env(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    add_env(&b, "A", "1");
    add_env(&b, "B", "2");
    v = boot_env(&b);
    assert_int_equal(strv_len(v), 3);
    assert_string_equal(v[0], "A=1");
    assert_string_equal(v[1], "B=2");
    assert_string_equal(v[2], "PHX_SERVER=false");
    request_strv_free(v);
}

static void phx_server_set_by_the_request_is_kept_alone(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    add_env(&b, "PHX_SERVER", "true");
    v = boot_env(&b);
    assert_int_equal(strv_len(v), 1);
    assert_string_equal(v[0], "PHX_SERVER=true");
    request_strv_free(v);
}

static void phx_server_set_empty_is_kept(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    add_env(&b, "PHX_SERVER", "");
    v = boot_env(&b);
    assert_int_equal(strv_len(v), 1);
    assert_string_equal(v[0], "PHX_SERVER=");
    request_strv_free(v);
}

static void lowercase_phx_server_does_not_count(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    add_env(&b, "phx_server", "true");
    v = boot_env(&b);
    assert_int_equal(strv_len(v), 2);
    assert_string_equal(v[1], "PHX_SERVER=false");
    request_strv_free(v);
}

static void flame_parent_is_passed_byte_for_byte(void **state)
{
    /* A FLAME parent term as FLAME.Parser encodes it, plus the awkward bytes. */
    static const char parent[] = "g2gJZAARRWxpeGlyLkZMQU1FLlBhcmVudA== \"quoted\" 'single' "
                                 "a=b==c \\back\\slash\t tab caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5";
    struct boot b;
    char **v;
    char want[sizeof(parent) + 16];

    (void)state;
    boot_init(&b);
    add_env(&b, "FLAME_PARENT", parent);
    v = boot_env(&b);
    snprintf(want, sizeof(want), "FLAME_PARENT=%s", parent);
    assert_int_equal(strlen(v[0]), strlen(want));
    assert_memory_equal(v[0], want, strlen(want) + 1);
    request_strv_free(v);
}

static void null_value_becomes_empty(void **state)
{
    struct boot b;
    char **v;

    (void)state;
    boot_init(&b);
    add_env(&b, "EMPTY", NULL);
    v = boot_env(&b);
    assert_string_equal(v[0], "EMPTY=");
    request_strv_free(v);
}

static void spawn_env_becomes_key_value_strings(void **state)
{
    Flame__V1__SpawnRequest__EnvEntry e[2] = {FLAME__V1__SPAWN_REQUEST__ENV_ENTRY__INIT,
                                              FLAME__V1__SPAWN_REQUEST__ENV_ENTRY__INIT};
    Flame__V1__SpawnRequest__EnvEntry *ep[2] = {&e[0], &e[1]};
    char **v = NULL;

    (void)state;
    e[0].key = "A";
    e[0].value = "x y=z";
    e[1].key = "B";
    e[1].value = "";
    assert_int_equal(request_env_strv(ep, 2, &v), 0);
    assert_int_equal(strv_len(v), 2);
    assert_string_equal(v[0], "A=x y=z");
    assert_string_equal(v[1], "B=");
    request_strv_free(v);
}

static void empty_spawn_env_is_an_empty_list_without_phx_server(void **state)
{
    char **v = NULL;

    (void)state;
    assert_int_equal(request_env_strv(NULL, 0, &v), 0);
    assert_non_null(v);
    assert_null(v[0]);
    request_strv_free(v);
}

static void strv_free_accepts_null(void **state)
{
    (void)state;
    request_strv_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_env_gets_phx_server_false),
        cmocka_unit_test(phx_server_false_is_added_after_the_request_env),
        cmocka_unit_test(phx_server_set_by_the_request_is_kept_alone),
        cmocka_unit_test(phx_server_set_empty_is_kept),
        cmocka_unit_test(lowercase_phx_server_does_not_count),
        cmocka_unit_test(flame_parent_is_passed_byte_for_byte),
        cmocka_unit_test(null_value_becomes_empty),
        cmocka_unit_test(spawn_env_becomes_key_value_strings),
        cmocka_unit_test(empty_spawn_env_is_an_empty_list_without_phx_server),
        cmocka_unit_test(strv_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
