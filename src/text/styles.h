/*
 * styles.h - style templates: a name, a prompt template with "{prompt}", and a
 * negative prompt.
 *
 * The built-in table is data/styles.json, compiled into the library at build time
 * (CMake turns it into a byte array), so the binary needs no data file at run
 * time. It holds the 9 templates of InstantID's gradio demo exactly as the demo
 * writes them, then the 20 art styles that the original preprocess.py offered, by
 * their names, with prompts of our own. A styles file (`--styles-file FILE`, the
 * same JSON format) adds styles or replaces built-in ones of the same name.
 *
 * File format: either an object {"default_style": NAME, "styles": [...]} or a bare
 * array [...], each entry {"name", "prompt", "negative_prompt"}; "prompt" must
 * contain "{prompt}" (the demo's "(No style)" is just "{prompt}").
 *
 * Applying a style follows the demo's apply_style(): every "{prompt}" in the
 * template is replaced by the user's prompt, and the negative is the style's
 * negative, one space, then the user's negative (even when either is empty). An
 * unknown style name falls back to the default style.
 */
#ifndef IID_TEXT_STYLES_H
#define IID_TEXT_STYLES_H

#include <stddef.h>

#include "core/status.h"

typedef struct iid_style {
    char *name;
    char *prompt;   /* template containing "{prompt}" */
    char *negative; /* the style's negative prompt, possibly empty */
} iid_style_t;

typedef struct iid_styles {
    iid_style_t *items; /* in listing order: built-ins first, then added styles */
    int count;
    int cap;
    char *default_name; /* always names an entry of items */
} iid_styles_t;

/* Fill s with the built-in styles (data/styles.json). s need not be initialised;
 * on failure s is left empty and freeable. */
iid_status iid__styles_load_builtin(iid_styles_t *s, iid_error_t *err);

/* Parse a styles document (text of len bytes; label names it in errors) and merge
 * it into s: entries with a known name replace that style in place, others are
 * appended; a "default_style" key changes the default. Fails, leaving s
 * unchanged, on malformed JSON, a missing or non-string field, a prompt without
 * "{prompt}", or a default that names no style. */
iid_status iid__styles_merge_text(iid_styles_t *s, const char *text, size_t len, const char *label,
                                  iid_error_t *err);

/* Read the styles file at path and merge it into s as iid__styles_merge_text. */
iid_status iid__styles_merge_file(iid_styles_t *s, const char *path, iid_error_t *err);

/* The style named name (exact, case-sensitive), or NULL. */
const iid_style_t *iid__styles_find(const iid_styles_t *s, const char *name);

/* The style that apply_style uses for name: that style, or the default one when
 * name is NULL or unknown. Never NULL for a loaded table. */
const iid_style_t *iid__styles_resolve(const iid_styles_t *s, const char *name);

/* apply_style: *prompt_out = the resolved style's template with every "{prompt}"
 * replaced by prompt; *negative_out = style negative + " " + negative. NULL
 * prompt or negative count as "". The caller frees both outputs. */
iid_status iid__styles_apply(const iid_styles_t *s, const char *name, const char *prompt, const char *negative,
                             char **prompt_out, char **negative_out, iid_error_t *err);

/* The file-name slug of a style name: ASCII letters and digits lower-cased, every
 * other run of characters one '-', no leading or trailing '-' ("(No style)" ->
 * "no-style", "Ukiyo-e" -> "ukiyo-e"); "style" when nothing remains. Truncated to
 * cap - 1 bytes. */
void iid__style_slug(const char *name, char *buf, size_t cap);

/* Free everything s owns and leave it empty. NULL is a no-op. */
void iid__styles_free(iid_styles_t *s);

#endif
