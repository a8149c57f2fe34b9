/*
 * unicode.h - the few Unicode services the text layer needs, on top of utf8proc.
 *
 * The reference tokenizer and prompt parser are Python: they see `str` objects and
 * use Python's notions of whitespace, word characters and lower-casing, and the
 * `regex` module's notions of \s, \p{L} and \p{N}. This file reproduces each of
 * those on arrays of code points (int32_t), so the modules above it can be written
 * as the reference reads.
 *
 * Input text is UTF-8. Invalid UTF-8 (overlong forms, surrogates, truncated
 * sequences, code points above U+10FFFF) is rejected with an error that names the
 * byte offset: a prompt in another encoding is a user error worth reporting, and
 * silently replacing bytes would make two different prompts tokenise alike.
 *
 * Where utf8proc lacks a property Python uses (Cased, Case_Ignorable for the
 * final-sigma rule), it is approximated from general categories; the difference is
 * confined to rare modifier letters next to a capital sigma.
 */
#ifndef IID_TEXT_UNICODE_H
#define IID_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Decode len bytes of UTF-8 into a malloc'd array of code points (*n of them; the
 * array has room for at least one element even when *n is 0). Fails with
 * IID_ERR_INVALID naming `label` and the byte offset of the first bad sequence,
 * or IID_ERR_NOMEM. Caller frees *cps. */
iid_status iid__utf8_decode(const char *s, size_t len, int32_t **cps, size_t *n, const char *label,
                            iid_error_t *err);

/* Encode n code points as UTF-8 into a malloc'd, NUL-terminated string (*len bytes
 * without the NUL). The code points must be valid scalar values. Caller frees. */
iid_status iid__utf8_encode(const int32_t *cps, size_t n, char **out, size_t *len, iid_error_t *err);

/* NFC of n code points, into a malloc'd array (*n_out entries). Caller frees. */
iid_status iid__uc_nfc(const int32_t *cps, size_t n, int32_t **out, size_t *n_out, iid_error_t *err);

/* Python's str.lower() of a whole token: full lower-case mappings (U+0130 becomes
 * two code points) and the Final_Sigma rule for U+03A3. `out` must hold 2*n code
 * points; returns the number written. */
size_t iid__uc_lower_python(const int32_t *in, size_t n, int32_t *out);

/* Simple case folding as the `regex` module applies it for IGNORECASE. */
int32_t iid__uc_fold(int32_t c);

/* Character classes. */
int iid__uc_is_letter(int32_t c);       /* regex \p{L}: Lu Ll Lt Lm Lo */
int iid__uc_is_number(int32_t c);       /* regex \p{N}: Nd Nl No */
int iid__uc_is_decimal(int32_t c);      /* Python re \d: Nd */
int iid__uc_is_white_space(int32_t c);  /* regex \s: the White_Space property */
int iid__uc_is_python_space(int32_t c); /* Python str.isspace() and re's \s */
int iid__uc_is_python_word(int32_t c);  /* Python re's \w: alphanumeric or '_' */
/* The value 0-9 of a decimal digit (iid__uc_is_decimal), as Python's float() reads it. */
int iid__uc_decimal_value(int32_t c);

#endif
