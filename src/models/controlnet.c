/*
 * controlnet.c - IdentityNet (diffusers ControlNetModel): conditioning
 * embedding, the shared trunk, and the 1x1 output convolutions. See
 * controlnet.h for the maths.
 *
 * The config adds conditioning_channels and conditioning_embedding_out_channels
 * to the UNet fields (read by unet_trunk.c); the 1x1 convs are sized from the
 * skip tensors the trunk produces: skip 0 is conv_in (block_out[0]); block i
 * adds layers[i] maps of block_out[i] and, unless it is the last, one more
 * (its downsampler's output).
 */
#include "models/controlnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/component_dir.h"
#include "io/json.h"

#define MAX_COND_CHANNELS 16

/* Channel count of every skip tensor, in order. */
static void skip_channels(const iid_unet_config_t *c, int *ch)
{
    int k = 0;
    ch[k++] = c->block_out[0];
    for (int i = 0; i < c->n_blocks; i++) {
        for (int l = 0; l < c->layers[i]; l++) ch[k++] = c->block_out[i];
        if (i < c->n_blocks - 1) ch[k++] = c->block_out[i];
    }
}

static iid_status read_cond_config(const iid_json_t *j, int *cond_channels, int *boc, int *n_boc, iid_error_t *err)
{
    const char *path = j->path;
    long long cc = 3, v[MAX_COND_CHANNELS];
    iid_status s = iid__json_int_opt(j, "conditioning_channels", &cc, err);
    if (s == IID_OK) s = iid__json_int_array(j, "conditioning_embedding_out_channels", v, MAX_COND_CHANNELS, n_boc, 0, err);
    const char *order = NULL;
    if (s == IID_OK) s = iid__json_string_opt(j, "controlnet_conditioning_channel_order", &order, err);
    if (s == IID_OK && order && strcmp(order, "rgb") != 0)
        s = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field 'controlnet_conditioning_channel_order' is '%s', only 'rgb' is supported",
                      path, order);
    int pool = 0;
    if (s == IID_OK) s = iid__json_bool_opt(j, "global_pool_conditions", &pool, err);
    if (s == IID_OK && pool)
        s = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field 'global_pool_conditions' true is not supported", path);
    if (s == IID_OK && (cc < 1 || cc > 64 || *n_boc < 1))
        s = iid__fail(err, IID_ERR_FORMAT, "%s: conditioning_channels must be 1..64 and conditioning_embedding_out_channels non-empty",
                      path);
    for (int i = 0; s == IID_OK && i < *n_boc; i++) {
        if (v[i] < 1 || v[i] > (1 << 16))
            s = iid__fail(err, IID_ERR_FORMAT, "%s: conditioning_embedding_out_channels[%d] = %lld is out of range", path,
                          i, v[i]);
        boc[i] = (int)v[i];
    }
    *cond_channels = (int)cc;
    return s;
}

static iid_status bind(iid_controlnet_t *cn, const iid_safetensors_t *st, const int *boc, int n_boc, iid_error_t *err)
{
    const iid_unet_config_t *c = &cn->trunk.cfg;
    char name[128];
    IID_TRY(iid__conv_load(&cn->cond_in, st, "controlnet_cond_embedding.conv_in", cn->cond_channels, boc[0], 3, 1, err));
    cn->cond_blocks = calloc((size_t)(2 * n_boc), sizeof *cn->cond_blocks);
    if (!cn->cond_blocks) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    for (int i = 0; i + 1 < n_boc; i++) {
        cn->n_cond_blocks = 2 * i + 1;
        iid__namef(name, sizeof name, "controlnet_cond_embedding.blocks.%d", 2 * i);
        IID_TRY(iid__conv_load(&cn->cond_blocks[2 * i], st, name, boc[i], boc[i], 3, 1, err));
        cn->n_cond_blocks = 2 * i + 2;
        iid__namef(name, sizeof name, "controlnet_cond_embedding.blocks.%d", 2 * i + 1);
        IID_TRY(iid__conv_load(&cn->cond_blocks[2 * i + 1], st, name, boc[i], boc[i + 1], 3, 2, err));
    }
    IID_TRY(iid__conv_load(&cn->cond_out, st, "controlnet_cond_embedding.conv_out", boc[n_boc - 1], c->block_out[0], 3, 1,
                           err));
    int ns = iid__unet_n_skips(c);
    int *ch = malloc((size_t)ns * sizeof *ch);
    cn->down_out = calloc((size_t)ns, sizeof *cn->down_out);
    if (!ch || !cn->down_out) {
        free(ch);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    }
    skip_channels(c, ch);
    iid_status s = IID_OK;
    for (int i = 0; i < ns && s == IID_OK; i++) {
        cn->n_down = i + 1;
        iid__namef(name, sizeof name, "controlnet_down_blocks.%d", i);
        s = iid__conv_load(&cn->down_out[i], st, name, ch[i], ch[i], 1, 1, err);
    }
    free(ch);
    IID_TRY(s);
    int C = c->block_out[c->n_blocks - 1];
    return iid__conv_load(&cn->mid_out, st, "controlnet_mid_block", C, C, 1, 1, err);
}

