/*
 * file_hash.h - SHA-256 of whole files (streamed, so multi-gigabyte checkpoints
 * need no more than a read buffer), and AUTOMATIC1111's short "Model hash" built
 * on it: the first 10 hex digits of the file's SHA-256 (A1111 1.x; the PNG
 * `parameters` text and `instantid info` carry it). The digest comes from nettle.
 */
#ifndef IID_IO_FILE_HASH_H
#define IID_IO_FILE_HASH_H

#include "core/status.h"

/* 64 lower-case hex digits + NUL. Errors name the path. */
iid_status iid__file_sha256_hex(const char *path, char hex[65], iid_error_t *err);

/* AUTOMATIC1111's `Model hash`: 10 hex digits + NUL. */
iid_status iid__a1111_model_hash(const char *path, char out[11], iid_error_t *err);

#endif
