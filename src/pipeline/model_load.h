/*
 * model_load.h - loading the SDXL parts and the IdentityNet from whichever
 * format they come in, with LoRAs fused on the way.
 *
 * SDXL comes as a diffusers folder (model_index.json, unet/, vae/, text_encoder/,
 * ...) or as one single-file checkpoint in the SGM layout (formats/sgm_names.h):
 * `--sdxl FILE.safetensors`, or a folder holding exactly one .safetensors file and
 * no unet/ folder. For a single file, each part's config comes from the config
 * folder when one is given (--sdxl-config: a diffusers SDXL folder, whose
 * unet/config.json, vae/config.json, text_encoder{,_2}/config.json, tokenizers,
 * scheduler and model_index.json are used), else it is inferred from the shapes
 * with SDXL base 1.0's defaults (formats/infer_config.h); the scheduler then is
 * SDXL base 1.0's, and the tokenizers are the folders tokenizer/ and
 * tokenizer_2/ beside the file.
 *
 * The IdentityNet comes as InstantID's folder (config.json + weights) or as one
 * diffusers-named .safetensors file without a config (ComfyUI's distribution);
 * its structure is then inferred from its shapes, with the head counts of the
 * UNet it runs beside.
 *
 * Each part is opened as a name -> tensor index, the LoRAs are fused into that
 * index (formats/lora.h), and the model binds it; the model then owns the index
 * and the file mapping.
 */
#ifndef IID_PIPELINE_MODEL_LOAD_H
#define IID_PIPELINE_MODEL_LOAD_H

#include "formats/lora.h"
#include "models/controlnet.h"
#include "models/unet_sdxl.h"
#include "models/vae_decoder.h"
#include "pipeline/text_cond.h"

/* Where the SDXL weights come from. */
typedef struct iid_sdxl_source {
    char path[4096];       /* the folder, or the single file */
    int single_file;
    char config_dir[4096]; /* --sdxl-config, or "" */
} iid_sdxl_source_t;

/* Decide the format of `sdxl` (a folder or a file) and check it; config_dir may
 * be NULL or "". A single-file checkpoint that is not SDXL base (SD 1.x, SD 2.x,
 * the SDXL refiner, a pickle) fails with one line naming the file and what it is. */
iid_status iid__sdxl_source_init(iid_sdxl_source_t *src, const char *sdxl, const char *config_dir, iid_error_t *err);

/* The config folder a single-file checkpoint runs with when none is given:
 * <models_dir>/sdxl-config (SDXL base 1.0's configs and tokenizers, fetched by
 * scripts/download-models.sh --only sdxl-config) when sdxl is a single file and
 * that folder exists. Writes it into config_dir (cap bytes) only when config_dir
 * is empty; otherwise leaves everything as it is. */
void iid__sdxl_default_config(const char *models_dir, const char *sdxl, char *config_dir, size_t cap);

/* LoRAs to fuse at load, each with its multiplier. */
typedef struct iid_lora_set {
    iid_lora_t *loras;
    float *multipliers;
    int count;
} iid_lora_set_t;

/* Open every "FILE[:MULTIPLIER]" of specs; on failure nothing stays open. */
iid_status iid__lora_set_open(iid_lora_set_t *set, const char *const *specs, int n, iid_error_t *err);
void iid__lora_set_close(iid_lora_set_t *set);

/* The weight index of one LoRA-able part (UNet, text encoder 1 or 2) under the
 * names the models bind, without loading it (`info --lora` matches LoRAs to it). */
iid_status iid__sdxl_part_index(iid_safetensors_t *st, const iid_sdxl_source_t *src, iid_lora_part_t part,
                                iid_error_t *err);

/* The parts. loras may be NULL. */
iid_status iid__load_unet(iid_unet_t **out, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                          iid_error_t *err);
iid_status iid__load_vae(iid_vae_decoder_t **out, const iid_sdxl_source_t *src, iid_error_t *err);
/* One text encoder (two: OpenCLIP bigG, text_encoder_2) with its LoRA modules. */
iid_status iid__load_text_encoder(iid_clip_text_t *m, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                                  int two, iid_error_t *err);
iid_status iid__load_text_cond(iid_text_cond_t *tc, const iid_sdxl_source_t *src, const iid_lora_set_t *loras,
                               iid_error_t *err);
/* The scheduler config document (folder, config folder, or SDXL base 1.0's). */
iid_status iid__load_scheduler_config(iid_json_t *out, const iid_sdxl_source_t *src, iid_error_t *err);
/* The IdentityNet from its folder or a single file; unet gives the head counts
 * a config-less file cannot tell (NULL: SDXL's 64-wide heads). */
iid_status iid__load_controlnet(iid_controlnet_t **out, const char *path, const iid_unet_t *unet, iid_error_t *err);

#endif
