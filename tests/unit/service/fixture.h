/*
 * tests/unit/service/fixture.h - a running service over the in-memory engine,
 * for the service's unit tests: the same service_start() as flamed, with an
 * instance "unit" and the built-in policy, waited for until it is READY.
 */
#ifndef FLAMED_TESTS_FIXTURE_H
#define FLAMED_TESTS_FIXTURE_H

#include "fake_call.h"
#include "mem_engine.h"
#include "service/adopt.h"
#include "service/lifecycle.h"
#include "service/service.h"

/* The image the fixture's engine has. */
#define FIX_IMAGE "flt/runner:1"

struct fixture {
    struct engine *e;
    mem_engine *m;
    struct service *svc;
};

/** Start a fixture; prepare (may be NULL) scripts the engine before the service starts
 *  (e.g. containers to adopt). @return 0 once READY. */
int fixture_start(struct fixture *f, void (*prepare)(mem_engine *m));
/** As fixture_start, without waiting for READY when wait_ready is 0. */
int fixture_start_ex(struct fixture *f, void (*prepare)(mem_engine *m), int wait_ready);
void fixture_stop(struct fixture *f);

/** Run one call to its end (up to 10 s); the caller frees it. NULL when it did not end. */
fake_call *fixture_call(struct fixture *f, const char *method, const ProtobufCMessage *req,
                        const struct caller_identity *id, long timeout_ms);

/** A Boot into pool (NULL: default) that must succeed: the runner's id (static buffer per call). */
void fixture_boot_ok(struct fixture *f, const char *pool, char out_id[RUNNER_ID_LEN + 1]);

/** Wait until pred(f, ud) holds (up to timeout_ms). @return 1 if it did. */
int fixture_until(struct fixture *f, int (*pred)(struct fixture *f, void *ud), void *ud, long timeout_ms);

/** The registry's state of a runner, or -1 when unknown. */
int fixture_state(struct fixture *f, const char *runner_id);

/** Runners in the registry in a given state. */
size_t fixture_count_state(struct fixture *f, int state);

/** cmocka setup/teardown: *state is a started struct fixture (no prepare). */
int fixture_setup(void **state);
int fixture_teardown(void **state);

#endif
