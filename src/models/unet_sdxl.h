/*
 * unet_sdxl.h - the SDXL UNet (diffusers UNet2DConditionModel, "text_time"
 * conditioning) with InstantID's IP-Adapter cross-attention and ControlNet
 * residual inputs.
 *
 *   iid_unet_t *u;
 *   iid__unet_load(&u, "models/sdxl/unet", &err);        // config.json + weights
 *   iid__unet_load_ip(u, &ip_file, "ip_adapter.", &err); // optional
 *   iid_unet_inputs_t in;
 *   iid__unet_inputs_init(&in);
 *   in.sample = latents;                                  // (2, 4, h, w) tensor on u's backend
 *   in.cond = (iid_unet_cond_t){t, ctx, pooled, time_ids}; // (2, 77 + 16, 2048), (2, 1280), host (2, 6)
 *   in.residuals = &controlnet_out;                       // optional
 *   in.ip = (iid_ip_args_t){16, 0.8f, {0}};               // last 16 tokens: face; a
 *                                                         // (8h, 8w) mask: region control
 *   iid__unet_forward(u, &in, &noise_pred, &err);         // (B, out_channels, h, w)
 *   iid__unet_free(u);
 *
 * Forward: emb = time_embedding(t) + add_embedding(text_embeds, time_ids);
 * conv_in -> down blocks (skips kept) -> mid; ControlNet residuals are added to
 * the skips and the mid output; up blocks concatenate [h, skip] (hidden first,
 * skips last-in-first-out) before each resnet; conv_norm_out -> SiLU -> conv_out.
 *
 * IP-Adapter: the processor index n of each cross-attention (attn2) follows
 * diffusers' attn_processors order (down blocks, up blocks, mid block; attn1 then
 * attn2 in each transformer block), so n is odd; iid__unet_ip_layout() computes it
 * from the config and iid__unet_load_ip() binds <prefix><n>.to_k_ip / .to_v_ip.
 */
#ifndef IID_MODELS_UNET_SDXL_H
#define IID_MODELS_UNET_SDXL_H

#include "models/unet_trunk.h"

typedef struct iid_up_block {
    int n_layers, has_attn, has_up;
    iid_resnet_t *resnets;    /* n_layers */
    iid_transformer_t *attns; /* n_layers when has_attn */
    iid_conv_t up;            /* 3x3 after nearest 2x, when has_up */
} iid_up_block_t;

typedef struct iid_unet {
    iid_unet_trunk_t trunk; /* config, embeddings, conv_in, down path, mid */
    iid_up_block_t up[IID_UNET_MAX_BLOCKS];
    iid_norm_t norm_out;
    iid_conv_t conv_out;
    int has_ip; /* IP-Adapter weights bound */
    iid_safetensors_t *file; /* the checkpoint, when the UNet owns it (iid__unet_load) */
} iid_unet_t;

/* Load dir/config.json and dir/diffusion_pytorch_model.safetensors. The weights
 * are views into the mapped file, which the UNet owns and closes in
 * iid__unet_free(). */
iid_status iid__unet_load(iid_unet_t **out, const char *dir, iid_error_t *err);
/* The same from a config document and an open index, which moves into the UNet
 * (*st is left zeroed on success and closed on failure). */
iid_status iid__unet_load_parts(iid_unet_t **out, const iid_json_t *config, iid_safetensors_t *st, iid_error_t *err);
/* The same from an already parsed config and an open checkpoint. The weights
 * view st: the caller keeps it open until iid__unet_free(). */
iid_status iid__unet_load_from(iid_unet_t **out, const iid_unet_config_t *cfg, const iid_safetensors_t *st,
                               iid_error_t *err);
void iid__unet_free(iid_unet_t *u);

/* One cross-attention processor of the UNet. */
typedef struct iid_ip_slot {
    int index;  /* n: position in diffusers' attn_processors order */
    int part;   /* 0 down_blocks, 1 up_blocks, 2 mid_block */
    int block;  /* block number (0 for the mid block) */
    int attn;   /* attentions.<attn> */
    int tblock; /* transformer_blocks.<tblock> */
    int hidden; /* query width (block channels) */
    int cross;  /* context width */
} iid_ip_slot_t;

/* Every attn2 processor in order. Writes at most cap slots and returns how many
 * there are. */
int iid__unet_ip_layout(const iid_unet_config_t *cfg, iid_ip_slot_t *slots, int cap);
/* "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor" into buf. */
void iid__unet_ip_slot_name(const iid_ip_slot_t *s, char *buf, size_t cap);

/* Bind <prefix><n>.to_k_ip.weight / .to_v_ip.weight (each (hidden, cross)) for
 * every slot. Fails naming the file and tensor when one is missing or
 * mis-shaped, or when the file holds to_k_ip weights for more slots than the
 * UNet has. On failure the UNet keeps no IP weights. The weights view st (the
 * file is shared with the Resampler): the caller keeps it open until
 * iid__unet_free(). */
iid_status iid__unet_load_ip(iid_unet_t *u, const iid_safetensors_t *st, const char *prefix, iid_error_t *err);

typedef struct iid_unet_inputs {
    iid_tensor_t sample;        /* (B, in_channels, height, width) */
    iid_unet_cond_t cond;       /* timestep, context, text_embeds, time_ids */
    const iid_residuals_t *residuals; /* ControlNet residuals (already scaled) or NULL */
    iid_ip_args_t ip;           /* image tokens at the end of cond.context; n_tokens 0: none */
    const iid_backend_t *be;    /* runs this call: NULL for the UNet's own backend, or a step
                                   allocator wrapping it (ops/step_alloc.h) */
} iid_unet_inputs_t;

/* Zero everything: no residuals, no image tokens. */
void iid__unet_inputs_init(iid_unet_inputs_t *in);

/* out (B, out_channels, height, width), caller-allocated on the UNet's backend: its
 * data is written. height and width must be divisible by 2^(number of
 * downsamplers). Fails on inconsistent sizes (naming which), image tokens without
 * bound IP weights, or memory. */
iid_status iid__unet_forward(const iid_unet_t *u, const iid_unet_inputs_t *in, const iid_tensor_t *out,
                             iid_error_t *err);

#endif
