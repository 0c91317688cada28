/*
 * bootbench - Boot and Shutdown latency: flamed against the Docker Engine API
 * itself and against the docker CLI, same image, same user-defined network,
 * same container settings, in one run.
 *
 *   bootbench [--reps N] [--conc C] [--waves W] [--warmup 0|1] --out FILE.json
 *
 * Paths (each timed in this process, CLOCK_MONOTONIC):
 *   raw     libcurl on the socket, one kept-alive connection per thread:
 *           POST /containers/create?name=N with the body flamed sends (Image,
 *           Hostname = N, Env PHX_SERVER=false, flamed's five labels with
 *           managed-by=fltest-bench so no flamed adopts them, the run label,
 *           HostConfig NetworkMode + RestartPolicy no, NetworkingConfig alias N),
 *           then POST /containers/ID/start.
 *           Teardown: POST /containers/ID/stop?t=0, DELETE /containers/ID?force=1&v=1.
 *   flamed  flame_client_boot (libflame, one shared channel); teardown
 *           flame_client_shutdown with timeout_ms 1 (SIGTERM, 1 ms, SIGKILL).
 *   cli     docker run -d --name N --hostname N --network NET --network-alias N
 *           --label ... -e PHX_SERVER=false --restart no IMAGE (a process: its
 *           start-up is part of what a CLI user pays); teardown docker rm -f N.
 * Sequential: one untimed warm-up per path, then N reps, the path order rotated
 * each rep; each rep boots, then tears down. Concurrent: W waves per path of C
 * boots released together by a barrier, then C teardowns released together.
 */
#include <getopt.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

enum { RAW, FLAMED, CLI, NPATH };
static const char *const path_name[NPATH] = {"raw", "flamed", "cli"};

static struct bench_env E;
static flame_client *C;
static atomic_uint g_seq;

/* One booted container, whichever path made it. */
struct unit {
    char name[96];
    char id[128]; /* container id (raw), runner id (flamed), name (cli) */
};

static void unit_name(struct unit *u, int path)
{
    snprintf(u->name, sizeof(u->name), "fltest-bench-%s-%c%u", E.tag, path_name[path][0],
             atomic_fetch_add(&g_seq, 1));
}

/* ---------------------------------------------------------------- raw */

static char *raw_body(const char *name)
{
    char rid[17];
    snprintf(rid, sizeof(rid), "%08x%08x", (unsigned)random(), (unsigned)random());
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "Image", E.image);
    cJSON_AddStringToObject(b, "Hostname", name);
    cJSON *env = cJSON_AddArrayToObject(b, "Env");
    cJSON_AddItemToArray(env, cJSON_CreateString("PHX_SERVER=false"));
    cJSON *l = cJSON_AddObjectToObject(b, "Labels");
    cJSON_AddStringToObject(l, "fltest.run", E.tag);
    cJSON_AddStringToObject(l, "flamed.managed-by", "fltest-bench");
    cJSON_AddStringToObject(l, "flamed.runner-id", rid);
    cJSON_AddStringToObject(l, "flamed.pool", "default");
    cJSON_AddStringToObject(l, "flamed.keep", "false");
    cJSON_AddStringToObject(l, "flamed.network", E.net);
    cJSON *hc = cJSON_AddObjectToObject(b, "HostConfig");
    cJSON_AddStringToObject(hc, "NetworkMode", E.net);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(hc, "RestartPolicy"), "Name", "no");
    cJSON *ep = cJSON_AddObjectToObject(
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(b, "NetworkingConfig"), "EndpointsConfig"),
        E.net);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ep, "Aliases"), cJSON_CreateString(name));
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

static void raw_boot(dk *d, struct unit *u)
{
    char path[256], *body = raw_body(u->name), *resp = NULL;
    snprintf(path, sizeof(path), "/containers/create?name=%s", u->name);
    dk_expect(d, "POST", path, body, 201, &resp);
    cJSON *j = cJSON_Parse(resp);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
    if (!cJSON_IsString(id))
        die("raw create: no Id in %.200s", resp);
    snprintf(u->id, sizeof(u->id), "%s", id->valuestring);
    cJSON_Delete(j);
    free(resp);
    free(body);
    snprintf(path, sizeof(path), "/containers/%s/start", u->id);
    dk_expect(d, "POST", path, NULL, 204, NULL);
}

static void raw_teardown(dk *d, struct unit *u)
{
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s/stop?t=0", u->id);
    long st = dk_req(d, "POST", path, NULL, NULL);
    if (st != 204 && st != 304)
        die("raw stop %s: HTTP %ld", u->name, st);
    snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", u->id);
    dk_expect(d, "DELETE", path, NULL, 204, NULL);
}

/* ---------------------------------------------------------------- flamed */

