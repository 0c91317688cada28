/* common.c - see common.h. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

static const char *g_prog = "bench";

/* ---------------------------------------------------------------- output */

void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: FAILED: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1); /* no atexit/gRPC teardown with threads still in calls */
}

void note(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void json_write(cJSON *doc, const char *path)
{
    char *s = cJSON_Print(doc);
    if (!s)
        die("out of memory printing JSON");
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    fputs(s, f);
    fputc('\n', f);
    if (fclose(f) != 0)
        die("writing %s: %s", path, strerror(errno));
    free(s);
    cJSON_Delete(doc);
}

/*
 * The bench clients' allocator tuned as flamed tunes its own (server/main.c
 * malloc_tune) and as flame/client.h advises callers at these rates: gRPC
 * core frees each response's buffers after the call (a ~40 KB List, a 64 KiB
 * Spawn message), and with glibc's 128 KiB trim threshold the heap top went
 * back to the kernel and was faulted in again on nearly every call. That
 * made the client, not flamed, the limit: List c=16 3.4 k RPS at 115%
 * loadgen CPU against 11.4 k tuned; Spawn's client 4.5 CPU-s per GB against
 * 1.5 (bench/PROFILE.md). 64 Lists in flight hold ~11 MB, hence 32 MiB (4
 * MiB left c=64 at 4.8 k RPS). It applies to the whole process, so to the
 * raw paths measured beside flamed's as well. MALLOC_TRIM_THRESHOLD_ or
 * GLIBC_TUNABLES in the environment turn it off, to measure untuned clients.
 */
static void malloc_tune(void)
{
    if (getenv("MALLOC_TRIM_THRESHOLD_") || getenv("GLIBC_TUNABLES"))
        return;
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

void env_load(struct bench_env *e, const char *prog)
{
    malloc_tune();
    g_prog = prog;
    memset(e, 0, sizeof(*e));
    const char *pid;
    e->addr = getenv("FLBENCH_ADDR");
    e->net = getenv("FLBENCH_NET");
    e->tag = getenv("FLBENCH_TAG");
    pid = getenv("FLBENCH_FLAMED_PID");
    e->dsock = getenv("FLBENCH_DOCKER_SOCK");
    e->image = getenv("FLBENCH_IMAGE");
    if (!e->addr || !e->net || !e->tag || !pid)
        die("FLBENCH_ADDR, FLBENCH_NET, FLBENCH_TAG and FLBENCH_FLAMED_PID must be set (bench/run "
            "sets them)");
    if (!e->dsock || !*e->dsock)
        e->dsock = "/var/run/docker.sock";
    if (!e->image || !*e->image)
        e->image = "flamed-test/app:latest";
    e->flamed_pid = atoi(pid);
    snprintf(e->label, sizeof(e->label), "fltest.run=%s", e->tag);
    e->labels[0] = e->label;
    e->labels[1] = NULL;
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
        die("curl_global_init failed");
}

/* ---------------------------------------------------------------- clocks */

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---------------------------------------------------------------- samples */

void samples_init(samples *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
}

void samples_free(samples *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
    pthread_mutex_destroy(&s->mu);
}

static void samples_push(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    s->sorted = 0;
}

void samples_add(samples *s, double x)
{
    pthread_mutex_lock(&s->mu);
    samples_push(s, x);
    pthread_mutex_unlock(&s->mu);
}

void samples_merge(samples *dst, const samples *src)
{
    pthread_mutex_lock(&dst->mu);
    for (size_t i = 0; i < src->n; i++)
        samples_push(dst, src->v[i]);
    pthread_mutex_unlock(&dst->mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double samples_pct(samples *s, double q)
{
    if (!s->n)
        return NAN;
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof(double), cmp_double);
        s->sorted = 1;
    }
    size_t k = (size_t)ceil(q * (double)s->n);
    return s->v[k ? k - 1 : 0];
}

double samples_mean(const samples *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    return s->n ? sum / (double)s->n : NAN;
}

static double r3(double x) { return round(x * 1000.0) / 1000.0; }

cJSON *samples_json(samples *s, int raw)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    if (s->n) {
        cJSON_AddNumberToObject(o, "p50", r3(samples_pct(s, 0.50)));
        cJSON_AddNumberToObject(o, "p95", r3(samples_pct(s, 0.95)));
        cJSON_AddNumberToObject(o, "p99", r3(samples_pct(s, 0.99)));
        cJSON_AddNumberToObject(o, "mean", r3(samples_mean(s)));
        cJSON_AddNumberToObject(o, "min", r3(s->v[0]));
        cJSON_AddNumberToObject(o, "max", r3(s->v[s->n - 1]));
    }
    if (raw) {
        cJSON *a = cJSON_AddArrayToObject(o, "samples");
        for (size_t i = 0; i < s->n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(r3(s->v[i])));
    }
    return o;
}

/* ---------------------------------------------------------------- /proc */

static long status_field(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        die("flamed (pid %d) is gone: %s", pid, strerror(errno));
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

long proc_rss_kb(int pid) { return status_field(pid, "VmRSS"); }
long proc_threads(int pid) { return status_field(pid, "Threads"); }
long proc_rss_anon_kb(int pid) { return status_field(pid, "RssAnon"); }

long long proc_cpu_ticks(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        die("flamed (pid %d) is gone: %s", pid, strerror(errno));
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the ")" of comm: state(3) ... utime(14) stime(15). */
    char *p = strrchr(buf, ')');
    if (!p)
        die("cannot parse %s", path);
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("cannot parse %s", path);
    return (long long)(ut + st);
}

double ticks_per_s(void) { return (double)sysconf(_SC_CLK_TCK); }

cJSON *load_json(void)
{
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3)
        l[0] = l[1] = l[2] = -1;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(round(l[i] * 100) / 100));
    return a;
}

