/*
 * onnx_ops_shape.c - shape arithmetic and data movement: Shape, Gather,
 * Unsqueeze, Squeeze, Slice, Concat, Reshape, Transpose, and nearest-neighbour
 * Resize/Upsample.
 *
 * SCRFD computes its FPN upsampling size at run time with a small
 * Shape/Gather/Unsqueeze/Slice/Concat subgraph, so these kernels run generically
 * on I64 tensors rather than special-casing the pattern. Every index and size that
 * comes from a tensor is range-checked against the data it addresses. Movement
 * kernels work on raw element bytes, so they serve F32 and I64 alike.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/onnx/onnx_ops.h"

static iid_status need_input(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, int i)
{
    if (i >= n || !in[i]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d is missing", i);
    return IID_OK;
}

/* An optional I64 1-D input (or, for old opsets, an INTS attribute) as a list. */
static iid_status int_list(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, int i, const char *attr,
                           const int64_t **vals, int *count)
{
    *vals = NULL;
    *count = 0;
    if (i < n && in[i]) {
        if (in[i]->dtype != IID_DTYPE_I64 || in[i]->ndim > 1)
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d must be a 1-D int64 tensor", i);
        int64_t cnt = iid__tensor_numel(in[i]);
        if (cnt > IID_MAX_DIMS * 4) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d is too long", i);
        *vals = in[i]->data;
        *count = (int)cnt;
    } else if (attr) {
        *count = iid__onnx_attr_ints(c->node, attr, vals);
    }
    return IID_OK;
}

/* Normalise a possibly negative axis against rank; -1 when out of range. */
static int norm_axis(int64_t axis, int rank)
{
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? (int)axis : -1;
}

static iid_status copy_as(const iid_onnx_op_ctx_t *c, const iid_tensor_t *x, int ndim, const int64_t *shape,
                          iid_tensor_t *out)
{
    if (ndim > IID_MAX_DIMS) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "rank %d above %d", ndim, IID_MAX_DIMS);
    if (iid__shape_numel(shape, ndim) != iid__tensor_numel(x))
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "new shape has a different element count");
    IID_TRY(iid__tensor_alloc(out, x->dtype, ndim, shape, c->err));
    size_t nb = iid__tensor_nbytes(x);
    if (nb) memcpy(out->data, x->data, nb);
    return IID_OK;
}

iid_status iid__onnx_shape(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    int r = in[0]->ndim;
    int64_t start = iid__onnx_attr_int(c->node, "start", 0), end = iid__onnx_attr_int(c->node, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < start ? start : end > r ? r : end;
    int64_t len = end - start;
    IID_TRY(iid__tensor_alloc(out, IID_DTYPE_I64, 1, &len, c->err));
    memcpy(out->data, in[0]->shape + start, (size_t)len * sizeof(int64_t));
    return IID_OK;
}

iid_status iid__onnx_gather(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    IID_TRY(iid__onnx_need(c, in, n, 1, IID_DTYPE_I64, 0, -1));
    const iid_tensor_t *x = in[0], *idx = in[1];
    int axis = norm_axis(iid__onnx_attr_int(c->node, "axis", 0), x->ndim);
    if (axis < 0) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis out of range");
    int ndim = x->ndim - 1 + idx->ndim;
    if (ndim > IID_MAX_DIMS) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "output rank %d", ndim);
    int64_t shape[IID_MAX_DIMS];
    memcpy(shape, x->shape, (size_t)axis * sizeof(int64_t));
    memcpy(shape + axis, idx->shape, (size_t)idx->ndim * sizeof(int64_t));
    memcpy(shape + axis + idx->ndim, x->shape + axis + 1, (size_t)(x->ndim - axis - 1) * sizeof(int64_t));
    int64_t outer = iid__shape_numel(x->shape, axis), dim = x->shape[axis];
    int64_t inner = iid__shape_numel(x->shape + axis + 1, x->ndim - axis - 1), ni = iid__tensor_numel(idx);
    const int64_t *iv = idx->data;
    for (int64_t j = 0; j < ni; j++)
        if (iv[j] < -dim || iv[j] >= dim)
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "index %lld out of range for size %lld", (long long)iv[j],
                                     (long long)dim);
    IID_TRY(iid__tensor_alloc(out, x->dtype, ndim, shape, c->err));
    size_t es = iid__dtype_size(x->dtype), row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t k = iv[j] < 0 ? iv[j] + dim : iv[j];
            memcpy((char *)out->data + ((size_t)(o * ni + j)) * row, (const char *)x->data + (size_t)(o * dim + k) * row,
                   row);
        }
    return IID_OK;
}

