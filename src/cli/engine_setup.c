/* engine_setup.c - model options -> engine parameters -> a created context. */
#include "cli/engine_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "io/file.h"
#include "ops/backend.h"

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
    IID_TRY(iid_cli_backend(iid_cli_get(o, "backend"), iid_cli_get(o, "device"), &m->device, err));
    const char *dtype = NULL;
    IID_TRY(iid_cli_choice(o, "dtype", "f32|bf16|auto", &dtype, err));
    return iid__compute_dtype_choose(dtype, &m->dtype, err);
}

iid_status iid_cli_backend(const char *backend, const char *device, const char **out, iid_error_t *err)
{
    *out = backend ? backend : device;
    if (backend && device && strcmp(backend, device) != 0)
        return iid__fail(err, IID_ERR_INVALID, "--backend %s and --device %s disagree (--device is its alias)", backend,
                         device);
    if (!*out) return IID_OK;
    const iid_backend_t *be;
    return iid__backend_lookup(*out, &be, err);
}

void iid_cli_render_defaults(const iid_opts_t *o, const iid_cli_models_t *m, iid_render_params_t *r)
{
    iid_render_params_init(r);
    r->plain_prompts = iid_cli_flag(o, "plain-prompts");
    r->face_mask = !iid_cli_flag(o, "no-face-mask");
    r->vae_tile = (int)m->vae_tile;
}

iid_status iid_cli_lcm_scheduler(const iid_cli_models_t *m, const char **name, iid_error_t *err)
{
    if (!m->lcm) return IID_OK;
    if (*name && strcmp(*name, "lcm") != 0)
        return iid__fail(err, IID_ERR_INVALID, "--lcm runs the lcm scheduler; drop --scheduler %s", *name);
    *name = "lcm";
    return IID_OK;
}

iid_status iid_cli_lcm_lora_path(const iid_cli_models_t *m, char *buf, size_t cap, iid_error_t *err)
{
    char dir[4096];
    IID_TRY(iid__path_join(dir, sizeof dir, m->models, "lcm-lora-sdxl", err));
    IID_TRY(iid__path_join(buf, cap, dir, "pytorch_lora_weights.safetensors", err));
    if (!iid__is_file(buf))
        return iid__fail(err, IID_ERR_NOT_FOUND, "%s: LCM mode needs the LCM-LoRA (scripts/download-models.sh --lcm)", buf);
    return IID_OK;
}

iid_status iid_cli_ctx_params(iid_cli_models_t *m, int load_faces, iid_ctx_params_t *p, iid_error_t *err)
{
    iid_ctx_params_init(p);
    const char *backend;
    IID_TRY(iid_cli_backend(m->device, NULL, &backend, err));
    if (backend) p->backend = backend;
    p->models = m->models;
    p->sdxl = m->sdxl;
    p->sdxl_config = m->sdxl_config;
    p->controlnet = m->controlnet;
    p->ip_adapter = m->ip_adapter;
    p->face_models = m->face_models;
    p->dtype = m->dtype.dtype == IID_DTYPE_BF16 ? "bf16" : "f32";
    if (setenv(IID_DTYPE_ENV, p->dtype, 1) != 0)
        return iid__fail(err, IID_ERR_NOMEM, "--dtype %s: cannot set %s", p->dtype, IID_DTYPE_ENV);
    p->threads = (int)m->threads;
    p->resampler_heads = (int)m->resampler_heads;
    p->load_faces = load_faces;
    for (int i = 0; i < m->n_loras; i++) m->lora_specs[i] = m->loras[i];
    p->loras = m->lora_specs;
    p->n_loras = m->n_loras;
    if (m->lcm) {
        IID_TRY(iid_cli_lcm_lora_path(m, m->lcm_lora, sizeof m->lcm_lora, err));
        m->lora_specs[p->n_loras++] = m->lcm_lora;
    }
    return IID_OK;
}

iid_status iid_cli_ctx_open(const iid_cli_models_t *m, const iid_ctx_params_t *p, iid_ctx_t **out, iid_error_t *err)
{
    if (m->verbose) fprintf(stderr, "instantid: compute dtype %s\n", m->dtype.why);
    IID_TRY(iid_ctx_create(out, p, err));
    if (m->verbose) fprintf(stderr, "instantid: models loaded, peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
    return IID_OK;
}

void iid_cli_print_stats(const char *cmd, iid_ctx_t *ctx)
{
    iid_ctx_stats_t st;
    iid_ctx_get_stats(ctx, &st);
    fprintf(stderr,
            "instantid %s: %ld renders; text encoded %ld times (%ld cache hits); %ld photos analysed (%ld cache "
            "hits)\n",
            cmd, st.renders, st.text_encodes, st.text_hits, st.face_analyses, st.face_hits);
    if (st.activation_peak)
        fprintf(stderr, "instantid %s: peak activation memory of a denoising step %.1f MiB\n", cmd,
                st.activation_peak / 1048576.0);
}
