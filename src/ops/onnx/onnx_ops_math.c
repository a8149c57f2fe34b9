/*
 * onnx_ops_math.c - the operator table, shared kernel helpers, and the
 * element-wise kernels: numpy-broadcasting binaries (Add, Sub, Mul, Div, PRelu),
 * unary activations (Relu, Sigmoid), Identity, Cast and Constant.
 *
 * Broadcasting follows numpy (and ONNX's multidirectional rule): shapes are
 * right-aligned, each axis pair must be equal or contain a 1. The loop walks the
 * output in C order with per-input strides that are 0 on broadcast axes; the
 * common same-shape and scalar cases take a flat path.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/onnx/onnx_ops.h"
#include "ops/ops.h"

static const iid_onnx_op_t op_table[] = {
    {"Add", iid__onnx_add, 2, 2},
    {"Sub", iid__onnx_sub, 2, 2},
    {"Mul", iid__onnx_mul, 2, 2},
    {"Div", iid__onnx_div, 2, 2},
    {"PRelu", iid__onnx_prelu, 2, 2},
    {"Relu", iid__onnx_relu, 1, 1},
    {"Sigmoid", iid__onnx_sigmoid, 1, 1},
    {"Identity", iid__onnx_identity, 1, 1},
    {"Dropout", iid__onnx_identity, 1, 3},
    {"Cast", iid__onnx_cast, 1, 1},
    {"Constant", iid__onnx_constant, 0, 0},
    {"Conv", iid__onnx_conv, 2, 3},
    {"MaxPool", iid__onnx_maxpool, 1, 1},
    {"AveragePool", iid__onnx_avgpool, 1, 1},
    {"BatchNormalization", iid__onnx_batchnorm, 5, 5},
    {"Gemm", iid__onnx_gemm, 2, 3},
    {"MatMul", iid__onnx_matmul, 2, 2},
    {"Flatten", iid__onnx_flatten, 1, 1},
    {"Shape", iid__onnx_shape, 1, 1},
    {"Gather", iid__onnx_gather, 2, 2},
    {"Unsqueeze", iid__onnx_unsqueeze, 1, 2},
    {"Squeeze", iid__onnx_squeeze, 1, 2},
    {"Slice", iid__onnx_slice, 1, 5},
    {"Concat", iid__onnx_concat, 1, 1 << 20},
    {"Reshape", iid__onnx_reshape, 2, 2},
    {"Transpose", iid__onnx_transpose, 1, 1},
    {"Resize", iid__onnx_resize, 1, 4},
    {"Upsample", iid__onnx_resize, 1, 2},
};

const iid_onnx_op_t *iid__onnx_op_find(const char *op_type)
{
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
        if (strcmp(op_table[i].op_type, op_type) == 0) return &op_table[i];
    return NULL;
}

iid_status iid__onnx_op_fail(const iid_onnx_op_ctx_t *c, iid_status code, const char *fmt, ...)
{
    char msg[IID_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return iid__fail(c->err, code, "%s: node '%s' (%s): %s", c->path, c->node->name, c->node->op_type, msg);
}

int64_t iid__onnx_attr_int(const iid_onnx_node_t *n, const char *name, int64_t def)
{
    const iid_onnx_attr_t *a = iid__onnx_attr(n, name);
    return a && a->type == IID_ONNX_ATTR_INT ? a->i : def;
}

float iid__onnx_attr_float(const iid_onnx_node_t *n, const char *name, float def)
{
    const iid_onnx_attr_t *a = iid__onnx_attr(n, name);
    return a && a->type == IID_ONNX_ATTR_FLOAT ? a->f : def;
}

const char *iid__onnx_attr_str(const iid_onnx_node_t *n, const char *name, const char *def)
{
    const iid_onnx_attr_t *a = iid__onnx_attr(n, name);
    return a && a->type == IID_ONNX_ATTR_STRING && a->s ? a->s : def;
}

int iid__onnx_attr_ints(const iid_onnx_node_t *n, const char *name, const int64_t **vals)
{
    const iid_onnx_attr_t *a = iid__onnx_attr(n, name);
    *vals = a ? a->ints : NULL;
    return a && a->type == IID_ONNX_ATTR_INTS ? a->n_ints : 0;
}

iid_status iid__onnx_need(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n_in, int i, iid_dtype_t dt,
                          int min_rank, int max_rank)
{
    if (i >= n_in || !in[i]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d is missing", i);
    const iid_tensor_t *t = in[i];
    if (t->dtype != dt)
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "input %d is %s, expected %s", i, iid__dtype_name(t->dtype),
                                 iid__dtype_name(dt));
    if ((min_rank >= 0 && t->ndim < min_rank) || (max_rank >= 0 && t->ndim > max_rank))
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d has rank %d, expected %d..%d", i, t->ndim, min_rank,
                                 max_rank);
    return IID_OK;
}

/* ---- broadcasting binaries ------------------------------------------------ */

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_PRELU } bin_kind_t;

