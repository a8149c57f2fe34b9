/*
 * clip_normalize.c - BasicTokenizer clean-up and CLIP's regex word split.
 *
 * The clean-up is a straight pipeline over code point arrays (see the header).
 * Cleaning can only drop or space characters and lower-casing at most doubles a
 * piece (U+0130 grows to two), so their buffers are sized from their input; NFC,
 * which may merge or (rarely) split characters, is sized by utf8proc.
 *
 * The word split is written as the regex alternation reads: at each position the
 * first alternative that matches wins, and runs are greedy. Whitespace (and one
 * quirk character, see matches_nothing) matches no alternative and is skipped, as
 * findall() does.
 */
#include "text/clip_normalize.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/unicode.h"

/* BERT's _is_chinese_char ranges. */
static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BERT's _is_whitespace: space, \t, \n, \r and the Zs category. */
static int is_bert_space(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* BERT's _is_control: any "C*" category except \t, \n, \r. */
static int is_bert_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    int k = (int)utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CN || (k >= UTF8PROC_CATEGORY_CC && k <= UTF8PROC_CATEGORY_CO);
}

iid_status iid__clip_basic_clean(const int32_t *in, size_t n, int32_t **out, size_t *n_out, iid_error_t *err)
{
    *out = NULL;
    *n_out = 0;
    if (n > SIZE_MAX / (3 * sizeof(int32_t)) - 1)
        return iid__fail(err, IID_ERR_RANGE, "text: %zu code points is too long", n);
    /* Clean and space CJK ideographs: at most three code points per input. */
    int32_t *spaced = malloc((3 * n + 1) * sizeof *spaced);
    if (!spaced) return iid__fail(err, IID_ERR_NOMEM, "text: out of memory cleaning %zu code points", n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = in[i];
        if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
        if (is_bert_space(c)) spaced[k++] = ' ';
        else if (is_cjk(c)) {
            spaced[k++] = ' ';
            spaced[k++] = c;
            spaced[k++] = ' ';
        } else spaced[k++] = c;
    }
    int32_t *nfc;
    size_t m;
    iid_status s = iid__uc_nfc(spaced, k, &nfc, &m, err);
    free(spaced);
    if (s != IID_OK) return s;

    /* Split on Python whitespace, lower-case each piece, join with single spaces:
     * lower-casing at most doubles a piece, plus one separator per piece. */
    int32_t *joined = malloc((2 * m + 1) * sizeof *joined);
    if (!joined) {
        free(nfc);
        return iid__fail(err, IID_ERR_NOMEM, "text: out of memory lower-casing %zu code points", m);
    }
    size_t j = 0;
    for (size_t i = 0; i < m;) {
        if (iid__uc_is_python_space(nfc[i])) {
            i++;
            continue;
        }
        size_t end = i;
        while (end < m && !iid__uc_is_python_space(nfc[end])) end++;
        if (j > 0) joined[j++] = ' ';
        j += iid__uc_lower_python(nfc + i, end - i, joined + j);
        i = end;
    }
    free(nfc);
    *out = joined;
    *n_out = j;
    return IID_OK;
}

/* Case-insensitive match of a literal at text[pos]. */
static size_t match_literal(const int32_t *text, size_t n, size_t pos, const int32_t *lit, size_t len)
{
    if (len == 0 || n - pos < len) return 0;
    for (size_t i = 0; i < len; i++)
        if (text[pos + i] != lit[i] && iid__uc_fold(text[pos + i]) != iid__uc_fold(lit[i])) return 0;
    return len;
}

static size_t match_ascii(const int32_t *text, size_t n, size_t pos, const char *lit)
{
    int32_t buf[4];
    size_t len = strlen(lit);
    for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)lit[i];
    return match_literal(text, n, pos, buf, len);
}

/* Characters no alternative matches, skipped like whitespace. Besides White_Space
 * that is U+0345 (combining ypogegrammeni): under IGNORECASE the `regex` module
 * excludes it from [^\s\p{L}\p{N}] because it case-folds to a letter (iota),
 * while [\p{L}] does not take it either. */
static int matches_nothing(int32_t c) { return c == 0x345 || iid__uc_is_white_space(c); }

/* Length of the match starting at pos (0 when none). */
static size_t match_word(const int32_t *text, size_t n, size_t pos, const int32_t *const *specials,
                         const size_t *special_lens, int n_specials)
{
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (int s = 0; s < n_specials; s++) {
        size_t len = match_literal(text, n, pos, specials[s], special_lens[s]);
        if (len) return len;
    }
    for (size_t i = 0; i < sizeof contractions / sizeof contractions[0]; i++) {
        size_t len = match_ascii(text, n, pos, contractions[i]);
        if (len) return len;
    }
    int32_t c = text[pos];
    size_t end = pos;
    if (matches_nothing(c)) return 0;
    if (iid__uc_is_letter(c)) {
        while (end < n && iid__uc_is_letter(text[end])) end++;
        return end - pos;
    }
    if (iid__uc_is_number(c)) return 1;
    while (end < n && !matches_nothing(text[end]) && !iid__uc_is_letter(text[end]) &&
           !iid__uc_is_number(text[end]))
        end++;
    return end - pos;
}

iid_status iid__clip_split_words(const int32_t *text, size_t n, const int32_t *const *specials,
                                 const size_t *special_lens, int n_specials, iid_text_span_t **spans,
                                 size_t *n_spans, iid_error_t *err)
{
    *spans = NULL;
    *n_spans = 0;
    /* Words never overlap and each is at least one code point. */
    iid_text_span_t *buf = malloc((n + 1) * sizeof *buf);
    if (!buf) return iid__fail(err, IID_ERR_NOMEM, "text: out of memory splitting %zu code points", n);
    size_t count = 0;
    for (size_t pos = 0; pos < n;) {
        size_t len = match_word(text, n, pos, specials, special_lens, n_specials);
        if (len == 0) {
            pos++;
            continue;
        }
        buf[count].start = pos;
        buf[count].end = pos + len;
        count++;
        pos += len;
    }
    *spans = buf;
    *n_spans = count;
    return IID_OK;
}
