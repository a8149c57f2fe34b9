/* engine_bind.c - the engine API behind the runner's and the server's callback tables. */
#include "front/engine_bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/inputs.h"
#include "io/file.h"
#include "pipeline/infotext.h"
#include "pipeline/scheduler.h"

struct iid_engine_binding {
    iid_ctx_t *ctx;
    const iid_styles_t *styles;
    iid_render_params_t defaults;
    iid_model_names_t models, lcm_models; /* for the web PNGs' metadata: a plain and an LCM job's */
    int have_models, have_lcm_models;
    char lora_tags[IID_MAX_LORA_NAMES * 176], lcm_lora_tags[IID_MAX_LORA_NAMES * 176]; /* for the log rows */
    char lcm_why_not[IID_ERROR_MSG_MAX];
    int lcm_default;
    const char **style_names, **scheduler_names;
    int n_styles, n_schedulers;
};

/* A job's or request's values r, with the front end's fixed choices. */
static void apply_defaults(const iid_engine_binding_t *b, iid_render_params_t *r)
{
    r->plain_prompts = b->defaults.plain_prompts;
    r->face_mask = b->defaults.face_mask;
    r->vae_tile = b->defaults.vae_tile;
}

/* ---- the batch runner -------------------------------------------------- */

/* A prepared handle: the face, and the note its jobs log. */
typedef struct prepared {
    iid_face_prep_t face;
    char *note;
} prepared_t;

/* An identity folder: its images (not recursive), combined. */
static iid_status prepare_identity(iid_engine_binding_t *b, const char *dir, const iid_face_opts_t *fo,
                                   prepared_t *p, iid_error_t *err)
{
    iid_path_list_t photos = {0};
    IID_TRY(iid__scan_images(dir, 0, &photos, err));
    iid_status s = photos.count ? iid_prepare_identity(b->ctx, (const char *const *)photos.paths, photos.count, fo,
                                                       &p->face, err)
                                : iid__fail(err, IID_ERR_NOT_FOUND, "no .png, .jpg, .jpeg or .webp photos");
    iid__path_list_free(&photos);
    if (s != IID_OK) return iid__prefix(err, s, "%s", dir);
    const char *lo = p->face.left_out;
    size_t n = strlen(p->face.sources) + (lo ? strlen(lo) : 0) + 32;
    if (!(p->note = malloc(n))) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", dir);
    snprintf(p->note, n, "photos: %s%s%s", p->face.sources, lo ? "; left out: " : "", lo ? lo : "");
    return IID_OK;
}

static void release(void *ctx, void *handle)
{
    (void)ctx;
    prepared_t *p = handle;
    if (!p) return;
    iid_face_prep_free(&p->face);
    free(p->note);
    free(p);
}

static iid_status batch_prepare(void *ctx, const char *image_path, const iid_batch_size_t *size, void **handle,
                                iid_prepared_info_t *info, iid_error_t *err)
{
    iid_engine_binding_t *b = ctx;
    *handle = NULL;
    iid_face_opts_t fo;
    iid_face_opts_init(&fo);
    fo.width = size->width;
    fo.height = size->height;
    memcpy(fo.pad_rgb, size->pad_rgb, 3);
    prepared_t *p = calloc(1, sizeof *p);
    if (!p) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", image_path);
    iid_status s = iid__is_dir(image_path) ? prepare_identity(b, image_path, &fo, p, err)
                                           : iid_prepare_face_file(b->ctx, image_path, &fo, &p->face, err);
    if (s != IID_OK) {
        release(b, p);
        return s;
    }
    info->width = p->face.width;
    info->height = p->face.height;
    info->face_count = p->face.face_count;
    info->face_score = p->face.face_score;
    info->note = p->note;
    *handle = p;
    return IID_OK;
}

typedef struct step_relay {
    iid_step_cb cb;
    void *user;
} step_relay_t;

static int relay_step(void *user, int step, int total)
{
    step_relay_t *r = user;
    if (r->cb) r->cb(r->user, step, total);
    return 0; /* the runner stops between jobs, never inside one */
}

