/*
 * tests/integration/it_recovery.c - nothing is lost across a flamed restart,
 * and a Watch can resume, through libflame.
 *
 *  - adopt_after_restart: running and kept-exited runners are adopted: List
 *    shows them with their fields (pool, name, ip, request_id, parent_id,
 *    lease_ttl_ms, the same labels without the image's, the exact created
 *    time), Watch include_existing reports them, Shutdown works on them.
 *  - lease_after_restart: a leased runner whose parent never comes back is
 *    retired about a TTL after the restart (lifetime rules restored from labels).
 *  - request_id_after_restart: a Boot retried after a restart with the same
 *    request_id answers the adopted runner.
 *  - watch_resume: Watch with after_sequence = the last sequence seen replays
 *    exactly the missed events; too old -> FLAME_ERANGE / WATCH_HISTORY_GONE.
 *  - slow_watcher: with --watch-queue 8, a raw gRPC watcher that stops reading
 *    (small flow-control window) gets RESOURCE_EXHAUSTED / WATCH_TOO_SLOW
 *    naming the last sequence it got, while another watcher gets every event.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "harness.h"
#include "harness_ext.h"

static flame_runner *find_runner(fl_env *e, const char *id)
{
    flame_runner **rs = NULL, *found = NULL;
    size_t n = 0;
    flame_status st;
    assert_int_equal(flame_client_list(e->client, e->pool, &rs, &n, &st), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->id, id) == 0) {
            found = rs[i];
            rs[i] = NULL;
        }
    flame_runner_list_free(rs, n);
    return found;
}

/* ------------------------------------------------------------ adoption */

