/*
 * arena.c - the bump allocator a response is unpacked into.
 *
 * protobuf-c allocates every string, repeated array and sub-message of a
 * response separately; with malloc that was about half of libflame's CPU per
 * List (bench/PROFILE.md). Here those allocations bump a pointer in one block
 * sized from the message length (more blocks only when the guess was short),
 * protobuf-c's free is a no-op, and the whole response goes with one free()
 * per block. The flame_runner views built from the message live in the same
 * arena, their strings the unpacked message's own (List goes further and
 * decodes its wire bytes straight into views in an arena: runner_wire.c).
 *
 * Released arenas of up to 1 MiB are kept (at most ARENA_CACHE of them,
 * process-wide) and handed out again: a List's block is ~100-170 KB, and
 * freeing it made glibc trim the heap and fault the pages in again on the
 * next call (twice the system time of the whole call, measured with 100
 * runners at c=1).
 *
 * The one thing protobuf-c frees while it unpacks is its "scanned member"
 * slabs (one per message with more than 16 fields on the wire: every Runner
 * with a few labels). Those are large and all of one size, so the arena keeps
 * a few recently allocated large chunks and hands a freed one out again
 * instead of growing by a slab per runner.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Every type protobuf-c and libflame put in an arena (pointers, size_t,
 * int64_t, double) needs at most 8-byte alignment. */
#define ARENA_ALIGN 8u
#define ARENA_MIN_BLOCK 4096u
#define ARENA_BIG 512u /* allocations this large are remembered for reuse */
#define ARENA_N_BIG 8

#define ARENA_CACHE 8                 /* released arenas kept for reuse */
#define ARENA_CACHE_MAX_BYTES (1u << 20) /* larger ones are freed */

struct arena_block {
    struct arena_block *next; /* in allocation order; kept by reset for reuse */
    size_t cap;               /* bytes of data */
    /* data follows, ARENA_ALIGN-aligned */
};

struct arena_big {
    void *p;
    size_t n;
    int free;
};

struct flame__arena {
    ProtobufCAllocator pb;      /* allocator_data = this */
    atomic_size_t refs;
    struct arena_block *block;  /* the one being filled */
    char *cur, *end;            /* its free space */
    size_t total;               /* capacity of all blocks */
    size_t used;                /* bytes handed out (with alignment) */
    int failed;                 /* an allocation failed */
    struct arena_big big[ARENA_N_BIG];
    struct arena_block first;   /* the first block's header; its data follows */
};

_Static_assert(sizeof(struct flame__arena) % ARENA_ALIGN == 0, "arena header alignment");
_Static_assert(sizeof(struct arena_block) % ARENA_ALIGN == 0, "block header alignment");
_Static_assert(_Alignof(flame_runner) <= ARENA_ALIGN, "flame_runner alignment");

static char *block_data(struct arena_block *b)
{
    return (char *)(b + 1);
}

static void *pb_alloc(void *data, size_t n)
{
    return flame__arena_alloc(data, n);
}

static void pb_free(void *data, void *p)
{
    flame__arena *a = data;

    if (!p)
        return;
    for (int i = 0; i < ARENA_N_BIG; i++)
        if (a->big[i].p == p) {
            a->big[i].free = 1;
            return;
        }
    /* anything else stays until the arena goes */
}

size_t flame__arena_hint(size_t len)
{
    /* Unpacked, a Runner is its strings again (NUL-terminated, 8-aligned)
     * plus structs: the Runner, one 40-byte message per label, the arrays,
     * and the flame_runner view (~0.3 KiB + ~100 B per label). 100 runners
     * with 10 labels each measured 3.9 x their wire size; with long ids and
     * few labels it is less. A short guess costs a block more. */
    return len > (SIZE_MAX - 4096) / 4 ? len : 4 * len + 4096;
}

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static flame__arena *cache[ARENA_CACHE]; /* first blocks only; guarded by cache_mu */
static size_t n_cache;

/* The smallest cached arena whose first block holds cap bytes, or NULL. */
static flame__arena *cache_take(size_t cap)
{
    flame__arena *a = NULL;
    size_t best = 0;

    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < n_cache; i++)
        if (cache[i]->first.cap >= cap && (!a || cache[i]->first.cap < a->first.cap)) {
            a = cache[i];
            best = i;
        }
    if (a)
        cache[best] = cache[--n_cache];
    pthread_mutex_unlock(&cache_mu);
    return a;
}

