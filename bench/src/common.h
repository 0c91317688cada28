/*
 * common.h - shared parts of the bench programs: clocks, samples and
 * percentiles, /proc readings of flamed, a raw Docker Engine API client over
 * the unix socket (libcurl), booting and shutting down many runners through
 * libflame, JSON output.
 *
 * Every program reads its setting from the environment bench/run exports:
 *   FLBENCH_ADDR         flamed's gRPC address (unix:/tmp/...)
 *   FLBENCH_FLAMED_PID   flamed's pid (RSS and CPU from /proc)
 *   FLBENCH_DOCKER_SOCK  the Docker socket (default /var/run/docker.sock)
 *   FLBENCH_NET          the user-defined network every container joins
 *   FLBENCH_IMAGE        the image (default flamed-test/app:latest)
 *   FLBENCH_TAG          unique run tag: label fltest.run=TAG, names fltest-bench-TAG-*
 * and fails loudly (exit 1, a message on stderr) when anything breaks.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "flame/client.h"

#define DOCKER_API "/v1.41" /* what flamed negotiates with dockerd 20.10+ */
/* Boot's timeout for every bench Boot: Docker on a loaded machine may take
 * longer than flamed's 30 s default to start a container. */
#define BENCH_BOOT_TIMEOUT_MS 600000u

struct bench_env {
    const char *addr, *dsock, *net, *image, *tag;
    int flamed_pid;
    char label[128];        /* "fltest.run=TAG" */
    const char *labels[2];  /* {label, NULL} for flame_boot_request.labels */
};

/* The environment above; dies when a required variable is missing. `prog`
 * prefixes every message. Also tunes this process's malloc as flamed tunes
 * its own (see common.c), for the raw and the flamed paths alike. */
void env_load(struct bench_env *e, const char *prog);

/* ---------------------------------------------------------------- output */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write a JSON document to path (pretty) and free it. */
void json_write(cJSON *doc, const char *path);

/* ---------------------------------------------------------------- clocks */
int64_t mono_ns(void);
int64_t real_ns(void); /* CLOCK_REALTIME, comparable with Docker's timeNano */
void sleep_ms(long ms);

/* ---------------------------------------------------------------- samples */
typedef struct samples {
    double *v;
    size_t n, cap;
    int sorted;
    pthread_mutex_t mu;
} samples;

void samples_init(samples *s);
void samples_free(samples *s);
void samples_add(samples *s, double x);           /* thread-safe */
void samples_merge(samples *dst, const samples *src);
double samples_pct(samples *s, double q);         /* nearest rank; NAN when empty */
double samples_mean(const samples *s);
/* {"n","p50","p95","p99","mean","min","max"} (+ "samples" when raw). */
cJSON *samples_json(samples *s, int raw);

/* ---------------------------------------------------------------- /proc */
long proc_rss_kb(int pid);           /* VmRSS; dies if pid is gone */
long proc_rss_anon_kb(int pid);      /* RssAnon (VmRSS less file-backed pages: the heap, stacks) */
long long proc_cpu_ticks(int pid);   /* utime + stime */
long proc_threads(int pid);
double ticks_per_s(void);
cJSON *load_json(void);              /* [1 min, 5 min, 15 min] load averages */
double self_cpu_s(void);             /* this process: user + system seconds */
int pid_by_comm(const char *comm);   /* first process named comm, or 0 */

/* ---------------------------------------------------------------- Docker */
typedef struct dk dk;
dk *dk_open(const struct bench_env *e);   /* one per thread; keeps its connection */
void dk_close(dk *d);
/* One request; path without the /v1.41 prefix. Returns the HTTP status; the
 * body (NUL-terminated, malloc'd) in *out when out is non-NULL. Dies on
 * transport errors. */
long dk_req(dk *d, const char *method, const char *path, const char *json_body, char **out);
/* dk_req and die unless the status is `want`. */
void dk_expect(dk *d, const char *method, const char *path, const char *json_body, long want,
               char **out);

/* ---------------------------------------------------------------- flamed */
flame_client *fl_open(const struct bench_env *e);

/* Runners booted through flamed. */
struct runner_set {
    size_t n;
    char **ids, **cids;
};

/* Boot n runners (pool `pool`, memory limit mem_bytes, label fltest.run=TAG)
 * with `conc` Boots in flight; dies on any failure. */
void boot_many(flame_client *c, const struct bench_env *e, size_t n, int conc, const char *pool,
               int64_t mem_bytes, struct runner_set *out);
/* Shutdown (grace timeout_ms) every runner of the set, conc in flight; frees it. */
void shutdown_many(flame_client *c, struct runner_set *rs, int conc, uint32_t timeout_ms);

/* Run fn(arg_i) on n threads with the given stack size (0: default); join. */
void run_threads(int n, size_t stack, void *(*fn)(void *), void *args, size_t arg_size);

#endif
