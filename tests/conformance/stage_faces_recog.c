/*
 * stage_faces_recog.c - conformance stage 'faces_recog': the recognisers on the
 * face kit's crops.
 *
 * Recognisers are found by classifying every model in faces/models as
 * insightface does (pipeline/face_models.h); a golden tensor
 * "<model stem>.embedding" names the model it belongs to.
 * - blob_reference: our blob from crop_bgr against the golden blob (bit-exact),
 *   then each recogniser's RAW embedding: cosine >= 0.9999 and norm within
 *   0.1% (kit README section 7);
 * - every image of index.json: the crops stored in golden/align through each
 *   recogniser, row by row, with the same tolerances (no decoder needed); for
 *   an image without crops our whole face step must end in "no face found";
 * - every image of index.json end to end: the photo decoded, letterboxed and run
 *   through the detector golden/recog/<image>.json names, each detected face
 *   aligned on the photo and embedded by each recogniser, against the same
 *   golden rows (same face count first);
 * - golden/tiny_iresnet/cases: the batch through the model its metadata names,
 *   1e-3 absolute against torch (normed_embedding as unit vectors, 1e-4), the
 *   graph's input/output names and operator counts as cases.json describes them,
 *   and its intermediate activations (kept from the
 *   graph by structure: first PRelu, last block Add of each stage's shape,
 *   Flatten, Gemm) for the case they belong to.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faces_kit.h"
#include "io/json.h"
#include "pipeline/face_align.h"
#include "pipeline/face_analysis.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_models.h"

#define STAGE "faces_recog"
#define MAX_RECOG 8

typedef struct recog {
    char stem[256];
    iid_face_recognizer_t r;
} recog_t;

/* Cosine and relative norm difference of n floats against a golden row. */
static void check_embedding(conf_ctx_t *c, const char *kase, const char *tensor, const float *got, size_t n,
                            const iid_st_tensor_t *ref, size_t row)
{
    if (!ref || ref->ndim != 2 || (size_t)ref->shape[1] != n || (size_t)ref->shape[0] <= row) {
        conf_fail(c, STAGE, kase, tensor, "golden embedding missing or of another size");
        return;
    }
    conf_used(c, ref);
    float *want = malloc((size_t)iid__st_numel(ref) * sizeof(float));
    iid_error_t err;
    if (!want || iid__st_read_f32(ref, want, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, tensor, "cannot read the golden embedding");
        free(want);
        return;
    }
    const float *w = want + row * n;
    double dot = 0, ng = 0, nw = 0, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)got[i] * w[i];
        ng += (double)got[i] * got[i];
        nw += (double)w[i] * w[i];
        max_abs = fmax(max_abs, fabs((double)got[i] - w[i]));
    }
    free(want);
    double cosv = dot / sqrt(ng * nw), dnorm = fabs(sqrt(ng) - sqrt(nw)) / sqrt(nw);
    int ok = cosv >= 0.9999 && dnorm <= 1e-3;
    conf_result(c, ok, STAGE, kase, tensor, max_abs, 1.0 - cosv);
    if (!ok) printf("  cosine %.7f, norm %.5f vs %.5f\n", cosv, sqrt(ng), sqrt(nw));
}

/* Load and classify every model; keep the recognisers. */
static int load_recognizers(conf_ctx_t *c, recog_t *out, int cap)
{
    char **names;
    int n, k = 0;
    if (faces_list_dir(c, "models", ".onnx", &names, &n) != 0) return 0;
    for (int i = 0; i < n && k < cap; i++) {
        iid_onnx_net_t net;
        iid_error_t err;
        if (faces_load_net(c, STAGE, names[i], &net) != 0) continue;
        if (iid__face_model_role(&net) != IID_FACE_ROLE_RECOGNIZER) {
            iid__onnx_net_free(&net);
            continue;
        }
        snprintf(out[k].stem, sizeof out[k].stem, "%s", names[i]);
        out[k].stem[strlen(out[k].stem) - 5] = '\0';
        if (iid__face_recognizer_init(&out[k].r, &net, &err) != IID_OK) conf_fail(c, STAGE, names[i], "-", "%s", err.msg);
        else k++;
    }
    faces_free_names(names, n);
    return k;
}

