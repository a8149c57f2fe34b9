/*
 * image_webp.c - WebP decoding with libwebp, from memory, to 8-bit RGB.
 *
 * Lossy, lossless and alpha (VP8X + ALPH) still images decode straight into the
 * RGB buffer with libwebp's default (fancy) upsampling, as OpenCV and PIL decode
 * them. Alpha is dropped, not blended: in MODE_RGB libwebp writes the colour
 * samples and ignores alpha. Animated WebP is refused ("unsupported format").
 *
 * libwebp reports failures as status codes, never prints or aborts. The canvas
 * size comes from WebPGetFeatures (header only) and is checked before the pixel
 * buffer is allocated. The EXIF Orientation comes from the EXIF chunk of an
 * extended (VP8X) file, found by walking the RIFF chunks with bounds checks.
 */
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

#include "io/image_codecs.h"

static const char *status_str(VP8StatusCode st)
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

static iid_status fail_status(VP8StatusCode st, const char *name, iid_error_t *err)
{
    if (st == VP8_STATUS_NOT_ENOUGH_DATA) return iid__fail(err, IID_ERR_FORMAT, "%s: truncated WebP data", name);
    if (st == VP8_STATUS_OUT_OF_MEMORY) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory decoding WebP", name);
    return iid__fail(err, IID_ERR_FORMAT, "%s: corrupt WebP data (%s)", name, status_str(st));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The orientation in the EXIF chunk of a RIFF/WEBP file, or 1. */
static int webp_orientation(const uint8_t *d, size_t size)
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

iid_status iid__webp_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                            const iid_image_limits_t *lim, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    *orientation = 1;
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: libwebp version mismatch", name);
    VP8StatusCode st = WebPGetFeatures(data, size, &config.input);
    if (st != VP8_STATUS_OK) return fail_status(st, name, err);
    if (config.input.has_animation)
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: unsupported format (animated WebP)", name);
    IID_TRY(iid__image_check_size((uint64_t)config.input.width, (uint64_t)config.input.height, name, lim, err));
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
        return fail_status(st, name, err);
    }
    *orientation = webp_orientation(data, size);
    return IID_OK;
}
