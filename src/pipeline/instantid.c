/*
 * instantid.c - model loading and the denoising loop of InstantID.
 *
 * Buffers are sized from the models' own configs (latent channels, latent stride,
 * cross-attention width, token counts), so a tiny test model and SDXL run through
 * the same code. Every buffer of one generation lives in gen_state_t and is
 * released in one place.
 *
 * Backends: the models run on the backend they were loaded onto (ops/backend.h);
 * each denoising step's model memory comes from a step allocator planned on the
 * first step, and the cross-attentions' keys and values of the (unchanging)
 * text and face tokens are made on the first step and kept for the others
 * (models/kv_cache.h). What the models read and write is that backend's memory: the
 * conditioning (text and face tokens, pooled embedding, control image, mask) is
 * made or uploaded there once per generation, and the model outputs stay there.
 * The scheduler runs on the host (its families keep per-step state and branch
 * per step; porting them is not worth it for 2 x 0.25 MB): the latents are host
 * memory, so each step uploads the model input (B x C x h x w floats: 0.5 MB at
 * 1024x1024 with guidance) and downloads the guided noise prediction (C x h x w:
 * 0.25 MB), a fraction of a millisecond on PCIe against a UNet step of tens of
 * milliseconds. On a host backend (ref, cpu) neither copy happens: the host side
 * of those buffers is the backend buffer itself (stage_t). The VAE decodes from
 * backend memory and its image is downloaded once.
 */
#include "pipeline/instantid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finite.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/torch_zip.h"
#include "ops/ops.h"
#include "ops/step_alloc.h"
#include "pipeline/model_load.h"
#include "pipeline/scheduler.h"
#include "pipeline/unused_weights.h"

iid_status iid__model_paths_default(iid_model_paths_t *p, const char *models_dir, iid_error_t *err)
{
    memset(p, 0, sizeof *p);
    IID_TRY(iid__path_join(p->sdxl, sizeof p->sdxl, models_dir, "sdxl", err));
    IID_TRY(iid__path_join(p->controlnet, sizeof p->controlnet, models_dir, "ControlNetModel", err));
    if (!iid__is_dir(p->controlnet))
        IID_TRY(iid__path_join(p->controlnet, sizeof p->controlnet, models_dir, "ControlNetModel.safetensors", err));
    IID_TRY(iid__path_join(p->face_models, sizeof p->face_models, models_dir, "antelopev2", err));
    IID_TRY(iid__path_join(p->ip_adapter, sizeof p->ip_adapter, models_dir, "ip-adapter.bin", err));
    if (!iid__is_file(p->ip_adapter))
        IID_TRY(iid__path_join(p->ip_adapter, sizeof p->ip_adapter, models_dir, "ip-adapter.safetensors", err));
    return IID_OK;
}

void iid__pipeline_free(iid_pipeline_t *p)
{
    if (!p) return;
    iid__text_cond_free(&p->text);
    iid__unet_free(p->unet);
    iid__controlnet_free(p->controlnet);
    iid__vae_free(p->vae);
    iid__resampler_free(&p->resampler);
    iid__st_close(&p->adapter);
    iid__json_free(&p->scheduler_config);
    free(p);
}

/* The adapter file stays open: the UNet's IP weights may point into it. */
static iid_status load_adapter(iid_pipeline_t *p, const char *path, int heads, iid_error_t *err)
{
    IID_TRY(iid__weights_open(&p->adapter, path, err));
    iid_status s = iid__resampler_load(&p->resampler, &p->adapter, "image_proj.", heads, err);
    if (s == IID_OK) s = iid__unet_load_ip(p->unet, &p->adapter, "ip_adapter.", err);
    return s;
}