static float bin_f32(bin_kind_t k, float a, float b)
{
    switch (k) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    default: return a < 0.0f ? a * b : a;
    }
}

static int64_t bin_i64(bin_kind_t k, int64_t a, int64_t b)
{
    switch (k) {
    case BIN_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case BIN_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case BIN_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case BIN_DIV: return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
    default: return a < 0 ? a * b : a;
    }
}

static iid_status binary(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n_in, iid_tensor_t *out,
                         bin_kind_t kind)
{
    const iid_tensor_t *a = in[0], *b = in[1];
    if (!a || !b) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "needs two inputs");
    if (a->dtype != b->dtype || (a->dtype != IID_DTYPE_F32 && a->dtype != IID_DTYPE_I64))
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "operands are %s and %s", iid__dtype_name(a->dtype),
                                 iid__dtype_name(b->dtype));
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t shape[IID_MAX_DIMS], sa[IID_MAX_DIMS], sb[IID_MAX_DIMS];
    int64_t stride_a = 1, stride_b = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int ia = d - (nd - a->ndim), ib = d - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char s1[96], s2[96];
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "shapes %s and %s do not broadcast",
                                     iid__shape_str(a->shape, a->ndim, s1, sizeof s1),
                                     iid__shape_str(b->shape, b->ndim, s2, sizeof s2));
        }
        shape[d] = da == 1 ? db : da;
        sa[d] = da == 1 ? 0 : stride_a;
        sb[d] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    IID_TRY(iid__tensor_alloc(out, a->dtype, nd, shape, c->err));
    int64_t n = iid__tensor_numel(out);
    int64_t idx[IID_MAX_DIMS] = {0};
    int64_t oa = 0, ob = 0;
    int is_f = a->dtype == IID_DTYPE_F32;
    if (is_f && iid__tensor_numel(a) == n && iid__tensor_numel(b) == n) { /* same shape: flat */
        const float *pa = a->data, *pb = b->data;
        float *po = out->data;
        for (int64_t i = 0; i < n; i++) po[i] = bin_f32(kind, pa[i], pb[i]);
        return IID_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        if (is_f) ((float *)out->data)[i] = bin_f32(kind, ((const float *)a->data)[oa], ((const float *)b->data)[ob]);
        else ((int64_t *)out->data)[i] = bin_i64(kind, ((const int64_t *)a->data)[oa], ((const int64_t *)b->data)[ob]);
        for (int d = nd - 1; d >= 0; d--) { /* advance the C-order index */
            oa += sa[d];
            ob += sb[d];
            if (++idx[d] < shape[d]) break;
            oa -= sa[d] * shape[d];
            ob -= sb[d] * shape[d];
            idx[d] = 0;
        }
    }
    return IID_OK;
}

iid_status iid__onnx_add(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return binary(c, in, n, out, BIN_ADD);
}

iid_status iid__onnx_sub(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return binary(c, in, n, out, BIN_SUB);
}

iid_status iid__onnx_mul(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return binary(c, in, n, out, BIN_MUL);
}

iid_status iid__onnx_div(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return binary(c, in, n, out, BIN_DIV);
}

/* PRelu: the slope broadcasts onto x (unidirectionally: the output has x's shape). */
iid_status iid__onnx_prelu(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 0, -1));
    IID_TRY(iid__onnx_need(c, in, n, 1, IID_DTYPE_F32, 0, in[0]->ndim));
    IID_TRY(binary(c, in, n, out, BIN_PRELU));
    if (out->ndim != in[0]->ndim || iid__tensor_numel(out) != iid__tensor_numel(in[0])) {
        iid__tensor_free(out);
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "slope does not broadcast onto the input");
    }
    return IID_OK;
}

