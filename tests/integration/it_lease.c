/*
 * tests/integration/it_lease.c - runners do not outlive their purpose, through
 * libflame: parent leases held by a Watch with parent_id or by Renew, max
 * lifetime, idle shutdown, and Boot idempotency by request_id.
 *
 * The janitor checks 5 times a second; a retired runner is stopped with
 * flamed's --stop-timeout-ms (1000 in the harness), so "retired within TTL +
 * 1 s" is checked on the STOPPING event's arrival, and EXITED/REMOVED follow.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TTL 1500

/* ------------------------------------------------------------ a parent's Watch */

struct parent_watch {
    fl_env *e;
    char parent_id[64];
    pthread_t thread;
    atomic_int stop, started;
    int rc;
    flame_status st;
};

static int pw_event(void *ud, const flame_event *ev)
{
    struct parent_watch *p = ud;
    (void)ev;
    atomic_store(&p->started, 1);
    return atomic_load(&p->stop);
}

static int pw_tick(void *ud)
{
    struct parent_watch *p = ud;
    return atomic_load(&p->stop);
}

static void *pw_main(void *arg)
{
    struct parent_watch *p = arg;
    flame_watch_request req = {.pool = p->e->pool, .parent_id = p->parent_id, .on_tick = pw_tick};
    p->rc = flame_client_watch(p->e->client, &req, pw_event, p, &p->st);
    return NULL;
}

/* Open a Watch with parent_id and make sure flamed has it (a probe's events reach it). */
static struct parent_watch *parent_watch_open(fl_env *e, const char *parent_id)
{
    struct parent_watch *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->e = e;
    snprintf(p->parent_id, sizeof(p->parent_id), "%s", parent_id);
    assert_int_equal(pthread_create(&p->thread, NULL, pw_main, p), 0);
    int64_t until = fl_now_ms() + 15000;
    while (!atomic_load(&p->started)) {
        char probe[40];
        fl_unique(probe, sizeof(probe));
        fl_probe_boot(e, NULL, probe);
        if (fl_now_ms() > until)
            fail_msg("the parent's Watch saw no probe within 15 s");
        fl_sleep_ms(100);
    }
    return p;
}

static int64_t parent_watch_close(struct parent_watch *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    int64_t t = fl_now_ms();
    assert_int_equal(p->rc, 0);
    free(p);
    return t;
}

/* ------------------------------------------------------------ helpers */

static flame_runner *boot_with(fl_env *e, const char *parent, uint32_t ttl, uint64_t max_life,
                               uint64_t idle, const char *request_id)
{
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.parent_id = parent;
    req.lease_ttl_ms = ttl;
    req.max_lifetime_ms = max_life;
    req.idle_shutdown_after_ms = idle;
    req.request_id = request_id;
    return fl_boot(e, &req);
}

static int runner_state(fl_env *e, const char *id)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int state = FLAME_RUNNER_REMOVED; /* not listed: gone */
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, id) == 0)
            state = rs[i]->state;
    flame_runner_list_free(rs, n);
    return state;
}

/* Wait for the runner's STOPPING, EXITED, REMOVED on w; returns STOPPING's arrival time.
 * The final runner (Shutdown of a gone runner answers its tombstone) must carry `why`. */
static int64_t expect_retired(fl_env *e, fl_watcher *w, const char *id, int timeout_ms,
                              const char *why)
{
    int i = fl_watch_wait(w, id, FLAME_EVENT_STOPPING, timeout_ms);
    int64_t t = fl_now_ms();
    if (i < 0)
        fail_msg("runner %s: no STOPPING within %d ms (state %s)", id, timeout_ms,
                 flame_runner_state_name(runner_state(e, id)));
    assert_true(fl_watch_wait(w, id, FLAME_EVENT_EXITED, 30000) >= 0);
    assert_true(fl_watch_wait(w, id, FLAME_EVENT_REMOVED, 30000) >= 0);
    flame_runner *r = NULL;
    flame_status st;
    assert_int_equal(flame_client_shutdown(e->client, id, 0, &r, &st), 0);
    assert_non_null(r);
    fl_assert_contains(r->error, why);
    flame_runner_free(r);
    return t;
}

/* ------------------------------------------------------------ tests */

/* A Watch with parent_id holds the lease; closing it starts the TTL. */
FL_TEST(lease_held_by_parent_watch)
{
    char parent[64];
    snprintf(parent, sizeof(parent), "p-%s", e->tag);
    fl_watcher *obs = fl_watch_start(e, e->pool, NULL, 0);
    struct parent_watch *p = parent_watch_open(e, parent);
    fl_watch_sync(e, obs, NULL);
    flame_runner *r = boot_with(e, parent, TTL, 0, 0, NULL);
    assert_string_equal(r->parent_id, parent);
    assert_int_equal(r->lease_ttl_ms, TTL);
    fl_sleep_ms(2 * TTL);
    assert_int_equal(runner_state(e, r->id), FLAME_RUNNER_RUNNING);
    int64_t before = fl_now_ms();
    int64_t closed = parent_watch_close(p);
    int64_t stopping = expect_retired(e, obs, r->id, TTL + 5000, "lease expired");
    print_message("lease: STOPPING %lld..%lld ms after the parent's Watch closed (TTL %d)\n",
                  (long long)(stopping - closed), (long long)(stopping - before), TTL);
    assert_true(stopping - before >= TTL - 20);
    assert_true(stopping - closed <= TTL + 1000 + 500 /* watcher thread, load */);
    flame_runner_free(r);
}

