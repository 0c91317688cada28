/*
 * tests/integration/support/harness.h - the integration-test harness: the real
 * flamed against the real dockerd.
 *
 * Each test gets its own fl_env (fl_setup/fl_teardown as cmocka fixtures):
 * a flamed child process on its own unix socket, a libflame client, a Docker
 * client, a user-defined network and a unique tag. The tag names the network
 * ("fltest-<pid>-<n>-<hex>"), is the default pool, and is the value of the
 * label fltest.run that every runner a test boots carries, so teardown can
 * find and force-remove whatever a test left behind, even when an assertion
 * failed half-way. Teardown then stops flamed with SIGTERM and fails the test
 * unless it exits 0 within 10 s (which also catches ASan/LSan reports), and
 * prints flamed's log when anything failed.
 *
 * Tests are written with FL_TEST(name) { ... } (the body sees `fl_env *e`)
 * and registered with FL_UNIT(name). When the Docker socket does not
 * answer /_ping, every test is skipped.
 *
 * Engine: /var/run/docker.sock by default. $FLTEST_DOCKER_HOST
 * (unix:///path) points both the harness's own Docker client and every
 * flamed it starts (--docker-host) at another Docker-compatible engine, e.g.
 * Podman's service (tests/podman/run); $FLTEST_BOOT_SETTLE_MS sets their
 * --boot-settle-ms. $FLTEST_ENGINE=swarm (tests/swarm/run, against a swarm
 * manager) starts every flamed with --engine swarm, creates the tests'
 * networks as attachable overlays, and makes the Docker helpers below read
 * a runner's container_id as its service: fl_inspect() inspects the
 * service's newest task's container, fl_count_labelled() counts services,
 * fl_wait_container_gone() waits for the service and its containers,
 * fl_remove_container() removes the service; teardown removes the tag's
 * services too.
 *
 * Threads: fl_watcher runs a Watch on its own thread; everything else runs on
 * the test's thread. The env owns every watcher and joins it in teardown.
 */
#ifndef FLTEST_HARNESS_H
#define FLTEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "docker/docker.h"
#include "flame/client.h"
#include "flame/v1/runner_service.pb-c.h"

#define FL_IMAGE_BUSYBOX "flamed-test/busybox:latest"
#define FL_IMAGE_APP "flamed-test/app:latest"
#define FL_IMAGE_HEALTHY "flamed-test/healthy:latest"
#define FL_RUN_LABEL_KEY "fltest.run"
#define FL_PROBE_LABEL_KEY "fltest.probe"

typedef struct fl_watcher fl_watcher;

/** One test's world. All strings NUL-terminated; owned by the env. */
typedef struct fl_env {
    char tag[40];          /* fltest-<pid>-<n>-<hex>: network, pool, fltest.run value */
    char network[40];      /* == tag */
    char pool[40];         /* == tag */
    char run_label[64];    /* "fltest.run=<tag>" */
    const char *labels[2]; /* {run_label, NULL}: the default boot labels */
    char sock_path[108];
    char addr[128];        /* "unix:<sock_path>" */
    char log_path[128];
    pid_t flamed_pid;      /* 0 when not running */
    int flamed_starts;
    flame_client *client;
    docker_client *docker;
    int network_created;
    int passed;
    int teardown_failed;
    char skip_reason[256];
    fl_watcher *watchers;
    int64_t t_begin, t_body, network_ms, flamed_start_ms; /* $FLTEST_TIMES */
    int shared;            /* borrows the group's network, flamed, client, docker */
    long log_offset;       /* where this test's part of a shared log starts */
    int start_failed, any_failed; /* group env only */
    char runner_id[40];    /* fl_group_runner()'s, "" until booted */
} fl_env;

/* ------------------------------------------------------------ fixtures */

/** cmocka setup: allocate the env and ping Docker (no resources yet); in a
 *  shared group, borrow the group's network, flamed and clients. */
int fl_setup(void **state);
/** cmocka teardown: join watchers, stop flamed (asserting exit 0), remove
 *  every container labelled with the tag, remove the network. */
int fl_teardown(void **state);
/** Start of every test: skip without Docker; create the network, start
 *  flamed and open the client (a shared group's first test does it for all). */
fl_env *fl_begin(void **state);

