/*
 * ref_backend.c - the "ref" backend: every op is the plain loop of ops/ref/, the
 * ground truth the other backends are tested against (tests/unit/test_backend_ops.c,
 * conformance --backend ref). Also defines the host entries the "cpu" backend
 * shares (host.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ref/host.h"

#define ALIGN 64

void *iid__host_alloc(const iid_backend_t *be, size_t bytes)
{
    size_t n = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    return aligned_alloc(ALIGN, n ? n : ALIGN);
}

void iid__host_free(const iid_backend_t *be, void *p) { free(p); }

void iid__host_memcpy(const iid_backend_t *be, void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src) memmove(dst, src, bytes);
}

void iid__host_fill(const iid_backend_t *be, float *dst, float value, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = value;
}

int iid__host_synchronize(const iid_backend_t *be) { return 0; }

/* The host backends read weights where they lie (the mapped checkpoint). */
int iid__host_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned)
{
    *dev = *host;
    *owned = NULL;
    return 0;
}

void iid__host_release_weight(const iid_backend_t *be, void *owned) { free(owned); }

/* The host binding is the view (or the one f32 copy it needs): nothing beyond it. */
void iid__host_trim_weight(const iid_backend_t *be, void *owned) {}

void iid__host_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                          int64_t rows, int C, float eps)
{
    iid__layer_norm(y, x, w, b, rows, C, eps);
}

void iid__host_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                          int C, int64_t HW, int G, float eps)
{
    iid__group_norm(y, x, w, b, N, C, HW, G, eps);
}

/* The definition: the two reference ops one after the other. */
void iid__host_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                               int N, int C, int64_t HW, int G, float eps)
{
    iid__group_norm(y, x, w, b, N, C, HW, G, eps);
    iid__silu(y, (int64_t)N * C * HW);
}

void iid__host_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                          const float *mean, const float *var, int N, int C, int64_t HW, float eps)
{
    iid__batch_norm_ref(y, x, scale, bias, mean, var, N, C, HW, eps);
}

void iid__host_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n) { iid__unary_ref(op, x, n); }
void iid__host_scale(const iid_backend_t *be, float *x, float s, int64_t n) { iid__scale(x, s, n); }
void iid__host_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n) { iid__div_scalar_ref(x, s, n); }
void iid__host_add(const iid_backend_t *be, float *y, const float *x, int64_t n) { iid__add(y, x, n); }

void iid__host_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n)
{
    iid__lerp_out(y, a, b, s, n);
}

void iid__host_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw)
{
    iid__div_plane_ref(x, d, planes, hw);
}

void iid__host_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                          const float *tile, int TH, int TW, int y0, int x0, const float *wy, const float *wx)
{
    iid__blend_tile_ref(out, wsum, P, OH, OW, tile, TH, TW, y0, x0, wy, wx);
}

void iid__host_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw)
{
    iid__mul_plane_ref(x, m, planes, hw);
}

void iid__host_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                int bias_stride)
{
    iid__add_channel_bias_ref(x, bias, N, C, HW, bias_stride);
}

void iid__host_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B,
                          int T, int C)
{
    iid__masked_add_ref(y, x, mask, s, B, T, C);
}

void iid__host_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n) { iid__softmax_rows(x, rows, n); }
void iid__host_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width) { iid__geglu_ref(y, x, M, width); }

void iid__host_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    iid__maxpool2d_ref(out, in, s);
}

void iid__host_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    iid__avgpool2d_ref(out, in, s);
}

void iid__host_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W)
{
    iid__upsample_nearest2x(out, in, N, C, H, W);
}

void iid__host_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                            int OW, iid_resize_mode_t mode, float sy, float sx)
{
    iid__resize_plane_ref(out, in, P, H, W, OH, OW, mode, sy, sx);
}

void iid__host_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B)
{
    iid__permute021_ref(dst, src, N, A, B);
}

void iid__host_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                            int64_t nb, int64_t outer, int64_t inner)
{
    iid__concat_axis1_ref(dst, a, na, b, nb, outer, inner);
}

