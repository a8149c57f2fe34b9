/*
 * infer_config.c - config documents from tensor shapes (see infer_config.h).
 *
 * Each function reads the dimensions it needs through dim(), which fails naming
 * the tensor when it is missing or has too few dimensions, then writes the same
 * fields a diffusers/transformers config.json has.
 */
#include "formats/infer_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SDXL_HEAD_WIDTH 64
#define SDXL_GROUPS 32
#define SDXL_TIME_EMBED 256
#define SDXL_VAE_SCALE 0.13025

/* Dimension d of the tensor named by fmt; IID_ERR_NOT_FOUND naming it. */
static iid_status dim(const iid_safetensors_t *st, int d, int *out, iid_error_t *err, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const iid_st_tensor_t *t = iid__st_find(st, name);
    if (!t) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: tensor '%s' is missing", st->path, name);
    if (t->ndim <= d || t->shape[d] <= 0 || t->shape[d] > (1 << 24))
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' has no usable dimension %d", st->path, name, d);
    *out = (int)t->shape[d];
    return IID_OK;
}

/* Whether a tensor named by fmt exists. */
static int exists(const iid_safetensors_t *st, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return iid__st_find(st, name) != NULL;
}

/* How many of fmt % 0, fmt % 1, ... exist in a row. */
static int count(const iid_safetensors_t *st, const char *fmt, int a)
{
    int n = 0;
    char name[512];
    for (;; n++) {
        snprintf(name, sizeof name, fmt, a, n);
        if (!iid__st_find(st, name)) return n;
    }
}

