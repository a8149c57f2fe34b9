/*
 * stage_schedulers.c - conformance stage 'schedulers' (kit README section f).
 *
 * Everything is discovered from the kit: the scheduler keys of schedulers.json
 * (mapped to our names by the scheduler table; an unknown key FAILs), the step
 * counts from the `<S>.n<N>.timesteps` tensors, the trajectories from
 * `<S>.n<N>.traj.sample0` and their steps from `traj.step<i>.model_output`. Each
 * scheduler is built the product's way, from the kit's
 * models/sdxl/scheduler/scheduler_config.json plus our overrides, and its
 * resolved configuration is compared with the one schedulers.json records.
 *
 * Checks: betas and alphas_cumprod (elementwise relative 1e-6); per N the
 * timesteps (exact), sigmas, init_noise_sigma and scale_model_input of ones
 * (relative 1e-6); per trajectory and step the timestep (exact), model_input,
 * prev_sample and LCM's denoised (max abs error <= 1e-5 x max |ref|), starting
 * from traj.sample0 and continuing from our own prev_sample, with the golden
 * model outputs and the golden noise<q> draws injected.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "io/file.h"
#include "io/json.h"
#include "pipeline/scheduler.h"

#define STAGE "schedulers"

/* Python's json writes -Infinity / Infinity / NaN, which JSON (and cJSON) lack:
 * turn them into null outside strings, in place. */
static void json_nonfinite_to_null(char *t)
{
    int in_str = 0;
    for (char *p = t; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_str = 0;
            continue;
        }
        if (*p == '"') {
            in_str = 1;
            continue;
        }
        static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
        for (int w = 0; w < 3; w++) {
            size_t len = strlen(words[w]);
            if (strncmp(p, words[w], len) == 0) {
                memcpy(p, "null", 4);
                memset(p + 4, ' ', len - 4);
                p += len - 1;
                break;
            }
        }
    }
}

static const iid_st_tensor_t *find(const iid_safetensors_t *st, const char *fmt, const char *a, int n, const char *b)
{
    char name[512];
    snprintf(name, sizeof name, fmt, a, n, b);
    return iid__st_find(st, name);
}

/* The golden noise draws of one trajectory step: `<prefix>.noise<q>`, q = 0, 1, ... */
typedef struct golden_noise {
    const conf_ctx_t *c;
    const iid_safetensors_t *st;
    char prefix[400];
    int q;
} golden_noise_t;

static iid_status golden_fill(void *user, float *out, size_t n, iid_error_t *err)
{
    golden_noise_t *g = user;
    char name[512];
    snprintf(name, sizeof name, "%s.noise%d", g->prefix, g->q);
    const iid_st_tensor_t *t = conf_in(g->c, g->st, name);
    if (!t) return iid__fail(err, IID_ERR_NOT_FOUND, "golden noise draw '%s' is missing", name);
    if ((size_t)iid__st_numel(t) != n)
        return iid__fail(err, IID_ERR_FORMAT, "golden noise draw '%s' has %lld values, the step wants %zu", name,
                         (long long)iid__st_numel(t), n);
    g->q++;
    return iid__st_read_f32(t, out, err);
}

