/*
 * cuda_ctx.cuh - the state every .cu of the "cuda" backend shares, and the
 * helpers they launch with.
 *
 * The device, its one non-blocking stream, the cuBLASLt handle and workspace are
 * created once per process, on first use, under pthread_once (memory.cu). This
 * is the one process-wide mutable state of the library: the CUDA runtime's own
 * context is per process, so a per-engine copy would buy nothing. Everything
 * is queued on the one stream, so scratch memory taken with iid__cuda_scratch
 * (stream-ordered cudaMallocAsync) is safe to reuse however threads interleave.
 *
 * Errors: entries that return void record the first failure (launch, library
 * call, allocation) with iid__cuda_note; iid__cuda_synchronize turns it into -1.
 * A CUDA failure poisons the context, so the flag is never cleared.
 */
#ifndef IID_OPS_CUDA_CUDA_CTX_CUH
#define IID_OPS_CUDA_CUDA_CTX_CUH

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "ops/cuda/cuda_ops.h"

typedef struct iid_cuda_ctx {
    int ready;          /* 0: why says what is missing */
    char why[256];
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_ws; /* cuBLASLt workspace, used only on stream */
    size_t lt_ws_bytes;
    int sm_count;
    size_t smem_optin;  /* most dynamic shared memory a block may ask for */
    iid_dtype_t wdtype; /* weights on the device: BF16 (default) or F32 ($IID_CUDA_WEIGHTS=f32) */
} iid_cuda_ctx_t;

/* The context, initialised on first call; check ->ready. */
iid_cuda_ctx_t *iid__cuda_ctx(void);
/* Record e (when not cudaSuccess) as the backend's failure, with what. */
void iid__cuda_note(cudaError_t e, const char *what);
/* Record a failure that is not a cudaError_t (cuBLASLt, shapes). */
void iid__cuda_fail(const char *what);
/* Stream-ordered scratch: NULL (and noted) when the pool cannot grow. */
void *iid__cuda_scratch(size_t bytes);
void iid__cuda_scratch_free(void *p);

/* After every launch. */
#define IID_CUDA_LAUNCHED(what) iid__cuda_note(cudaGetLastError(), what)

/* Blocks of t threads for n items, capped for grid-stride loops. */
static inline unsigned iid__cuda_blocks(int64_t n, int t)
{
    int64_t b = (n + t - 1) / t;
    if (b < 1) b = 1;
    if (b > 65535LL * 16) b = 65535LL * 16;
    return (unsigned)b;
}

/* Grid-stride loop over [0, n). */
#define IID_CUDA_FOR(i, n)                                                                   \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);               \
         i += (int64_t)gridDim.x * blockDim.x)

/* f32 -> device-weight dtype, n values (gemm.cu; conv.cu reuses it). */
void iid__cuda_to_bf16(void *dst, const float *src, int64_t n, cudaStream_t st);

/* C (m, n) column-major, ldc, f32 = alpha op(A) op(B) + beta C, + bias (m) per row
 * when bias != NULL. A, B of type ab (CUDA_R_16BF or CUDA_R_32F). Returns 0, or
 * -1 (noted) when cuBLASLt has no algorithm or fails. (gemm.cu) */
int iid__cuda_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, cudaDataType_t ab, const void *A,
                   int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc, float beta, const float *bias);

/* x (N, C, HW) += bias[n * stride + c] (elementwise.cu; conv.cu reuses it). */
void iid__cuda_channel_bias(float *x, const float *bias, int N, int C, int64_t HW, int stride, cudaStream_t st);

#endif
