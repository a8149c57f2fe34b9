/*
 * model_io.h - reading a case's golden inputs for the model stages (unet,
 * unet_plain, controlnet, vae_decode).
 *
 * Cases are discovered from tensor names; a case such as "call0.ip_scale0" that
 * only carries outputs takes its inputs from its parent case ("call0"), and a
 * file without case prefixes (unet_plain) has the empty case "".
 */
#ifndef IID_CONF_MODEL_IO_H
#define IID_CONF_MODEL_IO_H

#include "conformance.h"
#include "pipeline/model_load.h"

/* "<kase>.<name>" (or "<name>" for the empty case), falling back to the parent
 * cases of kase (dropping ".<part>" from the end); NULL when none exists. Recorded
 * as used (conf_in). */
const iid_st_tensor_t *conf_input(const conf_ctx_t *c, const iid_safetensors_t *st, const char *kase,
                                  const char *name);
/* The exact "<kase>.<name>" (or "<name>"), no fallback. */
const iid_st_tensor_t *conf_output(const iid_safetensors_t *st, const char *kase, const char *name);
/* A malloc'd f32 copy of t; NULL when t is NULL or on failure. */
float *conf_f32(const iid_st_tensor_t *t);
/* The same as a host tensor (be NULL) of t's shape that owns the copy; data NULL
 * when t is NULL or unreadable. Free with iid__tensor_free. */
iid_tensor_t conf_tensor(const iid_st_tensor_t *t);
/* Call fn for every case that has a tensor named "<case><suffix>", where suffix
 * starts with '.', and for the empty case when a tensor is named suffix+1. */
int conf_for_each_case_or_root(conf_ctx_t *c, const iid_safetensors_t *st, const char *suffix, conf_case_fn fn,
                               void *user);

/* Where the model stages take SDXL from: models/sdxl, or c->sdxl_file with
 * models/sdxl as its config folder. */
iid_status conf_sdxl_source(const conf_ctx_t *c, iid_sdxl_source_t *src, iid_error_t *err);

#endif
