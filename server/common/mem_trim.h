/*
 * server/common/mem_trim.h - hand freed heap back to the kernel after a burst
 * of frees (many Watch streams closing).
 *
 * glibc returns free memory to the kernel only from the top of each arena
 * (above M_TRIM_THRESHOLD, 4 MiB here, see main.c): 2,000 Watch streams that
 * never read took flamed from 20 MB to 64 MB of RSS, and after they were
 * cancelled the freed gRPC call arenas and queues sat between live blocks, so
 * RSS stayed at 64 MB. malloc_trim(0) also releases whole free pages inside
 * the heap (madvise); it took that 64 MB back to 21 MB (bench/watch_memory).
 * It walks every arena under its lock, so it runs on a thread of its own,
 * once, MEM_TRIM_QUIET_MS after the last mem_trim_note() of a burst, never
 * on a CQ thread or per call.
 *
 * Thread-safety: mem_trim_note() from any thread; start and stop from main.
 */
#ifndef FLAMED_MEM_TRIM_H
#define FLAMED_MEM_TRIM_H

/** Quiet time after the last note before the trim, in ms. */
#define MEM_TRIM_QUIET_MS 500

/** Start the trim thread (after signals are blocked). @return 0 or FLAME_ENOMEM. */
int mem_trim_start(void);

/** Something large was (or is about to be) freed: trim once things are quiet.
 *  Cheap (a lock and a signal); does nothing when the thread is not running. */
void mem_trim_note(void);

/** Stop and join the trim thread; safe when it never started. */
void mem_trim_stop(void);

#endif
