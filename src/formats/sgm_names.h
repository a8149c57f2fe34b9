/*
 * sgm_names.h - single-file SDXL checkpoints (the original Stability AI "SGM"
 * layout of AUTOMATIC1111, ComfyUI and civitai) presented under the diffusers /
 * transformers names the models bind.
 *
 * One checkpoint holds four parts under four prefixes:
 *   model.diffusion_model.*                 UNet (input_blocks / middle_block / output_blocks)
 *   first_stage_model.*                     VAE (encoder / decoder; only the decoder is mapped)
 *   conditioner.embedders.0.transformer.*   CLIP ViT-L, already transformers names
 *   conditioner.embedders.1.model.*         OpenCLIP ViT-bigG
 * iid__sgm_map() builds, for one part, an index whose entries are views into the
 * checkpoint's data under the diffusers names:
 *   - the UNet block numbering is read from the keys present (which input_blocks
 *     hold a resnet, an attention, a downsampler), never assumed, and resnet
 *     parameters are renamed (in_layers.0 -> norm1, emb_layers.1 -> time_emb_proj, ...);
 *   - the VAE's up blocks are numbered in reverse (decoder.up.0 is the last
 *     diffusers up block) and its attention's 1x1 convolutions are viewed as
 *     (C, C) matrices;
 *   - OpenCLIP's fused attn.in_proj_weight/bias (Q, K, V stacked by rows) become
 *     three row-slice views, and `text_projection` (stored (C, P), transposed,
 *     without ".weight") becomes an owned (P, C) copy, the only copy made (a
 *     `text_projection.weight`, already (P, C), is viewed as it is).
 * A tensor of a part that matches no rule is an error naming it (an architecture
 * this mapping does not know); the VAE encoder and quant_conv are skipped.
 */
#ifndef IID_FORMATS_SGM_NAMES_H
#define IID_FORMATS_SGM_NAMES_H

#include "io/safetensors.h"

typedef enum { IID_SGM_UNET = 0, IID_SGM_VAE, IID_SGM_TE1, IID_SGM_TE2 } iid_sgm_part_t;

/* The key prefix of a part ("model.diffusion_model.", ...). */
const char *iid__sgm_prefix(iid_sgm_part_t part);

/* Build dst (zeroed here) for one part of src. dst's views point into src's data:
 * keep src's mapping alive (or move it into dst with iid__st_take_map). */
iid_status iid__sgm_map(iid_safetensors_t *dst, const iid_safetensors_t *src, iid_sgm_part_t part, iid_error_t *err);

/* Open the checkpoint at path and map one part; dst owns the mapping. */
iid_status iid__sgm_open(iid_safetensors_t *dst, const char *path, iid_sgm_part_t part, iid_error_t *err);

/* The inverse for a UNet: for every tensor of a diffusers-named UNet index, its
 * SGM name without the "model.diffusion_model." prefix ("input_blocks.4.1.proj_in.weight"),
 * in index order; NULL for a name with no SGM counterpart. The block numbering
 * comes from the index itself. kohya LoRAs trained on SDXL name their UNet
 * modules this way (formats/lora.h). Free with iid__sgm_aliases_free. */
iid_status iid__sgm_unet_aliases(const iid_safetensors_t *unet, char ***out, iid_error_t *err);
void iid__sgm_aliases_free(char **aliases, int n);

#endif
