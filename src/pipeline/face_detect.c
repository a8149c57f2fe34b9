/*
 * face_detect.c - SCRFD output decoding, NMS and the largest-face choice.
 *
 * Arithmetic mirrors insightface's numpy code in float32: distances times the
 * stride, anchor centre minus/plus distance, then a float32 division by det_scale
 * (numpy casts the Python float to float32). NMS areas and IoU are float32 too.
 */
#include "pipeline/face_detect.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 8

void iid__detect_params_init(iid_detect_params_t *p)
{
    p->score_thresh = 0.5f;
    p->nms_thresh = 0.4f;
}

void iid__face_list_free(iid_face_list_t *list)
{
    if (!list) return;
    free(list->faces);
    list->faces = NULL;
    list->count = 0;
}

/* Rows and columns of a raw output: [R, C] or [1, R, C]. */
static int out_dims(const iid_tensor_t *t, int64_t *rows, int64_t *cols)
{
    if (t->dtype != IID_DTYPE_F32) return 0;
    if (t->ndim == 2) *rows = t->shape[0], *cols = t->shape[1];
    else if (t->ndim == 3 && t->shape[0] == 1) *rows = t->shape[1], *cols = t->shape[2];
    else return 0;
    return 1;
}

typedef struct level {
    int stride, anchors, ws;
    int64_t rows;
    const float *score, *box, *kps;
} level_t;

/* Work out strides and the anchor count from row counts and the input size. */
static int find_strides(level_t *lv, int fmc, int in_h, int in_w)
{
    for (int a = 1; a <= 8; a++) {
        for (int s0 = 1; s0 <= 256; s0 *= 2) {
            int ok = 1;
            for (int l = 0; l < fmc && ok; l++) {
                int64_t s = (int64_t)s0 << l;
                ok = (int64_t)a * (in_h / s) * (in_w / s) == lv[l].rows && lv[l].rows > 0;
            }
            if (!ok) continue;
            for (int l = 0; l < fmc; l++) {
                lv[l].stride = s0 << l;
                lv[l].anchors = a;
                lv[l].ws = in_w / lv[l].stride;
            }
            return 1;
        }
    }
    return 0;
}

static int cmp_score_desc(const void *pa, const void *pb)
{
    const iid_face_t *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? 1 : -1;
    if (a->stride != b->stride) return a->stride < b->stride ? -1 : 1; /* keep concatenation order */
    return a->row < b->row ? -1 : a->row > b->row;
}

iid_status iid__scrfd_candidates(const iid_tensor_t *outputs, int n_outputs, int in_h, int in_w, double det_scale,
                                 const iid_detect_params_t *p, const char *label, iid_face_list_t *out,
                                 iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    level_t lv[MAX_LEVELS];
    int fmc = 0;
    int64_t cols;
    for (int i = 0; i < n_outputs; i++) { /* score outputs have one column */
        int64_t r;
        if (!out_dims(&outputs[i], &r, &cols))
            return iid__fail(err, IID_ERR_FORMAT, "%s: output %d is not an F32 [rows, cols] tensor", label, i);
        if (cols == 1) fmc++;
    }
    int has_kps = fmc > 0 && n_outputs == 3 * fmc;
    if (fmc == 0 || fmc > MAX_LEVELS || (n_outputs != 2 * fmc && !has_kps))
        return iid__fail(err, IID_ERR_FORMAT, "%s: %d outputs do not form SCRFD score/box[/kps] groups", label, n_outputs);
    if (!(det_scale > 0) || in_h <= 0 || in_w <= 0)
        return iid__fail(err, IID_ERR_INVALID, "%s: bad input size %dx%d or det_scale %g", label, in_w, in_h, det_scale);
    for (int l = 0; l < fmc; l++) {
        int64_t r = 0, c = 0;
        memset(&lv[l], 0, sizeof lv[l]);
        const int want[3] = {1, 4, 10};
        for (int g = 0; g < (has_kps ? 3 : 2); g++) {
            const iid_tensor_t *t = &outputs[g * fmc + l];
            out_dims(t, &r, &c);
            if (c != want[g] || (g && r != lv[l].rows))
                return iid__fail(err, IID_ERR_FORMAT, "%s: output %d is [%lld, %lld], expected [%lld, %d]", label,
                                 g * fmc + l, (long long)r, (long long)c, (long long)(g ? lv[l].rows : r), want[g]);
            if (g == 0) lv[l].rows = r, lv[l].score = t->data;
            else if (g == 1) lv[l].box = t->data;
            else lv[l].kps = t->data;
        }
    }
    if (!find_strides(lv, fmc, in_h, in_w))
        return iid__fail(err, IID_ERR_FORMAT, "%s: output rows do not match any stride/anchor layout for %dx%d", label,
                         in_w, in_h);
    int64_t n = 0;
    for (int l = 0; l < fmc; l++)
        for (int64_t r = 0; r < lv[l].rows; r++) n += lv[l].score[r] >= p->score_thresh;
    out->faces = calloc((size_t)(n ? n : 1), sizeof *out->faces);
    if (!out->faces) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for %lld candidates", label, (long long)n);
    float ds = (float)det_scale;
    for (int l = 0; l < fmc; l++) {
        const level_t *L = &lv[l];
        float s = (float)L->stride;
        for (int64_t r = 0; r < L->rows; r++) {
            if (!(L->score[r] >= p->score_thresh)) continue;
            int64_t cell = r / L->anchors;
            float cx = (float)((cell % L->ws) * L->stride), cy = (float)((cell / L->ws) * L->stride);
            iid_face_t *f = &out->faces[out->count++];
            const float *d = L->box + r * 4;
            f->box[0] = (cx - d[0] * s) / ds;
            f->box[1] = (cy - d[1] * s) / ds;
            f->box[2] = (cx + d[2] * s) / ds;
            f->box[3] = (cy + d[3] * s) / ds;
            f->score = L->score[r];
            for (int k = 0; L->kps && k < IID_FACE_KPS; k++) {
                f->kps[k][0] = (cx + L->kps[r * 10 + 2 * k] * s) / ds;
                f->kps[k][1] = (cy + L->kps[r * 10 + 2 * k + 1] * s) / ds;
            }
            f->stride = L->stride;
            f->row = (int)r;
        }
    }
    qsort(out->faces, (size_t)out->count, sizeof *out->faces, cmp_score_desc);
    return IID_OK;
}

