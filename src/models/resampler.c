/*
 * resampler.c - InstantID's face Resampler (see resampler.h).
 *
 * Loading infers the hyper-parameters from the tensor shapes (the head split is
 * the caller's) and checks every other tensor against them. The forward pass
 * keeps the latents (B*Q, dim) in one buffer; each layer builds the key/value
 * input [norm1(x); norm2(lat)] per batch row, projects it once with to_kv, and
 * attends with iid__attention reading K and V as the two halves of each to_kv
 * row (kv_stride = 2 * inner), so nothing is split or copied.
 *
 * The reference scales q and k each by dim_head^-0.25 before their product; one
 * dim_head^-0.5 on the product is the same maths.
 */
#include "models/resampler.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/blocks.h"
#include "ops/backend.h"

#define RESAMPLER_EPS 1e-5f
#define MAX_NAME 512

/* ---- loading ---------------------------------------------------------------- */

/* The tensor prefix + formatted suffix, or NULL. */
static const iid_st_tensor_t *find(const iid_safetensors_t *st, const char *prefix, const char *suffix)
{
    char name[MAX_NAME];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    return iid__st_find(st, name);
}

/* Bind prefix + fmt with shape (d0) when d1 == 0, else (d0, d1), as an f32 array
 * in be's memory (blocks.h, iid__param_load). */
static iid_status get(const iid_backend_t *be, const iid_safetensors_t *st, const char *prefix, float **out,
                      int64_t d0, int64_t d1, iid_error_t *err, const char *fmt, ...) IID_PRINTF(8, 9);
static iid_status get(const iid_backend_t *be, const iid_safetensors_t *st, const char *prefix, float **out,
                      int64_t d0, int64_t d1, iid_error_t *err, const char *fmt, ...)
{
    char suffix[MAX_NAME], name[2 * MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    int64_t shape[2] = {d0, d1};
    return iid__param_load(be, st, out, d1 ? 2 : 1, shape, err, "%s", name);
}

/* A 2-D tensor's shape, or an error naming it. */
static iid_status shape2(const iid_safetensors_t *st, const char *prefix, const char *suffix, int64_t *rows,
                         int64_t *cols, iid_error_t *err)
{
    const iid_st_tensor_t *t = find(st, prefix, suffix);
    if (!t) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: tensor '%s%s' is missing", st->path, prefix, suffix);
    if (t->ndim != 2 || t->shape[0] <= 0 || t->shape[1] <= 0 || t->shape[0] > (1 << 24) || t->shape[1] > (1 << 24))
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s%s' must be a non-empty matrix", st->path, prefix,
                         suffix);
    *rows = t->shape[0];
    *cols = t->shape[1];
    return IID_OK;
}

/* depth = 1 + the largest i among `<prefix>layers.<i>.*` names (0 when none). */
static int count_layers(const iid_safetensors_t *st, const char *prefix)
{
    char head[MAX_NAME];
    snprintf(head, sizeof head, "%slayers.", prefix);
    size_t lh = strlen(head);
    long depth = 0;
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name;
        if (strncmp(name, head, lh) != 0) continue;
        char *end;
        long k = strtol(name + lh, &end, 10);
        if (end != name + lh && *end == '.' && k >= 0 && k < 4096 && k + 1 > depth) depth = k + 1;
    }
    return (int)depth;
}

static iid_status infer_sizes(iid_resampler_t *r, const iid_safetensors_t *st, const char *p, int heads,
                              iid_error_t *err)
{
    const iid_st_tensor_t *lat = find(st, p, "latents");
    if (!lat) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: tensor '%slatents' is missing", st->path, p);
    if (lat->ndim != 3 || lat->shape[0] != 1 || lat->shape[1] <= 0 || lat->shape[2] <= 0 ||
        lat->shape[1] > (1 << 20) || lat->shape[2] > (1 << 20))
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%slatents' must be (1, num_queries, dim)", st->path, p);
    r->num_queries = (int)lat->shape[1];
    r->dim = (int)lat->shape[2];
    int64_t rows, cols;
    IID_TRY(shape2(st, p, "proj_in.weight", &rows, &cols, err));
    if (rows != r->dim)
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%sproj_in.weight' has %lld rows, expected dim %d",
                         st->path, p, (long long)rows, r->dim);
    r->embedding_dim = (int)cols;
    IID_TRY(shape2(st, p, "proj_out.weight", &rows, &cols, err));
    r->output_dim = (int)rows;
    r->depth = count_layers(st, p);
    if (r->depth == 0) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no '%slayers.0.*' tensors", st->path, p);
    IID_TRY(shape2(st, p, "layers.0.1.1.weight", &rows, &cols, err));
    r->ff_inner = (int)rows;
    IID_TRY(shape2(st, p, "layers.0.0.to_q.weight", &rows, &cols, err));
    if (heads <= 0 || rows % heads != 0)
        return iid__fail(err, IID_ERR_INVALID,
                         "%s: tensor '%slayers.0.0.to_q.weight' has %lld rows, not a multiple of %d heads", st->path,
                         p, (long long)rows, heads);
    r->heads = heads;
    r->dim_head = (int)(rows / heads);
    return IID_OK;
}

