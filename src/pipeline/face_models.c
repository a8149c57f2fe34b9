/*
 * face_models.c - model-folder scan, role classification and the recogniser.
 */
#include "pipeline/face_models.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "pipeline/face_align.h"

/* Declared size of input dim d, or -1 when symbolic or undeclared. */
static int64_t input_dim(const iid_onnx_net_t *net, int d)
{
    if (net->n_inputs < 1) return -1;
    const iid_onnx_value_info_t *vi = net->input_info[0];
    if (vi->ndim <= d || vi->dims[d].param) return -1;
    return vi->dims[d].value;
}

iid_face_role_t iid__face_model_role(const iid_onnx_net_t *net)
{
    if (net->n_outputs >= 5) return IID_FACE_ROLE_DETECTOR;
    int64_t h = input_dim(net, 2), w = input_dim(net, 3);
    if (h == 192 && w == 192) return IID_FACE_ROLE_LANDMARK;
    if (h == 96 && w == 96) return IID_FACE_ROLE_ATTRIBUTE;
    if (net->n_inputs == 2 && h == 128 && w == 128) return IID_FACE_ROLE_SWAPPER;
    if (h == w && h >= 112 && h % 16 == 0) return IID_FACE_ROLE_RECOGNIZER;
    return IID_FACE_ROLE_NONE;
}

void iid__face_detector_size(const iid_onnx_net_t *det, int *width, int *height)
{
    int64_t h = input_dim(det, 2), w = input_dim(det, 3);
    *width = *height = 640;
    if (h >= 32 && h <= 4096 && w >= 32 && w <= 4096) {
        *width = (int)w;
        *height = (int)h;
    }
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

iid_status iid__face_recognizer_init(iid_face_recognizer_t *r, iid_onnx_net_t *net, iid_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->net = *net;
    memset(net, 0, sizeof *net);
    if (iid__face_model_role(&r->net) != IID_FACE_ROLE_RECOGNIZER || r->net.n_outputs != 1) {
        iid_status st = iid__fail(err, IID_ERR_INVALID, "%s: not a face recogniser (needs one square input of side "
                                  ">= 112, divisible by 16, and one output)", r->net.model.path);
        iid__face_recognizer_free(r);
        return st;
    }
    r->input_size = (int)input_dim(&r->net, 2);
    int find_sub = 0, find_mul = 0;
    const iid_onnx_graph_t *g = &r->net.model.graph;
    for (int i = 0; i < g->n_nodes && i < 8; i++) {
        const char *name = g->nodes[i].name;
        if (starts_with(name, "Sub") || starts_with(name, "_minus")) find_sub = 1;
        if (starts_with(name, "Mul") || starts_with(name, "_mul")) find_mul = 1;
    }
    r->input_mean = find_sub && find_mul ? 0.0f : 127.5f;
    r->input_std = find_sub && find_mul ? 1.0f : 127.5f;
    return IID_OK;
}

void iid__face_recognizer_free(iid_face_recognizer_t *r)
{
    if (!r) return;
    iid__onnx_net_free(&r->net);
    memset(r, 0, sizeof *r);
}

iid_status iid__face_embed(iid_face_recognizer_t *r, const uint8_t *crop_bgr, iid_tensor_t *embedding,
                           iid_error_t *err)
{
    iid_tensor_t blob;
    memset(embedding, 0, sizeof *embedding);
    IID_TRY(iid__face_recog_blob(crop_bgr, r->input_size, r->input_size, r->input_mean, r->input_std, &blob, err));
    const iid_tensor_t *in[1] = {&blob};
    iid_status st = iid__onnx_net_run(&r->net, in, embedding, err);
    iid__tensor_free(&blob);
    if (st == IID_OK && (embedding->dtype != IID_DTYPE_F32 || embedding->ndim != 2 || embedding->shape[0] != 1)) {
        iid__tensor_free(embedding);
        st = iid__fail(err, IID_ERR_FORMAT, "%s: the recogniser's output is not a (1, D) float tensor",
                       r->net.model.path);
    }
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted list of the .onnx file names in dir. */
static iid_status list_onnx(const char *dir, char ***names, int *n, iid_error_t *err)
{
    DIR *d = opendir(dir);
    *names = NULL;
    *n = 0;
    if (!d) return iid__fail(err, IID_ERR_IO, "%s: cannot open the face model folder", dir);
    int cap = 0;
    iid_status st = IID_OK;
    struct dirent *e;
    while (st == IID_OK && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".onnx") != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(*names, (size_t)cap * sizeof(char *));
            if (!nn) {
                st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory listing models", dir);
                break;
            }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name))) st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", dir);
        else (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof(char *), cmp_str);
    return st;
}

iid_status iid__face_models_load(iid_face_models_t *fm, const char *dir, iid_error_t *err)
{
    memset(fm, 0, sizeof *fm);
    char **names;
    int n;
    iid_status st = list_onnx(dir, &names, &n, err);
    int have_det = 0, have_rec = 0;
    for (int i = 0; st == IID_OK && i < n && !(have_det && have_rec); i++) {
        char path[4096];
        iid_onnx_net_t net;
        if ((st = iid__path_join(path, sizeof path, dir, names[i], err)) != IID_OK) break;
        if ((st = iid__onnx_net_load(&net, path, err)) != IID_OK) break;
        iid_face_role_t role = iid__face_model_role(&net);
        if (role == IID_FACE_ROLE_DETECTOR && !have_det) {
            fm->detector = net;
            have_det = 1;
        } else if (role == IID_FACE_ROLE_RECOGNIZER && !have_rec) {
            st = iid__face_recognizer_init(&fm->recognizer, &net, err);
            have_rec = st == IID_OK;
        } else {
            iid__onnx_net_free(&net);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st == IID_OK && (!have_det || !have_rec))
        st = iid__fail(err, IID_ERR_NOT_FOUND, "%s: no %s among the .onnx files", dir,
                       !have_det ? "face detector (a model with >= 5 outputs)" : "face recogniser");
    if (st != IID_OK) iid__face_models_free(fm);
    return st;
}

void iid__face_models_free(iid_face_models_t *fm)
{
    if (!fm) return;
    iid__onnx_net_free(&fm->detector);
    iid__face_recognizer_free(&fm->recognizer);
}
