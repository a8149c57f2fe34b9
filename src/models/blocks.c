/*
 * blocks.c - parameter binding, Linear / Conv2d / norm parameter sets and the
 * ResNet block shared by the UNet, the ControlNet and the VAE.
 *
 * Loading builds each tensor name from the caller's prefix, checks the shape the
 * config implies (iid__st_find_shaped names file and tensor on a mismatch) and
 * binds weight matrices as views in their stored dtype, small vectors as f32
 * arrays in the backend's memory (blocks.h). Forward passes allocate their outputs and free every temporary
 * before returning, on success and on failure alike.
 */
#include "models/blocks.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define NAME_MAX_LEN 512

static iid_status vname(char *name, const iid_safetensors_t *st, iid_error_t *err, const char *fmt, va_list ap)
{
    int n = vsnprintf(name, NAME_MAX_LEN, fmt, ap);
    if (n < 0 || n >= NAME_MAX_LEN)
        return iid__fail(err, IID_ERR_RANGE, "%s: tensor name longer than %d bytes", st->path, NAME_MAX_LEN - 1);
    return IID_OK;
}

iid_status iid__param_bind(const iid_backend_t *be, float **p, size_t n, iid_error_t *err)
{
    if (be->host_memory) return IID_OK; /* the host copy is the backend's memory */
    float *host = *p;
    *p = iid__upload_new(be, host, n);
    free(host);
    if (!*p) return iid__fail(err, IID_ERR_NOMEM, "backend '%s': no memory for a %zu-value parameter", be->name, n);
    return IID_OK;
}

void iid__param_free(const iid_backend_t *be, float *p)
{
    if (!be || be->host_memory) free(p);
    else iid__op_free(be, p);
}

