/*
 * unicode.c - UTF-8 coding, NFC, Python-style lower-casing and character classes.
 *
 * Everything here is a thin layer over utf8proc's tables. The one piece of logic
 * of our own is Python's lower-casing: utf8proc maps characters one to one, while
 * Python applies SpecialCasing's unconditional full mapping (only U+0130 expands
 * when lower-casing) and the Final_Sigma context rule, so a Greek word ending in a
 * capital sigma lower-cases to a final sigma. Both matter because the CLIP
 * vocabulary has distinct tokens for the results.
 */
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

iid_status iid__utf8_decode(const char *s, size_t len, int32_t **cps, size_t *n, const char *label,
                            iid_error_t *err)
{
    *cps = NULL;
    *n = 0;
    int32_t *buf = malloc((len + 1) * sizeof *buf);
    if (!buf) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory decoding %zu bytes of text", label, len);
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        size_t left = len - i;
        utf8proc_ssize_t used = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                                 left > 4 ? 4 : (utf8proc_ssize_t)left, &c);
        if (used <= 0) {
            free(buf);
            return iid__fail(err, IID_ERR_INVALID, "%s: invalid UTF-8 at byte %zu (0x%02x); text must be UTF-8",
                             label, i, (unsigned)(unsigned char)s[i]);
        }
        buf[count++] = c;
        i += (size_t)used;
    }
    *cps = buf;
    *n = count;
    return IID_OK;
}

iid_status iid__utf8_encode(const int32_t *cps, size_t n, char **out, size_t *len, iid_error_t *err)
{
    *out = NULL;
    *len = 0;
    if (n > (SIZE_MAX - 1) / 4) return iid__fail(err, IID_ERR_RANGE, "text: %zu code points is too long", n);
    char *buf = malloc(4 * n + 1);
    if (!buf) return iid__fail(err, IID_ERR_NOMEM, "text: out of memory encoding %zu code points", n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)buf + k);
    buf[k] = '\0';
    *out = buf;
    *len = k;
    return IID_OK;
}

iid_status iid__uc_nfc(const int32_t *cps, size_t n, int32_t **out, size_t *n_out, iid_error_t *err)
{
    *out = NULL;
    *n_out = 0;
    char *utf8;
    size_t len;
    IID_TRY(iid__utf8_encode(cps, n, &utf8, &len, err));
    utf8proc_uint8_t *composed = NULL;
    utf8proc_ssize_t clen = utf8proc_map((const utf8proc_uint8_t *)utf8, (utf8proc_ssize_t)len, &composed,
                                         UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    free(utf8);
    if (clen < 0)
        return iid__fail(err, clen == UTF8PROC_ERROR_NOMEM ? IID_ERR_NOMEM : IID_ERR_INVALID,
                         "text: NFC normalisation failed: %s", utf8proc_errmsg(clen));
    iid_status s = iid__utf8_decode((const char *)composed, (size_t)clen, out, n_out, "text (NFC)", err);
    free(composed);
    return s;
}

static int category(int32_t c) { return (int)utf8proc_category(c); }

/* PropList.txt's Other_Lowercase and Other_Uppercase ranges: characters outside
 * Lu/Ll/Lt that are still Cased (U+00AA, modifier letters, Roman numerals,
 * circled letters, ...). */
static const int32_t other_cased[][2] = {
    {0x00AA, 0x00AA}, {0x00BA, 0x00BA}, {0x02B0, 0x02B8}, {0x02C0, 0x02C1}, {0x02E0, 0x02E4},
    {0x0345, 0x0345}, {0x037A, 0x037A}, {0x10FC, 0x10FC}, {0x1D2C, 0x1D6A}, {0x1D78, 0x1D78},
    {0x1D9B, 0x1DBF}, {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2160, 0x217F},
    {0x24B6, 0x24E9}, {0x2C7C, 0x2C7D}, {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F2, 0xA7F4},
    {0xA7F8, 0xA7F9}, {0xAB5C, 0xAB5F}, {0xAB69, 0xAB69}, {0x10780, 0x10780}, {0x10783, 0x10785},
    {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x1E030, 0x1E06D}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169},
    {0x1F170, 0x1F189},
};

/* Python's Cased property: Lu, Ll, Lt, Other_Lowercase, Other_Uppercase. */
static int is_cased(int32_t c)
{
    int k = category(c);
    if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) return 1;
    for (size_t i = 0; i < sizeof other_cased / sizeof other_cased[0]; i++)
        if (c >= other_cased[i][0] && c <= other_cased[i][1]) return 1;
    return 0;
}

/* Python's Case_Ignorable: marks, format characters, modifier letters and symbols,
 * and the Word_Break MidLetter / MidNumLet / Single_Quote characters. */
static int is_case_ignorable(int32_t c)
{
    switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    int k = category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}

/* U+03A3 at position i lower-cases to a final sigma when a cased letter precedes
 * it and none follows (skipping case-ignorable characters both ways). */
static int32_t lower_capital_sigma(const int32_t *in, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && is_case_ignorable(in[j - 1])) j--;
    if (j == 0 || !is_cased(in[j - 1])) return 0x3C3;
    j = i + 1;
    while (j < n && is_case_ignorable(in[j])) j++;
    return (j == n || !is_cased(in[j])) ? 0x3C2 : 0x3C3;
}

size_t iid__uc_lower_python(const int32_t *in, size_t n, int32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = in[i];
        if (c == 0x130) {
            out[k++] = 0x69;
            out[k++] = 0x307;
        } else if (c == 0x3A3) {
            out[k++] = lower_capital_sigma(in, n, i);
        } else {
            out[k++] = utf8proc_tolower(c);
        }
    }
    return k;
}

int32_t iid__uc_fold(int32_t c) { return utf8proc_tolower(utf8proc_toupper(c)); }

int iid__uc_is_letter(int32_t c)
{
    int k = category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

int iid__uc_is_number(int32_t c)
{
    int k = category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

int iid__uc_is_decimal(int32_t c) { return category(c) == UTF8PROC_CATEGORY_ND; }

int iid__uc_decimal_value(int32_t c)
{
    /* Decimal digits are encoded in runs of ten, zero first, so the value is the
     * distance from the start of the run modulo ten (some runs are adjacent). */
    int32_t start = c;
    while (start > 0 && iid__uc_is_decimal(start - 1)) start--;
    return (int)((c - start) % 10);
}

int iid__uc_is_white_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

int iid__uc_is_python_space(int32_t c)
{
    /* Python adds the bidi separators U+001C..U+001F to White_Space. */
    return iid__uc_is_white_space(c) || (c >= 0x1C && c <= 0x1F);
}

int iid__uc_is_python_word(int32_t c) { return c == '_' || iid__uc_is_letter(c) || iid__uc_is_number(c); }
