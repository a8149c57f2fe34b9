/* status.c - error records and status strings. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void iid_error_clear(iid_error_t *err)
{
    if (!err) return;
    err->code = IID_OK;
    err->msg[0] = '\0';
}

const char *iid_status_str(iid_status code)
{
    switch (code) {
    case IID_OK: return "ok";
    case IID_ERR_IO: return "I/O error";
    case IID_ERR_FORMAT: return "format error";
    case IID_ERR_NOMEM: return "out of memory";
    case IID_ERR_INVALID: return "invalid argument";
    case IID_ERR_UNSUPPORTED: return "unsupported";
    case IID_ERR_NOT_FOUND: return "not found";
    case IID_ERR_RANGE: return "out of range";
    case IID_ERR_INTERRUPTED: return "interrupted";
    case IID_ERR_NO_FACE: return "no face found";
    }
    return "unknown error";
}

iid_status iid__fail(iid_error_t *err, iid_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

iid_status iid__prefix(iid_error_t *err, iid_status code, const char *fmt, ...)
{
    if (!err) return code;
    char head[IID_ERROR_MSG_MAX];
    char tail[IID_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(tail, err->msg, sizeof tail);
    tail[sizeof tail - 1] = '\0';
    char joined[2 * IID_ERROR_MSG_MAX + 2];
    snprintf(joined, sizeof joined, tail[0] ? "%s: %s" : "%s", head, tail);
    memcpy(err->msg, joined, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
    err->code = code;
    return code;
}
