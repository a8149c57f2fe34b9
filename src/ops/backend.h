/*
 * backend.h - compute backends: one table of function pointers per device.
 *
 * Design (after ggml's ggml_backend_i and llm.c's CPU/CUDA twins):
 *
 *   - A backend is a const table (iid_backend_i) plus its name. Model code never
 *     calls a kernel directly: it calls the iid__op_*() dispatchers below with the
 *     backend its model was bound to, and they call the table. Backends compiled
 *     in: "ref" (src/ops/ref/: plain loops, the definition of correct) and "cpu"
 *     (src/ops/cpu/: oneDNN matmul and convolution, tiled attention, vectorised
 *     norms and GEGLU; every other op is the ref loop, which is already parallel
 *     where it pays); with
 *     -DIID_CUDA=ON also "cuda" (src/ops/cuda/, one .cu per op family), listed
 *     only where its device answers (available()). Another backend is one more
 *     table and one more line in backend.c's registry.
 *
 *   - Memory. Activations live in backend memory: iid__tensor_alloc_on() /
 *     iid__tensor_release() (over iid__op_alloc / iid__op_free, or a step
 *     allocator's planned block, below). Such a tensor is core/tensor.h's
 *     iid_tensor_t with be set: the project's one tensor type (the ONNX
 *     executor's host tensors are the same struct with be NULL). It bundles a
 *     DEVICE pointer with its backend, dtype and shape; the models take and
 *     return activations as these tensors at their function boundaries (the
 *     forward functions and the blocks, models/blocks.h), a sub-batch being a
 *     view (iid__tensor_slice), never a copy. The ops below, the backend layer,
 *     take the device pointers themselves, the llm.c way: model code passes
 *     t.data and may offset it (x + b * n) but never reads or writes through it.
 *     Host data enters and leaves through upload / download (for the host
 *     backends a memcpy). The pipeline (pipeline/instantid.c) keeps the models'
 *     inputs and outputs in backend memory: the conditioning is uploaded or made
 *     there once per generation; the scheduler runs on the host, so each step
 *     uploads the model input and downloads the guided noise prediction (0.75 MB
 *     a step at 1024x1024; on a host backend the host side is the backend buffer
 *     and nothing is copied); the VAE's image is downloaded once.
 *
 *   - Weights. iid_wmat_t (ops.h) is a weight matrix in its stored dtype. At load
 *     a model binds each weight matrix with bind_weight (models/blocks.c): the
 *     host backends keep the memory-mapped checkpoint pages as they are (no
 *     copy); a device backend uploads (and may convert or re-lay-out) and
 *     releases with release_weight. Small f32 parameters (biases, norm
 *     parameters, CLIP's position table, the Resampler's latents and f32
 *     matrices) are bound once at load by iid__param_load (models/blocks.h):
 *     the host copy itself on a host backend, alloc + upload on a device one,
 *     released with the model. No table entry is needed for that.
 *
 *   - A step's memory. ops/step_alloc.h wraps a backend so that a denoising
 *     step's allocations (activations and the kernels' scratch, which the ref
 *     and cpu backends take through their own alloc hook) come from one planned
 *     block; a replayed step allocates nothing, on the backend or the host heap
 *     (tests/unit/test_step_alloc.c counts both).
 *
 *   - supports_op. A backend says which op families it implements natively. The
 *     dispatchers run an op the backend does not support with the ref kernel
 *     when the backend's memory is host memory (host_memory != 0), and fail with
 *     IID_ERR_UNSUPPORTED otherwise, so a partial device backend is usable
 *     op by op while it is written.
 *
 *   - Errors. Ops that allocate scratch return 0 or -1 (out of memory). The
 *     element-wise and normalisation ops cannot fail on a host backend and
 *     return nothing; a device backend records a launch failure and reports it
 *     from synchronize(), which the dispatcher calls before every download.
 *
 * Shapes are given as comments; all activations are f32, C-order.
 */
#ifndef IID_OPS_BACKEND_H
#define IID_OPS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "ops/ops.h"

/* The op families a backend may implement (supports_op's argument). */
typedef enum iid_op {
    IID_OP_MATMUL = 0,  /* matmul_wt, matmul_wn, matmul_nt, matmul_nn, linear */
    IID_OP_CONV2D,
    IID_OP_ATTENTION,
    IID_OP_NORM,        /* layer_norm, group_norm, group_norm_silu, batch_norm */
    IID_OP_UNARY,       /* silu, gelu, ... */
    IID_OP_BINARY,      /* add, scale, div_scalar, lerp, mul_plane, div_plane, blend_tile, add_channel_bias,
                           masked_add */
    IID_OP_SOFTMAX,
    IID_OP_POOL,        /* maxpool2d, avgpool2d */
    IID_OP_RESAMPLE,    /* upsample_nearest2x, resize_plane */
    IID_OP_GEGLU,
    IID_OP_LAYOUT,      /* permute021, concat_axis1, copy_strided */
    IID_OP_EMBED,       /* gather_rows, timestep_embedding */
    IID_OP_IMAGE_U8,    /* image_u8_to_f32 */
    IID_OP_COUNT
} iid_op_t;

