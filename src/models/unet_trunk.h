/*
 * unet_trunk.h - what the SDXL UNet and the ControlNet (IdentityNet) share: the
 * config, the time and micro-conditioning embeddings, conv_in, the down path
 * (DownBlock2D / CrossAttnDownBlock2D) and the UNetMidBlock2DCrossAttn.
 *
 * Both networks are a diffusers UNet2DConditionModel-shaped tree with the same
 * names below the root, so one loader binds "time_embedding.*", "add_embedding.*",
 * "conv_in.*", "down_blocks.*" and "mid_block.*" for either; unet_sdxl.c adds the
 * up path and the head, controlnet.c the conditioning embedding and the 1x1
 * output convolutions.
 *
 * Every dimension comes from config.json (block_out_channels, layers_per_block,
 * transformer_layers_per_block, attention_head_dim = heads per block in SDXL
 * configs unless num_attention_heads is set, cross_attention_dim,
 * addition_time_embed_dim, projection_class_embeddings_input_dim,
 * norm_num_groups, norm_eps, block types, ...) and is checked against the
 * checkpoint's tensor shapes as they are bound.
 */
#ifndef IID_MODELS_UNET_TRUNK_H
#define IID_MODELS_UNET_TRUNK_H

#include "models/blocks.h"
#include "models/transformer.h"
#include "io/json.h"

#define IID_UNET_MAX_BLOCKS 8
/* Skip tensors of one forward (iid__unet_n_skips; SDXL has 9): a fixed capacity,
 * checked when the config is parsed, so a step keeps them on the stack instead
 * of allocating host arrays. */
#define IID_UNET_MAX_SKIPS 64

typedef struct iid_unet_config {
    int in_channels, out_channels; /* out_channels 0 when the config has none (ControlNet) */
    int n_blocks;
    int block_out[IID_UNET_MAX_BLOCKS];
    int layers[IID_UNET_MAX_BLOCKS];      /* resnets per down block */
    int down_attn[IID_UNET_MAX_BLOCKS];   /* down block i is CrossAttnDownBlock2D */
    int heads[IID_UNET_MAX_BLOCKS];       /* attention heads of down block i */
    int tlayers[IID_UNET_MAX_BLOCKS];     /* transformer blocks per attention, down block i */
    int has_up;                           /* the config lists up blocks (a UNet) */
    int up_attn[IID_UNET_MAX_BLOCKS];     /* up block i is CrossAttnUpBlock2D */
    int up_tlayers[IID_UNET_MAX_BLOCKS];  /* transformer blocks per attention, up block i */
    int cross_dim;
    int groups;
    float eps;
    int temb_dim;                         /* time embedding width (4 * block_out[0]) */
    int add_time_dim;                     /* addition_time_embed_dim */
    int add_in_dim;                       /* projection_class_embeddings_input_dim */
    int flip_sin_to_cos;
    float freq_shift;
    int linear_proj;                      /* use_linear_projection */
} iid_unet_config_t;

/* Read and validate a UNet2DConditionModel or ControlNetModel config.json. Fails
 * naming the file and the field on anything missing or not supported. */
iid_status iid__unet_config_load(iid_unet_config_t *cfg, const char *path, iid_error_t *err);
/* The same from a parsed document (a config.json, or one inferred from a
 * checkpoint's shapes: formats/infer_config.h). */
iid_status iid__unet_config_parse(iid_unet_config_t *cfg, const iid_json_t *j, iid_error_t *err);

/* Number of skip tensors the down path produces: conv_in, every resnet (with
 * its attention) and every downsampler. */
int iid__unet_n_skips(const iid_unet_config_t *cfg);
/* How many times the down path halves the resolution. */
int iid__unet_n_downsamples(const iid_unet_config_t *cfg);

typedef struct iid_down_block {
    int n_layers, has_attn, has_down;
    iid_resnet_t *resnets;     /* n_layers */
    iid_transformer_t *attns;  /* n_layers when has_attn */
    iid_conv_t down;           /* 3x3 stride 2, when has_down */
} iid_down_block_t;

