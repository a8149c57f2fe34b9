/*
 * scheduler.c - the scheduler table, configuration, training schedule and the
 * helpers the families share.
 *
 * Construction mirrors diffusers' `Class.from_config(config, **overrides)`: the
 * class defaults (each family's defaults()), then every key of
 * scheduler_config.json we understand, then the name's overrides from the table
 * below. Keys that would change the arithmetic in ways we do not implement
 * (trained_betas, thresholding, rescale_betas_zero_snr, use_lu_lambdas, a finite
 * lambda_min_clipped, variance_type, continuous timesteps, log_linear
 * interpolation) are refused with a message naming the key, never ignored.
 *
 * numpy's round is half to even: nearbyint() in the default rounding mode, which
 * library code never changes.
 *
 * The training schedule (betas, alphas_cumprod, training sigmas) is computed in
 * float32 the way torch computes it: linspace from both ends towards the middle,
 * the cumulative product accumulated in double (torch's CPU cumprod accumulates in
 * acc_type<float> = double) and rounded per element.
 */
#include "pipeline/scheduler_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the name table ------------------------------------------------------------ */

typedef struct sched_entry {
    const char *name;
    const char *class_key;            /* as the kit's schedulers.json names it */
    const iid_sched_family_t *family;
    int karras;                       /* -1: keep the config's, else override */
    const char *algorithm;            /* NULL: keep the config's, else override */
} sched_entry_t;

static const sched_entry_t sched_table[] = {
    {"euler", "EulerDiscreteScheduler", &iid__sched_euler, -1, NULL},
    {"heun", "HeunDiscreteScheduler", &iid__sched_heun, -1, NULL},
    {"deis", "DEISMultistepScheduler", &iid__sched_deis, -1, NULL},
    {"dpmpp_2m", "DPMSolverMultistepScheduler", &iid__sched_dpmpp, -1, NULL},
    {"dpmpp_2m_karras", "DPMSolverMultistepScheduler-Karras", &iid__sched_dpmpp, 1, NULL},
    {"dpmpp_2m_sde_karras", "DPMSolverMultistepScheduler-Karras-SDE", &iid__sched_dpmpp, 1, "sde-dpmsolver++"},
    {"lcm", "LCMScheduler", &iid__sched_lcm, -1, NULL},
};
#define SCHED_COUNT ((int)(sizeof sched_table / sizeof sched_table[0]))

const char *iid__sched_name_at(int i) { return i >= 0 && i < SCHED_COUNT ? sched_table[i].name : NULL; }

const char *iid__sched_name_for_class(const char *class_key)
{
    for (int i = 0; i < SCHED_COUNT; i++)
        if (strcmp(sched_table[i].class_key, class_key) == 0) return sched_table[i].name;
    return NULL;
}

/* ---- configuration --------------------------------------------------------------- */

static const char *const algo_names[] = {"", "dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver", "deis"};
static const char *const spacing_names[] = {"leading", "linspace", "trailing"};
static const char *const pred_names[] = {"epsilon", "v_prediction", "sample"};

static iid_status unsupported(const iid_json_t *j, const char *key, const char *why, iid_error_t *err)
{
    return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: field '%s': %s", j->path ? j->path : "scheduler config", key,
                     why);
}

static int lookup(const char *v, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(v, names[i]) == 0) return i;
    return -1;
}

/* Apply diffusers' algorithm_type rewrites for the two multistep
 * families (DPM-Solver turns "deis" into "dpmsolver++", DEIS the reverse). */
static iid_status set_algorithm(iid_sched_cfg_t *c, const iid_sched_family_t *fam, const char *v, const char *where,
                                iid_error_t *err)
{
    int a = lookup(v, algo_names, 6);
    if (a <= 0) return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: algorithm_type '%s' is not known", where, v);
    if (fam == &iid__sched_deis) {
        if (a != IID_ALGO_DEIS && a != IID_ALGO_DPMPP && a != IID_ALGO_DPM)
            return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: algorithm_type '%s' is not a DEIS algorithm", where, v);
        a = IID_ALGO_DEIS;
    } else if (fam == &iid__sched_dpmpp && a == IID_ALGO_DEIS) {
        a = IID_ALGO_DPMPP;
    }
    c->algorithm = (iid_sched_algo_t)a;
    return IID_OK;
}

