/*
 * test_backend_ops.c - every op on every registered backend against the "ref"
 * backend (ggml's test-backend-ops, for our table).
 *
 *   test_backend_ops                 the cmocka checks on every registered backend
 *   test_backend_ops --backend NAME  the same on NAME only; exits 77 (skip) with a
 *                                    line saying why when NAME cannot run here
 *                                    (CTest's backend_ops_cuda in a CUDA build)
 *   test_backend_ops --perf          the cpu backend's GFLOP/s on one large matmul (f32,
 *                                    bf16), then time per op, shape and backend (no checks;
 *                                    speed numbers belong in bench/, not in a test verdict)
 *
 * Each case draws random inputs, uploads them to the backend under test, runs
 * the op through the dispatchers model code uses, downloads the result and
 * compares it with the same case on "ref" by normalised squared error
 * sum((a - b)^2) / sum(b^2), against the case's own threshold (exact ops 0, the
 * GEMM-based ones a float-reordering tolerance). Hand-computed cases pin the
 * reference loops of the glue ops themselves.
 *
 * bf16: the cpu backend again with $IID_DTYPE=bf16 (weights and GEMM/convolution
 * inputs rounded to bf16, 8 significant bits, f32 accumulation), each op held
 * to its bf16 threshold: a rounding of relative size 2^-9 on both factors gives
 * a normalised squared error near 3e-6 (measured 2e-6 .. 5e-6 here), so the ops
 * on prepared weights (matmul_wt, linear, conv2d) and attention (bf16 Q, K, V
 * and probabilities: the same roundings) allow 3e-5 and every other op keeps
 * its f32 threshold. Skipped with a message where oneDNN cannot run bf16
 * (no AVX-512).
 *
 * A device backend (host_memory 0: "cuda") has its own threshold per case: its
 * weights are bf16 and its products multiply bf16 operands (2^-9 relative
 * rounding each, an nmse near 1e-6: allowed 1e-4); everything else is f32 whose
 * results differ from the host's only by reduction order, FMA contraction and
 * the device's libm (allowed 1e-10); plain copies stay exact.
 */
#define _DEFAULT_SOURCE /* mincore, madvise */
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/half.h"
#include "ops/backend.h"
#include "ops/cpu/dnnl_weight.h"
#include "ops/cpu/fast_ops.h"
#include "ops/cpu/gemm_peak.h"
#include "ops/cpu/vec.h"
#include "support.h"
#ifdef IID_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

/* ---- device helpers ---- */

static float *dev_rand(const iid_backend_t *be, size_t n, uint32_t seed)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    assert_non_null(h);
    iid_test_fill_random(h, n, seed);
    float *d = iid__op_alloc(be, (n ? n : 1) * sizeof *d);
    assert_non_null(d);
    iid__op_upload(be, d, h, n * sizeof *d);
    free(h);
    return d;
}

static float *dev_zero(const iid_backend_t *be, size_t n)
{
    float *d = iid__op_alloc(be, (n ? n : 1) * sizeof *d);
    assert_non_null(d);
    iid__op_fill(be, d, 0.0f, (int64_t)n);
    return d;
}

/* A weight matrix in dtype dt with random values, host memory (as a checkpoint). */
typedef struct host_w {
    iid_wmat_t m;
    void *bytes;
} host_w_t;

static host_w_t host_weight(int rows, int cols, iid_dtype_t dt, uint32_t seed)
{
    size_t n = (size_t)rows * cols;
    float *f = malloc((n ? n : 1) * sizeof *f);
    assert_non_null(f);
    iid_test_fill_random(f, n, seed);
    host_w_t w = {{NULL, dt, rows, cols, NULL, 0}, malloc((n ? n : 1) * iid__dtype_size(dt))};
    assert_non_null(w.bytes);
    assert_int_equal(iid__convert_from_f32(w.bytes, dt, f, n, NULL), IID_OK);
    w.m.data = w.bytes;
    free(f);
    return w;
}

/* A random host weight bound to be, as a model binds its checkpoint's. */
typedef struct bound_w {
    host_w_t host;
    iid_wmat_t m;
    void *owned;
} bound_w_t;

static bound_w_t bind_random(const iid_backend_t *be, int rows, int cols, iid_dtype_t dt, uint32_t seed)
{
    bound_w_t w = {host_weight(rows, cols, dt, seed), {0}, NULL};
    assert_int_equal(iid__op_bind_weight(be, &w.host.m, &w.m, &w.owned, NULL), IID_OK);
    return w;
}

static void unbind(const iid_backend_t *be, bound_w_t *w)
{
    iid__op_release_weight(be, w->owned);
    free(w->host.bytes);
}

/* ---- the cases ---- */

/* Runs one case at shape index si on be: writes the result to a malloc'd host
 * array *out of *n floats. Returns 0, or -1 when si is past the case's shapes. */
typedef int (*case_fn)(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap);

static float *finish(const iid_backend_t *be, float *d, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    assert_non_null(h);
    iid_error_t err = {0};
    if (iid__op_download(be, h, d, n * sizeof *h, &err) != IID_OK) {
        const char *why = "";
#ifdef IID_CUDA
        why = iid__cuda_first_error(); /* which op broke */
#endif
        fail_msg("%s %s", err.msg, why);
    }
    iid__op_free(be, d);
    return h;
}

static int case_matmul_wt(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][4] = {{7, 13, 5, IID_DTYPE_F32}, {33, 64, 48, IID_DTYPE_F16}, {64, 96, 80, IID_DTYPE_BF16}};
    if (si >= 3) return -1;
    int M = sh[si][0], K = sh[si][1], N = sh[si][2];
    snprintf(label, cap, "M=%d K=%d N=%d %s", M, K, N, iid__dtype_name((iid_dtype_t)sh[si][3]));
    bound_w_t W = bind_random(be, N, K, (iid_dtype_t)sh[si][3], 3);
    float *A = dev_rand(be, (size_t)M * K, 1), *C = dev_rand(be, (size_t)M * N, 2);
    assert_int_equal(iid__op_matmul_wt(be, C, A, &W.m, M, 1, NULL), IID_OK);
    unbind(be, &W);
    iid__op_free(be, A);
    *n = (size_t)M * N;
    *out = finish(be, C, *n);
    return 0;
}

static int case_matmul_wn(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][4] = {{5, 9, 11, IID_DTYPE_F32}, {32, 72, 100, IID_DTYPE_F16}};
    if (si >= 2) return -1;
    int M = sh[si][0], K = sh[si][1], N = sh[si][2];
    snprintf(label, cap, "M=%d K=%d N=%d %s", M, K, N, iid__dtype_name((iid_dtype_t)sh[si][3]));
    bound_w_t W = bind_random(be, M, K, (iid_dtype_t)sh[si][3], 5);
    float *B = dev_rand(be, (size_t)K * N, 6), *C = dev_zero(be, (size_t)M * N);
    assert_int_equal(iid__op_matmul_wn(be, C, &W.m, B, N, 0, NULL), IID_OK);
    unbind(be, &W);
    iid__op_free(be, B);
    *n = (size_t)M * N;
    *out = finish(be, C, *n);
    return 0;
}

static int case_matmul_nt_nn(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][3] = {{3, 4, 5}, {40, 70, 30}};
    if (si >= 2) return -1;
    int M = sh[si][0], K = sh[si][1], N = sh[si][2];
    snprintf(label, cap, "M=%d K=%d N=%d", M, K, N);
    float *A = dev_rand(be, (size_t)M * K, 7), *B = dev_rand(be, (size_t)N * K, 8), *C = dev_zero(be, (size_t)2 * M * N);
    assert_int_equal(iid__op_matmul_nt(be, C, A, B, M, N, K, 0, NULL), IID_OK);
    assert_int_equal(iid__op_matmul_nn(be, C + (size_t)M * N, A, B, M, N, K, 0, NULL), IID_OK); /* B read as (K, N) */
    iid__op_free(be, A);
    iid__op_free(be, B);
    *n = (size_t)2 * M * N;
    *out = finish(be, C, *n);
    return 0;
}

static int case_linear(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][3] = {{4, 8, 6}, {77, 64, 96}};
    if (si >= 2) return -1;
    int M = sh[si][0], K = sh[si][1], N = sh[si][2];
    snprintf(label, cap, "M=%d in=%d out=%d F16", M, K, N);
    bound_w_t W = bind_random(be, N, K, IID_DTYPE_F16, 9);
    float *x = dev_rand(be, (size_t)M * K, 10), *b = dev_rand(be, (size_t)N, 11), *y = dev_zero(be, (size_t)M * N);
    assert_int_equal(iid__op_linear(be, y, x, &W.m, b, M, NULL), IID_OK);
    unbind(be, &W);
    iid__op_free(be, x);
    iid__op_free(be, b);
    *n = (size_t)M * N;
    *out = finish(be, y, *n);
    return 0;
}

