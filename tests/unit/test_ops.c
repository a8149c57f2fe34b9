/* test_ops.c - every fast op against its reference, and references against hand values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "ops/ops.h"
#include "support.h"

static float *rnd(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    iid_test_fill_random(x, n, seed);
    return x;
}

static void test_matmul_fast_matches_ref(void **state)
{
    (void)state;
    int M = 37, N = 29, K = 53;
    float *A = rnd((size_t)M * K, 1), *B = rnd((size_t)N * K, 2), *Bn = rnd((size_t)K * N, 3);
    float *c1 = rnd((size_t)M * N, 4), *c2 = malloc((size_t)M * N * sizeof(float));
    memcpy(c2, c1, (size_t)M * N * sizeof(float));
    iid__matmul_nt_ref(c1, A, B, M, N, K, 1);
    iid__matmul_nt(c2, A, B, M, N, K, 1);
    assert_true(iid_test_max_abs_diff(c1, c2, (size_t)M * N) < 1e-5f);
    iid__matmul_nn_ref(c1, A, Bn, M, N, K, 0);
    iid__matmul_nn(c2, A, Bn, M, N, K, 0);
    assert_true(iid_test_max_abs_diff(c1, c2, (size_t)M * N) < 1e-5f);
    /* A hand case: [1 2; 3 4] @ [5 6; 7 8]^T = [17 23; 39 53]. */
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4];
    float bias[] = {1, -1};
    iid__linear(c, a, b, bias, 2, 2, 2);
    float want[] = {18, 22, 40, 52};
    assert_memory_equal(c, want, sizeof want);
    free(A), free(B), free(Bn), free(c1), free(c2);
}

/* W (rows, cols) in dtype dt at byte offset off of a malloc'd buffer (odd offsets
 * make the data unaligned); *f32 receives the values it stands for. */
static unsigned char *wbytes(int rows, int cols, iid_dtype_t dt, size_t off, uint32_t seed, float **f32, iid_wmat_t *W)
{
    size_t n = (size_t)rows * cols, es = iid__dtype_size(dt);
    float *v = rnd(n, seed);
    unsigned char *buf = malloc(off + n * es);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        if (dt == IID_DTYPE_F16) {
            uint16_t h = iid__f32_to_f16(v[i]);
            v[i] = iid__f16_to_f32(h);
            memcpy(buf + off + 2 * i, &h, 2);
        } else if (dt == IID_DTYPE_BF16) {
            uint16_t h = iid__f32_to_bf16(v[i]);
            v[i] = iid__bf16_to_f32(h);
            memcpy(buf + off + 2 * i, &h, 2);
        } else {
            memcpy(buf + off + 4 * i, &v[i], 4);
        }
    }
    *f32 = v;
    *W = (iid_wmat_t){buf + off, dt, rows, cols, NULL, 0};
    return buf;
}

/* Products with a stored-dtype weight, converted in blocks of 1, 3 and all rows
 * and used in place when aligned F32, equal the references on the widened values. */
static void test_matmul_wmat_blocks_match_ref(void **state)
{
    (void)state;
    int M = 9, R = 23, K = 41, N = 17;
    const iid_dtype_t dts[] = {IID_DTYPE_F16, IID_DTYPE_BF16, IID_DTYPE_F32, IID_DTYPE_F32};
    const size_t offs[] = {1, 0, 0, 2};
    const size_t blocks[] = {1, 3 * 41 * 4, (size_t)1 << 30};
    for (int d = 0; d < 4; d++) {
        float *wf;
        iid_wmat_t W;
        unsigned char *buf = wbytes(R, K, dts[d], offs[d], 30 + d, &wf, &W);
        float *A = rnd((size_t)M * K, 40), *Bn = rnd((size_t)K * N, 41);
        float *ref = malloc((size_t)M * R * sizeof(float)), *got = malloc((size_t)R * N * sizeof(float));
        float *ref2 = malloc((size_t)R * N * sizeof(float)), *plain = malloc((size_t)R * N * sizeof(float));
        assert_int_equal(iid__matmul_wt_ref(ref, A, &W, M, 0), 0);
        iid__matmul_nt_ref(plain, A, wf, M, R, K, 0);
        assert_true(iid_test_max_abs_diff(ref, plain, (size_t)M * R) == 0.0f);
        for (int b = 0; b < 3; b++) {
            iid_test_fill_random(got, (size_t)M * R, 50);
            assert_int_equal(iid__matmul_wt_blocked(got, A, &W, M, 0, blocks[b], NULL), 0);
            assert_true(iid_test_max_abs_diff(ref, got, (size_t)M * R) < 1e-5f);
        }
        memcpy(ref2, got, (size_t)M * R * sizeof(float)); /* accumulate onto a known C */
        assert_int_equal(iid__matmul_wt_ref(ref2, A, &W, M, 1), 0);
        assert_int_equal(iid__matmul_wt_blocked(got, A, &W, M, 1, blocks[1], NULL), 0);
        assert_true(iid_test_max_abs_diff(ref2, got, (size_t)M * R) < 1e-5f);
        assert_int_equal(iid__matmul_wn_ref(ref2, &W, Bn, N, 0), 0);
        for (int b = 0; b < 3; b++) {
            assert_int_equal(iid__matmul_wn_blocked(got, &W, Bn, N, 0, blocks[b], NULL), 0);
            assert_true(iid_test_max_abs_diff(ref2, got, (size_t)R * N) < 1e-5f);
        }
        free(buf), free(wf), free(A), free(Bn), free(ref), free(got), free(ref2), free(plain);
    }
}

