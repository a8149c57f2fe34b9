/* stage_unet_plain.c - conformance stage 'unet_plain': not implemented yet. */
#include "conformance.h"

void stage_unet_plain(conf_ctx_t *c) { conf_skip(c, "unet_plain", "-", "-", "not implemented yet (issue #3)"); }
