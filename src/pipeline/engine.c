/*
 * engine.c - the public engine API of include/iid.h: a context that owns the
 * diffusion pipeline, the face models and the two caches, and the calls that
 * prepare faces and render images through them.
 *
 * Everything a front end (generate, batch, serve) needs goes through here, so
 * the caches serve all of them alike: text embeddings per (prompt, negative,
 * mode, guidance on/off) in text_cache.c, face analyses per photo content in
 * face_cache.c. Statistics count the expensive calls the caches save.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/png_write.h"
#include "ops/backend.h"
#include "pipeline/face_cache.h"
#include "pipeline/model_load.h"
#include "pipeline/face_prep.h"
#include "pipeline/instantid.h"
#include "pipeline/lora_switch.h"
#include "pipeline/text_cache.h"

struct iid_ctx {
    iid_pipeline_t *pipeline;
    iid_lora_switch_t lcm;      /* the LoRAs of plain and LCM mode, and which one the pipeline holds */
    iid_face_models_t faces;
    int has_faces;
    pthread_mutex_t faces_lock; /* the face models' scratch state, the face cache and its counters */
    int lock_ready;
    iid_text_cache_t text;
    iid_face_cache_t face_cache;
    iid_ctx_stats_t stats;
    char backend[32];
};

void iid_ctx_params_init(iid_ctx_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->models = "models";
    p->backend = NULL; /* the build's default backend */
    p->dtype = "f32";
    p->resampler_heads = 20;
    p->load_faces = 1;
    p->text_cache = 64;
    p->face_cache = 1024;
}

void iid_ctx_free(iid_ctx_t *ctx)
{
    if (!ctx) return;
    iid__pipeline_free(ctx->pipeline);
    iid__lora_switch_free(&ctx->lcm);
    if (ctx->has_faces) iid__face_models_free(&ctx->faces);
    if (ctx->lock_ready) pthread_mutex_destroy(&ctx->faces_lock);
    iid__text_cache_free(&ctx->text);
    iid__face_cache_free(&ctx->face_cache);
    free(ctx);
}

static void copy_path(char *dst, size_t cap, const char *src)
{
    if (src) snprintf(dst, cap, "%s", src);
}

static iid_status check_params(const iid_ctx_params_t *p, const iid_backend_t **be, iid_error_t *err)
{
    *be = iid__backend_default();
    if (p->backend) IID_TRY(iid__backend_lookup(p->backend, be, err));
    /* the cpu backend binds weights in $IID_DTYPE's dtype (ops/backend.h), which
     * the CLI sets; a library caller asking for another must set it too */
    iid_compute_dtype_t dt;
    IID_TRY(iid__compute_dtype_choose(p->dtype, &dt, err));
    if (dt.dtype != iid__compute_dtype_default())
        return iid__fail(err, IID_ERR_UNSUPPORTED, "dtype %s: set %s=%s before creating the context (weights bind in "
                         "its dtype)", p->dtype, IID_DTYPE_ENV, dt.dtype == IID_DTYPE_BF16 ? "bf16" : "f32");
    if (p->threads < 0 || p->resampler_heads < 1)
        return iid__fail(err, IID_ERR_INVALID, "threads must be >= 0 and resampler heads >= 1 (got %d, %d)",
                         p->threads, p->resampler_heads);
    return IID_OK;
}

