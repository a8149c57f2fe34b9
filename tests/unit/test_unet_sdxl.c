/*
 * test_unet_sdxl.c - UNet / ControlNet loading and the IP-Adapter mapping:
 * errors that name the file and the tensor or field (a missing conv_in.weight,
 * a wrong shape, a missing config field, a missing IP layer), and the processor
 * index n of every attn2 computed from the config against the kit's
 * golden/ip_adapter_layout.json. Uses the conformance kit's tiny models (skips
 * when ../shared is absent).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "models/controlnet.h"
#include "models/unet_sdxl.h"
#include "support.h"

/* Write a copy of src to path without tensor `drop` and with tensor `reshape`
 * (if any) given `shape` (same element count). */
static void rewrite_st(const iid_safetensors_t *src, const char *path, const char *drop, const char *reshape,
                       const int64_t *shape, int ndim)
{
    cJSON *hdr = cJSON_CreateObject();
    size_t total = 0;
    for (int i = 0; i < src->count; i++) total += src->tensors[i].nbytes;
    unsigned char *data = malloc(total ? total : 1);
    assert_non_null(data);
    size_t off = 0;
    for (int i = 0; i < src->count; i++) {
        const iid_st_tensor_t *t = &src->tensors[i];
        if (drop && strcmp(t->name, drop) == 0) continue;
        cJSON *e = cJSON_AddObjectToObject(hdr, t->name);
        cJSON_AddStringToObject(e, "dtype", iid__dtype_name(t->dtype));
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        int use = reshape && strcmp(t->name, reshape) == 0;
        for (int d = 0; d < (use ? ndim : t->ndim); d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)(use ? shape[d] : t->shape[d])));
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + t->nbytes)));
        memcpy(data + off, t->data, t->nbytes);
        off += t->nbytes;
    }
    char *json = cJSON_PrintUnformatted(hdr);
    size_t hl = strlen(json);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(((uint64_t)hl >> (8 * i)) & 0xff);
    fwrite(len, 1, 8, f);
    fwrite(json, 1, hl, f);
    fwrite(data, 1, off, f);
    fclose(f);
    free(json);
    free(data);
    cJSON_Delete(hdr);
}

/* dir/config.json = the kit's UNet config, without `drop_field` when given. */
static void write_config(const char *dir, const char *drop_field)
{
    iid_json_t j;
    assert_int_equal(iid__json_load(&j, iid_test_shared_path("conformance/models/sdxl/unet/config.json"), NULL), IID_OK);
    if (drop_field) cJSON_DeleteItemFromObjectCaseSensitive(j.root, drop_field);
    char *text = cJSON_Print(j.root);
    free(iid_test_write(dir, "config.json", text, strlen(text)));
    free(text);
    iid__json_free(&j);
}

/* Load a UNet from a temp folder holding a modified checkpoint; returns the error. */
static iid_status load_modified(const char *drop, const char *reshape, const int64_t *shape, int ndim,
                                const char *drop_field, iid_error_t *err)
{
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, iid_test_shared_path("conformance/models/sdxl/unet/diffusion_pytorch_model.safetensors"),
                                  NULL),
                     IID_OK);
    char *dir = iid_test_tempdir();
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    rewrite_st(&st, path, drop, reshape, shape, ndim);
    iid__st_close(&st);
    write_config(dir, drop_field);
    iid_unet_t *u = NULL;
    iid_error_clear(err);
    iid_status s = iid__unet_load(&u, dir, err);
    iid__unet_free(u);
    iid_test_rmtree(dir);
    free(dir);
    return s;
}

static void test_loads_kit_unet(void **state)
{
    (void)state;
    iid_error_t err;
    iid_unet_t *u = NULL;
    assert_int_equal(load_modified(NULL, NULL, NULL, 0, NULL, &err), IID_OK);
    assert_int_equal(iid__unet_load(&u, iid_test_shared_path("conformance/models/sdxl/unet"), &err), IID_OK);
    assert_int_equal(u->trunk.cfg.n_blocks, 3);
    assert_int_equal(iid__unet_n_skips(&u->trunk.cfg), 9);
    iid__unet_free(u);
    iid__unet_free(NULL);
    iid__controlnet_free(NULL);
}