/* A convolution with an F16 weight equals the reference on the widened weight. */
static void test_conv_f16_weight(void **state)
{
    (void)state;
    iid_conv2d_shape_t s = {2, 6, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2};
    float *wf;
    iid_wmat_t W;
    unsigned char *buf = wbytes(s.K, 3 * 9, IID_DTYPE_F16, 1, 60, &wf, &W);
    size_t no = (size_t)2 * 4 * 9 * 7;
    float *in = rnd((size_t)2 * 6 * 9 * 7, 61), *b = rnd(4, 62);
    float *o1 = malloc(no * sizeof(float)), *o2 = malloc(no * sizeof(float));
    iid__conv2d_ref(o1, in, wf, b, &s);
    assert_int_equal(iid__conv2d(o2, in, &W, b, &s, NULL), 0);
    assert_true(iid_test_max_abs_diff(o1, o2, no) < 1e-5f);
    free(buf), free(wf), free(in), free(b), free(o1), free(o2);
}

static void test_layer_norm_hand(void **state)
{
    (void)state;
    float x[] = {1, 2, 3, 4}, y[4];
    float w[] = {1, 1, 2, 2}, b[] = {0, 0, 0, 1};
    iid__layer_norm(y, x, w, b, 1, 4, 0.0f);
    /* mean 2.5, var 1.25 */
    float s = 1.0f / sqrtf(1.25f);
    float want[] = {-1.5f * s, -0.5f * s, 2 * 0.5f * s, 2 * 1.5f * s + 1};
    assert_true(iid_test_max_abs_diff(y, want, 4) < 1e-6f);
}

static void test_group_norm_matches_layer_norm(void **state)
{
    (void)state;
    /* One group over (C, HW) equals a LayerNorm over the flattened C*HW values. */
    int C = 4, HW = 6;
    float *x = rnd((size_t)C * HW, 7), y1[24], y2[24];
    iid__group_norm(y1, x, NULL, NULL, 1, C, HW, 1, 1e-5f);
    iid__layer_norm(y2, x, NULL, NULL, 1, C * HW, 1e-5f);
    assert_true(iid_test_max_abs_diff(y1, y2, 24) < 1e-6f);
    free(x);
}

static void test_activations(void **state)
{
    (void)state;
    float x[] = {-1.0f, 0.0f, 2.0f};
    float g[3], q[3], s[3];
    memcpy(g, x, sizeof x);
    memcpy(q, x, sizeof x);
    memcpy(s, x, sizeof x);
    iid__gelu_erf(g, 3);
    iid__quick_gelu(q, 3);
    iid__silu(s, 3);
    assert_true(fabsf(g[0] - -0.15865525f) < 1e-6f && g[1] == 0.0f && fabsf(g[2] - 1.9544997f) < 1e-6f);
    assert_true(fabsf(q[2] - 2.0f / (1.0f + expf(-3.404f))) < 1e-6f);
    assert_true(fabsf(s[0] - -0.26894142f) < 1e-6f);
    float r[] = {1, 2, 3, 1000, 1000, 1000};
    iid__softmax_rows(r, 2, 3);
    assert_true(fabsf(r[0] + r[1] + r[2] - 1.0f) < 1e-6f && fabsf(r[3] - 1.0f / 3) < 1e-6f);
}

