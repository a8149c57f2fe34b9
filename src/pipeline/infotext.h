/*
 * infotext.h - the settings a result PNG carries, in the two formats other tools
 * read back:
 *
 *  - `parameters`: AUTOMATIC1111's infotext. Prompt lines, a "Negative prompt:"
 *    line (only when there is one), then one line of "Key: value" pairs joined by
 *    ", ". A1111 parses it with modules/infotext_utils.py
 *    parse_generation_parameters(): the last line holds the pairs, a value holding
 *    ',', ':', '"' or a newline is a JSON string (A1111's quote()), and "Size:
 *    WxH" splits into width and height. The sampler is written as A1111 names it
 *    plus "Schedule type", since A1111 pastes an unknown name as its default
 *    sampler and a missing schedule as "Automatic" (which is Karras for DPM++ 2M):
 *
 *      ours                  Sampler        Schedule type
 *      euler                 Euler          Uniform
 *      heun                  Heun           Uniform
 *      dpmpp_2m              DPM++ 2M       Uniform
 *      dpmpp_2m_karras       DPM++ 2M       Karras
 *      dpmpp_2m_sde_karras   DPM++ 2M SDE   Karras
 *      lcm                   LCM            Uniform
 *      deis                  DEIS           Uniform
 *
 *    "Uniform" is A1111's evenly spaced timesteps, the nearest of its schedules to
 *    diffusers' spacing from the SDXL scheduler config. A1111 has no DEIS sampler:
 *    it pastes "DEIS" as its default, DPM++ 2M (with Uniform, so a multistep
 *    solver of the same family); ComfyUI and diffusers know DEIS by that name.
 *    The face adapter and IdentityNet are also written as sd-webui-controlnet
 *    units ("ControlNet 0" = instant_id_face_embedding with the adapter,
 *    "ControlNet 1" = instant_id_face_keypoints with IdentityNet, the order its
 *    InstantID instructions use), so that extension restores both weights.
 *    "Version: instantid X.Y.Z" is not a bare number on purpose: A1111 applies
 *    old-version compatibility switches to infotexts whose Version parses as a
 *    version below its own.
 *    Numbers print as the shortest text that reads back to the same double.
 *
 *    LoRAs (formats/lora.h) follow the prompt as `<lora:NAME:M>` tags, A1111's own
 *    notation, which its LoRA extension reads back.
 *
 *  - `prompt`: a ComfyUI API-format graph (node id -> {class_type, inputs}) that
 *    rebuilds the job with cubiq's ComfyUI_InstantID nodes (InstantIDModelLoader,
 *    InstantIDFaceAnalysis, ApplyInstantIDAdvanced with ip_weight = adapter
 *    strength and cn_strength = IdentityNet strength) around ComfyUI's
 *    CheckpointLoaderSimple, ControlNetLoader, LoadImage (the face photo's name),
 *    CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode and SaveImage. ComfyUI
 *    loads it when the PNG is dropped on its canvas. Model files are named as
 *    ComfyUI_InstantID's README lays them out (instantid/ip-adapter.bin,
 *    controlnet instantid/diffusion_pytorch_model.safetensors). LoRAs become a
 *    chain of LoraLoader nodes (ids 13, 14, ...: "<NAME>.safetensors",
 *    strength_model = strength_clip = M) between the checkpoint and its users.
 */
#ifndef IID_PIPELINE_INFOTEXT_H
#define IID_PIPELINE_INFOTEXT_H

#include <stddef.h>

#include "iid.h"

#define IID_MAX_LORA_NAMES 17

/* A LoRA fused into the models: its name as A1111 and ComfyUI show it (the file
 * name without extension) and its multiplier as text. */
typedef struct iid_lora_name {
    char name[128];
    char multiplier[32];
} iid_lora_name_t;

/* What identifies the models, for "Model", "Model hash" and the ComfyUI loaders. */
typedef struct iid_model_names {
    char checkpoint[256]; /* the SDXL checkpoint's name (file stem, or folder name) */
    char hash[11];        /* A1111's short hash: 10 hex digits of its SHA-256; "" unknown */
    iid_lora_name_t loras[IID_MAX_LORA_NAMES]; /* in fusion order */
    int n_loras;
} iid_model_names_t;

/* " <lora:NAME:M>" for each LoRA of m (NULL: none), A1111's record of a LoRA in
 * the prompt: the `parameters` prompt line and the batch log carry them. */
void iid__infotext_lora_tags(const iid_model_names_t *m, char *buf, size_t cap);

/* One render's settings. */
typedef struct iid_infotext {
    const iid_render_params_t *r; /* prompts (styled), steps, scheduler, guidance, seed, strengths, face_mask */
    int width, height;
    const char *style;            /* NULL: not written */
    const char *face_name;        /* the face photo's file name; NULL: not written */
    long job_id;                  /* < 0: not written */
    const iid_model_names_t *models; /* NULL: no Model / Model hash */
} iid_infotext_t;

/* A1111's sampler and schedule type for one of our scheduler names (table above);
 * an unknown name gives itself and "Uniform". */
void iid__infotext_a1111_sampler(const char *ours, const char **sampler, const char **schedule);

/* ComfyUI's KSampler sampler_name and scheduler for one of our names. */
void iid__infotext_comfyui_sampler(const char *ours, const char **sampler, const char **scheduler);

/* The `parameters` text; malloc'd, NULL when out of memory. */
char *iid__infotext_a1111(const iid_infotext_t *t);

/* The `prompt` JSON; malloc'd, NULL when out of memory. */
char *iid__infotext_comfyui(const iid_infotext_t *t);

#endif
