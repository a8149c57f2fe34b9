/*
 * sgm_names.c - SGM single-file names -> diffusers names (see sgm_names.h).
 *
 * The UNet and VAE are mapped by prefix rules: a rule renames a block prefix
 * ("input_blocks.4.1" -> "down_blocks.1.attentions.0") and optionally the first
 * component of what follows it (resnet parameter names). The rules are generated
 * from the keys the checkpoint holds, so any number of blocks and layers maps.
 * The text encoders are mapped entry by entry.
 */
#include "formats/sgm_names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/st_index.h"

#define MAX_RULES 512
#define NAME_CAP 512

typedef struct sub {
    const char *from, *to;
} sub_t;

static const sub_t UNET_RESNET[] = {{"in_layers.0", "norm1"},      {"in_layers.2", "conv1"},
                                    {"emb_layers.1", "time_emb_proj"}, {"out_layers.0", "norm2"},
                                    {"out_layers.3", "conv2"},     {"skip_connection", "conv_shortcut"},
                                    {NULL, NULL}};
static const sub_t VAE_RESNET[] = {{"nin_shortcut", "conv_shortcut"}, {NULL, NULL}};
static const sub_t VAE_ATTN[] = {{"norm", "group_norm"}, {"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"},
                                 {"proj_out", "to_out.0"}, {NULL, NULL}};

typedef struct rule {
    char from[96], to[96];
    const sub_t *subs;
    int conv_as_linear; /* view (C, C, 1, 1) weights as (C, C) */
} rule_t;

typedef struct rules {
    rule_t r[MAX_RULES];
    int n;
} rules_t;

const char *iid__sgm_prefix(iid_sgm_part_t part)
{
    switch (part) {
    case IID_SGM_UNET: return "model.diffusion_model.";
    case IID_SGM_VAE: return "first_stage_model.";
    case IID_SGM_TE1: return "conditioner.embedders.0.transformer.";
    case IID_SGM_TE2: return "conditioner.embedders.1.model.";
    }
    return "";
}

/* Appends a rule; past MAX_RULES the list stays full and the caller reports it. */
static void add_rule(rules_t *rs, const sub_t *subs, int conv_as_linear, const char *from, const char *to_fmt, ...)
{
    if (rs->n == MAX_RULES) return;
    rule_t *r = &rs->r[rs->n++];
    snprintf(r->from, sizeof r->from, "%s", from);
    va_list ap;
    va_start(ap, to_fmt);
    vsnprintf(r->to, sizeof r->to, to_fmt, ap);
    va_end(ap);
    r->subs = subs;
    r->conv_as_linear = conv_as_linear;
}

/* Rules that do not depend on the block structure. */
typedef struct fixed_rule {
    const char *from, *to;
    const sub_t *subs;
    int conv_as_linear;
} fixed_rule_t;

/* The UNet's blocks outside input_blocks / output_blocks. */
static const fixed_rule_t UNET_FIXED[] = {
    {"time_embed.0", "time_embedding.linear_1", NULL, 0},  {"time_embed.2", "time_embedding.linear_2", NULL, 0},
    {"label_emb.0.0", "add_embedding.linear_1", NULL, 0},  {"label_emb.0.2", "add_embedding.linear_2", NULL, 0},
    {"input_blocks.0.0", "conv_in", NULL, 0},              {"out.0", "conv_norm_out", NULL, 0},
    {"out.2", "conv_out", NULL, 0},                        {"middle_block.0", "mid_block.resnets.0", UNET_RESNET, 0},
    {"middle_block.1", "mid_block.attentions.0", NULL, 0}, {"middle_block.2", "mid_block.resnets.1", UNET_RESNET, 0},
    {NULL, NULL, NULL, 0}};

static void add_fixed(rules_t *rs, const fixed_rule_t *f)
{
    for (; f->from; f++) add_rule(rs, f->subs, f->conv_as_linear, f->from, "%s", f->to);
}

