/*
 * test_clip_text.c - the CLIP text encoder and SDXL prompt encoding on small
 * synthetic checkpoints written to a temp dir: errors that name the file and
 * tensor, the pooled-position rule, the relations between the outputs, causality,
 * F16 weights, the zero negative of encode_prompt and the weighted-chunk rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "io/file.h"
#include "models/clip_text.h"
#include "ops/backend.h"
#include "ops/cpu/dnnl_weight.h"
#include "ops/ops.h"
#include "pipeline/encode_prompt.h"
#include "pipeline/text_cond.h"
#include "support.h"

/* ---- synthetic checkpoints ------------------------------------------------------ */

typedef struct spec {
    int C, L, H, I, V, P, proj; /* proj 0: no text_projection */
    const char *act;            /* hidden_act, NULL to leave it out */
    const char *arch;           /* architectures[0] */
    const char *skip;           /* a tensor to leave out */
    const char *wrong;          /* a tensor written with its first dim one larger */
    int f16;                    /* store weights as F16 */
    uint32_t seed;
} spec_t;

static spec_t base_spec(void)
{
    spec_t s = {.C = 8, .L = 3, .H = 2, .I = 16, .V = 40, .P = 12, .proj = 6, .act = "gelu",
                .arch = "CLIPTextModelWithProjection", .seed = 11};
    return s;
}

#define MAX_T 64

/* Write dir/config.json and dir/model.safetensors for the spec; returns dir. */
static char *make_model(const spec_t *s)
{
    char *dir = iid_test_tempdir();
    assert_non_null(dir);
    char cfg[1024];
    int n = snprintf(cfg, sizeof cfg,
                     "{\"architectures\":[\"%s\"],\"hidden_size\":%d,\"num_hidden_layers\":%d,"
                     "\"num_attention_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,"
                     "\"max_position_embeddings\":%d,\"layer_norm_eps\":1e-05%s%s%s}",
                     s->arch, s->C, s->L, s->H, s->I, s->V, s->P, s->act ? ",\"hidden_act\":\"" : "",
                     s->act ? s->act : "", s->act ? "\"" : "");
    free(iid_test_write(dir, "config.json", cfg, (size_t)n));

    static char names[MAX_T][96];
    int64_t shapes[MAX_T][2];
    int nt = 0;
#define ADD(d0, d1, ...)                                               \
    do {                                                               \
        snprintf(names[nt], sizeof names[nt], __VA_ARGS__);            \
        shapes[nt][0] = (d0), shapes[nt][1] = (d1);                    \
        nt++;                                                          \
    } while (0)
    ADD(s->V, s->C, "text_model.embeddings.token_embedding.weight");
    ADD(s->P, s->C, "text_model.embeddings.position_embedding.weight");
    for (int l = 0; l < s->L; l++) {
        const char *p = "text_model.encoder.layers";
        ADD(s->C, 0, "%s.%d.layer_norm1.weight", p, l);
        ADD(s->C, 0, "%s.%d.layer_norm1.bias", p, l);
        const char *qkvo[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int k = 0; k < 4; k++) {
            ADD(s->C, s->C, "%s.%d.self_attn.%s.weight", p, l, qkvo[k]);
            ADD(s->C, 0, "%s.%d.self_attn.%s.bias", p, l, qkvo[k]);
        }
        ADD(s->C, 0, "%s.%d.layer_norm2.weight", p, l);
        ADD(s->C, 0, "%s.%d.layer_norm2.bias", p, l);
        ADD(s->I, s->C, "%s.%d.mlp.fc1.weight", p, l);
        ADD(s->I, 0, "%s.%d.mlp.fc1.bias", p, l);
        ADD(s->C, s->I, "%s.%d.mlp.fc2.weight", p, l);
        ADD(s->C, 0, "%s.%d.mlp.fc2.bias", p, l);
    }
    ADD(s->C, 0, "text_model.final_layer_norm.weight");
    ADD(s->C, 0, "text_model.final_layer_norm.bias");
    if (s->proj) ADD(s->proj, s->C, "text_projection.weight");
#undef ADD

    iid_test_tensor_t t[MAX_T];
    void *data[MAX_T];
    int m = 0;
    for (int i = 0; i < nt; i++) {
        if (s->skip && strcmp(names[i], s->skip) == 0) continue;
        int64_t d0 = shapes[i][0] + (s->wrong && strcmp(names[i], s->wrong) == 0 ? 1 : 0), d1 = shapes[i][1];
        size_t numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
        float *x = malloc(numel * sizeof *x);
        assert_non_null(x);
        iid_test_fill_random(x, numel, s->seed * 1000u + (uint32_t)i + 1u);
        /* Values that F16 holds exactly, so F16 and F32 files describe one model. */
        for (size_t k = 0; k < numel; k++) x[k] = iid__f16_to_f32(iid__f32_to_f16(0.5f * x[k]));
        if (s->f16) {
            uint16_t *h = malloc(numel * sizeof *h);
            assert_non_null(h);
            for (size_t k = 0; k < numel; k++) h[k] = iid__f32_to_f16(x[k]);
            free(x);
            data[m] = h;
        } else data[m] = x;
        t[m] = (iid_test_tensor_t){.name = names[i], .dtype = s->f16 ? "F16" : "F32", .ndim = d1 ? 2 : 1,
                                   .shape = {d0, d1}, .data = data[m]};
        m++;
    }
    free(iid_test_write_safetensors(dir, "model.safetensors", t, m));
    for (int i = 0; i < m; i++) free(data[i]);
    return dir;
}