static int case_conv2d(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const iid_conv2d_shape_t sh[] = {
        {1, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {2, 8, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {1, 16, 10, 10, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1}, {1, 6, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2}};
    if (si >= 4) return -1;
    const iid_conv2d_shape_t *s = &sh[si];
    int OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    int OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    snprintf(label, cap, "N=%d C=%d %dx%d K=%d %dx%d s%d g%d", s->N, s->C, s->H, s->W, s->K, s->R, s->S, s->stride_h,
             s->groups);
    bound_w_t W = bind_random(be, s->K, s->C / s->groups * s->R * s->S, IID_DTYPE_F16, 12);
    float *x = dev_rand(be, (size_t)s->N * s->C * s->H * s->W, 13), *b = dev_rand(be, (size_t)s->K, 14);
    *n = (size_t)s->N * s->K * OH * OW;
    float *y = dev_zero(be, *n);
    assert_int_equal(iid__op_conv2d(be, y, x, &W.m, b, s, NULL), IID_OK);
    unbind(be, &W);
    iid__op_free(be, x);
    iid__op_free(be, b);
    *out = finish(be, y, *n);
    return 0;
}

static int case_attention(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    /* the last two: several query and key tiles (128 x 256), causal tiles with no visible key */
    static const int sh[][6] = {{1, 2, 5, 7, 4, 0}, {2, 4, 300, 77, 16, 0}, {1, 2, 33, 33, 8, 1},
                                {1, 2, 300, 600, 64, 0}, {1, 1, 530, 530, 16, 1}};
    if (si >= 5) return -1;
    int B = sh[si][0], H = sh[si][1], Tq = sh[si][2], Tk = sh[si][3], D = sh[si][4], HD = H * D;
    snprintf(label, cap, "B=%d H=%d Tq=%d Tk=%d D=%d%s", B, H, Tq, Tk, D, sh[si][5] ? " causal" : "");
    iid_attn_shape_t s = {B, H, Tq, Tk, D, HD, HD, 1.0f / sqrtf((float)D), sh[si][5]};
    float *q = dev_rand(be, (size_t)B * Tq * HD, 15), *k = dev_rand(be, (size_t)B * Tk * HD, 16);
    float *v = dev_rand(be, (size_t)B * Tk * HD, 17);
    *n = (size_t)B * Tq * HD;
    float *o = dev_zero(be, *n);
    assert_int_equal(iid__op_attention(be, o, q, k, v, &s, NULL), IID_OK);
    iid__op_free(be, q);
    iid__op_free(be, k);
    iid__op_free(be, v);
    *out = finish(be, o, *n);
    return 0;
}

static int case_norms(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    /* the last: groups longer than the fast kernels' summation chunk, odd sizes */
    static const int sh[][4] = {{1, 8, 16, 2}, {2, 64, 100, 32}, {2, 12, 4099, 3}};
    if (si >= 3) return -1;
    int N = sh[si][0], C = sh[si][1], HW = sh[si][2], G = sh[si][3];
    snprintf(label, cap, "N=%d C=%d HW=%d G=%d", N, C, HW, G);
    size_t m = (size_t)N * C * HW;
    float *x = dev_rand(be, m, 18), *w = dev_rand(be, (size_t)C, 19), *b = dev_rand(be, (size_t)C, 20);
    float *y = dev_zero(be, 5 * m);
    assert_int_equal(iid__op_group_norm(be, y, x, w, b, N, C, HW, G, 1e-6f, NULL), IID_OK);
    assert_int_equal(iid__op_group_norm_silu(be, y + 3 * m, x, w, b, N, C, HW, G, 1e-6f, NULL), IID_OK);
    iid__op_copy(be, y + 4 * m, x, m * sizeof *y); /* in place, without w and b */
    assert_int_equal(iid__op_group_norm_silu(be, y + 4 * m, y + 4 * m, NULL, NULL, N, C, HW, G, 1e-5f, NULL), IID_OK);
    assert_int_equal(iid__op_layer_norm(be, y + m, x, w, b, (int64_t)N * HW, C, 1e-5f, NULL), IID_OK);
    /* batch norm with |var| as the variance */
    float *var = dev_rand(be, (size_t)C, 21);
    float *hv = malloc((size_t)C * sizeof *hv);
    assert_int_equal(iid__op_download(be, hv, var, (size_t)C * sizeof *hv, NULL), IID_OK);
    for (int c = 0; c < C; c++) hv[c] = fabsf(hv[c]) + 0.1f;
    iid__op_upload(be, var, hv, (size_t)C * sizeof *hv);
    free(hv);
    assert_int_equal(iid__op_batch_norm(be, y + 2 * m, x, w, b, w, var, N, C, HW, 1e-5f, NULL), IID_OK);
    iid__op_free(be, x);
    iid__op_free(be, w);
    iid__op_free(be, b);
    iid__op_free(be, var);
    *n = 5 * m;
    *out = finish(be, y, *n);
    return 0;
}

static int case_unary(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[] = {17, 70000};
    if (si >= 2) return -1;
    int m = sh[si];
    snprintf(label, cap, "n=%d x %d activations", m, IID_UNARY_COUNT);
    *n = (size_t)m * IID_UNARY_COUNT;
    float *x = dev_rand(be, *n, 22);
    for (int op = 0; op < IID_UNARY_COUNT; op++)
        assert_int_equal(iid__op_unary(be, (iid_unary_t)op, x + (size_t)op * m, m, NULL), IID_OK);
    *out = finish(be, x, *n);
    return 0;
}

static int case_binary(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][3] = {{1, 3, 5}, {2, 32, 64}};
    if (si >= 2) return -1;
    int N = sh[si][0], C = sh[si][1], HW = sh[si][2];
    snprintf(label, cap, "N=%d C=%d HW=%d", N, C, HW);
    size_t m = (size_t)N * C * HW;
    float *y = dev_rand(be, 6 * m, 23), *x = dev_rand(be, m, 24), *bias = dev_rand(be, (size_t)N * C, 25);
    float *plane = dev_rand(be, (size_t)HW, 26), *mask = dev_rand(be, (size_t)HW, 27);
    assert_int_equal(iid__op_add(be, y, x, (int64_t)m, NULL), IID_OK);
    assert_int_equal(iid__op_scale(be, y + m, 0.37f, (int64_t)m, NULL), IID_OK);
    assert_int_equal(iid__op_div_scalar(be, y + m, 0.13025f, (int64_t)m, NULL), IID_OK);
    assert_int_equal(iid__op_lerp(be, y + 2 * m, y + 3 * m, x, 7.5f, (int64_t)m, NULL), IID_OK);
    assert_int_equal(iid__op_mul_plane(be, y + 3 * m, plane, (int64_t)N * C, HW, NULL), IID_OK);
    assert_int_equal(iid__op_add_channel_bias(be, y + 4 * m, bias, N, C, HW, C, NULL), IID_OK);
    assert_int_equal(iid__op_add_channel_bias(be, y + 4 * m, bias, N, C, HW, 0, NULL), IID_OK);
    /* (N, HW, C) tokens: mask per token, and without a mask */
    assert_int_equal(iid__op_masked_add(be, y + 5 * m, x, mask, 0.8f, N, HW, C, NULL), IID_OK);
    assert_int_equal(iid__op_masked_add(be, y + 5 * m, x, NULL, -0.3f, N, HW, C, NULL), IID_OK);
    iid__op_free(be, x);
    iid__op_free(be, bias);
    iid__op_free(be, plane);
    iid__op_free(be, mask);
    *n = 6 * m;
    *out = finish(be, y, *n);
    return 0;
}

static int case_softmax_geglu(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][2] = {{3, 5}, {300, 160}, {40, 1283}};
    if (si >= 3) return -1;
    int M = sh[si][0], I = sh[si][1];
    snprintf(label, cap, "rows=%d width=%d", M, I);
    size_t m = (size_t)M * I;
    float *y = dev_rand(be, 2 * m, 28), *x = dev_rand(be, 2 * m, 29);
    assert_int_equal(iid__op_softmax_rows(be, y, M, I, NULL), IID_OK);
    assert_int_equal(iid__op_geglu(be, y + m, x, M, I, NULL), IID_OK);
    iid__op_free(be, x);
    *n = 2 * m;
    *out = finish(be, y, *n);
    return 0;
}

