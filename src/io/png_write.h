/*
 * png_write.h - writing result images as PNG with text chunks, and reading a text
 * chunk back.
 *
 * Outputs carry their settings in a `parameters` text chunk in AUTOMATIC1111's
 * format, so the chunk encoding follows what A1111 gets from PIL's
 * PngInfo.add_text: a value whose characters all fit in Latin-1 is a tEXt chunk
 * (Latin-1 bytes, as the PNG spec requires), anything else an uncompressed iTXt
 * chunk (UTF-8). Readers of either get UTF-8 back from iid__png_read_text. Text
 * chunks are written before the image data, where A1111 and PIL put them.
 *
 * Files are encoded in memory and written through iid__file_write_atomic (a
 * temporary "<path>.tmp.<pid>", then rename): a failure never leaves a temporary
 * file or a half-written target, and an existing target stays as it was.
 *
 * libpng is the reference PNG library, well kept in Debian; its error handler is
 * replaced by a setjmp-based one that captures the message (no printing).
 */
#ifndef IID_IO_PNG_WRITE_H
#define IID_IO_PNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "io/image.h"

typedef struct iid_png_text {
    const char *key;   /* 1-79 printable ASCII characters, no leading/trailing or double spaces */
    const char *value; /* UTF-8 */
} iid_png_text_t;

/* Encode img (channels 1 = grey, 3 = RGB, 4 = RGBA) with ntexts text chunks into a
 * malloc'd buffer *out of *size bytes (caller frees). Fails with IID_ERR_INVALID
 * for an empty image, an unsupported channel count, a bad key or a value that is
 * not valid UTF-8; IID_ERR_NOMEM when out of memory. */
iid_status iid__png_encode(const iid_image_t *img, const iid_png_text_t *texts, int ntexts, uint8_t **out,
                           size_t *size, iid_error_t *err);

/* Encode as above and write to path atomically. Errors name path; on failure
 * the target is unchanged and no temporary file remains. */
iid_status iid__png_write(const char *path, const iid_image_t *img, const iid_png_text_t *texts, int ntexts,
                          iid_error_t *err);

/* The value of the first tEXt, zTXt or iTXt chunk named key in the PNG file at
 * path (before or after the image data), as a malloc'd UTF-8 string in *value
 * (caller frees). Fails with IID_ERR_NOT_FOUND when there is no such chunk,
 * IID_ERR_FORMAT when the file is not a readable PNG, IID_ERR_IO when it cannot
 * be read; *value is then NULL. */
iid_status iid__png_read_text(const char *path, const char *key, char **value, iid_error_t *err);

/* The same over a PNG file's bytes in memory; name is used in messages. */
iid_status iid__png_text_decode(const void *bytes, size_t size, const char *name, const char *key, char **value,
                               iid_error_t *err);

#endif
