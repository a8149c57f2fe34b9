/*
 * support.h - helpers shared by the cmocka unit tests.
 *
 * Tests that need ../shared (the conformance kit, the photos) call
 * iid_test_shared() and skip with a message (exit 77, which CTest reports as
 * skipped) when it is absent; they never pass silently.
 *
 * The same holds for a single test case: iid_test_skip("reason") prints the reason
 * and skips the case, and the program then exits 77 when no case failed (cmocka on
 * its own would count a skipped case as passed and exit 0). This header redefines
 * cmocka's skip() and cmocka_run_group_tests() to that end, so every test program
 * that includes it reports skips honestly.
 */
#ifndef IID_TEST_SUPPORT_H
#define IID_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Record that a case skipped (see above). */
void iid_test_note_skip(void);
/* cmocka's result (the number of failed cases) as the program's exit code: 77
 * when nothing failed but a case skipped. */
int iid_test_exit_code(int failed);
#undef skip
#define skip() (iid_test_note_skip(), _skip(__FILE__, __LINE__))
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown)                                         \
    iid_test_exit_code(_cmocka_run_group_tests(#group_tests, group_tests, sizeof(group_tests) / sizeof((group_tests)[0]), \
                                               group_setup, group_teardown))
/* Skip the current case, printing "SKIP: <reason>". */
#define iid_test_skip(...)                                                                                       \
    do {                                                                                                         \
        printf("SKIP: ");                                                                                        \
        printf(__VA_ARGS__);                                                                                     \
        printf("\n");                                                                                            \
        skip();                                                                                                  \
    } while (0)

/* The shared folder ($IID_SHARED, else ../shared from the source tree), or exits
 * 77 with a message when it does not exist. */
const char *iid_test_shared(void);
/* The built instantid binary ($IID_BINARY, set by CTest), or exits 77 with a
 * message when it is not set. */
const char *iid_test_binary(void);
/* Run `instantid ARGS` (iid_test_binary) in dir, stdin from /dev/null, stdout to
 * dir/stdout.txt and stderr to dir/stderr.txt; its exit status, -1 when it did
 * not exit. ARGS is shell text: quote paths in it. */
int iid_test_run_binary(const char *dir, const char *args);
/* How much to stretch a test's liveness bounds (how long to wait for something
 * that must happen), never the timings it asserts: $IID_TEST_TIME_SCALE, which
 * CMake sets to 10 in the sanitizer build; 1 when unset. */
double iid_test_time_scale(void);
/* The kit Resampler's head count (conformance/golden/ip_adapter_layout.json's
 * resampler_hyperparameters.heads): its weights cannot tell it. Fails the test
 * when the file cannot be read. */
int iid_test_kit_resampler_heads(void);
/* A whole file as a NUL-terminated malloc'd string (the test fails when it cannot
 * be read). */
char *iid_test_slurp(const char *path);
/* Newlines in text. */
int iid_test_count_lines(const char *text);
/* A path under the shared folder, in a static buffer that the next call reuses. */
const char *iid_test_shared_path(const char *rel);
/* Put the kit's kohya LoRA in models_dir as the LCM-LoRA stand-in
 * (lcm-lora-sdxl/pytorch_lora_weights.safetensors, a link). */
void iid_test_link_lcm_lora(const char *models_dir);
/* A fresh empty directory under $TMPDIR; the caller removes it with iid_test_rmtree. */
char *iid_test_tempdir(void);
void iid_test_rmtree(const char *dir);
/* Write bytes to dir/name; returns the malloc'd full path. */
char *iid_test_write(const char *dir, const char *name, const void *data, size_t size);
/* Copy the shared file rel to dir/as (dir is created when missing); returns the
 * malloc'd path (the test fails when it cannot). */
char *iid_test_copy_shared(const char *rel, const char *dir, const char *as);
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

/* The resident kB of this process's mapping that starts at p (/proc/self/smaps),
 * or -1 when there is none. */
long iid_test_mapping_rss_kb(const void *p);

#endif
