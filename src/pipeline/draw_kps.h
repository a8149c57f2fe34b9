/*
 * draw_kps.h - InstantID's keypoint image (the IdentityNet control image).
 *
 * Reproduces `draw_kps(image_pil, kps)` of pipeline_stable_diffusion_xl_instantid.py
 * bit for bit, including OpenCV 4.x's integer rasterisation:
 *
 *   - kps are the 5 face keypoints (eyes, nose, mouth corners) in pixels, float32;
 *   - limbs 0-2, 1-2, 3-2, 4-2 (each point to the nose) become filled ellipses:
 *     cv2.ellipse2Poly(centre (int(mean x), int(mean y)), axes (int(length/2), 4),
 *     int(degrees(atan2(dy, dx))), 0, 360, 1) then cv2.fillConvexPoly, in the colour
 *     of the limb's first point, on a zero float canvas;
 *   - the canvas is multiplied by 0.6 and truncated to uint8 (255 -> 153);
 *   - then a filled circle of radius 10 at (int(x), int(y)) per point, full colour;
 *   - colours (RGB) red, green, blue, yellow, magenta for points 0-4.
 *
 * int() truncates toward zero; the float32 arithmetic of numpy (lengths, means)
 * and the double arithmetic of Python (atan2, degrees) are kept. Points may lie
 * outside the image: everything is clipped the way OpenCV clips it.
 */
#ifndef IID_PIPELINE_DRAW_KPS_H
#define IID_PIPELINE_DRAW_KPS_H

#include <stdint.h>

#include "core/status.h"

#define IID_KPS_COUNT 5

/* Draw the keypoint image of width x height for kps (x0, y0, x1, y1, ...,
 * IID_KPS_COUNT points, pixel coordinates) into out: height*width*3 bytes, HWC RGB,
 * fully overwritten (the image starts black as in the pipeline). Fails
 * (IID_ERR_INVALID) when a size is < 1 or > 65536 or a coordinate is not finite
 * or beyond +-2^24 pixels. */
iid_status iid__draw_kps(const float *kps, int width, int height, uint8_t *out, iid_error_t *err);

/* OpenCV's ellipse2Poly (integer version) for a full ellipse (arc 0..360) with
 * 1-degree steps: writes at most 362 points as x, y pairs to pts and returns their
 * count (consecutive duplicates removed; a degenerate ellipse gives its centre
 * twice). Exposed for tests. */
int iid__ellipse_poly(int cx, int cy, int axis_w, int axis_h, int angle_deg, int *pts);

#endif
