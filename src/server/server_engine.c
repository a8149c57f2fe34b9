/* server_engine.c - adapter from the server's engine interface to iid_engine_t
 * (or, without one, the catalog alone: the styles and schedulers need no model). */
#include "server/server_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/scheduler.h"

typedef struct adapter {
    iid_engine_t *engine;
    const iid_styles_t *styles;
    iid_render_options_t opts;
    const char **style_names;
    const char **scheduler_names;
    int n_styles, n_schedulers;
} adapter_t;

static iid_status catalog(void *ctx, iid_engine_catalog_t *out, iid_error_t *err)
{
    (void)err;
    adapter_t *a = ctx;
    out->styles = a->style_names;
    out->n_styles = a->n_styles;
    out->default_style = a->styles->default_name;
    out->schedulers = a->scheduler_names;
    out->n_schedulers = a->n_schedulers;
    out->default_scheduler = a->scheduler_names[0];
    out->lcm_available = 0;
    out->lcm_reason = "LCM mode (an LCM-LoRA) is not supported by this build yet";
    return IID_OK;
}

static iid_status generate(void *ctx, const iid_gen_request_t *req, iid_gen_progress_fn progress, void *progress_user,
                           const char *out_png_path, iid_error_t *err)
{
    adapter_t *a = ctx;
    iid_face_prep_opts_t po;
    iid__face_prep_opts_init(&po);
    po.width = req->width;
    po.height = req->height;
    const char *face_name = req->face_name && *req->face_name ? req->face_name : "face image";
    const char *pose_name = req->pose_name && *req->pose_name ? req->pose_name : "pose image";
    iid_face_prep_t face = {0}, pose = {0};
    char *prompt = NULL, *negative = NULL, *params = NULL;
    iid_status s = iid__engine_prepare_bytes(a->engine, req->face, req->face_size, face_name, &po, &face, err);
    if (s == IID_OK && req->pose) {
        s = iid__engine_prepare_bytes(a->engine, req->pose, req->pose_size, pose_name, &po, &pose, err);
        if (s == IID_OK) iid__face_prep_use_pose(&face, &pose);
    }
    if (s == IID_OK)
        s = iid__styles_apply(a->styles, req->style, req->prompt, req->negative_prompt, &prompt, &negative, err);
    if (s == IID_OK) {
        iid_render_params_t r;
        iid__render_params_init(&r);
        r.prompt = prompt;
        r.negative = negative;
        r.prompt_mode = a->opts.prompt_mode;
        r.steps = req->steps;
        r.guidance = req->guidance;
        r.identitynet_strength = req->identitynet_strength;
        r.adapter_strength = req->adapter_strength;
        r.scheduler = req->scheduler;
        r.seed = req->seed;
        r.face_mask = req->face_mask >= 0 ? req->face_mask : a->opts.face_mask;
        r.vae_tile = a->opts.vae_tile;
        r.on_step = progress;
        r.user = progress_user;
        char extra[256];
        snprintf(extra, sizeof extra, "Style: %s", req->style);
        params = iid__render_parameters_text(&r, face.width, face.height, extra);
        s = params ? iid__engine_render(a->engine, &face, &r, out_png_path, params, err)
                   : iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    free(params), free(prompt), free(negative);
    iid__face_prep_free(&face);
    iid__face_prep_free(&pose);
    return s;
}

iid_status iid__server_engine_open(iid_engine_t *e, const iid_styles_t *styles, const iid_render_options_t *opts,
                                   iid_server_engine_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    adapter_t *a = calloc(1, sizeof *a);
    int n_sched = 0;
    while (iid__sched_name_at(n_sched)) n_sched++;
    if (a) {
        a->style_names = calloc((size_t)(styles->count ? styles->count : 1), sizeof *a->style_names);
        a->scheduler_names = calloc((size_t)(n_sched ? n_sched : 1), sizeof *a->scheduler_names);
    }
    if (!a || !a->style_names || !a->scheduler_names) {
        if (a) free(a->style_names), free(a->scheduler_names);
        free(a);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    a->engine = e;
    a->styles = styles;
    a->opts = *opts;
    for (int i = 0; i < styles->count; i++) a->style_names[i] = styles->items[i].name;
    for (int i = 0; i < n_sched; i++) a->scheduler_names[i] = iid__sched_name_at(i);
    a->n_styles = styles->count;
    a->n_schedulers = n_sched;
    out->ctx = a;
    out->generate = e ? generate : NULL;
    out->catalog = catalog;
    return IID_OK;
}

void iid__server_engine_close(iid_server_engine_t *se)
{
    if (!se || !se->ctx) return;
    adapter_t *a = se->ctx;
    free(a->style_names);
    free(a->scheduler_names);
    free(a);
    se->ctx = NULL;
}
