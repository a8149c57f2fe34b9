/*
 * unused_weights.c - the unused-tensor warning for every file the pipeline
 * loaded; see unused_weights.h.
 */
#include "pipeline/unused_weights.h"

int iid__pipeline_warn_unused(const iid_pipeline_t *p, const iid_logger_t *lg)
{
    /* Parts the pipeline never runs: the VAE's encoder side, and the position
     * ids buffer that transformers also skips when loading. */
    static const char *const vae_skip[] = {"encoder.", "quant_conv.", NULL};
    static const char *const clip_skip[] = {"text_model.embeddings.position_ids", NULL};
    int n = 0;
    n += iid__st_warn_unused(&p->text.te1.file, clip_skip, lg);
    n += iid__st_warn_unused(&p->text.te2.file, clip_skip, lg);
    if (p->unet->file) n += iid__st_warn_unused(p->unet->file, NULL, lg);
    n += iid__st_warn_unused(&p->controlnet->file, NULL, lg);
    n += iid__st_warn_unused(&p->vae->file, vae_skip, lg);
    n += iid__st_warn_unused(&p->adapter, NULL, lg);
    return n;
}
