/* faces_kit.c - shared helpers of the faces_* stages (see faces_kit.h). */
#include "faces_kit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/json.h"
#include "pipeline/face_letterbox.h"
#include "io/sha256.h"

const char *faces_path(const conf_ctx_t *c, const char *rel, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/faces/%s", c->kit, rel);
    return buf;
}

int faces_list_images(conf_ctx_t *c, const char *stage, faces_image_t **out, int *n)
{
    iid_json_t j;
    iid_error_t err;
    *out = NULL;
    *n = 0;
    if (conf_load_json(c, "faces/golden/index.json", &j, &err) != IID_OK) {
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
    char full[1024];
    iid_error_t err;
    snprintf(full, sizeof full, "faces/%s", rel);
    if (conf_open_st(c, full, st, &err) != IID_OK) {
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

/* <kit>/faces/<images_root>/<image>: images_root comes from golden/index.json
 * (the README's rule); without it the image is taken relative to the kit folder. */
static void photo_path(const conf_ctx_t *c, const faces_image_t *img, char *buf, size_t cap)
{
    char path[4096], rel[2048];
    iid_json_t j;
    iid_error_t err;
    const char *root = NULL;
    int loaded = iid__json_load(&j, faces_path(c, "golden/index.json", path, sizeof path), &err) == IID_OK;
    if (loaded) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j.root, "images_root");
        if (cJSON_IsString(r) && r->valuestring[0]) root = r->valuestring;
    }
    if (root) snprintf(rel, sizeof rel, "%s/%s", root, img->image);
    else snprintf(rel, sizeof rel, "%s", img->image);
    faces_path(c, rel, buf, cap);
    if (loaded) iid__json_free(&j);
}

/* The photo decoded as RGB (EXIF orientation applied), as the image layer gives it. */
static int decode_rgb(const conf_ctx_t *c, const faces_image_t *img, iid_image_t *rgb, char *reason, size_t cap)
{
    char path[4096];
    iid_error_t err;
    if (!img->image[0]) {
        snprintf(reason, cap, "no image path for %s", img->stem);
        return -1;
    }
    photo_path(c, img, path, sizeof path);
    if (iid__image_load(rgb, path, NULL, &err) != IID_OK) {
        snprintf(reason, cap, "%s", err.msg);
        return -1;
    }
    return 0;
}

int faces_decode_photo(const conf_ctx_t *c, const faces_image_t *img, uint8_t **bgr, int *w, int *h, char *reason,
                       size_t cap)
{
    iid_image_t rgb;
    *bgr = NULL;
    *w = *h = 0;
    if (decode_rgb(c, img, &rgb, reason, cap) != 0) return -1;
    size_t n = (size_t)rgb.width * (size_t)rgb.height;
    if (!(*bgr = malloc(n * 3))) {
        iid__image_free(&rgb);
        snprintf(reason, cap, "out of memory");
        return -1;
    }
    for (size_t p = 0; p < n; p++) { /* insightface works on BGR */
        (*bgr)[3 * p + 0] = rgb.data[3 * p + 2];
        (*bgr)[3 * p + 1] = rgb.data[3 * p + 1];
        (*bgr)[3 * p + 2] = rgb.data[3 * p + 0];
    }
    *w = rgb.width;
    *h = rgb.height;
    iid__image_free(&rgb);
    return 0;
}

int faces_photo_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob, double *det_scale,
                     char *reason, size_t cap)
{
    iid_image_t rgb;
    iid_letterbox_t lb;
    iid_error_t err;
    memset(blob, 0, sizeof *blob);
    *det_scale = 0.0;
    if (decode_rgb(c, img, &rgb, reason, cap) != 0) return -1;
    int64_t shape[4] = {1, 3, size, size};
    int rc = -1;
    if (iid__face_letterbox(&rgb, size, size, img->image, &lb, &err) != IID_OK) {
        snprintf(reason, cap, "%s", err.msg);
    } else {
        if (iid__tensor_alloc(blob, IID_DTYPE_F32, 4, shape, &err) != IID_OK) {
            snprintf(reason, cap, "%s", err.msg);
        } else {
            iid__face_blob(&lb.canvas, blob->data);
            *det_scale = lb.det_scale;
            rc = 0;
        }
        iid__face_letterbox_free(&lb);
    }
    iid__image_free(&rgb);
    return rc;
}

