/*
 * controlnet.h - InstantID's IdentityNet: a diffusers ControlNetModel for SDXL.
 *
 *   iid_controlnet_t *cn;
 *   iid__controlnet_load(&cn, "models/ControlNetModel", &err);
 *   iid_controlnet_inputs_t in = {0};
 *   in.sample = latent_model_input;                 // (2, 4, h, w) tensor on cn's backend
 *   in.cond = (iid_unet_cond_t){t, face_tokens, pooled, time_ids}; // (2, 16, 2048), (2, 1280), host (2, 6)
 *   in.image = kps_image;                           // (2, 3, 8h, 8w), RGB in [0, 1]
 *   in.scale = 0.8f;
 *   iid_residuals_t res;
 *   iid__controlnet_forward(cn, &in, &res, &err);   // feed &res to the UNet
 *   iid__residuals_apply_mask(&res, &mask, &err);   // optional face region, (8h, 8w)
 *   iid__residuals_free(&res);
 *   iid__controlnet_free(cn);
 *
 * Forward: the same embeddings, conv_in, down path and mid block as the UNet
 * (unet_trunk.h, the same code); conv_in's output is summed with the
 * conditioning embedding of the image (conv3x3 -> SiLU, then per consecutive
 * channel pair conv3x3 -> SiLU -> conv3x3 stride 2 -> SiLU, then conv_out);
 * every skip tensor goes through its own 1x1 controlnet_down_blocks.<i> conv and
 * the mid output through controlnet_mid_block; all outputs are multiplied by
 * the conditioning scale. The context is the face tokens only.
 */
#ifndef IID_MODELS_CONTROLNET_H
#define IID_MODELS_CONTROLNET_H

#include "models/unet_trunk.h"

typedef struct iid_controlnet {
    iid_unet_trunk_t trunk;
    int cond_channels;       /* conditioning_channels: image channels */
    iid_conv_t cond_in;      /* conditioning embedding conv_in */
    iid_conv_t *cond_blocks; /* 2 per channel pair; odd ones have stride 2 */
    int n_cond_blocks;
    iid_conv_t cond_out;
    int n_down;              /* = iid__unet_n_skips(&trunk.cfg) */
    iid_conv_t *down_out;    /* controlnet_down_blocks.<i>, 1x1 */
    iid_conv_t mid_out;      /* controlnet_mid_block, 1x1 */
    iid_safetensors_t file;  /* the mapped checkpoint the weights view; owned */
} iid_controlnet_t;

/* Load dir/config.json and dir/diffusion_pytorch_model.safetensors. The weights
 * are views into the mapped file, which the ControlNet owns and closes in
 * iid__controlnet_free(). Fails naming the file and field or tensor. */
iid_status iid__controlnet_load(iid_controlnet_t **out, const char *dir, iid_error_t *err);
/* The same from a config document and an open index, which moves into the
 * ControlNet (*st is left zeroed on success and closed on failure). */
iid_status iid__controlnet_load_parts(iid_controlnet_t **out, const iid_json_t *config, iid_safetensors_t *st,
                                     iid_error_t *err);
void iid__controlnet_free(iid_controlnet_t *cn);

typedef struct iid_controlnet_inputs {
    iid_tensor_t sample;   /* (B, in_channels, height, width), as the UNet gets it */
    iid_unet_cond_t cond;  /* context: the face tokens only */
    iid_tensor_t image;    /* (B, conditioning_channels, image_h, image_w), RGB in [0, 1];
                              must embed to (height, width) */
    float scale;           /* controlnet_conditioning_scale */
    const iid_backend_t *be; /* runs this call: NULL for the ControlNet's own backend, or a
                                step allocator wrapping it (ops/step_alloc.h) */
} iid_controlnet_inputs_t;

/* Fills *out (n_down maps plus mid, allocated here; free with
 * iid__residuals_free, also after a failure). */
iid_status iid__controlnet_forward(const iid_controlnet_t *cn, const iid_controlnet_inputs_t *in, iid_residuals_t *out,
                                   iid_error_t *err);

/* InstantID's region control on the residuals: every down map and the mid map is
 * multiplied by mask (mask_h, mask_w; control_mask channel 0 / 255 at image
 * resolution) resized bilinearly (align_corners false, torch's rule) to the map's
 * own height and width, broadcast over batch and channels. mask is in the
 * residuals' memory (a host tensor for host residuals). Fails on memory. */
iid_status iid__residuals_apply_mask(iid_residuals_t *r, const iid_tensor_t *mask, iid_error_t *err);

#endif
