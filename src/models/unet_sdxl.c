/*
 * unet_sdxl.c - the SDXL UNet: up path, head, IP-Adapter binding and the forward
 * pass (the shared trunk is in unet_trunk.c).
 *
 * Up block i (diffusers order, widest resolution last) has layers[n-1-i] + 1
 * resnets; resnet j takes [h | skip]: h has block_out_rev[i-1] channels for j == 0
 * (the previous up block's output) and block_out_rev[i] after; the skip has
 * block_out_rev[i] channels except for the last resnet, whose skip comes from the
 * block below (block_out_rev[i+1]). Those widths are what the checkpoint's norm1
 * and conv1 shapes are checked against, and the forward checks each concat
 * against them again.
 *
 * Memory: a skip is freed as soon as its up resnet has consumed it; the up
 * path's input is freed after each block.
 */
#include "models/unet_sdxl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/component_dir.h"

/* ---- IP-Adapter layout ----------------------------------------------------- */

/* Appends the attn2 slots of one attention's transformer blocks. */
static void layout_attention(iid_ip_slot_t *slots, int cap, int *count, int *n, int part, int block, int attn,
                             int tblocks, int hidden, int cross)
{
    for (int k = 0; k < tblocks; k++) {
        (*n)++; /* attn1: a plain self-attention processor */
        (*n)++; /* attn2: the cross-attention that carries the IP branch */
        if (*count < cap)
            slots[*count] = (iid_ip_slot_t){.index = *n, .part = part, .block = block, .attn = attn, .tblock = k,
                                            .hidden = hidden, .cross = cross};
        (*count)++;
    }
}

int iid__unet_ip_layout(const iid_unet_config_t *cfg, iid_ip_slot_t *slots, int cap)
{
    int count = 0, n = -1, nb = cfg->n_blocks;
    for (int i = 0; i < nb; i++)
        if (cfg->down_attn[i])
            for (int a = 0; a < cfg->layers[i]; a++)
                layout_attention(slots, cap, &count, &n, 0, i, a, cfg->tlayers[i], cfg->block_out[i], cfg->cross_dim);
    for (int i = 0; cfg->has_up && i < nb; i++)
        if (cfg->up_attn[i])
            for (int a = 0; a < cfg->layers[nb - 1 - i] + 1; a++)
                layout_attention(slots, cap, &count, &n, 1, i, a, cfg->up_tlayers[i], cfg->block_out[nb - 1 - i],
                                 cfg->cross_dim);
    layout_attention(slots, cap, &count, &n, 2, 0, 0, cfg->tlayers[nb - 1], cfg->block_out[nb - 1], cfg->cross_dim);
    return count;
}

void iid__unet_ip_slot_name(const iid_ip_slot_t *s, char *buf, size_t cap)
{
    if (s->part == 2)
        snprintf(buf, cap, "mid_block.attentions.%d.transformer_blocks.%d.attn2.processor", s->attn, s->tblock);
    else
        snprintf(buf, cap, "%s.%d.attentions.%d.transformer_blocks.%d.attn2.processor",
                 s->part == 0 ? "down_blocks" : "up_blocks", s->block, s->attn, s->tblock);
}

static iid_attention_t *slot_attention(iid_unet_t *u, const iid_ip_slot_t *s)
{
    iid_transformer_t *t = s->part == 0   ? &u->trunk.down[s->block].attns[s->attn]
                           : s->part == 1 ? &u->up[s->block].attns[s->attn]
                                          : &u->trunk.mid_attn;
    return &t->blocks[s->tblock].attn2;
}

static void drop_ip(iid_unet_t *u, const iid_ip_slot_t *slots, int n)
{
    for (int i = 0; i < n; i++) {
        iid_attention_t *a = slot_attention(u, &slots[i]);
        iid__linear_free(&a->k_ip);
        iid__linear_free(&a->v_ip);
        a->has_ip = 0;
    }
    u->has_ip = 0;
}