double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int pid_by_comm(const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    if (!d)
        return 0;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], name[64] = "";
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof(name), f)) {
            name[strcspn(name, "\n")] = '\0';
            if (strcmp(name, comm) == 0)
                found = atoi(e->d_name);
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

/* ---------------------------------------------------------------- Docker */

struct dk {
    CURL *h;
    struct curl_slist *hdrs;
    char *buf;
    size_t len, cap;
};

static size_t dk_write(char *p, size_t size, size_t n, void *ud)
{
    dk *d = ud;
    size_t len = size * n;
    if (d->len + len + 1 > d->cap) {
        size_t cap = (d->len + len + 1) * 2;
        char *b = realloc(d->buf, cap);
        if (!b)
            return 0;
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, len);
    d->len += len;
    d->buf[d->len] = '\0';
    return len;
}

dk *dk_open(const struct bench_env *e)
{
    dk *d = calloc(1, sizeof(*d));
    if (!d || !(d->h = curl_easy_init()))
        die("out of memory (curl)");
    curl_easy_setopt(d->h, CURLOPT_UNIX_SOCKET_PATH, e->dsock);
    curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, dk_write);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->h, CURLOPT_TIMEOUT_MS, 120000L);
    d->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    d->hdrs = curl_slist_append(d->hdrs, "Expect:");
    curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
    return d;
}

void dk_close(dk *d)
{
    if (!d)
        return;
    curl_easy_cleanup(d->h);
    curl_slist_free_all(d->hdrs);
    free(d->buf);
    free(d);
}

