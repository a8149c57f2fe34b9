/*
 * runner.h - running a batch plan against a generation engine.
 *
 * The runner owns the bookkeeping; the engine owns the models. The engine is a
 * small table of callbacks (iid_batch_engine_t) that the real InstantID pipeline
 * implements (and the tests implement with a fake): it loads its models once,
 * before the run, and then
 *   prepare()  decodes one input image, resizes it (to the fixed size, or by the
 *              demo's resize_img rule when none is given), finds the faces and
 *              computes what every job of that image shares (embedding, keypoint
 *              image, mask), returning an opaque handle and the sizes and face
 *              numbers that go into the log;
 *   generate() runs one job on a prepared image and writes the PNG (with the
 *              given `parameters` text chunk) to the temporary path it is given;
 *   release()  frees a prepared handle.
 * The runner calls prepare() once per image while that image's handle is in its
 * small cache (jobs of one image run back to back), and remembers an image that
 * failed to prepare so its other jobs fail at once with the same reason. Beyond
 * that small cache, the real engine keeps every photo's face analysis for the
 * whole plan (include/iid.h), so a handle prepared again costs no detection. After generate() succeeds the runner
 * renames the temporary file into place, then appends the log row and flushes it.
 *
 * Failure model: a job that fails (unreadable image, no face, out of memory, any
 * engine error, a failed rename) gets a log row with success=False and the
 * engine's one-line message, and the batch goes on. iid__batch_run itself fails
 * only when the batch cannot run at all: the output folder cannot be created, the
 * log cannot be opened or written, a resumed log belongs to another plan, or
 * memory runs out in the runner.
 */
#ifndef IID_BATCH_RUNNER_H
#define IID_BATCH_RUNNER_H

#include <signal.h>
#include <stdio.h>

#include "batch/csv_log.h"
#include "batch/plan.h"
#include "pipeline/infotext.h"
#include "text/styles.h"
#include "core/status.h"

/* How input images are sized: width/height 0 means the demo's resize_img rule;
 * otherwise resize and pad to exactly width x height with pad_rgb. */
typedef struct iid_batch_size {
    int width, height;
    unsigned char pad_rgb[3];
} iid_batch_size_t;

/* What prepare() learned about an image. */
typedef struct iid_prepared_info {
    int width, height; /* the generation size */
    int face_count;    /* faces detected */
    double face_score; /* detector score of the face used (the largest) */
    const char *note;  /* an identity's photos ("photos: a.jpg, b.jpg; left out: ..."), owned by the
                        * prepared handle, logged in error_message of its successful jobs; or NULL */
} iid_prepared_info_t;

/* One job as the engine sees it. All strings are valid during the call. */
typedef struct iid_batch_request {
    const iid_plan_job_t *job;    /* values and seed */
    const char *image_path;
    const char *style_name;
    const char *prompt;           /* the style applied to the user's prompt */
    const char *negative_prompt;  /* the style's negative + " " + the user's */
    const char *scheduler;
    const char *out_path;         /* write the PNG here (a temporary name) */
    const char *png_parameters;   /* the `parameters` text chunk to embed (A1111) */
    const char *png_prompt;       /* the `prompt` text chunk to embed (ComfyUI graph) */
} iid_batch_request_t;

/* Step progress from inside generate(): step runs 1..total. */
typedef void (*iid_step_cb)(void *user, int step, int total);

typedef struct iid_batch_engine {
    void *ctx;
    const char *device; /* logged in the device column, e.g. "cpu" or "cuda:0" */
    iid_status (*prepare)(void *ctx, const char *image_path, const iid_batch_size_t *size, void **prepared,
                          iid_prepared_info_t *info, iid_error_t *err);
    iid_status (*generate)(void *ctx, void *prepared, const iid_batch_request_t *req, iid_step_cb cb,
                           void *cb_user, iid_error_t *err);
    void (*release)(void *ctx, void *prepared);
} iid_batch_engine_t;

/* A job as reported to the observer. */
typedef struct iid_batch_event {
    const iid_plan_job_t *job;
    const char *image_name; /* base name of the input */
    const char *style_name;
    const char *file_name;  /* output base name */
    int ok;                 /* job_end only */
    const char *error;      /* job_end, failures only */
    double seconds;         /* job_end only */
} iid_batch_event_t;

