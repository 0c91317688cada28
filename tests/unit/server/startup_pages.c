/* Unit tests: releasing start-up-only file pages (common/startup_pages.c). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/startup_pages.h"

#define PAGES 8

/* A file of PAGES pages, page i filled with the byte 'a' + i. */
static int make_file(void)
{
    char path[] = "/tmp/fltest-startup-pages-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    long pg = sysconf(_SC_PAGESIZE);
    char *buf = malloc((size_t)pg);
    assert_non_null(buf);
    for (int i = 0; i < PAGES; i++) {
        memset(buf, 'a' + i, (size_t)pg);
        assert_int_equal(write(fd, buf, (size_t)pg), pg);
    }
    free(buf);
    return fd;
}

/* Pages of [p, p+len) mapped in this process (/proc/self/pagemap bit 63). */
static int resident_pages(const void *p, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/pagemap", O_RDONLY);
    assert_true(fd >= 0);
    int n = 0;
    for (size_t off = 0; off < len; off += (size_t)pg) {
        uint64_t e = 0;
        off_t at = (off_t)(((uintptr_t)p + off) / (uintptr_t)pg * sizeof(e));
        assert_int_equal(pread(fd, &e, sizeof(e), at), (ssize_t)sizeof(e));
        n += (int)(e >> 63);
    }
    close(fd);
    return n;
}

static int sum_pages(const volatile unsigned char *p)
{
    long pg = sysconf(_SC_PAGESIZE);
    int s = 0;
    for (int i = 0; i < PAGES; i++)
        s += p[(size_t)i * (size_t)pg];
    return s;
}

static void a_clean_read_only_mapping_is_unmapped_and_reads_the_same(void **state)
{
    (void)state;
    int fd = make_file();
    size_t len = (size_t)PAGES * (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true(p != MAP_FAILED);
    int before = sum_pages(p);
    assert_int_equal(resident_pages(p, len), PAGES);
    struct startup_pages_result r;
    assert_int_equal(startup_pages_release(&r), 0);
    assert_true(r.mappings >= 1);
    assert_true(r.released_kb >= len / 1024);
    assert_int_equal(resident_pages(p, len), 0);
    assert_int_equal(sum_pages(p), before); /* faulted back from the file */
    munmap(p, len);
    close(fd);
}

static void a_read_only_mapping_with_a_private_copy_keeps_it(void **state)
{
    (void)state;
    /* As RELRO: written (relocated) while writable, then made read-only. */
    int fd = make_file();
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)PAGES * (size_t)pg;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    assert_true(p != MAP_FAILED);
    (void)sum_pages(p);
    p[3 * pg] = 'Z';
    assert_int_equal(mprotect(p, len, PROT_READ), 0);
    struct startup_pages_result r;
    assert_int_equal(startup_pages_release(&r), 0);
    assert_int_equal(p[3 * pg], 'Z');
    assert_int_equal(resident_pages(p, len), PAGES);
    munmap(p, len);
    close(fd);
}

static void writable_and_anonymous_mappings_are_left_alone(void **state)
{
    (void)state;
    int fd = make_file();
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)PAGES * (size_t)pg;
    unsigned char *w = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    unsigned char *anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(w != MAP_FAILED && anon != MAP_FAILED);
    (void)sum_pages(w); /* read only: clean file pages, but the mapping is writable */
    memset(anon, 'q', len);
    struct startup_pages_result r;
    assert_int_equal(startup_pages_release(&r), 0);
    assert_int_equal(resident_pages(w, len), PAGES);
    assert_int_equal(resident_pages(anon, len), PAGES);
    assert_int_equal(anon[len - 1], 'q');
    munmap(w, len);
    munmap(anon, len);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_clean_read_only_mapping_is_unmapped_and_reads_the_same),
        cmocka_unit_test(a_read_only_mapping_with_a_private_copy_keeps_it),
        cmocka_unit_test(writable_and_anonymous_mappings_are_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