static iid_status bind_layer(iid_resampler_layer_t *w, const iid_resampler_t *r, const iid_safetensors_t *st,
                             const char *p, int i, iid_error_t *err)
{
    const int64_t dim = r->dim, inner = (int64_t)r->heads * r->dim_head, ff = r->ff_inner;
    IID_TRY(get(r->be, st, p, &w->norm1_w, dim, 0, err, "layers.%d.0.norm1.weight", i));
    IID_TRY(get(r->be, st, p, &w->norm1_b, dim, 0, err, "layers.%d.0.norm1.bias", i));
    IID_TRY(get(r->be, st, p, &w->norm2_w, dim, 0, err, "layers.%d.0.norm2.weight", i));
    IID_TRY(get(r->be, st, p, &w->norm2_b, dim, 0, err, "layers.%d.0.norm2.bias", i));
    IID_TRY(get(r->be, st, p, &w->to_q, inner, dim, err, "layers.%d.0.to_q.weight", i));
    IID_TRY(get(r->be, st, p, &w->to_kv, 2 * inner, dim, err, "layers.%d.0.to_kv.weight", i));
    IID_TRY(get(r->be, st, p, &w->to_out, dim, inner, err, "layers.%d.0.to_out.weight", i));
    IID_TRY(get(r->be, st, p, &w->ff_norm_w, dim, 0, err, "layers.%d.1.0.weight", i));
    IID_TRY(get(r->be, st, p, &w->ff_norm_b, dim, 0, err, "layers.%d.1.0.bias", i));
    IID_TRY(get(r->be, st, p, &w->ff_w1, ff, dim, err, "layers.%d.1.1.weight", i));
    IID_TRY(get(r->be, st, p, &w->ff_w2, dim, ff, err, "layers.%d.1.3.weight", i));
    return IID_OK;
}

static iid_status bind_all(iid_resampler_t *r, const iid_safetensors_t *st, const char *p, int heads,
                           iid_error_t *err)
{
    IID_TRY(infer_sizes(r, st, p, heads, err));
    const int64_t dim = r->dim, out = r->output_dim;
    int64_t lat_shape[3] = {1, r->num_queries, dim};
    char name[MAX_NAME];
    snprintf(name, sizeof name, "%slatents", p);
    IID_TRY(iid__param_load(r->be, st, &r->latents, 3, lat_shape, err, "%s", name));
    IID_TRY(get(r->be, st, p, &r->proj_in_w, dim, r->embedding_dim, err, "proj_in.weight"));
    IID_TRY(get(r->be, st, p, &r->proj_in_b, dim, 0, err, "proj_in.bias"));
    IID_TRY(get(r->be, st, p, &r->proj_out_w, out, dim, err, "proj_out.weight"));
    IID_TRY(get(r->be, st, p, &r->proj_out_b, out, 0, err, "proj_out.bias"));
    IID_TRY(get(r->be, st, p, &r->norm_out_w, out, 0, err, "norm_out.weight"));
    IID_TRY(get(r->be, st, p, &r->norm_out_b, out, 0, err, "norm_out.bias"));
    r->layer = calloc((size_t)r->depth, sizeof *r->layer);
    if (!r->layer) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot allocate %d resampler layers", st->path, r->depth);
    for (int i = 0; i < r->depth; i++) IID_TRY(bind_layer(&r->layer[i], r, st, p, i, err));
    return IID_OK;
}

iid_status iid__resampler_load(iid_resampler_t *r, const iid_safetensors_t *st, const char *prefix, int heads,
                               iid_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->be = iid__backend_default();
    if (!prefix) prefix = "";
    if (strlen(prefix) > MAX_NAME / 2) return iid__fail(err, IID_ERR_INVALID, "resampler: prefix too long");
    iid_status s = bind_all(r, st, prefix, heads, err);
    if (s != IID_OK) iid__resampler_free(r);
    return s;
}