FL_TEST(adopt_after_restart)
{
    char rid[80], parent[64];
    snprintf(rid, sizeof(rid), "rid-%s", e->tag);
    snprintf(parent, sizeof(parent), "p-%s", e->tag);
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.request_id = rid;
    req.parent_id = parent; /* no lease: the parent_id is only recorded */
    flame_runner *a = fl_boot(e, &req);
    fl_boot_req_init(e, &req);
    req.keep_runner = 1;
    flame_runner *k = fl_boot(e, &req);
    /* k exits on its own (kept: it stays, EXITED) */
    fl_output o = {0};
    flame_spawn_request sp = {.runner_id = k->id, .argv = (const char *const[]){"kill", "1", NULL}};
    int code = 0;
    flame_status st;
    fl_spawn_req(e, &sp, &o, &code, &st);
    fl_output_free(&o);
    int64_t until = fl_now_ms() + 20000;
    for (;;) {
        flame_runner *now = find_runner(e, k->id);
        int state = now ? now->state : -1;
        flame_runner_free(now);
        if (state == FLAME_RUNNER_EXITED)
            break;
        if (fl_now_ms() > until)
            fail_msg("kept runner %s did not exit (state %d)", k->id, state);
        fl_sleep_ms(100);
    }

    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));
    fl_flamed_start(e);

    flame_runner *a2 = find_runner(e, a->id);
    flame_runner *k2 = find_runner(e, k->id);
    if (!a2 || !k2)
        fail_msg("not adopted: %s%s", a2 ? "" : a->id, k2 ? "" : k->id);
    assert_int_equal(a2->state, FLAME_RUNNER_RUNNING);
    assert_string_equal(a2->container_id, a->container_id);
    assert_string_equal(a2->name, a->name);
    assert_string_equal(a2->pool, a->pool);
    assert_string_equal(a2->image, a->image);
    assert_string_equal(a2->network, a->network);
    assert_string_equal(a2->ip_address, a->ip_address);
    assert_string_equal(a2->request_id, rid);
    assert_string_equal(a2->parent_id, parent);
    assert_string_equal(flame_runner_label(a2, FL_RUN_LABEL_KEY), e->tag);
    /* The same labels as before the restart (flamed's and the Boot's, not the
     * image's LABEL org.opencontainers.image.source), and the exact created time. */
    assert_null(flame_runner_label(a2, "org.opencontainers.image.source"));
    assert_int_equal(a2->n_labels, a->n_labels);
    for (size_t i = 0; i < a->n_labels; i++) {
        const char *v = flame_runner_label(a2, a->label_keys[i]);
        if (!v || strcmp(v, a->label_values[i]) != 0)
            fail_msg("label %s: %s before the restart, %s after", a->label_keys[i],
                     a->label_values[i], v ? v : "(none)");
    }
    assert_true(a2->created_unix_nano == a->created_unix_nano);
    assert_int_equal(k2->state, FLAME_RUNNER_EXITED);
    assert_int_equal(k2->keep_runner, 1);

    /* Watch include_existing reports both */
    fl_watcher *w = fl_watch_start(e, e->pool, NULL, 1);
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_EXISTING, 10000) >= 0);
    assert_true(fl_watch_wait(w, k->id, FLAME_EVENT_EXISTING, 10000) >= 0);
    /* Shutdown works on adopted runners */
    assert_int_equal(fl_shutdown(e, a->id), FLAME_RUNNER_REMOVED);
    assert_int_equal(fl_wait_container_gone(e, a->container_id, 15000), 0);
    assert_true(fl_watch_wait(w, a->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    assert_int_equal(fl_shutdown(e, k->id), FLAME_RUNNER_EXITED); /* kept: stays EXITED */
    flame_runner_free(a);
    flame_runner_free(k);
    flame_runner_free(a2);
    flame_runner_free(k2);
}

FL_TEST(lease_after_restart)
{
    char parent[64];
    snprintf(parent, sizeof(parent), "p-%s", e->tag);
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.parent_id = parent;
    req.lease_ttl_ms = 5000; /* longer than a stop and start: the janitor runs until flamed exits */
    req.max_lifetime_ms = 3600000;
    flame_runner *r = fl_boot(e, &req);
    /* Renew through the restart window so only the restart decides */
    unsigned renewed = 0;
    flame_status st;
    assert_int_equal(flame_client_renew(e->client, parent, &renewed, &st), 0);
    assert_int_equal(renewed, 1);
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));
    fl_flamed_start(e);
    int64_t adopted = fl_now_ms();
    flame_runner *r2 = find_runner(e, r->id);
    assert_non_null(r2);
    assert_int_equal(r2->lease_ttl_ms, 5000);
    flame_runner_free(r2);
    fl_watcher *w = fl_watch_start(e, e->pool, r->id, 0);
    if (fl_watch_wait(w, r->id, FLAME_EVENT_STOPPING, 15000) < 0)
        fail_msg("the adopted runner's lease was not enforced within 15 s of the restart");
    int64_t t = fl_now_ms() - adopted;
    print_message("adopted runner retired %lld ms after flamed answered again (TTL 5000)\n",
                  (long long)t);
    assert_true(fl_watch_wait(w, r->id, FLAME_EVENT_REMOVED, 30000) >= 0);
    flame_runner *fin = NULL;
    assert_int_equal(flame_client_shutdown(e->client, r->id, 0, &fin, &st), 0);
    fl_assert_contains(fin->error, "lease expired");
    flame_runner_free(fin);
    flame_runner_free(r);
}

FL_TEST(request_id_after_restart)
{
    char rid[80], label[120];
    snprintf(rid, sizeof(rid), "rid-%s", e->tag);
    snprintf(label, sizeof(label), "flamed.request-id=%s", rid);
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.request_id = rid;
    flame_runner *a = fl_boot(e, &req);
    fl_assert_clean_exit(e, fl_flamed_stop(e, 10000));
    fl_flamed_start(e);
    flame_runner *b = fl_boot(e, &req);
    assert_string_equal(b->id, a->id);
    assert_string_equal(b->container_id, a->container_id);
    assert_int_equal(fl_count_labelled(e, label), 1);
    flame_runner_free(a);
    flame_runner_free(b);
}

