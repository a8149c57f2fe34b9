/*
 * test_weights_dtype.c - weights kept in their stored dtype.
 *
 * The kit's UNet and VAE are rewritten three ways into a temp folder: every float
 * tensor as F16; as its "F32 twin" (the same F16 values widened back to F32) in a
 * file whose data section starts at an odd offset, so every F32 tensor is
 * unaligned and must be copied rather than viewed in place; and as BF16. Then:
 *  - the F16 checkpoint and its F32 twin give the same outputs up to float
 *    summation order (the weights are the same numbers, widened block by block
 *    from the map in one case, copied at load in the other);
 *  - the F16 checkpoint and the kit's original F32 one agree within what f16
 *    rounding of the weights explains (and do differ, so the F16 path ran);
 *  - BF16 loads and agrees within bf16 rounding.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/half.h"
#include "io/file.h"
#include "models/unet_sdxl.h"
#include "models/vae_decoder.h"
#include "support.h"

typedef enum { AS_F16, AS_F32_TWIN, AS_BF16 } wmode_t;

/* Write src to path with every F32 tensor converted per mode; with unalign the
 * header is padded with spaces so the data section starts at an odd offset. */
static void write_converted(const iid_safetensors_t *src, const char *path, wmode_t mode, int unalign)
{
    cJSON *hdr = cJSON_CreateObject();
    size_t total = 0;
    for (int i = 0; i < src->count; i++) total += src->tensors[i].nbytes;
    unsigned char *data = malloc(total ? total : 1);
    assert_non_null(data);
    size_t off = 0;
    for (int i = 0; i < src->count; i++) {
        const iid_st_tensor_t *t = &src->tensors[i];
        size_t n = (size_t)iid__st_numel(t), nb = t->nbytes;
        const char *dt = iid__dtype_name(t->dtype);
        if (t->dtype == IID_DTYPE_F32) {
            for (size_t k = 0; k < n; k++) {
                float v;
                memcpy(&v, (const unsigned char *)t->data + 4 * k, 4);
                uint16_t h = mode == AS_BF16 ? iid__f32_to_bf16(v) : iid__f32_to_f16(v);
                if (mode == AS_F32_TWIN) {
                    float w = iid__f16_to_f32(h);
                    memcpy(data + off + 4 * k, &w, 4);
                } else {
                    memcpy(data + off + 2 * k, &h, 2);
                }
            }
            if (mode != AS_F32_TWIN) {
                nb = 2 * n;
                dt = mode == AS_BF16 ? "BF16" : "F16";
            }
        } else {
            memcpy(data + off, t->data, nb);
        }
        cJSON *e = cJSON_AddObjectToObject(hdr, t->name);
        cJSON_AddStringToObject(e, "dtype", dt);
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + nb)));
        off += nb;
    }
    char *json = cJSON_PrintUnformatted(hdr);
    size_t hl = strlen(json), pad = 0;
    while ((8 + hl + pad) % 8 != (unalign ? 1u : 0u)) pad++;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(((uint64_t)(hl + pad) >> (8 * i)) & 0xff);
    fwrite(len, 1, 8, f);
    fwrite(json, 1, hl, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fwrite(data, 1, off, f);
    fclose(f);
    free(json);
    free(data);
    cJSON_Delete(hdr);
}

/* dir/<sub>/{config.json, diffusion_pytorch_model.safetensors} from the kit's
 * models/sdxl/<sub> converted per mode; returns the malloc'd folder. */
static char *make_model(const char *dir, const char *sub, const char *tag, wmode_t mode, int unalign)
{
    char src[4096], path[4096];
    snprintf(src, sizeof src, "conformance/models/sdxl/%s/config.json", sub);
    iid_mapped_file_t cfg;
    assert_int_equal(iid__file_map(&cfg, iid_test_shared_path(src), NULL), IID_OK);
    char *folder = malloc(4096);
    assert_non_null(folder);
    snprintf(folder, 4096, "%s/%s-%s", dir, sub, tag);
    assert_int_equal(mkdir(folder, 0755), 0);
    free(iid_test_write(folder, "config.json", cfg.data, cfg.size));
    iid__file_unmap(&cfg);
    snprintf(src, sizeof src, "conformance/models/sdxl/%s/diffusion_pytorch_model.safetensors", sub);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, iid_test_shared_path(src), NULL), IID_OK);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", folder);
    write_converted(&st, path, mode, unalign);
    iid__st_close(&st);
    return folder;
}