/* Callbacks for progress display; any may be NULL. */
typedef struct iid_batch_observer {
    void *user;
    void (*job_start)(void *user, const iid_batch_event_t *ev);
    void (*job_step)(void *user, int step, int total);
    void (*job_end)(void *user, const iid_batch_event_t *ev);
} iid_batch_observer_t;

typedef struct iid_batch_options {
    const char *output_dir;      /* created when missing */
    const char *log_path;
    const char *prompt;          /* the user's prompt, before styling */
    const char *negative_prompt; /* the user's negative prompt */
    const char *scheduler;       /* logged and passed to the engine */
    iid_batch_size_t size;
    int resume;                  /* skip jobs that the log records as successful */
    iid_shard_t shard;
    int cache_images;            /* prepared images kept; < 1 means 1 */
    const iid_model_names_t *models;   /* "Model", "Model hash" and the LoRAs in the PNGs, the LoRAs
                                          also after the scheduler in the log; NULL: not written */
    int face_mask;                     /* the engine's "enhance non-face region", for the PNGs (default 1) */
    const volatile sig_atomic_t *stop; /* when non-NULL and set: stop before the next job */
    const iid_batch_observer_t *observer;
} iid_batch_options_t;

/* Defaults: output "generated_images", log "generation_log.csv", the original
 * preprocess.py's prompt and negative prompt, scheduler "euler", no fixed size
 * (white padding when one is set), whole plan, cache of 4 images. */
void iid__batch_options_init(iid_batch_options_t *o);

/* The original preprocess.py's defaults for --prompt and --negative-prompt. */
extern const char *const iid__batch_default_prompt;
extern const char *const iid__batch_default_negative;

typedef struct iid_batch_result {
    long selected;   /* jobs of the plan in this shard */
    long skipped;    /* of those, already done according to the log (resume) */
    long attempted, ok, failed;
    int interrupted; /* the stop flag ended the run early */
} iid_batch_result_t;

/* The jobs this run would attempt: in o's shard and, with o->resume, not logged
 * as successful in o->log_path. todo[i] is set for each such job (todo has
 * plan->count entries, caller-allocated). With resume, every logged row whose
 * job_id is inside the plan must agree with the plan on image, style and seed,
 * else the log belongs to another plan and this fails. */
iid_status iid__batch_select(const iid_plan_t *plan, const iid_batch_options_t *o, unsigned char *todo,
                             iid_batch_result_t *res, iid_error_t *err);

/* Run the selected jobs in job-id order; see the failure model above. res is
 * filled even when the run stops early. */
iid_status iid__batch_run(const iid_plan_t *plan, const iid_styles_t *styles, const iid_batch_engine_t *engine,
                          const iid_batch_options_t *o, iid_batch_result_t *res, iid_error_t *err);

/* --dry-run: write the log header and one row per selected job, with the
 * columns known before running filled in (job id, image, output name, values,
 * seed, style, prompts, scheduler, shard, and width/height: the fixed size, else
 * width[image] x height[image] when given and known, plan_sizes.h). */
iid_status iid__batch_dry_run(FILE *out, const iid_plan_t *plan, const iid_batch_options_t *o, const int *width,
                              const int *height, iid_error_t *err);

/* The output file name "<image stem>_<style slug>_<job_id>_<seed>.png". */
void iid__batch_output_name(char *buf, size_t cap, const char *image_path, const char *style, long job_id,
                            unsigned long seed);

/* The render settings of a job (its values, prompts, scheduler) on top of the
 * defaults of iid_render_params_init. Pointers are borrowed from req. */
void iid__batch_render_params(const iid_batch_request_t *req, iid_render_params_t *r);

/* A job's PNG metadata (infotext.h): the A1111 `parameters` text, with the
 * style, the input photo's name and the job id, and the ComfyUI `prompt` graph.
 * Both malloc'd; fails only when out of memory (then both are NULL). */
iid_status iid__batch_metadata(const iid_batch_request_t *req, int width, int height, const iid_model_names_t *models,
                               int face_mask, char **parameters, char **prompt, iid_error_t *err);

#endif
