/* stage_text_encoders.c - conformance stage 'text_encoders': not implemented yet. */
#include "conformance.h"

void stage_text_encoders(conf_ctx_t *c) { conf_skip(c, "text_encoders", "-", "-", "not implemented yet (issue #2)"); }
