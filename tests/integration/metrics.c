/*
 * /metrics (flamed --metrics-listen): the exposition is valid Prometheus
 * text, a Boot counts in flamed_rpc_total and the boot histogram, the runner
 * shows in flamed_runners{pool,state} until it is shut down, a failed Boot
 * counts under its status, watchers are counted, Docker requests are timed
 * by endpoint template, and the HTTP listener answers only GET /metrics.
 *
 * Each test restarts the harness's flamed with --metrics-listen 127.0.0.1:0
 * and reads the port from its `metrics_listening` log line. libmicrohttpd is
 * required at build time, so nothing here skips.
 */
#include "harness.h"

#include <ctype.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#define RPC(name, status)                                                                         \
    "flamed_rpc_total{service=\"flame.v1.RunnerService\",rpc=\"" name "\",status=\"" status "\"}"

/* ------------------------------------------------------------ flamed with metrics */

static char *read_from(const char *path, long offset)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    if (offset > end)
        offset = end;
    fseek(f, offset, SEEK_SET);
    char *s = calloc(1, (size_t)(end - offset) + 1);
    assert_non_null(s);
    size_t n = fread(s, 1, (size_t)(end - offset), f);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Replace the harness's flamed with one serving /metrics; returns the port. */
static int flamed_with_metrics(fl_env *e, const char *metrics_addr)
{
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));
    flame_client_close(e->client); /* the harness's, for the flamed just stopped */
    e->client = NULL;
    const char *bin = getenv("FLAMED_BIN");
    assert_non_null(bin);
    struct stat sb;
    long offset = stat(e->log_path, &sb) == 0 ? (long)sb.st_size : 0;
    unlink(e->sock_path);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, e->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const char *argv[] = {bin, "--listen", e->addr, "--log-level", "debug", "--stop-timeout-ms",
                          "1000", "--shutdown-grace-ms", "2000", "--metrics-listen", metrics_addr,
                          NULL};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("posix_spawn %s: %s", bin, strerror(rc));
    e->flamed_pid = pid;
    e->flamed_starts++;

    int port = -1;
    int64_t until = fl_now_ms() + 15000;
    while (port < 0) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            e->flamed_pid = 0;
            char *log = read_from(e->log_path, offset);
            fail_msg("flamed --metrics-listen %s exited during start-up (0x%x): %s", metrics_addr,
                     ws, log);
        }
        char *log = read_from(e->log_path, offset);
        const char *m = strstr(log, "msg=metrics_listening");
        const char *p = m ? strstr(m, "port=") : NULL;
        if (p)
            port = (int)strtol(p + 5, NULL, 10);
        free(log);
        if (port < 0 && fl_now_ms() >= until)
            fail_msg("flamed logged no metrics_listening line within 15 s");
        if (port < 0)
            fl_sleep_ms(20);
    }
    while (stat(e->sock_path, &sb) != 0) {
        if (fl_now_ms() >= until)
            fail_msg("flamed did not create %s", e->sock_path);
        fl_sleep_ms(20);
    }
    flame_client_options opts = {.timeout_ms = 120000};
    assert_int_equal(flame_client_open(&e->client, e->addr, &opts), 0);
    for (;;) {
        flame_runner **rs = NULL;
        size_t n = 0;
        flame_status st;
        if (flame_client_list(e->client, NULL, &rs, &n, &st) == 0) {
            flame_runner_list_free(rs, n);
            break;
        }
        if (fl_now_ms() >= until)
            fail_msg("flamed did not answer List: %s", st.message);
        fl_sleep_ms(50);
    }
    assert_true(port > 0);
    return port;
}

/* ------------------------------------------------------------ HTTP */

struct http {
    long status;
    char *body;
    size_t len;
    char content_type[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct http *h = ud;
    char *grown = realloc(h->body, h->len + size * n + 1);
    if (!grown)
        return 0;
    h->body = grown;
    memcpy(h->body + h->len, p, size * n);
    h->len += size * n;
    h->body[h->len] = '\0';
    return size * n;
}

static void http_do(int port, const char *method, const char *path, struct http *h)
{
    char url[128];
    memset(h, 0, sizeof(*h));
    h->body = calloc(1, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(h->content_type, sizeof(h->content_type), "%s", ct ? ct : "");
    curl_easy_cleanup(c);
}

static char *scrape(int port)
{
    struct http h;
    http_do(port, "GET", "/metrics", &h);
    assert_int_equal(h.status, 200);
    return h.body;
}

/* The value of the sample named exactly `series` ("name{labels}"), or -1. */
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

/* Every line is a comment (# HELP / # TYPE) or `name[{labels}] value`. */
static void assert_exposition(const char *text)
{
    int samples = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with \n */
        if (*line == '#') {
            if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0)
                fail_msg("bad comment line: %.*s", (int)(end - line), line);
        } else {
            const char *p = line;
            if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
                fail_msg("bad metric name: %.*s", (int)(end - line), line);
            while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
                p++;
            if (*p == '{') {
                int quoted = 0;
                for (p++; p < end && (quoted || *p != '}'); p++) {
                    if (*p == '\\')
                        p++;
                    else if (*p == '"')
                        quoted = !quoted;
                }
                if (p >= end)
                    fail_msg("unterminated labels: %.*s", (int)(end - line), line);
                p++;
            }
            char *num_end = NULL;
            if (*p != ' ')
                fail_msg("no value: %.*s", (int)(end - line), line);
            strtod(p + 1, &num_end);
            if (num_end != end)
                fail_msg("bad value: %.*s", (int)(end - line), line);
            samples++;
        }
        line = end + 1;
    }
    assert_true(samples > 10);
}

