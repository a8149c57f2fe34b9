/* finite.c - counting NaN and infinite floats; see finite.h. */
#include "core/finite.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

iid_status iid__check_finite(const float *x, size_t n, iid_error_t *err, const char *fmt, ...)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    if (!bad) return IID_OK;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return iid__fail(err, IID_ERR_RANGE, "%s: %zu of %zu values are NaN or infinite", what, bad, n);
}
