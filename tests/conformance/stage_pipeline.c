/* stage_pipeline.c - conformance stage 'pipeline': StableDiffusionXLInstantIDPipeline
 * with diffusers' encode_prompt, run by run (golden/pipeline_<run>.safetensors). */
#include "pipeline_run.h"

void stage_pipeline(conf_ctx_t *c)
{
    conf_pipeline_spec_t spec = {"pipeline", "pipeline_", "pipeline_full_", "pipeline.json", IID_PROMPT_PLAIN};
    conf_run_pipelines(c, &spec);
}