iid_status iid__onnx_unsqueeze(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const int64_t *axes;
    int na;
    IID_TRY(int_list(c, in, n, 1, "axes", &axes, &na));
    int r = in[0]->ndim + na;
    if (na == 0 || r > IID_MAX_DIMS) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "bad axes for rank %d", in[0]->ndim);
    int is_new[IID_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], r);
        if (a < 0 || is_new[a]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis %lld invalid or repeated", (long long)axes[i]);
        is_new[a] = 1;
    }
    int64_t shape[IID_MAX_DIMS];
    for (int d = 0, k = 0; d < r; d++) shape[d] = is_new[d] ? 1 : in[0]->shape[k++];
    return copy_as(c, in[0], r, shape, out);
}

iid_status iid__onnx_squeeze(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const iid_tensor_t *x = in[0];
    const int64_t *axes;
    int na;
    IID_TRY(int_list(c, in, n, 1, "axes", &axes, &na));
    int drop[IID_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], x->ndim);
        if (a < 0 || x->shape[a] != 1) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis %lld is not of size 1", (long long)axes[i]);
        drop[a] = 1;
    }
    int64_t shape[IID_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!(na ? drop[d] : x->shape[d] == 1)) shape[r++] = x->shape[d];
    return copy_as(c, x, r, shape, out);
}

iid_status iid__onnx_slice(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const iid_tensor_t *x = in[0];
    const int64_t *starts, *ends, *axes, *steps;
    int ns, ne, na, nst;
    int old = c->opset < 10;
    IID_TRY(int_list(c, in, old ? 0 : n, 1, old ? "starts" : NULL, &starts, &ns));
    IID_TRY(int_list(c, in, old ? 0 : n, 2, old ? "ends" : NULL, &ends, &ne));
    IID_TRY(int_list(c, in, old ? 0 : n, 3, old ? "axes" : NULL, &axes, &na));
    IID_TRY(int_list(c, in, old ? 0 : n, 4, NULL, &steps, &nst));
    if (ns != ne || (na && na != ns) || (nst && nst != ns) || ns > x->ndim)
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "starts, ends, axes and steps disagree in length");
    int64_t begin[IID_MAX_DIMS] = {0}, step[IID_MAX_DIMS], shape[IID_MAX_DIMS];
    int seen[IID_MAX_DIMS] = {0};
    for (int d = 0; d < x->ndim; d++) step[d] = 1, shape[d] = x->shape[d];
    for (int i = 0; i < ns; i++) {
        int a = norm_axis(na ? axes[i] : i, x->ndim);
        if (a < 0 || seen[a]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis invalid or repeated");
        seen[a] = 1;
        int64_t dim = x->shape[a], st = nst ? steps[i] : 1, s = starts[i], e = ends[i];
        if (st == 0) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "step 0");
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (st > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            shape[a] = e > s ? (e - s + st - 1) / st : 0;
        } else {
            s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            shape[a] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
        begin[a] = s;
        step[a] = st;
    }
    IID_TRY(iid__tensor_alloc(out, x->dtype, x->ndim, shape, c->err));
    int64_t total = iid__tensor_numel(out), stride[IID_MAX_DIMS], idx[IID_MAX_DIMS] = {0};
    size_t es = iid__dtype_size(x->dtype);
    int64_t acc = 1;
    for (int d = x->ndim - 1; d >= 0; d--) stride[d] = acc, acc *= x->shape[d];
    for (int64_t i = 0; i < total; i++) {
        int64_t off = 0;
        for (int d = 0; d < x->ndim; d++) off += (begin[d] + idx[d] * step[d]) * stride[d];
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = x->ndim - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    return IID_OK;
}

iid_status iid__onnx_concat(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const iid_tensor_t *x0 = in[0];
    int axis = norm_axis(iid__onnx_attr_int(c->node, "axis", 0), x0->ndim);
    if (axis < 0) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "axis out of range");
    int64_t shape[IID_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[axis] = 0;
    for (int i = 0; i < n; i++) {
        IID_TRY(need_input(c, in, n, i));
        const iid_tensor_t *x = in[i];
        if (x->dtype != x0->dtype || x->ndim != x0->ndim)
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d differs in dtype or rank", i);
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && x->shape[d] != x0->shape[d])
                return iid__onnx_op_fail(c, IID_ERR_FORMAT, "input %d differs in dimension %d", i, d);
        shape[axis] += x->shape[axis];
    }
    IID_TRY(iid__tensor_alloc(out, x0->dtype, x0->ndim, shape, c->err));
    size_t es = iid__dtype_size(x0->dtype);
    int64_t outer = iid__shape_numel(shape, axis), inner = iid__shape_numel(shape + axis + 1, x0->ndim - axis - 1);
    char *dst = out->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            size_t chunk = (size_t)(in[i]->shape[axis] * inner) * es;
            if (chunk) memcpy(dst, (const char *)in[i]->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    return IID_OK;
}

iid_status iid__onnx_reshape(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const int64_t *sv;
    int ns;
    IID_TRY(int_list(c, in, n, 1, NULL, &sv, &ns));
    if (ns > IID_MAX_DIMS) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "rank %d", ns);
    const iid_tensor_t *x = in[0];
    int allowzero = iid__onnx_attr_int(c->node, "allowzero", 0) != 0, infer = -1;
    int64_t shape[IID_MAX_DIMS], known = 1;
    for (int i = 0; i < ns; i++) {
        int64_t v = sv[i];
        if (v == 0 && !allowzero) {
            if (i >= x->ndim) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "0 copies a dimension the input lacks");
            v = x->shape[i];
        }
        if (v == -1) {
            if (infer >= 0) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "two -1 entries");
            infer = i;
            v = 1;
        } else if (v < 0 || (v && known > INT64_MAX / v)) {
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "invalid target dimension %lld", (long long)sv[i]);
        }
        shape[i] = v;
        known *= v;
    }
    if (infer >= 0) {
        int64_t total = iid__tensor_numel(x);
        if (known == 0 || total % known) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "cannot infer the -1 dimension");
        shape[infer] = total / known;
    }
    return copy_as(c, x, ns, shape, out);
}

