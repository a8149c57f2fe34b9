/* stage_vae_decode.c - conformance stage 'vae_decode': not implemented yet. */
#include "conformance.h"

void stage_vae_decode(conf_ctx_t *c) { conf_skip(c, "vae_decode", "-", "-", "not implemented yet (issue #3)"); }