static iid_status read_config(iid_sched_cfg_t *c, const iid_sched_family_t *fam, const iid_json_t *j,
                              iid_error_t *err)
{
    long long iv;
    double dv;
    int bv;
    const char *sv;
    const char *path = j->path ? j->path : "scheduler config";

    iv = c->num_train_timesteps;
    IID_TRY(iid__json_int_opt(j, "num_train_timesteps", &iv, err));
    if (iv < 2 || iv > 100000) return iid__fail(err, IID_ERR_FORMAT, "%s: num_train_timesteps %lld out of range", path, iv);
    c->num_train_timesteps = (int)iv;
    IID_TRY(iid__json_double_opt(j, "beta_start", &c->beta_start, err));
    IID_TRY(iid__json_double_opt(j, "beta_end", &c->beta_end, err));
    if (!(c->beta_start > 0 && c->beta_end > 0 && c->beta_start < 1 && c->beta_end < 1))
        return iid__fail(err, IID_ERR_FORMAT, "%s: beta_start/beta_end must lie in (0, 1)", path);
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "beta_schedule", &sv, err));
    if (sv) {
        if (strcmp(sv, "scaled_linear") == 0) c->scaled_linear = 1;
        else if (strcmp(sv, "linear") == 0) c->scaled_linear = 0;
        else return unsupported(j, "beta_schedule", sv, err);
    }
    if (cJSON_GetObjectItemCaseSensitive(j->root, "trained_betas") &&
        !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j->root, "trained_betas")))
        return unsupported(j, "trained_betas", "explicit betas are not supported", err);
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "prediction_type", &sv, err));
    if (sv) {
        int p = lookup(sv, pred_names, 3);
        if (p < 0) return unsupported(j, "prediction_type", sv, err);
        c->prediction = (iid_sched_pred_t)p;
    }
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "timestep_spacing", &sv, err));
    if (sv) {
        int p = lookup(sv, spacing_names, 3);
        if (p < 0) return unsupported(j, "timestep_spacing", sv, err);
        c->spacing = (iid_sched_spacing_t)p;
    }
    iv = c->steps_offset;
    IID_TRY(iid__json_int_opt(j, "steps_offset", &iv, err));
    if (iv < 0 || iv > c->num_train_timesteps) return iid__fail(err, IID_ERR_FORMAT, "%s: steps_offset out of range", path);
    c->steps_offset = (int)iv;
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "interpolation_type", &sv, err));
    if (sv && strcmp(sv, "linear") != 0) return unsupported(j, "interpolation_type", sv, err);
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "timestep_type", &sv, err));
    if (sv && strcmp(sv, "discrete") != 0) return unsupported(j, "timestep_type", sv, err);
    bv = c->use_karras_sigmas;
    IID_TRY(iid__json_bool_opt(j, "use_karras_sigmas", &bv, err));
    c->use_karras_sigmas = bv;
    if (fam == &iid__sched_euler) {
        dv = NAN;
        IID_TRY(iid__json_double_opt(j, "sigma_min", &dv, err));
        if (!isnan(dv)) c->has_sigma_min = 1, c->sigma_min = dv;
        dv = NAN;
        IID_TRY(iid__json_double_opt(j, "sigma_max", &dv, err));
        if (!isnan(dv)) c->has_sigma_max = 1, c->sigma_max = dv;
    }
    static const char *const off_keys[] = {"rescale_betas_zero_snr", "thresholding", "use_lu_lambdas"};
    for (int k = 0; k < 3; k++) {
        bv = 0;
        IID_TRY(iid__json_bool_opt(j, off_keys[k], &bv, err));
        if (bv) return unsupported(j, off_keys[k], "only false is supported", err);
    }
    sv = NULL;
    IID_TRY(iid__json_string_opt(j, "variance_type", &sv, err));
    if (sv) return unsupported(j, "variance_type", sv, err);
    const cJSON *lmc = cJSON_GetObjectItemCaseSensitive(j->root, "lambda_min_clipped");
    if (lmc && cJSON_IsNumber(lmc) && !isinf(lmc->valuedouble))
        return unsupported(j, "lambda_min_clipped", "only -inf is supported", err);
    if (fam == &iid__sched_dpmpp || fam == &iid__sched_deis) {
        iv = c->solver_order;
        IID_TRY(iid__json_int_opt(j, "solver_order", &iv, err));
        if (iv < 1 || iv > 3) return iid__fail(err, IID_ERR_FORMAT, "%s: solver_order must be 1, 2 or 3", path);
        c->solver_order = (int)iv;
        sv = NULL;
        IID_TRY(iid__json_string_opt(j, "algorithm_type", &sv, err));
        if (sv) IID_TRY(set_algorithm(c, fam, sv, path, err));
        sv = NULL;
        IID_TRY(iid__json_string_opt(j, "solver_type", &sv, err));
        if (sv) {
            if (fam == &iid__sched_deis) c->solver_type = IID_SOLVER_LOGRHO;
            else if (strcmp(sv, "heun") == 0) c->solver_type = IID_SOLVER_HEUN;
            else c->solver_type = IID_SOLVER_MIDPOINT; /* midpoint; logrho/bh1/bh2 are rewritten */
        }
        IID_TRY(iid__json_bool_opt(j, "lower_order_final", &c->lower_order_final, err));
        IID_TRY(iid__json_bool_opt(j, "euler_at_final", &c->euler_at_final, err));
    }
    if (fam == &iid__sched_lcm) {
        iv = c->original_inference_steps;
        IID_TRY(iid__json_int_opt(j, "original_inference_steps", &iv, err));
        if (iv < 1 || iv > c->num_train_timesteps)
            return iid__fail(err, IID_ERR_FORMAT, "%s: original_inference_steps out of range", path);
        c->original_inference_steps = (int)iv;
        IID_TRY(iid__json_double_opt(j, "timestep_scaling", &c->timestep_scaling, err));
        IID_TRY(iid__json_bool_opt(j, "set_alpha_to_one", &c->set_alpha_to_one, err));
    }
    if (fam == &iid__sched_lcm || fam == &iid__sched_heun) {
        IID_TRY(iid__json_bool_opt(j, "clip_sample", &c->clip_sample, err));
        IID_TRY(iid__json_double_opt(j, "clip_sample_range", &c->clip_sample_range, err));
    }
    return IID_OK;
}

