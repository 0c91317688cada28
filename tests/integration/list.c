/*
 * List: the pool filter, oldest first, and removed runners are gone.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define INVALID_ARGUMENT 3

static size_t list_pool(fl_env *e, const char *pool, flame_runner ***rs)
{
    size_t n = 0;
    flame_status st;
    int rc = flame_client_list(e->client, pool, rs, &n, &st);
    fl_assert_status(rc, &st, 0);
    return n;
}

FL_TEST(list_filters_by_pool)
{
    char other[48];
    snprintf(other, sizeof(other), "%s-b", e->pool);
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, other);
    flame_runner **rs = NULL;
    size_t n = list_pool(e, e->pool, &rs);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, a->id);
    assert_string_equal(rs[0]->pool, e->pool);
    assert_int_equal(rs[0]->state, FLAME_RUNNER_RUNNING);
    assert_string_equal(rs[0]->container_id, a->container_id);
    flame_runner_list_free(rs, n);
    n = list_pool(e, other, &rs);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, b->id);
    flame_runner_list_free(rs, n);

    /* No filter: both (and maybe other flameds' runners, adopted from Docker). */
    n = list_pool(e, NULL, &rs);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen += strcmp(rs[i]->id, a->id) == 0 || strcmp(rs[i]->id, b->id) == 0;
    assert_int_equal(seen, 2);
    flame_runner_list_free(rs, n);
    fl_shutdown(e, a->id);
    fl_shutdown(e, b->id);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(list_returns_runners_oldest_first)
{
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    flame_runner *c = fl_boot_default(e, NULL);
    flame_runner **rs = NULL;
    size_t n = list_pool(e, e->pool, &rs);
    assert_int_equal(n, 3);
    assert_string_equal(rs[0]->id, a->id);
    assert_string_equal(rs[1]->id, b->id);
    assert_string_equal(rs[2]->id, c->id);
    assert_true(rs[0]->created_unix_nano <= rs[1]->created_unix_nano);
    assert_true(rs[1]->created_unix_nano <= rs[2]->created_unix_nano);
    flame_runner_list_free(rs, n);
    fl_shutdown(e, a->id);
    fl_shutdown(e, b->id);
    fl_shutdown(e, c->id);
    flame_runner_free(a);
    flame_runner_free(b);
    flame_runner_free(c);
}

FL_TEST(list_omits_removed_runners)
{
    flame_runner *a = fl_boot_default(e, NULL);
    flame_runner *b = fl_boot_default(e, NULL);
    fl_shutdown(e, a->id);
    flame_runner **rs = NULL;
    size_t n = list_pool(e, e->pool, &rs);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, b->id);
    flame_runner_list_free(rs, n);
    fl_shutdown(e, b->id);
    n = list_pool(e, e->pool, &rs);
    assert_int_equal(n, 0);
    flame_runner_list_free(rs, n);
    flame_runner_free(a);
    flame_runner_free(b);
}

FL_TEST(list_with_invalid_pool_is_invalid_argument)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int rc = flame_client_list(e->client, "bad pool!", &rs, &n, &st);
    fl_assert_status(rc, &st, INVALID_ARGUMENT);
    fl_assert_contains(st.message, "pool");
    flame_runner_list_free(rs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FL_UNIT(list_filters_by_pool),
        FL_UNIT(list_returns_runners_oldest_first),
        FL_UNIT(list_omits_removed_runners),
        FL_UNIT(list_with_invalid_pool_is_invalid_argument),
    };
    return FL_RUN_SHARED("list", tests);
}