static void load_ok(iid_clip_text_t *m, const spec_t *s)
{
    char *dir = make_model(s);
    iid_error_t err;
    iid_error_clear(&err);
    iid_status st = iid__clip_text_load(m, dir, &err);
    if (st != IID_OK) fail_msg("load: %s", err.msg);
    iid_test_rmtree(dir);
    free(dir);
}

/* The load error of a spec; its message is copied to msg. */
static iid_status load_err(const spec_t *s, char *msg, size_t cap)
{
    char *dir = make_model(s);
    iid_clip_text_t m;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status st = iid__clip_text_load(&m, dir, &err);
    snprintf(msg, cap, "%s", err.msg);
    if (st == IID_OK) iid__clip_text_free(&m);
    iid_test_rmtree(dir);
    free(dir);
    return st;
}

/* ---- the encoder ----------------------------------------------------------------- */

static void test_load_errors_name_file_and_tensor(void **state)
{
    (void)state;
    char msg[IID_ERROR_MSG_MAX];
    spec_t s = base_spec();
    s.skip = "text_model.encoder.layers.1.mlp.fc2.bias";
    assert_int_equal(load_err(&s, msg, sizeof msg), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "model.safetensors"));
    assert_non_null(strstr(msg, "text_model.encoder.layers.1.mlp.fc2.bias"));

    s = base_spec();
    s.wrong = "text_model.encoder.layers.2.self_attn.k_proj.weight";
    assert_int_equal(load_err(&s, msg, sizeof msg), IID_ERR_FORMAT);
    assert_non_null(strstr(msg, "layers.2.self_attn.k_proj.weight"));
    assert_non_null(strstr(msg, "[9, 8]")); /* what it has */
    assert_non_null(strstr(msg, "[8, 8]")); /* what was expected */

    s = base_spec();
    s.act = "relu";
    assert_int_equal(load_err(&s, msg, sizeof msg), IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "config.json"));
    assert_non_null(strstr(msg, "hidden_act"));
    assert_non_null(strstr(msg, "relu"));

    s = base_spec();
    s.proj = 0; /* the architecture promises a projection */
    assert_int_equal(load_err(&s, msg, sizeof msg), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "text_projection.weight"));

    s = base_spec();
    s.H = 3; /* 8 is not a multiple of 3 */
    assert_int_equal(load_err(&s, msg, sizeof msg), IID_ERR_FORMAT);
    assert_non_null(strstr(msg, "num_attention_heads"));
}

/* Views of host arrays as output tensors (the test models run on a host backend). */
static iid_tensor_t t3(float *p, int B, int T, int C) { return iid__tensor_wrap(NULL, p, 3, (int64_t[]){B, T, C}); }
static iid_tensor_t t2(float *p, int B, int C) { return iid__tensor_wrap(NULL, p, 2, (int64_t[]){B, C}); }

