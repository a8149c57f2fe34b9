/*
 * font.h - drawing text onto RGB images with FreeType and a DejaVu font.
 *
 * The font file is found at run time: fontconfig's best match for "DejaVu
 * Sans" (Debian's fonts-dejavu-core), accepted only when fontconfig really
 * found DejaVu Sans (it would otherwise substitute any font); else the fixed
 * path IID_FONT_FALLBACK_PATH; else a one-line error naming the package. A
 * caller may name a font file instead (`--font FILE`); any font FreeType opens
 * will do.
 *
 * Text is UTF-8 (decoded with utf8proc), rendered glyph by glyph with
 * FreeType's 8-bit anti-aliased rasteriser, advanced by each glyph's advance
 * plus the font's kerning, and blended onto the image in the given colour. A
 * code point the font lacks draws as its "missing glyph" box. Drawing clips to
 * the image and to a maximum width; iid__font_fit shortens a string with an
 * ellipsis to fit a width.
 *
 * Each iid_font_t owns its FreeType library and face, so fonts in different
 * threads are independent (FreeType's objects are not shared across threads).
 *
 *   iid_font_t *f;
 *   if (iid__font_open(&f, NULL, 12, &err) != IID_OK) ...;
 *   iid__font_draw(f, &img, 10, 10, "Watercolor", black, 200);
 *   iid__font_free(f);
 */
#ifndef IID_SHEET_FONT_H
#define IID_SHEET_FONT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/image.h"

#define IID_FONT_FALLBACK_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

typedef struct iid_font iid_font_t;

/* The path of DejaVu Sans (fontconfig, then the fallback path) into buf.
 * IID_ERR_NOT_FOUND with "no DejaVu Sans font ... (install fonts-dejavu-core
 * or give --font FILE)" when neither has it. */
iid_status iid__font_find(char *buf, size_t cap, iid_error_t *err);

/* Open file (NULL: iid__font_find) at pixel_size (6..200) pixels per em.
 * Fails naming the file when FreeType cannot read it. */
iid_status iid__font_open(iid_font_t **out, const char *file, int pixel_size, iid_error_t *err);

/* NULL is a no-op. */
void iid__font_free(iid_font_t *f);

/* Distance between baselines, in pixels. */
int iid__font_line_height(const iid_font_t *f);

/* Width of text in pixels. */
int iid__font_text_width(iid_font_t *f, const char *text);

/* The bytes of the longest prefix of text (whole code points) at most max_w
 * (> 0) pixels wide. */
size_t iid__font_prefix(iid_font_t *f, const char *text, int max_w);

/* text (UTF-8) into buf, cut at a character boundary with "…" appended when it
 * is wider than max_w pixels. */
void iid__font_fit(iid_font_t *f, const char *text, int max_w, char *buf, size_t cap);

/* Draw text with its line's top at (x, top), clipped to the image and to
 * max_w pixels from x (0: no limit). img must be RGB (3 channels). */
void iid__font_draw(iid_font_t *f, iid_image_t *img, int x, int top, const char *text, const uint8_t rgb[3],
                    int max_w);

#endif
