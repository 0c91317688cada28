/*
 * runner.c - flame_runner: the caller-owned copy of a flame.v1.Runner, and
 * the names of the proto's enums.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void flame_runner_free(flame_runner *r)
{
    if (!r)
        return;
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
    if (!rs)
        return;
    for (size_t i = 0; i < n; i++)
        flame_runner_free(rs[i]);
    free(rs);
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
        "STOPPING",
    };
    if (type < 0 || type >= (int)(sizeof(names) / sizeof(names[0])))
        return "UNKNOWN";
    return names[type];
}

const char *flame_version(void)
{
    return FLAMED_VERSION;
}

int flame__runner_from_pb(const Flame__V1__Runner *r, flame_runner **out)
{
    static const Flame__V1__Runner empty = FLAME__V1__RUNNER__INIT;
    flame_runner *fr = NULL;
    int err = 0;

    *out = NULL;
    if (!r)
        r = &empty;
    if (!(fr = calloc(1, sizeof(*fr)))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    if (!(fr->id = flame__strdup0(r->id)) || !(fr->container_id = flame__strdup0(r->container_id)) ||
        !(fr->name = flame__strdup0(r->name)) || !(fr->pool = flame__strdup0(r->pool)) ||
        !(fr->image = flame__strdup0(r->image)) || !(fr->network = flame__strdup0(r->network)) ||
        !(fr->ip_address = flame__strdup0(r->ip_address)) ||
        !(fr->error = flame__strdup0(r->error)) ||
        !(fr->request_id = flame__strdup0(r->request_id)) ||
        !(fr->parent_id = flame__strdup0(r->parent_id))) {
        err = FLAME_ENOMEM;
        goto done;
    }
    fr->state = (int)r->state;
    fr->exit_code = r->exit_code;
    fr->oom_killed = r->oom_killed ? 1 : 0;
    fr->keep_runner = r->keep_runner ? 1 : 0;
    fr->created_unix_nano = r->created_unix_nano;
    fr->lease_ttl_ms = r->lease_ttl_ms;
    if (r->n_labels) {
        if (!(fr->label_keys = calloc(r->n_labels, sizeof(char *))) ||
            !(fr->label_values = calloc(r->n_labels, sizeof(char *)))) {
            err = FLAME_ENOMEM;
            goto done;
        }
        fr->n_labels = r->n_labels;
        for (size_t i = 0; i < r->n_labels; i++) {
            const Flame__V1__Runner__LabelsEntry *e = r->labels[i];

            if (!(fr->label_keys[i] = flame__strdup0(e ? e->key : NULL)) ||
                !(fr->label_values[i] = flame__strdup0(e ? e->value : NULL))) {
                err = FLAME_ENOMEM;
                goto done;
            }
        }
    }
    *out = fr;
    fr = NULL;
done:
    flame_runner_free(fr);
    return err;
}
