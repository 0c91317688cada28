/*
 * server/common/mem_trim.h - hand freed heap back to the kernel after a burst
 * of frees (many Watch streams closing).
 *
 * glibc returns free memory to the kernel only from the top of each arena
 * (above M_TRIM_THRESHOLD, 4 MiB here, see malloc_tune.c): 2,000 Watch streams that
 * never read took flamed from 20 MB to 64 MB of RSS, and after they were
 * cancelled the freed gRPC call arenas and queues sat between live blocks, so
 * RSS stayed at 64 MB. malloc_trim(0) also releases whole free pages inside
 * the heap (madvise); it took that 64 MB back to 21 MB (bench/watch_memory).
 * It reaches only what malloc counts as free, and the top of the main arena
 * only: flamed runs with one arena and no per-thread cache for that
 * (malloc_tune.h).
 * It walks every arena under its lock, so it runs on a thread of its own,
 * once, MEM_TRIM_QUIET_MS after the last mem_trim_note() of a burst, never
 * on a CQ thread or per call.
 *
 * Some of a burst's memory is freed later, with no note: gRPC core keeps,
 * per client connection, a pool of 24-byte write callbacks (chttp2's
 * write_cb_pool, one per message waiting to be written, never freed until
 * the connection closes). A burst of Watch streams that each send a message
 * grows it to ~1,500 nodes allocated among the streams' memory, and each
 * pins a 4 KiB page after the streams are gone (+4-6 MB of 20 MB, measured
 * with heaptrack and a walk of the heap; bench/RESULTS.md). When that
 * connection closes the pool is freed, but no Watch is closing then. So
 * after a burst's trim the thread also looks at malloc's free-byte count
 * every MEM_TRIM_LATE_POLL_MS (mallinfo2: a walk of the bins, microseconds)
 * and trims again once it has grown by MEM_TRIM_LATE_BYTES and then held
 * still between two looks: a busy heap (List under load) is left alone.
 *
 * Thread-safety: mem_trim_note() from any thread; start and stop from main.
 */
#ifndef FLAMED_MEM_TRIM_H
#define FLAMED_MEM_TRIM_H

/** Quiet time after the last note before the trim, in ms. */
#define MEM_TRIM_QUIET_MS 500
/** After a burst's trim: look for late frees this often, in ms. */
#define MEM_TRIM_LATE_POLL_MS 1000
/** Late frees worth a trim: free bytes grown by this much since the last
 *  trim, and changed by less than a quarter of it since the previous look. */
#define MEM_TRIM_LATE_BYTES (64 << 10)

/** Start the trim thread (after signals are blocked). It sleeps until the
 *  first note; after the first trim it wakes every MEM_TRIM_LATE_POLL_MS.
 *  @return 0 or FLAME_ENOMEM. */
int mem_trim_start(void);

/** Something large was (or is about to be) freed: trim once things are quiet.
 *  Cheap (a lock and a signal); does nothing when the thread is not running. */
void mem_trim_note(void);

/** Stop and join the trim thread; safe when it never started. */
void mem_trim_stop(void);

#endif
