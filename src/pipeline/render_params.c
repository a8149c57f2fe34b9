/* render_params.c - the demo's render defaults (iid.h); the PNG metadata of a
 * render is pipeline/infotext.h's. */
#include <string.h>

#include "iid.h"

void iid_render_params_init(iid_render_params_t *r)
{
    memset(r, 0, sizeof *r);
    r->steps = 30;
    r->guidance = 5.0;
    r->identitynet_strength = 0.8;
    r->adapter_strength = 0.8;
    r->scheduler = "euler";
    r->face_mask = 1;
}
