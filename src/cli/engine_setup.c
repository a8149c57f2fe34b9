/* engine_setup.c - model options -> paths -> a loaded engine. */
#include "cli/engine_setup.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "ops/backend.h"

iid_status iid_cli_models_read(const iid_opts_t *o, iid_cli_models_t *m, iid_error_t *err)
{
    memset(m, 0, sizeof *m);
    m->models = iid_cli_get(o, "models") ? iid_cli_get(o, "models") : "models";
    m->sdxl = iid_cli_get(o, "sdxl");
    m->controlnet = iid_cli_get(o, "controlnet");
    m->ip_adapter = iid_cli_get(o, "ip-adapter");
    m->face_models = iid_cli_get(o, "face-models");
    m->resampler_heads = 20;
    m->verbose = iid_cli_flag(o, "verbose");
    IID_TRY(iid_cli_long(o, "resampler-heads", 1, 1024, &m->resampler_heads, err));
    IID_TRY(iid_cli_long(o, "threads", 1, 4096, &m->threads, err));
    IID_TRY(iid_cli_long(o, "vae-tile", 8, 4096, &m->vae_tile, err));
    IID_TRY(iid_cli_backend(iid_cli_get(o, "backend"), iid_cli_get(o, "device"), &m->device, err));
    const char *dtype = NULL;
    IID_TRY(iid_cli_choice(o, "dtype", "f32|f16|bf16", &dtype, err));
    if (dtype && strcmp(dtype, "f32") != 0)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "--dtype %s: the CPU backend computes in f32 (weights keep their "
                                                   "stored dtype)", dtype);
    return IID_OK;
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

iid_render_options_t iid_cli_render_options(const iid_opts_t *o, const iid_cli_models_t *m)
{
    iid_render_options_t ro = {iid_cli_flag(o, "plain-prompts") ? IID_PROMPT_PLAIN : IID_PROMPT_WEIGHTED,
                               !iid_cli_flag(o, "no-face-mask"), (int)m->vae_tile};
    return ro;
}

static void copy_path(char *dst, size_t cap, const char *src)
{
    if (src) snprintf(dst, cap, "%s", src);
}

iid_status iid_cli_engine_open(const iid_cli_models_t *m, int load_faces, iid_engine_t **out,
                               const char **device_name, iid_error_t *err)
{
    *out = NULL;
    const char *backend;
    IID_TRY(iid_cli_backend(m->device, NULL, &backend, err));
    /* the models bind to $IID_BACKEND's backend when they load (ops/backend.h);
     * the CLI entry is the one place that sets process state */
    if (backend && setenv(IID_BACKEND_ENV, backend, 1) != 0)
        return iid__fail(err, IID_ERR_NOMEM, "--backend %s: cannot set %s", backend, IID_BACKEND_ENV);
    if (device_name) *device_name = iid__backend_default()->name;
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
    IID_TRY(iid__engine_load(out, &paths, (int)m->resampler_heads, load_faces, err));
    if (m->verbose) fprintf(stderr, "instantid: models loaded, peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
    return IID_OK;
}
