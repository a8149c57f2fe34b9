/*
 * op_profile_table.c - the profiling wrapper's backend table (op_profile.h):
 * each compute and memory-traffic entry calls the parent's entry with the
 * parent backend (so a step allocator beneath keeps its own ctx), timed, and
 * records the call with its shape and FLOPs; allocation, weight binding and the
 * device queries only forward.
 */
#include "ops/op_profile.h"

#define PROF(be) ((iid_op_profile_t *)(be)->ctx)
#define UP(be) (PROF(be)->parent)
/* Record the call begun at t0: op, dtype, FLOPs, then its dims (op_profile.c names them). */
#define STOP(be, t0, op, dtype, flops, ...) \
    iid__op_profile_stop(PROF(be), t0, op, dtype, flops, (const int64_t[IID_PROF_DIMS]){__VA_ARGS__})
#define F32 IID_DTYPE_F32

/* ---- forwarded untimed ---- */

static int pf_available(const iid_backend_t *be, char *why, size_t cap)
{
    return UP(be)->i->available ? UP(be)->i->available(UP(be), why, cap) : 1;
}
static void *pf_alloc(const iid_backend_t *be, size_t bytes) { return UP(be)->i->alloc(UP(be), bytes); }
static void pf_free(const iid_backend_t *be, void *p) { UP(be)->i->free(UP(be), p); }
static int pf_synchronize(const iid_backend_t *be) { return UP(be)->i->synchronize(UP(be)); }
static int pf_supports_op(const iid_backend_t *be, iid_op_t op) { return UP(be)->i->supports_op(UP(be), op); }
static int pf_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned)
{
    return UP(be)->i->bind_weight(UP(be), host, dev, owned);
}
static void pf_release_weight(const iid_backend_t *be, void *owned) { UP(be)->i->release_weight(UP(be), owned); }
static void pf_trim_weight(const iid_backend_t *be, void *owned) { UP(be)->i->trim_weight(UP(be), owned); }

/* ---- memory traffic ---- */

static void pf_upload(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->upload(UP(be), dst, host_src, bytes);
    STOP(be, t0, IID_PROF_UPLOAD, F32, 0.0, (int64_t)bytes);
}

static void pf_download(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->download(UP(be), host_dst, src, bytes);
    STOP(be, t0, IID_PROF_DOWNLOAD, F32, 0.0, (int64_t)bytes);
}

static void pf_copy(const iid_backend_t *be, void *dst, const void *src, size_t bytes)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->copy(UP(be), dst, src, bytes);
    STOP(be, t0, IID_PROF_COPY, F32, 0.0, (int64_t)bytes);
}

static void pf_fill(const iid_backend_t *be, float *dst, float value, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->fill(UP(be), dst, value, n);
    STOP(be, t0, IID_PROF_FILL, F32, 0.0, n);
}

/* ---- matrix products and convolution: the GEMM families ---- */

static double mnk(double M, double N, double K) { return 2.0 * M * N * K; }

static int pf_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->matmul_wt(UP(be), C, A, W, M, accumulate);
    STOP(be, t0, IID_PROF_MATMUL_WT, W->dtype, mnk(M, W->rows, W->cols), M, W->rows, W->cols);
    return rc;
}

static int pf_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->matmul_wn(UP(be), C, W, B, N, accumulate);
    STOP(be, t0, IID_PROF_MATMUL_WN, W->dtype, mnk(W->rows, N, W->cols), W->rows, N, W->cols);
    return rc;
}

static void pf_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->matmul_nt(UP(be), C, A, B, M, N, K, accumulate);
    STOP(be, t0, IID_PROF_MATMUL_NT, F32, mnk(M, N, K), M, N, K);
}

static void pf_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->matmul_nn(UP(be), C, A, B, M, N, K, accumulate);
    STOP(be, t0, IID_PROF_MATMUL_NN, F32, mnk(M, N, K), M, N, K);
}

static int pf_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->linear(UP(be), y, x, W, b, M);
    STOP(be, t0, IID_PROF_LINEAR, W->dtype, mnk(M, W->rows, W->cols), M, W->rows, W->cols);
    return rc;
}

static int pf_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                     const iid_conv2d_shape_t *s)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->conv2d(UP(be), out, in, w, b, s);
    double OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    double OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    double flops = 2.0 * s->N * s->K * OH * OW * (s->C / s->groups) * s->R * s->S;
    STOP(be, t0, IID_PROF_CONV2D, w->dtype, flops, s->N, s->C, s->H, s->W, s->K, s->R, s->S, s->stride_h, s->groups,
         s->dil_h);
    return rc;
}