/* ------------------------------------------------------------ watch resume */

struct collect {
    atomic_int stop;
    pthread_mutex_t mu;
    uint64_t seq[512];
    int type[512];
    char id[512][20];
    size_t n;
};

static int collect_fn(void *ud, const flame_event *ev)
{
    struct collect *c = ud;
    pthread_mutex_lock(&c->mu);
    if (c->n < 512) {
        c->seq[c->n] = ev->sequence;
        c->type[c->n] = ev->type;
        snprintf(c->id[c->n], sizeof(c->id[0]), "%s", ev->runner ? ev->runner->id : "");
        c->n++;
    }
    pthread_mutex_unlock(&c->mu);
    return atomic_load(&c->stop);
}

static int collect_tick(void *ud)
{
    struct collect *c = ud;
    return atomic_load(&c->stop);
}

static size_t collected(struct collect *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

struct watch_run {
    fl_env *e;
    flame_watch_request req;
    struct collect *c;
    pthread_t thread;
    int rc;
    flame_status st;
};

static void *watch_run_main(void *arg)
{
    struct watch_run *w = arg;
    w->req.on_tick = collect_tick;
    w->rc = flame_client_watch(w->e->client, &w->req, collect_fn, w->c, &w->st);
    return NULL;
}

static void probe_n(fl_env *e, int n)
{
    for (int i = 0; i < n; i++) {
        char p[40];
        fl_unique(p, sizeof(p));
        fl_probe_boot(e, NULL, p);
    }
}

FL_TEST(watch_resume)
{
    fl_watcher *ref = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, ref, NULL);
    /* W1: sees a few events, then disconnects at sequence S */
    struct collect *c1 = calloc(1, sizeof(*c1));
    pthread_mutex_init(&c1->mu, NULL);
    struct watch_run w1 = {.e = e, .req = {.pool = e->pool}, .c = c1};
    assert_int_equal(pthread_create(&w1.thread, NULL, watch_run_main, &w1), 0);
    int64_t until = fl_now_ms() + 15000;
    while (collected(c1) < 2) {
        probe_n(e, 1);
        if (fl_now_ms() > until)
            fail_msg("W1 saw no events");
        fl_sleep_ms(100);
    }
    atomic_store(&c1->stop, 1);
    pthread_join(w1.thread, NULL);
    assert_int_equal(w1.rc, 0);
    uint64_t S = c1->seq[c1->n - 1];

    /* missed: a runner's life and probes */
    flame_runner *r = fl_boot_default(e, NULL);
    assert_int_equal(fl_shutdown(e, r->id), FLAME_RUNNER_REMOVED);
    probe_n(e, 3);
    assert_true(fl_watch_wait(ref, r->id, FLAME_EVENT_REMOVED, 10000) >= 0);
    fl_sleep_ms(300);
    fl_event *evs = NULL;
    size_t n = fl_watch_events(ref, &evs);
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += evs[i].sequence > S;

    /* W2: resume after S */
    struct collect *c2 = calloc(1, sizeof(*c2));
    pthread_mutex_init(&c2->mu, NULL);
    struct watch_run w2 = {.e = e, .req = {.pool = e->pool, .after_sequence = S}, .c = c2};
    assert_int_equal(pthread_create(&w2.thread, NULL, watch_run_main, &w2), 0);
    until = fl_now_ms() + 10000;
    while (collected(c2) < want && fl_now_ms() < until)
        fl_sleep_ms(50);
    fl_sleep_ms(300);
    atomic_store(&c2->stop, 1);
    pthread_join(w2.thread, NULL);
    assert_int_equal(w2.rc, 0);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].sequence <= S)
            continue;
        if (k >= c2->n)
            fail_msg("resume after %llu: missing event %llu (%s %s)", (unsigned long long)S,
                     (unsigned long long)evs[i].sequence, flame_event_type_name(evs[i].type),
                     evs[i].runner_id);
        assert_int_equal(c2->seq[k], evs[i].sequence);
        assert_int_equal(c2->type[k], evs[i].type);
        assert_string_equal(c2->id[k], evs[i].runner_id);
        k++;
    }
    assert_int_equal(k, c2->n); /* nothing extra */
    print_message("resume after %llu: %zu missed events replayed exactly\n", (unsigned long long)S,
                  k);

    /* too old */
    struct collect c3 = {0};
    pthread_mutex_init(&c3.mu, NULL);
    flame_watch_request old = {.pool = e->pool, .after_sequence = 1, .timeout_ms = 10000};
    flame_status st;
    int rc = flame_client_watch(e->client, &old, collect_fn, &c3, &st);
    assert_int_equal(rc, FLAME_ERANGE);
    assert_int_equal(st.code, 11);
    assert_string_equal(st.reason, "WATCH_HISTORY_GONE");
    assert_int_equal(c3.n, 0);
    pthread_mutex_destroy(&c3.mu);
    pthread_mutex_destroy(&c1->mu);
    pthread_mutex_destroy(&c2->mu);
    free(c1);
    free(c2);
    free(evs);
    flame_runner_free(r);
}

