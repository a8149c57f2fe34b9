/*
 * transformer.c - attention (with InstantID's decoupled IP branch), the
 * BasicTransformerBlock and Transformer2DModel. See transformer.h for the maths.
 *
 * Layout: inside a Transformer2D the activations are tokens (N, HW, C); every
 * projection is one GEMM over all N*HW rows, and the attention itself is the
 * tiled iid__attention, called per image because the text keys of one image are
 * a slice of its context rows.
 */
#include "models/transformer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define TRANSFORMER_GN_EPS 1e-6f /* Transformer2DModel's GroupNorm */
#define BLOCK_LN_EPS 1e-5f       /* BasicTransformerBlock's LayerNorms */

/* ---- attention ----------------------------------------------------------- */

iid_status iid__attention_load(iid_attention_t *a, const iid_safetensors_t *st, const char *prefix, int dim,
                               int ctx_dim, int heads, int qkv_bias, iid_error_t *err)
{
    char name[512];
    memset(a, 0, sizeof *a);
    a->dim = dim;
    a->ctx_dim = ctx_dim;
    a->heads = heads;
    if (heads <= 0 || dim % heads)
        return iid__fail(err, IID_ERR_FORMAT, "%s: attention '%s': %d channels do not split into %d heads", st->path,
                         prefix, dim, heads);
    iid__namef(name, sizeof name, "%s.to_q", prefix);
    IID_TRY(iid__linear_load(&a->q, st, name, dim, dim, qkv_bias, err));
    iid__namef(name, sizeof name, "%s.to_k", prefix);
    IID_TRY(iid__linear_load(&a->k, st, name, ctx_dim, dim, qkv_bias, err));
    iid__namef(name, sizeof name, "%s.to_v", prefix);
    IID_TRY(iid__linear_load(&a->v, st, name, ctx_dim, dim, qkv_bias, err));
    iid__namef(name, sizeof name, "%s.to_out.0", prefix);
    IID_TRY(iid__linear_load(&a->out, st, name, dim, dim, 1, err));
    return IID_OK;
}

iid_status iid__attention_load_ip(iid_attention_t *a, const iid_safetensors_t *st, const char *prefix, int n,
                                  iid_error_t *err)
{
    char name[512];
    iid__namef(name, sizeof name, "%s%d.to_k_ip", prefix, n);
    IID_TRY(iid__linear_load(&a->k_ip, st, name, a->ctx_dim, a->dim, 0, err));
    iid__namef(name, sizeof name, "%s%d.to_v_ip", prefix, n);
    IID_TRY(iid__linear_load(&a->v_ip, st, name, a->ctx_dim, a->dim, 0, err));
    a->has_ip = 1;
    return IID_OK;
}

void iid__attention_free(iid_attention_t *a)
{
    if (!a) return;
    iid__linear_free(&a->q);
    iid__linear_free(&a->k);
    iid__linear_free(&a->v);
    iid__linear_free(&a->out);
    iid__linear_free(&a->k_ip);
    iid__linear_free(&a->v_ip);
    memset(a, 0, sizeof *a);
}

/* The region mask at the token grid (gh, gw): torch's F.interpolate(mode
 * 'nearest', scale_factor = 1/sqrt(mh*mw/T)). m (gh*gw). */
static iid_status resize_mask(const iid_backend_t *be, float *m, const iid_ip_args_t *ip, int gh, int gw,
                              iid_error_t *err)
{
    int mh = iid__tensor_dim(&ip->mask, 0), mw = iid__tensor_dim(&ip->mask, 1);
    double ratio = sqrt((double)mh * mw / ((double)gh * gw));
    double sf = 1.0 / ratio;
    int oh = (int)floor(mh * sf), ow = (int)floor(mw * sf);
    if (oh != gh || ow != gw)
        return iid__fail(err, IID_ERR_INVALID, "ip mask %dx%d resizes to %dx%d, the attention grid is %dx%d", mh, mw, oh,
                         ow, gh, gw);
    float inv = (float)(1.0 / sf);
    return iid__op_resize_plane(be, m, ip->mask.data, 1, mh, mw, gh, gw, IID_RESIZE_NEAREST, inv, inv, err);
}

/* k, v (B, Tk, C) = to_k(ctx), to_v(ctx) and, with n_ip image tokens, k_ip, v_ip
 * (B, n_ip, C) = to_k_ip, to_v_ip of each context's last n_ip rows, into the
 * caller's buffers. */