static void embed_and_check(conf_ctx_t *c, recog_t *rg, const char *kase, const uint8_t *crop,
                            const iid_safetensors_t *st, size_t row)
{
    char tensor[300];
    iid_tensor_t emb;
    iid_error_t err;
    snprintf(tensor, sizeof tensor, "%s.embedding", rg->stem);
    if (iid__face_embed(&rg->r, crop, &emb, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, tensor, "%s", err.msg);
        return;
    }
    size_t n = (size_t)emb.shape[1];
    check_embedding(c, kase, tensor, emb.data, n, iid__st_find(st, tensor), row);
    /* insightface's normed_embedding, where the kit has it: ours divided by its L2 norm. */
    snprintf(tensor, sizeof tensor, "%s.normed_embedding", rg->stem);
    const iid_st_tensor_t *normed = iid__st_find(st, tensor);
    if (normed) {
        float *e = emb.data;
        double norm = 0.0;
        for (size_t i = 0; i < n; i++) norm += (double)e[i] * e[i];
        norm = sqrt(norm);
        for (size_t i = 0; i < n && norm > 0; i++) e[i] = (float)(e[i] / norm);
        check_embedding(c, kase, tensor, e, n, normed, row);
    }
    iid__tensor_free(&emb);
}

static void blob_reference(conf_ctx_t *c, recog_t *rg, int n_rg)
{
    iid_safetensors_t st;
    iid_error_t err;
    if (faces_open(c, STAGE, "blob_reference", "golden/recog/blob_reference.safetensors", &st) != 0) return;
    const iid_st_tensor_t *crop = conf_in(c, &st, "crop_bgr");
    iid_tensor_t blob;
    if (!crop || crop->dtype != IID_DTYPE_U8 || crop->ndim != 3 || crop->shape[2] != 3) {
        conf_fail(c, STAGE, "blob_reference", "crop_bgr", "missing or not HxWx3 uint8");
    } else {
        if (iid__face_recog_blob(crop->data, (int)crop->shape[1], (int)crop->shape[0], 127.5f, 127.5f, &blob, &err) !=
            IID_OK) {
            conf_fail(c, STAGE, "blob_reference", "blob", "%s", err.msg);
        } else {
            conf_check_f32_abs(c, STAGE, "blob_reference", "blob", blob.data, (size_t)iid__tensor_numel(&blob),
                               iid__st_find(&st, "blob"), 0.0);
            iid__tensor_free(&blob);
        }
        for (int m = 0; m < n_rg; m++) embed_and_check(c, &rg[m], "blob_reference", crop->data, &st, 0);
    }
    conf_close(c, &st);
}

/* A photo the kit has no face crop (and no embedding row) for: our whole face step
 * (detect, choose, align, embed) must end in "no face found" with each recogniser,
 * as InstantID's demo does. */
static void no_face_found(conf_ctx_t *c, const faces_image_t *img, recog_t *rg, int n_rg, const iid_safetensors_t *rc)
{
    char kase[300], reason[256], detector[256];
    snprintf(kase, sizeof kase, "%s/no_face", img->stem);
    iid_face_models_t fm;
    memset(&fm, 0, sizeof fm);
    if (n_rg == 0 || faces_twin_detector(c, "recog", img, detector, sizeof detector) != 0) {
        conf_fail(c, STAGE, kase, "-", "%s", n_rg ? "golden/recog/<image>.json names no detector"
                                                  : "no recogniser to run the face step with");
        return;
    }
    if (faces_load_net(c, STAGE, detector, &fm.detector) != 0) return;
    iid_tensor_t blob = {0};
    uint8_t *bgr = NULL;
    int w, h, dw, dh;
    double det_scale;
    iid__face_detector_size(&fm.detector, &dw, &dh);
    if (dw != dh || faces_photo_blob(c, img, dw, &blob, &det_scale, reason, sizeof reason) != 0 ||
        faces_decode_photo(c, img, &bgr, &w, &h, reason, sizeof reason) != 0) {
        conf_fail(c, STAGE, kase, "-", "%s", dw != dh ? "non-square detector input" : reason);
    } else {
        for (int m = 0; m < n_rg; m++) {
            char tensor[300];
            snprintf(tensor, sizeof tensor, "%s.embedding", rg[m].stem);
            const iid_st_tensor_t *want = iid__st_find(rc, tensor);
            if (!want || want->ndim != 2 || want->shape[0] != 0) {
                conf_fail(c, STAGE, kase, tensor, "expected an empty [0, D] embedding for an image without faces");
                continue;
            }
            conf_used(c, want);
            iid_face_analysis_t fa;
            iid_error_t err;
            iid_error_clear(&err);
            fm.recognizer = rg[m].r; /* borrowed: not freed here */
            iid_status s = iid__face_analyze(&fm, &blob, det_scale, bgr, w, h, &fa, &err);
            conf_result(c, s == IID_ERR_NOT_FOUND && fa.faces.count == 0, STAGE, kase, rg[m].stem,
                        (double)fa.faces.count, 0.0);
            if (s != IID_ERR_NOT_FOUND) printf("  expected 'no face found', got status %d: %s\n", (int)s, err.msg);
            iid__face_analysis_free(&fa);
        }
    }
    free(bgr);
    iid__tensor_free(&blob);
    iid__onnx_net_free(&fm.detector);
}