static void check_config(conf_ctx_t *c, const char *key, const iid_sched_t *s, const cJSON *resolved)
{
    iid_sched_info_t info;
    iid__sched_info(s, &info);
    char why[256] = "";
    const cJSON *v;
#define FIELD_NUM(k, ours)                                                                             \
    if ((v = cJSON_GetObjectItemCaseSensitive(resolved, k)) && cJSON_IsNumber(v) && v->valuedouble != (ours)) \
        snprintf(why, sizeof why, "%s: kit %g, ours %g", k, v->valuedouble, (double)(ours));
#define FIELD_STR(k, ours)                                                                                      \
    if ((v = cJSON_GetObjectItemCaseSensitive(resolved, k)) && cJSON_IsString(v) && strcmp(v->valuestring, ours)) \
        snprintf(why, sizeof why, "%s: kit '%s', ours '%s'", k, v->valuestring, ours);
    FIELD_NUM("num_train_timesteps", info.num_train_timesteps)
    FIELD_NUM("steps_offset", info.steps_offset)
    FIELD_NUM("solver_order", info.solver_order)
    FIELD_STR("timestep_spacing", info.timestep_spacing)
    FIELD_STR("prediction_type", info.prediction_type)
    FIELD_STR("algorithm_type", info.algorithm_type)
    if ((v = cJSON_GetObjectItemCaseSensitive(resolved, "use_karras_sigmas")) && cJSON_IsBool(v) &&
        cJSON_IsTrue(v) != info.use_karras_sigmas)
        snprintf(why, sizeof why, "use_karras_sigmas differs (ours %d)", info.use_karras_sigmas);
#undef FIELD_NUM
#undef FIELD_STR
    if (why[0]) conf_fail(c, STAGE, key, "resolved_config", "%s (scheduler '%s')", why, iid__sched_name(s));
    else {
        printf("PASS %s %s resolved_config scheduler '%s'\n", STAGE, key, iid__sched_name(s));
        c->passed++;
    }
}

static void run_trajectory(conf_ctx_t *c, const iid_safetensors_t *st, const char *key, int n, iid_sched_t *s)
{
    char kase[300], tname[200], prefix[400];
    snprintf(kase, sizeof kase, "%s.n%d", key, n);
    const iid_st_tensor_t *s0 = find(st, "%s.n%d.%s", key, n, "traj.sample0");
    const iid_st_tensor_t *xt = find(st, "%s.n%d.%s", key, n, "traj.x_T_unscaled");
    conf_used(c, xt);
    size_t len = (size_t)iid__st_numel(s0);
    float *x = malloc(len * sizeof *x), *in = malloc(len * sizeof *in), *mo = malloc(len * sizeof *mo);
    float *den = malloc(len * sizeof *den);
    iid_error_t err;
    iid_error_clear(&err);
    if (!x || !in || !mo || !den || iid__st_read_f32(s0, x, &err) != IID_OK ||
        iid__sched_set_timesteps(s, n, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "traj", "setup failed: %s", err.msg);
        goto done;
    }
    if (xt && (size_t)iid__st_numel(xt) == len && iid__st_read_f32(xt, in, &err) == IID_OK) {
        float sigma = iid__sched_init_noise_sigma(s);
        for (size_t k = 0; k < len; k++) in[k] *= sigma;
        conf_check_f32(c, STAGE, kase, "traj.sample0", in, len, s0, CONF_TOL_SCHED_STEP);
    }
    int steps = 0;
    for (;;) {
        snprintf(prefix, sizeof prefix, "%s.n%d.traj.step%d", key, n, steps);
        char name[512];
        snprintf(name, sizeof name, "%s.model_output", prefix);
        const iid_st_tensor_t *mot = conf_in(c, st, name);
        if (!mot) break;
        if (steps >= iid__sched_num_timesteps(s)) {
            conf_fail(c, STAGE, kase, "traj", "the kit has more steps than our %d timesteps",
                      iid__sched_num_timesteps(s));
            goto done;
        }
        if ((size_t)iid__st_numel(mot) != len || iid__st_read_f32(mot, mo, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, name, "unreadable or of another size");
            goto done;
        }
        snprintf(name, sizeof name, "%s.timestep", prefix);
        snprintf(tname, sizeof tname, "traj.step%d.timestep", steps);
        conf_check_f32(c, STAGE, kase, tname, &iid__sched_timesteps(s)[steps], 1, iid__st_find(st, name), 0.0);
        iid__sched_scale_model_input(s, steps, x, in, len);
        snprintf(name, sizeof name, "%s.model_input", prefix);
        snprintf(tname, sizeof tname, "traj.step%d.model_input", steps);
        conf_check_f32(c, STAGE, kase, tname, in, len, iid__st_find(st, name), CONF_TOL_SCHED_STEP);
        golden_noise_t g = {.c = c, .st = st, .q = 0};
        snprintf(g.prefix, sizeof g.prefix, "%s", prefix);
        iid_noise_source_t noise = {golden_fill, &g};
        if (iid__sched_step(s, steps, mo, x, x, len, &noise, den, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, prefix, "step failed: %s", err.msg);
            goto done;
        }
        snprintf(name, sizeof name, "%s.noise%d", prefix, g.q);
        if (iid__st_find(st, name)) conf_fail(c, STAGE, kase, name, "the step left golden noise draws unused");
        snprintf(name, sizeof name, "%s.prev_sample", prefix);
        snprintf(tname, sizeof tname, "traj.step%d.prev_sample", steps);
        conf_check_f32(c, STAGE, kase, tname, x, len, iid__st_find(st, name), CONF_TOL_SCHED_STEP);
        snprintf(name, sizeof name, "%s.denoised", prefix);
        if (iid__st_find(st, name)) {
            snprintf(tname, sizeof tname, "traj.step%d.denoised", steps);
            conf_check_f32(c, STAGE, kase, tname, den, len, iid__st_find(st, name), CONF_TOL_SCHED_STEP);
        }
        steps++;
    }
    if (steps != iid__sched_num_timesteps(s))
        conf_fail(c, STAGE, kase, "traj", "the kit has %d steps, our schedule %d", steps, iid__sched_num_timesteps(s));
done:
    free(x);
    free(in);
    free(mo);
    free(den);
}

