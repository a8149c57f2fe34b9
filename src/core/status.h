/*
 * status.h - filling in iid_error_t records.
 *
 * iid__fail() is the one way library code reports a failure: it formats the
 * message into the caller's record (when there is one) and returns the code, so a
 * failing path reads `return iid__fail(err, IID_ERR_FORMAT, "%s: ...", path);`.
 * iid__prefix() prepends context (typically a file name) to a message that a
 * lower layer already wrote.
 */
#ifndef IID_CORE_STATUS_H
#define IID_CORE_STATUS_H

#include "iid.h"

#if defined(__GNUC__)
#define IID_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IID_PRINTF(f, a)
#endif

iid_status iid__fail(iid_error_t *err, iid_status code, const char *fmt, ...) IID_PRINTF(3, 4);
iid_status iid__prefix(iid_error_t *err, iid_status code, const char *fmt, ...) IID_PRINTF(3, 4);

/* Propagate a failing status from an expression. */
#define IID_TRY(expr)                          \
    do {                                       \
        iid_status iid__s = (expr);            \
        if (iid__s != IID_OK) return iid__s;   \
    } while (0)

#endif
