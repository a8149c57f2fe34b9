/*
 * scheduler_deis.c - DEISMultistepScheduler (diffusers 0.25, "deis" algorithm
 * with the "logrho" solver, orders 1-3).
 *
 * Same schedule and order rules as DPM-Solver (shared in scheduler.c). The model
 * output is converted to an epsilon estimate through the x0 prediction:
 *   x0 = (x - sigma_t*eps)/alpha_t,  m = (x - alpha_t*x0)/sigma_t
 * and the update integrates the Lagrange polynomial through the last 1-3 m in
 * rho = sigma_t/alpha_t, log space:
 *   order 1: x' = (alpha_t/alpha_s) x - sigma_t (e^h - 1) m0
 *   order 2: x' = alpha_t (x/alpha_s0 + c1 m0 + c2 m1), c from ind_fn(rho...)
 *   order 3: likewise with three terms.
 * The coefficient arithmetic is float32 as numpy applies it to the reference's
 * 0-dim float32 tensors.
 */
#include <math.h>

#include "pipeline/scheduler_impl.h"

static void deis_defaults(iid_sched_cfg_t *c)
{
    *c = (iid_sched_cfg_t){.num_train_timesteps = 1000,
                           .beta_start = 0.0001,
                           .beta_end = 0.02,
                           .prediction = IID_PRED_EPSILON,
                           .spacing = IID_SPACING_LINSPACE,
                           .solver_order = 2,
                           .algorithm = IID_ALGO_DEIS,
                           .solver_type = IID_SOLVER_LOGRHO,
                           .lower_order_final = 1,
                           .clip_sample_range = 1.0};
}

/* Second-order integral of the Lagrange basis in log rho. */
static float ind2(float t, float b, float c)
{
    return t * (-logf(c) + logf(t) - 1.0f) / (logf(b) - logf(c));
}

/* Third-order integral of the Lagrange basis in log rho. */
static float ind3(float t, float b, float c, float d)
{
    float lt = logf(t), lc = logf(c), ld = logf(d), lb = logf(b);
    float num = t * (lc * (ld - lt + 1.0f) - ld * lt + ld + lt * lt - 2.0f * lt + 2.0f);
    float den = (lb - lc) * (lb - ld);
    return num / den;
}

static iid_status deis_step(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                            const iid_noise_source_t *noise, float *denoised, iid_error_t *err)
{
    (void)noise, (void)denoised, (void)err;
    const iid_sched_cfg_t *cfg = &s->cfg;
    int order = iid__sched_multistep_order(s, step);
    float a_s0, s_s0, a_t, s_t;
    iid__sched_alpha_sigma(s->sigmas[step], &a_s0, &s_s0);
    iid__sched_alpha_sigma(s->sigmas[step + 1], &a_t, &s_t);

    float *m = iid__sched_multistep_next(s);
    for (size_t k = 0; k < n; k++) {
        float x0;
        switch (cfg->prediction) {
        case IID_PRED_EPSILON: x0 = (x[k] - s_s0 * mo[k]) / a_s0; break;
        case IID_PRED_V: x0 = a_s0 * x[k] - s_s0 * mo[k]; break;
        default: x0 = mo[k]; break;
        }
        m[k] = (x[k] - a_s0 * x0) / s_s0;
    }

    if (order == 1) {
        float h = (logf(a_t) - logf(s_t)) - (logf(a_s0) - logf(s_s0));
        float ca = a_t / a_s0, cb = s_t * (expf(h) - 1.0f);
        for (size_t k = 0; k < n; k++) out[k] = ca * x[k] - cb * m[k];
    } else {
        float a_s1, s_s1;
        iid__sched_alpha_sigma(s->sigmas[step - 1], &a_s1, &s_s1);
        float rho_t = s_t / a_t, rho_s0 = s_s0 / a_s0, rho_s1 = s_s1 / a_s1;
        const float *m1 = iid__sched_multistep_hist(s, 1);
        if (order == 2) {
            float c1 = ind2(rho_t, rho_s0, rho_s1) - ind2(rho_s0, rho_s0, rho_s1);
            float c2 = ind2(rho_t, rho_s1, rho_s0) - ind2(rho_s0, rho_s1, rho_s0);
            for (size_t k = 0; k < n; k++) out[k] = a_t * (x[k] / a_s0 + c1 * m[k] + c2 * m1[k]);
        } else {
            float a_s2, s_s2;
            iid__sched_alpha_sigma(s->sigmas[step - 2], &a_s2, &s_s2);
            float rho_s2 = s_s2 / a_s2;
            const float *m2 = iid__sched_multistep_hist(s, 2);
            float c1 = ind3(rho_t, rho_s0, rho_s1, rho_s2) - ind3(rho_s0, rho_s0, rho_s1, rho_s2);
            float c2 = ind3(rho_t, rho_s1, rho_s2, rho_s0) - ind3(rho_s0, rho_s1, rho_s2, rho_s0);
            float c3 = ind3(rho_t, rho_s2, rho_s0, rho_s1) - ind3(rho_s0, rho_s2, rho_s0, rho_s1);
            for (size_t k = 0; k < n; k++)
                out[k] = a_t * (x[k] / a_s0 + c1 * m[k] + c2 * m1[k] + c3 * m2[k]);
        }
    }
    if (s->lower_order_nums < cfg->solver_order) s->lower_order_nums++;
    return IID_OK;
}

const iid_sched_family_t iid__sched_deis = {
    .defaults = deis_defaults,
    .set_timesteps = iid__sched_multistep_set_timesteps,
    .step = deis_step,
    .scales_input = 0,
    .int_timesteps = 1,
    .state_buffers = IID_SCHED_MAX_STATE,
};