iid_status iid__pipeline_load(iid_pipeline_t **out, const iid_model_paths_t *paths, int resampler_heads,
                              iid_error_t *err)
{
    *out = NULL;
    iid_pipeline_t *p = calloc(1, sizeof *p);
    if (!p) return iid__fail(err, IID_ERR_NOMEM, "out of memory loading the pipeline");
    iid_sdxl_source_t src;
    iid_lora_set_t loras;
    iid_status s = iid__lora_set_open(&loras, paths->loras, paths->n_loras, err);
    if (s == IID_OK) s = iid__sdxl_source_init(&src, paths->sdxl, paths->sdxl_config, err);
    if (s == IID_OK) s = iid__load_text_cond(&p->text, &src, &loras, err);
    if (s == IID_OK) s = iid__load_unet(&p->unet, &src, &loras, err);
    iid__lora_set_close(&loras); /* fused weights are the models' own copies */
    if (s == IID_OK) s = iid__load_vae(&p->vae, &src, err);
    if (s == IID_OK) s = iid__load_controlnet(&p->controlnet, paths->controlnet, p->unet, err);
    if (s == IID_OK) s = load_adapter(p, paths->ip_adapter, resampler_heads, err);
    if (s == IID_OK) s = iid__load_scheduler_config(&p->scheduler_config, &src, err);
    if (s == IID_OK && p->resampler.output_dim != p->unet->trunk.cfg.cross_dim)
        s = iid__fail(err, IID_ERR_FORMAT, "%s: face tokens are %d wide but the UNet's cross_attention_dim is %d",
                      paths->ip_adapter, p->resampler.output_dim, p->unet->trunk.cfg.cross_dim);
    if (s != IID_OK) {
        iid__pipeline_free(p);
        return s;
    }
    iid__pipeline_warn_unused(p, NULL);
    *out = p;
    return IID_OK;
}

void iid__gen_params_init(iid_gen_params_t *g)
{
    memset(g, 0, sizeof *g);
    g->prompt_mode = IID_PROMPT_WEIGHTED;
    g->width = g->height = 1024;
    g->steps = 30;
    g->guidance = 5.0f;
    g->controlnet_scale = 0.8f;
    g->ip_scale = 0.8f;
    g->embedding_dim = 512;
}

/* A backend buffer the host also reads or writes: host is dev itself on a host
 * backend (no copy ever), a host buffer of the same size on a device one. */
typedef struct stage {
    float *dev, *host;
} stage_t;

static int stage_alloc(const iid_backend_t *be, stage_t *b, size_t n)
{
    b->dev = iid__op_alloc(be, (n ? n : 1) * sizeof(float));
    b->host = be->host_memory ? b->dev : malloc((n ? n : 1) * sizeof(float));
    return b->dev && b->host;
}

static void stage_free(const iid_backend_t *be, stage_t *b)
{
    if (b->host != b->dev) free(b->host);
    iid__op_free(be, b->dev);
    b->dev = b->host = NULL;
}

/* host -> dev, and dev -> host, of the first n floats (no-ops on a host backend). */
static void stage_push(const iid_backend_t *be, const stage_t *b, size_t n)
{
    if (b->host != b->dev) iid__op_upload(be, b->dev, b->host, n * sizeof(float));
}

static iid_status stage_pull(const iid_backend_t *be, const stage_t *b, size_t n, iid_error_t *err)
{
    return b->host != b->dev ? iid__op_download(be, b->host, b->dev, n * sizeof(float), err) : IID_OK;
}

/* Everything one generation allocates. be is the models' backend; "dev" buffers
 * are its memory, the others host memory. */
typedef struct gen_state {
    const iid_backend_t *be;
    iid_prompt_embeds_t pos, neg;
    iid_sched_t *sched;
    float *text_ctx;    /* dev (B, T + Q, D): text tokens then face tokens */
    float *face_tokens; /* dev (B, Q, D) */
    float *text_embeds; /* dev (B, P) */
    float *time_ids;    /* host (B, 6): the embedding op takes host scalars */
    float *control;     /* dev (B, 3, H, W) keypoint image in [0, 1] */
    float *mask;        /* dev (H, W) control_mask channel 0 / 255, or NULL */
    float *latents;     /* host (1, C, h, w): the scheduler's */
    stage_t model_in;   /* (B, C, h, w) */
    float *noise;       /* dev (B, C, h, w) UNet output */
    stage_t guided;     /* (1, C, h, w) noise prediction after guidance */
    float *z;           /* dev (1, C, h, w) the VAE's input */
    stage_t decoded;    /* (1, 3, H, W) */
    float *image;       /* host (1, H, W, 3) */
    iid_kv_cache_t kv;  /* the cross-attentions' keys and values, made on the first step */
} gen_state_t;

