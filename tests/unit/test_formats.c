/*
 * test_formats.c - single-file checkpoints and LoRAs below the CLI: the SGM name
 * mapping against the kit's diffusers folder (same names, shapes and bytes, the
 * weights viewed in place), configs inferred from shapes against the kit's
 * config.json files, the built-in SDXL scheduler against the kit's, checkpoint
 * families told apart, LoRA schemes read and fused by the formula with only the
 * touched weights copied, the ControlNet from one file, and the file hash.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/half.h"
#include "formats/checkpoint.h"
#include "formats/infer_config.h"
#include "formats/lora.h"
#include "formats/sgm_names.h"
#include "io/sha256.h"
#include "pipeline/model_load.h"
#include "pipeline/scheduler.h"
#include "support.h"

static char *kit_path(const char *rel) { return strdup(iid_test_shared_path(rel)); }

/* Every tensor of `mapped` equals the folder file's tensor of the same name:
 * shape and bytes; and the folder's tensors under `only` all appear. */
static void same_as_folder(const iid_safetensors_t *mapped, const char *folder_file, const char *only)
{
    iid_safetensors_t ref;
    assert_int_equal(iid__st_open(&ref, folder_file, NULL), IID_OK);
    int wanted = 0;
    for (int i = 0; i < ref.count; i++) {
        const iid_st_tensor_t *r = &ref.tensors[i];
        if (only && strncmp(r->name, only, strlen(only)) != 0 && strncmp(r->name, "post_quant_conv", 15) != 0) continue;
        if (strcmp(r->name, "text_model.embeddings.position_ids") == 0) continue;
        wanted++;
        const iid_st_tensor_t *m = iid__st_find(mapped, r->name);
        if (!m) fail_msg("'%s' of %s is not mapped", r->name, folder_file);
        assert_int_equal(m->ndim, r->ndim);
        for (int d = 0; d < r->ndim; d++) assert_int_equal(m->shape[d], r->shape[d]);
        assert_int_equal(m->nbytes, r->nbytes);
        if (memcmp(m->data, r->data, r->nbytes) != 0) fail_msg("'%s' differs from %s", r->name, folder_file);
    }
    assert_int_equal(wanted, mapped->count);
    iid__st_close(&ref);
}

static void test_sgm_maps_onto_the_folder(void **state)
{
    (void)state;
    char *file = kit_path("conformance/single_file/sdxl_sgm.safetensors");
    static const struct {
        iid_sgm_part_t part;
        const char *folder, *only;
    } parts[] = {{IID_SGM_UNET, "conformance/models/sdxl/unet/diffusion_pytorch_model.safetensors", NULL},
                 {IID_SGM_VAE, "conformance/models/sdxl/vae/diffusion_pytorch_model.safetensors", "decoder."},
                 {IID_SGM_TE1, "conformance/models/sdxl/text_encoder/model.safetensors", NULL},
                 {IID_SGM_TE2, "conformance/models/sdxl/text_encoder_2/model.safetensors", NULL}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        iid_safetensors_t st;
        iid_error_t err;
        if (iid__sgm_open(&st, file, parts[k].part, &err) != IID_OK) fail_msg("%s", err.msg);
        same_as_folder(&st, iid_test_shared_path(parts[k].folder), parts[k].only);
        /* weights are views into the file's mapping, except the transposed projection */
        int owned = 0;
        for (int i = 0; i < st.count; i++) {
            const unsigned char *d = st.tensors[i].data, *base = st.map.data;
            if (d < base || d + st.tensors[i].nbytes > base + st.map.size) owned++;
        }
        assert_int_equal(owned, parts[k].part == IID_SGM_TE2 ? 1 : 0);
        iid__st_close(&st);
    }
    free(file);
}

/* Fields of an inferred config equal to the kit's config.json (the head counts,
 * norm groups and VAE constants are SDXL's defaults, not the tiny kit's). */