static void image_case(conf_ctx_t *c, const faces_image_t *img, recog_t *rg, int n_rg)
{
    char rel[1024], kase[300];
    iid_safetensors_t al, rc;
    snprintf(rel, sizeof rel, "golden/align/%s.safetensors", img->stem);
    if (faces_open(c, STAGE, img->stem, rel, &al) != 0) return;
    snprintf(rel, sizeof rel, "golden/recog/%s.safetensors", img->stem);
    if (faces_open(c, STAGE, img->stem, rel, &rc) != 0) {
        conf_close(c, &al);
        return;
    }
    const iid_st_tensor_t *crops = conf_in(c, &al, "crops_bgr");
    if (!crops || crops->dtype != IID_DTYPE_U8 || crops->ndim != 4) {
        conf_fail(c, STAGE, img->stem, "crops_bgr", "missing or not [F, H, W, 3] uint8");
    } else if (crops->shape[0] == 0) {
        no_face_found(c, img, rg, n_rg, &rc);
    } else {
        size_t per = (size_t)(crops->shape[1] * crops->shape[2] * crops->shape[3]);
        for (int64_t f = 0; f < crops->shape[0]; f++) {
            snprintf(kase, sizeof kase, "%s/face%lld", img->stem, (long long)f);
            for (int m = 0; m < n_rg; m++) {
                if (crops->shape[1] != rg[m].r.input_size || crops->shape[2] != rg[m].r.input_size) {
                    conf_fail(c, STAGE, kase, rg[m].stem, "crop size differs from the model input");
                    continue;
                }
                embed_and_check(c, &rg[m], kase, (const uint8_t *)crops->data + per * (size_t)f, &rc, (size_t)f);
            }
        }
    }
    conf_close(c, &al);
    conf_close(c, &rc);
}

