/* Live tests (real dockerd): client creation, /_ping negotiation, plain requests, the pool. */
#include <pthread.h>

#include "live_support.h"

static void ping_negotiates_api_1_41(void **state)
{
    char err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_ping(live, err, sizeof err), 0);
    assert_string_equal(docker_client_api_version(live), "1.41");
}

static void client_new_does_no_io_and_defaults_to_1_41(void **state)
{
    docker_client *c = NULL;

    (void)state;
    assert_int_equal(docker_client_new(&c, "/nonexistent/flamed-test.sock"), 0);
    assert_string_equal(docker_client_api_version(c), "1.41");
    assert_string_equal(docker_client_socket_path(c), "/nonexistent/flamed-test.sock");
    docker_client_free(c);
    docker_client_free(NULL);
}

static void ping_on_a_missing_socket_is_unavailable_with_a_hint(void **state)
{
    docker_client *c = NULL;
    char err[512] = "";

    (void)state;
    assert_int_equal(docker_client_new(&c, "/nonexistent/flamed-test.sock"), 0);
    assert_int_equal(docker_ping(c, err, sizeof err), FLAME_EUNAVAILABLE);
    assert_non_null(strstr(err, "cannot reach Docker at /nonexistent/flamed-test.sock"));
    assert_non_null(strstr(err, "dockerd running"));
    docker_client_free(c);
}

static void request_returns_status_and_json(void **state)
{
    char err[512] = "";
    cJSON *v = NULL;
    long status = 0;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(
        docker_request(live, "GET", "/version", NULL, 10000, &status, &v, err, sizeof err), 0);
    assert_int_equal(status, 200);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "ApiVersion")));
    cJSON_Delete(v);
}

static void request_http_404_is_an_exchange_not_an_error(void **state)
{
    char err[512] = "";
    cJSON *v = NULL;
    long status = 0;
    const cJSON *m;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_request(live, "GET", "/containers/fltest-dk-no-such-container/json",
                                    NULL, 10000, &status, &v, err, sizeof err),
                     0);
    assert_int_equal(status, 404);
    m = cJSON_GetObjectItemCaseSensitive(v, "message");
    assert_true(cJSON_IsString(m));
    assert_non_null(strstr(m->valuestring, "No such container"));
    cJSON_Delete(v);
}

static void *hammer(void *arg)
{
    char err[512];
    long status;
    int i, *failures = arg;

    for (i = 0; i < 50; i++)
        if (docker_request(live, "GET", "/_ping", NULL, 10000, &status, NULL, err, sizeof err) !=
                0 ||
            status != 200)
            (*failures)++;
    return NULL;
}

static void concurrent_requests_share_one_client(void **state)
{
    pthread_t t[4];
    int failures[4] = {0}, i;

    (void)state;
    LIVE_REQUIRE();
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &failures[i]), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(failures[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_negotiates_api_1_41),
        cmocka_unit_test(client_new_does_no_io_and_defaults_to_1_41),
        cmocka_unit_test(ping_on_a_missing_socket_is_unavailable_with_a_hint),
        cmocka_unit_test(request_returns_status_and_json),
        cmocka_unit_test(request_http_404_is_an_exchange_not_an_error),
        cmocka_unit_test(concurrent_requests_share_one_client),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
