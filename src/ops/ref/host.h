/*
 * host.h - the backend-table entries shared by the two host backends ("ref" and
 * "cpu"): memory is malloc'd host memory, uploads and downloads are memcpy,
 * weights stay where they are (memory-mapped pages), and every op without a fast
 * CPU twin is the reference loop. Defined in ref_backend.c; cpu_backend.c has
 * its own GEMM, convolution, attention, norm and GEGLU entries and binds weights
 * its own way (so those are not among the shared entries).
 */
#ifndef IID_OPS_REF_HOST_H
#define IID_OPS_REF_HOST_H

#include "ops/backend.h"

void *iid__host_alloc(const iid_backend_t *be, size_t bytes);
void iid__host_free(const iid_backend_t *be, void *p);
void iid__host_memcpy(const iid_backend_t *be, void *dst, const void *src, size_t bytes);
void iid__host_fill(const iid_backend_t *be, float *dst, float value, int64_t n);
int iid__host_synchronize(const iid_backend_t *be);
int iid__host_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned);
void iid__host_release_weight(const iid_backend_t *be, void *owned);
void iid__host_trim_weight(const iid_backend_t *be, void *owned);

void iid__host_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                          int64_t rows, int C, float eps);
void iid__host_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                          int C, int64_t HW, int G, float eps);
void iid__host_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                               int N, int C, int64_t HW, int G, float eps);
void iid__host_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                          const float *mean, const float *var, int N, int C, int64_t HW, float eps);
void iid__host_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n);
void iid__host_scale(const iid_backend_t *be, float *x, float s, int64_t n);
void iid__host_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n);
void iid__host_add(const iid_backend_t *be, float *y, const float *x, int64_t n);
void iid__host_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n);
void iid__host_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw);
void iid__host_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                          const float *tile, int TH, int TW, int y0, int x0, const float *wy, const float *wx);
void iid__host_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw);
void iid__host_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                int bias_stride);
void iid__host_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B,
                          int T, int C);
void iid__host_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n);
void iid__host_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width);
void iid__host_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
void iid__host_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s);
void iid__host_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W);
void iid__host_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                            int OW, iid_resize_mode_t mode, float sy, float sx);
void iid__host_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B);
void iid__host_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                            int64_t nb, int64_t outer, int64_t inner);
void iid__host_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t len);
int iid__host_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n);
void iid__host_timestep_embedding(const iid_backend_t *be, float *emb, const float *t, int n, int dim, int flip,
                                  float shift);
void iid__host_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *src, int64_t HW, int stride,
                               int c0, int C, float div, float offset);

/* The designated initialisers both host tables share (the norms and GEGLU are
 * not among them: the cpu backend has its own). */
#define IID_HOST_TABLE_ENTRIES                                 \
    .alloc = iid__host_alloc, .free = iid__host_free,           \
    .upload = iid__host_memcpy, .download = iid__host_memcpy,   \
    .copy = iid__host_memcpy, .fill = iid__host_fill,           \
    .synchronize = iid__host_synchronize,                       \
    .batch_norm = iid__host_batch_norm, .unary = iid__host_unary, \
    .scale = iid__host_scale, .add = iid__host_add,             \
    .div_scalar = iid__host_div_scalar,                         \
    .lerp = iid__host_lerp, .mul_plane = iid__host_mul_plane,   \
    .div_plane = iid__host_div_plane,                           \
    .blend_tile = iid__host_blend_tile,                         \
    .add_channel_bias = iid__host_add_channel_bias,             \
    .masked_add = iid__host_masked_add,                         \
    .softmax_rows = iid__host_softmax_rows,                     \
    .maxpool2d = iid__host_maxpool2d, \
    .avgpool2d = iid__host_avgpool2d,                           \
    .upsample_nearest2x = iid__host_upsample_nearest2x,         \
    .resize_plane = iid__host_resize_plane,                     \
    .permute021 = iid__host_permute021,                         \
    .concat_axis1 = iid__host_concat_axis1,                     \
    .copy_rows = iid__host_copy_rows,                           \
    .gather_rows = iid__host_gather_rows,                       \
    .timestep_embedding = iid__host_timestep_embedding,         \
    .image_u8_to_f32 = iid__host_image_u8_to_f32

#endif
