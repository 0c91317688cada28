/*
 * loadgen - unary load on flamed: List with N runners tracked, at several
 * concurrencies, through libflame (c threads over --channels clients, 4 by
 * default: each flame_client is its own connection, and one connection
 * serialises its calls in gRPC core's transport, ~20% fewer List/s at c=16
 * here; each call synchronous as libflame makes it). Also flamed's idle RSS
 * and RSS per tracked runner, read from /proc/<flamed pid> around the boots.
 *
 *   loadgen [--runners N] [--conc 1,16,64] [--seconds S] [--warmup-ms MS]
 *           [--boot-conc K] [--keep-runners] [--all-pools] [--channels K]
 *           --out FILE.json
 *   loadgen --list-only --conc 16 --seconds S    (load only: for profiling)
 *
 * Per concurrency: a warm-up, then S seconds during which each of c threads
 * calls flame_client_list(pool "bench": exactly the N runners booted here, so
 * runners of other flamed instances that this flamed adopted at start do not
 * change the response; --all-pools lists everything) back to back; every
 * call's latency is kept; a call that fails or returns another count fails
 * the bench.
 * RPS = calls / wall seconds. flamed CPU% = (utime+stime ticks over the
 * window) / CLK_TCK / wall * 100 (200% = both cores of this machine).
 * loadgen's own CPU% is getrusage over the same window: the client competes
 * with flamed for the same cores.
 */
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static struct bench_env E;
static flame_client *C;          /* boots, shutdowns and the first List */
#define MAX_CHANNELS 16
static flame_client *g_ch[MAX_CHANNELS]; /* --channels: List thread i uses g_ch[i % n] */
static int g_n_ch = 4;
static atomic_int g_stop;
static atomic_int g_measure;
static size_t g_expect;      /* runners each List must return */
static const char *g_pool;   /* List's pool filter: "bench", or NULL (--all-pools) */

struct lt {
    flame_client *c;
    samples lat;
    uint64_t calls, errors;
    char err[1400];
};

static void *list_thread(void *p)
{
    struct lt *t = p;
    while (!atomic_load(&g_stop)) {
        flame_runner **rs = NULL;
        size_t n = 0;
        flame_status st;
        int measure = atomic_load(&g_measure);
        int64_t t0 = mono_ns();
        int rc = flame_client_list(t->c, g_pool, &rs, &n, &st);
        int64_t t1 = mono_ns();
        if (rc < 0 || n != g_expect) {
            t->errors++;
            snprintf(t->err, sizeof(t->err), "%s (%d): %s; %zu runners, want %zu",
                     flame_grpc_status_name(st.code), rc, st.message, n, g_expect);
        }
        flame_runner_list_free(rs, n);
        if (measure && atomic_load(&g_measure)) {
            t->calls++;
            if (t->lat.n == t->lat.cap) {
                size_t cap = t->lat.cap ? t->lat.cap * 2 : 4096;
                double *v = realloc(t->lat.v, cap * sizeof(double));
                if (!v)
                    die("out of memory");
                t->lat.v = v;
                t->lat.cap = cap;
            }
            t->lat.v[t->lat.n++] = (double)(t1 - t0) / 1e6;
        }
    }
    return NULL;
}

static size_t list_count(const char *pool)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    if (flame_client_list(C, pool, &rs, &n, &st) < 0)
        die("List: %s: %s", flame_grpc_status_name(st.code), st.message);
    flame_runner_list_free(rs, n);
    return n;
}

