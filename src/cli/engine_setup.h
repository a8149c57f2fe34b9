/*
 * engine_setup.h - the common model options (--models, --sdxl, --controlnet,
 * --ip-adapter, --face-models, --resampler-heads, --device, --threads, --dtype,
 * --plain-prompts, --no-face-mask, --vae-tile) turned into the engine API's
 * parameters (include/iid.h), the same way for generate, batch and serve.
 */
#ifndef IID_CLI_ENGINE_SETUP_H
#define IID_CLI_ENGINE_SETUP_H

#include "cli/options.h"
#include "iid.h"

typedef struct iid_cli_models {
    const char *models, *sdxl, *controlnet, *ip_adapter, *face_models;
    const char *device; /* NULL: the default */
    const char *dtype;  /* NULL: the default */
    long resampler_heads;
    long threads;       /* 0: all cores */
    long vae_tile;      /* 0: whole image */
    int verbose;
} iid_cli_models_t;

/* Read the common options (defaults for unset ones); fails naming the option. */
iid_status iid_cli_models_read(const iid_opts_t *o, iid_cli_models_t *m, iid_error_t *err);

/* --plain-prompts, --no-face-mask and --vae-tile on top of iid_render_params_init. */
void iid_cli_render_defaults(const iid_opts_t *o, const iid_cli_models_t *m, iid_render_params_t *r);

/* The context parameters of m (strings borrowed from m). --device cuda is
 * refused here, naming the option. */
iid_status iid_cli_ctx_params(const iid_cli_models_t *m, int load_faces, iid_ctx_params_t *p, iid_error_t *err);

/* Create the context of p; with m->verbose, print the peak memory after loading. */
iid_status iid_cli_ctx_open(const iid_cli_models_t *m, const iid_ctx_params_t *p, iid_ctx_t **out, iid_error_t *err);

/* With --verbose: one line of what the engine's caches saved. */
void iid_cli_print_stats(const char *cmd, iid_ctx_t *ctx);

#endif
