/*
 * test_blocks.c - shared model blocks on hand-made weights: the timestep
 * embedding against hand values, and the attention's IP branch: scale 0 is text
 * attention alone, a region mask of ones is no mask, a mask of zeros is scale 0,
 * a half mask switches per token, and a mask that cannot resize to the token
 * grid is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/blocks.h"
#include "models/transformer.h"
#include "support.h"

static void test_timestep_embedding_hand(void **state)
{
    (void)state;
    float t = 1.0f, e[4];
    iid__timestep_embedding_ref(e, &t, 1, 4, 1, 0.0f); /* freqs 1 and 10000^-1/2 = 0.01; cos first */
    assert_true(fabsf(e[0] - cosf(1.0f)) < 1e-6f && fabsf(e[1] - cosf(0.01f)) < 1e-6f);
    assert_true(fabsf(e[2] - sinf(1.0f)) < 1e-6f && fabsf(e[3] - sinf(0.01f)) < 1e-6f);
    iid__timestep_embedding_ref(e, &t, 1, 4, 0, 0.0f); /* sin first */
    assert_true(fabsf(e[0] - sinf(1.0f)) < 1e-6f && fabsf(e[2] - cosf(1.0f)) < 1e-6f);
}

static float *rnd(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    iid_test_fill_random(x, n, seed);
    return x;
}

/* A random (rows, cols) f32 weight the block owns. */
static iid_weight_t wrnd(int rows, int cols, uint32_t seed)
{
    float *p = rnd((size_t)rows * cols, seed);
    return (iid_weight_t){{p, IID_DTYPE_F32, rows, cols, NULL, 0}, p, NULL, NULL};
}

static iid_linear_w_t lin(int in, int out, int bias, uint32_t seed)
{
    iid_linear_w_t l = {wrnd(out, in, seed), bias ? rnd((size_t)out, seed + 1000) : NULL, in, out};
    return l;
}

enum { B = 2, GH = 2, GW = 2, T = GH * GW, DIM = 8, CTX = 6, HEADS = 2, TC = 5, NIP = 2 };

/* Views of host arrays as the default (host) backend's tensors. */
static iid_tensor_t tokens(const float *p, int n, int width)
{
    return iid__tensor_wrap(iid__backend_default(), p, 3, (int64_t[]){B, n, width});
}

static iid_tensor_t mask_of(const float *p, int h, int w)
{
    return iid__tensor_wrap(iid__backend_default(), p, 2, (int64_t[]){h, w});
}

static iid_status attend(const iid_attention_t *a, const float *x, const float *ctx, int tc, const iid_ip_args_t *ip,
                         float *y, iid_error_t *err)
{
    iid_tensor_t xt = tokens(x, T, DIM), ct = tokens(ctx, tc, CTX), yt = tokens(y, T, DIM);
    return iid__attention_forward(iid__backend_default(), a, &xt, &ct, ip, NULL, GH, GW, &yt, err);
}

static void run(const iid_attention_t *a, const float *x, const float *ctx, int tc, const iid_ip_args_t *ip, float *y)
{
    iid_error_t err;
    assert_int_equal(attend(a, x, ctx, tc, ip, y, &err), IID_OK);
}

