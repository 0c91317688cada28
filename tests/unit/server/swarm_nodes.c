/*
 * Unit tests: the --swarm-nodes file (engine/swarm_nodes.h): a strict reading,
 * each node's endpoint from --docker-host's settings and its own, lookups by
 * node ID and hostname. No I/O (the file predicates are stubbed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/swarm_nodes.h"

static int yes(const char *path)
{
    (void)path;
    return 1;
}

/* --docker-host tcp://manager:2376 with TLS from a certificate directory. */
static const struct docker_endpoint_opts BASE = {
    .host_flag = "tcp://manager:2376",
    .tls_verify_flag = 1,
    .cert_path_env = "/certs",
    .home = "/root",
    .exists = yes,
    .readable = yes,
};

static int parse(const char *json, struct swarm_nodes **m, char *err, size_t errlen)
{
    return swarm_nodes_parse(m, json, strlen(json), &BASE, err, errlen);
}

static void nodes_are_found_by_id_then_hostname(void **state)
{
    (void)state;
    struct swarm_nodes *m = NULL;
    char err[512] = "";
    int rc = parse("{\"nodes\": {\"vm2\": {\"host\": \"tcp://10.0.0.2:2376\"},"
                   " \"qay87q7jnjfqal9gqjmk4rrhf\": {\"host\": \"tcp://10.0.0.3\", \"tls_ca\": \"/n3/ca.pem\"},"
                   " \"local\": {\"host\": \"unix:///run/d.sock\"}}}",
                   &m, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(swarm_nodes_count(m), 3);
    const char *key = NULL;
    docker_client *c = swarm_nodes_find(m, "qay87q7jnjfqal9gqjmk4rrhf", "vm2", &key);
    assert_non_null(c);
    assert_string_equal(key, "qay87q7jnjfqal9gqjmk4rrhf");
    assert_string_equal(docker_client_address(c), "tcp://10.0.0.3:2376");
    c = swarm_nodes_find(m, "zzz", "vm2", &key);
    assert_non_null(c);
    assert_string_equal(key, "vm2");
    assert_string_equal(docker_client_address(c), "tcp://10.0.0.2:2376");
    assert_null(swarm_nodes_find(m, "zzz", "vm9", NULL));
    assert_null(swarm_nodes_find(m, NULL, NULL, NULL));
    assert_ptr_equal(swarm_nodes_by_key(m, "vm2"), swarm_nodes_find(m, NULL, "vm2", NULL));
    assert_null(swarm_nodes_by_key(m, "vm"));
    assert_string_equal(docker_client_address(swarm_nodes_by_key(m, "local")), "/run/d.sock");
    swarm_nodes_free(m);
    assert_int_equal(swarm_nodes_count(NULL), 0);
    assert_null(swarm_nodes_find(NULL, "a", "b", NULL));
}

static void bad_files_are_refused_naming_what(void **state)
{
    (void)state;
    struct {
        const char *json, *want;
    } cases[] = {
        {"", "not JSON"},
        {"[]", "must be an object"},
        {"{\"nodes\": {}} x", "text after"},
        {"{\"node\": {}}", "unknown key 'node'"},
        {"{\"nodes\": {}, \"nodes\": {}}", "repeated"},
        {"{\"nodes\": []}", "nodes must be an object"},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a:1\"}, \"a\": {\"host\": \"tcp://b:1\"}}}", "'a' is repeated"},
        {"{\"nodes\": {\"a b\": {\"host\": \"tcp://a:1\"}}}", "not a node ID or hostname"},
        {"{\"nodes\": {\"a@b\": {\"host\": \"tcp://a:1\"}}}", "not a node ID or hostname"},
        {"{\"nodes\": {\"a\": {}}}", "node 'a': host is required"},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a:1\", \"Host\": \"x\"}}}", "unknown key 'Host'"},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a:1\", \"host\": \"tcp://b:1\"}}}", "'host' is repeated"},
        {"{\"nodes\": {\"a\": {\"host\": 5}}}", "host must be a non-empty string"},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a:1\", \"tls_verify\": \"yes\"}}}", "tls_verify must be true or false"},
        {"{\"nodes\": {\"a\": {\"host\": \"ftp://a\"}}}", "node 'a': "},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a:2375\", \"tls_verify\": false}}}", "node 'a': "},
        {"{\"nodes\": {\"a\": {\"host\": \"tcp://a\\u0000:1\"}}}", "NUL"},
        {"{\"nodes\": {\"a\": \"tcp://a:1\"}}", "must be an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct swarm_nodes *m = (void *)1;
        char err[512] = "";
        int rc = parse(cases[i].json, &m, err, sizeof(err));
        if (rc != FLAME_EINVALID || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s): rc %d, err '%s', want '%s'", i, cases[i].json, rc, err, cases[i].want);
        assert_null(m);
    }
}

static void plain_tcp_needs_insecure(void **state)
{
    (void)state;
    struct swarm_nodes *m = NULL;
    char err[512] = "";
    assert_int_equal(parse("{\"nodes\": {\"a\": {\"host\": \"tcp://a:2375\", \"tls_verify\": false, "
                           "\"insecure\": true}}}",
                           &m, err, sizeof(err)),
                     0);
    assert_string_equal(docker_client_address(swarm_nodes_by_key(m, "a")), "tcp://a:2375");
    swarm_nodes_free(m);
}

static void a_missing_file_is_refused_naming_it(void **state)
{
    (void)state;
    struct swarm_nodes *m = NULL;
    char err[512] = "";
    assert_int_equal(swarm_nodes_load(&m, "/nonexistent/flamed-nodes.json", &BASE, err, sizeof(err)),
                     FLAME_EINVALID);
    assert_non_null(strstr(err, "/nonexistent/flamed-nodes.json"));
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nodes_are_found_by_id_then_hostname),
        cmocka_unit_test(bad_files_are_refused_naming_what),
        cmocka_unit_test(plain_tcp_needs_insecure),
        cmocka_unit_test(a_missing_file_is_refused_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
