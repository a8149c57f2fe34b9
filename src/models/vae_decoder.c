/*
 * vae_decoder.c - AutoencoderKL's decoder, tiled decoding and the image
 * conversions (see vae_decoder.h).
 *
 * Up block i runs at block_out reversed: it has block_out_rev[i] channels; its
 * first resnet takes block_out_rev[i-1] (block_out_rev[0] for i = 0). The mid
 * attention is diffusers' Attention with one head (attention_head_dim equals the
 * channel count), a GroupNorm in front, biases on q, k, v and out, and the input
 * added back.
 */
#include "models/vae_decoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/component_dir.h"
#include "io/json.h"

#define VAE_EPS 1e-6f

/* ---- config and weights ------------------------------------------------------ */

static iid_status parse_config(iid_vae_decoder_t *v, const iid_json_t *j, iid_error_t *err)
{
    long long boc[IID_VAE_MAX_BLOCKS], x;
    int n = 0;
    IID_TRY(iid__json_int_array(j, "block_out_channels", boc, IID_VAE_MAX_BLOCKS, &n, 0, err));
    if (n < 1) return iid__fail(err, IID_ERR_FORMAT, "%s: field 'block_out_channels' is empty", j->path);
    v->n_blocks = n;
    for (int i = 0; i < n; i++) {
        if (boc[i] < 1 || boc[i] > (1 << 16))
            return iid__fail(err, IID_ERR_FORMAT, "%s: block_out_channels[%d] = %lld is out of range", j->path, i, boc[i]);
        v->block_out[i] = (int)boc[i];
    }
    struct { const char *key; int *dst; int lo, hi; } ints[] = {
        {"layers_per_block", &v->layers_per_block, 1, 64},
        {"norm_num_groups", &v->groups, 1, 1 << 16},
        {"latent_channels", &v->latent_channels, 1, 1 << 10},
        {"out_channels", &v->out_channels, 1, 1 << 10},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        IID_TRY(iid__json_int(j, ints[i].key, &x, err));
        if (x < ints[i].lo || x > ints[i].hi)
            return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' = %lld is out of range", j->path, ints[i].key, x);
        *ints[i].dst = (int)x;
    }
    double sf;
    IID_TRY(iid__json_double(j, "scaling_factor", &sf, err));
    if (!(sf > 0)) return iid__fail(err, IID_ERR_FORMAT, "%s: field 'scaling_factor' must be positive", j->path);
    v->scaling_factor = (float)sf;
    const char *act = NULL;
    IID_TRY(iid__json_string_opt(j, "act_fn", &act, err));
    if (act && strcmp(act, "silu") != 0)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field 'act_fn' is '%s', only 'silu' is supported", j->path, act);
    const char *unsupported[] = {"shift_factor", "latents_mean", "latents_std"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j->root, unsupported[i]);
        if (f && !cJSON_IsNull(f))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s' is not supported", j->path, unsupported[i]);
    }
    v->upscale = 1 << (n - 1);
    return IID_OK;
}

