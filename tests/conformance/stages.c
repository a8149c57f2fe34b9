/* stages.c - the table of conformance stages, named as the kit's golden families. */
#include "conformance.h"

void stage_tokenizer(conf_ctx_t *c);
void stage_text_encoders(conf_ctx_t *c);
void stage_resampler(conf_ctx_t *c);
void stage_controlnet(conf_ctx_t *c);
void stage_unet(conf_ctx_t *c);
void stage_unet_plain(conf_ctx_t *c);
void stage_schedulers(conf_ctx_t *c);
void stage_vae_decode(conf_ctx_t *c);
void stage_pipeline(conf_ctx_t *c);
void stage_pipeline_full(conf_ctx_t *c);
void stage_draw_kps(conf_ctx_t *c);
void stage_resize_img(conf_ctx_t *c);
void stage_style_templates(conf_ctx_t *c);
void stage_faces_detect(conf_ctx_t *c);
void stage_faces_align(conf_ctx_t *c);
void stage_faces_recog(conf_ctx_t *c);
void stage_unet_lora(conf_ctx_t *c);
void stage_single_file(conf_ctx_t *c);

const conf_stage_t conf_stages[] = {
    {"tokenizer", stage_tokenizer},
    {"text_encoders", stage_text_encoders},
    {"resampler", stage_resampler},
    {"controlnet", stage_controlnet},
    {"unet", stage_unet},
    {"unet_plain", stage_unet_plain},
    {"schedulers", stage_schedulers},
    {"vae_decode", stage_vae_decode},
    {"pipeline", stage_pipeline},
    {"pipeline_full", stage_pipeline_full},
    {"draw_kps", stage_draw_kps},
    {"resize_img", stage_resize_img},
    {"style_templates", stage_style_templates},
    {"faces_detect", stage_faces_detect},
    {"faces_align", stage_faces_align},
    {"faces_recog", stage_faces_recog},
    {"unet_lora", stage_unet_lora},
    {"single_file", stage_single_file},
};

const int conf_stage_count = (int)(sizeof conf_stages / sizeof conf_stages[0]);