static void test_missing_tensor_is_named(void **state)
{
    (void)state;
    iid_error_t err;
    assert_int_equal(load_modified("conv_in.weight", NULL, NULL, 0, NULL, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "diffusion_pytorch_model.safetensors"));
    assert_non_null(strstr(err.msg, "'conv_in.weight'"));
    assert_non_null(strstr(err.msg, "missing"));
    /* deep in the tree: a transformer block's GEGLU projection */
    const char *deep = "up_blocks.0.attentions.2.transformer_blocks.1.ff.net.0.proj.weight";
    assert_int_equal(load_modified(deep, NULL, NULL, 0, NULL, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, deep));
}

static void test_wrong_shape_is_named(void **state)
{
    (void)state;
    iid_error_t err;
    int64_t shape[4] = {32, 4, 9, 1}; /* conv_in.weight is (32, 4, 3, 3) in the kit */
    assert_int_equal(load_modified(NULL, "conv_in.weight", shape, 4, NULL, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "'conv_in.weight'"));
    assert_non_null(strstr(err.msg, "[32, 4, 9, 1]"));
    assert_non_null(strstr(err.msg, "[32, 4, 3, 3]"));
    /* a resnet whose input width disagrees with the up path's concat */
    int64_t n1[1] = {64};
    assert_int_equal(load_modified(NULL, "up_blocks.0.resnets.2.norm1.weight", n1, 1, NULL, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "up_blocks.0.resnets.2.norm1.weight"));
}

static void test_config_field_is_named(void **state)
{
    (void)state;
    iid_error_t err;
    assert_int_equal(load_modified(NULL, NULL, NULL, 0, "block_out_channels", &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "config.json"));
    assert_non_null(strstr(err.msg, "'block_out_channels'"));
}

/* Load the kit's UNet config with n (field, JSON value) edits applied. */
static iid_status load_edited(const char *const (*edits)[2], int n, iid_error_t *err)
{
    iid_json_t j;
    assert_int_equal(iid__json_load(&j, iid_test_shared_path("conformance/models/sdxl/unet/config.json"), NULL), IID_OK);
    for (int e = 0; e < n; e++) {
        cJSON_DeleteItemFromObjectCaseSensitive(j.root, edits[e][0]);
        cJSON_AddItemToObject(j.root, edits[e][0], cJSON_Parse(edits[e][1]));
    }
    char *text = cJSON_Print(j.root);
    iid__json_free(&j);
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "config.json", text, strlen(text));
    iid_unet_config_t cfg;
    iid_status st = iid__unet_config_load(&cfg, path, err);
    free(path);
    free(text);
    iid_test_rmtree(dir);
    free(dir);
    return st;
}

/* Config values the implementation does not model are refused by name. */
static void test_unsupported_config_values(void **state)
{
    (void)state;
    const char *const edits[][2] = {{"class_embed_type", "\"timestep\""}, {"conv_in_kernel", "7"},
                                    {"act_fn", "\"gelu\""}, {"down_block_types", "[\"DownBlock2D\", \"AttnDownBlock2D\", \"DownBlock2D\"]"}};
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        iid_error_t err;
        assert_int_equal(load_edited(&edits[e], 1, &err), IID_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "config.json"));
        assert_non_null(strstr(err.msg, edits[e][0]));
    }
}

/* A per-block list whose length is not the number of down blocks is refused, as
 * diffusers' _check_config refuses it (attention_head_dim even when
 * num_attention_heads is what gives the heads); a plain number is broadcast. */
