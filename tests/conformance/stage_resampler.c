/*
 * stage_resampler.c - conformance stage 'resampler' (kit README, stage c).
 *
 * The Resampler is read from models/ip-adapter.safetensors under "image_proj."
 * with the head count of golden/ip_adapter_layout.json
 * (resampler_hyperparameters.heads). Cases: every `<case>.tokens` of
 * resampler.safetensors, its input `<case>.input` (B, N, E); and every
 * `encode_prompt_image_emb.<mode>.output`, whose batch (2 or 1) says whether CFG
 * is on, fed with `encode_prompt_image_emb.<mode>.input` or, when a mode has no
 * input of its own, the one input the helper's cases share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "io/json.h"
#include "models/resampler.h"

#define STAGE "resampler"

static const char HELPER[] = "encode_prompt_image_emb.";

static float *read_f32(const iid_st_tensor_t *t)
{
    size_t n = (size_t)iid__st_numel(t);
    float *x = malloc((n ? n : 1) * sizeof *x);
    iid_error_t err;
    if (x && iid__st_read_f32(t, x, &err) != IID_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static void tokens_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    const iid_resampler_t *r = user;
    if (strncmp(kase, HELPER, sizeof HELPER - 1) == 0) return;
    char name[512];
    snprintf(name, sizeof name, "%s.input", kase);
    const iid_st_tensor_t *in = conf_in(c, st, name);
    if (!in || in->ndim != 3 || in->shape[2] != r->embedding_dim) {
        conf_fail(c, STAGE, kase, "input", "'%s' missing or not (B, N, %d)", name, r->embedding_dim);
        return;
    }
    int B = (int)in->shape[0];
    float *x = read_f32(in);
    size_t n = (size_t)B * r->num_queries * r->output_dim;
    float *out = malloc(n * sizeof *out);
    iid_tensor_t xt = iid__tensor_wrap(NULL, x, 3, in->shape);
    iid_tensor_t ot = iid__tensor_wrap(NULL, out, 3, (int64_t[]){B, r->num_queries, r->output_dim});
    iid_error_t err;
    iid_error_clear(&err);
    if (!x || !out) conf_fail(c, STAGE, kase, "tokens", "out of memory");
    else if (iid__resampler_forward(r, &xt, &ot, &err) != IID_OK) conf_fail(c, STAGE, kase, "tokens", "%s", err.msg);
    else {
        snprintf(name, sizeof name, "%s.tokens", kase);
        conf_check_f32(c, STAGE, kase, "tokens", out, n, iid__st_find(st, name), CONF_TOL_MODEL);
    }
    free(x), free(out);
}

/* The helper's input for a mode: its own, else the only helper input there is. */
static const iid_st_tensor_t *helper_input(const iid_safetensors_t *st, const char *kase)
{
    char name[512];
    snprintf(name, sizeof name, "%s.input", kase);
    const iid_st_tensor_t *t = iid__st_find(st, name), *only = NULL;
    if (t) return t;
    int count = 0;
    for (int i = 0; i < st->count; i++) {
        const char *nm = st->tensors[i].name;
        size_t l = strlen(nm);
        if (strncmp(nm, HELPER, sizeof HELPER - 1) == 0 && l > 6 && strcmp(nm + l - 6, ".input") == 0) {
            only = &st->tensors[i];
            count++;
        }
    }
    return count == 1 ? only : NULL;
}

static void helper_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    const iid_resampler_t *r = user;
    if (strncmp(kase, HELPER, sizeof HELPER - 1) != 0) return;
    char name[512];
    snprintf(name, sizeof name, "%s.output", kase);
    const iid_st_tensor_t *ref = iid__st_find(st, name), *in = helper_input(st, kase);
    conf_used(c, in);
    if (!in) {
        conf_fail(c, STAGE, kase, "output", "no input tensor for this case");
        return;
    }
    if (!ref || ref->ndim != 3 || (ref->shape[0] != 1 && ref->shape[0] != 2)) {
        conf_fail(c, STAGE, kase, "output", "'%s' is not (1 or 2, Q, O)", name);
        return;
    }
    int cfg = ref->shape[0] == 2;
    float *x = read_f32(in);
    size_t n = (size_t)(cfg ? 2 : 1) * r->num_queries * r->output_dim;
    float *out = malloc(n * sizeof *out);
    iid_tensor_t ot = iid__tensor_wrap(NULL, out, 3, ref->shape);
    iid_error_t err;
    iid_error_clear(&err);
    if (!x || !out) conf_fail(c, STAGE, kase, "output", "out of memory");
    else if (iid__encode_prompt_image_emb(r, x, (int)iid__st_numel(in), cfg, &ot, &err) != IID_OK)
        conf_fail(c, STAGE, kase, "output", "%s", err.msg);
    else conf_check_f32(c, STAGE, kase, "output", out, n, ref, CONF_TOL_MODEL);
    free(x), free(out);
}

void stage_resampler(conf_ctx_t *c)
{
    int heads;
    if (conf_resampler_heads(c, STAGE, &heads) != 0) return;
    char path[4096];
    iid_error_t err;
    iid_error_clear(&err);
    iid_safetensors_t model;
    if (iid__st_open(&model, conf_path(c, "models/ip-adapter.safetensors", path, sizeof path), &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        return;
    }
    iid_resampler_t r;
    iid_status s = iid__resampler_load(&r, &model, "image_proj.", heads, &err);
    iid__st_close(&model);
    if (s != IID_OK) {
        conf_fail(c, STAGE, "-", "-", "%s", err.msg);
        return;
    }
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "resampler.safetensors", &st) == 0) {
        conf_for_each_case(c, &st, ".tokens", tokens_case, &r);
        conf_for_each_case(c, &st, ".output", helper_case, &r);
        conf_close(c, &st);
    }
    iid__resampler_free(&r);
}
