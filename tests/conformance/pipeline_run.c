/* pipeline_run.c - discover pipeline runs, generate each, compare its trace. */
#include "pipeline_run.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "pipeline/draw_kps.h"
#include "pipeline/instantid.h"

/* Fraction of uint8 values allowed to differ by one level (README section 5). */
#define CONF_U8_FRACTION 0.02

typedef struct trace_ctx {
    conf_ctx_t *c;
    const char *stage, *run;
    const iid_safetensors_t *golden;
} trace_ctx_t;

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Tolerances of the kit README section 5: timesteps and time_ids exact, sigmas and
 * init_noise_sigma relative 1e-6, every other traced tensor as the models. */
static void on_trace(void *user, const char *name, const float *data, size_t n)
{
    trace_ctx_t *t = user;
    const iid_st_tensor_t *ref = iid__st_find(t->golden, name);
    if (!ref) return; /* the kit does not record this one */
    if (ends_with(name, ".timesteps") || ends_with(name, ".timestep") || ends_with(name, ".time_ids"))
        conf_check_f32_abs(t->c, t->stage, t->run, name, data, n, ref, 0.0);
    else if (strncmp(name, "schedule.", 9) == 0)
        conf_check_f32_elementwise(t->c, t->stage, t->run, name, data, n, ref, CONF_TOL_SIGMA);
    else
        conf_check_f32(t->c, t->stage, t->run, name, data, n, ref, CONF_TOL_MODEL);
}

static int json_number(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return 0;
    *out = v->valuedouble;
    return 1;
}

