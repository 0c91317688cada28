/*
 * tests/unit/docker/live_bounds.c - bounded views (docker_client_bounded):
 * a caller's deadline and cancel reach every Docker call made through the
 * view, including one already waiting on Docker, against the real dockerd.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "live_support.h"

static int flag_cancelled(void *ud)
{
    return atomic_load((atomic_int *)ud);
}

/* A running container that sleeps; its id (free()). */
static char *sleeper(const char *suffix)
{
    static const char *const cmd[] = {"sleep", "60", NULL};
    return live_run(suffix, cmd);
}

static void deadline_passed_fails_at_once(void **state)
{
    struct docker_bounds b = {.deadline_ms = docker_now_ms() - 1};
    docker_client *v = NULL;
    char err[512] = "";
    double t0;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_client_bounded(&v, live, &b), 0);
    t0 = live_now_s();
    rc = docker_image_inspect(v, LIVE_IMAGE, NULL, err, sizeof err);
    assert_int_equal(rc, FLAME_ETIMEOUT);
    assert_true(live_now_s() - t0 < 0.05);
    assert_non_null(strstr(err, "deadline"));
    docker_client_free(v);
    /* The root is untouched by its view's bounds and its freeing. */
    assert_int_equal(docker_image_inspect(live, LIVE_IMAGE, NULL, err, sizeof err), 0);
}

static void deadline_bounds_a_waiting_call(void **state)
{
    char *id = NULL;
    docker_client *v = NULL;
    char err[512] = "";
    long status = 0;
    double t0, took;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    id = sleeper("bounds-deadline");
    struct docker_bounds b = {.deadline_ms = docker_now_ms() + 300};
    assert_int_equal(docker_client_bounded(&v, live, &b), 0);
    t0 = live_now_s();
    /* Its own timeout is 30 s: the view's 300 ms must win. */
    rc = docker_container_wait(v, id, "not-running", 30000, &status, err, sizeof err);
    took = live_now_s() - t0;
    print_message("a wait with a 300 ms deadline returned after %.0f ms\n", took * 1000);
    assert_int_equal(rc, FLAME_ETIMEOUT);
    assert_true(took >= 0.25 && took < 1.5);
    docker_client_free(v);
    docker_container_remove(live, id, NULL, 0);
    free(id);
}

struct canceller {
    atomic_int flag;
    long after_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    struct timespec ts = {c->after_ms / 1000, (c->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&c->flag, 1);
    return NULL;
}

static void cancel_aborts_a_call_in_flight(void **state)
{
    struct canceller c = {.after_ms = 200};
    char *id = NULL;
    docker_client *v = NULL;
    char err[512] = "";
    long status = 0;
    pthread_t th;
    double t0, took;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    atomic_init(&c.flag, 0);
    id = sleeper("bounds-cancel");
    struct docker_bounds b = {.cancelled = flag_cancelled, .ud = &c.flag};
    assert_int_equal(docker_client_bounded(&v, live, &b), 0);
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
    t0 = live_now_s();
    rc = docker_container_wait(v, id, "not-running", 30000, &status, err, sizeof err);
    took = live_now_s() - t0;
    pthread_join(th, NULL);
    print_message("a wait cancelled 200 ms in returned after %.0f ms\n", took * 1000);
    assert_int_equal(rc, FLAME_ECANCELLED);
    assert_true(took >= 0.15 && took < 0.6);
    /* Cancelled stays cancelled: the next call fails before it is sent. */
    assert_int_equal(docker_container_inspect(v, id, NULL, err, sizeof err), FLAME_ECANCELLED);
    docker_client_free(v);
    /* The pool is fine afterwards. */
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
}

static int exec_out(void *ud, int stream, const char *p, size_t n)
{
    (void)ud, (void)stream, (void)p, (void)n;
    return 0;
}

static void cancel_aborts_a_stream(void **state)
{
    static const char *const argv[] = {"sleep", "30", NULL};
    struct canceller c = {.after_ms = 200};
    char *id = NULL, *exec_id = NULL;
    docker_client *v = NULL;
    char err[512] = "";
    pthread_t th;
    double t0, took;
    int rc;

    (void)state;
    LIVE_REQUIRE();
    atomic_init(&c.flag, 0);
    id = sleeper("bounds-stream");
    assert_int_equal(docker_exec_create(live, id, argv, NULL, NULL, NULL, &exec_id, err, sizeof err),
                     0);
    struct docker_bounds b = {.cancelled = flag_cancelled, .ud = &c.flag,
                              .deadline_ms = docker_now_ms() + 20000};
    assert_int_equal(docker_client_bounded(&v, live, &b), 0);
    struct docker_exec_io io = {.on_output = exec_out};
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
    t0 = live_now_s();
    rc = docker_exec_start(v, exec_id, &io, err, sizeof err);
    took = live_now_s() - t0;
    pthread_join(th, NULL);
    print_message("an exec stream cancelled 200 ms in returned after %.0f ms\n", took * 1000);
    assert_int_equal(rc, FLAME_ECANCELLED);
    assert_true(took >= 0.15 && took < 0.6);
    docker_client_free(v);
    docker_container_remove(live, id, NULL, 0);
    free(exec_id);
    free(id);
}

static void view_of_view_keeps_the_tighter_deadline(void **state)
{
    docker_client *a = NULL, *b = NULL;
    char err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    struct docker_bounds tight = {.deadline_ms = docker_now_ms() - 1};
    struct docker_bounds loose = {.deadline_ms = docker_now_ms() + 60000};
    assert_int_equal(docker_client_bounded(&a, live, &tight), 0);
    assert_int_equal(docker_client_bounded(&b, a, &loose), 0);
    assert_int_equal(docker_ping(b, err, sizeof err), FLAME_ETIMEOUT);
    docker_client_free(b);
    docker_client_free(a);
    assert_int_equal(docker_client_bounded(&a, live, NULL), 0);
    assert_int_equal(docker_ping(a, err, sizeof err), 0);
    assert_string_equal(docker_client_socket_path(a), docker_client_socket_path(live));
    docker_client_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_passed_fails_at_once),
        cmocka_unit_test(deadline_bounds_a_waiting_call),
        cmocka_unit_test(cancel_aborts_a_call_in_flight),
        cmocka_unit_test(cancel_aborts_a_stream),
        cmocka_unit_test(view_of_view_keeps_the_tighter_deadline),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