static int case_pool_resample(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][4] = {{1, 2, 6, 5}, {2, 8, 32, 24}};
    if (si >= 2) return -1;
    int N = sh[si][0], C = sh[si][1], H = sh[si][2], W = sh[si][3];
    snprintf(label, cap, "N=%d C=%d %dx%d", N, C, H, W);
    size_t m = (size_t)N * C * H * W;
    iid_pool2d_shape_t ps = {N, C, H, W, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0};
    int PH = iid__pool_out_size(H, 3, 2, 1, 1, 1), PW = iid__pool_out_size(W, 3, 2, 1, 1, 1);
    size_t np = (size_t)N * C * PH * PW, nu = 4 * m, nb = (size_t)N * C * (H / 2) * (W / 2) + (size_t)N * C * 2 * H * 3 * W;
    float *x = dev_rand(be, m, 30), *y = dev_zero(be, 2 * np + nu + nb);
    assert_int_equal(iid__op_maxpool2d(be, y, x, &ps, NULL), IID_OK);
    assert_int_equal(iid__op_avgpool2d(be, y + np, x, &ps, NULL), IID_OK);
    assert_int_equal(iid__op_upsample_nearest2x(be, y + 2 * np, x, N, C, H, W, NULL), IID_OK);
    float *r = y + 2 * np + nu;
    assert_int_equal(iid__op_resize_plane(be, r, x, (int64_t)N * C, H, W, H / 2, W / 2, IID_RESIZE_NEAREST, 2.0f, 2.0f,
                                          NULL),
                     IID_OK);
    r += (size_t)N * C * (H / 2) * (W / 2);
    assert_int_equal(iid__op_resize_plane(be, r, x, (int64_t)N * C, H, W, 2 * H, 3 * W, IID_RESIZE_BILINEAR, 0, 0,
                                          NULL),
                     IID_OK);
    iid__op_free(be, x);
    *n = 2 * np + nu + nb;
    *out = finish(be, y, *n);
    return 0;
}

static int case_layout(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][3] = {{1, 3, 4}, {2, 64, 300}};
    if (si >= 2) return -1;
    int N = sh[si][0], A = sh[si][1], B = sh[si][2];
    snprintf(label, cap, "N=%d A=%d B=%d", N, A, B);
    size_t m = (size_t)N * A * B;
    float *a = dev_rand(be, m, 31), *b = dev_rand(be, (size_t)N * B, 32), *y = dev_zero(be, 4 * m);
    assert_int_equal(iid__op_permute021(be, y, a, N, A, B, NULL), IID_OK);
    assert_int_equal(iid__op_concat_axis1(be, y + m, a, A, b, 1, N, B, NULL), IID_OK); /* b read as (N, 1, B) */
    assert_int_equal(iid__op_copy_rows(be, y + 3 * m, B, a, 2 * B, (int64_t)N * A / 2, B - 1, NULL), IID_OK);
    iid__op_free(be, a);
    iid__op_free(be, b);
    *n = 4 * m;
    *out = finish(be, y, *n);
    return 0;
}

static int case_gather_image(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][2] = {{5, 8}, {77, 768}};
    if (si >= 2) return -1;
    int T = sh[si][0], D = sh[si][1], rows = 1000;
    snprintf(label, cap, "ids=%d dim=%d, %d pixels", T, D, T * D);
    bound_w_t W = bind_random(be, rows, D, IID_DTYPE_F16, 33);
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    uint8_t *px = malloc((size_t)T * D * 3);
    assert_true(ids && px);
    for (int t = 0; t < T; t++) ids[t] = (t * 7919 + 13) % rows;
    for (int i = 0; i < T * D * 3; i++) px[i] = (uint8_t)(i * 31 + 7);
    *n = (size_t)T * D + (size_t)4 * T * D;
    float *y = dev_zero(be, *n);
    assert_int_equal(iid__op_gather_rows(be, y, &W.m, ids, T, NULL), IID_OK);
    assert_int_equal(iid__op_image_u8_to_f32(be, y + (size_t)T * D, px, (int64_t)T * D, 3, 0, 3, 255.0f, 0, NULL),
                     IID_OK);
    assert_int_equal(iid__op_image_u8_to_f32(be, y + (size_t)4 * T * D, px, (int64_t)T * D, 3, 1, 1, 127.5f, -1,
                                             NULL),
                     IID_OK);
    unbind(be, &W);
    free(ids);
    free(px);
    *out = finish(be, y, *n);
    return 0;
}

static int case_blend(const iid_backend_t *be, int si, float **out, size_t *n, char *label, size_t cap)
{
    static const int sh[][3] = {{2, 8, 4}, {6, 96, 48}}; /* placements up to (T, 2T/3) stay inside */
    if (si >= 2) return -1;
    int P = sh[si][0], O = sh[si][1], T = sh[si][2];
    snprintf(label, cap, "planes=%d out=%dx%d tile=%dx%d", P, O, O, T, T);
    size_t no = (size_t)P * O * O;
    float *y = dev_zero(be, no + (size_t)O * O), *tile = dev_rand(be, (size_t)P * T * T, 41);
    float *wy = malloc((size_t)T * sizeof *wy), *wx = malloc((size_t)T * sizeof *wx);
    assert_true(wy && wx);
    for (int i = 0; i < T; i++) wy[i] = 0.25f + (float)i / T, wx[i] = 1.0f - 0.5f * (float)i / T;
    iid__op_fill(be, y + no, 1.0f, (int64_t)O * O); /* weight sums start at 1: no pixel divides by 0 */
    for (int k = 0; k < 3; k++) /* overlapping placements */
        assert_int_equal(iid__op_blend_tile(be, y, y + no, P, O, O, tile, T, T, k * T / 2, k * T / 3, wy, wx, NULL),
                         IID_OK);
    assert_int_equal(iid__op_div_plane(be, y, y + no, P, (int64_t)O * O, NULL), IID_OK);
    free(wy);
    free(wx);
    iid__op_free(be, tile);
    *n = no;
    *out = finish(be, y, *n);
    return 0;
}

typedef struct op_case {
    const char *name;
    case_fn run;
    double max_nmse;        /* normalised squared error allowed against ref, host backends */
    double max_nmse_device; /* the same for a device backend (bf16 weights, see the top) */
    double bf16_nmse;       /* the cpu backend with $IID_DTYPE=bf16 */
} op_case_t;