iid_status iid_ctx_create(iid_ctx_t **out, const iid_ctx_params_t *p, iid_error_t *err)
{
    *out = NULL;
    const iid_backend_t *be;
    IID_TRY(check_params(p, &be, err));
    if (p->threads > 0) omp_set_num_threads(p->threads); /* oneDNN and the ops share OpenMP's pool */
    iid_model_paths_t paths;
    IID_TRY(iid__model_paths_default(&paths, p->models ? p->models : "models", err));
    copy_path(paths.sdxl, sizeof paths.sdxl, p->sdxl);
    copy_path(paths.controlnet, sizeof paths.controlnet, p->controlnet);
    copy_path(paths.ip_adapter, sizeof paths.ip_adapter, p->ip_adapter);
    copy_path(paths.face_models, sizeof paths.face_models, p->face_models);
    copy_path(paths.sdxl_config, sizeof paths.sdxl_config, p->sdxl_config);
    iid__sdxl_default_config(p->models ? p->models : "models", paths.sdxl, paths.sdxl_config, sizeof paths.sdxl_config);
    paths.loras = p->loras;
    paths.n_loras = p->n_loras;
    iid_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return iid__fail(err, IID_ERR_NOMEM, "out of memory loading the models");
    snprintf(c->backend, sizeof c->backend, "%s", be->name);
    c->lock_ready = pthread_mutex_init(&c->faces_lock, NULL) == 0;
    iid_status s = c->lock_ready ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "cannot create the engine's lock");
    if (s == IID_OK) s = iid__text_cache_init(&c->text, p->text_cache, err);
    if (s == IID_OK) s = iid__face_cache_init(&c->face_cache, p->face_cache, err);
    if (s == IID_OK && p->load_faces) {
        s = iid__face_models_load(&c->faces, paths.face_models, err);
        c->has_faces = s == IID_OK;
    }
    if (s == IID_OK) s = iid__lora_switch_init(&c->lcm, &paths, p->lcm_lora, p->lcm_lora && p->lcm, err);
    if (s == IID_OK) s = iid__pipeline_load(&c->pipeline, iid__lora_switch_paths(&c->lcm), p->resampler_heads, err);
    if (s == IID_OK) s = iid__pipeline_use_backend(c->pipeline, be, err);
    if (s != IID_OK) {
        iid_ctx_free(c);
        return s;
    }
    *out = c;
    return IID_OK;
}

int iid_ctx_lcm(const iid_ctx_t *ctx)
{
    return ctx->lcm.has_lcm;
}

const char *iid_ctx_backend(const iid_ctx_t *ctx)
{
    return ctx->backend;
}

void iid_ctx_latent_shape(const iid_ctx_t *ctx, int *channels, int *stride)
{
    *channels = ctx->pipeline->vae->latent_channels;
    *stride = ctx->pipeline->vae->upscale;
}

void iid_ctx_get_stats(iid_ctx_t *ctx, iid_ctx_stats_t *out)
{
    pthread_mutex_lock(&ctx->faces_lock);
    *out = ctx->stats;
    pthread_mutex_unlock(&ctx->faces_lock);
}

/* ---- faces ------------------------------------------------------------- */

void iid_face_opts_init(iid_face_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->pad_rgb[0] = o->pad_rgb[1] = o->pad_rgb[2] = 255;
}

/* Failures that depend only on the bytes, so asking again would fail again. */
static int lasting_failure(iid_status s)
{
    return s == IID_ERR_NO_FACE || s == IID_ERR_FORMAT || s == IID_ERR_UNSUPPORTED || s == IID_ERR_RANGE;
}

/* A cached analysis as a full prepared face: copy the numbers, redraw the images. */
static iid_status from_cache(const iid_face_entry_t *e, const char *name, iid_face_prep_t *out, iid_error_t *err)
{
    if (e->status != IID_OK) /* the reason, under this request's name (a copy may have another) */
        return iid__fail(err, e->status, "%s: %s", name, e->msg + e->name_len);
    *out = e->face;
    out->kps_image = out->mask = NULL;
    out->embedding = malloc((size_t)e->face.embedding_dim * sizeof(float));
    if (!out->embedding) {
        memset(out, 0, sizeof *out);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", name);
    }
    memcpy(out->embedding, e->face.embedding, (size_t)e->face.embedding_dim * sizeof(float));
    iid_status s = iid__face_prep_draw(out, 1, name, err);
    if (s != IID_OK) iid_face_prep_free(out);
    return s;
}

