/* checkpoint.c - telling checkpoint families apart by their keys (see checkpoint.h). */
#include "formats/checkpoint.h"

#include <stdio.h>
#include <string.h>

static int has_prefix(const iid_safetensors_t *st, const char *prefix)
{
    size_t l = strlen(prefix);
    /* names are sorted: binary search for the first name >= prefix */
    int lo = 0, hi = st->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(st->tensors[mid].name, prefix) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < st->count && strncmp(st->tensors[lo].name, prefix, l) == 0;
}

iid_ckpt_kind_t iid__checkpoint_kind(const iid_safetensors_t *st)
{
    int unet = has_prefix(st, "model.diffusion_model.");
    if (unet && has_prefix(st, "conditioner.embedders.0.transformer.") &&
        has_prefix(st, "conditioner.embedders.1.model."))
        return IID_CKPT_SDXL;
    if (unet && has_prefix(st, "conditioner.embedders.0.model.")) return IID_CKPT_SDXL_REFINER;
    if (has_prefix(st, "cond_stage_model.transformer.")) return IID_CKPT_SD1;
    if (has_prefix(st, "cond_stage_model.model.")) return IID_CKPT_SD2;
    if (has_prefix(st, "down_blocks.") || has_prefix(st, "text_model.") || has_prefix(st, "decoder."))
        return IID_CKPT_DIFFUSERS;
    return IID_CKPT_UNKNOWN;
}

const char *iid__checkpoint_kind_name(iid_ckpt_kind_t kind)
{
    switch (kind) {
    case IID_CKPT_SDXL: return "SDXL single-file checkpoint";
    case IID_CKPT_SDXL_REFINER: return "SDXL refiner checkpoint";
    case IID_CKPT_SD1: return "Stable Diffusion 1.x checkpoint";
    case IID_CKPT_SD2: return "Stable Diffusion 2.x checkpoint";
    case IID_CKPT_DIFFUSERS: return "diffusers part file";
    case IID_CKPT_UNKNOWN: break;
    }
    return "unrecognised weights file";
}

int iid__is_pickle_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[4] = {0};
    size_t n = fread(b, 1, 4, f);
    fclose(f);
    return n == 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
}

iid_status iid__checkpoint_open_sdxl(iid_safetensors_t *st, const char *path, iid_error_t *err)
{
    memset(st, 0, sizeof *st);
    if (iid__is_pickle_file(path))
        return iid__fail(err, IID_ERR_UNSUPPORTED,
                         "%s: a pickle (.ckpt) checkpoint; only .safetensors single files are read (convert it, "
                         "e.g. with the safetensors converter of your UI)", path);
    IID_TRY(iid__st_open(st, path, err));
    iid_ckpt_kind_t k = iid__checkpoint_kind(st);
    if (k == IID_CKPT_SDXL) return IID_OK;
    iid__st_close(st);
    switch (k) {
    case IID_CKPT_SDXL_REFINER:
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: an SDXL refiner checkpoint; InstantID needs an SDXL base model",
                         path);
    case IID_CKPT_SD1:
    case IID_CKPT_SD2:
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: a %s; InstantID needs an SDXL base model", path,
                         iid__checkpoint_kind_name(k));
    case IID_CKPT_DIFFUSERS:
        return iid__fail(err, IID_ERR_FORMAT,
                         "%s: a diffusers part file, not a single-file checkpoint; give the diffusers folder instead", path);
    default:
        return iid__fail(err, IID_ERR_FORMAT,
                         "%s: not a single-file SDXL checkpoint (no model.diffusion_model.* and conditioner.* tensors)",
                         path);
    }
}
