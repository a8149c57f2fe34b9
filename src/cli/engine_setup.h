/*
 * engine_setup.h - the common model options (--models, --sdxl, --controlnet,
 * --ip-adapter, --face-models, --resampler-heads, --backend/--device, --threads, --dtype)
 * turned into a loaded engine, the same way for generate, batch and serve.
 */
#ifndef IID_CLI_ENGINE_SETUP_H
#define IID_CLI_ENGINE_SETUP_H

#include "cli/options.h"
#include "ops/backend.h"
#include "pipeline/engine.h"

typedef struct iid_cli_models {
    const char *models, *sdxl, *controlnet, *ip_adapter, *face_models;
    const char *device; /* --backend (or its alias --device); NULL: the default */
    iid_compute_dtype_t dtype; /* --dtype, resolved (auto -> f32 or bf16) */
    long resampler_heads;
    long threads;       /* 0: all cores */
    long vae_tile;      /* 0: whole image */
    int verbose;
} iid_cli_models_t;

/* Read the common options (defaults for unset ones); fails naming the option. */
iid_status iid_cli_models_read(const iid_opts_t *o, iid_cli_models_t *m, iid_error_t *err);

/* The backend name from --backend and its alias --device (either may be NULL):
 * fails on an unknown name, on cuda in a build without it, and when the two
 * disagree. *out is NULL when neither is given. */
iid_status iid_cli_backend(const char *backend, const char *device, const char **out, iid_error_t *err);

/* --plain-prompts, --no-face-mask and --vae-tile as render options. */
iid_render_options_t iid_cli_render_options(const iid_opts_t *o, const iid_cli_models_t *m);

/* Check the backend and make it and the compute dtype the ones models bind with, set the thread count, and load the engine (face models only
 * when load_faces). The device name for logs goes to *device_name. */
iid_status iid_cli_engine_open(const iid_cli_models_t *m, int load_faces, iid_engine_t **out,
                               const char **device_name, iid_error_t *err);

#endif