/* ---- the training schedule ------------------------------------------------------- */

/* torch.linspace in float32: from the start for the first half, from the end for
 * the second. */
static void linspace_f32(float a, float b, int n, float *out)
{
    float step = (b - a) / (float)(n - 1);
    int half = n / 2;
    for (int i = 0; i < n; i++) out[i] = i < half ? a + step * (float)i : b - step * (float)(n - i - 1);
}

static iid_status build_training(iid_sched_t *s, iid_error_t *err)
{
    int T = s->cfg.num_train_timesteps;
    s->n_train = T;
    s->betas = malloc((size_t)T * sizeof *s->betas);
    s->acp = malloc((size_t)T * sizeof *s->acp);
    s->train_sigmas = malloc((size_t)T * sizeof *s->train_sigmas);
    s->log_sigmas = malloc((size_t)T * sizeof *s->log_sigmas);
    if (!s->betas || !s->acp || !s->train_sigmas || !s->log_sigmas)
        return iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory for %d training steps", s->name, T);
    if (s->cfg.scaled_linear) {
        linspace_f32((float)sqrt(s->cfg.beta_start), (float)sqrt(s->cfg.beta_end), T, s->betas);
        for (int i = 0; i < T; i++) s->betas[i] = s->betas[i] * s->betas[i];
    } else {
        linspace_f32((float)s->cfg.beta_start, (float)s->cfg.beta_end, T, s->betas);
    }
    double prod = 1.0;
    for (int i = 0; i < T; i++) {
        float alpha = 1.0f - s->betas[i];
        prod *= (double)alpha;
        s->acp[i] = (float)prod;
        s->train_sigmas[i] = sqrtf((1.0f - s->acp[i]) / s->acp[i]);
        s->log_sigmas[i] = logf(s->train_sigmas[i]);
    }
    return IID_OK;
}

/* ---- construction ---------------------------------------------------------------- */

iid_status iid__sched_create(iid_sched_t **out, const char *name, const iid_json_t *config, iid_error_t *err)
{
    *out = NULL;
    const sched_entry_t *e = NULL;
    for (int i = 0; i < SCHED_COUNT; i++)
        if (strcmp(sched_table[i].name, name) == 0) e = &sched_table[i];
    if (!e) return iid__fail(err, IID_ERR_INVALID, "unknown scheduler '%s' (see --help for the list)", name);
    iid_sched_t *s = calloc(1, sizeof *s);
    if (!s) return iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory", name);
    s->name = e->name;
    s->class_key = e->class_key;
    s->fam = e->family;
    e->family->defaults(&s->cfg);
    iid_status st = read_config(&s->cfg, s->fam, config, err);
    if (st == IID_OK && e->karras >= 0) s->cfg.use_karras_sigmas = e->karras;
    if (st == IID_OK && e->algorithm) st = set_algorithm(&s->cfg, s->fam, e->algorithm, name, err);
    if (st == IID_OK && s->cfg.solver_order == 3 &&
        (s->cfg.algorithm == IID_ALGO_SDE_DPMPP || s->cfg.algorithm == IID_ALGO_SDE_DPM))
        st = iid__fail(err, IID_ERR_UNSUPPORTED, "scheduler %s: third-order SDE solvers do not exist", name);
    if (st == IID_OK) st = build_training(s, err);
    if (st != IID_OK) {
        iid__sched_free(s);
        return st;
    }
    *out = s;
    return IID_OK;
}

