/*
 * model_names.h - what the PNG metadata calls the loaded models: the SDXL
 * checkpoint's name and A1111's short hash of it (pipeline/infotext.h).
 */
#ifndef IID_CLI_MODEL_NAMES_H
#define IID_CLI_MODEL_NAMES_H

#include "cli/engine_setup.h"
#include "pipeline/infotext.h"

/* Name the SDXL model of m. A single checkpoint file gives its stem and the first
 * 10 hex digits of its SHA-256 (A1111's "Model hash"); a diffusers folder gives
 * the folder's name and the hash of its UNet weights file (the file that holds
 * what the checkpoint name stands for; A1111 finds no checkpoint by it, so a
 * paste leaves A1111's model as it was). Hashes come from the cache (io/cache.h)
 * after the first time; a file that cannot be hashed leaves the hash empty.
 * The LoRAs are m's --lora files then, with --lcm, the LCM-LoRA ("lcm-lora-sdxl",
 * 1), each named by its file name without extension (by its folder for a
 * diffusers "pytorch_lora_weights" file) with its multiplier as the shortest text
 * that reads back to the same float. */
void iid_cli_model_names(const iid_cli_models_t *m, iid_model_names_t *out);

#endif
