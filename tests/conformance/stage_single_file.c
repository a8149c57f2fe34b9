/*
 * stage_single_file.c - conformance stage 'single_file': the text_encoders,
 * unet_plain, vae_decode and pipeline goldens again, with SDXL loaded from the
 * kit's single-file SGM checkpoint (a .safetensors file in single_file/, kit README section
 * l) and its configs from models/sdxl. Every golden must pass exactly as from the
 * folder. Lines read "single_file/<stage>".
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

void stage_text_encoders(conf_ctx_t *c);
void stage_unet_plain(conf_ctx_t *c);
void stage_vae_decode(conf_ctx_t *c);
void stage_pipeline(conf_ctx_t *c);

void stage_single_file(conf_ctx_t *c)
{
    char dir[4096], rel[1024] = "";
    DIR *d = opendir(conf_path(c, "single_file", dir, sizeof dir));
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 12 && strcmp(e->d_name + l - 12, ".safetensors") == 0 && !rel[0])
            snprintf(rel, sizeof rel, "single_file/%s", e->d_name);
    }
    if (d) closedir(d);
    if (!rel[0]) {
        conf_skip(c, "single_file", "-", "-", "the kit has no single_file/*.safetensors");
        return;
    }
    c->sdxl_file = rel;
    stage_text_encoders(c);
    stage_unet_plain(c);
    stage_vae_decode(c);
    stage_pipeline(c);
    c->sdxl_file = NULL;
}
