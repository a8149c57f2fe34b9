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
 * first step. The pipeline's own tensors (conditioning, latents, model outputs)
 * are host memory, and the scheduler's per-element updates run on the host
 * between steps: right for the host backends (ref, cpu), where upload and
 * download are memcpy. A device backend will need an upload of the model input
 * and a download of the noise prediction per step here (about 0.5 MB at
 * 1024x1024), plus the conditioning uploaded once.
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

/* Everything one generation allocates. */
typedef struct gen_state {
    iid_prompt_embeds_t pos, neg;
    iid_sched_t *sched;
    float *text_ctx;    /* (B, T + Q, D): text tokens then face tokens */
    float *face_tokens; /* (B, Q, D) */
    float *text_embeds; /* (B, P) */
    float *time_ids;    /* (B, 6) */
    float *control;     /* (B, 3, H, W) keypoint image in [0, 1] */
    float *mask;        /* (H, W) control_mask channel 0 / 255, or NULL */
    float *latents;     /* (1, C, h, w) */
    float *model_in;    /* (B, C, h, w) */
    float *noise;       /* (B, C, h, w) UNet output */
    float *guided;      /* (1, C, h, w) */
    float *decoded;     /* (1, 3, H, W) then reused for NHWC floats */
    float *image;       /* (1, H, W, 3) */
} gen_state_t;

static void gen_state_free(gen_state_t *st)
{
    iid__prompt_embeds_free(&st->pos);
    iid__prompt_embeds_free(&st->neg);
    iid__sched_free(st->sched);
    free(st->text_ctx), free(st->face_tokens), free(st->text_embeds), free(st->time_ids);
    free(st->control), free(st->mask), free(st->latents), free(st->model_in), free(st->noise);
    free(st->guided), free(st->decoded), free(st->image);
}

static void trace(const iid_gen_params_t *g, const char *name, const float *data, size_t n)
{
    if (g->trace) g->trace(g->user, name, data, n);
}

static void trace_step(const iid_gen_params_t *g, int step, const char *what, const float *data, size_t n)
{
    if (!g->trace) return;
    char name[96];
    snprintf(name, sizeof name, "step%d.%s", step, what);
    g->trace(g->user, name, data, n);
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
    st->face_tokens = malloc((size_t)B * Q * O * sizeof(float));
    st->text_ctx = malloc((size_t)B * (T + Q) * D * sizeof(float));
    st->text_embeds = malloc((size_t)B * P * sizeof(float));
    st->time_ids = malloc((size_t)B * 6 * sizeof(float));
    if (!st->face_tokens || !st->text_ctx || !st->text_embeds || !st->time_ids)
        return iid__fail(err, IID_ERR_NOMEM, "out of memory for the conditioning");
    IID_TRY(iid__encode_prompt_image_emb(&p->resampler, g->face_embedding, g->embedding_dim, cfg, st->face_tokens,
                                         err));
    for (int b = 0; b < B; b++) {
        const iid_prompt_embeds_t *e = (cfg && b == 0) ? &st->neg : &st->pos;
        float *row = st->text_ctx + (size_t)b * (T + Q) * D;
        memcpy(row, e->embeds, (size_t)T * D * sizeof(float));
        memcpy(row + (size_t)T * D, st->face_tokens + (size_t)b * Q * O, (size_t)Q * O * sizeof(float));
        memcpy(st->text_embeds + (size_t)b * P, e->pooled, (size_t)P * sizeof(float));
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
        trace(g, "cond.ip_tokens", st->face_tokens, (size_t)B * Q * O);
        trace(g, "cond.controlnet_encoder_hidden_states", st->face_tokens, (size_t)B * Q * O);
        trace(g, "cond.unet_encoder_hidden_states", st->text_ctx, (size_t)B * (T + Q) * D);
        trace(g, "cond.text_embeds", st->text_embeds, (size_t)B * P);
        trace(g, "cond.time_ids", st->time_ids, (size_t)B * 6);
    }
    return IID_OK;
}

