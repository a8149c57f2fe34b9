/*
 * stage_resize_img.c - conformance stage 'resize_img' (kit README section j).
 *
 * Every entry of golden/resize_img.json: the input size and the keyword arguments
 * (max_side, min_side, base_pixel_number, pad_to_max_side, size) go through
 * iid__resize_img_plan(); the output size, or the error, and the exact sequence
 * of PIL resize calls must match. Each case is compared as one integer vector
 * [failed, out_w, out_h, n_calls, call0_w, call0_h, call1_w, call1_h].
 */
#include <stdio.h>
#include <string.h>

#include "conformance.h"
#include "io/json.h"
#include "pipeline/resize.h"

#define STAGE "resize_img"
#define VEC 8

static int get_int(const cJSON *obj, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) return 0;
    *out = (int)v->valuedouble;
    return 1;
}

static void run_case(conf_ctx_t *c, int index, const cJSON *kase)
{
    char name[64];
    int in_w = 0, in_h = 0;
    snprintf(name, sizeof name, "case%d", index);
    if (!get_int(kase, "input_w", &in_w) || !get_int(kase, "input_h", &in_h)) {
        conf_fail(c, STAGE, name, "-", "input_w/input_h missing");
        return;
    }
    snprintf(name, sizeof name, "case%d_%dx%d", index, in_w, in_h);
    iid_resize_opts_t o;
    iid__resize_opts_init(&o);
    const cJSON *kw = cJSON_GetObjectItemCaseSensitive(kase, "kwargs"), *item;
    cJSON_ArrayForEach(item, kw)
    {
        if (strcmp(item->string, "max_side") == 0) o.max_side = (int)item->valuedouble;
        else if (strcmp(item->string, "min_side") == 0) o.min_side = (int)item->valuedouble;
        else if (strcmp(item->string, "base_pixel_number") == 0) o.base_pixel_number = (int)item->valuedouble;
        else if (strcmp(item->string, "pad_to_max_side") == 0) o.pad_to_max_side = cJSON_IsTrue(item);
        else if (strcmp(item->string, "size") == 0 && cJSON_GetArraySize(item) == 2) {
            o.size_w = (int)cJSON_GetArrayItem(item, 0)->valuedouble;
            o.size_h = (int)cJSON_GetArrayItem(item, 1)->valuedouble;
        } else {
            conf_fail(c, STAGE, name, "kwargs", "unknown keyword argument '%s'", item->string);
            return;
        }
    }
    int64_t want[VEC] = {0}, got[VEC] = {0};
    want[0] = cJSON_GetObjectItemCaseSensitive(kase, "error") != NULL;
    int v;
    if (get_int(kase, "output_w", &v)) want[1] = v;
    if (get_int(kase, "output_h", &v)) want[2] = v;
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(kase, "resize_calls_wh");
    want[3] = cJSON_GetArraySize(calls);
    if (want[3] > 2) {
        conf_fail(c, STAGE, name, "resize_calls_wh", "more than two resize calls");
        return;
    }
    for (int i = 0; i < want[3]; i++) {
        const cJSON *call = cJSON_GetArrayItem(calls, i);
        want[4 + 2 * i] = (int64_t)cJSON_GetArrayItem(call, 0)->valuedouble;
        want[5 + 2 * i] = (int64_t)cJSON_GetArrayItem(call, 1)->valuedouble;
    }
    iid_resize_plan_t plan;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status st = iid__resize_img_plan(in_w, in_h, &o, &plan, &err);
    got[0] = st != IID_OK;
    got[1] = st == IID_OK ? plan.out_w : 0;
    got[2] = st == IID_OK ? plan.out_h : 0;
    got[3] = plan.n_calls;
    for (int i = 0; i < plan.n_calls; i++) {
        got[4 + 2 * i] = plan.calls_wh[i][0];
        got[5 + 2 * i] = plan.calls_wh[i][1];
    }
    iid_st_tensor_t ref = {.name = name, .dtype = IID_DTYPE_I64, .ndim = 1, .shape = {VEC}, .data = want,
                           .nbytes = sizeof want};
    if (!conf_check_int(c, STAGE, name, "size_and_calls", got, VEC, &ref) && got[0])
        printf("  our error: %s\n", err.msg);
}

void stage_resize_img(conf_ctx_t *c)
{
    iid_json_t j;
    iid_error_t err;
    iid_error_clear(&err);
    if (conf_load_json(c, "golden/resize_img.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        return;
    }
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(j.root, "cases"), *kase;
    int index = 0;
    cJSON_ArrayForEach(kase, cases) run_case(c, index++, kase);
    if (index == 0) conf_fail(c, STAGE, "-", "-", "no cases in resize_img.json");
    iid__json_free(&j);
}
