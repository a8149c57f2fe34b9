/*
 * onnx_ops_nn.c - the network-layer kernels: Conv (2-D, groups, stride,
 * dilation, symmetric padding), MaxPool and AveragePool (2-D, ceil mode, implicit
 * padding), BatchNormalization (inference form), Gemm, MatMul and Flatten.
 *
 * Each kernel checks the attributes and shapes it relies on, then calls the op in
 * src/ops (iid__conv2d: im2col + BLAS; pooling and batch norm references; BLAS
 * matmuls). Asymmetric padding and auto_pad SAME_* with an odd total are refused
 * as unsupported rather than silently approximated.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/onnx/onnx_ops.h"
#include "ops/ops.h"

/* Read the 2-D spatial attributes shared by Conv and the pools. pads: begin_h,
 * begin_w, end_h, end_w. */
typedef struct spatial {
    int k[2], stride[2], dil[2], pad[4];
} spatial_t;

static iid_status read_spatial(const iid_onnx_op_ctx_t *c, const int64_t *in_hw, const int64_t *kernel_default,
                               spatial_t *s)
{
    const int64_t *v;
    int n;
    const char *names[3] = {"kernel_shape", "strides", "dilations"};
    int *dst[3] = {s->k, s->stride, s->dil};
    for (int a = 0; a < 3; a++) {
        n = iid__onnx_attr_ints(c->node, names[a], &v);
        if (n == 0 && a == 0 && kernel_default) {
            v = kernel_default;
            n = 2;
        }
        if (n == 0 && a > 0) {
            dst[a][0] = dst[a][1] = 1;
            continue;
        }
        if (n != 2) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "%s must have 2 values (2-D only)", names[a]);
        for (int i = 0; i < 2; i++) {
            if (v[i] < 1 || v[i] > 1 << 16) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "%s out of range", names[a]);
            dst[a][i] = (int)v[i];
        }
    }
    n = iid__onnx_attr_ints(c->node, "pads", &v);
    if (n != 0 && n != 4) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "pads must have 4 values");
    for (int i = 0; i < 4; i++) {
        if (n && (v[i] < 0 || v[i] > 1 << 16)) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "pads out of range");
        s->pad[i] = n ? (int)v[i] : 0;
    }
    const char *ap = iid__onnx_attr_str(c->node, "auto_pad", "NOTSET");
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        for (int i = 0; i < 2; i++) {
            int64_t out = (in_hw[i] + s->stride[i] - 1) / s->stride[i];
            int64_t total = (out - 1) * s->stride[i] + (int64_t)(s->k[i] - 1) * s->dil[i] + 1 - in_hw[i];
            if (total < 0) total = 0;
            int small = (int)(total / 2), big = (int)(total - total / 2);
            s->pad[i] = ap[5] == 'U' ? small : big;
            s->pad[i + 2] = ap[5] == 'U' ? big : small;
        }
    } else if (strcmp(ap, "VALID") == 0) {
        memset(s->pad, 0, sizeof s->pad);
    } else if (strcmp(ap, "NOTSET") != 0) {
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    }
    return IID_OK;
}

iid_status iid__onnx_conv(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 4, 4));
    IID_TRY(iid__onnx_need(c, in, n, 1, IID_DTYPE_F32, 4, 4));
    const iid_tensor_t *x = in[0], *w = in[1], *b = n > 2 ? in[2] : NULL;
    spatial_t sp;
    IID_TRY(read_spatial(c, x->shape + 2, w->shape + 2, &sp));
    int64_t groups = iid__onnx_attr_int(c->node, "group", 1);
    if (sp.pad[0] != sp.pad[2] || sp.pad[1] != sp.pad[3])
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "asymmetric padding");
    if (groups < 1 || x->shape[1] % groups || w->shape[0] % groups || w->shape[1] * groups != x->shape[1] ||
        w->shape[2] != sp.k[0] || w->shape[3] != sp.k[1])
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "weight shape does not fit the input and group %lld",
                                 (long long)groups);
    if (b && (b->dtype != IID_DTYPE_F32 || iid__tensor_numel(b) != w->shape[0]))
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "bias must hold %lld floats", (long long)w->shape[0]);
    for (int i = 0; i < 4; i++)
        if (x->shape[i] > INT32_MAX / 4 || w->shape[i] > INT32_MAX / 4)
            return iid__onnx_op_fail(c, IID_ERR_RANGE, "tensor too large");
    iid_conv2d_shape_t s = {
        .N = (int)x->shape[0], .C = (int)x->shape[1], .H = (int)x->shape[2], .W = (int)x->shape[3],
        .K = (int)w->shape[0], .R = sp.k[0], .S = sp.k[1], .stride_h = sp.stride[0], .stride_w = sp.stride[1],
        .pad_h = sp.pad[0], .pad_w = sp.pad[1], .dil_h = sp.dil[0], .dil_w = sp.dil[1], .groups = (int)groups,
    };
    int OH = iid__conv_out_size(s.H, s.R, s.stride_h, s.pad_h, s.dil_h);
    int OW = iid__conv_out_size(s.W, s.S, s.stride_w, s.pad_w, s.dil_w);
    if (OH < 1 || OW < 1) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "kernel larger than the padded input");
    int64_t shape[4] = {s.N, s.K, OH, OW};
    IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, 4, shape, c->err));
    iid_wmat_t wm = {w->data, IID_DTYPE_F32, s.K, (int)(w->shape[1] * w->shape[2] * w->shape[3]), NULL, 0};
    if (iid__op_conv2d(c->be, out->data, x->data, &wm, b ? b->data : NULL, &s, c->err) != IID_OK) {
        iid__tensor_free(out);
        return iid__onnx_op_fail(c, IID_ERR_NOMEM, "%s", c->err ? c->err->msg : "out of scratch memory");
    }
    return IID_OK;
}