/* Whether src holds <part prefix><fmt...>. */
static int has(const iid_safetensors_t *src, const char *prefix, const char *fmt, ...)
{
    char name[NAME_CAP];
    int n = snprintf(name, sizeof name, "%s", prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name + n, sizeof name - (size_t)n, fmt, ap);
    va_end(ap);
    return iid__st_find(src, name) != NULL;
}

/* The largest N of "<prefix><group>.N." keys, or -1. */
static int max_index(const iid_safetensors_t *src, const char *prefix, const char *group)
{
    size_t lp = strlen(prefix), lg = strlen(group);
    int best = -1;
    for (int i = 0; i < src->count; i++) {
        const char *nm = src->tensors[i].name;
        if (strncmp(nm, prefix, lp) || strncmp(nm + lp, group, lg) || nm[lp + lg] != '.') continue;
        char *end;
        long v = strtol(nm + lp + lg + 1, &end, 10);
        if (end != nm + lp + lg + 1 && *end == '.' && v >= 0 && v < 10000 && v > best) best = (int)v;
    }
    return best;
}

static iid_status unet_rules(rules_t *rs, const iid_safetensors_t *src, const char *p, iid_error_t *err)
{
    const char *path = src->path;
    char from[96];
    add_fixed(rs, UNET_FIXED);
    int block = 0, layer = 0, last = max_index(src, p, "input_blocks");
    for (int k = 1; k <= last; k++) {
        if (has(src, p, "input_blocks.%d.0.in_layers.0.weight", k)) {
            snprintf(from, sizeof from, "input_blocks.%d.0", k);
            add_rule(rs, UNET_RESNET, 0, from, "down_blocks.%d.resnets.%d", block, layer);
            snprintf(from, sizeof from, "input_blocks.%d.1", k);
            add_rule(rs, NULL, 0, from, "down_blocks.%d.attentions.%d", block, layer);
            layer++;
        } else if (has(src, p, "input_blocks.%d.0.op.weight", k)) {
            snprintf(from, sizeof from, "input_blocks.%d.0.op", k);
            add_rule(rs, NULL, 0, from, "down_blocks.%d.downsamplers.0.conv", block);
            block++, layer = 0;
        } else
            return iid__fail(err, IID_ERR_FORMAT, "%s: %sinput_blocks.%d holds neither a resnet nor a downsampler",
                             path, p, k);
    }
    block = layer = 0;
    last = max_index(src, p, "output_blocks");
    for (int k = 0; k <= last; k++) {
        if (!has(src, p, "output_blocks.%d.0.in_layers.0.weight", k))
            return iid__fail(err, IID_ERR_FORMAT, "%s: %soutput_blocks.%d holds no resnet", path, p, k);
        snprintf(from, sizeof from, "output_blocks.%d.0", k);
        add_rule(rs, UNET_RESNET, 0, from, "up_blocks.%d.resnets.%d", block, layer);
        int attn = has(src, p, "output_blocks.%d.1.norm.weight", k);
        if (attn) {
            snprintf(from, sizeof from, "output_blocks.%d.1", k);
            add_rule(rs, NULL, 0, from, "up_blocks.%d.attentions.%d", block, layer);
        }
        layer++;
        if (has(src, p, "output_blocks.%d.%d.conv.weight", k, 1 + attn)) {
            snprintf(from, sizeof from, "output_blocks.%d.%d.conv", k, 1 + attn);
            add_rule(rs, NULL, 0, from, "up_blocks.%d.upsamplers.0.conv", block);
            block++, layer = 0;
        }
    }
    if (rs->n == MAX_RULES) return iid__fail(err, IID_ERR_RANGE, "%s: too many UNet blocks", path);
    return IID_OK;
}