iid_status iid__face_nms(const iid_face_list_t *list, float thresh, int *keep, int *n_keep, iid_error_t *err)
{
    int n = list->count, k = 0;
    unsigned char *dead = calloc((size_t)n + 1, 1);
    *n_keep = 0;
    if (!dead) return iid__fail(err, IID_ERR_NOMEM, "NMS: out of memory for %d candidates", n);
    for (int i = 0; i < n; i++) {
        if (dead[i]) continue;
        keep[k++] = i;
        const float *a = list->faces[i].box;
        float area_a = (a[2] - a[0] + 1.0f) * (a[3] - a[1] + 1.0f);
        for (int j = i + 1; j < n; j++) {
            if (dead[j]) continue;
            const float *b = list->faces[j].box;
            float w = (b[2] < a[2] ? b[2] : a[2]) - (b[0] > a[0] ? b[0] : a[0]) + 1.0f;
            float h = (b[3] < a[3] ? b[3] : a[3]) - (b[1] > a[1] ? b[1] : a[1]) + 1.0f;
            float inter = (w > 0.0f ? w : 0.0f) * (h > 0.0f ? h : 0.0f);
            float area_b = (b[2] - b[0] + 1.0f) * (b[3] - b[1] + 1.0f);
            if (inter / (area_a + area_b - inter) > thresh) dead[j] = 1;
        }
    }
    free(dead);
    *n_keep = k;
    return IID_OK;
}

iid_status iid__scrfd_decode(const iid_tensor_t *outputs, int n_outputs, int in_h, int in_w, double det_scale,
                             const iid_detect_params_t *p, const char *label, iid_face_list_t *out, iid_error_t *err)
{
    IID_TRY(iid__scrfd_candidates(outputs, n_outputs, in_h, in_w, det_scale, p, label, out, err));
    int *keep = malloc(((size_t)out->count + 1) * sizeof(int)), nk = 0;
    if (!keep) {
        iid__face_list_free(out);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for NMS", label);
    }
    iid_status st = iid__face_nms(out, p->nms_thresh, keep, &nk, err);
    if (st != IID_OK) {
        free(keep);
        iid__face_list_free(out);
        return st;
    }
    for (int i = 0; i < nk; i++) out->faces[i] = out->faces[keep[i]]; /* keep[i] >= i */
    out->count = nk;
    free(keep);
    return IID_OK;
}

iid_status iid__face_detect(iid_onnx_net_t *det, const iid_tensor_t *blob, double det_scale,
                            const iid_detect_params_t *p, iid_face_list_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (det->n_inputs != 1 || det->n_outputs > 3 * MAX_LEVELS)
        return iid__fail(err, IID_ERR_INVALID, "%s: not a detector (%d inputs, %d outputs)", det->model.path,
                         det->n_inputs, det->n_outputs);
    if (blob->ndim != 4 || blob->shape[0] != 1 || blob->shape[1] != 3 || blob->shape[2] > 1 << 15 ||
        blob->shape[3] > 1 << 15)
        return iid__fail(err, IID_ERR_INVALID, "%s: detector input must be (1, 3, H, W)", det->model.path);
    iid_tensor_t outs[3 * MAX_LEVELS];
    const iid_tensor_t *in[1] = {blob};
    IID_TRY(iid__onnx_net_run(det, in, outs, err));
    iid_status st = iid__scrfd_decode(outs, det->n_outputs, (int)blob->shape[2], (int)blob->shape[3], det_scale, p,
                                      det->model.path, out, err);
    for (int i = 0; i < det->n_outputs; i++) iid__tensor_free(&outs[i]);
    return st;
}

int iid__face_largest(const iid_face_list_t *list)
{
    int best = -1;
    float best_area = 0.0f;
    for (int i = 0; i < list->count; i++) {
        const float *b = list->faces[i].box;
        float area = (b[2] - b[0]) * (b[3] - b[1]);
        if (best < 0 || area >= best_area) best = i, best_area = area;
    }
    return best;
}
