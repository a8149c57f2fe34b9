/*
 * stage_faces_align.c - conformance stage 'faces_align': the similarity fit and
 * the affine warp against the face kit.
 *
 * - standalone cases (golden/align/standalone_cases.json lists them with their
 *   output size; kps and M come from the .safetensors twin): M's linear part
 *   within 1e-5, translation within 1e-3 (kit README section 7);
 * - warp_reference: our invertAffineTransform of M against M_inverse; the crop
 *   itself needs the photo;
 * - every image of index.json: M of each face from its keypoints, and the crops
 *   warped from the decoded photo (faces_decode_photo in faces_kit.c), compared
 *   with the golden crops (at most 2 levels on 0.1% of the values: insightface fits
 *   M in float32, we in double; kit README section 7); for an image the kit
 *   aligns no face on, our detector must find none on the photo.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faces_kit.h"
#include "io/json.h"
#include "pipeline/face_align.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_models.h"

#define STAGE "faces_align"

/* Compare one M with a golden F64 [.., 2, 3] tensor's entry at `index`. */
static void check_m(conf_ctx_t *c, const char *kase, const double M[6], const iid_safetensors_t *st,
                    const char *name, size_t index)
{
    double lin = 0.0, tr = 0.0;
    int missing = 0;
    for (int k = 0; k < 6; k++) {
        double g = faces_golden_f64(st, name, index * 6 + (size_t)k);
        if (isnan(g)) missing = 1;
        double d = fabs(M[k] - g);
        if (k % 3 == 2) tr = d > tr ? d : tr;
        else lin = d > lin ? d : lin;
    }
    if (missing) {
        conf_fail(c, STAGE, kase, name, "golden F64 matrix missing");
        return;
    }
    conf_used(c, iid__st_find(st, name));
    conf_result(c, lin <= 1e-5, STAGE, kase, "M_linear", lin, lin);
    conf_result(c, tr <= 1e-3, STAGE, kase, "M_translation", tr, tr);
}

static void standalone_cases(conf_ctx_t *c)
{
    char name[512];
    iid_json_t j;
    iid_error_t err;
    iid_safetensors_t st;
    if (conf_load_json(c, "faces/golden/align/standalone_cases.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "standalone", "-", "%s", err.msg);
        return;
    }
    if (faces_open(c, STAGE, "standalone", "golden/align/standalone_cases.safetensors", &st) != 0) {
        iid__json_free(&j);
        return;
    }
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(j.root, "cases"), *e;
    cJSON_ArrayForEach(e, cases)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(e, "image_size");
        if (!cJSON_IsString(nm) || !cJSON_IsNumber(sz)) continue;
        char kase[300];
        snprintf(kase, sizeof kase, "standalone/%s", nm->valuestring);
        snprintf(name, sizeof name, "%s.kps", nm->valuestring);
        const iid_st_tensor_t *kt = conf_in(c, &st, name);
        float kps[5][2];
        double M[6];
        if (!kt || iid__st_numel(kt) != 10 || iid__st_read_f32(kt, &kps[0][0], &err) != IID_OK) {
            conf_fail(c, STAGE, kase, name, "golden keypoints missing or not [5, 2]");
            continue;
        }
        if (iid__face_align_matrix((const float (*)[2])kps, sz->valueint, M, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, "M", "%s", err.msg);
            continue;
        }
        snprintf(name, sizeof name, "%s.M", nm->valuestring);
        check_m(c, kase, M, &st, name, 0);
    }
    conf_close(c, &st);
    iid__json_free(&j);
}

static void warp_reference(conf_ctx_t *c)
{
    iid_safetensors_t st;
    if (faces_open(c, STAGE, "warp_reference", "golden/align/warp_reference.safetensors", &st) != 0) return;
    double M[6], inv[6], d = 0.0;
    int ok = 1;
    for (int k = 0; k < 6; k++) M[k] = faces_golden_f64(&st, "M", (size_t)k);
    iid__affine_invert(M, inv);
    for (int k = 0; k < 6; k++) {
        double g = faces_golden_f64(&st, "M_inverse", (size_t)k);
        if (isnan(g) || isnan(M[k])) ok = 0;
        d = fmax(d, fabs(inv[k] - g));
    }
    conf_result(c, ok && d <= 1e-9, STAGE, "warp_reference", "M_inverse", d, d);
    conf_used(c, iid__st_find(&st, "M"));
    conf_used(c, iid__st_find(&st, "M_inverse"));
    const char *image = iid__st_meta(&st, "image");
    faces_image_t img = {{0}, {0}, NAN};
    snprintf(img.image, sizeof img.image, "%s", image ? image : "");
    snprintf(img.stem, sizeof img.stem, "warp_reference");
    uint8_t *bgr;
    int w, h;
    char reason[256];
    if (faces_decode_photo(c, &img, &bgr, &w, &h, reason, sizeof reason) != 0) {
        conf_skip(c, STAGE, "warp_reference", "crop_cv2_bgr", "%s", reason);
    } else {
        uint8_t crop[IID_ARCFACE_SIZE * IID_ARCFACE_SIZE * 3];
        iid__warp_affine_u8(crop, IID_ARCFACE_SIZE, IID_ARCFACE_SIZE, bgr, w, h, 3, M);
        conf_check_u8(c, STAGE, "warp_reference", "crop_cv2_bgr", crop, sizeof crop, iid__st_find(&st, "crop_cv2_bgr"),
                      0, 0.0);
        free(bgr);
    }
    conf_close(c, &st);
}

