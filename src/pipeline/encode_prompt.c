/*
 * encode_prompt.c - SDXL text conditioning from token ids (see encode_prompt.h).
 *
 * Everything reduces to one step, encode_rows(): run one id sequence through both
 * encoders up to their penultimate layer (te2 to the end as well, for its pooled
 * projection) and interleave the two hidden states per token into rows of
 * D = C1 + C2 values. encode_prompt calls it once per prompt; the weighted path
 * calls it per chunk, writing each chunk at its token offset, then re-weights
 * that chunk's rows in place.
 */
#include "pipeline/encode_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "io/file.h"
#include "io/json.h"

void iid__prompt_embeds_free(iid_prompt_embeds_t *e)
{
    if (!e) return;
    free(e->embeds);
    free(e->pooled);
    memset(e, 0, sizeof *e);
}

iid_status iid__prompt_embeds_copy(iid_prompt_embeds_t *dst, const iid_prompt_embeds_t *src, iid_error_t *err)
{
    memset(dst, 0, sizeof *dst);
    size_t ne = (size_t)src->tokens * (size_t)src->dim, np = (size_t)src->pooled_dim;
    dst->embeds = malloc((ne ? ne : 1) * sizeof(float));
    dst->pooled = malloc((np ? np : 1) * sizeof(float));
    if (!dst->embeds || !dst->pooled) {
        iid__prompt_embeds_free(dst);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory copying text embeddings");
    }
    memcpy(dst->embeds, src->embeds, ne * sizeof(float));
    memcpy(dst->pooled, src->pooled, np * sizeof(float));
    dst->tokens = src->tokens;
    dst->dim = src->dim;
    dst->pooled_dim = src->pooled_dim;
    return IID_OK;
}

iid_status iid__sdxl_encoders_check(const iid_clip_text_t *te1, const iid_clip_text_t *te2, iid_error_t *err)
{
    if (!te1->token_emb.m.data) return iid__fail(err, IID_ERR_INVALID, "encode_prompt: text_encoder is not loaded");
    if (!te2->token_emb.m.data) return iid__fail(err, IID_ERR_INVALID, "encode_prompt: text_encoder_2 is not loaded");
    if (!te2->proj.m.data)
        return iid__fail(err, IID_ERR_INVALID,
                         "encode_prompt: text_encoder_2 has no text_projection (expected CLIPTextModelWithProjection)");
    return IID_OK;
}

/* Allocate *e for T tokens; zeroed buffers. */
static iid_status embeds_alloc(iid_prompt_embeds_t *e, const iid_clip_text_t *te1, const iid_clip_text_t *te2, int T,
                               iid_error_t *err)
{
    memset(e, 0, sizeof *e);
    e->tokens = T;
    e->dim = te1->cfg.hidden + te2->cfg.hidden;
    e->pooled_dim = te2->cfg.projection_dim;
    e->embeds = calloc((size_t)T * e->dim, sizeof *e->embeds);
    e->pooled = calloc((size_t)e->pooled_dim, sizeof *e->pooled);
    if (!e->embeds || !e->pooled) {
        iid__prompt_embeds_free(e);
        return iid__fail(err, IID_ERR_NOMEM, "encode_prompt: cannot allocate embeddings for %d tokens", T);
    }
    return IID_OK;
}

/* rows (T, D) with row stride D = C1 + C2: te1 penultimate | te2 penultimate;
 * pooled (P) = te2 text_embeds. rows and pooled are host memory; the encoders
 * write into their backend's memory, downloaded row by row into the interleaved
 * layout (a memcpy on a host backend, as before). */
static iid_status encode_rows(const iid_clip_text_t *te1, const iid_clip_text_t *te2, const int64_t *ids1,
                              const int64_t *ids2, int T, float *rows, float *pooled, iid_error_t *err)
{
    const int C1 = te1->cfg.hidden, C2 = te2->cfg.hidden, D = C1 + C2, P = te2->cfg.projection_dim;
    float *h1 = iid__op_alloc(te1->be, (size_t)T * C1 * sizeof *h1); // (T, C1)
    float *h2 = iid__op_alloc(te2->be, (size_t)T * C2 * sizeof *h2); // (T, C2)
    float *pd = iid__op_alloc(te2->be, (size_t)(P > 0 ? P : 1) * sizeof *pd); // (P)
    iid_status s = IID_OK;
    if (!h1 || !h2 || !pd) {
        s = iid__fail(err, IID_ERR_NOMEM, "encode_prompt: cannot allocate hidden states for %d tokens", T);
        goto done;
    }
    iid_clip_outputs_t o1 = {.hidden_index = -2, .hidden = iid__tensor_wrap(te1->be, h1, 3, (int64_t[]){1, T, C1})};
    iid_clip_outputs_t o2 = {.hidden_index = -2, .hidden = iid__tensor_wrap(te2->be, h2, 3, (int64_t[]){1, T, C2}),
                             .text_embeds = iid__tensor_wrap(te2->be, pd, 2, (int64_t[]){1, P})};
    s = iid__clip_text_forward(te1, ids1, 1, T, &o1, err);
    if (s != IID_OK) {
        iid__prefix(err, s, "text_encoder");
        goto done;
    }
    s = iid__clip_text_forward(te2, ids2, 1, T, &o2, err);
    if (s != IID_OK) {
        iid__prefix(err, s, "text_encoder_2");
        goto done;
    }
    for (int t = 0; t < T && s == IID_OK; t++) {
        s = iid__op_download(te1->be, rows + (size_t)t * D, h1 + (size_t)t * C1, (size_t)C1 * sizeof *rows, err);
        if (s == IID_OK)
            s = iid__op_download(te2->be, rows + (size_t)t * D + C1, h2 + (size_t)t * C2, (size_t)C2 * sizeof *rows,
                                 err);
    }
    if (s == IID_OK) s = iid__op_download(te2->be, pooled, pd, (size_t)P * sizeof *pooled, err);
done:
    iid__op_free(te1->be, h1);
    iid__op_free(te2->be, h2);
    iid__op_free(te2->be, pd);
    return s;
}

