/*
 * image_png.c - PNG decoding with libpng, from memory, to 8-bit RGB.
 *
 * libpng reports errors by calling an error function that must not return; ours
 * records the message and longjmps back to the decoder, and the warning function
 * is silent (a photo's "known incorrect sRGB profile" must not fail it, nor print).
 * Running out of input is recorded separately so the message can say "truncated".
 *
 * Transforms ask libpng for RGB8 whatever the colour type: palettes expanded,
 * grey replicated, sub-byte depths unpacked, 16-bit samples reduced to their high
 * byte (png_set_strip_16: what OpenCV and PIL do), alpha (and palette/grey tRNS
 * transparency) dropped without blending. Gamma and ICC profiles are ignored, as
 * PIL and OpenCV ignore them.
 *
 * The size is checked after png_read_info (which reads IHDR) and before the pixel
 * buffer is allocated; libpng's own user limits are lifted so that our check, not
 * libpng's, names the limit. The EXIF Orientation comes from an eXIf chunk before
 * or after the image data.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_codecs.h"

typedef struct png_src {
    const uint8_t *data;
    size_t size, pos;
    int truncated;
    char msg[160];
    png_bytep *rows; /* freed by the caller, also after a longjmp */
} png_src_t;

static void on_error(png_structp png, png_const_charp msg)
{
    png_src_t *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_read(png_structp png, png_bytep buf, size_t len)
{
    png_src_t *src = png_get_io_ptr(png);
    if (len > src->size - src->pos) {
        src->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(buf, src->data + src->pos, len);
    src->pos += len;
}

/* The orientation from an eXIf chunk read so far, or 1. */
static int png_orientation(png_structp png, png_infop info)
{
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &n, &exif) == 0 || !exif) return 1;
    return iid__exif_orientation(exif, n);
}

iid_status iid__png_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                           const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    *orientation = 1;
    /* Everything the error path reads lives on the heap (src) or in *out, never in
     * automatic variables changed after setjmp. */
    png_src_t *src = calloc(1, sizeof *src);
    if (!src) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a PNG decoder", name);
    src->data = data;
    src->size = size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(src);
        return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a PNG decoder", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        iid__image_free(out);
        iid_status code = iid__fail(err, IID_ERR_FORMAT, "%s: corrupt PNG data (%s)", name, src->msg);
        if (src->truncated) code = iid__fail(err, IID_ERR_FORMAT, "%s: truncated PNG data", name);
        free(src->rows);
        free(src);
        return code;
    }
    png_set_read_fn(png, src, on_read);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    iid_status s = iid__image_check_size(w, h, name, lim, err);
    if (s != IID_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        free(src);
        return s;
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * 3) {
        png_destroy_read_struct(&png, &info, NULL);
        free(src);
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: PNG colour type %d, depth %d does not convert to RGB", name,
                         color, depth);
    }

    s = iid__image_alloc(out, (int)w, (int)h, 3, err);
    if (s == IID_OK) {
        src->rows = malloc(sizeof *src->rows * h);
        if (!src->rows) s = iid__fail(err, IID_ERR_NOMEM, "cannot allocate %u row pointers", (unsigned)h);
    }
    if (s != IID_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        iid__image_free(out);
        free(src);
        return iid__prefix(err, s, "%s", name);
    }
    for (png_uint_32 y = 0; y < h; y++) src->rows[y] = out->data + (size_t)y * w * 3;
    png_read_image(png, src->rows);
    png_read_end(png, info);
    *orientation = png_orientation(png, info);
    free(src->rows);
    free(src);
    png_destroy_read_struct(&png, &info, NULL);
    return IID_OK;
}
