/*
 * scheduler_lcm.c - LCMScheduler (diffusers 0.25), the demos' "LCM" toggle.
 *
 * Schedule: the distillation grid t_j = (j+1) * (T // original_inference_steps) - 1,
 * j < original_inference_steps, reversed, sampled at floor(i * len / n) for
 * i < n. No sigmas; init_noise_sigma 1; no input scaling.
 *
 * Step i at timestep t (next timestep t', or t itself on the last step):
 *   x0 = (x - sqrt(1 - acp[t]) eps) / sqrt(acp[t])
 *   c_skip = 0.25 / ((10 t)^2 + 0.25),  c_out = 10 t / sqrt((10 t)^2 + 0.25)
 *   denoised = c_out x0 + c_skip x
 *   x' = sqrt(acp[t']) denoised + sqrt(1 - acp[t']) z    (z ~ N(0,1); all steps but the last)
 *   x' = denoised                                         (last step)
 * (10 is timestep_scaling). Float32 throughout as the reference.
 */
#include <math.h>

#include "pipeline/scheduler_impl.h"

static void lcm_defaults(iid_sched_cfg_t *c)
{
    *c = (iid_sched_cfg_t){.num_train_timesteps = 1000,
                           .beta_start = 0.00085,
                           .beta_end = 0.012,
                           .scaled_linear = 1,
                           .prediction = IID_PRED_EPSILON,
                           .spacing = IID_SPACING_LEADING,
                           .solver_order = 1,
                           .original_inference_steps = 50,
                           .timestep_scaling = 10.0,
                           .set_alpha_to_one = 1,
                           .clip_sample_range = 1.0};
}

static iid_status lcm_set_timesteps(iid_sched_t *s, int n, iid_error_t *err)
{
    int T = s->cfg.num_train_timesteps, orig = s->cfg.original_inference_steps;
    int k = T / orig;
    if (n > orig)
        return iid__fail(err, IID_ERR_INVALID, "scheduler %s: %d steps exceed original_inference_steps %d", s->name, n,
                         orig);
    IID_TRY(iid__sched_alloc_schedule(s, n, 0, err));
    for (int i = 0; i < n; i++) {
        int idx = (int)floor((double)i * ((double)orig / (double)n));
        int j = orig - 1 - idx; /* index into the ascending grid */
        s->timesteps[i] = (float)((j + 1) * k - 1);
    }
    s->init_noise_sigma = 1.0f;
    return IID_OK;
}

static iid_status lcm_step(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                           const iid_noise_source_t *noise, float *denoised, iid_error_t *err)
{
    const iid_sched_cfg_t *cfg = &s->cfg;
    int t = (int)s->timesteps[step];
    int last = step == s->n_ts - 1;
    int t_prev = last ? t : (int)s->timesteps[step + 1];
    float apt = s->acp[t];
    float apt_prev = t_prev >= 0 ? s->acp[t_prev] : (cfg->set_alpha_to_one ? 1.0f : s->acp[0]);
    float bpt = 1.0f - apt, bpt_prev = 1.0f - apt_prev;
    float scaled = (float)t * (float)cfg->timestep_scaling;
    float c_skip = 0.25f / (scaled * scaled + 0.25f);
    float c_out = scaled / sqrtf(scaled * scaled + 0.25f);
    float sa = sqrtf(apt), sb = sqrtf(bpt), sa_prev = sqrtf(apt_prev), sb_prev = sqrtf(bpt_prev);
    float *z = NULL;
    if (!last) {
        if (!noise || !noise->fill)
            return iid__fail(err, IID_ERR_INVALID, "scheduler %s: LCM steps need a noise source", s->name);
        z = s->state[0];
        IID_TRY(noise->fill(noise->user, z, n, err));
    }
    float r = (float)cfg->clip_sample_range;
    for (size_t k = 0; k < n; k++) {
        float x0;
        switch (cfg->prediction) {
        case IID_PRED_EPSILON: x0 = (x[k] - sb * mo[k]) / sa; break;
        case IID_PRED_V: x0 = sa * x[k] - sb * mo[k]; break;
        default: x0 = mo[k]; break;
        }
        if (cfg->clip_sample) x0 = x0 < -r ? -r : x0 > r ? r : x0;
        float d = c_out * x0 + c_skip * x[k];
        if (denoised) denoised[k] = d;
        out[k] = z ? sa_prev * d + sb_prev * z[k] : d;
    }
    return IID_OK;
}

const iid_sched_family_t iid__sched_lcm = {
    .defaults = lcm_defaults,
    .set_timesteps = lcm_set_timesteps,
    .step = lcm_step,
    .scales_input = 0,
    .int_timesteps = 1,
    .state_buffers = 1,
};
