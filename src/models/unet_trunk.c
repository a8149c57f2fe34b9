/*
 * unet_trunk.c - config parsing, embeddings, conv_in, down path and mid block
 * shared by the SDXL UNet and the ControlNet (see unet_trunk.h).
 *
 * Config rules follow diffusers 0.25: num_attention_heads defaults to
 * attention_head_dim (SDXL configs hold head counts there); int-or-list fields
 * are broadcast to every block; up blocks take the lists reversed; the mid
 * block takes the last entry. The time embedding width is 4 * block_out[0]
 * (or time_embedding_dim when set).
 */
#include "models/unet_trunk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

/* ---- config -------------------------------------------------------------- */

/* A list of block type names; *n receives the count. */
static iid_status block_types(const iid_json_t *j, const char *key, const char *want_plain, const char *want_attn,
                              int *is_attn, int *n, iid_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, key);
    *n = 0;
    if (!v) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: field '%s' is missing", j->path, key);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > IID_UNET_MAX_BLOCKS)
        return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' must be a list of 1 to %d block types", j->path, key,
                         IID_UNET_MAX_BLOCKS);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e))
            return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' must hold strings", j->path, key);
        if (strcmp(e->valuestring, want_plain) == 0) is_attn[*n] = 0;
        else if (strcmp(e->valuestring, want_attn) == 0) is_attn[*n] = 1;
        else
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s': block type '%s' is not supported (%s or %s)",
                             j->path, key, e->valuestring, want_plain, want_attn);
        (*n)++;
    }
    return IID_OK;
}

/* A list field must have one entry per down block, as diffusers' _check_config
 * demands; a plain number is broadcast. An absent or null field passes. */
static iid_status check_list_len(const iid_json_t *j, const char *key, int n, iid_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, key);
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) != n)
        return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' lists %d values for %d down blocks", j->path, key,
                         cJSON_GetArraySize(v), n);
    return IID_OK;
}

/* An int-or-list field broadcast to n blocks, each in [lo, hi]. */
static iid_status per_block(const iid_json_t *j, const char *key, int n, int lo, int hi, int *out, iid_error_t *err)
{
    long long v[IID_UNET_MAX_BLOCKS];
    int got = 0;
    IID_TRY(check_list_len(j, key, n, err));
    IID_TRY(iid__json_int_array(j, key, v, IID_UNET_MAX_BLOCKS, &got, 1, err));
    if (got != 1 && got != n)
        return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' has %d entries, expected 1 or %d", j->path, key, got, n);
    for (int i = 0; i < n; i++) {
        long long x = v[got == 1 ? 0 : i];
        if (x < lo || x > hi)
            return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' entry %lld is outside [%d, %d]", j->path, key, x, lo, hi);
        out[i] = (int)x;
    }
    return IID_OK;
}

static iid_status int_field(const iid_json_t *j, const char *key, int lo, int hi, int *out, iid_error_t *err)
{
    long long v;
    IID_TRY(iid__json_int(j, key, &v, err));
    if (v < lo || v > hi)
        return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' = %lld is outside [%d, %d]", j->path, key, v, lo, hi);
    *out = (int)v;
    return IID_OK;
}

static iid_status expect_string(const iid_json_t *j, const char *key, const char *want, iid_error_t *err)
{
    const char *v = NULL;
    IID_TRY(iid__json_string_opt(j, key, &v, err));
    if (v && strcmp(v, want) != 0)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s' is '%s', only '%s' is supported", j->path, key, v,
                         want);
    return IID_OK;
}

/* Fields whose non-default values change the maths in ways not implemented: each
 * must be absent, null, or equal its default (a JSON false / number / string). */