static iid_status project_context(const iid_backend_t *be, const iid_attention_t *a, const float *ctx, int B, int Tk,
                                  int n_ip, float *k, float *v, float *k_ip, float *v_ip, iid_error_t *err)
{
    int C = a->dim, Cc = a->ctx_dim;
    iid_status s = iid__linear_apply(be, &a->k, ctx, B * Tk, k, err);
    if (s == IID_OK) s = iid__linear_apply(be, &a->v, ctx, B * Tk, v, err);
    for (int b = 0; b < B && n_ip && s == IID_OK; b++) { /* (n_ip, Cc) image rows of image b -> (n_ip, C) */
        const float *rows = ctx + ((size_t)b * Tk + Tk - n_ip) * Cc;
        s = iid__linear_apply(be, &a->k_ip, rows, n_ip, k_ip + (size_t)b * n_ip * C, err);
        if (s == IID_OK) s = iid__linear_apply(be, &a->v_ip, rows, n_ip, v_ip + (size_t)b * n_ip * C, err);
    }
    return s;
}

/* o (B, T, C) += scale * mask * attn(q, k_ip, v_ip) */
static iid_status add_ip_branch(const iid_backend_t *be, const iid_attention_t *a, const float *q, int B, int T,
                                const float *k_ip, const float *v_ip, const iid_ip_args_t *ip, int gh, int gw,
                                float *o, iid_error_t *err)
{
    int C = a->dim, n = ip->n_tokens;
    float *oip = iid__op_alloc(be, (size_t)B * T * C * sizeof *oip);
    float *m = ip->mask.data ? iid__op_alloc(be, (size_t)T * sizeof *m) : NULL;
    iid_status s = IID_OK;
    if (!oip || (ip->mask.data && !m)) s = iid__fail(err, IID_ERR_NOMEM, "ip attention: out of memory");
    if (s == IID_OK && m) s = resize_mask(be, m, ip, gh, gw, err);
    iid_attn_shape_t sh = {.B = B, .H = a->heads, .Tq = T, .Tk = n, .D = C / a->heads, .q_stride = C, .kv_stride = C,
                           .scale = 1.0f / sqrtf((float)(C / a->heads)), .causal = 0};
    if (s == IID_OK) s = iid__op_attention(be, oip, q, k_ip, v_ip, &sh, err);
    if (s == IID_OK) s = iid__op_masked_add(be, o, oip, m, ip->scale, B, T, C, err);
    iid__op_free(be, oip);
    iid__op_free(be, m);
    return s;
}

/* The keys and values of a cross-attention from kv: found, or made there now
 * (on kv's own backend, outside any step allocator). NULL entry and IID_OK
 * when there is no cache. */
static iid_status cached_context(const iid_attention_t *a, iid_kv_cache_t *kv, const float *ctx, int B, int Tk,
                                 int n_ip, const iid_kv_entry_t **out, iid_error_t *err)
{
    *out = NULL;
    if (!kv) return IID_OK;
    int64_t rows = (int64_t)B * Tk;
    iid_kv_entry_t *e = iid__kv_cache_find(kv, a, ctx, rows, n_ip);
    if (!e) {
        if (!(e = iid__kv_cache_add(kv, a, ctx, rows, B, n_ip, a->dim)))
            return iid__fail(err, IID_ERR_NOMEM, "attention: out of memory for the cached keys and values");
        iid_status s = project_context(kv->be, a, ctx, B, Tk, n_ip, e->k, e->v, e->k_ip, e->v_ip, err);
        if (s != IID_OK) { /* half written: not an answer for the next call */
            iid__kv_cache_drop_last(kv);
            return s;
        }
    }
    *out = e;
    return IID_OK;
}

