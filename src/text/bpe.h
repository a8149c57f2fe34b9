/*
 * bpe.h - CLIP's byte-level BPE: the vocabulary, the merge ranks, and the merge
 * loop for one pre-tokenised word.
 *
 * A word's UTF-8 bytes are first mapped to printable characters (GPT-2's
 * bytes_to_unicode table), one symbol per byte, with "</w>" appended to the last
 * symbol. Then, repeatedly, the adjacent pair with the lowest merge rank is merged
 * everywhere in the word (left to right, non-overlapping) until no pair has a
 * rank. Each resulting symbol is looked up in the vocabulary; a symbol missing
 * from it becomes the caller's unknown id.
 *
 * Every string the tables mention (vocabulary keys, merge parts and results) is
 * interned once into a symbol table, so the merge loop works on integers.
 * The object is immutable after loading, so one may be shared between threads.
 */
#ifndef IID_TEXT_BPE_H
#define IID_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct iid_bpe iid_bpe_t;

/* Load vocab.json (an object of token string -> id, ids in [0, 2^24)) and
 * merges.txt (a "#version" line, then "left right" lines; as CLIPTokenizer does,
 * only the first 48894 merges are used and a later duplicate pair takes the later
 * rank). Errors name the file and line or key. Free with iid__bpe_free. */
iid_status iid__bpe_load(iid_bpe_t **out, const char *vocab_path, const char *merges_path, iid_error_t *err);
void iid__bpe_free(iid_bpe_t *b);

/* Give a token string an id (an "added token"): the string then maps to that id
 * and the id back to the string. Words whose byte-level form equals a verbatim
 * string skip merging and become that one token (CLIPTokenizer's cache entries for
 * its special tokens); pass verbatim = 1 for those. */
iid_status iid__bpe_add_token(iid_bpe_t *b, const char *token, int64_t id, int verbatim, iid_error_t *err);

/* Id of a token string (len bytes), or -1 when it is not in the vocabulary. */
int64_t iid__bpe_token_id(const iid_bpe_t *b, const char *token, size_t len);
/* The token string of an id, or NULL for an id no token has. */
const char *iid__bpe_id_token(const iid_bpe_t *b, int64_t id);
/* One more than the largest id. */
int64_t iid__bpe_id_limit(const iid_bpe_t *b);

/* A growable id list. */
typedef struct iid_id_list {
    int64_t *ids;
    size_t n, cap;
} iid_id_list_t;

iid_status iid__id_list_push(iid_id_list_t *l, int64_t id, iid_error_t *err);

/* BPE-encode one word given as len UTF-8 bytes (len > 0) and append its ids to
 * `out`, unknown symbols as unk_id. Fails only for lack of memory. */
iid_status iid__bpe_encode_word(const iid_bpe_t *b, const unsigned char *word, size_t len, int64_t unk_id,
                                iid_id_list_t *out, iid_error_t *err);

#endif
