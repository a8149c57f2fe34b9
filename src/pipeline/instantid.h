/*
 * instantid.h - the InstantID denoising loop: face embedding + keypoint image +
 * prompt in, RGB image out.
 *
 * Follows StableDiffusionXLInstantIDPipeline (InstantID's
 * pipeline_stable_diffusion_xl_instantid[_full].py on diffusers 0.25):
 *   text conditioning (weighted demo path or plain encode_prompt), the face tokens
 *   of the Resampler ([R(zeros); R(embedding)] with guidance), time_ids
 *   [H, W, 0, 0, H, W]; latents from the seed (or given) times init_noise_sigma;
 *   per step: latent input = [x; x] scaled by the scheduler, IdentityNet on the face
 *   tokens and keypoint image gives residuals (times its scale, optionally masked),
 *   the UNet on [text tokens | face tokens] with them and the IP scale, guidance
 *   uncond + g (cond - uncond) when g > 1, scheduler step; then VAE decode.
 * Batch index 0 is the unconditional half throughout.
 *
 * Models load once (iid__pipeline_load) and are read-only afterwards, so one
 * pipeline serves many generations.
 */
#ifndef IID_PIPELINE_INSTANTID_H
#define IID_PIPELINE_INSTANTID_H

#include <stddef.h>
#include <stdint.h>

#include "models/controlnet.h"
#include "models/resampler.h"
#include "models/unet_sdxl.h"
#include "models/vae_decoder.h"
#include "io/json.h"
#include "pipeline/text_cond.h"

/* Where each part of the models lives (DESIGN.md section 4). */
typedef struct iid_model_paths {
    char sdxl[4096];       /* diffusers SDXL folder or single-file checkpoint */
    char sdxl_config[4096];/* --sdxl-config: configs for a single file; "" = inferred */
    char controlnet[4096]; /* InstantID's ControlNetModel folder or one .safetensors file */
    char ip_adapter[4096]; /* ip-adapter.bin or .safetensors */
    char face_models[4096];/* antelopev2 folder */
    const char *const *loras; /* "FILE[:MULTIPLIER]" each (the caller's strings), fused at load */
    int n_loras;
} iid_model_paths_t;

/* Fill the paths from a models folder: models/sdxl (a diffusers folder, or a
 * folder with one single-file checkpoint), models/ControlNetModel (else
 * models/ControlNetModel.safetensors), models/ip-adapter.bin (else .safetensors),
 * models/antelopev2; no LoRAs. */
iid_status iid__model_paths_default(iid_model_paths_t *p, const char *models_dir, iid_error_t *err);

typedef struct iid_pipeline {
    iid_text_cond_t text;
    iid_unet_t *unet;
    iid_controlnet_t *controlnet;
    iid_vae_decoder_t *vae;
    iid_resampler_t resampler;
    iid_safetensors_t adapter;   /* ip-adapter file, open for the UNet's IP weights */
    iid_json_t scheduler_config; /* sdxl/scheduler/scheduler_config.json or SDXL base 1.0's */
} iid_pipeline_t;

/* Load every diffusion model. resampler_heads: the Resampler's head count (the
 * real file's is 20; it cannot be read from shapes). On failure nothing stays
 * allocated and the error names the file at fault. */
iid_status iid__pipeline_load(iid_pipeline_t **out, const iid_model_paths_t *paths, int resampler_heads,
                              iid_error_t *err);
void iid__pipeline_free(iid_pipeline_t *p);
/* Run every model on be from now on. Models load onto iid__backend_default();
 * moving between two host backends shares their weights (the mapped pages), so
 * this is all switching between ref and cpu needs. A device backend needs its
 * weights bound at load instead: refused (IID_ERR_UNSUPPORTED). */
iid_status iid__pipeline_use_backend(iid_pipeline_t *p, const iid_backend_t *be, iid_error_t *err);

/* Called with every intermediate tensor, named as the conformance kit names them
 * ("cond.prompt_embeds", "step0.unet_out", "output.image_float", ...). */
typedef void (*iid_trace_fn)(void *user, const char *name, const float *data, size_t n);
/* Called after each denoising step; return non-zero to stop (IID_ERR_INTERRUPTED). */
typedef int (*iid_step_fn)(void *user, int step, int total);

typedef struct iid_gen_params {
    const char *prompt;           /* styled prompt */
    const char *negative;         /* styled negative; NULL = None (plain path only) */
    iid_prompt_mode_t prompt_mode;
    int width, height;            /* output size, multiples of the UNet's latent stride */
    int steps;
    float guidance;               /* > 1 enables classifier-free guidance */
    float controlnet_scale;       /* IdentityNet strength */
    float ip_scale;               /* adapter strength */
    const char *scheduler;        /* scheduler name (see scheduler.h), NULL = euler */
    uint64_t seed;                /* initial noise and scheduler noise */
    const float *latents;         /* optional (1, C, H/s, W/s), before init_noise_sigma */
    const float *face_embedding;  /* (embedding_dim), raw (not normalised) */
    int embedding_dim;
    const uint8_t *kps_image;     /* (height, width, 3) RGB keypoint image */
    const uint8_t *control_mask;  /* (height, width, 3) face-region mask or NULL */
    int vae_tile;                 /* latent tile size for a tiled decode; 0 = whole */
    const iid_prompt_embeds_t *text_pos; /* optional: the prompt already encoded (the engine's cache) ... */
    const iid_prompt_embeds_t *text_neg; /* ... and the negative, when guidance is on; else encoded here */
    iid_step_fn on_step;
    iid_trace_fn trace;
    void *user;
    size_t *activation_peak;      /* optional out: bytes of one denoising step's planned activations */
} iid_gen_params_t;

/* Defaults of InstantID's demo: 30 steps, guidance 5, strengths 0.8, euler,
 * weighted prompts, 1024x1024. Pointers are left NULL. */
void iid__gen_params_init(iid_gen_params_t *g);

/* Run one generation into out_rgb (height * width * 3 bytes, HWC). */
iid_status iid__pipeline_generate(const iid_pipeline_t *p, const iid_gen_params_t *g, uint8_t *out_rgb,
                                  iid_error_t *err);

#endif