static void same_fields(const iid_json_t *got, const char *config, const char *const *keys)
{
    iid_json_t want;
    assert_int_equal(iid__json_load(&want, config, NULL), IID_OK);
    for (int i = 0; keys[i]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(got->root, keys[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(want.root, keys[i]);
        if (!a || !b || !cJSON_Compare(a, b, 1)) {
            char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;
            fail_msg("%s: '%s' inferred %s, config has %s", config, keys[i], sa ? sa : "nothing", sb ? sb : "nothing");
        }
    }
    iid__json_free(&want);
}

static void test_configs_from_shapes(void **state)
{
    (void)state;
    static const char *const unet_keys[] = {"in_channels", "out_channels", "down_block_types", "up_block_types",
                                            "block_out_channels", "layers_per_block", "transformer_layers_per_block",
                                            "cross_attention_dim", "projection_class_embeddings_input_dim",
                                            "use_linear_projection", NULL};
    static const char *const cn_keys[] = {"in_channels", "down_block_types", "block_out_channels", "layers_per_block",
                                          "transformer_layers_per_block", "cross_attention_dim",
                                          "conditioning_embedding_out_channels", "use_linear_projection", NULL};
    static const char *const vae_keys[] = {"block_out_channels", "layers_per_block", "latent_channels", "out_channels",
                                           NULL};
    char *file = kit_path("conformance/single_file/sdxl_sgm.safetensors");
    iid_safetensors_t st;
    iid_json_t cfg;
    iid_error_t err;
    /* the tiny UNet's 48-wide block is no multiple of 64-wide heads: asked for a config */
    assert_int_equal(iid__sgm_open(&st, file, IID_SGM_UNET, NULL), IID_OK);
    assert_int_equal(iid__infer_unet_config(&cfg, &st, NULL, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "--sdxl-config"));
    /* with the loaded UNet's config as the model to follow, everything is inferred */
    iid_unet_config_t like;
    assert_int_equal(iid__unet_config_load(&like, iid_test_shared_path("conformance/models/sdxl/unet/config.json"), NULL),
                     IID_OK);
    if (iid__infer_unet_config(&cfg, &st, &like, &err) != IID_OK) fail_msg("%s", err.msg);
    same_fields(&cfg, iid_test_shared_path("conformance/models/sdxl/unet/config.json"), unet_keys);
    iid_unet_config_t got;
    assert_int_equal(iid__unet_config_parse(&got, &cfg, NULL), IID_OK);
    assert_memory_equal(&got, &like, sizeof got);
    iid__json_free(&cfg);
    iid__st_close(&st);

    assert_int_equal(iid__sgm_open(&st, file, IID_SGM_VAE, NULL), IID_OK);
    assert_int_equal(iid__infer_vae_config(&cfg, &st, NULL), IID_OK);
    same_fields(&cfg, iid_test_shared_path("conformance/models/sdxl/vae/config.json"), vae_keys);
    iid__json_free(&cfg);
    iid__st_close(&st);

    for (int k = 0; k < 2; k++) { /* 16 and 32 wide: not SDXL's heads, the rest is read */
        assert_int_equal(iid__sgm_open(&st, file, k ? IID_SGM_TE2 : IID_SGM_TE1, NULL), IID_OK);
        assert_int_equal(iid__infer_clip_config(&cfg, &st, k, &err), IID_ERR_FORMAT);
        iid__st_close(&st);
    }

    /* IdentityNet from its weights file alone, heads from the UNet it runs with */
    assert_int_equal(iid__st_open(&st, iid_test_shared_path("conformance/models/ControlNetModel/diffusion_pytorch_model.safetensors"), NULL), IID_OK);
    if (iid__infer_unet_config(&cfg, &st, &like, &err) != IID_OK) fail_msg("%s", err.msg);
    same_fields(&cfg, iid_test_shared_path("conformance/models/ControlNetModel/config.json"), cn_keys);
    iid_unet_config_t cn_got, cn_want;
    assert_int_equal(iid__unet_config_parse(&cn_got, &cfg, NULL), IID_OK);
    assert_int_equal(iid__unet_config_load(&cn_want, iid_test_shared_path("conformance/models/ControlNetModel/config.json"), NULL), IID_OK);
    assert_memory_equal(&cn_got, &cn_want, sizeof cn_got);
    iid__json_free(&cfg);
    iid__st_close(&st);
    free(file);
}

/* A CLIP config inferred from a real-width (64-wide heads) encoder. */
static void test_clip_config_with_sdxl_widths(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    static float z[2 * 128 * 4];
    iid_test_tensor_t t[] = {
        {"text_model.embeddings.token_embedding.weight", "F32", 2, {5, 128}, z},
        {"text_model.embeddings.position_embedding.weight", "F32", 2, {7, 128}, z},
        {"text_model.encoder.layers.0.mlp.fc1.weight", "F32", 2, {4, 128}, z},
        {"text_model.encoder.layers.1.mlp.fc1.weight", "F32", 2, {4, 128}, z},
    };
    char *path = iid_test_write_safetensors(dir, "te.safetensors", t, 4);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, path, NULL), IID_OK);
    iid_json_t cfg;
    assert_int_equal(iid__infer_clip_config(&cfg, &st, 1, NULL), IID_OK);
    iid_clip_config_t c;
    assert_int_equal(iid__clip_config_parse(&c, &cfg, NULL), IID_OK);
    assert_int_equal(c.hidden, 128);
    assert_int_equal(c.heads, 2);
    assert_int_equal(c.layers, 2);
    assert_int_equal(c.vocab_size, 5);
    assert_int_equal(c.max_positions, 7);
    assert_int_equal(c.act, IID_CLIP_ACT_GELU);
    iid__json_free(&cfg);
    iid__st_close(&st);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_builtin_scheduler_is_sdxl_base(void **state)
{
    (void)state;
    iid_sdxl_source_t src;
    char *file = kit_path("conformance/single_file/sdxl_sgm.safetensors");
    assert_int_equal(iid__sdxl_source_init(&src, file, NULL, NULL), IID_OK);
    assert_true(src.single_file);
    iid_json_t builtin, kit;
    assert_int_equal(iid__load_scheduler_config(&builtin, &src, NULL), IID_OK);
    assert_int_equal(iid__json_load(&kit, iid_test_shared_path("conformance/models/sdxl/scheduler/scheduler_config.json"), NULL), IID_OK);
    const char *names[] = {"euler", "lcm", "dpmpp_2m_karras"};
    for (int k = 0; k < 3; k++) {
        iid_sched_t *a, *b;
        assert_int_equal(iid__sched_create(&a, names[k], &builtin, NULL), IID_OK);
        assert_int_equal(iid__sched_create(&b, names[k], &kit, NULL), IID_OK);
        assert_int_equal(iid__sched_set_timesteps(a, 7, NULL), IID_OK);
        assert_int_equal(iid__sched_set_timesteps(b, 7, NULL), IID_OK);
        assert_int_equal(iid__sched_num_timesteps(a), iid__sched_num_timesteps(b));
        assert_memory_equal(iid__sched_timesteps(a), iid__sched_timesteps(b), sizeof(float) * (size_t)iid__sched_num_timesteps(a));
        assert_true(iid__sched_init_noise_sigma(a) == iid__sched_init_noise_sigma(b));
        iid__sched_free(a);
        iid__sched_free(b);
    }
    iid__json_free(&builtin);
    iid__json_free(&kit);
    free(file);
}

/* Files of the other families fail with one line naming the file and the family. */
static void test_checkpoint_families(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    static float z[4];
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"model.diffusion_model.out.0.weight", "cond_stage_model.transformer.text_model.x", "Stable Diffusion 1.x"},
        {"model.diffusion_model.out.0.weight", "cond_stage_model.model.ln_final.weight", "Stable Diffusion 2.x"},
        {"model.diffusion_model.out.0.weight", "conditioner.embedders.0.model.ln_final.weight", "SDXL refiner"},
        {"down_blocks.0.resnets.0.conv1.weight", "conv_in.weight", "diffusers part file"},
        {"foo", "bar", "not a single-file SDXL checkpoint"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        iid_test_tensor_t t[] = {{cases[k].a, "F32", 1, {4}, z}, {cases[k].b, "F32", 1, {4}, z}};
        char name[32];
        snprintf(name, sizeof name, "ckpt%zu.safetensors", k);
        char *path = iid_test_write_safetensors(dir, name, t, 2);
        iid_sdxl_source_t src;
        iid_error_t err;
        assert_int_not_equal(iid__sdxl_source_init(&src, path, NULL, &err), IID_OK);
        if (!strstr(err.msg, cases[k].want) || !strstr(err.msg, name)) fail_msg("case %zu: %s", k, err.msg);
        assert_null(strchr(err.msg, '\n'));
        free(path);
    }
    char *pk = iid_test_write(dir, "model.ckpt", "PK\003\004junk", 8);
    iid_sdxl_source_t src;
    iid_error_t err;
    assert_int_equal(iid__sdxl_source_init(&src, pk, NULL, &err), IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "model.ckpt: a pickle"));
    free(pk);
    iid_test_rmtree(dir);
    free(dir);
}