#define BF16_GEMM 3e-5
static const op_case_t cases[] = {
    {"matmul_wt", case_matmul_wt, 1e-10, 1e-4, BF16_GEMM},
    {"matmul_wn", case_matmul_wn, 1e-10, 1e-4, 1e-10}, /* W B: the plain f32 path on cpu (no model binds it) */
    {"matmul_nt_nn", case_matmul_nt_nn, 1e-10, 1e-10, 1e-10}, /* activations only: f32 in every dtype */
    {"linear", case_linear, 1e-10, 1e-4, BF16_GEMM},
    {"conv2d", case_conv2d, 1e-10, 1e-4, BF16_GEMM},
    {"attention", case_attention, 1e-10, 1e-10, BF16_GEMM}, /* bf16 Q, K, V and P: the GEMMs' rounding */
    {"norms", case_norms, 1e-10, 1e-10, 1e-10}, /* cpu: vectorised, float sums per chunk */
    {"unary", case_unary, 0, 1e-10, 0},
    {"binary", case_binary, 0, 1e-10, 0},
    {"softmax_geglu", case_softmax_geglu, 1e-10, 1e-10, 1e-10}, /* cpu GEGLU: polynomial erf */
    {"pool_resample", case_pool_resample, 0, 1e-10, 0},
    {"layout", case_layout, 0, 0, 0},
    {"gather_image", case_gather_image, 0, 1e-4, 0},
    {"blend", case_blend, 0, 1e-10, 0},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static double nmse(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}

/* Every case at every shape on be against ref; returns the number checked. */
static int check_backend(const iid_backend_t *be, int bf16)
{
    int checked = 0;
    for (int c = 0; c < N_CASES; c++) {
        double limit = bf16 ? cases[c].bf16_nmse : be->host_memory ? cases[c].max_nmse : cases[c].max_nmse_device;
        for (int si = 0;; si++) {
            float *want = NULL, *got = NULL;
            size_t nw = 0, ng = 0;
            char label[128];
            if (cases[c].run(&iid__backend_ref, si, &want, &nw, label, sizeof label) != 0) break;
            assert_int_equal(cases[c].run(be, si, &got, &ng, label, sizeof label), 0);
            assert_int_equal(nw, ng);
            double e = nmse(got, want, nw);
            int finite = 1;
            for (size_t i = 0; i < nw; i++) finite &= isfinite(got[i]) != 0;
            if (e > limit || !finite)
                fail_msg("%s on %s%s [%s]: nmse %.3g > %.3g (finite %d)", cases[c].name, be->name,
                         bf16 ? " bf16" : "", label, e, limit, finite);
            free(want);
            free(got);
            checked++;
        }
    }
    return checked;
}

/* state: the one backend to check (--backend), or NULL for all registered. */
static void test_every_op_every_backend(void **state)
{
    const iid_backend_t *only = *state;
    int checked = 0;
    for (int bi = 0; iid__backend_at(bi); bi++)
        if (!only || iid__backend_at(bi) == only) checked += check_backend(iid__backend_at(bi), 0);
    assert_true(checked >= 2 * N_CASES);
}

static void test_every_op_cpu_bf16(void **state)
{
    (void)state;
    if (!iid__bf16_supported()) {
        printf("SKIP: oneDNN cannot run bf16 on this CPU (no AVX-512)\n");
        skip();
    }
    assert_int_equal(setenv(IID_DTYPE_ENV, "bf16", 1), 0); /* weights bind with it */
    int checked = check_backend(&iid__backend_cpu, 1);
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
    assert_true(checked >= N_CASES);
}

/* A bf16 weight's staging: an F16 view is rounded to bf16 by our own kernel and
 * a BF16 view is read as it is, where an F32 view goes through oneDNN's f32 ->
 * bf16 reorder; the three must prepare the same bits, so the same matrix
 * stored all three ways gives bit-identical products (a matmul and a 3x3
 * convolution, odd sizes). */
static void test_cpu_bf16_staging(void **state)
{
    (void)state;
    if (!iid__bf16_supported()) {
        printf("SKIP: oneDNN cannot run bf16 on this CPU (no AVX-512)\n");
        skip();
    }
    assert_int_equal(setenv(IID_DTYPE_ENV, "bf16", 1), 0);
    const iid_backend_t *be = &iid__backend_cpu;
    const int rows = 37, cols = 5 * 9, M = 29;
    iid_conv2d_shape_t cs = {1, 5, 11, 13, rows, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    host_w_t f16 = host_weight(rows, cols, IID_DTYPE_F16, 90);
    size_t n = (size_t)rows * cols;
    float *f = malloc(n * sizeof *f); /* the F16 values, exactly, as F32 and as BF16 (rounded once) */
    uint16_t *b = malloc(n * sizeof *b);
    assert_non_null(f);
    assert_non_null(b);
    iid__f16_to_f32_n(f, f16.bytes, n);
    for (size_t i = 0; i < n; i++) b[i] = iid__f32_to_bf16(f[i]);
    iid_wmat_t views[3] = {f16.m, {f, IID_DTYPE_F32, rows, cols, NULL, 0}, {b, IID_DTYPE_BF16, rows, cols, NULL, 0}};
    float *x = dev_rand(be, (size_t)M * cols, 91), *xc = dev_rand(be, (size_t)5 * 11 * 13, 92);
    float *got[2][3];
    for (int op = 0; op < 2; op++)
        for (int v = 0; v < 3; v++) {
            iid_wmat_t m;
            void *owned;
            assert_int_equal(iid__op_bind_weight(be, &views[v], &m, &owned, NULL), IID_OK);
            size_t no = op ? (size_t)rows * 11 * 13 : (size_t)M * rows;
            float *y = dev_zero(be, no);
            if (op) assert_int_equal(iid__op_conv2d(be, y, xc, &m, NULL, &cs, NULL), IID_OK);
            else assert_int_equal(iid__op_linear(be, y, x, &m, NULL, M, NULL), IID_OK);
            assert_int_equal(iid__dnnl_weight_info(m.prep).dtype, IID_DTYPE_BF16);
            got[op][v] = finish(be, y, no);
            iid__op_release_weight(be, owned);
            if (v) assert_memory_equal(got[op][v], got[op][0], no * sizeof(float));
        }
    for (int op = 0; op < 2; op++)
        for (int v = 0; v < 3; v++) free(got[op][v]);
    iid__op_free(be, x);
    iid__op_free(be, xc);
    free(f);
    free(b);
    free(f16.bytes);
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
}

/* The cpu backend's bound weights: prepared once for the op that uses them, in
 * the compute dtype (bf16 halves the f32 copy), and still right when a weight
 * prepared for one op is used by another (the plain path). */
static void test_cpu_weights_prepared(void **state)
{
    (void)state;
    const iid_backend_t *be = &iid__backend_cpu;
    int rounds = iid__bf16_supported() ? 2 : 1;
    for (int r = 0; r < rounds; r++) {
        assert_int_equal(setenv(IID_DTYPE_ENV, r ? "bf16" : "f32", 1), 0);
        const int M = 20, K = 64, N = 48;
        /* in f32 only an F32 matmul weight is prepared (test_cpu_f32_widens_16bit_weights) */
        bound_w_t W = bind_random(be, N, K, r ? IID_DTYPE_F16 : IID_DTYPE_F32, 50);
        assert_non_null(W.m.prep);
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).kind, 0); /* nothing until the first product */
        float *x = dev_rand(be, (size_t)M * K, 51), *y = dev_zero(be, (size_t)M * N), *y2 = dev_zero(be, (size_t)M * N);
        assert_int_equal(iid__op_linear(be, y, x, &W.m, NULL, M, NULL), IID_OK);
        iid_dnnl_weight_info_t in = iid__dnnl_weight_info(W.m.prep);
        assert_int_equal(in.kind, 1);
        assert_int_equal(in.dtype, r ? IID_DTYPE_BF16 : IID_DTYPE_F32);
        size_t es = r ? 2 : 4; /* the prepared copy is in the compute dtype (a blocked layout may pad) */
        assert_true(in.bytes >= (size_t)N * K * es && in.bytes < (size_t)N * K * es * 2);
        assert_true(strlen(in.impl) > 0);
        /* a second shape reuses the prepared weight; the ref result agrees */
        assert_int_equal(iid__op_linear(be, y2, x, &W.m, NULL, M / 2, NULL), IID_OK);
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).bytes, in.bytes);
        /* trimmed, the copy is handed back; the next product prepares it again
         * in the same layout, to the same bits */
        iid__op_trim_weight(be, W.owned);
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).bytes, 0);
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).kind, 1);
        float *y3 = dev_zero(be, (size_t)M * N);
        assert_int_equal(iid__op_linear(be, y3, x, &W.m, NULL, M, NULL), IID_OK);
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).bytes, in.bytes);
        float *hy3 = finish(be, y3, (size_t)M * N);
        float *hy = finish(be, y, (size_t)M * N), *hy2 = finish(be, y2, (size_t)M * N);
        assert_memory_equal(hy3, hy, (size_t)M * N * sizeof *hy);
        free(hy3);
        for (int i = 0; i < M / 2 * N; i++) assert_float_equal(hy[i], hy2[i], 1e-5 * (1 + fabsf(hy[i])));
        /* the same matrix as a 1x1 convolution: not what it was prepared for, so the plain path */
        iid_conv2d_shape_t cs = {1, K, 1, M, N, 1, 1, 1, 1, 0, 0, 1, 1, 1};
        float *xt = dev_zero(be, (size_t)K * M), *yc = dev_zero(be, (size_t)N * M);
        assert_int_equal(iid__op_permute021(be, xt, x, 1, M, K, NULL), IID_OK); /* (M, K) -> (K, M) */
        assert_int_equal(iid__op_conv2d(be, yc, xt, &W.m, NULL, &cs, NULL), IID_OK);
        float *hc = finish(be, yc, (size_t)N * M);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
                assert_float_equal(hc[(size_t)n * M + m], hy[(size_t)m * N + n], (r ? 3e-2 : 1e-4) * (1 + fabsf(hy[m * N + n])));
        assert_int_equal(iid__dnnl_weight_info(W.m.prep).kind, 1);
        free(hy);
        free(hy2);
        free(hc);
        iid__op_free(be, x);
        iid__op_free(be, xt);
        unbind(be, &W);
        /* a convolution weight is prepared as one */
        iid_conv2d_shape_t s = {1, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1};
        bound_w_t C = bind_random(be, 16, 8 * 9, IID_DTYPE_BF16, 52);
        float *ci = dev_rand(be, 8 * 144, 53), *co = dev_zero(be, 16 * 144);
        assert_int_equal(iid__op_conv2d(be, co, ci, &C.m, NULL, &s, NULL), IID_OK);
        assert_int_equal(iid__dnnl_weight_info(C.m.prep).kind, 2);
        iid__op_free(be, ci);
        iid__op_free(be, co);
        unbind(be, &C);
    }
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
}

