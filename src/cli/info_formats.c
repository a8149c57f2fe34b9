/* info_formats.c - `instantid info` for single files and LoRAs (see info_formats.h). */
#include "cli/info_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "formats/infer_config.h"
#include "formats/lora.h"
#include "formats/sgm_names.h"
#include "io/file.h"
#include "io/cache.h"
#include "pipeline/model_load.h"

/* "    <label>: k=v, k=v" of a config document. */
void iid_info_print_doc(const char *label, const iid_json_t *j)
{
    const cJSON *item;
    int first = 1;
    printf("    %s:", label);
    cJSON_ArrayForEach(item, j->root)
    {
        if (!item->string || item->string[0] == '_') continue;
        char *v = cJSON_PrintUnformatted(item);
        if (!v) continue;
        printf("%s %s=%s", first ? "" : ",", item->string, v);
        first = 0;
        free(v);
    }
    printf("\n");
}

static void dtypes_line(const iid_safetensors_t *st)
{
    long long per[IID_DTYPE_COUNT] = {0}, params = 0;
    for (int i = 0; i < st->count; i++) {
        long long n = (long long)iid__st_numel(&st->tensors[i]);
        per[st->tensors[i].dtype] += n;
        params += n;
    }
    printf("    weights: %d tensors, %.3f M parameters:", st->count, params / 1e6);
    for (int d = 0; d < IID_DTYPE_COUNT; d++)
        if (per[d]) printf(" %s %lld", iid__dtype_name((iid_dtype_t)d), per[d]);
    printf("\n");
}

int iid_info_sdxl_is_single(const char *sdxl)
{
    iid_sdxl_source_t src;
    return iid__sdxl_source_init(&src, sdxl, NULL, NULL) == IID_OK && src.single_file;
}

int iid_info_sdxl_single(const char *sdxl, const char *config_dir)
{
    iid_sdxl_source_t src;
    iid_error_t err;
    printf("sdxl: %s\n", sdxl);
    if (iid__sdxl_source_init(&src, sdxl, config_dir, &err) != IID_OK) {
        printf("    %s\n", err.msg);
        return 1;
    }
    char hex[65];
    if (iid__cached_sha256(src.path, hex, &err) != IID_OK) {
        printf("    %s\n", err.msg);
        return 1;
    }
    printf("    format: single-file SDXL checkpoint (SGM layout), Model hash: %.10s\n", hex); /* A1111's short hash */
    printf("    configs: %s\n", src.config_dir[0] ? src.config_dir : "inferred from the shapes, SDXL base 1.0's defaults");
    iid_safetensors_t st;
    if (iid__st_open(&st, src.path, &err) != IID_OK) {
        printf("    %s\n", err.msg);
        return 1;
    }
    dtypes_line(&st);
    iid__st_close(&st);
    int bad = 0;
    static const char *const names[] = {"unet", "vae", "text_encoder", "text_encoder_2"};
    for (int part = IID_SGM_UNET; part <= IID_SGM_TE2; part++) {
        iid_json_t cfg = {0};
        iid_status s = iid__sgm_open(&st, src.path, (iid_sgm_part_t)part, &err);
        if (s == IID_OK && src.config_dir[0]) {
            char dir[4096], path[4096];
            s = iid__path_join(dir, sizeof dir, src.config_dir, names[part], &err);
            if (s == IID_OK) s = iid__path_join(path, sizeof path, dir, "config.json", &err);
            if (s == IID_OK) s = iid__json_load(&cfg, path, &err);
        } else if (s == IID_OK)
            s = part == IID_SGM_UNET  ? iid__infer_unet_config(&cfg, &st, NULL, &err)
                : part == IID_SGM_VAE ? iid__infer_vae_config(&cfg, &st, &err)
                                      : iid__infer_clip_config(&cfg, &st, part == IID_SGM_TE2, &err);
        if (s == IID_OK) iid_info_print_doc(names[part], &cfg);
        else {
            printf("    %s: %s\n", names[part], err.msg);
            bad = 1;
        }
        iid__json_free(&cfg);
        iid__st_close(&st);
    }
    return bad;
}

int iid_info_controlnet_file(const char *path)
{
    iid_safetensors_t st;
    iid_json_t cfg;
    iid_error_t err;
    printf("ControlNetModel: %s\n", path);
    if (iid__st_open(&st, path, &err) != IID_OK) {
        printf("    %s\n", err.msg);
        return 1;
    }
    printf("    format: single file, diffusers names (config inferred from the shapes)\n");
    dtypes_line(&st);
    int bad = iid__infer_unet_config(&cfg, &st, NULL, &err) != IID_OK;
    if (bad) printf("    config: %s\n", err.msg);
    else iid_info_print_doc("config", &cfg);
    iid__json_free(&cfg);
    iid__st_close(&st);
    return bad;
}

int iid_info_lora(const char *spec, const char *sdxl, const char *config_dir)
{
    iid_lora_spec_t ls;
    iid_lora_t l;
    iid_error_t err;
    if (iid__lora_spec_parse(&ls, spec, &err) != IID_OK) {
        printf("lora: %s\n    %s\n", spec, err.msg);
        return 1;
    }
    printf("lora: %s\n", ls.path);
    if (iid__lora_open(&l, ls.path, &err) != IID_OK) {
        printf("    %s\n", err.msg);
        return 1;
    }
    int rmin = 1 << 30, rmax = 0;
    for (int i = 0; i < l.n_mods; i++) {
        rmin = l.mods[i].rank < rmin ? l.mods[i].rank : rmin;
        rmax = l.mods[i].rank > rmax ? l.mods[i].rank : rmax;
    }
    printf("    format: LoRA, %s scheme, %d modules (%d convolutions, LoCon), rank %d..%d, multiplier %g\n", l.scheme,
           l.n_mods, l.n_convs, rmin, rmax, ls.multiplier);
    iid_sdxl_source_t src;
    int have_sdxl = iid__sdxl_source_init(&src, sdxl, config_dir, &err) == IID_OK, bad = 0;
    for (int part = 0; part < IID_LORA_PARTS; part++) {
        int n = iid__lora_count(&l, (iid_lora_part_t)part);
        if (!n) continue;
        printf("    %s: %d modules:", iid__lora_part_name((iid_lora_part_t)part), n);
        for (int i = 0; i < l.n_mods; i++)
            if (l.mods[i].part == (iid_lora_part_t)part) printf(" %s", l.mods[i].stem);
        printf("\n");
        iid_safetensors_t st;
        if (!have_sdxl || iid__sdxl_part_index(&st, &src, (iid_lora_part_t)part, &err) != IID_OK) {
            printf("    %s: not matched (%s)\n", iid__lora_part_name((iid_lora_part_t)part), err.msg);
            continue;
        }
        if (iid__lora_check(&st, &l, (iid_lora_part_t)part, &err) != IID_OK) {
            printf("    %s\n", err.msg);
            bad = 1;
        } else
            printf("    %s: every module matches a weight of %s\n", iid__lora_part_name((iid_lora_part_t)part), src.path);
        iid__st_close(&st);
    }
    iid__lora_close(&l);
    return bad;
}
