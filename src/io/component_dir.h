/*
 * component_dir.h - a diffusers / transformers component folder: `config.json`
 * beside one weights file (unet/, vae/, text_encoder/, ControlNetModel/).
 */
#ifndef IID_IO_COMPONENT_DIR_H
#define IID_IO_COMPONENT_DIR_H

#include "io/json.h"
#include "io/safetensors.h"

/* Parse dir/config.json into *cfg and map dir/<weights> into *st. On failure
 * nothing stays open and err names the file. */
iid_status iid__component_open(const char *dir, const char *weights, iid_json_t *cfg, iid_safetensors_t *st,
                               iid_error_t *err);

#endif