#define FL_TEST(name)                                                                             \
    static void name##__body(fl_env *e);                                                          \
    static void name(void **state)                                                                \
    {                                                                                             \
        fl_env *e_ = fl_begin(state);                                                             \
        name##__body(e_);                                                                         \
        e_->passed = 1;                                                                           \
    }                                                                                             \
    static void name##__body(fl_env *e)

#define FL_UNIT(name) cmocka_unit_test_setup_teardown(name, fl_setup, fl_teardown)

/**
 * FL_RUN: run a group, each test with its own flamed and network.
 * FL_RUN_SHARED: the group's tests share one flamed and one network (started
 * by the first test, stopped with the exit-0 check after the last); each test
 * still has its own tag, pool and label, teardown still removes its
 * containers, and its part of flamed's log is printed when it fails. Tests
 * that stop or restart flamed need FL_RUN.
 * $FLTEST_FILTER (a cmocka glob such as "boot_*") picks tests by name;
 * $FLTEST_TIMES prints where each test's time went.
 */
#define FL_RUN(name, tests)                                                                       \
    (fl_apply_filter(), fl_group_result(cmocka_run_group_tests_name(name, tests, NULL, NULL)))
#define FL_RUN_SHARED(name, tests)                                                                \
    (fl_apply_filter(),                                                                           \
     fl_group_result(cmocka_run_group_tests_name(name, tests, fl_group_setup, fl_group_teardown)))
void fl_apply_filter(void);
int fl_group_setup(void **state);
int fl_group_teardown(void **state);
/** cmocka 1.1 reports a failed group teardown (flamed did not exit 0) but
 *  does not count it: non-zero when the run or the group teardown failed;
 *  else FL_EXIT_SKIPPED when a test was skipped (fl_skip), else 0. */
int fl_group_result(int cmocka_rc);

/** The exit code of a run with no failure but a skipped test: ctest's
 *  SKIP_RETURN_CODE (tests/CMakeLists.txt) reports the program as Skipped, and
 *  scripts/test counts it (and fails under CI). */
#define FL_EXIT_SKIPPED 77

/**
 * The current test does not run, for `why` (printed): cmocka skip(), counted
 * so that the program exits FL_EXIT_SKIPPED. With $CI set (non-empty) this
 * fails the test instead: CI must never go green without running a test.
 */
void fl_skip(const char *why);

/**
 * The engine the tests use: $FLTEST_DOCKER_HOST (unix:///path or /path)
 * when set, else NULL (flamed's and the harness's default,
 * /var/run/docker.sock). Static storage; thread-safe.
 */
const char *fl_docker_host(void);

/**
 * $FLTEST_BOOT_SETTLE_MS when set (flamed's --boot-settle-ms for every flamed
 * the tests start: tests/podman/run sets it, docs/engines.md), else NULL.
 */
const char *fl_boot_settle_ms(void);

/**
 * The socket path of fl_docker_host() ("/var/run/docker.sock" when unset),
 * static storage. Fails the test when $FLTEST_DOCKER_HOST is not unix://.
 */
const char *fl_docker_socket(void);

/**
 * Is the engine under test Podman's Docker-compatible service (GET /version
 * names a component "Podman Engine")? For the few checks of Docker's own
 * state that read differently there (docs/engines.md); asked once.
 */
int fl_engine_is_podman(fl_env *e);

/**
 * Is the engine under test a swarm ($FLTEST_ENGINE=swarm: every flamed runs
 * with --engine swarm, runners are services; docs/engines.md, "Testing
 * against Swarm")? Thread-safe.
 */
int fl_engine_is_swarm(void);

/**
 * Swarm: GET /services/{id} of a runner's container_id (its service), NULL
 * when the service does not exist. Owned by the caller. Asserts on other
 * errors.
 */
cJSON *fl_service_inspect(fl_env *e, const char *service_id);

/** Create e->network labelled with the tag (a bridge; swarm: an attachable
 *  overlay) and mark it for teardown. Asserts. */
void fl_network_create(fl_env *e);

/** fl_skip() when e has a skip reason (Docker does not answer). */
#define FL_SKIP_IF_NO_DOCKER(e)                                                                   \
    do {                                                                                          \
        if ((e)->skip_reason[0])                                                                  \
            fl_skip((e)->skip_reason);                                                            \
    } while (0)

