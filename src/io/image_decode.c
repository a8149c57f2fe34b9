/*
 * image_decode.c - decoding PNG, JPEG and WebP from memory into 8-bit RGB (the
 * rules are in image.h).
 *
 * iid__image_decode looks at the first bytes only: PNG, JPEG and WebP go to their
 * decoders below; other known image formats get "unsupported format (GIF)" and
 * anything else "not an image", with a hint when the bytes look like text. Each
 * decoder checks the header's size against the limits before allocating pixels,
 * returns the EXIF orientation it found, and the dispatcher applies it.
 *
 * PNG (libpng): libpng reports errors through a function that must not return;
 * ours records the message and longjmps back, and warnings are silent (a photo's
 * "known incorrect sRGB profile" must neither fail nor print). Running out of input
 * is recorded so the message can say "truncated". Transforms ask for RGB8 whatever
 * the colour type: palettes expanded, grey replicated, sub-byte depths unpacked,
 * 16-bit reduced to the high byte (png_set_strip_16), alpha and tRNS dropped
 * without blending. Gamma and ICC profiles are ignored, as PIL and OpenCV ignore
 * them. libpng's own user limits are lifted so that our check names the limit.
 * libpng allocates a chunk's claimed length before reading it, so it only sees
 * the whole chunks of the input: a cut chunk reads as the end of the data.
 * Once every row is decoded, an error in what follows (a lost IEND, a damaged
 * late chunk) no longer fails the file, as in PIL.
 * The orientation comes from an eXIf chunk before or after the image data.
 *
 * JPEG (libjpeg-turbo): libjpeg's defaults (integer slow IDCT, fancy upsampling),
 * the ones PIL and OpenCV use, so pixels match the face kit's goldens bit for bit.
 * Baseline, progressive and arithmetic-coded files decode. YCbCr/RGB come out as
 * RGB, grey is replicated (libjpeg's gray->RGB is a copy), CMYK and YCCK come out
 * as CMYK and are converted the way PIL does: PIL reads 4-component JPEGs as
 * inverted ("CMYK;I", the Adobe convention libjpeg returns), so its CMYK is
 * C' = 255 - c, and convert("RGB") computes R = (255 - K') - C' (255 - K') / 255
 * with its MULDIV255 rounding (OpenCV truncates and lands about a level higher).
 * error_exit formats the message and longjmps back; output_message is silent.
 * libjpeg treats running out of data as a warning and pads with grey; we turn that
 * warning into "truncated JPEG data" (PIL refuses such files too) unless every
 * scanline is already out. Absurd progressive scan counts (a known way to make
 * libjpeg spin) are cut off by a progress monitor.
 *
 * WebP (libwebp): still images (lossy, lossless, alpha) decode straight into the
 * RGB buffer with default (fancy) upsampling; in MODE_RGB alpha is ignored, not
 * blended. Animated WebP is refused. The canvas size comes from WebPGetFeatures
 * (header only); the orientation from the EXIF chunk of an extended (VP8X) file,
 * found by walking the RIFF chunks with bounds checks.
 *
 * Every error path reads only heap contexts or *out, never automatic variables
 * changed after setjmp.
 */
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
/* jpeglib.h needs size_t and FILE before it. */
#include <jpeglib.h>

#include "io/file.h"
#include "io/image.h"

/* Check a header's claimed size against lim before anything sized by it is
 * allocated. */
static iid_status check_size(uint64_t width, uint64_t height, const char *name, const iid_image_limits_t *lim,
                             iid_error_t *err)
{
    if (width == 0 || height == 0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: the header gives an empty size %llux%llu", name,
                         (unsigned long long)width, (unsigned long long)height);
    /* Both sides are below 2^32 for every format we read, so the product fits. */
    if (width > UINT32_MAX || height > UINT32_MAX || width * height > lim->max_pixels) {
        double mp = (double)lim->max_pixels / 1e6;
        return iid__fail(err, IID_ERR_RANGE, "%s: %llux%llu exceeds the %g-megapixel limit", name,
                         (unsigned long long)width, (unsigned long long)height, mp);
    }
    if (width > (uint64_t)lim->max_side || height > (uint64_t)lim->max_side)
        return iid__fail(err, IID_ERR_RANGE, "%s: %llux%llu exceeds the %d-pixel side limit", name,
                         (unsigned long long)width, (unsigned long long)height, lim->max_side);
    return IID_OK;
}

/* ---- PNG ---- */

/* Largest ancillary chunk (text, ICC profile, EXIF) we let libpng allocate. */
#define PNG_CHUNK_MAX ((size_t)16 << 20)

