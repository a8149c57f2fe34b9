/*
 * stage_faces_detect.c - conformance stage 'faces_detect': SCRFD networks and
 * their post-processing against the face kit.
 *
 * Raw cases (golden/raw/<image>.<model>.outputs.safetensors with the matching
 * <image>.input.safetensors blob): the network's outputs in graph order against
 * the golden roles (1e-3 absolute), the decoding of the GOLDEN outputs against
 * golden/detect/<model>/<image> (must be exact: the same float32 arithmetic), and
 * the decoding of OUR outputs (boxes and keypoints within 0.01 px, scores 1e-4,
 * same candidates, NMS keep list and largest face).
 * Photo cases (every image of index.json for every model folder in golden/detect):
 * the photo is decoded and letterboxed as insightface does (faces_detector_blob in
 * faces_kit.c); where the kit stores that photo's blob, ours must equal it bit for
 * bit, and det_scale must equal index.json's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faces_kit.h"
#include "pipeline/face_detect.h"

#define STAGE "faces_detect"

/* The pre-NMS candidates (x1, y1, x2, y2, score rows): the box columns within
 * tol_px, the scores within tol_score (faces README section 7), reported apart. */
static void check_pre_nms(conf_ctx_t *c, const char *kase, const float *got, size_t P, const iid_st_tensor_t *pre,
                          double tol_px, double tol_score)
{
    float *want = malloc((P * 5 + 1) * sizeof *want);
    iid_error_t err;
    if (!want || iid__st_read_f32(pre, want, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "pre_nms", "cannot read the golden candidates");
        free(want);
        return;
    }
    conf_used(c, pre);
    double box = 0.0, score = 0.0;
    for (size_t i = 0; i < P * 5; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (i % 5 == 4) score = d > score || isnan(d) ? d : score;
        else box = d > box || isnan(d) ? d : box;
    }
    free(want);
    conf_result(c, box <= tol_px, STAGE, kase, "pre_nms.boxes", box, box);
    conf_result(c, score <= tol_score, STAGE, kase, "pre_nms.scores", score, score);
}

/* Compare decoded faces with a detect golden; tol 0 demands bit-exact values. */
static void check_detections(conf_ctx_t *c, const char *kase, const iid_face_list_t *cand, const iid_face_list_t *faces,
                             int largest, const iid_safetensors_t *g, double tol_px, double tol_score)
{
    const iid_st_tensor_t *pre = iid__st_find(g, "pre_nms");
    if (!pre || pre->ndim != 2 || pre->shape[0] != cand->count) {
        conf_fail(c, STAGE, kase, "pre_nms", "%d candidates, golden has %lld", cand->count,
                  pre ? (long long)pre->shape[0] : -1LL);
        return;
    }
    size_t P = (size_t)cand->count, F = (size_t)faces->count;
    float *v = calloc(P * 10 + F * 10 + 1, sizeof(float));
    int64_t *iv = calloc(P * 2 + F + 1, sizeof(int64_t));
    if (!v || !iv) {
        conf_fail(c, STAGE, kase, "-", "out of memory");
        free(v);
        free(iv);
        return;
    }
    for (size_t i = 0; i < P; i++) {
        memcpy(v + i * 5, cand->faces[i].box, 4 * sizeof(float));
        v[i * 5 + 4] = cand->faces[i].score;
        iv[i * 2] = cand->faces[i].stride;
        iv[i * 2 + 1] = cand->faces[i].row;
    }
    check_pre_nms(c, kase, v, P, pre, tol_px, tol_score);
    conf_check_int(c, STAGE, kase, "pre_nms_src", iv, P * 2, iid__st_find(g, "pre_nms_src"));
    for (size_t i = 0; i < P; i++) memcpy(v + i * 10, cand->faces[i].kps, 10 * sizeof(float));
    conf_check_f32_abs(c, STAGE, kase, "pre_nms_kps", v, P * 10, iid__st_find(g, "pre_nms_kps"), tol_px);

    const iid_st_tensor_t *boxes = iid__st_find(g, "boxes");
    if (!boxes || boxes->shape[0] != faces->count) {
        conf_fail(c, STAGE, kase, "boxes", "%d faces, golden has %lld", faces->count,
                  boxes ? (long long)boxes->shape[0] : -1LL);
    } else {
        for (size_t i = 0; i < F; i++) memcpy(v + i * 4, faces->faces[i].box, 4 * sizeof(float));
        conf_check_f32_abs(c, STAGE, kase, "boxes", v, F * 4, boxes, tol_px);
        for (size_t i = 0; i < F; i++) v[i] = faces->faces[i].score;
        conf_check_f32_abs(c, STAGE, kase, "scores", v, F, iid__st_find(g, "scores"), tol_score);
        for (size_t i = 0; i < F; i++) memcpy(v + i * 10, faces->faces[i].kps, 10 * sizeof(float));
        conf_check_f32_abs(c, STAGE, kase, "kps", v, F * 10, iid__st_find(g, "kps"), tol_px);
    }
    /* The NMS keep list: indices into the candidate list. */
    int *keep = malloc((P + 1) * sizeof(int)), nk = 0;
    iid_error_t err;
    if (keep && iid__face_nms(cand, 0.4f, keep, &nk, &err) == IID_OK) {
        for (int i = 0; i < nk; i++) iv[i] = keep[i];
        conf_check_int(c, STAGE, kase, "keep", iv, (size_t)nk, iid__st_find(g, "keep"));
    } else {
        conf_fail(c, STAGE, kase, "keep", "NMS failed");
    }
    free(keep);
    int64_t lg = largest;
    conf_check_int(c, STAGE, kase, "largest", &lg, 1, iid__st_find(g, "largest"));
    free(v);
    free(iv);
}

