/* Release start-up-only file pages with MADV_DONTNEED: see startup_pages.h. */
#include "common/startup_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flame/error.h"

/* One mapping as /proc/self/smaps describes it, while it is being read. */
struct vma {
    unsigned long start, end;
    int eligible;        /* private, not writable, backed by a file */
    long rss_kb, anon_kb, swap_kb;
};

static int vma_header(const char *line, struct vma *v)
{
    unsigned long start, end, off, inode;
    char perms[8], dev[32];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %31s %lu %n", &start, &end, perms, &off, dev, &inode, &path_at) < 6)
        return 0;
    v->start = start;
    v->end = end;
    v->rss_kb = v->anon_kb = v->swap_kb = -1;
    v->eligible = inode != 0 && line[path_at] == '/' && perms[1] != 'w' && perms[3] == 'p';
    return 1;
}

/* Release v when every field that decides it has been read (VmFlags ends an entry). */
static void vma_done(struct vma *v, struct startup_pages_result *out)
{
    /* A private copy of a page (Anonymous), resident or swapped out, would be
     * thrown away by MADV_DONTNEED: such a mapping is never touched. */
    if (!v->eligible || v->rss_kb <= 0 || v->anon_kb != 0 || v->swap_kb != 0)
        return;
    if (madvise((void *)v->start, v->end - v->start, MADV_DONTNEED) == 0) {
        out->mappings++;
        out->released_kb += (size_t)v->rss_kb;
    }
}

int startup_pages_release(struct startup_pages_result *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return FLAME_ERROR;
    /* madvise while reading: it changes page tables only, never the list of
     * mappings, so the file reads on consistently. */
    char line[4608];
    struct vma v = {0};
    int in_vma = 0;
    long kb;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmFlags:", 8) == 0) {
            if (in_vma)
                vma_done(&v, out);
            in_vma = 0;
        } else if (sscanf(line, "Rss: %ld kB", &kb) == 1)
            v.rss_kb = kb;
        else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
            v.anon_kb = kb;
        else if (sscanf(line, "Swap: %ld kB", &kb) == 1)
            v.swap_kb = kb;
        else if (!in_vma && vma_header(line, &v))
            in_vma = 1;
    }
    fclose(f);
    return 0;
}
