/*
 * unused_weights.h - after the pipeline is loaded, one warning per weight file
 * holding tensors that no model looked up (a checkpoint for another
 * architecture, a renamed layer), as diffusers warns of unexpected keys.
 *
 * Lookups are recorded by the weight index itself (iid__st_find), so every
 * loader is covered without code of its own; this file only knows which parts
 * of each file the pipeline skips on purpose.
 */
#ifndef IID_PIPELINE_UNUSED_WEIGHTS_H
#define IID_PIPELINE_UNUSED_WEIGHTS_H

#include "core/log.h"
#include "pipeline/instantid.h"

/* Warn (through lg; NULL means stderr) for each model file of p with unused
 * tensors. Returns how many unused tensors were found in all. */
int iid__pipeline_warn_unused(const iid_pipeline_t *p, const iid_logger_t *lg);

#endif
