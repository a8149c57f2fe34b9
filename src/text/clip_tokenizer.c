/*
 * clip_tokenizer.c - loading a CLIP tokenizer folder and turning text into ids.
 *
 * Loading reads the special tokens the way transformers resolves them (class
 * defaults, then tokenizer_config.json, then special_tokens_map.json) and
 * registers every added token with the BPE tables, so that a BPE output spelled
 * like an added token maps to the added token's id, as
 * _convert_token_to_id_with_added_voc does. BOS and EOS are also the two special
 * spellings CLIP's regex and BPE cache know about.
 *
 * Tokenising first cuts the raw text at added tokens (the reference's trie split,
 * leftmost then longest), then normalises, splits and BPE-merges each piece in
 * between on its own. The whole text is validated as UTF-8 up front so an error
 * names the offset in the caller's string.
 */
#include "text/clip_tokenizer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "text/bpe.h"
#include "text/clip_normalize.h"
#include "text/unicode.h"

enum { TOK_BOS, TOK_EOS, TOK_UNK, TOK_PAD, N_SPECIAL };

#define MAX_ADDED 1024
#define MAX_MODEL_LENGTH (1 << 20)
#define DEFAULT_MODEL_LENGTH 77 /* CLIP text encoders' context */

static const char *const special_keys[N_SPECIAL] = {"bos_token", "eos_token", "unk_token", "pad_token"};
static const char *const special_defaults[N_SPECIAL] = {"<|startoftext|>", "<|endoftext|>", "<|endoftext|>",
                                                        "<|endoftext|>"};

struct iid_clip_tokenizer {
    iid_bpe_t *bpe;
    char *special[N_SPECIAL];
    int64_t special_id[N_SPECIAL];
    char **added; /* distinct contents of every added token */
    int64_t *added_id;
    int n_added;
    int32_t *word_special[2]; /* BOS and EOS as code points, for the word split */
    size_t word_special_len[2];
    int max_length;
};

/* A token value: a string, or an AddedToken object with a "content" string. */
static const char *token_content(const cJSON *v)
{
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "content") : NULL;
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static iid_status set_special(iid_clip_tokenizer_t *t, int k, const char *content, iid_error_t *err)
{
    char *copy = strdup(content);
    if (!copy) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory");
    free(t->special[k]);
    t->special[k] = copy;
    return IID_OK;
}

/* Override the special tokens with the ones a JSON file names. */
static iid_status read_specials(iid_clip_tokenizer_t *t, const iid_json_t *j, iid_error_t *err)
{
    for (int k = 0; k < N_SPECIAL; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, special_keys[k]);
        if (!v || cJSON_IsNull(v)) continue;
        const char *content = token_content(v);
        if (!content)
            return iid__fail(err, IID_ERR_FORMAT, "%s: %s: expected a string or an object with a \"content\" string",
                             j->path, special_keys[k]);
        IID_TRY(set_special(t, k, content, err));
    }
    return IID_OK;
}

/* Register an added token unless its content is already one; *id receives its id. */
static iid_status add_token(iid_clip_tokenizer_t *t, const char *content, int64_t want_id, int verbatim,
                            int64_t *id, iid_error_t *err)
{
    for (int i = 0; i < t->n_added; i++) {
        if (strcmp(t->added[i], content) == 0) {
            if (id) *id = t->added_id[i];
            return IID_OK;
        }
    }
    if (t->n_added == MAX_ADDED) return iid__fail(err, IID_ERR_RANGE, "tokenizer: more than %d added tokens", MAX_ADDED);
    if (want_id < 0) {
        /* transformers keeps a token's vocabulary id, else appends it after the last id. */
        want_id = iid__bpe_token_id(t->bpe, content, strlen(content));
        if (want_id < 0) want_id = iid__bpe_id_limit(t->bpe);
    }
    char *copy = strdup(content);
    if (!copy) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory");
    t->added[t->n_added] = copy;
    t->added_id[t->n_added] = want_id;
    t->n_added++;
    if (id) *id = want_id;
    return iid__bpe_add_token(t->bpe, content, want_id, verbatim, err);
}

/* tokenizer_config.json's added_tokens_decoder: {"<id>": {"content": ...}, ...}. */
static iid_status read_added_decoder(iid_clip_tokenizer_t *t, const iid_json_t *j, iid_error_t *err)
{
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(j->root, "added_tokens_decoder");
    if (!dec || cJSON_IsNull(dec)) return IID_OK;
    if (!cJSON_IsObject(dec)) return iid__fail(err, IID_ERR_FORMAT, "%s: added_tokens_decoder: expected an object", j->path);
    for (const cJSON *e = dec->child; e; e = e->next) {
        char *endp;
        long long id = strtoll(e->string, &endp, 10);
        const char *content = token_content(e);
        if (*e->string == '\0' || *endp != '\0' || id < 0 || id >= INT32_MAX || !content)
            return iid__fail(err, IID_ERR_FORMAT, "%s: added_tokens_decoder[\"%.20s\"]: expected an id key and a content",
                             j->path, e->string);
        IID_TRY(add_token(t, content, id, 0, NULL, err));
    }
    return IID_OK;
}

