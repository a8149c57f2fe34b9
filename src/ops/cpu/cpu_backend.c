/*
 * cpu_backend.c - the "cpu" backend on oneDNN: bound weights are prepared for
 * oneDNN's matmul and convolution primitives (reordered once into the blocked
 * layout and compute dtype, $IID_DTYPE, it picks for this CPU; dnnl_weight.h),
 * with the bias fused (in f32, a 16-bit matmul weight is widened per product
 * instead, below); products with an unbound matrix (attention, the ONNX
 * graphs, the Resampler) run on oneDNN's sgemm (gemm.c, im2col conv.c), and
 * attention is the tiled online-softmax kernel (attention.c; with bf16 weights its
 * products are bf16 too, attention_bf16.c); the norms and
 * GEGLU are vectorised for the CPU's widest instruction set (fast_ops.c, vec.h),
 * GroupNorm + SiLU in one pass. Every other op is the host loop it shares with
 * "ref" (host.h). All threads are OpenMP's.
 */
#include "ops/cpu/dnnl_weight.h"
#include "ops/cpu/fast_ops.h"
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

/* Every weight gets a oneDNN handle; the view stays usable by the plain paths. */
static int cpu_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned)
{
    *dev = *host;
    iid_dnnl_weight_t *w = iid__dnnl_weight_new(host, iid__compute_dtype_default());
    dev->prep = w;
    *owned = w;
    return w ? 0 : -1;
}

static void cpu_release_weight(const iid_backend_t *be, void *owned) { iid__dnnl_weight_free(owned); }
static void cpu_trim_weight(const iid_backend_t *be, void *owned) { iid__dnnl_weight_trim(owned); }

/* Computing in f32, a matmul weight stored in 16 bits is not copied whole to
 * f32: the plain path widens it a block of rows at a time in each product. Its
 * checkpoint pages stay the only copy, half the size of an f32 one (a full-size
 * step needs 9.2 instead of 16.6 GiB), and the products run within a few percent
 * of the prepared weight's rate (bench/RESULTS.md). Convolution weights, an
 * eighth of SDXL's, are still prepared: oneDNN's direct kernels beat im2col. */
static int widened_per_product(const iid_wmat_t *W)
{
    return W->dtype != IID_DTYPE_F32 && iid__dnnl_weight_info(W->prep).dtype == IID_DTYPE_F32;
}

/* The prepared path's result (0 or -1), or 1: run the plain one. */
static int prepared_matmul(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M,
                           const float *b, int accumulate)
{
    if (!W->prep || widened_per_product(W)) return 1;
    return iid__dnnl_matmul(W->prep, C, A, M, b, accumulate, SCRATCH(be));
}

static int cpu_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    int rc = prepared_matmul(be, C, A, W, M, NULL, accumulate);
    if (rc != 1) return rc;
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
    int rc = prepared_matmul(be, y, x, W, M, b, 0);
    if (rc != 1) return rc;
    return iid__linear_w(y, x, W, b, M, SCRATCH(be));
}

static int cpu_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                      const iid_conv2d_shape_t *s)
{
    int rc = w->prep ? iid__dnnl_conv2d(w->prep, out, in, b, s, SCRATCH(be)) : 1;
    if (rc != 1) return rc;
    return iid__conv2d(out, in, w, b, s, SCRATCH(be));
}

/* With bf16 weights the products of a self-attention are bf16 too (not the text
 * encoders' causal ones, nor cross-attention to a few dozen tokens: small, and
 * kept f32). */
static int cpu_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                         const iid_attn_shape_t *s)
{
    if (iid__compute_dtype_default() == IID_DTYPE_BF16) {
        int rc = iid__attention_bf16(out, q, k, v, s, SCRATCH(be));
        if (rc != 1) return rc;
    }
    return iid__attention(out, q, k, v, s, SCRATCH(be));
}

static void cpu_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                           int64_t rows, int C, float eps)
{
    iid__cpu_layer_norm(y, x, w, b, rows, C, eps);
}

static void cpu_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                           int C, int64_t HW, int G, float eps)
{
    iid__cpu_group_norm(y, x, w, b, N, C, HW, G, eps, 0);
}

static void cpu_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                                int N, int C, int64_t HW, int G, float eps)
{
    iid__cpu_group_norm(y, x, w, b, N, C, HW, G, eps, 1);
}

static void cpu_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width)
{
    iid__cpu_geglu(y, x, M, width);
}

static const iid_backend_i cpu_table = {
    IID_HOST_TABLE_ENTRIES,
    .supports_op = cpu_supports_op,
    .bind_weight = cpu_bind_weight,
    .release_weight = cpu_release_weight,
    .trim_weight = cpu_trim_weight,
    .matmul_wt = cpu_matmul_wt,
    .matmul_wn = cpu_matmul_wn,
    .matmul_nt = cpu_matmul_nt,
    .matmul_nn = cpu_matmul_nn,
    .linear = cpu_linear,
    .conv2d = cpu_conv2d,
    .attention = cpu_attention,
    .layer_norm = cpu_layer_norm,
    .group_norm = cpu_group_norm,
    .group_norm_silu = cpu_group_norm_silu,
    .geglu = cpu_geglu,
};

const iid_backend_t iid__backend_cpu = {
    .name = "cpu",
    .description = "oneDNN matmul and convolution (weights prepared once, f32 or bf16), tiled attention, vectorised norms; "
                   "OpenMP threads",
    .host_memory = 1,
    .i = &cpu_table,
    .ctx = NULL,
};
