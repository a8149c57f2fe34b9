/*
 * image_resize.h - resizing 8-bit images the way the reference Python resizes them.
 *
 * iid__image_resize_cv_linear reproduces OpenCV 4.6's cv::resize(INTER_LINEAR) for
 * 8-bit images bit for bit (insightface's detector letterbox runs through it).
 * OpenCV does not interpolate in floating point: each output column and row gets a
 * source index and two weights rounded to 11 fractional bits (INTER_RESIZE_COEF_BITS);
 * a horizontal pass forms integer sums, and the vertical pass combines two of them
 * with 16-bit high multiplies and a final (x + 2) >> 2, truncating at each step. It
 * never anti-aliases, even when shrinking a lot. The faces kit's README (section 3)
 * states the recipe; its goldens check it.
 *
 * iid__image_resize_pil reproduces Pillow's Image.resize for 8-bit images. InstantID's
 * demo resize_img calls it with an explicit PIL.Image.BILINEAR (not the RGB default,
 * BICUBIC). Pillow convolves: the filter is widened by the shrink factor, so it
 * anti-aliases when shrinking; weights are normalised per output pixel in double and
 * rounded to 22 fractional bits; the horizontal pass runs first into an 8-bit
 * intermediate; a pass is skipped when its axis keeps its size.
 */
#ifndef IID_IO_IMAGE_RESIZE_H
#define IID_IO_IMAGE_RESIZE_H

#include "io/image.h"

/* Resize src (any channel count 1..4) to dst_w x dst_h into a new image *dst, as
 * cv::resize(src, dst, Size(dst_w, dst_h), 0, 0, INTER_LINEAR) does for CV_8UC(n).
 * Fails with IID_ERR_INVALID when a target side is below 1 (OpenCV asserts there)
 * or src is empty, IID_ERR_NOMEM when out of memory; *dst is then empty. */
iid_status iid__image_resize_cv_linear(const iid_image_t *src, int dst_w, int dst_h, iid_image_t *dst,
                                       iid_error_t *err);

typedef enum iid_pil_filter {
    IID_PIL_BILINEAR, /* PIL.Image.BILINEAR: triangle, support 1 */
    IID_PIL_BICUBIC,  /* PIL.Image.BICUBIC: Keys cubic a = -0.5, support 2 */
    IID_PIL_LANCZOS   /* PIL.Image.LANCZOS: 3-lobed Lanczos, support 3 */
} iid_pil_filter_t;

/* Resize src (channels 1..4, each filtered independently, as Pillow does for L,
 * RGB and RGBX; no alpha premultiplication) to dst_w x dst_h into a new *dst, as
 * Pillow 9.4's im.resize((dst_w, dst_h), filter). Same size is a copy. Fails like
 * iid__image_resize_cv_linear. */
iid_status iid__image_resize_pil(const iid_image_t *src, int dst_w, int dst_h, iid_pil_filter_t filter,
                                 iid_image_t *dst, iid_error_t *err);

#endif