/* ---- attention, normalisation ---- */

static int pf_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                        const iid_attn_shape_t *s)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->attention(UP(be), out, q, k, v, s);
    double flops = 4.0 * s->B * s->H * (double)s->Tq * s->Tk * s->D;
    STOP(be, t0, IID_PROF_ATTENTION, F32, flops, s->B, s->H, s->Tq, s->Tk, s->D);
    return rc;
}

static void pf_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                          int64_t rows, int C, float eps)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->layer_norm(UP(be), y, x, w, b, rows, C, eps);
    STOP(be, t0, IID_PROF_LAYER_NORM, F32, 0.0, rows, C);
}

static void pf_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                          int C, int64_t HW, int G, float eps)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->group_norm(UP(be), y, x, w, b, N, C, HW, G, eps);
    STOP(be, t0, IID_PROF_GROUP_NORM, F32, 0.0, N, C, HW, G);
}

static void pf_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                               int N, int C, int64_t HW, int G, float eps)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->group_norm_silu(UP(be), y, x, w, b, N, C, HW, G, eps);
    STOP(be, t0, IID_PROF_GROUP_NORM_SILU, F32, 0.0, N, C, HW, G);
}

static void pf_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                          const float *mean, const float *var, int N, int C, int64_t HW, float eps)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->batch_norm(UP(be), y, x, scale, bias, mean, var, N, C, HW, eps);
    STOP(be, t0, IID_PROF_BATCH_NORM, F32, 0.0, N, C, HW);
}

/* ---- element-wise ---- */

static void pf_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->unary(UP(be), op, x, n);
    STOP(be, t0, IID_PROF_UNARY, F32, 0.0, (int64_t)op, n);
}

static void pf_scale(const iid_backend_t *be, float *x, float s, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->scale(UP(be), x, s, n);
    STOP(be, t0, IID_PROF_SCALE, F32, 0.0, n);
}

static void pf_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->div_scalar(UP(be), x, s, n);
    STOP(be, t0, IID_PROF_DIV_SCALAR, F32, 0.0, n);
}

static void pf_add(const iid_backend_t *be, float *y, const float *x, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->add(UP(be), y, x, n);
    STOP(be, t0, IID_PROF_ADD, F32, 0.0, n);
}

static void pf_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->lerp(UP(be), y, a, b, s, n);
    STOP(be, t0, IID_PROF_LERP, F32, 0.0, n);
}

static void pf_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->div_plane(UP(be), x, d, planes, hw);
    STOP(be, t0, IID_PROF_DIV_PLANE, F32, 0.0, planes, hw);
}

static void pf_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                          const float *tile, int TH, int TW, int y0, int x0, const float *host_wy,
                          const float *host_wx)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->blend_tile(UP(be), out, wsum, P, OH, OW, tile, TH, TW, y0, x0, host_wy, host_wx);
    STOP(be, t0, IID_PROF_BLEND_TILE, F32, 0.0, P, OH, OW, TH, TW);
}

static void pf_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->mul_plane(UP(be), x, m, planes, hw);
    STOP(be, t0, IID_PROF_MUL_PLANE, F32, 0.0, planes, hw);
}

static void pf_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                int bias_stride)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->add_channel_bias(UP(be), x, bias, N, C, HW, bias_stride);
    STOP(be, t0, IID_PROF_ADD_CHANNEL_BIAS, F32, 0.0, N, C, HW);
}

static void pf_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B, int T,
                          int C)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->masked_add(UP(be), y, x, mask, s, B, T, C);
    STOP(be, t0, IID_PROF_MASKED_ADD, F32, 0.0, B, T, C);
}

static void pf_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->softmax_rows(UP(be), x, rows, n);
    STOP(be, t0, IID_PROF_SOFTMAX, F32, 0.0, rows, n);
}

static void pf_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->geglu(UP(be), y, x, M, width);
    STOP(be, t0, IID_PROF_GEGLU, F32, 0.0, M, width);
}

/* ---- pooling, resampling, layout, embedding ---- */

static void pf_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->maxpool2d(UP(be), out, in, s);
    STOP(be, t0, IID_PROF_MAXPOOL2D, F32, 0.0, s->N, s->C, s->H, s->W, s->kh, s->kw);
}