/* One concurrency level; returns its JSON. */
static cJSON *level(int conc, double seconds, long warmup_ms)
{
    struct lt *ts = calloc((size_t)conc, sizeof(*ts));
    for (int i = 0; i < conc; i++) {
        samples_init(&ts[i].lat);
        ts[i].c = g_ch[i % g_n_ch];
    }
    pthread_t *th = calloc((size_t)conc, sizeof(*th));
    atomic_store(&g_stop, 0);
    atomic_store(&g_measure, 0);
    for (int i = 0; i < conc; i++)
        if (pthread_create(&th[i], NULL, list_thread, &ts[i]) != 0)
            die("pthread_create");
    sleep_ms(warmup_ms);
    cJSON *load0 = load_json();
    long long tk0 = proc_cpu_ticks(E.flamed_pid);
    double self0 = self_cpu_s();
    int64_t w0 = mono_ns();
    atomic_store(&g_measure, 1);
    sleep_ms((long)(seconds * 1000));
    atomic_store(&g_measure, 0);
    int64_t w1 = mono_ns();
    long long tk1 = proc_cpu_ticks(E.flamed_pid);
    double self1 = self_cpu_s();
    long rss = proc_rss_kb(E.flamed_pid);
    long threads = proc_threads(E.flamed_pid);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    samples all;
    samples_init(&all);
    uint64_t calls = 0, errors = 0;
    const char *err = NULL;
    for (int i = 0; i < conc; i++) {
        samples_merge(&all, &ts[i].lat);
        calls += ts[i].calls;
        errors += ts[i].errors;
        if (ts[i].errors && !err)
            err = ts[i].err;
    }
    if (errors)
        die("List at concurrency %d: %llu of the calls failed, e.g. %s", conc,
            (unsigned long long)errors, err);
    if (!calls)
        die("List at concurrency %d: no call completed in %.1f s", conc, seconds);
    double wall = (double)(w1 - w0) / 1e9;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "conc", conc);
    cJSON_AddNumberToObject(o, "channels", conc < g_n_ch ? conc : g_n_ch);
    cJSON_AddNumberToObject(o, "seconds", round(wall * 1000) / 1000);
    cJSON_AddNumberToObject(o, "calls", (double)calls);
    cJSON_AddNumberToObject(o, "rps", round((double)calls / wall));
    cJSON_AddItemToObject(o, "latency_ms", samples_json(&all, 0));
    double fl_cpu_s = (double)(tk1 - tk0) / ticks_per_s();
    cJSON_AddNumberToObject(o, "flamed_cpu_us_per_call", round(fl_cpu_s / (double)calls * 1e7) / 10);
    if (fl_cpu_s > 0)
        cJSON_AddNumberToObject(o, "rps_per_flamed_cpu_s", round((double)calls / fl_cpu_s));
    cJSON_AddNumberToObject(o, "loadgen_cpu_us_per_call",
                            round((self1 - self0) / (double)calls * 1e7) / 10);
    cJSON_AddNumberToObject(o, "flamed_cpu_pct",
                            round((double)(tk1 - tk0) / ticks_per_s() / wall * 1000) / 10);
    cJSON_AddNumberToObject(o, "loadgen_cpu_pct", round((self1 - self0) / wall * 1000) / 10);
    cJSON_AddNumberToObject(o, "flamed_rss_kb", (double)rss);
    cJSON_AddNumberToObject(o, "flamed_threads", (double)threads);
    cJSON_AddItemToObject(o, "load_start", load0);
    cJSON_AddItemToObject(o, "load_end", load_json());
    note("  c=%-3d %8.0f rps  p50 %.3f ms  p99 %.3f ms  flamed CPU %.0f%%  loadgen CPU %.0f%%",
         conc, (double)calls / wall, samples_pct(&all, 0.5), samples_pct(&all, 0.99),
         (double)(tk1 - tk0) / ticks_per_s() / wall * 100, (self1 - self0) / wall * 100);
    for (int i = 0; i < conc; i++)
        samples_free(&ts[i].lat);
    samples_free(&all);
    free(ts);
    free(th);
    return o;
}