/* The photo through detection, alignment and each recogniser. */
static void photo_case(conf_ctx_t *c, const faces_image_t *img, recog_t *rg, int n_rg)
{
    char rel[1024], path[4096], kase[300], reason[512];
    iid_json_t j;
    iid_error_t err;
    snprintf(rel, sizeof rel, "golden/recog/%s.json", img->stem);
    snprintf(path, sizeof path, "faces/%s", rel);
    if (conf_load_json(c, path, &j, &err) != IID_OK) {
        conf_skip(c, STAGE, img->stem, "photo", "%s", err.msg);
        return;
    }
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(j.root, "detector");
    snprintf(kase, sizeof kase, "%s/photo", img->stem);
    iid_onnx_net_t net;
    iid_safetensors_t rc;
    iid_tensor_t blob = {0};
    iid_face_list_t faces = {0};
    uint8_t *bgr = NULL;
    int w = 0, h = 0, dw = 0, dh = 0;
    double det_scale = 0.0;
    if (!cJSON_IsString(det)) {
        conf_fail(c, STAGE, kase, "detector", "golden/recog/%s.json names no detector", img->stem);
        iid__json_free(&j);
        return;
    }
    snprintf(rel, sizeof rel, "golden/recog/%s.safetensors", img->stem);
    if (faces_open(c, STAGE, kase, rel, &rc) != 0) {
        iid__json_free(&j);
        return;
    }
    if (faces_load_net(c, STAGE, det->valuestring, &net) == 0) {
        iid_detect_params_t p;
        iid__detect_params_init(&p);
        iid__face_detector_size(&net, &dw, &dh);
        if (dw != dh || faces_photo_blob(c, img, dw, &blob, &det_scale, reason, sizeof reason) != 0 ||
            faces_decode_photo(c, img, &bgr, &w, &h, reason, sizeof reason) != 0) {
            conf_fail(c, STAGE, kase, "-", "%s", dw != dh ? "non-square detector input" : reason);
        } else if (iid__face_detect(&net, &blob, det_scale, &p, &faces, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, "detect", "%s", err.msg);
        } else {
            for (int m = 0; m < n_rg; m++) {
                char tensor[300];
                snprintf(tensor, sizeof tensor, "%s.embedding", rg[m].stem);
                const iid_st_tensor_t *ref = iid__st_find(&rc, tensor);
                int64_t want = ref && ref->ndim == 2 ? ref->shape[0] : -1;
                char label[320];
                snprintf(label, sizeof label, "face_count(%s)", rg[m].stem);
                conf_result(c, want == faces.count, STAGE, kase, label, fabs((double)(want - faces.count)), 0.0);
                if (want != faces.count) continue;
                int size = rg[m].r.input_size;
                uint8_t *crop = malloc((size_t)size * size * 3);
                for (int f = 0; crop && f < faces.count; f++) {
                    char k2[340];
                    double M[6];
                    snprintf(k2, sizeof k2, "%s/face%d", kase, f);
                    if (iid__face_align_matrix((const float (*)[2])faces.faces[f].kps, size, M, &err) != IID_OK) {
                        conf_fail(c, STAGE, k2, "M", "%s", err.msg);
                        continue;
                    }
                    iid__warp_affine_u8(crop, size, size, bgr, w, h, 3, M);
                    embed_and_check(c, &rg[m], k2, crop, &rc, (size_t)f);
                }
                free(crop);
            }
        }
        iid__face_list_free(&faces);
        iid__onnx_net_free(&net);
    }
    free(bgr);
    iid__tensor_free(&blob);
    conf_close(c, &rc);
    iid__json_free(&j);
}

/* The graph value an activation label names, found from the IResNet structure the
 * kit describes: "stem_channel0" the first PRelu (channel 0), "stageN" the last
 * block Add with the activation's shape, "flatten" the Flatten, "fc" the Gemm. */
static const char *activation_value(iid_onnx_net_t *net, const char *label, const iid_st_tensor_t *act,
                                    iid_tensor_t *kept, const char **kept_names, int n_kept)
{
    const iid_onnx_graph_t *g = &net->model.graph;
    const char *op = strcmp(label, "stem_channel0") == 0 ? "PRelu"
                   : strncmp(label, "stage", 5) == 0      ? "Add"
                   : strcmp(label, "flatten") == 0        ? "Flatten"
                   : strcmp(label, "fc") == 0             ? "Gemm"
                                                          : NULL;
    const char *found = NULL;
    for (int i = 0; op && i < g->n_nodes; i++) {
        if (strcmp(g->nodes[i].op_type, op) != 0) continue;
        const char *name = g->nodes[i].outputs[0];
        if (op[0] == 'P') return name; /* the first PRelu */
        if (op[0] != 'A') found = name;
        for (int k = 0; op[0] == 'A' && k < n_kept; k++)
            if (strcmp(kept_names[k], name) == 0 && kept[k].ndim == act->ndim &&
                memcmp(kept[k].shape, act->shape, (size_t)act->ndim * sizeof(int64_t)) == 0)
                found = name;
    }
    return found;
}