iid_status iid__encode_prompt_one(const iid_clip_text_t *te1, const iid_clip_text_t *te2, const int64_t *ids1,
                                  const int64_t *ids2, int T, iid_prompt_embeds_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(iid__sdxl_encoders_check(te1, te2, err));
    IID_TRY(embeds_alloc(out, te1, te2, T, err));
    iid_status s = encode_rows(te1, te2, ids1, ids2, T, out->embeds, out->pooled, err);
    if (s != IID_OK) iid__prompt_embeds_free(out);
    return s;
}

iid_status iid__encode_prompt(const iid_clip_text_t *te1, const iid_clip_text_t *te2, const int64_t *ids1,
                              const int64_t *ids2, const int64_t *neg_ids1, const int64_t *neg_ids2, int T,
                              int force_zeros_for_empty_prompt, iid_prompt_embeds_t *prompt,
                              iid_prompt_embeds_t *negative, iid_error_t *err)
{
    memset(prompt, 0, sizeof *prompt);
    memset(negative, 0, sizeof *negative);
    const int neg_none = !neg_ids1 && !neg_ids2;
    if (!neg_none && (!neg_ids1 || !neg_ids2))
        return iid__fail(err, IID_ERR_INVALID, "encode_prompt: negative ids given for only one tokenizer");
    if (neg_none && !force_zeros_for_empty_prompt)
        return iid__fail(err, IID_ERR_INVALID,
                         "encode_prompt: negative prompt None without force_zeros_for_empty_prompt: pass the ids of \"\"");
    IID_TRY(iid__encode_prompt_one(te1, te2, ids1, ids2, T, prompt, err));
    /* A None negative with force_zeros: zeros of the prompt's shapes. */
    iid_status s = neg_none ? embeds_alloc(negative, te1, te2, T, err)
                            : iid__encode_prompt_one(te1, te2, neg_ids1, neg_ids2, T, negative, err);
    if (s != IID_OK) iid__prompt_embeds_free(prompt);
    return s;
}

iid_status iid__sdxl_force_zeros(const char *sdxl_dir, int *out, iid_error_t *err)
{
    char path[4096];
    IID_TRY(iid__path_join(path, sizeof path, sdxl_dir, "model_index.json", err));
    *out = 1;
    if (!iid__is_file(path)) return IID_OK;
    iid_json_t j;
    IID_TRY(iid__json_load(&j, path, err));
    iid_status s = iid__json_bool_opt(&j, "force_zeros_for_empty_prompt", out, err);
    iid__json_free(&j);
    return s;
}

/* e_j = e_last + (e_j - e_last) * w for the chunk's rows (n, D), w as float16. */
static void apply_weights(float *rows, const float *weights, int n, int D)
{
    const float *last = rows + (size_t)(n - 1) * D;
    for (int j = 0; j < n - 1; j++) {
        float w = iid__f16_to_f32(iid__f32_to_f16(weights[j]));
        if (w == 1.0f) continue;
        float *e = rows + (size_t)j * D;
        for (int d = 0; d < D; d++) e[d] = last[d] + (e[d] - last[d]) * w;
    }
    /* The last row itself is unchanged for any weight: e_last + 0 * w. */
}

iid_status iid__encode_prompt_weighted(const iid_clip_text_t *te1, const iid_clip_text_t *te2,
                                       const iid_prompt_chunk_t *chunks, int n_chunks, iid_prompt_embeds_t *out,
                                       iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    IID_TRY(iid__sdxl_encoders_check(te1, te2, err));
    if (n_chunks <= 0) return iid__fail(err, IID_ERR_INVALID, "encode_prompt: a weighted prompt needs >= 1 chunk");
    int total = 0;
    for (int i = 0; i < n_chunks; i++) {
        if (chunks[i].n <= 0 || !chunks[i].ids || !chunks[i].weights)
            return iid__fail(err, IID_ERR_INVALID, "encode_prompt: chunk %d is empty", i);
        if (total > (1 << 20)) return iid__fail(err, IID_ERR_RANGE, "encode_prompt: weighted prompt too long");
        total += chunks[i].n;
    }
    IID_TRY(embeds_alloc(out, te1, te2, total, err));
    int at = 0;
    for (int i = 0; i < n_chunks; i++) {
        float *rows = out->embeds + (size_t)at * out->dim; // (n, D)
        iid_status s = encode_rows(te1, te2, chunks[i].ids, chunks[i].ids, chunks[i].n, rows, out->pooled, err);
        if (s != IID_OK) {
            iid__prompt_embeds_free(out);
            return iid__prefix(err, s, "chunk %d", i);
        }
        apply_weights(rows, chunks[i].weights, chunks[i].n, out->dim);
        at += chunks[i].n;
    }
    return IID_OK;
}
