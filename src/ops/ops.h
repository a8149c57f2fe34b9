/*
 * ops.h - the numerical operations the models are built from, on f32 buffers.
 *
 * These are the host kernels behind the "ref" and "cpu" backends (backend.h);
 * model code reaches them only through the backend table. Each op takes raw
 * pointers and explicit sizes (llm.c style); layouts are given as shape comments.
 * The plain loops live in ops/ref/ and are the definition of correct: those named
 * `_ref` have a fast twin of the same name without the suffix in ops/cpu/ (BLAS
 * GEMM, im2col, tiled attention); the others (element-wise, norms, layout) are
 * already as fast as a loop gets and both backends use them. Outputs never alias
 * inputs unless the op says "in place".
 *
 * Weights may stay in their stored dtype (iid_wmat_t: F32, F16 or BF16 bytes,
 * typically inside a memory-mapped checkpoint). The ops that take one convert it
 * to f32 a block of rows at a time (at most IID_WMAT_BLOCK_BYTES of f32 scratch
 * and IID_WMAT_BLOCK_ROWS rows) and run one GEMM per block; an aligned F32
 * matrix is used in place.
 */
#ifndef IID_OPS_OPS_H
#define IID_OPS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* ---- matrix products ---------------------------------------------------- */

/* C = A @ B^T (+ C when accumulate): A (M, K), B (N, K), C (M, N). The torch Linear
 * weight layout, so y = x W^T is iid__matmul_nt(y, x, W, ...). */
void iid__matmul_nt_ref(float *C, const float *A, const float *B, int M, int N, int K, int accumulate);
void iid__matmul_nt(float *C, const float *A, const float *B, int M, int N, int K, int accumulate);
/* C = A @ B: A (M, K), B (K, N), C (M, N). */
void iid__matmul_nn_ref(float *C, const float *A, const float *B, int M, int N, int K, int accumulate);
void iid__matmul_nn(float *C, const float *A, const float *B, int M, int N, int K, int accumulate);

/* Row-major C (M, N; ldc) = alpha A (M, K; lda) op(B) + beta C, op(B) = B (K, N; ldb)
 * for transb 'N' or B^T for B (N, K; ldb) with 'T': oneDNN's sgemm (cpu/gemm.c).
 * Called inside an OpenMP parallel region it runs on the calling thread. */
void iid__sgemm(char transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);

/* Where a fast kernel takes its scratch from: alloc(ctx, bytes) / free(ctx, p)
 * (the backend's memory, so a planned step allocator serves it too); a NULL
 * iid_scratch_t means malloc. */
typedef struct iid_scratch {
    void *(*alloc)(void *ctx, size_t bytes);
    void (*free)(void *ctx, void *p);
    void *ctx;
} iid_scratch_t;
void *iid__scratch_alloc(const iid_scratch_t *sc, size_t bytes);
void iid__scratch_free(const iid_scratch_t *sc, void *p);

/* y = x W^T + b: x (M, in), W (out, in), b (out) or NULL, y (M, out). */
void iid__linear(float *y, const float *x, const float *W, const float *b, int M, int in, int out);

/* A (rows, cols) weight matrix in its stored dtype (F32, F16 or BF16), C-order,
 * little-endian, possibly unaligned. Not owned. */
typedef struct iid_wmat {
    const void *data;
    iid_dtype_t dtype;
    int rows, cols;
    /* The binding backend's prepared form (the cpu backend: the weight reordered
     * for oneDNN, cpu/dnnl_weight.c), or NULL for a plain view. data stays the
     * plain view; a slice or copy of the view drops prep. */
    void *prep;
    /* data lies in a read-only file mapping (a checkpoint's), so a backend that
     * made its own copy may drop these pages from the process and leave them in
     * the page cache for the next one; 0: unknown (anonymous memory must keep
     * its contents). */
    int file_backed;
} iid_wmat_t;

#define IID_WMAT_BLOCK_BYTES ((size_t)32 << 20)
#define IID_WMAT_BLOCK_ROWS 1024

