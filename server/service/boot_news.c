/* News of booting runners (boot_news.h): a list of waiters under one lock,
 * one condition variable for all (few Boots wait at once; each wakes only
 * to compare its own counter). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flame/error.h"
#include "service/boot_news.h"

struct boot_news {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    struct boot_waiter *head;
};

int boot_news_new(struct boot_news **out)
{
    struct boot_news *n = calloc(1, sizeof(*n));
    if (!n)
        return FLAME_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = n;
    return 0;
}

void boot_news_free(struct boot_news *n)
{
    if (!n)
        return;
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

void boot_news_join(struct boot_news *n, struct boot_waiter *w, const char *runner_id)
{
    snprintf(w->runner_id, sizeof(w->runner_id), "%s", runner_id);
    w->news = 0;
    pthread_mutex_lock(&n->mu);
    w->next = n->head;
    n->head = w;
    pthread_mutex_unlock(&n->mu);
}

void boot_news_leave(struct boot_news *n, struct boot_waiter *w)
{
    pthread_mutex_lock(&n->mu);
    for (struct boot_waiter **p = &n->head; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    pthread_mutex_unlock(&n->mu);
}

void boot_news_tell(struct boot_news *n, const char *runner_id)
{
    int woke = 0;
    pthread_mutex_lock(&n->mu);
    for (struct boot_waiter *w = n->head; w; w = w->next)
        if (strcmp(w->runner_id, runner_id) == 0) {
            w->news++;
            woke = 1;
        }
    if (woke)
        pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

unsigned boot_news_seen(struct boot_news *n, const struct boot_waiter *w)
{
    pthread_mutex_lock(&n->mu);
    unsigned s = w->news;
    pthread_mutex_unlock(&n->mu);
    return s;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int boot_news_wait(struct boot_news *n, const struct boot_waiter *w, unsigned seen, int64_t until_ms,
                   const svc_call *call)
{
    pthread_mutex_lock(&n->mu);
    for (;;) {
        if (w->news != seen) {
            pthread_mutex_unlock(&n->mu);
            return 1;
        }
        int64_t now = mono_ms();
        if (now >= until_ms || (call && call_cancelled(call)))
            break;
        int64_t at = until_ms - now > 50 ? now + 50 : until_ms; /* look at the cancel that often */
        struct timespec ts = {(time_t)(at / 1000), (long)(at % 1000) * 1000000L};
        pthread_cond_timedwait(&n->cv, &n->mu, &ts);
    }
    pthread_mutex_unlock(&n->mu);
    return 0;
}
