/*
 * cuda_ops.h - the "cuda" backend's entries (src/ops/cuda/, one .cu per op
 * family), declared for the C table in cuda_backend.c.
 *
 * Every entry has the backend table's signature (ops/backend.h) and C linkage.
 * Pointers are device memory unless the table names them host. Work is queued
 * on the backend's one stream; a failed launch or library call is recorded
 * (cuda_ctx.cuh) and reported by iid__cuda_synchronize, which the dispatcher
 * calls before every download.
 */
#ifndef IID_OPS_CUDA_CUDA_OPS_H
#define IID_OPS_CUDA_CUDA_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

#include "ops/backend.h"

/* ---- memory.cu: device, memory, weights ---- */
int iid__cuda_available(const iid_backend_t *be, char *why, size_t cap);
/* The first failure recorded since the process started ("" when none): which op
 * or call broke, for the tools that report a failed synchronize (bench, tests). */
const char *iid__cuda_first_error(void);
void *iid__cuda_alloc(const iid_backend_t *be, size_t bytes);
void iid__cuda_free(const iid_backend_t *be, void *p);
void iid__cuda_upload(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes);
void iid__cuda_download(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes);
void iid__cuda_copy(const iid_backend_t *be, void *dst, const void *src, size_t bytes);
void iid__cuda_fill(const iid_backend_t *be, float *dst, float value, int64_t n);
int iid__cuda_synchronize(const iid_backend_t *be);
int iid__cuda_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned);
void iid__cuda_release_weight(const iid_backend_t *be, void *owned);

/* ---- gemm.cu: cuBLASLt ---- */
int iid__cuda_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate);
int iid__cuda_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate);
void iid__cuda_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate);
void iid__cuda_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate);
int iid__cuda_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M);

/* ---- conv.cu, attention.cu ---- */
int iid__cuda_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                     const iid_conv2d_shape_t *s);
int iid__cuda_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                        const iid_attn_shape_t *s);

/* ---- norm.cu ---- */
void iid__cuda_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                          int64_t rows, int C, float eps);
void iid__cuda_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                          int C, int64_t HW, int G, float eps);
void iid__cuda_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                               int N, int C, int64_t HW, int G, float eps);
void iid__cuda_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                          const float *mean, const float *var, int N, int C, int64_t HW, float eps);

/* ---- elementwise.cu ---- */
void iid__cuda_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n);
void iid__cuda_scale(const iid_backend_t *be, float *x, float s, int64_t n);
void iid__cuda_add(const iid_backend_t *be, float *y, const float *x, int64_t n);
void iid__cuda_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n);
void iid__cuda_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n);
void iid__cuda_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw);
void iid__cuda_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                          const float *tile, int TH, int TW, int y0, int x0, const float *host_wy, const float *host_wx);
void iid__cuda_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw);
void iid__cuda_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                int bias_stride);
void iid__cuda_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B, int T,
                          int C);
void iid__cuda_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n);
void iid__cuda_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width);

/* ---- resample.cu: pooling and resizes ---- */
void iid__cuda_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
void iid__cuda_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
void iid__cuda_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W);
void iid__cuda_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                            int OW, iid_resize_mode_t mode, float sy, float sx);

/* ---- layout.cu: transposes, copies, gather, images ---- */
void iid__cuda_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B);
void iid__cuda_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                            int64_t nb, int64_t outer, int64_t inner);
void iid__cuda_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t len);
int iid__cuda_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n);
void iid__cuda_timestep_embedding(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                                  int flip_sin_to_cos, float shift);
void iid__cuda_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW, int stride,
                               int c0, int C, float div, float offset);

#ifdef __cplusplus
}
#endif

#endif