/* Rows [r0, r0 + nr) of W as f32: dst (nr, cols). */
void iid__wmat_rows_f32(float *dst, const iid_wmat_t *W, int r0, int nr);
/* The whole of W as a malloc'd f32 copy; NULL when out of memory. */
float *iid__wmat_to_f32(const iid_wmat_t *W);
/* The view of rows [r0, r0 + nr) of W. */
iid_wmat_t iid__wmat_slice(const iid_wmat_t *W, int r0, int nr);

/* C (M, W.rows) = A (M, W.cols) W^T (+ C when accumulate). The reference converts
 * the whole of W and uses iid__matmul_nt_ref. Return 0, or -1 when scratch cannot
 * be allocated (C untouched). _blocked takes the block size (tests) and where
 * the scratch comes from. */
int iid__matmul_wt_ref(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate);
int iid__matmul_wt(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate);
int iid__matmul_wt_blocked(float *C, const float *A, const iid_wmat_t *W, int M, int accumulate, size_t block_bytes,
                           const iid_scratch_t *sc);
/* C (W.rows, N) = W (W.rows, W.cols) B (W.cols, N) (+ C when accumulate). */
int iid__matmul_wn_ref(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate);
int iid__matmul_wn(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate);
int iid__matmul_wn_blocked(float *C, const iid_wmat_t *W, const float *B, int N, int accumulate, size_t block_bytes,
                           const iid_scratch_t *sc);
/* y (M, W.rows) = x (M, W.cols) W^T + b (b may be NULL). Returns 0 or -1 as above. */
int iid__linear_w(float *y, const float *x, const iid_wmat_t *W, const float *b, int M, const iid_scratch_t *sc);

/* ---- normalisation ------------------------------------------------------ */

/* Per row of length C: (x - mean) / sqrt(var + eps) * w + b. x, y (rows, C);
 * w, b (C) or NULL. y may equal x. */
void iid__layer_norm(float *y, const float *x, const float *w, const float *b, int64_t rows, int C, float eps);
/* x, y (N, C, HW); channels split into G groups of C/G; w, b (C) or NULL. y may equal x. */
void iid__group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                     float eps);

/* ---- element-wise (in place over n values) ------------------------------ */

void iid__silu(float *x, int64_t n);
void iid__gelu_erf(float *x, int64_t n);   /* exact GELU: x * Phi(x) */
void iid__gelu_tanh(float *x, int64_t n);  /* tanh approximation */
void iid__quick_gelu(float *x, int64_t n); /* x * sigmoid(1.702 x) */
void iid__relu(float *x, int64_t n);
void iid__sigmoid(float *x, int64_t n);
void iid__scale(float *x, float s, int64_t n);
/* y += x */
void iid__add(float *y, const float *x, int64_t n);
/* y = a + s * (b - a) (classifier-free guidance and friends). */
void iid__lerp_out(float *y, const float *a, const float *b, float s, int64_t n);
/* Softmax over each row of length n, in place. */
void iid__softmax_rows(float *x, int64_t rows, int n);

/* ---- attention ---------------------------------------------------------- */

/* Multi-head scaled dot-product attention.
 *   q: (B, Tq, H*D) with row stride q_stride floats (>= H*D)
 *   k, v: (B, Tk, H*D) with row stride kv_stride floats
 *   out: (B, Tq, H*D), contiguous
 * out = softmax(scale * q k^T [+ causal mask]) v per batch and head. A causal mask
 * lets query i see keys 0..i. */
typedef struct iid_attn_shape {
    int B, H, Tq, Tk, D;
    int q_stride, kv_stride;
    float scale;
    int causal;
} iid_attn_shape_t;

/* Returns 0, or -1 when its score row cannot be allocated. */
int iid__attention_ref(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s);
/* The same with the caller's score row (s->Tk floats): the ref backend's, from its alloc hook. */
void iid__attention_ref_rows(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                             float *scores);
/* Tiled over keys with an online softmax, so memory is O(tile) not O(Tq*Tk).
 * Returns 0, or -1 when its scratch cannot be allocated (out untouched). */