static iid_status read_max_length(iid_clip_tokenizer_t *t, const iid_json_t *j, iid_error_t *err)
{
    double v = DEFAULT_MODEL_LENGTH;
    IID_TRY(iid__json_double_opt(j, "model_max_length", &v, err));
    if (!(v >= 2 && v <= MAX_MODEL_LENGTH) || v != (double)(int)v)
        return iid__fail(err, IID_ERR_FORMAT, "%s: model_max_length: expected an integer in [2, %d]", j->path,
                         MAX_MODEL_LENGTH);
    t->max_length = (int)v;
    return IID_OK;
}

static iid_status load_configs(iid_clip_tokenizer_t *t, const char *dir, iid_error_t *err)
{
    char path[4096];
    iid_json_t j;
    IID_TRY(iid__path_join(path, sizeof path, dir, "tokenizer_config.json", err));
    IID_TRY(iid__json_load(&j, path, err));
    iid_status s = cJSON_IsObject(j.root) ? IID_OK : iid__fail(err, IID_ERR_FORMAT, "%s: expected an object", path);
    if (s == IID_OK) s = read_specials(t, &j, err);
    if (s == IID_OK) s = read_max_length(t, &j, err);
    if (s == IID_OK) s = read_added_decoder(t, &j, err);
    iid__json_free(&j);
    IID_TRY(s);

    IID_TRY(iid__path_join(path, sizeof path, dir, "special_tokens_map.json", err));
    if (!iid__is_file(path)) return IID_OK;
    IID_TRY(iid__json_load(&j, path, err));
    s = cJSON_IsObject(j.root) ? read_specials(t, &j, err) : iid__fail(err, IID_ERR_FORMAT, "%s: expected an object", path);
    iid__json_free(&j);
    return s;
}

iid_status iid__clip_tokenizer_load(iid_clip_tokenizer_t **out, const char *dir, iid_error_t *err)
{
    *out = NULL;
    iid_clip_tokenizer_t *t = calloc(1, sizeof *t);
    if (!t) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", dir);
    t->added = calloc(MAX_ADDED, sizeof *t->added);
    t->added_id = calloc(MAX_ADDED, sizeof *t->added_id);
    char vocab[4096], merges[4096];
    iid_status s = (t->added && t->added_id) ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", dir);
    for (int k = 0; k < N_SPECIAL && s == IID_OK; k++) s = set_special(t, k, special_defaults[k], err);
    if (s == IID_OK) s = iid__path_join(vocab, sizeof vocab, dir, "vocab.json", err);
    if (s == IID_OK) s = iid__path_join(merges, sizeof merges, dir, "merges.txt", err);
    if (s == IID_OK) s = iid__bpe_load(&t->bpe, vocab, merges, err);
    if (s == IID_OK) s = load_configs(t, dir, err);
    /* BOS and EOS are CLIPTokenizer's BPE cache entries: never merged. */
    for (int k = 0; k < N_SPECIAL && s == IID_OK; k++)
        s = add_token(t, t->special[k], -1, k == TOK_BOS || k == TOK_EOS, &t->special_id[k], err);
    for (int k = 0; k < 2 && s == IID_OK; k++) {
        const char *sp = t->special[k == 0 ? TOK_BOS : TOK_EOS];
        s = iid__utf8_decode(sp, strlen(sp), &t->word_special[k], &t->word_special_len[k], "tokenizer special token",
                             err);
    }
    if (s != IID_OK) {
        iid__clip_tokenizer_free(t);
        return s;
    }
    *out = t;
    return IID_OK;
}

void iid__clip_tokenizer_free(iid_clip_tokenizer_t *t)
{
    if (!t) return;
    iid__bpe_free(t->bpe);
    for (int k = 0; k < N_SPECIAL; k++) free(t->special[k]);
    for (int i = 0; i < t->n_added; i++) free(t->added[i]);
    free(t->added);
    free(t->added_id);
    free(t->word_special[0]);
    free(t->word_special[1]);
    free(t);
}

