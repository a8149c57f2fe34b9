/*
 * iid.h - the public C API of instantid.
 *
 * instantid is a C11 implementation of InstantID (SDXL + IdentityNet + IP-Adapter
 * face tokens). This header is the manual for what a program linking libiid can
 * rely on: status codes, the error record every fallible call fills in, and the
 * version. Internal modules live under src/ and use the `iid__` prefix.
 *
 * Failure model: every function that can fail returns an iid_status (IID_OK is 0,
 * errors are negative) and, when given a non-NULL iid_error_t, writes a one-line
 * message naming the file, tensor or field at fault and what was expected.
 * Library code never exits and never prints on its own.
 *
 *   iid_error_t err;
 *   iid_error_clear(&err);
 *   if (some_call(..., &err) != IID_OK)
 *       fprintf(stderr, "instantid: %s\n", err.msg);
 */
#ifndef IID_H
#define IID_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IID_VERSION "0.1.0"

typedef enum iid_status {
    IID_OK = 0,
    IID_ERR_IO = -1,          /* a file could not be opened, read or written */
    IID_ERR_FORMAT = -2,      /* a file's contents break its format */
    IID_ERR_NOMEM = -3,       /* an allocation failed */
    IID_ERR_INVALID = -4,     /* a caller-supplied value is out of its domain */
    IID_ERR_UNSUPPORTED = -5, /* valid input we deliberately do not handle */
    IID_ERR_NOT_FOUND = -6,   /* a named file, tensor or key is missing */
    IID_ERR_RANGE = -7,       /* a size or offset exceeds its bound */
    IID_ERR_INTERRUPTED = -8, /* the caller asked to stop */
    IID_ERR_NO_FACE = -9      /* an input image holds no detectable face */
} iid_status;

#define IID_ERROR_MSG_MAX 512

/* The error record: code and a one-line, human-readable message. */
typedef struct iid_error {
    iid_status code;
    char msg[IID_ERROR_MSG_MAX];
} iid_error_t;

/* Reset an error record to IID_OK with an empty message. NULL is a no-op. */
void iid_error_clear(iid_error_t *err);

/* A short constant description of a status code ("format error", ...). */
const char *iid_status_str(iid_status code);

#ifdef __cplusplus
}
#endif

#endif /* IID_H */
