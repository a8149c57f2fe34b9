/*
 * stage_unet.c - conformance stages 'unet' (InstantID's UNet call: text + face
 * tokens with the IP-Adapter, ControlNet residuals) and, through
 * conf_unet_cases(), 'unet_plain' (diffusers attention, text only).
 *
 * Cases are the prefixes of "*.noise_pred". Inputs: sample, timestep,
 * encoder_hidden_states, text_embeds, time_ids, down_block_additional_residual<i>
 * (as many as the file has), mid_block_additional_residual, ip_adapter_scale.
 * A case whose last name part is "ip_scale<x>" reuses its parent's inputs with
 * the IP scale x. The number of image tokens is the Resampler's num_queries, read
 * from image_proj.latents of the kit's ip-adapter.safetensors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"
#include "models/unet_sdxl.h"

typedef struct unet_stage {
    const char *name;
    const iid_unet_t *unet;
    int n_ip; /* image tokens at the end of the context; 0 for unet_plain */
} unet_stage_t;

/* The IP scale of a case: "<...>.ip_scale<x>" gives x, else ip_adapter_scale. */
static float case_ip_scale(const conf_ctx_t *c, const iid_safetensors_t *st, const char *kase)
{
    const char *last = strrchr(kase, '.');
    last = last ? last + 1 : kase;
    if (strncmp(last, "ip_scale", 8) == 0) return strtof(last + 8, NULL);
    float *v = conf_f32(conf_input(c, st, kase, "ip_adapter_scale"));
    float s = v ? v[0] : 1.0f;
    free(v);
    return s;
}

static void run_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    const unet_stage_t *u = user;
    const char *label = *kase ? kase : "-";
    const iid_st_tensor_t *ts = conf_input(c, st, kase, "sample"), *tc = conf_input(c, st, kase, "encoder_hidden_states");
    const iid_st_tensor_t *tt = conf_input(c, st, kase, "text_embeds"), *ti = conf_input(c, st, kase, "time_ids");
    const iid_st_tensor_t *tstep = conf_input(c, st, kase, "timestep");
    if (!ts || !tc || !tt || !ti || !tstep || ts->ndim != 4 || tc->ndim != 3 || tt->ndim != 2 || ti->ndim != 2) {
        conf_fail(c, u->name, label, "noise_pred", "inputs missing or of unexpected rank");
        return;
    }
    iid_residuals_t res = {0};
    while (res.n_down < IID_UNET_MAX_SKIPS) {
        char name[64];
        snprintf(name, sizeof name, "down_block_additional_residual%d", res.n_down);
        if (!conf_input(c, st, kase, name)) break;
        res.n_down++;
    }
    iid_tensor_t sample = conf_tensor(ts), ctx = conf_tensor(tc), text = conf_tensor(tt), ids = conf_tensor(ti);
    float *step = conf_f32(tstep);
    int ok = sample.data && ctx.data && text.data && ids.data && step;
    if (res.n_down) {
        for (int i = 0; ok && i < res.n_down; i++) {
            char name[64];
            snprintf(name, sizeof name, "down_block_additional_residual%d", i);
            const iid_st_tensor_t *t = conf_input(c, st, kase, name);
            res.down[i] = conf_tensor(t);
            ok = res.down[i].data != NULL && t->ndim == 4;
        }
        const iid_st_tensor_t *tm = conf_input(c, st, kase, "mid_block_additional_residual");
        ok = ok && tm && tm->ndim == 4;
        if (ok) res.mid = conf_tensor(tm);
        ok = ok && res.mid.data;
    }
    int B = (int)ts->shape[0], H = (int)ts->shape[2], W = (int)ts->shape[3];
    size_t n_out = (size_t)B * u->unet->trunk.cfg.out_channels * H * W;
    float *out = malloc(n_out * sizeof *out);
    if (!ok || !out) {
        conf_fail(c, u->name, label, "noise_pred", "cannot read the inputs");
    } else {
        iid_unet_inputs_t in;
        iid__unet_inputs_init(&in);
        in.sample = sample;
        in.cond = (iid_unet_cond_t){step[0], ctx, text, ids, NULL};
        in.residuals = res.n_down ? &res : NULL;
        in.ip = (iid_ip_args_t){u->n_ip, u->n_ip ? case_ip_scale(c, st, kase) : 0.0f, {0}};
        iid_tensor_t out_t = iid__tensor_wrap(NULL, out, 4, (int64_t[]){B, u->unet->trunk.cfg.out_channels, H, W});
        iid_error_t err;
        iid_error_clear(&err);
        if (iid__unet_forward(u->unet, &in, &out_t, &err) != IID_OK)
            conf_fail(c, u->name, label, "noise_pred", "%s", err.msg);
        else
            conf_check_f32(c, u->name, label, "noise_pred", out, n_out, conf_output(st, kase, "noise_pred"),
                           CONF_TOL_MODEL);
    }
    iid__residuals_free(&res);
    iid__tensor_free(&sample), iid__tensor_free(&ctx), iid__tensor_free(&text), iid__tensor_free(&ids);
    free(out), free(step);
}