/* Candidates + NMS + largest from raw outputs, then the comparison. */
static void decode_and_check(conf_ctx_t *c, const char *kase, const iid_tensor_t *outs, int n_out, int H, int W,
                             double det_scale, const iid_safetensors_t *g, double tol_px, double tol_score)
{
    iid_detect_params_t p;
    iid__detect_params_init(&p);
    iid_face_list_t cand, faces;
    iid_error_t err;
    if (iid__scrfd_candidates(outs, n_out, H, W, det_scale, &p, kase, &cand, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "-", "%s", err.msg);
        return;
    }
    if (iid__scrfd_decode(outs, n_out, H, W, det_scale, &p, kase, &faces, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "-", "%s", err.msg);
        iid__face_list_free(&cand);
        return;
    }
    check_detections(c, kase, &cand, &faces, iid__face_largest(&faces), g, tol_px, tol_score);
    iid__face_list_free(&cand);
    iid__face_list_free(&faces);
}

/* Split "a,b,c" into at most cap NUL-terminated parts inside buf. */
static int split_list(char *buf, char **parts, int cap)
{
    int n = 0;
    for (char *s = buf; s && *s && n < cap;) {
        parts[n++] = s;
        s = strchr(s, ',');
        if (s) *s++ = '\0';
    }
    return n;
}

