/*
 * test_vae_decoder.c - tiled vs untiled VAE decoding on the kit's tiny VAE, the
 * image conversions (clamp, numpy's half-to-even rounding), and load errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/vae_decoder.h"
#include "support.h"

static iid_vae_decoder_t *load_kit_vae(void)
{
    iid_vae_decoder_t *v = NULL;
    iid_error_t err;
    assert_int_equal(iid__vae_load(&v, iid_test_shared_path("conformance/models/sdxl/vae"), &err), IID_OK);
    return v;
}

static void test_tiled_close_to_untiled(void **state)
{
    (void)state;
    iid_vae_decoder_t *v = load_kit_vae();
    int B = 1, h = 8, w = 16, f = v->upscale, C = v->out_channels;
    size_t nz = (size_t)B * v->latent_channels * h * w, no = (size_t)B * C * h * f * w * f;
    float *z = malloc(nz * sizeof *z), *full = malloc(no * sizeof *full), *tiled = malloc(no * sizeof *tiled);
    iid_test_fill_random(z, nz, 42);
    for (size_t i = 0; i < nz; i++) z[i] *= 3.0f;
    iid_error_t err;
    iid_tensor_t zt = iid__tensor_wrap(NULL, z, 4, (int64_t[]){B, v->latent_channels, h, w});
    int64_t out_shape[4] = {B, C, h * f, w * f};
    iid_tensor_t full_t = iid__tensor_wrap(NULL, full, 4, out_shape), tiled_t = iid__tensor_wrap(NULL, tiled, 4, out_shape);
    assert_int_equal(iid__vae_decode(v, &zt, &full_t, &err), IID_OK);
    /* one tile covering everything is exactly the plain decode */
    assert_int_equal(iid__vae_decode_tiled(v, &zt, 32, 8, &tiled_t, &err), IID_OK);
    assert_memory_equal(full, tiled, no * sizeof *full);
    /* 8x8 tiles overlapping by 4: close, not equal (attention and GroupNorm see one tile) */
    assert_int_equal(iid__vae_decode_tiled(v, &zt, 8, 4, &tiled_t, &err), IID_OK);
    double max_ref = 0, max_diff = 0, mean_diff = 0;
    for (size_t i = 0; i < no; i++) {
        max_ref = fmax(max_ref, fabs(full[i]));
        double d = fabs((double)full[i] - tiled[i]);
        max_diff = fmax(max_diff, d);
        mean_diff += d;
    }
    mean_diff /= (double)no;
    print_message("tiled vs untiled: max %.4g mean %.4g (max |ref| %.4g)\n", max_diff, mean_diff, max_ref);
    assert_true(max_diff > 0.0);
    assert_true(mean_diff < 0.05 * max_ref);
    assert_true(max_diff < 0.5 * max_ref);
    /* bad tiling parameters are refused */
    assert_int_equal(iid__vae_decode_tiled(v, &zt, 8, 8, &tiled_t, &err), IID_ERR_INVALID);
    /* so is an output of the wrong size, tiled or not */
    iid_tensor_t small = iid__tensor_wrap(NULL, tiled, 4, (int64_t[]){B, C, h, w});
    assert_int_equal(iid__vae_decode(v, &zt, &small, &err), IID_ERR_INVALID);
    assert_int_equal(iid__vae_decode_tiled(v, &zt, 8, 4, &small, &err), IID_ERR_INVALID);
    free(z), free(full), free(tiled);
    iid__vae_free(v);
}

static void test_image_conversions(void **state)
{
    (void)state;
    /* (1, 3, 1, 2) NCHW -> (1, 1, 2, 3) NHWC with clamp(x/2 + 0.5) */
    float x[6] = {-3.0f, 0.0f, 1.0f, 3.0f, -1.0f, 0.5f}, img[6];
    iid__image_to_float_nhwc(img, x, 1, 3, 1, 2);
    float want[6] = {0.0f, 1.0f, 0.0f, 0.5f, 1.0f, 0.75f};
    assert_memory_equal(img, want, sizeof want);
    /* numpy rounds half to even: find floats whose product with 255 is exactly 2.5 and 3.5 */
    float two_half = 2.5f / 255.0f, three_half = 3.5f / 255.0f;
    while (two_half * 255.0f < 2.5f) two_half = nextafterf(two_half, 1.0f);
    while (two_half * 255.0f > 2.5f) two_half = nextafterf(two_half, 0.0f);
    while (three_half * 255.0f < 3.5f) three_half = nextafterf(three_half, 1.0f);
    while (three_half * 255.0f > 3.5f) three_half = nextafterf(three_half, 0.0f);
    assert_true(two_half * 255.0f == 2.5f && three_half * 255.0f == 3.5f);
    float in[5] = {0.0f, 1.0f, 0.5f, two_half, three_half};
    uint8_t out[5];
    iid__image_float_to_u8(out, in, 5);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 255);
    assert_int_equal(out[2], 128); /* 127.5 -> 128 */
    assert_int_equal(out[3], 2);   /* 2.5 -> 2 */
    assert_int_equal(out[4], 4);   /* 3.5 -> 4 */
}

static void test_unscale(void **state)
{
    (void)state;
    iid_vae_decoder_t *v = load_kit_vae();
    float z[2] = {1.0f, -2.0f}, o[2];
    iid_tensor_t zt = iid__tensor_wrap(NULL, z, 1, (int64_t[]){2}), ot = iid__tensor_wrap(NULL, o, 1, (int64_t[]){2});
    assert_int_equal(iid__vae_unscale(v, &zt, &ot, NULL), IID_OK);
    assert_true(o[0] == 1.0f / v->scaling_factor && o[1] == -2.0f / v->scaling_factor);
    iid__vae_free(v);
    iid__vae_free(NULL);
}

static void test_missing_folder(void **state)
{
    (void)state;
    iid_vae_decoder_t *v = (iid_vae_decoder_t *)1;
    iid_error_t err;
    assert_int_not_equal(iid__vae_load(&v, "/nonexistent-vae-dir", &err), IID_OK);
    assert_null(v);
    assert_non_null(strstr(err.msg, "/nonexistent-vae-dir/config.json"));
}

int main(void)
{
    iid_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiled_close_to_untiled),
        cmocka_unit_test(test_image_conversions),
        cmocka_unit_test(test_unscale),
        cmocka_unit_test(test_missing_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
