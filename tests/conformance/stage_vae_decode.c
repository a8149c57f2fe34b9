/*
 * stage_vae_decode.c - conformance stage 'vae_decode'.
 *
 * Cases are the prefixes of "*.latents". Each compares the four steps of the
 * pipeline's decode: latents_div_scaling_factor, decoded (NCHW), image_float
 * (NHWC, clamp(x/2 + 0.5)) and image_uint8 (at most 1 level off).
 */
#include <stdio.h>
#include <stdlib.h>

#include "model_io.h"
#include "models/vae_decoder.h"

#define STAGE "vae_decode"

static void run_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    const iid_vae_decoder_t *v = user;
    const iid_st_tensor_t *tl = conf_input(c, st, kase, "latents");
    if (!tl || tl->ndim != 4 || tl->shape[1] != v->latent_channels) {
        conf_fail(c, STAGE, kase, "latents", "expected (B, %d, h, w) latents", v->latent_channels);
        return;
    }
    int B = (int)tl->shape[0], h = (int)tl->shape[2], w = (int)tl->shape[3];
    int C = v->out_channels, H = h * v->upscale, W = w * v->upscale;
    size_t nz = (size_t)iid__st_numel(tl), nd = (size_t)B * C * H * W;
    float *z = conf_f32(tl), *dec = malloc(nd * sizeof *dec), *img = malloc(nd * sizeof *img);
    uint8_t *u8 = malloc(nd);
    if (!z || !dec || !img || !u8) {
        conf_fail(c, STAGE, kase, "-", "out of memory");
    } else {
        iid_error_t err;
        iid_error_clear(&err);
        iid_tensor_t zt = iid__tensor_wrap(NULL, z, 4, tl->shape), dt = iid__tensor_wrap(NULL, dec, 4, (int64_t[]){B, C, H, W});
        iid_status s = iid__vae_unscale(v, &zt, &zt, &err);
        if (s == IID_OK)
            conf_check_f32(c, STAGE, kase, "latents_div_scaling_factor", z, nz,
                           conf_output(st, kase, "latents_div_scaling_factor"), CONF_TOL_MODEL);
        if (s == IID_OK) s = iid__vae_decode(v, &zt, &dt, &err);
        if (s != IID_OK) {
            conf_fail(c, STAGE, kase, "decoded", "%s", err.msg);
        } else {
            conf_check_f32(c, STAGE, kase, "decoded", dec, nd, conf_output(st, kase, "decoded"), CONF_TOL_MODEL);
            iid__image_to_float_nhwc(img, dec, B, C, H, W);
            conf_check_f32(c, STAGE, kase, "image_float", img, nd, conf_output(st, kase, "image_float"), CONF_TOL_MODEL);
            iid__image_float_to_u8(u8, img, nd);
            conf_check_u8(c, STAGE, kase, "image_uint8", u8, nd, conf_output(st, kase, "image_uint8"), 1, 0.01);
        }
    }
    free(z), free(dec), free(img), free(u8);
}

void stage_vae_decode(conf_ctx_t *c)
{
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "vae_decode.safetensors", &st) != 0) return;
    iid_error_t err;
    iid_error_clear(&err);
    iid_vae_decoder_t *v = NULL;
    iid_sdxl_source_t src;
    if (conf_sdxl_source(c, &src, &err) != IID_OK || iid__load_vae(&v, &src, &err) != IID_OK)
        conf_fail(c, STAGE, "-", "-", "%s", err.msg);
    else if (conf_for_each_case(c, &st, ".latents", run_case, v) == 0)
        conf_fail(c, STAGE, "-", "-", "no '*.latents' tensors in golden/vae_decode.safetensors");
    iid__vae_free(v);
    conf_close(c, &st);
}
