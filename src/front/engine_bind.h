/*
 * engine_bind.h - the one adapter between the engine API (include/iid.h) and the
 * two front ends that drive it through a table of callbacks: the batch runner
 * (batch/runner.h, iid_batch_engine_t) and the web server (server/engine.h,
 * iid_server_engine_t). `instantid generate` calls the API directly.
 *
 * Those tables exist so the runner's and the server's tests can drive them with
 * test doubles; with the real engine both resolve here, so a batch job and a web
 * job prepare faces and render the same way, through the same caches.
 *
 *   iid_engine_binding_t *b;
 *   iid__engine_bind(ctx, &styles, &defaults, &b, &err); // defaults: plain_prompts, face_mask, vae_tile
 *   iid_batch_engine_t be = iid__binding_batch(b);
 *   iid_server_engine_t se = iid__binding_server(b);
 *   ...
 *   iid__engine_unbind(b);
 *
 * Batch inputs that are folders are identities (batch --identities): every
 * image directly inside is a photo of one person, combined by
 * iid_prepare_identity; their names go to the prepared info's note.
 */
#ifndef IID_FRONT_ENGINE_BIND_H
#define IID_FRONT_ENGINE_BIND_H

#include "batch/runner.h"
#include "pipeline/infotext.h"
#include "server/engine.h"
#include "text/styles.h"

typedef struct iid_engine_binding iid_engine_binding_t;

/* Bind ctx (and styles, for the server's catalog and styling; may be NULL for a
 * batch) with the render choices of defaults (plain_prompts, face_mask,
 * vae_tile; the rest comes from each job). ctx and styles must outlive it. ctx
 * may be NULL (models that did not load): the server table then lists the
 * styles and schedulers and has no generate; there is no batch table. */
iid_status iid__engine_bind(iid_ctx_t *ctx, const iid_styles_t *styles, const iid_render_params_t *defaults,
                            iid_engine_binding_t **out, iid_error_t *err);
void iid__engine_unbind(iid_engine_binding_t *b);

/* Name the SDXL model in the web PNGs' metadata (copied; unset: not written;
 * batch PNGs get theirs from the runner's options). */
void iid__binding_set_models(iid_engine_binding_t *b, const iid_model_names_t *models);

/* The web UI's LCM toggle (available when the context has an LCM-LoRA,
 * iid_ctx_lcm): the model names of an LCM job's PNG metadata and log row (its
 * LoRAs include the LCM-LoRA; NULL: as a plain job's), why it is unavailable
 * (NULL: a generic reason), and whether the page starts with it ticked. */
void iid__binding_set_lcm(iid_engine_binding_t *b, const iid_model_names_t *models, const char *why_not, int on);

iid_batch_engine_t iid__binding_batch(iid_engine_binding_t *b);
iid_server_engine_t iid__binding_server(iid_engine_binding_t *b);

#endif
