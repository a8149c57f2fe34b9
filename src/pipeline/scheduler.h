/*
 * scheduler.h - diffusion samplers as diffusers 0.25 runs them for InstantID.
 *
 * Every scheduler the InstantID demos offer, built the way `from_config(<SDXL
 * scheduler_config.json>, **overrides)` builds it:
 *
 *   name                  diffusers class (kit key)                   overrides
 *   euler (default)       EulerDiscreteScheduler                      -
 *   heun                  HeunDiscreteScheduler                       -
 *   deis                  DEISMultistepScheduler                      -
 *   dpmpp_2m              DPMSolverMultistepScheduler                 -
 *   dpmpp_2m_karras       DPMSolverMultistepScheduler-Karras          use_karras_sigmas
 *   dpmpp_2m_sde_karras   DPMSolverMultistepScheduler-Karras-SDE      + sde-dpmsolver++
 *   lcm                   LCMScheduler                                -
 *
 * (the table lives in scheduler.c; iid__sched_name_at() walks it). Keys absent from
 * the config take the class's own defaults, as diffusers' __init__ does.
 *
 * Precision follows the reference: betas and alphas_cumprod are float32 (torch),
 * the cumulative product accumulated in double as torch's CPU cumprod does; the
 * training sigmas sqrt((1-acp)/acp) are float32; interpolation, Karras ramps and
 * sigma->t inversion run in double (numpy) and are rounded to float32 once; the
 * per-step scalar arithmetic (alpha_t, lambda_t, h, c_skip, ...) is float32 like
 * the 0-dim torch tensors it mirrors.
 *
 * Use:
 *   iid_sched_t *s;
 *   iid__sched_load(&s, "euler", "models/sdxl/scheduler/scheduler_config.json", &err);
 *   iid__sched_set_timesteps(s, 30, &err);
 *   x *= iid__sched_init_noise_sigma(s);
 *   for (int i = 0; i < iid__sched_num_timesteps(s); i++) {
 *       iid__sched_scale_model_input(s, i, x, x_in, n);   // UNet input
 *       ... eps = unet(x_in, iid__sched_timesteps(s)[i]) ...
 *       iid__sched_step(s, i, eps, x, x, n, &noise, NULL, &err);
 *   }
 *
 * Steps must be taken in order 0, 1, 2, ... after set_timesteps (Heun and the
 * multistep solvers keep state between them; step() refuses anything else).
 */
#ifndef IID_PIPELINE_SCHEDULER_H
#define IID_PIPELINE_SCHEDULER_H

#include <stddef.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/json.h"

typedef struct iid_sched iid_sched_t;

/* The i-th scheduler name in table order ("euler" first, the default), or NULL
 * when i is past the end. */
const char *iid__sched_name_at(int i);
/* Our name for a diffusers class key as the kit spells it ("EulerDiscreteScheduler",
 * "DPMSolverMultistepScheduler-Karras", ...), or NULL when unknown. */
const char *iid__sched_name_for_class(const char *class_key);

/* Build scheduler `name` from a parsed scheduler_config.json plus the name's
 * overrides. Fails (IID_ERR_INVALID) on an unknown name, (IID_ERR_UNSUPPORTED) on
 * config values we do not implement (beta schedules other than linear and
 * scaled_linear, trained_betas, interpolation other than linear, thresholding,
 * prediction types other than epsilon / v_prediction / sample), with a message
 * naming the field. *out is NULL on failure; free with iid__sched_free(). */
iid_status iid__sched_create(iid_sched_t **out, const char *name, const iid_json_t *config, iid_error_t *err);
/* The same from a config file path. */
iid_status iid__sched_load(iid_sched_t **out, const char *name, const char *config_path, iid_error_t *err);
void iid__sched_free(iid_sched_t *s);

/* Our name and the diffusers class key of this scheduler. */
const char *iid__sched_name(const iid_sched_t *s);
const char *iid__sched_class(const iid_sched_t *s);

/* Resolved configuration values (what from_config produced), for checks and logs. */
typedef struct iid_sched_info {
    int num_train_timesteps;
    int steps_offset;
    int use_karras_sigmas;
    int solver_order;           /* 1 for Euler, Heun and LCM */
    const char *timestep_spacing;
    const char *prediction_type;
    const char *algorithm_type; /* "" where the class has none */
} iid_sched_info_t;
void iid__sched_info(const iid_sched_t *s, iid_sched_info_t *info);

/* The training schedule: num_train_timesteps float32 values each. */
int iid__sched_num_train_timesteps(const iid_sched_t *s);
const float *iid__sched_betas(const iid_sched_t *s);
const float *iid__sched_alphas_cumprod(const iid_sched_t *s);

/* Compute the timesteps (and sigmas) of an n-step schedule and reset any step
 * state. Fails when n < 1 or n exceeds what the class accepts (LCM: at most
 * original_inference_steps). */
iid_status iid__sched_set_timesteps(iid_sched_t *s, int n, iid_error_t *err);
/* Number of model evaluations of the schedule (2n-1 for Heun, else n). */
int iid__sched_num_timesteps(const iid_sched_t *s);
/* The timesteps the UNet receives, as float (integers for all but Euler/Heun with
 * fractional spacings). */
const float *iid__sched_timesteps(const iid_sched_t *s);
/* True when the reference holds the timesteps as int64 (DEIS, DPM, LCM). */
int iid__sched_timesteps_are_int(const iid_sched_t *s);
/* The sigma table of the schedule and its length, or NULL / 0 (LCM has none). */
const float *iid__sched_sigmas(const iid_sched_t *s);
int iid__sched_num_sigmas(const iid_sched_t *s);
/* The factor the initial standard-normal latents are multiplied by. */
float iid__sched_init_noise_sigma(const iid_sched_t *s);

/* scale_model_input: out[k] = in[k] / sqrt(sigma_i^2 + 1) for Euler and Heun,
 * a copy for the others. in and out may alias. step in [0, num_timesteps). */
void iid__sched_scale_model_input(const iid_sched_t *s, int step, const float *in, float *out, size_t n);

/* One step: from `sample` and the model output at timestep index `step`, write the
 * next sample to prev_sample (may alias sample). SDE DPM-Solver and LCM (all but
 * its last step) draw n standard normals from `noise` (may be NULL for the
 * others). When denoised is not NULL, LCM writes its denoised prediction there (the
 * other classes leave it untouched). Fails when steps are taken out of order, n
 * changes within a schedule, a needed noise source is missing or fails, or memory
 * runs out. */
iid_status iid__sched_step(iid_sched_t *s, int step, const float *model_output, const float *sample,
                           float *prev_sample, size_t n, const iid_noise_source_t *noise, float *denoised,
                           iid_error_t *err);

#endif