static void raw_case(conf_ctx_t *c, const char *stem, const char *model)
{
    char kase[512], rel[1024], list_a[1024], list_b[1024];
    snprintf(kase, sizeof kase, "raw/%s/%s", model, stem);
    iid_safetensors_t in_st, out_st, det_st;
    snprintf(rel, sizeof rel, "golden/raw/%s.input.safetensors", stem);
    if (faces_open(c, STAGE, kase, rel, &in_st)) return;
    snprintf(rel, sizeof rel, "golden/raw/%s.%s.outputs.safetensors", stem, model);
    if (faces_open(c, STAGE, kase, rel, &out_st)) {
        conf_close(c, &in_st);
        return;
    }
    snprintf(rel, sizeof rel, "golden/detect/%s/%s.safetensors", model, stem);
    if (faces_open(c, STAGE, kase, rel, &det_st)) {
        conf_close(c, &in_st);
        conf_close(c, &out_st);
        return;
    }
    iid_onnx_net_t net;
    iid_tensor_t blob = {0}, outs[32], gold[32];
    int n_out = 0, n_gold = 0;
    iid_error_t err;
    const iid_st_tensor_t *b = conf_in(c, &in_st, "blob");
    const char *names_meta = iid__st_meta(&out_st, "graph_output_names_in_order");
    const char *roles_meta = iid__st_meta(&out_st, "roles_in_order");
    char *names[32], *roles[32];
    snprintf(rel, sizeof rel, "%s.onnx", model);
    if (!b || b->ndim != 4 || !names_meta || !roles_meta) {
        conf_fail(c, STAGE, kase, "-", "golden blob or output order metadata missing");
    } else if (faces_load_net(c, STAGE, rel, &net) == 0) {
        snprintf(list_a, sizeof list_a, "%s", names_meta);
        snprintf(list_b, sizeof list_b, "%s", roles_meta);
        int nn = split_list(list_a, names, 32), nr = split_list(list_b, roles, 32);
        const iid_tensor_t *in[1] = {&blob};
        if (nn != nr || nn != net.n_outputs || net.n_outputs > 32) {
            conf_fail(c, STAGE, kase, "-", "%d graph outputs, golden lists %d names and %d roles", net.n_outputs, nn,
                      nr);
        } else if (iid__tensor_alloc(&blob, IID_DTYPE_F32, 4, b->shape, &err) != IID_OK ||
                   iid__st_read_f32(b, blob.data, &err) != IID_OK || iid__onnx_net_run(&net, in, outs, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, "-", "%s", err.msg);
        } else {
            n_out = net.n_outputs;
            for (int i = 0; i < n_out; i++) {
                char tname[128];
                snprintf(tname, sizeof tname, "%s(%s)", roles[i], iid__onnx_net_output_name(&net, i));
                if (strcmp(iid__onnx_net_output_name(&net, i), names[i]) != 0)
                    conf_fail(c, STAGE, kase, tname, "graph output %d is '%s', golden says '%s'", i,
                              iid__onnx_net_output_name(&net, i), names[i]);
                else
                    conf_check_f32_abs(c, STAGE, kase, tname, outs[i].data, (size_t)iid__tensor_numel(&outs[i]),
                                       iid__st_find(&out_st, roles[i]), 1e-3);
                const iid_st_tensor_t *gt = iid__st_find(&out_st, roles[i]);
                if (gt && iid__tensor_alloc(&gold[n_gold], IID_DTYPE_F32, gt->ndim, gt->shape, &err) == IID_OK) {
                    if (iid__st_read_f32(gt, gold[n_gold].data, &err) == IID_OK) n_gold++;
                    else iid__tensor_free(&gold[n_gold]);
                }
            }
        }
        iid__onnx_net_free(&net);
    }
    double det_scale = faces_golden_f64(&det_st, "det_scale", 0);
    conf_used(c, iid__st_find(&det_st, "det_scale")); /* decodes the stored outputs */
    int H = b ? (int)b->shape[2] : 0, W = b ? (int)b->shape[3] : 0;
    char k2[600];
    if (n_gold == n_out && n_out > 0) {
        snprintf(k2, sizeof k2, "%s/decode_golden_outputs", kase);
        decode_and_check(c, k2, gold, n_gold, H, W, det_scale, &det_st, 0.0, 0.0);
    }
    if (n_out > 0) {
        snprintf(k2, sizeof k2, "%s/decode_our_outputs", kase);
        decode_and_check(c, k2, outs, n_out, H, W, det_scale, &det_st, 0.01, 1e-4);
    }
    for (int i = 0; i < n_out; i++) iid__tensor_free(&outs[i]);
    for (int i = 0; i < n_gold; i++) iid__tensor_free(&gold[i]);
    iid__tensor_free(&blob);
    conf_close(c, &in_st);
    conf_close(c, &out_st);
    conf_close(c, &det_st);
}

