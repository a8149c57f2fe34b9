/*
 * stage_draw_kps.c - conformance stage 'draw_kps' (kit README section i).
 *
 * Cases are discovered from the `<case>.kps` tensors of draw_kps.safetensors; the
 * image size comes from the shape of `<case>.image` (H, W, 3). Our keypoint image
 * must equal the golden one exactly. Every case draw_kps.json lists must be one
 * of them, with the size the JSON gives.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conformance.h"
#include "io/json.h"
#include "pipeline/draw_kps.h"

#define STAGE "draw_kps"

static void run_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    (void)user;
    char name[256];
    snprintf(name, sizeof name, "%s.kps", kase);
    const iid_st_tensor_t *kt = conf_in(c, st, name);
    snprintf(name, sizeof name, "%s.image", kase);
    const iid_st_tensor_t *img = iid__st_find(st, name);
    if (!img || img->ndim != 3 || img->shape[2] != 3) {
        conf_fail(c, STAGE, kase, "image", "golden image missing or not (H, W, 3)");
        return;
    }
    if (iid__st_numel(kt) != 2 * IID_KPS_COUNT) {
        conf_fail(c, STAGE, kase, "kps", "expected %d keypoints", IID_KPS_COUNT);
        return;
    }
    float kps[2 * IID_KPS_COUNT];
    int h = (int)img->shape[0], w = (int)img->shape[1];
    size_t n = (size_t)h * w * 3;
    uint8_t *out = malloc(n);
    iid_error_t err;
    iid_error_clear(&err);
    if (!out || iid__st_read_f32(kt, kps, &err) != IID_OK || iid__draw_kps(kps, w, h, out, &err) != IID_OK)
        conf_fail(c, STAGE, kase, "image", "draw_kps failed: %s", err.msg);
    else
        conf_check_u8(c, STAGE, kase, "image", out, n, img, 0, 0.0);
    free(out);
}

/* draw_kps.json lists the cases with their size: each must be one the
 * safetensors holds (and so was drawn above) with that image size. */
static void check_listed_cases(conf_ctx_t *c, const iid_safetensors_t *st)
{
    iid_json_t j;
    iid_error_t err;
    if (conf_load_json(c, "golden/draw_kps.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "draw_kps.json", "%s", err.msg);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j.root, "cases"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "case");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "width"), *h = cJSON_GetObjectItemCaseSensitive(e, "height");
        char name[64], kase[32];
        snprintf(kase, sizeof kase, "case%d", cJSON_IsNumber(k) ? k->valueint : -1);
        snprintf(name, sizeof name, "%s.image", kase);
        const iid_st_tensor_t *img = iid__st_find(st, name);
        int ok = img && img->ndim == 3 && cJSON_IsNumber(w) && cJSON_IsNumber(h) && img->shape[0] == h->valueint &&
                 img->shape[1] == w->valueint;
        if (ok) conf_result(c, 1, STAGE, kase, "listed_in_json", 0.0, 0.0);
        else conf_fail(c, STAGE, kase, "listed_in_json", "draw_kps.json lists it, the safetensors has no such image");
    }
    iid__json_free(&j);
}

void stage_draw_kps(conf_ctx_t *c)
{
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "draw_kps.safetensors", &st) != 0) return;
    if (conf_for_each_case(c, &st, ".kps", run_case, NULL) == 0) conf_fail(c, STAGE, "-", "-", "no cases found");
    check_listed_cases(c, &st);
    conf_close(c, &st);
}