size_t iid__png_whole_chunks(const uint8_t *data, size_t size)
{
    size_t pos = 8;
    if (size < pos) return 0;
    while (size - pos >= 12) {
        uint32_t len = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                       data[pos + 3];
        if (len > size - pos - 12) break;
        pos += 12 + (size_t)len;
    }
    return pos;
}

typedef struct png_src {
    const uint8_t *data;
    size_t size, pos;
    int truncated;
    int rows_done; /* every row decoded: later errors no longer matter */
    char msg[160];
    png_bytep *rows; /* freed by the caller, also after a longjmp */
} png_src_t;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_src_t *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_on_read(png_structp png, png_bytep buf, size_t len)
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
static int png_exif_orientation(png_structp png, png_infop info)
{
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &n, &exif) == 0 || !exif) return 1;
    return iid__exif_orientation(exif, n);
}

static iid_status decode_png(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                             const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    *orientation = 1;
    /* Everything the error path reads lives on the heap (src) or in *out, never in
     * automatic variables changed after setjmp. */
    png_src_t *src = calloc(1, sizeof *src);
    if (!src) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a PNG decoder", name);
    src->data = data;
    src->size = iid__png_whole_chunks(data, size);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(src);
        return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a PNG decoder", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        if (src->rows_done) { /* every pixel is in; what followed was cut or broken */
            free(src->rows);
            free(src);
            return IID_OK;
        }
        iid__image_free(out);
        iid_status code = iid__fail(err, IID_ERR_FORMAT, "%s: corrupt PNG data (%s)", name, src->msg);
        if (src->truncated) code = iid__fail(err, IID_ERR_FORMAT, "%s: truncated PNG data", name);
        free(src->rows);
        free(src);
        return code;
    }
    png_set_read_fn(png, src, png_on_read);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* Ancillary chunks (and their decompressed text or profiles) are small in real
     * files; a lying chunk length must not make libpng allocate gigabytes. */
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    iid_status s = check_size(w, h, name, lim, err);
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
    /* Like PIL, a file cut or damaged after the last pixel row still decodes; an
     * eXIf chunk before the image data counts even then. */
    src->rows_done = 1;
    *orientation = png_exif_orientation(png, info);
    png_read_end(png, info);
    *orientation = png_exif_orientation(png, info);
    free(src->rows);
    free(src);
    png_destroy_read_struct(&png, &info, NULL);
    return IID_OK;
}

/* ---- JPEG ---- */

/* Far more scans than any real encoder writes (progressive JPEGs have ~10). */
#define MAX_SCANS 1000

typedef struct jpeg_ctx {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int truncated;   /* ran out of data */
    int in_header;   /* still inside jpeg_read_header */
    int rows_done;   /* every scanline is out; a missing EOI no longer matters */
    int too_many_scans;
    uint8_t *row;    /* one CMYK row, when converting */
} jpeg_ctx_t;

static void jpeg_on_error_exit(j_common_ptr cinfo)
{
    jpeg_ctx_t *ctx = (jpeg_ctx_t *)cinfo->client_data;
    cinfo->err->format_message(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

static void jpeg_on_emit_message(j_common_ptr cinfo, int level)
{
    if (level != -1) return; /* trace messages */
    jpeg_ctx_t *ctx = (jpeg_ctx_t *)cinfo->client_data;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF && !ctx->rows_done) {
        ctx->truncated = 1;
        longjmp(ctx->jump, 1);
    }
    /* Other warnings (extraneous bytes, bad Huffman codes) are tolerated, as PIL
     * and OpenCV tolerate them. */
    cinfo->err->num_warnings++;
}

static void jpeg_on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_ctx_t *ctx = (jpeg_ctx_t *)cinfo->client_data;
        ctx->too_many_scans = 1;
        longjmp(ctx->jump, 1);
    }
}

static int jpeg_exif_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return iid__exif_orientation(m->data, m->data_length);
    }
    return 1;
}

static uint8_t muldiv255(int a, int b)
{
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* PIL's CMYK -> RGB on one row of libjpeg's (inverted) CMYK. */
static void cmyk_row_to_rgb(uint8_t *rgb, const uint8_t *cmyk, int width)
{
    for (int x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        int nk = cmyk[3]; /* 255 - K' where K' = 255 - k */
        for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)(nk - muldiv255(255 - cmyk[c], nk));
    }
}