static iid_status bind(iid_vae_decoder_t *v, const iid_safetensors_t *st, iid_error_t *err)
{
    char name[128];
    int n = v->n_blocks, C = v->block_out[n - 1], lc = v->latent_channels;
    IID_TRY(iid__conv_load(&v->post_quant, st, "post_quant_conv", lc, lc, 1, 1, err));
    IID_TRY(iid__conv_load(&v->conv_in, st, "decoder.conv_in", lc, C, 3, 1, err));
    for (int r = 0; r < 2; r++) {
        iid__namef(name, sizeof name, "decoder.mid_block.resnets.%d", r);
        IID_TRY(iid__resnet_load(&v->mid_res[r], st, name, C, C, 0, v->groups, VAE_EPS, err));
    }
    IID_TRY(iid__norm_load(&v->mid_norm, st, "decoder.mid_block.attentions.0.group_norm", C, err));
    IID_TRY(iid__attention_load(&v->mid_attn, st, "decoder.mid_block.attentions.0", C, C, 1, 1, err));
    for (int i = 0; i < n; i++) {
        iid_vae_up_block_t *b = &v->up[i];
        int out = v->block_out[n - 1 - i], prev = v->block_out[i == 0 ? n - 1 : n - i];
        int L = v->layers_per_block + 1;
        b->resnets = calloc((size_t)L, sizeof *b->resnets);
        if (!b->resnets) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
        for (int l = 0; l < L; l++) {
            b->n_layers = l + 1;
            iid__namef(name, sizeof name, "decoder.up_blocks.%d.resnets.%d", i, l);
            IID_TRY(iid__resnet_load(&b->resnets[l], st, name, l == 0 ? prev : out, out, 0, v->groups, VAE_EPS, err));
        }
        b->has_up = i < n - 1;
        if (b->has_up) {
            iid__namef(name, sizeof name, "decoder.up_blocks.%d.upsamplers.0.conv", i);
            IID_TRY(iid__conv_load(&b->up, st, name, out, out, 3, 1, err));
        }
    }
    IID_TRY(iid__norm_load(&v->norm_out, st, "decoder.conv_norm_out", v->block_out[0], err));
    return iid__conv_load(&v->conv_out, st, "decoder.conv_out", v->block_out[0], v->out_channels, 3, 1, err);
}

void iid__vae_free(iid_vae_decoder_t *v)
{
    if (!v) return;
    iid__conv_free(&v->post_quant);
    iid__conv_free(&v->conv_in);
    iid__resnet_free(&v->mid_res[0]);
    iid__resnet_free(&v->mid_res[1]);
    iid__norm_free(&v->mid_norm);
    iid__attention_free(&v->mid_attn);
    for (int i = 0; i < IID_VAE_MAX_BLOCKS; i++) {
        for (int l = 0; l < v->up[i].n_layers; l++) iid__resnet_free(&v->up[i].resnets[l]);
        free(v->up[i].resnets);
        iid__conv_free(&v->up[i].up);
    }
    iid__norm_free(&v->norm_out);
    iid__conv_free(&v->conv_out);
    iid__st_close(&v->file);
    free(v);
}

iid_status iid__vae_load_parts(iid_vae_decoder_t **out, const iid_json_t *config, iid_safetensors_t *st,
                              iid_error_t *err)
{
    *out = NULL;
    iid_vae_decoder_t *v = calloc(1, sizeof *v);
    if (!v) {
        iid__st_close(st);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", config->path);
    }
    v->file = *st; /* the index moves into the decoder; the views point into its map */
    memset(st, 0, sizeof *st);
    v->be = iid__backend_default();
    iid_status s = parse_config(v, config, err);
    if (s == IID_OK) s = bind(v, &v->file, err);
    if (s != IID_OK) {
        iid__vae_free(v);
        return s;
    }
    *out = v;
    return IID_OK;
}

iid_status iid__vae_load(iid_vae_decoder_t **out, const char *dir, iid_error_t *err)
{
    iid_json_t j;
    iid_safetensors_t st;
    *out = NULL;
    IID_TRY(iid__component_open(dir, "diffusion_pytorch_model.safetensors", &j, &st, err));
    iid_status s = iid__vae_load_parts(out, &j, &st, err);
    iid__json_free(&j);
    return s;
}

/* ---- decode ----------------------------------------------------------------- */

iid_status iid__vae_unscale(const iid_vae_decoder_t *v, const iid_tensor_t *latents, const iid_tensor_t *z,
                           iid_error_t *err)
{
    if (iid__tensor_numel(z) != iid__tensor_numel(latents))
        return iid__fail(err, IID_ERR_INVALID, "vae: unscale of %lld values into %lld", (long long)iid__tensor_numel(latents),
                         (long long)iid__tensor_numel(z));
    if (z->data != latents->data) iid__op_copy(v->be, z->data, latents->data, iid__tensor_nbytes(z));
    return iid__op_div_scalar(v->be, z->data, v->scaling_factor, iid__tensor_numel(z), err);
}