static iid_status vae_rules(rules_t *rs, const iid_safetensors_t *src, const char *p, iid_error_t *err)
{
    char from[96];
    static const fixed_rule_t fixed[] = {
        {"post_quant_conv", "post_quant_conv", NULL, 0},
        {"decoder.conv_in", "decoder.conv_in", NULL, 0},
        {"decoder.mid.block_1", "decoder.mid_block.resnets.0", VAE_RESNET, 0},
        {"decoder.mid.block_2", "decoder.mid_block.resnets.1", VAE_RESNET, 0},
        {"decoder.mid.attn_1", "decoder.mid_block.attentions.0", VAE_ATTN, 1},
        {"decoder.norm_out", "decoder.conv_norm_out", NULL, 0},
        {"decoder.conv_out", "decoder.conv_out", NULL, 0},
        {NULL, NULL, NULL, 0}};
    add_fixed(rs, fixed);
    int n = max_index(src, p, "decoder.up") + 1;
    for (int i = 0; i < n; i++) {
        int b = n - 1 - i; /* SGM counts from the full-resolution end */
        int nl = max_index(src, p, (snprintf(from, sizeof from, "decoder.up.%d.block", i), from)) + 1;
        for (int l = 0; l < nl; l++) {
            snprintf(from, sizeof from, "decoder.up.%d.block.%d", i, l);
            add_rule(rs, VAE_RESNET, 0, from, "decoder.up_blocks.%d.resnets.%d", b, l);
        }
        snprintf(from, sizeof from, "decoder.up.%d.upsample.conv", i);
        add_rule(rs, NULL, 0, from, "decoder.up_blocks.%d.upsamplers.0.conv", b);
    }
    if (rs->n == MAX_RULES) return iid__fail(err, IID_ERR_RANGE, "%s: too many VAE blocks", src->path);
    return IID_OK;
}

/* The rename in subs whose `from` starts tail (followed by '.'): its `to`, with
 * *skip the length to drop from tail; NULL when none. */
static const char *sub_of(const sub_t *subs, const char *tail, size_t *skip)
{
    for (const sub_t *s = subs; s && s->from; s++) {
        size_t l = strlen(s->from);
        if (strncmp(tail, s->from, l) == 0 && tail[l] == '.') {
            *skip = l + 1;
            return s->to;
        }
    }
    return NULL;
}

/* The rule whose `from` prefixes rest (followed by '.'), or NULL. */
static const rule_t *match(const rules_t *rs, const char *rest)
{
    const rule_t *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < rs->n; i++) {
        size_t l = strlen(rs->r[i].from);
        if (l > best_len && strncmp(rest, rs->r[i].from, l) == 0 && rest[l] == '.') best = &rs->r[i], best_len = l;
    }
    return best;
}

static iid_status map_by_rules(iid_safetensors_t *dst, const iid_safetensors_t *src, const rules_t *rs,
                               const char *p, int skip_encoder, iid_error_t *err)
{
    size_t lp = strlen(p);
    for (int i = 0; i < src->count; i++) {
        const iid_st_tensor_t *t = &src->tensors[i];
        if (strncmp(t->name, p, lp) != 0) continue;
        const char *rest = t->name + lp;
        if (skip_encoder && (strncmp(rest, "encoder.", 8) == 0 || strncmp(rest, "quant_conv.", 11) == 0)) continue;
        const rule_t *r = match(rs, rest);
        if (!r)
            return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' is not part of an SDXL checkpoint this program knows",
                             src->path, t->name);
        const char *tail = rest + strlen(r->from) + 1;
        size_t skip = 0;
        const char *sub_to = sub_of(r->subs, tail, &skip);
        tail += skip;
        char name[NAME_CAP];
        if (sub_to) snprintf(name, sizeof name, "%s.%s.%s", r->to, sub_to, tail);
        else snprintf(name, sizeof name, "%s.%s", r->to, tail);
        int ndim = t->ndim;
        if (r->conv_as_linear && ndim == 4 && t->shape[2] == 1 && t->shape[3] == 1) ndim = 2;
        IID_TRY(iid__st_append(dst, name, t->dtype, ndim, t->shape, t->data, err));
    }
    return IID_OK;
}

static iid_status te1_map(iid_safetensors_t *dst, const iid_safetensors_t *src, const char *p, iid_error_t *err)
{
    size_t lp = strlen(p);
    for (int i = 0; i < src->count; i++) {
        const iid_st_tensor_t *t = &src->tensors[i];
        if (strncmp(t->name, p, lp) != 0 || strcmp(t->name + lp, "text_model.embeddings.position_ids") == 0) continue;
        IID_TRY(iid__st_append(dst, t->name + lp, t->dtype, t->ndim, t->shape, t->data, err));
    }
    return IID_OK;
}