iid_status iid__unet_load_ip(iid_unet_t *u, const iid_safetensors_t *st, const char *prefix, iid_error_t *err)
{
    int n = iid__unet_ip_layout(&u->trunk.cfg, NULL, 0);
    iid_ip_slot_t *slots = malloc((size_t)(n ? n : 1) * sizeof *slots);
    if (!slots) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    iid__unet_ip_layout(&u->trunk.cfg, slots, n);
    iid_status s = IID_OK;
    for (int i = 0; i < n && s == IID_OK; i++)
        s = iid__attention_load_ip(slot_attention(u, &slots[i]), st, prefix, slots[i].index, err);
    if (s == IID_OK) {
        /* the file must not hold IP layers the UNet has no place for */
        int in_file = 0;
        size_t lp = strlen(prefix);
        for (int i = 0; i < st->count; i++) {
            const char *name = st->tensors[i].name;
            size_t ln = strlen(name);
            if (strncmp(name, prefix, lp) == 0 && ln >= 15 && strcmp(name + ln - 15, ".to_k_ip.weight") == 0) in_file++;
        }
        if (in_file != n)
            s = iid__fail(err, IID_ERR_FORMAT, "%s: holds %d '%s<n>.to_k_ip.weight' layers, the UNet has %d cross-attentions",
                          st->path, in_file, prefix, n);
    }
    if (s != IID_OK) drop_ip(u, slots, n);
    else u->has_ip = 1;
    free(slots);
    return s;
}

/* ---- loading --------------------------------------------------------------- */

static iid_status load_up_block(iid_up_block_t *b, const iid_unet_config_t *c, const iid_safetensors_t *st, int i,
                                iid_error_t *err)
{
    char name[256];
    int nb = c->n_blocks, rev = nb - 1 - i;
    int out = c->block_out[rev];
    int prev = i == 0 ? c->block_out[nb - 1] : c->block_out[rev + 1];
    int below = c->block_out[rev > 0 ? rev - 1 : 0];
    int L = c->layers[rev] + 1;
    b->has_attn = c->up_attn[i];
    b->has_up = i < nb - 1;
    b->resnets = calloc((size_t)L, sizeof *b->resnets);
    b->attns = b->has_attn ? calloc((size_t)L, sizeof *b->attns) : NULL;
    if (!b->resnets || (b->has_attn && !b->attns)) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    for (int l = 0; l < L; l++) {
        b->n_layers = l + 1;
        int skip = l == L - 1 ? below : out, h = l == 0 ? prev : out;
        iid__namef(name, sizeof name, "up_blocks.%d.resnets.%d", i, l);
        IID_TRY(iid__resnet_load(&b->resnets[l], st, name, h + skip, out, c->temb_dim, c->groups, c->eps, err));
        if (b->has_attn) {
            iid__namef(name, sizeof name, "up_blocks.%d.attentions.%d", i, l);
            IID_TRY(iid__transformer_load(&b->attns[l], st, name, out, c->up_tlayers[i], c->heads[rev], c->cross_dim,
                                          c->groups, c->linear_proj, err));
        }
    }
    if (b->has_up) {
        iid__namef(name, sizeof name, "up_blocks.%d.upsamplers.0.conv", i);
        IID_TRY(iid__conv_load(&b->up, st, name, out, out, 3, 1, err));
    }
    return IID_OK;
}

static void free_up_block(iid_up_block_t *b)
{
    for (int l = 0; l < b->n_layers; l++) {
        iid__resnet_free(&b->resnets[l]);
        if (b->attns) iid__transformer_free(&b->attns[l]);
    }
    free(b->resnets);
    free(b->attns);
    iid__conv_free(&b->up);
    memset(b, 0, sizeof *b);
}

void iid__unet_free(iid_unet_t *u)
{
    if (!u) return;
    iid__unet_trunk_free(&u->trunk);
    for (int i = 0; i < IID_UNET_MAX_BLOCKS; i++) free_up_block(&u->up[i]);
    iid__norm_free(&u->norm_out);
    iid__conv_free(&u->conv_out);
    if (u->file) iid__st_close(u->file);
    free(u->file);
    free(u);
}

