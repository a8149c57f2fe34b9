/* lora_switch.c - reloading the LoRA-fused parts of a pipeline to change mode (see lora_switch.h). */
#include "pipeline/lora_switch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/lora.h"
#include "pipeline/model_load.h"

static void set_mode(iid_lora_switch_t *sw, int on)
{
    sw->on = on;
    sw->paths.loras = (const char *const *)sw->specs;
    sw->paths.n_loras = sw->n_plain + (on ? 1 : 0);
}

void iid__lora_switch_free(iid_lora_switch_t *sw)
{
    if (!sw) return;
    for (int i = 0; sw->specs && i < sw->n_plain + sw->has_lcm; i++) free(sw->specs[i]);
    free(sw->specs);
    memset(sw, 0, sizeof *sw);
}

/* Whether the LoRA file at spec has modules for the text encoders. */
static iid_status touches_text(const char *spec, int *text, iid_error_t *err)
{
    iid_lora_spec_t ls;
    iid_lora_t l;
    IID_TRY(iid__lora_spec_parse(&ls, spec, err));
    IID_TRY(iid__lora_open(&l, ls.path, err));
    *text = iid__lora_count(&l, IID_LORA_TE1) + iid__lora_count(&l, IID_LORA_TE2) > 0;
    iid__lora_close(&l);
    return IID_OK;
}

iid_status iid__lora_switch_init(iid_lora_switch_t *sw, const iid_model_paths_t *paths, const char *lcm_lora, int on,
                                 iid_error_t *err)
{
    memset(sw, 0, sizeof *sw);
    sw->paths = *paths;
    int n = paths->n_loras + (lcm_lora ? 1 : 0);
    sw->specs = calloc((size_t)(n ? n : 1), sizeof *sw->specs);
    if (!sw->specs) return iid__fail(err, IID_ERR_NOMEM, "out of memory for the LoRA list");
    for (int i = 0; i < paths->n_loras; i++) {
        if (!(sw->specs[i] = strdup(paths->loras[i]))) {
            iid__lora_switch_free(sw);
            return iid__fail(err, IID_ERR_NOMEM, "out of memory for the LoRA list");
        }
        sw->n_plain++;
    }
    iid_status s = IID_OK;
    if (lcm_lora) { /* ":1" so that a path holding ':' reads as the path (lora.h, iid_lora_spec_t) */
        size_t len = strlen(lcm_lora) + 3;
        sw->specs[sw->n_plain] = malloc(len);
        if (sw->specs[sw->n_plain]) {
            snprintf(sw->specs[sw->n_plain], len, "%s:1", lcm_lora);
            sw->has_lcm = 1;
            s = touches_text(sw->specs[sw->n_plain], &sw->text, err);
        } else
            s = iid__fail(err, IID_ERR_NOMEM, "out of memory for the LoRA list");
    } else if (on)
        s = iid__fail(err, IID_ERR_INVALID, "LCM mode needs an LCM-LoRA file");
    if (s != IID_OK) {
        iid__lora_switch_free(sw);
        return s;
    }
    set_mode(sw, on);
    return IID_OK;
}

const iid_model_paths_t *iid__lora_switch_paths(iid_lora_switch_t *sw)
{
    return &sw->paths;
}

/* Load the UNet (and with text the text encoders) of mode on in place of p's. */
static iid_status reload(iid_lora_switch_t *sw, iid_pipeline_t *p, int on, int text, iid_error_t *err)
{
    const iid_backend_t *be = p->vae->be; /* every model runs on one backend (iid__pipeline_use_backend) */
    set_mode(sw, on);
    iid_sdxl_source_t src;
    iid_lora_set_t loras;
    IID_TRY(iid__lora_set_open(&loras, sw->paths.loras, sw->paths.n_loras, err));
    iid_status s = iid__sdxl_source_init(&src, sw->paths.sdxl, sw->paths.sdxl_config, err);
    if (s == IID_OK && text) {
        iid__text_cond_free(&p->text);
        s = iid__load_text_cond(&p->text, &src, &loras, err);
    }
    if (s == IID_OK) { /* freed first: never two UNets in memory */
        iid__unet_free(p->unet);
        p->unet = NULL;
        s = iid__load_unet(&p->unet, &src, &loras, err);
    }
    iid__lora_set_close(&loras);
    /* the adapter's prefix, as iid__pipeline_load binds it */
    if (s == IID_OK) s = iid__unet_load_ip(p->unet, &p->adapter, "ip_adapter.", err);
    if (s == IID_OK) {
        p->unet->trunk.be = be;
        p->text.te1.be = p->text.te2.be = be;
    }
    return s;
}

iid_status iid__lora_switch_use(iid_lora_switch_t *sw, iid_pipeline_t *p, int on, int *reloaded, int *text_changed,
                                iid_error_t *err)
{
    *reloaded = *text_changed = 0;
    if (on && !sw->has_lcm)
        return iid__fail(err, IID_ERR_INVALID, "LCM mode: the engine was created without an LCM-LoRA");
    if (on == sw->on && !sw->broken) return IID_OK;
    int was = sw->on;
    *reloaded = 1;
    *text_changed = sw->text;
    iid_status s = reload(sw, p, on, sw->text, err);
    if (s == IID_OK) {
        sw->broken = 0;
        return IID_OK;
    }
    iid_error_t back;
    sw->broken = reload(sw, p, was, sw->text, &back) != IID_OK;
    return iid__prefix(err, s, "switching LCM mode %s", on ? "on" : "off");
}
