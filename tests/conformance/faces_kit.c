/* faces_kit.c - shared helpers of the faces_* stages (see faces_kit.h). */
#include "faces_kit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

const char *faces_path(const conf_ctx_t *c, const char *rel, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/faces/%s", c->kit, rel);
    return buf;
}

int faces_list_images(conf_ctx_t *c, const char *stage, faces_image_t **out, int *n)
{
    char path[4096];
    iid_json_t j;
    iid_error_t err;
    *out = NULL;
    *n = 0;
    if (iid__json_load(&j, faces_path(c, "golden/index.json", path, sizeof path), &err) != IID_OK) {
        conf_skip(c, stage, "-", "-", "%s", err.msg);
        return -1;
    }
    const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(j.root, "images");
    int count = cJSON_IsArray(imgs) ? cJSON_GetArraySize(imgs) : 0;
    *out = calloc((size_t)count + 1, sizeof **out);
    const cJSON *e;
    cJSON_ArrayForEach(e, imgs)
    {
        const cJSON *im = cJSON_GetObjectItemCaseSensitive(e, "image");
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(e, "det_scale");
        if (!*out || !cJSON_IsString(im)) continue;
        faces_image_t *f = &(*out)[(*n)++];
        f->det_scale = cJSON_IsNumber(ds) ? ds->valuedouble : NAN;
        snprintf(f->image, sizeof f->image, "%s", im->valuestring);
        const char *base = strrchr(im->valuestring, '/');
        snprintf(f->stem, sizeof f->stem, "%s", base ? base + 1 : im->valuestring);
        char *dot = strrchr(f->stem, '.');
        if (dot) *dot = '\0';
    }
    iid__json_free(&j);
    if (!*out) {
        conf_skip(c, stage, "-", "-", "out of memory");
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int faces_list_dir(const conf_ctx_t *c, const char *rel_dir, const char *suffix, char ***names, int *n)
{
    char path[4096];
    DIR *d = opendir(faces_path(c, rel_dir, path, sizeof path));
    *names = NULL;
    *n = 0;
    if (!d) return -1;
    struct dirent *e;
    size_t ls = strlen(suffix);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= ls || strcmp(e->d_name + len - ls, suffix) != 0) continue;
        char **nn = realloc(*names, ((size_t)*n + 1) * sizeof(char *));
        if (!nn) break;
        *names = nn;
        if (((*names)[*n] = strdup(e->d_name))) (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof(char *), cmp_str);
    return 0;
}

void faces_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

int faces_open(conf_ctx_t *c, const char *stage, const char *kase, const char *rel, iid_safetensors_t *st)
{
    char path[4096];
    iid_error_t err;
    if (iid__st_open(st, faces_path(c, rel, path, sizeof path), &err) != IID_OK) {
        conf_skip(c, stage, kase, "-", "%s", err.msg);
        return -1;
    }
    return 0;
}

int faces_load_net(conf_ctx_t *c, const char *stage, const char *file, iid_onnx_net_t *net)
{
    char rel[1024], path[4096];
    iid_error_t err;
    snprintf(rel, sizeof rel, "models/%s", file);
    if (iid__onnx_net_load(net, faces_path(c, rel, path, sizeof path), &err) != IID_OK) {
        conf_fail(c, stage, file, "-", "%s", err.msg);
        return -1;
    }
    return 0;
}

int faces_decode_photo(const conf_ctx_t *c, const faces_image_t *img, uint8_t **bgr, int *w, int *h, char *reason,
                       size_t cap)
{
    (void)c;
    (void)img;
    *bgr = NULL;
    *w = *h = 0;
    snprintf(reason, cap, "needs image decoding (merged separately)");
    return -1;
}

int faces_detector_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob,
                        double *det_scale, char *reason, size_t cap)
{
    uint8_t *bgr;
    int w, h;
    char rel[1024];
    iid_safetensors_t st;
    iid_error_t err;
    memset(blob, 0, sizeof *blob);
    *det_scale = 0.0;
    snprintf(rel, sizeof rel, "golden/raw/%s.input.safetensors", img->stem);
    if (!isnan(img->det_scale) && iid__st_open(&st, faces_path(c, rel, reason, cap), &err) == IID_OK) {
        const iid_st_tensor_t *b = iid__st_find(&st, "blob");
        int ok = b && b->ndim == 4 && b->shape[2] == size && b->shape[3] == size &&
                 iid__tensor_alloc(blob, IID_DTYPE_F32, 4, b->shape, &err) == IID_OK;
        if (ok && iid__st_read_f32(b, blob->data, &err) != IID_OK) {
            iid__tensor_free(blob);
            ok = 0;
        }
        iid__st_close(&st);
        if (ok) {
            *det_scale = img->det_scale;
            return 0;
        }
    }
    if (faces_decode_photo(c, img, &bgr, &w, &h, reason, cap) != 0) return -1;
    free(bgr);
    snprintf(reason, cap, "needs the letterbox (merged separately)");
    return -1;
}

double faces_golden_f64(const iid_safetensors_t *st, const char *name, size_t index)
{
    const iid_st_tensor_t *t = iid__st_find(st, name);
    double v;
    if (!t || t->dtype != IID_DTYPE_F64 || (size_t)iid__st_numel(t) <= index) return NAN;
    memcpy(&v, (const char *)t->data + index * 8, 8);
    return v;
}
