/* test_rng.c - Philox4x32-10 known answers, determinism, and normal statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "support.h"

static void test_philox_known_answer(void **state)
{
    (void)state;
    /* Random123's kat_vectors: philox4x32_10, counter 0, key 0. */
    iid_rng_t r;
    iid__rng_init(&r, 0);
    assert_int_equal(iid__rng_u32(&r), 0x6627e8d5u);
    assert_int_equal(iid__rng_u32(&r), 0xe169c58du);
    assert_int_equal(iid__rng_u32(&r), 0xbc57ac4cu);
    assert_int_equal(iid__rng_u32(&r), 0x9b00dbd8u);
}

static void test_determinism_and_seeds(void **state)
{
    (void)state;
    enum { N = 1000 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
    iid_rng_t r;
    iid__rng_init(&r, 1234);
    iid__rng_normal_fill(&r, a, N);
    iid__rng_init(&r, 1234);
    iid__rng_normal_fill(&r, b, N);
    assert_memory_equal(a, b, N * sizeof *a);
    iid__rng_init(&r, 1235);
    iid__rng_normal_fill(&r, c, N);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    assert_true(same < 5);
    /* Split fills continue the same stream. */
    iid__rng_init(&r, 1234);
    iid__rng_normal_fill(&r, c, 333);
    iid__rng_normal_fill(&r, c + 333, N - 333);
    assert_memory_equal(a, c, N * sizeof *a);
    /* The noise-source wrapper draws from the same stream. */
    iid__rng_init(&r, 1234);
    iid_noise_source_t src = iid__rng_noise_source(&r);
    assert_int_equal(src.fill(src.user, c, N, NULL), IID_OK);
    assert_memory_equal(a, c, N * sizeof *a);
    free(a), free(b), free(c);
}

static void test_uniform_range(void **state)
{
    (void)state;
    iid_rng_t r;
    iid__rng_init(&r, 7);
    double lo = 1, hi = 0, sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = iid__rng_uniform(&r);
        assert_true(u > 0.0 && u < 1.0);
        lo = u < lo ? u : lo, hi = u > hi ? u : hi, sum += u;
    }
    assert_true(lo < 1e-3 && hi > 1 - 1e-3);
    assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void test_normal_statistics(void **state)
{
    (void)state;
    enum { N = 200000 };
    float *x = malloc(N * sizeof *x);
    iid_rng_t r;
    iid__rng_init(&r, 42);
    iid__rng_normal_fill(&r, x, N);
    double mean = 0, var = 0, m4 = 0;
    int beyond3 = 0;
    for (int i = 0; i < N; i++) mean += x[i];
    mean /= N;
    for (int i = 0; i < N; i++) {
        double d = x[i] - mean;
        var += d * d, m4 += d * d * d * d;
        beyond3 += fabs(x[i]) > 3.0;
        assert_true(isfinite(x[i]));
    }
    var /= N, m4 /= N;
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(var - 1.0) < 0.02);
    assert_true(fabs(m4 / (var * var) - 3.0) < 0.1); /* Gaussian kurtosis */
    /* P(|x| > 3) = 0.0027 */
    assert_true(beyond3 > N * 0.0020 && beyond3 < N * 0.0034);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answer),
        cmocka_unit_test(test_determinism_and_seeds),
        cmocka_unit_test(test_uniform_range),
        cmocka_unit_test(test_normal_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