/* x (B, C, H, W) in place: x += attn(group_norm(x)) over the H*W tokens. */
static iid_status mid_attention(const iid_vae_decoder_t *v, iid_tensor_t *xt, iid_error_t *err)
{
    const iid_backend_t *be = v->be;
    float *x = iid__tensor_f32(xt);
    int B = iid__tensor_dim(xt, 0), C = v->mid_norm.c, H = iid__tensor_dim(xt, 2), W = iid__tensor_dim(xt, 3);
    int64_t HW = (int64_t)H * W;
    size_t bytes = (size_t)B * C * HW * sizeof(float);
    float *a = iid__op_alloc(be, bytes), *t = iid__op_alloc(be, bytes);
    iid_tensor_t at = iid__tensor_wrap(be, a, 3, (int64_t[]){B, HW, C}), tt = iid__tensor_wrap(be, t, 3, at.shape);
    iid_status s = (a && t) ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "vae mid attention (%dx%d): out of memory", H, W);
    if (s == IID_OK) s = iid__op_group_norm(be, a, x, v->mid_norm.w, v->mid_norm.b, B, C, HW, v->groups, VAE_EPS, err);
    if (s == IID_OK) s = iid__op_permute021(be, t, a, B, C, HW, err); /* (B, HW, C) */
    if (s == IID_OK) s = iid__attention_forward(be, &v->mid_attn, &tt, NULL, NULL, NULL, H, W, &at, err);
    if (s == IID_OK) s = iid__op_permute021(be, t, a, B, HW, C, err); /* (B, C, HW) */
    if (s == IID_OK) s = iid__op_add(be, x, t, (int64_t)B * C * HW, err);
    iid__op_free(be, a);
    iid__op_free(be, t);
    return s;
}

/* h (B, C, H, W) <- resnet(h), releasing the input. */
static iid_status resnet_step(const iid_backend_t *be, const iid_resnet_t *r, iid_tensor_t *h, iid_error_t *err)
{
    iid_tensor_t y = {0};
    iid_status s = iid__resnet_forward(be, r, h, NULL, &y, err);
    iid__tensor_release(h);
    *h = y;
    return s;
}

static iid_status conv_step(const iid_backend_t *be, const iid_conv_t *c, iid_tensor_t *h, iid_error_t *err)
{
    iid_tensor_t y = {0};
    iid_status s = iid__conv_apply(be, c, h, &y, err);
    iid__tensor_release(h);
    *h = y;
    return s;
}