static const char *json_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A golden input as a malloc'd f32 copy of exactly n values, or NULL. */
static float *input_f32(const conf_ctx_t *c, const iid_safetensors_t *st, const char *name, size_t n)
{
    const iid_st_tensor_t *t = conf_in(c, st, name);
    if (!t || (size_t)iid__st_numel(t) != n) return NULL;
    float *buf = malloc(n * sizeof *buf);
    if (buf && iid__st_read_f32(t, buf, NULL) != IID_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const uint8_t *input_u8(const conf_ctx_t *c, const iid_safetensors_t *st, const char *name, size_t n)
{
    const iid_st_tensor_t *t = conf_in(c, st, name);
    return (t && t->dtype == IID_DTYPE_U8 && t->nbytes == n) ? t->data : NULL;
}

/* The run's keypoint image is draw_kps(input.kps) on black: ours must equal it. */
static void check_kps_image(conf_ctx_t *c, const char *stage, const char *run, const iid_safetensors_t *golden, int w,
                            int h)
{
    const iid_st_tensor_t *kt = conf_in(c, golden, "input.kps");
    if (!kt) return;
    float kps[2 * IID_KPS_COUNT];
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *img = malloc(n);
    iid_error_t err;
    iid_error_clear(&err);
    if (!img || iid__st_numel(kt) != 2 * IID_KPS_COUNT || iid__st_read_f32(kt, kps, &err) != IID_OK ||
        iid__draw_kps(kps, w, h, img, &err) != IID_OK)
        conf_fail(c, stage, run, "input.kps_image", "cannot draw input.kps: %s", err.msg);
    else
        conf_check_u8(c, stage, run, "input.kps_image", img, n, iid__st_find(golden, "input.kps_image"), 0, 0.0);
    free(img);
}

static void run_one(conf_ctx_t *c, const conf_pipeline_spec_t *spec, const iid_pipeline_t *p, const char *run,
                    const iid_safetensors_t *golden, const cJSON *cfg)
{
    double h, w, steps, guidance, cn, ip;
    const char *prompt = json_string(cfg, "prompt");
    const char *negative = json_string(cfg, "negative_prompt");
    if (!json_number(cfg, "height", &h) || !json_number(cfg, "width", &w) || !json_number(cfg, "steps", &steps) ||
        !json_number(cfg, "guidance", &guidance) || !json_number(cfg, "cn_scale", &cn) ||
        !json_number(cfg, "ip_scale", &ip) || !prompt) {
        conf_fail(c, spec->stage, run, "-", "%s: incomplete settings in %s", run, spec->json);
        return;
    }
    size_t HW = (size_t)h * (size_t)w;
    const iid_st_tensor_t *lat = iid__st_find(golden, "input.latents");
    iid_gen_params_t g;
    iid__gen_params_init(&g);
    g.prompt = prompt;
    g.negative = negative;
    g.prompt_mode = spec->mode;
    g.width = (int)w;
    g.height = (int)h;
    g.steps = (int)steps;
    g.guidance = (float)guidance;
    g.controlnet_scale = (float)cn;
    g.ip_scale = (float)ip;
    float *latents = lat ? input_f32(c, golden, "input.latents", (size_t)iid__st_numel(lat)) : NULL;
    const iid_st_tensor_t *emb = iid__st_find(golden, "input.face_embedding");
    float *embedding = emb ? input_f32(c, golden, "input.face_embedding", (size_t)iid__st_numel(emb)) : NULL;
    g.latents = latents;
    g.face_embedding = embedding;
    g.embedding_dim = emb ? (int)iid__st_numel(emb) : 0;
    g.kps_image = input_u8(c, golden, "input.kps_image", HW * 3);
    check_kps_image(c, spec->stage, run, golden, (int)w, (int)h);
    g.control_mask = input_u8(c, golden, "input.control_mask", HW * 3);
    trace_ctx_t tc = {c, spec->stage, run, golden};
    g.trace = on_trace;
    g.user = &tc;
    uint8_t *out = malloc(HW * 3);
    iid_error_t err;
    iid_error_clear(&err);
    if (!latents || !embedding || !g.kps_image || !out)
        conf_fail(c, spec->stage, run, "-", "missing or mis-sized input.latents / face_embedding / kps_image");
    else if (iid__pipeline_generate(p, &g, out, &err) != IID_OK)
        conf_fail(c, spec->stage, run, "-", "%s", err.msg);
    else
        conf_check_u8(c, spec->stage, run, "output.image_uint8", out, HW * 3, iid__st_find(golden, "output.image_uint8"),
                      1, CONF_U8_FRACTION);
    free(out), free(latents), free(embedding);
}

static int has_prefix(const char *s, const char *p) { return p && strncmp(s, p, strlen(p)) == 0; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted malloc'd names of golden/<prefix>*.safetensors (minus exclude_prefix). */
static int list_runs(conf_ctx_t *c, const conf_pipeline_spec_t *spec, char ***out)
{
    char dir[4096];
    DIR *d = opendir(conf_path(c, "golden", dir, sizeof dir));
    *out = NULL;
    if (!d) return 0;
    int n = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        const char *ext = ".safetensors";
        if (!has_prefix(e->d_name, spec->prefix) || has_prefix(e->d_name, spec->exclude_prefix)) continue;
        if (len <= strlen(ext) || strcmp(e->d_name + len - strlen(ext), ext) != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[n] = strndup(e->d_name, len - strlen(ext));
        if (names[n]) n++;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

void conf_run_pipelines(conf_ctx_t *c, const conf_pipeline_spec_t *spec)
{
    char **runs;
    int n = list_runs(c, spec, &runs);
    if (n == 0) {
        conf_skip(c, spec->stage, "-", "-", "no golden/%s*.safetensors in the kit", spec->prefix);
        free(runs);
        return;
    }
    char path[4096], rel[1024];
    iid_json_t settings;
    iid_error_t err;
    snprintf(rel, sizeof rel, "golden/%s", spec->json);
    int heads = 0;
    iid_pipeline_t *p = NULL;
    iid_model_paths_t paths;
    if (conf_load_json(c, rel, &settings, &err) != IID_OK) {
        conf_skip(c, spec->stage, "-", "-", "%s", err.msg);
        goto out;
    }
    if (conf_resampler_heads(c, spec->stage, &heads) != 0) goto out_json;
    iid_status s = iid__model_paths_default(&paths, conf_path(c, "models", path, sizeof path), &err);
    if (s == IID_OK && c->sdxl_file) {
        conf_path(c, c->sdxl_file, paths.sdxl, sizeof paths.sdxl);
        conf_path(c, "models/sdxl", paths.sdxl_config, sizeof paths.sdxl_config);
    }
    if (s != IID_OK || iid__pipeline_load(&p, &paths, heads, &err) != IID_OK) {
        conf_fail(c, spec->stage, "-", "-", "%s", err.msg);
        goto out_json;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(settings.root, runs[i]);
        const char *run = runs[i] + strlen(spec->prefix);
        iid_safetensors_t golden;
        snprintf(rel, sizeof rel, "%s.safetensors", runs[i]);
        if (!cfg) conf_fail(c, spec->stage, run, "-", "no entry '%s' in %s", runs[i], spec->json);
        else if (conf_open_golden(c, spec->stage, rel, &golden) == 0) {
            run_one(c, spec, p, run, &golden, cfg);
            conf_close(c, &golden);
        }
    }
    iid__pipeline_free(p);
out_json:
    iid__json_free(&settings);
out:
    for (int i = 0; i < n; i++) free(runs[i]);
    free(runs);
}
