/* stage_draw_kps.c - conformance stage 'draw_kps': not implemented yet. */
#include "conformance.h"

void stage_draw_kps(conf_ctx_t *c) { conf_skip(c, "draw_kps", "-", "-", "not implemented yet (issue #4)"); }
