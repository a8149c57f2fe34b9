/*
 * file.h - whole-file reads, read-only memory maps, and atomic writes.
 *
 * Atomic writes go to "<path>.tmp.<pid>" first and are renamed over the target, so
 * a crash never leaves a half-written file in place of a good one.
 */
#ifndef IID_IO_FILE_H
#define IID_IO_FILE_H

#include <stddef.h>

#include "core/status.h"

typedef struct iid_mapped_file {
    void *data;  /* NULL for an empty file */
    size_t size;
} iid_mapped_file_t;

/* Open an input file for reading without blocking on a FIFO, and refuse anything
 * but a regular file (FIFO, device, socket, folder: one-line error naming the
 * path and what it is). On success *fd (close it) and *size (may be NULL). */
iid_status iid__file_open_input(const char *path, int *fd, size_t *size, iid_error_t *err);

/* iid__file_open_input, and IID_ERR_RANGE (closed) when the file holds more
 * than max_bytes. */
iid_status iid__file_open_bounded(const char *path, size_t max_bytes, int *fd, size_t *size, iid_error_t *err);

/* Read up to n bytes, retrying short reads and EINTR; returns how many were read
 * (fewer at the end of the file or on an error). */
size_t iid__file_read_full(int fd, void *buf, size_t n);

/* Map a file read-only. Errors name the path. */
iid_status iid__file_map(iid_mapped_file_t *m, const char *path, iid_error_t *err);
void iid__file_unmap(iid_mapped_file_t *m);

/* Read a whole file into a malloc'd, NUL-terminated buffer (the NUL is not counted
 * in *size). Refuses files larger than max_bytes. Caller frees *out. */
iid_status iid__file_read_all(const char *path, size_t max_bytes, char **out, size_t *size, iid_error_t *err);

/* Refuse an output path that exists and is not a regular file (a device, FIFO,
 * folder...: IID_ERR_IO), or that is the same file (device and inode) as one of
 * the n inputs (NULL entries skipped: IID_ERR_INVALID); one-line messages. */
iid_status iid__file_check_output(const char *path, const char *const *inputs, int n, iid_error_t *err);

/* Write bytes to path through a temporary file and rename; path is checked with
 * iid__file_check_output first (no inputs). */
iid_status iid__file_write_atomic(const char *path, const void *data, size_t size, iid_error_t *err);

/* True when path names an existing regular file / directory. */
int iid__is_file(const char *path);
int iid__is_dir(const char *path);

/* Join two path parts into buf with one '/'; fails when it does not fit. */
iid_status iid__path_join(char *buf, size_t cap, const char *a, const char *b, iid_error_t *err);

#endif
