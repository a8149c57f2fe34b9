/*
 * font.c - FreeType text drawing and the fontconfig look-up of DejaVu Sans
 * (see font.h).
 *
 * FreeType and fontconfig are the libraries every Linux desktop renders and
 * finds fonts with; Debian packages both (libfreetype-dev, libfontconfig-dev).
 * The fontconfig configuration is loaded per look-up and destroyed after it, so
 * nothing global is kept (FcFini is never called: other code may use
 * fontconfig's default configuration).
 */
#include "sheet/font.h"

#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "io/file.h"

struct iid_font {
    FT_Library lib;
    FT_Face face;
    int ascender, line_h;
};

/* fontconfig's match for DejaVu Sans, when it is DejaVu Sans. */
static int fontconfig_find(char *buf, size_t cap)
{
    FcConfig *cfg = FcInitLoadConfigAndFonts();
    if (!cfg) return 0;
    int found = 0;
    FcPattern *pat = FcNameParse((const FcChar8 *)"DejaVu Sans:style=Book");
    if (pat && FcConfigSubstitute(cfg, pat, FcMatchPattern)) {
        FcDefaultSubstitute(pat);
        FcResult res;
        FcPattern *match = FcFontMatch(cfg, pat, &res);
        FcChar8 *file = NULL, *family = NULL;
        if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch &&
            FcPatternGetString(match, FC_FAMILY, 0, &family) == FcResultMatch &&
            strcmp((const char *)family, "DejaVu Sans") == 0 && iid__is_file((const char *)file) &&
            strlen((const char *)file) < cap) {
            strcpy(buf, (const char *)file);
            found = 1;
        }
        if (match) FcPatternDestroy(match);
    }
    if (pat) FcPatternDestroy(pat);
    FcConfigDestroy(cfg);
    return found;
}

iid_status iid__font_find(char *buf, size_t cap, iid_error_t *err)
{
    if (fontconfig_find(buf, cap)) return IID_OK;
    if (iid__is_file(IID_FONT_FALLBACK_PATH) && strlen(IID_FONT_FALLBACK_PATH) < cap) {
        strcpy(buf, IID_FONT_FALLBACK_PATH);
        return IID_OK;
    }
    return iid__fail(err, IID_ERR_NOT_FOUND,
                     "no DejaVu Sans font: fontconfig does not know it and %s is missing (install "
                     "fonts-dejavu-core, or give --font FILE)",
                     IID_FONT_FALLBACK_PATH);
}

iid_status iid__font_open(iid_font_t **out, const char *file, int pixel_size, iid_error_t *err)
{
    *out = NULL;
    char found[4096];
    if (!file) {
        IID_TRY(iid__font_find(found, sizeof found, err));
        file = found;
    }
    if (pixel_size < 6 || pixel_size > 200)
        return iid__fail(err, IID_ERR_INVALID, "font size %d is outside 6..200 pixels", pixel_size);
    iid_font_t *f = calloc(1, sizeof *f);
    if (!f) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    FT_Error e = FT_Init_FreeType(&f->lib);
    if (e) {
        free(f);
        return iid__fail(err, IID_ERR_NOMEM, "FreeType cannot start (error %d)", e);
    }
    if ((e = FT_New_Face(f->lib, file, 0, &f->face)) != 0) {
        iid__font_free(f);
        return iid__fail(err, IID_ERR_FORMAT, "%s: not a font FreeType can read (error %d)", file, e);
    }
    if ((e = FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_size)) != 0) {
        iid__font_free(f);
        return iid__fail(err, IID_ERR_FORMAT, "%s: no %d-pixel size (error %d)", file, pixel_size, e);
    }
    const FT_Size_Metrics *m = &f->face->size->metrics;
    f->ascender = (int)((m->ascender + 63) >> 6);
    f->line_h = (int)((m->height + 63) >> 6);
    if (f->line_h < pixel_size) f->line_h = pixel_size;
    *out = f;
    return IID_OK;
}

void iid__font_free(iid_font_t *f)
{
    if (!f) return;
    if (f->face) FT_Done_Face(f->face);
    if (f->lib) FT_Done_FreeType(f->lib);
    free(f);
}