/* ------------------------------------------------------------ slow watcher */

/* A probe whose events carry ~128 KiB of labels: many of them fill gRPC's
 * flow-control window and socket buffers, which is when a consumer that does
 * not read shows. */
static void big_probe(fl_env *e)
{
    static char big[3901];
    static char labels[32][3960];
    const char *lv[34];
    memset(big, 'x', 3900);
    size_t m = 0;
    lv[m++] = e->run_label;
    for (int i = 0; i < 32; i++) {
        snprintf(labels[i], sizeof(labels[i]), "fltest.big%d=%s", i, big);
        lv[m++] = labels[i];
    }
    lv[m] = NULL;
    char net[64];
    snprintf(net, sizeof(net), "fltest-nonet-%d", (int)getpid());
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.network = net;
    req.labels = lv;
    flame_runner *r = NULL;
    flame_status st;
    int rc = flame_client_boot(e->client, &req, &r, &st);
    flame_runner_free(r);
    fl_assert_status(rc, &st, 9);
}

/*
 * A raw Watch that does not read: gRPC core with a small flow-control window
 * (64 KiB lookahead, no BDP probing, so the window never grows) and no
 * RECV_MESSAGE for `pause_ms` after the first message. Then it reads every
 * message until the status. Records the sequences it got, the status and the
 * flame-reason trailing metadata.
 */
struct raw_watch {
    fl_env *e;
    int pause_ms;
    pthread_t thread;
    atomic_int got_first;
    uint64_t last_seq;
    size_t n;
    int status;
    char message[512], reason[64];
};

static int raw_recv(grpc_call *call, grpc_completion_queue *cq, grpc_byte_buffer **bb)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = bb;
    if (grpc_call_start_batch(call, &op, 1, (void *)2, NULL) != GRPC_CALL_OK)
        return -1;
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success && *bb ? 1 : 0;
}