iid_status iid__sched_load(iid_sched_t **out, const char *name, const char *config_path, iid_error_t *err)
{
    iid_json_t j;
    *out = NULL;
    IID_TRY(iid__json_load(&j, config_path, err));
    iid_status st = iid__sched_create(out, name, &j, err);
    iid__json_free(&j);
    return st;
}

void iid__sched_free(iid_sched_t *s)
{
    if (!s) return;
    free(s->betas);
    free(s->acp);
    free(s->train_sigmas);
    free(s->log_sigmas);
    free(s->timesteps);
    free(s->sigmas);
    for (int i = 0; i < IID_SCHED_MAX_STATE; i++) free(s->state[i]);
    free(s);
}

const char *iid__sched_name(const iid_sched_t *s) { return s->name; }
const char *iid__sched_class(const iid_sched_t *s) { return s->class_key; }

void iid__sched_info(const iid_sched_t *s, iid_sched_info_t *info)
{
    info->num_train_timesteps = s->cfg.num_train_timesteps;
    info->steps_offset = s->cfg.steps_offset;
    info->use_karras_sigmas = s->cfg.use_karras_sigmas;
    info->solver_order = s->cfg.solver_order;
    info->timestep_spacing = spacing_names[s->cfg.spacing];
    info->prediction_type = pred_names[s->cfg.prediction];
    info->algorithm_type = algo_names[s->cfg.algorithm];
}

int iid__sched_num_train_timesteps(const iid_sched_t *s) { return s->n_train; }
const float *iid__sched_betas(const iid_sched_t *s) { return s->betas; }
const float *iid__sched_alphas_cumprod(const iid_sched_t *s) { return s->acp; }
int iid__sched_num_timesteps(const iid_sched_t *s) { return s->n_ts; }
const float *iid__sched_timesteps(const iid_sched_t *s) { return s->timesteps; }
int iid__sched_timesteps_are_int(const iid_sched_t *s) { return s->fam->int_timesteps; }
const float *iid__sched_sigmas(const iid_sched_t *s) { return s->sigmas; }
int iid__sched_num_sigmas(const iid_sched_t *s) { return s->n_sig; }
float iid__sched_init_noise_sigma(const iid_sched_t *s) { return s->init_noise_sigma; }

/* ---- schedule and steps ---------------------------------------------------------- */

iid_status iid__sched_alloc_schedule(iid_sched_t *s, int n_ts, int n_sig, iid_error_t *err)
{
    free(s->timesteps);
    free(s->sigmas);
    s->timesteps = malloc((size_t)n_ts * sizeof *s->timesteps);
    s->sigmas = n_sig ? malloc((size_t)n_sig * sizeof *s->sigmas) : NULL;
    s->n_ts = s->timesteps ? n_ts : 0;
    s->n_sig = s->sigmas ? n_sig : 0;
    if (!s->timesteps || (n_sig && !s->sigmas))
        return iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory for %d steps", s->name, n_ts);
    return IID_OK;
}

iid_status iid__sched_set_timesteps(iid_sched_t *s, int n, iid_error_t *err)
{
    if (n < 1 || n > s->n_train)
        return iid__fail(err, IID_ERR_INVALID, "scheduler %s: %d steps is outside 1..%d", s->name, n, s->n_train);
    s->next_step = 0;
    s->lower_order_nums = 0;
    s->heun_second = 0;
    s->heun_dt = 0.0f;
    return s->fam->set_timesteps(s, n, err);
}

void iid__sched_scale_model_input(const iid_sched_t *s, int step, const float *in, float *out, size_t n)
{
    if (!s->fam->scales_input || !s->sigmas) {
        if (out != in) memmove(out, in, n * sizeof *out);
        return;
    }
    float sigma = s->sigmas[step];
    float denom = sqrtf(sigma * sigma + 1.0f);
    for (size_t k = 0; k < n; k++) out[k] = in[k] / denom;
}

