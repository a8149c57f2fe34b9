/*
 * serve_run.h - running the web UI from the CLI: `instantid serve` and
 * `instantid batch --then-serve` share it, the latter with the engine the batch
 * already loaded.
 */
#ifndef IID_CLI_SERVE_RUN_H
#define IID_CLI_SERVE_RUN_H

#include "cli/options.h"
#include "iid.h"
#include "pipeline/infotext.h"
#include "server/server.h"

/* The address options `serve` and `batch --then-serve` share. */
#define IID_CLI_SERVE_OPTS                                                                                    \
    {"host", 0, "ADDR", "address to bind (default 127.0.0.1); any non-loopback address requires --token"},   \
        {"port", 0, "N", "port (default 7860; 0 picks a free one)"},                                          \
        {"token", 0, "SECRET", "secret every /api/ and /files/ request must carry (Bearer header or ?token=)"}

/* The web UI's LCM toggle (front/engine_bind.h, iid__binding_set_lcm). */
typedef struct iid_cli_lcm {
    const iid_model_names_t *models; /* an LCM job's PNG metadata names; NULL: as a plain job's */
    const char *why_not;             /* why LCM mode is unavailable (the LCM-LoRA file is missing); NULL: none said */
    int on;                          /* serve --lcm: the page starts with the toggle ticked */
} iid_cli_lcm_t;

/* --host, --port and --token into so (unset ones keep so's values). */
iid_status iid_cli_serve_options(const iid_opts_t *o, iid_server_options_t *so, iid_error_t *err);

/* Serve until Ctrl-C or SIGTERM with engine ctx (NULL: the page, the log and
 * the files only; generation answers 503 and the page shows so->engine_error),
 * rendering with defaults' plain_prompts, face_mask and vae_tile, naming the
 * SDXL model `models` in the PNGs' metadata (NULL: not named), with the LCM
 * toggle of lcm (NULL: none beyond what ctx offers). Requests and jobs are
 * reported on stderr. Returns the process exit status. */
int iid_cli_serve(const iid_server_options_t *so, iid_ctx_t *ctx, const iid_render_params_t *defaults,
                  const iid_model_names_t *models, const iid_cli_lcm_t *lcm);

#endif