int main(int argc, char **argv)
{
    int runners = 100, boot_conc = 8, keep = 0, list_only = 0, all_pools = 0;
    double seconds = 10;
    long warmup_ms = 1000;
    const char *conc_list = "1,16,64", *out = NULL;
    static const struct option opts[] = {
        {"runners", 1, 0, 'n'}, {"conc", 1, 0, 'c'}, {"seconds", 1, 0, 's'},
        {"warmup-ms", 1, 0, 'w'}, {"boot-conc", 1, 0, 'b'}, {"keep-runners", 0, 0, 'k'},
        {"list-only", 0, 0, 'l'}, {"all-pools", 0, 0, 'a'}, {"out", 1, 0, 'o'},
        {"channels", 1, 0, 'C'}, {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': runners = atoi(optarg); break;
        case 'c': conc_list = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'w': warmup_ms = atol(optarg); break;
        case 'b': boot_conc = atoi(optarg); break;
        case 'k': keep = 1; break;
        case 'l': list_only = 1; break;
        case 'a': all_pools = 1; break;
        case 'C': g_n_ch = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    env_load(&E, "loadgen");
    if ((!out && !list_only) || runners < 0 || seconds <= 0)
        die("usage: loadgen [--runners N] [--conc 1,16,64] [--seconds S] --out FILE.json");
    if (g_n_ch < 1 || g_n_ch > MAX_CHANNELS)
        die("--channels must be 1..%d", MAX_CHANNELS);
    C = fl_open(&E);
    g_ch[0] = C;
    for (int i = 1; i < g_n_ch; i++)
        g_ch[i] = fl_open(&E);

    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "bench", "unary");
    long rss_start = proc_rss_kb(E.flamed_pid);
    size_t foreign = list_count(NULL); /* also opens the channel */
    sleep_ms(300);
    long rss_idle = proc_rss_kb(E.flamed_pid);
    struct runner_set rs = {0};
    long rss_runners = rss_idle;
    if (!list_only && runners > 0) {
        note("booting %d runners (%d at a time, 32 MiB memory limit each)", runners, boot_conc);
        int64_t t0 = mono_ns();
        boot_many(C, &E, (size_t)runners, boot_conc, "bench", 32 << 20, &rs);
        cJSON_AddNumberToObject(doc, "boot_all_s", round((double)(mono_ns() - t0) / 1e7) / 100);
        sleep_ms(500);
        rss_runners = proc_rss_kb(E.flamed_pid);
    }
    /* Other flamed instances' runners on this Docker (adopted at start) come
     * and go: List only the bench's pool unless asked, so every response
     * holds exactly the runners booted here. */
    g_pool = all_pools ? NULL : "bench";
    size_t listed = list_count(g_pool);
    if (list_only)
        g_expect = listed;
    else if (listed != (g_expect = all_pools ? foreign + (size_t)runners : (size_t)runners))
        die("List returned %zu runners, want %zu", listed, g_expect);
    cJSON_AddStringToObject(doc, "list_pool", g_pool ? g_pool : "");
    cJSON_AddNumberToObject(doc, "runners_tracked", (double)list_count(NULL));
    cJSON_AddNumberToObject(doc, "runners_booted", list_only ? 0 : runners);
    cJSON_AddNumberToObject(doc, "runners_listed", (double)listed);
    cJSON_AddNumberToObject(doc, "runners_foreign", (double)foreign);
    cJSON *mem = cJSON_AddObjectToObject(doc, "memory");
    cJSON_AddNumberToObject(mem, "rss_start_kb", (double)rss_start);
    cJSON_AddNumberToObject(mem, "rss_idle_kb", (double)rss_idle);
    cJSON_AddNumberToObject(mem, "rss_with_runners_kb", (double)rss_runners);
    if (runners > 0 && !list_only)
        cJSON_AddNumberToObject(mem, "per_runner_kb",
                                round((double)(rss_runners - rss_idle) / runners * 10) / 10);

    /* A List response's size, for the record. */
    note("List: %zu runners per response; concurrency %s, %.1f s each", listed, conc_list,
         seconds);
    cJSON *levels = cJSON_AddArrayToObject(doc, "levels");
    char *cl = strdup(conc_list);
    for (char *tok = strtok(cl, ","); tok; tok = strtok(NULL, ","))
        cJSON_AddItemToArray(levels, level(atoi(tok), seconds, warmup_ms));
    free(cl);

    if (rs.n && !keep) {
        note("shutting down %zu runners", rs.n);
        shutdown_many(C, &rs, boot_conc, 1);
    }
    if (out)
        json_write(doc, out);
    else
        cJSON_Delete(doc);
    for (int i = 1; i < g_n_ch; i++)
        flame_client_close(g_ch[i]);
    flame_client_close(C);
    return 0;
}
