/* engine.c - pipeline + face models, prepare and render. */
#include "pipeline/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/png_write.h"

void iid__engine_free(iid_engine_t *e)
{
    if (!e) return;
    iid__pipeline_free(e->pipeline);
    if (e->has_faces) iid__face_models_free(&e->faces);
    free(e);
}

iid_status iid__engine_load(iid_engine_t **out, const iid_model_paths_t *paths, int resampler_heads, int load_faces,
                            iid_error_t *err)
{
    *out = NULL;
    iid_engine_t *e = calloc(1, sizeof *e);
    if (!e) return iid__fail(err, IID_ERR_NOMEM, "out of memory loading the models");
    iid_status s = IID_OK;
    if (load_faces) {
        s = iid__face_models_load(&e->faces, paths->face_models, err);
        e->has_faces = s == IID_OK;
    }
    if (s == IID_OK) s = iid__pipeline_load(&e->pipeline, paths, resampler_heads, err);
    if (s != IID_OK) {
        iid__engine_free(e);
        return s;
    }
    *out = e;
    return IID_OK;
}

static iid_status need_faces(const iid_engine_t *e, iid_error_t *err)
{
    return e->has_faces ? IID_OK : iid__fail(err, IID_ERR_INVALID, "the face models were not loaded");
}

iid_status iid__engine_prepare_file(iid_engine_t *e, const char *path, const iid_face_prep_opts_t *o,
                                    iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(need_faces(e, err));
    return iid__face_prep_file(&e->faces, path, o, out, err);
}

iid_status iid__engine_prepare_bytes(iid_engine_t *e, const void *data, size_t size, const char *name,
                                     const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(need_faces(e, err));
    return iid__face_prep_bytes(&e->faces, data, size, name, o, out, err);
}

iid_status iid__engine_render(const iid_engine_t *e, const iid_face_prep_t *face, const iid_render_params_t *r,
                              const char *png_path, const char *parameters, iid_error_t *err)
{
    if (!face->embedding || !face->kps_image)
        return iid__fail(err, IID_ERR_INVALID, "%s: no prepared face to render from", png_path);
    iid_gen_params_t g;
    iid__gen_params_init(&g);
    g.prompt = r->prompt;
    g.negative = r->negative;
    g.prompt_mode = r->prompt_mode;
    g.width = face->width;
    g.height = face->height;
    g.steps = r->steps;
    g.guidance = (float)r->guidance;
    g.controlnet_scale = (float)r->identitynet_strength;
    g.ip_scale = (float)r->adapter_strength;
    g.scheduler = r->scheduler;
    g.seed = r->seed;
    g.latents = r->latents;
    g.face_embedding = face->embedding;
    g.embedding_dim = face->embedding_dim;
    g.kps_image = face->kps_image;
    g.control_mask = r->face_mask ? face->mask : NULL;
    g.vae_tile = r->vae_tile;
    g.on_step = r->on_step;
    g.user = r->user;
    g.activation_peak = r->activation_peak;
    iid_image_t img;
    IID_TRY(iid__image_alloc(&img, face->width, face->height, 3, err));
    iid_status s = iid__pipeline_generate(e->pipeline, &g, img.data, err);
    if (s == IID_OK) {
        iid_png_text_t text = {"parameters", parameters};
        s = iid__png_write(png_path, &img, parameters ? &text : NULL, parameters ? 1 : 0, err);
    }
    iid__image_free(&img);
    return s;
}
