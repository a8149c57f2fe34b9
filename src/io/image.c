/*
 * image.c - image buffers, limits, and EXIF orientation (reading the tag and
 * applying it); decoding itself is in image_decode.c.
 *
 * The EXIF reader is our own: it needs one tag (0x0112 in IFD0) and a dozen lines
 * of bounds-checked TIFF walking, which is smaller and easier to fuzz than linking
 * libexif for it.
 */
#include "io/image.h"

#include <stdlib.h>
#include <string.h>

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
        return iid__fail(err, IID_ERR_INVALID, "invalid image size %dx%dx%d", width, height, channels);
    size_t n = (size_t)width * (size_t)height;
    if (n > SIZE_MAX / (size_t)channels)
        return iid__fail(err, IID_ERR_RANGE, "a %dx%dx%d image is too large", width, height, channels);
    uint8_t *data = calloc(n * (size_t)channels, 1);
    if (!data)
        return iid__fail(err, IID_ERR_NOMEM, "cannot allocate a %dx%dx%d image", width, height, channels);
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