/* A photo the kit aligns no face on (M is [0, 2, 3]): our detector (the one the
 * image's align JSON names) must find none either, so that nothing is aligned. */
static void no_faces(conf_ctx_t *c, const faces_image_t *img, const iid_safetensors_t *st)
{
    const iid_st_tensor_t *m = iid__st_find(st, "M");
    if (!m || m->ndim != 3 || m->shape[0] != 0) {
        conf_fail(c, STAGE, img->stem, "M", "expected an empty [0, 2, 3] M for an image without faces");
        return;
    }
    conf_used(c, m);
    char detector[256] = "", reason[256];
    if (faces_twin_detector(c, "align", img, detector, sizeof detector) != 0) {
        conf_fail(c, STAGE, img->stem, "no_faces", "golden/align/%s.json names no detector", img->stem);
        return;
    }
    iid_error_t err;
    iid_onnx_net_t net;
    if (faces_load_net(c, STAGE, detector, &net) != 0) return;
    iid_tensor_t blob = {0};
    iid_face_list_t faces = {0};
    double det_scale;
    int dw, dh;
    iid_detect_params_t p;
    iid__detect_params_init(&p);
    iid__face_detector_size(&net, &dw, &dh);
    if (dw != dh || faces_detector_blob(c, img, dw, &blob, &det_scale, reason, sizeof reason) != 0)
        conf_fail(c, STAGE, img->stem, "no_faces", "%s", dw != dh ? "non-square detector input" : reason);
    else if (iid__face_detect(&net, &blob, det_scale, &p, &faces, &err) != IID_OK)
        conf_fail(c, STAGE, img->stem, "no_faces", "%s", err.msg);
    else
        conf_result(c, faces.count == 0, STAGE, img->stem, "no_faces", (double)faces.count, 0.0);
    iid__face_list_free(&faces);
    iid__tensor_free(&blob);
    iid__onnx_net_free(&net);
}

static void image_case(conf_ctx_t *c, const faces_image_t *img)
{
    char rel[1024], reason[256];
    iid_safetensors_t st;
    iid_error_t err;
    snprintf(rel, sizeof rel, "golden/align/%s.json", img->stem);
    faces_check_twin(c, STAGE, img->stem, rel, img, NULL);
    snprintf(rel, sizeof rel, "golden/align/%s.safetensors", img->stem);
    if (faces_open(c, STAGE, img->stem, rel, &st) != 0) return;
    const iid_st_tensor_t *kt = conf_in(c, &st, "kps");
    int64_t F = kt && kt->ndim == 3 ? kt->shape[0] : -1;
    float *kps = F > 0 ? malloc((size_t)F * 10 * sizeof(float)) : NULL;
    double *Ms = F > 0 ? malloc((size_t)F * 6 * sizeof(double)) : NULL;
    if (F < 0) {
        conf_fail(c, STAGE, img->stem, "kps", "golden keypoints missing");
    } else if (F == 0) {
        no_faces(c, img, &st);
    } else if (!kps || !Ms || iid__st_read_f32(kt, kps, &err) != IID_OK) {
        conf_fail(c, STAGE, img->stem, "kps", "cannot read the golden keypoints");
    } else {
        for (int64_t f = 0; f < F; f++) {
            char kase[300];
            snprintf(kase, sizeof kase, "%s/face%lld", img->stem, (long long)f);
            if (iid__face_align_matrix((const float (*)[2])(kps + f * 10), IID_ARCFACE_SIZE, Ms + f * 6, &err) != IID_OK)
                conf_fail(c, STAGE, kase, "M", "%s", err.msg);
            else
                check_m(c, kase, Ms + f * 6, &st, "M", (size_t)f);
        }
        uint8_t *bgr;
        int w, h;
        if (faces_decode_photo(c, img, &bgr, &w, &h, reason, sizeof reason) != 0) {
            conf_skip(c, STAGE, img->stem, "crops_bgr", "%s", reason);
        } else {
            size_t per = (size_t)IID_ARCFACE_SIZE * IID_ARCFACE_SIZE * 3;
            uint8_t *crops = malloc(per * (size_t)F);
            if (crops) {
                for (int64_t f = 0; f < F; f++)
                    iid__warp_affine_u8(crops + per * (size_t)f, IID_ARCFACE_SIZE, IID_ARCFACE_SIZE, bgr, w, h, 3,
                                        Ms + f * 6);
                conf_check_u8(c, STAGE, img->stem, "crops_bgr", crops, per * (size_t)F,
                              iid__st_find(&st, "crops_bgr"), 2, 1e-3);
            }
            free(crops);
            free(bgr);
        }
    }
    free(kps);
    free(Ms);
    conf_close(c, &st);
}

void stage_faces_align(conf_ctx_t *c)
{
    standalone_cases(c);
    warp_reference(c);
    faces_image_t *imgs;
    int n;
    if (faces_list_images(c, STAGE, &imgs, &n) != 0) return;
    for (int i = 0; i < n; i++) image_case(c, &imgs[i]);
    free(imgs);
}
