/*
 * gemm_peak.h - the yardstick of issue #11's target ("the GEMM/conv ops of a
 * step at >= 50% of the bf16 peak"): the rate of one large prepared matmul on
 * the cpu backend, y (4096, 1280) = x (4096, 1280) W^T with an f16 weight (the
 * shape of a 512x512 step's attention projections), run through the same
 * dispatcher and oneDNN path as a model's linear layer. test_backend_ops --perf
 * prints it; bench_step divides a step's GEMM rate by it.
 */
#ifndef IID_OPS_CPU_GEMM_PEAK_H
#define IID_OPS_CPU_GEMM_PEAK_H

#include "core/status.h"
#include "core/tensor.h"

typedef struct iid_gemm_peak {
    int M, K, N;
    iid_dtype_t dtype;  /* the compute dtype: F32 or BF16 */
    double gflops;
    int runs;           /* timed products, after one that prepares the weight */
    char impl[64];      /* oneDNN's implementation name */
} iid_gemm_peak_t;

/* Time the product in dtype on OpenMP's current thread count: at least 3 runs
 * and min_seconds. Fails when out of memory or when oneDNN cannot run dtype. */
iid_status iid__gemm_peak(iid_dtype_t dtype, double min_seconds, iid_gemm_peak_t *out, iid_error_t *err);

#endif
