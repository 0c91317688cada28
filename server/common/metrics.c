/*
 * Metrics: see metrics.h. One table of series (a family and a rendered label
 * set) behind one mutex; the table is small (label values are bounded sets:
 * method names, status names, endpoint templates), so lookups are linear.
 * A series is created on first use and lives until metrics_reset().
 */
#include "common/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "flame/error.h"

/* Beyond this many series new label sets are not recorded (and counted in
 * flamed_metrics_series_dropped_total): a bug must not grow memory forever. */
#define METRICS_MAX_SERIES 2048
#define METRICS_LABELS_MAX 256
#define METRICS_MAX_BUCKETS 16

enum metric_type { M_COUNTER, M_HISTOGRAM };

enum family {
    F_RPC_TOTAL,
    F_BOOT_SECONDS,
    F_DOCKER_SECONDS,
    F_DOCKER_TOTAL,
    F_WATCH_DROPPED,
    F_WATCH_RESUMED,
    F_DOCKER_EVENTS_LOST,
    F_N,
};

struct family_desc {
    const char *name;
    const char *help;
    enum metric_type type;
    const double *bounds; /* histogram upper bounds, ascending; +Inf implied */
    size_t n_bounds;
};

static const double boot_bounds[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120};
static const double docker_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const struct family_desc families[F_N] = {
    [F_RPC_TOTAL] = {"flamed_rpc_total",
                     "gRPC calls finished, by service, method and status sent.", M_COUNTER, NULL, 0},
    [F_BOOT_SECONDS] = {"flamed_boot_duration_seconds",
                        "Time from Boot's start to its answer (result ok: the runner runs).",
                        M_HISTOGRAM, boot_bounds, sizeof(boot_bounds) / sizeof(boot_bounds[0])},
    [F_DOCKER_SECONDS] = {"flamed_docker_request_duration_seconds",
                          "Docker Engine API request latency, by endpoint (streams excluded).",
                          M_HISTOGRAM, docker_bounds,
                          sizeof(docker_bounds) / sizeof(docker_bounds[0])},
    [F_DOCKER_TOTAL] = {"flamed_docker_requests_total",
                        "Docker Engine API requests, by endpoint and HTTP status (error: no answer).",
                        M_COUNTER, NULL, 0},
    [F_WATCH_DROPPED] = {"flamed_watch_dropped_total",
                         "Watch streams ended because the watcher fell too far behind.", M_COUNTER,
                         NULL, 0},
    [F_WATCH_RESUMED] = {"flamed_watch_resumed_total",
                         "Watch streams that resumed after a sequence from the event history.",
                         M_COUNTER, NULL, 0},
    [F_DOCKER_EVENTS_LOST] = {"flamed_docker_events_lost_total",
                                 "Times Docker's event stream was lost (flamed opens it again and reconciles).",
                                 M_COUNTER, NULL, 0},
};

struct series {
    enum family family;
    char labels[METRICS_LABELS_MAX]; /* `k="v",k2="v2"` (escaped), or "" */
    uint64_t count;                  /* counter value, or observations */
    double sum;                      /* histogram: sum of observations */
    uint64_t buckets[METRICS_MAX_BUCKETS]; /* histogram: per bucket, not cumulative */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static struct series *table[METRICS_MAX_SERIES];
static size_t n_series;
static uint64_t series_dropped;
static char build_version[64] = "unknown", build_grpc[64] = "unknown";
static double start_time_s;

/* The scrape-time source: readers are scrapes, the writer is metrics_set_source(). */
static pthread_rwlock_t source_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct metrics_source source;

/* ------------------------------------------------------------ labels */

/* Append `key="value"` (escaped per the exposition format) to out at *o. */
static void label_put(char *out, size_t cap, size_t *o, const char *key, const char *value)
{
    size_t n = *o;
    if (n && n + 1 < cap)
        out[n++] = ',';
    for (const char *k = key; *k && n + 1 < cap; k++)
        out[n++] = *k;
    if (n + 2 < cap) {
        out[n++] = '=';
        out[n++] = '"';
    }
    for (const char *v = value ? value : ""; *v && n + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            out[n++] = '\\';
            out[n++] = *v;
        } else if (*v == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *v;
        }
    }
    if (n + 1 < cap)
        out[n++] = '"';
    out[n < cap ? n : cap - 1] = '\0';
    *o = n;
}