iid_status iid__attention_forward(const iid_backend_t *be, const iid_attention_t *a, const iid_tensor_t *xt,
                                  const iid_tensor_t *ctxt, const iid_ip_args_t *ip, iid_kv_cache_t *kv, int grid_h,
                                  int grid_w, iid_tensor_t *yt, iid_error_t *err)
{
    int C = a->dim, B = iid__tensor_dim(xt, 0), T = iid__tensor_dim(xt, 1);
    const float *x = iid__tensor_f32(xt), *ctx = ctxt ? iid__tensor_f32(ctxt) : NULL;
    float *y = iid__tensor_f32(yt);
    int self = ctx == NULL;
    if (xt->ndim != 3 || xt->shape[2] != C || (!self && (ctxt->ndim != 3 || ctxt->shape[2] != a->ctx_dim)))
        return iid__fail(err, IID_ERR_INVALID, "attention: input not (B, T, %d) or context not (B, Tc, %d)", C,
                         a->ctx_dim);
    int Tk = self ? T : iid__tensor_dim(ctxt, 1);
    int n_ip = (!self && a->has_ip && ip && ip->n_tokens > 0) ? ip->n_tokens : 0;
    int Tt = Tk - n_ip; /* text keys per image */
    if (Tt <= 0)
        return iid__fail(err, IID_ERR_INVALID, "attention: context of %d tokens leaves no text after %d image tokens", Tk,
                         n_ip);
    int use_ip = n_ip && ip->scale != 0.0f;
    const iid_kv_entry_t *e = NULL;
    if (!self) IID_TRY(cached_context(a, kv, ctx, B, Tk, use_ip ? n_ip : 0, &e, err));
    size_t act = (size_t)B * T * C * sizeof(float), kvb = (size_t)B * Tk * C * sizeof(float);
    size_t ipb = (size_t)B * n_ip * C * sizeof(float);
    float *q = iid__op_alloc(be, act), *o = iid__op_alloc(be, act);
    float *k = e ? e->k : iid__op_alloc(be, kvb), *v = e ? e->v : iid__op_alloc(be, kvb);
    float *k_ip = e ? e->k_ip : use_ip ? iid__op_alloc(be, ipb) : NULL;
    float *v_ip = e ? e->v_ip : use_ip ? iid__op_alloc(be, ipb) : NULL;
    iid_status s = IID_OK;
    if (!q || !k || !v || !o || (use_ip && (!k_ip || !v_ip)))
        s = iid__fail(err, IID_ERR_NOMEM, "attention (%d tokens, %d channels): out of memory", T, C);
    if (s == IID_OK) s = iid__linear_apply(be, &a->q, x, B * T, q, err); /* (B, T, C) */
    if (s == IID_OK && !e)
        s = project_context(be, a, self ? x : ctx, B, Tk, use_ip ? n_ip : 0, k, v, k_ip, v_ip, err);
    iid_attn_shape_t sh = {.B = 1, .H = a->heads, .Tq = T, .Tk = Tt, .D = C / a->heads, .q_stride = C, .kv_stride = C,
                           .scale = 1.0f / sqrtf((float)(C / a->heads)), .causal = 0};
    for (int b = 0; b < B && s == IID_OK; b++)
        s = iid__op_attention(be, o + (size_t)b * T * C, q + (size_t)b * T * C, k + (size_t)b * Tk * C,
                              v + (size_t)b * Tk * C, &sh, err);
    if (s == IID_OK && use_ip) s = add_ip_branch(be, a, q, B, T, k_ip, v_ip, ip, grid_h, grid_w, o, err);
    if (!e) {
        iid__op_free(be, k), iid__op_free(be, v);
        iid__op_free(be, k_ip), iid__op_free(be, v_ip);
    }
    if (s == IID_OK) s = iid__linear_apply(be, &a->out, o, B * T, y, err);
    iid__op_free(be, q);
    iid__op_free(be, o);
    return s;
}

/* ---- transformer block ---------------------------------------------------- */

static iid_status tblock_load(iid_tblock_t *b, const iid_safetensors_t *st, const char *prefix, int C, int heads,
                              int ctx_dim, iid_error_t *err)
{
    char name[512];
    iid__namef(name, sizeof name, "%s.norm1", prefix);
    IID_TRY(iid__norm_load(&b->norm1, st, name, C, err));
    iid__namef(name, sizeof name, "%s.attn1", prefix);
    IID_TRY(iid__attention_load(&b->attn1, st, name, C, C, heads, 0, err));
    iid__namef(name, sizeof name, "%s.norm2", prefix);
    IID_TRY(iid__norm_load(&b->norm2, st, name, C, err));
    iid__namef(name, sizeof name, "%s.attn2", prefix);
    IID_TRY(iid__attention_load(&b->attn2, st, name, C, ctx_dim, heads, 0, err));
    iid__namef(name, sizeof name, "%s.norm3", prefix);
    IID_TRY(iid__norm_load(&b->norm3, st, name, C, err));
    /* GEGLU width from the checkpoint: proj (2 * inner, C) */
    iid__namef(name, sizeof name, "%s.ff.net.0.proj.weight", prefix);
    const iid_st_tensor_t *pw = iid__st_find(st, name);
    if (!pw) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: tensor '%s' is missing", st->path, name);
    if (pw->ndim != 2 || pw->shape[0] % 2 || pw->shape[0] <= 0 || pw->shape[0] > (1 << 20))
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' must be (2 * inner, %d)", st->path, name, C);
    b->ff_inner = (int)(pw->shape[0] / 2);
    iid__namef(name, sizeof name, "%s.ff.net.0.proj", prefix);
    IID_TRY(iid__linear_load(&b->ff_in, st, name, C, 2 * b->ff_inner, 1, err));
    iid__namef(name, sizeof name, "%s.ff.net.2", prefix);
    IID_TRY(iid__linear_load(&b->ff_out, st, name, b->ff_inner, C, 1, err));
    return IID_OK;
}

