/* Runner records and their wire form; see runner.h. */
#include "runner/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flame/error.h"

static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

struct runner *runner_new(void)
{
    struct runner *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    char **fields[] = {&r->id, &r->container_id, &r->name, &r->pool, &r->image,
                       &r->network, &r->ip_address, &r->error, &r->request_id, &r->parent_id};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!(*fields[i] = xstrdup(""))) {
            runner_free(r);
            return NULL;
        }
    }
    r->state = FLAME__V1__RUNNER_STATE__RUNNER_STATE_BOOTING;
    return r;
}

void runner_free(struct runner *r)
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
        free(r->label_keys[i]);
        free(r->label_values[i]);
    }
    free(r->label_keys);
    free(r->label_values);
    for (char **e = r->boot_env; e && *e; e++)
        free(*e);
    free(r->boot_env);
    free(r->packed);
    free(r);
}

int runner_set_str(char **field, const char *value)
{
    char *c = xstrdup(value);
    if (!c)
        return FLAME_ENOMEM;
    free(*field);
    *field = c;
    return 0;
}

int runner_add_label(struct runner *r, const char *key, const char *value)
{
    char **k = realloc(r->label_keys, (r->n_labels + 1) * sizeof(*k));
    if (!k)
        return FLAME_ENOMEM;
    r->label_keys = k;
    char **v = realloc(r->label_values, (r->n_labels + 1) * sizeof(*v));
    if (!v)
        return FLAME_ENOMEM;
    r->label_values = v;
    char *kc = xstrdup(key), *vc = xstrdup(value);
    if (!kc || !vc) {
        free(kc);
        free(vc);
        return FLAME_ENOMEM;
    }
    r->label_keys[r->n_labels] = kc;
    r->label_values[r->n_labels] = vc;
    r->n_labels++;
    return 0;
}

const char *runner_label(const struct runner *r, const char *key)
{
    for (size_t i = 0; i < r->n_labels; i++)
        if (strcmp(r->label_keys[i], key) == 0)
            return r->label_values[i];
    return NULL;
}

struct runner *runner_dup(const struct runner *r)
{
    struct runner *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    *c = *r;
    c->n_labels = 0;
    c->label_keys = c->label_values = NULL;
    c->boot_env = NULL;
    c->packed = NULL;
    c->packed_len = 0;
    c->id = xstrdup(r->id);
    c->container_id = xstrdup(r->container_id);
    c->name = xstrdup(r->name);
    c->pool = xstrdup(r->pool);
    c->image = xstrdup(r->image);
    c->network = xstrdup(r->network);
    c->ip_address = xstrdup(r->ip_address);
    c->error = xstrdup(r->error);
    c->request_id = xstrdup(r->request_id);
    c->parent_id = xstrdup(r->parent_id);
    if (!c->id || !c->container_id || !c->name || !c->pool || !c->image || !c->network ||
        !c->ip_address || !c->error || !c->request_id || !c->parent_id)
        goto fail;
    if (r->boot_env) {
        size_t n = 0;
        while (r->boot_env[n])
            n++;
        if (!(c->boot_env = calloc(n + 1, sizeof(char *))))
            goto fail;
        for (size_t i = 0; i < n; i++)
            if (!(c->boot_env[i] = strdup(r->boot_env[i])))
                goto fail;
    }
    if (r->n_labels) {
        /* Both arrays at their final size at once (not one realloc per label). */
        c->label_keys = calloc(r->n_labels, sizeof(char *));
        c->label_values = calloc(r->n_labels, sizeof(char *));
        if (!c->label_keys || !c->label_values)
            goto fail;
        for (size_t i = 0; i < r->n_labels; i++) {
            c->label_keys[i] = strdup(r->label_keys[i]);
            c->label_values[i] = strdup(r->label_values[i]);
            c->n_labels++;
            if (!c->label_keys[i] || !c->label_values[i])
                goto fail;
        }
    }
    return c;
fail:
    runner_free(c);
    return NULL;
}

int runner_to_proto(const struct runner *r, Flame__V1__Runner *out)
{
    flame__v1__runner__init(out);
    out->id = r->id;
    out->container_id = r->container_id;
    out->name = r->name;
    out->pool = r->pool;
    out->image = r->image;
    out->network = r->network;
    out->ip_address = r->ip_address;
    out->state = (Flame__V1__RunnerState)r->state;
    out->exit_code = r->exit_code;
    out->oom_killed = r->oom_killed != 0;
    out->keep_runner = r->keep_runner != 0;
    out->created_unix_nano = r->created_unix_nano;
    out->error = r->error;
    out->request_id = r->request_id;
    out->parent_id = r->parent_id;
    out->lease_ttl_ms = r->lease_ttl_ms;
    out->warm = r->warm != 0;
    if (r->n_labels) {
        out->labels = calloc(r->n_labels, sizeof(*out->labels));
        Flame__V1__Runner__LabelsEntry *e = calloc(r->n_labels, sizeof(*e));
        if (!out->labels || !e) {
            free(out->labels);
            free(e);
            out->labels = NULL;
            return FLAME_ENOMEM;
        }
        for (size_t i = 0; i < r->n_labels; i++) {
            flame__v1__runner__labels_entry__init(&e[i]);
            e[i].key = r->label_keys[i];
            e[i].value = r->label_values[i];
            out->labels[i] = &e[i];
        }
        out->n_labels = r->n_labels;
    }
    return 0;
}

int runner_pack(struct runner *r)
{
    if (r->packed)
        return 0;
    Flame__V1__Runner p;
    if (runner_to_proto(r, &p) < 0)
        return FLAME_ENOMEM;
    size_t len = protobuf_c_message_get_packed_size(&p.base);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf) {
        protobuf_c_message_pack(&p.base, buf);
        r->packed = buf;
        r->packed_len = len;
    }
    runner_proto_release(&p);
    return buf ? 0 : FLAME_ENOMEM;
}

void runner_unpack(struct runner *r)
{
    free(r->packed);
    r->packed = NULL;
    r->packed_len = 0;
}

void runner_proto_release(Flame__V1__Runner *p)
{
    if (p->labels) {
        free(p->labels[0]);
        free(p->labels);
    }
    p->labels = NULL;
    p->n_labels = 0;
}

void runner_id_generate(char out[RUNNER_ID_LEN + 1])
{
    unsigned char b[RUNNER_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[RUNNER_ID_LEN] = '\0';
}

const char *runner_state_name(int state)
{
    static const char *names[] = {"UNSPECIFIED", "BOOTING", "RUNNING", "STOPPING",
                                  "EXITED", "REMOVED", "FAILED"};
    if (state < 0 || state > 6)
        return "UNSPECIFIED";
    return names[state];
}
