/*
 * Live tests (real dockerd): a warm runner made by hand, as flamed will make
 * it (docs/warm.md): flamed-init bind-mounted read-only at /.flamed/init as
 * the Entrypoint of a flamed-test/app:latest container with OpenStdin, the
 * per-Boot env delivered through its stdin (docker_container_stdin_write).
 * The command must see the env, be PID 1, get signals, and its exit code
 * must be the container's.
 *
 * Containers are named fltest-warm-<pid>-<test>, labelled fltest-warm=<pid>,
 * and removed by each test's teardown and by the group teardown, even after
 * a failed assertion. flamed-init comes from $FLAMED_INIT_BIN (set by ctest).
 * Without dockerd the tests fail under CI=true and are skipped (exit 77)
 * otherwise; without $FLAMED_INIT_BIN or the image they fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "docker/docker.h"
#include "engine/docker_engine.h"
#include "env_frame.h"
#include "service/warm_record.h"

#define IMAGE "flamed-test/app:latest"
#define LABEL_KEY "fltest-warm"

static docker_client *dk;
static int up, skipped;
static char pid_text[24], label_filter[64];
static const char *init_bin;

struct warm {
    char name[96];
    char *id;
};

#define REQUIRE_DOCKER()                                                                           \
    do {                                                                                           \
        if (!up) {                                                                                 \
            const char *ci_ = getenv("CI");                                                        \
            if (ci_ && *ci_)                                                                       \
                fail_msg("dockerd does not answer, and CI is set: live tests must run");           \
            skipped++;                                                                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* What flamed adds beyond the first layer's runner (docs/warm.md "The boot record"). */
struct make_opts {
    const char *user; /* the container's User, or NULL */
    int readonly;     /* HostConfig.ReadonlyRootfs */
    int tmpfs;        /* flamed's tmpfs at /.flamed/run */
    int record;       /* flamed-init --record /.flamed/run/boot */
    const char *prefix; /* the container name's prefix; NULL: "fltest-warm" */
};

/*
 * Create and start a warm runner: Entrypoint flamed-init, Cmd argv, Env
 * spec_env (the part that does not vary per Boot), and o (may be NULL).
 */
static void warm_make_opts(struct warm *w, const char *test, const char *const *argv,
                           const char *const *spec_env, const struct make_opts *o)
{
    static const struct make_opts none = {0};
    if (!o)
        o = &none;
    char err[512] = "";
    snprintf(w->name, sizeof w->name, "%s-%s-%s", o->prefix ? o->prefix : "fltest-warm", pid_text,
             test);
    cJSON *cfg = cJSON_CreateObject(), *hc, *mounts, *m, *labels, *arr;
    assert_non_null(cfg);
    cJSON_AddStringToObject(cfg, "Image", IMAGE);
    cJSON_AddStringToObject(cfg, "Hostname", test);
    arr = cJSON_AddArrayToObject(cfg, "Entrypoint");
    cJSON_AddItemToArray(arr, cJSON_CreateString("/.flamed/init"));
    cJSON_AddItemToArray(arr, cJSON_CreateString("--stdin"));
    if (o->record) {
        cJSON_AddItemToArray(arr, cJSON_CreateString("--record"));
        cJSON_AddItemToArray(arr, cJSON_CreateString(WARM_RECORD_PATH));
    }
    cJSON_AddItemToArray(arr, cJSON_CreateString("--"));
    if (o->user)
        cJSON_AddStringToObject(cfg, "User", o->user);
    arr = cJSON_AddArrayToObject(cfg, "Cmd");
    for (size_t i = 0; argv[i]; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(argv[i]));
    arr = cJSON_AddArrayToObject(cfg, "Env");
    for (size_t i = 0; spec_env && spec_env[i]; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(spec_env[i]));
    cJSON_AddBoolToObject(cfg, "OpenStdin", 1);
    cJSON_AddBoolToObject(cfg, "StdinOnce", 0);
    labels = cJSON_AddObjectToObject(cfg, "Labels");
    cJSON_AddStringToObject(labels, LABEL_KEY, pid_text);
    hc = cJSON_AddObjectToObject(cfg, "HostConfig");
    cJSON_AddStringToObject(hc, "NetworkMode", "none");
    if (o->readonly)
        cJSON_AddBoolToObject(hc, "ReadonlyRootfs", 1);
    mounts = cJSON_AddArrayToObject(hc, "Mounts");
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "Type", "bind");
    cJSON_AddStringToObject(m, "Source", init_bin);
    cJSON_AddStringToObject(m, "Target", "/.flamed/init");
    cJSON_AddBoolToObject(m, "ReadOnly", 1);
    cJSON_AddItemToArray(mounts, m);
    if (o->tmpfs) { /* as service/warm.c adds it */
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "Type", "tmpfs");
        cJSON_AddStringToObject(m, "Target", WARM_RUN_TARGET);
        cJSON *t = cJSON_AddObjectToObject(m, "TmpfsOptions");
        cJSON_AddNumberToObject(t, "SizeBytes", WARM_RUN_TMPFS_BYTES);
        cJSON_AddNumberToObject(t, "Mode", WARM_RUN_TMPFS_MODE);
        cJSON_AddItemToArray(mounts, m);
    }
    int rc = docker_container_create(dk, w->name, cfg, &w->id, err, sizeof err);
    cJSON_Delete(cfg);
    if (rc != 0)
        fail_msg("create %s: %s (%d): run scripts/test-images", w->name, err, rc);
    if ((rc = docker_container_start(dk, w->id, 30000, err, sizeof err)) != 0)
        fail_msg("start %s: %s (%d)", w->name, err, rc);
}

