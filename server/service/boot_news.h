/*
 * server/service/boot_news.h - news of booting runners, for the Boots that
 * wait for them: the event follower tells of each engine event of a BOOTING
 * runner (start, die, oom, health_status, destroy), and a Boot tells when its
 * runner leaves BOOTING (RUNNING or FAILED). A Boot's wait (boot.c) sleeps on
 * this news instead of polling the engine, and inspects again only when news
 * came (or, as a fallback for a missed event, after a while); a Boot replaying
 * a request_id waits the same way for the first Boot's outcome.
 *
 * Thread-safety: every function is thread-safe.
 */
#ifndef FLAMED_SERVICE_BOOT_NEWS_H
#define FLAMED_SERVICE_BOOT_NEWS_H

#include <stdint.h>

#include "runner/runner.h"
#include "service/call.h"

struct boot_news;

/** One waiter: registered for one runner id while a Boot waits for it. */
struct boot_waiter {
    struct boot_waiter *next;
    char runner_id[RUNNER_ID_LEN + 1];
    unsigned news; /* how many times news came; under the boot_news lock */
};

/** @return 0 or FLAME_ENOMEM. */
int boot_news_new(struct boot_news **out);
/** Free (no waiter may be registered). Accepts NULL. */
void boot_news_free(struct boot_news *n);

/** Register w (caller-owned; lives until boot_news_leave) for runner_id. */
void boot_news_join(struct boot_news *n, struct boot_waiter *w, const char *runner_id);
void boot_news_leave(struct boot_news *n, struct boot_waiter *w);

/** News of runner_id: wakes its waiters. Cheap when nobody waits. */
void boot_news_tell(struct boot_news *n, const char *runner_id);

/** w's news count now (take it before looking, then wait for it to change). */
unsigned boot_news_seen(struct boot_news *n, const struct boot_waiter *w);

/**
 * Wait until w's news count differs from seen, or until_ms (CLOCK_MONOTONIC
 * ms) passes, or call (may be NULL) is cancelled (looked at every 50 ms: an
 * atomic load). @return 1 when news came, 0 otherwise.
 */
int boot_news_wait(struct boot_news *n, const struct boot_waiter *w, unsigned seen, int64_t until_ms,
                   const svc_call *call);

#endif