iid_status iid__sched_step(iid_sched_t *s, int step, const float *model_output, const float *sample,
                           float *prev_sample, size_t n, const iid_noise_source_t *noise, float *denoised,
                           iid_error_t *err)
{
    if (!s->timesteps) return iid__fail(err, IID_ERR_INVALID, "scheduler %s: set_timesteps was not called", s->name);
    if (step != s->next_step || step >= s->n_ts)
        return iid__fail(err, IID_ERR_INVALID, "scheduler %s: step %d taken out of order (expected %d of %d)",
                         s->name, step, s->next_step, s->n_ts);
    int nbuf = s->fam->state_buffers;
    if (nbuf) {
        if (step == 0 || s->state_n != n) {
            if (step != 0)
                return iid__fail(err, IID_ERR_INVALID, "scheduler %s: sample size changed within a schedule", s->name);
            for (int i = 0; i < nbuf; i++) {
                free(s->state[i]);
                s->state[i] = malloc((n ? n : 1) * sizeof(float));
                if (!s->state[i]) {
                    s->state_n = 0;
                    return iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory for step state", s->name);
                }
            }
            s->state_n = n;
        }
    }
    IID_TRY(s->fam->step(s, step, model_output, sample, prev_sample, n, noise, denoised, err));
    s->next_step++;
    return IID_OK;
}

/* ---- shared helpers -------------------------------------------------------------- */

double iid__sched_interp_sigma(const iid_sched_t *s, double t)
{
    int T = s->n_train;
    if (!(t > 0)) return s->train_sigmas[0];
    if (t >= T - 1) return s->train_sigmas[T - 1];
    int j = (int)floor(t);
    double lo = s->train_sigmas[j], hi = s->train_sigmas[j + 1];
    if ((double)j == t) return lo;
    return (hi - lo) * (t - (double)j) + lo;
}

void iid__sched_karras(double sigma_max, double sigma_min, int n, double *out)
{
    const double rho = 7.0;
    double min_inv = pow(sigma_min, 1.0 / rho), max_inv = pow(sigma_max, 1.0 / rho);
    for (int i = 0; i < n; i++) {
        double ramp = n > 1 ? (double)i * (1.0 / (double)(n - 1)) : 0.0;
        if (n > 1 && i == n - 1) ramp = 1.0;
        out[i] = pow(max_inv + ramp * (min_inv - max_inv), rho);
    }
}

double iid__sched_sigma_to_t(const iid_sched_t *s, double sigma)
{
    int T = s->n_train;
    double log_sigma = log(sigma > 1e-10 ? sigma : 1e-10);
    /* low_idx: the last index whose log-sigma is <= log_sigma (argmax of the
     * cumulative count), clipped to T - 2. */
    int count = 0, low = 0, best = -1;
    for (int i = 0; i < T; i++) {
        if (log_sigma - (double)s->log_sigmas[i] >= 0) count++;
        if (count > best) best = count, low = i;
    }
    if (low > T - 2) low = T - 2;
    float lo = s->log_sigmas[low], hi = s->log_sigmas[low + 1];
    double w = ((double)lo - log_sigma) / (double)(float)(lo - hi);
    if (w < 0) w = 0;
    if (w > 1) w = 1;
    return (1.0 - w) * low + w * (low + 1);
}

/* numpy.linspace(0, stop, num) as float64. */
static double np_linspace(double stop, int num, int i)
{
    if (num == 1) return 0.0;
    if (i == num - 1) return stop;
    double step = stop / (double)(num - 1);
    return (double)i * step;
}

iid_status iid__sched_discrete_base(const iid_sched_t *s, int n, double *ts, double *sig, iid_error_t *err)
{
    int T = s->cfg.num_train_timesteps;
    switch (s->cfg.spacing) {
    case IID_SPACING_LINSPACE:
        for (int i = 0; i < n; i++) ts[n - 1 - i] = (double)(float)np_linspace(T - 1, n, i);
        break;
    case IID_SPACING_LEADING: {
        int ratio = T / n;
        for (int i = 0; i < n; i++) ts[n - 1 - i] = (double)((float)((double)i * ratio) + (float)s->cfg.steps_offset);
        break;
    }
    case IID_SPACING_TRAILING: {
        double ratio = (double)T / n;
        int len = (int)ceil((0.0 - T) / -ratio);
        if (len != n)
            return iid__fail(err, IID_ERR_UNSUPPORTED, "scheduler %s: trailing spacing gives %d steps for %d", s->name,
                             len, n);
        for (int i = 0; i < n; i++) ts[i] = (double)((float)nearbyint(T + i * -ratio) - 1.0f);
        break;
    }
    }
    for (int i = 0; i < n; i++) sig[i] = iid__sched_interp_sigma(s, ts[i]);
    if (s->cfg.use_karras_sigmas) {
        double smin = s->cfg.has_sigma_min ? s->cfg.sigma_min : sig[n - 1];
        double smax = s->cfg.has_sigma_max ? s->cfg.sigma_max : sig[0];
        iid__sched_karras(smax, smin, n, sig);
        for (int i = 0; i < n; i++) ts[i] = iid__sched_sigma_to_t(s, sig[i]);
    }
    return IID_OK;
}