void iid__resampler_free(iid_resampler_t *r)
{
    if (!r) return;
    if (r->layer) {
        for (int i = 0; i < r->depth; i++) {
            iid_resampler_layer_t *w = &r->layer[i];
            float *all[] = {w->norm1_w, w->norm1_b, w->norm2_w,   w->norm2_b,   w->to_q, w->to_kv,
                            w->to_out,  w->ff_norm_w, w->ff_norm_b, w->ff_w1, w->ff_w2};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) iid__param_free(r->be, all[k]);
        }
        free(r->layer);
    }
    float *top[] = {r->latents, r->proj_in_w, r->proj_in_b, r->proj_out_w, r->proj_out_b, r->norm_out_w,
                    r->norm_out_b};
    for (size_t k = 0; k < sizeof top / sizeof top[0]; k++) iid__param_free(r->be, top[k]);
    memset(r, 0, sizeof *r);
}

/* ---- forward ---------------------------------------------------------------- */

typedef struct scratch {
    float *x;    /* (B*N, dim) projected embedding */
    float *lat;  /* (B*Q, dim) latents */
    float *ln;   /* (B*Q, dim) normalised latents */
    float *kvin; /* (B, N+Q, dim) key/value input */
    float *q;    /* (B*Q, inner) */
    float *kv;   /* (B*(N+Q), 2*inner) */
    float *a;    /* (B*Q, inner) attention output */
    float *o;    /* (B*Q, dim) branch output */
    float *f;    /* (B*Q, ff_inner) */
} scratch_t;

/* An f32 (rows, cols) weight as the op table takes it. */
static iid_wmat_t mat(const float *w, int rows, int cols) { return (iid_wmat_t){w, IID_DTYPE_F32, rows, cols, NULL, 0}; }

/* lat += attn(x, lat). */
static iid_status perceiver_attention(const iid_backend_t *be, const iid_resampler_t *r, const iid_resampler_layer_t *w,
                                      int B, int N, scratch_t *s, iid_error_t *err)
{
    const int dim = r->dim, Q = r->num_queries, inner = r->heads * r->dim_head, Tk = N + Q;
    for (int b = 0; b < B; b++) {
        float *kb = s->kvin + (size_t)b * Tk * dim; // (N+Q, dim)
        IID_TRY(iid__op_layer_norm(be, kb, s->x + (size_t)b * N * dim, w->norm1_w, w->norm1_b, N, dim, RESAMPLER_EPS,
                                   err));
        IID_TRY(iid__op_layer_norm(be, kb + (size_t)N * dim, s->lat + (size_t)b * Q * dim, w->norm2_w, w->norm2_b, Q,
                                   dim, RESAMPLER_EPS, err));
        iid__op_copy(be, s->ln + (size_t)b * Q * dim, kb + (size_t)N * dim, (size_t)Q * dim * sizeof *kb);
    }
    iid_wmat_t to_q = mat(w->to_q, inner, dim), to_kv = mat(w->to_kv, 2 * inner, dim), to_out = mat(w->to_out, dim, inner);
    IID_TRY(iid__op_linear(be, s->q, s->ln, &to_q, NULL, B * Q, err));
    IID_TRY(iid__op_linear(be, s->kv, s->kvin, &to_kv, NULL, B * Tk, err));
    iid_attn_shape_t as = {.B = B, .H = r->heads, .Tq = Q, .Tk = Tk, .D = r->dim_head, .q_stride = inner,
                           .kv_stride = 2 * inner, .scale = 1.0f / sqrtf((float)r->dim_head), .causal = 0};
    IID_TRY(iid__op_attention(be, s->a, s->q, s->kv, s->kv + inner, &as, err));
    IID_TRY(iid__op_linear(be, s->o, s->a, &to_out, NULL, B * Q, err));
    return iid__op_add(be, s->lat, s->o, (int64_t)B * Q * dim, err);
}

/* lat += ff(lat) */
static iid_status feed_forward(const iid_backend_t *be, const iid_resampler_t *r, const iid_resampler_layer_t *w, int B,
                               scratch_t *s, iid_error_t *err)
{
    const int dim = r->dim, M = B * r->num_queries;
    iid_wmat_t w1 = mat(w->ff_w1, r->ff_inner, dim), w2 = mat(w->ff_w2, dim, r->ff_inner);
    IID_TRY(iid__op_layer_norm(be, s->ln, s->lat, w->ff_norm_w, w->ff_norm_b, M, dim, RESAMPLER_EPS, err));
    IID_TRY(iid__op_linear(be, s->f, s->ln, &w1, NULL, M, err));
    IID_TRY(iid__op_unary(be, IID_UNARY_GELU_ERF, s->f, (int64_t)M * r->ff_inner, err));
    IID_TRY(iid__op_linear(be, s->o, s->f, &w2, NULL, M, err));
    return iid__op_add(be, s->lat, s->o, (int64_t)M * dim, err);
}

