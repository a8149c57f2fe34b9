/*
 * info_formats.h - the parts of `instantid info` that describe checkpoint
 * formats: a single-file SDXL checkpoint (its family, AUTOMATIC1111 model hash,
 * and the config of each part, inferred or from --sdxl-config), a config-less
 * IdentityNet file, and LoRA files (scheme, modules per part, and whether each
 * part of the SDXL in use has every weight they target).
 *
 * Each function prints an indented block under a "label: path" line and returns
 * 0 when the thing was read and usable, 1 otherwise.
 */
#ifndef IID_CLI_INFO_FORMATS_H
#define IID_CLI_INFO_FORMATS_H

#include "io/json.h"

/* "    <label>: key=value, ..." for every field of a config document. */
void iid_info_print_doc(const char *label, const iid_json_t *j);

/* The single file sdxl (a file, or a folder with one .safetensors and no unet/). */
int iid_info_sdxl_single(const char *sdxl, const char *config_dir);
/* Whether sdxl names a single-file checkpoint (else a diffusers folder). */
int iid_info_sdxl_is_single(const char *sdxl);
/* A ControlNet given as one file. */
int iid_info_controlnet_file(const char *path);
/* A LoRA "FILE[:M]", matched against the SDXL at sdxl (+ config_dir). */
int iid_info_lora(const char *spec, const char *sdxl, const char *config_dir);

#endif
