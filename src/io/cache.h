/*
 * cache.h - the per-user cache folder and what instantid keeps in it.
 *
 * The folder is $XDG_CACHE_HOME/instantid, else $HOME/.cache/instantid (the XDG
 * base directory rule), created on first use. $IID_CACHE_DIR overrides it (tests,
 * read-only homes). Everything in it can be deleted at any time; it only saves
 * work: the SHA-256 of model files (hashing a 5 GB UNet takes seconds) and the
 * machine's measured speed (batch/estimate.h).
 *
 * Small files, one job each; every update rewrites its file atomically (temp name
 * + rename), so concurrent runs can at worst lose one another's entry.
 */
#ifndef IID_IO_CACHE_H
#define IID_IO_CACHE_H

#include <stddef.h>

#include "core/status.h"

/* The cache folder's path into buf (created when missing). Fails when no folder
 * can be named or created. */
iid_status iid__cache_dir(char *buf, size_t cap, iid_error_t *err);

/* A file's SHA-256 (64 hex digits), from the cache when the file's path, size and
 * modification time match an entry of <cache>/hashes.tsv, else computed and
 * recorded. A cache that cannot be read or written only costs the hashing. */
iid_status iid__cached_sha256(const char *path, char hex[65], iid_error_t *err);

#endif