int iid__attention(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                   const iid_scratch_t *sc);

/* ---- convolution and resampling ----------------------------------------- */

typedef struct iid_conv2d_shape {
    int N, C, H, W;           /* input (N, C, H, W) */
    int K, R, S;              /* weight (K, C/groups, R, S) */
    int stride_h, stride_w;
    int pad_h, pad_w;         /* symmetric zero padding */
    int dil_h, dil_w;
    int groups;
} iid_conv2d_shape_t;

/* Output size along one axis. */
int iid__conv_out_size(int in, int k, int stride, int pad, int dil);
/* out (N, K, OH, OW) = conv(in, w) + b (b may be NULL). */
void iid__conv2d_ref(float *out, const float *in, const float *w, const float *b, const iid_conv2d_shape_t *s);
/* im2col + GEMM, the weight in its stored dtype: w (K, C/groups * R * S). Returns
 * 0, or -1 when scratch cannot be allocated. */
int iid__conv2d(float *out, const float *in, const iid_wmat_t *w, const float *b, const iid_conv2d_shape_t *s,
                const iid_scratch_t *sc);

/* Nearest-neighbour 2x: in (N, C, H, W) -> out (N, C, 2H, 2W). */
void iid__upsample_nearest2x(float *out, const float *in, int N, int C, int H, int W);

/* ---- pooling and per-channel affine ------------------------------------- */

typedef struct iid_pool2d_shape {
    int N, C, H, W;            /* input (N, C, H, W) */
    int kh, kw;
    int stride_h, stride_w;
    int pad_t, pad_l, pad_b, pad_r; /* implicit padding, never part of a max */
    int ceil_mode;             /* round the output size up (a last partial window) */
    int count_include_pad;     /* average: divide by kh*kw instead of the in-image count */
} iid_pool2d_shape_t;

/* Output size along one axis: floor or ceil of (in + pads - k) / stride + 1; in
 * ceil mode a last window that would start inside the end padding is dropped
 * (the PyTorch and ONNX rule). */
int iid__pool_out_size(int in, int k, int stride, int pad_begin, int pad_end, int ceil_mode);
/* out (N, C, OH, OW) = max over each window's in-image values. */
void iid__maxpool2d_ref(float *out, const float *in, const iid_pool2d_shape_t *s);
/* out (N, C, OH, OW) = mean over each window; without count_include_pad the
 * divisor is the number of in-image values the window covers. */
void iid__avgpool2d_ref(float *out, const float *in, const iid_pool2d_shape_t *s);

/* Inference batch normalisation: y = (x - mean) / sqrt(var + eps) * scale + bias
 * per channel. x, y (N, C, HW); scale, bias, mean, var (C). y may equal x. */
void iid__batch_norm_ref(float *y, const float *x, const float *scale, const float *bias, const float *mean,
                         const float *var, int N, int C, int64_t HW, float eps);

/* ---- model glue (ref/layout.c, ref/resample.c) -------------------------- */

/* Element-wise activations (backend.h's unary op). */
typedef enum iid_unary {
    IID_UNARY_SILU = 0,
    IID_UNARY_GELU_ERF,
    IID_UNARY_GELU_TANH,
    IID_UNARY_QUICK_GELU,
    IID_UNARY_RELU,
    IID_UNARY_SIGMOID,
    IID_UNARY_COUNT
} iid_unary_t;
void iid__unary_ref(iid_unary_t op, float *x, int64_t n);

