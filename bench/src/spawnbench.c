/*
 * spawnbench - Spawn against raw Docker exec, on one runner booted through
 * flamed: stdout throughput, first-byte latency, and flamed's RSS per
 * in-flight Spawn.
 *
 *   spawnbench [--bytes B] [--reps R] [--echo-reps E] [--inflight S] --out FILE.json
 *
 * Command: sh -c 'yes | head -c B' (B bytes of "y\n" on stdout).
 *   flamed  flame_client_spawn; on_output counts stdout bytes (libflame has
 *           already unpacked each SpawnResponse).
 *   raw     POST /containers/ID/exec (libcurl, the body flamed sends), then
 *           POST /exec/EID/start {"Detach":false,"Tty":false} written on a
 *           plain unix socket, the 8-byte-header stream demultiplexed from
 *           64 KiB reads, stdout bytes counted; then GET /exec/EID/json until
 *           not running (as flamed does, for the exit code).
 * Both are timed from the first request to the exit code; MB/s = B / that
 * time (MB = 10^6 bytes). First byte = first stdout byte - start. Reps
 * alternate raw and flamed after one small warm-up each. "echo" reps run
 * `echo x`: the whole call's latency and first byte, raw vs flamed.
 * In-flight: S concurrent Spawns of `sleep 60` on the runner; RSS after every
 * one is Started, minus before, / S. They are then cancelled (flamed kills
 * the commands: SIGTERM).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

static struct bench_env E;
static flame_client *C;
static const char *g_runner, *g_cid;

struct result {
    uint64_t out, err, chunks; /* chunks: on_output calls (flamed) / stdout frames (raw) */
    int64_t t0, t_first, t_end;
    int exit_code;
};

/* ---------------------------------------------------------------- flamed */

static int fl_output(void *ud, int stream, const void *data, size_t len)
{
    struct result *r = ud;
    (void)data;
    if (stream == 1) {
        if (!r->out && len)
            r->t_first = mono_ns();
        r->out += len;
        r->chunks++;
    } else {
        r->err += len;
    }
    return 0;
}

static void flamed_spawn(const char *const *argv, struct result *r)
{
    memset(r, 0, sizeof(*r));
    flame_spawn_request req = {.runner_id = g_runner, .argv = argv};
    flame_spawn_handler h = {.on_output = fl_output, .ud = r};
    flame_status st;
    r->t0 = mono_ns();
    int rc = flame_client_spawn(C, &req, &h, &r->exit_code, &st);
    r->t_end = mono_ns();
    if (rc < 0)
        die("flamed Spawn: %s: %s", flame_grpc_status_name(st.code), st.message);
}

/* ---------------------------------------------------------------- raw */

