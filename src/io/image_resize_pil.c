/*
 * image_resize_pil.c - Pillow-compatible convolution resize of 8-bit images.
 *
 * Per output position xx on an axis of in -> out samples (scale = in / out):
 *   filterscale = max(scale, 1); support = filter_support * filterscale;
 *   center = (xx + 0.5) * scale;
 *   xmin = max((int)(center - support + 0.5), 0);
 *   xmax = min((int)(center + support + 0.5), in)          (C truncation)
 *   w[x] = filter((x - center + 0.5) / filterscale) for x in [xmin, xmax),
 *   normalised by their sum in double, then each rounded half away from zero to
 *   22 fractional bits (Pillow's PRECISION_BITS = 32 - 8 - 2).
 * A pass sums sample * weight in 32-bit integers starting from 2^21 (rounding) and
 * keeps (sum >> 22) clamped to 0..255. The horizontal pass runs first, over the
 * source rows the vertical pass will read, into an 8-bit intermediate. A pass is
 * skipped when its axis keeps its size (Pillow's need_horizontal/need_vertical).
 *
 * This follows Pillow's Resample.c as read, not copied; the kit has no pixel
 * goldens for it, so the tests check hand-computed cases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_resize.h"

enum { PREC_BITS = 22 };
static const double PI = 3.14159265358979323846;

static double bilinear(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x)
{
    if (x == 0.0) return 1.0;
    x *= PI;
    return sin(x) / x;
}

static double lanczos(double x)
{
    return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0;
}

typedef struct coeffs {
    int ksize;    /* weights per output position */
    int *bounds;  /* xmin, count per output position */
    int32_t *k;   /* ksize fixed-point weights per output position */
} coeffs_t;

static void coeffs_free(coeffs_t *c)
{
    free(c->bounds);
    free(c->k);
}

/* Fill c for in -> out samples; 0 on success, -1 when out of memory. */
static int coeffs_build(coeffs_t *c, int in, int out, double (*filter)(double), double filter_support)
{
    double scale = (double)in / out, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support * filterscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = malloc(sizeof(int) * 2 * (size_t)out);
    c->k = calloc((size_t)out * (size_t)c->ksize, sizeof(int32_t));
    double *w = malloc(sizeof(double) * (size_t)c->ksize);
    if (!c->bounds || !c->k || !w) {
        free(w);
        return -1;
    }
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, sum = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = filter((x + xmin - center + 0.5) / filterscale);
            sum += w[x];
        }
        int32_t *k = c->k + (size_t)xx * c->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC_BITS) : 0.5 + v * (1 << PREC_BITS));
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int32_t v)
{
    v >>= PREC_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass: rows [row0, row0 + dst->height) of src into dst. */
static void hpass(const iid_image_t *src, int row0, const coeffs_t *c, iid_image_t *dst)
{
    int cn = src->channels;
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *in = src->data + (size_t)(y + row0) * src->width * cn;
        uint8_t *out = dst->data + (size_t)y * dst->width * cn;
        for (int xx = 0; xx < dst->width; xx++) {
            int xmin = c->bounds[2 * xx], n = c->bounds[2 * xx + 1];
            const int32_t *k = c->k + (size_t)xx * c->ksize;
            for (int ch = 0; ch < cn; ch++) {
                int32_t ss = 1 << (PREC_BITS - 1);
                for (int x = 0; x < n; x++) ss += in[(x + xmin) * cn + ch] * k[x];
                out[xx * cn + ch] = clip8(ss);
            }
        }
    }
}

/* Vertical pass: bounds are relative to src's first row. */
static void vpass(const iid_image_t *src, const coeffs_t *c, iid_image_t *dst)
{
    int cn = src->channels;
    size_t stride = (size_t)src->width * cn;
    for (int yy = 0; yy < dst->height; yy++) {
        int ymin = c->bounds[2 * yy], n = c->bounds[2 * yy + 1];
        const int32_t *k = c->k + (size_t)yy * c->ksize;
        uint8_t *out = dst->data + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) {
            int32_t ss = 1 << (PREC_BITS - 1);
            for (int y = 0; y < n; y++) ss += src->data[(size_t)(y + ymin) * stride + i] * k[y];
            out[i] = clip8(ss);
        }
    }
}

iid_status iid__image_resize_pil(const iid_image_t *src, int dst_w, int dst_h, iid_pil_filter_t filter,
                                 iid_image_t *dst, iid_error_t *err)
{
    memset(dst, 0, sizeof *dst);
    if (!src->data || src->width < 1 || src->height < 1)
        return iid__fail(err, IID_ERR_INVALID, "resize: empty source image");
    if (dst_w < 1 || dst_h < 1)
        return iid__fail(err, IID_ERR_INVALID, "resize: %dx%d -> %dx%d: target size must be at least 1x1",
                         src->width, src->height, dst_w, dst_h);
    double (*fn)(double) = filter == IID_PIL_BICUBIC ? bicubic : filter == IID_PIL_LANCZOS ? lanczos : bilinear;
    double support = filter == IID_PIL_BICUBIC ? 2.0 : filter == IID_PIL_LANCZOS ? 3.0 : 1.0;
    int need_h = dst_w != src->width, need_v = dst_h != src->height;
    coeffs_t ch = {0}, cv = {0};
    iid_image_t tmp = {0};
    iid_status s = IID_OK;
    if (coeffs_build(&cv, src->height, dst_h, fn, support) != 0 ||
        (need_h && coeffs_build(&ch, src->width, dst_w, fn, support) != 0)) {
        s = iid__fail(err, IID_ERR_NOMEM, "resize: cannot allocate filter weights for %dx%d", dst_w, dst_h);
        goto done;
    }
    const iid_image_t *cur = src;
    if (need_h) {
        /* Only the rows the vertical pass reads (all of them when it is skipped). */
        int first = need_v ? cv.bounds[0] : 0;
        int last = need_v ? cv.bounds[2 * dst_h - 2] + cv.bounds[2 * dst_h - 1] : src->height;
        for (int i = 0; need_v && i < dst_h; i++) cv.bounds[2 * i] -= first;
        s = iid__image_alloc(need_v ? &tmp : dst, dst_w, last - first, src->channels, err);
        if (s != IID_OK) goto done;
        hpass(src, first, &ch, need_v ? &tmp : dst);
        cur = &tmp;
    }
    if (need_v) {
        s = iid__image_alloc(dst, cur->width, dst_h, src->channels, err);
        if (s != IID_OK) goto done;
        vpass(cur, &cv, dst);
    } else if (!need_h) {
        s = iid__image_alloc(dst, src->width, src->height, src->channels, err);
        if (s != IID_OK) goto done;
        memcpy(dst->data, src->data, (size_t)src->width * src->height * src->channels);
    }
done:
    coeffs_free(&ch);
    coeffs_free(&cv);
    iid__image_free(&tmp);
    if (s != IID_OK) iid__image_free(dst);
    return s;
}
