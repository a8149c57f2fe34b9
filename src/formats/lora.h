/*
 * lora.h - LoRA files: reading the key schemes, and fusing them into a model's
 * weight index before the model binds it.
 *
 * Files: safetensors, or torch zip checkpoints (.bin, as older diffusers LoRAs
 * come). Schemes read:
 *   kohya            lora_unet_<module>.lora_down.weight / .lora_up.weight / .alpha,
 *                    lora_te1_* (CLIP ViT-L), lora_te2_* (OpenCLIP bigG); <module> is
 *                    the module path with '.' written '_': for the UNet either the
 *                    diffusers path (LCM-LoRA SDXL) or the original SGM one
 *                    (input_blocks_4_1_..., what kohya's SDXL trainer writes: most
 *                    civitai LoRAs), for the encoders the transformers path;
 *   diffusers/PEFT   unet.<module>.lora_A.weight / .lora_B.weight (PEFT) or
 *                    .lora.down.weight / .lora.up.weight (diffusers), optional
 *                    .alpha; text_encoder.* and text_encoder_2.* for the encoders;
 *   LoCon            the kohya keys on convolutions: down (rank, in, kh, kw), up
 *                    (out, rank, 1, 1).
 * Without an alpha, alpha = rank (scale 1), as PEFT files mean it.
 *
 * Fusion: each module's weight W becomes
 *     W + multiplier * (alpha / rank) * reshape(up.flatten(1) @ down.flatten(1), W.shape)
 * computed in float32 and stored in W's own dtype in a buffer the index owns; the
 * index entry is repointed to it. Only the weights a LoRA touches are copied;
 * every other entry keeps viewing the memory-mapped checkpoint, and the mapped
 * pages of a replaced weight, and of each LoRA module once fused, are handed back
 * to the kernel (so resident memory stays that of the model). Because fusion edits
 * the name -> tensor index before any model binds it, it is independent of how
 * (and how many times) the models bind their weights.
 *
 * A module whose target weight the model does not have is an error naming the
 * first few such keys and the LoRA file.
 */
#ifndef IID_FORMATS_LORA_H
#define IID_FORMATS_LORA_H

#include "io/safetensors.h"

typedef enum { IID_LORA_UNET = 0, IID_LORA_TE1, IID_LORA_TE2, IID_LORA_PARTS } iid_lora_part_t;

/* The part's name as `info --lora` prints it ("unet", "text_encoder", "text_encoder_2"). */
const char *iid__lora_part_name(iid_lora_part_t part);

typedef struct iid_lora_module {
    char *stem;                     /* module path with '.' as '_' ("down_blocks_0_resnets_0_conv1") */
    iid_lora_part_t part;
    const iid_st_tensor_t *down, *up;
    float alpha;
    int rank;
} iid_lora_module_t;

typedef struct iid_lora {
    iid_safetensors_t file;
    const char *scheme;             /* "kohya" or "diffusers/PEFT" */
    iid_lora_module_t *mods;
    int n_mods;
    int n_convs;                    /* modules with 4-D weights (LoCon) */
} iid_lora_t;

/* Open and check a LoRA file: every key must belong to one module with both a
 * down and an up weight of matching rank. Unknown keys, LyCORIS variants
 * (LoHa, LoKr, Tucker mid weights, DoRA) and empty files fail naming the key. */
iid_status iid__lora_open(iid_lora_t *l, const char *path, iid_error_t *err);
void iid__lora_close(iid_lora_t *l);

/* How many modules target part. */
int iid__lora_count(const iid_lora_t *l, iid_lora_part_t part);

/* "FILE[:MULTIPLIER]" -> path and multiplier (1 when absent). A suffix after the
 * last ':' that is not a finite number is part of the path. */
typedef struct iid_lora_spec {
    char path[4096];
    float multiplier;
} iid_lora_spec_t;
iid_status iid__lora_spec_parse(iid_lora_spec_t *spec, const char *arg, iid_error_t *err);

/* Whether every module of `part` has its weight in st (fails like the fusion
 * would, naming the first modules that match nothing); st is not changed. */
iid_status iid__lora_check(iid_safetensors_t *st, const iid_lora_t *l, iid_lora_part_t part, iid_error_t *err);

/* Fuse every module of `part` into st (see the top of this file). Nothing is
 * changed when a module matches nothing. */
iid_status iid__lora_fuse(iid_safetensors_t *st, const iid_lora_t *l, iid_lora_part_t part, float multiplier,
                          iid_error_t *err);

#endif
