/*
 * stage_controlnet.c - conformance stage 'controlnet': IdentityNet calls.
 *
 * Cases are the prefixes of "*.mid_block_res_sample" (call<k> and call<k>.scale1);
 * a case without its own inputs takes its parent's. The conditioning scale is
 * the case's conditioning_scale, or x for a last name part "scale<x>". Every
 * down_block_res_sample<i> the file holds (counted, not assumed) and
 * mid_block_res_sample are compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"
#include "models/controlnet.h"

#define STAGE "controlnet"

static float case_scale(const conf_ctx_t *c, const iid_safetensors_t *st, const char *kase)
{
    const char *last = strrchr(kase, '.');
    last = last ? last + 1 : kase;
    if (strncmp(last, "scale", 5) == 0 && last[5]) return strtof(last + 5, NULL);
    float *v = conf_f32(conf_input(c, st, kase, "conditioning_scale"));
    float s = v ? v[0] : 1.0f;
    free(v);
    return s;
}

static void run_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    const iid_controlnet_t *cn = user;
    const iid_st_tensor_t *ts = conf_input(c, st, kase, "sample"), *tc = conf_input(c, st, kase, "encoder_hidden_states");
    const iid_st_tensor_t *tt = conf_input(c, st, kase, "text_embeds"), *ti = conf_input(c, st, kase, "time_ids");
    const iid_st_tensor_t *tstep = conf_input(c, st, kase, "timestep"), *timg = conf_input(c, st, kase, "controlnet_cond");
    if (!ts || !tc || !tt || !ti || !tstep || !timg || ts->ndim != 4 || tc->ndim != 3 || tt->ndim != 2 ||
        ti->ndim != 2 || timg->ndim != 4) {
        conf_fail(c, STAGE, kase, "-", "inputs missing or of unexpected rank");
        return;
    }
    iid_tensor_t sample = conf_tensor(ts), ctx = conf_tensor(tc), text = conf_tensor(tt), ids = conf_tensor(ti);
    iid_tensor_t img = conf_tensor(timg);
    float *step = conf_f32(tstep);
    iid_residuals_t res = {0};
    if (!sample.data || !ctx.data || !text.data || !ids.data || !step || !img.data) {
        conf_fail(c, STAGE, kase, "-", "cannot read the inputs");
    } else {
        iid_controlnet_inputs_t in = {.sample = sample, .cond = {step[0], ctx, text, ids}, .image = img,
                                      .scale = case_scale(c, st, kase)};
        iid_error_t err;
        iid_error_clear(&err);
        if (iid__controlnet_forward(cn, &in, &res, &err) != IID_OK) {
            conf_fail(c, STAGE, kase, "-", "%s", err.msg);
        } else {
            int n_golden = 0;
            for (;; n_golden++) {
                char name[64];
                snprintf(name, sizeof name, "down_block_res_sample%d", n_golden);
                if (!conf_output(st, kase, name)) break;
            }
            if (n_golden != res.n_down)
                conf_fail(c, STAGE, kase, "down_block_res_sample*", "golden has %d, we produce %d", n_golden, res.n_down);
            for (int i = 0; i < n_golden && i < res.n_down; i++) {
                char name[64];
                snprintf(name, sizeof name, "down_block_res_sample%d", i);
                conf_check_f32(c, STAGE, kase, name, res.down[i].data, (size_t)iid__tensor_numel(&res.down[i]),
                               conf_output(st, kase, name), CONF_TOL_MODEL);
            }
            conf_check_f32(c, STAGE, kase, "mid_block_res_sample", res.mid.data, (size_t)iid__tensor_numel(&res.mid),
                           conf_output(st, kase, "mid_block_res_sample"), CONF_TOL_MODEL);
        }
    }
    iid__residuals_free(&res);
    iid__tensor_free(&sample), iid__tensor_free(&ctx), iid__tensor_free(&text), iid__tensor_free(&ids);
    iid__tensor_free(&img), free(step);
}

void stage_controlnet(conf_ctx_t *c)
{
    char path[4096];
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "controlnet.safetensors", &st) != 0) return;
    iid_error_t err;
    iid_error_clear(&err);
    iid_controlnet_t *cn = NULL;
    if (iid__controlnet_load(&cn, conf_path(c, "models/ControlNetModel", path, sizeof path), &err) != IID_OK)
        conf_fail(c, STAGE, "-", "-", "%s", err.msg);
    else if (conf_for_each_case(c, &st, ".mid_block_res_sample", run_case, cn) == 0)
        conf_fail(c, STAGE, "-", "-", "no '*.mid_block_res_sample' tensors in golden/controlnet.safetensors");
    iid__controlnet_free(cn);
    conf_close(c, &st);
}
