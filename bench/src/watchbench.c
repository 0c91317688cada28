/*
 * watchbench - Watch fan-out: W concurrent Watch streams in this process (one
 * thread each, all on one libflame channel), N runners booted while they
 * watch, then killed behind flamed's back so their exits reach flamed only
 * through Docker's event stream.
 *
 *   watchbench [--watchers W] [--runners N] [--boot-conc K] [--kill-gap-ms G] --out FILE.json
 *
 * Delays, each per (watcher, runner) pair, receive time = CLOCK_REALTIME taken
 * first thing in the watcher's callback (after libflame unpacked the message):
 *   exited_from_docker_die   receive of EXITED - timeNano of Docker's "die"
 *                            event for that container (this process follows
 *                            GET /events itself, filtered by the run label).
 *                            The headline: Docker's event -> flamed's events
 *                            thread -> registry -> hub -> W streams -> client.
 *   removed_from_docker_destroy  the same for REMOVED and "destroy" (flamed's
 *                            reaper removes the container; REMOVED may be
 *                            published when its DELETE returns, before or
 *                            after dockerd's destroy event).
 *   started_from_docker_start    STARTED vs "start": includes Boot's own
 *                            post-start inspect, not only fan-out.
 *   hub_to_watcher           receive - WatchResponse.time_unix_nano (when
 *                            flamed recorded the event), every event type:
 *                            flamed's fan-out and the client alone.
 *   docker_to_flamed         per runner: EXITED time_unix_nano - die timeNano.
 *   spread                   per event: last watcher's receive - first's.
 * Readiness: a sentinel runner exists before the watchers open with
 * include_existing; a watcher counts as open when its EXISTING event arrives.
 * flamed RSS: before the watchers, with all W open (-> per watch), peak
 * (sampled every 20 ms) and after the N runners are gone.
 */
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common.h"

static struct bench_env E;
static flame_client *C;
static int W = 1000, N = 100;

static atomic_int g_ready, g_done, g_failed;
static atomic_long g_started, g_removed;
static atomic_int g_stop_sampler, g_stop_events;
static atomic_long g_rss_peak;

struct rec {
    uint64_t rid;
    int64_t t_flamed, t_recv;
    uint64_t seq;
    int type;
};

struct watcher {
    int idx, ready, removed, seq_err;
    uint64_t last_seq;
    struct rec *r;
    size_t n, cap;
    int rc;
    char err[1200];
};

static uint64_t rid_of(const char *s) { return s ? strtoull(s, NULL, 16) : 0; }

static int on_event(void *ud, const flame_event *ev)
{
    int64_t now = real_ns();
    struct watcher *w = ud;
    const flame_runner *r = ev->runner;
    if (ev->sequence <= w->last_seq && w->last_seq)
        w->seq_err++;
    w->last_seq = ev->sequence;
    if (!r || !r->pool)
        return 0;
    if (strcmp(r->pool, "sentinel") == 0) {
        if (!w->ready && ev->type == FLAME_EVENT_EXISTING) {
            w->ready = 1;
            atomic_fetch_add(&g_ready, 1);
        }
        return 0;
    }
    if (strcmp(r->pool, "bench") != 0)
        return 0;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : (size_t)N * 6 + 16;
        if (!(w->r = realloc(w->r, w->cap * sizeof(*w->r))))
            die("out of memory");
    }
    w->r[w->n++] = (struct rec){rid_of(r->id), ev->time_unix_nano, now, ev->sequence, ev->type};
    if (ev->type == FLAME_EVENT_STARTED)
        atomic_fetch_add(&g_started, 1);
    if (ev->type == FLAME_EVENT_REMOVED) {
        atomic_fetch_add(&g_removed, 1);
        if (++w->removed == N)
            return 1; /* seen every runner go: end this watch */
    }
    return 0;
}

