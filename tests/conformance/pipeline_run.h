/*
 * pipeline_run.h - the end-to-end stages `pipeline` and `pipeline_full`.
 *
 * Runs are discovered from the kit's golden folder: every
 * `<prefix><run>.safetensors` whose settings are the entry `<prefix><run>` of the
 * stage's JSON file. Each run is generated from the run's own inputs (explicit
 * latents, face embedding, keypoint image, optional control mask) and every
 * intermediate the pipeline traces that the golden file also holds is compared,
 * then the final uint8 image.
 */
#ifndef IID_CONF_PIPELINE_RUN_H
#define IID_CONF_PIPELINE_RUN_H

#include "conformance.h"
#include "pipeline/text_cond.h"

typedef struct conf_pipeline_spec {
    const char *stage;
    const char *prefix;         /* file and JSON key prefix, e.g. "pipeline_" */
    const char *exclude_prefix; /* files to leave to another stage, or NULL */
    const char *json;           /* golden/<json> holds the runs' settings */
    iid_prompt_mode_t mode;
} conf_pipeline_spec_t;

void conf_run_pipelines(conf_ctx_t *c, const conf_pipeline_spec_t *spec);

#endif