static iid_status expect_defaults(const iid_json_t *j, iid_error_t *err)
{
    static const char *const must_be_null[] = {"class_embed_type", "time_cond_proj_dim", "encoder_hid_dim_type",
                                               "time_embedding_act_fn", "timestep_post_act", "num_class_embeds",
                                               "encoder_hid_dim"};
    static const char *const must_be_false[] = {"center_input_sample", "dual_cross_attention", "only_cross_attention",
                                                "resnet_skip_time_act", "class_embeddings_concat",
                                                "mid_block_only_cross_attention"};
    static const struct { const char *key; double value; } numbers[] = {
        {"conv_in_kernel", 3}, {"conv_out_kernel", 3}, {"mid_block_scale_factor", 1},
        {"resnet_out_scale_factor", 1}, {"downsample_padding", 1}};
    for (size_t i = 0; i < sizeof must_be_null / sizeof must_be_null[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, must_be_null[i]);
        if (v && !cJSON_IsNull(v))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s' must be null (not supported)", j->path,
                             must_be_null[i]);
    }
    for (size_t i = 0; i < sizeof must_be_false / sizeof must_be_false[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, must_be_false[i]);
        if (v && !cJSON_IsNull(v) && !cJSON_IsFalse(v))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s' must be false (not supported)", j->path,
                             must_be_false[i]);
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, numbers[i].key);
        if (v && !cJSON_IsNull(v) && (!cJSON_IsNumber(v) || v->valuedouble != numbers[i].value))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s' must be %g (not supported)", j->path,
                             numbers[i].key, numbers[i].value);
    }
    return IID_OK;
}

iid_status iid__unet_config_parse(iid_unet_config_t *c, const iid_json_t *j, iid_error_t *err)
{
    memset(c, 0, sizeof *c);
    const int big = 1 << 16;
    IID_TRY(int_field(j, "in_channels", 1, big, &c->in_channels, err));
    long long oc = 0;
    IID_TRY(iid__json_int_opt(j, "out_channels", &oc, err));
    c->out_channels = (int)(oc > 0 && oc < big ? oc : 0);
    IID_TRY(block_types(j, "down_block_types", "DownBlock2D", "CrossAttnDownBlock2D", c->down_attn, &c->n_blocks, err));
    int n = c->n_blocks;
    IID_TRY(per_block(j, "block_out_channels", n, 1, big, c->block_out, err));
    IID_TRY(per_block(j, "layers_per_block", n, 1, 64, c->layers, err));
    IID_TRY(per_block(j, "transformer_layers_per_block", n, 1, 64, c->tlayers, err));
    const char *heads_key = "num_attention_heads";
    const cJSON *nh = cJSON_GetObjectItemCaseSensitive(j->root, heads_key);
    if (!nh || cJSON_IsNull(nh)) heads_key = "attention_head_dim";
    IID_TRY(check_list_len(j, "attention_head_dim", n, err)); /* checked even when unused, as diffusers does */
    IID_TRY(per_block(j, heads_key, n, 1, big, c->heads, err));
    IID_TRY(int_field(j, "cross_attention_dim", 1, big, &c->cross_dim, err));
    IID_TRY(int_field(j, "norm_num_groups", 1, big, &c->groups, err));
    double eps = 1e-5;
    IID_TRY(iid__json_double(j, "norm_eps", &eps, err));
    c->eps = (float)eps;
    IID_TRY(int_field(j, "addition_time_embed_dim", 2, big, &c->add_time_dim, err));
    IID_TRY(int_field(j, "projection_class_embeddings_input_dim", 1, 1 << 20, &c->add_in_dim, err));
    c->flip_sin_to_cos = 1;
    IID_TRY(iid__json_bool_opt(j, "flip_sin_to_cos", &c->flip_sin_to_cos, err));
    double shift = 0.0;
    IID_TRY(iid__json_double_opt(j, "freq_shift", &shift, err));
    c->freq_shift = (float)shift;
    c->linear_proj = 0;
    IID_TRY(iid__json_bool_opt(j, "use_linear_projection", &c->linear_proj, err));
    long long ted = 0;
    IID_TRY(iid__json_int_opt(j, "time_embedding_dim", &ted, err));
    c->temb_dim = ted > 0 && ted < big ? (int)ted : 4 * c->block_out[0];
    IID_TRY(expect_string(j, "act_fn", "silu", err));
    IID_TRY(expect_string(j, "addition_embed_type", "text_time", err));
    IID_TRY(expect_string(j, "time_embedding_type", "positional", err));
    IID_TRY(expect_string(j, "resnet_time_scale_shift", "default", err));
    IID_TRY(expect_string(j, "mid_block_type", "UNetMidBlock2DCrossAttn", err));
    IID_TRY(expect_defaults(j, err));
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(j->root, "up_block_types");
    if (up && !cJSON_IsNull(up)) {
        int nu = 0;
        IID_TRY(block_types(j, "up_block_types", "UpBlock2D", "CrossAttnUpBlock2D", c->up_attn, &nu, err));
        if (nu != n)
            return iid__fail(err, IID_ERR_FORMAT, "%s: up_block_types has %d entries, down_block_types %d", j->path, nu, n);
        c->has_up = 1;
        const cJSON *rev = cJSON_GetObjectItemCaseSensitive(j->root, "reverse_transformer_layers_per_block");
        if (rev && !cJSON_IsNull(rev))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field 'reverse_transformer_layers_per_block' is not supported",
                             j->path);
        for (int i = 0; i < n; i++) c->up_tlayers[i] = c->tlayers[n - 1 - i];
        if (c->out_channels <= 0)
            return iid__fail(err, IID_ERR_NOT_FOUND, "%s: field 'out_channels' is missing", j->path);
    }
    if (iid__unet_n_skips(c) > IID_UNET_MAX_SKIPS)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: layers_per_block make %d skip connections, at most %d supported",
                         j->path, iid__unet_n_skips(c), IID_UNET_MAX_SKIPS);
    return IID_OK;
}

