/*
 * Docker health: flamed is SERVING while Docker answers GET /_ping and the
 * registry matches Docker (adoption done, events followed: adopt.c), and
 * NOT_SERVING otherwise. One thread pings every 2 s (every 500 ms while down,
 * so recovery shows quickly); adopt.c tells the health service when the
 * sync state changes, this thread when the ping's answer does.
 * Follows: Docker Engine API SystemPing; the transport's health protocol
 * (wired in main.c).
 */
#include <stdio.h>
#include <time.h>

#include "common/log.h"
#include "service/adopt.h"
#include "service/docker_health.h"
#include "service/service.h"

static void *health_main(void *arg)
{
    struct service *svc = arg;
    int last = -1;
    while (!atomic_load(&svc->stopping)) {
        char err[256] = "";
        int up = svc->engine->ops->ping(svc->engine, err, sizeof(err)) == 0;
        if (up != last) {
            service_sync_set_health(svc, up);
            if (up)
                flamed_log(LOG_INFO, "docker_up", "api_version=%s", svc->engine->ops->api_version(svc->engine));
            else
                flamed_log(LOG_WARN, "docker_down", "error=\"%s\"", err);
            last = up;
        }
        /* Sleep in short steps so shutdown is prompt. */
        for (int i = 0; i < (up ? 20 : 5) && !atomic_load(&svc->stopping); i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int service_health_start(struct service *svc, void (*serving_fn)(void *ud, int serving), void *ud)
{
    pthread_mutex_lock(&svc->sync_mu);
    svc->serving_fn = serving_fn;
    svc->serving_ud = ud;
    pthread_mutex_unlock(&svc->sync_mu);
    service_sync_set_health(svc, 0);
    if (pthread_create(&svc->health_thread, NULL, health_main, svc) != 0)
        return FLAME_ENOMEM;
    svc->health_started = 1;
    return 0;
}
