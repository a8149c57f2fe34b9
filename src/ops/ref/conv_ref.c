/* conv_ref.c - the six-deep loop 2-D convolution and nearest 2x upsampling. */
#include <stddef.h>

#include "ops/ops.h"

int iid__conv_out_size(int in, int k, int stride, int pad, int dil)
{
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

void iid__conv2d_ref(float *out, const float *in, const float *w, const float *b, const iid_conv2d_shape_t *s)
{
    int OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    int OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    int cg = s->C / s->groups, kg = s->K / s->groups;
    for (int n = 0; n < s->N; n++) {
        for (int ko = 0; ko < s->K; ko++) {
            int g = ko / kg;
            for (int oy = 0; oy < OH; oy++) {
                for (int ox = 0; ox < OW; ox++) {
                    double acc = b ? b[ko] : 0.0;
                    for (int c = 0; c < cg; c++) {
                        const float *plane = in + ((size_t)n * s->C + (size_t)g * cg + c) * s->H * s->W;
                        for (int r = 0; r < s->R; r++) {
                            int iy = oy * s->stride_h - s->pad_h + r * s->dil_h;
                            if (iy < 0 || iy >= s->H) continue;
                            for (int q = 0; q < s->S; q++) {
                                int ix = ox * s->stride_w - s->pad_w + q * s->dil_w;
                                if (ix < 0 || ix >= s->W) continue;
                                acc += (double)plane[(size_t)iy * s->W + ix] *
                                       w[(((size_t)ko * cg + c) * s->R + r) * s->S + q];
                            }
                        }
                    }
                    out[(((size_t)n * s->K + ko) * OH + oy) * OW + ox] = (float)acc;
                }
            }
        }
    }
}

void iid__upsample_nearest2x(float *out, const float *in, int N, int C, int H, int W)
{
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *src = in + p * H * W;
        float *dst = out + p * 4 * H * W;
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++) dst[(size_t)y * 2 * W + x] = src[(size_t)(y / 2) * W + x / 2];
    }
}
