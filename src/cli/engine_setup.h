/*
 * engine_setup.h - the common model options (--models, --sdxl, --controlnet,
 * --ip-adapter, --face-models, --resampler-heads, --device, --threads, --dtype,
 * --sdxl-config, --lora, --lcm) turned into a loaded engine, the same way for
 * generate, batch and serve.
 *
 * --lcm is InstantID demo's LCM toggle: the LCM-LoRA SDXL file of the models
 * folder (lcm-lora-sdxl/pytorch_lora_weights.safetensors) fused with multiplier 1
 * (the demo's load_lora_weights + enable_lora), the lcm scheduler, and the demo's
 * LCM defaults of 5 steps and guidance 1.5 where the user set none.
 */
#ifndef IID_CLI_ENGINE_SETUP_H
#define IID_CLI_ENGINE_SETUP_H

#include "cli/options.h"
#include "pipeline/engine.h"

#define IID_CLI_MAX_LORAS 16
#define IID_LCM_STEPS 5
#define IID_LCM_GUIDANCE 1.5

typedef struct iid_cli_models {
    const char *models, *sdxl, *controlnet, *ip_adapter, *face_models;
    const char *sdxl_config;             /* NULL: none */
    const char *loras[IID_CLI_MAX_LORAS]; /* --lora values, FILE[:M] */
    int n_loras;
    int lcm;                             /* --lcm */
    const char *device; /* NULL: the default */
    long resampler_heads;
    long threads;       /* 0: all cores */
    long vae_tile;      /* 0: whole image */
    int verbose;
} iid_cli_models_t;

/* Read the common options (defaults for unset ones); fails naming the option. */
iid_status iid_cli_models_read(const iid_opts_t *o, iid_cli_models_t *m, iid_error_t *err);

/* The scheduler of a run: --lcm requires lcm (or no --scheduler, which gives it).
 * *name is updated; fails naming the conflict. */
iid_status iid_cli_lcm_scheduler(const iid_cli_models_t *m, const char **name, iid_error_t *err);

/* " <lora:NAME:M>" for every LoRA fused (the LCM-LoRA included), AUTOMATIC1111's
 * way of recording LoRAs in a prompt; NAME is the file name without extension
 * (the folder's name for a diffusers "pytorch_lora_weights" file). Writes "" when
 * there are none. */
void iid_cli_lora_tags(const iid_cli_models_t *m, char *buf, size_t cap);

/* --plain-prompts, --no-face-mask and --vae-tile as render options. */
iid_render_options_t iid_cli_render_options(const iid_opts_t *o, const iid_cli_models_t *m);

/* Check --device, set the thread count, and load the engine (face models only
 * when load_faces). The device name for logs goes to *device_name. */
iid_status iid_cli_engine_open(const iid_cli_models_t *m, int load_faces, iid_engine_t **out,
                               const char **device_name, iid_error_t *err);

#endif