typedef struct iid_backend iid_backend_t;

/* The table. Every entry takes the backend first (a device backend keeps its
 * streams and handles behind ctx). Pointers named in the comments as "device"
 * are memory of this backend; "host" ones are ordinary memory. */
typedef struct iid_backend_i {
    /* ---- device ---- */
    /* 1 when the backend can run here; else 0 and a one-line reason in why.
     * NULL: always (the host backends). */
    int (*available)(const iid_backend_t *be, char *why, size_t cap);

    /* ---- memory ---- */
    void *(*alloc)(const iid_backend_t *be, size_t bytes); /* 64-byte aligned; NULL when exhausted */
    void (*free)(const iid_backend_t *be, void *p);        /* NULL is a no-op */
    void (*upload)(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes);
    void (*download)(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes);
    void (*copy)(const iid_backend_t *be, void *dst, const void *src, size_t bytes);
    void (*fill)(const iid_backend_t *be, float *dst, float value, int64_t n);
    int (*synchronize)(const iid_backend_t *be); /* 0, or -1 when queued work failed */
    int (*supports_op)(const iid_backend_t *be, iid_op_t op);

    /* ---- weights, once at load ---- */
    /* dev = the backend's form of host (a view of the mapped pages on the host
     * backends); *owned receives what release_weight must free, or NULL. */
    int (*bind_weight)(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned);
    void (*release_weight)(const iid_backend_t *be, void *owned);
    /* Free what the backend made from the weight beyond the binding itself (the
     * cpu backend's prepared copy), keeping the binding usable: the next use
     * makes it again. A no-op where the binding is all there is. */
    void (*trim_weight)(const iid_backend_t *be, void *owned);

    /* ---- matrix products (gemm.c) ---- */
    int (*matmul_wt)(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate);
    int (*matmul_wn)(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate);
    void (*matmul_nt)(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                      int accumulate);
    void (*matmul_nn)(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                      int accumulate);
    int (*linear)(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M);

    /* ---- convolution, attention ---- */
    int (*conv2d)(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                  const iid_conv2d_shape_t *s);
    int (*attention)(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                     const iid_attn_shape_t *s);

    /* ---- normalisation ---- */
    void (*layer_norm)(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int64_t rows,
                       int C, float eps);
    void (*group_norm)(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N, int C,
                       int64_t HW, int G, float eps);
    /* SiLU(group_norm(x)) in one pass (the ResNet blocks' norm then activation). */
    void (*group_norm_silu)(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                            int C, int64_t HW, int G, float eps);
    void (*batch_norm)(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                       const float *mean, const float *var, int N, int C, int64_t HW, float eps);

    /* ---- element-wise ---- */
    void (*unary)(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n); /* in place */
    void (*scale)(const iid_backend_t *be, float *x, float s, int64_t n);
    void (*div_scalar)(const iid_backend_t *be, float *x, float s, int64_t n); /* x /= s */
    void (*add)(const iid_backend_t *be, float *y, const float *x, int64_t n); /* y += x */
    /* y = a + s * (b - a): classifier-free guidance (a uncond, b cond). y may be a or b. */
    void (*lerp)(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n);
    /* x (planes, hw) /= d (hw), each plane. */
    void (*div_plane)(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw);
    /* The tiled decode's blend (ops.h, iid__blend_tile_ref); wy, wx are host arrays. */
    void (*blend_tile)(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW, const float *tile,
                       int TH, int TW, int y0, int x0, const float *host_wy, const float *host_wx);
    /* x (planes, hw) *= m (hw), each plane. */
    void (*mul_plane)(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw);
    /* x (N, C, HW) += bias[n * bias_stride + c]: a (C) bias with stride 0, a per-image (N, C) one with C. */
    void (*add_channel_bias)(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                             int bias_stride);
    /* y (B, T, C) += s * mask[t] * x (B, T, C); mask (T) or NULL for 1. */
    void (*masked_add)(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B, int T,
                       int C);
    void (*softmax_rows)(const iid_backend_t *be, float *x, int64_t rows, int n);
    /* y (M, width) = x[:, :width] * gelu_erf(x[:, width:]): x (M, 2 width), diffusers' GEGLU. */
    void (*geglu)(const iid_backend_t *be, float *y, const float *x, int64_t M, int width);

    /* ---- pooling and resampling ---- */
    void (*maxpool2d)(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
    void (*avgpool2d)(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
    void (*upsample_nearest2x)(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W);
    /* out (P, OH, OW) = in (P, H, W) resampled per plane; for NEAREST, sy/sx are the
     * source-per-destination scales (torch's 1/scale_factor), else ignored. */
    void (*resize_plane)(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH, int OW,
                         iid_resize_mode_t mode, float sy, float sx);

    /* ---- layout ---- */
    /* dst (N, B, A) = src (N, A, B): NCHW <-> tokens with A = C, B = HW and back. */
    void (*permute021)(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B);
    /* dst (outer, na + nb, inner) = [a (outer, na, inner) | b (outer, nb, inner)] */
    void (*concat_axis1)(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b, int64_t nb,
                         int64_t outer, int64_t inner);
    /* rows rows of len floats: dst + r * dst_stride = src + r * src_stride */
    void (*copy_rows)(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                      int64_t rows, int64_t len);
    /* out (n, dim) = table rows ids[i] (host int32 ids, each in [0, rows)): embedding lookup. */
    int (*gather_rows)(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n);
    /* emb (n, dim) = the sinusoidal embedding of n host timesteps (ops.h). */
    void (*timestep_embedding)(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                               int flip_sin_to_cos, float shift);
    /* out (C, HW) planar f32 = host u8 (HW, stride) interleaved channels [c0, c0 + C) / div + offset. */
    void (*image_u8_to_f32)(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW, int stride,
                            int c0, int C, float div, float offset);
} iid_backend_i;

struct iid_backend {
    const char *name;        /* "ref", "cpu", ... as --backend spells it */
    const char *description; /* one line for `instantid info` */
    int host_memory;         /* device pointers are host pointers */
    const iid_backend_i *i;
    void *ctx;               /* backend state (streams, handles); NULL for the host backends */
};

/* ---- registry (backend.c) ---- */

/* The backends compiled in and available on this machine (a device backend
 * without its device is left out), in preference order; NULL past the end. */
const iid_backend_t *iid__backend_at(int i);
/* An available backend by name ("device" aliases are not handled here); NULL
 * when unknown, not compiled in or without its device. */
const iid_backend_t *iid__backend_find(const char *name);
/* The backend models bind to at load: the one $IID_BACKEND names (the CLI's
 * --backend and the conformance runner's set it, after checking the name), else
 * the first compiled in. An unknown $IID_BACKEND is ignored here. */
#define IID_BACKEND_ENV "IID_BACKEND"
const iid_backend_t *iid__backend_default(void);
/* The first compiled in (what iid__backend_default gives without $IID_BACKEND). */
const iid_backend_t *iid__backend_preferred(void);
/* iid__backend_find with a one-line message on failure: the device backend's
 * reason when it is compiled in but cannot run here (IID_ERR_UNSUPPORTED), "not
 * compiled in" for a known backend this build lacks (IID_ERR_UNSUPPORTED), else
 * the list of names (IID_ERR_INVALID). */
iid_status iid__backend_lookup(const char *name, const iid_backend_t **out, iid_error_t *err);

/* ---- compute dtype (compute_dtype.c) ---- */

/* The dtype the GEMMs and convolutions of backends that offer a choice (cpu)
 * compute in, set at load like $IID_BACKEND: the CLI's --dtype and the
 * conformance runner's set $IID_DTYPE ("f32" or "bf16") after choosing. */
#define IID_DTYPE_ENV "IID_DTYPE"
typedef struct iid_compute_dtype {
    iid_dtype_t dtype;  /* IID_DTYPE_F32 or IID_DTYPE_BF16 */
    char why[160];      /* e.g. "bf16 (--dtype auto: the CPU has AVX512_BF16)" */
} iid_compute_dtype_t;
/* name: "f32", "bf16", "auto" or NULL (f32). bf16 fails where oneDNN cannot run it. */
iid_status iid__compute_dtype_choose(const char *name, iid_compute_dtype_t *out, iid_error_t *err);
/* What $IID_DTYPE asks for (f32 when unset, unknown or unsupported). */
iid_dtype_t iid__compute_dtype_default(void);
/* oneDNN runs bf16 on this CPU (natively or emulated). */
int iid__bf16_supported(void);

/* ---- tensors in backend memory (core/tensor.h's iid_tensor_t with be set) ---- */

/* Allocate an uninitialised tensor of the given shape in be's memory; it owns
 * the data. err may be NULL (callers that word their own out-of-memory message). */
iid_status iid__tensor_alloc_on(iid_tensor_t *t, const iid_backend_t *be, iid_dtype_t dt, int ndim,
                                const int64_t *shape, iid_error_t *err);
/* Free owned data where it lives (through t->be, or free() for host memory) and
 * zero; views and zeroed tensors are a no-op. */
void iid__tensor_release(iid_tensor_t *t);
/* host -> t and t -> host, whole tensor; t in backend memory. */
void iid__tensor_upload(iid_tensor_t *t, const void *host);
iid_status iid__tensor_download(const iid_tensor_t *t, void *host, iid_error_t *err);

/* ---- dispatch (backend_ops.c): what model code calls ---- */

void *iid__op_alloc(const iid_backend_t *be, size_t bytes);
void iid__op_free(const iid_backend_t *be, void *p);
void iid__op_upload(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes);
/* Synchronises first; fails when queued work failed. */
iid_status iid__op_download(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes, iid_error_t *err);
void iid__op_copy(const iid_backend_t *be, void *dst, const void *src, size_t bytes);
void iid__op_fill(const iid_backend_t *be, float *dst, float value, int64_t n);

iid_status iid__op_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned,
                               iid_error_t *err);
void iid__op_release_weight(const iid_backend_t *be, void *owned);
/* The table's trim_weight; NULL owned is a no-op. */
void iid__op_trim_weight(const iid_backend_t *be, void *owned);

/* The ops; each fails with IID_ERR_NOMEM (scratch) or IID_ERR_UNSUPPORTED (see top). */
iid_status iid__op_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M,
                             int accumulate, iid_error_t *err);
