/* stage_pipeline_full.c - conformance stage 'pipeline_full': the demo's pipeline
 * (weighted long prompts, optional face-region mask), run by run
 * (golden/pipeline_full_<run>.safetensors). */
#include "pipeline_run.h"

void stage_pipeline_full(conf_ctx_t *c)
{
    conf_pipeline_spec_t spec = {"pipeline_full", "pipeline_full_", NULL, "pipeline_full.json", IID_PROMPT_WEIGHTED};
    conf_run_pipelines(c, &spec);
}