/* Normalise, split and BPE-merge one piece of text that holds no added token. */
static iid_status encode_piece(const iid_clip_tokenizer_t *t, const char *text, size_t len, iid_id_list_t *out,
                               iid_error_t *err)
{
    if (len == 0) return IID_OK;
    int32_t *raw = NULL, *norm = NULL;
    size_t n_raw, n_norm, n_spans = 0;
    iid_text_span_t *spans = NULL;
    char *word = NULL;
    const int32_t *specials[2] = {t->word_special[0], t->word_special[1]};
    iid_status s = iid__utf8_decode(text, len, &raw, &n_raw, "prompt", err);
    if (s == IID_OK) s = iid__clip_basic_clean(raw, n_raw, &norm, &n_norm, err);
    if (s == IID_OK) s = iid__clip_split_words(norm, n_norm, specials, t->word_special_len, 2, &spans, &n_spans, err);
    for (size_t i = 0; i < n_spans && s == IID_OK; i++) {
        size_t wlen;
        s = iid__utf8_encode(norm + spans[i].start, spans[i].end - spans[i].start, &word, &wlen, err);
        if (s == IID_OK) s = iid__bpe_encode_word(t->bpe, (const unsigned char *)word, wlen, t->special_id[TOK_UNK], out, err);
        free(word);
        word = NULL;
    }
    free(raw);
    free(norm);
    free(spans);
    return s;
}

iid_status iid__clip_tokenize(const iid_clip_tokenizer_t *t, const char *text, int64_t **ids, int *n,
                              iid_error_t *err)
{
    *ids = NULL;
    *n = 0;
    size_t len = strlen(text);
    int32_t *check;
    size_t n_check;
    IID_TRY(iid__utf8_decode(text, len, &check, &n_check, "prompt", err));
    free(check);

    iid_id_list_t out = {0};
    iid_status s = IID_OK;
    size_t piece = 0;
    for (size_t i = 0; i < len && s == IID_OK;) {
        int best = -1;
        size_t best_len = 0;
        for (int k = 0; k < t->n_added; k++) {
            size_t l = strlen(t->added[k]);
            if (l > best_len && l <= len - i && memcmp(text + i, t->added[k], l) == 0) {
                best = k;
                best_len = l;
            }
        }
        if (best < 0) {
            i++;
            continue;
        }
        s = encode_piece(t, text + piece, i - piece, &out, err);
        if (s == IID_OK) s = iid__id_list_push(&out, t->added_id[best], err);
        i += best_len;
        piece = i;
    }
    if (s == IID_OK) s = encode_piece(t, text + piece, len - piece, &out, err);
    if (s == IID_OK && out.n > INT_MAX / 2) s = iid__fail(err, IID_ERR_RANGE, "prompt: %zu tokens is too many", out.n);
    if (s == IID_OK && !out.ids) { /* an empty result is still an array the caller frees */
        out.ids = malloc(sizeof *out.ids);
        if (!out.ids) s = iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory");
    }
    if (s != IID_OK) {
        free(out.ids);
        return s;
    }
    *ids = out.ids;
    *n = (int)out.n;
    return IID_OK;
}

iid_status iid__clip_encode(const iid_clip_tokenizer_t *t, const char *text, int max_len, int64_t *ids_out,
                            iid_error_t *err)
{
    if (max_len < 2) return iid__fail(err, IID_ERR_INVALID, "tokenizer: max_len %d is below 2 (BOS + EOS)", max_len);
    int64_t *ids;
    int n;
    IID_TRY(iid__clip_tokenize(t, text, &ids, &n, err));
    int keep = n < max_len - 2 ? n : max_len - 2;
    ids_out[0] = t->special_id[TOK_BOS];
    memcpy(ids_out + 1, ids, (size_t)keep * sizeof *ids);
    ids_out[keep + 1] = t->special_id[TOK_EOS];
    for (int i = keep + 2; i < max_len; i++) ids_out[i] = t->special_id[TOK_PAD];
    free(ids);
    return IID_OK;
}

int64_t iid__clip_bos_id(const iid_clip_tokenizer_t *t) { return t->special_id[TOK_BOS]; }
int64_t iid__clip_eos_id(const iid_clip_tokenizer_t *t) { return t->special_id[TOK_EOS]; }
int64_t iid__clip_pad_id(const iid_clip_tokenizer_t *t) { return t->special_id[TOK_PAD]; }
int64_t iid__clip_unk_id(const iid_clip_tokenizer_t *t) { return t->special_id[TOK_UNK]; }
int iid__clip_max_length(const iid_clip_tokenizer_t *t) { return t->max_length; }

const char *iid__clip_token_str(const iid_clip_tokenizer_t *t, int64_t id) { return iid__bpe_id_token(t->bpe, id); }
