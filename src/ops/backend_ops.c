/*
 * backend_ops.c - the dispatchers model code calls: each picks the table that
 * runs the op (the bound backend's, or the reference's when a host backend does
 * not support it; see backend.h) and turns the table's -1 into a status with a
 * message naming the op and the backend.
 */
#include "ops/backend.h"

/* The backend whose table runs op for be. */
static iid_status pick(const iid_backend_t *be, iid_op_t op, const char *what, const iid_backend_t **run,
                       iid_error_t *err)
{
    if (be->i->supports_op(be, op)) *run = be;
    else if (be->host_memory) *run = &iid__backend_ref;
    else return iid__fail(err, IID_ERR_UNSUPPORTED, "backend '%s' cannot run %s", be->name, what);
    return IID_OK;
}

static iid_status nomem(const iid_backend_t *be, const char *what, iid_error_t *err)
{
    return iid__fail(err, IID_ERR_NOMEM, "%s on backend '%s': out of scratch memory", what, be->name);
}

/* Dispatch a void op / an op returning 0 or -1. */
#define RUN_VOID(op, what, call)                      \
    const iid_backend_t *r = NULL;                    \
    IID_TRY(pick(be, op, what, &r, err));             \
    r->i->call;                                       \
    return IID_OK
#define RUN_INT(op, what, call)                       \
    const iid_backend_t *r = NULL;                    \
    IID_TRY(pick(be, op, what, &r, err));             \
    return r->i->call == 0 ? IID_OK : nomem(r, what, err)

void *iid__op_alloc(const iid_backend_t *be, size_t bytes) { return be->i->alloc(be, bytes); }
void iid__op_free(const iid_backend_t *be, void *p)
{
    if (p) be->i->free(be, p);
}
void iid__op_upload(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes)
{
    be->i->upload(be, dst, host_src, bytes);
}

iid_status iid__op_download(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes, iid_error_t *err)
{
    if (be->i->synchronize(be) != 0) return iid__fail(err, IID_ERR_IO, "backend '%s': a queued op failed", be->name);
    be->i->download(be, host_dst, src, bytes);
    return IID_OK;
}

void iid__op_copy(const iid_backend_t *be, void *dst, const void *src, size_t bytes) { be->i->copy(be, dst, src, bytes); }
void iid__op_fill(const iid_backend_t *be, float *dst, float value, int64_t n) { be->i->fill(be, dst, value, n); }

iid_status iid__op_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned,
                               iid_error_t *err)
{
    if (be->i->bind_weight(be, host, dev, owned) != 0)
        return iid__fail(err, IID_ERR_NOMEM, "backend '%s': cannot bind a (%d, %d) weight", be->name, host->rows,
                         host->cols);
    return IID_OK;
}

void iid__op_release_weight(const iid_backend_t *be, void *owned)
{
    if (owned) be->i->release_weight(be, owned);
}

void iid__op_trim_weight(const iid_backend_t *be, void *owned)
{
    if (owned) be->i->trim_weight(be, owned);
}

iid_status iid__op_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M,
                             int accumulate, iid_error_t *err)
{
    RUN_INT(IID_OP_MATMUL, "matmul", matmul_wt(r, C, A, W, M, accumulate));
}

iid_status iid__op_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N,
                             int accumulate, iid_error_t *err)
{
    RUN_INT(IID_OP_MATMUL, "matmul", matmul_wn(r, C, W, B, N, accumulate));
}

iid_status iid__op_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                             int accumulate, iid_error_t *err)
{
    RUN_VOID(IID_OP_MATMUL, "matmul", matmul_nt(r, C, A, B, M, N, K, accumulate));
}

iid_status iid__op_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                             int accumulate, iid_error_t *err)
{
    RUN_VOID(IID_OP_MATMUL, "matmul", matmul_nn(r, C, A, B, M, N, K, accumulate));
}

iid_status iid__op_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b,
                          int M, iid_error_t *err)
{
    RUN_INT(IID_OP_MATMUL, "linear", linear(r, y, x, W, b, M));
}

iid_status iid__op_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                          const iid_conv2d_shape_t *s, iid_error_t *err)
{
    RUN_INT(IID_OP_CONV2D, "conv2d", conv2d(r, out, in, w, b, s));
}

iid_status iid__op_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                             const iid_attn_shape_t *s, iid_error_t *err)
{
    RUN_INT(IID_OP_ATTENTION, "attention", attention(r, out, q, k, v, s));
}

iid_status iid__op_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                              int64_t rows, int C, float eps, iid_error_t *err)
{
    RUN_VOID(IID_OP_NORM, "layer_norm", layer_norm(r, y, x, w, b, rows, C, eps));
}

iid_status iid__op_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                              int C, int64_t HW, int G, float eps, iid_error_t *err)
{
    RUN_VOID(IID_OP_NORM, "group_norm", group_norm(r, y, x, w, b, N, C, HW, G, eps));
}

