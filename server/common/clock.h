/*
 * server/common/clock.h - flamed's one clock: the monotonic clock every
 * timeout, deadline, backoff and age is measured on, and the wall clock that
 * events and logs carry.
 *
 * Thread-safety: every function is thread-safe (it reads the kernel's clocks
 * and keeps no state).
 * Follows: POSIX clock_gettime(3) (CLOCK_MONOTONIC, CLOCK_REALTIME).
 */
#ifndef FLAMED_CLOCK_H
#define FLAMED_CLOCK_H

#include <stdint.h>
#include <time.h>

/** Monotonic time (CLOCK_MONOTONIC) in ms: for timeouts and ages, never for dates. */
int64_t clock_mono_ms(void);

/** The same monotonic clock in µs (Spawn's gather window). */
int64_t clock_mono_us(void);

/** The same monotonic clock in ns (gRPC call latencies). */
int64_t clock_mono_ns(void);

/** Wall-clock time (CLOCK_REALTIME) as Unix time in ns: event times, log times, start time. */
int64_t clock_unix_ns(void);

/**
 * The absolute CLOCK_REALTIME time `ms` ms from now (ms < 0 counts as 0), in
 * the form pthread_cond_timedwait() takes for a condition variable with the
 * default clock attribute.
 * @param[out] out  the deadline.
 */
void clock_realtime_after_ms(struct timespec *out, int64_t ms);

#endif