static void warm_make(struct warm *w, const char *test, const char *const *argv,
                      const char *const *spec_env)
{
    warm_make_opts(w, test, argv, spec_env, NULL);
}

static void warm_remove(struct warm *w)
{
    if (w->id)
        docker_container_remove(dk, w->id, NULL, 0);
    free(w->id);
    w->id = NULL;
}

static void deliver(struct warm *w, const char *const *entries, size_t n)
{
    char *frame = NULL, err[512] = "";
    size_t len = 0;
    assert_int_equal(env_frame_encode(&frame, &len, entries, n, err, sizeof err), 0);
    int rc = docker_container_stdin_write(dk, w->id, frame, len, 10000, err, sizeof err);
    free(frame);
    if (rc != 0)
        fail_msg("deliver to %s: %s (%d)", w->name, err, rc);
}

/* State.Running and State.ExitCode. */
static void state(struct warm *w, int *running, int *exit_code)
{
    cJSON *j = NULL;
    char err[512] = "";
    assert_int_equal(docker_container_inspect(dk, w->id, &j, err, sizeof err), 0);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "State");
    *running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "Running"));
    *exit_code = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "ExitCode"));
    cJSON_Delete(j);
}

/* Wait until the container stops; its exit code. */
static int wait_exit(struct warm *w, long timeout_ms)
{
    char err[512] = "";
    long status = 0;
    int running = 1, code = -1;
    assert_int_equal(
        docker_container_wait(dk, w->id, "not-running", timeout_ms, &status, err, sizeof err), 0);
    assert_int_equal(status, 200);
    state(w, &running, &code);
    assert_false(running);
    return code;
}

/* The container's output so far (free()). */
static char *output(struct warm *w)
{
    char *out = NULL, err[512] = "";
    assert_int_equal(docker_container_logs_tail(dk, w->id, 100, &out, err, sizeof err), 0);
    return out;
}

/* Wait up to timeout_ms for needle in the output. */
static int output_has(struct warm *w, const char *needle, long timeout_ms)
{
    for (long waited = 0;; waited += 50) {
        char *out = output(w);
        int found = strstr(out, needle) != NULL;
        free(out);
        if (found || waited >= timeout_ms)
            return found;
        sleep_ms(50);
    }
}

