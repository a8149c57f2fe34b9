/*
 * clip_text.c - loading and running the CLIP text transformer (see clip_text.h).
 *
 * Loading reads config.json first, then binds every tensor by its transformers
 * name with the shape the config implies, so a checkpoint that disagrees with its
 * config is refused at load with the tensor named, never misread at run time.
 *
 * The forward pass keeps the residual stream x (B*T, C) in one buffer and works
 * through a few scratch buffers of the same size (LayerNorm output, q, k, v,
 * attention output) plus one (B*T, I) for the MLP; all are allocated once per
 * call. Attention is iid__attention with the causal mask, per batch row and head.
 */
#include "models/clip_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/component_dir.h"
#include "io/file.h"
#include "io/json.h"
#include "ops/backend.h"

/* ---- config ----------------------------------------------------------------- */

static iid_status positive_int(const iid_json_t *j, const char *key, int *out, iid_error_t *err)
{
    long long v = 0;
    IID_TRY(iid__json_int(j, key, &v, err));
    if (v <= 0 || v > (1 << 24))
        return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' is %lld, expected a positive size", j->path, key, v);
    *out = (int)v;
    return IID_OK;
}

iid_status iid__clip_config_parse(iid_clip_config_t *cfg, const iid_json_t *j, iid_error_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    IID_TRY(positive_int(j, "vocab_size", &cfg->vocab_size, err));
    IID_TRY(positive_int(j, "hidden_size", &cfg->hidden, err));
    IID_TRY(positive_int(j, "num_hidden_layers", &cfg->layers, err));
    IID_TRY(positive_int(j, "num_attention_heads", &cfg->heads, err));
    IID_TRY(positive_int(j, "intermediate_size", &cfg->intermediate, err));
    IID_TRY(positive_int(j, "max_position_embeddings", &cfg->max_positions, err));
    if (cfg->hidden % cfg->heads != 0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                         j->path, cfg->hidden, cfg->heads);
    double eps = 1e-5; /* CLIPTextConfig's default */
    IID_TRY(iid__json_double_opt(j, "layer_norm_eps", &eps, err));
    if (!(eps > 0.0) || eps > 1.0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: field 'layer_norm_eps' is %g, expected a small positive number",
                         j->path, eps);
    cfg->eps = (float)eps;
    const char *act = "quick_gelu"; /* CLIPTextConfig's default */
    IID_TRY(iid__json_string_opt(j, "hidden_act", &act, err));
    if (strcmp(act, "quick_gelu") == 0) cfg->act = IID_CLIP_ACT_QUICK_GELU;
    else if (strcmp(act, "gelu") == 0) cfg->act = IID_CLIP_ACT_GELU;
    else
        return iid__fail(err, IID_ERR_UNSUPPORTED,
                         "%s: field 'hidden_act' is \"%s\", expected \"quick_gelu\" or \"gelu\"", j->path, act);
    return IID_OK;
}

iid_status iid__clip_config_load(iid_clip_config_t *cfg, const char *config_path, iid_error_t *err)
{
    iid_json_t j;
    IID_TRY(iid__json_load(&j, config_path, err));
    iid_status s = iid__clip_config_parse(cfg, &j, err);
    iid__json_free(&j);
    return s;
}

/* Whether config.json's `architectures` list names the projection model. */
static int wants_projection(const iid_json_t *j)
{
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j->root, "architectures");
    const cJSON *a;
    cJSON_ArrayForEach(a, arch)
    {
        if (cJSON_IsString(a) && strcmp(a->valuestring, "CLIPTextModelWithProjection") == 0) return 1;
    }
    return 0;
}

/* ---- weights ---------------------------------------------------------------- */

/* Bind the f32 parameter named by fmt with shape (d0) when d1 == 0, else (d0, d1),
 * to be (blocks.h, iid__param_bind). */
static iid_status get(const iid_backend_t *be, const iid_safetensors_t *st, float **out, int64_t d0, int64_t d1,
                      iid_error_t *err, const char *fmt, ...) IID_PRINTF(7, 8);