iid_status iid__param_load(const iid_backend_t *be, const iid_safetensors_t *st, float **out, int ndim,
                           const int64_t *shape, iid_error_t *err, const char *fmt, ...)
{
    char name[NAME_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    iid_status s = vname(name, st, err, fmt, ap);
    va_end(ap);
    IID_TRY(s);
    IID_TRY(iid__st_load_f32(st, name, ndim, shape, out, err));
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return iid__param_bind(be, out, (size_t)n, err);
}

iid_status iid__weight_bind(const iid_safetensors_t *st, iid_weight_t *w, int ndim, const int64_t *shape,
                            iid_error_t *err, const char *fmt, ...)
{
    char name[NAME_MAX_LEN];
    memset(w, 0, sizeof *w);
    va_list ap;
    va_start(ap, fmt);
    iid_status s = vname(name, st, err, fmt, ap);
    va_end(ap);
    IID_TRY(s);
    const iid_st_tensor_t *t;
    IID_TRY(iid__st_find_shaped(st, name, ndim, shape, &t, err));
    int64_t cols = ndim > 0 && shape[0] > 0 ? iid__st_numel(t) / shape[0] : 0;
    if (ndim < 1 || shape[0] > INT32_MAX || cols > INT32_MAX)
        return iid__fail(err, IID_ERR_RANGE, "%s: tensor '%s' is not a matrix of int-sized dimensions", st->path, name);
    /* in the checkpoint's mapping, not a LoRA-fused copy */
    int mapped = iid__st_in_map(st, t->data, t->nbytes);
    iid_wmat_t host = {t->data, t->dtype, (int)shape[0], (int)cols, NULL, mapped};
    int in_place = t->dtype == IID_DTYPE_F16 || t->dtype == IID_DTYPE_BF16 ||
                   (t->dtype == IID_DTYPE_F32 && (uintptr_t)t->data % _Alignof(float) == 0);
    if (!in_place) { /* unaligned F32 (safetensors does not promise alignment) or another float dtype */
        IID_TRY(iid__st_load_f32(st, name, ndim, shape, &w->owned, err));
        host = (iid_wmat_t){w->owned, IID_DTYPE_F32, (int)shape[0], (int)cols, NULL, 0};
    }
    w->be = iid__backend_default();
    return iid__op_bind_weight(w->be, &host, &w->m, &w->bound, err);
}

void iid__weight_free(iid_weight_t *w)
{
    if (!w) return;
    if (w->be) iid__op_release_weight(w->be, w->bound);
    free(w->owned);
    memset(w, 0, sizeof *w);
}

void iid__weight_trim(const iid_weight_t *w)
{
    if (w && w->be) iid__op_trim_weight(w->be, w->bound);
}

void iid__namef(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* ---- Linear -------------------------------------------------------------- */

iid_status iid__linear_load(iid_linear_w_t *l, const iid_safetensors_t *st, const char *prefix, int in, int out,
                            int with_bias, iid_error_t *err)
{
    memset(l, 0, sizeof *l);
    l->in = in;
    l->out = out;
    int64_t ws[2] = {out, in}, bs[1] = {out};
    IID_TRY(iid__weight_bind(st, &l->w, 2, ws, err, "%s.weight", prefix));
    if (with_bias) IID_TRY(iid__param_load(l->w.be, st, &l->b, 1, bs, err, "%s.bias", prefix));
    return IID_OK;
}

void iid__linear_free(iid_linear_w_t *l)
{
    if (!l) return;
    iid__param_free(l->w.be, l->b);
    iid__weight_free(&l->w);
    memset(l, 0, sizeof *l);
}

iid_status iid__linear_apply(const iid_backend_t *be, const iid_linear_w_t *l, const float *x, int M, float *y,
                             iid_error_t *err)
{
    return iid__op_linear(be, y, x, &l->w.m, l->b, M, err);
}

/* ---- Conv2d -------------------------------------------------------------- */

iid_status iid__conv_load(iid_conv_t *c, const iid_safetensors_t *st, const char *prefix, int in, int out, int k,
                          int stride, iid_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->in = in;
    c->out = out;
    c->k = k;
    c->stride = stride;
    int64_t ws[4] = {out, in, k, k}, bs[1] = {out};
    IID_TRY(iid__weight_bind(st, &c->w, 4, ws, err, "%s.weight", prefix));
    IID_TRY(iid__param_load(c->w.be, st, &c->b, 1, bs, err, "%s.bias", prefix));
    return IID_OK;
}

void iid__conv_free(iid_conv_t *c)
{
    if (!c) return;
    iid__param_free(c->w.be, c->b);
    iid__weight_free(&c->w);
    memset(c, 0, sizeof *c);
}

/* One band of output rows [oy0, oy0 + nb) of image n: the input rows it reads
 * (zero rows where they fall in the padding) are gathered into bin, convolved
 * without vertical padding into bout, and scattered into y. */
static iid_status conv_band(const iid_backend_t *be, const iid_conv_t *c, const float *x, int n, int H, int W, int oy0,
                            int nb, int oh, int ow, float *bin, float *bout, float *y, iid_error_t *err)
{
    int k = c->k, pad = k / 2, rows = (nb - 1) * c->stride + k, iy0 = oy0 * c->stride - pad;
    int lo = iy0 < 0 ? 0 : iy0, hi = iy0 + rows < H ? iy0 + rows : H; /* input rows inside the image */
    iid__op_fill(be, bin, 0.0f, (int64_t)c->in * rows * W);
    if (hi > lo) /* bin (in, rows, W) rows lo - iy0 .. = x (n, ch, lo .. hi) */
        IID_TRY(iid__op_copy_rows(be, bin + (size_t)(lo - iy0) * W, (int64_t)rows * W,
                                  x + ((size_t)n * c->in * H + lo) * W, (int64_t)H * W, c->in, (int64_t)(hi - lo) * W,
                                  err));
    iid_conv2d_shape_t s = {.N = 1, .C = c->in, .H = rows, .W = W, .K = c->out, .R = k, .S = k, .stride_h = c->stride,
                            .stride_w = c->stride, .pad_h = 0, .pad_w = pad, .dil_h = 1, .dil_w = 1, .groups = 1};
    IID_TRY(iid__op_conv2d(be, bout, bin, &c->w.m, c->b, &s, err)); /* (1, out, nb, ow) */
    return iid__op_copy_rows(be, y + ((size_t)n * c->out * oh + oy0) * ow, (int64_t)oh * ow, bout, (int64_t)nb * ow,
                             c->out, (int64_t)nb * ow, err);
}

iid_status iid__conv_apply_limited(const iid_backend_t *be, const iid_conv_t *c, const iid_tensor_t *xt,
                                   iid_tensor_t *yt, size_t scratch_limit, iid_error_t *err)
{
    const float *x = iid__tensor_f32(xt);
    int N = iid__tensor_dim(xt, 0), H = iid__tensor_dim(xt, 2), W = iid__tensor_dim(xt, 3);
    iid_conv2d_shape_t s = {.N = N, .C = c->in, .H = H, .W = W, .K = c->out, .R = c->k, .S = c->k,
                            .stride_h = c->stride, .stride_w = c->stride, .pad_h = c->k / 2, .pad_w = c->k / 2,
                            .dil_h = 1, .dil_w = 1, .groups = 1};
    int oh = iid__conv_out_size(H, c->k, c->stride, c->k / 2, 1);
    int ow = iid__conv_out_size(W, c->k, c->stride, c->k / 2, 1);
    if (xt->ndim != 4 || xt->shape[1] != c->in)
        return iid__fail(err, IID_ERR_INVALID, "conv2d (%d -> %d channels): input is not (N, %d, H, W)", c->in, c->out,
                         c->in);
    if (iid__tensor_alloc_on(yt, be, IID_DTYPE_F32, 4, (int64_t[]){N, c->out, oh, ow}, NULL) != IID_OK)
        return iid__fail(err, IID_ERR_NOMEM, "conv2d (%d -> %d channels, %dx%d): out of memory", c->in, c->out, H, W);
    float *y = iid__tensor_f32(yt);
    size_t row_bytes = (size_t)c->in * c->k * c->k * ow * sizeof(float); /* unfold of one output row */
    int direct = c->k == 1 && c->stride == 1;
    int rb = direct || row_bytes * oh <= scratch_limit ? oh : (int)(scratch_limit / row_bytes);
    if (rb < 1) rb = 1;
    iid_status st = IID_OK;
    if (rb >= oh) {
        st = iid__op_conv2d(be, y, x, &c->w.m, c->b, &s, err);
    } else {
        int rows = (rb - 1) * c->stride + c->k;
        float *bin = iid__op_alloc(be, (size_t)c->in * rows * W * sizeof *bin);
        float *bout = iid__op_alloc(be, (size_t)c->out * rb * ow * sizeof *bout);
        if (!bin || !bout)
            st = iid__fail(err, IID_ERR_NOMEM, "conv2d (%d -> %d channels, %dx%d): out of scratch memory", c->in,
                           c->out, H, W);
        for (int n = 0; n < N && st == IID_OK; n++)
            for (int oy0 = 0; oy0 < oh && st == IID_OK; oy0 += rb)
                st = conv_band(be, c, x, n, H, W, oy0, oh - oy0 < rb ? oh - oy0 : rb, oh, ow, bin, bout, y, err);
        iid__op_free(be, bin);
        iid__op_free(be, bout);
    }
    if (st != IID_OK) iid__tensor_release(yt);
    return st;
}

iid_status iid__conv_apply(const iid_backend_t *be, const iid_conv_t *c, const iid_tensor_t *x, iid_tensor_t *y,
                           iid_error_t *err)
{
    return iid__conv_apply_limited(be, c, x, y, IID_CONV_SCRATCH_LIMIT, err);
}

/* ---- norms --------------------------------------------------------------- */

iid_status iid__norm_load(iid_norm_t *n, const iid_safetensors_t *st, const char *prefix, int c, iid_error_t *err)
{
    memset(n, 0, sizeof *n);
    n->c = c;
    n->be = iid__backend_default();
    int64_t s[1] = {c};
    IID_TRY(iid__param_load(n->be, st, &n->w, 1, s, err, "%s.weight", prefix));
    IID_TRY(iid__param_load(n->be, st, &n->b, 1, s, err, "%s.bias", prefix));
    return IID_OK;
}

void iid__norm_free(iid_norm_t *n)
{
    if (!n) return;
    iid__param_free(n->be, n->w);
    iid__param_free(n->be, n->b);
    memset(n, 0, sizeof *n);
}

/* ---- ResnetBlock2D ------------------------------------------------------- */

iid_status iid__resnet_load(iid_resnet_t *r, const iid_safetensors_t *st, const char *prefix, int in, int out,
                            int temb_dim, int groups, float eps, iid_error_t *err)
{
    char name[NAME_MAX_LEN];
    memset(r, 0, sizeof *r);
    r->in = in;
    r->out = out;
    r->groups = groups;
    r->eps = eps;
    if (groups <= 0 || in % groups || out % groups)
        return iid__fail(err, IID_ERR_FORMAT, "%s: resnet '%s': %d and %d channels do not split into %d groups",
                         st->path, prefix, in, out, groups);
    iid__namef(name, sizeof name, "%s.norm1", prefix);
    IID_TRY(iid__norm_load(&r->norm1, st, name, in, err));
    iid__namef(name, sizeof name, "%s.conv1", prefix);
    IID_TRY(iid__conv_load(&r->conv1, st, name, in, out, 3, 1, err));
    if (temb_dim > 0) {
        iid__namef(name, sizeof name, "%s.time_emb_proj", prefix);
        IID_TRY(iid__linear_load(&r->temb, st, name, temb_dim, out, 1, err));
        r->has_temb = 1;
    }
    iid__namef(name, sizeof name, "%s.norm2", prefix);
    IID_TRY(iid__norm_load(&r->norm2, st, name, out, err));
    iid__namef(name, sizeof name, "%s.conv2", prefix);
    IID_TRY(iid__conv_load(&r->conv2, st, name, out, out, 3, 1, err));
    if (in != out) {
        iid__namef(name, sizeof name, "%s.conv_shortcut", prefix);
        IID_TRY(iid__conv_load(&r->shortcut, st, name, in, out, 1, 1, err));
        r->has_shortcut = 1;
    }
    return IID_OK;
}

void iid__resnet_free(iid_resnet_t *r)
{
    if (!r) return;
    iid__norm_free(&r->norm1);
    iid__norm_free(&r->norm2);
    iid__conv_free(&r->conv1);
    iid__conv_free(&r->conv2);
    iid__conv_free(&r->shortcut);
    iid__linear_free(&r->temb);
    memset(r, 0, sizeof *r);
}

iid_status iid__resnet_forward(const iid_backend_t *be, const iid_resnet_t *r, const iid_tensor_t *xt,
                               const iid_tensor_t *temb_act, iid_tensor_t *yt, iid_error_t *err)
{
    memset(yt, 0, sizeof *yt);
    const float *x = iid__tensor_f32(xt);
    int N = iid__tensor_dim(xt, 0);
    int64_t HW = xt->shape[2] * xt->shape[3];
    if (xt->ndim != 4 || xt->shape[1] != r->in)
        return iid__fail(err, IID_ERR_INVALID, "resnet (%d -> %d channels): input is not (N, %d, H, W)", r->in, r->out,
                         r->in);
    int with_temb = r->has_temb && temb_act;
    iid_tensor_t t = {0}, h = {0}, o = {0}, sc = {0};
    int have_t = iid__tensor_alloc_on(&t, be, IID_DTYPE_F32, 4, xt->shape, NULL) == IID_OK;
    float *e = with_temb ? iid__op_alloc(be, (size_t)N * r->out * sizeof *e) : NULL;
    if (!have_t || (with_temb && !e)) {
        iid__tensor_release(&t);
        iid__op_free(be, e);
        return iid__fail(err, IID_ERR_NOMEM, "resnet (%d -> %d channels): out of memory", r->in, r->out);
    }
    /* (N, in, H, W) */
    iid_status s = iid__op_group_norm_silu(be, t.data, x, r->norm1.w, r->norm1.b, N, r->in, HW, r->groups, r->eps, err);
    if (s == IID_OK) s = iid__conv_apply(be, &r->conv1, &t, &h, err);
    iid__tensor_release(&t);
    /* h (N, out, H, W) += time_emb_proj(SiLU(emb)) broadcast over H, W */
    if (s == IID_OK && e) s = iid__linear_apply(be, &r->temb, temb_act->data, N, e, err); /* (N, out) */
    if (s == IID_OK && e) s = iid__op_add_channel_bias(be, h.data, e, N, r->out, HW, r->out, err);
    iid__op_free(be, e);
    if (s == IID_OK)
        s = iid__op_group_norm_silu(be, h.data, h.data, r->norm2.w, r->norm2.b, N, r->out, HW, r->groups, r->eps, err);
    if (s == IID_OK) s = iid__conv_apply(be, &r->conv2, &h, &o, err);
    iid__tensor_release(&h);
    /* out = shortcut(x) + h */
    if (s == IID_OK && r->has_shortcut) s = iid__conv_apply(be, &r->shortcut, xt, &sc, err);
    if (s == IID_OK) s = iid__op_add(be, o.data, r->has_shortcut ? sc.data : x, iid__tensor_numel(&o), err);
    iid__tensor_release(&sc);
    if (s != IID_OK) {
        iid__tensor_release(&o);
        return s;
    }
    *yt = o;
    return IID_OK;
}

float *iid__upload_new(const iid_backend_t *be, const float *host, size_t n)
{
    float *d = iid__op_alloc(be, (n ? n : 1) * sizeof *d);
    if (d) iid__op_upload(be, d, host, n * sizeof *d);
    return d;
}
