/*
 * face_detect.h - SCRFD face detection: running the detector network and
 * turning its raw outputs into faces, as insightface's SCRFD.detect() does.
 *
 * The network (any SCRFD export: det_10g/scrfd_10g_bnkps, det_2.5g, det_500m) gives
 * score, box and (optionally) keypoint outputs per FPN level, in graph order:
 * all scores, then all boxes, then all keypoints. Strides and the anchor count
 * are derived from the output row counts and the input size (the smallest anchor
 * count for which every level's stride is a power of two and each level doubles
 * the previous), not assumed. Decoding (distance2bbox / distance2kps with anchor
 * centres (x*s, y*s)), the score threshold (>=), the sort by score, greedy NMS with
 * the "+1" area convention (drop when IoU > thresh) and the division by det_scale
 * follow the face kit's README section 2.5 in float32.
 *
 * The letterboxed input blob and det_scale come from the image layer (letterbox
 * to the detector size, (pixel - 127.5) / 128, BGR to RGB, NCHW).
 */
#ifndef IID_PIPELINE_FACE_DETECT_H
#define IID_PIPELINE_FACE_DETECT_H

#include "core/tensor.h"
#include "ops/onnx/onnx_graph.h"

#define IID_FACE_KPS 5

typedef struct iid_face {
    float box[4];              /* x1, y1, x2, y2 in original-image pixels */
    float score;
    float kps[IID_FACE_KPS][2]; /* eyes (left, right as seen), nose, mouth corners */
    int stride, row;           /* where it came from in the raw outputs */
} iid_face_t;

typedef struct iid_face_list {
    int count;
    iid_face_t *faces; /* malloc'd, score order */
} iid_face_list_t;

typedef struct iid_detect_params {
    float score_thresh; /* 0.5 */
    float nms_thresh;   /* 0.4 */
} iid_detect_params_t;

/* Fill the defaults above. */
void iid__detect_params_init(iid_detect_params_t *p);

/* Decode raw SCRFD outputs into candidates with score >= p->score_thresh, boxes and
 * keypoints divided by det_scale, sorted by descending score (stable), before NMS.
 * outputs: n_outputs tensors in graph order (6, 9, 10 or 15; the keypoint group is
 * optional, then kps are zero); in_h, in_w: the network input size. label names the
 * model in errors. *out is allocated; free it with iid__face_list_free. */
iid_status iid__scrfd_candidates(const iid_tensor_t *outputs, int n_outputs, int in_h, int in_w, double det_scale,
                                 const iid_detect_params_t *p, const char *label, iid_face_list_t *out,
                                 iid_error_t *err);

/* Greedy NMS over a score-sorted list (insightface's nms()). keep receives the kept
 * indices (capacity list->count) in score order; *n_keep their number. Fails only
 * when its scratch cannot be allocated. */
iid_status iid__face_nms(const iid_face_list_t *list, float thresh, int *keep, int *n_keep, iid_error_t *err);

/* Candidates, NMS and compaction in one call: the faces insightface returns. */
iid_status iid__scrfd_decode(const iid_tensor_t *outputs, int n_outputs, int in_h, int in_w, double det_scale,
                             const iid_detect_params_t *p, const char *label, iid_face_list_t *out, iid_error_t *err);

/* Run the detector network on blob (1, 3, H, W) and decode; det_scale is the
 * letterbox's new_h / H. */
iid_status iid__face_detect(iid_onnx_net_t *det, const iid_tensor_t *blob, double det_scale,
                            const iid_detect_params_t *p, iid_face_list_t *out, iid_error_t *err);

/* InstantID's choice: the face with the largest (x2-x1)*(y2-y1) in float32, a later
 * equal area winning; -1 for an empty list. */
int iid__face_largest(const iid_face_list_t *list);

void iid__face_list_free(iid_face_list_t *list);

#endif