static int uds_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect %s: %s", path, strerror(errno));
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("write to Docker: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

struct demux {
    unsigned char hdr[8];
    int have;
    uint32_t left;
    int stream;
};

static void demux_feed(struct demux *d, const unsigned char *p, size_t n, struct result *r)
{
    while (n) {
        if (d->left == 0) {
            while (n && d->have < 8) {
                d->hdr[d->have++] = *p++;
                n--;
            }
            if (d->have < 8)
                return;
            d->stream = d->hdr[0];
            if (d->stream == 1)
                r->chunks++;
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | d->hdr[7];
            d->have = 0;
            continue;
        }
        size_t k = n < d->left ? n : d->left;
        if (d->stream == 1) {
            if (!r->out)
                r->t_first = mono_ns();
            r->out += k;
        } else {
            r->err += k;
        }
        d->left -= (uint32_t)k;
        p += k;
        n -= k;
    }
}

static void raw_spawn(dk *d, const char *const *argv, struct result *r)
{
    static unsigned char buf[64 * 1024];
    memset(r, 0, sizeof(*r));
    cJSON *b = cJSON_CreateObject();
    cJSON_AddFalseToObject(b, "AttachStdin");
    cJSON_AddTrueToObject(b, "AttachStdout");
    cJSON_AddTrueToObject(b, "AttachStderr");
    cJSON_AddFalseToObject(b, "Tty");
    cJSON *cmd = cJSON_AddArrayToObject(b, "Cmd");
    for (size_t i = 0; argv[i]; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
    char *body = cJSON_PrintUnformatted(b), *resp = NULL, path[256];
    cJSON_Delete(b);
    r->t0 = mono_ns();
    snprintf(path, sizeof(path), "/containers/%s/exec", g_cid);
    dk_expect(d, "POST", path, body, 201, &resp);
    free(body);
    cJSON *j = cJSON_Parse(resp);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
    if (!cJSON_IsString(id))
        die("raw exec create: no Id in %.200s", resp);
    char eid[96];
    snprintf(eid, sizeof(eid), "%s", id->valuestring);
    cJSON_Delete(j);
    free(resp);

    static const char sbody[] = "{\"Detach\":false,\"Tty\":false}";
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST " DOCKER_API "/exec/%s/start HTTP/1.1\r\nHost: docker\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     eid, sizeof(sbody) - 1, sbody);
    int fd = uds_connect(E.dsock);
    write_all(fd, req, (size_t)n);
    /* Response head, then the raw stream until Docker closes the connection. */
    size_t hl = 0;
    char head[4096];
    unsigned char *body_start = NULL;
    size_t body_len = 0;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0)
            die("raw exec start: Docker closed before the response head");
        size_t take = (size_t)k;
        if (hl + take > sizeof(head) - 1)
            take = sizeof(head) - 1 - hl;
        memcpy(head + hl, buf, take);
        head[hl + take] = '\0';
        char *e = strstr(head, "\r\n\r\n");
        if (e) {
            size_t used = (size_t)(e + 4 - head) - hl;
            body_start = buf + used;
            body_len = (size_t)k - used;
            hl = (size_t)(e + 4 - head);
            break;
        }
        hl += take;
        if (hl >= sizeof(head) - 1)
            die("raw exec start: response head too long");
    }
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status != 200)
        die("raw exec start: %.200s", head);
    struct demux dm = {0};
    demux_feed(&dm, body_start, body_len, r);
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            die("raw exec read: %s", strerror(errno));
        if (k == 0)
            break;
        demux_feed(&dm, buf, (size_t)k, r);
    }
    close(fd);
    snprintf(path, sizeof(path), "/exec/%s/json", eid);
    for (int i = 0;; i++) {
        dk_expect(d, "GET", path, NULL, 200, &resp);
        j = cJSON_Parse(resp);
        free(resp);
        int running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "Running"));
        const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "ExitCode");
        r->exit_code = cJSON_IsNumber(ec) ? ec->valueint : -1;
        cJSON_Delete(j);
        if (!running)
            break;
        if (i > 200)
            die("raw exec %s: still running 10 s after its output closed", eid);
        sleep_ms(i < 10 ? 5 : 50);
    }
    r->t_end = mono_ns();
}

/* ---------------------------------------------------------------- in-flight */

static atomic_int g_started, g_cancel;

static void inf_started(void *ud, const char *exec_id)
{
    (void)ud, (void)exec_id;
    atomic_fetch_add(&g_started, 1);
}

static int inf_tick(void *ud)
{
    (void)ud;
    return atomic_load(&g_cancel);
}

struct inf {
    int rc;
    flame_status st;
};

static void *inf_thread(void *p)
{
    struct inf *x = p;
    static const char *const argv[] = {"sleep", "60", NULL};
    flame_spawn_request req = {.runner_id = g_runner, .argv = argv};
    flame_spawn_handler h = {.on_started = inf_started, .on_tick = inf_tick};
    int code;
    x->rc = flame_client_spawn(C, &req, &h, &code, &x->st);
    return NULL;
}

/* ---------------------------------------------------------------- main */

static double mb_s(uint64_t bytes, int64_t ns) { return (double)bytes / 1e6 / ((double)ns / 1e9); }