static void *watch_thread(void *p)
{
    struct watcher *w = p;
    flame_watch_request req = {.include_existing = 1};
    flame_status st;
    w->rc = flame_client_watch(C, &req, on_event, w, &st);
    if (w->rc < 0 || w->removed < N) {
        snprintf(w->err, sizeof(w->err), "%s (%d): %s", flame_grpc_status_name(st.code), w->rc,
                 st.message);
        atomic_fetch_add(&g_failed, 1);
    }
    atomic_fetch_add(&g_done, 1);
    return NULL;
}

static void *rss_sampler(void *p)
{
    (void)p;
    while (!atomic_load(&g_stop_sampler)) {
        long v = proc_rss_kb(E.flamed_pid);
        if (v > atomic_load(&g_rss_peak))
            atomic_store(&g_rss_peak, v);
        sleep_ms(20);
    }
    return NULL;
}

/* ---------------------------------------------------------------- Docker events */

struct dev {
    uint64_t rid;
    int action; /* 0 start, 1 die, 2 destroy */
    int64_t time_nano;
};

static struct {
    char *line;
    size_t len, cap;
    struct dev *ev;
    size_t n, cap_ev;
    pthread_mutex_t mu;
    atomic_int open;
} D = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void dev_line(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    if (!j)
        return;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "Action");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(j, "timeNano");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "Actor"), "Attributes");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(attrs, "flamed.runner-id");
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(attrs, "flamed.pool");
    int action = -1;
    if (cJSON_IsString(a))
        action = strcmp(a->valuestring, "start") == 0     ? 0
                 : strcmp(a->valuestring, "die") == 0     ? 1
                 : strcmp(a->valuestring, "destroy") == 0 ? 2
                                                          : -1;
    if (action >= 0 && cJSON_IsNumber(tn) && cJSON_IsString(rid) && cJSON_IsString(pool) &&
        strcmp(pool->valuestring, "bench") == 0) {
        pthread_mutex_lock(&D.mu);
        if (D.n == D.cap_ev) {
            D.cap_ev = D.cap_ev ? D.cap_ev * 2 : 1024;
            if (!(D.ev = realloc(D.ev, D.cap_ev * sizeof(*D.ev))))
                die("out of memory");
        }
        D.ev[D.n++] = (struct dev){rid_of(rid->valuestring), action, (int64_t)tn->valuedouble};
        pthread_mutex_unlock(&D.mu);
    }
    cJSON_Delete(j);
}

static size_t dev_write(char *p, size_t size, size_t n, void *ud)
{
    (void)ud;
    size_t len = size * n;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            if (D.len) {
                D.line[D.len] = '\0';
                dev_line(D.line);
            }
            D.len = 0;
            continue;
        }
        if (D.len + 2 > D.cap) {
            D.cap = D.cap ? D.cap * 2 : 4096;
            if (!(D.line = realloc(D.line, D.cap)))
                return 0;
        }
        D.line[D.len++] = p[i];
    }
    return len;
}

static size_t dev_header(char *p, size_t size, size_t n, void *ud)
{
    (void)ud;
    if (size * n <= 2)
        atomic_store(&D.open, 1); /* end of the response headers: we are subscribed */
    (void)p;
    return size * n;
}

static int dev_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)ud, (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&g_stop_events) ? 1 : 0;
}

static void *docker_events(void *p)
{
    (void)p;
    CURL *h = curl_easy_init();
    char filt[256], url[1024];
    snprintf(filt, sizeof(filt), "{\"type\":[\"container\"],\"label\":[\"%s\"]}", E.label);
    char *esc = curl_easy_escape(h, filt, 0);
    snprintf(url, sizeof(url), "http://localhost" DOCKER_API "/events?filters=%s", esc);
    curl_free(esc);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, E.dsock);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dev_write);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, dev_header);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, dev_progress);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_ABORTED_BY_CALLBACK)
        die("Docker GET /events ended: %s", curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    return NULL;
}

/* ---------------------------------------------------------------- analysis */

