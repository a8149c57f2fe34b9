/*
 * image.c - the decoder's output as an image, on HOST memory (after a download):
 * NCHW in [-1, 1] to NHWC in [0, 1], then to 8-bit with numpy's rounding. These
 * are format conversions of the finished picture, not backend ops.
 */
#include <math.h>

#include "ops/ops.h"

void iid__image_to_float_nhwc(float *out, const float *x, int B, int C, int H, int W)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int64_t i = 0; i < (int64_t)H * W; i++) {
                float vv = x[((size_t)b * C + c) * H * W + i] / 2.0f + 0.5f;
                vv = vv < 0.0f ? 0.0f : (vv > 1.0f ? 1.0f : vv);
                out[((size_t)b * H * W + i) * C + c] = vv;
            }
}

void iid__image_float_to_u8(uint8_t *out, const float *img, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float vv = rintf(img[i] * 255.0f); /* the default rounding mode: half to even */
        out[i] = (uint8_t)(vv < 0.0f ? 0.0f : (vv > 255.0f ? 255.0f : vv));
    }
}