static double sample_or_zero(const char *text, const char *series)
{
    double v = sample(text, series);
    return v < 0 ? 0 : v;
}

/* ------------------------------------------------------------ tests */

FL_TEST(metrics_boot_counts_and_the_runner_shows_by_pool_and_state)
{
    int port = flamed_with_metrics(e, "127.0.0.1:0");
    char *before = scrape(port);
    assert_exposition(before);
    char runners[160];
    snprintf(runners, sizeof(runners), "flamed_runners{pool=\"%s\",state=\"RUNNING\"}", e->pool);
    assert_true(sample(before, runners) < 0);

    flame_runner *r = fl_boot_default(e, NULL);
    char *after = scrape(port);
    assert_exposition(after);
    assert_int_equal((int)sample(after, RPC("Boot", "OK")),
                     (int)sample_or_zero(before, RPC("Boot", "OK")) + 1);
    assert_int_equal((int)sample(after, runners), 1);
    assert_true(sample(after, "flamed_boot_duration_seconds_count{result=\"ok\"}") >= 1);
    assert_true(sample(after, "flamed_boot_duration_seconds_bucket{result=\"ok\",le=\"+Inf\"}") >=
                1);
    assert_true(sample(after, "flamed_boot_duration_seconds_sum{result=\"ok\"}") > 0);
    /* Docker requests by endpoint template: never a raw id in a label */
    assert_true(sample(after, "flamed_docker_request_duration_seconds_count{endpoint=\"POST "
                              "/containers/{id}/start\"}") >= 1);
    assert_true(sample(after, "flamed_docker_requests_total{endpoint=\"POST /containers/create\","
                              "code=\"201\"}") >= 1);
    assert_null(strstr(after, r->container_id));
    assert_null(strstr(after, r->id));
    assert_true(sample(after, "flamed_docker_up") == 1);
    fl_assert_contains(after, "flamed_build_info{version=\"" FLAMED_VERSION "\"");

    fl_shutdown(e, r->id);
    char *gone = scrape(port);
    assert_true(sample(gone, runners) < 0);
    assert_int_equal((int)sample(gone, RPC("Shutdown", "OK")),
                     (int)sample_or_zero(before, RPC("Shutdown", "OK")) + 1);
    flame_runner_free(r);
    free(before);
    free(after);
    free(gone);
}

FL_TEST(metrics_failed_boot_counts_under_its_status)
{
    int port = flamed_with_metrics(e, "127.0.0.1:0");
    char *before = scrape(port);
    fl_probe_boot(e, e->pool, "metrics"); /* the network does not exist: FAILED_PRECONDITION */
    char *after = scrape(port);
    assert_int_equal((int)sample(after, RPC("Boot", "FAILED_PRECONDITION")),
                     (int)sample_or_zero(before, RPC("Boot", "FAILED_PRECONDITION")) + 1);
    assert_int_equal(
        (int)sample(after, "flamed_boot_duration_seconds_count{result=\"error\"}"),
        (int)sample_or_zero(before, "flamed_boot_duration_seconds_count{result=\"error\"}") + 1);
    free(before);
    free(after);
}

FL_TEST(metrics_count_watchers)
{
    int port = flamed_with_metrics(e, "127.0.0.1:0");
    char *text = scrape(port);
    assert_int_equal((int)sample(text, "flamed_watchers"), 0);
    free(text);
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, w, e->pool);
    text = scrape(port);
    assert_int_equal((int)sample(text, "flamed_watchers"), 1);
    free(text);
    fl_watch_stop(w);
    int64_t until = fl_now_ms() + 5000;
    for (;;) {
        text = scrape(port);
        int n = (int)sample(text, "flamed_watchers");
        free(text);
        if (n == 0)
            break;
        if (fl_now_ms() >= until)
            fail_msg("flamed_watchers stayed %d after the Watch ended", n);
        fl_sleep_ms(50);
    }
    text = scrape(port);
    assert_true(sample(text, "flamed_rpc_total{service=\"flame.v1.RunnerService\",rpc=\"Watch\","
                             "status=\"CANCELLED\"}") >= 1);
    free(text);
}

FL_TEST(metrics_http_answers_only_get_metrics)
{
    int port = flamed_with_metrics(e, "127.0.0.1:0");
    struct http h;
    http_do(port, "GET", "/metrics", &h);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.content_type, "text/plain; version=0.0.4; charset=utf-8");
    free(h.body);
    http_do(port, "GET", "/", &h);
    assert_int_equal(h.status, 200);
    fl_assert_contains(h.body, "/metrics");
    free(h.body);
    http_do(port, "GET", "/nope", &h);
    assert_int_equal(h.status, 404);
    free(h.body);
    http_do(port, "POST", "/metrics", &h);
    assert_int_equal(h.status, 405);
    free(h.body);
}

FL_TEST(metrics_listen_rejects_a_bad_address)
{
    (void)e;
    const char *bin = getenv("FLAMED_BIN");
    assert_non_null(bin);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --listen unix:/tmp/fltest-metrics-never.sock --metrics-listen "
                               "no-port-here >/dev/null 2>&1", bin);
    int ws = system(cmd);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(metrics_boot_counts_and_the_runner_shows_by_pool_and_state),
        FL_UNIT(metrics_failed_boot_counts_under_its_status),
        FL_UNIT(metrics_count_watchers),
        FL_UNIT(metrics_http_answers_only_get_metrics),
        FL_UNIT(metrics_listen_rejects_a_bad_address),
    };
    return FL_RUN("metrics", tests);
}
