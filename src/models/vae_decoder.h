/*
 * vae_decoder.h - the decoder half of SDXL's AutoencoderKL, and the conversions
 * around it.
 *
 *   iid_vae_decoder_t *vae;
 *   iid__vae_load(&vae, "models/sdxl/vae", &err);
 *   iid__vae_unscale(vae, &latents, &z, &err);            // latents / scaling_factor
 *   iid__vae_decode(vae, &z, &decoded, &err);             // (1, 4, h, w) -> (1, 3, 8h, 8w) in ~[-1, 1]
 *   iid__image_to_float_nhwc(img, decoded, 1, 3, 8 * h, 8 * w);   // NHWC in [0, 1]
 *   iid__image_float_to_u8(rgb, img, (size_t)3 * 64 * h * w);
 *   iid__vae_free(vae);
 *
 * Decoder: post_quant_conv (1x1) -> conv_in -> mid (resnet, single-head
 * self-attention with residual, resnet) -> up blocks (layers_per_block + 1
 * resnets each, nearest 2x + conv3x3 upsampler except after the last) ->
 * GroupNorm -> SiLU -> conv_out. Every GroupNorm uses norm_num_groups and eps
 * 1e-6. Dimensions come from config.json (block_out_channels, layers_per_block,
 * norm_num_groups, latent_channels, out_channels, scaling_factor) and are checked
 * against the weights; only decoder.* and post_quant_conv.* tensors are read.
 *
 * Tiled decoding (iid__vae_decode_tiled) decodes overlapping latent tiles one at
 * a time and blends them with linear ramps across the overlaps, so peak memory
 * follows the tile size, not the image size. Because the mid attention and the
 * GroupNorm statistics then see one tile at a time, the result is close to, not
 * equal to, the untiled decode. Latents and images are device memory of the
 * decoder's backend; the blend is a backend op.
 */
#ifndef IID_MODELS_VAE_DECODER_H
#define IID_MODELS_VAE_DECODER_H

#include <stdint.h>

#include "io/json.h"
#include "models/blocks.h"
#include "models/transformer.h"

#define IID_VAE_MAX_BLOCKS 8

typedef struct iid_vae_up_block {
    int n_layers, has_up;
    iid_resnet_t *resnets;
    iid_conv_t up;
} iid_vae_up_block_t;

typedef struct iid_vae_decoder {
    int latent_channels, out_channels, n_blocks, groups;
    int block_out[IID_VAE_MAX_BLOCKS];
    int layers_per_block;
    float scaling_factor;
    int upscale; /* output pixels per latent: 2^(n_blocks - 1) */
    iid_conv_t post_quant, conv_in;
    iid_resnet_t mid_res[2];
    iid_norm_t mid_norm;
    iid_attention_t mid_attn;
    iid_vae_up_block_t up[IID_VAE_MAX_BLOCKS];
    iid_norm_t norm_out;
    iid_conv_t conv_out;
    iid_safetensors_t file; /* the mapped checkpoint the weights view; owned */
    const iid_backend_t *be; /* runs the decode; the default one after load */
} iid_vae_decoder_t;

/* Load dir/config.json and dir/diffusion_pytorch_model.safetensors. The weights
 * are views into the mapped file, which the decoder owns and closes in
 * iid__vae_free(). Fails naming the file and field/tensor. */
iid_status iid__vae_load(iid_vae_decoder_t **out, const char *dir, iid_error_t *err);
/* The same from a config document and an open index, which moves into the
 * decoder (*st is left zeroed on success and closed on failure). */
iid_status iid__vae_load_parts(iid_vae_decoder_t **out, const iid_json_t *config, iid_safetensors_t *st,
                              iid_error_t *err);
void iid__vae_free(iid_vae_decoder_t *v);

/* z = latents / scaling_factor (z may be latents itself; the sizes must match),
 * on the decoder's backend. */
iid_status iid__vae_unscale(const iid_vae_decoder_t *v, const iid_tensor_t *latents, const iid_tensor_t *z,
                           iid_error_t *err);

/* z (B, latent_channels, h, w) -> out (B, out_channels, upscale*h, upscale*w),
 * caller-allocated (its data is written); both in the decoder's backend memory.
 * Fails on other shapes or memory. */
iid_status iid__vae_decode(const iid_vae_decoder_t *v, const iid_tensor_t *z, const iid_tensor_t *out,
                           iid_error_t *err);

/* The same, decoded in tiles of tile x tile latents that overlap by `overlap`
 * latents (0 <= overlap < tile). When the latent fits in one tile this is
 * iid__vae_decode. */
iid_status iid__vae_decode_tiled(const iid_vae_decoder_t *v, const iid_tensor_t *z, int tile, int overlap,
                                 const iid_tensor_t *out, iid_error_t *err);

/* iid__image_to_float_nhwc and iid__image_float_to_u8 (host conversions of the
 * decoded picture) are in ops/ops.h. */

#endif
