/* stage_style_templates.c - conformance stage 'style_templates': not implemented yet. */
#include "conformance.h"

void stage_style_templates(conf_ctx_t *c) { conf_skip(c, "style_templates", "-", "-", "not implemented yet (issue #2)"); }
