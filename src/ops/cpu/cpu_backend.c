/*
 * cpu_backend.c - the "cpu" backend: OpenBLAS GEMM (weights widened block by
 * block from their stored dtype), im2col convolution and tiled attention from
 * this folder; every other op is the host loop it shares with "ref" (host.h).
 */
#include "ops/ref/host.h"

/* Kernel scratch from the backend's alloc hook (a step allocator sees it). */
static void *scratch_alloc(void *ctx, size_t bytes)
{
    const iid_backend_t *be = ctx;
    return be->i->alloc(be, bytes);
}

static void scratch_free(void *ctx, void *p)
{
    const iid_backend_t *be = ctx;
    be->i->free(be, p);
}

#define SCRATCH(be) (&(iid_scratch_t){scratch_alloc, scratch_free, (void *)(be)})

static int cpu_supports_op(const iid_backend_t *be, iid_op_t op) { return op >= 0 && op < IID_OP_COUNT; }

static int cpu_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    return iid__matmul_wt_blocked(C, A, W, M, accumulate, IID_WMAT_BLOCK_BYTES, SCRATCH(be));
}

static int cpu_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    return iid__matmul_wn_blocked(C, W, B, N, accumulate, IID_WMAT_BLOCK_BYTES, SCRATCH(be));
}

static void cpu_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                          int accumulate)
{
    iid__matmul_nt(C, A, B, M, N, K, accumulate);
}

static void cpu_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                          int accumulate)
{
    iid__matmul_nn(C, A, B, M, N, K, accumulate);
}

static int cpu_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M)
{
    return iid__linear_w(y, x, W, b, M, SCRATCH(be));
}

static int cpu_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                      const iid_conv2d_shape_t *s)
{
    return iid__conv2d(out, in, w, b, s, SCRATCH(be));
}

static int cpu_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                         const iid_attn_shape_t *s)
{
    return iid__attention(out, q, k, v, s, SCRATCH(be));
}

static const iid_backend_i cpu_table = {
    IID_HOST_TABLE_ENTRIES,
    .supports_op = cpu_supports_op,
    .matmul_wt = cpu_matmul_wt,
    .matmul_wn = cpu_matmul_wn,
    .matmul_nt = cpu_matmul_nt,
    .matmul_nn = cpu_matmul_nn,
    .linear = cpu_linear,
    .conv2d = cpu_conv2d,
    .attention = cpu_attention,
};

const iid_backend_t iid__backend_cpu = {
    .name = "cpu",
    .description = "OpenBLAS GEMM, im2col convolution and tiled attention on the host threads",
    .host_memory = 1,
    .i = &cpu_table,
    .ctx = NULL,
};