static void gen_state_free(gen_state_t *st)
{
    const iid_backend_t *be = st->be;
    iid__prompt_embeds_free(&st->pos);
    iid__prompt_embeds_free(&st->neg);
    iid__sched_free(st->sched);
    iid__op_free(be, st->text_ctx), iid__op_free(be, st->face_tokens), iid__op_free(be, st->text_embeds);
    iid__op_free(be, st->control), iid__op_free(be, st->mask), iid__op_free(be, st->noise), iid__op_free(be, st->z);
    stage_free(be, &st->model_in), stage_free(be, &st->guided), stage_free(be, &st->decoded);
    free(st->time_ids), free(st->latents), free(st->image);
    iid__kv_cache_free(&st->kv);
}

static void trace(const iid_gen_params_t *g, const char *name, const float *data, size_t n)
{
    if (g->trace) g->trace(g->user, name, data, n);
}

/* trace of n floats in be's memory (be NULL: host memory). A device backend's are
 * downloaded into a temporary: tracing is a debugging and conformance path, and a
 * failed download drops the record rather than the generation. */
static void trace_dev(const iid_gen_params_t *g, const iid_backend_t *be, const char *name, const float *data,
                      size_t n)
{
    if (!g->trace) return;
    if (!be || be->host_memory) {
        g->trace(g->user, name, data, n);
        return;
    }
    float *h = malloc((n ? n : 1) * sizeof *h);
    iid_error_t err;
    if (h && iid__op_download(be, h, data, n * sizeof *h, &err) == IID_OK) g->trace(g->user, name, h, n);
    free(h);
}

static void trace_step(const iid_gen_params_t *g, const iid_backend_t *be, int step, const char *what,
                       const float *data, size_t n)
{
    if (!g->trace) return;
    char name[96];
    snprintf(name, sizeof name, "step%d.%s", step, what);
    trace_dev(g, be, name, data, n);
}

static iid_status check_params(const iid_pipeline_t *p, const iid_gen_params_t *g, int stride, iid_error_t *err)
{
    if (!g->prompt) return iid__fail(err, IID_ERR_INVALID, "no prompt given");
    if (g->width <= 0 || g->height <= 0 || g->width % stride || g->height % stride)
        return iid__fail(err, IID_ERR_INVALID, "size %dx%d must be positive multiples of %d", g->width, g->height,
                         stride);
    if (g->steps < 1 || g->steps > 1000) return iid__fail(err, IID_ERR_INVALID, "steps %d outside 1..1000", g->steps);
    if (!g->face_embedding || g->embedding_dim != p->resampler.embedding_dim)
        return iid__fail(err, IID_ERR_INVALID, "the face embedding must have %d values (got %d)",
                         p->resampler.embedding_dim, g->face_embedding ? g->embedding_dim : 0);
    if (!g->kps_image) return iid__fail(err, IID_ERR_INVALID, "no keypoint image given");
    if (!isfinite(g->guidance) || !isfinite(g->controlnet_scale) || !isfinite(g->ip_scale))
        return iid__fail(err, IID_ERR_INVALID, "guidance and strengths must be finite numbers");
    return IID_OK;
}

