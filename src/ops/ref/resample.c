/*
 * resample.c - per-plane resizes with torch's index rules: 'nearest' with an
 * explicit scale (the IP-Adapter region mask at each attention grid) and
 * 'bilinear' without corner alignment (the ControlNet residual mask).
 */
#include <math.h>

#include "ops/ops.h"

/* Source rows and weight of output pixel d for torch's bilinear resize
 * (align_corners false): src = (d + 0.5) * in/out - 0.5, clamped at 0. */
static void bilinear_src(int d, int in, int out, int *i0, int *i1, float *l1)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)d + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    *l1 = src - (float)*i0;
}

static void bilinear_plane(float *m, int h, int w, const float *mask, int mh, int mw)
{
    for (int y = 0; y < h; y++) {
        int y0, y1;
        float ly;
        bilinear_src(y, mh, h, &y0, &y1, &ly);
        for (int x = 0; x < w; x++) {
            int x0, x1;
            float lx;
            bilinear_src(x, mw, w, &x0, &x1, &lx);
            const float *r0 = mask + (size_t)y0 * mw, *r1 = mask + (size_t)y1 * mw;
            m[(size_t)y * w + x] = (1.0f - ly) * ((1.0f - lx) * r0[x0] + lx * r0[x1]) +
                                   ly * ((1.0f - lx) * r1[x0] + lx * r1[x1]);
        }
    }
}

static void nearest_plane(float *m, int h, int w, const float *mask, int mh, int mw, float sy, float sx)
{
    for (int y = 0; y < h; y++) {
        int iy = (int)floorf((float)y * sy);
        if (iy > mh - 1) iy = mh - 1;
        for (int x = 0; x < w; x++) {
            int ix = (int)floorf((float)x * sx);
            if (ix > mw - 1) ix = mw - 1;
            m[(size_t)y * w + x] = mask[(size_t)iy * mw + ix];
        }
    }
}

void iid__resize_plane_ref(float *out, const float *in, int64_t P, int H, int W, int OH, int OW,
                           iid_resize_mode_t mode, float sy, float sx)
{
    for (int64_t p = 0; p < P; p++) {
        const float *src = in + p * H * W;
        float *dst = out + p * OH * OW;
        if (mode == IID_RESIZE_BILINEAR) bilinear_plane(dst, OH, OW, src, H, W);
        else nearest_plane(dst, OH, OW, src, H, W, sy, sx);
    }
}