static iid_status get(const iid_backend_t *be, const iid_safetensors_t *st, float **out, int64_t d0, int64_t d1,
                      iid_error_t *err, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t shape[2] = {d0, d1};
    IID_TRY(iid__st_load_f32(st, name, d1 ? 2 : 1, shape, out, err));
    return iid__param_bind(be, out, (size_t)d0 * (d1 ? d1 : 1), err);
}

#define WEIGHT(field, d0, d1, ...) iid__weight_bind(st, &(field), 2, (int64_t[]){d0, d1}, err, __VA_ARGS__)

static iid_status bind_layer(const iid_backend_t *be, iid_clip_layer_t *w, const iid_safetensors_t *st,
                             const iid_clip_config_t *c, int i, iid_error_t *err)
{
    const int64_t C = c->hidden, I = c->intermediate;
    const char *p = "text_model.encoder.layers";
    IID_TRY(get(be, st, &w->ln1_w, C, 0, err, "%s.%d.layer_norm1.weight", p, i));
    IID_TRY(get(be, st, &w->ln1_b, C, 0, err, "%s.%d.layer_norm1.bias", p, i));
    IID_TRY(WEIGHT(w->q_w, C, C, "%s.%d.self_attn.q_proj.weight", p, i));
    IID_TRY(get(be, st, &w->q_b, C, 0, err, "%s.%d.self_attn.q_proj.bias", p, i));
    IID_TRY(WEIGHT(w->k_w, C, C, "%s.%d.self_attn.k_proj.weight", p, i));
    IID_TRY(get(be, st, &w->k_b, C, 0, err, "%s.%d.self_attn.k_proj.bias", p, i));
    IID_TRY(WEIGHT(w->v_w, C, C, "%s.%d.self_attn.v_proj.weight", p, i));
    IID_TRY(get(be, st, &w->v_b, C, 0, err, "%s.%d.self_attn.v_proj.bias", p, i));
    IID_TRY(WEIGHT(w->o_w, C, C, "%s.%d.self_attn.out_proj.weight", p, i));
    IID_TRY(get(be, st, &w->o_b, C, 0, err, "%s.%d.self_attn.out_proj.bias", p, i));
    IID_TRY(get(be, st, &w->ln2_w, C, 0, err, "%s.%d.layer_norm2.weight", p, i));
    IID_TRY(get(be, st, &w->ln2_b, C, 0, err, "%s.%d.layer_norm2.bias", p, i));
    IID_TRY(WEIGHT(w->fc1_w, I, C, "%s.%d.mlp.fc1.weight", p, i));
    IID_TRY(get(be, st, &w->fc1_b, I, 0, err, "%s.%d.mlp.fc1.bias", p, i));
    IID_TRY(WEIGHT(w->fc2_w, C, I, "%s.%d.mlp.fc2.weight", p, i));
    IID_TRY(get(be, st, &w->fc2_b, C, 0, err, "%s.%d.mlp.fc2.bias", p, i));
    return IID_OK;
}

