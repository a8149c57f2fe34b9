/*
 * stage_draw_kps.c - conformance stage 'draw_kps' (kit README section i).
 *
 * Cases are discovered from the `<case>.kps` tensors of draw_kps.safetensors; the
 * image size comes from the shape of `<case>.image` (H, W, 3). Our keypoint image
 * must equal the golden one exactly.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conformance.h"
#include "pipeline/draw_kps.h"

#define STAGE "draw_kps"

static void run_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    (void)user;
    char name[256];
    snprintf(name, sizeof name, "%s.kps", kase);
    const iid_st_tensor_t *kt = iid__st_find(st, name);
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

void stage_draw_kps(conf_ctx_t *c)
{
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "draw_kps.safetensors", &st) != 0) return;
    if (conf_for_each_case(c, &st, ".kps", run_case, NULL) == 0) conf_fail(c, STAGE, "-", "-", "no cases found");
    iid__st_close(&st);
}
