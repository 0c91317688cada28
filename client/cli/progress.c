/*
 * progress.c - flamectl's progress line: what it waits for and why, on a
 * terminal only. One transient line on stderr ("\r" + erase to end of line),
 * replaced by the next one and erased when the wait ends, so stdout (ids,
 * command output, JSON) is never mixed with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

int cli_progress_on(const cli *g)
{
    return !g->json && !g->quiet && isatty(STDERR_FILENO) == 1;
}

void cli_progress(const cli *g, const char *fmt, ...)
{
    va_list ap;

    if (!cli_progress_on(g))
        return;
    fputs("\r\033[Kflamectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void cli_progress_done(const cli *g)
{
    if (!cli_progress_on(g))
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

const char *cli_duration(uint32_t ms, char *buf, size_t buflen)
{
    if (ms % 1000 == 0)
        snprintf(buf, buflen, "%u s", (unsigned)(ms / 1000));
    else
        snprintf(buf, buflen, "%u ms", (unsigned)ms);
    return buf;
}

void cli_progress_boot(const cli *g, const flame_boot_request *req)
{
    char d[32];

    cli_progress(g, "booting a runner from %s: pull if missing, create, start, wait until it runs "
                    "(up to %s)",
                 req->image, cli_duration(req->boot_timeout_ms ? req->boot_timeout_ms : 30000, d,
                                          sizeof(d)));
}

void cli_progress_shutdown(const cli *g, const char *runner_id, uint32_t timeout_ms)
{
    char d[32];

    cli_progress(g, "stopping %s: SIGTERM sent, waiting up to %s before SIGKILL", runner_id,
                 cli_duration(timeout_ms ? timeout_ms : 10000, d, sizeof(d)));
}
