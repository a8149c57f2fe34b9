/* stage_controlnet.c - conformance stage 'controlnet': not implemented yet. */
#include "conformance.h"

void stage_controlnet(conf_ctx_t *c) { conf_skip(c, "controlnet", "-", "-", "not implemented yet (issue #3)"); }
