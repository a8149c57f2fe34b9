/*
 * control_mask.c - face-region mask and its resizes (see control_mask.h).
 *
 * The resizes follow torch 1.13's CPU kernels in float32: bilinear source
 * coordinates scale*(dst+0.5)-0.5 clamped at 0 with scale = in/out, the second tap
 * clamped at the border, rows blended as (a*wx0 + b*wx1)*wy0 + (c*wx0 + d*wx1)*wy1;
 * nearest with a given scale factor uses floor(dst * (float)(1/scale_factor)) and
 * the output size floor(in * scale_factor) computed in double as Python does.
 */
#include "pipeline/control_mask.h"

#include <math.h>
#include <string.h>

/* Python slice bound normalisation for a sequence of length n. */
static int py_slice_bound(long long i, int n)
{
    if (i < 0) {
        i += n;
        if (i < 0) i = 0;
    } else if (i > n) {
        i = n;
    }
    return (int)i;
}

iid_status iid__face_mask(const float bbox[4], int width, int height, uint8_t *out, iid_error_t *err)
{
    if (width < 1 || height < 1) return iid__fail(err, IID_ERR_INVALID, "face mask: size %dx%d", width, height);
    for (int i = 0; i < 4; i++)
        if (!isfinite(bbox[i]) || fabsf(bbox[i]) > 1e9f)
            return iid__fail(err, IID_ERR_INVALID, "face mask: box coordinate %d is not a usable number", i);
    memset(out, 0, (size_t)width * height * 3);
    int x1 = py_slice_bound((long long)bbox[0], width), x2 = py_slice_bound((long long)bbox[2], width);
    int y1 = py_slice_bound((long long)bbox[1], height), y2 = py_slice_bound((long long)bbox[3], height);
    for (int y = y1; y < y2; y++) memset(out + ((size_t)y * width + x1) * 3, 255, x2 > x1 ? (size_t)(x2 - x1) * 3 : 0);
    return IID_OK;
}

void iid__mask_channel0(const uint8_t *hwc3, int width, int height, float *out)
{
    for (size_t p = 0; p < (size_t)width * height; p++) out[p] = (float)hwc3[3 * p] / 255.0f;
}

int iid__mask_residual_scale(int residual) { return residual < 3 ? 8 : residual < 6 ? 16 : 32; }

/* One axis of torch's linear interpolation: first tap, step to the second, weights. */
static void linear_tap(int dst, int in_size, int out_size, int *i0, int *step, float *w0, float *w1)
{
    float scale = (float)in_size / (float)out_size;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    *i0 = (int)src;
    *step = *i0 < in_size - 1 ? 1 : 0;
    *w1 = src - (float)*i0;
    *w0 = 1.0f - *w1;
}

void iid__mask_resize_bilinear(const float *in, int ih, int iw, float *out, int oh, int ow)
{
    for (int y = 0; y < oh; y++) {
        int y0, dy;
        float wy0, wy1;
        linear_tap(y, ih, oh, &y0, &dy, &wy0, &wy1);
        const float *r0 = in + (size_t)y0 * iw, *r1 = in + (size_t)(y0 + dy) * iw;
        for (int x = 0; x < ow; x++) {
            int x0, dx;
            float wx0, wx1;
            linear_tap(x, iw, ow, &x0, &dx, &wx0, &wx1);
            float top = r0[x0] * wx0 + r0[x0 + dx] * wx1;
            float bottom = r1[x0] * wx0 + r1[x0 + dx] * wx1;
            out[(size_t)y * ow + x] = top * wy0 + bottom * wy1;
        }
    }
}

/* torch's nearest source index for a given scale factor. */
static int nearest_src(int dst, int in_size, int out_size, double scale_factor)
{
    if (out_size == in_size) return dst;
    if (out_size == 2 * in_size) return dst >> 1;
    float scale = (float)(1.0 / scale_factor);
    long long src = (long long)floorf((float)dst * scale);
    return src < in_size - 1 ? (int)src : in_size - 1;
}

iid_status iid__mask_resize_tokens(const float *in, int ih, int iw, int tokens, float *out, int *oh, int *ow,
                                   iid_error_t *err)
{
    if (tokens < 1 || ih < 1 || iw < 1)
        return iid__fail(err, IID_ERR_INVALID, "IP mask: %d tokens for a %dx%d mask", tokens, ih, iw);
    double ratio = sqrt((double)ih * iw / tokens);
    double factor = 1.0 / ratio;
    int h = (int)floor((double)ih * factor), w = (int)floor((double)iw * factor);
    if ((long long)h * w != tokens)
        return iid__fail(err, IID_ERR_INVALID, "IP mask: a %dx%d mask scaled by %g gives %dx%d, not %d tokens", ih, iw,
                         factor, h, w, tokens);
    for (int y = 0; y < h; y++) {
        int sy = nearest_src(y, ih, h, factor);
        for (int x = 0; x < w; x++) out[(size_t)y * w + x] = in[(size_t)sy * iw + nearest_src(x, iw, w, factor)];
    }
    *oh = h;
    *ow = w;
    return IID_OK;
}