/* The cache, else the analysis; the caller holds faces_lock. */
static iid_status prepare_locked(iid_ctx_t *ctx, const void *data, size_t size, const char *name,
                                 const iid_face_opts_t *opts, iid_face_prep_t *out, iid_error_t *err)
{
    iid_face_opts_t def;
    if (!opts) {
        iid_face_opts_init(&def);
        opts = &def;
    }
    iid_face_key_t key = iid__face_key(data, size, opts);
    const iid_face_entry_t *e = iid__face_cache_find(&ctx->face_cache, &key);
    if (e) {
        ctx->stats.face_hits++;
        return from_cache(e, name, out, err);
    }
    ctx->stats.face_analyses++;
    iid_face_prep_opts_t po;
    iid__face_prep_opts_init(&po);
    po.width = opts->width;
    po.height = opts->height;
    memcpy(po.pad_rgb, opts->pad_rgb, 3);
    iid_error_t local;
    iid_error_clear(&local);
    iid_image_t img;
    iid_status s = iid__image_decode(&img, data, size, name, NULL, &local);
    if (s == IID_OK) {
        s = iid__face_prep_image(&ctx->faces, &img, name, &po, out, &local);
        iid__image_free(&img);
    }
    if (s == IID_OK || lasting_failure(s)) iid__face_cache_put(&ctx->face_cache, &key, s, local.msg, name, out);
    if (s != IID_OK && err) *err = local;
    return s;
}

static iid_status prepare_bytes(iid_ctx_t *ctx, const void *data, size_t size, const char *name,
                                const iid_face_opts_t *opts, iid_face_prep_t *out, iid_error_t *err)
{
    pthread_mutex_lock(&ctx->faces_lock);
    iid_status s = prepare_locked(ctx, data, size, name, opts, out, err);
    pthread_mutex_unlock(&ctx->faces_lock);
    return s;
}

static iid_status need_faces(const iid_ctx_t *ctx, iid_error_t *err)
{
    return ctx->has_faces ? IID_OK : iid__fail(err, IID_ERR_INVALID, "the face models were not loaded");
}

iid_status iid_prepare_face_file(iid_ctx_t *ctx, const char *path, const iid_face_opts_t *opts,
                                 iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(need_faces(ctx, err));
    char *bytes;
    size_t size;
    iid_image_limits_t lim;
    iid__image_limits_init(&lim);
    IID_TRY(iid__file_read_all(path, lim.max_bytes, &bytes, &size, err));
    iid_status s = prepare_bytes(ctx, bytes, size, path, opts, out, err);
    free(bytes);
    return s;
}

iid_status iid_prepare_face_memory(iid_ctx_t *ctx, const void *data, size_t size, const char *name,
                                   const iid_face_opts_t *opts, iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(need_faces(ctx, err));
    return prepare_bytes(ctx, data, size, name ? name : "image", opts, out, err);
}

iid_status iid_prepare_face_embedding(iid_ctx_t *ctx, const float *embedding, int dim, const float kps[10],
                                      int width, int height, iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    int want = ctx->pipeline->resampler.embedding_dim;
    if (!embedding || dim != want)
        return iid__fail(err, IID_ERR_INVALID, "the face embedding must have %d values (got %d)", want,
                         embedding ? dim : 0);
    if (width < 1 || height < 1) return iid__fail(err, IID_ERR_INVALID, "face size %dx%d is empty", width, height);
    if (!(out->embedding = malloc((size_t)dim * sizeof(float)))) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    memcpy(out->embedding, embedding, (size_t)dim * sizeof(float));
    double ss = 0.0;
    for (int i = 0; i < dim; i++) ss += (double)embedding[i] * embedding[i];
    out->embedding_dim = dim;
    out->embedding_norm = (float)sqrt(ss);
    out->width = width;
    out->height = height;
    memcpy(out->kps, kps, sizeof out->kps);
    iid_status s = iid__face_prep_draw(out, 0, "keypoints", err);
    if (s != IID_OK) iid_face_prep_free(out);
    return s;
}