static iid_status forward(const iid_resampler_t *r, const float *emb, int B, int N, float *tokens, scratch_t *s,
                          iid_error_t *err)
{
    const iid_backend_t *be = r->be;
    const size_t dim = (size_t)r->dim, Q = (size_t)r->num_queries, BN = (size_t)B * N, BQ = (size_t)B * Q;
    iid_wmat_t pin = mat(r->proj_in_w, r->dim, r->embedding_dim), pout = mat(r->proj_out_w, r->output_dim, r->dim);
    IID_TRY(iid__op_linear(be, s->x, emb, &pin, r->proj_in_b, (int)BN, err)); // (B*N, dim)
    for (int b = 0; b < B; b++) iid__op_copy(be, s->lat + (size_t)b * Q * dim, r->latents, Q * dim * sizeof(float));
    for (int l = 0; l < r->depth; l++) {
        IID_TRY(perceiver_attention(be, r, &r->layer[l], B, N, s, err));
        IID_TRY(feed_forward(be, r, &r->layer[l], B, s, err));
    }
    IID_TRY(iid__op_linear(be, tokens, s->lat, &pout, r->proj_out_b, (int)BQ, err)); // (B*Q, O)
    return iid__op_layer_norm(be, tokens, tokens, r->norm_out_w, r->norm_out_b, (int64_t)BQ, r->output_dim,
                              RESAMPLER_EPS, err);
}

iid_status iid__resampler_forward(const iid_resampler_t *r, const iid_tensor_t *emb, const iid_tensor_t *tokens,
                                  iid_error_t *err)
{
    if (!r->latents) return iid__fail(err, IID_ERR_INVALID, "resampler: not loaded");
    int64_t B = emb->shape[0], N = emb->shape[1];
    if (emb->ndim != 3 || emb->shape[2] != r->embedding_dim || B <= 0 || N <= 0 || B > (1 << 16) || N > (1 << 16))
        return iid__fail(err, IID_ERR_INVALID, "resampler: input is %dD (%lld, %lld, ...), expected (B, N, %d)",
                         emb->ndim, (long long)B, (long long)N, r->embedding_dim);
    if (iid__tensor_numel(tokens) != B * r->num_queries * r->output_dim)
        return iid__fail(err, IID_ERR_INVALID, "resampler: the output must be (%lld, %d, %d)", (long long)B,
                         r->num_queries, r->output_dim);
    const size_t dim = (size_t)r->dim, Q = (size_t)r->num_queries, inner = (size_t)r->heads * r->dim_head;
    const size_t BN = (size_t)B * N, BQ = (size_t)B * Q, BT = BN + BQ;
    size_t total = BN * dim + 3 * BQ * dim + BT * dim + 2 * BQ * inner + BT * 2 * inner + BQ * r->ff_inner;
    float *mem = iid__op_alloc(r->be, total * sizeof *mem);
    if (!mem) return iid__fail(err, IID_ERR_NOMEM, "resampler: cannot allocate activations for batch %lld", (long long)B);
    scratch_t s;
    float *p = mem;
    s.x = p, p += BN * dim;
    s.lat = p, p += BQ * dim;
    s.ln = p, p += BQ * dim;
    s.o = p, p += BQ * dim;
    s.kvin = p, p += BT * dim;
    s.q = p, p += BQ * inner;
    s.a = p, p += BQ * inner;
    s.kv = p, p += BT * 2 * inner;
    s.f = p;
    iid_status st = forward(r, emb->data, (int)B, (int)N, tokens->data, &s, err);
    iid__op_free(r->be, mem);
    return st;
}

iid_status iid__encode_prompt_image_emb(const iid_resampler_t *r, const float *emb, int n_values, int cfg,
                                        const iid_tensor_t *tokens, iid_error_t *err)
{
    const int E = r->embedding_dim;
    if (E <= 0 || n_values <= 0 || n_values % E != 0)
        return iid__fail(err, IID_ERR_INVALID, "resampler: face embedding of %d values is not a multiple of %d",
                         n_values, E);
    const int N = n_values / E, B = cfg ? 2 : 1;
    /* With cfg the batch is [zeros; emb]: the unconditional half is a zero
     * embedding, whose tokens are not zero (biases, latents). */
    iid_tensor_t both; // (B, N, E)
    if (iid__tensor_alloc_on(&both, r->be, IID_DTYPE_F32, 3, (int64_t[]){B, N, E}, NULL) != IID_OK)
        return iid__fail(err, IID_ERR_NOMEM, "resampler: cannot allocate the face embedding batch");
    if (cfg) iid__op_fill(r->be, both.data, 0.0f, n_values);
    iid_tensor_t last = iid__tensor_slice(&both, B - 1, 1); /* the conditional item */
    iid__tensor_upload(&last, emb);
    iid_status s = iid__resampler_forward(r, &both, tokens, err);
    iid__tensor_release(&both);
    return s;
}