static iid_status bind_all(iid_clip_text_t *m, const iid_safetensors_t *st, int require_projection, iid_error_t *err)
{
    iid_clip_config_t *c = &m->cfg;
    const iid_backend_t *be = m->be;
    const int64_t C = c->hidden;
    IID_TRY(WEIGHT(m->token_emb, c->vocab_size, C, "text_model.embeddings.token_embedding.weight"));
    IID_TRY(get(be, st, &m->pos_emb, c->max_positions, C, err, "text_model.embeddings.position_embedding.weight"));
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    if (!m->layer) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot allocate %d layers", st->path, c->layers);
    for (int i = 0; i < c->layers; i++) IID_TRY(bind_layer(m->be, &m->layer[i], st, c, i, err));
    IID_TRY(get(be, st, &m->final_ln_w, C, 0, err, "text_model.final_layer_norm.weight"));
    IID_TRY(get(be, st, &m->final_ln_b, C, 0, err, "text_model.final_layer_norm.bias"));
    const iid_st_tensor_t *proj = iid__st_find(st, "text_projection.weight");
    if (!proj && require_projection)
        return iid__fail(err, IID_ERR_NOT_FOUND,
                         "%s: tensor 'text_projection.weight' is missing (required by CLIPTextModelWithProjection)",
                         st->path);
    if (proj) {
        /* The projection width is read from the tensor; its input must be C. */
        if (proj->ndim != 2 || proj->shape[0] <= 0 || proj->shape[0] > (1 << 24))
            return iid__fail(err, IID_ERR_FORMAT, "%s: tensor 'text_projection.weight' must be 2-D (proj_dim, %d)",
                             st->path, c->hidden);
        c->projection_dim = (int)proj->shape[0];
        IID_TRY(WEIGHT(m->proj, c->projection_dim, C, "text_projection.weight"));
    }
    return IID_OK;
}

iid_status iid__clip_text_bind(iid_clip_text_t *m, const iid_safetensors_t *st, int require_projection,
                               iid_error_t *err)
{
    iid_clip_config_t cfg = m->cfg;
    memset(m, 0, sizeof *m);
    m->cfg = cfg;
    m->cfg.projection_dim = 0; /* set from the weights */
    m->be = iid__backend_default();
    iid_status s = bind_all(m, st, require_projection, err);
    if (s != IID_OK) iid__clip_text_free(m);
    return s;
}

iid_status iid__clip_text_load_parts(iid_clip_text_t *m, const iid_json_t *config, iid_safetensors_t *st,
                                    iid_error_t *err)
{
    memset(m, 0, sizeof *m);
    iid_status s = iid__clip_config_parse(&m->cfg, config, err);
    if (s == IID_OK) s = iid__clip_text_bind(m, st, wants_projection(config), err);
    if (s != IID_OK) {
        iid__st_close(st);
        return s;
    }
    m->file = *st; /* the index moves into the model; views point into its map */
    memset(st, 0, sizeof *st);
    return IID_OK;
}

iid_status iid__clip_text_load(iid_clip_text_t *m, const char *dir, iid_error_t *err)
{
    iid_json_t j;
    iid_safetensors_t st;
    memset(m, 0, sizeof *m);
    IID_TRY(iid__component_open(dir, "model.safetensors", &j, &st, err));
    iid_status s = iid__clip_text_load_parts(m, &j, &st, err);
    iid__json_free(&j);
    return s;
}

void iid__clip_text_free(iid_clip_text_t *m)
{
    if (!m) return;
    if (m->layer) {
        for (int i = 0; i < m->cfg.layers; i++) {
            iid_clip_layer_t *w = &m->layer[i];
            float *all[] = {w->ln1_w, w->ln1_b, w->q_b, w->k_b, w->v_b, w->o_b, w->ln2_w, w->ln2_b, w->fc1_b, w->fc2_b};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) iid__param_free(m->be, all[k]);
            iid_weight_t *mats[] = {&w->q_w, &w->k_w, &w->v_w, &w->o_w, &w->fc1_w, &w->fc2_w};
            for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++) iid__weight_free(mats[k]);
        }
        free(m->layer);
    }
    iid__weight_free(&m->token_emb);
    iid__param_free(m->be, m->pos_emb);
    iid__param_free(m->be, m->final_ln_w);
    iid__param_free(m->be, m->final_ln_b);
    iid__weight_free(&m->proj);
    iid__st_close(&m->file);
    memset(m, 0, sizeof *m);
}

void iid__clip_text_trim(const iid_clip_text_t *m)
{
    for (int i = 0; m->layer && i < m->cfg.layers; i++) {
        const iid_clip_layer_t *w = &m->layer[i];
        const iid_weight_t *mats[] = {&w->q_w, &w->k_w, &w->v_w, &w->o_w, &w->fc1_w, &w->fc2_w};
        for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++) iid__weight_trim(mats[k]);
    }
    iid__weight_trim(&m->token_emb);
    iid__weight_trim(&m->proj);
}