void iid__controlnet_free(iid_controlnet_t *cn)
{
    if (!cn) return;
    iid__unet_trunk_free(&cn->trunk);
    iid__conv_free(&cn->cond_in);
    for (int i = 0; i < cn->n_cond_blocks; i++) iid__conv_free(&cn->cond_blocks[i]);
    free(cn->cond_blocks);
    iid__conv_free(&cn->cond_out);
    for (int i = 0; i < cn->n_down; i++) iid__conv_free(&cn->down_out[i]);
    free(cn->down_out);
    iid__conv_free(&cn->mid_out);
    iid__st_close(&cn->file);
    free(cn);
}

iid_status iid__controlnet_load_parts(iid_controlnet_t **out, const iid_json_t *config, iid_safetensors_t *st,
                                     iid_error_t *err)
{
    iid_unet_config_t cfg;
    int boc[MAX_COND_CHANNELS], n_boc = 0, cond_channels = 0;
    *out = NULL;
    iid_controlnet_t *cn = calloc(1, sizeof *cn);
    if (!cn) {
        iid__st_close(st);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", config->path);
    }
    cn->file = *st; /* the index moves into the ControlNet; the views point into its map */
    memset(st, 0, sizeof *st);
    iid_status s = iid__unet_config_parse(&cfg, config, err);
    if (s == IID_OK) s = read_cond_config(config, &cond_channels, boc, &n_boc, err);
    if (s == IID_OK) s = iid__unet_trunk_load(&cn->trunk, &cfg, &cn->file, err);
    if (s == IID_OK) {
        cn->cond_channels = cond_channels;
        s = bind(cn, &cn->file, boc, n_boc, err);
    }
    if (s != IID_OK) {
        iid__controlnet_free(cn);
        return s;
    }
    *out = cn;
    return IID_OK;
}

iid_status iid__controlnet_load(iid_controlnet_t **out, const char *dir, iid_error_t *err)
{
    iid_json_t j;
    iid_safetensors_t st;
    *out = NULL;
    IID_TRY(iid__component_open(dir, "diffusion_pytorch_model.safetensors", &j, &st, err));
    iid_status s = iid__controlnet_load_parts(out, &j, &st, err);
    iid__json_free(&j);
    return s;
}

/* *emb (B, block_out[0], OH, OW): the conditioning embedding of the image. */
static iid_status cond_embed(const iid_backend_t *be, const iid_controlnet_t *cn, const iid_controlnet_inputs_t *in,
                             iid_tensor_t *emb, iid_error_t *err)
{
    iid_tensor_t x = {0};
    IID_TRY(iid__conv_apply(be, &cn->cond_in, &in->image, &x, err));
    iid_status s = iid__op_unary(be, IID_UNARY_SILU, x.data, iid__tensor_numel(&x), err);
    for (int i = 0; i < cn->n_cond_blocks && s == IID_OK; i++) {
        iid_tensor_t y = {0};
        s = iid__conv_apply(be, &cn->cond_blocks[i], &x, &y, err);
        iid__tensor_release(&x);
        x = y;
        if (s == IID_OK) s = iid__op_unary(be, IID_UNARY_SILU, x.data, iid__tensor_numel(&x), err);
    }
    if (s == IID_OK) s = iid__conv_apply(be, &cn->cond_out, &x, emb, err);
    iid__tensor_release(&x);
    return s;
}

