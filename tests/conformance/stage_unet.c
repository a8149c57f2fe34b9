/* stage_unet.c - conformance stage 'unet': not implemented yet. */
#include "conformance.h"

void stage_unet(conf_ctx_t *c) { conf_skip(c, "unet", "-", "-", "not implemented yet (issue #3)"); }