iid_status iid__op_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N,
                             int accumulate, iid_error_t *err);
iid_status iid__op_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                             int accumulate, iid_error_t *err);
iid_status iid__op_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                             int accumulate, iid_error_t *err);
iid_status iid__op_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b,
                          int M, iid_error_t *err);
iid_status iid__op_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                          const iid_conv2d_shape_t *s, iid_error_t *err);
iid_status iid__op_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                             const iid_attn_shape_t *s, iid_error_t *err);
iid_status iid__op_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                              int64_t rows, int C, float eps, iid_error_t *err);
iid_status iid__op_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                              int C, int64_t HW, int G, float eps, iid_error_t *err);
iid_status iid__op_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                                   int N, int C, int64_t HW, int G, float eps, iid_error_t *err);
iid_status iid__op_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale,
                              const float *bias, const float *mean, const float *var, int N, int C, int64_t HW,
                              float eps, iid_error_t *err);
iid_status iid__op_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n, iid_error_t *err);
iid_status iid__op_scale(const iid_backend_t *be, float *x, float s, int64_t n, iid_error_t *err);
iid_status iid__op_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n, iid_error_t *err);
iid_status iid__op_add(const iid_backend_t *be, float *y, const float *x, int64_t n, iid_error_t *err);
iid_status iid__op_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n,
                        iid_error_t *err);