/* ------------------------------------------------------------ flamed */

/** Start flamed on e->sock_path (log appended to e->log_path), wait until a
 *  List succeeds (30 s: it adopts existing containers first), and open
 *  e->client. Asserts. */
void fl_flamed_start(fl_env *e);
/** SIGTERM flamed, close e->client first; returns the raw wait status, or -1
 *  when it did not exit within timeout_ms (it is then SIGKILLed). */
int fl_flamed_stop(fl_env *e, int timeout_ms);
/** The pid of the flamed e talks to (the group's in a shared group); 0: none. */
pid_t fl_flamed_pid(const fl_env *e);
/** VmHWM (peak resident set) of a process, in KiB; -1 when unreadable. */
long fl_vm_hwm_kib(pid_t pid);
/** 1 in an ASan build: its quarantine keeps freed memory resident, so an RSS
 *  bound says nothing of buffering there. */
#if defined(__SANITIZE_ADDRESS__)
#define FL_UNDER_ASAN 1
#else
#define FL_UNDER_ASAN 0
#endif
/** Assert a wait status from fl_flamed_stop() means "exited 0". */
void fl_assert_clean_exit(fl_env *e, int wstatus);

/* ------------------------------------------------------------ utilities */

int64_t fl_now_ms(void);
void fl_sleep_ms(long ms);
/** A process-unique short string ("<n>-<hex>"), for probe labels and names. */
void fl_unique(char *out, size_t outlen);
/** Assert that `hay` contains `needle`, printing both when not. */
#define fl_assert_contains(hay, needle) fl__assert_contains((hay), (needle), __FILE__, __LINE__)
void fl__assert_contains(const char *hay, const char *needle, const char *file, int line);
/** Assert a call's outcome: rc is the FLAME_E* code, st the status; prints st. */
#define fl_assert_status(rc, st, want_code)                                                       \
    fl__assert_status((rc), (st), (want_code), __FILE__, __LINE__)
void fl__assert_status(int rc, const flame_status *st, int want_grpc_code, const char *file,
                       int line);

/* ------------------------------------------------------------ boot */

/** Defaults: image app, e->network, e->pool, e->labels, a cmd that exits on
 *  SIGTERM at once (so Shutdown is quick), boot_timeout_ms 60000. */
void fl_boot_req_init(fl_env *e, flame_boot_request *req);
/** Boot and assert success. @return the runner; free with flame_runner_free(). */
flame_runner *fl_boot(fl_env *e, const flame_boot_request *req);
/** Boot with the defaults (fl_boot_req_init) in `pool` (NULL: e->pool). */
flame_runner *fl_boot_default(fl_env *e, const char *pool);
/**
 * A running runner shared by the tests of an FL_RUN_SHARED group (booted with
 * the defaults on first use, removed with the group), for tests that only need
 * somewhere to Spawn. In an FL_RUN group, a runner of the test's own.
 * @return its id; borrowed from the group (or the test).
 */
const char *fl_group_runner(fl_env *e);
/** Shut down and assert OK; returns the final state. */
int fl_shutdown(fl_env *e, const char *runner_id);

/** The command fl_boot_req_init() uses: sleeps, exits 0 on SIGTERM. */
extern const char *const fl_cmd_termable[];

/* ------------------------------------------------------------ spawn */

/** What a Spawn produced. Buffers are NUL-terminated; free with fl_output_free(). */
typedef struct fl_output {
    char *out, *err, *all; /* stdout, stderr, both in arrival order */
    size_t out_len, err_len, all_len;
    size_t out_cap, err_cap, all_cap;
    size_t chunks;
    int cancel_after_chunks; /* > 0: on_output returns non-zero after this many */
    int64_t first_chunk_ms;  /* fl_now_ms() of the first chunk, 0 if none */
    char exec_id[80];
} fl_output;

void fl_output_free(fl_output *o);
/** Run a Spawn, collecting into o (zeroed by the caller, cancel_after_chunks
 *  optionally set). @return flame_client_spawn's code. */
int fl_spawn_req(fl_env *e, const flame_spawn_request *req, fl_output *o, int *exit_code,
                 flame_status *st);
/** As fl_spawn_req(), with the command's stdin (SpawnStream). @return
 *  flame_client_spawn_stdin's code. */
