/* gemm.c - matrix products: loop references and their OpenBLAS versions. */
#include <cblas.h>
#include <string.h>

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

void iid__matmul_nt(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) memset(C, 0, (size_t)M * N * sizeof *C);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, accumulate ? 1.0f : 0.0f, C, N);
}

void iid__matmul_nn(float *C, const float *A, const float *B, int M, int N, int K, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) memset(C, 0, (size_t)M * N * sizeof *C);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, accumulate ? 1.0f : 0.0f, C,
                N);
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