static void test_config_defaults_and_projection_presence(void **state)
{
    (void)state;
    spec_t s = base_spec();
    s.act = NULL; /* CLIPTextConfig's default */
    s.arch = "CLIPTextModel";
    iid_clip_text_t m;
    load_ok(&m, &s);
    assert_int_equal(m.cfg.act, IID_CLIP_ACT_QUICK_GELU);
    assert_int_equal(m.cfg.projection_dim, 6); /* bound because the weights have it */
    assert_true(fabsf(m.cfg.eps - 1e-5f) < 1e-12f);
    iid__clip_text_free(&m);
    iid__clip_text_free(&m); /* twice is fine */
    iid__clip_text_free(NULL);

    s.proj = 0;
    load_ok(&m, &s);
    assert_int_equal(m.cfg.projection_dim, 0);
    assert_null(m.proj.m.data);
    int64_t ids[3] = {1, 2, 3};
    float te[6];
    iid_clip_outputs_t o = {.text_embeds = t2(te, 1, 6)};
    iid_error_t err;
    assert_int_equal(iid__clip_text_forward(&m, ids, 1, 3, &o, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "text_projection"));
    iid__clip_text_free(&m);
}

static void test_pooled_index_is_first_largest_id(void **state)
{
    (void)state;
    int64_t a[] = {49406, 320, 1125, 49407, 49407, 49407};
    assert_int_equal(iid__clip_pooled_index(a, 6), 3);
    int64_t b[] = {49406, 49407, 320, 49407, 0, 0}; /* a literal <|endoftext|> early in the row */
    assert_int_equal(iid__clip_pooled_index(b, 6), 1);
    int64_t c[] = {49406, 320, 1125, 49407, 0, 0}; /* tokenizer 2 pads with 0 */
    assert_int_equal(iid__clip_pooled_index(c, 6), 3);
    int64_t d[] = {7};
    assert_int_equal(iid__clip_pooled_index(d, 1), 0);
}

