/*
 * model_load.c - SDXL parts and the IdentityNet from a folder or a single file,
 * LoRAs fused into each part's index before the model binds it (see model_load.h).
 */
#include "pipeline/model_load.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "formats/infer_config.h"
#include "formats/sgm_names.h"
#include "io/file.h"
#include "io/json.h"

/* SDXL base 1.0's scheduler/scheduler_config.json: the scheduler of a single-file
 * checkpoint given without a config folder. */
static const char SDXL_SCHEDULER[] =
    "{\"_class_name\": \"EulerDiscreteScheduler\", \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\","
    " \"beta_start\": 0.00085, \"clip_sample\": false, \"interpolation_type\": \"linear\","
    " \"num_train_timesteps\": 1000, \"prediction_type\": \"epsilon\", \"sample_max_value\": 1.0,"
    " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1,"
    " \"timestep_spacing\": \"leading\", \"trained_betas\": null, \"use_karras_sigmas\": false}";

/* The one .safetensors file in dir (into out), or an error. */
static iid_status only_safetensors(const char *dir, char *out, size_t cap, iid_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d) return iid__fail(err, IID_ERR_IO, "%s: cannot open the folder", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 12 && strcmp(e->d_name + l - 12, ".safetensors") == 0) {
            if (n++ == 0 && iid__path_join(out, cap, dir, e->d_name, err) != IID_OK) {
                closedir(d);
                return IID_ERR_RANGE;
            }
        }
    }
    closedir(d);
    if (n == 1) return IID_OK;
    return iid__fail(err, IID_ERR_NOT_FOUND,
                     n ? "%s: not a diffusers SDXL folder (no unet/) and it holds %d .safetensors files; give one with --sdxl"
                       : "%s: not a diffusers SDXL folder (no unet/) and no single-file .safetensors checkpoint%.0d",
                     dir, n);
}

iid_status iid__sdxl_source_init(iid_sdxl_source_t *src, const char *sdxl, const char *config_dir, iid_error_t *err)
{
    memset(src, 0, sizeof *src);
    char unet[4096];
    if (config_dir && *config_dir) {
        if (!iid__is_dir(config_dir))
            return iid__fail(err, IID_ERR_NOT_FOUND, "%s: --sdxl-config must be a diffusers SDXL folder", config_dir);
        snprintf(src->config_dir, sizeof src->config_dir, "%s", config_dir);
    }
    if (iid__is_dir(sdxl)) {
        IID_TRY(iid__path_join(unet, sizeof unet, sdxl, "unet", err));
        if (iid__is_dir(unet)) {
            if (src->config_dir[0])
                return iid__fail(err, IID_ERR_INVALID,
                                 "--sdxl-config %s: only a single-file --sdxl takes configs; %s is a diffusers folder",
                                 src->config_dir, sdxl);
            snprintf(src->path, sizeof src->path, "%s", sdxl);
            return IID_OK;
        }
        IID_TRY(only_safetensors(sdxl, src->path, sizeof src->path, err));
    } else if (iid__is_file(sdxl)) {
        snprintf(src->path, sizeof src->path, "%s", sdxl);
    } else
        return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such SDXL folder or checkpoint file", sdxl);
    src->single_file = 1;
    iid_safetensors_t st;
    IID_TRY(iid__checkpoint_open_sdxl(&st, src->path, err));
    iid__st_close(&st);
    return IID_OK;
}

void iid__sdxl_default_config(const char *models_dir, const char *sdxl, char *config_dir, size_t cap)
{
    char dir[4096];
    iid_sdxl_source_t src;
    if (config_dir[0] || iid__path_join(dir, sizeof dir, models_dir, "sdxl-config", NULL) != IID_OK || !iid__is_dir(dir))
        return;
    if (iid__sdxl_source_init(&src, sdxl, NULL, NULL) == IID_OK && src.single_file) snprintf(config_dir, cap, "%s", dir);
}

/* The folder the non-weight files come from: the config folder, the diffusers
 * folder, or the single file's own folder. */
static void side_dir(const iid_sdxl_source_t *src, char *out, size_t cap)
{
    if (src->config_dir[0]) snprintf(out, cap, "%s", src->config_dir);
    else if (!src->single_file) snprintf(out, cap, "%s", src->path);
    else {
        snprintf(out, cap, "%s", src->path);
        char *slash = strrchr(out, '/');
        if (slash && slash != out) *slash = '\0';
        else snprintf(out, cap, "%s", slash ? "/" : ".");
    }
}

