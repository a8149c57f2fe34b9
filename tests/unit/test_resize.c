/* test_resize.c - resize_img's size rule, the --size resize-and-pad geometry, and the face-region mask. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "pipeline/control_mask.h"
#include "pipeline/resize.h"
#include "support.h"

static void plan_ok(int w, int h, const iid_resize_opts_t *o, iid_resize_plan_t *p)
{
    iid_error_t err;
    iid_status st = iid__resize_img_plan(w, h, o, p, &err);
    if (st != IID_OK) print_message("%dx%d: %s\n", w, h, err.msg);
    assert_int_equal(st, IID_OK);
}

static void test_demo_rule(void **state)
{
    (void)state;
    iid_resize_opts_t o;
    iid_resize_plan_t p;
    iid__resize_opts_init(&o);
    assert_int_equal(o.max_side, 1280), assert_int_equal(o.min_side, 1024), assert_int_equal(o.base_pixel_number, 64);
    plan_ok(1280, 720, &o, &p);
    assert_int_equal(p.out_w, 1280), assert_int_equal(p.out_h, 704);
    assert_int_equal(p.n_calls, 2);
    assert_int_equal(p.calls_wh[0][1], 720), assert_int_equal(p.calls_wh[1][1], 704);
    /* Half to even: 2049x2048 -> short side 1024, long 1024.5 -> 1024, then 1280. */
    plan_ok(2049, 2048, &o, &p);
    assert_int_equal(p.out_w, 1280), assert_int_equal(p.out_h, 1280);
    /* Tiny input is scaled up. */
    plan_ok(17, 13, &o, &p);
    assert_int_equal(p.calls_wh[0][0], 1280), assert_int_equal(p.calls_wh[0][1], 979);
    assert_int_equal(p.out_h, 960);
    /* The multi-ControlNet demo's max_side 1024. */
    o.max_side = 1024;
    plan_ok(1920, 1080, &o, &p);
    assert_int_equal(p.out_w, 1024), assert_int_equal(p.out_h, 576);
}

static void test_demo_rule_edges(void **state)
{
    (void)state;
    iid_resize_opts_t o;
    iid_resize_plan_t p;
    iid_error_t err;
    iid__resize_opts_init(&o);
    /* A side that floors to 0 fails after the first resize, as PIL does. */
    assert_int_equal(iid__resize_img_plan(10, 1000, &o, &p, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "must be > 0"));
    assert_int_equal(p.n_calls, 2);
    assert_int_equal(p.calls_wh[0][0], 13), assert_int_equal(p.calls_wh[1][0], 0);
    assert_int_equal(iid__resize_img_plan(0, 10, &o, &p, &err), IID_ERR_INVALID);
    /* Explicit size: one call. */
    o.size_w = 512, o.size_h = 384;
    plan_ok(800, 600, &o, &p);
    assert_int_equal(p.n_calls, 1), assert_int_equal(p.out_w, 512), assert_int_equal(p.out_h, 384);
    /* Padding to the max_side square, centred. */
    iid__resize_opts_init(&o);
    o.pad_to_max_side = 1;
    plan_ok(1000, 700, &o, &p);
    assert_int_equal(p.out_w, 1280), assert_int_equal(p.out_h, 1280);
    assert_int_equal(p.content_w, 1280), assert_int_equal(p.content_h, 896);
    assert_int_equal(p.pad_x, 0), assert_int_equal(p.pad_y, 192);
}

static void test_resize_and_pad(void **state)
{
    (void)state;
    iid_resize_plan_t p;
    iid_error_t err;
    assert_int_equal(iid__resize_pad_plan(800, 600, 512, 512, &p, &err), IID_OK);
    assert_int_equal(p.content_w, 512), assert_int_equal(p.content_h, 384);
    assert_int_equal(p.pad_x, 0), assert_int_equal(p.pad_y, 64);
    assert_int_equal(iid__resize_pad_plan(100, 1000, 64, 64, &p, &err), IID_OK);
    assert_int_equal(p.content_w, 6), assert_int_equal(p.content_h, 64);
    assert_int_equal(p.pad_x, 29);
    assert_int_equal(iid__resize_pad_plan(1, 5000, 64, 64, &p, &err), IID_OK);
    assert_int_equal(p.content_w, 1); /* never below one pixel */
    assert_int_equal(iid__resize_pad_plan(10, 10, 0, 64, &p, &err), IID_ERR_INVALID);

    /* Composition: colour around, the image at the offset. */
    assert_int_equal(iid__resize_pad_plan(4, 2, 4, 4, &p, &err), IID_OK);
    uint8_t src[4 * 2 * 3], dst[4 * 4 * 3];
    memset(src, 9, sizeof src);
    const uint8_t white[3] = {255, 255, 255};
    iid__pad_place(&p, src, white, dst);
    assert_int_equal(p.pad_y, 1);
    assert_int_equal(dst[0], 255);
    assert_int_equal(dst[(1 * 4 + 0) * 3], 9);
    assert_int_equal(dst[(2 * 4 + 3) * 3 + 2], 9);
    assert_int_equal(dst[(3 * 4 + 3) * 3], 255);
}

