/* test_resize_pil.c - Pillow-compatible resize: cases worked out by hand from
 * Pillow's rules (weights normalised in double, 22-bit fixed point, horizontal pass
 * first, passes skipped on unchanged axes), and the expected pixels Pillow's own
 * test suite publishes. The kit has no pixel goldens for it. */
#include <string.h>

#include "io/image_resize.h"
#include "support.h"

static iid_image_t make(int w, int h, int c, const uint8_t *px)
{
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_alloc(&img, w, h, c, &err), IID_OK);
    memcpy(img.data, px, (size_t)w * h * c);
    return img;
}

static void expect(const iid_image_t *src, int w, int h, iid_pil_filter_t f, const uint8_t *want)
{
    iid_image_t out;
    iid_error_t err;
    assert_int_equal(iid__image_resize_pil(src, w, h, f, &out, &err), IID_OK);
    assert_int_equal(out.width, w);
    assert_int_equal(out.height, h);
    assert_memory_equal(out.data, want, (size_t)w * h * src->channels);
    iid__image_free(&out);
}

/* 4 -> 2 bilinear: the triangle is widened to support 2, so output 0 reads inputs
 * 0..2 with weights 3/7, 3/7, 1/7 (the left tap is cut by the border) and output 1
 * reads 1..3 with 1/7, 3/7, 3/7: [0 0 255 255] -> [255/7, 255*6/7] = [36, 219]. */
static void test_shrink_antialiases(void **state)
{
    (void)state;
    const uint8_t row[4] = {0, 0, 255, 255};
    iid_image_t h = make(4, 1, 1, row), v = make(1, 4, 1, row);
    const uint8_t want[2] = {36, 219};
    expect(&h, 2, 1, IID_PIL_BILINEAR, want); /* horizontal pass only */
    expect(&v, 1, 2, IID_PIL_BILINEAR, want); /* vertical pass only */
    iid__image_free(&h);
    iid__image_free(&v);
    /* Both passes: the same step in x and y (pixel 255 where x >= 2 and y >= 2). The
     * 8-bit intermediate rows are [0 0] and [36 219]; columns then give 36/7,
     * 36*6/7, 219/7, 219*6/7 truncated after the +0.5 rounding bias. */
    uint8_t sq[16] = {0};
    sq[10] = sq[11] = sq[14] = sq[15] = 255;
    iid_image_t s = make(4, 4, 1, sq);
    const uint8_t want2[4] = {5, 31, 31, 188};
    expect(&s, 2, 2, IID_PIL_BILINEAR, want2);
    iid__image_free(&s);
}

/* 2 -> 4 bilinear: no widening; centres 0.25, 0.75, 1.25, 1.75 with the border
 * taps dropped and renormalised: [0 100] -> [0 25 75 100]. Channels are independent. */
static void test_enlarge(void **state)
{
    (void)state;
    const uint8_t rgb[6] = {0, 100, 200, 100, 0, 40};
    iid_image_t img = make(2, 1, 3, rgb);
    const uint8_t want[12] = {0, 100, 200, 25, 75, 160, 75, 25, 80, 100, 0, 40};
    expect(&img, 4, 1, IID_PIL_BILINEAR, want);
    iid__image_free(&img);
}

/* Weights sum to 1 within 2^-22, so a flat image stays flat for every filter, and
 * the same size is a copy. */
static void test_flat_and_copy(void **state)
{
    (void)state;
    uint8_t flat[7 * 5 * 3];
    memset(flat, 200, sizeof flat);
    iid_image_t img = make(7, 5, 3, flat);
    uint8_t want[13 * 3 * 3];
    memset(want, 200, sizeof want);
    for (int f = IID_PIL_BILINEAR; f <= IID_PIL_LANCZOS; f++) {
        expect(&img, 13, 3, (iid_pil_filter_t)f, want);
        expect(&img, 3, 2, (iid_pil_filter_t)f, want);
    }
    for (int i = 0; i < (int)sizeof flat; i++) img.data[i] = (uint8_t)(i * 7);
    uint8_t copy[sizeof flat];
    memcpy(copy, img.data, sizeof copy);
    expect(&img, 7, 5, IID_PIL_BICUBIC, copy);
    iid_image_t out;
    iid_error_t err;
    assert_int_equal(iid__image_resize_pil(&img, 0, 5, IID_PIL_BILINEAR, &out, &err), IID_ERR_INVALID);
    assert_null(out.data);
    iid__image_free(&img);
}

/* Bicubic and Lanczos ring below 0 and above 255 at a step; the ends clamp. */
static void test_overshoot_clamped(void **state)
{
    (void)state;
    const uint8_t row[6] = {0, 0, 0, 255, 255, 255};
    iid_image_t img = make(6, 1, 1, row);
    for (int f = IID_PIL_BICUBIC; f <= IID_PIL_LANCZOS; f++) {
        iid_image_t out;
        iid_error_t err;
        assert_int_equal(iid__image_resize_pil(&img, 17, 1, (iid_pil_filter_t)f, &out, &err), IID_OK);
        assert_int_equal(out.data[0], 0);
        assert_int_equal(out.data[16], 255);
        iid__image_free(&out);
    }
    iid__image_free(&img);
}