iid_status iid__controlnet_forward(const iid_controlnet_t *cn, const iid_controlnet_inputs_t *in, iid_residuals_t *out,
                                   iid_error_t *err)
{
    const iid_unet_config_t *c = &cn->trunk.cfg;
    const iid_backend_t *be = in->be ? in->be : cn->trunk.be;
    const iid_tensor_t *x0 = &in->sample;
    int B = iid__tensor_dim(x0, 0), H = iid__tensor_dim(x0, 2), W = iid__tensor_dim(x0, 3);
    int ns = cn->n_down, f = 1 << iid__unet_n_downsamples(c);
    memset(out, 0, sizeof *out);
    if (!x0->data || !in->image.data || !in->cond.context.data || !in->cond.text_embeds.data)
        return iid__fail(err, IID_ERR_INVALID, "controlnet: sample, image, context and text_embeds are required");
    if (x0->ndim != 4 || B <= 0 || H <= 0 || W <= 0 || H % f || W % f)
        return iid__fail(err, IID_ERR_INVALID, "controlnet: latent %dx%d (batch %d) must be positive multiples of %d", H,
                         W, B, f);
    if (in->image.ndim != 4 || in->image.shape[0] != B || in->image.shape[1] != cn->cond_channels)
        return iid__fail(err, IID_ERR_INVALID, "controlnet: the image must be (%d, %d, H, W)", B, cn->cond_channels);
    iid_tensor_t emb_act = {0}, cemb = {0};
    out->n_down = ns;
    iid_tensor_t skips[IID_UNET_MAX_SKIPS] = {{0}}; /* ns <= the capacity: checked at parse */
    iid_status s = cond_embed(be, cn, in, &cemb, err);
    if (s == IID_OK && (cemb.shape[2] != H || cemb.shape[3] != W))
        s = iid__fail(err, IID_ERR_INVALID, "controlnet: a %dx%d image embeds to %dx%d, the latent is %dx%d",
                      iid__tensor_dim(&in->image, 2), iid__tensor_dim(&in->image, 3), iid__tensor_dim(&cemb, 2),
                      iid__tensor_dim(&cemb, 3), H, W);
    if (s == IID_OK) s = iid__unet_trunk_embed(be, &cn->trunk, B, &in->cond, &emb_act, err);
    if (s == IID_OK) s = iid__unet_trunk_down(be, &cn->trunk, x0, &cemb, &emb_act, &in->cond, NULL, skips, err);
    iid__tensor_release(&cemb);
    iid_tensor_t mid = {0};
    if (s == IID_OK) s = iid__unet_trunk_mid(be, &cn->trunk, &skips[ns - 1], &emb_act, &in->cond, NULL, &mid, err);
    /* each output: 1x1 conv, times the conditioning scale */
    for (int i = 0; i <= ns && s == IID_OK; i++) {
        const iid_tensor_t *x = i < ns ? &skips[i] : &mid;
        iid_tensor_t *o = i < ns ? &out->down[i] : &out->mid;
        const iid_conv_t *conv = i < ns ? &cn->down_out[i] : &cn->mid_out;
        s = iid__conv_apply(be, conv, x, o, err);
        if (s == IID_OK) s = iid__op_scale(be, o->data, in->scale, iid__tensor_numel(o), err);
        if (i < ns) iid__tensor_release(&skips[i]);
    }
    for (int i = 0; i < ns; i++) iid__tensor_release(&skips[i]);
    iid__tensor_release(&mid);
    iid__tensor_release(&emb_act);
    return s;
}

/* ---- region mask ------------------------------------------------------------- */

iid_status iid__residuals_apply_mask(iid_residuals_t *r, const iid_tensor_t *mask, iid_error_t *err)
{
    int mh = iid__tensor_dim(mask, 0), mw = iid__tensor_dim(mask, 1);
    iid_status s = IID_OK;
    for (int i = 0; i <= r->n_down && s == IID_OK; i++) {
        iid_tensor_t *f = i < r->n_down ? &r->down[i] : &r->mid;
        const iid_backend_t *be = f->be ? f->be : &iid__backend_cpu; /* NULL: host memory */
        int fh = iid__tensor_dim(f, 2), fw = iid__tensor_dim(f, 3);
        size_t hw = (size_t)fh * fw;
        float *m = iid__op_alloc(be, (hw ? hw : 1) * sizeof *m);
        if (!m) return iid__fail(err, IID_ERR_NOMEM, "controlnet residual mask: out of memory");
        s = iid__op_resize_plane(be, m, mask->data, 1, mh, mw, fh, fw, IID_RESIZE_BILINEAR, 0.0f, 0.0f, err);
        if (s == IID_OK) s = iid__op_mul_plane(be, f->data, m, f->shape[0] * f->shape[1], (int64_t)hw, err);
        iid__op_free(be, m);
    }
    return s;
}
