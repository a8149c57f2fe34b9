/*
 * infer_config.h - diffusers / transformers config documents inferred from a
 * checkpoint's tensor shapes, for checkpoints that come without config.json
 * (single-file SDXL, ComfyUI's IdentityNet file).
 *
 * Everything the shapes tell is read from them: channel widths, block counts and
 * types, layers per block, transformer depth, cross-attention width, the
 * micro-conditioning input width, linear vs convolution projections, encoder
 * widths, depths and vocabularies. What they cannot tell is SDXL base 1.0's
 * value (the real checkpoints all use it): attention heads 64 wide (the UNet's
 * and both text encoders'), 32 GroupNorm groups, eps 1e-5 (UNet) and 1e-6 (VAE),
 * addition_time_embed_dim 256, the VAE scaling factor 0.13025, quick_gelu for
 * CLIP ViT-L and gelu for OpenCLIP bigG. A width that is not a multiple of the
 * 64-wide heads is an error asking for a config folder (--sdxl-config).
 *
 * The result is an iid_json_t with the fields config.json would have, so the
 * models parse and validate it with their ordinary config code. Its path names
 * the checkpoint and says the config was inferred.
 */
#ifndef IID_FORMATS_INFER_CONFIG_H
#define IID_FORMATS_INFER_CONFIG_H

#include "io/json.h"
#include "io/safetensors.h"
#include "models/unet_trunk.h"

/* A UNet2DConditionModel config (or a ControlNetModel one when st holds
 * controlnet_cond_embedding.*) from a diffusers-named index. like: a loaded
 * model whose heads, groups and eps are reused when its block widths are the
 * same (an IdentityNet takes its UNet's), or NULL for SDXL's defaults. */
iid_status iid__infer_unet_config(iid_json_t *out, const iid_safetensors_t *st, const iid_unet_config_t *like,
                                  iid_error_t *err);
/* An AutoencoderKL config (decoder side) from a diffusers-named index. */
iid_status iid__infer_vae_config(iid_json_t *out, const iid_safetensors_t *st, iid_error_t *err);
/* A CLIPTextConfig from a transformers-named index; with_projection selects
 * CLIPTextModelWithProjection and gelu (OpenCLIP bigG) over CLIPTextModel and
 * quick_gelu (CLIP ViT-L). */
iid_status iid__infer_clip_config(iid_json_t *out, const iid_safetensors_t *st, int with_projection, iid_error_t *err);

#endif