static iid_status batch_generate(void *ctx, void *handle, const iid_batch_request_t *req, iid_step_cb cb,
                                 void *cb_user, iid_error_t *err)
{
    iid_engine_binding_t *b = ctx;
    const prepared_t *p = handle;
    step_relay_t relay = {cb, cb_user};
    iid_render_params_t r;
    iid__batch_render_params(req, &r);
    apply_defaults(b, &r);
    r.on_step = relay_step;
    r.user = &relay;
    iid_png_chunk_t texts[2];
    int n = 0;
    if (req->png_parameters) texts[n++] = (iid_png_chunk_t){"parameters", req->png_parameters};
    if (req->png_prompt) texts[n++] = (iid_png_chunk_t){"prompt", req->png_prompt};
    return iid_render_png(b->ctx, &p->face, &r, req->out_path, texts, n, err);
}

iid_batch_engine_t iid__binding_batch(iid_engine_binding_t *b)
{
    return (iid_batch_engine_t){b, iid_ctx_backend(b->ctx), batch_prepare, batch_generate, release};
}

/* ---- the web server ---------------------------------------------------- */

static iid_status catalog(void *ctx, iid_engine_catalog_t *out, iid_error_t *err)
{
    (void)err;
    iid_engine_binding_t *b = ctx;
    out->styles = b->style_names;
    out->n_styles = b->n_styles;
    out->default_style = b->styles ? b->styles->default_name : NULL;
    out->schedulers = b->scheduler_names;
    out->n_schedulers = b->n_schedulers;
    out->default_scheduler = b->scheduler_names[0];
    out->lcm_available = b->ctx && iid_ctx_lcm(b->ctx);
    out->lcm_reason = out->lcm_available ? NULL
                      : b->lcm_why_not[0] ? b->lcm_why_not
                                          : "the engine was loaded without an LCM-LoRA to switch on (instantid serve "
                                            "loads MODELS/lcm-lora-sdxl)";
    out->lcm_default = b->lcm_default;
    out->lora_tags = b->lora_tags;
    out->lcm_lora_tags = b->lcm_lora_tags;
    return IID_OK;
}

/* Decode the request's face (and pose) and find the face in each; the pose,
 * when given, replaces the keypoints and size in *face. The context serialises
 * face preparation itself, so the server's HTTP threads may call this while
 * the worker renders. */
static iid_status prepare_request(iid_engine_binding_t *b, const iid_gen_request_t *req, iid_face_prep_t *face,
                                  iid_error_t *err)
{
    iid_face_opts_t fo;
    iid_face_opts_init(&fo);
    fo.width = req->width;
    fo.height = req->height;
    const char *face_name = req->face_name && *req->face_name ? req->face_name : "face image";
    const char *pose_name = req->pose_name && *req->pose_name ? req->pose_name : "pose image";
    iid_face_prep_t pose = {0};
    iid_status s = iid_prepare_face_memory(b->ctx, req->face, req->face_size, face_name, &fo, face, err);
    if (s == IID_OK && req->pose) {
        s = iid_prepare_face_memory(b->ctx, req->pose, req->pose_size, pose_name, &fo, &pose, err);
        if (s == IID_OK) iid_face_prep_use_pose(face, &pose);
    }
    iid_face_prep_free(&pose);
    return s;
}

/* The upload check before queuing: the same preparation, whose result the
 * context's face cache keeps for the job. */
static iid_status server_check(void *ctx, const iid_gen_request_t *req, iid_error_t *err)
{
    iid_face_prep_t face = {0};
    iid_status s = prepare_request(ctx, req, &face, err);
    iid_face_prep_free(&face);
    return s;
}