static void tblock_free(iid_tblock_t *b)
{
    iid__norm_free(&b->norm1);
    iid__norm_free(&b->norm2);
    iid__norm_free(&b->norm3);
    iid__attention_free(&b->attn1);
    iid__attention_free(&b->attn2);
    iid__linear_free(&b->ff_in);
    iid__linear_free(&b->ff_out);
}

/* h (M, C) tokens of N images on an (H, W) grid; scratch n, a (M, C). */
static iid_status tblock_forward(const iid_backend_t *be, const iid_tblock_t *b, float *h, int N, int H, int W,
                                 const iid_tensor_t *ctx, const iid_ip_args_t *ip, iid_kv_cache_t *kv, float *n, float *a,
                                 iid_error_t *err)
{
    int C = b->norm1.c, T = H * W;
    int64_t M = (int64_t)N * T;
    iid_tensor_t nt = iid__tensor_wrap(be, n, 3, (int64_t[]){N, T, C}); /* (N, T, C) */
    iid_tensor_t at = iid__tensor_wrap(be, a, 3, (int64_t[]){N, T, C});
    IID_TRY(iid__op_layer_norm(be, n, h, b->norm1.w, b->norm1.b, M, C, BLOCK_LN_EPS, err));
    IID_TRY(iid__attention_forward(be, &b->attn1, &nt, NULL, NULL, NULL, H, W, &at, err));
    IID_TRY(iid__op_add(be, h, a, M * C, err));
    IID_TRY(iid__op_layer_norm(be, n, h, b->norm2.w, b->norm2.b, M, C, BLOCK_LN_EPS, err));
    IID_TRY(iid__attention_forward(be, &b->attn2, &nt, ctx, ip, kv, H, W, &at, err));
    IID_TRY(iid__op_add(be, h, a, M * C, err));
    IID_TRY(iid__op_layer_norm(be, n, h, b->norm3.w, b->norm3.b, M, C, BLOCK_LN_EPS, err));
    int I = b->ff_inner;
    float *g = iid__op_alloc(be, (size_t)M * 2 * I * sizeof *g);
    float *u = iid__op_alloc(be, (size_t)M * I * sizeof *u);
    iid_status s = IID_OK;
    if (!g || !u) s = iid__fail(err, IID_ERR_NOMEM, "feed-forward (%lld tokens, width %d): out of memory", (long long)M, I);
    if (s == IID_OK) s = iid__linear_apply(be, &b->ff_in, n, (int)M, g, err); /* (M, 2I) = [hidden | gate] */
    if (s == IID_OK) s = iid__op_geglu(be, u, g, M, I, err);                   /* (M, I) */
    iid__op_free(be, g);
    if (s == IID_OK) s = iid__linear_apply(be, &b->ff_out, u, (int)M, a, err);
    iid__op_free(be, u);
    IID_TRY(s);
    return iid__op_add(be, h, a, M * C, err);
}

/* ---- Transformer2DModel ---------------------------------------------------- */

static iid_status proj_load(iid_linear_w_t *l, const iid_safetensors_t *st, const char *prefix, int C, int linear,
                            iid_error_t *err)
{
    if (linear) return iid__linear_load(l, st, prefix, C, C, 1, err);
    /* a 1x1 convolution: the same (C, C) matrix stored as (C, C, 1, 1) */
    memset(l, 0, sizeof *l);
    l->in = l->out = C;
    int64_t ws[4] = {C, C, 1, 1}, bs[1] = {C};
    IID_TRY(iid__weight_bind(st, &l->w, 4, ws, err, "%s.weight", prefix));
    IID_TRY(iid__param_load(l->w.be, st, &l->b, 1, bs, err, "%s.bias", prefix));
    return IID_OK;
}

