/*
 * encode_prompt.h - text conditioning for SDXL: diffusers' `encode_prompt` and the
 * weighted long-prompt encoding of InstantID's demo pipeline.
 *
 * Both take token ids, never text: the tokenizer (src/text/) turns text into ids
 * and, for weighted prompts, into chunks of ids with per-token weights.
 *
 * SDXL `encode_prompt` (StableDiffusionXLPipeline, diffusers 0.25), CFG on:
 *   prompt_embeds (1, T, D1+D2) = concat(te1 hidden_states[-2], te2 hidden_states[-2])
 *                                 along channels, te1 first
 *   pooled (1, P)               = te2 text_embeds
 * The negative is encoded the same way from its own ids, except when it is None
 * and the pipeline's `force_zeros_for_empty_prompt` is true (SDXL's default): then
 * the negative embeddings and pooled vector are all zeros. A negative of "" is
 * NOT None: its ids are encoded normally. Without CFG (guidance <= 1) only the
 * prompt is encoded: call iid__encode_prompt_one.
 *
 * Weighted prompts (`pipeline_stable_diffusion_xl_instantid_full.py`, the demo):
 * every chunk (BOS + up to 75 tokens + EOS, tokenizer-1 ids fed to BOTH encoders)
 * is encoded as above; each token j whose weight w != 1 becomes
 *   e_j = e_last + (e_j - e_last) * w
 * with e_last the chunk's final (EOS) vector and w rounded to float16 as the
 * reference's half-precision weight tensor holds it; chunks are concatenated along
 * tokens and the pooled vector is te2's text_embeds of the LAST chunk.
 */
#ifndef IID_PIPELINE_ENCODE_PROMPT_H
#define IID_PIPELINE_ENCODE_PROMPT_H

#include <stdint.h>

#include "models/clip_text.h"
#include "text/prompt_weights.h"

/* Text conditioning for one prompt; the buffers are owned (free with
 * iid__prompt_embeds_free). */
typedef struct iid_prompt_embeds {
    int tokens;     /* T */
    int dim;        /* D = te1 hidden + te2 hidden */
    int pooled_dim; /* P = te2 projection_dim */
    float *embeds;  /* (1, T, D) */
    float *pooled;  /* (1, P) */
} iid_prompt_embeds_t;

/* Free the buffers and zero the record; safe on NULL and on a zeroed record. */
void iid__prompt_embeds_free(iid_prompt_embeds_t *e);

/* A deep copy of src into *dst (zeroed on failure). */
iid_status iid__prompt_embeds_copy(iid_prompt_embeds_t *dst, const iid_prompt_embeds_t *src, iid_error_t *err);

/* Check that te1 and te2 can be paired: te2 has a projection (the pooled vector).
 * Errors name which encoder is at fault. */
iid_status iid__sdxl_encoders_check(const iid_clip_text_t *te1, const iid_clip_text_t *te2, iid_error_t *err);

/* Encode one prompt: ids1 (1, T) from tokenizer 1, ids2 (1, T) from tokenizer 2
 * (T = 77 for SDXL's padded ids). Fills *out (allocated here); on failure *out is
 * left zeroed. */
iid_status iid__encode_prompt_one(const iid_clip_text_t *te1, const iid_clip_text_t *te2, const int64_t *ids1,
                                  const int64_t *ids2, int T, iid_prompt_embeds_t *out, iid_error_t *err);

/* SDXL encode_prompt with classifier-free guidance. neg_ids1 and neg_ids2 both
 * NULL mean "negative prompt is None": with force_zeros set the negative is all
 * zeros (of the prompt's shapes); without it the caller must pass the ids of ""
 * instead (IID_ERR_INVALID otherwise), as diffusers then encodes "". Fills
 * *prompt and *negative; on failure both are left zeroed. */
iid_status iid__encode_prompt(const iid_clip_text_t *te1, const iid_clip_text_t *te2, const int64_t *ids1,
                              const int64_t *ids2, const int64_t *neg_ids1, const int64_t *neg_ids2, int T,
                              int force_zeros_for_empty_prompt, iid_prompt_embeds_t *prompt,
                              iid_prompt_embeds_t *negative, iid_error_t *err);

/* `force_zeros_for_empty_prompt` of an SDXL folder's model_index.json; true (the
 * SDXL pipeline's default) when the file or the key is absent. A present value
 * that is not a boolean is an error naming the file. */
iid_status iid__sdxl_force_zeros(const char *sdxl_dir, int *out, iid_error_t *err);

/* Weighted long-prompt encoding (see the top of this file): runs each chunk's ids
 * through both encoders, applies the weights, concatenates the chunks along
 * tokens into out->embeds (1, sum n, D) and puts the last chunk's te2 text_embeds
 * in out->pooled. n_chunks >= 1. On failure *out is left zeroed. */
iid_status iid__encode_prompt_weighted(const iid_clip_text_t *te1, const iid_clip_text_t *te2,
                                       const iid_prompt_chunk_t *chunks, int n_chunks, iid_prompt_embeds_t *out,
                                       iid_error_t *err);

#endif