iid_status iid__unet_load_from(iid_unet_t **out, const iid_unet_config_t *cfg, const iid_safetensors_t *st,
                               iid_error_t *err)
{
    *out = NULL;
    if (!cfg->has_up)
        return iid__fail(err, IID_ERR_FORMAT, "%s: the UNet config lists no up_block_types", st->path);
    iid_unet_t *u = calloc(1, sizeof *u);
    if (!u) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    iid_status s = iid__unet_trunk_load(&u->trunk, cfg, st, err);
    for (int i = 0; i < cfg->n_blocks && s == IID_OK; i++) s = load_up_block(&u->up[i], cfg, st, i, err);
    if (s == IID_OK) s = iid__norm_load(&u->norm_out, st, "conv_norm_out", cfg->block_out[0], err);
    if (s == IID_OK) s = iid__conv_load(&u->conv_out, st, "conv_out", cfg->block_out[0], cfg->out_channels, 3, 1, err);
    if (s != IID_OK) {
        iid__unet_free(u);
        return s;
    }
    *out = u;
    return IID_OK;
}

iid_status iid__unet_load_parts(iid_unet_t **out, const iid_json_t *config, iid_safetensors_t *st, iid_error_t *err)
{
    *out = NULL;
    iid_unet_config_t cfg;
    iid_safetensors_t *file = malloc(sizeof *file);
    iid_status s = file ? iid__unet_config_parse(&cfg, config, err) : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    if (s == IID_OK) s = iid__unet_load_from(out, &cfg, st, err);
    if (s != IID_OK) {
        iid__st_close(st);
        free(file);
        return s;
    }
    *file = *st; /* the index moves into the UNet; the views point into its map */
    memset(st, 0, sizeof *st);
    (*out)->file = file;
    return IID_OK;
}

iid_status iid__unet_load(iid_unet_t **out, const char *dir, iid_error_t *err)
{
    iid_json_t j;
    iid_safetensors_t st;
    *out = NULL;
    IID_TRY(iid__component_open(dir, "diffusion_pytorch_model.safetensors", &j, &st, err));
    iid_status s = iid__unet_load_parts(out, &j, &st, err);
    iid__json_free(&j);
    return s;
}

/* ---- forward --------------------------------------------------------------- */

void iid__unet_inputs_init(iid_unet_inputs_t *in) { memset(in, 0, sizeof *in); }

static iid_status check_inputs(const iid_unet_t *u, const iid_unet_inputs_t *in, const iid_tensor_t *out,
                               iid_error_t *err)
{
    const iid_unet_config_t *c = &u->trunk.cfg;
    const iid_tensor_t *x = &in->sample;
    int f = 1 << iid__unet_n_downsamples(c), B = iid__tensor_dim(x, 0), H = iid__tensor_dim(x, 2),
        W = iid__tensor_dim(x, 3), n_ids = iid__tensor_dim(&in->cond.time_ids, 1);
    int Tc = iid__tensor_dim(&in->cond.context, 1);
    if (!x->data || !in->cond.context.data || !in->cond.text_embeds.data || (!in->cond.time_ids.data && n_ids))
        return iid__fail(err, IID_ERR_INVALID, "unet: sample, context, text_embeds and time_ids are required");
    if (x->ndim != 4 || x->shape[1] != c->in_channels || B <= 0 || H <= 0 || W <= 0 || H % f || W % f)
        return iid__fail(err, IID_ERR_INVALID,
                         "unet: sample (%d, %d, %d, %d) must have %d channels and a latent of positive multiples of %d",
                         B, iid__tensor_dim(x, 1), H, W, c->in_channels, f);
    if (!out->data || iid__tensor_numel(out) != (int64_t)B * c->out_channels * H * W)
        return iid__fail(err, IID_ERR_INVALID, "unet: the output must be (%d, %d, %d, %d)", B, c->out_channels, H, W);
    if (in->ip.n_tokens > 0 && !u->has_ip)
        return iid__fail(err, IID_ERR_INVALID, "unet: %d image tokens given but no IP-Adapter weights are loaded",
                         in->ip.n_tokens);
    if (in->ip.n_tokens < 0 || in->ip.n_tokens >= Tc)
        return iid__fail(err, IID_ERR_INVALID, "unet: %d image tokens in a context of %d tokens", in->ip.n_tokens, Tc);
    return IID_OK;
}