static int test_teardown(void **state_)
{
    warm_remove(*state_);
    free(*state_);
    return 0;
}

static int test_setup(void **state_)
{
    *state_ = calloc(1, sizeof(struct warm));
    return *state_ ? 0 : -1;
}

static void delivered_env_reaches_the_command_as_pid_1_and_its_exit_code_passes(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c",
                          "echo \"P=$FLAME_PARENT\"; echo \"X=$EXTRA\"; echo \"S=$SPEC\"; "
                          "echo \"PID=$$\"; echo \"IN=$(cat)\"; "
                          "if (echo x >/.flamed/init) 2>/dev/null; then echo INIT=rw; "
                          "else echo INIT=ro; fi; exit 7",
                          NULL};
    const char *spec_env[] = {"SPEC=from-the-spec", "FLAME_PARENT=stale", NULL};
    warm_make(w, "env", argv, spec_env);

    /* Warm: running, and the command has not run. */
    sleep_ms(300);
    int running = 0, code = -1;
    state(w, &running, &code);
    assert_true(running);
    char *out = output(w);
    assert_null(strstr(out, "P="));
    free(out);

    const char *env[] = {"FLAME_PARENT=g2gDZAAEbm9kZQ==", "EXTRA=two words"};
    deliver(w, env, 2);
    assert_int_equal(wait_exit(w, 20000), 7);
    out = output(w);
    assert_non_null(strstr(out, "P=g2gDZAAEbm9kZQ==\n")); /* delivered over the spec's */
    assert_non_null(strstr(out, "X=two words\n"));
    assert_non_null(strstr(out, "S=from-the-spec\n"));
    assert_non_null(strstr(out, "PID=1\n"));
    assert_non_null(strstr(out, "IN=\n")); /* stdin is /dev/null, as when cold */
    assert_non_null(strstr(out, "INIT=ro\n"));
    assert_null(strstr(out, "flamed-init:"));
    free(out);
}

static void sigterm_reaches_the_command(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c",
                          "trap 'echo got-term; exit 42' TERM; echo ready; "
                          "while :; do sleep 0.05; done",
                          NULL};
    warm_make(w, "term", argv, NULL);
    const char *env[] = {"FLAME_PARENT=x"};
    deliver(w, env, 1);
    assert_true(output_has(w, "ready", 10000));
    char err[512] = "";
    assert_int_equal(docker_container_kill(dk, w->id, "TERM", err, sizeof err), 0);
    assert_int_equal(wait_exit(w, 10000), 42);
    assert_true(output_has(w, "got-term", 0));
}

static void a_stop_signal_before_delivery_ends_the_runner_at_once(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c", "echo ran", NULL};
    warm_make(w, "drain", argv, NULL);
    sleep_ms(200);
    char err[512] = "";
    assert_int_equal(docker_container_kill(dk, w->id, "TERM", err, sizeof err), 0);
    /* As PID 1 without a handler, SIGTERM would be ignored: here it ends init. */
    assert_int_equal(wait_exit(w, 5000), 128 + 15);
    char *out = output(w);
    assert_null(strstr(out, "ran"));
    free(out);
}

static void an_invalid_frame_is_refused_and_the_command_never_runs(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c", "echo ran", NULL};
    warm_make(w, "bad", argv, NULL);
    char err[512] = "";
    const char bad[] = "12:flamed-env/1,7:A B=bad,0:,";
    assert_int_equal(docker_container_stdin_write(dk, w->id, bad, sizeof bad - 1, 10000, err,
                                                  sizeof err),
                     0);
    assert_int_equal(wait_exit(w, 10000), 125);
    char *out = output(w);
    assert_non_null(strstr(out, "flamed-init: invalid env frame"));
    assert_null(strstr(out, "ran"));
    free(out);
}

static void a_command_not_found_exits_127(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"no-such-command", NULL};
    warm_make(w, "notfound", argv, NULL);
    deliver(w, NULL, 0);
    assert_int_equal(wait_exit(w, 10000), 127);
}