/* <dir>/<sub>/<file> into buf. */
static iid_status path3(char *buf, size_t cap, const char *dir, const char *sub, const char *file, iid_error_t *err)
{
    char mid[4096];
    IID_TRY(iid__path_join(mid, sizeof mid, dir, sub, err));
    return iid__path_join(buf, cap, mid, file, err);
}

/* The diffusers subfolder and weights file of each SGM part. */
static const struct {
    const char *sub, *file;
} PARTS[] = {[IID_SGM_UNET] = {"unet", "diffusion_pytorch_model.safetensors"},
             [IID_SGM_VAE] = {"vae", "diffusion_pytorch_model.safetensors"},
             [IID_SGM_TE1] = {"text_encoder", "model.safetensors"},
             [IID_SGM_TE2] = {"text_encoder_2", "model.safetensors"}};

/* A part's index under the diffusers names. */
static iid_status open_index(const iid_sdxl_source_t *src, iid_sgm_part_t part, iid_safetensors_t *st, iid_error_t *err)
{
    char path[4096];
    if (src->single_file) return iid__sgm_open(st, src->path, part, err);
    IID_TRY(path3(path, sizeof path, src->path, PARTS[part].sub, PARTS[part].file, err));
    return iid__st_open(st, path, err);
}

/* A part's index and config. */
static iid_status open_part(const iid_sdxl_source_t *src, iid_sgm_part_t part, iid_safetensors_t *st, iid_json_t *cfg,
                            iid_error_t *err)
{
    char path[4096];
    memset(cfg, 0, sizeof *cfg);
    IID_TRY(open_index(src, part, st, err));
    iid_status s = IID_OK;
    if (!src->single_file || src->config_dir[0]) {
        s = path3(path, sizeof path, src->single_file ? src->config_dir : src->path, PARTS[part].sub, "config.json", err);
        if (s == IID_OK) s = iid__json_load(cfg, path, err);
    } else if (part == IID_SGM_UNET)
        s = iid__infer_unet_config(cfg, st, NULL, err);
    else if (part == IID_SGM_VAE)
        s = iid__infer_vae_config(cfg, st, err);
    else
        s = iid__infer_clip_config(cfg, st, part == IID_SGM_TE2, err);
    if (s != IID_OK) iid__st_close(st);
    return s;
}

iid_status iid__sdxl_part_index(iid_safetensors_t *st, const iid_sdxl_source_t *src, iid_lora_part_t part,
                                iid_error_t *err)
{
    static const iid_sgm_part_t sgm[] = {[IID_LORA_UNET] = IID_SGM_UNET, [IID_LORA_TE1] = IID_SGM_TE1,
                                         [IID_LORA_TE2] = IID_SGM_TE2};
    return open_index(src, sgm[part], st, err);
}

static iid_status fuse_all(iid_safetensors_t *st, const iid_lora_set_t *loras, iid_lora_part_t part, iid_error_t *err)
{
    for (int i = 0; loras && i < loras->count; i++)
        IID_TRY(iid__lora_fuse(st, &loras->loras[i], part, loras->multipliers[i], err));
    return IID_OK;
}

iid_status iid__load_unet(iid_unet_t **out, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                          iid_error_t *err)
{
    *out = NULL;
    iid_safetensors_t st;
    iid_json_t cfg;
    IID_TRY(open_part(src, IID_SGM_UNET, &st, &cfg, err));
    iid_status s = fuse_all(&st, loras, IID_LORA_UNET, err);
    if (s == IID_OK) s = iid__unet_load_parts(out, &cfg, &st, err);
    else iid__st_close(&st);
    iid__json_free(&cfg);
    return s;
}

iid_status iid__load_vae(iid_vae_decoder_t **out, const iid_sdxl_source_t *src, iid_error_t *err)
{
    *out = NULL;
    iid_safetensors_t st;
    iid_json_t cfg;
    IID_TRY(open_part(src, IID_SGM_VAE, &st, &cfg, err));
    iid_status s = iid__vae_load_parts(out, &cfg, &st, err);
    iid__json_free(&cfg);
    return s;
}

iid_status iid__load_text_encoder(iid_clip_text_t *m, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                                  int two, iid_error_t *err)
{
    iid_safetensors_t st;
    iid_json_t cfg;
    IID_TRY(open_part(src, two ? IID_SGM_TE2 : IID_SGM_TE1, &st, &cfg, err));
    iid_status s = fuse_all(&st, loras, two ? IID_LORA_TE2 : IID_LORA_TE1, err);
    if (s == IID_OK) s = iid__clip_text_load_parts(m, &cfg, &st, err);
    else iid__st_close(&st);
    iid__json_free(&cfg);
    return s;
}

