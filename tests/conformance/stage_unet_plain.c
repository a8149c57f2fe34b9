/* stage_unet_plain.c - conformance stage 'unet_plain': the UNet with plain
 * attention over text tokens only, no ControlNet residuals (see stage_unet.c). */
#include "conformance.h"

void conf_unet_cases(conf_ctx_t *c, const char *stage, const char *golden, int with_ip, const char *lora);

void stage_unet_plain(conf_ctx_t *c) { conf_unet_cases(c, "unet_plain", "unet_plain.safetensors", 0, NULL); }
