/* pool.c - max and average pooling (references; the detectors pool only 3 times). */
#include <float.h>

#include "ops/ops.h"

int iid__pool_out_size(int in, int k, int stride, int pad_begin, int pad_end, int ceil_mode)
{
    int span = in + pad_begin + pad_end - k;
    if (span < 0 || stride <= 0) return 0;
    int out = span / stride + 1;
    if (ceil_mode && span % stride) {
        out++;
        if ((out - 1) * stride >= in + pad_begin) out--;
    }
    return out;
}

/* Window of output index o along one axis, clipped to [0, in). */
static void window(int o, int stride, int pad, int k, int in, int *lo, int *hi, int *padded)
{
    int start = o * stride - pad;
    int end = start + k;
    int pend = end < in + pad ? end : in + pad; /* the padded extent the window covers */
    *padded = pend - start;
    *lo = start < 0 ? 0 : start;
    *hi = end > in ? in : end;
}

/* One loop for both pools: each output is its window's maximum, or (average) the
 * window's sum over the counted cells, the padded window when count_include_pad. */
static void pool2d(float *out, const float *in, const iid_pool2d_shape_t *s, int average)
{
    int OH = iid__pool_out_size(s->H, s->kh, s->stride_h, s->pad_t, s->pad_b, s->ceil_mode);
    int OW = iid__pool_out_size(s->W, s->kw, s->stride_w, s->pad_l, s->pad_r, s->ceil_mode);
    for (int64_t p = 0; p < (int64_t)s->N * s->C; p++) {
        const float *src = in + p * s->H * s->W;
        float *dst = out + p * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
            int y0, y1, py;
            window(oy, s->stride_h, s->pad_t, s->kh, s->H, &y0, &y1, &py);
            for (int ox = 0; ox < OW; ox++) {
                int x0, x1, px;
                window(ox, s->stride_w, s->pad_l, s->kw, s->W, &x0, &x1, &px);
                float acc = average ? 0.0f : -FLT_MAX;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        float v = src[y * s->W + x];
                        if (average) acc += v;
                        else if (v > acc) acc = v;
                    }
                if (average) {
                    int cnt = s->count_include_pad ? py * px : (y1 - y0) * (x1 - x0);
                    acc = cnt > 0 ? acc / (float)cnt : 0.0f;
                }
                dst[oy * OW + ox] = acc;
            }
        }
    }
}

void iid__maxpool2d_ref(float *out, const float *in, const iid_pool2d_shape_t *s)
{
    pool2d(out, in, s, 0);
}

void iid__avgpool2d_ref(float *out, const float *in, const iid_pool2d_shape_t *s)
{
    pool2d(out, in, s, 1);
}
