/*
 * image.h - 8-bit RGB images: the pixel buffer every stage shares, and decoding
 * PNG, JPEG and WebP files into it.
 *
 * An iid_image_t is HWC, interleaved, 8 bits per sample, rows packed with no
 * padding (stride = width * channels). Decoders always produce channels = 3 (RGB),
 * the layout InstantID's PIL code works in; insightface's BGR order is a matter of
 * reading index 2 - c.
 *
 * Decoding follows what InstantID's Python does with a photo (PIL open, EXIF
 * transpose, convert("RGB")), which for the face kit's photos is also what OpenCV's
 * imread gives:
 *   - the format is found from the magic bytes, never from the file name;
 *   - grey and grey+alpha are replicated to three channels; alpha is dropped, not
 *     blended (the colour under transparent pixels is kept); palettes are expanded;
 *     16-bit samples keep their high byte (libpng's strip: OpenCV's result, and
 *     PIL's for 16-bit colour; PIL clips 16-bit grey to 255 instead, a quirk we do
 *     not copy); an animated PNG gives its default image, as PIL and OpenCV do;
 *   - Adobe (inverted) CMYK and YCCK JPEGs are converted with PIL's formula
 *     (R = (255-K') - (C' * (255-K') / 255 rounded), on PIL's un-inverted values);
 *   - the EXIF Orientation tag (JPEG APP1, PNG eXIf, WebP EXIF chunk) is applied,
 *     all 8 values, as PIL's ImageOps.exif_transpose does;
 *   - the size is checked against iid_image_limits_t from the header, before any
 *     pixel buffer is allocated;
 *   - a file cut (or broken) before its last pixel row is an error: PIL refuses it
 *     too, and OpenCV would grey-fill a JPEG's missing rows, which we never present
 *     as a clean image. Only what follows a PNG's pixel data (IEND, late chunks)
 *     may be missing or damaged, as PIL allows.
 * Animated or other formats (GIF, BMP, TIFF, HEIF, ...) are refused with
 * IID_ERR_UNSUPPORTED and a message naming the format.
 *
 * Every failure is one line naming the file and the reason, e.g.
 * "x.png: truncated PNG data", "y.jpg: not an image (looks like text)",
 * "z.png: 100000x100000 exceeds the 16384-pixel side limit".
 *
 * Libraries: libpng, libjpeg-turbo and libwebp are the reference decoders of their
 * formats, well kept in Debian, and the ones PIL and OpenCV link (so decoded pixels
 * match the kit's goldens bit for bit). Their error handlers are replaced by
 * setjmp-based ones that capture the message: nothing prints, nothing aborts.
 *
 *   iid_image_t img;
 *   if (iid__image_load(&img, "face.jpg", NULL, &err) != IID_OK) ...;
 *   ... img.data[(y * img.width + x) * 3 + c] ...
 *   iid__image_free(&img);
 */
#ifndef IID_IO_IMAGE_H
#define IID_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct iid_image {
    int width, height;
    int channels; /* 3 = RGB */
    uint8_t *data; /* HWC, interleaved */
} iid_image_t;

/* Bounds checked before anything is allocated for a decoded image. */
typedef struct iid_image_limits {
    uint64_t max_pixels; /* width * height; default 50 megapixels */
    int max_side;        /* each of width and height; default 16384 */
    size_t max_bytes;    /* size of the encoded file; default 256 MiB */
} iid_image_limits_t;

#define IID_IMAGE_MAX_PIXELS_DEFAULT 50000000ull
#define IID_IMAGE_MAX_SIDE_DEFAULT 16384
#define IID_IMAGE_MAX_BYTES_DEFAULT ((size_t)256 << 20)

/* Fill lim with the defaults above. */
void iid__image_limits_init(iid_image_limits_t *lim);

/* Allocate a zeroed width x height x channels image (channels 1..4, sides >= 1).
 * Fails with IID_ERR_INVALID for bad sizes, IID_ERR_NOMEM when out of memory; on
 * failure *img is left empty (data NULL). Free with iid__image_free. */
iid_status iid__image_alloc(iid_image_t *img, int width, int height, int channels, iid_error_t *err);

/* Free the pixels and zero the struct. NULL, or an empty image, is a no-op. */
void iid__image_free(iid_image_t *img);

/* Decode an image file into *out (RGB, orientation applied). lim may be NULL for
 * the defaults. On failure *out is empty and err holds "<path>: <reason>".
 * Codes: IID_ERR_IO (cannot read), IID_ERR_FORMAT (not an image, truncated,
 * corrupt), IID_ERR_UNSUPPORTED (GIF, BMP, animation, ...), IID_ERR_RANGE (over
 * a limit), IID_ERR_NOMEM. */
iid_status iid__image_load(iid_image_t *out, const char *path, const iid_image_limits_t *lim, iid_error_t *err);

/* The same from bytes in memory (uploads, fuzzing); name is used in messages.
 * The bytes are only read and may be freed once this returns. */
iid_status iid__image_decode(iid_image_t *out, const void *data, size_t size, const char *name,
                             const iid_image_limits_t *lim, iid_error_t *err);

/* Apply EXIF orientation value 1..8 to *img in place (a new buffer replaces the
 * old one; 5..8 swap width and height). Values outside 2..8 leave it unchanged.
 * Fails only with IID_ERR_NOMEM, leaving *img untouched. */
iid_status iid__image_orient(iid_image_t *img, int orientation, iid_error_t *err);

/* The length of the PNG signature plus the whole chunks at the start of data
 * (each chunk's claimed length checked against what remains): libpng allocates a
 * chunk's claimed length before reading it, so our PNG readers hand it only this
 * prefix, and a lying length reads as truncation instead of a huge allocation. */
size_t iid__png_whole_chunks(const uint8_t *data, size_t size);

/* The Orientation tag (1..8) of a TIFF-structured EXIF block (starting at "II*\0"
 * or "MM\0*", or with a leading "Exif\0\0"), or 1 when absent or malformed. Every
 * offset is bounds-checked against size. */
int iid__exif_orientation(const uint8_t *exif, size_t size);

#endif