static float max_abs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* One UNet forward (batch 2, 8x8 latents, random conditioning) from folder. */
static float *unet_run(const char *folder, int copied, size_t *n_out)
{
    iid_unet_t *u = NULL;
    iid_error_t err;
    if (iid__unet_load(&u, folder, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(u->trunk.conv_in.w.owned != NULL, copied); /* a view unless unaligned */
    const iid_unet_config_t *c = &u->trunk.cfg;
    int B = 2, h = 8, w = 8, T = 7, te = c->add_in_dim - 6 * c->add_time_dim;
    float *x = malloc((size_t)B * c->in_channels * h * w * sizeof *x);
    float *ctx = malloc((size_t)B * T * c->cross_dim * sizeof *ctx);
    float *text = malloc((size_t)B * te * sizeof *text);
    float ids[12] = {64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64};
    iid_test_fill_random(x, (size_t)B * c->in_channels * h * w, 1);
    iid_test_fill_random(ctx, (size_t)B * T * c->cross_dim, 2);
    iid_test_fill_random(text, (size_t)B * te, 3);
    iid_unet_inputs_t in;
    iid__unet_inputs_init(&in);
    in.sample = iid__tensor_wrap(NULL, x, 4, (int64_t[]){B, c->in_channels, h, w});
    in.cond = (iid_unet_cond_t){501.0f, iid__tensor_wrap(NULL, ctx, 3, (int64_t[]){B, T, c->cross_dim}),
                                iid__tensor_wrap(NULL, text, 2, (int64_t[]){B, te}),
                                iid__tensor_wrap(NULL, ids, 2, (int64_t[]){B, 6}), NULL};
    *n_out = (size_t)B * c->out_channels * h * w;
    float *out = malloc(*n_out * sizeof *out);
    iid_tensor_t out_t = iid__tensor_wrap(NULL, out, 4, (int64_t[]){B, c->out_channels, h, w});
    if (iid__unet_forward(u, &in, &out_t, &err) != IID_OK) fail_msg("%s", err.msg);
    free(x), free(ctx), free(text);
    iid__unet_free(u);
    return out;
}

/* One VAE decode of a random 4x4 latent from folder. */
static float *vae_run(const char *folder, int copied, size_t *n_out)
{
    iid_vae_decoder_t *v = NULL;
    iid_error_t err;
    if (iid__vae_load(&v, folder, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(v->conv_out.w.owned != NULL, copied);
    int h = 4, w = 4;
    size_t nz = (size_t)v->latent_channels * h * w;
    float *z = malloc(nz * sizeof *z);
    iid_test_fill_random(z, nz, 4);
    *n_out = (size_t)v->out_channels * h * v->upscale * w * v->upscale;
    float *out = malloc(*n_out * sizeof *out);
    iid_tensor_t zt = iid__tensor_wrap(NULL, z, 4, (int64_t[]){1, v->latent_channels, h, w});
    iid_tensor_t ot = iid__tensor_wrap(NULL, out, 4, (int64_t[]){1, v->out_channels, h * v->upscale, w * v->upscale});
    if (iid__vae_decode(v, &zt, &ot, &err) != IID_OK) fail_msg("%s", err.msg);
    free(z);
    iid__vae_free(v);
    return out;
}

static void check_model(const char *sub, float *(*run)(const char *, int, size_t *))
{
    char *dir = iid_test_tempdir();
    char *f16 = make_model(dir, sub, "f16", AS_F16, 0);
    char *twin = make_model(dir, sub, "twin", AS_F32_TWIN, 1);
    char *bf16 = make_model(dir, sub, "bf16", AS_BF16, 0);
    char orig[4096];
    snprintf(orig, sizeof orig, "conformance/models/sdxl/%s", sub);
    size_t n, n2, n3, n4;
    float *y16 = run(f16, 0, &n), *ytw = run(twin, 1, &n2), *ybf = run(bf16, 0, &n3);
    float *y32 = run(iid_test_shared_path(orig), 0, &n4);
    assert_true(n == n2 && n == n3 && n == n4);
    float ref = max_abs(y32, n);
    float d_twin = iid_test_max_abs_diff(y16, ytw, n), d_orig = iid_test_max_abs_diff(y16, y32, n);
    float d_bf = iid_test_max_abs_diff(ybf, y32, n);
    print_message("%s: f16 vs f32 twin %.3g, f16 vs f32 %.3g, bf16 vs f32 %.3g (max |ref| %.3g)\n", sub, d_twin, d_orig,
                  d_bf, ref);
    assert_true(d_twin <= 1e-5f * ref);
    assert_true(d_orig > 0.0f && d_orig <= 1e-2f * ref); /* f16 keeps 11 significant bits */
    assert_true(d_bf > 0.0f && d_bf <= 8e-2f * ref);     /* bf16 keeps 8 */
    free(y16), free(ytw), free(ybf), free(y32);
    free(f16), free(twin), free(bf16);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_unet_f16_matches_f32_twin(void **state)
{
    (void)state;
    check_model("unet", unet_run);
}

static void test_vae_f16_matches_f32_twin(void **state)
{
    (void)state;
    check_model("vae", vae_run);
}

int main(void)
{
    iid_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unet_f16_matches_f32_twin),
        cmocka_unit_test(test_vae_f16_matches_f32_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
