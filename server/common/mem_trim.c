/* A debounced malloc_trim(0) on its own thread, and a late one; see mem_trim.h. */
#include "common/mem_trim.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include "common/log.h"
#include "flame/error.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_t g_thread;
static int g_running, g_stop, g_pending;
static struct timespec g_due; /* CLOCK_MONOTONIC: trim at or after this */

static void add_ms(struct timespec *ts, long ms)
{
    ts->tv_nsec += (ms % 1000) * 1000000L;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void due_from_now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    add_ms(ts, MEM_TRIM_QUIET_MS);
}

/* Free bytes in the arenas (malloc's own count, resident or not). */
static size_t heap_free_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.fordblks;
}

static void trim(const char *why)
{
    int released = malloc_trim(0);
    flamed_log(LOG_DEBUG, "malloc_trim", "reason=%s released=%d", why, released);
}

static void *trim_thread(void *arg)
{
    (void)arg;
    int armed = 0;      /* a burst was trimmed: look for late frees */
    size_t floor = 0;   /* lowest free-byte count seen since the last trim */
    size_t last = 0;    /* free bytes at the previous look */
    pthread_mutex_lock(&g_mu);
    while (!g_stop) {
        if (!g_pending) {
            if (!armed) {
                pthread_cond_wait(&g_cv, &g_mu);
                continue;
            }
            struct timespec at;
            clock_gettime(CLOCK_MONOTONIC, &at);
            add_ms(&at, MEM_TRIM_LATE_POLL_MS);
            while (!g_stop && !g_pending && pthread_cond_timedwait(&g_cv, &g_mu, &at) != ETIMEDOUT)
                ;
            if (g_stop || g_pending)
                continue;
            pthread_mutex_unlock(&g_mu);
            /* Late frees: memory allocated during the burst and freed after its
             * trim (a client connection's buffers when it closes). Trim once the
             * free count grew and then held still between two looks, so a busy
             * heap (List under load) is left alone. */
            size_t now_free = heap_free_bytes();
            size_t still = now_free > last ? now_free - last : last - now_free;
            if (now_free < floor)
                floor = now_free;
            if (now_free >= floor + MEM_TRIM_LATE_BYTES && still < MEM_TRIM_LATE_BYTES / 4) {
                trim("late_frees");
                floor = now_free = heap_free_bytes();
            }
            last = now_free;
            pthread_mutex_lock(&g_mu);
            continue;
        }
        /* Each note pushes g_due on: wait until a quiet period has passed. */
        while (!g_stop && pthread_cond_timedwait(&g_cv, &g_mu, &g_due) != ETIMEDOUT)
            ;
        if (g_stop)
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < g_due.tv_sec || (now.tv_sec == g_due.tv_sec && now.tv_nsec < g_due.tv_nsec))
            continue; /* a note came in while we woke */
        g_pending = 0;
        pthread_mutex_unlock(&g_mu);
        trim("watch_closed");
        floor = last = heap_free_bytes();
        armed = 1;
        pthread_mutex_lock(&g_mu);
    }
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

int mem_trim_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&g_mu);
    g_stop = 0;
    g_pending = 0;
    int rc = pthread_create(&g_thread, NULL, trim_thread, NULL);
    g_running = rc == 0;
    pthread_mutex_unlock(&g_mu);
    return rc == 0 ? 0 : FLAME_ENOMEM;
}

void mem_trim_note(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_running) {
        g_pending = 1;
        due_from_now(&g_due);
        pthread_cond_signal(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
}

void mem_trim_stop(void)
{
    pthread_mutex_lock(&g_mu);
    int running = g_running;
    g_stop = 1;
    g_running = 0;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    if (running) {
        pthread_join(g_thread, NULL);
        pthread_cond_destroy(&g_cv);
    }
}