iid_status iid__vae_decode(const iid_vae_decoder_t *v, const iid_tensor_t *z, const iid_tensor_t *out,
                           iid_error_t *err)
{
    int B = iid__tensor_dim(z, 0), h = iid__tensor_dim(z, 2), w = iid__tensor_dim(z, 3), f = v->upscale;
    if (z->ndim != 4 || z->shape[1] != v->latent_channels || B <= 0 || h <= 0 || w <= 0)
        return iid__fail(err, IID_ERR_INVALID, "vae: latent %dx%d batch %d (%d channels expected)", h, w, B,
                         v->latent_channels);
    if (iid__tensor_numel(out) != (int64_t)B * v->out_channels * h * f * w * f)
        return iid__fail(err, IID_ERR_INVALID, "vae: the image must be (%d, %d, %d, %d)", B, v->out_channels, h * f,
                         w * f);
    const iid_backend_t *be = v->be;
    iid_tensor_t x = {0};
    /* (B, lc, h, w) -> post_quant_conv -> conv_in -> (B, C, h, w) */
    IID_TRY(iid__conv_apply(be, &v->post_quant, z, &x, err));
    iid_status s = conv_step(be, &v->conv_in, &x, err);
    if (s == IID_OK) s = resnet_step(be, &v->mid_res[0], &x, err);
    if (s == IID_OK) s = mid_attention(v, &x, err);
    if (s == IID_OK) s = resnet_step(be, &v->mid_res[1], &x, err);
    for (int i = 0; i < v->n_blocks && s == IID_OK; i++) {
        const iid_vae_up_block_t *b = &v->up[i];
        for (int l = 0; l < b->n_layers && s == IID_OK; l++) s = resnet_step(be, &b->resnets[l], &x, err);
        if (s == IID_OK && b->has_up) { /* nearest 2x, then conv3x3 */
            int C = b->up.in, H = iid__tensor_dim(&x, 2), W = iid__tensor_dim(&x, 3);
            iid_tensor_t x2;
            if (iid__tensor_alloc_on(&x2, be, IID_DTYPE_F32, 4, (int64_t[]){B, C, 2 * H, 2 * W}, NULL) != IID_OK) {
                s = iid__fail(err, IID_ERR_NOMEM, "vae upsampler (%dx%d): out of memory", 2 * H, 2 * W);
                break;
            }
            s = iid__op_upsample_nearest2x(be, x2.data, x.data, B, C, H, W, err);
            iid__tensor_release(&x);
            x = x2;
            if (s == IID_OK) s = conv_step(be, &b->up, &x, err);
        }
    }
    /* (B, C0, H, W) -> GroupNorm -> SiLU -> conv_out -> (B, out_channels, H, W) */
    if (s == IID_OK)
        s = iid__op_group_norm_silu(be, x.data, x.data, v->norm_out.w, v->norm_out.b, B, v->block_out[0],
                                    x.shape[2] * x.shape[3], v->groups, VAE_EPS, err);
    if (s == IID_OK) s = conv_step(be, &v->conv_out, &x, err);
    if (s == IID_OK) iid__op_copy(be, out->data, x.data, iid__tensor_nbytes(&x));
    iid__tensor_release(&x);
    return s;
}

/* ---- tiled decode ------------------------------------------------------------ */

/* Tile starts along one axis: every step = tile - overlap, the last flush with the end. */
static int tile_starts(int n, int tile, int overlap, int *starts, int cap)
{
    int k = 0, step = tile - overlap;
    for (int p = 0;; p += step) {
        if (p + tile >= n) {
            if (k < cap) starts[k] = n > tile ? n - tile : 0;
            return k + 1;
        }
        if (k < cap) starts[k] = p;
        k++;
    }
}

/* Blend weight of pixel p of a tile of L pixels with ramps of r pixels on the
 * sides that have a neighbour. */
static float ramp(int p, int L, int r, int lead, int trail)
{
    float wgt = 1.0f;
    if (lead && p < r) wgt = fminf(wgt, ((float)p + 0.5f) / (float)r);
    if (trail && L - 1 - p < r) wgt = fminf(wgt, ((float)(L - 1 - p) + 0.5f) / (float)r);
    return wgt;
}

/* Decode tile (ty, tx) of starts ys, xs and blend it into out and wsum. zt, dt,
 * ry, rx are scratch (ry, rx host). */
typedef struct tiling {
    int h, w, th, tw, ny, nx, overlap;
    const int *ys, *xs;
} tiling_t;

static iid_status one_tile(const iid_vae_decoder_t *v, const tiling_t *t, int ty, int tx, const float *z, int B,
                           float *zt, float *dt, float *ry, float *rx, float *out, float *wsum, iid_error_t *err)
{
    iid_tensor_t ztt = iid__tensor_wrap(v->be, zt, 4, (int64_t[]){B, v->latent_channels, t->th, t->tw});
    iid_tensor_t dtt = iid__tensor_wrap(v->be, dt, 4, (int64_t[]){B, v->out_channels, t->th * v->upscale,
                                                                   t->tw * v->upscale});
    const iid_backend_t *be = v->be;
    int f = v->upscale, lc = v->latent_channels, y0 = t->ys[ty], x0 = t->xs[tx];
    int TH = t->th * f, TW = t->tw * f, r = t->overlap * f;
    /* zt (B, lc, th, tw) = z[:, :, y0:y0+th, x0:x0+tw] */
    for (int p = 0; p < B * lc; p++)
        IID_TRY(iid__op_copy_rows(be, zt + (size_t)p * t->th * t->tw, t->tw, z + ((size_t)p * t->h + y0) * t->w + x0,
                                  t->w, t->th, t->tw, err));
    IID_TRY(iid__vae_decode(v, &ztt, &dtt, err));
    for (int y = 0; y < TH; y++) ry[y] = ramp(y, TH, r, ty > 0, ty < t->ny - 1);
    for (int x = 0; x < TW; x++) rx[x] = ramp(x, TW, r, tx > 0, tx < t->nx - 1);
    return iid__op_blend_tile(be, out, wsum, (int64_t)B * v->out_channels, t->h * f, t->w * f, dt, TH, TW, y0 * f,
                              x0 * f, ry, rx, err);
}

