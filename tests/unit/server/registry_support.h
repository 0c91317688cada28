/*
 * Shorthands for the registry tests (after the cmocka includes): a lookup that
 * is either found or not found (never out of memory), a count of live
 * runners, and the option-struct calls in the positional form the tests read
 * best in.
 */
#ifndef FLAMED_TEST_REGISTRY_SUPPORT_H
#define FLAMED_TEST_REGISTRY_SUPPORT_H

#include "flame/error.h"
#include "runner/registry.h"

/* The snapshot, or NULL when the registry answers FLAME_ENOTFOUND. */
static inline struct runner *reg_get(runner_registry *reg, const char *id)
{
    struct runner *r = NULL;
    int rc = runner_registry_get(reg, id, &r);
    assert_true(rc == 0 || rc == FLAME_ENOTFOUND);
    assert_true((rc == 0) == (r != NULL));
    return r;
}

static inline struct runner *reg_get_by_container(runner_registry *reg, const char *container_id)
{
    struct runner *r = NULL;
    int rc = runner_registry_get_by_container(reg, container_id, &r);
    assert_true(rc == 0 || rc == FLAME_ENOTFOUND);
    assert_true((rc == 0) == (r != NULL));
    return r;
}

/* Live runners ("" or NULL: of every pool). */
static inline size_t reg_count(runner_registry *reg, const char *pool)
{
    struct runner **rs = NULL;
    size_t n = 0;
    assert_int_equal(runner_registry_list(reg, pool, &rs, &n), 0);
    runner_list_free(rs, n);
    return n;
}

/* Idempotent insert without quotas; *existing as runner_insert_info.existing. */
static inline int reg_insert_once(runner_registry *reg, struct runner *r, struct runner **existing)
{
    const struct runner_insert_opts o = {.idempotent = 1};
    struct runner_insert_info info;
    int rc = runner_registry_insert(reg, r, &o, &info);
    *existing = info.existing;
    return rc;
}

static inline int reg_watch(runner_registry *reg, const char *pool, const char *runner_id,
                            int include_existing, const char *const *pools, size_t n_pools,
                            size_t max_queue, void (*kick)(void *ud), void *ud, hub_watcher **out)
{
    const struct runner_watch_opts o = {.pool = pool,
                                        .runner_id = runner_id,
                                        .include_existing = include_existing,
                                        .pools = pools,
                                        .n_pools = n_pools,
                                        .max_queue = max_queue,
                                        .kick = kick,
                                        .ud = ud};
    return runner_registry_watch(reg, &o, out);
}

#endif
