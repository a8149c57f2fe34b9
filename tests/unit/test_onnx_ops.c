/* test_onnx_ops.c - every ONNX kernel on a small case checked by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/onnx/onnx_ops.h"
#include "ops/ops.h"
#include "support.h"

/* ---- helpers: attributes, views, one-node runs ------------------------------ */

static iid_onnx_attr_t a_int(const char *name, int64_t v)
{
    iid_onnx_attr_t a = {.name = (char *)name, .type = IID_ONNX_ATTR_INT, .i = v};
    return a;
}

static iid_onnx_attr_t a_float(const char *name, float v)
{
    iid_onnx_attr_t a = {.name = (char *)name, .type = IID_ONNX_ATTR_FLOAT, .f = v};
    return a;
}

static iid_onnx_attr_t a_str(const char *name, const char *s)
{
    iid_onnx_attr_t a = {.name = (char *)name, .type = IID_ONNX_ATTR_STRING, .s = (char *)s};
    return a;
}

static iid_onnx_attr_t a_ints(const char *name, int64_t *v, int n)
{
    iid_onnx_attr_t a = {.name = (char *)name, .type = IID_ONNX_ATTR_INTS, .n_ints = n, .ints = v};
    return a;
}

static iid_tensor_t tf(int nd, const int64_t *shape, float *v)
{
    iid_tensor_t t;
    iid__tensor_view(&t, IID_DTYPE_F32, nd, shape, v);
    return t;
}

static iid_tensor_t ti(int nd, const int64_t *shape, int64_t *v)
{
    iid_tensor_t t;
    iid__tensor_view(&t, IID_DTYPE_I64, nd, shape, v);
    return t;
}

static iid_status run(const char *op, iid_onnx_attr_t *attrs, int n_attrs, int64_t opset, const iid_tensor_t *const *in,
                      int n_in, iid_tensor_t *out)
{
    iid_onnx_node_t node = {.name = (char *)"n0", .op_type = (char *)op, .domain = (char *)"", .n_attrs = n_attrs,
                            .attrs = attrs};
    iid_error_t err;
    iid_onnx_op_ctx_t c = {iid__backend_default(), "t.onnx", &node, opset, &err};
    const iid_onnx_op_t *k = iid__onnx_op_find(op);
    assert_non_null(k);
    iid_status s = k->run(&c, in, n_in, out);
    if (s != IID_OK) printf("  %s: %s\n", op, err.msg);
    return s;
}

static void expect_f32(const iid_tensor_t *t, int nd, const int64_t *shape, const float *want, float tol)
{
    assert_int_equal(t->dtype, IID_DTYPE_F32);
    assert_int_equal(t->ndim, nd);
    assert_memory_equal(t->shape, shape, (size_t)nd * sizeof(int64_t));
    assert_true(iid_test_max_abs_diff(t->data, want, (size_t)iid__tensor_numel(t)) <= tol);
}

static void expect_i64(const iid_tensor_t *t, int nd, const int64_t *shape, const int64_t *want)
{
    assert_int_equal(t->dtype, IID_DTYPE_I64);
    assert_int_equal(t->ndim, nd);
    assert_memory_equal(t->shape, shape, (size_t)nd * sizeof(int64_t));
    assert_memory_equal(t->data, want, (size_t)iid__tensor_numel(t) * sizeof(int64_t));
}

/* ---- element-wise ---------------------------------------------------------- */