/* ---- rendering --------------------------------------------------------- */

iid_status iid_render(iid_ctx_t *ctx, const iid_face_prep_t *face, const iid_render_params_t *r, unsigned char *rgb,
                      iid_error_t *err)
{
    if (!face || !face->embedding || !face->kps_image)
        return iid__fail(err, IID_ERR_INVALID, "no prepared face to render from");
    if (!r->prompt) return iid__fail(err, IID_ERR_INVALID, "no prompt given");
    const iid_pipeline_t *p = ctx->pipeline;
    if (r->latents) {
        int C = p->vae->latent_channels, s = p->vae->upscale;
        size_t want = (size_t)C * (size_t)(face->width / s) * (size_t)(face->height / s);
        if (r->latents_count != want)
            return iid__fail(err, IID_ERR_INVALID, "latents: %zu values, a %dx%d image needs %zu", r->latents_count,
                             face->width, face->height, want);
    }
    int reloaded = 0, text_changed = 0;
    iid_status sw = iid__lora_switch_use(&ctx->lcm, ctx->pipeline, r->lcm != 0, &reloaded, &text_changed, err);
    if (text_changed) iid__text_cache_clear(&ctx->text); /* encoded by the other mode's text encoders */
    pthread_mutex_lock(&ctx->faces_lock); /* the counters share the lock */
    ctx->stats.renders++;
    ctx->stats.lcm_switches += reloaded;
    pthread_mutex_unlock(&ctx->faces_lock);
    if (sw != IID_OK) return sw;
    iid_gen_params_t g;
    iid__gen_params_init(&g);
    g.prompt = r->prompt;
    g.negative = r->negative;
    g.prompt_mode = r->plain_prompts ? IID_PROMPT_PLAIN : IID_PROMPT_WEIGHTED;
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
    size_t activation_peak = 0;
    g.activation_peak = &activation_peak;
    int hit = 0;
    IID_TRY(iid__text_cache_get(&ctx->text, &p->text, g.prompt_mode, g.prompt, g.negative, g.guidance > 1.0f,
                                &g.text_pos, &g.text_neg, &hit, err));
    pthread_mutex_lock(&ctx->faces_lock);
    if (hit) ctx->stats.text_hits++;
    else ctx->stats.text_encodes++;
    pthread_mutex_unlock(&ctx->faces_lock);
    iid_status s = iid__pipeline_generate(p, &g, rgb, err);
    pthread_mutex_lock(&ctx->faces_lock);
    if (activation_peak > ctx->stats.activation_peak) ctx->stats.activation_peak = activation_peak;
    pthread_mutex_unlock(&ctx->faces_lock);
    return s;
}

iid_status iid_render_png(iid_ctx_t *ctx, const iid_face_prep_t *face, const iid_render_params_t *r,
                          const char *png_path, const iid_png_chunk_t *texts, int n_texts, iid_error_t *err)
{
    if (!face || face->width < 1 || face->height < 1)
        return iid__fail(err, IID_ERR_INVALID, "%s: no prepared face to render from", png_path);
    if (n_texts < 0 || n_texts > 16 || (n_texts && !texts))
        return iid__fail(err, IID_ERR_INVALID, "%s: %d text chunks (0..16)", png_path, n_texts);
    iid_png_text_t chunks[16];
    for (int i = 0; i < n_texts; i++) chunks[i] = (iid_png_text_t){texts[i].key, texts[i].text};
    iid_image_t img;
    IID_TRY(iid__image_alloc(&img, face->width, face->height, 3, err));
    iid_status s = iid_render(ctx, face, r, img.data, err);
    if (s == IID_OK) s = iid__png_write(png_path, &img, n_texts ? chunks : NULL, n_texts, err);
    iid__image_free(&img);
    return s;
}
