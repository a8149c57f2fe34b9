/*
 * control_mask.h - the demo's face-region mask ("enhance non-face region") and
 * the two resizes the full InstantID pipeline applies to it.
 *
 * gradio_demo/app.py builds the mask from the detected face box:
 *     control_mask = zeros(H, W, 3); x1, y1, x2, y2 = int() of the bbox;
 *     control_mask[y1:y2, x1:x2] = 255
 * (Python slice semantics: negative bounds count from the end, bounds clip to the
 * image, an empty range marks nothing). pipeline_stable_diffusion_xl_instantid_full.py
 * then uses m = channel 0 / 255 as (H, W) floats and
 *   - multiplies ControlNet residual i by m resized bilinearly (align_corners
 *     False, torch's upsample_bilinear2d with an output size) to
 *     (H / s_i, W / s_i), s = 8, 8, 8, 16, 16, 16, 32, 32, 32, and the mid residual
 *     by the s = 32 one (iid__mask_residual_scale());
 *   - multiplies the IP-Adapter branch of every cross-attention with `tokens`
 *     queries by m resized nearest-neighbour with scale factor
 *     1 / sqrt(H * W / tokens) (torch's upsample_nearest2d with a scale factor),
 *     flattened row-major to one weight per query.
 * All functions are pure; buffers belong to the caller.
 */
#ifndef IID_PIPELINE_CONTROL_MASK_H
#define IID_PIPELINE_CONTROL_MASK_H

#include <stdint.h>

#include "core/status.h"

/* The face mask for a box (x1, y1, x2, y2) in pixels: out is height*width*3 bytes,
 * HWC, 255 inside the box and 0 elsewhere. Fails (IID_ERR_INVALID) on sizes < 1 or
 * a non-finite box coordinate. */
iid_status iid__face_mask(const float bbox[4], int width, int height, uint8_t *out, iid_error_t *err);

/* Channel 0 of an HWC 3-channel uint8 mask divided by 255, as (height, width) floats. */
void iid__mask_channel0(const uint8_t *hwc3, int width, int height, float *out);

/* The downscale of residual i (0-8, or 9 for the mid residual): 8, 16 or 32. */
int iid__mask_residual_scale(int residual);

/* Bilinear resize, align_corners False: in (ih, iw) -> out (oh, ow), all >= 1. */
void iid__mask_resize_bilinear(const float *in, int ih, int iw, float *out, int oh, int ow);

/* Nearest-neighbour resize of the (ih, iw) mask by 1 / sqrt(ih * iw / tokens), as
 * the IP attention does it. Writes the size to *oh, *ow and the values to out
 * (room for `tokens` floats); fails (IID_ERR_INVALID) when the result does not
 * have exactly `tokens` entries, as the reference's reshape would. */
iid_status iid__mask_resize_tokens(const float *in, int ih, int iw, int tokens, float *out, int *oh, int *ow,
                                   iid_error_t *err);

#endif
