/* model_names.c - the SDXL model's name and short hash for the PNG metadata. */
#include "cli/model_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/lora.h"
#include "io/cache.h"
#include "io/file.h"
#include "pipeline/model_load.h"

/* The last path component without a trailing '/' or, for a file, its extension. */
static void stem(const char *path, int strip_ext, char *out, size_t cap)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/') start--;
    snprintf(out, cap, "%.*s", (int)(end - start), path + start);
    char *dot = strip_ext ? strrchr(out, '.') : NULL;
    if (dot && dot != out) *dot = '\0';
}

/* One --lora value as a name and a multiplier. */
static void lora_name(const char *spec, iid_lora_name_t *out)
{
    iid_lora_spec_t ls;
    snprintf(out->name, sizeof out->name, "?");
    snprintf(out->multiplier, sizeof out->multiplier, "1");
    if (iid__lora_spec_parse(&ls, spec, NULL) != IID_OK) return;
    char *slash = strrchr(ls.path, '/'), *base = slash ? slash + 1 : ls.path;
    char *dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0';
    if (strcmp(base, "pytorch_lora_weights") == 0 && slash) { /* diffusers layout: the folder names it */
        *slash = '\0';
        char *up = strrchr(ls.path, '/');
        base = up ? up + 1 : ls.path;
    }
    snprintf(out->name, sizeof out->name, "%.127s", base);
    for (int prec = 6; prec <= 9; prec++) { /* the shortest text that reads back as the same float */
        snprintf(out->multiplier, sizeof out->multiplier, "%.*g", prec, ls.multiplier);
        if ((float)strtod(out->multiplier, NULL) == ls.multiplier) break;
    }
}

void iid_cli_model_names(const iid_cli_models_t *m, iid_model_names_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < m->n_loras && out->n_loras < IID_MAX_LORA_NAMES; i++) lora_name(m->loras[i], &out->loras[out->n_loras++]);
    if (m->lcm && out->n_loras < IID_MAX_LORA_NAMES) {
        iid_lora_name_t *l = &out->loras[out->n_loras++];
        snprintf(l->name, sizeof l->name, "lcm-lora-sdxl");
        snprintf(l->multiplier, sizeof l->multiplier, "1");
    }
    char sdxl[4096], file[4200], hex[65];
    if (m->sdxl) snprintf(sdxl, sizeof sdxl, "%s", m->sdxl);
    else if (iid__path_join(sdxl, sizeof sdxl, m->models, "sdxl", NULL) != IID_OK) return;
    iid_sdxl_source_t src; /* a folder holding one checkpoint file names that file */
    int single = iid__sdxl_source_init(&src, sdxl, NULL, NULL) == IID_OK && src.single_file;
    if (single) snprintf(sdxl, sizeof sdxl, "%s", src.path);
    else single = iid__is_file(sdxl);
    stem(sdxl, single, out->checkpoint, sizeof out->checkpoint);
    static const char *const unet[] = {"unet/diffusion_pytorch_model.safetensors",
                                       "unet/diffusion_pytorch_model.fp16.safetensors"};
    const char *weights = single ? sdxl : NULL;
    for (int i = 0; !weights && i < 2; i++)
        if (iid__path_join(file, sizeof file, sdxl, unet[i], NULL) == IID_OK && iid__is_file(file)) weights = file;
    if (weights && iid__cached_sha256(weights, hex, NULL) == IID_OK) snprintf(out->hash, sizeof out->hash, "%.10s", hex);
}
