/*
 * finite.h - the "all finite" check between pipeline stages.
 *
 * NaN weights or absurd inputs (--latents of 1e38) turn latents into NaN or
 * infinity, which a PNG encoder silently writes as black. The pipeline checks
 * its latents after every step and the decoded image, so such a job fails with
 * the stage named instead of being logged as a success.
 */
#ifndef IID_CORE_FINITE_H
#define IID_CORE_FINITE_H

#include <stddef.h>

#include "core/status.h"

/* IID_OK when all n floats are finite; else IID_ERR_RANGE with "<what>: K of N
 * values are NaN or infinite", what formatted from fmt. */
iid_status iid__check_finite(const float *x, size_t n, iid_error_t *err, const char *fmt, ...) IID_PRINTF(4, 5);

#endif