static void test_block_list_lengths(void **state)
{
    (void)state;
    const char *const one[][2] = {{"attention_head_dim", "[2]"}};
    const char *const unused[][2] = {{"num_attention_heads", "[2, 2, 4]"}, {"attention_head_dim", "[2, 2]"}};
    const char *const layers[][2] = {{"transformer_layers_per_block", "[1]"}};
    const char *const (*bad[])[2] = {one, unused, layers};
    const int nbad[] = {1, 2, 1};
    for (int k = 0; k < 3; k++) {
        iid_error_t err;
        assert_int_equal(load_edited(bad[k], nbad[k], &err), IID_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "config.json"));
        assert_non_null(strstr(err.msg, bad[k][nbad[k] - 1][0]));
        assert_non_null(strstr(err.msg, "3 down blocks"));
    }
    const char *const scalar[][2] = {{"attention_head_dim", "2"}};
    iid_error_t err;
    assert_int_equal(load_edited(scalar, 1, &err), IID_OK);
}

/* The processor index of every attn2, from the config, against the kit's layout. */
static void test_ip_layout_matches_kit(void **state)
{
    (void)state;
    iid_unet_config_t cfg;
    assert_int_equal(iid__unet_config_load(&cfg, iid_test_shared_path("conformance/models/sdxl/unet/config.json"), NULL),
                     IID_OK);
    int n = iid__unet_ip_layout(&cfg, NULL, 0);
    iid_ip_slot_t *slots = malloc((size_t)n * sizeof *slots);
    assert_int_equal(iid__unet_ip_layout(&cfg, slots, n), n);
    iid_json_t j;
    assert_int_equal(iid__json_load(&j, iid_test_shared_path("conformance/golden/ip_adapter_layout.json"), NULL), IID_OK);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j.root, "ip_layers");
    assert_true(cJSON_IsArray(layers));
    assert_int_equal(cJSON_GetArraySize(layers), n);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, layers)
    {
        char name[256];
        iid__unet_ip_slot_name(&slots[i], name, sizeof name);
        assert_int_equal(slots[i].index, cJSON_GetObjectItem(e, "index")->valueint);
        assert_int_equal(slots[i].index % 2, 1);
        assert_string_equal(name, cJSON_GetObjectItem(e, "processor")->valuestring);
        assert_int_equal(slots[i].hidden, cJSON_GetObjectItem(e, "hidden_size")->valueint);
        assert_int_equal(slots[i].cross, cJSON_GetObjectItem(e, "cross_attention_dim")->valueint);
        i++;
    }
    iid__json_free(&j);
    free(slots);
}

