/*
 * runner.c - flame_runner: a flame.v1.Runner as libflame hands it out, and
 * the names of the proto's enums.
 *
 * A runner from libflame is a view: the struct, its label arrays and its
 * strings all live in the arena its response was unpacked into (arena.c),
 * and each runner (and a list's array) holds a reference to that arena. So
 * a List of 100 runners is one or a few blocks, freed at once, and
 * flame_runner_free() of one element of a list still works: it drops that
 * runner's reference.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* In front of a list's array: which arena the array and its runners are in. */
struct list_head {
    flame__arena *arena;
};

void flame_runner_free(flame_runner *r)
{
    if (!r)
        return;
    if (r->internal) {
        /* from libflame: struct and strings live in a shared arena */
        flame__arena_unref(r->internal, 1);
        return;
    }
    /* built by the caller: every field its own malloc */
    free(r->id);
    free(r->container_id);
    free(r->name);
    free(r->pool);
    free(r->image);
    free(r->network);
    free(r->ip_address);
    free(r->error);
    free(r->request_id);
    free(r->parent_id);
    for (size_t i = 0; i < r->n_labels; i++) {
        if (r->label_keys)
            free(r->label_keys[i]);
        if (r->label_values)
            free(r->label_values[i]);
    }
    free(r->label_keys);
    free(r->label_values);
    free(r);
}

void flame_runner_list_free(flame_runner **rs, size_t n)
{
    flame__arena *a;
    size_t drop = 1; /* the array's own reference */

    if (!rs)
        return;
    a = ((struct list_head *)rs - 1)->arena;
    /* one atomic update for all the runners still in the array; a runner
     * the caller took out (and set to NULL) keeps its own reference */
    for (size_t i = 0; i < n; i++) {
        if (!rs[i])
            continue;
        if (rs[i]->internal == a)
            drop++;
        else
            flame_runner_free(rs[i]);
    }
    flame__arena_unref(a, drop);
}

const char *flame_runner_label(const flame_runner *r, const char *key)
{
    if (!r || !key)
        return NULL;
    for (size_t i = 0; i < r->n_labels; i++)
        if (strcmp(r->label_keys[i], key) == 0)
            return r->label_values[i];
    return NULL;
}

const char *flame_runner_state_name(int state)
{
    static const char *const names[] = {
        "UNSPECIFIED", "BOOTING", "RUNNING", "STOPPING", "EXITED", "REMOVED", "FAILED",
    };
    if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])))
        return "UNKNOWN";
    return names[state];
}

const char *flame_event_type_name(int type)
{
    static const char *const names[] = {
        "UNSPECIFIED", "EXISTING", "BOOTING", "STARTED", "EXITED", "REMOVED", "FAILED",
        "STOPPING",    "PULLING",
    };
    if (type < 0 || type >= (int)(sizeof(names) / sizeof(names[0])))
        return "UNKNOWN";
    return names[type];
}

const char *flame_version(void)
{
    return FLAMED_VERSION;
}

/* The empty string of an arena: writable (unlike protobuf-c's default ""),
 * so a runner's empty fields are as usable as the others. */
static char *arena_empty(flame__arena *a, char **cache)
{
    if (!*cache && (*cache = flame__arena_alloc(a, 1)) != NULL)
        **cache = '\0';
    return *cache;
}

static char *str_or_empty(flame__arena *a, char *s, char **empty)
{
    return s && *s ? s : arena_empty(a, empty);
}

flame_runner *flame__runner_view(flame__arena *a, const Flame__V1__Runner *r)
{
    static const Flame__V1__Runner none = FLAME__V1__RUNNER__INIT;
    flame_runner *fr;
    char *empty = NULL;

    if (!r)
        r = &none;
    if (!(fr = flame__arena_alloc(a, sizeof(*fr))))
        return NULL;
    memset(fr, 0, sizeof(*fr));
    fr->internal = a;
    fr->id = str_or_empty(a, r->id, &empty);
    fr->container_id = str_or_empty(a, r->container_id, &empty);
    fr->name = str_or_empty(a, r->name, &empty);
    fr->pool = str_or_empty(a, r->pool, &empty);
    fr->image = str_or_empty(a, r->image, &empty);
    fr->network = str_or_empty(a, r->network, &empty);
    fr->ip_address = str_or_empty(a, r->ip_address, &empty);
    fr->error = str_or_empty(a, r->error, &empty);
    fr->request_id = str_or_empty(a, r->request_id, &empty);
    fr->parent_id = str_or_empty(a, r->parent_id, &empty);
    fr->state = (int)r->state;
    fr->exit_code = r->exit_code;
    fr->oom_killed = r->oom_killed ? 1 : 0;
    fr->keep_runner = r->keep_runner ? 1 : 0;
    fr->created_unix_nano = r->created_unix_nano;
    fr->lease_ttl_ms = r->lease_ttl_ms;
    fr->warm = r->warm ? 1 : 0;
    if (r->n_labels) {
        if (!(fr->label_keys = flame__arena_alloc(a, 2 * r->n_labels * sizeof(char *))))
            return NULL;
        fr->label_values = fr->label_keys + r->n_labels;
        for (size_t i = 0; i < r->n_labels; i++) {
            const Flame__V1__Runner__LabelsEntry *e = r->labels[i];

            fr->label_keys[i] = str_or_empty(a, e ? e->key : NULL, &empty);
            fr->label_values[i] = str_or_empty(a, e ? e->value : NULL, &empty);
        }
        fr->n_labels = r->n_labels;
    }
    /* only an out-of-memory arena leaves a NULL string */
    return flame__arena_failed(a) ? NULL : fr;
}

flame_runner **flame__runner_list_new(flame__arena *a, size_t n)
{
    struct list_head *h;

    if (n > (SIZE_MAX - sizeof(*h)) / sizeof(flame_runner *) ||
        !(h = flame__arena_alloc(a, sizeof(*h) + n * sizeof(flame_runner *))))
        return NULL;
    h->arena = a;
    return (flame_runner **)(h + 1);
}