void conf_unet_cases(conf_ctx_t *c, const char *stage, const char *golden, int with_ip, const char *lora);

/* lora: a kit-relative LoRA file fused into the UNet with the golden's
 * lora_scale as multiplier, or NULL. */
void conf_unet_cases(conf_ctx_t *c, const char *stage, const char *golden, int with_ip, const char *lora)
{
    char path[4096];
    iid_safetensors_t st, ip = {0};
    if (conf_open_golden(c, stage, golden, &st) != 0) return;
    iid_error_t err;
    iid_error_clear(&err);
    iid_unet_t *unet = NULL;
    unet_stage_t u = {stage, NULL, 0};
    iid_sdxl_source_t src;
    iid_lora_set_t loras = {0};
    iid_status s = conf_sdxl_source(c, &src, &err);
    if (s == IID_OK && lora) {
        float *scale = conf_f32(conf_in(c, &st, "lora_scale"));
        char spec[4200];
        snprintf(spec, sizeof spec, "%s:%.9g", conf_path(c, lora, path, sizeof path), scale ? scale[0] : 1.0);
        const char *specs[] = {spec};
        if (!scale) s = iid__fail(&err, IID_ERR_NOT_FOUND, "golden/%s: no lora_scale", golden);
        else s = iid__lora_set_open(&loras, specs, 1, &err);
        if (s == IID_OK) conf_read_file(c, lora); /* the kit's LoRA file has a stage */
        free(scale);
    }
    if (s == IID_OK) s = iid__load_unet(&unet, &src, &loras, &err);
    iid__lora_set_close(&loras);
    if (s == IID_OK && with_ip) {
        s = iid__st_open(&ip, conf_path(c, "models/ip-adapter.safetensors", path, sizeof path), &err);
        if (s == IID_OK) s = iid__unet_load_ip(unet, &ip, "ip_adapter.", &err);
        const iid_st_tensor_t *lat = s == IID_OK ? iid__st_find(&ip, "image_proj.latents") : NULL;
        if (s == IID_OK && (!lat || lat->ndim != 3)) {
            s = IID_ERR_NOT_FOUND;
            snprintf(err.msg, sizeof err.msg, "%s: image_proj.latents (1, num_queries, dim) is missing", ip.path);
        }
        if (s == IID_OK) u.n_ip = (int)lat->shape[1];
    }
    if (s != IID_OK) {
        conf_fail(c, stage, "-", "-", "%s", err.msg);
    } else {
        u.unet = unet;
        if (conf_for_each_case_or_root(c, &st, ".noise_pred", run_case, &u) == 0)
            conf_fail(c, stage, "-", "-", "no '*noise_pred' tensors in golden/%s", golden);
    }
    iid__unet_free(unet);
    iid__st_close(&ip);
    conf_close(c, &st);
}

void stage_unet(conf_ctx_t *c) { conf_unet_cases(c, "unet", "unet.safetensors", 1, NULL); }