iid_status iid__op_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw,
                             iid_error_t *err);
iid_status iid__op_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw,
                             iid_error_t *err);
iid_status iid__op_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                              const float *tile, int TH, int TW, int y0, int x0, const float *host_wy,
                              const float *host_wx, iid_error_t *err);
iid_status iid__op_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                    int bias_stride, iid_error_t *err);
iid_status iid__op_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B,
                              int T, int C, iid_error_t *err);
iid_status iid__op_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n, iid_error_t *err);
iid_status iid__op_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width, iid_error_t *err);
iid_status iid__op_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s,
                             iid_error_t *err);
iid_status iid__op_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s,
                             iid_error_t *err);
iid_status iid__op_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W,
                                      iid_error_t *err);
iid_status iid__op_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                                int OW, iid_resize_mode_t mode, float sy, float sx, iid_error_t *err);
iid_status iid__op_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B,
                              iid_error_t *err);
iid_status iid__op_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                                int64_t nb, int64_t outer, int64_t inner, iid_error_t *err);
iid_status iid__op_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                             int64_t src_stride, int64_t rows, int64_t len, iid_error_t *err);
iid_status iid__op_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n,
                               iid_error_t *err);
iid_status iid__op_timestep_embedding(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                                      int flip_sin_to_cos, float shift, iid_error_t *err);
iid_status iid__op_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW,
                                   int stride, int c0, int C, float div, float offset, iid_error_t *err);

/* The two host backends' tables (ref/ref_backend.c, cpu/cpu_backend.c). */
extern const iid_backend_t iid__backend_ref;
extern const iid_backend_t iid__backend_cpu;
#ifdef IID_CUDA
extern const iid_backend_t iid__backend_cuda; /* cuda/cuda_backend.c */
#endif

#endif
