/*
 * boot_progress.c - a Boot with its progress on the terminal: while the Boot
 * call runs, a Watch of the pool (a second call on the same client, on its own
 * thread) follows this Boot's runner, found by the Boot's request_id, and the
 * status line says what it does: pulling the image (bytes and layers, from
 * PULLING events), then creating and starting it, then waiting until it runs.
 * Off a terminal, or with -q/--json, it is a plain flame_client_boot().
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"

struct follow {
    const cli *g;
    flame_client *c;
    const flame_boot_request *req;
    atomic_int stop;
};

static void size_text(uint64_t bytes, char *buf, size_t n)
{
    if (bytes >= 1000 * 1000)
        snprintf(buf, n, "%.1f MB", (double)bytes / 1e6);
    else if (bytes >= 1000)
        snprintf(buf, n, "%.1f kB", (double)bytes / 1e3);
    else
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
}

void cli_pull_text(const flame_pull_progress *p, char *buf, size_t n)
{
    char done[32], total[32];

    size_text(p->bytes_done, done, sizeof(done));
    if (p->bytes_total) {
        size_text(p->bytes_total, total, sizeof(total));
        snprintf(buf, n, "pulling %s: %s of %s, %u of %u layers", p->image, done, total,
                 (unsigned)p->layers_done, (unsigned)p->layers);
    } else {
        snprintf(buf, n, "pulling %s: %s, %u of %u layers", p->image, done,
                 (unsigned)p->layers_done, (unsigned)p->layers);
    }
}

static int on_event(void *ud, const flame_event *ev)
{
    struct follow *f = ud;
    char line[512];

    if (atomic_load(&f->stop))
        return 1;
    if (strcmp(ev->runner->request_id, f->req->request_id) != 0)
        return 0; /* another Boot's runner in the same pool */
    if (ev->type == FLAME_EVENT_PULLING && ev->pull) {
        cli_pull_text(ev->pull, line, sizeof(line));
        /* Every layer pulled: the Boot's next stages have no event of their own
         * (STARTED comes when the runner is running, as the Boot returns), so
         * the line says what the wait is for now. */
        if (ev->pull->layers > 0 && ev->pull->layers_done >= ev->pull->layers)
            cli_progress(f->g, "%s; creating and starting %s, then waiting until it runs", line,
                         ev->runner->id);
        else
            cli_progress(f->g, "%s", line);
    } else if (ev->type == FLAME_EVENT_BOOTING ||
               (ev->type == FLAME_EVENT_EXISTING && ev->runner->state == FLAME_RUNNER_BOOTING)) {
        cli_progress(f->g, "booting %s from %s: pull if missing, create, start, wait until it runs",
                     ev->runner->id, f->req->image);
    }
    return 0;
}

static int stopped(void *ud)
{
    return atomic_load(&((struct follow *)ud)->stop);
}

static void *follow_thread(void *ud)
{
    struct follow *f = ud;
    /* include_existing: a watch that subscribes after the Boot began still finds it */
    flame_watch_request w = {.pool = f->req->pool, .include_existing = 1, .on_tick = stopped};

    /* A watch that fails (an older flamed, a token without Watch) only costs the
     * detail of the progress line. */
    flame_client_watch(f->c, &w, on_event, f, NULL);
    return NULL;
}

int cli_boot_progress(const cli *g, flame_client *c, const flame_boot_request *req,
                      flame_runner **out, flame_status *st)
{
    flame_boot_request r = *req;
    struct follow f = {.g = g, .c = c, .req = &r};
    unsigned char rnd[8];
    char rid[40];
    pthread_t th;
    int err, following;

    cli_progress_boot(g, req);
    if (!cli_progress_on(g))
        return flame_client_boot(c, req, out, st);
    /* The runner is told apart from other Boots of the pool by its request_id:
     * a fresh one when the user gave none (a Boot with a new request_id is a
     * plain Boot; the key only makes retries of it idempotent). */
    if (!r.request_id || !*r.request_id) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return flame_client_boot(c, req, out, st);
        snprintf(rid, sizeof(rid), "flamectl-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        r.request_id = rid;
    }
    following = pthread_create(&th, NULL, follow_thread, &f) == 0;
    err = flame_client_boot(c, &r, out, st);
    atomic_store(&f.stop, 1);
    if (following)
        pthread_join(th, NULL);
    cli_progress_done(g);
    return err;
}