/* Keep a released arena (its extra blocks already freed), or free it. */
static void cache_put(flame__arena *a)
{
    if (a->first.cap <= ARENA_CACHE_MAX_BYTES) {
        pthread_mutex_lock(&cache_mu);
        if (n_cache < ARENA_CACHE) {
            cache[n_cache++] = a;
            a = NULL;
        }
        pthread_mutex_unlock(&cache_mu);
    }
    free(a);
}

int flame__arena_new(size_t size_hint, flame__arena **out)
{
    flame__arena *a;
    size_t cap = size_hint < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : size_hint;

    *out = NULL;
    cap = (cap + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if ((a = cache_take(cap)) != NULL) {
        cap = a->first.cap;
    } else if (cap > SIZE_MAX - sizeof(*a) || !(a = malloc(sizeof(*a) + cap))) {
        return FLAME_ENOMEM;
    }
    memset(a, 0, sizeof(*a));
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    atomic_init(&a->refs, 1);
    a->first.cap = cap;
    a->block = &a->first;
    a->cur = (char *)(a + 1);
    a->end = a->cur + cap;
    a->total = cap;
    *out = a;
    return 0;
}

/* Move to the next kept block that fits n, or chain a new one after the
 * current block. */
static int arena_grow(flame__arena *a, size_t n)
{
    struct arena_block *b;
    size_t cap;

    for (b = a->block->next; b; b = b->next)
        if (b->cap >= n)
            break;
    if (!b) {
        cap = a->total / 2;
        if (cap < n)
            cap = n;
        if (cap < ARENA_MIN_BLOCK)
            cap = ARENA_MIN_BLOCK;
        if (cap > SIZE_MAX - sizeof(*b) || !(b = malloc(sizeof(*b) + cap)))
            return FLAME_ENOMEM;
        b->cap = cap;
        b->next = a->block->next;
        a->block->next = b;
        a->total += cap;
    }
    /* the skipped kept blocks (too small) stay in the chain, unused until a reset */
    a->block = b;
    a->cur = block_data(b);
    a->end = a->cur + b->cap;
    return 0;
}

void *flame__arena_alloc(flame__arena *a, size_t n)
{
    void *p;
    int slot = -1;

    if (n > SIZE_MAX - ARENA_ALIGN) {
        a->failed = 1;
        return NULL;
    }
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n >= ARENA_BIG) {
        for (int i = 0; i < ARENA_N_BIG; i++) {
            if (a->big[i].p && a->big[i].free && a->big[i].n >= n) {
                a->big[i].free = 0;
                return a->big[i].p;
            }
            if (slot < 0 && (!a->big[i].p || a->big[i].free))
                slot = i;
        }
    }
    if ((size_t)(a->end - a->cur) < n && arena_grow(a, n) < 0) {
        a->failed = 1;
        return NULL;
    }
    p = a->cur;
    a->cur += n;
    a->used += n;
    if (slot >= 0) {
        /* a freed chunk too small for n is forgotten: it stays in the block */
        a->big[slot].p = p;
        a->big[slot].n = n;
        a->big[slot].free = 0;
    }
    return p;
}

char *flame__arena_strdup(flame__arena *a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *p = flame__arena_alloc(a, n + 1);

    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

ProtobufCAllocator *flame__arena_allocator(flame__arena *a)
{
    return &a->pb;
}

int flame__arena_failed(const flame__arena *a)
{
    return a->failed;
}

size_t flame__arena_used(const flame__arena *a)
{
    return a->used;
}

size_t flame__arena_capacity(const flame__arena *a)
{
    return a->total;
}

size_t flame__arena_blocks(const flame__arena *a)
{
    size_t n = 0;

    for (const struct arena_block *b = &a->first; b; b = b->next)
        n++;
    return n;
}

size_t flame__arena_refs(const flame__arena *a)
{
    return atomic_load_explicit(&a->refs, memory_order_acquire);
}

void flame__arena_reset(flame__arena *a)
{
    a->block = &a->first;
    a->cur = (char *)(a + 1);
    a->end = a->cur + a->first.cap;
    a->used = 0;
    a->failed = 0;
    memset(a->big, 0, sizeof(a->big));
}

void flame__arena_ref(flame__arena *a, size_t n)
{
    atomic_fetch_add_explicit(&a->refs, n, memory_order_relaxed);
}

void flame__arena_unref(flame__arena *a, size_t n)
{
    struct arena_block *b, *next;

    if (!a || !n)
        return;
    /* release: this holder's reads of the arena happen before the free */
    if (atomic_fetch_sub_explicit(&a->refs, n, memory_order_acq_rel) != n)
        return;
    for (b = a->first.next; b; b = next) {
        next = b->next;
        free(b);
    }
    cache_put(a);
}