static iid_status server_generate(void *ctx, const iid_gen_request_t *req, iid_gen_progress_fn progress,
                                  void *progress_user, const char *out_png_path, iid_error_t *err)
{
    iid_engine_binding_t *b = ctx;
    if (!b->styles) return iid__fail(err, IID_ERR_INVALID, "no styles bound to the engine");
    iid_face_prep_t face = {0};
    char *prompt = NULL, *negative = NULL, *params = NULL, *graph = NULL;
    iid_status s = prepare_request(b, req, &face, err);
    if (s == IID_OK)
        s = iid__styles_apply(b->styles, req->style, req->prompt, req->negative_prompt, &prompt, &negative, err);
    if (s == IID_OK) {
        iid_render_params_t r;
        iid_render_params_init(&r);
        apply_defaults(b, &r);
        if (req->face_mask >= 0) r.face_mask = req->face_mask;
        r.prompt = prompt;
        r.negative = negative;
        r.steps = req->steps;
        r.guidance = req->guidance;
        r.identitynet_strength = req->identitynet_strength;
        r.adapter_strength = req->adapter_strength;
        r.scheduler = req->scheduler; /* lcm for an LCM job (server/upload.c) */
        r.lcm = req->lcm;
        r.seed = req->seed;
        r.on_step = progress;
        r.user = progress_user;
        const char *face_file = req->face_name && *req->face_name ? req->face_name : NULL;
        const iid_model_names_t *names = req->lcm && b->have_lcm_models ? &b->lcm_models
                                         : b->have_models                ? &b->models
                                                                         : NULL;
        iid_infotext_t t = {&r, face.width, face.height, req->style, face_file, -1, names};
        params = iid__infotext_a1111(&t);
        graph = iid__infotext_comfyui(&t);
        iid_png_chunk_t texts[2] = {{"parameters", params}, {"prompt", graph}};
        s = params && graph ? iid_render_png(b->ctx, &face, &r, out_png_path, texts, 2, err)
                            : iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    free(params), free(graph), free(prompt), free(negative);
    iid_face_prep_free(&face);
    return s;
}

iid_server_engine_t iid__binding_server(iid_engine_binding_t *b)
{
    iid_server_engine_t se = {b, b->ctx ? server_generate : NULL, b->ctx ? server_check : NULL, catalog};
    return se;
}

/* ---- lifetime ---------------------------------------------------------- */

void iid__binding_set_models(iid_engine_binding_t *b, const iid_model_names_t *models)
{
    b->models = *models;
    b->have_models = 1;
    iid__infotext_lora_tags(models, b->lora_tags, sizeof b->lora_tags);
}

void iid__binding_set_lcm(iid_engine_binding_t *b, const iid_model_names_t *models, const char *why_not, int on)
{
    if (models) {
        b->lcm_models = *models;
        b->have_lcm_models = 1;
        iid__infotext_lora_tags(models, b->lcm_lora_tags, sizeof b->lcm_lora_tags);
    }
    snprintf(b->lcm_why_not, sizeof b->lcm_why_not, "%s", why_not ? why_not : "");
    b->lcm_default = on;
}

void iid__engine_unbind(iid_engine_binding_t *b)
{
    if (!b) return;
    free(b->style_names);
    free(b->scheduler_names);
    free(b);
}

iid_status iid__engine_bind(iid_ctx_t *ctx, const iid_styles_t *styles, const iid_render_params_t *defaults,
                            iid_engine_binding_t **out, iid_error_t *err)
{
    *out = NULL;
    iid_engine_binding_t *b = calloc(1, sizeof *b);
    int n_sched = 0, n_styles = styles ? styles->count : 0;
    while (iid__sched_name_at(n_sched)) n_sched++;
    if (b) {
        b->style_names = calloc((size_t)(n_styles ? n_styles : 1), sizeof *b->style_names);
        b->scheduler_names = calloc((size_t)(n_sched ? n_sched : 1), sizeof *b->scheduler_names);
    }
    if (!b || !b->style_names || !b->scheduler_names) {
        iid__engine_unbind(b);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    b->ctx = ctx;
    b->styles = styles;
    b->defaults = *defaults;
    for (int i = 0; i < n_styles; i++) b->style_names[i] = styles->items[i].name;
    for (int i = 0; i < n_sched; i++) b->scheduler_names[i] = iid__sched_name_at(i);
    b->n_styles = n_styles;
    b->n_schedulers = n_sched;
    *out = b;
    return IID_OK;
}