/* Pillow's own accuracy cases (Tests/test_image_resample.py, expected values as
 * published there): an image with two dark squares (top-left, bottom-right) of
 * 0xe1 on 0x1e, resized with each filter; `quarter` holds the expected top-left
 * quarter of the result, the rest follows by symmetry. Checked on 3 channels. */
static void pillow_case(int n_in, int n_out, iid_pil_filter_t f, const uint8_t *quarter)
{
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_alloc(&img, n_in, n_in, 3, &err), IID_OK);
    for (int y = 0; y < n_in; y++)
        for (int x = 0; x < n_in; x++) {
            int dark = (x < n_in / 2) == (y < n_in / 2);
            memset(img.data + ((size_t)y * n_in + x) * 3, dark ? 0xe1 : 0x1e, 3);
        }
    iid_image_t out;
    assert_int_equal(iid__image_resize_pil(&img, n_out, n_out, f, &out, &err), IID_OK);
    int h = n_out / 2;
    for (int y = 0; y < n_out; y++)
        for (int x = 0; x < n_out; x++) {
            int qx = x < h ? x : n_out - 1 - x, qy = y < h ? y : n_out - 1 - y;
            int v = quarter[qy * h + qx];
            if ((x < h) != (y < h)) v = 255 - v;
            for (int c = 0; c < 3; c++)
                if (out.data[((size_t)y * n_out + x) * 3 + c] != v)
                    fail_msg("filter %d %d->%d: (%d,%d) is %02x, Pillow %02x", (int)f, n_in, n_out, x, y,
                             out.data[((size_t)y * n_out + x) * 3 + c], v);
        }
    iid__image_free(&out);
    iid__image_free(&img);
}

static void test_pillow_accuracy_cases(void **state)
{
    (void)state;
    const uint8_t reduce_bilinear[] = {0xe1, 0xc9, 0xc9, 0xb7};
    const uint8_t reduce_bicubic[] = {0xe1, 0xe3, 0xd4, 0xe3, 0xe5, 0xd6, 0xd4, 0xd6, 0xc9};
    const uint8_t reduce_lanczos[] = {0xe1, 0xe0, 0xe4, 0xd7, 0xe0, 0xdf, 0xe3, 0xd6,
                                      0xe4, 0xe3, 0xe7, 0xda, 0xd7, 0xd6, 0xd9, 0xce};
    const uint8_t enlarge_bilinear[] = {0xe1, 0xb0, 0xb0, 0x98};
    const uint8_t enlarge_bicubic[] = {0xe1, 0xe5, 0xee, 0xb9, 0xe5, 0xe9, 0xf3, 0xbc,
                                       0xee, 0xf3, 0xfd, 0xc1, 0xb9, 0xbc, 0xc1, 0xa2};
    const uint8_t enlarge_lanczos[] = {0xe1, 0xe0, 0xdb, 0xed, 0xf5, 0xb8, 0xe0, 0xdf, 0xda, 0xec, 0xf3, 0xb7,
                                       0xdb, 0xdb, 0xd6, 0xe7, 0xee, 0xb5, 0xed, 0xec, 0xe6, 0xfb, 0xff, 0xbf,
                                       0xf5, 0xf4, 0xee, 0xff, 0xff, 0xc4, 0xb8, 0xb7, 0xb4, 0xbf, 0xc4, 0xa0};
    pillow_case(8, 4, IID_PIL_BILINEAR, reduce_bilinear);
    pillow_case(12, 6, IID_PIL_BICUBIC, reduce_bicubic);
    pillow_case(16, 8, IID_PIL_LANCZOS, reduce_lanczos);
    pillow_case(2, 4, IID_PIL_BILINEAR, enlarge_bilinear);
    pillow_case(4, 8, IID_PIL_BICUBIC, enlarge_bicubic);
    pillow_case(6, 12, IID_PIL_LANCZOS, enlarge_lanczos);
}

/* Pillow's coefficient test: a 400000-wide half-254 line shrunk to 5 with bicubic
 * keeps exactly 127 in the middle (weights are normalised before rounding). */
static void test_pillow_wide_reduce(void **state)
{
    (void)state;
    for (int size = 400000; size < 400010; size += 2) {
        iid_image_t img, out;
        iid_error_t err;
        assert_int_equal(iid__image_alloc(&img, size, 1, 1, &err), IID_OK);
        memset(img.data, 254, (size_t)size / 2);
        assert_int_equal(iid__image_resize_pil(&img, 5, 1, IID_PIL_BICUBIC, &out, &err), IID_OK);
        assert_int_equal(out.data[2], 127);
        iid__image_free(&out);
        iid__image_free(&img);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shrink_antialiases),
        cmocka_unit_test(test_enlarge),
        cmocka_unit_test(test_flat_and_copy),
        cmocka_unit_test(test_overshoot_clamped),
        cmocka_unit_test(test_pillow_accuracy_cases),
        cmocka_unit_test(test_pillow_wide_reduce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