static void a_frame_of_a_megabyte_arrives_whole(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c", "echo \"LEN0=${#BIG0} LEN7=${#BIG7}\"", NULL};
    warm_make(w, "big", argv, NULL);
    /* 8 x 120 KiB: far more than a pipe holds, near the frame's cap. */
    enum { N = 8, VAL = 120 * 1024 };
    char *entries[N];
    for (int i = 0; i < N; i++) {
        entries[i] = malloc(VAL + 8);
        assert_non_null(entries[i]);
        int h = snprintf(entries[i], VAL + 8, "BIG%d=", i);
        memset(entries[i] + h, 'a' + i, VAL);
        entries[i][h + VAL] = '\0';
    }
    deliver(w, (const char *const *)entries, N);
    for (int i = 0; i < N; i++)
        free(entries[i]);
    assert_int_equal(wait_exit(w, 20000), 0);
    assert_true(output_has(w, "LEN0=122880 LEN7=122880", 0));
}

/* The service's way in (engine_ops.stdin_deliver over the Docker engine): the same bytes arrive. */
static void the_engine_op_delivers_the_frame(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c", "echo \"P=$FLAME_PARENT\"", NULL};
    warm_make(w, "engine", argv, NULL);
    struct engine *e = NULL;
    assert_int_equal(docker_engine_new(&e, dk), 0);
    const char *entries[] = {"FLAME_PARENT=via-the-engine"};
    char *frame = NULL, err[512] = "";
    size_t len = 0;
    assert_int_equal(env_frame_encode(&frame, &len, entries, 1, err, sizeof err), 0);
    int rc = e->ops->stdin_deliver(e, w->id, frame, len, 10000, err, sizeof err);
    free(frame);
    if (rc != 0)
        fail_msg("deliver through the engine to %s: %s (%d)", w->name, err, rc);
    assert_int_equal(wait_exit(w, 20000), 0);
    assert_true(output_has(w, "P=via-the-engine", 0));
    /* A missing container is NOT_FOUND through the engine too. */
    assert_int_equal(e->ops->stdin_deliver(e, "fltest-warm-no-such-container", "x", 1, 5000, err,
                                           sizeof err),
                     FLAME_ENOTFOUND);
    docker_engine_free(e);
}

/*
 * The boot record (docs/warm.md): for a non-root User on a read-only rootfs,
 * flamed-init keeps the /2 frame it was delivered on flamed's tmpfs (0400,
 * the user's) before the command runs, and adoption's read
 * (warm_record_read, the exec of --print-record) gets the same frame back;
 * before any delivery there is none (FLAME_ENOTFOUND).
 */
static void the_record_is_kept_for_a_non_root_user_on_a_read_only_rootfs(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c",
                          "echo \"ID=$(id -u) P=$FLAME_PARENT\"; "
                          "stat -c 'MODE=%a UID=%u' /.flamed/run/boot; "
                          "echo x >/.flamed/run/boot 2>/dev/null || echo RO; "
                          "trap 'exit 0' TERM; while :; do sleep 0.05; done",
                          NULL};
    const struct make_opts o = {.user = "1000:1000", .readonly = 1, .tmpfs = 1, .record = 1};
    warm_make_opts(w, "record", argv, NULL, &o);
    struct engine *e = NULL;
    assert_int_equal(docker_engine_new(&e, dk), 0);
    struct env_frame f = {0};
    char err[512] = "";
    assert_int_equal(warm_record_read(e, w->id, &f, err, sizeof err), FLAME_ENOTFOUND);
    const char *entries[] = {"FLAME_PARENT=p-record"};
    const char *keys[] = {"flamed.request-id", "team"}, *vals[] = {"req-1", "a=b"};
    char *frame = NULL;
    size_t len = 0;
    assert_int_equal(env_frame_encode_meta(&frame, &len, entries, 1, keys, vals, 2, err, sizeof err), 0);
    int rc = e->ops->stdin_deliver(e, w->id, frame, len, 10000, err, sizeof err);
    free(frame);
    if (rc != 0)
        fail_msg("deliver to %s: %s (%d)", w->name, err, rc);
    assert_true(output_has(w, "RO", 20000));
    char *out = output(w);
    assert_non_null(strstr(out, "ID=1000 P=p-record\n"));
    assert_non_null(strstr(out, "MODE=400 UID=1000\n"));
    free(out);
    if ((rc = warm_record_read(e, w->id, &f, err, sizeof err)) != 0)
        fail_msg("reading the record of %s: %s (%d)", w->name, err, rc);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.entries[0], "FLAME_PARENT=p-record");
    assert_string_equal(env_frame_meta(&f, "flamed.request-id"), "req-1");
    assert_string_equal(env_frame_meta(&f, "team"), "a=b");
    env_frame_free(&f);
    docker_engine_free(e);
}