/* A two-weight model and LoRAs on it: the fused weight follows the formula, the
 * untouched one still views the file, keys that match nothing are named. */
static void test_lora_fusion(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    float w[3 * 4], conv[2 * 3 * 3 * 3], other[5];
    iid_test_fill_random(w, 12, 1);
    iid_test_fill_random(conv, 54, 2);
    iid_test_fill_random(other, 5, 3);
    iid_test_tensor_t mt[] = {{"blocks.0.attn.to_q.weight", "F32", 2, {3, 4}, w},
                              {"blocks.0.conv1.weight", "F32", 4, {2, 3, 3, 3}, conv},
                              {"blocks.0.conv1.bias", "F32", 1, {5}, other}};
    char *model = iid_test_write_safetensors(dir, "model.safetensors", mt, 3);
    float down[2 * 4], up[3 * 2], alpha = 1.0f, cdown[1 * 27], cup[2 * 1];
    iid_test_fill_random(down, 8, 4);
    iid_test_fill_random(up, 6, 5);
    iid_test_fill_random(cdown, 27, 6);
    iid_test_fill_random(cup, 2, 7);
    /* kohya: a linear module with alpha, a LoCon conv module without */
    iid_test_tensor_t kt[] = {{"lora_unet_blocks_0_attn_to_q.alpha", "F32", 0, {0}, &alpha},
                              {"lora_unet_blocks_0_attn_to_q.lora_down.weight", "F32", 2, {2, 4}, down},
                              {"lora_unet_blocks_0_attn_to_q.lora_up.weight", "F32", 2, {3, 2}, up},
                              {"lora_unet_blocks_0_conv1.lora_down.weight", "F32", 4, {1, 3, 3, 3}, cdown},
                              {"lora_unet_blocks_0_conv1.lora_up.weight", "F32", 4, {2, 1, 1, 1}, cup}};
    char *kohya = iid_test_write_safetensors(dir, "k.safetensors", kt, 5);
    /* PEFT: the same linear module, dotted names, no alpha (scale 1) */
    iid_test_tensor_t pt[] = {{"unet.blocks.0.attn.to_q.lora_A.weight", "F32", 2, {2, 4}, down},
                              {"unet.blocks.0.attn.to_q.lora_B.weight", "F32", 2, {3, 2}, up}};
    char *peft = iid_test_write_safetensors(dir, "p.safetensors", pt, 2);
    iid_test_tensor_t bt[] = {{"lora_unet_blocks_0_attn_to_k.lora_down.weight", "F32", 2, {2, 4}, down},
                              {"lora_unet_blocks_0_attn_to_k.lora_up.weight", "F32", 2, {3, 2}, up}};
    char *bad = iid_test_write_safetensors(dir, "bad.safetensors", bt, 2);

    const float m = 0.7f;
    iid_lora_t l;
    iid_error_t err;
    for (int scheme = 0; scheme < 2; scheme++) {
        if (iid__lora_open(&l, scheme ? peft : kohya, &err) != IID_OK) fail_msg("%s", err.msg);
        assert_string_equal(l.scheme, scheme ? "diffusers/PEFT" : "kohya");
        assert_int_equal(l.n_convs, scheme ? 0 : 1);
        iid_safetensors_t st;
        assert_int_equal(iid__st_open(&st, model, NULL), IID_OK);
        const void *bias_before = iid__st_find(&st, "blocks.0.conv1.bias")->data;
        if (iid__lora_fuse(&st, &l, IID_LORA_UNET, m, &err) != IID_OK) fail_msg("%s", err.msg);
        float got[12], scale = m * (scheme ? 1.0f : alpha / 2.0f);
        assert_int_equal(iid__st_read_f32(iid__st_find(&st, "blocks.0.attn.to_q.weight"), got, NULL), IID_OK);
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 4; i++) {
                float d = 0;
                for (int r = 0; r < 2; r++) d += up[o * 2 + r] * down[r * 4 + i];
                assert_float_equal(got[o * 4 + i], w[o * 4 + i] + scale * d, 1e-6);
            }
        float gc[54];
        assert_int_equal(iid__st_read_f32(iid__st_find(&st, "blocks.0.conv1.weight"), gc, NULL), IID_OK);
        for (int o = 0; o < 2; o++)
            for (int k = 0; k < 27; k++) /* LoCon: up (2,1,1,1) @ down (1,27), alpha = rank */
                assert_float_equal(gc[o * 27 + k], conv[o * 27 + k] + (scheme ? 0.0f : m * cup[o] * cdown[k]), 1e-6);
        assert_ptr_equal(iid__st_find(&st, "blocks.0.conv1.bias")->data, bias_before);
        assert_int_equal(st.owned_count, scheme ? 1 : 2);
        iid__st_close(&st);
        iid__lora_close(&l);
    }
    assert_int_equal(iid__lora_open(&l, bad, NULL), IID_OK);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, model, NULL), IID_OK);
    assert_int_equal(iid__lora_fuse(&st, &l, IID_LORA_UNET, 1.0f, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "blocks_0_attn_to_k"));
    assert_non_null(strstr(err.msg, "bad.safetensors"));
    assert_int_equal(st.owned_count, 0);
    iid__st_close(&st);
    iid__lora_close(&l);
    /* an F16 weight stays F16 (the fused copy is no larger than the mapped weight) */
    uint16_t w16[12];
    for (int i = 0; i < 12; i++) w16[i] = iid__f32_to_f16(w[i]);
    iid_test_tensor_t ht16[] = {{"blocks.0.attn.to_q.weight", "F16", 2, {3, 4}, w16}};
    char *model16 = iid_test_write_safetensors(dir, "model16.safetensors", ht16, 1);
    assert_int_equal(iid__lora_open(&l, peft, NULL), IID_OK);
    assert_int_equal(iid__st_open(&st, model16, NULL), IID_OK);
    assert_int_equal(iid__lora_fuse(&st, &l, IID_LORA_UNET, m, NULL), IID_OK);
    const iid_st_tensor_t *f16 = iid__st_find(&st, "blocks.0.attn.to_q.weight");
    assert_int_equal(f16->dtype, IID_DTYPE_F16);
    assert_int_equal(f16->nbytes, sizeof w16);
    float got16[12];
    assert_int_equal(iid__st_read_f32(f16, got16, NULL), IID_OK);
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 4; i++) {
            float d = 0;
            for (int r = 0; r < 2; r++) d += up[o * 2 + r] * down[r * 4 + i];
            assert_float_equal(got16[o * 4 + i], iid__f16_to_f32(w16[o * 4 + i]) + m * d, 2e-3);
        }
    iid__st_close(&st);
    iid__lora_close(&l);
    free(model16);
    /* torch .bin files are read too (here an adapter, whose keys are no LoRA keys) */
    assert_int_equal(iid__lora_open(&l, iid_test_shared_path("conformance/models/ip-adapter.bin"), &err),
                     IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "image_proj."));
    /* LyCORIS keys are refused by name */
    iid_test_tensor_t ht[] = {{"lora_unet_x.hada_w1_a", "F32", 2, {2, 4}, down}};
    char *hada = iid_test_write_safetensors(dir, "h.safetensors", ht, 1);
    assert_int_equal(iid__lora_open(&l, hada, &err), IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "LoHa"));
    free(model), free(kohya), free(peft), free(bad), free(hada);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_lora_spec(void **state)
{
    (void)state;
    iid_lora_spec_t s;
    assert_int_equal(iid__lora_spec_parse(&s, "a/b.safetensors:0.7", NULL), IID_OK);
    assert_string_equal(s.path, "a/b.safetensors");
    assert_float_equal(s.multiplier, 0.7f, 1e-7);
    assert_int_equal(iid__lora_spec_parse(&s, "C:/x.safetensors", NULL), IID_OK);
    assert_string_equal(s.path, "C:/x.safetensors");
    assert_float_equal(s.multiplier, 1.0f, 0);
    assert_int_equal(iid__lora_spec_parse(&s, "x.safetensors:-1.5", NULL), IID_OK);
    assert_float_equal(s.multiplier, -1.5f, 0);
    assert_int_equal(iid__lora_spec_parse(&s, ":0.5", NULL), IID_ERR_INVALID);
}