/* ---- forward ---------------------------------------------------------------- */

int iid__clip_pooled_index(const int64_t *ids, int T)
{
    int best = 0;
    for (int t = 1; t < T; t++)
        if (ids[t] > ids[best]) best = t; /* strict: the first occurrence wins */
    return best;
}

typedef struct scratch {
    float *h;       /* (M, C) LayerNorm output, then projection output */
    float *q, *k, *v, *a; /* (M, C) each */
    float *f;       /* (M, I) MLP hidden */
} scratch_t;

/* x (B*T, C) += the layer's attention and MLP branches. */
static iid_status run_layer(const iid_backend_t *be, const iid_clip_config_t *c, const iid_clip_layer_t *w, float *x,
                            int B, int T, scratch_t *s, iid_error_t *err)
{
    const int C = c->hidden, I = c->intermediate, M = B * T;
    const int64_t MC = (int64_t)M * C;
    IID_TRY(iid__op_layer_norm(be, s->h, x, w->ln1_w, w->ln1_b, M, C, c->eps, err));
    IID_TRY(iid__op_linear(be, s->q, s->h, &w->q_w.m, w->q_b, M, err));
    IID_TRY(iid__op_linear(be, s->k, s->h, &w->k_w.m, w->k_b, M, err));
    IID_TRY(iid__op_linear(be, s->v, s->h, &w->v_w.m, w->v_b, M, err));
    const int D = C / c->heads;
    iid_attn_shape_t as = {.B = B, .H = c->heads, .Tq = T, .Tk = T, .D = D, .q_stride = C, .kv_stride = C,
                           .scale = 1.0f / sqrtf((float)D), .causal = 1};
    IID_TRY(iid__op_attention(be, s->a, s->q, s->k, s->v, &as, err));
    IID_TRY(iid__op_linear(be, s->h, s->a, &w->o_w.m, w->o_b, M, err));
    IID_TRY(iid__op_add(be, x, s->h, MC, err));

    IID_TRY(iid__op_layer_norm(be, s->h, x, w->ln2_w, w->ln2_b, M, C, c->eps, err));
    IID_TRY(iid__op_linear(be, s->f, s->h, &w->fc1_w.m, w->fc1_b, M, err)); // (M, I)
    IID_TRY(iid__op_unary(be, c->act == IID_CLIP_ACT_GELU ? IID_UNARY_GELU_ERF : IID_UNARY_QUICK_GELU, s->f,
                          (int64_t)M * I, err));
    IID_TRY(iid__op_linear(be, s->h, s->f, &w->fc2_w.m, w->fc2_b, M, err));
    return iid__op_add(be, x, s->h, MC, err);
}

/* x (B, T, C) = token_embedding[ids] + position_embedding[:T]; ids are host memory. */
static iid_status embed(const iid_backend_t *be, const iid_clip_text_t *m, const int64_t *ids, int B, int T, float *x,
                        iid_error_t *err)
{
    const int C = m->cfg.hidden;
    int32_t *ids32 = malloc((size_t)B * T * sizeof *ids32);
    if (!ids32) return iid__fail(err, IID_ERR_NOMEM, "clip_text: out of memory");
    for (int64_t i = 0; i < (int64_t)B * T; i++) ids32[i] = (int32_t)ids[i]; /* checked < vocab_size */
    iid_status s = iid__op_gather_rows(be, x, &m->token_emb.m, ids32, B * T, err);
    free(ids32);
    for (int b = 0; b < B && s == IID_OK; b++) s = iid__op_add(be, x + (size_t)b * T * C, m->pos_emb, (int64_t)T * C, err);
    return s;
}

