/*
 * engine.h - one loaded InstantID: the diffusion pipeline and the face models,
 * behind the two calls every front end (generate, batch, serve) makes:
 * prepare a photo, then render an image from it.
 *
 *   iid_engine_t *e;
 *   iid__engine_load(&e, &paths, 20, &err);
 *   iid_face_prep_t face;
 *   iid__engine_prepare_file(e, "me.jpg", &prep_opts, &face, &err);
 *   iid_render_params_t r;
 *   iid__render_params_init(&r);
 *   r.prompt = styled_prompt; r.negative = styled_negative;
 *   iid__engine_render(e, &face, &r, "out.png", parameters_text, &err);
 *
 * Models are loaded once; prepare and render only read them, so one engine serves
 * many jobs (one at a time: the face models keep scratch state).
 */
#ifndef IID_PIPELINE_ENGINE_H
#define IID_PIPELINE_ENGINE_H

#include "pipeline/face_prep.h"
#include "pipeline/instantid.h"

typedef struct iid_engine {
    iid_pipeline_t *pipeline;
    iid_face_models_t faces;
    int has_faces; /* face models were loaded (not needed for explicit embeddings) */
} iid_engine_t;

/* Load the diffusion models and, when load_faces is set, the face models of
 * paths->face_models. Errors name the file at fault; nothing stays allocated. */
iid_status iid__engine_load(iid_engine_t **out, const iid_model_paths_t *paths, int resampler_heads, int load_faces,
                            iid_error_t *err);
void iid__engine_free(iid_engine_t *e);

iid_status iid__engine_prepare_file(iid_engine_t *e, const char *path, const iid_face_prep_opts_t *o,
                                    iid_face_prep_t *out, iid_error_t *err);
iid_status iid__engine_prepare_bytes(iid_engine_t *e, const void *data, size_t size, const char *name,
                                     const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err);

typedef struct iid_render_params {
    const char *prompt;         /* styled */
    const char *negative;       /* styled */
    iid_prompt_mode_t prompt_mode;
    int steps;
    double guidance, identitynet_strength, adapter_strength;
    const char *scheduler;
    uint64_t seed;
    int face_mask;              /* "enhance non-face region": mask the IdentityNet and IP branches */
    int vae_tile;               /* latent tile for the VAE; 0 = whole image */
    const float *latents;       /* optional explicit initial latents */
    iid_step_fn on_step;
    void *user;
    size_t *activation_peak; /* optional out: a denoising step's planned activation memory */
} iid_render_params_t;

/* The choices a front end makes once for all its renders. */
typedef struct iid_render_options {
    iid_prompt_mode_t prompt_mode; /* weighted (the demo's) unless asked otherwise */
    int face_mask;                 /* "enhance non-face region" */
    int vae_tile;                  /* latent tile for the VAE; 0 = whole image */
} iid_render_options_t;

/* The demo's defaults: weighted prompts, 30 steps, guidance 5, strengths 0.8,
 * euler, face mask on. */
void iid__render_params_init(iid_render_params_t *r);

/* Generate at face->width x face->height from the face's embedding, keypoint
 * image and (with r->face_mask) mask, and write a PNG to png_path atomically,
 * with `parameters` text when given. */
iid_status iid__engine_render(const iid_engine_t *e, const iid_face_prep_t *face, const iid_render_params_t *r,
                              const char *png_path, const char *parameters, iid_error_t *err);

/* An AUTOMATIC1111-style `parameters` text: prompt, "Negative prompt: ...", then
 * "Steps: .., Sampler: .., CFG scale: .., Seed: .., Size: WxH" and our fields.
 * extra (may be NULL) is appended after ", ". Returns malloc'd text or NULL. */
char *iid__render_parameters_text(const iid_render_params_t *r, int width, int height, const char *extra);

#endif
