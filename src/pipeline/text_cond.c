/* text_cond.c - tokenizers + encoders behind one "prompt text in, embeddings out" call. */
#include "pipeline/text_cond.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"

void iid__text_cond_free(iid_text_cond_t *tc)
{
    if (!tc) return;
    iid__clip_tokenizer_free(tc->tok1);
    iid__clip_tokenizer_free(tc->tok2);
    iid__clip_text_free(&tc->te1);
    iid__clip_text_free(&tc->te2);
    memset(tc, 0, sizeof *tc);
}

iid_status iid__text_cond_load(iid_text_cond_t *tc, const char *sdxl_dir, iid_error_t *err)
{
    memset(tc, 0, sizeof *tc);
    char p[4096];
    iid_status s = iid__path_join(p, sizeof p, sdxl_dir, "tokenizer", err);
    if (s == IID_OK) s = iid__clip_tokenizer_load(&tc->tok1, p, err);
    if (s == IID_OK) s = iid__path_join(p, sizeof p, sdxl_dir, "tokenizer_2", err);
    if (s == IID_OK) s = iid__clip_tokenizer_load(&tc->tok2, p, err);
    if (s == IID_OK) s = iid__path_join(p, sizeof p, sdxl_dir, "text_encoder", err);
    if (s == IID_OK) s = iid__clip_text_load(&tc->te1, p, err);
    if (s == IID_OK) s = iid__path_join(p, sizeof p, sdxl_dir, "text_encoder_2", err);
    if (s == IID_OK) s = iid__clip_text_load(&tc->te2, p, err);
    if (s == IID_OK) s = iid__sdxl_encoders_check(&tc->te1, &tc->te2, err);
    if (s == IID_OK) s = iid__sdxl_force_zeros(sdxl_dir, &tc->force_zeros, err);
    if (s != IID_OK) iid__text_cond_free(tc);
    return s;
}

static iid_status encode_plain(const iid_text_cond_t *tc, const char *prompt, const char *negative, int cfg,
                               iid_prompt_embeds_t *pos, iid_prompt_embeds_t *neg, iid_error_t *err)
{
    int T = iid__clip_max_length(tc->tok1);
    if (iid__clip_max_length(tc->tok2) != T)
        return iid__fail(err, IID_ERR_FORMAT, "tokenizer and tokenizer_2 disagree on model_max_length (%d vs %d)", T,
                         iid__clip_max_length(tc->tok2));
    int64_t *ids = malloc((size_t)T * 4 * sizeof *ids);
    if (!ids) return iid__fail(err, IID_ERR_NOMEM, "out of memory encoding a prompt");
    int64_t *ids1 = ids, *ids2 = ids + T, *nid1 = ids + 2 * T, *nid2 = ids + 3 * T;
    iid_status s = iid__clip_encode(tc->tok1, prompt, T, ids1, err);
    if (s == IID_OK) s = iid__clip_encode(tc->tok2, prompt, T, ids2, err);
    if (s == IID_OK && cfg && negative) {
        s = iid__clip_encode(tc->tok1, negative, T, nid1, err);
        if (s == IID_OK) s = iid__clip_encode(tc->tok2, negative, T, nid2, err);
    }
    if (s == IID_OK) {
        if (!cfg) s = iid__encode_prompt_one(&tc->te1, &tc->te2, ids1, ids2, T, pos, err);
        else if (negative || tc->force_zeros)
            s = iid__encode_prompt(&tc->te1, &tc->te2, ids1, ids2, negative ? nid1 : NULL, negative ? nid2 : NULL, T,
                                   tc->force_zeros, pos, neg, err);
        else { /* None without force_zeros: diffusers encodes "" */
            s = iid__clip_encode(tc->tok1, "", T, nid1, err);
            if (s == IID_OK) s = iid__clip_encode(tc->tok2, "", T, nid2, err);
            if (s == IID_OK)
                s = iid__encode_prompt(&tc->te1, &tc->te2, ids1, ids2, nid1, nid2, T, 0, pos, neg, err);
        }
    }
    free(ids);
    return s;
}

static iid_status encode_weighted(const iid_text_cond_t *tc, const char *prompt, const char *negative, int cfg,
                                  iid_prompt_embeds_t *pos, iid_prompt_embeds_t *neg, iid_error_t *err)
{
    iid_weighted_prompt_t wp, wn;
    /* The demo always passes a string; None reads as "". */
    IID_TRY(iid__weighted_prompts(tc->tok1, prompt, negative ? negative : "", &wp, &wn, err));
    iid_status s = iid__encode_prompt_weighted(&tc->te1, &tc->te2, wp.chunks, wp.n_chunks, pos, err);
    if (s == IID_OK && cfg) s = iid__encode_prompt_weighted(&tc->te1, &tc->te2, wn.chunks, wn.n_chunks, neg, err);
    iid__weighted_prompt_free(&wp);
    iid__weighted_prompt_free(&wn);
    return s;
}

iid_status iid__text_cond_encode(const iid_text_cond_t *tc, iid_prompt_mode_t mode, const char *prompt,
                                 const char *negative, int cfg, iid_prompt_embeds_t *pos, iid_prompt_embeds_t *neg,
                                 iid_error_t *err)
{
    memset(pos, 0, sizeof *pos);
    if (neg) memset(neg, 0, sizeof *neg);
    if (cfg && !neg) return iid__fail(err, IID_ERR_INVALID, "text conditioning with guidance needs a negative output");
    iid_status s = mode == IID_PROMPT_WEIGHTED ? encode_weighted(tc, prompt, negative, cfg, pos, neg, err)
                                               : encode_plain(tc, prompt, negative, cfg, pos, neg, err);
    iid__clip_text_trim(&tc->te1);
    iid__clip_text_trim(&tc->te2);
    if (s != IID_OK) {
        iid__prompt_embeds_free(pos);
        if (neg) iid__prompt_embeds_free(neg);
    }
    return s;
}
