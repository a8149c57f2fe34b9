/* stage_faces_recog.c - conformance stage 'faces_recog': not implemented yet. */
#include "conformance.h"

void stage_faces_recog(conf_ctx_t *c) { conf_skip(c, "faces_recog", "-", "-", "not implemented yet (issue #4)"); }
