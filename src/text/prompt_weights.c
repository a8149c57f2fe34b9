/*
 * prompt_weights.c - the weighted-prompt parser and the chunking of its tokens.
 *
 * The parser follows the reference's regex scan (see the header for the syntax):
 * at each position the first matching alternative of
 *   \( \) \[ \] \\ \  (  [  :w)  )  ]  <run of other characters>  :
 * decides what happens. Brackets record the index of the next segment on a stack
 * and, when closed, multiply the weights of every segment from there on. Plain
 * text is further split at BREAK words.
 *
 * Segments are appended, in order, to one code point buffer, so each segment is an
 * (offset, length) range and merging two neighbours only extends a range; the
 * whole parse is linear in the prompt's length.
 */
#include "text/prompt_weights.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "text/unicode.h"

#define ROUND_MULTIPLIER 1.1
#define SQUARE_MULTIPLIER (1 / 1.1)
#define BREAK_WEIGHT -1.0

typedef struct entry {
    size_t off, len; /* in the parser's code point buffer */
    double weight;
} entry_t;

typedef struct parser {
    const int32_t *src;
    size_t n;
    int32_t *buf; /* segment texts, in order; never longer than the source */
    size_t buf_len;
    entry_t *res;
    size_t n_res;
} parser_t;

static void push(parser_t *p, const int32_t *text, size_t len, double weight)
{
    memcpy(p->buf + p->buf_len, text, len * sizeof *text);
    p->res[p->n_res].off = p->buf_len;
    p->res[p->n_res].len = len;
    p->res[p->n_res].weight = weight;
    p->n_res++;
    p->buf_len += len;
}

static int is_break_at(const int32_t *t, size_t n, size_t j)
{
    static const int32_t word[5] = {'B', 'R', 'E', 'A', 'K'};
    if (n - j < 5 || memcmp(t + j, word, sizeof word) != 0) return 0;
    return (j == 0 || !iid__uc_is_python_word(t[j - 1])) && (j + 5 == n || !iid__uc_is_python_word(t[j + 5]));
}

/* Plain text: re.split(r"\s*\bBREAK\b\s*", text), a BREAK segment between parts. */
static void push_plain(parser_t *p, const int32_t *t, size_t n)
{
    static const int32_t word[5] = {'B', 'R', 'E', 'A', 'K'};
    size_t part = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && iid__uc_is_python_space(t[j])) j++;
        if (!is_break_at(t, n, j)) {
            /* Every start inside this whitespace run would reach the same j. */
            i = j > i ? j : i + 1;
            continue;
        }
        size_t end = j + 5;
        while (end < n && iid__uc_is_python_space(t[end])) end++;
        push(p, t + part, i - part, 1.0);
        push(p, word, 5, BREAK_WEIGHT);
        part = i = end;
    }
    push(p, t + part, n - part, 1.0);
}

static void multiply_from(parser_t *p, size_t start, double m)
{
    for (size_t k = start; k < p->n_res; k++) p->res[k].weight *= m;
}

/* End of a ":w)" match at i (the index after ')'), or 0 when there is none. */
static size_t match_weight(const int32_t *t, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && (t[j] == '+' || t[j] == '-')) j++;
    size_t digits = j;
    while (j < n && (t[j] == '.' || iid__uc_is_decimal(t[j]))) j++;
    if (j == digits || j >= n || t[j] != ')') return 0;
    return j + 1;
}

/* Python's float() of the number in ":w)", in the C locale whatever the caller's. */
static iid_status parse_weight(const int32_t *t, size_t start, size_t end, double *out, iid_error_t *err)
{
    size_t len = end - start;
    char *s = malloc(len + 1);
    if (!s) return iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory");
    int dots = 0, digits = 0;
    for (size_t k = 0; k < len; k++) {
        int32_t c = t[start + k];
        if (c == '+' || c == '-' || c == '.') s[k] = (char)c;
        else s[k] = (char)('0' + iid__uc_decimal_value(c));
        dots += c == '.';
        digits += c != '+' && c != '-' && c != '.';
    }
    s[len] = '\0';
    if (dots > 1 || digits == 0) {
        iid_status st = iid__fail(err, IID_ERR_INVALID, "prompt: weight \"%s\" in \"(...:%s)\" is not a number", s, s);
        free(s);
        return st;
    }
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c_locale) {
        free(s);
        return iid__fail(err, IID_ERR_NOMEM, "prompt: cannot create the C locale to read a weight");
    }
    locale_t old = uselocale(c_locale);
    *out = strtod(s, NULL);
    uselocale(old);
    freelocale(c_locale);
    free(s);
    return IID_OK;
}

static int is_syntax(int32_t c) { return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == ':'; }