iid_status iid__vae_decode_tiled(const iid_vae_decoder_t *v, const iid_tensor_t *zt_in, int tile, int overlap,
                                 const iid_tensor_t *out_t, iid_error_t *err)
{
    if (tile < 1 || overlap < 0 || overlap >= tile)
        return iid__fail(err, IID_ERR_INVALID, "vae: tile %d with overlap %d (need 0 <= overlap < tile)", tile, overlap);
    int B = iid__tensor_dim(zt_in, 0), h = iid__tensor_dim(zt_in, 2), w = iid__tensor_dim(zt_in, 3);
    if (h <= tile && w <= tile) return iid__vae_decode(v, zt_in, out_t, err);
    if (zt_in->ndim != 4 || zt_in->shape[1] != v->latent_channels || B <= 0 ||
        iid__tensor_numel(out_t) != (int64_t)B * v->out_channels * h * v->upscale * w * v->upscale)
        return iid__fail(err, IID_ERR_INVALID, "vae: a (%d, %d, %d, %d) latent does not decode to the image given", B,
                         iid__tensor_dim(zt_in, 1), h, w);
    const float *z = iid__tensor_f32(zt_in);
    float *out = iid__tensor_f32(out_t);
    const iid_backend_t *be = v->be;
    int ny = tile_starts(h, tile, overlap, NULL, 0), nx = tile_starts(w, tile, overlap, NULL, 0);
    int *ys = malloc((size_t)ny * sizeof *ys), *xs = malloc((size_t)nx * sizeof *xs);
    int th = h < tile ? h : tile, tw = w < tile ? w : tile, f = v->upscale, lc = v->latent_channels;
    int C = v->out_channels, OH = h * f, OW = w * f, TH = th * f, TW = tw * f;
    float *ry = malloc((size_t)(TH + TW) * sizeof *ry); /* host ramps, then rx */
    float *zt = iid__op_alloc(be, (size_t)B * lc * th * tw * sizeof *zt);
    float *dt = iid__op_alloc(be, (size_t)B * C * TH * TW * sizeof *dt);
    float *wsum = iid__op_alloc(be, (size_t)OH * OW * sizeof *wsum);
    iid_status s =
        (ys && xs && ry && zt && dt && wsum) ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "vae tiled decode: out of memory");
    if (s == IID_OK) {
        tile_starts(h, tile, overlap, ys, ny);
        tile_starts(w, tile, overlap, xs, nx);
        iid__op_fill(be, out, 0.0f, (int64_t)B * C * OH * OW);
        iid__op_fill(be, wsum, 0.0f, (int64_t)OH * OW);
    }
    tiling_t t = {h, w, th, tw, ny, nx, overlap, ys, xs};
    for (int ty = 0; ty < ny && s == IID_OK; ty++)
        for (int tx = 0; tx < nx && s == IID_OK; tx++) s = one_tile(v, &t, ty, tx, z, B, zt, dt, ry, ry + TH, out, wsum, err);
    if (s == IID_OK) s = iid__op_div_plane(be, out, wsum, (int64_t)B * C, (int64_t)OH * OW, err);
    free(ys);
    free(xs);
    free(ry);
    iid__op_free(be, zt);
    iid__op_free(be, dt);
    iid__op_free(be, wsum);
    return s;
}
