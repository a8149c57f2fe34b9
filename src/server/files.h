/*
 * files.h - confining file access to a folder: the output folder for GET
 * /files/... and the batch's input folder for GET /inputs/..., and the thumbnail
 * and source links of the batch log.
 *
 * A request path is refused before it touches the file system when it is empty,
 * absolute, or has an empty, "." or ".." segment or a backslash (libmicrohttpd has
 * already decoded %xx escapes, so "%2e%2e" arrives here as ".."). What remains is
 * joined to the folder and resolved with realpath(): the result must lie
 * under the folder's own real path and be a regular file, so a symbolic
 * link inside the folder that points outside it is refused too.
 */
#ifndef IID_SERVER_FILES_H
#define IID_SERVER_FILES_H

#include <stddef.h>

#include "core/status.h"

/* Resolve rel (the decoded path after "/files/") against root_real (a path
 * already passed through realpath). On IID_OK, out holds the file's real path.
 * IID_ERR_INVALID: the path is ill-formed or leads outside the folder (answer
 * 403); IID_ERR_NOT_FOUND: no regular file there (answer 404). */
iid_status iid__files_resolve(const char *root_real, const char *rel, char *out, size_t cap, iid_error_t *err);

/* The URL prefix + the percent-encoded path below root_real (prefix "/files/"
 * for the output folder), when path - absolute, or relative to root_real -
 * names a regular file inside root_real. Returns 1 and fills url, else 0. */
int iid__files_url(const char *root_real, const char *prefix, const char *path, char *url, size_t cap);

/* The Content-Type for a file name, from its extension (case-insensitive);
 * "application/octet-stream" when unknown. */
const char *iid__files_content_type(const char *name);

#endif