int fl_spawn_stdin_req(fl_env *e, const flame_spawn_request *req, const flame_spawn_input *in,
                       fl_output *o, int *exit_code, flame_status *st);
/** Spawn argv (NULL-terminated) and assert the call succeeded; returns the exit code. */
int fl_spawn_argv(fl_env *e, const char *runner_id, const char *const *argv, fl_output *o);
/** Spawn `sh -c script`, assert the call succeeded; returns the exit code. */
int fl_spawn_sh(fl_env *e, const char *runner_id, const char *script, fl_output *o);

/* ------------------------------------------------------------ docker */

/** Inspect a container; NULL when it does not exist. Owned by the caller.
 *  Swarm: container_id is a service's: its newest task's container, NULL
 *  when the service or that container does not exist. */
cJSON *fl_inspect(fl_env *e, const char *container_id);
/** Number of containers (any state) with this label ("k=v"); swarm: of services. */
int fl_count_labelled(fl_env *e, const char *label);
/** Wait until the container is gone (404; swarm: the service and its
 *  containers); 0 or -1 after timeout_ms. */
int fl_wait_container_gone(fl_env *e, const char *container_id, int timeout_ms);
/** Force-remove a container (swarm: the service, then its containers);
 *  0 or the docker code. */
int fl_remove_container(fl_env *e, const char *container_id);
/** Look up a dotted path ("HostConfig.Memory") in JSON; NULL when absent. */
const cJSON *fl_json_path(const cJSON *root, const char *dotted);

/* ------------------------------------------------------------ watch */

/** One event as a watcher recorded it. */
typedef struct fl_event {
    int type;
    uint64_t sequence;
    char runner_id[40];
    char pool[72];
    char probe[40]; /* the fltest.probe label, "" if none */
    int state, exit_code, oom_killed;
} fl_event;

/** Start a Watch on its own thread. pool/runner_id may be NULL. Owned by e. */
fl_watcher *fl_watch_start(fl_env *e, const char *pool, const char *runner_id,
                           int include_existing);
/** Make sure the watch is subscribed: boot probes (Boots that fail at the
 *  network check) in `pool` until the watcher sees one's FAILED (10 s). */
void fl_watch_sync(fl_env *e, fl_watcher *w, const char *pool);
/** Wait for an event of `type` for `runner_id` (NULL: any runner). @return
 *  its index, or -1 on timeout or when the stream ended. */
int fl_watch_wait(fl_watcher *w, const char *runner_id, int type, int timeout_ms);
/** Wait for the watch to end. @return 0 when it ended (rc and st filled), -1 on timeout. */
int fl_watch_wait_end(fl_watcher *w, int timeout_ms, int *rc, flame_status *st);
/** Copy of the events so far; free() it. */
size_t fl_watch_events(fl_watcher *w, fl_event **out);
/** Stop (cancel) the watch and join its thread. Idempotent. */
void fl_watch_stop(fl_watcher *w);

/** A Boot that fails at the network check, labelled fltest.probe=probe:
 *  emits BOOTING and FAILED in `pool`. Asserts FAILED_PRECONDITION. */
void fl_probe_boot(fl_env *e, const char *pool, const char *probe);

/* ------------------------------------------------------------ raw gRPC */

/**
 * One unary call with a hand-made request, bypassing libflame's own checks
 * (to test the server's validation). method: "/flame.v1.RunnerService/Boot".
 * @param[out] resp  unpacked response or NULL; free with protobuf_c_message_free_unpacked.
 * @return the gRPC status code; message gets the status details.
 */
int fl_grpc_unary(fl_env *e, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                  char *message, size_t msglen);

/* ------------------------------------------------------------ flamectl */

/**
 * Run $FLAMECTL_BIN --addr e->addr args... (args NULL-terminated), capturing
 * stdout and stderr (each NUL-terminated, free() them; out pointers may be
 * NULL). Killed after timeout_ms. @return the exit code, or -1 (signal/timeout).
 */
int fl_flamectl(fl_env *e, const char *const *args, char **out, char **err, int timeout_ms);
/** As fl_flamectl(), with stdin opened from stdin_path (fl_flamectl: /dev/null). */
int fl_flamectl_stdin(fl_env *e, const char *const *args, const char *stdin_path, char **out,
                      char **err, int timeout_ms);

#endif