long dk_req(dk *d, const char *method, const char *path, const char *json_body, char **out)
{
    char url[1024];
    snprintf(url, sizeof(url), "http://localhost" DOCKER_API "%s", path);
    d->len = 0;
    if (d->buf)
        d->buf[0] = '\0';
    curl_easy_setopt(d->h, CURLOPT_URL, url);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(d->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(d->h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(d->h, CURLOPT_POST, 1L);
        curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, json_body ? json_body : "");
        curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, (long)(json_body ? strlen(json_body) : 0));
        curl_easy_setopt(d->h, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    }
    CURLcode rc = curl_easy_perform(d->h);
    if (rc != CURLE_OK)
        die("Docker %s %s: %s", method, path, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    if (out)
        *out = strdup(d->buf ? d->buf : "");
    return status;
}

void dk_expect(dk *d, const char *method, const char *path, const char *json_body, long want,
               char **out)
{
    char *body = NULL;
    long st = dk_req(d, method, path, json_body, &body);
    if (st != want)
        die("Docker %s %s: HTTP %ld (want %ld): %.300s", method, path, st, want, body);
    if (out)
        *out = body;
    else
        free(body);
}

/* ---------------------------------------------------------------- flamed */

flame_client *fl_open(const struct bench_env *e)
{
    flame_client *c = NULL;
    flame_client_options o = {.timeout_ms = 300000};
    int rc = flame_client_open(&c, e->addr, &o);
    if (rc < 0)
        die("flame_client_open(%s): %d", e->addr, rc);
    return c;
}

struct boot_job {
    flame_client *c;
    const struct bench_env *e;
    const char *pool;
    int64_t mem;
    struct runner_set *rs;
    atomic_size_t *next;
    uint32_t timeout_ms;
};

static void *boot_thread(void *p)
{
    struct boot_job *j = p;
    for (;;) {
        size_t i = atomic_fetch_add(j->next, 1);
        if (i >= j->rs->n)
            return NULL;
        flame_boot_request req = {.image = j->e->image, .network = j->e->net, .pool = j->pool,
                                  .labels = j->e->labels, .memory_bytes = j->mem,
                                  .boot_timeout_ms = BENCH_BOOT_TIMEOUT_MS};
        flame_runner *r = NULL;
        flame_status st;
        int rc = flame_client_boot(j->c, &req, &r, &st);
        if (rc < 0)
            die("Boot %zu/%zu: %s (%d): %s", i + 1, j->rs->n, flame_grpc_status_name(st.code),
                rc, st.message);
        j->rs->ids[i] = strdup(r->id);
        j->rs->cids[i] = strdup(r->container_id);
        flame_runner_free(r);
    }
}

void boot_many(flame_client *c, const struct bench_env *e, size_t n, int conc, const char *pool,
               int64_t mem_bytes, struct runner_set *out)
{
    atomic_size_t next = 0;
    out->n = n;
    out->ids = calloc(n + 1, sizeof(char *));
    out->cids = calloc(n + 1, sizeof(char *));
    if (!out->ids || !out->cids)
        die("out of memory");
    if (conc < 1)
        conc = 1;
    if ((size_t)conc > n)
        conc = (int)n;
    struct boot_job j = {c, e, pool, mem_bytes, out, &next, 0};
    struct boot_job *jobs = calloc((size_t)conc, sizeof(*jobs));
    for (int i = 0; i < conc; i++)
        jobs[i] = j;
    run_threads(conc, 0, boot_thread, jobs, sizeof(*jobs));
    free(jobs);
}

static void *shutdown_thread(void *p)
{
    struct boot_job *j = p;
    for (;;) {
        size_t i = atomic_fetch_add(j->next, 1);
        if (i >= j->rs->n)
            return NULL;
        flame_status st;
        int rc = flame_client_shutdown(j->c, j->rs->ids[i], j->timeout_ms, NULL, &st);
        if (rc < 0)
            die("Shutdown %s: %s: %s", j->rs->ids[i], flame_grpc_status_name(st.code), st.message);
    }
}

void shutdown_many(flame_client *c, struct runner_set *rs, int conc, uint32_t timeout_ms)
{
    atomic_size_t next = 0;
    if (rs->n) {
        if (conc < 1)
            conc = 1;
        if ((size_t)conc > rs->n)
            conc = (int)rs->n;
        struct boot_job j = {c, NULL, NULL, 0, rs, &next, timeout_ms};
        struct boot_job *jobs = calloc((size_t)conc, sizeof(*jobs));
        for (int i = 0; i < conc; i++)
            jobs[i] = j;
        run_threads(conc, 0, shutdown_thread, jobs, sizeof(*jobs));
        free(jobs);
    }
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->ids[i]);
        free(rs->cids[i]);
    }
    free(rs->ids);
    free(rs->cids);
    memset(rs, 0, sizeof(*rs));
}

void run_threads(int n, size_t stack, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    pthread_attr_t at;
    pthread_attr_init(&at);
    if (stack)
        pthread_attr_setstacksize(&at, stack);
    for (int i = 0; i < n; i++) {
        int rc = pthread_create(&t[i], &at, fn, (char *)args + (size_t)i * arg_size);
        if (rc != 0)
            die("pthread_create: %s", strerror(rc));
    }
    pthread_attr_destroy(&at);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}
