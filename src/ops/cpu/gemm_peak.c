/*
 * gemm_peak.c - the large-matmul rate (gemm_peak.h). The weight is prepared
 * for dtype directly (iid__dnnl_weight_new, what the cpu backend's bind_weight
 * does with $IID_DTYPE), so the caller's environment is left alone: F16 for
 * bf16, F32 for f32 (where an F16 one would be widened per product instead).
 */
#include "ops/cpu/gemm_peak.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rng.h"
#include "ops/backend.h"
#include "ops/cpu/dnnl_weight.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* n uniform values in [-1, 1): the values do not change the arithmetic. */
static void fill(float *x, size_t n, uint64_t seed)
{
    iid_rng_t r;
    iid__rng_init(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * iid__rng_uniform(&r) - 1.0);
}

/* One product to prepare the weight, then out->runs timed ones. */
static iid_status timed(const iid_backend_t *be, const iid_wmat_t *W, const float *x, float *y, double min_seconds,
                        iid_gemm_peak_t *out, iid_error_t *err)
{
    IID_TRY(iid__op_linear(be, y, x, W, NULL, out->M, err));
    double t0 = now(), t = 0.0;
    do {
        IID_TRY(iid__op_linear(be, y, x, W, NULL, out->M, err));
        out->runs++;
        t = now() - t0;
    } while (out->runs < 3 || t < min_seconds);
    out->gflops = 2.0 * out->M * out->N * out->K * out->runs / t * 1e-9;
    snprintf(out->impl, sizeof out->impl, "%s", iid__dnnl_weight_info(W->prep).impl);
    return IID_OK;
}

iid_status iid__gemm_peak(iid_dtype_t dtype, double min_seconds, iid_gemm_peak_t *out, iid_error_t *err)
{
    const iid_backend_t *be = &iid__backend_cpu;
    const int M = 4096, K = 1280, N = 1280;
    *out = (iid_gemm_peak_t){M, K, N, dtype, 0.0, 0, ""};
    if (dtype == IID_DTYPE_BF16 && !iid__bf16_supported())
        return iid__fail(err, IID_ERR_UNSUPPORTED, "gemm peak: oneDNN cannot run bf16 on this CPU");
    iid_status s = IID_OK;
    float *wf = malloc((size_t)N * K * sizeof *wf);
    void *w16 = malloc((size_t)N * K * 2);
    float *x = iid__op_alloc(be, (size_t)M * K * sizeof *x), *y = iid__op_alloc(be, (size_t)M * N * sizeof *y);
    /* f32 from an F32 weight: the cpu backend widens a 16-bit one per product
     * in f32 instead of preparing it, and the peak is oneDNN's prepared matmul */
    iid_wmat_t W = {dtype == IID_DTYPE_F32 ? (void *)wf : w16, dtype == IID_DTYPE_F32 ? IID_DTYPE_F32 : IID_DTYPE_F16, N, K,
                    NULL, 0};
    if (!wf || !w16 || !x || !y) s = iid__fail(err, IID_ERR_NOMEM, "gemm peak: out of memory");
    if (s == IID_OK) {
        fill(wf, (size_t)N * K, 60);
        fill(x, (size_t)M * K, 61);
        s = iid__convert_from_f32(w16, IID_DTYPE_F16, wf, (size_t)N * K, err);
    }
    if (s == IID_OK && !(W.prep = iid__dnnl_weight_new(&W, dtype)))
        s = iid__fail(err, IID_ERR_NOMEM, "gemm peak: cannot prepare the weight for oneDNN");
    if (s == IID_OK) s = timed(be, &W, x, y, min_seconds, out, err);
    iid__dnnl_weight_free(W.prep);
    iid__op_free(be, x);
    iid__op_free(be, y);
    free(w16);
    free(wf);
    return s;
}
