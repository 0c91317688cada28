/* Live tests (real dockerd): the container events stream. */
#include <pthread.h>

#include "live_support.h"

struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char container_id[80]; /* whose events count; "" = any */
    int opened, saw_start, saw_die, die_exit_code, events;
    int64_t last_time_nano;
    double deadline;    /* should_stop after this (monotonic) */
    int stop_after_die; /* on_event returns non-zero on die */
    int rc;
    char err[512];
    char label[128];
    int64_t since_nano;
};

static int on_event(void *ud, const cJSON *ev)
{
    struct watch *w = ud;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    const cJSON *tn = cJSON_GetObjectItemCaseSensitive(ev, "timeNano");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "Actor"),
                                         "Attributes"),
        "exitCode");
    int stop = 0;

    if (!cJSON_IsString(action) || !cJSON_IsString(id))
        return 0;
    pthread_mutex_lock(&w->lock);
    if (!w->container_id[0] || strcmp(w->container_id, id->valuestring) == 0) {
        w->events++;
        if (cJSON_IsNumber(tn))
            w->last_time_nano = (int64_t)tn->valuedouble;
        if (strcmp(action->valuestring, "start") == 0)
            w->saw_start = 1;
        if (strcmp(action->valuestring, "die") == 0) {
            w->saw_die = 1;
            w->die_exit_code = cJSON_IsString(code) ? (int)strtol(code->valuestring, NULL, 10) : -1;
            stop = w->stop_after_die;
        }
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return stop;
}

static void on_open(void *ud)
{
    struct watch *w = ud;

    pthread_mutex_lock(&w->lock);
    w->opened = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static int should_stop(void *ud)
{
    struct watch *w = ud;

    return live_now_s() >= w->deadline;
}

static void *stream_thread(void *arg)
{
    struct watch *w = arg;
    struct docker_events_io io = {on_event, on_open, should_stop, w};

    w->rc = docker_events_stream(live, w->label, w->since_nano, &io, w->err, sizeof w->err);
    pthread_mutex_lock(&w->lock);
    w->opened = -1; /* finished */
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void watch_init(struct watch *w, double seconds)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->deadline = live_now_s() + seconds;
    snprintf(w->label, sizeof w->label, "%s", live_label);
}

static void watch_destroy(struct watch *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

static int64_t wall_nano(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void stream_sees_start_and_die_of_a_test_container(void **state)
{
    const char *const cmd[] = {"sh", "-c", "exit 7", NULL};
    struct watch w;
    pthread_t t;
    char *id;

    (void)state;
    LIVE_REQUIRE();
    watch_init(&w, 20);
    w.stop_after_die = 1;
    assert_int_equal(pthread_create(&t, NULL, stream_thread, &w), 0);
    pthread_mutex_lock(&w.lock);
    while (w.opened == 0)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    assert_int_equal(w.opened, 1);

    id = live_create("ev", cmd, NULL);
    pthread_mutex_lock(&w.lock);
    snprintf(w.container_id, sizeof w.container_id, "%s", id);
    pthread_mutex_unlock(&w.lock);
    {
        char err[512] = "";

        assert_int_equal(docker_container_start(live, id, 30000, err, sizeof err), 0);
    }
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0); /* stopped by on_event */
    assert_int_equal(w.saw_start, 1);
    assert_int_equal(w.saw_die, 1);
    assert_int_equal(w.die_exit_code, 7);
    assert_true(live_now_s() < w.deadline);
    docker_container_remove(live, id, NULL, 0);
    free(id);
    watch_destroy(&w);
}

static void since_replays_past_events(void **state)
{
    const char *const cmd[] = {"true", NULL};
    struct watch w;
    char err[512] = "";
    int64_t t0 = wall_nano() - 1000000000; /* a second of clock slack */
    pthread_t t;
    char *id;

    (void)state;
    LIVE_REQUIRE();
    id = live_run("ev-since", cmd);
    watch_init(&w, 20);
    snprintf(w.container_id, sizeof w.container_id, "%s", id);
    w.stop_after_die = 1;
    w.since_nano = t0;
    /* The container has likely died already: only since= can show it. */
    assert_int_equal(pthread_create(&t, NULL, stream_thread, &w), 0);
    pthread_join(t, NULL);
    if (w.rc != 0)
        fail_msg("events: %s (%d)", w.err, w.rc);
    assert_int_equal(w.saw_start, 1);
    assert_int_equal(w.saw_die, 1);
    assert_int_equal(w.die_exit_code, 0);
    assert_true(w.last_time_nano >= t0);
    assert_int_equal(docker_container_remove(live, id, err, sizeof err), 0);
    free(id);
    watch_destroy(&w);
}

static void should_stop_ends_an_idle_stream_promptly(void **state)
{
    struct watch w;
    double t0;
    pthread_t t;

    (void)state;
    LIVE_REQUIRE();
    watch_init(&w, 0.3);
    snprintf(w.label, sizeof w.label, "%.96s-nothing-matches", live_label);
    t0 = live_now_s();
    assert_int_equal(pthread_create(&t, NULL, stream_thread, &w), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.events, 0);
    assert_true(live_now_s() - t0 < 1.5);
    watch_destroy(&w);
}

static void stream_on_a_missing_socket_is_unavailable(void **state)
{
    docker_client *c = NULL;
    struct watch w;
    struct docker_events_io io = {on_event, on_open, should_stop, &w};

    (void)state;
    watch_init(&w, 5);
    assert_int_equal(docker_client_new(&c, "/nonexistent/flamed-test.sock"), 0);
    assert_int_equal(docker_events_stream(c, NULL, 0, &io, w.err, sizeof w.err),
                     FLAME_EUNAVAILABLE);
    assert_int_equal(w.opened, 0);
    assert_non_null(strstr(w.err, "/nonexistent/flamed-test.sock"));
    docker_client_free(c);
    watch_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_sees_start_and_die_of_a_test_container),
        cmocka_unit_test(since_replays_past_events),
        cmocka_unit_test(should_stop_ends_an_idle_stream_promptly),
        cmocka_unit_test(stream_on_a_missing_socket_is_unavailable),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
