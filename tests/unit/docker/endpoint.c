/* Unit tests: docker_endpoint_resolve (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and
 * the --docker-* flags, the docker CLI's way). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker.h"

/* The fake filesystem: files that exist (and are readable) for the current test. */
static const char *fake_files[8];

static int fake_exists(const char *path)
{
    for (size_t i = 0; i < sizeof fake_files / sizeof fake_files[0]; i++)
        if (fake_files[i] && strcmp(fake_files[i], path) == 0)
            return 1;
    return 0;
}

static struct docker_endpoint ep;
static struct docker_endpoint_opts o;
static char err[1024];

static int reset(void **state)
{
    (void)state;
    memset(fake_files, 0, sizeof fake_files);
    memset(&ep, 0, sizeof ep);
    memset(&o, 0, sizeof o);
    o.exists = fake_exists;
    o.readable = fake_exists;
    err[0] = '\0';
    return 0;
}

static int resolve(void)
{
    return docker_endpoint_resolve(&ep, &o, err, sizeof err);
}

/* The certificate directory /certs with all three files. */
static void certs_in(const char *dir)
{
    static char paths[3][256];
    snprintf(paths[0], sizeof paths[0], "%s/ca.pem", dir);
    snprintf(paths[1], sizeof paths[1], "%s/cert.pem", dir);
    snprintf(paths[2], sizeof paths[2], "%s/key.pem", dir);
    fake_files[0] = paths[0];
    fake_files[1] = paths[1];
    fake_files[2] = paths[2];
}

static void expect_invalid(const char *needle)
{
    assert_int_equal(resolve(), FLAME_EINVALID);
    if (!strstr(err, needle))
        fail_msg("expected the message to contain \"%s\", got \"%s\"", needle, err);
}

/* ------------------------------------------------------------- the unix socket */

static void unset_host_is_the_default_socket_whatever_the_tls_environment(void **state)
{
    (void)state;
    fake_files[0] = "/var/run/docker.sock";
    o.tls_verify_env = "1";
    o.cert_path_env = "/nowhere";
    o.home = "/home/u";
    assert_int_equal(resolve(), 0);
    assert_int_equal(ep.tcp, 0);
    assert_int_equal(ep.tls, 0);
    assert_string_equal(ep.socket_path, "/var/run/docker.sock");
    assert_string_equal(ep.address, "/var/run/docker.sock");
}

static void missing_default_socket_is_not_found_and_named(void **state)
{
    (void)state;
    assert_int_equal(resolve(), FLAME_ENOTFOUND);
    assert_string_equal(ep.address, "/var/run/docker.sock");
}

static void unix_host_from_env_is_used(void **state)
{
    (void)state;
    o.host_env = "unix:///run/user/1000/docker.sock";
    assert_int_equal(resolve(), 0);
    assert_int_equal(ep.tcp, 0);
    assert_string_equal(ep.socket_path, "/run/user/1000/docker.sock");
}

static void tls_flags_with_a_unix_socket_are_refused(void **state)
{
    (void)state;
    fake_files[0] = "/var/run/docker.sock";
    o.tls_verify_flag = 1;
    expect_invalid("--docker-tls-verify applies to a tcp:// Docker host");
    reset(NULL);
    fake_files[0] = "/var/run/docker.sock";
    o.insecure = 1;
    expect_invalid("--docker-insecure applies to a tcp:// Docker host");
}

static void other_schemes_are_refused_naming_the_source(void **state)
{
    (void)state;
    o.host_flag = "ssh://me@host";
    expect_invalid("invalid value 'ssh://me@host' for --docker-host: expected "
                   "unix:///path/to/docker.sock or tcp://HOST[:PORT]");
    reset(NULL);
    o.host_env = "npipe:////./pipe/docker_engine";
    expect_invalid("(from $DOCKER_HOST)");
}

/* ------------------------------------------------------------- tcp:// */

static void tls_verify_env_uses_cert_path_and_port_2376(void **state)
{
    (void)state;
    certs_in("/certs");
    o.host_env = "tcp://docker.example:2376";
    o.tls_verify_env = "1";
    o.cert_path_env = "/certs";
    assert_int_equal(resolve(), 0);
    assert_int_equal(ep.tcp, 1);
    assert_int_equal(ep.tls, 1);
    assert_string_equal(ep.host, "docker.example");
    assert_int_equal(ep.port, 2376);
    assert_string_equal(ep.ca_file, "/certs/ca.pem");
    assert_string_equal(ep.cert_file, "/certs/cert.pem");
    assert_string_equal(ep.key_file, "/certs/key.pem");
    assert_string_equal(ep.address, "tcp://docker.example:2376");
}