/* The series for (family, labels), created when new. Caller holds mu. */
static struct series *series_get(enum family f, const char *labels)
{
    for (size_t i = 0; i < n_series; i++)
        if (table[i]->family == f && strcmp(table[i]->labels, labels) == 0)
            return table[i];
    if (n_series == METRICS_MAX_SERIES) {
        series_dropped++;
        return NULL;
    }
    struct series *s = calloc(1, sizeof(*s));
    if (!s) {
        series_dropped++;
        return NULL;
    }
    s->family = f;
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
    table[n_series++] = s;
    return s;
}

static void counter_add(enum family f, const char *labels, uint64_t delta)
{
    pthread_mutex_lock(&mu);
    struct series *s = series_get(f, labels);
    if (s)
        s->count += delta;
    pthread_mutex_unlock(&mu);
}

static void histogram_observe(enum family f, const char *labels, double v)
{
    const struct family_desc *d = &families[f];
    size_t b = 0;
    while (b < d->n_bounds && v > d->bounds[b])
        b++;
    pthread_mutex_lock(&mu);
    struct series *s = series_get(f, labels);
    if (s) {
        s->count++;
        s->sum += v;
        if (b < d->n_bounds)
            s->buckets[b]++;
    }
    pthread_mutex_unlock(&mu);
}

/* ------------------------------------------------------------ feeding */

void metrics_rpc_done(const char *method_path, int grpc_status)
{
    char service[128] = "", rpc[128] = "", labels[METRICS_LABELS_MAX];
    size_t o = 0;
    const char *p = method_path ? method_path : "";
    if (*p == '/')
        p++;
    const char *slash = strchr(p, '/');
    if (slash) {
        snprintf(service, sizeof(service), "%.*s", (int)(slash - p), p);
        snprintf(rpc, sizeof(rpc), "%s", slash + 1);
    } else {
        snprintf(rpc, sizeof(rpc), "%s", p);
    }
    label_put(labels, sizeof(labels), &o, "service", service);
    label_put(labels, sizeof(labels), &o, "rpc", rpc);
    label_put(labels, sizeof(labels), &o, "status", flame_grpc_status_name(grpc_status));
    counter_add(F_RPC_TOTAL, labels, 1);
}

void metrics_boot_done(int err, int64_t duration_ms)
{
    char labels[64];
    size_t o = 0;
    label_put(labels, sizeof(labels), &o, "result", err == 0 ? "ok" : "error");
    histogram_observe(F_BOOT_SECONDS, labels, (double)(duration_ms < 0 ? 0 : duration_ms) / 1e3);
}

void metrics_docker_request(const char *method, const char *path_template, long http_status,
                            int64_t duration_us)
{
    char endpoint[200], code[24], labels[METRICS_LABELS_MAX];
    size_t o = 0;
    snprintf(endpoint, sizeof(endpoint), "%s %s", method ? method : "?",
             path_template ? path_template : "?");
    label_put(labels, sizeof(labels), &o, "endpoint", endpoint);
    histogram_observe(F_DOCKER_SECONDS, labels, (double)(duration_us < 0 ? 0 : duration_us) / 1e6);
    if (http_status > 0)
        snprintf(code, sizeof(code), "%ld", http_status);
    else
        snprintf(code, sizeof(code), "error");
    label_put(labels, sizeof(labels), &o, "code", code);
    counter_add(F_DOCKER_TOTAL, labels, 1);
}

void metrics_watch_dropped(void) { counter_add(F_WATCH_DROPPED, "", 1); }
void metrics_watch_resumed(void) { counter_add(F_WATCH_RESUMED, "", 1); }
void metrics_docker_events_lost(void) { counter_add(F_DOCKER_EVENTS_LOST, "", 1); }