/* Text tokens, face tokens and the per-row conditioning vectors. */
static iid_status build_conditioning(const iid_pipeline_t *p, const iid_gen_params_t *g, int B, gen_state_t *st,
                                     iid_error_t *err)
{
    int cfg = B == 2;
    if (g->text_pos && (!cfg || g->text_neg)) { /* encoded before: the caller's cache */
        IID_TRY(iid__prompt_embeds_copy(&st->pos, g->text_pos, err));
        if (cfg) IID_TRY(iid__prompt_embeds_copy(&st->neg, g->text_neg, err));
    } else {
        IID_TRY(iid__text_cond_encode(&p->text, g->prompt_mode, g->prompt, g->negative, cfg, &st->pos,
                                      cfg ? &st->neg : NULL, err));
    }
    int T = st->pos.tokens, D = st->pos.dim, P = st->pos.pooled_dim;
    int Q = p->resampler.num_queries, O = p->resampler.output_dim;
    if (D != O)
        return iid__fail(err, IID_ERR_FORMAT, "text embeddings are %d wide but face tokens are %d wide", D, O);
    if (cfg && st->neg.tokens != T)
        return iid__fail(err, IID_ERR_INVALID, "prompt and negative encode to %d and %d tokens", T, st->neg.tokens);
    const iid_backend_t *be = st->be;
    st->face_tokens = iid__op_alloc(be, (size_t)B * Q * O * sizeof(float));
    st->text_ctx = iid__op_alloc(be, (size_t)B * (T + Q) * D * sizeof(float));
    st->text_embeds = iid__op_alloc(be, (size_t)B * P * sizeof(float));
    st->time_ids = malloc((size_t)B * 6 * sizeof(float));
    if (!st->face_tokens || !st->text_ctx || !st->text_embeds || !st->time_ids)
        return iid__fail(err, IID_ERR_NOMEM, "out of memory for the conditioning");
    iid_tensor_t face_tokens = iid__tensor_wrap(be, st->face_tokens, 3, (int64_t[]){B, Q, O});
    IID_TRY(iid__encode_prompt_image_emb(&p->resampler, g->face_embedding, g->embedding_dim, cfg, &face_tokens, err));
    for (int b = 0; b < B; b++) {
        const iid_prompt_embeds_t *e = (cfg && b == 0) ? &st->neg : &st->pos;
        float *row = st->text_ctx + (size_t)b * (T + Q) * D;
        iid__op_upload(be, row, e->embeds, (size_t)T * D * sizeof(float));
        iid__op_copy(be, row + (size_t)T * D, st->face_tokens + (size_t)b * Q * O, (size_t)Q * O * sizeof(float));
        iid__op_upload(be, st->text_embeds + (size_t)b * P, e->pooled, (size_t)P * sizeof(float));
        float ids[6] = {(float)g->height, (float)g->width, 0.0f, 0.0f, (float)g->height, (float)g->width};
        memcpy(st->time_ids + (size_t)b * 6, ids, sizeof ids);
    }
    if (g->trace) {
        float *pe = malloc((size_t)B * T * D * sizeof(float));
        if (pe) {
            for (int b = 0; b < B; b++)
                memcpy(pe + (size_t)b * T * D, ((cfg && b == 0) ? &st->neg : &st->pos)->embeds,
                       (size_t)T * D * sizeof(float));
            trace(g, "cond.prompt_embeds", pe, (size_t)B * T * D);
            free(pe);
        }
        trace_dev(g, be, "cond.ip_tokens", st->face_tokens, (size_t)B * Q * O);
        trace_dev(g, be, "cond.controlnet_encoder_hidden_states", st->face_tokens, (size_t)B * Q * O);
        trace_dev(g, be, "cond.unet_encoder_hidden_states", st->text_ctx, (size_t)B * (T + Q) * D);
        trace_dev(g, be, "cond.text_embeds", st->text_embeds, (size_t)B * P);
        trace(g, "cond.time_ids", st->time_ids, (size_t)B * 6);
    }
    return IID_OK;
}

/* The keypoint image as (B, 3, H, W) floats in [0, 1] (not [-1, 1]), and the mask,
 * converted from the host u8 images into backend memory by the backend's image op. */
static iid_status build_images(const iid_gen_params_t *g, int B, gen_state_t *st, iid_error_t *err)
{
    const iid_backend_t *be = st->be;
    size_t HW = (size_t)g->width * g->height;
    st->control = iid__op_alloc(be, (size_t)B * 3 * HW * sizeof(float));
    if (!st->control) return iid__fail(err, IID_ERR_NOMEM, "out of memory for the control image");
    IID_TRY(iid__op_image_u8_to_f32(be, st->control, g->kps_image, (int64_t)HW, 3, 0, 3, 255.0f, 0.0f, err));
    for (int b = 1; b < B; b++) iid__op_copy(be, st->control + b * 3 * HW, st->control, 3 * HW * sizeof(float));
    trace_dev(g, be, "cond.control_image", st->control, (size_t)B * 3 * HW);
    if (g->control_mask) {
        st->mask = iid__op_alloc(be, HW * sizeof(float));
        if (!st->mask) return iid__fail(err, IID_ERR_NOMEM, "out of memory for the face mask");
        IID_TRY(iid__op_image_u8_to_f32(be, st->mask, g->control_mask, (int64_t)HW, 3, 0, 1, 255.0f, 0.0f, err));
    }
    return IID_OK;
}