static void run_step_count(conf_ctx_t *c, const iid_safetensors_t *st, const char *key, int n, iid_sched_t *s)
{
    char kase[300];
    snprintf(kase, sizeof kase, "%s.n%d", key, n);
    iid_error_t err;
    iid_error_clear(&err);
    if (iid__sched_set_timesteps(s, n, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "set_timesteps", "%s", err.msg);
        return;
    }
    int nt = iid__sched_num_timesteps(s);
    const float *ts = iid__sched_timesteps(s);
    const iid_st_tensor_t *gt = find(st, "%s.n%d.%s", key, n, "timesteps");
    if (gt && gt->dtype == IID_DTYPE_I64) {
        int64_t *ti = malloc((size_t)nt * sizeof *ti);
        if (!ti) return;
        for (int i = 0; i < nt; i++) ti[i] = (int64_t)ts[i];
        conf_check_int(c, STAGE, kase, "timesteps", ti, (size_t)nt, gt);
        free(ti);
    } else {
        conf_check_f32(c, STAGE, kase, "timesteps", ts, (size_t)nt, gt, 0.0);
    }
    const iid_st_tensor_t *gs = find(st, "%s.n%d.%s", key, n, "sigmas");
    if (gs) {
        if (!iid__sched_sigmas(s)) conf_fail(c, STAGE, kase, "sigmas", "the kit has sigmas, our scheduler none");
        else
            conf_check_f32_elementwise(c, STAGE, kase, "sigmas", iid__sched_sigmas(s),
                                       (size_t)iid__sched_num_sigmas(s), gs, CONF_TOL_SIGMA);
    }
    float ins = iid__sched_init_noise_sigma(s);
    conf_check_f32_elementwise(c, STAGE, kase, "init_noise_sigma", &ins, 1,
                               find(st, "%s.n%d.%s", key, n, "init_noise_sigma"), CONF_TOL_SIGMA);
    float *scale = malloc((size_t)nt * sizeof *scale);
    if (!scale) return;
    for (int i = 0; i < nt; i++) {
        float one = 1.0f;
        iid__sched_scale_model_input(s, i, &one, &scale[i], 1);
    }
    conf_check_f32_elementwise(c, STAGE, kase, "scale_model_input_of_ones", scale, (size_t)nt,
                               find(st, "%s.n%d.%s", key, n, "scale_model_input_of_ones"), CONF_TOL_SIGMA);
    free(scale);
    if (find(st, "%s.n%d.%s", key, n, "traj.sample0")) run_trajectory(c, st, key, n, s);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void run_scheduler(conf_ctx_t *c, const iid_safetensors_t *st, const iid_json_t *base, const char *key,
                          const cJSON *entry)
{
    const char *name = iid__sched_name_for_class(key);
    if (!name) {
        conf_fail(c, STAGE, key, "-", "no scheduler of ours maps to this kit key");
        return;
    }
    iid_sched_t *s;
    iid_error_t err;
    iid_error_clear(&err);
    if (iid__sched_create(&s, name, base, &err) != IID_OK) {
        conf_fail(c, STAGE, key, "-", "%s", err.msg);
        return;
    }
    const cJSON *resolved = cJSON_GetObjectItemCaseSensitive(entry, "resolved_config");
    if (resolved) check_config(c, key, s, resolved);
    char name_b[300];
    snprintf(name_b, sizeof name_b, "%s.betas", key);
    size_t T = (size_t)iid__sched_num_train_timesteps(s);
    conf_check_f32_elementwise(c, STAGE, key, "betas", iid__sched_betas(s), T, iid__st_find(st, name_b),
                               CONF_TOL_SIGMA);
    snprintf(name_b, sizeof name_b, "%s.alphas_cumprod", key);
    conf_check_f32_elementwise(c, STAGE, key, "alphas_cumprod", iid__sched_alphas_cumprod(s), T,
                               iid__st_find(st, name_b), CONF_TOL_SIGMA);

    /* step counts: every `<key>.n<N>.timesteps` */
    int *ns = malloc((size_t)(st->count ? st->count : 1) * sizeof *ns), count = 0;
    size_t kl = strlen(key);
    for (int i = 0; ns && i < st->count; i++) {
        const char *tn = st->tensors[i].name;
        int n, used = 0;
        if (strncmp(tn, key, kl) == 0 && strncmp(tn + kl, ".n", 2) == 0 &&
            sscanf(tn + kl + 2, "%d.timesteps%n", &n, &used) == 1 && used > 0 && tn[kl + 2 + used] == '\0')
            ns[count++] = n;
    }
    if (ns) qsort(ns, (size_t)count, sizeof *ns, cmp_int);
    if (count == 0) conf_fail(c, STAGE, key, "-", "no step counts found in schedulers.safetensors");
    for (int i = 0; i < count; i++) run_step_count(c, st, key, ns[i], s);
    free(ns);
    iid__sched_free(s);
}

void stage_schedulers(conf_ctx_t *c)
{
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "schedulers.safetensors", &st) != 0) return;
    char path[4096];
    iid_error_t err;
    iid_error_clear(&err);
    iid_json_t base = {0}, kit = {0};
    char *text = NULL;
    size_t len;
    if (iid__json_load(&base, conf_path(c, "models/sdxl/scheduler/scheduler_config.json", path, sizeof path), &err) !=
        IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        goto out;
    }
    if (iid__file_read_all(conf_path(c, "golden/schedulers.json", path, sizeof path), (size_t)64 << 20, &text, &len,
                           &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        goto out;
    }
    conf_read_file(c, "golden/schedulers.json");
    json_nonfinite_to_null(text);
    if (iid__json_parse(&kit, text, len, path, &err) != IID_OK) {
        conf_fail(c, STAGE, "-", "schedulers.json", "%s", err.msg);
        goto out;
    }
    const cJSON *scheds = cJSON_GetObjectItemCaseSensitive(kit.root, "schedulers");
    if (!cJSON_IsObject(scheds)) {
        conf_fail(c, STAGE, "-", "schedulers.json", "no 'schedulers' object");
        goto out;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, scheds) run_scheduler(c, &st, &base, entry->string, entry);
out:
    free(text);
    iid__json_free(&kit);
    iid__json_free(&base);
    conf_close(c, &st);
}
