/*
 * gemm.c - the f32 matrix products on oneDNN's sgemm (JIT kernels picked for this
 * CPU, threads from OpenMP's pool), and the products with a weight in its stored
 * dtype (iid_wmat_t) that was not prepared by the cpu backend (cpu/dnnl_weight.c
 * runs the prepared ones); the loop references are in ref/gemm_ref.c.
 *
 * A weight that is not aligned F32 is converted a block of rows at a time into one
 * scratch buffer (at most IID_WMAT_BLOCK_BYTES and IID_WMAT_BLOCK_ROWS rows), and
 * each block is one GEMM writing its own columns (x W^T) or rows (W B) of the
 * result, so a 5 GB fp16 UNet is never widened whole: SDXL's largest layer
 * (10240 x 1280) takes ten blocks of 5 MB.
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"

#include "ops/ops.h"

/* dnnl_sgemm fails only on invalid arguments (negative sizes, short leading
 * dimensions), which the callers rule out. */
void iid__sgemm(char tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc)
{
    (void)dnnl_sgemm('N', tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void iid__matmul_nt(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) memset(C, 0, (size_t)M * N * sizeof *C);
        return;
    }
    iid__sgemm('T', M, N, K, 1.0f, A, K, B, K, accumulate ? 1.0f : 0.0f, C, N);
}

void iid__matmul_nn(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) memset(C, 0, (size_t)M * N * sizeof *C);
        return;
    }
    iid__sgemm('N', M, N, K, 1.0f, A, K, B, N, accumulate ? 1.0f : 0.0f, C, N);
}

void iid__linear(float *y, const float *x, const float *W, const float *b, int M, int in, int out)
{
    if (b) {
        for (int i = 0; i < M; i++) memcpy(y + (size_t)i * out, b, (size_t)out * sizeof *y);
        iid__matmul_nt(y, x, W, M, out, in, 1);
    } else {
        iid__matmul_nt(y, x, W, M, out, in, 0);
    }
}

/* An F32 matrix whose address is float-aligned is used as it is. */
static const float *wmat_direct(const iid_wmat_t *W)
{
    return W->dtype == IID_DTYPE_F32 && (uintptr_t)W->data % _Alignof(float) == 0 ? W->data : NULL;
}

/* Rows per block so a converted block fits block_bytes (at least one row) and
 * holds at most IID_WMAT_BLOCK_ROWS: the sgemm on 1024 widened rows runs within
 * a few percent of a prepared weight's matmul, where a block filling 32 MB (6553
 * rows of a 10240 x 1280 weight, then the rest) ran 20% slower. */
static int block_rows(const iid_wmat_t *W, size_t block_bytes)
{
    size_t row = (size_t)(W->cols > 0 ? W->cols : 1) * sizeof(float);
    size_t r = block_bytes / row;
    if (r < 1) r = 1;
    if (r > IID_WMAT_BLOCK_ROWS) r = IID_WMAT_BLOCK_ROWS;
    return r >= (size_t)W->rows ? W->rows : (int)r;
}

void *iid__scratch_alloc(const iid_scratch_t *sc, size_t bytes)
{
    return sc ? sc->alloc(sc->ctx, bytes) : malloc(bytes ? bytes : 1);
}

void iid__scratch_free(const iid_scratch_t *sc, void *p)
{
    if (!p) return;
    if (sc) sc->free(sc->ctx, p);
    else free(p);
}

int iid__matmul_wt_blocked(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate, size_t block_bytes,
                           const iid_scratch_t *sc)
{
    const float *direct = wmat_direct(W);
    if (direct || M <= 0 || W->rows <= 0 || W->cols <= 0) {
        iid__matmul_nt(C, A, direct ? direct : NULL, M, W->rows, W->cols, accumulate);
        return 0;
    }
    int rb = block_rows(W, block_bytes), N = W->rows, K = W->cols;
    float *blk = iid__scratch_alloc(sc, (size_t)rb * K * sizeof *blk);
    if (!blk) return -1;
    for (int r0 = 0; r0 < N; r0 += rb) { /* C[:, r0:r0+nr] (ldc N) = A blk^T */
        int nr = N - r0 < rb ? N - r0 : rb;
        iid__wmat_rows_f32(blk, W, r0, nr);
        iid__sgemm('T', M, nr, K, 1.0f, A, K, blk, K, accumulate ? 1.0f : 0.0f, C + r0, N);
    }
    iid__scratch_free(sc, blk);
    return 0;
}

int iid__matmul_wt(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    return iid__matmul_wt_blocked(C, A, W, M, accumulate, IID_WMAT_BLOCK_BYTES, NULL);
}

int iid__matmul_wn_blocked(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate, size_t block_bytes,
                           const iid_scratch_t *sc)
{
    const float *direct = wmat_direct(W);
    if (direct || N <= 0 || W->rows <= 0 || W->cols <= 0) {
        iid__matmul_nn(C, direct ? direct : NULL, B, W->rows, N, W->cols, accumulate);
        return 0;
    }
    int rb = block_rows(W, block_bytes), M = W->rows, K = W->cols;
    float *blk = iid__scratch_alloc(sc, (size_t)rb * K * sizeof *blk);
    if (!blk) return -1;
    for (int r0 = 0; r0 < M; r0 += rb) { /* C[r0:r0+nr, :] = blk B */
        int nr = M - r0 < rb ? M - r0 : rb;
        iid__wmat_rows_f32(blk, W, r0, nr);
        iid__matmul_nn(C + (size_t)r0 * N, blk, B, nr, N, K, accumulate);
    }
    iid__scratch_free(sc, blk);
    return 0;
}

int iid__matmul_wn(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    return iid__matmul_wn_blocked(C, W, B, N, accumulate, IID_WMAT_BLOCK_BYTES, NULL);
}

int iid__linear_w(float *y, const float *x, const iid_wmat_t *W, const float *b, int M, const iid_scratch_t *sc)
{
    if (b)
        for (int i = 0; i < M; i++) memcpy(y + (size_t)i * W->rows, b, (size_t)W->rows * sizeof *y);
    return iid__matmul_wt_blocked(y, x, W, M, b != NULL, IID_WMAT_BLOCK_BYTES, sc);
}