/* One denoising step: IdentityNet, UNet, guidance, scheduler. */
static iid_status denoise_step(const iid_pipeline_t *p, const iid_gen_params_t *g, int B, int i, int h, int w,
                               const iid_backend_t *step_be, gen_state_t *st, iid_error_t *err)
{
    const iid_backend_t *be = st->be;
    const iid_unet_config_t *ucfg = &p->unet->trunk.cfg;
    int C = ucfg->in_channels, Q = p->resampler.num_queries;
    size_t n1 = (size_t)C * h * w;
    float t = iid__sched_timesteps(st->sched)[i];
    for (int b = 0; b < B; b++)
        iid__sched_scale_model_input(st->sched, i, st->latents, st->model_in.host + b * n1, n1);
    stage_push(be, &st->model_in, B * n1);
    trace_step(g, NULL, i, "timestep", &t, 1);
    trace_step(g, NULL, i, "latent_model_input", st->model_in.host, B * n1);

    int D = ucfg->cross_dim;
    iid_unet_cond_t cond = {t, iid__tensor_wrap(be, st->face_tokens, 3, (int64_t[]){B, Q, D}),
                            iid__tensor_wrap(be, st->text_embeds, 2, (int64_t[]){B, st->pos.pooled_dim}),
                            iid__tensor_wrap(NULL, st->time_ids, 2, (int64_t[]){B, 6}), &st->kv};
    iid_tensor_t sample = iid__tensor_wrap(be, st->model_in.dev, 4, (int64_t[]){B, C, h, w});
    iid_tensor_t mask = st->mask ? iid__tensor_wrap(be, st->mask, 2, (int64_t[]){g->height, g->width}) : (iid_tensor_t){0};
    iid_controlnet_inputs_t cin = {sample, cond, iid__tensor_wrap(be, st->control, 4, (int64_t[]){B, 3, g->height, g->width}),
                                   g->controlnet_scale, p->controlnet->trunk.be == p->unet->trunk.be ? step_be : NULL};
    if (p->controlnet->trunk.be != be) cin.cond.kv = NULL; /* its entries would live on another backend */
    iid_residuals_t res = {0};
    iid_status s = iid__controlnet_forward(p->controlnet, &cin, &res, err);
    if (s == IID_OK && g->trace) {
        char what[64];
        for (int k = 0; k < res.n_down; k++) {
            snprintf(what, sizeof what, "controlnet_down%d", k);
            trace_step(g, res.down[k].be, i, what, res.down[k].data, (size_t)iid__tensor_numel(&res.down[k]));
        }
        trace_step(g, res.mid.be, i, "controlnet_mid", res.mid.data, (size_t)iid__tensor_numel(&res.mid));
    }
    if (s == IID_OK && st->mask) s = iid__residuals_apply_mask(&res, &mask, err);
    if (s == IID_OK && g->trace && st->mask) {
        char what[64];
        for (int k = 0; k < res.n_down; k++) {
            snprintf(what, sizeof what, "unet_down_residual%d", k);
            trace_step(g, res.down[k].be, i, what, res.down[k].data, (size_t)iid__tensor_numel(&res.down[k]));
        }
        trace_step(g, res.mid.be, i, "unet_mid_residual", res.mid.data, (size_t)iid__tensor_numel(&res.mid));
    }
    if (s == IID_OK) {
        iid_unet_inputs_t uin;
        iid__unet_inputs_init(&uin);
        uin.sample = sample;
        uin.cond = cond;
        uin.cond.context = iid__tensor_wrap(be, st->text_ctx, 3, (int64_t[]){B, st->pos.tokens + Q, D});
        uin.residuals = &res;
        uin.be = step_be;
        uin.ip = (iid_ip_args_t){Q, g->ip_scale, mask};
        iid_tensor_t noise = iid__tensor_wrap(be, st->noise, 4, (int64_t[]){B, C, h, w});
        s = iid__unet_forward(p->unet, &uin, &noise, err);
    }
    iid__residuals_free(&res);
    IID_TRY(s);
    trace_step(g, be, i, "unet_out", st->noise, B * n1);
    const float *eps = st->noise; /* (C, h, w) for the host scheduler */
    if (B == 2) {
        IID_TRY(iid__op_lerp(be, st->guided.dev, st->noise, st->noise + n1, g->guidance, (int64_t)n1, err));
        eps = st->guided.dev;
    }
    if (!be->host_memory) { /* the step's one download */
        IID_TRY(iid__op_download(be, st->guided.host, eps, n1 * sizeof(float), err));
        eps = st->guided.host;
    }
    trace_step(g, NULL, i, "noise_pred_guided", eps, n1);
    iid_rng_t rng;
    iid__rng_init(&rng, g->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)));
    iid_noise_source_t noise = iid__rng_noise_source(&rng);
    IID_TRY(iid__sched_step(st->sched, i, eps, st->latents, st->latents, n1, &noise, NULL, err));
    trace_step(g, NULL, i, "latents_out", st->latents, n1);
    return IID_OK;
}

