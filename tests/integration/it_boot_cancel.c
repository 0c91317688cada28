/*
 * Boot cancelled at any point leaves nothing: Boots are cancelled by the
 * client, by their gRPC deadline and by boot_timeout_ms, at points spread
 * from 0 to ~1.5 s after they were sent (network check, image check, create,
 * start, settle, health wait), all at once, on an image with a HEALTHCHECK
 * (flamed-test/healthy, healthy after ~1-2 s) and on plain busybox (running
 * in a few hundred ms, so some Boots finish). Afterwards no container carries
 * the test flamed's instance label except those of Boots that answered OK
 * (shut down by the test), and List shows none of the failed Boots' runners.
 */
#include "harness.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOTS 36 /* cancel points: SHOTS / 3 per way of cancelling */
#define SPREAD_MS 1500
#define GS_OK 0
#define GS_CANCELLED 1

enum how { CLIENT_CANCEL, GRPC_DEADLINE, BOOT_TIMEOUT };

struct shot {
    fl_env *e;
    grpc_channel *ch;
    const char *image;
    enum how how;
    long at_ms;
    grpc_status_code code;
    char message[512];
    char runner_id[40];
    int64_t took_ms;
};

static const char *how_name(enum how h)
{
    return h == CLIENT_CANCEL ? "cancel" : h == GRPC_DEADLINE ? "grpc-deadline" : "boot_timeout";
}

