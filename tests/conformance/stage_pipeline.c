/* stage_pipeline.c - conformance stage 'pipeline': not implemented yet. */
#include "conformance.h"

void stage_pipeline(conf_ctx_t *c) { conf_skip(c, "pipeline", "-", "-", "not implemented yet (issue #3)"); }