static iid_status pool(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out, int is_max)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 4, 4));
    const iid_tensor_t *x = in[0];
    spatial_t sp;
    IID_TRY(read_spatial(c, x->shape + 2, NULL, &sp));
    if (sp.dil[0] != 1 || sp.dil[1] != 1) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "dilated pooling");
    if (iid__onnx_attr_int(c->node, "storage_order", 0) != 0)
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "storage_order 1");
    for (int i = 0; i < 4; i++)
        if (x->shape[i] > INT32_MAX / 4) return iid__onnx_op_fail(c, IID_ERR_RANGE, "tensor too large");
    iid_pool2d_shape_t s = {
        .N = (int)x->shape[0], .C = (int)x->shape[1], .H = (int)x->shape[2], .W = (int)x->shape[3],
        .kh = sp.k[0], .kw = sp.k[1], .stride_h = sp.stride[0], .stride_w = sp.stride[1],
        .pad_t = sp.pad[0], .pad_l = sp.pad[1], .pad_b = sp.pad[2], .pad_r = sp.pad[3],
        .ceil_mode = (int)iid__onnx_attr_int(c->node, "ceil_mode", 0) != 0,
        .count_include_pad = (int)iid__onnx_attr_int(c->node, "count_include_pad", 0) != 0,
    };
    if (sp.pad[0] >= s.kh || sp.pad[2] >= s.kh || sp.pad[1] >= s.kw || sp.pad[3] >= s.kw)
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "padding must be smaller than the kernel");
    int OH = iid__pool_out_size(s.H, s.kh, s.stride_h, s.pad_t, s.pad_b, s.ceil_mode);
    int OW = iid__pool_out_size(s.W, s.kw, s.stride_w, s.pad_l, s.pad_r, s.ceil_mode);
    if (OH < 1 || OW < 1) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "kernel larger than the padded input");
    int64_t shape[4] = {s.N, s.C, OH, OW};
    IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, 4, shape, c->err));
    return is_max ? iid__op_maxpool2d(c->be, out->data, x->data, &s, c->err)
                  : iid__op_avgpool2d(c->be, out->data, x->data, &s, c->err);
}

iid_status iid__onnx_maxpool(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return pool(c, in, n, out, 1);
}

iid_status iid__onnx_avgpool(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    return pool(c, in, n, out, 0);
}

/* BatchNormalization, inference form: x (N, C, ...) with scale, B, mean, var (C). */
iid_status iid__onnx_batchnorm(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 2, -1));
    const iid_tensor_t *x = in[0];
    for (int i = 1; i < 5; i++) {
        IID_TRY(iid__onnx_need(c, in, n, i, IID_DTYPE_F32, 1, 1));
        if (in[i]->shape[0] != x->shape[1])
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "parameter %d has %lld values for %lld channels", i,
                                     (long long)in[i]->shape[0], (long long)x->shape[1]);
    }
    if (iid__onnx_attr_int(c->node, "training_mode", 0) != 0)
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "training_mode");
    if (x->shape[0] > INT32_MAX || x->shape[1] > INT32_MAX) return iid__onnx_op_fail(c, IID_ERR_RANGE, "too large");
    float eps = iid__onnx_attr_float(c->node, "epsilon", 1e-5f);
    IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, x->ndim, x->shape, c->err));
    int64_t hw = iid__shape_numel(x->shape + 2, x->ndim - 2);
    return iid__op_batch_norm(c->be, out->data, x->data, in[1]->data, in[2]->data, in[3]->data, in[4]->data,
                              (int)x->shape[0], (int)x->shape[1], hw, eps, c->err);
}

