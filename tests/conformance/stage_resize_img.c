/* stage_resize_img.c - conformance stage 'resize_img': not implemented yet. */
#include "conformance.h"

void stage_resize_img(conf_ctx_t *c) { conf_skip(c, "resize_img", "-", "-", "not implemented yet (issue #4)"); }