/* (C, P) -> an owned (P, C) copy named "text_projection.weight". */
static iid_status te2_projection(iid_safetensors_t *dst, const iid_st_tensor_t *t, const char *path, iid_error_t *err)
{
    if (t->ndim != 2)
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' must be 2-D (width, projection)", path, t->name);
    int64_t C = t->shape[0], P = t->shape[1];
    size_t es = iid__dtype_size(t->dtype);
    unsigned char *buf = malloc((size_t)(C * P) * es + 1);
    if (!buf) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    const unsigned char *s = t->data;
    for (int64_t c = 0; c < C; c++)
        for (int64_t q = 0; q < P; q++) memcpy(buf + ((size_t)(q * C + c)) * es, s + ((size_t)(c * P + q)) * es, es);
    IID_TRY(iid__st_adopt(dst, buf, err));
    return iid__st_append(dst, "text_projection.weight", t->dtype, 2, (int64_t[]){P, C}, buf, err);
}

/* attn.in_proj_weight (3C, C) / in_proj_bias (3C): three row slices. */
static iid_status te2_in_proj(iid_safetensors_t *dst, const iid_st_tensor_t *t, int layer, const char *kind,
                              const char *path, iid_error_t *err)
{
    if (t->ndim < 1 || t->shape[0] % 3 != 0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' does not stack Q, K and V", path, t->name);
    int64_t shape[IID_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] /= 3;
    size_t part = t->nbytes / 3;
    const char *qkv[] = {"q_proj", "k_proj", "v_proj"};
    for (int k = 0; k < 3; k++) {
        char name[NAME_CAP];
        snprintf(name, sizeof name, "text_model.encoder.layers.%d.self_attn.%s.%s", layer, qkv[k], kind);
        IID_TRY(iid__st_append(dst, name, t->dtype, t->ndim, shape, (const unsigned char *)t->data + k * part, err));
    }
    return IID_OK;
}

static const sub_t TE2_LAYER[] = {{"ln_1", "layer_norm1"},        {"ln_2", "layer_norm2"},
                                  {"attn.out_proj", "self_attn.out_proj"}, {"mlp.c_fc", "mlp.fc1"},
                                  {"mlp.c_proj", "mlp.fc2"},      {NULL, NULL}};

static iid_status te2_map(iid_safetensors_t *dst, const iid_safetensors_t *src, const char *p, iid_error_t *err)
{
    size_t lp = strlen(p);
    for (int i = 0; i < src->count; i++) {
        const iid_st_tensor_t *t = &src->tensors[i];
        if (strncmp(t->name, p, lp) != 0) continue;
        const char *r = t->name + lp, *to = NULL;
        char name[NAME_CAP];
        int layer, off = 0;
        if (strcmp(r, "text_projection") == 0) {
            IID_TRY(te2_projection(dst, t, src->path, err));
            continue;
        }
        if (strcmp(r, "logit_scale") == 0) continue; /* CLIP's contrastive temperature, unused */
        if (strcmp(r, "text_projection.weight") == 0) to = "text_projection.weight"; /* some savers: (P, C) already */
        else if (strcmp(r, "token_embedding.weight") == 0) to = "text_model.embeddings.token_embedding.weight";
        else if (strcmp(r, "positional_embedding") == 0) to = "text_model.embeddings.position_embedding.weight";
        else if (strcmp(r, "ln_final.weight") == 0) to = "text_model.final_layer_norm.weight";
        else if (strcmp(r, "ln_final.bias") == 0) to = "text_model.final_layer_norm.bias";
        else if (sscanf(r, "transformer.resblocks.%d.%n", &layer, &off) == 1 && off > 0) {
            const char *tail = r + off;
            if (strcmp(tail, "attn.in_proj_weight") == 0) {
                IID_TRY(te2_in_proj(dst, t, layer, "weight", src->path, err));
                continue;
            }
            if (strcmp(tail, "attn.in_proj_bias") == 0) {
                IID_TRY(te2_in_proj(dst, t, layer, "bias", src->path, err));
                continue;
            }
            size_t skip = 0;
            const char *sub_to = sub_of(TE2_LAYER, tail, &skip);
            if (sub_to) {
                snprintf(name, sizeof name, "text_model.encoder.layers.%d.%s.%s", layer, sub_to, tail + skip);
                to = name;
            }
        }
        if (!to)
            return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' is not part of an OpenCLIP text encoder", src->path,
                             t->name);
        IID_TRY(iid__st_append(dst, to, t->dtype, t->ndim, t->shape, t->data, err));
    }
    return IID_OK;
}