static iid_status parse(parser_t *p, size_t *round, size_t *square, iid_error_t *err)
{
    static const int32_t empty[1] = {0};
    const int32_t *t = p->src;
    size_t n = p->n, n_round = 0, n_square = 0;
    for (size_t i = 0; i < n;) {
        int32_t c = t[i];
        if (c == '\\') {
            /* An escape keeps the next character if it is one of ()[]\, else nothing. */
            int escaped = i + 1 < n && (t[i + 1] == '(' || t[i + 1] == ')' || t[i + 1] == '[' ||
                                        t[i + 1] == ']' || t[i + 1] == '\\');
            push(p, escaped ? t + i + 1 : empty, escaped ? 1 : 0, 1.0);
            i += escaped ? 2 : 1;
        } else if (c == '(') {
            round[n_round++] = p->n_res;
            i++;
        } else if (c == '[') {
            square[n_square++] = p->n_res;
            i++;
        } else if (c == ':') {
            size_t end = match_weight(t, n, i);
            if (end && n_round > 0) {
                double w = 1.0;
                IID_TRY(parse_weight(t, i + 1, end - 1, &w, err));
                multiply_from(p, round[--n_round], w);
            } else push_plain(p, t + i, end ? end - i : 1);
            i = end ? end : i + 1;
        } else if (c == ')' && n_round > 0) {
            multiply_from(p, round[--n_round], ROUND_MULTIPLIER);
            i++;
        } else if (c == ']' && n_square > 0) {
            multiply_from(p, square[--n_square], SQUARE_MULTIPLIER);
            i++;
        } else if (c == ')' || c == ']') {
            push_plain(p, t + i, 1);
            i++;
        } else {
            size_t j = i;
            while (j < n && !is_syntax(t[j])) j++;
            push_plain(p, t + i, j - i);
            i = j;
        }
    }
    /* Unclosed brackets apply to the end, in the order they were opened. */
    for (size_t k = 0; k < n_round; k++) multiply_from(p, round[k], ROUND_MULTIPLIER);
    for (size_t k = 0; k < n_square; k++) multiply_from(p, square[k], SQUARE_MULTIPLIER);
    if (p->n_res == 0) push(p, empty, 0, 1.0);
    /* Merge runs of equal weight; neighbours are adjacent in buf. */
    size_t k = 0;
    for (size_t i = 1; i < p->n_res; i++) {
        if (p->res[i].weight == p->res[k].weight) p->res[k].len += p->res[i].len;
        else p->res[++k] = p->res[i];
    }
    p->n_res = k + 1;
    return IID_OK;
}

void iid__prompt_segments_free(iid_prompt_segment_t *segs, int n)
{
    if (!segs) return;
    for (int i = 0; i < n; i++) free(segs[i].text);
    free(segs);
}

iid_status iid__prompt_parse(const char *text, iid_prompt_segment_t **segs, int *n, iid_error_t *err)
{
    *segs = NULL;
    *n = 0;
    parser_t p;
    memset(&p, 0, sizeof p);
    int32_t *src;
    size_t n_src;
    IID_TRY(iid__utf8_decode(text, strlen(text), &src, &n_src, "prompt", err));
    p.src = src;
    p.n = n_src;
    /* Each source character yields at most one segment (a BREAK word at most three
     * for its five letters), and one empty segment may be added. */
    p.buf = malloc((n_src + 1) * sizeof *p.buf);
    p.res = malloc((n_src + 2) * sizeof *p.res);
    size_t *round = malloc((n_src + 1) * sizeof *round);
    size_t *square = malloc((n_src + 1) * sizeof *square);
    iid_status s = (p.buf && p.res && round && square) ? IID_OK
                   : iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory parsing %zu characters", n_src);
    if (s == IID_OK) s = parse(&p, round, square, err);
    iid_prompt_segment_t *out = NULL;
    if (s == IID_OK && p.n_res > (size_t)INT32_MAX) s = iid__fail(err, IID_ERR_RANGE, "prompt: too many segments");
    if (s == IID_OK) {
        out = calloc(p.n_res, sizeof *out);
        if (!out) s = iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory");
    }
    for (size_t i = 0; i < p.n_res && s == IID_OK; i++) {
        size_t len;
        out[i].weight = p.res[i].weight;
        s = iid__utf8_encode(p.buf + p.res[i].off, p.res[i].len, &out[i].text, &len, err);
    }
    if (s != IID_OK) iid__prompt_segments_free(out, out ? (int)p.n_res : 0);
    else {
        *segs = out;
        *n = (int)p.n_res;
    }
    free(src);
    free(p.buf);
    free(p.res);
    free(round);
    free(square);
    return s;
}

/* get_prompts_tokens_with_weights: every segment's ids, each with its segment's
 * weight rounded to float16. */