static void test_face_mask(void **state)
{
    (void)state;
    enum { W = 20, H = 10 };
    uint8_t m[W * H * 3];
    const float box[4] = {2.9f, 1.5f, 6.2f, 4.0f}; /* int(): x 2..5, y 1..3 */
    assert_int_equal(iid__face_mask(box, W, H, m, NULL), IID_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(m[(y * W + x) * 3 + c], (x >= 2 && x < 6 && y >= 1 && y < 4) ? 255 : 0);
    /* Python slicing: a negative start counts from the end (here: empty range). */
    const float neg[4] = {-3.0f, 0.0f, 5.0f, 10.0f};
    assert_int_equal(iid__face_mask(neg, W, H, m, NULL), IID_OK);
    for (int i = 0; i < W * H * 3; i++) assert_int_equal(m[i], 0);
    /* int() truncates toward zero: -0.5 -> 0, and a box past the edge clips. */
    const float over[4] = {-0.5f, -0.5f, 100.0f, 100.0f};
    assert_int_equal(iid__face_mask(over, W, H, m, NULL), IID_OK);
    for (int i = 0; i < W * H * 3; i++) assert_int_equal(m[i], 255);
    const float nan_box[4] = {NAN, 0, 1, 1};
    assert_int_equal(iid__face_mask(nan_box, W, H, m, NULL), IID_ERR_INVALID);
}

static void test_mask_resizes(void **state)
{
    (void)state;
    /* Bilinear 4 -> 2 averages pixel pairs (align_corners False). */
    const float in[4 * 4] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    float out[4];
    iid__mask_resize_bilinear(in, 4, 4, out, 2, 2);
    for (int i = 0; i < 4; i++) assert_true(fabsf(out[i] - 0.5f) < 1e-7f);
    /* Nearest by 1/sqrt(16*16/16) = 1/4: picks pixels 0, 4, 8, 12. */
    float big[16 * 16], tok[16];
    for (int i = 0; i < 256; i++) big[i] = (float)i;
    int oh, ow;
    assert_int_equal(iid__mask_resize_tokens(big, 16, 16, 16, tok, &oh, &ow, NULL), IID_OK);
    assert_int_equal(oh, 4), assert_int_equal(ow, 4);
    assert_true(tok[0] == 0.0f && tok[1] == 4.0f && tok[4] == 64.0f && tok[15] == 204.0f);
    assert_int_equal(iid__mask_resize_tokens(big, 16, 16, 15, tok, &oh, &ow, NULL), IID_ERR_INVALID);
    assert_int_equal(iid__mask_residual_scale(0), 8);
    assert_int_equal(iid__mask_residual_scale(5), 16);
    assert_int_equal(iid__mask_residual_scale(9), 32);
}

/* The kit's masked full-pipeline run: the mask from its box equals input.control_mask,
 * and each UNet residual is the ControlNet residual times the resized mask. */
static void test_kit_masked_run(void **state)
{
    (void)state;
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__st_open(&st, iid_test_shared_path("conformance/golden/pipeline_full_h64_w64_snow_mask.safetensors"),
                     &err) != IID_OK)
        iid_test_skip("%s", err.msg);
    const iid_st_tensor_t *cm = iid__st_find(&st, "input.control_mask");
    assert_non_null(cm);
    int h = (int)cm->shape[0], w = (int)cm->shape[1];
    uint8_t *ours = malloc((size_t)w * h * 3);
    const float box[4] = {16, 12, 48, 52}; /* pipeline_full.json mask_box */
    assert_int_equal(iid__face_mask(box, w, h, ours, &err), IID_OK);
    assert_memory_equal(ours, cm->data, (size_t)w * h * 3);
    float *m = malloc((size_t)w * h * sizeof *m);
    iid__mask_channel0(ours, w, h, m);
    for (int r = 0; r <= 9; r++) {
        char cn[64], un[64];
        snprintf(cn, sizeof cn, r < 9 ? "step0.controlnet_down%d" : "step0.controlnet_mid", r);
        snprintf(un, sizeof un, r < 9 ? "step0.unet_down_residual%d" : "step0.unet_mid_residual", r);
        const iid_st_tensor_t *c = iid__st_find(&st, cn), *u = iid__st_find(&st, un);
        assert_non_null(c), assert_non_null(u);
        int s = iid__mask_residual_scale(r), oh = h / s, ow = w / s;
        assert_int_equal(c->shape[2], oh), assert_int_equal(c->shape[3], ow);
        size_t n = (size_t)iid__st_numel(c), plane = (size_t)oh * ow;
        float *cv = malloc(n * sizeof *cv), *uv = malloc(n * sizeof *uv), *rm = malloc(plane * sizeof *rm);
        assert_int_equal(iid__st_read_f32(c, cv, &err), IID_OK);
        assert_int_equal(iid__st_read_f32(u, uv, &err), IID_OK);
        iid__mask_resize_bilinear(m, h, w, rm, oh, ow);
        for (size_t i = 0; i < n; i++) assert_true(fabsf(cv[i] * rm[i % plane] - uv[i]) <= 1e-6f * (1 + fabsf(uv[i])));
        free(cv), free(uv), free(rm);
    }
    free(m);
    free(ours);
    iid__st_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_rule),  cmocka_unit_test(test_demo_rule_edges),
        cmocka_unit_test(test_resize_and_pad), cmocka_unit_test(test_face_mask),
        cmocka_unit_test(test_mask_resizes), cmocka_unit_test(test_kit_masked_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
