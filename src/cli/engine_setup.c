/* engine_setup.c - model options -> paths -> a loaded engine. */
#include "cli/engine_setup.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "formats/lora.h"
#include "pipeline/model_load.h"
#include "io/file.h"

iid_status iid_cli_models_read(const iid_opts_t *o, iid_cli_models_t *m, iid_error_t *err)
{
    memset(m, 0, sizeof *m);
    m->models = iid_cli_get(o, "models") ? iid_cli_get(o, "models") : "models";
    m->sdxl = iid_cli_get(o, "sdxl");
    m->controlnet = iid_cli_get(o, "controlnet");
    m->ip_adapter = iid_cli_get(o, "ip-adapter");
    m->face_models = iid_cli_get(o, "face-models");
    m->sdxl_config = iid_cli_get(o, "sdxl-config");
    m->n_loras = iid_cli_get_all(o, "lora", m->loras, IID_CLI_MAX_LORAS);
    if (m->n_loras > IID_CLI_MAX_LORAS)
        return iid__fail(err, IID_ERR_INVALID, "--lora: at most %d LoRAs", IID_CLI_MAX_LORAS);
    m->lcm = iid_cli_flag(o, "lcm");
    m->resampler_heads = 20;
    m->verbose = iid_cli_flag(o, "verbose");
    IID_TRY(iid_cli_long(o, "resampler-heads", 1, 1024, &m->resampler_heads, err));
    IID_TRY(iid_cli_long(o, "threads", 1, 4096, &m->threads, err));
    IID_TRY(iid_cli_long(o, "vae-tile", 8, 4096, &m->vae_tile, err));
    IID_TRY(iid_cli_choice(o, "device", "cpu|cuda", &m->device, err));
    const char *dtype = NULL;
    IID_TRY(iid_cli_choice(o, "dtype", "f32|f16|bf16", &dtype, err));
    if (dtype && strcmp(dtype, "f32") != 0)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "--dtype %s: the CPU backend computes in f32 (weights keep their "
                                                   "stored dtype)", dtype);
    return IID_OK;
}

iid_render_options_t iid_cli_render_options(const iid_opts_t *o, const iid_cli_models_t *m)
{
    iid_render_options_t ro = {iid_cli_flag(o, "plain-prompts") ? IID_PROMPT_PLAIN : IID_PROMPT_WEIGHTED,
                               !iid_cli_flag(o, "no-face-mask"), (int)m->vae_tile};
    return ro;
}

iid_status iid_cli_lcm_scheduler(const iid_cli_models_t *m, const char **name, iid_error_t *err)
{
    if (!m->lcm) return IID_OK;
    if (*name && strcmp(*name, "lcm") != 0)
        return iid__fail(err, IID_ERR_INVALID, "--lcm runs the lcm scheduler; drop --scheduler %s", *name);
    *name = "lcm";
    return IID_OK;
}

/* MODELS/lcm-lora-sdxl/pytorch_lora_weights.safetensors into buf. */
static iid_status lcm_lora_path(const iid_cli_models_t *m, char *buf, size_t cap, iid_error_t *err)
{
    char dir[4096];
    IID_TRY(iid__path_join(dir, sizeof dir, m->models, "lcm-lora-sdxl", err));
    IID_TRY(iid__path_join(buf, cap, dir, "pytorch_lora_weights.safetensors", err));
    if (!iid__is_file(buf))
        return iid__fail(err, IID_ERR_NOT_FOUND, "%s: --lcm needs the LCM-LoRA (scripts/download-models.sh --lcm)", buf);
    return IID_OK;
}

/* A LoRA's name as AUTOMATIC1111 shows it: the file name without extension. */
static void lora_name(const char *spec, char *buf, size_t cap, char *mult, size_t mcap)
{
    iid_lora_spec_t ls;
    if (iid__lora_spec_parse(&ls, spec, NULL) != IID_OK) {
        snprintf(buf, cap, "?");
        snprintf(mult, mcap, "1");
        return;
    }
    char *slash = strrchr(ls.path, '/'), *base = slash ? slash + 1 : ls.path;
    char *dot = strrchr(base, '.');
    if (dot) *dot = '\0';
    if (strcmp(base, "pytorch_lora_weights") == 0 && slash) { /* diffusers layout: the folder names it */
        *slash = '\0';
        char *up = strrchr(ls.path, '/');
        base = up ? up + 1 : ls.path;
    }
    snprintf(buf, cap, "%.200s", base);
    for (int prec = 6; prec <= 9; prec++) { /* the shortest text that reads back as the same float */
        snprintf(mult, mcap, "%.*g", prec, ls.multiplier);
        if ((float)strtod(mult, NULL) == ls.multiplier) break;
    }
}

void iid_cli_lora_tags(const iid_cli_models_t *m, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i <= m->n_loras; i++) {
        char name[256], mult[32];
        if (i == m->n_loras) {
            if (!m->lcm) break;
            snprintf(name, sizeof name, "lcm-lora-sdxl");
            snprintf(mult, sizeof mult, "1");
        } else
            lora_name(m->loras[i], name, sizeof name, mult, sizeof mult);
        int n = snprintf(buf + used, cap - used, " <lora:%s:%s>", name, mult);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
}

static void copy_path(char *dst, size_t cap, const char *src)
{
    if (src) snprintf(dst, cap, "%s", src);
}

iid_status iid_cli_engine_open(const iid_cli_models_t *m, int load_faces, iid_engine_t **out,
                               const char **device_name, iid_error_t *err)
{
    *out = NULL;
    if (m->device && strcmp(m->device, "cuda") == 0)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "--device cuda: this build has no CUDA backend; use --device cpu");
    if (device_name) *device_name = "cpu";
    if (m->threads > 0) {
        omp_set_num_threads((int)m->threads);
        openblas_set_num_threads((int)m->threads);
    }
    iid_model_paths_t paths;
    IID_TRY(iid__model_paths_default(&paths, m->models, err));
    copy_path(paths.sdxl, sizeof paths.sdxl, m->sdxl);
    copy_path(paths.controlnet, sizeof paths.controlnet, m->controlnet);
    copy_path(paths.ip_adapter, sizeof paths.ip_adapter, m->ip_adapter);
    copy_path(paths.face_models, sizeof paths.face_models, m->face_models);
    copy_path(paths.sdxl_config, sizeof paths.sdxl_config, m->sdxl_config);
    iid__sdxl_default_config(m->models, paths.sdxl, paths.sdxl_config, sizeof paths.sdxl_config);
    const char *loras[IID_CLI_MAX_LORAS + 1];
    char lcm[4096];
    for (int i = 0; i < m->n_loras; i++) loras[i] = m->loras[i];
    paths.loras = loras;
    paths.n_loras = m->n_loras;
    if (m->lcm) {
        IID_TRY(lcm_lora_path(m, lcm, sizeof lcm, err));
        loras[paths.n_loras++] = lcm;
    }
    IID_TRY(iid__engine_load(out, &paths, (int)m->resampler_heads, load_faces, err));
    if (m->verbose) fprintf(stderr, "instantid: models loaded, peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
    return IID_OK;
}