static iid_status jpeg_fail(jpeg_ctx_t *ctx, const char *name, iid_error_t *err)
{
    if (ctx->truncated && ctx->in_header)
        return iid__fail(err, IID_ERR_FORMAT, "%s: truncated JPEG data (ends inside the headers)", name);
    if (ctx->truncated) return iid__fail(err, IID_ERR_FORMAT, "%s: truncated JPEG data", name);
    if (ctx->too_many_scans)
        return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt JPEG data (more than %d scans)", name, MAX_SCANS);
    int code = ctx->jerr.msg_code;
    if (code == JERR_BAD_PRECISION || code == JERR_SOF_UNSUPPORTED || code == JERR_NOT_COMPILED)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: unsupported JPEG (%s)", name, ctx->msg);
    return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt JPEG data (%s)", name, ctx->msg);
}

static iid_status decode_jpeg(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                              const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    *orientation = 1;
    /* The context is on the heap: nothing the error path reads is an automatic
     * variable changed after setjmp. */
    jpeg_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot create a JPEG decoder", name);
    j_decompress_ptr cinfo = &ctx->cinfo;
    cinfo->err = jpeg_std_error(&ctx->jerr);
    ctx->jerr.error_exit = jpeg_on_error_exit;
    ctx->jerr.emit_message = jpeg_on_emit_message;
    ctx->jerr.output_message = jpeg_on_output_message;
    cinfo->client_data = ctx;
    if (setjmp(ctx->jump)) {
        iid_status s = jpeg_fail(ctx, name, err);
        jpeg_destroy_decompress(cinfo);
        iid__image_free(out);
        free(ctx->row);
        free(ctx);
        return s;
    }
    jpeg_create_decompress(cinfo);
    ctx->progress.progress_monitor = jpeg_on_progress;
    cinfo->progress = &ctx->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    ctx->in_header = 1;
    jpeg_read_header(cinfo, TRUE);
    ctx->in_header = 0;

    iid_status s = check_size(cinfo->image_width, cinfo->image_height, name, lim, err);
    int cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
    if (s == IID_OK && !cmyk && cinfo->jpeg_color_space != JCS_GRAYSCALE && cinfo->jpeg_color_space != JCS_YCbCr &&
        cinfo->jpeg_color_space != JCS_RGB)
        s = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: JPEG colour space %d with %d components is not supported", name,
                      (int)cinfo->jpeg_color_space, cinfo->num_components);
    if (s != IID_OK) {
        jpeg_destroy_decompress(cinfo);
        free(ctx);
        return s;
    }
    *orientation = jpeg_exif_orientation(cinfo);
    cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    int w = (int)cinfo->image_width, h = (int)cinfo->image_height;
    s = iid__image_alloc(out, w, h, 3, err);
    if (s == IID_OK && cmyk) {
        ctx->row = malloc((size_t)w * 4);
        if (!ctx->row) s = iid__fail(err, IID_ERR_NOMEM, "cannot allocate a %d-pixel row", w);
    }
    if (s != IID_OK) {
        jpeg_destroy_decompress(cinfo);
        iid__image_free(out);
        free(ctx->row);
        free(ctx);
        return iid__prefix(err, s, "%s", name);
    }

    jpeg_start_decompress(cinfo);
    if ((int)cinfo->output_width != w || (int)cinfo->output_height != h ||
        cinfo->output_components != (cmyk ? 4 : 3)) {
        snprintf(ctx->msg, sizeof ctx->msg, "unexpected output %ux%ux%d", (unsigned)cinfo->output_width,
                 (unsigned)cinfo->output_height, cinfo->output_components);
        longjmp(ctx->jump, 1);
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = out->data + (size_t)cinfo->output_scanline * (size_t)w * 3;
        JSAMPROW row = cmyk ? ctx->row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            snprintf(ctx->msg, sizeof ctx->msg, "no scanline returned");
            longjmp(ctx->jump, 1);
        }
        if (cmyk) cmyk_row_to_rgb(dst, ctx->row, w);
    }
    ctx->rows_done = 1;
    jpeg_finish_decompress(cinfo);
    jpeg_destroy_decompress(cinfo);
    free(ctx->row);
    free(ctx);
    return IID_OK;
}

/* ---- WebP ---- */

static const char *webp_status_str(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "unknown error";
    }
}

