/* model_names.c - the SDXL model's name and short hash for the PNG metadata. */
#include "cli/model_names.h"

#include <stdio.h>
#include <string.h>

#include "io/cache.h"
#include "io/file.h"

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

void iid_cli_model_names(const iid_cli_models_t *m, iid_model_names_t *out)
{
    memset(out, 0, sizeof *out);
    char sdxl[4096], file[4200], hex[65];
    if (m->sdxl) snprintf(sdxl, sizeof sdxl, "%s", m->sdxl);
    else if (iid__path_join(sdxl, sizeof sdxl, m->models, "sdxl", NULL) != IID_OK) return;
    int single = iid__is_file(sdxl);
    stem(sdxl, single, out->checkpoint, sizeof out->checkpoint);
    static const char *const unet[] = {"unet/diffusion_pytorch_model.safetensors",
                                       "unet/diffusion_pytorch_model.fp16.safetensors"};
    const char *weights = single ? sdxl : NULL;
    for (int i = 0; !weights && i < 2; i++)
        if (iid__path_join(file, sizeof file, sdxl, unet[i], NULL) == IID_OK && iid__is_file(file)) weights = file;
    if (weights && iid__cached_sha256(weights, hex, NULL) == IID_OK) snprintf(out->hash, sizeof out->hash, "%.10s", hex);
}
