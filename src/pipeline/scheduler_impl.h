/*
 * scheduler_impl.h - what scheduler.c shares with the per-family files
 * (scheduler_euler.c, scheduler_heun.c, scheduler_dpmpp.c, scheduler_deis.c,
 * scheduler_lcm.c): the resolved configuration, the scheduler object, the family
 * table entry, and the schedule helpers several families use.
 *
 * Not a public header: only src/pipeline/scheduler*.c include it.
 */
#ifndef IID_PIPELINE_SCHEDULER_IMPL_H
#define IID_PIPELINE_SCHEDULER_IMPL_H

#include <stdint.h>

#include "pipeline/scheduler.h"

typedef enum { IID_PRED_EPSILON, IID_PRED_V, IID_PRED_SAMPLE } iid_sched_pred_t;
typedef enum { IID_SPACING_LEADING, IID_SPACING_LINSPACE, IID_SPACING_TRAILING } iid_sched_spacing_t;
typedef enum {
    IID_ALGO_NONE,
    IID_ALGO_DPMPP,      /* dpmsolver++ */
    IID_ALGO_DPM,        /* dpmsolver */
    IID_ALGO_SDE_DPMPP,  /* sde-dpmsolver++ */
    IID_ALGO_SDE_DPM,    /* sde-dpmsolver */
    IID_ALGO_DEIS
} iid_sched_algo_t;
typedef enum { IID_SOLVER_MIDPOINT, IID_SOLVER_HEUN, IID_SOLVER_LOGRHO } iid_sched_solver_t;

/* The resolved configuration: the class defaults, then scheduler_config.json, then
 * the name's overrides. */
typedef struct iid_sched_cfg {
    int num_train_timesteps;
    double beta_start, beta_end;
    int scaled_linear;            /* beta_schedule: 1 scaled_linear, 0 linear */
    iid_sched_pred_t prediction;
    iid_sched_spacing_t spacing;
    int steps_offset;
    int use_karras_sigmas;
    int has_sigma_min, has_sigma_max; /* Euler only: explicit Karras range */
    double sigma_min, sigma_max;
    int solver_order;
    iid_sched_algo_t algorithm;
    iid_sched_solver_t solver_type;
    int lower_order_final, euler_at_final;
    int original_inference_steps; /* LCM */
    double timestep_scaling;      /* LCM */
    int set_alpha_to_one;         /* LCM */
    int clip_sample;              /* Heun, LCM */
    double clip_sample_range;
} iid_sched_cfg_t;

typedef struct iid_sched_family {
    /* Fill the class defaults of diffusers' __init__. */
    void (*defaults)(iid_sched_cfg_t *c);
    /* Fill s->timesteps, s->n_ts, s->sigmas, s->n_sig, s->init_noise_sigma. */
    iid_status (*set_timesteps)(iid_sched_t *s, int n, iid_error_t *err);
    /* One step; the common checks (order, n, state buffers) are done. */
    iid_status (*step)(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                       const iid_noise_source_t *noise, float *denoised, iid_error_t *err);
    int scales_input;  /* scale_model_input divides by sqrt(sigma^2 + 1) */
    int int_timesteps; /* the reference's timesteps are int64 */
    int state_buffers; /* per-element buffers kept between steps */
} iid_sched_family_t;

extern const iid_sched_family_t iid__sched_euler;
extern const iid_sched_family_t iid__sched_heun;
extern const iid_sched_family_t iid__sched_dpmpp;
extern const iid_sched_family_t iid__sched_deis;
extern const iid_sched_family_t iid__sched_lcm;

#define IID_SCHED_MAX_STATE 4

struct iid_sched {
    const char *name, *class_key;
    const iid_sched_family_t *fam;
    iid_sched_cfg_t cfg;
    int n_train;
    float *betas;        /* (T) */
    float *acp;          /* (T) alphas_cumprod */
    float *train_sigmas; /* (T) sqrt((1 - acp) / acp), float32 */
    float *log_sigmas;   /* (T) log of train_sigmas, float32 as numpy makes it */
    int n_ts;
    float *timesteps; /* (n_ts) */
    int n_sig;
    float *sigmas; /* (n_sig) or NULL */
    float init_noise_sigma;
    /* step state */
    int next_step;
    size_t state_n;
    float *state[IID_SCHED_MAX_STATE];
    int lower_order_nums; /* multistep: model outputs held */
    int heun_second;      /* Heun: the next step is the second-order correction */
    float heun_dt;
};

/* numpy.interp of the training sigmas at (fractional) timestep t. */
double iid__sched_interp_sigma(const iid_sched_t *s, double t);
/* _convert_to_karras: n sigmas from sigma_max to sigma_min with rho 7, in double. */
void iid__sched_karras(double sigma_max, double sigma_min, int n, double *out);
/* _sigma_to_t: the fractional training timestep whose log-sigma brackets log(sigma). */
double iid__sched_sigma_to_t(const iid_sched_t *s, double sigma);
/* Allocate the schedule arrays (n_ts timesteps, n_sig sigmas; 0 for none). */
iid_status iid__sched_alloc_schedule(iid_sched_t *s, int n_ts, int n_sig, iid_error_t *err);
/* The base schedule of the Euler-type (sigma-space) samplers, in double: n
 * timesteps by the configured spacing, their interpolated sigmas, and with
 * use_karras_sigmas the Karras sigmas and their inverted (fractional) timesteps. */
iid_status iid__sched_discrete_base(const iid_sched_t *s, int n, double *ts, double *sig, iid_error_t *err);
/* set_timesteps shared by DPM-Solver and DEIS (integer timesteps, final sigma of
 * the training schedule's first entry, or Karras). */
iid_status iid__sched_multistep_set_timesteps(iid_sched_t *s, int n, iid_error_t *err);
/* The solver order a multistep step uses (1, 2 or 3), diffusers' lower_order_*
 * rules included. */
int iid__sched_multistep_order(const iid_sched_t *s, int step);
/* Rotate the multistep history and return the slot for this step's converted
 * model output (the oldest entry is overwritten). */
float *iid__sched_multistep_next(iid_sched_t *s);
/* History entry: 0 newest, 1 the one before, ... */
const float *iid__sched_multistep_hist(const iid_sched_t *s, int back);
/* alpha_t = 1/sqrt(sigma^2+1), sigma_t = sigma * alpha_t, in float32. */
void iid__sched_alpha_sigma(float sigma, float *alpha_t, float *sigma_t);

#endif