/* Computing in f32, a matmul weight stored as F16 or BF16 is widened block by
 * block in each product, never copied whole: nothing is prepared, however many
 * products and shapes, and the products equal the ref backend's within f32
 * rounding, over several row blocks (1030 rows pass IID_WMAT_BLOCK_ROWS). The
 * same matrix in a convolution is prepared (an f32 copy). */
static void test_cpu_f32_widens_16bit_weights(void **state)
{
    (void)state;
    assert_int_equal(setenv(IID_DTYPE_ENV, "f32", 1), 0);
    const iid_dtype_t dts[] = {IID_DTYPE_F16, IID_DTYPE_BF16};
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        const int M = 6, K = 40, N = IID_WMAT_BLOCK_ROWS + 6;
        bound_w_t W = bind_random(&iid__backend_cpu, N, K, dts[d], 80);
        bound_w_t R = bind_random(&iid__backend_ref, N, K, dts[d], 80);
        float *bias = malloc((size_t)N * sizeof *bias);
        assert_non_null(bias);
        iid_test_fill_random(bias, (size_t)N, 81);
        for (int m = M; m >= M / 2; m -= M / 2) { /* two shapes */
            float *x = dev_rand(&iid__backend_cpu, (size_t)m * K, 82), *y = dev_zero(&iid__backend_cpu, (size_t)m * N);
            float *rx = dev_rand(&iid__backend_ref, (size_t)m * K, 82), *ry = dev_zero(&iid__backend_ref, (size_t)m * N);
            assert_int_equal(iid__op_linear(&iid__backend_cpu, y, x, &W.m, bias, m, NULL), IID_OK);
            assert_int_equal(iid__op_linear(&iid__backend_ref, ry, rx, &R.m, bias, m, NULL), IID_OK);
            float *got = finish(&iid__backend_cpu, y, (size_t)m * N), *want = finish(&iid__backend_ref, ry, (size_t)m * N);
            for (size_t i = 0; i < (size_t)m * N; i++) assert_float_equal(got[i], want[i], 1e-5 * (1 + fabsf(want[i])));
            free(got);
            free(want);
            iid__op_free(&iid__backend_cpu, x);
            iid__op_free(&iid__backend_ref, rx);
            iid_dnnl_weight_info_t in = iid__dnnl_weight_info(W.m.prep);
            assert_int_equal(in.kind, 0);
            assert_int_equal(in.bytes, 0);
        }
        free(bias);
        unbind(&iid__backend_ref, &R);
        /* as a 1x1 convolution it is prepared, in f32 */
        iid_conv2d_shape_t cs = {1, K, 1, 3, N, 1, 1, 1, 1, 0, 0, 1, 1, 1};
        float *ci = dev_rand(&iid__backend_cpu, (size_t)K * 3, 83), *co = dev_zero(&iid__backend_cpu, (size_t)N * 3);
        assert_int_equal(iid__op_conv2d(&iid__backend_cpu, co, ci, &W.m, NULL, &cs, NULL), IID_OK);
        iid_dnnl_weight_info_t in = iid__dnnl_weight_info(W.m.prep);
        assert_int_equal(in.kind, 2);
        assert_int_equal(in.dtype, IID_DTYPE_F32);
        assert_true(in.bytes >= (size_t)N * K * 4);
        iid__op_free(&iid__backend_cpu, ci);
        iid__op_free(&iid__backend_cpu, co);
        unbind(&iid__backend_cpu, &W);
    }
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
}

/* Resident pages of [p, p + n) (mincore). */
static size_t resident_pages(const void *p, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), np = (n + pg - 1) / pg, r = 0;
    unsigned char *v = malloc(np);
    assert_non_null(v);
    assert_int_equal(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < np; i++) r += v[i] & 1;
    free(v);
    return r;
}

/* A weight in a memory-mapped file, as a checkpoint's: once the cpu backend has
 * prepared its own copy, the file's pages leave the process (the copy replaces
 * them), and leave RAM too unless the view says it is a read-only file mapping,
 * whose pages are worth keeping in the page cache. */
static void test_cpu_weight_pages_released(void **state)
{
    (void)state;
#ifndef MADV_PAGEOUT
    printf("SKIP: this system has no MADV_PAGEOUT\n");
    skip();
#else
    const int N = 1024, K = 2048; /* 4 MiB of F16 */
    size_t bytes = (size_t)N * K * 2;
    host_w_t h = host_weight(N, K, IID_DTYPE_F16, 70);
    assert_int_equal(setenv(IID_DTYPE_ENV, "f32", 1), 0);
    /* file_backed 0 (unknown): paged out, gone from RAM; 1 (a checkpoint's read-only
     * mapping): gone from the process, kept in the page cache */
    for (int file_backed = 0; file_backed < 2; file_backed++) {
        char path[] = "test_backend_ops_weightXXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, h.bytes, bytes), (ssize_t)bytes);
        assert_int_equal(fsync(fd), 0); /* clean pages, as a checkpoint read from disk has */
        const unsigned char *map = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        assert_true(map != MAP_FAILED);
        close(fd);
        unlink(path);
        unsigned sum = 0;
        for (size_t i = 0; i < bytes; i += 512) sum += map[i]; /* fault every page in */
        size_t pages = bytes / (size_t)sysconf(_SC_PAGESIZE);
        assert_true(resident_pages(map, bytes) > pages * 9 / 10 || sum == 0);
        assert_true(iid_test_mapping_rss_kb(map) >= (long)(bytes / 1024) * 9 / 10);
        iid_wmat_t host = {map, IID_DTYPE_F16, N, K, NULL, file_backed}, dev;
        void *owned = NULL;
        assert_int_equal(iid__op_bind_weight(&iid__backend_cpu, &host, &dev, &owned, NULL), IID_OK);
        /* a 1x1 convolution prepares it (in f32 a linear would widen the F16 view per product) */
        iid_conv2d_shape_t cs = {1, K, 1, 2, N, 1, 1, 1, 1, 0, 0, 1, 1, 1};
        float *x = dev_rand(&iid__backend_cpu, (size_t)2 * K, 71), *y = dev_zero(&iid__backend_cpu, (size_t)2 * N);
        assert_int_equal(iid__op_conv2d(&iid__backend_cpu, y, x, &dev, NULL, &cs, NULL), IID_OK);
        assert_int_equal(iid__dnnl_weight_info(dev.prep).kind, 2);
        long rss = iid_test_mapping_rss_kb(map);
        if (rss < 0 || rss > (long)(bytes / 1024) / 10) fail_msg("the mapped weight keeps %ld kB in the process", rss);
        size_t cached = resident_pages(map, bytes); /* mincore: the page cache, mapped or not */
        if (file_backed ? cached < pages * 9 / 10 : cached > pages / 10)
            fail_msg("file_backed %d: %zu of %zu pages of the weight's file in the page cache", file_backed, cached,
                     pages);
        /* the view still reads back right: trimmed, the weight is prepared again from it */
        iid__op_trim_weight(&iid__backend_cpu, owned);
        float *y2 = dev_zero(&iid__backend_cpu, (size_t)2 * N);
        assert_int_equal(iid__op_conv2d(&iid__backend_cpu, y2, x, &dev, NULL, &cs, NULL), IID_OK);
        float *hy = finish(&iid__backend_cpu, y, (size_t)2 * N), *hy2 = finish(&iid__backend_cpu, y2, (size_t)2 * N);
        assert_memory_equal(hy, hy2, (size_t)2 * N * sizeof *hy);
        /* as a linear in f32 the F16 view is read in each product, so its pages
         * come back into the process; a trim hands them back as well */
        float *xl = dev_rand(&iid__backend_cpu, (size_t)2 * K, 72), *yl = dev_zero(&iid__backend_cpu, (size_t)2 * N);
        float *yl2 = dev_zero(&iid__backend_cpu, (size_t)2 * N);
        assert_int_equal(iid__op_linear(&iid__backend_cpu, yl, xl, &dev, NULL, 2, NULL), IID_OK);
        assert_true(iid_test_mapping_rss_kb(map) >= (long)(bytes / 1024) * 9 / 10);
        iid__op_trim_weight(&iid__backend_cpu, owned);
        rss = iid_test_mapping_rss_kb(map);
        if (rss < 0 || rss > (long)(bytes / 1024) / 10) fail_msg("trimmed, the weight keeps %ld kB in the process", rss);
        assert_int_equal(iid__op_linear(&iid__backend_cpu, yl2, xl, &dev, NULL, 2, NULL), IID_OK);
        float *hl = finish(&iid__backend_cpu, yl, (size_t)2 * N), *hl2 = finish(&iid__backend_cpu, yl2, (size_t)2 * N);
        assert_memory_equal(hl, hl2, (size_t)2 * N * sizeof *hl);
        free(hl);
        free(hl2);
        free(hy);
        free(hy2);
        iid__op_free(&iid__backend_cpu, x);
        iid__op_free(&iid__backend_cpu, xl);
        iid__op_release_weight(&iid__backend_cpu, owned);
        munmap((void *)map, bytes);
    }
    free(h.bytes);
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
#endif
}

