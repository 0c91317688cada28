/* Unit tests: docker__pull_track (a pull's progress summed from Docker's pull
 * stream, POST /images/create; the lines as dockerd 20.10 writes them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "docker/docker_internal.h"

/* Feed one JSON line; the tracker's answer (1: the sums changed). */
static int feed(struct docker__pull_tracker *t, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    int rc = docker__pull_track(t, o);
    cJSON_Delete(o);
    return rc;
}

static void assert_sum(const struct docker__pull_tracker *t, int64_t done, int64_t total, int layers,
                       int layers_done)
{
    assert_int_equal(t->sum.bytes_done, done);
    assert_int_equal(t->sum.bytes_total, total);
    assert_int_equal(t->sum.layers, layers);
    assert_int_equal(t->sum.layers_done, layers_done);
}

static void a_two_layer_pull_sums_download_bytes(void **state)
{
    static struct docker__pull_tracker t;
    (void)state;
    memset(&t, 0, sizeof t);
    /* The tag's line and the digest / status lines are not layers. */
    assert_int_equal(feed(&t, "{\"status\":\"Pulling from library/app\",\"id\":\"1.0\"}"), 0);
    assert_int_equal(feed(&t, "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaa\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"ccc\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"bbb\"}"), 1);
    assert_sum(&t, 0, 0, 3, 1);
    assert_int_equal(feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":100,"
                              "\"total\":1000},\"progress\":\"[=>  ]\",\"id\":\"aaa\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":50,"
                              "\"total\":3000},\"id\":\"bbb\"}"), 1);
    assert_sum(&t, 150, 4000, 3, 1);
    /* The same line again changes nothing. */
    assert_int_equal(feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":50,"
                              "\"total\":3000},\"id\":\"bbb\"}"), 0);
    assert_int_equal(feed(&t, "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"aaa\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaa\"}"), 0);
    assert_sum(&t, 1050, 4000, 3, 1);
    /* Extraction's own byte counts are not download bytes. */
    assert_int_equal(feed(&t, "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":32768,"
                              "\"total\":2500},\"id\":\"aaa\"}"), 0);
    assert_int_equal(feed(&t, "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"aaa\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"bbb\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbb\"}"), 1);
    assert_int_equal(feed(&t, "{\"status\":\"Digest: sha256:0123\"}"), 0);
    assert_int_equal(feed(&t, "{\"status\":\"Status: Downloaded newer image for app:1.0\"}"), 0);
    assert_sum(&t, 4000, 4000, 3, 3);
}

static void a_retried_download_starts_again_from_zero(void **state)
{
    static struct docker__pull_tracker t;
    (void)state;
    memset(&t, 0, sizeof t);
    feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":700,\"total\":1000},\"id\":\"aaa\"}");
    assert_int_equal(feed(&t, "{\"status\":\"Retrying in 5 seconds\",\"progressDetail\":{},\"id\":\"aaa\"}"), 1);
    assert_sum(&t, 0, 1000, 1, 0);
}

/* Hostile or odd numbers: negative, above total, huge, not numbers. */
static void byte_counts_are_clamped(void **state)
{
    static struct docker__pull_tracker t;
    (void)state;
    memset(&t, 0, sizeof t);
    feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":-5,\"total\":\"x\"},\"id\":\"a\"}");
    assert_sum(&t, 0, 0, 1, 0);
    feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5000,\"total\":1000},\"id\":\"a\"}");
    assert_sum(&t, 1000, 1000, 1, 0);
    feed(&t, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":1e300},\"id\":\"b\"}");
    assert_int_equal(t.sum.bytes_total, 1000 + INT64_C(9007199254740992));
    /* Not a layer line: an id that is not a string, an unknown status, an over-long id. */
    assert_int_equal(feed(&t, "{\"status\":\"Downloading\",\"id\":7}"), 0);
    assert_int_equal(feed(&t, "{\"status\":\"Exploding\",\"id\":\"c\"}"), 0);
    char line[256];
    snprintf(line, sizeof line, "{\"status\":\"Waiting\",\"id\":\"%080d\"}", 0);
    assert_int_equal(feed(&t, line), 0);
    assert_int_equal(t.sum.layers, 2);
}

/* At most DOCKER_PULL_MAX_LAYERS layers are tracked: memory stays bounded. */
static void layers_beyond_the_bound_are_left_out(void **state)
{
    static struct docker__pull_tracker t;
    (void)state;
    memset(&t, 0, sizeof t);
    char line[128];
    for (int i = 0; i < DOCKER_PULL_MAX_LAYERS + 10; i++) {
        snprintf(line, sizeof line,
                 "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},\"id\":\"l%d\"}", i);
        assert_int_equal(feed(&t, line), i < DOCKER_PULL_MAX_LAYERS);
    }
    assert_sum(&t, DOCKER_PULL_MAX_LAYERS, 2 * DOCKER_PULL_MAX_LAYERS, DOCKER_PULL_MAX_LAYERS, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_two_layer_pull_sums_download_bytes),
        cmocka_unit_test(a_retried_download_starts_again_from_zero),
        cmocka_unit_test(byte_counts_are_clamped),
        cmocka_unit_test(layers_beyond_the_bound_are_left_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
