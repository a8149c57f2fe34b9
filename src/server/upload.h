/*
 * upload.h - turning a POST /api/generate body into a validated job.
 *
 * The body (multipart/form-data, or application/x-www-form-urlencoded for
 * text-only clients) is fed piece by piece to libmicrohttpd's post processor,
 * which calls us back with each field's bytes. Bytes are counted as they arrive,
 * whatever Content-Length claimed, so a chunked body cannot exceed the limit
 * either. Text fields are capped at 16 KiB each; file fields (face, pose) only by
 * the body limit. Unknown fields are ignored, so newer pages work with older
 * servers; a known field given twice is refused (400 naming it), never joined.
 *
 * Validation happens once the body is complete: the face file must be present
 * and non-empty; numbers must parse completely and lie in the ranges engine.h
 * lists; style and scheduler must be among the catalog's names when it has
 * any. Empty fields take the demo's defaults (IdentityNet 0.8, adapter 0.8,
 * steps 30, guidance 5, seed 42, size 0x0 = from the face, the catalog's default
 * style and scheduler, enhance_face_region as the server was started, lcm off).
 * The check boxes enhance_face_region and lcm take 1/true/on/yes or
 * 0/false/off/no; lcm on is refused when the catalog says LCM is unavailable,
 * else it makes the job the demo's LCM one: the lcm scheduler whatever the
 * scheduler field says, steps and guidance IID_LCM_STEPS and IID_LCM_GUIDANCE
 * when empty, and the catalog's lcm_lora_tags as the job's LoRAs (lora_tags
 * for a plain job).
 * Error messages name the field.
 */
#ifndef IID_SERVER_UPLOAD_H
#define IID_SERVER_UPLOAD_H

#include <stddef.h>

#include <microhttpd.h>

#include "server/engine.h"
#include "server/jobs.h"

typedef struct iid_upload iid_upload_t;

/* Start collecting the body of connection c, allowing at most limit bytes.
 * IID_ERR_UNSUPPORTED when the Content-Type is not a form encoding. */
iid_status iid__upload_begin(struct MHD_Connection *c, size_t limit, iid_upload_t **out, iid_error_t *err);

/* Feed the next piece of the body. Returns IID_OK, IID_ERR_RANGE once the total
 * exceeds the limit (further pieces are counted and dropped), or IID_ERR_FORMAT
 * when the body is not a well-formed form (message in *err). */
iid_status iid__upload_feed(iid_upload_t *u, const char *data, size_t size, iid_error_t *err);

/* Validate the complete form and move its contents into a new job (*job, owned
 * by the caller). IID_ERR_INVALID or IID_ERR_FORMAT name the offending field. */
iid_status iid__upload_finish(iid_upload_t *u, const iid_engine_catalog_t *catalog, iid_job_t **job,
                              iid_error_t *err);

/* Release the collector (NULL is a no-op). */
void iid__upload_free(iid_upload_t *u);

#endif
