/*
 * png_write.c - PNG encoding to memory with text chunks, atomic file writes, and
 * reading one text chunk back (see png_write.h for the rules).
 *
 * Both directions run libpng under a setjmp-based error handler whose state lives
 * in a heap context, so nothing the error path reads is an automatic variable
 * changed after setjmp. Text values are converted between UTF-8 (our strings) and
 * Latin-1 (tEXt/zTXt payloads) here; iTXt carries UTF-8 unchanged.
 */
#include "io/png_write.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

/* Largest file iid__png_read_text reads. */
#define READ_TEXT_MAX_BYTES ((size_t)512 << 20)
/* Largest chunk (or decompressed zTXt/iTXt) it lets libpng allocate. */
#define READ_TEXT_MAX_CHUNK ((size_t)16 << 20)

/* ---- UTF-8 <-> Latin-1 ---- */

/* Decode one UTF-8 sequence at s (NUL-terminated); returns its length and the code
 * point in *cp, or 0 for an invalid sequence (overlong, surrogate, > U+10FFFF). */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n) return 0;
    uint32_t v = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* Check value is UTF-8; *latin1 tells whether every code point is below 256. */
static int utf8_check(const char *value, int *latin1)
{
    *latin1 = 1;
    for (const unsigned char *s = (const unsigned char *)value; *s;) {
        uint32_t cp;
        int n = utf8_next(s, &cp);
        if (!n) return 0;
        if (cp > 0xff) *latin1 = 0;
        s += n;
    }
    return 1;
}

/* The Latin-1 bytes of a UTF-8 string whose code points are all below 256. */
static char *utf8_to_latin1(const char *value)
{
    char *out = malloc(strlen(value) + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *s = (const unsigned char *)value; *s;) {
        uint32_t cp = 0;
        s += utf8_next(s, &cp);
        *o++ = (char)cp;
    }
    *o = '\0';
    return out;
}

static char *latin1_to_utf8(const char *value, size_t len)
{
    char *out = malloc(2 * len + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x80) {
            *o++ = (char)c;
        } else {
            *o++ = (char)(0xc0 | c >> 6);
            *o++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *o = '\0';
    return out;
}

static int key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++) {
        if (key[i] < 0x20 || key[i] > 0x7e) return 0;
        if (key[i] == ' ' && key[i + 1] == ' ') return 0;
    }
    return 1;
}

/* ---- encoding ---- */

typedef struct png_wctx {
    uint8_t *buf;
    size_t size, cap;
    int nomem;
    char msg[160];
    png_text *texts;
    char **latin1; /* converted tEXt values, one per text (NULL for iTXt) */
    int ntexts;
    png_bytep *rows;
} png_wctx_t;

