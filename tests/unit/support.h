/*
 * support.h - helpers shared by the cmocka unit tests.
 *
 * Tests that need ../shared (the conformance kit, the photos) call
 * iid_test_shared() and skip with a message (exit 77, which CTest reports as
 * skipped) when it is absent; they never pass silently.
 */
#ifndef IID_TEST_SUPPORT_H
#define IID_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The shared folder ($IID_SHARED, else ../shared from the source tree), or exits
 * 77 with a message when it does not exist. */
const char *iid_test_shared(void);
/* The built instantid binary ($IID_BINARY, set by CTest), or exits 77 with a
 * message when it is not set. */
const char *iid_test_binary(void);
/* A whole file as a NUL-terminated malloc'd string (the test fails when it cannot
 * be read). */
char *iid_test_slurp(const char *path);
/* Newlines in text. */
int iid_test_count_lines(const char *text);
/* A path under the shared folder, in a static buffer that the next call reuses. */
const char *iid_test_shared_path(const char *rel);
/* A fresh empty directory under $TMPDIR; the caller removes it with iid_test_rmtree. */
char *iid_test_tempdir(void);
void iid_test_rmtree(const char *dir);
/* Write bytes to dir/name; returns the malloc'd full path. */
char *iid_test_write(const char *dir, const char *name, const void *data, size_t size);
/* Max |a - b| over n floats. */
float iid_test_max_abs_diff(const float *a, const float *b, size_t n);
/* Deterministic pseudo-random floats in [-1, 1). */
void iid_test_fill_random(float *x, size_t n, uint32_t seed);

/* One tensor for iid_test_write_safetensors: raw little-endian bytes of `dtype`
 * ("F32", "F16", "I64", ...) in C order. */
typedef struct iid_test_tensor {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
} iid_test_tensor_t;
/* Write a safetensors file dir/name holding the n tensors, packed in the given
 * order; returns the malloc'd full path (NULL on failure). */
char *iid_test_write_safetensors(const char *dir, const char *name, const iid_test_tensor_t *t, int n);

#endif