static iid_status forward(const iid_clip_text_t *m, const int64_t *ids, int B, int T, const iid_clip_outputs_t *out,
                          int hid, int run_layers, int need_final, float *x, scratch_t *s, iid_error_t *err)
{
    const iid_backend_t *be = m->be;
    const iid_clip_config_t *c = &m->cfg;
    const int C = c->hidden;
    const size_t M = (size_t)B * T, MC = M * C;
    IID_TRY(embed(be, m, ids, B, T, x, err));
    if (out->embeddings) iid__op_copy(be, out->embeddings, x, MC * sizeof *x);
    if (hid == 0) iid__op_copy(be, out->hidden, x, MC * sizeof *x);
    for (int l = 0; l < run_layers; l++) {
        IID_TRY(run_layer(be, c, &m->layer[l], x, B, T, s, err));
        if (l + 1 == hid) iid__op_copy(be, out->hidden, x, MC * sizeof *x);
    }
    if (!need_final) return IID_OK;
    IID_TRY(iid__op_layer_norm(be, s->h, x, m->final_ln_w, m->final_ln_b, (int64_t)M, C, c->eps, err)); // (B, T, C)
    if (out->last_hidden) iid__op_copy(be, out->last_hidden, s->h, MC * sizeof *x);
    float *pooled = s->q; // (B, C)
    for (int b = 0; b < B; b++) {
        int p = iid__clip_pooled_index(ids + (size_t)b * T, T);
        iid__op_copy(be, pooled + (size_t)b * C, s->h + ((size_t)b * T + p) * C, (size_t)C * sizeof *x);
    }
    if (out->pooled) iid__op_copy(be, out->pooled, pooled, (size_t)B * C * sizeof *x);
    if (out->text_embeds) IID_TRY(iid__op_linear(be, out->text_embeds, pooled, &m->proj.m, NULL, B, err));
    return IID_OK;
}

iid_status iid__clip_text_forward(const iid_clip_text_t *m, const int64_t *ids, int B, int T,
                                  const iid_clip_outputs_t *out, iid_error_t *err)
{
    const iid_clip_config_t *c = &m->cfg;
    const int C = c->hidden, L = c->layers;
    if (!m->token_emb.m.data) return iid__fail(err, IID_ERR_INVALID, "clip_text: model is not loaded");
    if (B <= 0 || T <= 0 || T > c->max_positions)
        return iid__fail(err, IID_ERR_INVALID, "clip_text: input is (%d, %d), expected 1 <= T <= %d", B, T,
                         c->max_positions);
    for (int64_t i = 0; i < (int64_t)B * T; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return iid__fail(err, IID_ERR_INVALID, "clip_text: token id %lld at position %lld is outside [0, %d)",
                             (long long)ids[i], (long long)i, c->vocab_size);
    int hid = -1;
    if (out->hidden) {
        hid = out->hidden_index < 0 ? L + 1 + out->hidden_index : out->hidden_index;
        if (hid < 0 || hid > L)
            return iid__fail(err, IID_ERR_INVALID, "clip_text: hidden_index %d is outside [-%d, %d]",
                             out->hidden_index, L + 1, L);
    }
    if (out->text_embeds && !m->proj.m.data)
        return iid__fail(err, IID_ERR_INVALID, "clip_text: text_embeds asked of a model without text_projection");
    const int need_final = out->last_hidden || out->pooled || out->text_embeds;
    const int run_layers = need_final ? L : (hid > 0 ? hid : 0);

    const size_t M = (size_t)B * T, MC = M * C;
    float *mem = iid__op_alloc(m->be, (6 * MC + M * (size_t)c->intermediate) * sizeof *mem);
    if (!mem) return iid__fail(err, IID_ERR_NOMEM, "clip_text: cannot allocate activations for (%d, %d)", B, T);
    scratch_t s = {.h = mem + MC, .q = mem + 2 * MC, .k = mem + 3 * MC, .v = mem + 4 * MC, .a = mem + 5 * MC,
                   .f = mem + 6 * MC};
    iid_status st = forward(m, ids, B, T, out, hid, run_layers, need_final, mem /* x (B, T, C) */, &s, err);
    iid__op_free(m->be, mem);
    return st;
}