static void pf_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->avgpool2d(UP(be), out, in, s);
    STOP(be, t0, IID_PROF_AVGPOOL2D, F32, 0.0, s->N, s->C, s->H, s->W, s->kh, s->kw);
}

static void pf_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->upsample_nearest2x(UP(be), out, in, N, C, H, W);
    STOP(be, t0, IID_PROF_UPSAMPLE, F32, 0.0, N, C, H, W);
}

static void pf_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                            int OW, iid_resize_mode_t mode, float sy, float sx)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->resize_plane(UP(be), out, in, P, H, W, OH, OW, mode, sy, sx);
    STOP(be, t0, IID_PROF_RESIZE, F32, 0.0, P, H, W, OH, OW);
}

static void pf_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->permute021(UP(be), dst, src, N, A, B);
    STOP(be, t0, IID_PROF_PERMUTE021, F32, 0.0, N, A, B);
}

static void pf_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                            int64_t nb, int64_t outer, int64_t inner)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->concat_axis1(UP(be), dst, a, na, b, nb, outer, inner);
    STOP(be, t0, IID_PROF_CONCAT, F32, 0.0, outer, na, nb, inner);
}

static void pf_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t len)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->copy_rows(UP(be), dst, dst_stride, src, src_stride, rows, len);
    STOP(be, t0, IID_PROF_COPY_ROWS, F32, 0.0, rows, len);
}

static int pf_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n)
{
    double t0 = iid__op_profile_clock();
    int rc = UP(be)->i->gather_rows(UP(be), out, table, ids, n);
    STOP(be, t0, IID_PROF_GATHER_ROWS, table->dtype, 0.0, n, table->cols);
    return rc;
}

static void pf_timestep_embedding(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                                  int flip_sin_to_cos, float shift)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->timestep_embedding(UP(be), emb, host_t, n, dim, flip_sin_to_cos, shift);
    STOP(be, t0, IID_PROF_TIMESTEP_EMBEDDING, F32, 0.0, n, dim);
}

static void pf_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW, int stride,
                               int c0, int C, float div, float offset)
{
    double t0 = iid__op_profile_clock();
    UP(be)->i->image_u8_to_f32(UP(be), out, host_src, HW, stride, c0, C, div, offset);
    STOP(be, t0, IID_PROF_IMAGE_U8, F32, 0.0, HW, C);
}

const iid_backend_i iid__op_profile_table = {
    .available = pf_available,
    .alloc = pf_alloc,
    .free = pf_free,
    .upload = pf_upload,
    .download = pf_download,
    .copy = pf_copy,
    .fill = pf_fill,
    .synchronize = pf_synchronize,
    .supports_op = pf_supports_op,
    .bind_weight = pf_bind_weight,
    .release_weight = pf_release_weight,
    .trim_weight = pf_trim_weight,
    .matmul_wt = pf_matmul_wt,
    .matmul_wn = pf_matmul_wn,
    .matmul_nt = pf_matmul_nt,
    .matmul_nn = pf_matmul_nn,
    .linear = pf_linear,
    .conv2d = pf_conv2d,
    .attention = pf_attention,
    .layer_norm = pf_layer_norm,
    .group_norm = pf_group_norm,
    .group_norm_silu = pf_group_norm_silu,
    .batch_norm = pf_batch_norm,
    .unary = pf_unary,
    .scale = pf_scale,
    .div_scalar = pf_div_scalar,
    .add = pf_add,
    .lerp = pf_lerp,
    .div_plane = pf_div_plane,
    .blend_tile = pf_blend_tile,
    .mul_plane = pf_mul_plane,
    .add_channel_bias = pf_add_channel_bias,
    .masked_add = pf_masked_add,
    .softmax_rows = pf_softmax_rows,
    .geglu = pf_geglu,
    .maxpool2d = pf_maxpool2d,
    .avgpool2d = pf_avgpool2d,
    .upsample_nearest2x = pf_upsample_nearest2x,
    .resize_plane = pf_resize_plane,
    .permute021 = pf_permute021,
    .concat_axis1 = pf_concat_axis1,
    .copy_rows = pf_copy_rows,
    .gather_rows = pf_gather_rows,
    .timestep_embedding = pf_timestep_embedding,
    .image_u8_to_f32 = pf_image_u8_to_f32,
};