/* The UNet, the IdentityNet and the adapter sit idle while the VAE decodes.
 * Where their products read the weights from the checkpoints' mappings (the ref
 * backend; the cpu backend's f32 matrix products) those pages are the weights'
 * only memory: they leave the process for the decode, whose own peak would
 * otherwise sit on top of them (a 1024x1024 generation in f32: 12.4 GiB), and
 * the next step reads them back from the page cache. Prepared or uploaded
 * weights left these mappings when they were copied. */
static void release_idle_weights(const iid_pipeline_t *p)
{
    iid__st_release_pages(p->unet->file);
    iid__st_release_pages(&p->controlnet->file);
    iid__st_release_pages(&p->adapter);
}

static iid_status decode(const iid_pipeline_t *p, const iid_gen_params_t *g, int h, int w, gen_state_t *st,
                         uint8_t *out_rgb, iid_error_t *err)
{
    release_idle_weights(p);
    const iid_backend_t *be = st->be;
    size_t n1 = (size_t)p->vae->latent_channels * h * w, HW = (size_t)g->width * g->height;
    st->z = iid__op_alloc(be, n1 * sizeof(float));
    st->image = malloc(3 * HW * sizeof(float));
    if (!st->z || !st->image || !stage_alloc(be, &st->decoded, 3 * HW))
        return iid__fail(err, IID_ERR_NOMEM, "out of memory decoding the image");
    iid__op_upload(be, st->z, st->latents, n1 * sizeof(float));
    iid_tensor_t z = iid__tensor_wrap(be, st->z, 4, (int64_t[]){1, p->vae->latent_channels, h, w});
    iid_tensor_t decoded = iid__tensor_wrap(be, st->decoded.dev, 4, (int64_t[]){1, 3, g->height, g->width});
    IID_TRY(iid__vae_unscale(p->vae, &z, &z, err));
    trace_dev(g, be, "vae.latents_in", st->z, n1);
    if (g->vae_tile > 0 && (g->vae_tile < h || g->vae_tile < w))
        IID_TRY(iid__vae_decode_tiled(p->vae, &z, g->vae_tile, g->vae_tile / 4, &decoded, err));
    else
        IID_TRY(iid__vae_decode(p->vae, &z, &decoded, err));
    IID_TRY(stage_pull(be, &st->decoded, 3 * HW, err));
    trace(g, "vae.decoded", st->decoded.host, 3 * HW);
    iid__image_to_float_nhwc(st->image, st->decoded.host, 1, 3, g->height, g->width);
    trace(g, "output.image_float", st->image, 3 * HW);
    iid__image_float_to_u8(out_rgb, st->image, 3 * HW);
    return IID_OK;
}

iid_status iid__pipeline_use_backend(iid_pipeline_t *p, const iid_backend_t *be, iid_error_t *err)
{
    if (!be->host_memory || !p->unet->trunk.be->host_memory)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "backend '%s': the models were bound to '%s' at load", be->name,
                         p->unet->trunk.be->name);
    p->unet->trunk.be = p->controlnet->trunk.be = be;
    p->vae->be = p->resampler.be = be;
    p->text.te1.be = p->text.te2.be = be;
    return IID_OK;
}