/* Every entry of every compiled table is set (available() may be NULL: always):
 * the cuda table is checked here even where no GPU can run it, so an op added to
 * the table without its CUDA version fails CI, not a GPU session. */
static void test_tables_complete(void **state)
{
    (void)state;
    const iid_backend_t *tables[] = {&iid__backend_ref, &iid__backend_cpu,
#ifdef IID_CUDA
                                     &iid__backend_cuda,
#endif
    };
    typedef void (*fn_t)(void);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        size_t n = sizeof(iid_backend_i) / sizeof(fn_t);
        for (size_t k = 0; k < n; k++) {
            fn_t f;
            memcpy(&f, (const char *)tables[t]->i + k * sizeof f, sizeof f);
            if (!f && k * sizeof f != offsetof(iid_backend_i, available))
                fail_msg("backend '%s': table entry %zu of %zu is NULL", tables[t]->name, k, n);
        }
    }
}

/* The registry's answers for "cuda" in this build on this machine. */
static void test_cuda_lookup(void **state)
{
    (void)state;
    const iid_backend_t *b = NULL;
    iid_error_t err = {0};
    iid_status s = iid__backend_lookup("cuda", &b, &err);
#ifdef IID_CUDA
    if (s == IID_OK) { /* a GPU answers: cuda is registered and preferred */
        assert_ptr_equal(b, iid__backend_at(0));
        assert_int_equal(b->host_memory, 0);
        return;
    }
    assert_int_equal(s, IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "cudaGetDeviceCount"));
    for (int i = 0; iid__backend_at(i); i++) assert_string_not_equal(iid__backend_at(i)->name, "cuda");
#else
    assert_int_equal(s, IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not compiled in"));
#endif
    assert_null(b);
    assert_null(iid__backend_find("cuda"));
}

/* ---- the reference loops of the glue ops against hand values ---- */

static void test_glue_ops_by_hand(void **state)
{
    (void)state;
    /* GEGLU: [h | g] -> h * gelu(g); gelu(0) = 0, gelu(large) ~ large */
    float x[] = {2, 3, 0, 10}, y[2];
    iid__geglu_ref(y, x, 1, 2);
    assert_true(y[0] == 0.0f && fabsf(y[1] - 30.0f) < 1e-4f);
    /* channel bias, per image (stride C) and shared (stride 0) */
    float fm[8] = {0}, bias[4] = {1, 2, 3, 4};
    iid__add_channel_bias_ref(fm, bias, 2, 2, 2, 2);
    float want_b[] = {1, 1, 2, 2, 3, 3, 4, 4};
    assert_memory_equal(fm, want_b, sizeof want_b);
    iid__add_channel_bias_ref(fm, bias, 2, 2, 2, 0);
    assert_true(fm[0] == 2 && fm[2] == 4 && fm[4] == 4 && fm[7] == 6);
    /* masked add: (1, 2 tokens, 2 channels) */
    float acc[4] = {1, 1, 1, 1}, src[4] = {1, 2, 3, 4}, mk[2] = {0, 1};
    iid__masked_add_ref(acc, src, mk, 2.0f, 1, 2, 2);
    float want_m[] = {1, 1, 7, 9};
    assert_memory_equal(acc, want_m, sizeof want_m);
    /* division by a scalar is a division, not a product by the reciprocal */
    float dv[2] = {1.0f, -2.0f};
    iid__div_scalar_ref(dv, 0.13025f, 2);
    assert_true(dv[0] == 1.0f / 0.13025f && dv[1] == -2.0f / 0.13025f);
    /* plane product */
    float pl[4] = {1, 2, 3, 4}, m2[2] = {10, 0};
    iid__mul_plane_ref(pl, m2, 2, 2);
    float want_p[] = {10, 0, 30, 0};
    assert_memory_equal(pl, want_p, sizeof want_p);
    /* permute round trip and a hand transpose */
    float t[6] = {1, 2, 3, 4, 5, 6}, tt[6], back[6];
    iid__permute021_ref(tt, t, 1, 2, 3);
    float want_t[] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(tt, want_t, sizeof want_t);
    iid__permute021_ref(back, tt, 1, 3, 2);
    assert_memory_equal(back, t, sizeof t);
    /* concat along axis 1 */
    float ca[4] = {1, 2, 3, 4}, cb[2] = {9, 8}, cc[6];
    iid__concat_axis1_ref(cc, ca, 2, cb, 1, 2, 1);
    float want_c[] = {1, 2, 9, 3, 4, 8};
    assert_memory_equal(cc, want_c, sizeof want_c);
    /* gather, with an out-of-range id refused */
    float table[6] = {0, 1, 10, 11, 20, 21}, g[4];
    iid_wmat_t tw = {table, IID_DTYPE_F32, 3, 2, NULL, 0};
    int32_t ids[2] = {2, 0}, bad[1] = {3};
    assert_int_equal(iid__gather_rows_ref(g, &tw, ids, 2), 0);
    float want_g[] = {20, 21, 0, 1};
    assert_memory_equal(g, want_g, sizeof want_g);
    assert_int_equal(iid__gather_rows_ref(g, &tw, bad, 1), -1);
    /* u8 interleaved -> planar */
    uint8_t px[6] = {0, 255, 51, 255, 0, 102};
    float im[6];
    iid__image_u8_to_f32_ref(im, px, 2, 3, 0, 3, 255.0f, 0);
    assert_true(im[0] == 0 && im[1] == 1 && im[2] == 1 && im[3] == 0 && fabsf(im[4] - 0.2f) < 1e-6f);
    /* nearest at scale 1/2 picks every other pixel; bilinear 2x2 -> 4x4 keeps corners' quarter weights */
    float src4[16], near[4];
    for (int i = 0; i < 16; i++) src4[i] = (float)i;
    iid__resize_plane_ref(near, src4, 1, 4, 4, 2, 2, IID_RESIZE_NEAREST, 2.0f, 2.0f);
    float want_n[] = {0, 2, 8, 10};
    assert_memory_equal(near, want_n, sizeof want_n);
    float s2[4] = {0, 1, 2, 3}, up[16];
    iid__resize_plane_ref(up, s2, 1, 2, 2, 4, 4, IID_RESIZE_BILINEAR, 0, 0);
    assert_true(up[0] == 0.0f && up[15] == 3.0f && fabsf(up[1] - 0.25f) < 1e-6f && fabsf(up[5] - 0.75f) < 1e-6f);
}

/* A host backend runs an op it does not claim through ref; a device one refuses. */
static int never(const iid_backend_t *be, iid_op_t op) { return 0; }

static void test_supports_op_fallback(void **state)
{
    (void)state;
    iid_backend_i table = *iid__backend_cpu.i;
    table.supports_op = never;
    iid_backend_t host = {"partial", "", 1, &table, NULL}, dev = {"device", "", 0, &table, NULL};
    float x[4] = {1, 2, 3, 4}, want[4] = {2, 4, 6, 8};
    assert_int_equal(iid__op_scale(&host, x, 2.0f, 4, NULL), IID_OK);
    assert_memory_equal(x, want, sizeof want);
    iid_error_t err = {0};
    assert_int_equal(iid__op_scale(&dev, x, 2.0f, 4, &err), IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "device"));
    /* the registry */
    assert_ptr_equal(iid__backend_find("ref"), &iid__backend_ref);
    assert_ptr_equal(iid__backend_default(), iid__backend_at(0));
    const iid_backend_t *b;
    assert_int_equal(iid__backend_lookup("nope", &b, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "cpu"));
}

