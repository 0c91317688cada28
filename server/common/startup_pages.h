/*
 * server/common/startup_pages.h - give back the shared-library pages flamed
 * touched only while starting (issue 17: idle RSS).
 *
 * An idle flamed's RSS is mostly file pages of shared libraries (libgrpc,
 * libcrypto, libstdc++, libc...) mapped while the dynamic linker relocated
 * them, their constructors ran, OpenSSL and gRPC initialised and the server
 * started: ~15 MiB of ~18 MiB, of which an idle flamed uses ~1.5 MiB again
 * (bench/idle_rss). The kernel maps them 16 at a time around each fault
 * (fault-around), so RSS counts far more than was ever executed.
 *
 * startup_pages_release() drops this process's page-table entries for every
 * private, read-only, file-backed mapping that holds no private copy of a page
 * (smaps Anonymous and Swap 0): madvise(MADV_DONTNEED). For such a mapping
 * that is exactly "never touched": the pages stay in the page cache, and the
 * next access maps them again with a minor fault (no disk read while the page
 * cache holds them), its content the file's, as before. Mappings with a
 * private copy (relocated RELRO data, anything written) and every writable or
 * anonymous mapping are left alone, so no data is lost.
 * What it costs: the first call of a kind after the release faults its code
 * back in (bench/idle_rss measures the first List after idle: page faults and
 * latency against a flamed that kept its pages). It frees no memory of the
 * system's by itself (the pages stay cached); it shrinks flamed's RSS and Pss
 * to what it uses, and unmapped page-cache pages are the first the kernel
 * reclaims under pressure. `--release-startup-pages-ms 0` keeps them.
 *
 * Thread-safety: call from one thread, once flamed has started (no library
 * being loaded at the same time); other threads may run (they fault back
 * what they touch).
 */
#ifndef FLAMED_STARTUP_PAGES_H
#define FLAMED_STARTUP_PAGES_H

#include <stddef.h>

/** What startup_pages_release() did. */
struct startup_pages_result {
    size_t mappings;     /* mappings released */
    size_t released_kb;  /* their RSS before the release, kB */
};

/**
 * Drop the page-table entries of this process's clean, read-only file
 * mappings (see above).
 * @param[out] out  what was released; zeroed on error.
 * @return 0, or FLAME_ERROR when /proc/self/smaps cannot be read (nothing is
 *         released then).
 * Follows: madvise(2) MADV_DONTNEED on private file mappings; proc(5) smaps.
 */
int startup_pages_release(struct startup_pages_result *out);

#endif
