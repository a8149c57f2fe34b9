/*
 * text_cond.h - prompt text to SDXL text conditioning.
 *
 * Holds SDXL's two tokenizers and two text encoders, loaded once, and turns a
 * prompt and its negative into embeddings by one of the two paths InstantID uses:
 *   IID_PROMPT_WEIGHTED  the demo pipeline's (`..._instantid_full.py`, the default
 *                        of `gradio_demo/app.py`): `(text:1.2)` weights, 75-token
 *                        chunks, tokenizer 1 for both encoders, no length limit;
 *   IID_PROMPT_PLAIN     diffusers' SDXL encode_prompt: each tokenizer padded and
 *                        truncated to 77, a None negative gives zeros.
 * Encoding is deterministic, so callers may cache results per (prompt, negative).
 */
#ifndef IID_PIPELINE_TEXT_COND_H
#define IID_PIPELINE_TEXT_COND_H

#include "models/clip_text.h"
#include "pipeline/encode_prompt.h"
#include "text/clip_tokenizer.h"

typedef enum { IID_PROMPT_WEIGHTED = 0, IID_PROMPT_PLAIN } iid_prompt_mode_t;

typedef struct iid_text_cond {
    iid_clip_tokenizer_t *tok1, *tok2;
    iid_clip_text_t te1, te2;
    int force_zeros; /* model_index.json's force_zeros_for_empty_prompt */
} iid_text_cond_t;

/* Load `<sdxl>/tokenizer`, `tokenizer_2`, `text_encoder`, `text_encoder_2` and
 * model_index.json. On failure everything loaded so far is freed and the error
 * names the folder at fault. */
iid_status iid__text_cond_load(iid_text_cond_t *tc, const char *sdxl_dir, iid_error_t *err);
void iid__text_cond_free(iid_text_cond_t *tc);

/* Encode `prompt` and, when cfg is set, `negative` (NULL means None, which only
 * the plain path distinguishes from ""). *pos and *neg (neg only with cfg) are
 * allocated here; both have the same token count. On failure both are zeroed.
 * Afterwards the encoders' prepared weight copies are handed back (1.5 GiB for
 * SDXL's in bf16 on the cpu backend): a prompt is encoded once per generation at
 * most (the engine caches embeddings), so preparing them again for the next new
 * prompt costs a second or two, while the denoising and the VAE decode, which
 * peak later, get the memory. */
iid_status iid__text_cond_encode(const iid_text_cond_t *tc, iid_prompt_mode_t mode, const char *prompt,
                                 const char *negative, int cfg, iid_prompt_embeds_t *pos, iid_prompt_embeds_t *neg,
                                 iid_error_t *err);

#endif
