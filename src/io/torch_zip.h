/*
 * torch_zip.h - torch.save() checkpoints (zip + pickle) as a safetensors-style index,
 * and the weights-file dispatcher.
 *
 * A torch zip checkpoint holds `<root>/data.pkl` (the pickled state dict, read by
 * io/pickle.h, never executed) and one entry `<root>/data/<key>` per storage; the
 * root folder's name varies. Opening one:
 *   1. opens the zip with libzip (consistency checks on) and finds the single
 *      `<root>/data.pkl` entry, which fixes <root>;
 *   2. runs data.pkl and flattens it ("image_proj.latents", ...);
 *   3. for every tensor: checks that <root>/data/<key> exists, that the view is
 *      contiguous (C-order; other strides are refused), that it fits inside the
 *      storage's declared element count and inside the entry's byte size;
 *   4. reads each referenced storage entry ONCE into a malloc'd buffer owned by the
 *      index (st->owned), and points the tensor at offset x dtype size inside it.
 * Storages are copied rather than memory-mapped: libzip does not expose where an
 * entry's bytes start, and copies cost one pass over files of 1 GB at most.
 *
 * The result is the same iid_safetensors_t as io/safetensors.h builds (sorted by
 * name, duplicates refused), so every model loader reads both formats alike;
 * iid__st_close() frees it. Errors are one line naming the file and, where there is
 * one, the tensor, zip entry, or pickle byte offset and opcode.
 */
#ifndef IID_IO_TORCH_ZIP_H
#define IID_IO_TORCH_ZIP_H

#include <stddef.h>

#include "io/safetensors.h"

/* Index the torch zip checkpoint at path. On failure *out is left closed. */
iid_status iid__torch_open(iid_safetensors_t *out, const char *path, iid_error_t *err);

/* The same from a buffer; label names it in errors. The index copies what it
 * keeps, so buf may be released as soon as this returns. */
iid_status iid__torch_parse(iid_safetensors_t *out, const void *buf, size_t size, const char *label,
                            iid_error_t *err);

/* Open a weights file of either format, chosen by content, not by extension: a
 * zip (starting "PK\x03\x04") is a torch checkpoint, a file whose 8-byte header
 * length is followed by '{' is safetensors (memory-mapped as by iid__st_open).
 * Empty files and anything else fail with IID_ERR_FORMAT naming the path. */
iid_status iid__weights_open(iid_safetensors_t *out, const char *path, iid_error_t *err);

/* The dispatcher over a buffer. For safetensors the index points INTO buf, which
 * must then outlive it; torch indexes own their data. */
iid_status iid__weights_parse(iid_safetensors_t *out, const void *buf, size_t size, const char *label,
                              iid_error_t *err);

#endif
