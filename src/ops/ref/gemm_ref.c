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
    v.prep = NULL;
    return v;
}

/* The whole of W as a malloc'd f32 copy, or NULL; converted on every thread in
 * slices of rows (with the page faults of the fresh copy and of a mapped file,
 * one thread made this most of the cpu backend's weight preparation). */
float *iid__wmat_to_f32(const iid_wmat_t *W)
{
    size_t n = (size_t)W->rows * W->cols;
    float *w = malloc((n ? n : 1) * sizeof *w);
    if (!w) return NULL;
    const int rows_per = 64;
#pragma omp parallel for schedule(static) if (n >= ((size_t)1 << 20))
    for (int r0 = 0; r0 < W->rows; r0 += rows_per)
        iid__wmat_rows_f32(w + (size_t)r0 * W->cols, W, r0, W->rows - r0 < rows_per ? W->rows - r0 : rows_per);
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
