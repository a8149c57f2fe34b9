/*
 * scheduler_heun.c - HeunDiscreteScheduler (diffusers 0.25).
 *
 * The Euler schedule with every timestep after the first doubled: timesteps
 * [t0, t1, t1, ..., t_{n-1}, t_{n-1}] (2n-1 model calls) and sigmas
 * [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0]. Steps alternate:
 *   first order (even calls):  d = (x - x0)/sigma, keep d, dt = sigma_next - sigma
 *                              and x; x' = x + d*dt
 *   second order (odd calls):  d2 = (x - x0')/sigma_next with x0' from the model
 *                              at sigma_next; x' = x_kept + (d + d2)/2 * dt
 * so the scheduler holds two per-element buffers (d and x) between calls.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/scheduler_impl.h"

static void heun_defaults(iid_sched_cfg_t *c)
{
    *c = (iid_sched_cfg_t){.num_train_timesteps = 1000,
                           .beta_start = 0.00085,
                           .beta_end = 0.012,
                           .prediction = IID_PRED_EPSILON,
                           .spacing = IID_SPACING_LINSPACE,
                           .solver_order = 1,
                           .clip_sample_range = 1.0};
}

static iid_status heun_set_timesteps(iid_sched_t *s, int n, iid_error_t *err)
{
    double *ts = malloc((size_t)n * sizeof *ts), *sig = malloc((size_t)n * sizeof *sig);
    iid_status st = (!ts || !sig) ? iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory", s->name) : IID_OK;
    if (st == IID_OK) st = iid__sched_discrete_base(s, n, ts, sig, err);
    if (st == IID_OK) st = iid__sched_alloc_schedule(s, 2 * n - 1, 2 * n, err);
    if (st == IID_OK) {
        float max_sigma = 0.0f;
        s->timesteps[0] = (float)ts[0];
        s->sigmas[0] = (float)sig[0];
        for (int i = 1; i < n; i++) {
            s->timesteps[2 * i - 1] = s->timesteps[2 * i] = (float)ts[i];
            s->sigmas[2 * i - 1] = s->sigmas[2 * i] = (float)sig[i];
        }
        s->sigmas[2 * n - 1] = 0.0f;
        for (int i = 0; i < 2 * n; i++)
            if (s->sigmas[i] > max_sigma) max_sigma = s->sigmas[i];
        s->init_noise_sigma =
            s->cfg.spacing == IID_SPACING_LEADING ? sqrtf(max_sigma * max_sigma + 1.0f) : max_sigma;
    }
    free(ts);
    free(sig);
    return st;
}

/* The x0 prediction at noise level sigma_in. */
static float heun_x0(const iid_sched_t *s, float x, float mo, float sigma_in)
{
    float x0;
    switch (s->cfg.prediction) {
    case IID_PRED_EPSILON: x0 = x - sigma_in * mo; break;
    case IID_PRED_V: x0 = mo * (-sigma_in / sqrtf(sigma_in * sigma_in + 1.0f)) + x / (sigma_in * sigma_in + 1.0f); break;
    default: x0 = mo; break;
    }
    if (s->cfg.clip_sample) {
        float r = (float)s->cfg.clip_sample_range;
        x0 = x0 < -r ? -r : x0 > r ? r : x0;
    }
    return x0;
}

static iid_status heun_step(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                            const iid_noise_source_t *noise, float *denoised, iid_error_t *err)
{
    (void)noise, (void)denoised, (void)err;
    float *deriv = s->state[0], *kept = s->state[1];
    if (!s->heun_second) {
        float sigma = s->sigmas[step], sigma_next = s->sigmas[step + 1];
        float dt = sigma_next - sigma;
        for (size_t k = 0; k < n; k++) {
            float d = (x[k] - heun_x0(s, x[k], mo[k], sigma)) / sigma;
            deriv[k] = d;
            kept[k] = x[k];
            out[k] = x[k] + d * dt;
        }
        s->heun_dt = dt;
        s->heun_second = 1;
    } else {
        float sigma_next = s->sigmas[step];
        float dt = s->heun_dt;
        for (size_t k = 0; k < n; k++) {
            float d2 = (x[k] - heun_x0(s, x[k], mo[k], sigma_next)) / sigma_next;
            float d = (deriv[k] + d2) / 2.0f;
            out[k] = kept[k] + d * dt;
        }
        s->heun_second = 0;
    }
    return IID_OK;
}

const iid_sched_family_t iid__sched_heun = {
    .defaults = heun_defaults,
    .set_timesteps = heun_set_timesteps,
    .step = heun_step,
    .scales_input = 1,
    .int_timesteps = 0,
    .state_buffers = 2,
};