/* The intermediate activations of one input of the batch (act_<case>.<label>). */
static void tiny_activations(conf_ctx_t *c, const iid_safetensors_t *st, iid_onnx_net_t *net, const iid_tensor_t *x)
{
    const char *inputs = iid__st_meta(st, "inputs");
    const iid_onnx_graph_t *g = &net->model.graph;
    iid_error_t err;
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name, *dot = strchr(name, '.');
        if (strncmp(name, "act_", 4) != 0 || !dot) continue;
        int seen = 0; /* a case is handled at its first activation (names are sorted) */
        for (int j = 0; j < i && !seen; j++) seen = strncmp(st->tensors[j].name, name, (size_t)(dot - name) + 1) == 0;
        if (seen) continue;
        char kase[128];
        snprintf(kase, sizeof kase, "%.*s", (int)(dot - name - 4), name + 4);
        /* The case's row in the batch: its position in the metadata list. */
        int row = -1, k = 0;
        for (const char *p = inputs; p && *p; k++) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len == strlen(kase) && strncmp(p, kase, len) == 0) row = k;
            p = e ? e + 1 : NULL;
        }
        if (row < 0 || row >= x->shape[0]) {
            conf_skip(c, STAGE, "tiny_iresnet", name, "case '%s' is not in the metadata's input list", kase);
            continue;
        }
        /* Run that one input keeping every PRelu, Add, Flatten and Gemm output. */
        const char **kn = calloc((size_t)g->n_nodes + 1, sizeof *kn);
        iid_tensor_t *kv = calloc((size_t)g->n_nodes + 1, sizeof *kv), one, y;
        int nk = 0;
        int64_t shape[4] = {1, x->shape[1], x->shape[2], x->shape[3]};
        size_t per = (size_t)(x->shape[1] * x->shape[2] * x->shape[3]);
        iid__tensor_view(&one, IID_DTYPE_F32, 4, shape, (float *)x->data + per * (size_t)row);
        const iid_tensor_t *ins[1] = {&one};
        for (int n = 0; kn && kv && n < g->n_nodes; n++) {
            const char *op = g->nodes[n].op_type;
            if (strcmp(op, "PRelu") && strcmp(op, "Add") && strcmp(op, "Flatten") && strcmp(op, "Gemm")) continue;
            if (iid__onnx_net_keep(net, g->nodes[n].outputs[0], &err) == IID_OK) kn[nk++] = g->nodes[n].outputs[0];
        }
        if (!kn || !kv || iid__onnx_net_run(net, ins, &y, &err) != IID_OK) {
            conf_fail(c, STAGE, "tiny_iresnet", name, "%s", kn && kv ? err.msg : "out of memory");
        } else {
            iid__tensor_free(&y);
            for (int n = 0; n < nk; n++) iid__onnx_net_take(net, kn[n], &kv[n], &err);
            /* Every activation of this case, now that the values are at hand. */
            for (int j = i; j < st->count; j++) {
                const iid_st_tensor_t *act = &st->tensors[j];
                if (strncmp(act->name, name, (size_t)(dot - name) + 1) != 0) continue;
                const char *label = act->name + (dot - name) + 1;
                const char *vname = activation_value(net, label, act, kv, kn, nk);
                int idx = -1;
                for (int n = 0; vname && n < nk; n++)
                    if (strcmp(kn[n], vname) == 0) idx = n;
                if (idx < 0 || iid__tensor_numel(&kv[idx]) < iid__st_numel(act))
                    conf_skip(c, STAGE, "tiny_iresnet", act->name, "no graph value matches this activation");
                else /* a prefix: channel 0 for stem_channel0, the whole value otherwise */
                    conf_check_f32_abs(c, STAGE, "tiny_iresnet", act->name, kv[idx].data, (size_t)iid__st_numel(act),
                                       act, 1e-3);
            }
        }
        for (int n = 0; kv && n < nk; n++) iid__tensor_free(&kv[n]);
        free(kn);
        free(kv);
    }
}

/* normed_embedding: our rows divided by their L2 norm; 1e-3 absolute on values up
 * to 25 becomes 1e-4 on unit vectors. */
static void check_tiny_normed(conf_ctx_t *c, const iid_safetensors_t *st, iid_tensor_t *y)
{
    const iid_st_tensor_t *ref = iid__st_find(st, "normed_embedding");
    if (!ref || y->ndim != 2) return;
    size_t rows = (size_t)y->shape[0], d = (size_t)y->shape[1];
    float *e = y->data;
    for (size_t r = 0; r < rows; r++) {
        double norm = 0.0;
        for (size_t i = 0; i < d; i++) norm += (double)e[r * d + i] * e[r * d + i];
        norm = sqrt(norm);
        for (size_t i = 0; i < d && norm > 0; i++) e[r * d + i] = (float)(e[r * d + i] / norm);
    }
    conf_check_f32_abs(c, STAGE, "tiny_iresnet", "normed_embedding", e, rows * d, ref, 1e-4);
}