/* The keypoint image as (B, 3, H, W) floats in [0, 1] (not [-1, 1]), and the mask,
 * converted from the u8 images by the backend's image op. The pipeline keeps its
 * tensors in host memory (a host backend's memory); the latents stay on the host
 * between steps for the scheduler. */
static iid_status build_images(const iid_pipeline_t *p, const iid_gen_params_t *g, int B, gen_state_t *st,
                               iid_error_t *err)
{
    const iid_backend_t *be = p->unet->trunk.be;
    size_t HW = (size_t)g->width * g->height;
    st->control = malloc((size_t)B * 3 * HW * sizeof(float));
    if (!st->control) return iid__fail(err, IID_ERR_NOMEM, "out of memory for the control image");
    IID_TRY(iid__op_image_u8_to_f32(be, st->control, g->kps_image, (int64_t)HW, 3, 0, 3, 255.0f, 0.0f, err));
    for (int b = 1; b < B; b++) iid__op_copy(be, st->control + b * 3 * HW, st->control, 3 * HW * sizeof(float));
    trace(g, "cond.control_image", st->control, (size_t)B * 3 * HW);
    if (g->control_mask) {
        st->mask = malloc(HW * sizeof(float));
        if (!st->mask) return iid__fail(err, IID_ERR_NOMEM, "out of memory for the face mask");
        IID_TRY(iid__op_image_u8_to_f32(be, st->mask, g->control_mask, (int64_t)HW, 3, 0, 1, 255.0f, 0.0f, err));
    }
    return IID_OK;
}

/* One denoising step: IdentityNet, UNet, guidance, scheduler. */
static iid_status denoise_step(const iid_pipeline_t *p, const iid_gen_params_t *g, int B, int i, int h, int w,
                               const iid_backend_t *step_be, gen_state_t *st, iid_error_t *err)
{
    const iid_unet_config_t *ucfg = &p->unet->trunk.cfg;
    int C = ucfg->in_channels, Q = p->resampler.num_queries;
    size_t n1 = (size_t)C * h * w;
    float t = iid__sched_timesteps(st->sched)[i];
    for (int b = 0; b < B; b++) iid__sched_scale_model_input(st->sched, i, st->latents, st->model_in + b * n1, n1);
    trace_step(g, i, "timestep", &t, 1);
    trace_step(g, i, "latent_model_input", st->model_in, B * n1);

    iid_unet_cond_t cond = {t, st->face_tokens, Q, st->text_embeds, st->pos.pooled_dim, st->time_ids, 6};
    iid_controlnet_inputs_t cin = {st->model_in, B, h, w, cond, st->control, g->height, g->width,
                                   g->controlnet_scale, p->controlnet->trunk.be == p->unet->trunk.be ? step_be : NULL};
    iid_residuals_t res = {0};
    iid_status s = iid__controlnet_forward(p->controlnet, &cin, &res, err);
    if (s == IID_OK && g->trace) {
        char what[64];
        for (int k = 0; k < res.n_down; k++) {
            snprintf(what, sizeof what, "controlnet_down%d", k);
            trace_step(g, i, what, res.down[k].data, iid__fmap_numel(&res.down[k]));
        }
        trace_step(g, i, "controlnet_mid", res.mid.data, iid__fmap_numel(&res.mid));
    }
    if (s == IID_OK && st->mask) s = iid__residuals_apply_mask(&res, st->mask, g->height, g->width, err);
    if (s == IID_OK && g->trace && st->mask) {
        char what[64];
        for (int k = 0; k < res.n_down; k++) {
            snprintf(what, sizeof what, "unet_down_residual%d", k);
            trace_step(g, i, what, res.down[k].data, iid__fmap_numel(&res.down[k]));
        }
        trace_step(g, i, "unet_mid_residual", res.mid.data, iid__fmap_numel(&res.mid));
    }
    if (s == IID_OK) {
        iid_unet_inputs_t uin;
        iid__unet_inputs_init(&uin);
        uin.sample = st->model_in;
        uin.batch = B;
        uin.height = h;
        uin.width = w;
        uin.cond = cond;
        uin.cond.context = st->text_ctx;
        uin.cond.context_tokens = st->pos.tokens + Q;
        uin.residuals = &res;
        uin.be = step_be;
        uin.ip = (iid_ip_args_t){Q, g->ip_scale, st->mask, st->mask ? g->height : 0, st->mask ? g->width : 0};
        s = iid__unet_forward(p->unet, &uin, st->noise, err);
    }
    iid__residuals_free(&res);
    IID_TRY(s);
    trace_step(g, i, "unet_out", st->noise, B * n1);
    const float *eps = st->noise;
    if (B == 2) {
        IID_TRY(iid__op_lerp(p->unet->trunk.be, st->guided, st->noise, st->noise + n1, g->guidance, (int64_t)n1, err));
        eps = st->guided;
    }
    trace_step(g, i, "noise_pred_guided", eps, n1);
    iid_rng_t rng;
    iid__rng_init(&rng, g->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)));
    iid_noise_source_t noise = iid__rng_noise_source(&rng);
    IID_TRY(iid__sched_step(st->sched, i, eps, st->latents, st->latents, n1, &noise, NULL, err));
    trace_step(g, i, "latents_out", st->latents, n1);
    return IID_OK;
}

