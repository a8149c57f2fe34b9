/* stage_pipeline_full.c - conformance stage 'pipeline_full': not implemented yet. */
#include "conformance.h"

void stage_pipeline_full(conf_ctx_t *c) { conf_skip(c, "pipeline_full", "-", "-", "not implemented yet (issue #3)"); }
