/*
 * sha256.h - the SHA-256 of a file, as hex, for model hashes (AUTOMATIC1111's
 * "Model hash" is the first 10 hex digits of the checkpoint's SHA-256).
 *
 * The digest comes from nettle (Debian's nettle-dev, already on every machine
 * that builds libmicrohttpd's TLS); the file is read in 1 MiB pieces, so a
 * multi-gigabyte weight file needs no more memory than that. Hashing such a
 * file takes seconds, so callers that hash model files keep the result in the
 * cache (cache.h) keyed by path, size and modification time.
 */
#ifndef IID_IO_SHA256_H
#define IID_IO_SHA256_H

#include "core/status.h"

/* hex receives 64 lowercase hex digits and a NUL. Fails naming path. */
iid_status iid__sha256_file(const char *path, char hex[65], iid_error_t *err);

/* The same over bytes in memory. */
void iid__sha256_bytes(const void *data, size_t size, char hex[65]);

#endif