static void w_error(png_structp png, png_const_charp msg)
{
    png_wctx_t *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void quiet_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void w_write(png_structp png, png_bytep data, size_t len)
{
    png_wctx_t *c = png_get_io_ptr(png);
    if (len > c->cap - c->size) {
        size_t cap = c->cap ? c->cap : 65536;
        while (cap - c->size < len) {
            if (cap > SIZE_MAX / 2) cap = SIZE_MAX;
            else cap *= 2;
        }
        uint8_t *b = realloc(c->buf, cap);
        if (!b) {
            c->nomem = 1;
            png_error(png, "out of memory");
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->size, data, len);
    c->size += len;
}

static void w_flush(png_structp png)
{
    (void)png;
}

static void wctx_free(png_wctx_t *c)
{
    if (!c) return;
    for (int i = 0; c->latin1 && i < c->ntexts; i++) free(c->latin1[i]);
    free(c->latin1);
    free(c->texts);
    free(c->rows);
    free(c->buf);
    free(c);
}

/* Validate the texts and fill c->texts (pointing into the caller's strings or
 * c->latin1). */
static iid_status prepare_texts(png_wctx_t *c, const iid_png_text_t *texts, int ntexts, iid_error_t *err)
{
    if (ntexts <= 0) return IID_OK;
    c->texts = calloc((size_t)ntexts, sizeof *c->texts);
    c->latin1 = calloc((size_t)ntexts, sizeof *c->latin1);
    if (!c->texts || !c->latin1) return iid__fail(err, IID_ERR_NOMEM, "cannot allocate %d text chunks", ntexts);
    c->ntexts = ntexts;
    for (int i = 0; i < ntexts; i++) {
        if (!key_ok(texts[i].key))
            return iid__fail(err, IID_ERR_INVALID, "invalid PNG text key '%s' (1-79 printable ASCII characters)",
                             texts[i].key ? texts[i].key : "(null)");
        int latin1;
        const char *v = texts[i].value ? texts[i].value : "";
        if (!utf8_check(v, &latin1))
            return iid__fail(err, IID_ERR_INVALID, "PNG text '%s' is not valid UTF-8", texts[i].key);
        png_text *t = &c->texts[i];
        t->key = (png_charp)texts[i].key;
        if (latin1) {
            c->latin1[i] = utf8_to_latin1(v);
            if (!c->latin1[i]) return iid__fail(err, IID_ERR_NOMEM, "cannot allocate PNG text '%s'", t->key);
            t->compression = PNG_TEXT_COMPRESSION_NONE;
            t->text = c->latin1[i];
            t->text_length = strlen(c->latin1[i]);
        } else {
            t->compression = PNG_ITXT_COMPRESSION_NONE;
            t->text = (png_charp)v;
            t->itxt_length = strlen(v);
            t->lang = (png_charp) "";
            t->lang_key = (png_charp) "";
        }
    }
    return IID_OK;
}

iid_status iid__png_encode(const iid_image_t *img, const iid_png_text_t *texts, int ntexts, uint8_t **out,
                           size_t *size, iid_error_t *err)
{
    *out = NULL;
    *size = 0;
    static const int color_of[5] = {-1, PNG_COLOR_TYPE_GRAY, -1, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (!img || !img->data || img->width < 1 || img->height < 1 || img->channels < 1 || img->channels > 4 ||
        color_of[img->channels] < 0)
        return iid__fail(err, IID_ERR_INVALID, "PNG: cannot encode an empty image or one with %d channels",
                         img ? img->channels : 0);
    png_wctx_t *c = calloc(1, sizeof *c);
    if (!c) return iid__fail(err, IID_ERR_NOMEM, "PNG: out of memory");
    iid_status s = prepare_texts(c, texts, ntexts, err);
    if (s == IID_OK) {
        c->rows = malloc(sizeof *c->rows * (size_t)img->height);
        if (!c->rows) s = iid__fail(err, IID_ERR_NOMEM, "PNG: cannot allocate %d row pointers", img->height);
    }
    if (s != IID_OK) {
        wctx_free(c);
        return s;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, w_error, quiet_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        wctx_free(c);
        return iid__fail(err, IID_ERR_NOMEM, "PNG: cannot create an encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        iid_status code = c->nomem ? iid__fail(err, IID_ERR_NOMEM, "PNG: out of memory encoding")
                                   : iid__fail(err, IID_ERR_INVALID, "PNG: cannot encode: %s", c->msg);
        wctx_free(c);
        return code;
    }
    png_set_write_fn(png, c, w_write, w_flush);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, color_of[img->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (c->ntexts) png_set_text(png, info, c->texts, c->ntexts);
    png_write_info(png, info);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++) c->rows[y] = img->data + (size_t)y * stride;
    png_write_image(png, c->rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = c->buf;
    *size = c->size;
    c->buf = NULL;
    wctx_free(c);
    return IID_OK;
}

iid_status iid__png_write(const char *path, const iid_image_t *img, const iid_png_text_t *texts, int ntexts,
                          iid_error_t *err)
{
    uint8_t *buf;
    size_t size;
    iid_status s = iid__png_encode(img, texts, ntexts, &buf, &size, err);
    if (s != IID_OK) return iid__prefix(err, s, "%s", path);
    s = iid__file_write_atomic(path, buf, size, err);
    free(buf);
    return s;
}

/* ---- reading text back ---- */

typedef struct png_rctx {
    const uint8_t *data;
    size_t size, pos;
    int truncated;
    char msg[160];
    uint8_t *row;
} png_rctx_t;

static void r_error(png_structp png, png_const_charp msg)
{
    png_rctx_t *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void r_read(png_structp png, png_bytep buf, size_t len)
{
    png_rctx_t *c = png_get_io_ptr(png);
    if (len > c->size - c->pos) {
        c->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(buf, c->data + c->pos, len);
    c->pos += len;
}

/* The UTF-8 value of chunk key among info's texts: 1 found (or out of memory:
 * *value NULL, *nomem set), 0 absent. */
static int find_text(png_structp png, png_infop info, const char *key, char **value, int *nomem)
{
    png_textp t;
    int n = 0;
    png_get_text(png, info, &t, &n);
    for (int i = 0; i < n; i++) {
        if (strcmp(t[i].key, key) != 0) continue;
        if (t[i].compression == PNG_ITXT_COMPRESSION_NONE || t[i].compression == PNG_ITXT_COMPRESSION_zTXt) {
            *value = malloc(t[i].itxt_length + 1);
            if (*value) memcpy(*value, t[i].text, t[i].itxt_length), (*value)[t[i].itxt_length] = '\0';
        } else {
            *value = latin1_to_utf8(t[i].text, t[i].text_length);
        }
        *nomem = *value == NULL;
        return 1;
    }
    return 0;
}

iid_status iid__png_text_decode(const void *bytes, size_t size, const char *path, const char *key, char **value,
                               iid_error_t *err)
{
    *value = NULL;
    if (size < 8 || memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) != 0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: not a PNG file", path);
    png_rctx_t *c = calloc(1, sizeof *c);
    png_structp png = c ? png_create_read_struct(PNG_LIBPNG_VER_STRING, c, r_error, quiet_warning) : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(c);
        return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a PNG decoder", path);
    }
    c->data = bytes;
    c->size = iid__png_whole_chunks(bytes, size);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        iid_status code = c->truncated ? iid__fail(err, IID_ERR_FORMAT, "%s: truncated PNG data", path)
                                       : iid__fail(err, IID_ERR_FORMAT, "%s: corrupt PNG data (%s)", path, c->msg);
        free(*value);
        *value = NULL;
        free(c->row);
        free(c);
        return code;
    }
    /* libpng's default user limits (10^6 pixels a side) stay: they bound the one
     * row buffer below. */
    png_set_read_fn(png, c, r_read);
    png_set_chunk_malloc_max(png, READ_TEXT_MAX_CHUNK); /* lying chunk lengths */
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
    int nomem = 0;
    png_read_info(png, info);
    int found = find_text(png, info, key, value, &nomem);
    if (!found) {
        /* Texts after the image data: read (and discard) the rows to reach them. */
        int passes = png_set_interlace_handling(png);
        png_read_update_info(png, info);
        c->row = malloc(png_get_rowbytes(png, info));
        if (!c->row) {
            snprintf(c->msg, sizeof c->msg, "out of memory");
            png_longjmp(png, 1);
        }
        png_uint_32 h = png_get_image_height(png, info);
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(png, c->row, NULL);
        png_read_end(png, info);
        found = find_text(png, info, key, value, &nomem);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(c->row);
    free(c);
    if (nomem) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot allocate the text '%s'", path, key);
    if (!found) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no '%s' text chunk", path, key);
    return IID_OK;
}

iid_status iid__png_read_text(const char *path, const char *key, char **value, iid_error_t *err)
{
    *value = NULL;
    char *bytes;
    size_t size;
    IID_TRY(iid__file_read_all(path, READ_TEXT_MAX_BYTES, &bytes, &size, err));
    iid_status s = iid__png_text_decode(bytes, size, path, key, value, err);
    free(bytes);
    return s;
}
