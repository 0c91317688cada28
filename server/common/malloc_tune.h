/*
 * server/common/malloc_tune.h - glibc malloc settings for a long-running
 * server: memory freed after a burst (2,000 Watch streams closing) must go
 * back to the kernel (issue 12), and List's per-call buffers must not be
 * given back and faulted in again on every call (bench/PROFILE.md).
 *
 * What pinned the freed memory after a burst (bench/watch_memory, 2,000
 * streams, 3 runners, measured after common/mem_trim.c's malloc_trim(0);
 * bench/RESULTS.md has every run):
 * - A second arena. malloc_trim(0) gives back whole free pages inside every
 *   arena, but the top of the heap only of the main arena (glibc
 *   malloc/malloc.c mtrim: systrim for main_arena only). A thread arena keeps
 *   its top resident until it exceeds M_TRIM_THRESHOLD (4 MiB here). One
 *   arena, so every free block is the main arena's and the trim reaches all.
 * - Per-thread caches (tcache): up to 7 freed chunks per size class, 64 size
 *   classes, per thread, that stay "in use" for malloc, so each pins its page
 *   through any trim. They are emptied only when their thread exits, and
 *   glibc reads their size only from GLIBC_TUNABLES at process start
 *   (glibc.malloc.tcache_count; no mallopt). flamed therefore executes itself
 *   once more at start with glibc.malloc.tcache_count=0 added to
 *   GLIBC_TUNABLES, unless that variable already names the tunable.
 * Either alone left +4% to +7% after the burst; both, +0.5%.
 *
 * The environment still wins: MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_,
 * MALLOC_MMAP_THRESHOLD_, and each tunable GLIBC_TUNABLES names. Set
 * GLIBC_TUNABLES=glibc.malloc.tcache_count=7 to keep glibc's default cache
 * (and no second exec). Under a sanitizer (its own allocator) nothing is done.
 * Under valgrind, set GLIBC_TUNABLES too (bench/profile does): valgrind runs
 * an exec'd program natively unless --trace-children=yes.
 *
 * Thread-safety: call both from main() before any thread starts.
 */
#ifndef FLAMED_MALLOC_TUNE_H
#define FLAMED_MALLOC_TUNE_H

#include <stddef.h>

/** The tunable flamed sets to 0 through GLIBC_TUNABLES. */
#define MALLOC_TUNE_TCACHE "glibc.malloc.tcache_count"

/**
 * Whether a GLIBC_TUNABLES value names a tunable ("a=1:b=2" names a and b).
 * @param tunables  the value (borrowed), NULL for none.
 * @param name      the full tunable name, e.g. "glibc.malloc.trim_threshold".
 * @return 1 or 0. Follows: glibc manual, "Tunables" (name=value pairs, ':'-separated).
 */
int malloc_tune_names(const char *tunables, const char *name);

/**
 * The GLIBC_TUNABLES value to start flamed with: `cur` with
 * glibc.malloc.tcache_count=0 appended.
 * @param cur     the current value (borrowed), NULL when unset.
 * @param out     written NUL-terminated when the return is 1.
 * @param outlen  size of out in bytes.
 * @return 1 (out holds the value), 0 (cur already names the tunable: nothing
 *         to do, out untouched), FLAME_EINVALID (does not fit in outlen).
 */
int malloc_tune_tunables(const char *cur, char *out, size_t outlen);

/**
 * Execute this program again (/proc/self/exe, same argv, same pid) with the
 * value malloc_tune_tunables() gives, when it gives one. Returns only when
 * nothing was to be done or the exec failed (flamed then runs with glibc's
 * default cache; malloc_tune_tcache_off() says which).
 * @param argv  main()'s argv (borrowed).
 */
void malloc_tune_reexec(char **argv);

/** mallopt: one arena, and the trim and mmap thresholds (see main.c's use),
 *  each unless the environment sets it. Before any thread starts. */
void malloc_tune_apply(void);

/** 1 when this process runs with glibc.malloc.tcache_count=0, for the log. */
int malloc_tune_tcache_off(void);

#endif
