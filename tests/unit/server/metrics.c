/* Unit tests: common/metrics.c - counters, histograms, label escaping, the
 * scrape-time source and the text exposition format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(&text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The sample value of exactly `series` ("name{labels}"), or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

static int reset(void **state)
{
    (void)state;
    metrics_reset();
    metrics_set_source(NULL);
    return 0;
}

static void rpc_done_counts_by_service_rpc_and_status(void **state)
{
    (void)state;
    metrics_rpc_done("/flame.v1.RunnerService/Boot", 0);
    metrics_rpc_done("/flame.v1.RunnerService/Boot", 0);
    metrics_rpc_done("/flame.v1.RunnerService/Boot", 9);
    metrics_rpc_done("/grpc.health.v1.Health/Check", 0);
    char *t = render();
    assert_int_equal(sample(t, "flamed_rpc_total{service=\"flame.v1.RunnerService\",rpc=\"Boot\","
                               "status=\"OK\"}"), 2);
    assert_int_equal(sample(t, "flamed_rpc_total{service=\"flame.v1.RunnerService\",rpc=\"Boot\","
                               "status=\"FAILED_PRECONDITION\"}"), 1);
    assert_int_equal(sample(t, "flamed_rpc_total{service=\"grpc.health.v1.Health\",rpc=\"Check\","
                               "status=\"OK\"}"), 1);
    assert_non_null(strstr(t, "# TYPE flamed_rpc_total counter\n"));
    free(t);
}

static void histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
    (void)state;
    metrics_boot_done(0, 300);   /* 0.3 s: le 0.5 */
    metrics_boot_done(0, 1500);  /* 1.5 s: le 2 */
    metrics_boot_done(0, 500000); /* 500 s: only +Inf */
    metrics_boot_done(-8, 30000);
    char *t = render();
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"0.25\"}"), 0);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"0.5\"}"), 1);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"2\"}"), 2);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"120\"}"), 2);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"+Inf\"}"), 3);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_count{result=\"ok\"}"), 3);
    assert_true(sample(t, "flamed_boot_duration_seconds_sum{result=\"ok\"}") > 501.79);
    assert_true(sample(t, "flamed_boot_duration_seconds_sum{result=\"ok\"}") < 501.81);
    /* 30 s lands in le="30" (upper bounds are inclusive) */
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"error\",le=\"10\"}"), 0);
    assert_int_equal(sample(t, "flamed_boot_duration_seconds_bucket{result=\"error\",le=\"30\"}"), 1);
    assert_non_null(strstr(t, "# TYPE flamed_boot_duration_seconds histogram\n"));
    free(t);
}

static void docker_requests_by_endpoint_and_code(void **state)
{
    (void)state;
    metrics_docker_request("POST", "/containers/{id}/start", 204, 2500);
    metrics_docker_request("POST", "/containers/{id}/start", 0, 100);
    char *t = render();
    assert_int_equal(sample(t, "flamed_docker_request_duration_seconds_count{endpoint=\"POST "
                               "/containers/{id}/start\"}"), 2);
    assert_int_equal(sample(t, "flamed_docker_request_duration_seconds_bucket{endpoint=\"POST "
                               "/containers/{id}/start\",le=\"0.0025\"}"), 2);
    assert_int_equal(sample(t, "flamed_docker_requests_total{endpoint=\"POST "
                               "/containers/{id}/start\",code=\"204\"}"), 1);
    assert_int_equal(sample(t, "flamed_docker_requests_total{endpoint=\"POST "
                               "/containers/{id}/start\",code=\"error\"}"), 1);
    free(t);
}

static void unlabelled_counters_start_at_zero(void **state)
{
    (void)state;
    char *t = render();
    assert_int_equal(sample(t, "flamed_watch_dropped_total"), 0);
    assert_int_equal(sample(t, "flamed_watch_resumed_total"), 0);
    assert_int_equal(sample(t, "flamed_docker_events_lost_total"), 0);
    free(t);
    metrics_watch_dropped();
    metrics_watch_resumed();
    metrics_watch_resumed();
    metrics_docker_events_lost();
    t = render();
    assert_int_equal(sample(t, "flamed_watch_dropped_total"), 1);
    assert_int_equal(sample(t, "flamed_watch_resumed_total"), 2);
    assert_int_equal(sample(t, "flamed_docker_events_lost_total"), 1);
    free(t);
}

static void emit_runners(void *ud, metrics_emit_fn emit, void *emit_ud)
{
    (void)ud;
    emit(emit_ud, "video", "RUNNING", 3);
    emit(emit_ud, "we\"ird\\pool\n", "BOOTING", 1);
}
static size_t two_watchers(void *ud) { (void)ud; return 2; }
static int docker_down(void *ud) { (void)ud; return 0; }
static unsigned long retries(void *ud) { (void)ud; return 5; }

static void source_gauges_are_read_at_scrape_time_and_escaped(void **state)
{
    (void)state;
    struct metrics_source src = {emit_runners, two_watchers, docker_down, retries, NULL};
    metrics_set_source(&src);
    char *t = render();
    assert_int_equal(sample(t, "flamed_runners{pool=\"video\",state=\"RUNNING\"}"), 3);
    /* label values escape backslash, double quote and newline */
    assert_int_equal(sample(t, "flamed_runners{pool=\"we\\\"ird\\\\pool\\n\",state=\"BOOTING\"}"), 1);
    assert_int_equal(sample(t, "flamed_watchers"), 2);
    assert_int_equal(sample(t, "flamed_docker_up"), 0);
    assert_int_equal(sample(t, "flamed_docker_retries_total"), 5);
    free(t);
    metrics_set_source(NULL);
    t = render();
    assert_true(sample(t, "flamed_runners{pool=\"video\",state=\"RUNNING\"}") < 0);
    assert_true(sample(t, "flamed_watchers") < 0);
    free(t);
}

static void build_info_and_every_line_well_formed(void **state)
{
    (void)state;
    metrics_set_build_info("1.2.3", "29.0.0");
    metrics_rpc_done("/flame.v1.RunnerService/List", 0);
    char *t = render();
    assert_int_equal(sample(t, "flamed_build_info{version=\"1.2.3\",grpc_core_version=\"29.0.0\"}"), 1);
    assert_true(sample(t, "process_start_time_seconds") > 1e9);
    assert_true(sample(t, "process_resident_memory_bytes") > 0);
    /* each sample line: name, optional {labels}, one space, a number; text ends with \n */
    assert_int_equal(t[strlen(t) - 1], '\n');
    for (char *line = t; *line;) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        if (*line != '#') {
            char *sp = end;
            while (sp > line && sp[-1] != ' ')
                sp--;
            assert_true(sp > line);
            sp--;
            char *num_end = NULL;
            strtod(sp + 1, &num_end);
            assert_ptr_equal(num_end, end);
        }
        line = end + 1;
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(rpc_done_counts_by_service_rpc_and_status, reset),
        cmocka_unit_test_setup(histogram_buckets_are_cumulative_with_sum_and_count, reset),
        cmocka_unit_test_setup(docker_requests_by_endpoint_and_code, reset),
        cmocka_unit_test_setup(unlabelled_counters_start_at_zero, reset),
        cmocka_unit_test_setup(source_gauges_are_read_at_scrape_time_and_escaped, reset),
        cmocka_unit_test_setup(build_info_and_every_line_well_formed, reset),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