iid_status iid__op_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                                   int N, int C, int64_t HW, int G, float eps, iid_error_t *err)
{
    RUN_VOID(IID_OP_NORM, "group_norm_silu", group_norm_silu(r, y, x, w, b, N, C, HW, G, eps));
}

iid_status iid__op_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale,
                              const float *bias, const float *mean, const float *var, int N, int C, int64_t HW,
                              float eps, iid_error_t *err)
{
    RUN_VOID(IID_OP_NORM, "batch_norm", batch_norm(r, y, x, scale, bias, mean, var, N, C, HW, eps));
}

iid_status iid__op_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n, iid_error_t *err)
{
    RUN_VOID(IID_OP_UNARY, "an activation", unary(r, op, x, n));
}

iid_status iid__op_scale(const iid_backend_t *be, float *x, float s, int64_t n, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "scale", scale(r, x, s, n));
}

iid_status iid__op_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "div_scalar", div_scalar(r, x, s, n));
}

iid_status iid__op_add(const iid_backend_t *be, float *y, const float *x, int64_t n, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "add", add(r, y, x, n));
}

iid_status iid__op_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n,
                        iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "lerp", lerp(r, y, a, b, s, n));
}

iid_status iid__op_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw,
                             iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "mul_plane", mul_plane(r, x, m, planes, hw));
}

iid_status iid__op_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw,
                             iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "div_plane", div_plane(r, x, d, planes, hw));
}

iid_status iid__op_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                              const float *tile, int TH, int TW, int y0, int x0, const float *host_wy,
                              const float *host_wx, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "blend_tile", blend_tile(r, out, wsum, P, OH, OW, tile, TH, TW, y0, x0, host_wy, host_wx));
}

iid_status iid__op_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                    int bias_stride, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "add_channel_bias", add_channel_bias(r, x, bias, N, C, HW, bias_stride));
}

iid_status iid__op_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B,
                              int T, int C, iid_error_t *err)
{
    RUN_VOID(IID_OP_BINARY, "masked_add", masked_add(r, y, x, mask, s, B, T, C));
}

iid_status iid__op_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n, iid_error_t *err)
{
    RUN_VOID(IID_OP_SOFTMAX, "softmax", softmax_rows(r, x, rows, n));
}

iid_status iid__op_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width, iid_error_t *err)
{
    RUN_VOID(IID_OP_GEGLU, "geglu", geglu(r, y, x, M, width));
}

iid_status iid__op_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s,
                             iid_error_t *err)
{
    RUN_VOID(IID_OP_POOL, "maxpool2d", maxpool2d(r, out, in, s));
}

iid_status iid__op_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s,
                             iid_error_t *err)
{
    RUN_VOID(IID_OP_POOL, "avgpool2d", avgpool2d(r, out, in, s));
}

iid_status iid__op_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W,
                                      iid_error_t *err)
{
    RUN_VOID(IID_OP_RESAMPLE, "upsample", upsample_nearest2x(r, out, in, N, C, H, W));
}

iid_status iid__op_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                                int OW, iid_resize_mode_t mode, float sy, float sx, iid_error_t *err)
{
    RUN_VOID(IID_OP_RESAMPLE, "resize", resize_plane(r, out, in, P, H, W, OH, OW, mode, sy, sx));
}

iid_status iid__op_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B,
                              iid_error_t *err)
{
    RUN_VOID(IID_OP_LAYOUT, "permute", permute021(r, dst, src, N, A, B));
}

iid_status iid__op_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                                int64_t nb, int64_t outer, int64_t inner, iid_error_t *err)
{
    RUN_VOID(IID_OP_LAYOUT, "concat", concat_axis1(r, dst, a, na, b, nb, outer, inner));
}

iid_status iid__op_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                             int64_t src_stride, int64_t rows, int64_t len, iid_error_t *err)
{
    RUN_VOID(IID_OP_LAYOUT, "copy_rows", copy_rows(r, dst, dst_stride, src, src_stride, rows, len));
}

iid_status iid__op_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n,
                               iid_error_t *err)
{
    const iid_backend_t *r = NULL;
    IID_TRY(pick(be, IID_OP_EMBED, "gather", &r, err));
    if (r->i->gather_rows(r, out, table, ids, n) != 0)
        return iid__fail(err, IID_ERR_RANGE, "embedding lookup: an id is outside [0, %d)", table->rows);
    return IID_OK;
}

iid_status iid__op_timestep_embedding(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                                      int flip_sin_to_cos, float shift, iid_error_t *err)
{
    RUN_VOID(IID_OP_EMBED, "timestep embedding", timestep_embedding(r, emb, host_t, n, dim, flip_sin_to_cos, shift));
}

iid_status iid__op_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW,
                                   int stride, int c0, int C, float div, float offset, iid_error_t *err)
{
    RUN_VOID(IID_OP_IMAGE_U8, "image conversion", image_u8_to_f32(r, out, host_src, HW, stride, c0, C, div, offset));
}
