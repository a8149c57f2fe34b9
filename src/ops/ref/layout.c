/*
 * layout.c - the glue between layers that used to be loops inside the models:
 * GEGLU, broadcast adds and products, the masked IP-Adapter accumulation, layout
 * changes (transpose, concatenation, strided row copies), embedding lookup and
 * u8 image conversion. Plain loops; the expressions keep the models' former
 * evaluation order so results are bit-identical to before.
 */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

/* Below this many values a parallel region costs more than it saves (elementwise.c). */
#define PAR_MIN 65536

void iid__unary_ref(iid_unary_t op, float *x, int64_t n)
{
    switch (op) {
    case IID_UNARY_SILU: iid__silu(x, n); break;
    case IID_UNARY_GELU_ERF: iid__gelu_erf(x, n); break;
    case IID_UNARY_GELU_TANH: iid__gelu_tanh(x, n); break;
    case IID_UNARY_QUICK_GELU: iid__quick_gelu(x, n); break;
    case IID_UNARY_RELU: iid__relu(x, n); break;
    case IID_UNARY_SIGMOID: iid__sigmoid(x, n); break;
    default: break;
    }
}

void iid__geglu_ref(float *y, const float *x, int64_t M, int width)
{
#pragma omp parallel for schedule(static) if (M * width >= PAR_MIN)
    for (int64_t r = 0; r < M; r++) {
        const float *hid = x + r * 2 * width, *gate = hid + width;
        float *yr = y + r * width;
        for (int i = 0; i < width; i++) {
            float g = gate[i];
            g = 0.5f * g * (1.0f + erff(g * 0.70710678118654752f));
            yr[i] = hid[i] * g;
        }
    }
}

void iid__add_channel_bias_ref(float *x, const float *bias, int N, int C, int64_t HW, int bias_stride)
{
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)N * C * HW >= PAR_MIN)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float v = bias[(size_t)n * bias_stride + c];
            float *p = x + ((size_t)n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) p[i] += v;
        }
}

void iid__blend_tile_ref(float *out, float *wsum, int64_t P, int OH, int OW, const float *tile, int TH, int TW, int y0,
                         int x0, const float *wy, const float *wx)
{
    for (int y = 0; y < TH; y++)
        for (int x = 0; x < TW; x++) {
            float wgt = wy[y] * wx[x];
            size_t o = (size_t)(y0 + y) * OW + x0 + x;
            wsum[o] += wgt;
            for (int64_t p = 0; p < P; p++) out[(size_t)p * OH * OW + o] += wgt * tile[((size_t)p * TH + y) * TW + x];
        }
}

void iid__div_plane_ref(float *x, const float *d, int64_t planes, int64_t hw)
{
#pragma omp parallel for schedule(static) if (planes * hw >= PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t q = 0; q < hw; q++) x[p * hw + q] /= d[q];
}

void iid__div_scalar_ref(float *x, float s, int64_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / s;
}

void iid__masked_add_ref(float *y, const float *x, const float *mask, float s, int B, int T, int C)
{
    int64_t rows = (int64_t)B * T;
#pragma omp parallel for schedule(static) if (rows * C >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float mk = mask ? mask[r % T] : 1.0f;
        float *dst = y + r * C;
        const float *src = x + r * C;
        for (int c = 0; c < C; c++) dst[c] += s * (src[c] * mk);
    }
}

void iid__mul_plane_ref(float *x, const float *m, int64_t planes, int64_t hw)
{
#pragma omp parallel for schedule(static) if (planes * hw >= PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t q = 0; q < hw; q++) x[p * hw + q] *= m[q];
}

void iid__permute021_ref(float *dst, const float *src, int N, int64_t A, int64_t B)
{
    for (int n = 0; n < N; n++) {
        const float *s = src + (size_t)n * A * B;
        float *d = dst + (size_t)n * A * B;
#pragma omp parallel for schedule(static) if (A * B >= PAR_MIN)
        for (int64_t a = 0; a < A; a++)
            for (int64_t b = 0; b < B; b++) d[b * A + a] = s[a * B + b];
    }
}

void iid__concat_axis1_ref(float *dst, const float *a, int64_t na, const float *b, int64_t nb, int64_t outer,
                           int64_t inner)
{
    for (int64_t o = 0; o < outer; o++) {
        float *d = dst + o * (na + nb) * inner;
        memcpy(d, a + o * na * inner, (size_t)(na * inner) * sizeof *d);
        memcpy(d + na * inner, b + o * nb * inner, (size_t)(nb * inner) * sizeof *d);
    }
}

void iid__copy_rows_ref(float *dst, int64_t dst_stride, const float *src, int64_t src_stride, int64_t rows,
                        int64_t len)
{
    for (int64_t r = 0; r < rows; r++) memmove(dst + r * dst_stride, src + r * src_stride, (size_t)len * sizeof *dst);
}

int iid__gather_rows_ref(float *out, const iid_wmat_t *table, const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= table->rows) return -1;
        iid__wmat_rows_f32(out + (size_t)i * table->cols, table, ids[i], 1);
    }
    return 0;
}

void iid__timestep_embedding_ref(float *emb, const float *t, int n, int dim, int flip_sin_to_cos, float shift)
{
    int half = dim / 2;
    /* float32 arithmetic in the order diffusers' get_timestep_embedding uses */
    const float neg_log = (float)(-log(10000.0));
    for (int b = 0; b < n; b++) {
        float *e = emb + (size_t)b * dim;
        for (int i = 0; i < half; i++) {
            float expo = neg_log * (float)i;
            expo = expo / ((float)half - shift);
            float arg = t[b] * expf(expo);
            float sn = sinf(arg), cs = cosf(arg);
            e[i] = flip_sin_to_cos ? cs : sn;
            e[half + i] = flip_sin_to_cos ? sn : cs;
        }
        if (dim % 2) e[dim - 1] = 0.0f;
    }
}

void iid__image_u8_to_f32_ref(float *out, const uint8_t *src, int64_t HW, int stride, int c0, int C, float div,
                              float offset)
{
    for (int64_t i = 0; i < HW; i++)
        for (int c = 0; c < C; c++) out[c * HW + i] = src[i * stride + c0 + c] / div + offset;
}
