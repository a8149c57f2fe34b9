/* stage_resampler.c - conformance stage 'resampler': not implemented yet. */
#include "conformance.h"

void stage_resampler(conf_ctx_t *c) { conf_skip(c, "resampler", "-", "-", "not implemented yet (issue #3)"); }
