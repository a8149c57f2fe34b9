/*
 * image_jpeg.c - JPEG decoding with libjpeg(-turbo), from memory, to 8-bit RGB.
 *
 * Decoder settings are libjpeg's defaults (integer slow IDCT, fancy upsampling),
 * the ones PIL and OpenCV use, so pixels match the face kit's goldens bit for bit
 * (libjpeg-turbo 2.1.5 made them). Baseline, progressive and arithmetic-coded
 * files decode; 12-bit and lossless JPEGs are refused by libjpeg with a message.
 *
 * Colour: YCbCr/RGB come out as RGB; grey is replicated (libjpeg's gray->RGB is a
 * copy); CMYK and YCCK come out as CMYK, which we convert the way PIL does. PIL
 * reads 4-component JPEGs as inverted ("CMYK;I", the Adobe convention libjpeg
 * returns), so its CMYK is C' = 255 - c, and convert("RGB") computes
 * R = (255 - K') - round(C' * (255 - K') / 255) with its MULDIV255 rounding.
 * OpenCV truncates instead and lands about one level higher.
 *
 * Errors: libjpeg's error_exit is replaced by one that formats the message and
 * longjmps back here; output_message is silent. libjpeg treats running out of
 * data as a warning and pads the image with grey; we turn that warning into the
 * error "truncated JPEG data" (PIL refuses such files too). Progressive files with
 * absurd scan counts (a known way to make libjpeg spin) are cut off by a progress
 * monitor. The size is checked after jpeg_read_header, before anything is
 * allocated for pixels.
 */
#include <jerror.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* jpeglib.h needs size_t and FILE before it. */
#include <jpeglib.h>

#include "io/image_codecs.h"

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

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_ctx_t *ctx = (jpeg_ctx_t *)cinfo->client_data;
    cinfo->err->format_message(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
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

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_ctx_t *ctx = (jpeg_ctx_t *)cinfo->client_data;
        ctx->too_many_scans = 1;
        longjmp(ctx->jump, 1);
    }
}

static int jpeg_orientation(j_decompress_ptr cinfo)
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

static iid_status fail_from_ctx(jpeg_ctx_t *ctx, const char *name, iid_error_t *err)
{
    if (ctx->truncated && ctx->in_header)
        return iid__fail(err, IID_ERR_FORMAT, "%s: truncated JPEG data (ends inside the headers)", name);
    if (ctx->truncated) return iid__fail(err, IID_ERR_FORMAT, "%s: truncated JPEG data", name);
    if (ctx->too_many_scans)
        return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt JPEG data (more than %d scans)", name, MAX_SCANS);
    return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt JPEG data (%s)", name, ctx->msg);
}

iid_status iid__jpeg_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
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
    ctx->jerr.error_exit = on_error_exit;
    ctx->jerr.emit_message = on_emit_message;
    ctx->jerr.output_message = on_output_message;
    cinfo->client_data = ctx;
    if (setjmp(ctx->jump)) {
        iid_status s = fail_from_ctx(ctx, name, err);
        jpeg_destroy_decompress(cinfo);
        iid__image_free(out);
        free(ctx->row);
        free(ctx);
        return s;
    }
    jpeg_create_decompress(cinfo);
    ctx->progress.progress_monitor = on_progress;
    cinfo->progress = &ctx->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    ctx->in_header = 1;
    jpeg_read_header(cinfo, TRUE);
    ctx->in_header = 0;

    iid_status s = iid__image_check_size(cinfo->image_width, cinfo->image_height, name, lim, err);
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
    *orientation = jpeg_orientation(cinfo);
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
