/*
 * flamed's one clock (see clock.h). clock_gettime() cannot fail for these
 * clocks on Linux with a valid pointer, so there is no error path.
 */
#include "common/clock.h"

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

int64_t clock_mono_us(void)
{
    return clock_mono_ns() / 1000;
}

int64_t clock_mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

int64_t clock_unix_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}

void clock_realtime_after_ms(struct timespec *out, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    int64_t ns = clock_unix_ns() + ms * 1000000LL;
    out->tv_sec = (time_t)(ns / 1000000000LL);
    out->tv_nsec = (long)(ns % 1000000000LL);
}