static cJSON *int_array(const int *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static iid_status finish(iid_json_t *out, cJSON *root, const iid_safetensors_t *st, const char *what,
                         iid_error_t *err)
{
    char label[4200];
    snprintf(label, sizeof label, "%s (%s config inferred from its shapes)", st->path, what);
    out->root = root;
    out->path = strdup(label);
    if (!root || !out->path) {
        iid__json_free(out);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    }
    return IID_OK;
}

static iid_status heads_of(const iid_safetensors_t *st, int i, int width, int attn, int *heads, iid_error_t *err)
{
    if (!attn) {
        *heads = width / SDXL_HEAD_WIDTH > 0 ? width / SDXL_HEAD_WIDTH : 1;
        return IID_OK;
    }
    if (width % SDXL_HEAD_WIDTH)
        return iid__fail(err, IID_ERR_FORMAT,
                         "%s: block %d is %d channels wide, not a multiple of SDXL's 64-wide attention heads; "
                         "give the model's config folder (--sdxl-config)", st->path, i, width);
    *heads = width / SDXL_HEAD_WIDTH;
    return IID_OK;
}

static int down_is_attn(const cJSON *types, int i)
{
    const cJSON *t = cJSON_GetArrayItem(types, i);
    return t && cJSON_IsString(t) && strcmp(t->valuestring, "CrossAttnDownBlock2D") == 0;
}

iid_status iid__infer_unet_config(iid_json_t *out, const iid_safetensors_t *st, const iid_unet_config_t *like,
                                  iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    int n = 0;
    while (n < IID_UNET_MAX_BLOCKS && exists(st, "down_blocks.%d.resnets.0.conv1.weight", n)) n++;
    if (n == 0) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no 'down_blocks.0.resnets.0.conv1.weight'", st->path);
    int boc[IID_UNET_MAX_BLOCKS], layers[IID_UNET_MAX_BLOCKS], tl[IID_UNET_MAX_BLOCKS], heads[IID_UNET_MAX_BLOCKS];
    int in_ch, cross = 0, add_in, linear = 1;
    IID_TRY(dim(st, 1, &in_ch, err, "conv_in.weight"));
    IID_TRY(dim(st, 1, &add_in, err, "add_embedding.linear_1.weight"));
    int same_as_like = like && like->n_blocks == n;
    cJSON *root = cJSON_CreateObject(), *down = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        iid_status s = dim(st, 0, &boc[i], err, "down_blocks.%d.resnets.0.conv1.weight", i);
        if (s != IID_OK) {
            cJSON_Delete(root);
            cJSON_Delete(down);
            return s;
        }
        layers[i] = count(st, "down_blocks.%d.resnets.%d.conv1.weight", i);
        int attn = exists(st, "down_blocks.%d.attentions.0.proj_in.weight", i);
        tl[i] = attn ? count(st, "down_blocks.%d.attentions.0.transformer_blocks.%d.attn1.to_q.weight", i) : 1;
        if (attn && !cross) {
            dim(st, 1, &cross, NULL, "down_blocks.%d.attentions.0.transformer_blocks.0.attn2.to_k.weight", i);
            char name[128];
            snprintf(name, sizeof name, "down_blocks.%d.attentions.0.proj_in.weight", i);
            const iid_st_tensor_t *p = iid__st_find(st, name);
            linear = p && p->ndim == 2;
        }
        same_as_like = same_as_like && like->block_out[i] == boc[i];
        cJSON_AddItemToArray(down, cJSON_CreateString(attn ? "CrossAttnDownBlock2D" : "DownBlock2D"));
    }
    cJSON_AddItemToObject(root, "down_block_types", down);
    if (!cross) {
        cJSON_Delete(root);
        return iid__fail(err, IID_ERR_FORMAT, "%s: no cross-attention blocks (not an SDXL UNet)", st->path);
    }
    for (int i = 0; i < n; i++) {
        iid_status s = same_as_like ? IID_OK : heads_of(st, i, boc[i], down_is_attn(down, i), &heads[i], err);
        if (s != IID_OK) {
            cJSON_Delete(root);
            return s;
        }
        if (same_as_like) heads[i] = like->heads[i];
    }
    int equal_layers = 1;
    for (int i = 1; i < n; i++) equal_layers = equal_layers && layers[i] == layers[0];
    cJSON_AddNumberToObject(root, "in_channels", in_ch);
    cJSON_AddItemToObject(root, "block_out_channels", int_array(boc, n));
    if (equal_layers) cJSON_AddNumberToObject(root, "layers_per_block", layers[0]);
    else cJSON_AddItemToObject(root, "layers_per_block", int_array(layers, n));
    cJSON_AddItemToObject(root, "transformer_layers_per_block", int_array(tl, n));
    cJSON_AddItemToObject(root, "attention_head_dim", int_array(heads, n));
    cJSON_AddNumberToObject(root, "cross_attention_dim", cross);
    cJSON_AddNumberToObject(root, "norm_num_groups", same_as_like ? like->groups : SDXL_GROUPS);
    cJSON_AddNumberToObject(root, "norm_eps", same_as_like ? like->eps : 1e-5);
    cJSON_AddNumberToObject(root, "addition_time_embed_dim", same_as_like ? like->add_time_dim : SDXL_TIME_EMBED);
    cJSON_AddNumberToObject(root, "projection_class_embeddings_input_dim", add_in);
    cJSON_AddBoolToObject(root, "use_linear_projection", linear);
    cJSON_AddStringToObject(root, "act_fn", "silu");
    cJSON_AddStringToObject(root, "addition_embed_type", "text_time");
    cJSON_AddStringToObject(root, "mid_block_type", "UNetMidBlock2DCrossAttn");
    cJSON_AddBoolToObject(root, "flip_sin_to_cos", 1);
    cJSON_AddNumberToObject(root, "freq_shift", 0);
    iid_status s = IID_OK;
    if (exists(st, "controlnet_cond_embedding.conv_in.weight")) {
        int cc, v[16], nv = 1;
        s = dim(st, 1, &cc, err, "controlnet_cond_embedding.conv_in.weight");
        if (s == IID_OK) s = dim(st, 0, &v[0], err, "controlnet_cond_embedding.conv_in.weight");
        for (; s == IID_OK && nv < 16 && exists(st, "controlnet_cond_embedding.blocks.%d.weight", 2 * nv - 1); nv++)
            s = dim(st, 0, &v[nv], err, "controlnet_cond_embedding.blocks.%d.weight", 2 * nv - 1);
        cJSON_AddStringToObject(root, "_class_name", "ControlNetModel");
        cJSON_AddNumberToObject(root, "conditioning_channels", cc);
        cJSON_AddItemToObject(root, "conditioning_embedding_out_channels", int_array(v, nv));
    } else {
        int oc = 0;
        s = dim(st, 0, &oc, err, "conv_out.weight");
        cJSON *up = cJSON_CreateArray();
        for (int i = 0; i < n; i++)
            cJSON_AddItemToArray(up, cJSON_CreateString(exists(st, "up_blocks.%d.attentions.0.proj_in.weight", i)
                                                             ? "CrossAttnUpBlock2D"
                                                             : "UpBlock2D"));
        cJSON_AddStringToObject(root, "_class_name", "UNet2DConditionModel");
        cJSON_AddItemToObject(root, "up_block_types", up);
        cJSON_AddNumberToObject(root, "out_channels", oc);
    }
    if (s != IID_OK) {
        cJSON_Delete(root);
        return s;
    }
    return finish(out, root, st, "UNet", err);
}