/* The shape of a map, for messages. */
static const char *shape_of(const iid_tensor_t *t, char *buf, size_t cap)
{
    return iid__shape_str(t->shape, t->ndim, buf, cap);
}

/* skips[i] += residual i, and checks every shape. */
static iid_status add_residuals(const iid_backend_t *be, const iid_residuals_t *r, iid_tensor_t *skips, int n,
                                iid_tensor_t *mid, iid_error_t *err)
{
    if (r->n_down != n)
        return iid__fail(err, IID_ERR_INVALID, "unet: %d down residuals given, the down path has %d skips", r->n_down, n);
    for (int i = 0; i <= n; i++) {
        const iid_tensor_t *a = i < n ? &r->down[i] : &r->mid;
        const iid_tensor_t *b = i < n ? &skips[i] : mid;
        int same = a->data && a->ndim == 4;
        for (int d = 0; d < 4 && same; d++) same = a->shape[d] == b->shape[d];
        char sa[96], sb[96];
        if (!same)
            return iid__fail(err, IID_ERR_INVALID, "unet: %s residual %d is %s, expected %s", i < n ? "down" : "mid", i,
                             shape_of(a, sa, sizeof sa), shape_of(b, sb, sizeof sb));
        if (a->be ? a->be != be : !be->host_memory) /* NULL: host memory */
            return iid__fail(err, IID_ERR_INVALID, "unet: residuals live on backend '%s', the UNet runs on '%s'",
                             a->be ? a->be->name : "none", be->name);
    }
    for (int i = 0; i < n; i++) IID_TRY(iid__op_add(be, skips[i].data, r->down[i].data, iid__tensor_numel(&skips[i]), err));
    return iid__op_add(be, mid->data, r->mid.data, iid__tensor_numel(mid), err);
}

/* One up resnet: h = resnet([h | skip]); frees the old h and the skip. */
static iid_status up_resnet(const iid_backend_t *be, const iid_resnet_t *r, iid_tensor_t *h, iid_tensor_t *skip,
                            const iid_tensor_t *emb_act, iid_error_t *err)
{
    int N = iid__tensor_dim(h, 0), hc = iid__tensor_dim(h, 1), sc = iid__tensor_dim(skip, 1);
    int64_t H = h->shape[2], W = h->shape[3];
    if (skip->shape[2] != H || skip->shape[3] != W || hc + sc != r->in)
        return iid__fail(err, IID_ERR_INVALID, "unet: up resnet expects %d channels, got %d + %d skip at %dx%d vs %dx%d",
                         r->in, hc, sc, (int)H, (int)W, iid__tensor_dim(skip, 2), iid__tensor_dim(skip, 3));
    iid_tensor_t cat;
    if (iid__tensor_alloc_on(&cat, be, IID_DTYPE_F32, 4, (int64_t[]){N, r->in, H, W}, NULL) != IID_OK)
        return iid__fail(err, IID_ERR_NOMEM, "unet: up concat: out of memory");
    /* (N, h.c + skip.c, H, W): hidden first */
    iid_status s = iid__op_concat_axis1(be, cat.data, h->data, hc, skip->data, sc, N, H * W, err);
    iid__tensor_release(skip);
    iid__tensor_release(h);
    if (s == IID_OK) s = iid__resnet_forward(be, r, &cat, emb_act, h, err);
    iid__tensor_release(&cat);
    return s;
}