static void check_attention(int B, int H, int Tq, int Tk, int D, int causal, int padded)
{
    int HD = H * D;
    int qs = padded ? 3 * HD : HD, ks = padded ? 2 * HD : HD;
    float *q = rnd((size_t)B * Tq * qs, 11), *k = rnd((size_t)B * Tk * ks, 12), *v = rnd((size_t)B * Tk * ks, 13);
    float *o1 = malloc((size_t)B * Tq * HD * sizeof(float)), *o2 = malloc((size_t)B * Tq * HD * sizeof(float));
    iid_attn_shape_t s = {B, H, Tq, Tk, D, qs, ks, 1.0f / sqrtf((float)D), causal};
    assert_int_equal(iid__attention_ref(o1, q, k, v, &s), 0);
    assert_int_equal(iid__attention(o2, q, k, v, &s, NULL), 0);
    assert_true(iid_test_max_abs_diff(o1, o2, (size_t)B * Tq * HD) < 1e-5f);
    free(q), free(k), free(v), free(o1), free(o2);
}

static void test_attention_tiled_matches_ref(void **state)
{
    (void)state;
    check_attention(2, 3, 5, 7, 4, 0, 0);
    check_attention(1, 2, 300, 600, 8, 0, 1); /* several query and key tiles */
    check_attention(2, 2, 77, 77, 8, 1, 0);   /* causal, CLIP-shaped */
    check_attention(1, 1, 260, 260, 4, 1, 1);  /* causal across tiles */
}

static void check_conv(iid_conv2d_shape_t s)
{
    int OH = iid__conv_out_size(s.H, s.R, s.stride_h, s.pad_h, s.dil_h);
    int OW = iid__conv_out_size(s.W, s.S, s.stride_w, s.pad_w, s.dil_w);
    size_t no = (size_t)s.N * s.K * OH * OW;
    float *in = rnd((size_t)s.N * s.C * s.H * s.W, 21), *w = rnd((size_t)s.K * (s.C / s.groups) * s.R * s.S, 22);
    float *b = rnd((size_t)s.K, 23), *o1 = malloc(no * sizeof(float)), *o2 = malloc(no * sizeof(float));
    iid__conv2d_ref(o1, in, w, b, &s);
    iid_wmat_t wm = {w, IID_DTYPE_F32, s.K, (s.C / s.groups) * s.R * s.S, NULL, 0};
    assert_int_equal(iid__conv2d(o2, in, &wm, b, &s, NULL), 0);
    assert_true(iid_test_max_abs_diff(o1, o2, no) < 1e-5f);
    free(in), free(w), free(b), free(o1), free(o2);
}

static void test_conv_fast_matches_ref(void **state)
{
    (void)state;
    check_conv((iid_conv2d_shape_t){2, 5, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1});  /* 3x3 pad 1 */
    check_conv((iid_conv2d_shape_t){1, 4, 10, 10, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1}); /* stride 2 */
    check_conv((iid_conv2d_shape_t){1, 6, 7, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1});   /* 1x1 direct */
    check_conv((iid_conv2d_shape_t){1, 6, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 6});   /* depthwise, dilated */
    check_conv((iid_conv2d_shape_t){1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2});   /* 2 groups */
}

static void test_conv_hand(void **state)
{
    (void)state;
    /* A 3x3 box filter of ones over a 3x3 image of ones with padding 1. */
    float in[9], w[9], out[9];
    for (int i = 0; i < 9; i++) in[i] = w[i] = 1.0f;
    iid_conv2d_shape_t s = {1, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    iid__conv2d_ref(out, in, w, NULL, &s);
    float want[] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    assert_memory_equal(out, want, sizeof want);
    float up[36];
    iid__upsample_nearest2x(up, want, 1, 1, 3, 3);
    assert_true(up[0] == 4 && up[1] == 4 && up[6] == 4 && up[2] == 6 && up[35] == 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_fast_matches_ref), cmocka_unit_test(test_layer_norm_hand),
        cmocka_unit_test(test_group_norm_matches_layer_norm), cmocka_unit_test(test_activations),
        cmocka_unit_test(test_attention_tiled_matches_ref), cmocka_unit_test(test_conv_fast_matches_ref),
        cmocka_unit_test(test_conv_hand), cmocka_unit_test(test_matmul_wmat_blocks_match_ref),
        cmocka_unit_test(test_conv_f16_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