int main(int argc, char **argv)
{
    long long bytes = 512LL << 20;
    int reps = 3, echo_reps = 20, inflight = 50;
    const char *out = NULL;
    static const struct option opts[] = {{"bytes", 1, 0, 'b'}, {"reps", 1, 0, 'r'},
                                         {"echo-reps", 1, 0, 'e'}, {"inflight", 1, 0, 'i'},
                                         {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'b': bytes = atoll(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'e': echo_reps = atoi(optarg); break;
        case 'i': inflight = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    env_load(&E, "spawnbench");
    if (!out || bytes <= 0 || reps < 1 || echo_reps < 0 || inflight < 0)
        die("usage: spawnbench [--bytes B] [--reps R] [--echo-reps E] [--inflight S] --out FILE.json");
    C = fl_open(&E);
    dk *d = dk_open(&E);
    struct runner_set rs = {0};
    boot_many(C, &E, 1, 1, "bench", 0, &rs);
    g_runner = rs.ids[0];
    g_cid = rs.cids[0];

    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "bench", "spawn");
    cJSON_AddNumberToObject(doc, "bytes", (double)bytes);
    cJSON_AddNumberToObject(doc, "reps", reps);
    cJSON_AddItemToObject(doc, "load_start", load_json());

    char shcmd[128];
    snprintf(shcmd, sizeof(shcmd), "yes | head -c %lld", bytes);
    const char *const big[] = {"sh", "-c", shcmd, NULL};
    const char *const echo[] = {"echo", "x", NULL};
    struct result r;
    /* Warm-up. */
    raw_spawn(d, echo, &r);
    flamed_spawn(echo, &r);

    samples thr[2], first[2], ech[2], efirst[2], chunk[2]; /* [0] raw, [1] flamed */
    for (int p = 0; p < 2; p++) {
        samples_init(&thr[p]);
        samples_init(&first[p]);
        samples_init(&ech[p]);
        samples_init(&efirst[p]);
        samples_init(&chunk[p]);
    }
    /* CPU seconds per GB moved, per process, for each path: where the cycles go
     * on a machine whose cores are all busy. */
    int dockerd = pid_by_comm("dockerd");
    samples cpu_fl[2], cpu_self[2], cpu_dk[2];
    for (int p = 0; p < 2; p++) {
        samples_init(&cpu_fl[p]);
        samples_init(&cpu_self[p]);
        samples_init(&cpu_dk[p]);
    }
    note("throughput: %d rep(s) of `%s`, raw and flamed alternating", reps, shcmd);
    for (int i = 0; i < reps; i++) {
        for (int k = 0; k < 2; k++) {
            int p = (i + k) % 2;
            long long f0 = proc_cpu_ticks(E.flamed_pid), d0 = dockerd ? proc_cpu_ticks(dockerd) : 0;
            double s0 = self_cpu_s();
            if (p == 0)
                raw_spawn(d, big, &r);
            else
                flamed_spawn(big, &r);
            double gb = (double)bytes / 1e9;
            samples_add(&cpu_fl[p], (double)(proc_cpu_ticks(E.flamed_pid) - f0) / ticks_per_s() / gb);
            samples_add(&cpu_self[p], (self_cpu_s() - s0) / gb);
            if (dockerd)
                samples_add(&cpu_dk[p], (double)(proc_cpu_ticks(dockerd) - d0) / ticks_per_s() / gb);
            if ((long long)r.out != bytes || r.exit_code != 0)
                die("%s: %llu stdout bytes, exit code %d; want %lld, 0", p ? "flamed" : "raw",
                    (unsigned long long)r.out, r.exit_code, bytes);
            samples_add(&thr[p], mb_s(r.out, r.t_end - r.t0));
            samples_add(&first[p], (double)(r.t_first - r.t0) / 1e6);
            samples_add(&chunk[p], (double)r.out / (double)(r.chunks ? r.chunks : 1));
            note("  %-6s %7.1f MB/s  first byte %.2f ms  %llu %s of %.0f B, %.1f us each",
                 p ? "flamed" : "raw", mb_s(r.out, r.t_end - r.t0), (double)(r.t_first - r.t0) / 1e6,
                 (unsigned long long)r.chunks, p ? "messages" : "frames",
                 (double)r.out / (double)(r.chunks ? r.chunks : 1),
                 (double)(r.t_end - r.t_first) / 1e3 / (double)(r.chunks ? r.chunks : 1));
        }
    }
    cJSON_AddItemToObject(doc, "load_after_throughput", load_json());
    for (int i = 0; i < echo_reps; i++) {
        for (int k = 0; k < 2; k++) {
            int p = (i + k) % 2;
            if (p == 0)
                raw_spawn(d, echo, &r);
            else
                flamed_spawn(echo, &r);
            if (r.out != 2 || r.exit_code != 0)
                die("%s echo: %llu bytes, exit %d", p ? "flamed" : "raw", (unsigned long long)r.out,
                    r.exit_code);
            samples_add(&ech[p], (double)(r.t_end - r.t0) / 1e6);
            samples_add(&efirst[p], (double)(r.t_first - r.t0) / 1e6);
        }
    }
    static const char *const pn[2] = {"raw", "flamed"};
    for (int p = 0; p < 2; p++) {
        cJSON *o = cJSON_AddObjectToObject(doc, pn[p]);
        cJSON_AddItemToObject(o, "throughput_mb_s", samples_json(&thr[p], 1));
        cJSON_AddItemToObject(o, "first_byte_ms", samples_json(&first[p], 1));
        /* flamed: bytes per SpawnResponse; raw: bytes per Docker stdout frame. */
        cJSON_AddItemToObject(o, "stdout_bytes_per_chunk", samples_json(&chunk[p], 0));
        cJSON_AddItemToObject(o, "flamed_cpu_s_per_gb", samples_json(&cpu_fl[p], 0));
        cJSON_AddItemToObject(o, "client_cpu_s_per_gb", samples_json(&cpu_self[p], 0));
        if (dockerd)
            cJSON_AddItemToObject(o, "dockerd_cpu_s_per_gb", samples_json(&cpu_dk[p], 0));
        cJSON_AddItemToObject(o, "echo_total_ms", samples_json(&ech[p], 0));
        cJSON_AddItemToObject(o, "echo_first_byte_ms", samples_json(&efirst[p], 0));
    }
    double ratio = samples_pct(&thr[1], 0.5) / samples_pct(&thr[0], 0.5);
    cJSON_AddNumberToObject(doc, "throughput_ratio_p50", round(ratio * 1000) / 1000);
    if (echo_reps)
        cJSON_AddNumberToObject(doc, "echo_ratio_p50",
                                round(samples_pct(&ech[1], 0.5) / samples_pct(&ech[0], 0.5) * 1000) / 1000);

    /* In-flight Spawns. */
    if (inflight > 0) {
        sleep_ms(300);
        long rss0 = proc_rss_kb(E.flamed_pid);
        long thr0 = proc_threads(E.flamed_pid);
        note("in-flight: %d Spawns of `sleep 60`", inflight);
        struct inf *xs = calloc((size_t)inflight, sizeof(*xs));
        pthread_t *th = calloc((size_t)inflight, sizeof(*th));
        for (int i = 0; i < inflight; i++)
            if (pthread_create(&th[i], NULL, inf_thread, &xs[i]) != 0)
                die("pthread_create");
        int64_t until = mono_ns() + 60 * 1000000000LL;
        while (atomic_load(&g_started) < inflight) {
            if (mono_ns() > until)
                die("only %d of %d Spawns started within 60 s", atomic_load(&g_started), inflight);
            sleep_ms(10);
        }
        sleep_ms(500);
        long rss1 = proc_rss_kb(E.flamed_pid);
        long thr1 = proc_threads(E.flamed_pid);
        atomic_store(&g_cancel, 1);
        for (int i = 0; i < inflight; i++) {
            pthread_join(th[i], NULL);
            if (xs[i].rc != FLAME_ECANCELLED)
                die("in-flight Spawn %d ended with %d (%s), want CANCELLED", i, xs[i].rc,
                    xs[i].st.message);
        }
        cJSON *m = cJSON_AddObjectToObject(doc, "memory");
        cJSON_AddNumberToObject(m, "inflight", inflight);
        cJSON_AddNumberToObject(m, "rss_before_kb", (double)rss0);
        cJSON_AddNumberToObject(m, "rss_inflight_kb", (double)rss1);
        cJSON_AddNumberToObject(m, "per_spawn_kb", round((double)(rss1 - rss0) / inflight * 10) / 10);
        cJSON_AddNumberToObject(m, "threads_before", (double)thr0);
        cJSON_AddNumberToObject(m, "threads_inflight", (double)thr1);
        free(xs);
        free(th);
        /* flamed sends SIGKILL 2 s after SIGTERM to commands that ignore it; sleep does not. */
    }
    cJSON_AddItemToObject(doc, "load_end", load_json());
    note("throughput p50: raw %.1f MB/s, flamed %.1f MB/s, ratio %.2f", samples_pct(&thr[0], 0.5),
         samples_pct(&thr[1], 0.5), ratio);
    shutdown_many(C, &rs, 1, 1);
    json_write(doc, out);
    dk_close(d);
    flame_client_close(C);
    return 0;
}