iid_status iid__onnx_transpose(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const iid_tensor_t *x = in[0];
    const int64_t *pv;
    int np = iid__onnx_attr_ints(c->node, "perm", &pv), r = x->ndim;
    int64_t perm[IID_MAX_DIMS], shape[IID_MAX_DIMS], stride[IID_MAX_DIMS], idx[IID_MAX_DIMS] = {0};
    int used[IID_MAX_DIMS] = {0};
    if (np && np != r) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "perm has %d entries for rank %d", np, r);
    for (int d = 0; d < r; d++) {
        perm[d] = np ? pv[d] : r - 1 - d;
        if (perm[d] < 0 || perm[d] >= r || used[perm[d]]) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "perm is not a permutation");
        used[perm[d]] = 1;
    }
    int64_t acc = 1, in_stride[IID_MAX_DIMS];
    for (int d = r - 1; d >= 0; d--) in_stride[d] = acc, acc *= x->shape[d];
    for (int d = 0; d < r; d++) shape[d] = x->shape[perm[d]], stride[d] = in_stride[perm[d]];
    IID_TRY(iid__tensor_alloc(out, x->dtype, r, shape, c->err));
    int64_t total = iid__tensor_numel(out), off = 0;
    size_t es = iid__dtype_size(x->dtype);
    for (int64_t i = 0; i < total; i++) {
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = r - 1; d >= 0; d--) {
            off += stride[d];
            if (++idx[d] < shape[d]) break;
            off -= stride[d] * shape[d];
            idx[d] = 0;
        }
    }
    return IID_OK;
}

/* Source index along one axis for nearest-neighbour resampling. */
static int64_t nearest_src(int64_t o, int64_t in, int64_t outn, float scale, int coord, int rounding)
{
    float x;
    if (coord == 1) x = ((float)o + 0.5f) / scale - 0.5f;                       /* half_pixel */
    else if (coord == 2) x = outn > 1 ? (float)o * (float)(in - 1) / (float)(outn - 1) : 0.0f; /* align_corners */
    else x = (float)o / scale;                                                  /* asymmetric */
    double f = floor(x), r;
    switch (rounding) {
    case 1: r = ceil(x); break;                          /* ceil */
    case 2: r = x - f == 0.5 ? f : floor(x + 0.5); break; /* round_prefer_floor */
    case 3: r = floor(x + 0.5); break;                   /* round_prefer_ceil */
    default: r = f; break;                               /* floor */
    }
    return r < 0 ? 0 : r > (double)(in - 1) ? in - 1 : (int64_t)r;
}

/* Resize (opset 10+: X, roi, scales, sizes) and Upsample (scales input or
 * attribute), mode nearest only. */