iid_status iid__unet_config_load(iid_unet_config_t *cfg, const char *path, iid_error_t *err)
{
    iid_json_t j;
    IID_TRY(iid__json_load(&j, path, err));
    iid_status s = iid__unet_config_parse(cfg, &j, err);
    iid__json_free(&j);
    return s;
}

int iid__unet_n_skips(const iid_unet_config_t *cfg)
{
    int n = 1;
    for (int i = 0; i < cfg->n_blocks; i++) n += cfg->layers[i] + (i < cfg->n_blocks - 1);
    return n;
}

int iid__unet_n_downsamples(const iid_unet_config_t *cfg) { return cfg->n_blocks - 1; }

/* ---- loading --------------------------------------------------------------- */

static iid_status load_down_block(iid_down_block_t *d, const iid_unet_config_t *c, const iid_safetensors_t *st, int i,
                                  iid_error_t *err)
{
    char name[256];
    int out = c->block_out[i], in = i == 0 ? c->block_out[0] : c->block_out[i - 1];
    d->has_attn = c->down_attn[i];
    d->has_down = i < c->n_blocks - 1;
    d->resnets = calloc((size_t)c->layers[i], sizeof *d->resnets);
    d->attns = d->has_attn ? calloc((size_t)c->layers[i], sizeof *d->attns) : NULL;
    if (!d->resnets || (d->has_attn && !d->attns)) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    for (int l = 0; l < c->layers[i]; l++) {
        d->n_layers = l + 1;
        iid__namef(name, sizeof name, "down_blocks.%d.resnets.%d", i, l);
        IID_TRY(iid__resnet_load(&d->resnets[l], st, name, l == 0 ? in : out, out, c->temb_dim, c->groups, c->eps, err));
        if (d->has_attn) {
            iid__namef(name, sizeof name, "down_blocks.%d.attentions.%d", i, l);
            IID_TRY(iid__transformer_load(&d->attns[l], st, name, out, c->tlayers[i], c->heads[i], c->cross_dim,
                                          c->groups, c->linear_proj, err));
        }
    }
    if (d->has_down) {
        iid__namef(name, sizeof name, "down_blocks.%d.downsamplers.0.conv", i);
        IID_TRY(iid__conv_load(&d->down, st, name, out, out, 3, 2, err));
    }
    return IID_OK;
}

static void free_down_block(iid_down_block_t *d)
{
    for (int l = 0; l < d->n_layers; l++) {
        iid__resnet_free(&d->resnets[l]);
        if (d->attns) iid__transformer_free(&d->attns[l]);
    }
    free(d->resnets);
    free(d->attns);
    iid__conv_free(&d->down);
    memset(d, 0, sizeof *d);
}

