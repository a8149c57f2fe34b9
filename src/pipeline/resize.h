/*
 * resize.h - the two image-size rules of the product.
 *
 * 1. The demo's `resize_img` (gradio_demo/app.py; app-multicontrolnet.py passes
 *    max_side 1024): scale the short side to min_side, then the long side to
 *    max_side, each side rounded with Python's round (half to even), then each
 *    side floored to a multiple of base_pixel_number (64). The demo resizes twice
 *    (to the unfloored size, then to the floored one); both calls are reported
 *    because they decide the pixels. With `size` the image goes straight to that
 *    size. With pad_to_max_side the result is centred on a white max_side square
 *    (offset (max_side - side) // 2). A side that floors to 0 is an error, as PIL
 *    raises "height and width must be > 0".
 *
 * 2. The batch tool's `--size WxH` (our definition of the original preprocess.py
 *    behaviour): keep the aspect ratio, scale by min(W / w, H / h), round each
 *    side half to even (at least 1 pixel, at most the target), and centre the
 *    result on a W x H canvas of the pad colour at ((W - w') // 2, (H - h') // 2).
 *
 * Both only compute geometry; the pixel resampling is done by the image module.
 * iid__pad_place() composes a resized image onto its padded canvas.
 */
#ifndef IID_PIPELINE_RESIZE_H
#define IID_PIPELINE_RESIZE_H

#include <stdint.h>

#include "core/status.h"

typedef struct iid_resize_opts {
    int max_side;          /* 1280 */
    int min_side;          /* 1024 */
    int base_pixel_number; /* 64 */
    int pad_to_max_side;   /* 0 */
    int size_w, size_h;    /* explicit target size; 0 = none */
} iid_resize_opts_t;

/* The demo's defaults (max_side 1280, min_side 1024, multiple of 64, no pad, no size). */
void iid__resize_opts_init(iid_resize_opts_t *o);

typedef struct iid_resize_plan {
    int out_w, out_h;         /* the final image (max_side square when padded) */
    int content_w, content_h; /* the resized image inside it */
    int pad_x, pad_y;         /* its top-left corner in the final image */
    int n_calls;              /* PIL resize calls made, 1 or 2 */
    int calls_wh[2][2];       /* their (width, height) */
} iid_resize_plan_t;

/* resize_img's geometry for an in_w x in_h image. On IID_ERR_INVALID (a side
 * becomes 0, or sizes/options out of range) the plan still holds the calls made up
 * to the failing one. */
iid_status iid__resize_img_plan(int in_w, int in_h, const iid_resize_opts_t *o, iid_resize_plan_t *plan,
                                iid_error_t *err);

/* The --size WxH geometry (rule 2): fills out_*, content_*, pad_*; n_calls 1. */
iid_status iid__resize_pad_plan(int in_w, int in_h, int target_w, int target_h, iid_resize_plan_t *plan,
                                iid_error_t *err);

/* Fill dst (out_w x out_h x 3, HWC) with color and copy src (content_w x
 * content_h x 3) to (pad_x, pad_y). */
void iid__pad_place(const iid_resize_plan_t *plan, const uint8_t *src, const uint8_t color[3], uint8_t *dst);

#endif