static iid_status webp_fail(VP8StatusCode st, const char *name, iid_error_t *err)
{
    if (st == VP8_STATUS_NOT_ENOUGH_DATA) return iid__fail(err, IID_ERR_FORMAT, "%s: truncated WebP data", name);
    if (st == VP8_STATUS_OUT_OF_MEMORY) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory decoding WebP", name);
    return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt WebP data (%s)", name, webp_status_str(st));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The orientation in the EXIF chunk of a RIFF/WEBP file, or 1. */
static int webp_exif_orientation(const uint8_t *d, size_t size)
{
    size_t pos = 12;
    while (pos + 8 <= size) {
        size_t len = le32(d + pos + 4);
        if (len > size - pos - 8) return 1;
        if (memcmp(d + pos, "EXIF", 4) == 0) return iid__exif_orientation(d + pos + 8, len);
        pos += 8 + len + (len & 1);
    }
    return 1;
}

static iid_status decode_webp(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                              const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    *orientation = 1;
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: libwebp version mismatch", name);
    VP8StatusCode st = WebPGetFeatures(data, size, &config.input);
    if (st != VP8_STATUS_OK) return webp_fail(st, name, err);
    if (config.input.has_animation)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: unsupported format (animated WebP)", name);
    IID_TRY(check_size((uint64_t)config.input.width, (uint64_t)config.input.height, name, lim, err));
    iid_status s = iid__image_alloc(out, config.input.width, config.input.height, 3, err);
    if (s != IID_OK) return iid__prefix(err, s, "%s", name);

    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out->data;
    config.output.u.RGBA.stride = out->width * 3;
    config.output.u.RGBA.size = (size_t)out->width * (size_t)out->height * 3;
    st = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (st != VP8_STATUS_OK) {
        iid__image_free(out);
        return webp_fail(st, name, err);
    }
    *orientation = webp_exif_orientation(data, size);
    return IID_OK;
}

/* ---- sniffing and dispatch ---- */

/* A name for a format we recognise but do not decode, or NULL. */
static const char *unsupported_format(const uint8_t *d, size_t n)
{
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "GIF";
    if (n >= 2 && memcmp(d, "BM", 2) == 0) return "BMP";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return "TIFF";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0) return "AVIF";
        return "HEIF/ISO media";
    }
    if (n >= 8 && memcmp(d, "\x8aMNG\r\n\x1a\n", 8) == 0) return "MNG";
    if (n >= 12 && memcmp(d, "\0\0\0\x0cjP  ", 8) == 0) return "JPEG 2000";
    if (n >= 4 && memcmp(d, "\xff\x0a", 2) == 0) return "JPEG XL";
    if (n >= 4 && memcmp(d, "\0\0\x01\0", 4) == 0) return "ICO";
    if (n >= 4 && memcmp(d, "8BPS", 4) == 0) return "PSD";
    if (n >= 4 && memcmp(d, "%PDF", 4) == 0) return "PDF";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0) return "RIFF (not WebP)";
    return NULL;
}

/* True when the first bytes are printable ASCII or UTF-8 text. */
static int looks_like_text(const uint8_t *d, size_t n)
{
    if (n > 512) n = 512;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return 0;
        if (c == 0x7f) return 0;
    }
    return 1;
}

iid_status iid__image_decode(iid_image_t *out, const void *data, size_t size, const char *name,
                             const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    iid_image_limits_t def;
    if (!lim) {
        iid__image_limits_init(&def);
        lim = &def;
    }
    if (!name) name = "image";
    const uint8_t *d = data;
    if (size == 0) return iid__fail(err, IID_ERR_FORMAT, "%s: empty file", name);
    if (size > lim->max_bytes)
        return iid__fail(err, IID_ERR_RANGE, "%s: %zu bytes exceeds the %zu-byte limit", name, size, lim->max_bytes);

    int orientation = 1;
    iid_status s;
    if (size >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
        s = decode_png(out, &orientation, d, size, name, lim, err);
    } else if (size >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
        s = decode_jpeg(out, &orientation, d, size, name, lim, err);
    } else if (size >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) {
        s = decode_webp(out, &orientation, d, size, name, lim, err);
    } else {
        const char *fmt = unsupported_format(d, size);
        if (fmt) return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: unsupported format (%s)", name, fmt);
        if (size < 8)
            return iid__fail(err, IID_ERR_FORMAT, "%s: not an image (only %zu bytes)", name, size);
        if (looks_like_text(d, size))
            return iid__fail(err, IID_ERR_FORMAT, "%s: not an image (looks like text)", name);
        return iid__fail(err, IID_ERR_FORMAT, "%s: not an image (unknown format)", name);
    }
    if (s != IID_OK) {
        iid__image_free(out);
        return s;
    }
    s = iid__image_orient(out, orientation, err);
    if (s != IID_OK) {
        iid__image_free(out);
        return iid__prefix(err, s, "%s", name);
    }
    return IID_OK;
}

iid_status iid__image_load(iid_image_t *out, const char *path, const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    iid_image_limits_t def;
    if (!lim) {
        iid__image_limits_init(&def);
        lim = &def;
    }
    char *bytes;
    size_t size;
    IID_TRY(iid__file_read_all(path, lim->max_bytes, &bytes, &size, err));
    iid_status s = iid__image_decode(out, bytes, size, path, lim, err);
    free(bytes);
    return s;
}
