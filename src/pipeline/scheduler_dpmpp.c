/*
 * scheduler_dpmpp.c - DPMSolverMultistepScheduler (diffusers 0.25): DPM-Solver++
 * 2M (the demo's "DPMSolverMultistepScheduler"), its Karras-sigma variant and the
 * SDE variant ("sde-dpmsolver++"); the plain "dpmsolver"/"sde-dpmsolver"
 * algorithms, the "heun" solver type and orders 1-3 come with the same code.
 *
 * Schedule: integer timesteps (see iid__sched_multistep_set_timesteps), sigmas
 * with one extra entry at the end; init_noise_sigma 1 and no input scaling.
 *
 * Step i, in float32 like the reference's 0-dim tensors:
 *   alpha = 1/sqrt(sigma^2+1), sigma_t = sigma*alpha, lambda = log alpha - log sigma_t
 *   m_i = x0 prediction (dpmsolver++) or eps (dpmsolver) from the model output
 *   h = lambda(s_{i+1}) - lambda(s_i), r0 = (lambda(s_i) - lambda(s_{i-1})) / h,
 *   D0 = m_i, D1 = (m_i - m_{i-1}) / r0, then the order-1/2/3 update formulas,
 *   SDE variants adding sigma_t * sqrt(1 - e^{-2h}) * z with z from the noise source.
 * The order drops to 1 on the first step and, with lower_order_final and fewer
 * than 15 steps, on the last (2 on the second to last); the converted outputs of
 * the previous steps are kept in the scheduler (solver_order buffers).
 */
#include <math.h>

#include "pipeline/scheduler_impl.h"

static void dpmpp_defaults(iid_sched_cfg_t *c)
{
    *c = (iid_sched_cfg_t){.num_train_timesteps = 1000,
                           .beta_start = 0.0001,
                           .beta_end = 0.02,
                           .prediction = IID_PRED_EPSILON,
                           .spacing = IID_SPACING_LINSPACE,
                           .solver_order = 2,
                           .algorithm = IID_ALGO_DPMPP,
                           .solver_type = IID_SOLVER_MIDPOINT,
                           .lower_order_final = 1,
                           .clip_sample_range = 1.0};
}

typedef struct lam {
    float alpha, sigma, lambda;
} lam_t;

static lam_t at_sigma(float sigma)
{
    lam_t l;
    iid__sched_alpha_sigma(sigma, &l.alpha, &l.sigma);
    l.lambda = logf(l.alpha) - logf(l.sigma);
    return l;
}

/* Update coefficients: x' = a*x + b*D0 + c*D1 + d*D2 + e*z. */
typedef struct coef {
    float a, b, c, d, e;
} coef_t;

static coef_t coefficients(const iid_sched_cfg_t *cfg, int order, lam_t t, lam_t s0, float h)
{
    coef_t k = {0, 0, 0, 0, 0};
    float em = expf(-h) - 1.0f, ep = expf(h) - 1.0f, e2 = 1.0f - expf(-2.0f * h);
    int heun = cfg->solver_type == IID_SOLVER_HEUN;
    switch (cfg->algorithm) {
    case IID_ALGO_DPMPP:
        k.a = t.sigma / s0.sigma;
        k.b = -(t.alpha * em);
        if (order == 2) k.c = heun ? t.alpha * (em / h + 1.0f) : -(0.5f * (t.alpha * em));
        if (order == 3) {
            k.c = t.alpha * (em / h + 1.0f);
            k.d = -(t.alpha * ((expf(-h) - 1.0f + h) / (h * h) - 0.5f));
        }
        break;
    case IID_ALGO_DPM:
        k.a = t.alpha / s0.alpha;
        k.b = -(t.sigma * ep);
        if (order == 2) k.c = heun ? -(t.sigma * (ep / h - 1.0f)) : -(0.5f * (t.sigma * ep));
        if (order == 3) {
            k.c = -(t.sigma * (ep / h - 1.0f));
            k.d = -(t.sigma * ((expf(h) - 1.0f - h) / (h * h) - 0.5f));
        }
        break;
    case IID_ALGO_SDE_DPMPP:
        k.a = t.sigma / s0.sigma * expf(-h);
        k.b = t.alpha * e2;
        if (order == 2) k.c = heun ? t.alpha * (e2 / (-2.0f * h) + 1.0f) : 0.5f * (t.alpha * e2);
        k.e = t.sigma * sqrtf(e2);
        break;
    default: /* IID_ALGO_SDE_DPM */
        k.a = t.alpha / s0.alpha;
        k.b = -(2.0f * (t.sigma * ep));
        if (order == 2) k.c = heun ? -(2.0f * (t.sigma * (ep / h - 1.0f))) : -(t.sigma * ep);
        k.e = t.sigma * sqrtf(expf(2.0f * h) - 1.0f);
        break;
    }
    return k;
}