static iid_status up_path(const iid_unet_t *u, const iid_unet_inputs_t *in, const iid_tensor_t *emb_act,
                          iid_tensor_t *skips, int ns, iid_tensor_t *h, iid_error_t *err)
{
    const iid_unet_config_t *c = &u->trunk.cfg;
    const iid_backend_t *be = in->be ? in->be : u->trunk.be;
    for (int i = 0; i < c->n_blocks; i++) {
        const iid_up_block_t *b = &u->up[i];
        for (int l = 0; l < b->n_layers; l++) {
            IID_TRY(up_resnet(be, &b->resnets[l], h, &skips[--ns], emb_act, err));
            if (b->has_attn) IID_TRY(iid__transformer_forward(be, &b->attns[l], h, &in->cond.context, &in->ip, in->cond.kv, err));
        }
        if (b->has_up) { /* (N, C, H, W) -> nearest 2x -> conv3x3 */
            int N = iid__tensor_dim(h, 0), C = iid__tensor_dim(h, 1), H = iid__tensor_dim(h, 2),
                W = iid__tensor_dim(h, 3);
            iid_tensor_t x2;
            if (iid__tensor_alloc_on(&x2, be, IID_DTYPE_F32, 4, (int64_t[]){N, C, 2 * H, 2 * W}, NULL) != IID_OK)
                return iid__fail(err, IID_ERR_NOMEM, "unet: upsampler: out of memory");
            iid_status s = iid__op_upsample_nearest2x(be, x2.data, h->data, N, C, H, W, err);
            iid__tensor_release(h);
            if (s == IID_OK) s = iid__conv_apply(be, &b->up, &x2, h, err);
            iid__tensor_release(&x2);
            IID_TRY(s);
        }
    }
    return IID_OK;
}

iid_status iid__unet_forward(const iid_unet_t *u, const iid_unet_inputs_t *in, const iid_tensor_t *out,
                             iid_error_t *err)
{
    IID_TRY(check_inputs(u, in, out, err));
    const iid_unet_config_t *c = &u->trunk.cfg;
    const iid_backend_t *be = in->be ? in->be : u->trunk.be;
    int B = iid__tensor_dim(&in->sample, 0), ns = iid__unet_n_skips(c);
    iid_tensor_t emb_act = {0}, y = {0};
    iid_tensor_t h = {0}, skips[IID_UNET_MAX_SKIPS] = {{0}}; /* ns <= the capacity: checked at parse */
    const iid_ip_args_t *ip = in->ip.n_tokens > 0 ? &in->ip : NULL;
    iid_status s = iid__unet_trunk_embed(be, &u->trunk, B, &in->cond, &emb_act, err);
    if (s == IID_OK) s = iid__unet_trunk_down(be, &u->trunk, &in->sample, NULL, &emb_act, &in->cond, ip, skips, err);
    if (s == IID_OK) s = iid__unet_trunk_mid(be, &u->trunk, &skips[ns - 1], &emb_act, &in->cond, ip, &h, err);
    if (s == IID_OK && in->residuals) s = add_residuals(be, in->residuals, skips, ns, &h, err);
    if (s == IID_OK) s = up_path(u, in, &emb_act, skips, ns, &h, err);
    /* head: (B, C0, H, W) -> GroupNorm -> SiLU -> conv_out */
    if (s == IID_OK)
        s = iid__op_group_norm_silu(be, h.data, h.data, u->norm_out.w, u->norm_out.b, B, iid__tensor_dim(&h, 1),
                                    h.shape[2] * h.shape[3], c->groups, c->eps, err);
    if (s == IID_OK) s = iid__conv_apply(be, &u->conv_out, &h, &y, err);
    if (s == IID_OK) iid__op_copy(be, out->data, y.data, iid__tensor_nbytes(&y));
    iid__tensor_release(&y);
    iid__tensor_release(&h);
    for (int i = 0; i < ns; i++) iid__tensor_release(&skips[i]);
    iid__tensor_release(&emb_act);
    return s;
}