/* A record that cannot be written (no tmpfs on a read-only rootfs): flamed-init
 * exits 125 and the command never runs (a Boot's inspect sees it: it boots cold). */
static void a_record_that_cannot_be_written_ends_the_runner_with_125(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    const char *argv[] = {"sh", "-c", "echo RAN", NULL};
    const struct make_opts o = {.readonly = 1, .record = 1};
    warm_make_opts(w, "norecord", argv, NULL, &o);
    const char *env[] = {"FLAME_PARENT=x"};
    deliver(w, env, 1);
    assert_int_equal(wait_exit(w, 20000), 125);
    char *out = output(w);
    assert_null(strstr(out, "RAN"));
    assert_non_null(strstr(out, "writing the boot record"));
    free(out);
}

/*
 * Hostile records (docs/security.md, "Warm runners"): the runner's code owns
 * its record's directory and is the container's user, so it can put anything
 * there, or (as root) move /.flamed aside and put an impostor at
 * /.flamed/init. Whatever it does, adoption's read ends: refused at once, or
 * at its bound (WARM_RECORD_READ_MS), never handed out as a record.
 */
/* Make a warm runner of `test` whose command runs `script` (it echoes READY
 * when its mischief is done) as `user`, deliver its Boot, then read its
 * record as adoption does: warm_record_read's code (err: its detail). */
static int hostile_read(struct warm *w, const char *test, const char *script, const char *user,
                        char *err, size_t errlen)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    const struct make_opts o = {.user = user, .tmpfs = 1, .record = 1,
                                .prefix = "fltest-secreview"};
    warm_make_opts(w, test, argv, NULL, &o);
    const char *env[] = {"FLAME_PARENT=hostile"};
    deliver(w, env, 1);
    assert_true(output_has(w, "READY", 20000));
    struct engine *e = NULL;
    assert_int_equal(docker_engine_new(&e, dk), 0);
    struct env_frame f = {0};
    int rc = warm_record_read(e, w->id, &f, err, errlen);
    if (rc == 0)
        env_frame_free(&f);
    docker_engine_free(e);
    return rc;
}

/* A FIFO as the record: --print-record's open must not wait for a writer. */
static void a_fifo_as_the_record_is_refused_at_once(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    char err[512] = "";
    int rc = hostile_read(w, "fifo",
                          "rm -f /.flamed/run/boot && mkfifo /.flamed/run/boot && echo READY; "
                          "trap 'exit 0' TERM; while :; do sleep 0.05; done",
                          "1000:1000", err, sizeof err);
    assert_int_equal(rc, FLAME_EINVALID);
    if (!strstr(err, "not a regular file"))
        fail_msg("detail: %s", err);
}

/* An impostor that never ends: the read ends at its bound. */
static void an_impostor_init_that_hangs_is_cut_at_the_bound(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    char err[512] = "";
    int rc = hostile_read(w, "hang",
                          "mv /.flamed /.moved && mkdir /.flamed && "
                          "printf '#!/bin/sh\nexec sleep 60\n' >/.flamed/init && chmod +x /.flamed/init && "
                          "echo READY; trap 'exit 0' TERM; while :; do sleep 0.05; done",
                          NULL, err, sizeof err);
    assert_int_equal(rc, FLAME_ETIMEOUT);
}