/* The kit's LoRA fused into the kit's UNet changes it; with multiplier 0 nothing moves. */
static void test_kit_lora_touches_only_its_weights(void **state)
{
    (void)state;
    iid_lora_t l;
    iid_error_t err;
    if (iid__lora_open(&l, iid_test_shared_path("conformance/lora/lora_kohya.safetensors"), &err) != IID_OK)
        fail_msg("%s", err.msg);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, iid_test_shared_path("conformance/models/sdxl/unet/diffusion_pytorch_model.safetensors"), NULL), IID_OK);
    if (iid__lora_fuse(&st, &l, IID_LORA_UNET, 0.5f, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.owned_count, l.n_mods); /* one copy per module, nothing else */
    int viewed = 0;
    for (int i = 0; i < st.count; i++) {
        const unsigned char *d = st.tensors[i].data, *base = st.map.data;
        viewed += d >= base && d < base + st.map.size;
    }
    assert_int_equal(viewed, st.count - l.n_mods);
    iid__st_close(&st);
    iid__lora_close(&l);
}

/* The IdentityNet from its weights file alone runs exactly like the folder's. */
static void test_controlnet_single_file(void **state)
{
    (void)state;
    iid_unet_t *unet;
    iid_controlnet_t *a, *b;
    iid_error_t err;
    char cn_dir[4096];
    snprintf(cn_dir, sizeof cn_dir, "%s", iid_test_shared_path("conformance/models/ControlNetModel"));
    assert_int_equal(iid__unet_load(&unet, iid_test_shared_path("conformance/models/sdxl/unet"), NULL), IID_OK);
    assert_int_equal(iid__load_controlnet(&a, cn_dir, unet, NULL), IID_OK);
    char file[4200];
    snprintf(file, sizeof file, "%s/diffusion_pytorch_model.safetensors", cn_dir);
    if (iid__load_controlnet(&b, file, unet, &err) != IID_OK) fail_msg("%s", err.msg);
    const iid_unet_config_t *c = &a->trunk.cfg;
    int B = 1, h = 8, w = 8, T = 4, D = c->cross_dim, P = c->add_in_dim - 6 * c->add_time_dim;
    float *x = malloc(sizeof(float) * (size_t)(B * c->in_channels * h * w)), *ctx = malloc(sizeof(float) * (size_t)(T * D));
    float *img = malloc(sizeof(float) * 3 * 64 * 64), *txt = malloc(sizeof(float) * (size_t)P), ids[6] = {64, 64, 0, 0, 64, 64};
    iid_test_fill_random(x, (size_t)(B * c->in_channels * h * w), 11);
    iid_test_fill_random(ctx, (size_t)(T * D), 12);
    iid_test_fill_random(img, 3 * 64 * 64, 13);
    iid_test_fill_random(txt, (size_t)P, 14);
    iid_unet_cond_t cond = {500.0f, iid__tensor_wrap(NULL, ctx, 3, (int64_t[]){B, T, D}),
                            iid__tensor_wrap(NULL, txt, 2, (int64_t[]){B, P}), iid__tensor_wrap(NULL, ids, 2, (int64_t[]){B, 6}), NULL};
    iid_controlnet_inputs_t in = {iid__tensor_wrap(NULL, x, 4, (int64_t[]){B, c->in_channels, h, w}), cond,
                                  iid__tensor_wrap(NULL, img, 4, (int64_t[]){B, 3, 64, 64}), 0.8f, NULL};
    iid_residuals_t ra, rb;
    assert_int_equal(iid__controlnet_forward(a, &in, &ra, NULL), IID_OK);
    assert_int_equal(iid__controlnet_forward(b, &in, &rb, NULL), IID_OK);
    assert_int_equal(ra.n_down, rb.n_down);
    for (int i = 0; i < ra.n_down; i++)
        assert_memory_equal(ra.down[i].data, rb.down[i].data, iid__tensor_nbytes(&ra.down[i]));
    assert_memory_equal(ra.mid.data, rb.mid.data, iid__tensor_nbytes(&ra.mid));
    iid__residuals_free(&ra);
    iid__residuals_free(&rb);
    free(x), free(ctx), free(img), free(txt);
    iid__controlnet_free(a);
    iid__controlnet_free(b);
    iid__unet_free(unet);
}

