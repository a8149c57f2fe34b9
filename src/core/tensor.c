/* tensor.c - dtype table, shape helpers, allocation and dtype conversion. */
#include "core/tensor.h"

#include <assert.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[IID_DTYPE_COUNT] = {
    [IID_DTYPE_F32] = {"F32", 4}, [IID_DTYPE_F16] = {"F16", 2}, [IID_DTYPE_BF16] = {"BF16", 2},
    [IID_DTYPE_F64] = {"F64", 8}, [IID_DTYPE_I64] = {"I64", 8}, [IID_DTYPE_I32] = {"I32", 4},
    [IID_DTYPE_U8] = {"U8", 1},   [IID_DTYPE_BOOL] = {"BOOL", 1},
};

size_t iid__dtype_size(iid_dtype_t dt) { return (unsigned)dt < IID_DTYPE_COUNT ? dtype_info[dt].size : 0; }

const char *iid__dtype_name(iid_dtype_t dt)
{
    return (unsigned)dt < IID_DTYPE_COUNT ? dtype_info[dt].name : "?";
}

bool iid__dtype_parse(const char *name, iid_dtype_t *out)
{
    for (int i = 0; i < IID_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (iid_dtype_t)i;
            return true;
        }
    }
    return false;
}

int64_t iid__shape_numel(const int64_t *shape, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

int64_t iid__tensor_numel(const iid_tensor_t *t) { return iid__shape_numel(t->shape, t->ndim); }

size_t iid__tensor_nbytes(const iid_tensor_t *t)
{
    return (size_t)iid__tensor_numel(t) * iid__dtype_size(t->dtype);
}

const char *iid__shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

iid_status iid__tensor_alloc(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape,
                             iid_error_t *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > IID_MAX_DIMS)
        return iid__fail(err, IID_ERR_INVALID, "tensor rank %d exceeds %d", ndim, IID_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return iid__fail(err, IID_ERR_INVALID, "negative tensor dimension");
        if (shape[i] && n > SIZE_MAX / (size_t)shape[i])
            return iid__fail(err, IID_ERR_RANGE, "tensor size overflows");
        n *= (size_t)shape[i];
        t->shape[i] = shape[i];
    }
    size_t es = iid__dtype_size(dt);
    if (es == 0) return iid__fail(err, IID_ERR_INVALID, "unknown dtype %d", (int)dt);
    if (n > SIZE_MAX / es) return iid__fail(err, IID_ERR_RANGE, "tensor size overflows");
    t->data = calloc(n ? n : 1, es);
    if (!t->data) {
        char s[128];
        return iid__fail(err, IID_ERR_NOMEM, "cannot allocate %s tensor %s", iid__dtype_name(dt),
                         iid__shape_str(shape, ndim, s, sizeof s));
    }
    t->dtype = dt;
    t->ndim = ndim;
    t->owns = true;
    return IID_OK;
}

void iid__tensor_view(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape, void *data)
{
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
}

iid_tensor_t iid__tensor_wrap(const struct iid_backend *be, const void *data, int ndim, const int64_t *shape)
{
    iid_tensor_t t;
    iid__tensor_view(&t, IID_DTYPE_F32, ndim, shape, (void *)data);
    t.be = be;
    return t;
}

iid_tensor_t iid__tensor_slice(const iid_tensor_t *t, int64_t i0, int64_t n)
{
    iid_tensor_t v = *t;
    v.owns = false;
    v.shape[0] = n;
    v.data = (char *)t->data + (size_t)i0 * (iid__tensor_nbytes(t) / (size_t)(t->shape[0] ? t->shape[0] : 1));
    return v;
}

void iid__tensor_free(iid_tensor_t *t)
{
    if (!t) return;
    assert(!(t->owns && t->be)); /* backend memory: iid__tensor_release */
    if (t->owns) free(t->data);
    memset(t, 0, sizeof *t);
}

iid_status iid__convert_to_f32(float *dst, const void *src, iid_dtype_t dt, size_t n, iid_error_t *err)
{
    const unsigned char *p = src;
    switch (dt) {
    case IID_DTYPE_F32: memcpy(dst, src, n * 4); return IID_OK;
    case IID_DTYPE_F16: iid__f16_to_f32_n(dst, src, n); return IID_OK;
    case IID_DTYPE_BF16: iid__bf16_to_f32_n(dst, src, n); return IID_OK;
    case IID_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return IID_OK;
    case IID_DTYPE_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (float)v;
        }
        return IID_OK;
    case IID_DTYPE_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = (float)v;
        }
        return IID_OK;
    case IID_DTYPE_U8:
    case IID_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++) dst[i] = (float)p[i];
        return IID_OK;
    case IID_DTYPE_COUNT: break;
    }
    return iid__fail(err, IID_ERR_UNSUPPORTED, "cannot convert dtype %d to F32", (int)dt);
}

iid_status iid__convert_from_f32(void *dst, iid_dtype_t dt, const float *src, size_t n, iid_error_t *err)
{
    unsigned char *p = dst;
    switch (dt) {
    case IID_DTYPE_F32: memcpy(dst, src, n * 4); return IID_OK;
    case IID_DTYPE_F16:
    case IID_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = dt == IID_DTYPE_F16 ? iid__f32_to_f16(src[i]) : iid__f32_to_bf16(src[i]);
            p[2 * i] = (unsigned char)(h & 0xff);
            p[2 * i + 1] = (unsigned char)(h >> 8);
        }
        return IID_OK;
    default: break;
    }
    return iid__fail(err, IID_ERR_UNSUPPORTED, "cannot convert F32 to %s", iid__dtype_name(dt));
}
