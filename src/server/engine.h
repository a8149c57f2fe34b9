/*
 * engine.h - what the web server needs from a generation engine.
 *
 * The server (server.h) knows nothing about diffusion: it collects a request from
 * the web form, queues it, and hands it to an engine through this table of
 * function pointers. The real InstantID pipeline implements it; the unit and
 * browser tests implement it with a double that writes a small PNG. A build
 * without an engine (or whose models did not load) passes a table whose
 * `generate` is NULL, and may still fill `catalog` (the styles and schedulers
 * need no model): the server still serves the page, the batch log and the output
 * files, and answers POST /api/generate with 503.
 *
 * Threading: the server calls `generate` from one worker thread, one job at a
 * time, and `check` and `catalog` from its HTTP threads, possibly at once and
 * while a job runs: `check` must serialise what it shares with `generate`; an
 * engine whose catalog is static data needs no locking.
 *
 * Errors: `check` and `generate` return a status and fill err with a one-line
 * message that the API shows to the user verbatim. The status of `check`
 * decides the HTTP code of the refused POST /api/generate:
 *   IID_ERR_FORMAT, IID_ERR_INVALID -> 400 (the face or pose image cannot be
 *                                      decoded, a value is out of its domain)
 *   IID_ERR_RANGE                   -> 413 (an image over the pixel or size limit)
 *   IID_ERR_UNSUPPORTED             -> 415 (GIF, animated WebP, BMP, ...)
 *   IID_ERR_NO_FACE                 -> 422 (decoded, but no face detected)
 *   anything else                   -> 500
 * The status of `generate` decides the HTTP code of the failed job (GET
 * /api/jobs/ID): 400 and 422 as above, IID_ERR_INTERRUPTED 503 (the server is
 * shutting down), anything else 500 (the upload was checked already, so a
 * range or an unsupported feature met while generating is our fault).
 */
#ifndef IID_SERVER_ENGINE_H
#define IID_SERVER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "iid.h"

/* One generation request, as the form sent it. Field names follow the CLI
 * options (DESIGN.md section 1). The server validates ranges before queueing:
 * steps 1..200, strengths 0..2, guidance 0..30, width/height 0 or a multiple of
 * 8 in 64..4096, style and scheduler among the catalog's names when it lists any.
 * All pointers are owned by the server and stay valid during `generate`. */
typedef struct iid_gen_request {
    const unsigned char *face; /* the uploaded face image file, as sent */
    size_t face_size;
    const char *face_name;     /* its file name as the browser gave it ("" if none) */
    const unsigned char *pose; /* optional pose image file; NULL when absent */
    size_t pose_size;
    const char *pose_name;
    const char *prompt;          /* "" when empty */
    const char *negative_prompt; /* "" when empty */
    const char *style;           /* a catalog style name */
    const char *scheduler;       /* a catalog scheduler name */
    double identitynet_strength; /* IdentityNet (ControlNet) conditioning scale */
    double adapter_strength;     /* IP-Adapter scale */
    int steps;
    double guidance;
    uint64_t seed;
    int width, height; /* 0 x 0: the engine sizes the output from the face image */
    int face_mask;     /* "enhance non-face region": 1 on, 0 off, -1 the server's default */
    int lcm;           /* 1: LCM mode (only when the catalog says lcm_available): the lcm scheduler,
                          IID_LCM_STEPS and IID_LCM_GUIDANCE where the form gave none */
    const char *lora_tags; /* the LoRAs the job runs with as the log records them after the scheduler
                              (" <lora:NAME:M>...", the catalog's for the job's mode); "" none */
} iid_gen_request_t;

/* Called by the engine after each denoising step (step in 1..total). Returns
 * nonzero when the engine should stop at once and return IID_ERR_INTERRUPTED. */
typedef int (*iid_gen_progress_fn)(void *user, int step, int total);

/* The names the form offers. Arrays and strings are owned by the engine and stay
 * valid for its lifetime. A default may be NULL (the first name is used). */
typedef struct iid_engine_catalog {
    const char *const *styles;
    int n_styles;
    const char *default_style;
    const char *const *schedulers;
    int n_schedulers;
    const char *default_scheduler;
    int lcm_available;      /* LCM mode (LCM-LoRA, few steps) can be requested */
    const char *lcm_reason; /* why not, when it cannot; may be NULL */
    int lcm_default;        /* the page starts with LCM mode ticked (serve --lcm) */
    const char *lora_tags;     /* the LoRAs of a plain job, " <lora:NAME:M>..." (A1111's notation); NULL: none */
    const char *lcm_lora_tags; /* those of an LCM job, the LCM-LoRA last; NULL: none */
} iid_engine_catalog_t;

typedef struct iid_server_engine {
    void *ctx;
    /* Generate one image for req and write it as a PNG to out_png_path, atomically
     * (a temporary name, then rename: the server lists the output folder while
     * jobs run). NULL: this build has no engine. */
    iid_status (*generate)(void *ctx, const iid_gen_request_t *req, iid_gen_progress_fn progress,
                           void *progress_user, const char *out_png_path, iid_error_t *err);
    /* Check a request before it is queued, so that a bad upload is refused at
     * once rather than failing later as a job: decode the face (and pose) image
     * and, when the engine has face models, detect a face in each. NULL: requests
     * are queued unchecked. */
    iid_status (*check)(void *ctx, const iid_gen_request_t *req, iid_error_t *err);
    /* Fill *out with the style and scheduler names. NULL: empty lists. */
    iid_status (*catalog)(void *ctx, iid_engine_catalog_t *out, iid_error_t *err);
} iid_server_engine_t;

#endif