static void *raw_watch_main(void *arg)
{
    struct raw_watch *w = arg;
    grpc_arg args[2];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_HTTP2_BDP_PROBE;
    args[0].value.integer = 0;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[1].value.integer = 65536;
    grpc_channel_args cargs = {2, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(w->e->addr, creds, &cargs);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice path = grpc_slice_from_static_string("/flame.v1.RunnerService/Watch");
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    Flame__V1__WatchRequest req = FLAME__V1__WATCH_REQUEST__INIT;
    req.pool = w->e->pool;
    size_t len = flame__v1__watch_request__get_packed_size(&req);
    grpc_slice s = grpc_slice_malloc(len);
    flame__v1__watch_request__pack(&req, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    if (grpc_call_start_batch(call, ops, 4, (void *)1, NULL) == GRPC_CALL_OK)
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    for (;;) {
        grpc_byte_buffer *bb = NULL;
        if (raw_recv(call, cq, &bb) <= 0)
            break;
        grpc_byte_buffer_reader rd;
        grpc_byte_buffer_reader_init(&rd, bb);
        grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        grpc_byte_buffer_destroy(bb);
        Flame__V1__WatchResponse *m = flame__v1__watch_response__unpack(
            NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        if (m) {
            w->last_seq = m->sequence;
            flame__v1__watch_response__free_unpacked(m, NULL);
        }
        if (w->n++ == 0) {
            atomic_store(&w->got_first, 1);
            fl_sleep_ms(w->pause_ms); /* stop reading */
        }
    }
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[0].data.recv_status_on_client.status = &status;
    ops[0].data.recv_status_on_client.status_details = &details;
    if (grpc_call_start_batch(call, ops, 1, (void *)3, NULL) == GRPC_CALL_OK)
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    w->status = (int)status;
    snprintf(w->message, sizeof(w->message), "%.*s", (int)GRPC_SLICE_LENGTH(details),
             (const char *)GRPC_SLICE_START_PTR(details));
    for (size_t i = 0; i < trailing_md.count; i++)
        if (grpc_slice_str_cmp(trailing_md.metadata[i].key, "flame-reason") == 0)
            snprintf(w->reason, sizeof(w->reason), "%.*s",
                     (int)GRPC_SLICE_LENGTH(trailing_md.metadata[i].value),
                     (const char *)GRPC_SLICE_START_PTR(trailing_md.metadata[i].value));
    grpc_slice_unref(details);
    grpc_byte_buffer_destroy(send);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    return NULL;
}

static void slow_watcher(void **state)
{
    const char *args[] = {"--watch-queue", "8", NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
    fl_watcher *fast = fl_watch_start(e, e->pool, NULL, 0);
    fl_watch_sync(e, fast, NULL);
    fl_event *evs = NULL;
    size_t fast_before = fl_watch_events(fast, &evs);
    free(evs);
    struct raw_watch *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->e = e;
    w->pause_ms = 6000; /* stops reading for 6 s after its first event */
    assert_int_equal(pthread_create(&w->thread, NULL, raw_watch_main, w), 0);
    int64_t until = fl_now_ms() + 15000;
    while (!atomic_load(&w->got_first)) {
        probe_n(e, 1);
        if (fl_now_ms() > until)
            fail_msg("the slow watcher saw nothing");
        fl_sleep_ms(100);
    }
    int64_t t0 = fl_now_ms();
    for (int i = 0; i < 15; i++) /* 30 events, ~128 KiB each */
        big_probe(e);
    print_message("15 probe Boots (30 events) while a watcher does not read: %lld ms each\n",
                  (long long)((fl_now_ms() - t0) / 15));
    pthread_join(w->thread, NULL);
    print_message("slow watcher: %zu events, then status %d [%s] %s\n", w->n, w->status,
                  w->reason, w->message);
    assert_int_equal(w->status, GS_RESOURCE_EXHAUSTED);
    assert_string_equal(w->reason, "WATCH_TOO_SLOW");
    char want[64];
    snprintf(want, sizeof(want), "after sequence %llu", (unsigned long long)w->last_seq);
    fl_assert_contains(w->message, want);
    /* the other watcher got every one of the 30 */
    size_t n = 0;
    until = fl_now_ms() + 15000;
    do {
        n = fl_watch_events(fast, &evs);
        free(evs);
        if (n >= fast_before + 30)
            break;
        fl_sleep_ms(100);
    } while (fl_now_ms() < until);
    assert_true(n >= fast_before + 30);
    free(w);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(adopt_after_restart),
        FL_UNIT(lease_after_restart),
        FL_UNIT(request_id_after_restart),
        FL_UNIT(watch_resume),
        FLX_UNIT(slow_watcher),
    };
    return FL_RUN("it_recovery", tests);
}