void metrics_set_source(const struct metrics_source *src)
{
    pthread_rwlock_wrlock(&source_lock);
    if (src)
        source = *src;
    else
        memset(&source, 0, sizeof(source));
    pthread_rwlock_unlock(&source_lock);
}

void metrics_set_build_info(const char *version, const char *grpc_version)
{
    int64_t now_ns = clock_unix_ns();
    pthread_mutex_lock(&mu);
    snprintf(build_version, sizeof(build_version), "%s", version ? version : "unknown");
    snprintf(build_grpc, sizeof(build_grpc), "%s", grpc_version ? grpc_version : "unknown");
    start_time_s = (double)(now_ns / 1000000000LL) + (double)(now_ns % 1000000000LL) / 1e9;
    pthread_mutex_unlock(&mu);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_series; i++) {
        free(table[i]);
        table[i] = NULL;
    }
    n_series = 0;
    series_dropped = 0;
    pthread_mutex_unlock(&mu);
}

/* ------------------------------------------------------------ rendering */

struct out {
    char *data;
    size_t len, cap;
    int nomem;
};

static void out_printf(struct out *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *b, const char *fmt, ...)
{
    if (b->nomem)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->nomem = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->nomem = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

static void header(struct out *b, const char *name, const char *help, const char *type)
{
    out_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A float as Prometheus reads it: integers plainly, else 15 significant
 * digits (0.1, not 0.10000000000000001). flamed never changes LC_NUMERIC. */
static void fmt_num(char *buf, size_t len, double v)
{
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15)
        snprintf(buf, len, "%lld", (long long)v);
    else
        snprintf(buf, len, "%.15g", v);
}

/* Families from the table. Caller holds mu. */
static void render_table(struct out *b)
{
    char num[64];
    for (int f = 0; f < F_N; f++) {
        const struct family_desc *d = &families[f];
        header(b, d->name, d->help, d->type == M_COUNTER ? "counter" : "histogram");
        int any = 0;
        for (size_t i = 0; i < n_series; i++) {
            const struct series *s = table[i];
            if ((int)s->family != f)
                continue;
            any = 1;
            const char *sep = s->labels[0] ? "," : "";
            if (d->type == M_COUNTER) {
                if (s->labels[0])
                    out_printf(b, "%s{%s} %llu\n", d->name, s->labels, (unsigned long long)s->count);
                else
                    out_printf(b, "%s %llu\n", d->name, (unsigned long long)s->count);
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k < d->n_bounds; k++) {
                cum += s->buckets[k];
                fmt_num(num, sizeof(num), d->bounds[k]);
                out_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", d->name, s->labels, sep, num,
                           (unsigned long long)cum);
            }
            out_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", d->name, s->labels, sep,
                       (unsigned long long)s->count);
            fmt_num(num, sizeof(num), s->sum);
            if (s->labels[0]) {
                out_printf(b, "%s_sum{%s} %s\n", d->name, s->labels, num);
                out_printf(b, "%s_count{%s} %llu\n", d->name, s->labels, (unsigned long long)s->count);
            } else {
                out_printf(b, "%s_sum %s\n%s_count %llu\n", d->name, num, d->name,
                           (unsigned long long)s->count);
            }
        }
        /* An unlabelled counter exists from the start, at 0. */
        if (!any && d->type == M_COUNTER && f != F_RPC_TOTAL && f != F_DOCKER_TOTAL)
            out_printf(b, "%s 0\n", d->name);
    }
    header(b, "flamed_metrics_series_dropped_total",
           "Label sets not recorded because the series table was full.", "counter");
    out_printf(b, "flamed_metrics_series_dropped_total %llu\n", (unsigned long long)series_dropped);
    char lv[METRICS_LABELS_MAX];
    size_t o = 0;
    label_put(lv, sizeof(lv), &o, "version", build_version);
    label_put(lv, sizeof(lv), &o, "grpc_core_version", build_grpc);
    header(b, "flamed_build_info", "flamed's version and the gRPC core library it runs on; always 1.", "gauge");
    out_printf(b, "flamed_build_info{%s} 1\n", lv);
    if (start_time_s > 0) {
        header(b, "process_start_time_seconds", "Start time of the process since the Unix epoch.",
               "gauge");
        out_printf(b, "process_start_time_seconds %.3f\n", start_time_s);
    }
}

