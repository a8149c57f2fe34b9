/*
 * face_analysis.h - InstantID's face step in one call: detect on the letterboxed
 * blob, choose the largest face, align it on the ORIGINAL image and embed it.
 *
 * This is what the generation pipeline calls per input photo. The caller (the
 * image layer) provides the decoded photo as 8-bit BGR HWC and the detector blob
 * with its det_scale (letterbox to the detector size, top-left, black padding,
 * (pixel - 127.5) / 128, RGB planes). The result keeps every detected face (for
 * `instantid faces` and the log's face_count), the chosen one's index, its 2x3
 * alignment matrix and its RAW embedding (InstantID does not normalise it).
 *
 *   iid_face_models_t fm;            // iid__face_models_load(&fm, "models/antelopev2", err)
 *   iid_face_analysis_t fa;
 *   IID_TRY(iid__face_analyze(&fm, &blob, det_scale, bgr, w, h, &fa, err));
 *   use(fa.embedding.data);          // (1, 512) for glintr100
 *   iid__face_analysis_free(&fa);
 */
#ifndef IID_PIPELINE_FACE_ANALYSIS_H
#define IID_PIPELINE_FACE_ANALYSIS_H

#include <stdint.h>

#include "pipeline/face_detect.h"
#include "pipeline/face_models.h"

typedef struct iid_face_analysis {
    iid_face_list_t faces;  /* all faces, score order */
    int chosen;             /* index of the largest face */
    double M[6];            /* its alignment matrix (image -> crop) */
    uint8_t *crop_bgr;      /* its aligned crop, input_size^2 x 3 (malloc'd) */
    iid_tensor_t embedding; /* its raw embedding, (1, D) */
} iid_face_analysis_t;

/* Detect, choose, align and embed. Fails with IID_ERR_NOT_FOUND ("no face found")
 * when the detector finds nothing, as InstantID's demo does; *out is then empty
 * (safe to free). */
iid_status iid__face_analyze(iid_face_models_t *fm, const iid_tensor_t *det_blob, double det_scale,
                             const uint8_t *bgr, int width, int height, iid_face_analysis_t *out, iid_error_t *err);

void iid__face_analysis_free(iid_face_analysis_t *fa);

#endif