static void test_outputs_relate_as_documented(void **state)
{
    (void)state;
    spec_t s = base_spec();
    iid_clip_text_t m;
    load_ok(&m, &s);
    enum { B = 2, T = 7, C = 8, L = 3, PD = 6 };
    /* Row 0's largest id (39) first appears at 4; row 1's at 2. */
    int64_t ids[B * T] = {0, 5, 9, 3, 39, 39, 2, 1, 1, 38, 4, 38, 0, 12};
    float emb[B * T * C], h0[B * T * C], hm1[B * T * C], hm2[B * T * C], last[B * T * C], pooled[B * C],
        te[B * PD], lnd[B * T * C], want[B * PD];
    iid_error_t err;
    iid_clip_outputs_t o = {.embeddings = t3(emb, B, T, C), .hidden_index = 0, .hidden = t3(h0, B, T, C),
                            .last_hidden = t3(last, B, T, C), .pooled = t2(pooled, B, C), .text_embeds = t2(te, B, PD)};
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &o, &err), IID_OK);
    assert_int_equal(m.token_emb.m.dtype, IID_DTYPE_F32); /* the test file is F32: a view or an f32 copy */
    const float *tok = m.token_emb.m.data;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                float e = tok[ids[b * T + t] * C + c] + m.pos_emb[t * C + c];
                assert_true(emb[(b * T + t) * C + c] == e);
            }
    assert_memory_equal(h0, emb, sizeof emb);

    iid_clip_outputs_t o1 = {.hidden_index = -1, .hidden = t3(hm1, B, T, C)};
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &o1, &err), IID_OK);
    iid__layer_norm(lnd, hm1, m.final_ln_w, m.final_ln_b, B * T, C, m.cfg.eps);
    assert_true(iid_test_max_abs_diff(lnd, last, B * T * C) < 1e-6f);
    /* hidden_index L is the same state as -1. */
    iid_clip_outputs_t oL = {.hidden_index = L, .hidden = t3(h0, B, T, C)};
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &oL, &err), IID_OK);
    assert_memory_equal(h0, hm1, sizeof hm1);

    assert_memory_equal(pooled, last + (0 * T + 4) * C, C * sizeof(float));
    assert_memory_equal(pooled + C, last + (1 * T + 2) * C, C * sizeof(float));
    assert_int_equal(iid__matmul_wt_ref(want, pooled, &m.proj.m, B, 0), 0);
    assert_true(iid_test_max_abs_diff(want, te, B * PD) < 1e-5f);

    /* The penultimate state alone (later layers skipped) equals the one computed
     * alongside everything else, and differs from the last layer's. */
    float hm2b[B * T * C];
    iid_clip_outputs_t o2 = {.hidden_index = -2, .hidden = t3(hm2, B, T, C)};
    iid_clip_outputs_t o2b = {.hidden_index = -2, .hidden = t3(hm2b, B, T, C), .last_hidden = t3(last, B, T, C)};
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &o2, &err), IID_OK);
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &o2b, &err), IID_OK);
    assert_memory_equal(hm2, hm2b, sizeof hm2);
    assert_true(iid_test_max_abs_diff(hm2, hm1, B * T * C) > 1e-3f);

    /* Each batch row is independent of the other. */
    float one[T * C];
    iid_clip_outputs_t o3 = {.hidden_index = -2, .hidden = t3(one, 1, T, C)};
    assert_int_equal(iid__clip_text_forward(&m, ids + T, 1, T, &o3, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(one, hm2 + T * C, T * C) < 1e-6f);

    /* Causal: changing the last token leaves every earlier position unchanged. */
    ids[T - 1] = 33;
    assert_int_equal(iid__clip_text_forward(&m, ids, 1, T, &o3, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(one, hm2, (T - 1) * C) < 1e-6f);
    assert_true(iid_test_max_abs_diff(one + (T - 1) * C, hm2 + (T - 1) * C, C) > 1e-4f);

    /* Bad inputs. */
    int64_t bad[] = {1, 40};
    assert_int_equal(iid__clip_text_forward(&m, bad, 1, 2, &o3, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "40"));
    int64_t long_ids[13] = {0};
    assert_int_equal(iid__clip_text_forward(&m, long_ids, 1, 13, &o3, &err), IID_ERR_INVALID);
    iid_clip_outputs_t o4 = {.hidden_index = -5, .hidden = t3(one, 1, T, C)};
    assert_int_equal(iid__clip_text_forward(&m, ids, 1, T, &o4, &err), IID_ERR_INVALID);
    /* an output that does not hold what the forward makes */
    assert_int_equal(iid__clip_text_forward(&m, ids, B, T, &o3, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "hidden"));
    iid__clip_text_free(&m);
}

static void test_activation_changes_result(void **state)
{
    (void)state;
    spec_t s = base_spec();
    iid_clip_text_t g, q;
    load_ok(&g, &s);
    s.act = "quick_gelu";
    load_ok(&q, &s);
    int64_t ids[4] = {0, 3, 7, 39};
    float a[4 * 8], b[4 * 8];
    iid_clip_outputs_t oa = {.last_hidden = t3(a, 1, 4, 8)}, ob = {.last_hidden = t3(b, 1, 4, 8)};
    iid_error_t err;
    assert_int_equal(iid__clip_text_forward(&g, ids, 1, 4, &oa, &err), IID_OK);
    assert_int_equal(iid__clip_text_forward(&q, ids, 1, 4, &ob, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(a, b, 32) > 1e-4f);
    iid__clip_text_free(&g);
    iid__clip_text_free(&q);
}

static void test_f16_weights_match_f32(void **state)
{
    (void)state;
    spec_t s = base_spec();
    iid_clip_text_t a, b;
    load_ok(&a, &s);
    s.f16 = 1;
    load_ok(&b, &s);
    int64_t ids[5] = {0, 3, 7, 39, 39};
    float ta[6], tb[6];
    iid_clip_outputs_t oa = {.text_embeds = t2(ta, 1, 6)}, ob = {.text_embeds = t2(tb, 1, 6)};
    iid_error_t err;
    assert_int_equal(iid__clip_text_forward(&a, ids, 1, 5, &oa, &err), IID_OK);
    assert_int_equal(iid__clip_text_forward(&b, ids, 1, 5, &ob, &err), IID_OK);
    /* the same values (f16-exact): on the cpu backend, computing in f32, the F32
     * matrices are prepared for oneDNN and the F16 ones widened per product, so
     * the two differ only by f32 summation order */
    float scale = 0;
    for (int i = 0; i < 6; i++) scale = fmaxf(scale, fabsf(ta[i]));
    assert_true(scale > 0);
    assert_true(iid_test_max_abs_diff(ta, tb, 6) <= 1e-5f * scale);
    iid__clip_text_free(&a);
    iid__clip_text_free(&b);
}

/* ---- SDXL prompt encoding ------------------------------------------------------- */

typedef struct pair {
    iid_clip_text_t te1, te2;
} pair_t;

static void load_pair(pair_t *p)
{
    spec_t s1 = base_spec();
    s1.arch = "CLIPTextModel";
    s1.proj = 0;
    s1.act = "quick_gelu";
    spec_t s2 = base_spec();
    s2.C = 12;
    s2.H = 3;
    s2.L = 2;
    s2.seed = 22;
    load_ok(&p->te1, &s1);
    load_ok(&p->te2, &s2);
}

static void test_encode_prompt_concat_and_zero_negative(void **state)
{
    (void)state;
    pair_t p;
    load_pair(&p);
    enum { T = 6, C1 = 8, C2 = 12, D = 20, PD = 6 };
    int64_t ids1[T] = {0, 4, 5, 39, 39, 39}, ids2[T] = {0, 4, 5, 39, 1, 1}, neg[T] = {0, 39, 39, 39, 39, 39};
    iid_prompt_embeds_t pe, ne;
    iid_error_t err;
    assert_int_equal(iid__encode_prompt(&p.te1, &p.te2, ids1, ids2, NULL, NULL, T, 1, &pe, &ne, &err), IID_OK);
    assert_int_equal(pe.tokens, T);
    assert_int_equal(pe.dim, D);
    assert_int_equal(pe.pooled_dim, PD);
    float h1[T * C1], h2[T * C2], pool[PD];
    iid_clip_outputs_t o1 = {.hidden_index = -2, .hidden = t3(h1, 1, T, C1)};
    iid_clip_outputs_t o2 = {.hidden_index = -2, .hidden = t3(h2, 1, T, C2), .text_embeds = t2(pool, 1, PD)};
    assert_int_equal(iid__clip_text_forward(&p.te1, ids1, 1, T, &o1, &err), IID_OK);
    assert_int_equal(iid__clip_text_forward(&p.te2, ids2, 1, T, &o2, &err), IID_OK);
    for (int t = 0; t < T; t++) {
        assert_memory_equal(pe.embeds + t * D, h1 + t * C1, C1 * sizeof(float));      /* te1 first */
        assert_memory_equal(pe.embeds + t * D + C1, h2 + t * C2, C2 * sizeof(float)); /* then te2 */
    }
    assert_memory_equal(pe.pooled, pool, sizeof pool);
    /* None + force_zeros: zeros of the prompt's shapes. */
    assert_int_equal(ne.tokens, T);
    assert_int_equal(ne.dim, D);
    for (int i = 0; i < T * D; i++) assert_true(ne.embeds[i] == 0.0f);
    for (int i = 0; i < PD; i++) assert_true(ne.pooled[i] == 0.0f);
    iid__prompt_embeds_free(&ne);

    /* A given negative (the empty prompt's ids) is encoded, not zeroed. */
    iid_prompt_embeds_t pe2, direct;
    assert_int_equal(iid__encode_prompt(&p.te1, &p.te2, ids1, ids2, neg, neg, T, 1, &pe2, &ne, &err), IID_OK);
    assert_int_equal(iid__encode_prompt_one(&p.te1, &p.te2, neg, neg, T, &direct, &err), IID_OK);
    assert_memory_equal(ne.embeds, direct.embeds, T * D * sizeof(float));
    assert_memory_equal(pe2.embeds, pe.embeds, T * D * sizeof(float));
    iid__prompt_embeds_free(&pe2);
    iid__prompt_embeds_free(&ne);
    iid__prompt_embeds_free(&direct);
    iid__prompt_embeds_free(&pe);

    /* None without force_zeros needs the ids of "". */
    assert_int_equal(iid__encode_prompt(&p.te1, &p.te2, ids1, ids2, NULL, NULL, T, 0, &pe, &ne, &err),
                     IID_ERR_INVALID);
    assert_null(pe.embeds);
    assert_null(ne.embeds);
    /* te2 must be the projection model. */
    assert_int_equal(iid__encode_prompt_one(&p.te2, &p.te1, ids1, ids2, T, &pe, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "text_encoder_2"));
    iid__clip_text_free(&p.te1);
    iid__clip_text_free(&p.te2);
}

static void test_force_zeros_from_model_index(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    iid_error_t err;
    int fz = -1;
    assert_int_equal(iid__sdxl_force_zeros(dir, &fz, &err), IID_OK); /* absent file: SDXL default */
    assert_int_equal(fz, 1);
    const char *no = "{\"_class_name\":\"StableDiffusionXLPipeline\",\"force_zeros_for_empty_prompt\":false}";
    free(iid_test_write(dir, "model_index.json", no, strlen(no)));
    assert_int_equal(iid__sdxl_force_zeros(dir, &fz, &err), IID_OK);
    assert_int_equal(fz, 0);
    const char *absent = "{\"_class_name\":\"StableDiffusionXLPipeline\"}";
    free(iid_test_write(dir, "model_index.json", absent, strlen(absent)));
    assert_int_equal(iid__sdxl_force_zeros(dir, &fz, &err), IID_OK);
    assert_int_equal(fz, 1);
    const char *bad = "{\"force_zeros_for_empty_prompt\":\"yes\"}";
    free(iid_test_write(dir, "model_index.json", bad, strlen(bad)));
    assert_int_not_equal(iid__sdxl_force_zeros(dir, &fz, &err), IID_OK);
    assert_non_null(strstr(err.msg, "model_index.json"));
    assert_non_null(strstr(err.msg, "force_zeros_for_empty_prompt"));
    iid_test_rmtree(dir);
    free(dir);
}

static void test_weighted_chunks(void **state)
{
    (void)state;
    pair_t p;
    load_pair(&p);
    enum { D = 20, PD = 6 };
    int64_t c0[5] = {0, 4, 5, 6, 39}, c1[3] = {0, 7, 39};
    float w0[5] = {1, 1.2f, 1, 1.0f / 1.1f, 1}, w1[3] = {1, 1, 1}, ones[5] = {1, 1, 1, 1, 1};
    iid_prompt_chunk_t chunks[2] = {{5, c0, w0}, {3, c1, w1}};
    iid_prompt_embeds_t out, a, b;
    iid_error_t err;
    assert_int_equal(iid__encode_prompt_weighted(&p.te1, &p.te2, chunks, 2, &out, &err), IID_OK);
    assert_int_equal(out.tokens, 8);
    assert_int_equal(out.dim, D);
    /* Unweighted chunks through both encoders with the same ids. */
    assert_int_equal(iid__encode_prompt_one(&p.te1, &p.te2, c0, c0, 5, &a, &err), IID_OK);
    assert_int_equal(iid__encode_prompt_one(&p.te1, &p.te2, c1, c1, 3, &b, &err), IID_OK);
    const float *last = a.embeds + 4 * D;
    for (int j = 0; j < 5; j++) {
        float w = iid__f16_to_f32(iid__f32_to_f16(w0[j]));
        for (int d = 0; d < D; d++) {
            float want = w == 1.0f ? a.embeds[j * D + d] : last[d] + (a.embeds[j * D + d] - last[d]) * w;
            assert_true(out.embeds[j * D + d] == want);
        }
    }
    assert_float_equal(iid__f16_to_f32(iid__f32_to_f16(1.2f)), 1.2001953125f, 0.0f);
    assert_memory_equal(out.embeds + 5 * D, b.embeds, 3 * D * sizeof(float));
    assert_memory_equal(out.pooled, b.pooled, PD * sizeof(float)); /* pooled of the LAST chunk */
    iid__prompt_embeds_free(&out);

    /* All weights 1: the chunk is exactly the plain encoding. */
    iid_prompt_chunk_t plain = {5, c0, ones};
    assert_int_equal(iid__encode_prompt_weighted(&p.te1, &p.te2, &plain, 1, &out, &err), IID_OK);
    assert_memory_equal(out.embeds, a.embeds, 5 * D * sizeof(float));
    assert_memory_equal(out.pooled, a.pooled, PD * sizeof(float));
    iid__prompt_embeds_free(&out);
    assert_int_equal(iid__encode_prompt_weighted(&p.te1, &p.te2, chunks, 0, &out, &err), IID_ERR_INVALID);
    iid__prompt_embeds_free(&a);
    iid__prompt_embeds_free(&b);
    iid__clip_text_free(&p.te1);
    iid__clip_text_free(&p.te2);
}

/* The kit's encoders load with their configs' sizes and the projection only where
 * the weights have it. */
static void test_kit_encoders_load(void **state)
{
    (void)state;
    const char *env = getenv("IID_SHARED");
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/conformance/models/sdxl/text_encoder/config.json", env && *env ? env : "../shared");
    if (!iid__is_file(probe)) {
        iid_test_skip("no kit text encoders at %s", probe);
    }
    const char *dirs[] = {"conformance/models/sdxl/text_encoder", "conformance/models/sdxl/text_encoder_2"};
    for (int k = 0; k < 2; k++) {
        iid_clip_text_t m;
        iid_error_t err;
        iid_clip_config_t cfg;
        char cfg_path[4096];
        snprintf(cfg_path, sizeof cfg_path, "%s/config.json", iid_test_shared_path(dirs[k]));
        assert_int_equal(iid__clip_config_load(&cfg, cfg_path, &err), IID_OK);
        if (iid__clip_text_load(&m, iid_test_shared_path(dirs[k]), &err) != IID_OK) fail_msg("%s", err.msg);
        assert_int_equal(m.cfg.hidden, cfg.hidden);
        assert_int_equal(m.cfg.layers, cfg.layers);
        assert_int_equal(m.proj.m.data != NULL, k == 1);
        iid__clip_text_free(&m);
    }
}

/* Bytes the cpu backend holds prepared for m's weight matrices. */
static size_t prepared_bytes(const iid_clip_text_t *m)
{
    size_t n = 0;
    for (int i = 0; i < m->cfg.layers; i++) {
        const iid_clip_layer_t *l = &m->layer[i];
        const iid_weight_t *mats[] = {&l->q_w, &l->k_w, &l->v_w, &l->o_w, &l->fc1_w, &l->fc2_w};
        for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++) n += iid__dnnl_weight_info(mats[k]->m.prep).bytes;
    }
    return n;
}

/* On the cpu backend an encode prepares the encoders' weights and hands the
 * copies back when it is done (the denoising and the decode peak later); the
 * next encode prepares them again, to the same embeddings bit for bit. */
static void test_encode_hands_back_prepared_weights(void **state)
{
    (void)state;
    const char *sdxl = iid_test_shared_path("conformance/models/sdxl");
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/text_encoder_2/config.json", sdxl);
    if (!iid__is_file(probe)) iid_test_skip("no kit text encoders at %s", probe);
    assert_int_equal(setenv(IID_BACKEND_ENV, "cpu", 1), 0); /* models bind to it at load */
    iid_text_cond_t tc;
    iid_error_t err;
    if (iid__text_cond_load(&tc, sdxl, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(unsetenv(IID_BACKEND_ENV), 0);
    assert_string_equal(tc.te2.be->name, "cpu");
    iid_prompt_embeds_t pos[2], neg[2];
    for (int round = 0; round < 2; round++) {
        if (iid__text_cond_encode(&tc, IID_PROMPT_WEIGHTED, "a (portrait:1.2) of a person", "blurry", 1, &pos[round],
                                  &neg[round], &err) != IID_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(prepared_bytes(&tc.te1), 0);
        assert_int_equal(prepared_bytes(&tc.te2), 0);
        assert_int_equal(iid__dnnl_weight_info(tc.te2.layer[0].fc1_w.m.prep).kind, 1); /* it was prepared */
    }
    size_t n = (size_t)pos[0].tokens * pos[0].dim;
    assert_int_equal(pos[1].tokens, pos[0].tokens);
    assert_memory_equal(pos[1].embeds, pos[0].embeds, n * sizeof(float));
    assert_memory_equal(neg[1].embeds, neg[0].embeds, n * sizeof(float));
    assert_memory_equal(pos[1].pooled, pos[0].pooled, (size_t)pos[0].pooled_dim * sizeof(float));
    for (int r = 0; r < 2; r++) iid__prompt_embeds_free(&pos[r]), iid__prompt_embeds_free(&neg[r]);
    iid__text_cond_free(&tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors_name_file_and_tensor),
        cmocka_unit_test(test_config_defaults_and_projection_presence),
        cmocka_unit_test(test_pooled_index_is_first_largest_id),
        cmocka_unit_test(test_outputs_relate_as_documented),
        cmocka_unit_test(test_activation_changes_result),
        cmocka_unit_test(test_f16_weights_match_f32),
        cmocka_unit_test(test_encode_prompt_concat_and_zero_negative),
        cmocka_unit_test(test_force_zeros_from_model_index),
        cmocka_unit_test(test_weighted_chunks),
        cmocka_unit_test(test_kit_encoders_load),
        cmocka_unit_test(test_encode_hands_back_prepared_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
