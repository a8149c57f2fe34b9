/*
 * scheduler_euler.c - EulerDiscreteScheduler (diffusers 0.25), the demo's default.
 *
 * Schedule: n timesteps by the configured spacing ("leading" for SDXL:
 * round(i * (T // n)) reversed, plus steps_offset), sigma(t) by linear
 * interpolation of the training sigmas (optionally replaced by Karras sigmas and
 * their inverted timesteps), then a final 0. init_noise_sigma is
 * sqrt(max_sigma^2 + 1) ("leading") or max_sigma ("linspace", "trailing").
 *
 * Step (s_churn 0, so gamma = 0 and sigma_hat = sigma; the reference's random
 * draw is multiplied by zero and we skip it):
 *   x0 = x - sigma * eps            (epsilon prediction)
 *   d  = (x - x0) / sigma
 *   x' = x + d * (sigma_next - sigma)
 * all in float32 as the reference computes it.
 */
#include <math.h>
#include <stdlib.h>

#include "pipeline/scheduler_impl.h"

static void euler_defaults(iid_sched_cfg_t *c)
{
    *c = (iid_sched_cfg_t){.num_train_timesteps = 1000,
                           .beta_start = 0.0001,
                           .beta_end = 0.02,
                           .prediction = IID_PRED_EPSILON,
                           .spacing = IID_SPACING_LINSPACE,
                           .solver_order = 1,
                           .clip_sample_range = 1.0};
}

static iid_status euler_set_timesteps(iid_sched_t *s, int n, iid_error_t *err)
{
    double *ts = malloc((size_t)n * sizeof *ts), *sig = malloc((size_t)n * sizeof *sig);
    iid_status st = (!ts || !sig) ? iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory", s->name) : IID_OK;
    if (st == IID_OK) st = iid__sched_discrete_base(s, n, ts, sig, err);
    if (st == IID_OK) st = iid__sched_alloc_schedule(s, n, n + 1, err);
    if (st == IID_OK) {
        float max_sigma = 0.0f;
        for (int i = 0; i < n; i++) {
            s->timesteps[i] = (float)ts[i];
            s->sigmas[i] = (float)sig[i];
            if (s->sigmas[i] > max_sigma) max_sigma = s->sigmas[i];
        }
        s->sigmas[n] = 0.0f;
        s->init_noise_sigma =
            s->cfg.spacing == IID_SPACING_LEADING ? sqrtf(max_sigma * max_sigma + 1.0f) : max_sigma;
    }
    free(ts);
    free(sig);
    return st;
}

static iid_status euler_step(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                             const iid_noise_source_t *noise, float *denoised, iid_error_t *err)
{
    (void)noise, (void)denoised, (void)err;
    float sigma = s->sigmas[step];
    float dt = s->sigmas[step + 1] - sigma;
    float v_scale = -sigma / sqrtf(sigma * sigma + 1.0f), v_div = sigma * sigma + 1.0f;
    for (size_t k = 0; k < n; k++) {
        float x0;
        switch (s->cfg.prediction) {
        case IID_PRED_EPSILON: x0 = x[k] - sigma * mo[k]; break;
        case IID_PRED_V: x0 = mo[k] * v_scale + x[k] / v_div; break;
        default: x0 = mo[k]; break;
        }
        float d = (x[k] - x0) / sigma;
        out[k] = x[k] + d * dt;
    }
    return IID_OK;
}

const iid_sched_family_t iid__sched_euler = {
    .defaults = euler_defaults,
    .set_timesteps = euler_set_timesteps,
    .step = euler_step,
    .scales_input = 1,
    .int_timesteps = 0,
    .state_buffers = 0,
};