static void test_broadcast_binaries(void **state)
{
    (void)state;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, col[2] = {1, 2};
    int64_t sa[2] = {2, 3}, sb[1] = {3}, sc[2] = {2, 1}, sr[2] = {1, 3};
    iid_tensor_t A = tf(2, sa, a), B = tf(1, sb, b), C = tf(2, sc, col), R = tf(2, sr, b), out;
    const iid_tensor_t *ab[2] = {&A, &B}, *cr[2] = {&C, &R};
    assert_int_equal(run("Add", NULL, 0, 11, ab, 2, &out), IID_OK);
    expect_f32(&out, 2, sa, (float[]){11, 22, 33, 14, 25, 36}, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Sub", NULL, 0, 11, ab, 2, &out), IID_OK);
    expect_f32(&out, 2, sa, (float[]){-9, -18, -27, -6, -15, -24}, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Mul", NULL, 0, 11, cr, 2, &out), IID_OK); /* (2,1) x (1,3): outer product */
    expect_f32(&out, 2, sa, (float[]){10, 20, 30, 20, 40, 60}, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Div", NULL, 0, 11, ab, 2, &out), IID_OK);
    expect_f32(&out, 2, sa, (float[]){0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f}, 1e-7f);
    iid__tensor_free(&out);
    int64_t x[3] = {5, 6, 7}, two = 2, s3[1] = {3};
    iid_tensor_t X = ti(1, s3, x), T = ti(0, NULL, &two);
    const iid_tensor_t *xt[2] = {&X, &T};
    assert_int_equal(run("Mul", NULL, 0, 11, xt, 2, &out), IID_OK);
    expect_i64(&out, 1, s3, (int64_t[]){10, 12, 14});
    iid__tensor_free(&out);
    int64_t s4[1] = {4};
    iid_tensor_t bad = tf(1, s4, a);
    const iid_tensor_t *mismatch[2] = {&A, &bad};
    assert_int_equal(run("Add", NULL, 0, 11, mismatch, 2, &out), IID_ERR_FORMAT);
}

static void test_prelu_relu_sigmoid(void **state)
{
    (void)state;
    float x[4] = {-2, 3, -4, 5}, slope[2] = {0.5f, 0.25f};
    int64_t sx[4] = {1, 2, 1, 2}, ss[3] = {2, 1, 1};
    iid_tensor_t X = tf(4, sx, x), S = tf(3, ss, slope), out;
    const iid_tensor_t *xs[2] = {&X, &S}, *xo[1] = {&X};
    assert_int_equal(run("PRelu", NULL, 0, 9, xs, 2, &out), IID_OK); /* per-channel slope */
    expect_f32(&out, 4, sx, (float[]){-1, 3, -1, 5}, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Relu", NULL, 0, 11, xo, 1, &out), IID_OK);
    expect_f32(&out, 4, sx, (float[]){0, 3, 0, 5}, 0);
    iid__tensor_free(&out);
    float z[2] = {0, 100};
    int64_t s2[1] = {2};
    iid_tensor_t Z = tf(1, s2, z);
    const iid_tensor_t *zo[1] = {&Z};
    assert_int_equal(run("Sigmoid", NULL, 0, 11, zo, 1, &out), IID_OK);
    expect_f32(&out, 1, s2, (float[]){0.5f, 1.0f}, 1e-7f);
    iid__tensor_free(&out);
    assert_int_equal(run("Identity", NULL, 0, 11, zo, 1, &out), IID_OK);
    expect_f32(&out, 1, s2, z, 0);
    iid__tensor_free(&out);
}

static void test_cast_constant(void **state)
{
    (void)state;
    float x[3] = {-1.7f, 2.9f, 0};
    int64_t s3[1] = {3};
    iid_tensor_t X = tf(1, s3, x), out, back;
    const iid_tensor_t *xo[1] = {&X};
    iid_onnx_attr_t to_i = a_int("to", 7), to_f = a_int("to", 1);
    assert_int_equal(run("Cast", &to_i, 1, 11, xo, 1, &out), IID_OK);
    expect_i64(&out, 1, s3, (int64_t[]){-1, 2, 0}); /* truncation toward zero */
    const iid_tensor_t *io[1] = {&out};
    assert_int_equal(run("Cast", &to_f, 1, 11, io, 1, &back), IID_OK);
    expect_f32(&back, 1, s3, (float[]){-1, 2, 0}, 0);
    iid__tensor_free(&out);
    iid__tensor_free(&back);
    int64_t v[2] = {4, -1}, s2[1] = {2};
    iid_onnx_attr_t ci = a_ints("value_ints", v, 2);
    assert_int_equal(run("Constant", &ci, 1, 13, NULL, 0, &out), IID_OK);
    expect_i64(&out, 1, s2, v);
    iid__tensor_free(&out);
    iid_onnx_attr_t cf = a_float("value_float", 1.5f);
    assert_int_equal(run("Constant", &cf, 1, 13, NULL, 0, &out), IID_OK);
    assert_int_equal(out.ndim, 0);
    assert_true(((float *)out.data)[0] == 1.5f);
    iid__tensor_free(&out);
}

/* ---- network layers -------------------------------------------------------- */

static void test_conv(void **state)
{
    (void)state;
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1};
    int64_t sx[4] = {1, 1, 3, 3}, sw[4] = {1, 1, 2, 2}, so[4] = {1, 1, 2, 2};
    iid_tensor_t X = tf(4, sx, x), W = tf(4, sw, w), out;
    const iid_tensor_t *xw[2] = {&X, &W};
    int64_t k[2] = {2, 2}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
    iid_onnx_attr_t plain[1] = {a_ints("kernel_shape", k, 2)};
    assert_int_equal(run("Conv", plain, 1, 11, xw, 2, &out), IID_OK); /* 2x2 box sums */
    expect_f32(&out, 4, so, (float[]){12, 16, 24, 28}, 0);
    iid__tensor_free(&out);
    iid_onnx_attr_t strided[2] = {a_ints("strides", s2, 2), a_ints("pads", p1, 4)};
    assert_int_equal(run("Conv", strided, 2, 11, xw, 2, &out), IID_OK); /* windows at -1 and 1 */
    expect_f32(&out, 4, so, (float[]){1, 5, 11, 28}, 0);
    iid__tensor_free(&out);
    /* Depthwise: 2 channels, group 2, a 1x1 scale per channel, plus bias. */
    float x2[2] = {3, 4}, w2[2] = {2, -1}, b2[2] = {0.5f, 1};
    int64_t sx2[4] = {1, 2, 1, 1}, sw2[4] = {2, 1, 1, 1}, sb2[1] = {2};
    iid_tensor_t X2 = tf(4, sx2, x2), W2 = tf(4, sw2, w2), B2 = tf(1, sb2, b2);
    const iid_tensor_t *xwb[3] = {&X2, &W2, &B2};
    iid_onnx_attr_t grp = a_int("group", 2);
    assert_int_equal(run("Conv", &grp, 1, 11, xwb, 3, &out), IID_OK);
    expect_f32(&out, 4, sx2, (float[]){6.5f, -3}, 0);
    iid__tensor_free(&out);
    int64_t asym[4] = {0, 0, 1, 1};
    iid_onnx_attr_t bad = a_ints("pads", asym, 4);
    assert_int_equal(run("Conv", &bad, 1, 11, xw, 2, &out), IID_ERR_UNSUPPORTED);
}

static void test_pools(void **state)
{
    (void)state;
    float x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    int64_t sx[4] = {1, 1, 4, 4}, so[4] = {1, 1, 2, 2}, k[2] = {2, 2}, s[2] = {2, 2};
    iid_tensor_t X = tf(4, sx, x), out;
    const iid_tensor_t *xo[1] = {&X};
    iid_onnx_attr_t mp[2] = {a_ints("kernel_shape", k, 2), a_ints("strides", s, 2)};
    assert_int_equal(run("MaxPool", mp, 2, 11, xo, 1, &out), IID_OK);
    expect_f32(&out, 4, so, (float[]){6, 8, 14, 16}, 0);
    iid__tensor_free(&out);
    /* 3x3 input, ceil mode: partial windows average only their in-image values. */
    float y[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t sy[4] = {1, 1, 3, 3};
    iid_tensor_t Y = tf(4, sy, y);
    const iid_tensor_t *yo[1] = {&Y};
    iid_onnx_attr_t ap[3] = {a_ints("kernel_shape", k, 2), a_ints("strides", s, 2), a_int("ceil_mode", 1)};
    assert_int_equal(run("AveragePool", ap, 3, 11, yo, 1, &out), IID_OK);
    expect_f32(&out, 4, so, (float[]){3, 4.5f, 7.5f, 9}, 1e-6f);
    iid__tensor_free(&out);
    ap[2] = a_int("ceil_mode", 0); /* floor: one window */
    assert_int_equal(run("AveragePool", ap, 3, 11, yo, 1, &out), IID_OK);
    assert_int_equal(out.shape[2], 1);
    assert_true(((float *)out.data)[0] == 3.0f);
    iid__tensor_free(&out);
}

static void test_batchnorm(void **state)
{
    (void)state;
    float x[2] = {1, 2}, sc[2] = {2, 1}, b[2] = {0, 1}, mean[2] = {1, 0}, var[2] = {4, 0.25f};
    int64_t sx[4] = {1, 2, 1, 1}, sp[1] = {2};
    iid_tensor_t X = tf(4, sx, x), S = tf(1, sp, sc), B = tf(1, sp, b), M = tf(1, sp, mean), V = tf(1, sp, var), out;
    const iid_tensor_t *in[5] = {&X, &S, &B, &M, &V};
    iid_onnx_attr_t eps = a_float("epsilon", 0.0f);
    assert_int_equal(run("BatchNormalization", &eps, 1, 11, in, 5, &out), IID_OK);
    expect_f32(&out, 4, sx, (float[]){0, 5}, 1e-6f); /* (1-1)/2*2+0, (2-0)/0.5*1+1 */
    iid__tensor_free(&out);
}

static void test_gemm_matmul_flatten(void **state)
{
    (void)state;
    float a[2] = {1, 2}, b[6] = {1, 0, 0, 1, 1, 1}, c[3] = {1, 1, 1};
    int64_t sa[2] = {1, 2}, sb[2] = {3, 2}, sc[1] = {3}, so[2] = {1, 3};
    iid_tensor_t A = tf(2, sa, a), B = tf(2, sb, b), C = tf(1, sc, c), out;
    const iid_tensor_t *abc[3] = {&A, &B, &C};
    iid_onnx_attr_t at[3] = {a_int("transB", 1), a_float("alpha", 2.0f), a_float("beta", 0.5f)};
    assert_int_equal(run("Gemm", at, 3, 11, abc, 3, &out), IID_OK);
    expect_f32(&out, 2, so, (float[]){2.5f, 4.5f, 6.5f}, 1e-6f);
    iid__tensor_free(&out);
    float m[4] = {1, 2, 3, 4}, v[2] = {1, -1};
    int64_t sm[2] = {2, 2}, sv[2] = {2, 1};
    iid_tensor_t Mx = tf(2, sm, m), Vx = tf(2, sv, v);
    const iid_tensor_t *mv[2] = {&Mx, &Vx};
    assert_int_equal(run("MatMul", NULL, 0, 11, mv, 2, &out), IID_OK);
    expect_f32(&out, 2, sv, (float[]){-1, -1}, 0);
    iid__tensor_free(&out);
    float f[12];
    int64_t sf[3] = {2, 3, 2}, sfo[2] = {2, 6};
    iid_test_fill_random(f, 12, 3);
    iid_tensor_t F = tf(3, sf, f);
    const iid_tensor_t *fo[1] = {&F};
    iid_onnx_attr_t ax = a_int("axis", 1);
    assert_int_equal(run("Flatten", &ax, 1, 11, fo, 1, &out), IID_OK);
    expect_f32(&out, 2, sfo, f, 0);
    iid__tensor_free(&out);
}

/* ---- shapes and data movement ---------------------------------------------- */

static void test_shape_gather_unsqueeze(void **state)
{
    (void)state;
    float x[24] = {0};
    int64_t sx[3] = {2, 3, 4}, s3[1] = {3};
    iid_tensor_t X = tf(3, sx, x), shp, g, u, sq;
    const iid_tensor_t *xo[1] = {&X};
    assert_int_equal(run("Shape", NULL, 0, 11, xo, 1, &shp), IID_OK);
    expect_i64(&shp, 1, s3, sx);
    int64_t idx = -1;
    iid_tensor_t I = ti(0, NULL, &idx);
    const iid_tensor_t *gi[2] = {&shp, &I};
    iid_onnx_attr_t ax0 = a_int("axis", 0);
    assert_int_equal(run("Gather", &ax0, 1, 11, gi, 2, &g), IID_OK); /* scalar index: rank 0 result */
    assert_int_equal(g.ndim, 0);
    assert_int_equal(((int64_t *)g.data)[0], 4);
    int64_t axes[1] = {0}, s1[1] = {1};
    iid_onnx_attr_t ua = a_ints("axes", axes, 1);
    const iid_tensor_t *go[1] = {&g};
    assert_int_equal(run("Unsqueeze", &ua, 1, 11, go, 1, &u), IID_OK);
    expect_i64(&u, 1, s1, (int64_t[]){4});
    iid_tensor_t AX = ti(1, s1, axes); /* opset 13: axes as an input */
    const iid_tensor_t *ua13[2] = {&u, &AX};
    assert_int_equal(run("Squeeze", NULL, 0, 13, ua13, 2, &sq), IID_OK);
    assert_int_equal(sq.ndim, 0);
    iid__tensor_free(&g);
    int64_t big = 3;
    iid_tensor_t Ibig = ti(0, NULL, &big);
    const iid_tensor_t *oob[2] = {&shp, &Ibig};
    assert_int_equal(run("Gather", &ax0, 1, 11, oob, 2, &g), IID_ERR_FORMAT);
    iid__tensor_free(&shp);
    iid__tensor_free(&u);
    iid__tensor_free(&sq);
}

static void test_slice(void **state)
{
    (void)state;
    int64_t x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, s10[1] = {10}, s1[1] = {1};
    int64_t st[1] = {2}, en[1] = {-1}, ax[1] = {0}, sp[1] = {3};
    iid_tensor_t X = ti(1, s10, x), S = ti(1, s1, st), E = ti(1, s1, en), A = ti(1, s1, ax), P = ti(1, s1, sp), out;
    const iid_tensor_t *in[5] = {&X, &S, &E, &A, &P};
    assert_int_equal(run("Slice", NULL, 0, 11, in, 5, &out), IID_OK);
    expect_i64(&out, 1, (int64_t[]){3}, (int64_t[]){2, 5, 8});
    iid__tensor_free(&out);
    st[0] = -1, en[0] = -100, sp[0] = -4; /* backwards, end clamped to -1 */
    assert_int_equal(run("Slice", NULL, 0, 11, in, 5, &out), IID_OK);
    expect_i64(&out, 1, (int64_t[]){3}, (int64_t[]){9, 5, 1});
    iid__tensor_free(&out);
    st[0] = 8, en[0] = INT64_MAX; /* open end, no steps input */
    assert_int_equal(run("Slice", NULL, 0, 11, in, 3, &out), IID_OK);
    expect_i64(&out, 1, (int64_t[]){2}, (int64_t[]){8, 9});
    iid__tensor_free(&out);
}

static void test_concat_reshape_transpose(void **state)
{
    (void)state;
    float a[2] = {1, 2}, b[4] = {3, 4, 5, 6};
    int64_t sa[2] = {2, 1}, sb[2] = {2, 2}, so[2] = {2, 3};
    iid_tensor_t A = tf(2, sa, a), B = tf(2, sb, b), out, r, t;
    const iid_tensor_t *ab[2] = {&A, &B};
    iid_onnx_attr_t ax = a_int("axis", 1);
    assert_int_equal(run("Concat", &ax, 1, 11, ab, 2, &out), IID_OK);
    expect_f32(&out, 2, so, (float[]){1, 3, 4, 2, 5, 6}, 0);
    int64_t target[2] = {0, -1}, s2[1] = {2};
    iid_tensor_t T = ti(1, s2, target);
    const iid_tensor_t *ot[2] = {&out, &T};
    assert_int_equal(run("Reshape", NULL, 0, 11, ot, 2, &r), IID_OK); /* 0 copies, -1 infers */
    expect_f32(&r, 2, so, (float[]){1, 3, 4, 2, 5, 6}, 0);
    const iid_tensor_t *ro[1] = {&r};
    assert_int_equal(run("Transpose", NULL, 0, 11, ro, 1, &t), IID_OK); /* default: reverse axes */
    expect_f32(&t, 2, (int64_t[]){3, 2}, (float[]){1, 2, 3, 5, 4, 6}, 0);
    iid__tensor_free(&t);
    /* SCRFD's head layout: (1, A*C, H, W) -> perm (2, 3, 0, 1). */
    float h[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t sh[4] = {1, 2, 2, 2}, perm[4] = {2, 3, 0, 1};
    iid_tensor_t H = tf(4, sh, h);
    const iid_tensor_t *ho[1] = {&H};
    iid_onnx_attr_t pa = a_ints("perm", perm, 4);
    assert_int_equal(run("Transpose", &pa, 1, 11, ho, 1, &t), IID_OK);
    expect_f32(&t, 4, (int64_t[]){2, 2, 1, 2}, (float[]){0, 4, 1, 5, 2, 6, 3, 7}, 0);
    iid__tensor_free(&t);
    iid__tensor_free(&out);
    iid__tensor_free(&r);
}

static void test_resize(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4}, want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    int64_t sx[4] = {1, 1, 2, 2}, so[4] = {1, 1, 4, 4}, s4[1] = {4}, s0[1] = {0};
    int64_t sizes[4] = {1, 1, 4, 4};
    float scales[4] = {1, 1, 2, 2};
    iid_tensor_t X = tf(4, sx, x), E = tf(1, s0, NULL), SZ = ti(1, s4, sizes), SC = tf(1, s4, scales), out;
    iid_onnx_attr_t at[3] = {a_str("mode", "nearest"), a_str("coordinate_transformation_mode", "asymmetric"),
                             a_str("nearest_mode", "floor")};
    const iid_tensor_t *by_size[4] = {&X, &E, &E, &SZ}, *by_scale[3] = {&X, &E, &SC}, *up[2] = {&X, &SC};
    assert_int_equal(run("Resize", at, 3, 11, by_size, 4, &out), IID_OK);
    expect_f32(&out, 4, so, want, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Resize", at, 3, 11, by_scale, 3, &out), IID_OK);
    expect_f32(&out, 4, so, want, 0);
    iid__tensor_free(&out);
    assert_int_equal(run("Upsample", at, 1, 9, up, 2, &out), IID_OK);
    expect_f32(&out, 4, so, want, 0);
    iid__tensor_free(&out);
    iid_onnx_attr_t lin = a_str("mode", "linear");
    assert_int_equal(run("Resize", &lin, 1, 11, by_size, 4, &out), IID_ERR_UNSUPPORTED);
}

/* The pooling and batch-norm references against direct definitions. */
static void test_pool_refs(void **state)
{
    (void)state;
    assert_int_equal(iid__pool_out_size(5, 2, 2, 0, 0, 0), 2);
    assert_int_equal(iid__pool_out_size(5, 2, 2, 0, 0, 1), 3);
    assert_int_equal(iid__pool_out_size(4, 2, 2, 0, 0, 1), 2);
    assert_int_equal(iid__pool_out_size(3, 2, 2, 1, 1, 1), 2); /* a last window starting in the end padding is dropped */
    float x[4] = {1, -2, 3, 4}, y[4];
    float one[1] = {1}, zero[1] = {0}, var[1] = {1};
    iid__batch_norm_ref(y, x, one, zero, zero, var, 1, 1, 4, 0.0f);
    assert_true(iid_test_max_abs_diff(x, y, 4) == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_binaries), cmocka_unit_test(test_prelu_relu_sigmoid),
        cmocka_unit_test(test_cast_constant),      cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pools),              cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_gemm_matmul_flatten), cmocka_unit_test(test_shape_gather_unsqueeze),
        cmocka_unit_test(test_slice),              cmocka_unit_test(test_concat_reshape_transpose),
        cmocka_unit_test(test_resize),             cmocka_unit_test(test_pool_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