iid_status iid__transformer_load(iid_transformer_t *t, const iid_safetensors_t *st, const char *prefix, int channels,
                                 int n_blocks, int heads, int ctx_dim, int groups, int linear_proj, iid_error_t *err)
{
    char name[512];
    memset(t, 0, sizeof *t);
    t->channels = channels;
    t->groups = groups;
    t->heads = heads;
    t->linear_proj = linear_proj;
    if (groups <= 0 || channels % groups)
        return iid__fail(err, IID_ERR_FORMAT, "%s: '%s': %d channels do not split into %d groups", st->path, prefix,
                         channels, groups);
    iid__namef(name, sizeof name, "%s.norm", prefix);
    IID_TRY(iid__norm_load(&t->norm, st, name, channels, err));
    iid__namef(name, sizeof name, "%s.proj_in", prefix);
    IID_TRY(proj_load(&t->proj_in, st, name, channels, linear_proj, err));
    iid__namef(name, sizeof name, "%s.proj_out", prefix);
    IID_TRY(proj_load(&t->proj_out, st, name, channels, linear_proj, err));
    t->blocks = calloc((size_t)(n_blocks > 0 ? n_blocks : 1), sizeof *t->blocks);
    if (!t->blocks) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    for (int i = 0; i < n_blocks; i++) {
        t->n_blocks = i + 1; /* so _free() releases what was bound */
        iid__namef(name, sizeof name, "%s.transformer_blocks.%d", prefix, i);
        IID_TRY(tblock_load(&t->blocks[i], st, name, channels, heads, ctx_dim, err));
    }
    return IID_OK;
}

void iid__transformer_free(iid_transformer_t *t)
{
    if (!t) return;
    iid__norm_free(&t->norm);
    iid__linear_free(&t->proj_in);
    iid__linear_free(&t->proj_out);
    for (int i = 0; i < t->n_blocks; i++) tblock_free(&t->blocks[i]);
    free(t->blocks);
    memset(t, 0, sizeof *t);
}

iid_status iid__transformer_forward(const iid_backend_t *be, const iid_transformer_t *t, iid_tensor_t *xt,
                                    const iid_tensor_t *ctx, const iid_ip_args_t *ip, iid_kv_cache_t *kv,
                                    iid_error_t *err)
{
    float *x = iid__tensor_f32(xt);
    int N = iid__tensor_dim(xt, 0), H = iid__tensor_dim(xt, 2), W = iid__tensor_dim(xt, 3);
    if (xt->ndim != 4 || xt->shape[1] != t->channels)
        return iid__fail(err, IID_ERR_INVALID, "transformer (%d channels): input is not (N, %d, H, W)", t->channels,
                         t->channels);
    int C = t->channels;
    int64_t HW = (int64_t)H * W, M = N * HW;
    size_t bytes = (size_t)M * C * sizeof(float);
    float *s1 = iid__op_alloc(be, bytes), *h = iid__op_alloc(be, bytes), *s2 = iid__op_alloc(be, bytes);
    iid_status s = IID_OK;
    if (!s1 || !h || !s2) s = iid__fail(err, IID_ERR_NOMEM, "transformer (%dx%d, %d channels): out of memory", H, W, C);
    if (s == IID_OK) /* (N, C, H, W) */
        s = iid__op_group_norm(be, s2, x, t->norm.w, t->norm.b, N, C, HW, t->groups, TRANSFORMER_GN_EPS, err);
    if (s == IID_OK) s = iid__op_permute021(be, s1, s2, N, C, HW, err); /* (N, HW, C) */
    if (s == IID_OK) s = iid__linear_apply(be, &t->proj_in, s1, (int)M, h, err);
    for (int i = 0; i < t->n_blocks && s == IID_OK; i++)
        s = tblock_forward(be, &t->blocks[i], h, N, H, W, ctx, ip, kv, s1, s2, err);
    if (s == IID_OK) s = iid__linear_apply(be, &t->proj_out, h, (int)M, s1, err); /* (N, HW, C) */
    if (s == IID_OK) s = iid__op_permute021(be, s2, s1, N, HW, C, err);           /* (N, C, H, W) */
    if (s == IID_OK) s = iid__op_add(be, x, s2, M * C, err);
    iid__op_free(be, s1);
    iid__op_free(be, h);
    iid__op_free(be, s2);
    return s;
}
