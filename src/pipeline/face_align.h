/*
 * face_align.h - 5-point face alignment and the recogniser's input, as
 * insightface's face_align.norm_crop() and ArcFaceONNX.get() do.
 *
 * The 2x3 matrix M maps original-image points to crop points: the least-squares
 * similarity (rotation, one scale, translation, never a reflection) from the
 * detected keypoints to the ArcFace template, Umeyama's method as scikit-image
 * implements it. For two dimensions Umeyama's SVD has a closed form: with the
 * centred cross-covariance A = dst_c^T src_c / n, the rotation angle is
 * atan2(A10 - A01, A00 + A11) and the scale |(A00 + A11, A10 - A01)| / var(src):
 * this equals R = U diag(d) V^T with d = (1, -1) when det(A) < 0, and the rank-1
 * branch too (the collinear case). As insightface fits on float32 keypoints, the
 * means, the centred points, A and the variances are formed in float32 the way
 * numpy does (this makes the face kit's crops bit-identical but for a few pixels
 * of a few tiny faces, where a double fit is off by up to 3 levels); only the
 * rotation and scale are taken in double from that A (LAPACK's float32 SVD is
 * not reproduced).
 *
 * The crop is OpenCV's warpAffine (INTER_LINEAR, BORDER_CONSTANT 0) bit for bit:
 * the inverse map in 1/32 pixel fixed point with 15-bit bilinear weights (kit
 * README section 3).
 */
#ifndef IID_PIPELINE_FACE_ALIGN_H
#define IID_PIPELINE_FACE_ALIGN_H

#include <stdint.h>

#include "core/tensor.h"

#define IID_ARCFACE_SIZE 112

/* The ArcFace destination points for an output of image_size pixels (insightface's
 * estimate_norm: a multiple of 112 scales the 112 template; otherwise it is scaled
 * by image_size / 128 and shifted by 8 * that ratio in x). dst: 5 (x, y) pairs. */
void iid__arcface_template(int image_size, float dst[5][2]);

/* M (2x3, row-major) of the similarity mapping src onto dst (n points). Fails with
 * IID_ERR_INVALID when the source points all coincide (no similarity exists). */
iid_status iid__similarity_fit(const float (*src)[2], const float (*dst)[2], int n, double M[6], iid_error_t *err);

/* iid__similarity_fit from 5 keypoints to the template of image_size. */
iid_status iid__face_align_matrix(const float kps[5][2], int image_size, double M[6], iid_error_t *err);

/* OpenCV's invertAffineTransform (a singular M gives all zeros, as OpenCV does). */
void iid__affine_invert(const double M[6], double inv[6]);

/* dst (dh, dw, ch) = warpAffine(src (sh, sw, ch), M) with bilinear sampling and a
 * constant-0 border, bit-exact with OpenCV 4.x for 8-bit images. ch is 1..4. */
void iid__warp_affine_u8(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh, int ch, const double M[6]);

/* The recogniser blob (1, 3, h, w) from an 8-bit BGR HWC crop:
 * (crop[y][x][2 - c] - mean) * (float)(1 / std), RGB planes, in float32 as OpenCV's
 * blobFromImage computes it (bit-exact with the kit's blob). *blob is allocated. */
iid_status iid__face_recog_blob(const uint8_t *crop_bgr, int w, int h, float mean, float std, iid_tensor_t *blob,
                                iid_error_t *err);

#endif