static void test_ip_load_errors(void **state)
{
    (void)state;
    iid_unet_t *u = NULL;
    iid_error_t err;
    assert_int_equal(iid__unet_load(&u, iid_test_shared_path("conformance/models/sdxl/unet"), &err), IID_OK);
    iid_safetensors_t ip;
    assert_int_equal(iid__st_open(&ip, iid_test_shared_path("conformance/models/ip-adapter.safetensors"), NULL), IID_OK);
    char *dir = iid_test_tempdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/ip.safetensors", dir);
    rewrite_st(&ip, path, "ip_adapter.5.to_v_ip.weight", NULL, NULL, 0);
    iid_safetensors_t bad;
    assert_int_equal(iid__st_open(&bad, path, NULL), IID_OK);
    assert_int_equal(iid__unet_load_ip(u, &bad, "ip_adapter.", &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ip_adapter.5.to_v_ip.weight"));
    assert_int_equal(u->has_ip, 0);
    iid__st_close(&bad);
    assert_int_equal(iid__unet_load_ip(u, &ip, "ip_adapter.", &err), IID_OK);
    assert_int_equal(u->has_ip, 1);
    iid__st_close(&ip);
    iid_test_rmtree(dir);
    free(dir);
    iid__unet_free(u);
}

static void test_controlnet_missing_tensor(void **state)
{
    (void)state;
    iid_safetensors_t st;
    const char *kit = "conformance/models/ControlNetModel";
    char src[4096];
    snprintf(src, sizeof src, "%s/diffusion_pytorch_model.safetensors", iid_test_shared_path(kit));
    assert_int_equal(iid__st_open(&st, src, NULL), IID_OK);
    char *dir = iid_test_tempdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    rewrite_st(&st, path, "controlnet_down_blocks.4.weight", NULL, NULL, 0);
    iid__st_close(&st);
    char *cfg = NULL;
    size_t len = 0;
    snprintf(src, sizeof src, "%s/config.json", iid_test_shared_path(kit));
    assert_int_equal(iid__file_read_all(src, 1 << 20, &cfg, &len, NULL), IID_OK);
    free(iid_test_write(dir, "config.json", cfg, len));
    free(cfg);
    iid_controlnet_t *cn = NULL;
    iid_error_t err;
    assert_int_equal(iid__controlnet_load(&cn, dir, &err), IID_ERR_NOT_FOUND);
    assert_null(cn);
    assert_non_null(strstr(err.msg, "'controlnet_down_blocks.4.weight'"));
    iid_test_rmtree(dir);
    free(dir);
}

/* A float copy of a golden tensor. */
static float *golden(const iid_safetensors_t *st, const char *name, const iid_st_tensor_t **t)
{
    *t = iid__st_find(st, name);
    assert_non_null(*t);
    float *buf = malloc((size_t)iid__st_numel(*t) * sizeof *buf);
    assert_non_null(buf);
    assert_int_equal(iid__st_read_f32(*t, buf, NULL), IID_OK);
    return buf;
}

/* A golden tensor as an f32 host tensor (be NULL) that owns its copy. */
static iid_tensor_t golden_t(const iid_safetensors_t *st, const char *name)
{
    const iid_st_tensor_t *t;
    float *d = golden(st, name, &t);
    iid_tensor_t x = iid__tensor_wrap(NULL, d, t->ndim, t->shape);
    x.owns = true;
    return x;
}

/* The region-mask hook against the reference: step 0 of the kit's masked
 * pipeline_full run (IP output times the control mask resized per layer). */
static void test_ip_region_mask_matches_pipeline(void **state)
{
    (void)state;
    iid_safetensors_t g;
    const char *file = "conformance/golden/pipeline_full_h64_w64_snow_mask.safetensors";
    if (iid__st_open(&g, iid_test_shared_path(file), NULL) != IID_OK) iid_test_skip("cannot open %s", file);
    iid_json_t j;
    assert_int_equal(iid__json_load(&j, iid_test_shared_path("conformance/golden/pipeline_full.json"), NULL), IID_OK);
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(j.root, "pipeline_full_h64_w64_snow_mask");
    assert_non_null(run);
    float ip_scale = (float)cJSON_GetObjectItem(run, "ip_scale")->valuedouble;
    iid__json_free(&j);
    iid_unet_t *u = NULL;
    iid_safetensors_t ip;
    assert_int_equal(iid__unet_load(&u, iid_test_shared_path("conformance/models/sdxl/unet"), NULL), IID_OK);
    assert_int_equal(iid__st_open(&ip, iid_test_shared_path("conformance/models/ip-adapter.safetensors"), NULL), IID_OK);
    assert_int_equal(iid__unet_load_ip(u, &ip, "ip_adapter.", NULL), IID_OK);
    const iid_st_tensor_t *lat = iid__st_find(&ip, "image_proj.latents");
    const iid_st_tensor_t *tstep, *tout;
    iid_tensor_t sample = golden_t(&g, "step0.latent_model_input"), ctx = golden_t(&g, "cond.unet_encoder_hidden_states");
    iid_tensor_t text = golden_t(&g, "cond.text_embeds"), ids = golden_t(&g, "cond.time_ids");
    float *step = golden(&g, "step0.timestep", &tstep), *want = golden(&g, "step0.unet_out", &tout);
    iid_residuals_t res = {.n_down = iid__unet_n_skips(&u->trunk.cfg)};
    for (int i = 0; i <= res.n_down; i++) {
        char name[64];
        if (i < res.n_down) snprintf(name, sizeof name, "step0.unet_down_residual%d", i);
        else snprintf(name, sizeof name, "step0.unet_mid_residual");
        *(i < res.n_down ? &res.down[i] : &res.mid) = golden_t(&g, name); /* host maps */
    }
    const iid_st_tensor_t *tm = iid__st_find(&g, "input.control_mask"); /* (H, W, 3) uint8 */
    assert_non_null(tm);
    int MH = (int)tm->shape[0], MW = (int)tm->shape[1];
    float *mask = malloc((size_t)MH * MW * sizeof *mask);
    for (int p = 0; p < MH * MW; p++) mask[p] = (float)((const uint8_t *)tm->data)[(size_t)p * tm->shape[2]] / 255.0f;
    iid_unet_inputs_t in;
    iid__unet_inputs_init(&in);
    in.sample = sample;
    in.cond = (iid_unet_cond_t){step[0], ctx, text, ids, NULL};
    in.residuals = &res;
    in.ip = (iid_ip_args_t){(int)lat->shape[1], ip_scale, iid__tensor_wrap(NULL, mask, 2, (int64_t[]){MH, MW})};
    size_t n = (size_t)iid__st_numel(tout);
    float *out = malloc(n * sizeof *out);
    iid_tensor_t out_t = iid__tensor_wrap(NULL, out, tout->ndim, tout->shape);
    iid_error_t err;
    assert_int_equal(iid__unet_forward(u, &in, &out_t, &err), IID_OK);
    float max_ref = 0;
    for (size_t i = 0; i < n; i++) max_ref = fmaxf(max_ref, fabsf(want[i]));
    float d_mask = iid_test_max_abs_diff(out, want, n);
    /* The cross-attentions' keys and values kept across calls, as across steps,
     * change no bit; a call with another context makes its own entries. */
    float *first = malloc(n * sizeof *first), *other = malloc(n * sizeof *other);
    assert_non_null(first);
    assert_non_null(other);
    memcpy(first, out, n * sizeof *out);
    iid_kv_cache_t kv;
    iid__kv_cache_init(&kv, u->trunk.be);
    in.cond.kv = &kv;
    int entries = 0;
    for (int r = 0; r < 2; r++) {
        assert_int_equal(iid__unet_forward(u, &in, &out_t, &err), IID_OK);
        assert_memory_equal(out, first, n * sizeof *out);
        if (r == 0) entries = kv.n;
        assert_int_equal(kv.n, entries);
    }
    int with_ip = 0;
    for (int e = 0; e < kv.n; e++) with_ip += kv.e[e].k_ip != NULL;
    assert_true(entries > 0 && with_ip == entries); /* every cross-attention of the UNet has IP weights */
    size_t nctx = (size_t)iid__tensor_numel(&ctx);
    float *ctx2 = malloc(nctx * sizeof *ctx2);
    assert_non_null(ctx2);
    for (size_t i = 0; i < nctx; i++) ctx2[i] = 0.5f * iid__tensor_f32(&ctx)[i];
    in.cond.context = iid__tensor_wrap(NULL, ctx2, ctx.ndim, ctx.shape);
    assert_int_equal(iid__unet_forward(u, &in, &out_t, &err), IID_OK);
    assert_int_equal(kv.n, 2 * entries);
    memcpy(other, out, n * sizeof *out);
    in.cond.kv = NULL;
    assert_int_equal(iid__unet_forward(u, &in, &out_t, &err), IID_OK);
    assert_memory_equal(out, other, n * sizeof *out);
    assert_true(iid_test_max_abs_diff(other, first, n) > 0.0f);
    in.cond.context = ctx;
    iid__kv_cache_free(&kv);
    free(first), free(other), free(ctx2);
    in.ip.mask = (iid_tensor_t){0};
    assert_int_equal(iid__unet_forward(u, &in, &out_t, &err), IID_OK);
    float d_nomask = iid_test_max_abs_diff(out, want, n);
    print_message("unet_out with mask: max err %.3g, without: %.3g (max |ref| %.3g)\n", d_mask, d_nomask, max_ref);
    assert_true(d_mask <= 1e-4f * max_ref);
    assert_true(d_nomask > 1e-3f * max_ref);
    iid__residuals_free(&res);
    iid__tensor_release(&sample), iid__tensor_release(&ctx), iid__tensor_release(&text), iid__tensor_release(&ids);
    free(step), free(want), free(mask), free(out);
    iid__st_close(&ip);
    iid__st_close(&g);
    iid__unet_free(u);
}

/* The ControlNet residual mask against the reference: the masked pipeline_full
 * run's controlnet_down<i> / controlnet_mid become unet_down_residual<i> /
 * unet_mid_residual. */
static void test_residual_mask_matches_pipeline(void **state)
{
    (void)state;
    iid_safetensors_t g;
    const char *file = "conformance/golden/pipeline_full_h64_w64_snow_mask.safetensors";
    if (iid__st_open(&g, iid_test_shared_path(file), NULL) != IID_OK) iid_test_skip("cannot open %s", file);
    const iid_st_tensor_t *tm = iid__st_find(&g, "input.control_mask"), *t;
    assert_non_null(tm);
    int MH = (int)tm->shape[0], MW = (int)tm->shape[1];
    float *mask = malloc((size_t)MH * MW * sizeof *mask);
    for (int p = 0; p < MH * MW; p++) mask[p] = (float)((const uint8_t *)tm->data)[(size_t)p * tm->shape[2]] / 255.0f;
    int n = 0;
    while (1) {
        char name[64];
        snprintf(name, sizeof name, "step0.controlnet_down%d", n);
        if (!iid__st_find(&g, name)) break;
        n++;
    }
    assert_true(n > 0);
    assert_true(n <= IID_UNET_MAX_SKIPS);
    iid_residuals_t res = {.n_down = n};
    for (int i = 0; i <= n; i++) {
        char name[64];
        if (i < n) snprintf(name, sizeof name, "step0.controlnet_down%d", i);
        else snprintf(name, sizeof name, "step0.controlnet_mid");
        *(i < n ? &res.down[i] : &res.mid) = golden_t(&g, name); /* host maps */
    }
    iid_tensor_t mask_t = iid__tensor_wrap(NULL, mask, 2, (int64_t[]){MH, MW});
    assert_int_equal(iid__residuals_apply_mask(&res, &mask_t, NULL), IID_OK);
    for (int i = 0; i <= n; i++) {
        char name[64];
        if (i < n) snprintf(name, sizeof name, "step0.unet_down_residual%d", i);
        else snprintf(name, sizeof name, "step0.unet_mid_residual");
        float *want = golden(&g, name, &t);
        const iid_tensor_t *f = i < n ? &res.down[i] : &res.mid;
        size_t cnt = (size_t)iid__tensor_numel(f);
        assert_int_equal(cnt, (size_t)iid__st_numel(t));
        float max_ref = 0;
        for (size_t q = 0; q < cnt; q++) max_ref = fmaxf(max_ref, fabsf(want[q]));
        assert_true(iid_test_max_abs_diff(f->data, want, cnt) <= 1e-5f * max_ref);
        free(want);
    }
    iid__residuals_free(&res);
    free(mask);
    iid__st_close(&g);
}

int main(void)
{
    iid_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_kit_unet),          cmocka_unit_test(test_missing_tensor_is_named),
        cmocka_unit_test(test_wrong_shape_is_named),    cmocka_unit_test(test_config_field_is_named),
        cmocka_unit_test(test_unsupported_config_values), cmocka_unit_test(test_block_list_lengths),
        cmocka_unit_test(test_ip_layout_matches_kit),   cmocka_unit_test(test_ip_load_errors),
        cmocka_unit_test(test_controlnet_missing_tensor), cmocka_unit_test(test_ip_region_mask_matches_pipeline),
        cmocka_unit_test(test_residual_mask_matches_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