/* Renew holds the lease; a Watch of another parent does not. */
FL_TEST(lease_held_by_renew)
{
    char parent[64], other[64];
    snprintf(parent, sizeof(parent), "q-%s", e->tag);
    snprintf(other, sizeof(other), "o-%s", e->tag);
    fl_watcher *obs = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, obs, NULL);
    struct parent_watch *p = parent_watch_open(e, other);
    unsigned renewed = 99;
    flame_status st;
    assert_int_equal(flame_client_renew(e->client, parent, &renewed, &st), 0);
    assert_int_equal(renewed, 0);
    flame_runner *r = boot_with(e, parent, TTL, 0, 0, NULL);
    int64_t last = 0;
    for (int i = 0; i < 10; i++) {
        int64_t t0 = fl_now_ms();
        assert_int_equal(flame_client_renew(e->client, parent, &renewed, &st), 0);
        assert_int_equal(renewed, 1);
        last = t0;
        fl_sleep_ms(400);
    }
    assert_int_equal(runner_state(e, r->id), FLAME_RUNNER_RUNNING);
    int64_t stopping = expect_retired(e, obs, r->id, TTL + 5000, "lease expired");
    print_message("lease: STOPPING %lld ms after the last Renew started (TTL %d)\n",
                  (long long)(stopping - last), TTL);
    assert_true(stopping - last >= TTL - 20);
    assert_int_equal(flame_client_renew(e->client, parent, &renewed, &st), 0);
    assert_int_equal(renewed, 0);
    /* libflame refuses an empty parent_id itself; flamed refuses a malformed one */
    assert_int_equal(flame_client_renew(e->client, "", &renewed, &st), FLAME_EINVALID);
    assert_int_equal(flame_client_renew(e->client, "bad parent!", &renewed, &st), FLAME_EINVALID);
    assert_int_equal(st.code, 3);
    parent_watch_close(p);
    flame_runner_free(r);
}

/* max_lifetime_ms: retired that long after it started, whatever else happens. */
FL_TEST(max_lifetime)
{
    fl_watcher *obs = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, obs, NULL);
    flame_runner *r = boot_with(e, NULL, 0, 2000, 0, NULL);
    int64_t booted = fl_now_ms();
    int64_t stopping = expect_retired(e, obs, r->id, 8000, "max lifetime");
    print_message("max lifetime 2000 ms: STOPPING %lld ms after Boot answered\n",
                  (long long)(stopping - booted));
    assert_true(stopping - booted <= 2000 + 1500);
    flame_runner_free(r);
}

/* idle_shutdown_after_ms: a running Spawn keeps the runner; idleness after it retires it. */
FL_TEST(idle_shutdown)
{
    fl_watcher *obs = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, obs, NULL);
    flame_runner *r = boot_with(e, NULL, 0, 0, 4000, NULL);
    fl_output o = {0};
    assert_int_equal(fl_spawn_sh(e, r->id, "sleep 6; echo done", &o), 0); /* longer than idle */
    int64_t ended = fl_now_ms();
    fl_assert_contains(o.out, "done");
    fl_output_free(&o);
    int64_t stopping = expect_retired(e, obs, r->id, 8000, "idle");
    print_message("idle 4000 ms: STOPPING %lld ms after the Spawn ended\n",
                  (long long)(stopping - ended));
    assert_true(stopping - ended >= 4000 - 300);
    flame_runner_free(r);
}

/* 5 concurrent Boots with one request_id: one runner, one container. */
struct rid_boot {
    fl_env *e;
    const char *rid;
    pthread_t thread;
    int rc;
    char id[40];
    flame_status st;
};

static void *rid_main(void *arg)
{
    struct rid_boot *b = arg;
    flame_boot_request req;
    fl_boot_req_init(b->e, &req);
    req.request_id = b->rid;
    flame_runner *r = NULL;
    b->rc = flame_client_boot(b->e->client, &req, &r, &b->st);
    if (r)
        snprintf(b->id, sizeof(b->id), "%s", r->id);
    flame_runner_free(r);
    return NULL;
}

FL_TEST(request_id_concurrent)
{
    char rid[80], label[120];
    snprintf(rid, sizeof(rid), "rid-%s", e->tag);
    struct rid_boot b[5];
    for (int i = 0; i < 5; i++) {
        memset(&b[i], 0, sizeof(b[i]));
        b[i].e = e;
        b[i].rid = rid;
        assert_int_equal(pthread_create(&b[i].thread, NULL, rid_main, &b[i]), 0);
    }
    for (int i = 0; i < 5; i++)
        pthread_join(b[i].thread, NULL);
    for (int i = 0; i < 5; i++) {
        if (b[i].rc != 0)
            fail_msg("Boot %d failed: %s", i, b[i].st.message);
        assert_string_equal(b[i].id, b[0].id);
    }
    snprintf(label, sizeof(label), "flamed.request-id=%s", rid);
    assert_int_equal(fl_count_labelled(e, label), 1);
    /* a retry later answers the same runner */
    flame_runner *again = boot_with(e, NULL, 0, 0, 0, rid);
    assert_string_equal(again->id, b[0].id);
    assert_string_equal(again->request_id, rid);
    flame_runner_free(again);
    assert_int_equal(fl_count_labelled(e, label), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(lease_held_by_parent_watch),
        FL_UNIT(lease_held_by_renew),
        FL_UNIT(max_lifetime),
        FL_UNIT(idle_shutdown),
        FL_UNIT(request_id_concurrent),
    };
    return FL_RUN("it_lease", tests);
}
