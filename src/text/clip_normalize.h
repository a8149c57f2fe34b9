/*
 * clip_normalize.h - the text clean-up and word split in front of CLIP's BPE.
 *
 * Without ftfy installed (the reference environment), transformers' CLIPTokenizer
 * runs a BERT-style BasicTokenizer (no accent stripping, no punctuation split) and
 * then CLIP's pre-tokenisation regex. Both are reproduced here on code points:
 *
 *   clean     drop NUL, U+FFFD and every "C*" character except \t \n \r; map
 *             \t \n \r and Zs characters to a space
 *   CJK       put spaces around CJK ideographs (BERT's code point ranges)
 *   NFC       utf8proc composition
 *   split     on Python whitespace; lower-case each piece as Python's str.lower()
 *   join      the pieces with single spaces
 *
 * then words, in the order the `regex` module finds them (case-insensitively):
 * the two special-token spellings, 's 't 're 've 'm 'll 'd, runs of letters, a
 * single number character, runs of anything else that is not whitespace.
 */
#ifndef IID_TEXT_CLIP_NORMALIZE_H
#define IID_TEXT_CLIP_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* BasicTokenizer clean-up of n code points into a malloc'd array (*n_out entries,
 * room for at least one). Caller frees *out. Fails only for lack of memory. */
iid_status iid__clip_basic_clean(const int32_t *in, size_t n, int32_t **out, size_t *n_out, iid_error_t *err);

typedef struct iid_text_span {
    size_t start, end; /* [start, end) in code points */
} iid_text_span_t;

/* CLIP's regex word split of normalised text. `specials` are the special-token
 * spellings the pattern lists first (the tokenizer's BOS and EOS), as code point
 * strings of the given lengths. Fills a malloc'd array of *n_spans spans; caller
 * frees *spans. */
iid_status iid__clip_split_words(const int32_t *text, size_t n, const int32_t *const *specials,
                                 const size_t *special_lens, int n_specials, iid_text_span_t **spans,
                                 size_t *n_spans, iid_error_t *err);

#endif