static float *host_rand(size_t n, uint32_t seed)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    assert_non_null(h);
    iid_test_fill_random(h, n, seed);
    return h;
}

static void expect_close(const char *what, const char *level, const float *got, const float *want, size_t n)
{
    double e = nmse(got, want, n);
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]) != isfinite(got[i])) fail_msg("%s (%s): value %zu is %g, want %g", what, level, i, got[i], want[i]);
    if (e > 1e-10) fail_msg("%s (%s): nmse %.3g > 1e-10", what, level, e);
}

/* Every instruction-set table of the cpu backend's vector kernels this CPU runs
 * (the baseline one always: what an AVX2-only or older CI machine would lack is
 * said, not hidden) against the reference loops, with the exp edge cases. */
static void test_cpu_vec_levels(void **state)
{
    (void)state;
    int ran = 0;
    for (int level = 0; level < IID_CPU_VEC_LEVELS; level++) {
        const iid_cpu_vec_t *v = iid__cpu_vec_level(level);
        if (!v) {
            printf("cpu vector kernels level %d: not run on this CPU\n", level);
            continue;
        }
        ran++;
        /* one GroupNorm group longer than a summation chunk, with and without SiLU */
        const int cpg = 3, HW = 1501;
        size_t m = (size_t)cpg * HW;
        float *x = host_rand(m, 60), *w = host_rand(cpg, 61), *b = host_rand(cpg, 62);
        for (size_t i = 0; i < m; i++) x[i] = 3.0f * x[i] + 1.5f; /* a mean away from 0 */
        float *want = malloc(m * sizeof *want), *got = malloc(m * sizeof *got);
        assert_non_null(want);
        assert_non_null(got);
        for (int silu = 0; silu < 2; silu++) {
            iid__group_norm(want, x, w, b, 1, cpg, HW, 1, 1e-5f);
            if (silu) iid__silu(want, (int64_t)m);
            v->group_norm(got, x, w, b, cpg, HW, 1e-5f, silu);
            expect_close(silu ? "group_norm + silu" : "group_norm", v->name, got, want, m);
        }
        /* LayerNorm rows, with and without affine parameters */
        const int C = 333;
        float *lw = host_rand(C, 63), *lb = host_rand(C, 64);
        for (int affine = 0; affine < 2; affine++) {
            iid__layer_norm(want, x, affine ? lw : NULL, affine ? lb : NULL, 4, C, 1e-5f);
            for (int r = 0; r < 4; r++)
                v->layer_norm(got + r * C, x + r * C, affine ? lw : NULL, affine ? lb : NULL, C, 1e-5f);
            expect_close("layer_norm", v->name, got, want, (size_t)4 * C);
        }
        /* GEGLU over gates from -12 to 12 */
        const int width = 700;
        for (int i = 0; i < width; i++) x[width + i] = -12.0f + 24.0f * i / (width - 1);
        iid__geglu_ref(want, x, 1, width);
        v->geglu(got, x, width);
        expect_close("geglu", v->name, got, want, width);
        /* max and exp_sum, with the edges: -inf and far below the range give 0, NaN stays NaN */
        const int n = 259;
        for (int i = 0; i < n; i++) x[i] = 20.0f * x[i];
        x[7] = -INFINITY;
        x[8] = -200.0f;
        float mx = -INFINITY;
        for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
        assert_true(v->max(x, n) == mx);
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += want[i] = expf(x[i] - mx);
        memcpy(got, x, (size_t)n * sizeof *got);
        float s = v->exp_sum(got, n, mx);
        expect_close("exp_sum", v->name, got, want, n);
        assert_true(got[7] == 0.0f && got[8] == 0.0f);
        assert_float_equal(s, sum, 1e-5 * sum);
        got[0] = NAN;
        v->exp_sum(got, 1, 0.0f);
        assert_true(isnan(got[0]));
        v->scale(got + 1, n - 1, 0.5f);
        for (int i = 1; i < n; i++) assert_float_equal(got[i], 0.5f * want[i], 1e-7 * fabsf(want[i]) + 1e-30);
        /* to_bf16: bit for bit the scalar rounding, with ties both ways, overflow to inf, NaN, signed zero */
        static const uint32_t edge[] = {0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0x7f800000u, 0xff800000u,
                                        0x7fc00001u, 0x7f800001u, 0x80000000u, 0x00000001u, 0xbf7fffffu};
        const int ne = (int)(sizeof edge / sizeof edge[0]);
        for (int i = 0; i < ne; i++) memcpy(&x[i], &edge[i], sizeof x[i]);
        uint16_t bf[259];
        for (int pass = 0; pass < 2; pass++) {
            float sc = pass ? 0.125f : 1.0f; /* a scale applied before the rounding */
            v->to_bf16(bf, x, n, sc);
            for (int i = 0; i < n; i++)
                if (bf[i] != iid__f32_to_bf16(x[i] * sc))
                    fail_msg("to_bf16 (%s): value %d (%a x %g) gives 0x%04x, want 0x%04x", v->name, i, x[i], sc, bf[i],
                             iid__f32_to_bf16(x[i] * sc));
        }
        free(x);
        free(w);
        free(b);
        free(lw);
        free(lb);
        free(want);
        free(got);
    }
    assert_true(ran >= 1);
    int best = IID_CPU_VEC_LEVELS - 1;
    while (!iid__cpu_vec_level(best)) best--;
    assert_ptr_equal(iid__cpu_vec(), iid__cpu_vec_level(best)); /* the backend uses the widest */
}

static void *refuse_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    (void)bytes;
    return NULL;
}

/* The cpu backend's bf16 attention itself (the op table falls back to the f32
 * kernel when oneDNN cannot build its products, which the check above would not
 * notice): it runs (0), its rounding shows (not the f32 result) and stays within
 * the bf16 threshold, over several query blocks and key tiles, and it leaves the
 * causal case and short key sets to the f32 kernel (1, out untouched); without
 * scratch it fails (-1) without touching out. */
static void test_cpu_attention_bf16(void **state)
{
    (void)state;
    if (!iid__bf16_supported()) {
        printf("SKIP: oneDNN cannot run bf16 on this CPU (no AVX-512)\n");
        skip();
    }
    /* H=64 makes the query blocks 32 rows (7 blocks, the last 8); Tk=600: a 512-key tile and an 88-key one */
    static const int sh[][4] = {{2, 3, 140, 16}, {64, 200, 600, 8}, {1, 70, 1030, 24}};
    for (size_t c = 0; c < sizeof sh / sizeof sh[0]; c++) {
        int H = sh[c][0], Tq = sh[c][1], Tk = sh[c][2], D = sh[c][3], B = 2, HD = H * D;
        /* strided rows, as the fused q/k/v projections give them */
        iid_attn_shape_t s = {B, H, Tq, Tk, D, HD + 3, 2 * HD, 1.0f / sqrtf((float)D), 0};
        float *q = host_rand((size_t)B * Tq * s.q_stride, 80), *k = host_rand((size_t)B * Tk * s.kv_stride, 81);
        float *v = host_rand((size_t)B * Tk * s.kv_stride, 82);
        size_t n = (size_t)B * Tq * HD;
        float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
        assert_non_null(want);
        assert_non_null(got);
        assert_int_equal(iid__attention_ref(want, q, k, v, &s), 0);
        assert_int_equal(iid__attention_bf16(got, q, k, v, &s, NULL), 0);
        double e = nmse(got, want, n);
        printf("attention bf16 H=%d Tq=%d Tk=%d D=%d: nmse %.3g\n", H, Tq, Tk, D, e);
        assert_true(e > 0.0 && e < BF16_GEMM);
        got[0] = 12345.0f;
        s.causal = 1;
        assert_int_equal(iid__attention_bf16(got, q, k, v, &s, NULL), 1);
        s.causal = 0;
        s.Tk = 127; /* a cross-attention's few keys */
        assert_int_equal(iid__attention_bf16(got, q, k, v, &s, NULL), 1);
        s.Tk = Tk;
        const iid_scratch_t no_memory = {refuse_alloc, NULL, NULL}; /* its scratch refused: -1, out untouched */
        assert_int_equal(iid__attention_bf16(got, q, k, v, &s, &no_memory), -1);
        assert_true(got[0] == 12345.0f);
        free(q);
        free(k);
        free(v);
        free(want);
        free(got);
    }
}

/* A tensor in every backend's memory: shape, size, upload then download give the
 * data back; a slice views the same memory. */