typedef struct iid_unet_trunk {
    iid_unet_config_t cfg;
    const iid_backend_t *be; /* runs every forward; the default one after load */
    iid_linear_w_t time_1, time_2, add_1, add_2;
    iid_conv_t conv_in;
    iid_down_block_t down[IID_UNET_MAX_BLOCKS];
    iid_resnet_t mid_res[2];
    iid_transformer_t mid_attn;
} iid_unet_trunk_t;

/* Bind the shared part of the tree from st (names without a prefix), on the
 * default backend. On failure the trunk is freed. */
iid_status iid__unet_trunk_load(iid_unet_trunk_t *t, const iid_unet_config_t *cfg, const iid_safetensors_t *st,
                                iid_error_t *err);
void iid__unet_trunk_free(iid_unet_trunk_t *t);

/* The conditioning both networks take, batch B. Tensors are device memory of the
 * trunk's backend, except timestep and time_ids: host values the embedding op
 * reads (time_ids a host tensor, be NULL). The trunk functions below run on be: the trunk's own backend or a
 * wrapper of it (ops/step_alloc.h) that serves a step's memory from a plan. */
typedef struct iid_unet_cond {
    float timestep;            /* the scheduler's timestep value, same for the batch */
    iid_tensor_t context;      /* (B, context_tokens, cross_attention_dim) */
    iid_tensor_t text_embeds;  /* (B, text_embeds_dim), pooled text embedding */
    iid_tensor_t time_ids;     /* (B, n_time_ids) host: SDXL micro-conditioning; zeroed: none */
    iid_kv_cache_t *kv;        /* the cross-attentions' keys and values across steps; NULL: none */
} iid_unet_cond_t;

/* *emb_act (B, temb_dim), on the trunk's backend: SiLU(time_embedding(sinusoid(t)) +
 * add_embedding([text_embeds | sinusoid(time_ids)])), the input of every
 * resnet's time_emb_proj. Fails when text_embeds_dim + n_time_ids *
 * addition_time_embed_dim differs from projection_class_embeddings_input_dim. */
iid_status iid__unet_trunk_embed(const iid_backend_t *be, const iid_unet_trunk_t *t, int B, const iid_unet_cond_t *c,
                                 iid_tensor_t *emb_act, iid_error_t *err);

/* conv_in(sample) (+ extra, when non-NULL: (B, block_out[0], H, W)), then the down
 * blocks. sample (B, in_channels, H, W). skips receives iid__unet_n_skips()
 * feature maps in forward order (caller-allocated array, zeroed; the caller
 * releases each, also after a failure). The last skip is the down path's
 * output. ip is passed to every cross-attention (NULL: none). */
iid_status iid__unet_trunk_down(const iid_backend_t *be, const iid_unet_trunk_t *t, const iid_tensor_t *sample,
                                const iid_tensor_t *extra, const iid_tensor_t *emb_act, const iid_unet_cond_t *c,
                                const iid_ip_args_t *ip, iid_tensor_t *skips, iid_error_t *err);

/* The mid block on x: resnet 0 -> transformer -> resnet 1. *out on be. */
iid_status iid__unet_trunk_mid(const iid_backend_t *be, const iid_unet_trunk_t *t, const iid_tensor_t *x,
                               const iid_tensor_t *emb_act, const iid_unet_cond_t *c, const iid_ip_args_t *ip,
                               iid_tensor_t *out, iid_error_t *err);

/* ControlNet residuals: one per skip tensor, in skip order, plus the mid one.
 * Each map is a (B, C, H, W) tensor in a backend's memory, or in host memory
 * (be NULL, malloc'd: read from a file by a test). */
typedef struct iid_residuals {
    int n_down;
    iid_tensor_t down[IID_UNET_MAX_SKIPS]; /* the first n_down are maps */
    iid_tensor_t mid;
} iid_residuals_t;

/* Release every map; NULL and zeroed records are fine. */
void iid__residuals_free(iid_residuals_t *r);

#endif