static iid_status dpmpp_step(iid_sched_t *s, int step, const float *mo, const float *x, float *out, size_t n,
                             const iid_noise_source_t *noise, float *denoised, iid_error_t *err)
{
    (void)denoised;
    const iid_sched_cfg_t *cfg = &s->cfg;
    int sde = cfg->algorithm == IID_ALGO_SDE_DPMPP || cfg->algorithm == IID_ALGO_SDE_DPM;
    int data_pred = cfg->algorithm == IID_ALGO_DPMPP || cfg->algorithm == IID_ALGO_SDE_DPMPP;
    int order = iid__sched_multistep_order(s, step);
    lam_t s0 = at_sigma(s->sigmas[step]);

    /* convert_model_output into the history slot of this step */
    float *m = iid__sched_multistep_next(s);
    for (size_t k = 0; k < n; k++) {
        float v;
        if (data_pred) {
            switch (cfg->prediction) {
            case IID_PRED_EPSILON: v = (x[k] - s0.sigma * mo[k]) / s0.alpha; break;
            case IID_PRED_V: v = s0.alpha * x[k] - s0.sigma * mo[k]; break;
            default: v = mo[k]; break;
            }
        } else {
            switch (cfg->prediction) {
            case IID_PRED_EPSILON: v = mo[k]; break;
            case IID_PRED_V: v = s0.alpha * mo[k] + s0.sigma * x[k]; break;
            default: v = (x[k] - s0.alpha * mo[k]) / s0.sigma; break;
            }
        }
        m[k] = v;
    }
    float *z = NULL;
    if (sde) {
        if (!noise || !noise->fill)
            return iid__fail(err, IID_ERR_INVALID, "scheduler %s: the SDE solver needs a noise source", s->name);
        z = s->state[IID_SCHED_MAX_STATE - 1];
        IID_TRY(noise->fill(noise->user, z, n, err));
    }

    lam_t t = at_sigma(s->sigmas[step + 1]);
    float h = t.lambda - s0.lambda;
    coef_t c = coefficients(cfg, order, t, s0, h);
    const float *m1 = order >= 2 ? iid__sched_multistep_hist(s, 1) : NULL;
    const float *m2 = order >= 3 ? iid__sched_multistep_hist(s, 2) : NULL;
    float inv_r0 = 0.0f, inv_r1 = 0.0f, r0 = 0.0f, r1 = 0.0f;
    if (order >= 2) {
        lam_t s1 = at_sigma(s->sigmas[step - 1]);
        r0 = (s0.lambda - s1.lambda) / h;
        inv_r0 = 1.0f / r0;
        if (order == 3) {
            lam_t s2 = at_sigma(s->sigmas[step - 2]);
            r1 = (s1.lambda - s2.lambda) / h;
            inv_r1 = 1.0f / r1;
        }
    }
    for (size_t k = 0; k < n; k++) {
        float acc = c.a * x[k] + c.b * m[k];
        if (order == 2) acc += c.c * (inv_r0 * (m[k] - m1[k]));
        if (order == 3) {
            float d10 = inv_r0 * (m[k] - m1[k]), d11 = inv_r1 * (m1[k] - m2[k]);
            float d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11);
            float d2 = (1.0f / (r0 + r1)) * (d10 - d11);
            acc += c.c * d1;
            acc += c.d * d2;
        }
        if (z) acc += c.e * z[k];
        out[k] = acc;
    }
    if (s->lower_order_nums < cfg->solver_order) s->lower_order_nums++;
    return IID_OK;
}

const iid_sched_family_t iid__sched_dpmpp = {
    .defaults = dpmpp_defaults,
    .set_timesteps = iid__sched_multistep_set_timesteps,
    .step = dpmpp_step,
    .scales_input = 0,
    .int_timesteps = 1,
    .state_buffers = IID_SCHED_MAX_STATE,
};