iid_status iid__onnx_resize(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n, iid_tensor_t *out)
{
    IID_TRY(need_input(c, in, n, 0));
    const iid_tensor_t *x = in[0];
    int r = x->ndim, upsample = strcmp(c->node->op_type, "Upsample") == 0;
    const char *mode = iid__onnx_attr_str(c->node, "mode", "nearest");
    if (strcmp(mode, "nearest") != 0) return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "mode '%s'", mode);
    const char *cm = iid__onnx_attr_str(c->node, "coordinate_transformation_mode", upsample || c->opset < 11 ? "asymmetric" : "half_pixel");
    const char *nm = iid__onnx_attr_str(c->node, "nearest_mode", upsample || c->opset < 11 ? "floor" : "round_prefer_floor");
    int coord = !strcmp(cm, "asymmetric") ? 0 : !strcmp(cm, "half_pixel") ? 1 : !strcmp(cm, "align_corners") ? 2 : -1;
    int rounding = !strcmp(nm, "floor") ? 0 : !strcmp(nm, "ceil") ? 1 : !strcmp(nm, "round_prefer_floor") ? 2
                 : !strcmp(nm, "round_prefer_ceil") ? 3 : -1;
    if (coord < 0 || rounding < 0)
        return iid__onnx_op_fail(c, IID_ERR_UNSUPPORTED, "coordinate mode '%s' / nearest mode '%s'", cm, nm);
    const iid_tensor_t *scales = NULL, *sizes = NULL;
    int si = (upsample || c->opset < 11) ? 1 : 2;
    if (si < n && in[si] && iid__tensor_numel(in[si]) > 0) scales = in[si];
    if (!upsample && c->opset >= 11 && n > 3 && in[3] && iid__tensor_numel(in[3]) > 0) sizes = in[3];
    int64_t shape[IID_MAX_DIMS];
    float sc[IID_MAX_DIMS];
    const iid_onnx_attr_t *sa = iid__onnx_attr(c->node, "scales");
    if (sizes) {
        if (sizes->dtype != IID_DTYPE_I64 || iid__tensor_numel(sizes) != r)
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "sizes must be %d int64 values", r);
        for (int d = 0; d < r; d++) {
            shape[d] = ((const int64_t *)sizes->data)[d];
            if (shape[d] < 0 || shape[d] > ((int64_t)1 << 24)) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "size out of range");
            sc[d] = x->shape[d] ? (float)shape[d] / (float)x->shape[d] : 1.0f;
        }
    } else if (scales || (sa && sa->n_floats)) {
        const float *sv = scales ? scales->data : sa->floats;
        if ((scales && (scales->dtype != IID_DTYPE_F32 || iid__tensor_numel(scales) != r)) || (!scales && sa->n_floats != r))
            return iid__onnx_op_fail(c, IID_ERR_FORMAT, "scales must be %d floats", r);
        for (int d = 0; d < r; d++) {
            sc[d] = sv[d];
            double o = floor((double)x->shape[d] * sv[d]);
            if (!(sv[d] > 0) || o > (double)((int64_t)1 << 24)) return iid__onnx_op_fail(c, IID_ERR_FORMAT, "scale out of range");
            shape[d] = (int64_t)o;
        }
    } else {
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "neither scales nor sizes given");
    }
    IID_TRY(iid__tensor_alloc(out, x->dtype, r, shape, c->err));
    int64_t total = iid__tensor_numel(out);
    if (total == 0) return IID_OK;
    if (iid__tensor_numel(x) == 0) {
        iid__tensor_free(out);
        return iid__onnx_op_fail(c, IID_ERR_FORMAT, "cannot resize an empty tensor to a non-empty one");
    }
    /* Per-axis source offsets (already multiplied by the input stride). */
    int64_t *map[IID_MAX_DIMS] = {0}, acc = 1, in_stride[IID_MAX_DIMS], idx[IID_MAX_DIMS] = {0};
    for (int d = r - 1; d >= 0; d--) in_stride[d] = acc, acc *= x->shape[d];
    iid_status st = IID_OK;
    for (int d = 0; d < r && st == IID_OK; d++) {
        if (!(map[d] = malloc((size_t)shape[d] * sizeof(int64_t)))) st = iid__onnx_op_fail(c, IID_ERR_NOMEM, "out of memory");
        for (int64_t o = 0; st == IID_OK && o < shape[d]; o++)
            map[d][o] = nearest_src(o, x->shape[d], shape[d], sc[d], coord, rounding) * in_stride[d];
    }
    size_t es = iid__dtype_size(x->dtype);
    for (int64_t i = 0; st == IID_OK && i < total; i++) {
        int64_t off = 0;
        for (int d = 0; d < r; d++) off += map[d][idx[d]];
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = r - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    for (int d = 0; d < r; d++) free(map[d]);
    if (st != IID_OK) iid__tensor_free(out);
    return st;
}
