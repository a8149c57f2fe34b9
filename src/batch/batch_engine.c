/* batch_engine.c - adapter from the batch runner's engine interface to iid_engine_t. */
#include "batch/batch_engine.h"

#include <stdlib.h>
#include <string.h>

typedef struct adapter {
    iid_engine_t *engine;
    iid_render_options_t opts;
} adapter_t;

static iid_status prepare(void *ctx, const char *image_path, const iid_batch_size_t *size, void **prepared,
                          iid_prepared_info_t *info, iid_error_t *err)
{
    adapter_t *a = ctx;
    *prepared = NULL;
    iid_face_prep_opts_t o;
    iid__face_prep_opts_init(&o);
    o.width = size->width;
    o.height = size->height;
    memcpy(o.pad_rgb, size->pad_rgb, 3);
    iid_face_prep_t *face = calloc(1, sizeof *face);
    if (!face) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", image_path);
    iid_status s = iid__engine_prepare_file(a->engine, image_path, &o, face, err);
    if (s != IID_OK) {
        iid__face_prep_free(face);
        free(face);
        return s;
    }
    info->width = face->width;
    info->height = face->height;
    info->face_count = face->face_count;
    info->face_score = face->face_score;
    *prepared = face;
    return IID_OK;
}

void iid__batch_render_params(const iid_batch_request_t *req, const iid_render_options_t *opts,
                              iid_render_params_t *r)
{
    iid__render_params_init(r);
    r->prompt = req->prompt;
    r->negative = req->negative_prompt;
    r->steps = req->job->steps;
    r->guidance = req->job->guidance;
    r->identitynet_strength = req->job->identitynet_strength;
    r->adapter_strength = req->job->adapter_strength;
    r->scheduler = req->scheduler;
    r->seed = req->job->seed;
    if (opts) {
        r->prompt_mode = opts->prompt_mode;
        r->face_mask = opts->face_mask;
        r->vae_tile = opts->vae_tile;
    }
}

typedef struct step_relay {
    iid_step_cb cb;
    void *user;
} step_relay_t;

static int on_step(void *user, int step, int total)
{
    step_relay_t *r = user;
    if (r->cb) r->cb(r->user, step, total);
    return 0; /* the runner stops between jobs, never inside one */
}

static iid_status generate(void *ctx, void *prepared, const iid_batch_request_t *req, iid_step_cb cb, void *cb_user,
                           iid_error_t *err)
{
    adapter_t *a = ctx;
    const iid_face_prep_t *face = prepared;
    step_relay_t relay = {cb, cb_user};
    iid_render_params_t r;
    iid__batch_render_params(req, &a->opts, &r);
    r.on_step = on_step;
    r.user = &relay;
    r.png_prompt = req->png_prompt;
    return iid__engine_render(a->engine, face, &r, req->out_path, req->png_parameters, err);
}

static void release(void *ctx, void *prepared)
{
    (void)ctx;
    iid__face_prep_free(prepared);
    free(prepared);
}

iid_status iid__batch_engine_open(iid_engine_t *e, const char *device, const iid_render_options_t *opts,
                                  iid_batch_engine_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    adapter_t *a = calloc(1, sizeof *a);
    if (!a) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    a->engine = e;
    a->opts = *opts;
    out->ctx = a;
    out->device = device;
    out->prepare = prepare;
    out->generate = generate;
    out->release = release;
    return IID_OK;
}

void iid__batch_engine_close(iid_batch_engine_t *be)
{
    if (!be) return;
    free(be->ctx);
    be->ctx = NULL;
}
