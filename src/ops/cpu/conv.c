/*
 * conv.c - fast 2-D convolution (grouped, strided, dilated); the reference loop
 * is ref/conv_ref.c.
 *
 * It unfolds each image and
 * group into a (C/g * R * S, OH * OW) column matrix and multiplies it by the
 * (K/g, C/g * R * S) weight with one GEMM (iid__matmul_wn, so an F16/BF16 weight
 * is widened block by block); 1x1 stride-1 convolutions skip the unfold.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* Unfold one group of one image: col (cg*R*S, OH*OW). */
static void im2col(float *col, const float *img, int cg, const iid_conv2d_shape_t *s, int OH, int OW)
{
    size_t P = (size_t)OH * OW;
    for (int c = 0; c < cg; c++) {
        const float *plane = img + (size_t)c * s->H * s->W;
        for (int r = 0; r < s->R; r++) {
            for (int q = 0; q < s->S; q++) {
                float *row = col + (((size_t)c * s->R + r) * s->S + q) * P;
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * s->stride_h - s->pad_h + r * s->dil_h;
                    float *dst = row + (size_t)oy * OW;
                    if (iy < 0 || iy >= s->H) {
                        memset(dst, 0, (size_t)OW * sizeof *dst);
                        continue;
                    }
                    const float *src = plane + (size_t)iy * s->W;
                    for (int ox = 0; ox < OW; ox++) {
                        int ix = ox * s->stride_w - s->pad_w + q * s->dil_w;
                        dst[ox] = (ix >= 0 && ix < s->W) ? src[ix] : 0.0f;
                    }
                }
            }
        }
    }
}

int iid__conv2d(float *out, const float *in, const iid_wmat_t *w, const float *b, const iid_conv2d_shape_t *s,
                const iid_scratch_t *sc)
{
    int OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    int OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    int cg = s->C / s->groups, kg = s->K / s->groups;
    size_t P = (size_t)OH * OW, KK = (size_t)cg * s->R * s->S;
    int direct = s->R == 1 && s->S == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 && s->pad_w == 0;
    float *col = direct ? NULL : iid__scratch_alloc(sc, KK * P * sizeof *col);
    if (!direct && !col) return -1;
    for (int n = 0; n < s->N; n++) {
        for (int g = 0; g < s->groups; g++) {
            const float *img = in + ((size_t)n * s->C + (size_t)g * cg) * s->H * s->W;
            float *o = out + ((size_t)n * s->K + (size_t)g * kg) * P;
            iid_wmat_t wg = iid__wmat_slice(w, g * kg, kg);
            if (b)
                for (int k = 0; k < kg; k++)
                    for (size_t p = 0; p < P; p++) o[k * P + p] = b[g * kg + k];
            if (!direct) im2col(col, img, cg, s, OH, OW);
            if (iid__matmul_wn_blocked(o, &wg, direct ? img : col, (int)P, b != NULL, IID_WMAT_BLOCK_BYTES, sc) != 0) {
                iid__scratch_free(sc, col);
                return -1;
            }
        }
    }
    iid__scratch_free(sc, col);
    return 0;
}
