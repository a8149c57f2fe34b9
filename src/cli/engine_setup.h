/*
 * engine_setup.h - the common model options (--models, --sdxl, --controlnet,
 * --ip-adapter, --face-models, --resampler-heads, --backend/--device, --threads, --dtype,
 * --plain-prompts, --no-face-mask, --vae-tile, --sdxl-config, --lora, --lcm) turned
 * into the engine API's parameters (include/iid.h), the same way for generate,
 * batch and serve.
 *
 * --lcm is InstantID demo's LCM toggle: the LCM-LoRA SDXL file of the models
 * folder (lcm-lora-sdxl/pytorch_lora_weights.safetensors) fused with multiplier 1
 * (the demo's load_lora_weights + enable_lora), the lcm scheduler, and the demo's
 * LCM defaults of 5 steps and guidance 1.5 where the user set none. `serve`
 * instead gives the engine the LCM-LoRA to switch on per job (the page's LCM
 * toggle; serve --lcm ticks it by default).
 */
#ifndef IID_CLI_ENGINE_SETUP_H
#define IID_CLI_ENGINE_SETUP_H

#include "cli/options.h"
#include "iid.h"
#include "ops/backend.h"

#define IID_CLI_MAX_LORAS 16

typedef struct iid_cli_models {
    const char *models, *sdxl, *controlnet, *ip_adapter, *face_models;
    const char *sdxl_config;             /* NULL: none */
    const char *loras[IID_CLI_MAX_LORAS]; /* --lora values, FILE[:M] */
    int n_loras;
    int lcm;                             /* --lcm */
    /* filled by iid_cli_ctx_params, which the context's parameters then point to:
     * the LoRA list with the LCM-LoRA appended */
    const char *lora_specs[IID_CLI_MAX_LORAS + 1];
    char lcm_lora[4096];
    const char *device; /* --backend (or its alias --device); NULL: the default */
    iid_compute_dtype_t dtype; /* --dtype, resolved (auto -> f32 or bf16) */
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


/* MODELS/lcm-lora-sdxl/pytorch_lora_weights.safetensors into buf; fails,
 * naming it and how to get it, when that file is missing. */
iid_status iid_cli_lcm_lora_path(const iid_cli_models_t *m, char *buf, size_t cap, iid_error_t *err);

/* The backend name from --backend and its alias --device (either may be NULL):
 * fails on an unknown name, on cuda in a build without it, and when the two
 * disagree. *out is NULL when neither is given. */
iid_status iid_cli_backend(const char *backend, const char *device, const char **out, iid_error_t *err);

/* --plain-prompts, --no-face-mask and --vae-tile on top of iid_render_params_init. */
void iid_cli_render_defaults(const iid_opts_t *o, const iid_cli_models_t *m, iid_render_params_t *r);

/* The context parameters of m (strings borrowed from m, which must outlive the
 * context's creation). --device cuda is refused here, naming the option; --lcm
 * without the LCM-LoRA file says how to get it. Sets $IID_DTYPE to the chosen
 * compute dtype (the cpu backend binds weights in it; the CLI entry is the one
 * place that sets process state). */
iid_status iid_cli_ctx_params(iid_cli_models_t *m, int load_faces, iid_ctx_params_t *p, iid_error_t *err);

/* Create the context of p; with m->verbose, print the peak memory after loading. */
iid_status iid_cli_ctx_open(const iid_cli_models_t *m, const iid_ctx_params_t *p, iid_ctx_t **out, iid_error_t *err);

/* With --verbose: one line of what the engine's caches saved. */
void iid_cli_print_stats(const char *cmd, iid_ctx_t *ctx);

#endif
