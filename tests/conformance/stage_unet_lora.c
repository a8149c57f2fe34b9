/*
 * stage_unet_lora.c - conformance stage 'unet_lora': the plain UNet call of
 * unet_plain with a kohya LoRA fused into the UNet at the golden's lora_scale
 * (kit README section m). The LoRA file is the one golden/MANIFEST.json names
 * in unet_lora.safetensors' metadata ("lora").
 */
#include <string.h>

#include "conformance.h"
#include "io/json.h"

void conf_unet_cases(conf_ctx_t *c, const char *stage, const char *golden, int with_ip, const char *lora);

void stage_unet_lora(conf_ctx_t *c)
{
    char path[4096];
    iid_json_t manifest;
    iid_error_t err;
    if (iid__json_load(&manifest, conf_path(c, "golden/MANIFEST.json", path, sizeof path), &err) != IID_OK) {
        conf_skip(c, "unet_lora", "-", "-", "%s", err.msg);
        return;
    }
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(manifest.root, "unet_lora.safetensors");
    const cJSON *lora = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(entry, "metadata"), "lora");
    if (!entry) conf_skip(c, "unet_lora", "-", "-", "the kit has no golden/unet_lora.safetensors");
    else if (!cJSON_IsString(lora)) conf_fail(c, "unet_lora", "-", "-", "MANIFEST.json names no LoRA file for unet_lora");
    else conf_unet_cases(c, "unet_lora", "unet_lora.safetensors", 0, lora->valuestring);
    iid__json_free(&manifest);
}