static void test_ip_branch_and_mask(void **state)
{
    (void)state;
    iid_attention_t a = {.dim = DIM, .ctx_dim = CTX, .heads = HEADS, .has_ip = 1};
    a.q = lin(DIM, DIM, 0, 1);
    a.k = lin(CTX, DIM, 0, 2);
    a.v = lin(CTX, DIM, 0, 3);
    a.out = lin(DIM, DIM, 1, 4);
    a.k_ip = lin(CTX, DIM, 0, 5);
    a.v_ip = lin(CTX, DIM, 0, 6);
    float *x = rnd((size_t)B * T * DIM, 7), *ctx = rnd((size_t)B * TC * CTX, 8);
    float ctx_text[B * (TC - NIP) * CTX];
    for (int b = 0; b < B; b++)
        memcpy(ctx_text + (size_t)b * (TC - NIP) * CTX, ctx + (size_t)b * TC * CTX, (size_t)(TC - NIP) * CTX * sizeof(float));
    float y_text[B * T * DIM], y0[B * T * DIM], y[B * T * DIM], ym[B * T * DIM];
    /* text only: a layer without IP weights on the text tokens */
    iid_attention_t plain = a;
    plain.has_ip = 0;
    run(&plain, x, ctx_text, TC - NIP, NULL, y_text);
    iid_ip_args_t ip0 = {NIP, 0.0f, {0}};
    run(&a, x, ctx, TC, &ip0, y0);
    assert_true(iid_test_max_abs_diff(y_text, y0, B * T * DIM) < 1e-6f);
    iid_ip_args_t ip = {NIP, 0.7f, {0}};
    run(&a, x, ctx, TC, &ip, y);
    assert_true(iid_test_max_abs_diff(y, y0, B * T * DIM) > 1e-3f);
    /* a 4x4 mask on a 2x2 grid: ones = no mask, zeros = scale 0 */
    float mask[16];
    for (int i = 0; i < 16; i++) mask[i] = 1.0f;
    iid_ip_args_t ipm = {NIP, 0.7f, mask_of(mask, 4, 4)};
    run(&a, x, ctx, TC, &ipm, ym);
    assert_true(iid_test_max_abs_diff(ym, y, B * T * DIM) < 1e-6f);
    memset(mask, 0, sizeof mask);
    run(&a, x, ctx, TC, &ipm, ym);
    assert_true(iid_test_max_abs_diff(ym, y0, B * T * DIM) < 1e-6f);
    /* top half ones: grid row 0 takes the IP branch, row 1 does not */
    for (int i = 0; i < 8; i++) mask[i] = 1.0f;
    run(&a, x, ctx, TC, &ipm, ym);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *want = (t / GW == 0 ? y : y0) + ((size_t)b * T + t) * DIM;
            assert_true(iid_test_max_abs_diff(ym + ((size_t)b * T + t) * DIM, want, DIM) < 1e-6f);
        }
    /* a 5x3 mask does not resize onto 2x2 tokens */
    iid_ip_args_t bad = {NIP, 0.7f, mask_of(mask, 5, 3)};
    iid_error_t err;
    assert_int_equal(attend(&a, x, ctx, TC, &bad, ym, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "mask"));
    /* more image tokens than context */
    iid_ip_args_t many = {TC, 0.7f, {0}};
    assert_int_equal(attend(&a, x, ctx, TC, &many, ym, &err), IID_ERR_INVALID);
    iid__attention_free(&a);
    free(x);
    free(ctx);
}

/* Convolutions run in bands of output rows when their unfold is too large:
 * same values as one unfold, for 3x3 stride 1 and stride 2 and odd sizes. */
static void test_conv_bands_match_whole(void **state)
{
    (void)state;
    int N = 2, C = 5, K = 7, H = 13, W = 11;
    float *x = rnd((size_t)N * C * H * W, 21);
    for (int stride = 1; stride <= 2; stride++) {
        iid_conv_t c = {wrnd(K, C * 9, 22), rnd((size_t)K, 23), C, K, 3, stride};
        iid_tensor_t xt = iid__tensor_wrap(iid__backend_default(), x, 4, (int64_t[]){N, C, H, W}), whole, band;
        iid_error_t err;
        assert_int_equal(iid__conv_apply_limited(iid__backend_default(), &c, &xt, &whole, (size_t)1 << 30, &err), IID_OK);
        int oh = (H - 1) / stride + 1, ow = (W - 1) / stride + 1;
        assert_int_equal(whole.ndim, 4);
        assert_true(whole.shape[0] == N && whole.shape[1] == K && whole.shape[2] == oh && whole.shape[3] == ow);
        const size_t limits[] = {1, 4096, 10000, 20000}; /* 1, 2, 5 and 10 output rows per band at stride 1 */
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            assert_int_equal(iid__conv_apply_limited(iid__backend_default(), &c, &xt, &band, limits[l], &err), IID_OK);
            assert_memory_equal(band.shape, whole.shape, sizeof whole.shape);
            assert_true(iid_test_max_abs_diff(whole.data, band.data, (size_t)iid__tensor_numel(&whole)) < 1e-5f);
            iid__tensor_release(&band);
        }
        iid__tensor_release(&whole);
        /* an input that is not (N, C, H, W) is refused */
        iid_tensor_t flat = iid__tensor_wrap(iid__backend_default(), x, 2, (int64_t[]){N, C * H * W});
        assert_int_equal(iid__conv_apply(iid__backend_default(), &c, &flat, &band, &err), IID_ERR_INVALID);
        iid__conv_free(&c);
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestep_embedding_hand),
        cmocka_unit_test(test_ip_branch_and_mask),
        cmocka_unit_test(test_conv_bands_match_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
