/*
 * checkpoint.h - what a weights file is, told from its keys and shapes: an SDXL
 * base single-file checkpoint, or one of the look-alikes this program cannot run
 * (SD 1.x, SD 2.x, the SDXL refiner, a diffusers part file, a pickle).
 */
#ifndef IID_FORMATS_CHECKPOINT_H
#define IID_FORMATS_CHECKPOINT_H

#include "io/safetensors.h"

typedef enum {
    IID_CKPT_UNKNOWN = 0,
    IID_CKPT_SDXL,         /* SGM single file: UNet, VAE, CLIP ViT-L, OpenCLIP bigG */
    IID_CKPT_SDXL_REFINER, /* SGM single file with OpenCLIP only */
    IID_CKPT_SD1,          /* cond_stage_model.transformer (CLIP ViT-L) */
    IID_CKPT_SD2,          /* cond_stage_model.model (OpenCLIP ViT-H) */
    IID_CKPT_DIFFUSERS,    /* diffusers names at the top level (a part of a folder) */
} iid_ckpt_kind_t;

iid_ckpt_kind_t iid__checkpoint_kind(const iid_safetensors_t *st);
/* "SDXL single file", "SD 1.x checkpoint", ... */
const char *iid__checkpoint_kind_name(iid_ckpt_kind_t kind);

/* Whether path starts like a zip (a torch pickle checkpoint). */
int iid__is_pickle_file(const char *path);

/* Open path as a single-file SDXL base checkpoint, or fail with one line naming
 * the file and what it is instead. The index is only used to look at the keys. */
iid_status iid__checkpoint_open_sdxl(iid_safetensors_t *st, const char *path, iid_error_t *err);

#endif