/* cases.json describes the model the goldens came from: the graph we loaded must
 * have its input and output names and its count of every operator. */
static void check_tiny_description(conf_ctx_t *c, const iid_onnx_net_t *net)
{
    iid_json_t j;
    iid_error_t err;
    if (conf_load_json(c, "faces/golden/tiny_iresnet/cases.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "tiny_iresnet", "cases.json", "%s", err.msg);
        return;
    }
    const iid_onnx_graph_t *g = &net->model.graph;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j.root, "input_name");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(j.root, "output_name");
    if (cJSON_IsString(in))
        conf_result(c, g->n_inputs > 0 && strcmp(g->inputs[0].name, in->valuestring) == 0, STAGE, "tiny_iresnet",
                    "input_name", 0.0, 0.0);
    if (cJSON_IsString(out))
        conf_result(c, g->n_outputs > 0 && strcmp(g->outputs[0].name, out->valuestring) == 0, STAGE, "tiny_iresnet",
                    "output_name", 0.0, 0.0);
    const cJSON *op;
    cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(j.root, "onnx_ops"))
    {
        int n = 0;
        for (int i = 0; i < g->n_nodes; i++) n += strcmp(g->nodes[i].op_type, op->string) == 0;
        char label[128];
        snprintf(label, sizeof label, "onnx_ops.%s", op->string);
        conf_result(c, cJSON_IsNumber(op) && n == op->valueint, STAGE, "tiny_iresnet", label,
                    cJSON_IsNumber(op) ? fabs((double)n - op->valuedouble) : 1.0, 0.0);
    }
    iid__json_free(&j);
}

static void tiny_cases(conf_ctx_t *c)
{
    iid_safetensors_t st;
    iid_onnx_net_t net;
    iid_error_t err;
    if (faces_open(c, STAGE, "tiny_iresnet", "golden/tiny_iresnet/cases.safetensors", &st) != 0) return;
    const char *model = iid__st_meta(&st, "model");
    const iid_st_tensor_t *in = conf_in(c, &st, "input");
    if (!model || !in || in->ndim != 4) {
        conf_fail(c, STAGE, "tiny_iresnet", "-", "metadata 'model' or tensor 'input' missing");
    } else if (faces_load_net(c, STAGE, model, &net) == 0) {
        iid_tensor_t x, y;
        const iid_tensor_t *ins[1] = {&x};
        if (iid__tensor_alloc(&x, IID_DTYPE_F32, 4, in->shape, &err) != IID_OK ||
            iid__st_read_f32(in, x.data, &err) != IID_OK || iid__onnx_net_run(&net, ins, &y, &err) != IID_OK) {
            conf_fail(c, STAGE, "tiny_iresnet", "embedding", "%s", err.msg);
        } else {
            conf_check_f32_abs(c, STAGE, "tiny_iresnet", "embedding", y.data, (size_t)iid__tensor_numel(&y),
                               iid__st_find(&st, "embedding"), 1e-3);
            check_tiny_normed(c, &st, &y);
            check_tiny_description(c, &net);
            iid__tensor_free(&y);
            tiny_activations(c, &st, &net, &x);
        }
        iid__tensor_free(&x);
        iid__onnx_net_free(&net);
    }
    conf_close(c, &st);
}

void stage_faces_recog(conf_ctx_t *c)
{
    recog_t *rg = calloc(MAX_RECOG, sizeof *rg);
    if (!rg) {
        conf_fail(c, STAGE, "-", "-", "out of memory");
        return;
    }
    int n_rg = load_recognizers(c, rg, MAX_RECOG);
    if (n_rg == 0) conf_skip(c, STAGE, "-", "-", "no recogniser among faces/models/*.onnx");
    blob_reference(c, rg, n_rg);
    faces_image_t *imgs;
    int n;
    if (faces_list_images(c, STAGE, &imgs, &n) == 0) {
        for (int i = 0; i < n; i++) image_case(c, &imgs[i], rg, n_rg);
        for (int i = 0; i < n; i++) photo_case(c, &imgs[i], rg, n_rg);
        free(imgs);
    }
    tiny_cases(c);
    for (int m = 0; m < n_rg; m++) iid__face_recognizer_free(&rg[m].r);
    free(rg);
}