int faces_stored_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob)
{
    char rel[1024];
    iid_safetensors_t st;
    iid_error_t err;
    memset(blob, 0, sizeof *blob);
    snprintf(rel, sizeof rel, "faces/golden/raw/%s.input.safetensors", img->stem);
    if (conf_open_st(c, rel, &st, &err) != IID_OK) return -1;
    const iid_st_tensor_t *b = conf_in(c, &st, "blob");
    int ok = b && b->ndim == 4 && b->shape[2] == size && b->shape[3] == size &&
             iid__tensor_alloc(blob, IID_DTYPE_F32, 4, b->shape, &err) == IID_OK;
    if (ok && iid__st_read_f32(b, blob->data, &err) != IID_OK) {
        iid__tensor_free(blob);
        ok = 0;
    }
    conf_close(c, &st);
    return ok ? 0 : -1;
}

int faces_detector_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob,
                        double *det_scale, char *reason, size_t cap)
{
    if (faces_photo_blob(c, img, size, blob, det_scale, reason, cap) == 0) return 0;
    /* The photo is unreadable: the kit's stored blob still lets the detector run. */
    if (!isnan(img->det_scale) && faces_stored_blob(c, img, size, blob) == 0) {
        *det_scale = img->det_scale;
        return 0;
    }
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

/* A "..._sha256" string field of a JSON object against the SHA-256 of n bytes. */
static void check_hash(conf_ctx_t *c, const char *stage, const char *kase, const cJSON *obj, const char *key,
                       const void *data, size_t n)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(want)) return;
    char hex[65];
    iid__sha256_bytes(data, n, hex);
    int ok = strcmp(hex, want->valuestring) == 0;
    conf_result(c, ok, stage, kase, key, ok ? 0.0 : 1.0, 0.0);
    if (!ok) printf("  ours %s, kit %s\n", hex, want->valuestring);
}

void faces_check_twin(conf_ctx_t *c, const char *stage, const char *kase, const char *rel, const faces_image_t *img,
                      const iid_tensor_t *blob)
{
    char full[1024], reason[256];
    iid_json_t j;
    iid_error_t err;
    snprintf(full, sizeof full, "faces/%s", rel);
    if (conf_load_json(c, full, &j, &err) != IID_OK) {
        conf_skip(c, stage, kase, "twin", "%s", err.msg);
        return;
    }
    uint8_t *bgr;
    int w, h;
    if (faces_decode_photo(c, img, &bgr, &w, &h, reason, sizeof reason) != 0) {
        conf_skip(c, stage, kase, "decoded.bgr_sha256", "%s", reason);
    } else {
        check_hash(c, stage, kase, cJSON_GetObjectItemCaseSensitive(j.root, "decoded"), "bgr_sha256", bgr,
                   (size_t)w * (size_t)h * 3);
        free(bgr);
    }
    if (blob) /* little-endian float32, as numpy wrote it */
        check_hash(c, stage, kase, j.root, "blob_sha256", blob->data, (size_t)iid__tensor_numel(blob) * sizeof(float));
    iid__json_free(&j);
}

int faces_twin_detector(const conf_ctx_t *c, const char *family, const faces_image_t *img, char *out, size_t cap)
{
    char rel[1024];
    iid_json_t j;
    iid_error_t err;
    snprintf(rel, sizeof rel, "faces/golden/%s/%s.json", family, img->stem);
    if (conf_load_json(c, rel, &j, &err) != IID_OK) return -1;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j.root, "detector");
    int ok = cJSON_IsString(d);
    if (ok) snprintf(out, cap, "%s", d->valuestring);
    iid__json_free(&j);
    return ok ? 0 : -1;
}
