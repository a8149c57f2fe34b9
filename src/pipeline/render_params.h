/*
 * render_params.h - the AUTOMATIC1111-style `parameters` text of a render.
 */
#ifndef IID_PIPELINE_RENDER_PARAMS_H
#define IID_PIPELINE_RENDER_PARAMS_H

#include "iid.h"

/* An AUTOMATIC1111-style `parameters` text: prompt, "Negative prompt: ...", then
 * "Steps: .., Sampler: .., CFG scale: .., Seed: .., Size: WxH" and our fields.
 * extra (may be NULL) is appended after ", ". Returns malloc'd text or NULL. */
char *iid__render_parameters_text(const iid_render_params_t *r, int width, int height, const char *extra);

#endif
