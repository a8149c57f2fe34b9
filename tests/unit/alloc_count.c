/* alloc_count.c - the --wrap'd allocators behind alloc_count.h. */
#include "alloc_count.h"

#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

static atomic_int counting;
static atomic_long allocs;

static void count(void)
{
    if (atomic_load(&counting)) atomic_fetch_add(&allocs, 1);
}

void *__wrap_malloc(size_t n) { return count(), __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return count(), __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return count(), __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t align, size_t n) { return count(), __real_aligned_alloc(align, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) { return count(), __real_posix_memalign(p, align, n); }

void iid_test_alloc_count_start(void)
{
    atomic_store(&allocs, 0);
    atomic_store(&counting, 1);
}

long iid_test_alloc_count_stop(void)
{
    atomic_store(&counting, 0);
    return atomic_load(&allocs);
}
