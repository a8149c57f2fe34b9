/*
 * lora_switch.h - switching a loaded pipeline between plain mode (the
 * context's LoRAs) and LCM mode (those, then the LCM-LoRA at multiplier 1): the
 * web UI's per-job LCM toggle (include/iid.h, iid_render_params_t.lcm).
 *
 * Design: a switch reloads the UNet with the other mode's LoRAs fused, exactly
 * as iid__pipeline_load does (and both text encoders when the LCM-LoRA has
 * text-encoder modules, as a kohya file may), so a switched pipeline is the
 * one `generate` loads for that set, bit for bit. The old UNet is freed first:
 * its untouched weights are views of the memory-mapped checkpoint, so the
 * reload maps the same page cache again and copies only the layers the LoRAs
 * touch; memory never holds two UNets. Backend state goes with the freed model
 * (the cpu backend's oneDNN-ordered copy hangs off each weight and is made again
 * at its first product), and the IP-Adapter's to_k_ip/to_v_ip are bound again
 * from the adapter file the pipeline keeps open. A switch costs one fused
 * reload when consecutive renders change mode, nothing when they keep it.
 * Keeping both modes' copies of the touched layers and swapping bindings would
 * make switches free, but it holds the touched layers twice (most of SDXL's
 * UNet for an LCM-LoRA) and reaches into every model's bindings.
 */
#ifndef IID_PIPELINE_LORA_SWITCH_H
#define IID_PIPELINE_LORA_SWITCH_H

#include "pipeline/instantid.h"

typedef struct iid_lora_switch {
    iid_model_paths_t paths; /* the load's paths; loras point into specs for the current mode */
    char **specs;            /* the context's LoRAs (copies), then the LCM-LoRA as "FILE:1" */
    int n_plain;             /* specs[0 .. n_plain) are plain mode's */
    int has_lcm;             /* specs[n_plain] is the LCM-LoRA */
    int text;                /* the LCM-LoRA has text-encoder modules */
    int on;                  /* the mode the pipeline holds */
    int broken;              /* a switch and the way back both failed: reload at the next use */
} iid_lora_switch_t;

/* Copy paths' LoRAs and add lcm_lora (NULL: none; opened here to check it and
 * see which parts it touches); start in LCM mode when on. iid__lora_switch_paths
 * then gives the paths to load the pipeline with. */
iid_status iid__lora_switch_init(iid_lora_switch_t *sw, const iid_model_paths_t *paths, const char *lcm_lora, int on,
                                 iid_error_t *err);
void iid__lora_switch_free(iid_lora_switch_t *sw);

/* The model paths of the current mode (their LoRAs included). */
const iid_model_paths_t *iid__lora_switch_paths(iid_lora_switch_t *sw);

/* Put p (loaded from iid__lora_switch_paths) in LCM mode (on) or plain mode.
 * *reloaded is set when the models were reloaded (the mode changed), and
 * *text_changed when the text encoders were among them (cached text embeddings
 * are then stale). A failed switch goes back to the mode p held; when that
 * fails too, p lacks models until a later use succeeds. */
iid_status iid__lora_switch_use(iid_lora_switch_t *sw, iid_pipeline_t *p, int on, int *reloaded, int *text_changed,
                                iid_error_t *err);

#endif
