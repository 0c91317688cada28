/* glibc malloc settings: one arena, thresholds, and no per-thread cache; see malloc_tune.h. */
#include "common/malloc_tune.h"

#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flame/error.h"

/*
 * Trim and mmap thresholds: every List answers with one buffer of its runners
 * (~40 KB for 100) and gRPC allocates its own per call; with the default
 * 128 KiB trim threshold the freed top of the heap went back to the kernel
 * after nearly every call and its pages were faulted in again on the next:
 * page faults, brk/madvise and their TLB shootdowns were half of flamed's CPU
 * per List at c=16 (perf, bench/PROFILE.md). Up to TRIM_BYTES of free heap is
 * kept instead (mem_trim.c gives it back after a burst), and blocks above
 * MMAP_BYTES (fixed, not glibc's sliding threshold) get their own mapping.
 */
#define TRIM_BYTES (4 << 20)
#define MMAP_BYTES (1 << 20)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MALLOC_TUNE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MALLOC_TUNE_SANITIZER 1
#endif
#endif

int malloc_tune_names(const char *tunables, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = tunables; p && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int malloc_tune_tunables(const char *cur, char *out, size_t outlen)
{
    if (malloc_tune_names(cur, MALLOC_TUNE_TCACHE))
        return 0;
    int n = snprintf(out, outlen, "%s%s" MALLOC_TUNE_TCACHE "=0", cur ? cur : "", cur && *cur ? ":" : "");
    if (n < 0 || (size_t)n >= outlen)
        return FLAME_EINVALID;
    return 1;
}

void malloc_tune_reexec(char **argv)
{
#ifndef MALLOC_TUNE_SANITIZER
    char val[4096], exe[PATH_MAX];
    if (malloc_tune_tunables(getenv("GLIBC_TUNABLES"), val, sizeof(val)) != 1)
        return;
    /* readlink rather than exec'ing /proc/self/exe itself: under valgrind the
     * link names the client program, the file is valgrind's tool. */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
        return;
    exe[n] = '\0';
    if (setenv("GLIBC_TUNABLES", val, 1) != 0)
        return;
    execv(exe, argv);
    /* Not executed (no /proc, a deleted binary): run on with glibc's cache, and
     * leave the environment as it was so the log says so. */
    char *prev = strrchr(val, ':');
    if (prev) {
        *prev = '\0';
        setenv("GLIBC_TUNABLES", val, 1);
    } else {
        unsetenv("GLIBC_TUNABLES");
    }
#else
    (void)argv;
#endif
}

int malloc_tune_tcache_off(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    const char *want = MALLOC_TUNE_TCACHE "=0";
    for (const char *p = t; p && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == strlen(want) && strncmp(p, want, len) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

void malloc_tune_apply(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (!getenv("MALLOC_ARENA_MAX") && !malloc_tune_names(t, "glibc.malloc.arena_max"))
        mallopt(M_ARENA_MAX, 1);
    if (!getenv("MALLOC_TRIM_THRESHOLD_") && !malloc_tune_names(t, "glibc.malloc.trim_threshold"))
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES);
    if (!getenv("MALLOC_MMAP_THRESHOLD_") && !malloc_tune_names(t, "glibc.malloc.mmap_threshold"))
        mallopt(M_MMAP_THRESHOLD, MMAP_BYTES);
}
