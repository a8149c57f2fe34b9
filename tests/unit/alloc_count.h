/*
 * alloc_count.h - counting the library's host allocations in a test.
 *
 * A test linked with alloc_count.c and the linker's --wrap for malloc, calloc,
 * realloc, aligned_alloc and posix_memalign (tests/CMakeLists.txt) sees every
 * call the library (a static archive) and the test make to them; shared
 * libraries (oneDNN, OpenMP, cmocka) are not wrapped. Counting is thread-safe:
 * OpenMP workers may allocate while it runs.
 */
#ifndef IID_TEST_ALLOC_COUNT_H
#define IID_TEST_ALLOC_COUNT_H

/* Zero the count and count from now on. */
void iid_test_alloc_count_start(void);
/* Stop counting; the number of allocations since start. */
long iid_test_alloc_count_stop(void);

#endif