/* ---- unary ------------------------------------------------------------------ */

static iid_status copy_input(const iid_onnx_op_ctx_t *c, const iid_tensor_t *x, iid_tensor_t *out)
{
    IID_TRY(iid__tensor_alloc(out, x->dtype, x->ndim, x->shape, c->err));
    size_t nb = iid__tensor_nbytes(x);
    if (nb) memcpy(out->data, x->data, nb);
    return IID_OK;
}

iid_status iid__onnx_relu(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 0, -1));
    IID_TRY(copy_input(c, in[0], out));
    return iid__op_unary(c->be, IID_UNARY_RELU, out->data, iid__tensor_numel(out), c->err);
}

iid_status iid__onnx_sigmoid(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 0, -1));
    IID_TRY(copy_input(c, in[0], out));
    return iid__op_unary(c->be, IID_UNARY_SIGMOID, out->data, iid__tensor_numel(out), c->err);
}

iid_status iid__onnx_identity(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    if (n < 1 || !in[0]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input 0 is missing");
    return copy_input(c, in[0], out);
}

/* Cast: float targets give F32, integer and bool targets give I64 (truncating
 * toward zero, as a C cast does). */
iid_status iid__onnx_cast(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    if (n < 1 || !in[0]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input 0 is missing");
    const iid_tensor_t *x = in[0];
    int64_t to = iid__onnx_attr_int(c->node, "to", 0);
    iid_dtype_t dt;
    if (!iid__onnx_dtype((int)to, &dt) || to != (int)to)
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "cast to data type %lld", (long long)to);
    dt = (dt == IID_DTYPE_F32 || dt == IID_DTYPE_F64 || dt == IID_DTYPE_F16) ? IID_DTYPE_F32 : IID_DTYPE_I64;
    IID_TRY(iid__tensor_alloc(out, dt, x->ndim, x->shape, c->err));
    int64_t cnt = iid__tensor_numel(x);
    for (int64_t i = 0; i < cnt; i++) {
        if (x->dtype == IID_DTYPE_F32) {
            float v = ((const float *)x->data)[i];
            if (dt == IID_DTYPE_F32) ((float *)out->data)[i] = v;
            else ((int64_t *)out->data)[i] = isfinite(v) && fabsf(v) < 9.2e18f ? (int64_t)v : 0;
        } else {
            int64_t v = ((const int64_t *)x->data)[i];
            if (dt == IID_DTYPE_F32) ((float *)out->data)[i] = (float)v;
            else ((int64_t *)out->data)[i] = to == IID_ONNX_BOOL ? v != 0 : v;
        }
    }
    return IID_OK;
}

/* Constant: the "value" tensor (which the executor has already converted to F32 or
 * I64 at load time) or one of the scalar and list forms. */
iid_status iid__onnx_constant(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    const iid_onnx_attr_t *a;
    if ((a = iid__onnx_attr(c->node, "value")) && a->t) {
        iid_tensor_t *v = &a->t->value;
        if (v->dtype != IID_DTYPE_F32 && v->dtype != IID_DTYPE_I64)
            return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "constant of dtype %s", iid__dtype_name(v->dtype));
        return copy_input(c, v, out);
    }
    int64_t one = 1;
    if ((a = iid__onnx_attr(c->node, "value_float"))) {
        IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, 0, NULL, c->err));
        ((float *)out->data)[0] = a->f;
    } else if ((a = iid__onnx_attr(c->node, "value_int"))) {
        IID_TRY(iid__tensor_alloc(out, IID_DTYPE_I64, 0, NULL, c->err));
        ((int64_t *)out->data)[0] = a->i;
    } else if ((a = iid__onnx_attr(c->node, "value_floats"))) {
        one = a->n_floats;
        IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, 1, &one, c->err));
        if (one) memcpy(out->data, a->floats, (size_t)one * sizeof(float));
    } else if ((a = iid__onnx_attr(c->node, "value_ints"))) {
        one = a->n_ints;
        IID_TRY(iid__tensor_alloc(out, IID_DTYPE_I64, 1, &one, c->err));
        if (one) memcpy(out->data, a->ints, (size_t)one * sizeof(int64_t));
    } else {
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "no supported value attribute");
    }
    return IID_OK;
}
