/*
 * image_codecs.h - the per-format decoders behind iid__image_decode (internal to
 * src/io).
 *
 * Each takes the whole encoded file in memory, the name for messages and the
 * limits (never NULL here), and on success fills *out with an RGB image and
 * *orientation with the EXIF Orientation value found in the file (1 when none).
 * The dispatcher in image.c sniffs the format, applies the orientation and owns
 * the messages common to all formats. On failure *out is empty.
 */
#ifndef IID_IO_IMAGE_CODECS_H
#define IID_IO_IMAGE_CODECS_H

#include "io/image.h"

iid_status iid__png_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                           const iid_image_limits_t *lim, iid_error_t *err);
iid_status iid__jpeg_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                            const iid_image_limits_t *lim, iid_error_t *err);
iid_status iid__webp_decode(iid_image_t *out, int *orientation, const uint8_t *data, size_t size, const char *name,
                            const iid_image_limits_t *lim, iid_error_t *err);

/* Check a header's claimed size against lim: IID_OK, or IID_ERR_FORMAT for a zero
 * side, IID_ERR_RANGE with "<name>: WxH exceeds the N-megapixel limit" (or the side
 * limit). Call it before allocating anything sized by the header. */
iid_status iid__image_check_size(uint64_t width, uint64_t height, const char *name, const iid_image_limits_t *lim,
                                 iid_error_t *err);

#endif