int iid__font_line_height(const iid_font_t *f)
{
    return f->line_h;
}

/* The next code point of s (advancing *i), or -1 at the end; an invalid byte
 * reads as U+FFFD. */
static int32_t next_cp(const char *s, size_t len, size_t *i)
{
    if (*i >= len) return -1;
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(len - *i), &cp);
    if (n <= 0) {
        *i += 1;
        return 0xFFFD;
    }
    *i += (size_t)n;
    return cp;
}

/* Horizontal kerning between two glyphs, in pixels. */
static int kerning(const iid_font_t *f, FT_UInt prev, FT_UInt glyph)
{
    FT_Vector k;
    if (!prev || !FT_HAS_KERNING(f->face) || FT_Get_Kerning(f->face, prev, glyph, FT_KERNING_DEFAULT, &k)) return 0;
    return (int)(k.x >> 6);
}

/* Lay out text, drawing it when img is non-NULL. Returns the width; stops
 * before the glyph that would pass max_w (> 0), with *used (when non-NULL) the
 * bytes laid out. */
static int run_text(iid_font_t *f, const char *text, iid_image_t *img, int x0, int top, const uint8_t *rgb,
                    int max_w, size_t *used)
{
    size_t len = strlen(text), i = 0, done = 0;
    int pen = 0;
    FT_UInt prev = 0;
    for (int32_t cp; (cp = next_cp(text, len, &i)) >= 0; done = i) {
        FT_UInt glyph = FT_Get_Char_Index(f->face, (FT_ULong)cp);
        if (FT_Load_Glyph(f->face, glyph, img ? FT_LOAD_RENDER : FT_LOAD_DEFAULT)) continue;
        pen += kerning(f, prev, glyph);
        prev = glyph;
        FT_GlyphSlot g = f->face->glyph;
        int adv = (int)((g->advance.x + 32) >> 6);
        if (max_w > 0 && pen + adv > max_w) break;
        if (img) {
            const FT_Bitmap *b = &g->bitmap;
            int gx = x0 + pen + g->bitmap_left, gy = top + f->ascender - g->bitmap_top;
            for (unsigned r = 0; r < b->rows; r++) {
                int y = gy + (int)r;
                if (y < 0 || y >= img->height) continue;
                for (unsigned c = 0; c < b->width; c++) {
                    int x = gx + (int)c;
                    if (x < 0 || x >= img->width || (max_w > 0 && x >= x0 + max_w)) continue;
                    unsigned a = b->buffer[(long)r * b->pitch + c];
                    uint8_t *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
                    for (int ch = 0; ch < 3; ch++) p[ch] = (uint8_t)((p[ch] * (255 - a) + rgb[ch] * a + 127) / 255);
                }
            }
        }
        pen += adv;
    }
    if (used) *used = done;
    return pen;
}

int iid__font_text_width(iid_font_t *f, const char *text)
{
    return run_text(f, text, NULL, 0, 0, NULL, 0, NULL);
}

void iid__font_fit(iid_font_t *f, const char *text, int max_w, char *buf, size_t cap)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    if (!cap) return;
    snprintf(buf, cap, "%s", text);
    if (iid__font_text_width(f, buf) <= max_w) return;
    int room = max_w - iid__font_text_width(f, ellipsis);
    size_t keep = iid__font_prefix(f, buf, room > 1 ? room : 1);
    if (cap < sizeof ellipsis) return;
    if (keep + sizeof ellipsis > cap) keep = cap - sizeof ellipsis; /* only for tiny buffers */
    memcpy(buf + keep, ellipsis, sizeof ellipsis);
}

size_t iid__font_prefix(iid_font_t *f, const char *text, int max_w)
{
    size_t used = 0;
    run_text(f, text, NULL, 0, 0, NULL, max_w, &used);
    return used;
}

void iid__font_draw(iid_font_t *f, iid_image_t *img, int x, int top, const char *text, const uint8_t rgb[3],
                    int max_w)
{
    if (img->channels != 3) return;
    run_text(f, text, img, x, top, rgb, max_w, NULL);
}
