/* A service over the in-memory engine (fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int fixture_start(struct fixture *f, void (*prepare)(mem_engine *m)) { return fixture_start_ex(f, prepare, 1); }

int fixture_start_ex(struct fixture *f, void (*prepare)(mem_engine *m), int wait_ready)
{
    memset(f, 0, sizeof(*f));
    if (mem_engine_new(&f->e, &f->m) < 0)
        return -1;
    mem_engine_add_image(f->m, FIX_IMAGE);
    if (prepare)
        prepare(f->m);
    struct service_config cfg = {.instance = "unit"};
    if (service_start(&f->svc, f->e, &cfg) < 0)
        return -1;
    if (!wait_ready)
        return 0;
    for (int i = 0; i < 500; i++) {
        if (service_sync_state(f->svc) == SERVICE_SYNC_READY)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

void fixture_stop(struct fixture *f)
{
    service_close_watches(f->svc);
    service_stop(f->svc);
    mem_engine_free(f->e);
}

fake_call *fixture_call(struct fixture *f, const char *method, const ProtobufCMessage *req,
                        const struct caller_identity *id, long timeout_ms)
{
    fake_call *fc = fake_call_new(f->svc, method, req, id, timeout_ms);
    if (!fc)
        return NULL;
    fake_call_start(fc);
    if (!fake_call_wait(fc, 10000)) {
        fprintf(stderr, "fixture: %s did not end within 10 s\n", method);
        return NULL;
    }
    return fc;
}

void fixture_boot_ok(struct fixture *f, const char *pool, char out_id[RUNNER_ID_LEN + 1])
{
    Flame__V1__BootRequest req = FLAME__V1__BOOT_REQUEST__INIT;
    req.image = FIX_IMAGE;
    req.pool = (char *)(pool ? pool : "");
    fake_call *fc = fixture_call(f, "Boot", &req.base, NULL, 0);
    out_id[0] = '\0';
    if (!fc)
        return;
    Flame__V1__BootResponse *resp =
        (Flame__V1__BootResponse *)fake_call_response(fc, &flame__v1__boot_response__descriptor);
    if (fake_call_code(fc) != 0 || !resp || !resp->runner)
        fprintf(stderr, "fixture: Boot failed: %d %s %s\n", fake_call_code(fc), fake_call_reason(fc),
                fake_call_detail(fc));
    else
        snprintf(out_id, RUNNER_ID_LEN + 1, "%s", resp->runner->id);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    fake_call_free(fc);
}

int fixture_until(struct fixture *f, int (*pred)(struct fixture *f, void *ud), void *ud, long timeout_ms)
{
    for (long t = 0; t < timeout_ms; t += 5) {
        if (pred(f, ud))
            return 1;
        sleep_ms(5);
    }
    return pred(f, ud);
}

int fixture_state(struct fixture *f, const char *runner_id)
{
    struct runner *r = NULL;
    (void)runner_registry_get(f->svc->reg, runner_id, &r);
    int s = r ? (int)r->state : -1;
    runner_free(r);
    return s;
}

size_t fixture_count_state(struct fixture *f, int state)
{
    struct runner **rs = NULL;
    size_t n = 0, k = 0;
    if (runner_registry_list(f->svc->reg, NULL, &rs, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        k += (int)rs[i]->state == state;
        runner_free(rs[i]);
    }
    free(rs);
    return k;
}

int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || fixture_start(f, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    fixture_stop(f);
    free(f);
    return 0;
}