/* Gemm: Y = alpha * op(A) op(B) + beta * C with A, B 2-D and C broadcast to (M, N). */
iid_status iid__onnx_gemm(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 2, 2));
    IID_TRY(iid__onnx_need(c, in, n, 1, IID_DTYPE_F32, 2, 2));
    const iid_tensor_t *A = in[0], *B = in[1], *C = n > 2 ? in[2] : NULL;
    int ta = iid__onnx_attr_int(c->node, "transA", 0) != 0, tb = iid__onnx_attr_int(c->node, "transB", 0) != 0;
    float alpha = iid__onnx_attr_float(c->node, "alpha", 1.0f), beta = iid__onnx_attr_float(c->node, "beta", 1.0f);
    int64_t M = A->shape[ta], K = A->shape[!ta], K2 = B->shape[tb], N = B->shape[!tb];
    if (K != K2) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "inner sizes %lld and %lld differ", (long long)K, (long long)K2);
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return iid__onnx_op_fail(c, IID_ERR_RANGE, "too large");
    int64_t cm = 1, cn = 1; /* C's broadcast shape */
    if (C) {
        if (C->dtype != IID_DTYPE_F32 || C->ndim > 2) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "C must be f32, rank <= 2");
        cn = C->ndim >= 1 ? C->shape[C->ndim - 1] : 1;
        cm = C->ndim == 2 ? C->shape[0] : 1;
        if ((cn != 1 && cn != N) || (cm != 1 && cm != M))
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "C does not broadcast to (%lld, %lld)", (long long)M, (long long)N);
    }
    float *at = NULL;
    const float *a = A->data;
    if (ta) { /* make A row-major (M, K) */
        if (!(at = malloc((size_t)(M * K > 0 ? M * K : 1) * sizeof(float))))
            return iid__onnx_op_fail(c, IID_ERR_NOMEM, "out of memory");
        iid__op_permute021(c->be, at, a, 1, K, M, c->err); /* host backends: cannot fail */
        a = at;
    }
    int64_t shape[2] = {M, N};
    iid_status st = iid__tensor_alloc(out, IID_DTYPE_F32, 2, shape, c->err);
    if (st == IID_OK) {
        float *y = out->data;
        if (tb) st = iid__op_matmul_nt(c->be, y, a, B->data, (int)M, (int)N, (int)K, 0, c->err);
        else st = iid__op_matmul_nn(c->be, y, a, B->data, (int)M, (int)N, (int)K, 0, c->err);
        const float *cv = C ? C->data : NULL;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                y[i * N + j] = alpha * y[i * N + j] + (cv ? beta * cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0.0f);
    }
    free(at);
    return st;
}

/* MatMul: A (..., M, K) @ B (K, N), or batched with B (..., K, N) of A's batch. */
iid_status iid__onnx_matmul(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(iid__onnx_need(c, in, n, 0, IID_DTYPE_F32, 2, -1));
    IID_TRY(iid__onnx_need(c, in, n, 1, IID_DTYPE_F32, 2, -1));
    const iid_tensor_t *A = in[0], *B = in[1];
    int64_t M = A->shape[A->ndim - 2], K = A->shape[A->ndim - 1];
    int64_t K2 = B->shape[B->ndim - 2], N = B->shape[B->ndim - 1];
    int64_t batch = iid__shape_numel(A->shape, A->ndim - 2);
    int b_batched = B->ndim > 2;
    if (K != K2) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "inner sizes %lld and %lld differ", (long long)K, (long long)K2);
    if (b_batched && (B->ndim != A->ndim || memcmp(A->shape, B->shape, (size_t)(A->ndim - 2) * sizeof(int64_t))))
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "batched operands must share their batch shape");
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return iid__onnx_op_fail(c, IID_ERR_RANGE, "too large");
    int64_t shape[IID_MAX_DIMS];
    memcpy(shape, A->shape, sizeof shape);
    shape[A->ndim - 1] = N;
    IID_TRY(iid__tensor_alloc(out, IID_DTYPE_F32, A->ndim, shape, c->err));
    if (!b_batched) { /* fold the batch into M */
        return iid__op_matmul_nn(c->be, out->data, A->data, B->data, (int)(batch * M), (int)N, (int)K, 0, c->err);
    }
    for (int64_t i = 0; i < batch; i++)
        IID_TRY(iid__op_matmul_nn(c->be, (float *)out->data + i * M * N, (const float *)A->data + i * M * K,
                                  (const float *)B->data + i * K * N, (int)M, (int)N, (int)K, 0, c->err));
    return IID_OK;
}

/* Flatten: (d0..d_{axis-1}) x (d_axis..) as a 2-D tensor, data unchanged. */
iid_status iid__onnx_flatten(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    if (n < 1 || !in[0]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input 0 is missing");
    const iid_tensor_t *x = in[0];
    int64_t axis = iid__onnx_attr_int(c->node, "axis", 1);
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis > x->ndim) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis out of range");
    int64_t shape[2] = {iid__shape_numel(x->shape, (int)axis), iid__shape_numel(x->shape + axis, x->ndim - (int)axis)};
    IID_TRY(iid__tensor_alloc(out, x->dtype, 2, shape, c->err));
    size_t nb = iid__tensor_nbytes(x);
    if (nb) memcpy(out->data, x->data, nb);
    return IID_OK;
}