iid_status iid__sgm_map(iid_safetensors_t *dst, const iid_safetensors_t *src, iid_sgm_part_t part, iid_error_t *err)
{
    memset(dst, 0, sizeof *dst);
    const char *p = iid__sgm_prefix(part);
    rules_t *rs = NULL;
    iid_status s = iid__st_set_path(dst, src->path, err);
    if (s == IID_OK && (part == IID_SGM_UNET || part == IID_SGM_VAE)) {
        rs = calloc(1, sizeof *rs);
        if (!rs) s = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", src->path);
        else if (part == IID_SGM_UNET) s = unet_rules(rs, src, p, err);
        else s = vae_rules(rs, src, p, err);
        if (s == IID_OK) s = map_by_rules(dst, src, rs, p, part == IID_SGM_VAE, err);
    } else if (s == IID_OK)
        s = part == IID_SGM_TE1 ? te1_map(dst, src, p, err) : te2_map(dst, src, p, err);
    free(rs);
    if (s == IID_OK && dst->count == 0)
        s = iid__fail(err, IID_ERR_NOT_FOUND, "%s: no '%s*' tensors (not an SDXL checkpoint)", src->path, p);
    if (s == IID_OK) s = iid__st_sort_names(dst, src->path, err);
    if (s != IID_OK) iid__st_close(dst);
    return s;
}

iid_status iid__sgm_open(iid_safetensors_t *dst, const char *path, iid_sgm_part_t part, iid_error_t *err)
{
    memset(dst, 0, sizeof *dst);
    iid_safetensors_t src;
    IID_TRY(iid__st_open(&src, path, err));
    iid_status s = iid__sgm_map(dst, &src, part, err);
    if (s == IID_OK) iid__st_take_map(dst, &src);
    iid__st_close(&src);
    return s;
}

/* ---- diffusers UNet names -> SGM ------------------------------------------------ */

typedef struct unet_shape {
    int n_down, n_up;
    int down_start[64], up_start[64]; /* first input_blocks / output_blocks index of each block */
    int up_layers[64], up_attn[64];
} unet_shape_t;

static int count_prefix(const iid_safetensors_t *st, const char *fmt, int a)
{
    char name[128];
    int n = 0;
    for (;; n++) {
        snprintf(name, sizeof name, fmt, a, n);
        size_t l = strlen(name);
        int found = 0;
        for (int i = 0; i < st->count && !found; i++) found = strncmp(st->tensors[i].name, name, l) == 0;
        if (!found) return n;
    }
}

static void unet_shape(const iid_safetensors_t *st, unet_shape_t *u)
{
    memset(u, 0, sizeof *u);
    int k = 1;
    for (int b = 0; b < 64 && count_prefix(st, "down_blocks.%d.resnets.%d.", b) > 0; b++) {
        u->down_start[b] = k;
        k += count_prefix(st, "down_blocks.%d.resnets.%d.", b) + (count_prefix(st, "down_blocks.%d.downsamplers.%d.", b) > 0);
        u->n_down = b + 1;
    }
    k = 0;
    for (int b = 0; b < 64 && count_prefix(st, "up_blocks.%d.resnets.%d.", b) > 0; b++) {
        u->up_start[b] = k;
        u->up_layers[b] = count_prefix(st, "up_blocks.%d.resnets.%d.", b);
        u->up_attn[b] = count_prefix(st, "up_blocks.%d.attentions.%d.", b) > 0;
        k += u->up_layers[b];
        u->n_up = b + 1;
    }
}