struct emit_ctx {
    struct out *b;
};

static void emit_runner(void *ud, const char *pool, const char *state, size_t count)
{
    struct emit_ctx *e = ud;
    char labels[METRICS_LABELS_MAX];
    size_t o = 0;
    label_put(labels, sizeof(labels), &o, "pool", pool);
    label_put(labels, sizeof(labels), &o, "state", state);
    out_printf(e->b, "flamed_runners{%s} %zu\n", labels, count);
}

/* Gauges from the source. Caller holds source_lock for reading, not mu. */
static void render_source(struct out *b)
{
    header(b, "flamed_runners", "Runners flamed tracks (not removed or failed), by pool and state.",
           "gauge");
    if (source.runners) {
        struct emit_ctx e = {b};
        source.runners(source.ud, emit_runner, &e);
    }
    if (source.watchers) {
        header(b, "flamed_watchers", "Open Watch streams.", "gauge");
        out_printf(b, "flamed_watchers %zu\n", source.watchers(source.ud));
    }
    if (source.docker_retries) {
        header(b, "flamed_docker_retries_total",
               "Docker requests retried after a transient failure (reset, 502/503/504).", "counter");
        out_printf(b, "flamed_docker_retries_total %lu\n", source.docker_retries(source.ud));
    }
    if (source.docker_up) {
        int up = source.docker_up(source.ud);
        if (up >= 0) {
            header(b, "flamed_docker_up", "1 when Docker answers /_ping (gRPC health SERVING).",
                   "gauge");
            out_printf(b, "flamed_docker_up %d\n", up);
        }
    }
}

/* process_* as the Prometheus client libraries export them, from /proc. */
static void render_process(struct out *b)
{
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size = 0, resident = 0;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2 && page > 0) {
            header(b, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
            out_printf(b, "process_resident_memory_bytes %llu\n",
                       (unsigned long long)resident * (unsigned long long)page);
            header(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
            out_printf(b, "process_virtual_memory_bytes %llu\n",
                       (unsigned long long)size * (unsigned long long)page);
        }
        fclose(f);
    }
    f = fopen("/proc/self/stat", "r");
    if (f) {
        char line[1024];
        if (fgets(line, sizeof(line), f) && ticks > 0) {
            /* utime and stime are fields 14 and 15, counted after "(comm)" */
            const char *p = strrchr(line, ')');
            unsigned long long ut = 0, st = 0;
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st) == 2) {
                header(b, "process_cpu_seconds_total", "User and system CPU time in seconds.",
                       "counter");
                out_printf(b, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / (double)ticks);
            }
        }
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        size_t n = 0;
        for (struct dirent *de; (de = readdir(d));)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        header(b, "process_open_fds", "Open file descriptors.", "gauge");
        out_printf(b, "process_open_fds %zu\n", n > 0 ? n - 1 : 0); /* less opendir's own */
    }
}

int metrics_render(char **out, size_t *len)
{
    struct out b = {malloc(8192), 0, 8192, 0};
    *out = NULL;
    if (len)
        *len = 0;
    if (!b.data)
        return FLAME_ENOMEM;
    b.data[0] = '\0';
    pthread_mutex_lock(&mu);
    render_table(&b);
    pthread_mutex_unlock(&mu);
    pthread_rwlock_rdlock(&source_lock);
    render_source(&b);
    pthread_rwlock_unlock(&source_lock);
    render_process(&b);
    if (b.nomem) {
        free(b.data);
        return FLAME_ENOMEM;
    }
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}