static int64_t dev_time(uint64_t rid, int action)
{
    for (size_t i = 0; i < D.n; i++)
        if (D.ev[i].rid == rid && D.ev[i].action == action)
            return D.ev[i].time_nano;
    return 0;
}

static void wait_for(const char *what, atomic_long *ctr, long want, int timeout_s)
{
    int64_t until = mono_ns() + (int64_t)timeout_s * 1000000000;
    while (atomic_load(ctr) < want) {
        if (atomic_load(&g_failed))
            die("a watch ended early while waiting for %s", what);
        if (mono_ns() > until)
            die("waiting for %s: %ld of %ld after %d s", what, atomic_load(ctr), want, timeout_s);
        sleep_ms(10);
    }
}

int main(int argc, char **argv)
{
    int boot_conc = 4, kill_gap_ms = 0;
    const char *out = NULL;
    static const struct option opts[] = {{"watchers", 1, 0, 'w'}, {"runners", 1, 0, 'n'},
                                         {"boot-conc", 1, 0, 'b'}, {"kill-gap-ms", 1, 0, 'g'},
                                         {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'w': W = atoi(optarg); break;
        case 'n': N = atoi(optarg); break;
        case 'b': boot_conc = atoi(optarg); break;
        case 'g': kill_gap_ms = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    env_load(&E, "watchbench");
    if (!out || W < 1 || N < 1)
        die("usage: watchbench [--watchers W] [--runners N] --out FILE.json");
    C = fl_open(&E);
    dk *d = dk_open(&E);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "bench", "watch");
    cJSON_AddNumberToObject(doc, "watchers", W);
    cJSON_AddNumberToObject(doc, "runners", N);
    cJSON_AddItemToObject(doc, "load_start", load_json());

    struct runner_set sentinel = {0}, rs = {0};
    boot_many(C, &E, 1, 1, "sentinel", 32 << 20, &sentinel);
    sleep_ms(300);
    long rss0 = proc_rss_kb(E.flamed_pid);

    pthread_t evt, smp;
    pthread_create(&evt, NULL, docker_events, NULL);
    for (int i = 0; i < 500 && !atomic_load(&D.open); i++)
        sleep_ms(10);
    if (!atomic_load(&D.open))
        die("Docker GET /events did not answer within 5 s");

    note("opening %d Watch streams", W);
    struct watcher *ws = calloc((size_t)W, sizeof(*ws));
    pthread_t *th = calloc((size_t)W, sizeof(*th));
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    int64_t t_open = mono_ns();
    for (int i = 0; i < W; i++) {
        ws[i].idx = i;
        int rc = pthread_create(&th[i], &at, watch_thread, &ws[i]);
        if (rc != 0)
            die("pthread_create (watcher %d): %s", i, strerror(rc));
    }
    pthread_attr_destroy(&at);
    {
        int64_t until = mono_ns() + 120 * 1000000000LL;
        while (atomic_load(&g_ready) < W) {
            if (atomic_load(&g_failed)) {
                for (int i = 0; i < W; i++)
                    if (ws[i].err[0])
                        die("watch %d ended before it was open: %s", i, ws[i].err);
            }
            if (mono_ns() > until)
                die("only %d of %d watches open after 120 s", atomic_load(&g_ready), W);
            sleep_ms(10);
        }
    }
    double open_s = (double)(mono_ns() - t_open) / 1e9;
    sleep_ms(500);
    long rss_open = proc_rss_kb(E.flamed_pid);
    atomic_store(&g_rss_peak, rss_open);
    pthread_create(&smp, NULL, rss_sampler, NULL);
    note("%d watches open in %.2f s; flamed RSS %ld -> %ld kB", W, open_s, rss0, rss_open);

    note("booting %d runners (%d at a time) while watched", N, boot_conc);
    cJSON_AddItemToObject(doc, "load_before_boots", load_json());
    int64_t tb = mono_ns();
    boot_many(C, &E, (size_t)N, boot_conc, "bench", 32 << 20, &rs);
    double boot_s = (double)(mono_ns() - tb) / 1e9;
    wait_for("STARTED at every watcher", &g_started, (long)W * N, 300);
    sleep_ms(300);
    long rss_booted = proc_rss_kb(E.flamed_pid);

    note("killing the %d runners through Docker (POST /containers/ID/kill)", N);
    cJSON_AddItemToObject(doc, "load_before_kills", load_json());
    for (size_t i = 0; i < rs.n; i++) {
        char path[160];
        snprintf(path, sizeof(path), "/containers/%s/kill", rs.cids[i]);
        dk_expect(d, "POST", path, NULL, 204, NULL);
        if (kill_gap_ms)
            sleep_ms(kill_gap_ms);
    }
    {
        int64_t until = mono_ns() + 600 * 1000000000LL;
        while (atomic_load(&g_done) < W && mono_ns() < until)
            sleep_ms(10);
        if (atomic_load(&g_done) < W)
            die("after 600 s only %d of %d watches saw every runner REMOVED (%ld REMOVED events "
                "of %ld)", atomic_load(&g_done), W, atomic_load(&g_removed), (long)W * N);
    }
    for (int i = 0; i < W; i++)
        pthread_join(th[i], NULL);
    atomic_store(&g_stop_sampler, 1);
    pthread_join(smp, NULL);
    cJSON_AddItemToObject(doc, "load_end", load_json());
    atomic_store(&g_stop_events, 1);
    pthread_join(evt, NULL);
    if (atomic_load(&g_failed))
        for (int i = 0; i < W; i++)
            if (ws[i].err[0])
                die("watch %d failed: %s", i, ws[i].err);
    sleep_ms(300);
    long rss_end = proc_rss_kb(E.flamed_pid);

    /* Delays. */
    samples s_die, s_destroy, s_start, s_hub, s_d2f, s_spread;
    samples_init(&s_die);
    samples_init(&s_destroy);
    samples_init(&s_start);
    samples_init(&s_hub);
    samples_init(&s_d2f);
    samples_init(&s_spread);
    int64_t *t_start = calloc(rs.n, sizeof(int64_t)), *t_die = calloc(rs.n, sizeof(int64_t)),
            *t_destroy = calloc(rs.n, sizeof(int64_t));
    uint64_t *rids = calloc(rs.n, sizeof(uint64_t));
    int64_t *fl_exit = calloc(rs.n, sizeof(int64_t));
    int64_t(*lo)[8] = calloc(rs.n, sizeof(*lo)), (*hi)[8] = calloc(rs.n, sizeof(*hi));
    size_t missing_docker = 0;
    for (size_t i = 0; i < rs.n; i++) {
        rids[i] = rid_of(rs.ids[i]);
        t_start[i] = dev_time(rids[i], 0);
        t_die[i] = dev_time(rids[i], 1);
        t_destroy[i] = dev_time(rids[i], 2);
        missing_docker += !t_start[i] + !t_die[i] + !t_destroy[i];
    }
    long seq_errors = 0;
    for (int w = 0; w < W; w++) {
        seq_errors += ws[w].seq_err;
        for (size_t k = 0; k < ws[w].n; k++) {
            struct rec *r = &ws[w].r[k];
            size_t i;
            for (i = 0; i < rs.n && rids[i] != r->rid; i++)
                ;
            if (i == rs.n)
                continue;
            samples_add(&s_hub, (double)(r->t_recv - r->t_flamed) / 1e6);
            if (r->type == FLAME_EVENT_STARTED && t_start[i])
                samples_add(&s_start, (double)(r->t_recv - t_start[i]) / 1e6);
            if (r->type == FLAME_EVENT_EXITED && t_die[i]) {
                samples_add(&s_die, (double)(r->t_recv - t_die[i]) / 1e6);
                fl_exit[i] = r->t_flamed;
            }
            if (r->type == FLAME_EVENT_REMOVED && t_destroy[i])
                samples_add(&s_destroy, (double)(r->t_recv - t_destroy[i]) / 1e6);
            if (r->type > 0 && r->type < 8) {
                if (!lo[i][r->type] || r->t_recv < lo[i][r->type])
                    lo[i][r->type] = r->t_recv;
                if (r->t_recv > hi[i][r->type])
                    hi[i][r->type] = r->t_recv;
            }
        }
    }
    for (size_t i = 0; i < rs.n; i++) {
        if (fl_exit[i] && t_die[i])
            samples_add(&s_d2f, (double)(fl_exit[i] - t_die[i]) / 1e6);
        for (int t = 1; t < 8; t++)
            if (lo[i][t])
                samples_add(&s_spread, (double)(hi[i][t] - lo[i][t]) / 1e6);
    }
    if (seq_errors)
        die("%ld events arrived with a sequence not above the previous one", seq_errors);
    if (!s_die.n)
        die("no EXITED event could be matched with Docker's die event");

    cJSON_AddNumberToObject(doc, "watch_open_s", round(open_s * 100) / 100);
    cJSON_AddNumberToObject(doc, "boot_all_s", round(boot_s * 100) / 100);
    cJSON_AddNumberToObject(doc, "docker_events_missing", (double)missing_docker);
    cJSON *dl = cJSON_AddObjectToObject(doc, "delay_ms");
    cJSON_AddItemToObject(dl, "exited_from_docker_die", samples_json(&s_die, 0));
    cJSON_AddItemToObject(dl, "removed_from_docker_destroy", samples_json(&s_destroy, 0));
    cJSON_AddItemToObject(dl, "started_from_docker_start", samples_json(&s_start, 0));
    cJSON_AddItemToObject(dl, "hub_to_watcher", samples_json(&s_hub, 0));
    cJSON_AddItemToObject(dl, "docker_to_flamed", samples_json(&s_d2f, 0));
    cJSON_AddItemToObject(dl, "spread", samples_json(&s_spread, 0));
    /* A CDF of the headline for the plot: 200 quantiles. */
    cJSON *cdf = cJSON_AddArrayToObject(doc, "exited_cdf_ms");
    for (int q = 1; q <= 200; q++)
        cJSON_AddItemToArray(cdf, cJSON_CreateNumber(round(samples_pct(&s_die, q / 200.0) * 1000) / 1000));
    cJSON *mem = cJSON_AddObjectToObject(doc, "memory");
    cJSON_AddNumberToObject(mem, "rss_before_kb", (double)rss0);
    cJSON_AddNumberToObject(mem, "rss_watches_open_kb", (double)rss_open);
    cJSON_AddNumberToObject(mem, "per_watch_kb", round((double)(rss_open - rss0) / W * 100) / 100);
    cJSON_AddNumberToObject(mem, "rss_after_boots_kb", (double)rss_booted);
    cJSON_AddNumberToObject(mem, "rss_peak_kb", (double)atomic_load(&g_rss_peak));
    cJSON_AddNumberToObject(mem, "rss_end_kb", (double)rss_end);
    note("EXITED fan-out from Docker's die: p50 %.2f ms p99 %.2f ms (%zu samples); hub->watcher "
         "p50 %.2f p99 %.2f; flamed RSS peak %ld kB",
         samples_pct(&s_die, 0.5), samples_pct(&s_die, 0.99), s_die.n, samples_pct(&s_hub, 0.5),
         samples_pct(&s_hub, 0.99), atomic_load(&g_rss_peak));

    /* The runners are gone (killed, reaped); forget them. The sentinel goes now. */
    for (size_t i = 0; i < rs.n; i++) {
        free(rs.ids[i]);
        free(rs.cids[i]);
    }
    shutdown_many(C, &sentinel, 1, 1);
    json_write(doc, out);
    dk_close(d);
    flame_client_close(C);
    return 0;
}
