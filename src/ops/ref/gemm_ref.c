/*
 * gemm_ref.c - the loop matrix products (accumulated in double) and the weight
 * matrix helpers: rows of a stored-dtype weight widened to f32, and the reference
 * products with such a weight, which widen the whole matrix first.
 */
#include <stdlib.h>
#include <string.h>

#include "core/half.h"

#include "ops/ops.h"

void iid__matmul_nt_ref(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)i * K + k] * B[(size_t)j * K + k];
            C[(size_t)i * N + j] = (float)(accumulate ? C[(size_t)i * N + j] + acc : acc);
        }
    }
}

void iid__matmul_nn_ref(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)i * K + k] * B[(size_t)k * N + j];
            C[(size_t)i * N + j] = (float)(accumulate ? C[(size_t)i * N + j] + acc : acc);
        }
    }
}

/* ---- weights in their stored dtype ---------------------------------------- */

void iid__wmat_rows_f32(float *dst, const iid_wmat_t *W, int r0, int nr)
{
    size_t es = iid__dtype_size(W->dtype), n = (size_t)nr * W->cols;
    const unsigned char *src = (const unsigned char *)W->data + (size_t)r0 * W->cols * es;
    switch (W->dtype) {
    case IID_DTYPE_F16: iid__f16_to_f32_n(dst, src, n); break;
    case IID_DTYPE_BF16: iid__bf16_to_f32_n(dst, src, n); break;
    default: memcpy(dst, src, n * sizeof *dst); break; /* F32, any alignment */
    }
}

iid_wmat_t iid__wmat_slice(const iid_wmat_t *W, int r0, int nr)
{
    iid_wmat_t v = *W;
    v.data = (const unsigned char *)W->data + (size_t)r0 * W->cols * iid__dtype_size(W->dtype);
    v.rows = nr;
    return v;
}

/* The whole of W as a malloc'd f32 copy, or NULL. */
float *iid__wmat_to_f32(const iid_wmat_t *W)
{
    size_t n = (size_t)W->rows * W->cols;
    float *w = malloc((n ? n : 1) * sizeof *w);
    if (w) iid__wmat_rows_f32(w, W, 0, W->rows);
    return w;
}

int iid__matmul_wt_ref(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    float *w = iid__wmat_to_f32(W);
    if (!w) return -1;
    iid__matmul_nt_ref(C, A, w, M, W->rows, W->cols, accumulate);
    free(w);
    return 0;
}

int iid__matmul_wn_ref(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    float *w = iid__wmat_to_f32(W);
    if (!w) return -1;
    iid__matmul_nn_ref(C, w, B, W->rows, N, W->cols, accumulate);
    free(w);
    return 0;
}