static iid_status trunk_bind(iid_unet_trunk_t *t, const iid_safetensors_t *st, iid_error_t *err)
{
    const iid_unet_config_t *c = &t->cfg;
    int last = c->n_blocks - 1, C = c->block_out[last];
    IID_TRY(iid__linear_load(&t->time_1, st, "time_embedding.linear_1", c->block_out[0], c->temb_dim, 1, err));
    IID_TRY(iid__linear_load(&t->time_2, st, "time_embedding.linear_2", c->temb_dim, c->temb_dim, 1, err));
    IID_TRY(iid__linear_load(&t->add_1, st, "add_embedding.linear_1", c->add_in_dim, c->temb_dim, 1, err));
    IID_TRY(iid__linear_load(&t->add_2, st, "add_embedding.linear_2", c->temb_dim, c->temb_dim, 1, err));
    IID_TRY(iid__conv_load(&t->conv_in, st, "conv_in", c->in_channels, c->block_out[0], 3, 1, err));
    for (int i = 0; i < c->n_blocks; i++) IID_TRY(load_down_block(&t->down[i], c, st, i, err));
    for (int r = 0; r < 2; r++) {
        char name[64];
        iid__namef(name, sizeof name, "mid_block.resnets.%d", r);
        IID_TRY(iid__resnet_load(&t->mid_res[r], st, name, C, C, c->temb_dim, c->groups, c->eps, err));
    }
    return iid__transformer_load(&t->mid_attn, st, "mid_block.attentions.0", C, c->tlayers[last], c->heads[last],
                                 c->cross_dim, c->groups, c->linear_proj, err);
}

iid_status iid__unet_trunk_load(iid_unet_trunk_t *t, const iid_unet_config_t *cfg, const iid_safetensors_t *st,
                                iid_error_t *err)
{
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->be = iid__backend_default();
    iid_status s = trunk_bind(t, st, err);
    if (s != IID_OK) iid__unet_trunk_free(t);
    return s;
}

void iid__unet_trunk_free(iid_unet_trunk_t *t)
{
    if (!t) return;
    iid__linear_free(&t->time_1);
    iid__linear_free(&t->time_2);
    iid__linear_free(&t->add_1);
    iid__linear_free(&t->add_2);
    iid__conv_free(&t->conv_in);
    for (int i = 0; i < IID_UNET_MAX_BLOCKS; i++) free_down_block(&t->down[i]);
    iid__resnet_free(&t->mid_res[0]);
    iid__resnet_free(&t->mid_res[1]);
    iid__transformer_free(&t->mid_attn);
}

/* ---- forward --------------------------------------------------------------- */

iid_status iid__unet_trunk_embed(const iid_backend_t *be, const iid_unet_trunk_t *t, int B, const iid_unet_cond_t *c,
                                 iid_tensor_t *emb_act, iid_error_t *err)
{
    const iid_unet_config_t *k = &t->cfg;
    memset(emb_act, 0, sizeof *emb_act);
    int text_dim = iid__tensor_dim(&c->text_embeds, 1), n_ids = iid__tensor_dim(&c->time_ids, 1);
    if (text_dim + n_ids * k->add_time_dim != k->add_in_dim)
        return iid__fail(err, IID_ERR_INVALID,
                         "unet: text_embeds (%d) + %d time ids x %d must make projection_class_embeddings_input_dim %d",
                         text_dim, n_ids, k->add_time_dim, k->add_in_dim);
    int D = k->temb_dim, C0 = k->block_out[0], A = k->add_in_dim, tw = n_ids * k->add_time_dim;
    float *ts = iid__op_alloc(be, (size_t)B * C0 * sizeof *ts);
    float *ids = iid__op_alloc(be, (size_t)B * (tw ? tw : 1) * sizeof *ids);
    float *h = iid__op_alloc(be, (size_t)B * D * sizeof *h);
    iid_tensor_t embt = {0};
    float *emb = iid__tensor_alloc_on(&embt, be, IID_DTYPE_F32, 2, (int64_t[]){B, D}, NULL) == IID_OK ? embt.data : NULL;
    float *aug = iid__op_alloc(be, (size_t)B * D * sizeof *aug);
    float *add = iid__op_alloc(be, (size_t)B * A * sizeof *add);
    iid_status s = IID_OK;
    if (!ts || !ids || !h || !emb || !aug || !add) s = iid__fail(err, IID_ERR_NOMEM, "unet embeddings: out of memory");
    /* time: (B, C0) sinusoid -> linear_1 -> SiLU -> linear_2 -> (B, D) */
    for (int b = 0; b < B && s == IID_OK; b++)
        s = iid__op_timestep_embedding(be, ts + (size_t)b * C0, &c->timestep, 1, C0, k->flip_sin_to_cos,
                                       k->freq_shift, err);
    if (s == IID_OK) s = iid__linear_apply(be, &t->time_1, ts, B, h, err);
    if (s == IID_OK) s = iid__op_unary(be, IID_UNARY_SILU, h, (int64_t)B * D, err);
    if (s == IID_OK) s = iid__linear_apply(be, &t->time_2, h, B, emb, err);
    /* micro-conditioning: (B, A) = [text_embeds | sinusoid(id_0) | sinusoid(id_1) | ...] */
    if (s == IID_OK)
        s = iid__op_timestep_embedding(be, ids, c->time_ids.data, B * n_ids, k->add_time_dim, k->flip_sin_to_cos,
                                       k->freq_shift, err);
    if (s == IID_OK) s = iid__op_concat_axis1(be, add, c->text_embeds.data, text_dim, ids, tw, B, 1, err);
    if (s == IID_OK) s = iid__linear_apply(be, &t->add_1, add, B, h, err);
    if (s == IID_OK) s = iid__op_unary(be, IID_UNARY_SILU, h, (int64_t)B * D, err);
    if (s == IID_OK) s = iid__linear_apply(be, &t->add_2, h, B, aug, err);
    if (s == IID_OK) s = iid__op_add(be, emb, aug, (int64_t)B * D, err);
    /* every resnet applies SiLU before time_emb_proj */
    if (s == IID_OK) s = iid__op_unary(be, IID_UNARY_SILU, emb, (int64_t)B * D, err);
    iid__op_free(be, ts);
    iid__op_free(be, h);
    iid__op_free(be, aug);
    iid__op_free(be, add);
    iid__op_free(be, ids);
    if (s != IID_OK) {
        iid__tensor_release(&embt);
        return s;
    }
    *emb_act = embt;
    return IID_OK;
}

