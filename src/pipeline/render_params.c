/* render_params.c - the demo's render defaults (as doubles: 0.8, not 0.8f, so they print as 0.8). */
#include <string.h>

#include "pipeline/engine.h"

void iid__render_params_init(iid_render_params_t *r)
{
    memset(r, 0, sizeof *r);
    r->prompt_mode = IID_PROMPT_WEIGHTED;
    r->steps = 30;
    r->guidance = 5.0;
    r->identitynet_strength = 0.8;
    r->adapter_strength = 0.8;
    r->scheduler = "euler";
    r->face_mask = 1;
}