/* One Boot on its own completion queue, cancelled as s->how says. */
static void *shot_main(void *arg)
{
    struct shot *s = arg;
    static const char *const sleep_cmd[] = {"sleep", "3600"};
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    Flame__V1__BootRequest__LabelsEntry label = FLAME__V1__BOOT_REQUEST__LABELS_ENTRY__INIT;
    Flame__V1__BootRequest__LabelsEntry *labels[1] = {&label};
    label.key = FL_RUN_LABEL_KEY;
    label.value = s->e->tag;
    req.image = (char *)s->image;
    req.network = s->e->network;
    req.pool = s->e->pool;
    req.n_labels = 1;
    req.labels = labels;
    if (strcmp(s->image, FL_IMAGE_BUSYBOX) == 0) {
        req.n_cmd = 2;
        req.cmd = (char **)sleep_cmd;
    }
    if (s->how == BOOT_TIMEOUT)
        req.boot_timeout_ms = (uint32_t)s->at_ms + 1; /* 0 would mean the default */

    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice path = grpc_slice_from_static_string("/flame.v1.RunnerService/Boot");
    int64_t t0 = fl_now_ms();
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec deadline =
        gpr_time_add(now, gpr_time_from_millis(s->how == GRPC_DEADLINE ? s->at_ms : 60000,
                                               GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(s->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               deadline, NULL);
    grpc_slice_unref(path);
    size_t len = protobuf_c_message_get_packed_size(&req.base);
    grpc_slice body = grpc_slice_malloc(len);
    protobuf_c_message_pack(&req.base, GRPC_SLICE_START_PTR(body));
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *recv = NULL;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &s->code;
    ops[5].data.recv_status_on_client.status_details = &details;
    s->code = GRPC_STATUS_UNKNOWN;
    grpc_call_error ce = grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    grpc_event ev = {.type = GRPC_QUEUE_TIMEOUT};
    if (ce == GRPC_CALL_OK && s->how == CLIENT_CANCEL) {
        ev = grpc_completion_queue_next(
            cq, gpr_time_add(now, gpr_time_from_millis(s->at_ms, GPR_TIMESPAN)), NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT)
            grpc_call_cancel(call, NULL);
    }
    if (ce == GRPC_CALL_OK && ev.type == GRPC_QUEUE_TIMEOUT)
        ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    s->took_ms = fl_now_ms() - t0;
    if (ce != GRPC_CALL_OK)
        snprintf(s->message, sizeof s->message, "grpc_call_start_batch: %d", (int)ce);
    else
        snprintf(s->message, sizeof s->message, "%.*s", (int)GRPC_SLICE_LENGTH(details),
                 (const char *)GRPC_SLICE_START_PTR(details));
    if (s->code == GRPC_STATUS_OK && recv) {
        grpc_byte_buffer_reader reader;
        if (grpc_byte_buffer_reader_init(&reader, recv)) {
            grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
            grpc_byte_buffer_reader_destroy(&reader);
            Flame__V1__BootResponse *resp = flame__v1__boot_response__unpack(
                NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
            if (resp && resp->runner && resp->runner->id)
                snprintf(s->runner_id, sizeof s->runner_id, "%s", resp->runner->id);
            if (resp)
                flame__v1__boot_response__free_unpacked(resp, NULL);
            grpc_slice_unref(all);
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return NULL;
}

/* How many of flamed's runners List shows as RUNNING, other than the ones in ok[]. */
static int running_not_ok(fl_env *e, struct shot *shots, size_t n, char *which, size_t whichlen)
{
    flame_runner **rs = NULL;
    size_t k = 0;
    flame_status st;
    int bad = 0;
    which[0] = '\0';
    assert_int_equal(flame_client_list(e->client, NULL, &rs, &k, &st), 0);
    for (size_t i = 0; i < k; i++) {
        int ok = 0;
        for (size_t j = 0; j < n; j++)
            if (shots[j].runner_id[0] && strcmp(shots[j].runner_id, rs[i]->id) == 0)
                ok = 1;
        if (!ok && rs[i]->state == FLAME_RUNNER_RUNNING) {
            bad++;
            size_t used = strlen(which);
            snprintf(which + used, whichlen - used, " %s", rs[i]->id);
        }
    }
    flame_runner_list_free(rs, k);
    return bad;
}

/*
 * Run n Boots at once (or one after the other), the i-th cancelled at from_ms + i * (to_ms - from_ms) / (n - 1)
 * in the i-th of the three ways; `image(i)` picks its image. Then assert: a Boot
 * either answered OK with a runner (shut down here) or its runner is not listed
 * RUNNING, and no container with the instance label is left (some time allowed
 * for Docker's removals and for creates it finishes late).
 * @return how many Boots answered OK.
 */
static int storm(fl_env *e, int n, long from_ms, long to_ms, const char *(*image)(int i),
                 int one_at_a_time)
{
    struct shot *shots = calloc((size_t)n, sizeof *shots);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    char instance_label[200], which[1024];
    assert_non_null(shots);
    assert_non_null(th);
    snprintf(instance_label, sizeof instance_label, "flamed.instance=%s", e->addr);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(e->addr, creds, NULL);
    grpc_channel_credentials_release(creds);

    for (int i = 0; i < n; i++) {
        shots[i] = (struct shot){
            .e = e,
            .ch = ch,
            .image = image(i),
            .how = (enum how)(i % 3),
            .at_ms = from_ms + (long)i * (to_ms - from_ms) / (n - 1),
        };
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, shot_main, &shots[i]), 0);
        if (one_at_a_time)
            pthread_join(th[i], NULL);
    }
    for (int i = 0; i < n && !one_at_a_time; i++)
        pthread_join(th[i], NULL);

    int ok = 0;
    for (int i = 0; i < n; i++) {
        struct shot *s = &shots[i];
        print_message("%-13s at %4ld ms on %-26s -> %-18s in %5lld ms %s%s\n", how_name(s->how),
                      s->at_ms, s->image, flame_grpc_status_name((int)s->code),
                      (long long)s->took_ms, s->runner_id, s->code ? s->message : "");
        if (s->code == GRPC_STATUS_OK) {
            assert_true(s->runner_id[0] != '\0');
            ok++;
        } else if (s->how == CLIENT_CANCEL) {
            assert_int_equal(s->code, GRPC_STATUS_CANCELLED);
        } else if (s->code != GRPC_STATUS_DEADLINE_EXCEEDED) {
            fail_msg("%s at %ld ms: expected DEADLINE_EXCEEDED, got %s: %s", how_name(s->how),
                     s->at_ms, flame_grpc_status_name((int)s->code), s->message);
        }
    }
    print_message("%d of %d Boots answered OK; the rest were cancelled or timed out\n", ok, n);

    /* No failed Boot's runner is listed RUNNING, now that every answer is in. */
    if (running_not_ok(e, shots, (size_t)n, which, sizeof which) != 0)
        fail_msg("List shows runners of failed Boots as RUNNING:%s", which);
    for (int i = 0; i < n; i++)
        if (shots[i].runner_id[0])
            fl_shutdown(e, shots[i].runner_id); /* asserts OK */

    /* Every container is gone; a create Docker finished after its Boot gave up
     * is removed on its create event. Docker removes a container it is starting
     * only once the start is done: with dozens at once on a busy 2-core host that
     * takes tens of seconds, so the wait is generous. */
    int64_t until = fl_now_ms() + 90000;
    int left;
    while ((left = fl_count_labelled(e, instance_label)) != 0 && fl_now_ms() < until)
        fl_sleep_ms(100);
    if (left != 0)
        fail_msg("%d container(s) labelled %s are left after the cancelled Boots", left,
                 instance_label);
    /* And none turns up later (a create answered after its Boot gave up). */
    fl_sleep_ms(2000);
    assert_int_equal(fl_count_labelled(e, instance_label), 0);
    assert_int_equal(running_not_ok(e, shots, (size_t)n, which, sizeof which), 0);
    grpc_channel_destroy(ch);
    free(th);
    free(shots);
    return ok;
}

static const char *alternate(int i)
{
    return i % 2 ? FL_IMAGE_HEALTHY : FL_IMAGE_BUSYBOX;
}

static const char *busybox(int i)
{
    (void)i;
    return FL_IMAGE_BUSYBOX;
}

FL_TEST(boot_cancelled_at_any_point_leaves_no_container)
{
    /* Cancel points 0, ~43, ~86 ... 1500 ms, each way of cancelling at every third,
     * the two images alternating: every stage of a Boot is hit. */
    int ok = storm(e, SHOTS, 0, SPREAD_MS, alternate, 0);
    /* The healthy image is not healthy within 1.5 s: those Boots all failed. */
    assert_true(ok < SHOTS);
}

FL_TEST(boot_cancelled_as_it_becomes_running_is_ok_or_leaves_nothing)
{
    /* How long one Boot takes here now, then cancels around that time: some
     * Boots answer OK, some are cancelled in their last steps (settle, the last
     * look, RUNNING). Either way nothing is left unknown. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    req.image = FL_IMAGE_BUSYBOX;
    static const char *const cmd[] = {"sleep", "3600", NULL};
    req.cmd = cmd;
    int64_t t0 = fl_now_ms();
    flame_runner *r = fl_boot(e, &req);
    long boot_ms = (long)(fl_now_ms() - t0);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
    print_message("one Boot of busybox took %ld ms\n", boot_ms);
    /* One at a time (concurrent starts on one network are much slower, so a storm
     * never reaches RUNNING here), from 0.7 to 1.6 times that. */
    int ok = storm(e, 12, boot_ms * 7 / 10, boot_ms * 16 / 10, busybox, 1);
    print_message("%d of 12 Boots cancelled around their success answered OK\n", ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(boot_cancelled_at_any_point_leaves_no_container),
        FL_UNIT(boot_cancelled_as_it_becomes_running_is_ok_or_leaves_nothing),
    };
    return FL_RUN("boot_cancel", tests);
}