static void test_tensor_round_trip(void **state)
{
    (void)state;
    for (int bi = 0; iid__backend_at(bi); bi++) {
        iid_tensor_t b;
        int64_t shape[3] = {2, 3, 5};
        assert_int_equal(iid__tensor_alloc_on(&b, iid__backend_at(bi), IID_DTYPE_F32, 3, shape, NULL), IID_OK);
        assert_true(b.owns);
        assert_ptr_equal(b.be, iid__backend_at(bi));
        assert_int_equal(iid__tensor_numel(&b), 30);
        assert_int_equal(iid__tensor_nbytes(&b), 120);
        float in[30], out[30];
        iid_test_fill_random(in, 30, 40);
        iid__tensor_upload(&b, in);
        assert_int_equal(iid__tensor_download(&b, out, NULL), IID_OK);
        assert_memory_equal(in, out, sizeof in);
        iid_tensor_t s = iid__tensor_slice(&b, 1, 1); /* (1, 3, 5): the second item */
        assert_false(s.owns);
        assert_int_equal(iid__tensor_numel(&s), 15);
        assert_int_equal(iid__tensor_download(&s, out, NULL), IID_OK);
        assert_memory_equal(in + 15, out, 15 * sizeof *out);
        iid__tensor_release(&s); /* a view frees nothing */
        iid__tensor_release(&b);
        assert_null(b.data);
        iid__tensor_release(&b); /* a freed tensor is a no-op */
    }
    iid_tensor_t bad;
    iid_error_t err;
    int64_t shape[1] = {1};
    assert_int_equal(iid__tensor_alloc_on(&bad, &iid__backend_cpu, IID_DTYPE_F32, IID_MAX_DIMS + 1, shape, &err),
                     IID_ERR_RANGE);
}

/* ---- --perf ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int perf(void)
{
    printf("%-14s %-8s %-40s %12s\n", "op", "backend", "shape", "ms/run");
    for (int c = 0; c < N_CASES; c++)
        for (int bi = 0; iid__backend_at(bi); bi++) {
            const iid_backend_t *be = iid__backend_at(bi);
            for (int si = 0;; si++) {
                float *o = NULL;
                size_t n;
                char label[128];
                int runs = 0;
                double t0 = now_s(), t = 0;
                do { /* at least 3 runs and 0.2 s (includes upload and download) */
                    if (cases[c].run(be, si, &o, &n, label, sizeof label) != 0) break;
                    free(o);
                    runs++;
                    t = now_s() - t0;
                } while (runs < 3 || t < 0.2);
                if (!runs) break;
                printf("%-14s %-8s %-40s %12.3f\n", cases[c].name, be->name, label, 1e3 * t / runs);
            }
        }
    return 0;
}

/* The GEMM rate of the cpu backend on one large prepared matmul, f32 and bf16
 * (ops/cpu/gemm_peak.h: the yardstick for ">= 50% of the bf16 peak"). */
static void perf_peak(void)
{
    for (int bf16 = 0; bf16 < 2; bf16++) {
        if (bf16 && !iid__bf16_supported()) {
            printf("large matmul bf16: skipped (oneDNN cannot run bf16 here)\n");
            break;
        }
        iid_gemm_peak_t p;
        iid_error_t err = {0};
        if (iid__gemm_peak(bf16 ? IID_DTYPE_BF16 : IID_DTYPE_F32, 1.0, &p, &err) != IID_OK)
            fail_msg("%s", err.msg);
        printf("large matmul %s M=%d K=%d N=%d: %.1f GFLOP/s (%s)\n", bf16 ? "bf16" : "f32", p.M, p.K, p.N, p.gflops,
               p.impl);
    }
}

/* A convolution in bands of output rows (what the cpu backend does for the VAE's
 * largest maps, to bound its scratch) gives what one band gives: every geometry
 * the models use (3x3 padded, stride 2, 1x1) and a dilated, unpadded and an
 * odd-sized one, with a band limit small enough for a band of one row. */
static void test_cpu_conv_bands(void **state)
{
    (void)state;
    const iid_backend_t *be = &iid__backend_cpu;
    /* N, C, H, W, K, R, S, stride, pad, dil */
    static const int geo[][10] = {{1, 8, 23, 17, 16, 3, 3, 1, 1, 1}, {2, 16, 20, 12, 8, 3, 3, 2, 1, 1},
                                  {1, 8, 19, 9, 24, 1, 1, 1, 0, 1}, {1, 8, 21, 13, 8, 3, 3, 1, 2, 2},
                                  {1, 4, 15, 11, 8, 3, 3, 1, 0, 1}};
    int rounds = iid__bf16_supported() ? 2 : 1;
    for (int r = 0; r < rounds; r++) {
        assert_int_equal(setenv(IID_DTYPE_ENV, r ? "bf16" : "f32", 1), 0);
        for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
            const int *q = geo[g];
            iid_conv2d_shape_t cs = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[7], q[8], q[8], q[9], q[9], 1};
            int OH = iid__conv_out_size(cs.H, cs.R, cs.stride_h, cs.pad_h, cs.dil_h);
            int OW = iid__conv_out_size(cs.W, cs.S, cs.stride_w, cs.pad_w, cs.dil_w);
            size_t nin = (size_t)cs.N * cs.C * cs.H * cs.W, nout = (size_t)cs.N * cs.K * OH * OW;
            bound_w_t W = bind_random(be, cs.K, cs.C * cs.R * cs.S, IID_DTYPE_F16, 60 + (uint32_t)g);
            float *x = dev_rand(be, nin, 61), *b = dev_rand(be, (size_t)cs.K, 62);
            float *one = dev_zero(be, nout), *bands = dev_zero(be, nout);
            assert_int_equal(iid__dnnl_conv2d_banded(W.m.prep, one, x, b, &cs, 0, NULL), 0);
            /* a limit of one output row's worth of input and output: OH bands */
            size_t row = ((size_t)cs.N * cs.C * cs.W + (size_t)cs.N * cs.K * OW) * sizeof(float);
            assert_int_equal(iid__dnnl_conv2d_banded(W.m.prep, bands, x, b, &cs, row, NULL), 0);
            float *h1 = finish(be, one, nout), *hb = finish(be, bands, nout);
            for (size_t i = 0; i < nout; i++)
                if (fabsf(h1[i] - hb[i]) > 1e-6f * (1 + fabsf(h1[i])))
                    fail_msg("geometry %zu (%s): element %zu is %g in bands, %g in one", g, r ? "bf16" : "f32", i,
                             hb[i], h1[i]);
            /* and the one band matches the plain reference */
            float *wf = iid__wmat_to_f32(&W.host.m), *hx = finish(be, x, nin), *hbias = finish(be, b, (size_t)cs.K);
            float *ref = malloc(nout * sizeof *ref);
            assert_non_null(wf);
            assert_non_null(ref);
            iid__conv2d_ref(ref, hx, wf, hbias, &cs);
            for (size_t i = 0; i < nout; i++) assert_float_equal(h1[i], ref[i], (r ? 5e-2 : 1e-4) * (1 + fabsf(ref[i])));
            free(h1), free(hb), free(wf), free(hx), free(hbias), free(ref);
            unbind(be, &W);
        }
    }
    assert_int_equal(unsetenv(IID_DTYPE_ENV), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--perf") == 0) {
        perf_peak();
        return perf();
    }
    const iid_backend_t *only = NULL;
    if (argc > 2 && strcmp(argv[1], "--backend") == 0) {
        iid_error_t err = {0};
        iid_status s = iid__backend_lookup(argv[2], &only, &err);
        if (s != IID_OK) {
            printf("%s: %s\n", s == IID_ERR_UNSUPPORTED ? "SKIP" : "test_backend_ops", err.msg);
            return s == IID_ERR_UNSUPPORTED ? 77 : 2;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_every_op_every_backend, (void *)only),
        cmocka_unit_test(test_cuda_lookup),
        cmocka_unit_test(test_tables_complete),
        cmocka_unit_test(test_cpu_vec_levels),
        cmocka_unit_test(test_every_op_cpu_bf16),
        cmocka_unit_test(test_cpu_attention_bf16),
        cmocka_unit_test(test_cpu_weights_prepared),
        cmocka_unit_test(test_cpu_f32_widens_16bit_weights),
        cmocka_unit_test(test_cpu_bf16_staging),
        cmocka_unit_test(test_cpu_conv_bands),
        cmocka_unit_test(test_cpu_weight_pages_released),
        cmocka_unit_test(test_glue_ops_by_hand),
        cmocka_unit_test(test_supports_op_fallback),
        cmocka_unit_test(test_tensor_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