/* "<head>.<resnet part renamed>..." for a diffusers resnet tail. */
static void resnet_alias(char *out, size_t cap, const char *head, const char *tail)
{
    for (const sub_t *s = UNET_RESNET; s->from; s++) {
        size_t l = strlen(s->to);
        if (strncmp(tail, s->to, l) == 0 && tail[l] == '.') {
            snprintf(out, cap, "%s.%s%s", head, s->from, tail + l);
            return;
        }
    }
    snprintf(out, cap, "%s.%s", head, tail);
}

/* The SGM name of one diffusers UNet name into out; 0 when it has none. */
static int unet_alias(const char *d, const unet_shape_t *u, char *out, size_t cap)
{
    for (const fixed_rule_t *f = UNET_FIXED; f->from; f++) {
        size_t l = strlen(f->to);
        if (f->subs) continue; /* the mid resnets, below */
        if (strncmp(d, f->to, l) == 0 && d[l] == '.') {
            snprintf(out, cap, "%s%s", f->from, d + l);
            return 1;
        }
    }
    int b, j, n = 0;
    char head[64];
    if (sscanf(d, "mid_block.resnets.%d.%n", &j, &n) == 1 && n) {
        snprintf(head, sizeof head, "middle_block.%d", 2 * j);
        resnet_alias(out, cap, head, d + n);
    } else if (sscanf(d, "down_blocks.%d.resnets.%d.%n", &b, &j, &n) == 2 && n && b < u->n_down) {
        snprintf(head, sizeof head, "input_blocks.%d.0", u->down_start[b] + j);
        resnet_alias(out, cap, head, d + n);
    } else if (sscanf(d, "down_blocks.%d.attentions.%d.%n", &b, &j, &n) == 2 && n && b < u->n_down)
        snprintf(out, cap, "input_blocks.%d.1.%s", u->down_start[b] + j, d + n);
    else if (sscanf(d, "down_blocks.%d.downsamplers.0.conv.%n", &b, &n) == 1 && n && b + 1 < u->n_down)
        snprintf(out, cap, "input_blocks.%d.0.op.%s", u->down_start[b + 1] - 1, d + n);
    else if (sscanf(d, "up_blocks.%d.resnets.%d.%n", &b, &j, &n) == 2 && n && b < u->n_up) {
        snprintf(head, sizeof head, "output_blocks.%d.0", u->up_start[b] + j);
        resnet_alias(out, cap, head, d + n);
    } else if (sscanf(d, "up_blocks.%d.attentions.%d.%n", &b, &j, &n) == 2 && n && b < u->n_up)
        snprintf(out, cap, "output_blocks.%d.1.%s", u->up_start[b] + j, d + n);
    else if (sscanf(d, "up_blocks.%d.upsamplers.0.conv.%n", &b, &n) == 1 && n && b < u->n_up)
        snprintf(out, cap, "output_blocks.%d.%d.conv.%s", u->up_start[b] + u->up_layers[b] - 1, 1 + u->up_attn[b], d + n);
    else
        return 0;
    return 1;
}

iid_status iid__sgm_unet_aliases(const iid_safetensors_t *unet, char ***out, iid_error_t *err)
{
    *out = calloc((size_t)(unet->count ? unet->count : 1), sizeof **out);
    unet_shape_t *u = malloc(sizeof *u);
    if (!*out || !u) {
        free(*out), free(u);
        *out = NULL;
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", unet->path);
    }
    unet_shape(unet, u);
    for (int i = 0; i < unet->count; i++) {
        char name[NAME_CAP];
        if (!unet_alias(unet->tensors[i].name, u, name, sizeof name)) continue;
        if (!((*out)[i] = strdup(name))) {
            iid__sgm_aliases_free(*out, unet->count);
            free(u);
            *out = NULL;
            return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", unet->path);
        }
    }
    free(u);
    return IID_OK;
}

void iid__sgm_aliases_free(char **aliases, int n)
{
    for (int i = 0; aliases && i < n; i++) free(aliases[i]);
    free(aliases);
}