iid_status iid__pipeline_generate(const iid_pipeline_t *p, const iid_gen_params_t *g, uint8_t *out_rgb,
                                  iid_error_t *err)
{
    int stride = p->vae->upscale;
    IID_TRY(check_params(p, g, stride, err));
    const iid_unet_config_t *ucfg = &p->unet->trunk.cfg;
    if (ucfg->in_channels != p->vae->latent_channels)
        return iid__fail(err, IID_ERR_FORMAT, "the UNet takes %d latent channels but the VAE has %d",
                         ucfg->in_channels, p->vae->latent_channels);
    int B = g->guidance > 1.0f ? 2 : 1;
    int h = g->height / stride, w = g->width / stride, C = ucfg->in_channels;
    size_t n1 = (size_t)C * h * w;
    gen_state_t st;
    memset(&st, 0, sizeof st);
    st.be = p->unet->trunk.be;
    iid__kv_cache_init(&st.kv, st.be);
    iid_status s = iid__sched_create(&st.sched, g->scheduler ? g->scheduler : "euler", &p->scheduler_config, err);
    if (s == IID_OK) s = iid__sched_set_timesteps(st.sched, g->steps, err);
    if (s == IID_OK && g->trace) {
        trace(g, "schedule.timesteps", iid__sched_timesteps(st.sched), (size_t)iid__sched_num_timesteps(st.sched));
        trace(g, "schedule.sigmas", iid__sched_sigmas(st.sched), (size_t)iid__sched_num_sigmas(st.sched));
        float ins = iid__sched_init_noise_sigma(st.sched);
        trace(g, "schedule.init_noise_sigma", &ins, 1);
    }
    if (s == IID_OK) s = build_conditioning(p, g, B, &st, err);
    if (s == IID_OK) s = build_images(g, B, &st, err);
    if (s == IID_OK) {
        st.latents = malloc(n1 * sizeof(float));
        st.noise = iid__op_alloc(st.be, B * n1 * sizeof(float));
        int staged = stage_alloc(st.be, &st.model_in, B * n1) && stage_alloc(st.be, &st.guided, n1);
        if (!st.latents || !st.noise || !staged) s = iid__fail(err, IID_ERR_NOMEM, "out of memory for the latents");
    }
    if (s == IID_OK) {
        if (g->latents) memcpy(st.latents, g->latents, n1 * sizeof(float));
        else {
            iid_rng_t rng;
            iid__rng_init(&rng, g->seed);
            iid__rng_normal_fill(&rng, st.latents, n1);
        }
        iid__scale(st.latents, iid__sched_init_noise_sigma(st.sched), (int64_t)n1);
        trace(g, "init.latents_times_init_noise_sigma", st.latents, n1);
    }
    int total = s == IID_OK ? iid__sched_num_timesteps(st.sched) : 0;
    /* every step's activations and kernel scratch come from one planned block
     * (ops/step_alloc.h): the first step records, the others allocate nothing */
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, p->unet->trunk.be);
    for (int i = 0; s == IID_OK && i < total; i++) {
        iid__step_alloc_begin(&sa);
        s = denoise_step(p, g, B, i, h, w, &sa.be, &st, err);
        if (s == IID_OK) s = iid__step_alloc_end(&sa, err);
        if (g->activation_peak && sa.block_bytes > *g->activation_peak) *g->activation_peak = sa.block_bytes;
        if (s == IID_OK) s = iid__check_finite(st.latents, n1, err, "the latents after step %d of %d", i + 1, total);
        if (s == IID_OK && g->on_step && g->on_step(g->user, i + 1, total))
            s = iid__fail(err, IID_ERR_INTERRUPTED, "stopped after step %d of %d", i + 1, total);
    }
    iid__step_alloc_free(&sa);
    iid__kv_cache_free(&st.kv); /* the decode has no use for it */
    if (s == IID_OK) s = decode(p, g, h, w, &st, out_rgb, err);
    if (s == IID_OK) s = iid__check_finite(st.image, (size_t)3 * g->width * g->height, err, "the decoded image");
    gen_state_free(&st);
    return s;
}