iid_status iid__load_text_cond(iid_text_cond_t *tc, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                               iid_error_t *err)
{
    memset(tc, 0, sizeof *tc);
    char dir[4096], p[4096];
    side_dir(src, dir, sizeof dir);
    iid_status s = iid__path_join(p, sizeof p, dir, "tokenizer", err);
    if (s == IID_OK && src->single_file && !iid__is_dir(p))
        s = iid__fail(err, IID_ERR_NOT_FOUND,
                      "%s: a single-file checkpoint carries no tokenizers; give --sdxl-config DIR (a diffusers SDXL "
                      "folder with tokenizer/ and tokenizer_2/) or put those two folders beside the file",
                      src->path);
    if (s == IID_OK) s = iid__clip_tokenizer_load(&tc->tok1, p, err);
    if (s == IID_OK) s = iid__path_join(p, sizeof p, dir, "tokenizer_2", err);
    if (s == IID_OK) s = iid__clip_tokenizer_load(&tc->tok2, p, err);
    if (s == IID_OK) s = iid__load_text_encoder(&tc->te1, src, loras, 0, err);
    if (s == IID_OK) s = iid__load_text_encoder(&tc->te2, src, loras, 1, err);
    if (s == IID_OK) s = iid__sdxl_encoders_check(&tc->te1, &tc->te2, err);
    if (s == IID_OK) s = iid__sdxl_force_zeros(dir, &tc->force_zeros, err);
    if (s != IID_OK) iid__text_cond_free(tc);
    return s;
}

iid_status iid__load_scheduler_config(iid_json_t *out, const iid_sdxl_source_t *src, iid_error_t *err)
{
    char dir[4096], p[4096];
    memset(out, 0, sizeof *out);
    if (src->single_file && !src->config_dir[0])
        return iid__json_parse(out, SDXL_SCHEDULER, sizeof SDXL_SCHEDULER - 1, "SDXL base 1.0 scheduler config", err);
    side_dir(src, dir, sizeof dir);
    IID_TRY(path3(p, sizeof p, dir, "scheduler", "scheduler_config.json", err));
    return iid__json_load(out, p, err);
}

iid_status iid__load_controlnet(iid_controlnet_t **out, const char *path, const iid_unet_t *unet, iid_error_t *err)
{
    *out = NULL;
    if (iid__is_dir(path)) return iid__controlnet_load(out, path, err);
    iid_safetensors_t st;
    iid_json_t cfg;
    IID_TRY(iid__st_open(&st, path, err));
    iid_status s = iid__infer_unet_config(&cfg, &st, unet ? &unet->trunk.cfg : NULL, err);
    if (s == IID_OK && !cJSON_GetObjectItemCaseSensitive(cfg.root, "conditioning_channels"))
        s = iid__fail(err, IID_ERR_FORMAT, "%s: not a ControlNet (no controlnet_cond_embedding.* tensors)", path);
    if (s == IID_OK) s = iid__controlnet_load_parts(out, &cfg, &st, err);
    else iid__st_close(&st);
    iid__json_free(&cfg);
    return s;
}

iid_status iid__lora_set_open(iid_lora_set_t *set, const char *const *specs, int n, iid_error_t *err)
{
    memset(set, 0, sizeof *set);
    if (n <= 0) return IID_OK;
    set->loras = calloc((size_t)n, sizeof *set->loras);
    set->multipliers = calloc((size_t)n, sizeof *set->multipliers);
    if (!set->loras || !set->multipliers) {
        iid__lora_set_close(set);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory opening LoRAs");
    }
    for (int i = 0; i < n; i++) {
        iid_lora_spec_t spec;
        iid_status s = iid__lora_spec_parse(&spec, specs[i], err);
        if (s == IID_OK) s = iid__lora_open(&set->loras[i], spec.path, err);
        if (s != IID_OK) {
            iid__lora_set_close(set);
            return s;
        }
        set->multipliers[i] = spec.multiplier;
        set->count = i + 1;
    }
    return IID_OK;
}

void iid__lora_set_close(iid_lora_set_t *set)
{
    if (!set) return;
    for (int i = 0; i < set->count; i++) iid__lora_close(&set->loras[i]);
    free(set->loras);
    free(set->multipliers);
    memset(set, 0, sizeof *set);
}