iid_status iid__unet_trunk_down(const iid_backend_t *be, const iid_unet_trunk_t *t, const iid_tensor_t *sample,
                                const iid_tensor_t *extra, const iid_tensor_t *emb_act, const iid_unet_cond_t *c,
                                const iid_ip_args_t *ip, iid_tensor_t *skips, iid_error_t *err)
{
    const iid_unet_config_t *k = &t->cfg;
    int ns = 0;
    iid_tensor_t *cur = &skips[ns++];
    /* (B, C0, H, W) = conv_in(sample) (+ extra) */
    IID_TRY(iid__conv_apply(be, &t->conv_in, sample, cur, err));
    if (extra) IID_TRY(iid__op_add(be, cur->data, extra->data, iid__tensor_numel(cur), err));
    for (int i = 0; i < k->n_blocks; i++) {
        const iid_down_block_t *d = &t->down[i];
        for (int l = 0; l < d->n_layers; l++) {
            const iid_tensor_t *x = cur;
            cur = &skips[ns++];
            IID_TRY(iid__resnet_forward(be, &d->resnets[l], x, emb_act, cur, err));
            if (d->has_attn) IID_TRY(iid__transformer_forward(be, &d->attns[l], cur, &c->context, ip, c->kv, err));
        }
        if (d->has_down) {
            const iid_tensor_t *x = cur;
            cur = &skips[ns++];
            IID_TRY(iid__conv_apply(be, &d->down, x, cur, err));
        }
    }
    return IID_OK;
}

iid_status iid__unet_trunk_mid(const iid_backend_t *be, const iid_unet_trunk_t *t, const iid_tensor_t *x,
                               const iid_tensor_t *emb_act, const iid_unet_cond_t *c, const iid_ip_args_t *ip,
                               iid_tensor_t *out, iid_error_t *err)
{
    iid_tensor_t h = {0};
    memset(out, 0, sizeof *out);
    IID_TRY(iid__resnet_forward(be, &t->mid_res[0], x, emb_act, &h, err));
    iid_status s = iid__transformer_forward(be, &t->mid_attn, &h, &c->context, ip, c->kv, err);
    if (s == IID_OK) s = iid__resnet_forward(be, &t->mid_res[1], &h, emb_act, out, err);
    iid__tensor_release(&h);
    return s;
}

void iid__residuals_free(iid_residuals_t *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_down; i++) iid__tensor_release(&r->down[i]);
    iid__tensor_release(&r->mid);
    memset(r, 0, sizeof *r);
}