static iid_status decode(const iid_pipeline_t *p, const iid_gen_params_t *g, int h, int w, gen_state_t *st,
                         uint8_t *out_rgb, iid_error_t *err)
{
    size_t n1 = (size_t)p->vae->latent_channels * h * w, HW = (size_t)g->width * g->height;
    IID_TRY(iid__vae_unscale(p->vae, st->latents, st->latents, n1, err));
    trace(g, "vae.latents_in", st->latents, n1);
    st->decoded = malloc(3 * HW * sizeof(float));
    st->image = malloc(3 * HW * sizeof(float));
    if (!st->decoded || !st->image) return iid__fail(err, IID_ERR_NOMEM, "out of memory decoding the image");
    if (g->vae_tile > 0 && (g->vae_tile < h || g->vae_tile < w))
        IID_TRY(iid__vae_decode_tiled(p->vae, st->latents, 1, h, w, g->vae_tile, g->vae_tile / 4, st->decoded, err));
    else
        IID_TRY(iid__vae_decode(p->vae, st->latents, 1, h, w, st->decoded, err));
    trace(g, "vae.decoded", st->decoded, 3 * HW);
    iid__image_to_float_nhwc(st->image, st->decoded, 1, 3, g->height, g->width);
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
    iid_status s = iid__sched_create(&st.sched, g->scheduler ? g->scheduler : "euler", &p->scheduler_config, err);
    if (s == IID_OK) s = iid__sched_set_timesteps(st.sched, g->steps, err);
    if (s == IID_OK && g->trace) {
        trace(g, "schedule.timesteps", iid__sched_timesteps(st.sched), (size_t)iid__sched_num_timesteps(st.sched));
        trace(g, "schedule.sigmas", iid__sched_sigmas(st.sched), (size_t)iid__sched_num_sigmas(st.sched));
        float ins = iid__sched_init_noise_sigma(st.sched);
        trace(g, "schedule.init_noise_sigma", &ins, 1);
    }
    if (s == IID_OK) s = build_conditioning(p, g, B, &st, err);
    if (s == IID_OK) s = build_images(p, g, B, &st, err);
    if (s == IID_OK) {
        st.latents = malloc(n1 * sizeof(float));
        st.model_in = malloc(B * n1 * sizeof(float));
        st.noise = malloc(B * n1 * sizeof(float));
        st.guided = malloc(n1 * sizeof(float));
        if (!st.latents || !st.model_in || !st.noise || !st.guided)
            s = iid__fail(err, IID_ERR_NOMEM, "out of memory for the latents");
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
    if (s == IID_OK) s = decode(p, g, h, w, &st, out_rgb, err);
    if (s == IID_OK) s = iid__check_finite(st.image, (size_t)3 * g->width * g->height, err, "the decoded image");
    gen_state_free(&st);
    return s;
}
