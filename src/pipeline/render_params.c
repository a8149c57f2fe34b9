/* render_params.c - render defaults and the AUTOMATIC1111-style `parameters` text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "pipeline/render_params.h"

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

char *iid__render_parameters_text(const iid_render_params_t *r, int width, int height, const char *extra)
{
    char cfg[32], idn[32], ad[32];
    iid__fmt_double(cfg, sizeof cfg, r->guidance);
    iid__fmt_double(idn, sizeof idn, r->identitynet_strength);
    iid__fmt_double(ad, sizeof ad, r->adapter_strength);
    const char *fmt = "%s\nNegative prompt: %s\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %llu, Size: %dx%d, "
                      "IdentityNet strength: %s, Adapter strength: %s%s%s";
    const char *sched = r->scheduler ? r->scheduler : "euler";
    const char *neg = r->negative ? r->negative : "";
    const char *sep = extra ? ", " : "", *tail = extra ? extra : "";
    unsigned long long seed = (unsigned long long)r->seed;
    int n = snprintf(NULL, 0, fmt, r->prompt, neg, r->steps, sched, cfg, seed, width, height, idn, ad, sep, tail);
    if (n < 0) return NULL;
    char *text = malloc((size_t)n + 1);
    if (text) snprintf(text, (size_t)n + 1, fmt, r->prompt, neg, r->steps, sched, cfg, seed, width, height, idn, ad, sep, tail);
    return text;
}
