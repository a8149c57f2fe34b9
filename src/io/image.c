/*
 * image.c - image buffers, format sniffing, size limits and EXIF orientation.
 *
 * iid__image_decode looks at the first bytes only: PNG, JPEG and WebP go to their
 * decoders (image_png.c, image_jpeg.c, image_webp.c); other known image formats
 * get "unsupported format (GIF)" and anything else "not an image", with a hint
 * when the bytes look like text. After decoding, the EXIF orientation the decoder
 * found is applied here, the same way for every format.
 *
 * The EXIF reader is our own: it needs one tag (0x0112 in IFD0) and a dozen lines
 * of bounds-checked TIFF walking, which is smaller and easier to fuzz than linking
 * libexif for it.
 */
#include "io/image.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/image_codecs.h"

void iid__image_limits_init(iid_image_limits_t *lim)
{
    lim->max_pixels = IID_IMAGE_MAX_PIXELS_DEFAULT;
    lim->max_side = IID_IMAGE_MAX_SIDE_DEFAULT;
    lim->max_bytes = IID_IMAGE_MAX_BYTES_DEFAULT;
}

iid_status iid__image_alloc(iid_image_t *img, int width, int height, int channels, iid_error_t *err)
{
    memset(img, 0, sizeof *img);
    if (width < 1 || height < 1 || channels < 1 || channels > 4)
        return iid__fail(err, IID_ERR_INVALID, "image: invalid size %dx%dx%d", width, height, channels);
    size_t n = (size_t)width * (size_t)height;
    if (n > SIZE_MAX / (size_t)channels)
        return iid__fail(err, IID_ERR_RANGE, "image: %dx%dx%d is too large", width, height, channels);
    uint8_t *data = calloc(n * (size_t)channels, 1);
    if (!data)
        return iid__fail(err, IID_ERR_NOMEM, "image: cannot allocate %dx%dx%d pixels", width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->data = data;
    return IID_OK;
}

void iid__image_free(iid_image_t *img)
{
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

iid_status iid__image_check_size(uint64_t width, uint64_t height, const char *name, const iid_image_limits_t *lim,
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
        s = iid__png_decode(out, &orientation, d, size, name, lim, err);
    } else if (size >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
        s = iid__jpeg_decode(out, &orientation, d, size, name, lim, err);
    } else if (size >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) {
        s = iid__webp_decode(out, &orientation, d, size, name, lim, err);
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

iid_status iid__image_orient(iid_image_t *img, int orientation, iid_error_t *err)
{
    if (orientation < 2 || orientation > 8 || !img->data) return IID_OK;
    int w = img->width, h = img->height, c = img->channels;
    int swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    iid_image_t o;
    IID_TRY(iid__image_alloc(&o, ow, oh, c, err));
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* the source pixel of output (x, y) */
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;              /* mirror left-right */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;      /* rotate 180 */
            case 4: sx = x; sy = h - 1 - y; break;              /* mirror top-bottom */
            case 5: sx = y; sy = x; break;                      /* transpose */
            case 6: sx = y; sy = h - 1 - x; break;              /* rotate 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;      /* transverse */
            default: sx = w - 1 - y; sy = x; break;             /* 8: rotate 90 counter-clockwise */
            }
            memcpy(o.data + ((size_t)y * ow + x) * c, img->data + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    }
    iid__image_free(img);
    *img = o;
    return IID_OK;
}

static unsigned rd16(const uint8_t *p, int le)
{
    return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int iid__exif_orientation(const uint8_t *exif, size_t size)
{
    if (!exif) return 1;
    if (size >= 6 && memcmp(exif, "Exif\0\0", 6) == 0) {
        exif += 6;
        size -= 6;
    }
    if (size < 8) return 1;
    int le;
    if (memcmp(exif, "II*\0", 4) == 0) le = 1;
    else if (memcmp(exif, "MM\0*", 4) == 0) le = 0;
    else return 1;
    uint32_t ifd = rd32(exif + 4, le);
    if (ifd > size - 2) return 1;
    unsigned count = rd16(exif + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > size) return 1;
        if (rd16(exif + e, le) != 0x0112) continue;
        unsigned type = rd16(exif + e + 2, le);
        unsigned v = type == 3 ? rd16(exif + e + 8, le) : type == 4 ? (unsigned)rd32(exif + e + 8, le) : 0;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