static void any_non_empty_tls_verify_means_verify(void **state)
{
    (void)state;
    certs_in("/certs");
    o.host_env = "tcp://10.0.0.5";
    o.tls_verify_env = "0"; /* the docker CLI: non-empty, so verify */
    o.cert_path_env = "/certs";
    assert_int_equal(resolve(), 0);
    assert_int_equal(ep.tls, 1);
    assert_int_equal(ep.port, 2376);
}

static void empty_tls_verify_means_plain_tcp_which_is_refused(void **state)
{
    (void)state;
    o.host_env = "tcp://10.0.0.5:2375";
    o.tls_verify_env = "";
    expect_invalid("refusing plain TCP to the Docker host tcp://10.0.0.5:2375 (from $DOCKER_HOST)");
    assert_non_null(strstr(err, "DOCKER_TLS_VERIFY=1"));
    assert_non_null(strstr(err, "--docker-insecure"));
}

static void insecure_allows_plain_tcp_on_port_2375(void **state)
{
    (void)state;
    o.host_flag = "tcp://127.0.0.1";
    o.insecure = 1;
    assert_int_equal(resolve(), 0);
    assert_int_equal(ep.tcp, 1);
    assert_int_equal(ep.tls, 0);
    assert_int_equal(ep.port, 2375);
    assert_string_equal(ep.address, "tcp://127.0.0.1:2375");
    assert_string_equal(ep.ca_file, "");
}

static void insecure_contradicts_tls_verify(void **state)
{
    (void)state;
    o.host_flag = "tcp://127.0.0.1";
    o.insecure = 1;
    o.tls_verify_env = "1";
    expect_invalid("--docker-insecure contradicts TLS verification ($DOCKER_TLS_VERIFY is set)");
    o.tls_verify_flag = 1;
    expect_invalid("--docker-insecure contradicts TLS verification (--docker-tls-verify)");
}

static void tls_file_flags_need_verification(void **state)
{
    (void)state;
    fake_files[0] = "/x/ca.pem";
    o.host_flag = "tcp://127.0.0.1";
    o.ca_flag = "/x/ca.pem";
    expect_invalid("--docker-tls-ca needs TLS verification: add --docker-tls-verify");
    o.insecure = 1;
    expect_invalid("--docker-tls-ca needs TLS verification");
}

static void cert_dir_defaults_to_docker_config_then_home(void **state)
{
    (void)state;
    certs_in("/home/u/.docker");
    o.host_flag = "tcp://h:1";
    o.tls_verify_flag = 1;
    o.home = "/home/u";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.ca_file, "/home/u/.docker/ca.pem");
    certs_in("/cfg");
    o.config_env = "/cfg";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.ca_file, "/cfg/ca.pem");
    certs_in("/certs");
    o.cert_path_env = "/certs";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.ca_file, "/certs/ca.pem");
    assert_int_equal(ep.port, 1);
}

static void missing_ca_is_refused_with_what_to_do(void **state)
{
    (void)state;
    o.host_flag = "tcp://h";
    o.tls_verify_flag = 1;
    o.cert_path_env = "/certs";
    expect_invalid("/certs/ca.pem is missing or unreadable");
    assert_non_null(strstr(err, "--docker-tls-ca"));
    assert_non_null(strstr(err, "DOCKER_CERT_PATH"));
}

static void no_client_certificate_is_allowed(void **state)
{
    (void)state;
    fake_files[0] = "/certs/ca.pem";
    o.host_flag = "tcp://h";
    o.tls_verify_flag = 1;
    o.cert_path_env = "/certs";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.cert_file, "");
    assert_string_equal(ep.key_file, "");
}

static void certificate_without_key_is_refused(void **state)
{
    (void)state;
    fake_files[0] = "/certs/ca.pem";
    fake_files[1] = "/certs/cert.pem";
    o.host_flag = "tcp://h";
    o.tls_verify_flag = 1;
    o.cert_path_env = "/certs";
    expect_invalid("found the certificate '/certs/cert.pem' but no key");
}