static void flamed_boot(struct unit *u)
{
    /* boot_timeout_ms: 32 concurrent starts on a loaded 2-core machine can take
     * dockerd longer than flamed's default 30 s; raw and cli have no such limit. */
    flame_boot_request req = {.image = E.image, .network = E.net, .labels = E.labels,
                              .boot_timeout_ms = BENCH_BOOT_TIMEOUT_MS};
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(C, &req, &r, &st);
    if (rc < 0)
        die("flamed Boot: %s: %s", flame_grpc_status_name(st.code), st.message);
    snprintf(u->id, sizeof(u->id), "%s", r->id);
    snprintf(u->name, sizeof(u->name), "%s", r->name);
    flame_runner_free(r);
}

static void flamed_teardown(struct unit *u)
{
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_shutdown(C, u->id, 1, &r, &st);
    if (rc < 0)
        die("flamed Shutdown %s: %s: %s", u->id, flame_grpc_status_name(st.code), st.message);
    if (r->state != FLAME_RUNNER_REMOVED)
        die("flamed Shutdown %s: final state %s, want REMOVED", u->id,
            flame_runner_state_name(r->state));
    flame_runner_free(r);
}

/* ---------------------------------------------------------------- cli */

static void run_cmd(char *const argv[], const char *what)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("%s: cannot run %s: %s", what, argv[0], strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s: %s exited with status %d", what, argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void cli_boot(struct unit *u)
{
    char l_run[160], l_rid[64], l_net[160];
    snprintf(l_run, sizeof(l_run), "fltest.run=%s", E.tag);
    snprintf(l_rid, sizeof(l_rid), "flamed.runner-id=%08x%08x", (unsigned)random(), (unsigned)random());
    snprintf(l_net, sizeof(l_net), "flamed.network=%s", E.net);
    char *argv[] = {"docker", "run", "-d", "--name", u->name, "--hostname", u->name,
                    "--network", (char *)E.net, "--network-alias", u->name,
                    "--label", l_run, "--label", "flamed.managed-by=fltest-bench",
                    "--label", l_rid, "--label", "flamed.pool=default",
                    "--label", "flamed.keep=false", "--label", l_net,
                    "-e", "PHX_SERVER=false", "--restart", "no", (char *)E.image, NULL};
    run_cmd(argv, "docker run -d");
    snprintf(u->id, sizeof(u->id), "%s", u->name);
}

static void cli_teardown(struct unit *u)
{
    char *argv[] = {"docker", "rm", "-f", u->name, NULL};
    run_cmd(argv, "docker rm -f");
}

/* ---------------------------------------------------------------- one op */

struct worker {
    int path;
    dk *d;
    struct unit u;
    pthread_barrier_t *bar;
    int64_t t0, t1;
    int teardown;
};

static void op_boot(struct worker *w)
{
    switch (w->path) {
    case RAW: unit_name(&w->u, RAW); raw_boot(w->d, &w->u); break;
    case FLAMED: flamed_boot(&w->u); break;
    case CLI: unit_name(&w->u, CLI); cli_boot(&w->u); break;
    }
}

static void op_teardown(struct worker *w)
{
    switch (w->path) {
    case RAW: raw_teardown(w->d, &w->u); break;
    case FLAMED: flamed_teardown(&w->u); break;
    case CLI: cli_teardown(&w->u); break;
    }
}

static void *conc_thread(void *p)
{
    struct worker *w = p;
    pthread_barrier_wait(w->bar);
    w->t0 = mono_ns();
    if (w->teardown)
        op_teardown(w);
    else
        op_boot(w);
    w->t1 = mono_ns();
    return NULL;
}

static double ms(int64_t ns) { return (double)ns / 1e6; }

int main(int argc, char **argv)
{
    int reps = 50, conc = 32, waves = 1, warmup = 1;
    const char *out = NULL;
    static const struct option opts[] = {{"reps", 1, 0, 'r'}, {"conc", 1, 0, 'c'},
                                         {"waves", 1, 0, 'w'}, {"warmup", 1, 0, 'u'},
                                         {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'r': reps = atoi(optarg); break;
        case 'c': conc = atoi(optarg); break;
        case 'w': waves = atoi(optarg); break;
        case 'u': warmup = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    env_load(&E, "bootbench");
    if (!out || reps < 0 || conc < 0 || waves < 1)
        die("usage: bootbench [--reps N] [--conc C] [--waves W] --out FILE.json");
    srandom((unsigned)getpid());
    C = fl_open(&E);
    dk *d = dk_open(&E);

    samples boot[2][NPATH], down[2][NPATH]; /* [0] sequential, [1] concurrent */
    for (int m = 0; m < 2; m++)
        for (int p = 0; p < NPATH; p++) {
            samples_init(&boot[m][p]);
            samples_init(&down[m][p]);
        }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "bench", "boot");
    cJSON_AddStringToObject(doc, "image", E.image);
    cJSON_AddStringToObject(doc, "network", E.net);
    cJSON_AddNumberToObject(doc, "reps", reps);
    cJSON_AddNumberToObject(doc, "conc", conc);
    cJSON_AddNumberToObject(doc, "waves", waves);
    cJSON_AddItemToObject(doc, "load_start", load_json());

    /* Sequential. */
    note("sequential: %d warm-up + %d reps of raw, flamed, cli", warmup ? 1 : 0, reps);
    for (int i = warmup ? -1 : 0; i < reps; i++) {
        for (int k = 0; k < NPATH; k++) {
            int p = (i + 1 + k) % NPATH;
            struct worker w = {.path = p, .d = d};
            int64_t t0 = mono_ns();
            op_boot(&w);
            int64_t t1 = mono_ns();
            op_teardown(&w);
            int64_t t2 = mono_ns();
            if (i >= 0) {
                samples_add(&boot[0][p], ms(t1 - t0));
                samples_add(&down[0][p], ms(t2 - t1));
            }
        }
        if (i >= 0 && (i + 1) % 10 == 0)
            note("  %d/%d reps", i + 1, reps);
    }
    cJSON_AddItemToObject(doc, "load_after_sequential", load_json());

    /* Concurrent waves. */
    cJSON *mk = cJSON_CreateObject();
    cJSON *mkd = cJSON_CreateObject();
    for (int p = 0; p < NPATH; p++) {
        cJSON_AddItemToObject(mk, path_name[p], cJSON_CreateArray());
        cJSON_AddItemToObject(mkd, path_name[p], cJSON_CreateArray());
    }
    if (conc > 0)
        note("concurrent: %d wave(s) of %d per path", waves, conc);
    struct worker *ws = calloc((size_t)(conc ? conc : 1), sizeof(*ws));
    pthread_barrier_t bar;
    for (int wv = 0; conc > 0 && wv < waves; wv++) {
        for (int k = 0; k < NPATH; k++) {
            int p = (wv + k) % NPATH;
            for (int phase = 0; phase < 2; phase++) {
                pthread_barrier_init(&bar, NULL, (unsigned)conc);
                for (int i = 0; i < conc; i++) {
                    if (phase == 0) {
                        memset(&ws[i], 0, sizeof(ws[i]));
                        ws[i].path = p;
                        ws[i].d = dk_open(&E);
                    }
                    ws[i].bar = &bar;
                    ws[i].teardown = phase;
                }
                run_threads(conc, 256 * 1024, conc_thread, ws, sizeof(*ws));
                pthread_barrier_destroy(&bar);
                int64_t lo = ws[0].t0, hi = ws[0].t1;
                for (int i = 0; i < conc; i++) {
                    samples_add(phase ? &down[1][p] : &boot[1][p], ms(ws[i].t1 - ws[i].t0));
                    if (ws[i].t0 < lo)
                        lo = ws[i].t0;
                    if (ws[i].t1 > hi)
                        hi = ws[i].t1;
                }
                cJSON_AddItemToArray(cJSON_GetObjectItem(phase ? mkd : mk, path_name[p]),
                                     cJSON_CreateNumber((double)(int64_t)(ms(hi - lo) * 10) / 10));
            }
            for (int i = 0; i < conc; i++)
                dk_close(ws[i].d);
        }
        note("  wave %d/%d done", wv + 1, waves);
    }
    free(ws);
    cJSON_AddItemToObject(doc, "load_end", load_json());

    static const char *const mode_name[2] = {"sequential", "concurrent"};
    for (int m = 0; m < 2; m++) {
        cJSON *mo = cJSON_AddObjectToObject(doc, mode_name[m]);
        for (int p = 0; p < NPATH; p++) {
            cJSON *po = cJSON_AddObjectToObject(mo, path_name[p]);
            cJSON_AddItemToObject(po, "boot_ms", samples_json(&boot[m][p], 1));
            cJSON_AddItemToObject(po, "teardown_ms", samples_json(&down[m][p], 1));
        }
        if (m == 1) {
            cJSON_AddItemToObject(mo, "boot_makespan_ms", mk);
            cJSON_AddItemToObject(mo, "teardown_makespan_ms", mkd);
        }
        /* Ratios to raw, per percentile. */
        cJSON *ro = cJSON_AddObjectToObject(mo, "ratio_to_raw");
        static const double qs[3] = {0.50, 0.95, 0.99};
        static const char *const qn[3] = {"p50", "p95", "p99"};
        for (int p = FLAMED; p < NPATH; p++) {
            cJSON *pr = cJSON_AddObjectToObject(ro, path_name[p]);
            for (int ph = 0; ph < 2; ph++) {
                cJSON *x = cJSON_AddObjectToObject(pr, ph ? "teardown" : "boot");
                samples *a = ph ? &down[m][p] : &boot[m][p], *b = ph ? &down[m][RAW] : &boot[m][RAW];
                for (int q = 0; q < 3; q++)
                    if (a->n && b->n)
                        cJSON_AddNumberToObject(
                            x, qn[q],
                            (double)(int64_t)(samples_pct(a, qs[q]) / samples_pct(b, qs[q]) * 1000) / 1000);
            }
        }
    }
    json_write(doc, out);
    dk_close(d);
    flame_client_close(C);
    return 0;
}