void iid__sched_alpha_sigma(float sigma, float *alpha_t, float *sigma_t)
{
    *alpha_t = 1.0f / sqrtf(sigma * sigma + 1.0f);
    *sigma_t = sigma * *alpha_t;
}

iid_status iid__sched_multistep_set_timesteps(iid_sched_t *s, int n, iid_error_t *err)
{
    int T = s->cfg.num_train_timesteps;
    /* room for a trailing grid one longer than n and the final sigma */
    int64_t *ts = malloc((size_t)(n + 2) * sizeof *ts);
    double *sig = malloc((size_t)(n + 2) * sizeof *sig);
    if (!ts || !sig) {
        free(ts);
        free(sig);
        return iid__fail(err, IID_ERR_NOMEM, "scheduler %s: out of memory", s->name);
    }
    int count = n;
    switch (s->cfg.spacing) {
    case IID_SPACING_LINSPACE:
        /* linspace(0, T-1, n+1).round()[::-1][:-1] */
        for (int i = 0; i < n; i++) ts[i] = (int64_t)nearbyint(np_linspace(T - 1, n + 1, n - i));
        break;
    case IID_SPACING_LEADING: {
        int ratio = T / (n + 1);
        for (int i = 0; i < n; i++) ts[i] = (int64_t)(n - i) * ratio + s->cfg.steps_offset;
        break;
    }
    case IID_SPACING_TRAILING: {
        double ratio = (double)T / n;
        count = (int)ceil((0.0 - T) / -ratio);
        if (count > n + 1) count = n + 1;
        for (int i = 0; i < count; i++) ts[i] = (int64_t)nearbyint(T + i * -ratio) - 1;
        break;
    }
    }
    if (s->cfg.use_karras_sigmas) {
        /* Karras over the whole training range, timesteps inverted and rounded. */
        count = n;
        iid__sched_karras(s->train_sigmas[s->n_train - 1], s->train_sigmas[0], count, sig);
        for (int i = 0; i < count; i++) ts[i] = (int64_t)nearbyint(iid__sched_sigma_to_t(s, sig[i]));
        sig[count] = sig[count - 1];
    } else {
        for (int i = 0; i < count; i++) sig[i] = iid__sched_interp_sigma(s, (double)ts[i]);
        sig[count] = (double)sqrtf((1.0f - s->acp[0]) / s->acp[0]);
    }
    iid_status st = iid__sched_alloc_schedule(s, count, count + 1, err);
    if (st == IID_OK) {
        for (int i = 0; i < count; i++) s->timesteps[i] = (float)ts[i];
        for (int i = 0; i <= count; i++) s->sigmas[i] = (float)sig[i];
        s->init_noise_sigma = 1.0f;
    }
    free(ts);
    free(sig);
    return st;
}

int iid__sched_multistep_order(const iid_sched_t *s, int step)
{
    int n = s->n_ts;
    int lower_final = step == n - 1 && (s->cfg.euler_at_final || (s->cfg.lower_order_final && n < 15));
    int lower_second = step == n - 2 && s->cfg.lower_order_final && n < 15;
    /* lower_order_nums counts the outputs held before this step's was pushed. */
    if (s->cfg.solver_order == 1 || s->lower_order_nums < 1 || lower_final) return 1;
    if (s->cfg.solver_order == 2 || s->lower_order_nums < 2 || lower_second) return 2;
    return 3;
}

float *iid__sched_multistep_next(iid_sched_t *s)
{
    int order = s->cfg.solver_order;
    float *oldest = s->state[0];
    for (int i = 0; i < order - 1; i++) s->state[i] = s->state[i + 1];
    s->state[order - 1] = oldest;
    return oldest;
}

const float *iid__sched_multistep_hist(const iid_sched_t *s, int back)
{
    return s->state[s->cfg.solver_order - 1 - back];
}
