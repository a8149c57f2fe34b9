/*
 * clip_tokenizer.h - the CLIP BPE tokenizers of SDXL (tokenizer/ and tokenizer_2/).
 *
 * Reproduces transformers' slow CLIPTokenizer as SDXL's encode_prompt calls it,
 * in an environment without ftfy:
 *
 *   1. the raw text is cut at every "added token" (BOS, EOS, UNK, PAD and any
 *      added_tokens_decoder entry of tokenizer_config.json), leftmost longest
 *      first; each of those pieces becomes its id. In SDXL's tokenizer_2 the pad
 *      token is "!", so every "!" there becomes id 0 without "</w>";
 *   2. each other piece is cleaned as BERT's BasicTokenizer does and split into
 *      words by CLIP's regex (clip_normalize.h);
 *   3. each word is BPE-merged (bpe.h).
 *
 * The folder holds vocab.json, merges.txt, tokenizer_config.json and optionally
 * special_tokens_map.json. Special tokens come from those files
 * (special_tokens_map.json wins over tokenizer_config.json, as in transformers);
 * only a token neither file names falls back to CLIPTokenizer's default
 * ("<|startoftext|>" for BOS, "<|endoftext|>" for the others). AddedToken flags
 * (lstrip, rstrip, single_word) are not applied: SDXL's files set them all false.
 * The maximum length is tokenizer_config.json's model_max_length (77 when absent,
 * the CLIP text encoders' context).
 *
 * Text must be UTF-8; invalid UTF-8 is rejected with IID_ERR_INVALID naming the
 * byte offset. A loaded tokenizer is immutable and may be shared between threads.
 *
 *   iid_clip_tokenizer_t *tok;
 *   if (iid__clip_tokenizer_load(&tok, "models/sdxl/tokenizer", &err) != IID_OK) ...
 *   int64_t ids[77];
 *   iid__clip_encode(tok, "a photo of a man", 77, ids, &err);
 *   iid__clip_tokenizer_free(tok);
 */
#ifndef IID_TEXT_CLIP_TOKENIZER_H
#define IID_TEXT_CLIP_TOKENIZER_H

#include <stdint.h>

#include "core/status.h"

typedef struct iid_clip_tokenizer iid_clip_tokenizer_t;

/* Load the tokenizer folder `dir`. Errors name the file and field at fault.
 * Free with iid__clip_tokenizer_free (NULL is a no-op). */
iid_status iid__clip_tokenizer_load(iid_clip_tokenizer_t **out, const char *dir, iid_error_t *err);
void iid__clip_tokenizer_free(iid_clip_tokenizer_t *t);

/* The ids of `text` without BOS/EOS and without truncation, in a malloc'd array
 * of *n entries (never NULL on success, even when *n is 0). Caller frees *ids.
 * Fails with IID_ERR_INVALID on invalid UTF-8, IID_ERR_NOMEM. */
iid_status iid__clip_tokenize(const iid_clip_tokenizer_t *t, const char *text, int64_t **ids, int *n,
                              iid_error_t *err);

/* What SDXL's encode_prompt feeds a text encoder: BOS, the first max_len - 2 ids of
 * iid__clip_tokenize, EOS, then the pad id up to max_len. ids_out holds max_len
 * entries; max_len must be at least 2. */
iid_status iid__clip_encode(const iid_clip_tokenizer_t *t, const char *text, int max_len, int64_t *ids_out,
                            iid_error_t *err);

int64_t iid__clip_bos_id(const iid_clip_tokenizer_t *t);
int64_t iid__clip_eos_id(const iid_clip_tokenizer_t *t);
int64_t iid__clip_pad_id(const iid_clip_tokenizer_t *t);
int64_t iid__clip_unk_id(const iid_clip_tokenizer_t *t);
/* tokenizer_config.json's model_max_length. */
int iid__clip_max_length(const iid_clip_tokenizer_t *t);
/* The token string of an id ("a</w>", "<|endoftext|>", byte-level for non-ASCII),
 * as convert_ids_to_tokens gives it; NULL for an id no token has. */
const char *iid__clip_token_str(const iid_clip_tokenizer_t *t, int64_t id);

#endif