/* The SGM names computed from the folder's diffusers names are the kit single
 * file's own names, and a kohya LoRA written with them fuses exactly like the
 * same LoRA under diffusers names. */
static void test_sgm_aliases_and_sgm_named_lora(void **state)
{
    (void)state;
    iid_safetensors_t folder, file;
    char **aliases;
    assert_int_equal(iid__st_open(&folder, iid_test_shared_path("conformance/models/sdxl/unet/diffusion_pytorch_model.safetensors"), NULL), IID_OK);
    assert_int_equal(iid__st_open(&file, iid_test_shared_path("conformance/single_file/sdxl_sgm.safetensors"), NULL), IID_OK);
    assert_int_equal(iid__sgm_unet_aliases(&folder, &aliases, NULL), IID_OK);
    int n_unet = 0;
    for (int i = 0; i < file.count; i++) n_unet += strncmp(file.tensors[i].name, "model.diffusion_model.", 22) == 0;
    assert_int_equal(n_unet, folder.count);
    for (int i = 0; i < folder.count; i++) {
        char want[600];
        if (!aliases[i]) fail_msg("no SGM name for '%s'", folder.tensors[i].name);
        snprintf(want, sizeof want, "model.diffusion_model.%s", aliases[i]);
        const iid_st_tensor_t *t = iid__st_find(&file, want);
        if (!t || memcmp(t->data, folder.tensors[i].data, t->nbytes) != 0)
            fail_msg("'%s' -> '%s' is not the file's tensor", folder.tensors[i].name, want);
    }
    /* the kit's LoRA with its UNet keys renamed to the SGM modules */
    iid_lora_t l;
    assert_int_equal(iid__lora_open(&l, iid_test_shared_path("conformance/lora/lora_kohya.safetensors"), NULL), IID_OK);
    iid_test_tensor_t *t = calloc((size_t)l.file.count, sizeof *t);
    char **keys = calloc((size_t)l.file.count, sizeof *keys);
    for (int i = 0; i < l.file.count; i++) {
        const iid_st_tensor_t *k = &l.file.tensors[i];
        const char *dot = strchr(k->name, '.');
        for (int w = 0; w < folder.count && !keys[i]; w++) { /* the folder weight whose stem the key names */
            char stem[512];
            snprintf(stem, sizeof stem, "lora_unet_%s", folder.tensors[w].name);
            size_t sl = strlen(stem) - 7;
            if (strcmp(folder.tensors[w].name + strlen(folder.tensors[w].name) - 7, ".weight") != 0) continue;
            for (size_t c = 0; c < sl; c++) stem[c] = stem[c] == '.' ? '_' : stem[c];
            if ((size_t)(dot - k->name) != sl || strncmp(stem, k->name, sl) != 0) continue;
            char sgm[600];
            snprintf(sgm, sizeof sgm, "lora_unet_%.*s%s", (int)(strlen(aliases[w]) - 7), aliases[w], dot);
            for (char *c = sgm + 10; *c && c < sgm + 10 + strlen(aliases[w]) - 7; c++) *c = *c == '.' ? '_' : *c;
            keys[i] = strdup(sgm);
        }
        if (!keys[i]) fail_msg("no UNet weight for '%s'", k->name);
        t[i] = (iid_test_tensor_t){keys[i], "F32", k->ndim, {k->shape[0], k->shape[1], k->shape[2], k->shape[3]}, k->data};
    }
    char *dir = iid_test_tempdir();
    char *sgm_lora = iid_test_write_safetensors(dir, "sgm.safetensors", t, l.file.count);
    iid_lora_t l2;
    iid_error_t err;
    if (iid__lora_open(&l2, sgm_lora, &err) != IID_OK) fail_msg("%s", err.msg);
    iid_safetensors_t a, b;
    const char *unet = iid_test_shared_path("conformance/models/sdxl/unet/diffusion_pytorch_model.safetensors");
    assert_int_equal(iid__st_open(&a, unet, NULL), IID_OK);
    assert_int_equal(iid__st_open(&b, unet, NULL), IID_OK);
    assert_int_equal(iid__lora_fuse(&a, &l, IID_LORA_UNET, 0.7f, NULL), IID_OK);
    if (iid__lora_fuse(&b, &l2, IID_LORA_UNET, 0.7f, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(a.owned_count, l.n_mods);
    for (int i = 0; i < a.count; i++)
        assert_memory_equal(a.tensors[i].data, b.tensors[i].data, a.tensors[i].nbytes);
    iid__st_close(&a), iid__st_close(&b);
    iid__lora_close(&l2);
    for (int i = 0; i < l.file.count; i++) free(keys[i]);
    free(keys), free(t), free(sgm_lora);
    iid__lora_close(&l);
    iid__sgm_aliases_free(aliases, folder.count);
    iid__st_close(&folder), iid__st_close(&file);
    iid_test_rmtree(dir);
    free(dir);
}

/* models/sdxl/ may hold one single-file checkpoint instead of the diffusers
 * folders; its tokenizers are the folders beside it, and two checkpoints there
 * are refused. */
static void test_single_file_in_sdxl_folder(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir(), link[4200], target[PATH_MAX];
    assert_non_null(realpath(iid_test_shared_path("conformance/single_file/sdxl_sgm.safetensors"), target));
    snprintf(link, sizeof link, "%s/juggernautXL.safetensors", dir);
    assert_int_equal(symlink(target, link), 0);
    iid_sdxl_source_t src;
    iid_error_t err;
    if (iid__sdxl_source_init(&src, dir, NULL, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_true(src.single_file);
    assert_string_equal(src.path, link);
    /* no tokenizers beside it, no --sdxl-config: said so */
    iid_text_cond_t tc;
    assert_int_equal(iid__load_text_cond(&tc, &src, NULL, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "--sdxl-config"));
    /* with the kit's config folder the whole text side loads from the file */
    if (iid__sdxl_source_init(&src, dir, iid_test_shared_path("conformance/models/sdxl"), &err) != IID_OK)
        fail_msg("%s", err.msg);
    if (iid__load_text_cond(&tc, &src, NULL, &err) != IID_OK) fail_msg("%s", err.msg);
    iid__text_cond_free(&tc);
    /* configs are for single files only */
    assert_int_equal(iid__sdxl_source_init(&src, iid_test_shared_path("conformance/models/sdxl"), dir, &err),
                     IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "only a single-file --sdxl takes configs"));
    snprintf(link, sizeof link, "%s/other.safetensors", dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(iid__sdxl_source_init(&src, dir, NULL, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "2 .safetensors files"));
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    iid_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgm_maps_onto_the_folder),
        cmocka_unit_test(test_configs_from_shapes),
        cmocka_unit_test(test_clip_config_with_sdxl_widths),
        cmocka_unit_test(test_builtin_scheduler_is_sdxl_base),
        cmocka_unit_test(test_checkpoint_families),
        cmocka_unit_test(test_lora_fusion),
        cmocka_unit_test(test_lora_spec),
        cmocka_unit_test(test_kit_lora_touches_only_its_weights),
        cmocka_unit_test(test_controlnet_single_file),
        cmocka_unit_test(test_single_file_in_sdxl_folder),
        cmocka_unit_test(test_sgm_aliases_and_sgm_named_lora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