static iid_status tokens_with_weights(const iid_clip_tokenizer_t *tok, const char *text, int64_t **ids, float **w,
                                      size_t *n, iid_error_t *err)
{
    iid_prompt_segment_t *segs;
    int n_segs;
    IID_TRY(iid__prompt_parse(text, &segs, &n_segs, err));
    iid_status s = IID_OK;
    size_t count = 0, cap = 0;
    int64_t *all = NULL;
    float *weights = NULL;
    for (int i = 0; i < n_segs && s == IID_OK; i++) {
        int64_t *seg_ids;
        int k;
        s = iid__clip_tokenize(tok, segs[i].text, &seg_ids, &k, err);
        if (s != IID_OK) break;
        if (count + (size_t)k > cap) {
            cap = 2 * (count + (size_t)k) + 16;
            int64_t *na = realloc(all, cap * sizeof *na);
            if (na) all = na;
            float *nw = na ? realloc(weights, cap * sizeof *nw) : NULL;
            if (nw) weights = nw;
            if (!na || !nw) s = iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory for %zu tokens", cap);
        }
        float rounded = iid__f16_to_f32(iid__f32_to_f16((float)segs[i].weight));
        for (int j = 0; j < k && s == IID_OK; j++) {
            all[count] = seg_ids[j];
            weights[count++] = rounded;
        }
        free(seg_ids);
    }
    iid__prompt_segments_free(segs, n_segs);
    if (s != IID_OK) {
        free(all);
        free(weights);
        return s;
    }
    *ids = all;
    *w = weights;
    *n = count;
    return IID_OK;
}

/* Pad to `len` tokens with EOS of weight 1 and cut into BOS + 75 + EOS chunks. */
static iid_status make_chunks(const iid_clip_tokenizer_t *tok, const int64_t *ids, const float *w, size_t n,
                              size_t len, iid_weighted_prompt_t *out, iid_error_t *err)
{
    size_t per = (size_t)iid__clip_max_length(tok) - 2;
    size_t n_chunks = len / per + 1;
    size_t total = len + 2 * n_chunks;
    out->chunks = calloc(n_chunks, sizeof *out->chunks);
    out->ids_storage = malloc(total * sizeof *out->ids_storage);
    out->weights_storage = malloc(total * sizeof *out->weights_storage);
    if (!out->chunks || !out->ids_storage || !out->weights_storage) {
        iid__weighted_prompt_free(out);
        return iid__fail(err, IID_ERR_NOMEM, "prompt: out of memory for %zu chunks", n_chunks);
    }
    out->n_chunks = (int)n_chunks;
    size_t at = 0, next = 0;
    for (size_t c = 0; c < n_chunks; c++) {
        size_t take = len - next < per ? len - next : per;
        iid_prompt_chunk_t *ch = &out->chunks[c];
        ch->n = (int)take + 2;
        ch->ids = out->ids_storage + at;
        ch->weights = out->weights_storage + at;
        out->ids_storage[at] = iid__clip_bos_id(tok);
        out->weights_storage[at++] = 1.0f;
        for (size_t k = 0; k < take; k++, next++) {
            out->ids_storage[at] = next < n ? ids[next] : iid__clip_eos_id(tok);
            out->weights_storage[at++] = next < n ? w[next] : 1.0f;
        }
        out->ids_storage[at] = iid__clip_eos_id(tok);
        out->weights_storage[at++] = 1.0f;
    }
    return IID_OK;
}

iid_status iid__weighted_prompts(const iid_clip_tokenizer_t *tok, const char *prompt, const char *negative,
                                 iid_weighted_prompt_t *pos, iid_weighted_prompt_t *neg, iid_error_t *err)
{
    memset(pos, 0, sizeof *pos);
    memset(neg, 0, sizeof *neg);
    if (iid__clip_max_length(tok) < 3)
        return iid__fail(err, IID_ERR_INVALID, "prompt: tokenizer max length %d leaves no room for tokens",
                         iid__clip_max_length(tok));
    int64_t *ids[2] = {NULL, NULL};
    float *w[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    iid_status s = tokens_with_weights(tok, prompt, &ids[0], &w[0], &n[0], err);
    if (s == IID_OK) s = tokens_with_weights(tok, negative, &ids[1], &w[1], &n[1], err);
    size_t len = n[0] > n[1] ? n[0] : n[1];
    if (s == IID_OK) s = make_chunks(tok, ids[0], w[0], n[0], len, pos, err);
    if (s == IID_OK) s = make_chunks(tok, ids[1], w[1], n[1], len, neg, err);
    if (s != IID_OK) {
        iid__weighted_prompt_free(pos);
        iid__weighted_prompt_free(neg);
    }
    for (int k = 0; k < 2; k++) {
        free(ids[k]);
        free(w[k]);
    }
    return s;
}

void iid__weighted_prompt_free(iid_weighted_prompt_t *w)
{
    if (!w) return;
    free(w->chunks);
    free(w->ids_storage);
    free(w->weights_storage);
    memset(w, 0, sizeof *w);
}