/* Our blob against the kit's stored one (exact) and det_scale against index.json. */
static void check_blob(conf_ctx_t *c, const char *kase, const faces_image_t *img, const iid_tensor_t *blob,
                       double det_scale)
{
    iid_tensor_t stored;
    if (!isnan(img->det_scale))
        conf_result(c, det_scale == img->det_scale, STAGE, kase, "det_scale", fabs(det_scale - img->det_scale), 0.0);
    if (faces_stored_blob(c, img, (int)blob->shape[2], &stored) != 0) return;
    size_t n = (size_t)iid__tensor_numel(blob);
    double d = 0.0;
    int same = iid__tensor_numel(&stored) == (int64_t)n;
    const float *a = blob->data, *b = stored.data;
    for (size_t i = 0; same && i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    conf_result(c, same && d == 0.0, STAGE, kase, "blob_vs_stored", d, 0.0);
    iid__tensor_free(&stored);
}

/* One photo through one detector. */
static void photo_case(conf_ctx_t *c, const faces_image_t *img, const char *model)
{
    char kase[512], reason[256], rel[1024];
    snprintf(kase, sizeof kase, "%s/%s", model, img->stem);
    iid_tensor_t blob;
    double det_scale;
    if (faces_detector_blob(c, img, 640, &blob, &det_scale, reason, sizeof reason) != 0) {
        conf_skip(c, STAGE, kase, "-", "%s", reason);
        return;
    }
    check_blob(c, kase, img, &blob, det_scale);
    iid_safetensors_t g;
    iid_onnx_net_t net;
    iid_tensor_t outs[32];
    iid_error_t err;
    const iid_tensor_t *in[1] = {&blob};
    snprintf(rel, sizeof rel, "golden/detect/%s/%s.json", model, img->stem);
    faces_check_twin(c, STAGE, kase, rel, img, &blob);
    snprintf(rel, sizeof rel, "golden/detect/%s/%s.safetensors", model, img->stem);
    if (faces_open(c, STAGE, kase, rel, &g) == 0) {
        double want = faces_golden_f64(&g, "det_scale", 0);
        conf_used(c, iid__st_find(&g, "det_scale"));
        conf_result(c, want == det_scale, STAGE, kase, "det_scale(golden)", fabs(det_scale - want), 0.0);
        snprintf(rel, sizeof rel, "%s.onnx", model);
        if (faces_load_net(c, STAGE, rel, &net) == 0) {
            if (net.n_outputs > 32 || iid__onnx_net_run(&net, in, outs, &err) != IID_OK) {
                conf_fail(c, STAGE, kase, "-", "%s", net.n_outputs > 32 ? "too many outputs" : err.msg);
            } else {
                decode_and_check(c, kase, outs, net.n_outputs, (int)blob.shape[2], (int)blob.shape[3], det_scale, &g,
                                 0.01, 1e-4);
                for (int i = 0; i < net.n_outputs; i++) iid__tensor_free(&outs[i]);
            }
            iid__onnx_net_free(&net);
        }
        conf_close(c, &g);
    }
    iid__tensor_free(&blob);
}

void stage_faces_detect(conf_ctx_t *c)
{
    char **raw, **models;
    int n_raw, n_models;
    if (faces_list_dir(c, "golden/raw", ".outputs.safetensors", &raw, &n_raw) != 0 || n_raw == 0)
        conf_skip(c, STAGE, "raw", "-", "no golden/raw/*.outputs.safetensors in the face kit");
    for (int i = 0; i < n_raw; i++) {
        /* "<image>.<model>.outputs.safetensors": image stems have no dot, model names may. */
        char *name = raw[i], *dot = strchr(name, '.');
        name[strlen(name) - strlen(".outputs.safetensors")] = '\0';
        if (!dot || !dot[1]) continue;
        *dot = '\0';
        raw_case(c, name, dot + 1);
    }
    faces_free_names(raw, n_raw);

    faces_image_t *imgs;
    int n_imgs;
    if (faces_list_images(c, STAGE, &imgs, &n_imgs) != 0) return;
    if (faces_list_dir(c, "golden/detect", "", &models, &n_models) == 0) {
        for (int m = 0; m < n_models; m++) {
            if (models[m][0] == '.') continue;
            for (int i = 0; i < n_imgs; i++) photo_case(c, &imgs[i], models[m]);
        }
        faces_free_names(models, n_models);
    }
    free(imgs);
}
