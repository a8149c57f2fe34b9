/*
 * batch_engine.h - the InstantID engine behind the batch runner's engine
 * interface (runner.h): prepare = face preparation of one input photo at the
 * batch's size, generate = one render with the job's values.
 */
#ifndef IID_BATCH_BATCH_ENGINE_H
#define IID_BATCH_BATCH_ENGINE_H

#include "batch/runner.h"
#include "pipeline/engine.h"

/* Fill *out so the runner drives e (which must outlive it); device names the
 * device column, opts is copied. Release with iid__batch_engine_close. */
iid_status iid__batch_engine_open(iid_engine_t *e, const char *device, const iid_render_options_t *opts,
                                  iid_batch_engine_t *out, iid_error_t *err);
/* Free what iid__batch_engine_open allocated (not the engine). NULL ctx is fine. */
void iid__batch_engine_close(iid_batch_engine_t *be);

/* The render settings of a batch request (its job's values, prompts, scheduler)
 * under opts. Pointers are borrowed from req. */
void iid__batch_render_params(const iid_batch_request_t *req, const iid_render_options_t *opts,
                              iid_render_params_t *r);

#endif
