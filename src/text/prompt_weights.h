/*
 * prompt_weights.h - weighted prompts as InstantID's demo pipeline reads them.
 *
 * pipeline_stable_diffusion_xl_instantid_full.py (what gradio_demo/app.py runs)
 * encodes text with its LongPromptWeight helper instead of SDXL's encode_prompt.
 * This module is the text half of that helper; applying the weights to the
 * encoder outputs belongs to the text-encoder side.
 *
 * Syntax (parse_prompt_attention):
 *   (text)      weight x 1.1          [text]      weight / 1.1
 *   (text:w)    weight x w            nesting multiplies; an unclosed ( or [ still
 *                                     applies to everything after it
 *   \( \) \[ \] \\   the literal character; a backslash before anything else is
 *                    dropped
 *   BREAK       (a whole word, with the spaces around it) becomes a segment
 *               "BREAK" of weight -1, which the reference then tokenises as the
 *               word "break"; kept for fidelity
 *   a ) or ] without an opener, ":" and ":w)" outside brackets are plain text
 * Adjacent segments of equal weight are merged; an empty prompt is one empty
 * segment of weight 1. Weights are computed in double precision in the same order
 * as the reference, so they match it bit for bit. A ":w)" whose w is not a number
 * (e.g. "1.2.3") makes the reference raise; here it is IID_ERR_INVALID.
 *
 * Tokens (get_weighted_text_embeddings_sdxl): every segment is tokenised with the
 * FIRST tokenizer (the reference uses it for both encoders, so the same chunks
 * feed text_encoder and text_encoder_2), each token taking its segment's weight.
 * The prompt and the negative are padded with EOS (weight 1) to the same length,
 * then cut into chunks of max_length - 2 (75) tokens, each wrapped as BOS + chunk
 * + EOS (weights 1). The last chunk is not padded, and a token count that is an
 * exact multiple of 75 (zero included) gets a final BOS + EOS chunk of 2 tokens.
 * Weights are rounded to float16 (1.2 -> 1.2001953125) because the reference
 * holds them in a float16 tensor; a token whose rounded weight is exactly 1 is
 * left unweighted by the encoder side.
 */
#ifndef IID_TEXT_PROMPT_WEIGHTS_H
#define IID_TEXT_PROMPT_WEIGHTS_H

#include <stdint.h>

#include "core/status.h"
#include "text/clip_tokenizer.h"

/* One parsed piece of prompt text with its attention weight. */
typedef struct iid_prompt_segment {
    char *text;    /* UTF-8, NUL-terminated */
    double weight; /* -1 (times any bracket factors) for a BREAK segment */
} iid_prompt_segment_t;

/* Parse UTF-8 `text` into a malloc'd array of *n >= 1 segments. Fails with
 * IID_ERR_INVALID for invalid UTF-8 or a weight that is not a number, or
 * IID_ERR_NOMEM. Free with iid__prompt_segments_free. */
iid_status iid__prompt_parse(const char *text, iid_prompt_segment_t **segs, int *n, iid_error_t *err);
void iid__prompt_segments_free(iid_prompt_segment_t *segs, int n);

/* One encoder call's worth of tokens. */
typedef struct iid_prompt_chunk {
    int n;                /* BOS + up to 75 tokens + EOS */
    const int64_t *ids;   /* n ids */
    const float *weights; /* n weights, each a float16 value */
} iid_prompt_chunk_t;

/* A prompt as a list of chunks, to be encoded one by one and concatenated along
 * the token axis. */
typedef struct iid_weighted_prompt {
    int n_chunks;
    iid_prompt_chunk_t *chunks;
    int64_t *ids_storage; /* owned: the chunks point into these */
    float *weights_storage;
} iid_weighted_prompt_t;

/* Tokenise a prompt and its negative as the demo pipeline does. On success both
 * have the same number of chunks and chunk i has the same length in both. `tok`
 * is the SDXL first tokenizer. Free both with iid__weighted_prompt_free (also
 * safe on a zeroed struct). On failure both are left empty. */
iid_status iid__weighted_prompts(const iid_clip_tokenizer_t *tok, const char *prompt, const char *negative,
                                 iid_weighted_prompt_t *pos, iid_weighted_prompt_t *neg, iid_error_t *err);
void iid__weighted_prompt_free(iid_weighted_prompt_t *w);

#endif