/* An impostor that floods stdout: the read stops at the largest frame. */
static void an_impostor_init_that_floods_is_cut_at_the_largest_frame(void **state_)
{
    struct warm *w = *state_;
    REQUIRE_DOCKER();
    char err[512] = "";
    int rc = hostile_read(w, "flood",
                          "mv /.flamed /.moved && mkdir /.flamed && "
                          "printf '#!/bin/sh\nexec yes 12:flamed-env/2,\n' >/.flamed/init && "
                          "chmod +x /.flamed/init && "
                          "echo READY; trap 'exit 0' TERM; while :; do sleep 0.05; done",
                          NULL, err, sizeof err);
    assert_int_equal(rc, FLAME_EINVALID);
    if (!strstr(err, "longer than"))
        fail_msg("detail: %s", err);
}

static void writing_to_a_missing_container_is_not_found(void **state_)
{
    (void)state_;
    REQUIRE_DOCKER();
    char err[512] = "";
    assert_int_equal(docker_container_stdin_write(dk, "fltest-warm-no-such-container", "x", 1,
                                                  5000, err, sizeof err),
                     FLAME_ENOTFOUND);
    if (!strstr(err, "No such container"))
        fail_msg("detail: %s", err);
}

static void cleanup_all(void)
{
    cJSON *list = NULL, *it;
    char err[512];
    if (docker_container_list(dk, label_filter, &list, err, sizeof err) == 0)
        cJSON_ArrayForEach (it, list) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "Id");
            if (cJSON_IsString(id))
                docker_container_remove(dk, id->valuestring, err, sizeof err);
        }
    cJSON_Delete(list);
}

static int group_setup(void **state_)
{
    char err[512] = "", path[512];
    (void)state_;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    init_bin = getenv("FLAMED_INIT_BIN");
    if (!init_bin || access(init_bin, X_OK) != 0) {
        fprintf(stderr, "# FLAMED_INIT_BIN must name the built flamed-init\n");
        return -1;
    }
    snprintf(pid_text, sizeof pid_text, "%ld", (long)getpid());
    snprintf(label_filter, sizeof label_filter, LABEL_KEY "=%s", pid_text);
    if (docker_socket_detect(path, sizeof path, getenv("DOCKER_HOST"), getenv("HOME"), NULL) < 0)
        snprintf(path, sizeof path, "/var/run/docker.sock");
    if (docker_client_new(&dk, path) != 0)
        return -1;
    up = docker_ping(dk, err, sizeof err) == 0;
    if (!up)
        fprintf(stderr, "# dockerd does not answer at %s (%s): live tests skipped\n", path, err);
    return 0;
}

static int group_teardown(void **state_)
{
    (void)state_;
    if (up)
        cleanup_all();
    docker_client_free(dk);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            delivered_env_reaches_the_command_as_pid_1_and_its_exit_code_passes, test_setup,
            test_teardown),
        cmocka_unit_test_setup_teardown(sigterm_reaches_the_command, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_stop_signal_before_delivery_ends_the_runner_at_once,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(an_invalid_frame_is_refused_and_the_command_never_runs,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_command_not_found_exits_127, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_frame_of_a_megabyte_arrives_whole, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(the_engine_op_delivers_the_frame, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(the_record_is_kept_for_a_non_root_user_on_a_read_only_rootfs,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_record_that_cannot_be_written_ends_the_runner_with_125,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_fifo_as_the_record_is_refused_at_once, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(an_impostor_init_that_hangs_is_cut_at_the_bound, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(an_impostor_init_that_floods_is_cut_at_the_largest_frame,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(writing_to_a_missing_container_is_not_found, test_setup,
                                        test_teardown),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    return rc ? rc : skipped ? 77 : 0;
}