void iid__host_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t len)
{
    iid__copy_rows_ref(dst, dst_stride, src, src_stride, rows, len);
}

int iid__host_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n)
{
    return iid__gather_rows_ref(out, table, ids, n);
}

void iid__host_timestep_embedding(const iid_backend_t *be, float *emb, const float *t, int n, int dim, int flip,
                                  float shift)
{
    iid__timestep_embedding_ref(emb, t, n, dim, flip, shift);
}

void iid__host_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *src, int64_t HW, int stride,
                               int c0, int C, float div, float offset)
{
    iid__image_u8_to_f32_ref(out, src, HW, stride, c0, C, div, offset);
}

/* ---- the reference-only entries ---- */

static int ref_supports_op(const iid_backend_t *be, iid_op_t op) { return op >= 0 && op < IID_OP_COUNT; }

/* The ref kernels' scratch (a weight widened to f32, a score row) comes from the
 * backend's alloc hook, as the cpu backend's does, so a step allocator plans it
 * and a replayed step allocates nothing. The results are those of the
 * iid__*_ref functions, which malloc the same scratch. */
static float *scratch_f32(const iid_backend_t *be, size_t n) { return be->i->alloc(be, (n ? n : 1) * sizeof(float)); }

static float *wmat_f32(const iid_backend_t *be, const iid_wmat_t *W)
{
    float *w = scratch_f32(be, (size_t)W->rows * W->cols);
    if (w) iid__wmat_rows_f32(w, W, 0, W->rows);
    return w;
}

static int ref_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    float *w = wmat_f32(be, W);
    if (!w) return -1;
    iid__matmul_nt_ref(C, A, w, M, W->rows, W->cols, accumulate);
    be->i->free(be, w);
    return 0;
}

static int ref_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    float *w = wmat_f32(be, W);
    if (!w) return -1;
    iid__matmul_nn_ref(C, w, B, W->rows, N, W->cols, accumulate);
    be->i->free(be, w);
    return 0;
}

static void ref_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                          int accumulate)
{
    iid__matmul_nt_ref(C, A, B, M, N, K, accumulate);
}

static void ref_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                          int accumulate)
{
    iid__matmul_nn_ref(C, A, B, M, N, K, accumulate);
}

static int ref_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M)
{
    if (b)
        for (int i = 0; i < M; i++) memcpy(y + (size_t)i * W->rows, b, (size_t)W->rows * sizeof *y);
    return ref_matmul_wt(be, y, x, W, M, b != NULL);
}

static int ref_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                      const iid_conv2d_shape_t *s)
{
    float *wf = wmat_f32(be, w);
    if (!wf) return -1;
    iid__conv2d_ref(out, in, wf, b, s);
    be->i->free(be, wf);
    return 0;
}

static int ref_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                         const iid_attn_shape_t *s)
{
    float *scores = scratch_f32(be, (size_t)s->Tk);
    if (!scores) return -1;
    iid__attention_ref_rows(out, q, k, v, s, scores);
    be->i->free(be, scores);
    return 0;
}

static const iid_backend_i ref_table = {
    IID_HOST_TABLE_ENTRIES,
    .bind_weight = iid__host_bind_weight,
    .release_weight = iid__host_release_weight,
    .trim_weight = iid__host_trim_weight,
    .supports_op = ref_supports_op,
    .matmul_wt = ref_matmul_wt,
    .matmul_wn = ref_matmul_wn,
    .matmul_nt = ref_matmul_nt,
    .matmul_nn = ref_matmul_nn,
    .linear = ref_linear,
    .conv2d = ref_conv2d,
    .attention = ref_attention,
    .layer_norm = iid__host_layer_norm,
    .group_norm = iid__host_group_norm,
    .group_norm_silu = iid__host_group_norm_silu,
    .geglu = iid__host_geglu,
};

const iid_backend_t iid__backend_ref = {
    .name = "ref",
    .description = "plain C loops, the reference every other backend is tested against (slow)",
    .host_memory = 1,
    .i = &ref_table,
    .ctx = NULL,
};
