/* stage_faces_align.c - conformance stage 'faces_align': not implemented yet. */
#include "conformance.h"

void stage_faces_align(conf_ctx_t *c) { conf_skip(c, "faces_align", "-", "-", "not implemented yet (issue #4)"); }
