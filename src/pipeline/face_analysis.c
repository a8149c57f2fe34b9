/* face_analysis.c - detect, choose the largest face, align and embed (see the header). */
#include "pipeline/face_analysis.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/face_align.h"

void iid__face_analysis_free(iid_face_analysis_t *fa)
{
    if (!fa) return;
    iid__face_list_free(&fa->faces);
    free(fa->crop_bgr);
    iid__tensor_free(&fa->embedding);
    memset(fa, 0, sizeof *fa);
    fa->chosen = -1;
}

iid_status iid__face_analyze(iid_face_models_t *fm, const iid_tensor_t *det_blob, double det_scale,
                             const uint8_t *bgr, int width, int height, iid_face_analysis_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->chosen = -1;
    if (!bgr || width <= 0 || height <= 0)
        return iid__fail(err, IID_ERR_INVALID, "face analysis: empty image (%dx%d)", width, height);
    iid_detect_params_t p;
    iid__detect_params_init(&p);
    IID_TRY(iid__face_detect(&fm->detector, det_blob, det_scale, &p, &out->faces, err));
    iid_status st = IID_OK;
    int size = fm->recognizer.input_size;
    out->chosen = iid__face_largest(&out->faces);
    if (out->chosen < 0) {
        st = iid__fail(err, IID_ERR_NOT_FOUND, "face analysis: no face found");
    } else if (!(out->crop_bgr = malloc((size_t)size * (size_t)size * 3))) {
        st = iid__fail(err, IID_ERR_NOMEM, "face analysis: out of memory for the crop");
    } else {
        const iid_face_t *f = &out->faces.faces[out->chosen];
        st = iid__face_align_matrix((const float (*)[2])f->kps, size, out->M, err);
        if (st == IID_OK) {
            iid__warp_affine_u8(out->crop_bgr, size, size, bgr, width, height, 3, out->M);
            st = iid__face_embed(&fm->recognizer, out->crop_bgr, &out->embedding, err);
        }
    }
    if (st != IID_OK) iid__face_analysis_free(out);
    return st;
}