iid_status iid__infer_vae_config(iid_json_t *out, const iid_safetensors_t *st, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    int n = 0, boc[16], lc, oc;
    while (n < 16 && exists(st, "decoder.up_blocks.%d.resnets.0.conv1.weight", n)) n++;
    if (n == 0) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no VAE decoder up blocks", st->path);
    for (int i = 0; i < n; i++) IID_TRY(dim(st, 0, &boc[n - 1 - i], err, "decoder.up_blocks.%d.resnets.0.conv1.weight", i));
    IID_TRY(dim(st, 0, &lc, err, "post_quant_conv.weight"));
    IID_TRY(dim(st, 0, &oc, err, "decoder.conv_out.weight"));
    int layers = count(st, "decoder.up_blocks.%d.resnets.%d.conv1.weight", 0) - 1;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "_class_name", "AutoencoderKL");
    cJSON_AddItemToObject(root, "block_out_channels", int_array(boc, n));
    cJSON_AddNumberToObject(root, "layers_per_block", layers);
    cJSON_AddNumberToObject(root, "latent_channels", lc);
    cJSON_AddNumberToObject(root, "out_channels", oc);
    cJSON_AddNumberToObject(root, "norm_num_groups", SDXL_GROUPS);
    cJSON_AddNumberToObject(root, "scaling_factor", SDXL_VAE_SCALE);
    cJSON_AddStringToObject(root, "act_fn", "silu");
    return finish(out, root, st, "VAE", err);
}

iid_status iid__infer_clip_config(iid_json_t *out, const iid_safetensors_t *st, int with_projection, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    int vocab, hidden, positions, inter;
    IID_TRY(dim(st, 0, &vocab, err, "text_model.embeddings.token_embedding.weight"));
    IID_TRY(dim(st, 1, &hidden, err, "text_model.embeddings.token_embedding.weight"));
    IID_TRY(dim(st, 0, &positions, err, "text_model.embeddings.position_embedding.weight"));
    IID_TRY(dim(st, 0, &inter, err, "text_model.encoder.layers.0.mlp.fc1.weight"));
    int layers = 0;
    while (exists(st, "text_model.encoder.layers.%d.mlp.fc1.weight", layers)) layers++;
    if (hidden % SDXL_HEAD_WIDTH)
        return iid__fail(err, IID_ERR_FORMAT,
                         "%s: the text encoder is %d wide, not a multiple of CLIP's 64-wide heads; give the model's "
                         "config folder (--sdxl-config)", st->path, hidden);
    cJSON *root = cJSON_CreateObject(), *arch = cJSON_CreateArray();
    cJSON_AddItemToArray(arch, cJSON_CreateString(with_projection ? "CLIPTextModelWithProjection" : "CLIPTextModel"));
    cJSON_AddItemToObject(root, "architectures", arch);
    cJSON_AddNumberToObject(root, "vocab_size", vocab);
    cJSON_AddNumberToObject(root, "hidden_size", hidden);
    cJSON_AddNumberToObject(root, "num_hidden_layers", layers);
    cJSON_AddNumberToObject(root, "num_attention_heads", hidden / SDXL_HEAD_WIDTH);
    cJSON_AddNumberToObject(root, "intermediate_size", inter);
    cJSON_AddNumberToObject(root, "max_position_embeddings", positions);
    cJSON_AddStringToObject(root, "hidden_act", with_projection ? "gelu" : "quick_gelu");
    cJSON_AddNumberToObject(root, "layer_norm_eps", 1e-5);
    return finish(out, root, st, with_projection ? "text_encoder_2" : "text_encoder", err);
}
