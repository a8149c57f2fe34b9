/* test_draw_kps.c - the keypoint image: geometry, colours, clipping, errors, and the kit's cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "pipeline/draw_kps.h"
#include "support.h"

static const uint8_t *px(const uint8_t *img, int w, int x, int y) { return img + ((size_t)y * w + x) * 3; }

static void test_ellipse_poly(void **state)
{
    (void)state;
    int pts[2 * 362];
    /* Axis-aligned 10 x 4 ellipse: the four extreme points are on the polygon. */
    int n = iid__ellipse_poly(50, 40, 10, 4, 0, pts);
    assert_true(n > 20 && n <= 362);
    int found = 0;
    for (int i = 0; i < n; i++) {
        int x = pts[2 * i], y = pts[2 * i + 1];
        found |= (x == 60 && y == 40) << 0 | (x == 40 && y == 40) << 1 | (x == 50 && y == 44) << 2 |
                 (x == 50 && y == 36) << 3;
        assert_true(abs(x - 50) <= 10 && abs(y - 40) <= 4);
        if (i) assert_false(x == pts[2 * i - 2] && y == pts[2 * i - 1]); /* no repeats */
    }
    assert_int_equal(found, 15);
    /* Rotated by 90 degrees the long axis is vertical. */
    n = iid__ellipse_poly(50, 40, 10, 4, 90, pts);
    for (int i = 0; i < n; i++) assert_true(abs(pts[2 * i] - 50) <= 4 && abs(pts[2 * i + 1] - 40) <= 10);
    /* Degenerate: a point becomes the centre twice. */
    n = iid__ellipse_poly(7, 9, 0, 0, 33, pts);
    assert_int_equal(n, 2);
    assert_int_equal(pts[0], 7), assert_int_equal(pts[1], 9), assert_int_equal(pts[2], 7), assert_int_equal(pts[3], 9);
}

static void test_colours_and_layout(void **state)
{
    (void)state;
    enum { W = 120, H = 100 };
    const float kps[10] = {40.5f, 30.2f, 80.7f, 30.9f, 60.1f, 55.5f, 45.0f, 80.0f, 78.0f, 79.0f};
    uint8_t *img = malloc(W * H * 3);
    memset(img, 77, W * H * 3);
    assert_int_equal(iid__draw_kps(kps, W, H, img, NULL), IID_OK);
    /* Circles in full colour at the truncated keypoints. */
    static const uint8_t colours[5][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255}};
    for (int i = 0; i < 5; i++) {
        int x = (int)kps[2 * i], y = (int)kps[2 * i + 1];
        assert_memory_equal(px(img, W, x, y), colours[i], 3);
        assert_memory_equal(px(img, W, x + 10, y), colours[i], 3); /* radius 10 */
        assert_memory_equal(px(img, W, x, y - 10), colours[i], 3);
    }
    /* The limb from point 0 to the nose, away from both circles: red at 60 %. */
    const uint8_t dim_red[3] = {153, 0, 0};
    assert_memory_equal(px(img, W, 50, 43), dim_red, 3);
    /* Corners are black; every byte is 0, 153 or 255 (the old content is gone). */
    const uint8_t black[3] = {0, 0, 0};
    assert_memory_equal(px(img, W, 0, 0), black, 3);
    assert_memory_equal(px(img, W, W - 1, H - 1), black, 3);
    for (int i = 0; i < W * H * 3; i++) assert_true(img[i] == 0 || img[i] == 153 || img[i] == 255);
    free(img);
}

static void test_outside_and_errors(void **state)
{
    (void)state;
    enum { W = 32, H = 24 };
    uint8_t img[W * H * 3];
    /* Everything far outside: nothing drawn, nothing written out of bounds. */
    const float far[10] = {-500, -500, -400, -520, -450, -450, -480, -380, -420, -390};
    assert_int_equal(iid__draw_kps(far, W, H, img, NULL), IID_OK);
    for (int i = 0; i < W * H * 3; i++) assert_int_equal(img[i], 0);
    /* Straddling the border: clipped, the inside part drawn. */
    const float edge[10] = {-5, 3, 30, -4, 16, 12, 2, 30, 36, 26};
    assert_int_equal(iid__draw_kps(edge, W, H, img, NULL), IID_OK);
    const uint8_t blue[3] = {0, 0, 255};
    assert_memory_equal(px(img, W, 16, 12), blue, 3);
    iid_error_t err;
    float bad[10];
    memcpy(bad, edge, sizeof bad);
    bad[3] = NAN;
    assert_int_equal(iid__draw_kps(bad, W, H, img, &err), IID_ERR_INVALID);
    assert_int_equal(iid__draw_kps(edge, 0, H, img, &err), IID_ERR_INVALID);
}

static void test_kit_cases(void **state)
{
    (void)state;
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__st_open(&st, iid_test_shared_path("conformance/golden/draw_kps.safetensors"), &err) != IID_OK) iid_test_skip("%s", err.msg);
    int cases = 0;
    for (int i = 0; i < st.count; i++) {
        const char *name = st.tensors[i].name;
        size_t len = strlen(name);
        if (len < 4 || strcmp(name + len - 4, ".kps") != 0) continue;
        char img_name[256];
        snprintf(img_name, sizeof img_name, "%.*s.image", (int)(len - 4), name);
        const iid_st_tensor_t *ref = iid__st_find(&st, img_name);
        assert_non_null(ref);
        float kps[10];
        assert_int_equal(iid__st_read_f32(&st.tensors[i], kps, &err), IID_OK);
        int h = (int)ref->shape[0], w = (int)ref->shape[1];
        uint8_t *img = malloc((size_t)w * h * 3);
        assert_int_equal(iid__draw_kps(kps, w, h, img, &err), IID_OK);
        assert_memory_equal(img, ref->data, (size_t)w * h * 3);
        free(img);
        cases++;
    }
    assert_true(cases > 0);
    iid__st_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ellipse_poly),
        cmocka_unit_test(test_colours_and_layout),
        cmocka_unit_test(test_outside_and_errors),
        cmocka_unit_test(test_kit_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
