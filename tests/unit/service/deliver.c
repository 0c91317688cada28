/*
 * The engine's stdin delivery (engine_ops.stdin_deliver) in the in-memory
 * engine the service's tests run on: a running container takes the bytes,
 * a stopped one is ECONFLICT, a missing one ENOTFOUND, a cancelled view
 * ECANCELLED (the real Docker op: tests/unit/init/live_warm.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem_engine.h"

static int always(void *ud)
{
    (void)ud;
    return 1;
}

static void a_running_container_takes_every_byte_in_order(void **state)
{
    (void)state;
    struct engine *e = NULL;
    mem_engine *m = NULL;
    char err[256] = "", *got = NULL;
    size_t len = 0;
    assert_int_equal(mem_engine_new(&e, &m), 0);
    const char *id = mem_engine_add_container(m, "warm-a", 1, 0, NULL);
    assert_non_null(id);
    assert_int_equal(e->ops->stdin_deliver(e, id, "12:flamed-env/1,", 16, 1000, err, sizeof err), 0);
    assert_int_equal(e->ops->stdin_deliver(e, id, "0:,", 3, 1000, err, sizeof err), 0);
    assert_int_equal(mem_engine_delivered(m, id, &got, &len), 0);
    assert_int_equal(len, 19);
    assert_memory_equal(got, "12:flamed-env/1,0:,", 19);
    free(got);
    mem_engine_free(e);
}

static void stopped_missing_and_cancelled_are_refused(void **state)
{
    (void)state;
    struct engine *e = NULL, *view = NULL;
    mem_engine *m = NULL;
    char err[256] = "", *got = NULL;
    size_t len = 0;
    assert_int_equal(mem_engine_new(&e, &m), 0);
    const char *stopped = mem_engine_add_container(m, "warm-b", 0, 0, NULL);
    assert_int_equal(e->ops->stdin_deliver(e, stopped, "x", 1, 1000, err, sizeof err), FLAME_ECONFLICT);
    assert_int_equal(e->ops->stdin_deliver(e, "no-such", "x", 1, 1000, err, sizeof err), FLAME_ENOTFOUND);
    const char *running = mem_engine_add_container(m, "warm-c", 1, 0, NULL);
    struct engine_bounds b = {.cancelled = always};
    assert_int_equal(engine_bounded(e, &b, &view), 0);
    assert_int_equal(view->ops->stdin_deliver(view, running, "x", 1, 1000, err, sizeof err),
                     FLAME_ECANCELLED);
    engine_free_view(view);
    assert_int_equal(mem_engine_delivered(m, running, &got, &len), 0);
    assert_null(got);
    assert_int_equal(len, 0);
    assert_int_equal(mem_engine_calls(m, MEM_DELIVER), 2);
    mem_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_running_container_takes_every_byte_in_order),
        cmocka_unit_test(stopped_missing_and_cancelled_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