static void flags_replace_single_files(void **state)
{
    (void)state;
    certs_in("/certs");
    fake_files[3] = "/mine/ca.pem";
    fake_files[4] = "/mine/flamed.pem";
    o.host_flag = "tcp://h";
    o.tls_verify_env = "1";
    o.cert_path_env = "/certs";
    o.ca_flag = "/mine/ca.pem";
    o.cert_flag = "/mine/flamed.pem";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.ca_file, "/mine/ca.pem");
    assert_string_equal(ep.cert_file, "/mine/flamed.pem");
    assert_string_equal(ep.key_file, "/certs/key.pem");
}

static void unreadable_flag_file_is_refused_naming_the_flag(void **state)
{
    (void)state;
    certs_in("/certs");
    o.host_flag = "tcp://h";
    o.tls_verify_flag = 1;
    o.cert_path_env = "/certs";
    o.key_flag = "/nope/key.pem";
    expect_invalid("cannot read --docker-tls-key '/nope/key.pem'");
}

static void host_flag_wins_over_env(void **state)
{
    (void)state;
    o.host_env = "tcp://from-env:2376";
    o.host_flag = "tcp://from-flag:2999";
    o.insecure = 1;
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.host, "from-flag");
    assert_int_equal(ep.port, 2999);
}

static void ipv6_needs_brackets(void **state)
{
    (void)state;
    o.insecure = 1;
    o.host_flag = "tcp://[::1]:2375/";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.host, "::1");
    assert_int_equal(ep.port, 2375);
    assert_string_equal(ep.address, "tcp://[::1]:2375");
    o.host_flag = "tcp://[fe80::1]";
    assert_int_equal(resolve(), 0);
    assert_string_equal(ep.address, "tcp://[fe80::1]:2375");
    o.host_flag = "tcp://::1:2375";
    expect_invalid("[IPv6] in brackets");
}

static void malformed_tcp_addresses_are_refused(void **state)
{
    static const char *const bad[] = {
        "tcp://",          "tcp:///",          "tcp://h:",        "tcp://h:0",
        "tcp://h:65536",   "tcp://h:12a",      "tcp://h:123456",  "tcp://h/v1.41",
        "tcp://u@h:2376",  "tcp://h:2376?x=1", "tcp://[::1",      "tcp://[::1]x",
        "tcp://h h",       "tcp://:2376",      "tcp://[zz::1]:1", "tcp://h#f",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reset(NULL);
        o.insecure = 1;
        o.host_flag = bad[i];
        if (resolve() != FLAME_EINVALID || !strstr(err, "for --docker-host"))
            fail_msg("'%s' was accepted or misreported: \"%s\"", bad[i], err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(unset_host_is_the_default_socket_whatever_the_tls_environment,
                               reset),
        cmocka_unit_test_setup(missing_default_socket_is_not_found_and_named, reset),
        cmocka_unit_test_setup(unix_host_from_env_is_used, reset),
        cmocka_unit_test_setup(tls_flags_with_a_unix_socket_are_refused, reset),
        cmocka_unit_test_setup(other_schemes_are_refused_naming_the_source, reset),
        cmocka_unit_test_setup(tls_verify_env_uses_cert_path_and_port_2376, reset),
        cmocka_unit_test_setup(any_non_empty_tls_verify_means_verify, reset),
        cmocka_unit_test_setup(empty_tls_verify_means_plain_tcp_which_is_refused, reset),
        cmocka_unit_test_setup(insecure_allows_plain_tcp_on_port_2375, reset),
        cmocka_unit_test_setup(insecure_contradicts_tls_verify, reset),
        cmocka_unit_test_setup(tls_file_flags_need_verification, reset),
        cmocka_unit_test_setup(cert_dir_defaults_to_docker_config_then_home, reset),
        cmocka_unit_test_setup(missing_ca_is_refused_with_what_to_do, reset),
        cmocka_unit_test_setup(no_client_certificate_is_allowed, reset),
        cmocka_unit_test_setup(certificate_without_key_is_refused, reset),
        cmocka_unit_test_setup(flags_replace_single_files, reset),
        cmocka_unit_test_setup(unreadable_flag_file_is_refused_naming_the_flag, reset),
        cmocka_unit_test_setup(host_flag_wins_over_env, reset),
        cmocka_unit_test_setup(ipv6_needs_brackets, reset),
        cmocka_unit_test_setup(malformed_tcp_addresses_are_refused, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
