/* stage_faces_detect.c - conformance stage 'faces_detect': not implemented yet. */
#include "conformance.h"

void stage_faces_detect(conf_ctx_t *c) { conf_skip(c, "faces_detect", "-", "-", "not implemented yet (issue #4)"); }