/* y (M, width) = x[:, :width] * gelu_erf(x[:, width:]) for x (M, 2 width): diffusers' GEGLU. */
void iid__geglu_ref(float *y, const float *x, int64_t M, int width);
/* x (N, C, HW) += bias[n * bias_stride + c] (stride 0: one (C) bias; C: per image). */
void iid__add_channel_bias_ref(float *x, const float *bias, int N, int C, int64_t HW, int bias_stride);
/* y (B, T, C) += s * (x * mask[t]); mask (T), or NULL for 1. */
void iid__masked_add_ref(float *y, const float *x, const float *mask, float s, int B, int T, int C);
/* x (planes, hw) *= m (hw) per plane. */
void iid__mul_plane_ref(float *x, const float *m, int64_t planes, int64_t hw);
/* dst (N, B, A) = src (N, A, B) transposed per batch. */
void iid__permute021_ref(float *dst, const float *src, int N, int64_t A, int64_t B);
/* dst (outer, na + nb, inner) = concatenation of a (outer, na, inner) and b (outer, nb, inner). */
void iid__concat_axis1_ref(float *dst, const float *a, int64_t na, const float *b, int64_t nb, int64_t outer,
                           int64_t inner);
/* rows rows of len floats from src (row stride src_stride) to dst (row stride dst_stride). */
void iid__copy_rows_ref(float *dst, int64_t dst_stride, const float *src, int64_t src_stride, int64_t rows,
                        int64_t len);
/* out (n, table.cols) = rows ids[i] of table (widened to f32). Returns 0, or -1
 * when an id is outside [0, table.rows) (out then partly written). */
int iid__gather_rows_ref(float *out, const iid_wmat_t *table, const int32_t *ids, int n);
/* Sinusoidal timestep embedding of width dim for n timesteps t, in float32 as
 * diffusers computes it: freq_i = exp(-ln(10000) * i / (dim/2 - shift)),
 * [sin | cos] of t * freq, swapped to [cos | sin] when flip_sin_to_cos. emb (n, dim). */
void iid__timestep_embedding_ref(float *emb, const float *t, int n, int dim, int flip_sin_to_cos, float shift);
/* out (C, HW) = src[i * stride + c0 + c] / div + offset: interleaved u8 pixels to planar f32. */
void iid__image_u8_to_f32_ref(float *out, const uint8_t *src, int64_t HW, int stride, int c0, int C, float div,
                              float offset);

/* Tiled-decode blending. out (P, OH, OW) += wgt * tile (P, TH, TW) placed at
 * (y0, x0), with wgt = wy[y] * wx[x] (host arrays), and wsum (OH, OW) += wgt. */
void iid__blend_tile_ref(float *out, float *wsum, int64_t P, int OH, int OW, const float *tile, int TH, int TW, int y0,
                         int x0, const float *wy, const float *wx);
/* x (P, hw) /= d (hw) per plane. */
void iid__div_plane_ref(float *x, const float *d, int64_t planes, int64_t hw);
/* x /= s over n values (the VAE's latent unscaling: a division, as diffusers does). */
void iid__div_scalar_ref(float *x, float s, int64_t n);

/* Host conversions of a decoded picture (ref/image.c), on downloaded data:
 * out (B, H, W, C) = clamp(x / 2 + 0.5, 0, 1) of x (B, C, H, W), and
 * out = round-half-to-even(img * 255) over n values in [0, 1] (numpy's rule). */
void iid__image_to_float_nhwc(float *out, const float *x, int B, int C, int H, int W);
void iid__image_float_to_u8(uint8_t *out, const float *img, size_t n);

/* How resize_plane samples. */
typedef enum iid_resize_mode {
    IID_RESIZE_NEAREST = 0, /* torch 'nearest': source index floor(d * s) with s = 1 / scale_factor */
    IID_RESIZE_BILINEAR     /* torch 'bilinear', align_corners=False */
} iid_resize_mode_t;
/* out (P, OH, OW) = in (P, H, W) resized per plane. sy, sx: NEAREST's source step
 * per destination pixel (torch's 1 / scale_factor); BILINEAR ignores them. */
void iid__resize_plane_ref(float *out, const float *in, int64_t P, int H, int W, int OH, int OW,
                           iid_resize_mode_t mode, float sy, float sx);

#endif
