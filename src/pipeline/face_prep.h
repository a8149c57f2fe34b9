/*
 * face_prep.h - from a photo to what the InstantID loop needs: the face embedding,
 * the keypoint image and the face-region mask, at the output size.
 *
 * As InstantID's demo (gradio_demo/app.py) does it:
 *   decode (EXIF orientation applied) -> resize: the demo's resize_img rule
 *   (max_side 1280, min_side 1024, multiples of 64, PIL bilinear) or, when a
 *   target size is given, the original batch tool's resize-and-pad -> detect faces
 *   on the resized image (BGR, SCRFD letterbox) -> the largest face -> align and
 *   embed (raw, not normalised) -> draw_kps on a black image of the resized size
 *   -> mask: 255 inside the face box.
 * A pose photo replaces the keypoints, the keypoint image, the mask and the output
 * size with those of the pose photo's largest face; the embedding stays the face's.
 *
 * Errors: a file that cannot be decoded is IID_ERR_FORMAT (or IID_ERR_IO,
 * IID_ERR_RANGE for limits, IID_ERR_UNSUPPORTED), a photo without a face is
 * IID_ERR_NO_FACE; every message is one line that names the file.
 */
#ifndef IID_PIPELINE_FACE_PREP_H
#define IID_PIPELINE_FACE_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "io/image.h"
#include "pipeline/face_models.h"

typedef struct iid_face_prep_opts {
    int width, height;    /* 0, 0: the demo's resize_img rule; else resize-and-pad to W x H */
    uint8_t pad_rgb[3];   /* padding colour of resize-and-pad (the batch default is white) */
    int max_side, min_side, multiple; /* resize_img parameters (1280, 1024, 64) */
} iid_face_prep_opts_t;

/* Defaults: the demo's resize_img rule, white padding. */
void iid__face_prep_opts_init(iid_face_prep_opts_t *o);

/* iid_face_prep_t (the prepared face) is public: see include/iid.h. */


/* Prepare an already decoded RGB image; name labels it in errors. */
iid_status iid__face_prep_image(iid_face_models_t *fm, const iid_image_t *rgb, const char *name,
                                const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err);
/* Decode a file (iid__image_load with default limits) and prepare it. */
iid_status iid__face_prep_file(iid_face_models_t *fm, const char *path, const iid_face_prep_opts_t *o,
                               iid_face_prep_t *out, iid_error_t *err);
/* The same from encoded bytes (uploads). */
iid_status iid__face_prep_bytes(iid_face_models_t *fm, const void *data, size_t size, const char *name,
                                const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err);
/* Allocate and draw p->kps_image from p->kps at p->width x p->height and, when
 * with_mask, p->mask from p->bbox (the face cache keeps only the numbers and
 * redraws these). name labels errors. */
iid_status iid__face_prep_draw(iid_face_prep_t *p, int with_mask, const char *name, iid_error_t *err);

#endif
