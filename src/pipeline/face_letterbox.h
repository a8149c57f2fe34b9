/*
 * face_letterbox.h - the SCRFD detector's input: letterbox and blob, as
 * insightface's RetinaFace/SCRFD.detect() builds them.
 *
 * Given an H x W photo and a detector input size (640 x 640 for InstantID):
 *   r = H / W (double); if r > input_h / input_w the height fills:
 *   new_h = input_h, new_w = (int)(new_h / r), else new_w = input_w,
 *   new_h = (int)(new_w * r) (truncation); det_scale = new_h / H (double, always
 *   the height ratio). The photo is resized to new_w x new_h with OpenCV's
 *   bilinear (no anti-aliasing, small photos are scaled up) and pasted at the
 *   top-left of a black canvas; padding is right/bottom only.
 * The blob is (canvas - 127.5) / 128 as float32, NCHW, channel 0 = R (insightface
 * flips its BGR canvas to RGB; ours is already RGB). Both operations are exact in
 * float32, so the blob matches the reference bit for bit.
 *
 * A very thin photo can give new_w or new_h = 0, where OpenCV throws and
 * insightface crashes; here it is an IID_ERR_INVALID error that says so.
 */
#ifndef IID_PIPELINE_FACE_LETTERBOX_H
#define IID_PIPELINE_FACE_LETTERBOX_H

#include "io/image.h"

typedef struct iid_letterbox {
    iid_image_t canvas; /* input_w x input_h RGB, the resized photo at the top-left */
    int new_w, new_h;   /* size of the resized photo on the canvas */
    double det_scale;   /* new_h / H: divide detections by it to get photo coordinates */
} iid_letterbox_t;

/* Letterbox img (RGB, 3 channels) into a new input_w x input_h canvas in *lb.
 * name (may be NULL) names the photo in messages. Fails with IID_ERR_INVALID for an
 * empty image, a non-RGB one, input sides below 1, or a photo so thin that a side
 * rounds to 0 ("<name>: 3000x1 is too thin for the 640x640 detector input (resized
 * to 640x0)"); IID_ERR_NOMEM when out of memory. On failure *lb is empty. */
iid_status iid__face_letterbox(const iid_image_t *img, int input_w, int input_h, const char *name, iid_letterbox_t *lb,
                               iid_error_t *err);

/* Free the canvas and zero *lb; NULL is a no-op. */
void iid__face_letterbox_free(iid_letterbox_t *lb);

/* Write the detector blob of an RGB canvas: blob has 3 * H * W floats, laid out
 * (1, 3, H, W), blob[c][y][x] = (canvas[y][x][c] - 127.5f) / 128.0f. */
void iid__face_blob(const iid_image_t *canvas, float *blob);

#endif
