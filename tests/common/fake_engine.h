/*
 * fake_engine.h - a test double for the server's generation engine (engine.h),
 * shared by the API unit test and the browser test's server (serve_fake.c).
 *
 * It "generates" by writing a small gradient PNG (built here, seeded by the
 * request's seed) after reporting `steps` progress calls `step_delay_ms` apart.
 * It recognises inputs the way the real engine must answer them, in its check
 * (before a job is queued) and again in generate:
 *   - an empty file, a PNG without its IEND chunk (truncated), a JPEG without
 *     its end marker                                         -> IID_ERR_FORMAT
 *   - anything else the real decoder (io/image.h) refuses, with its status:
 *     text (IID_ERR_FORMAT), GIF or animated WebP (IID_ERR_UNSUPPORTED), too
 *     many pixels (IID_ERR_RANGE)
 *   - a face file whose name starts with "noface"              -> IID_ERR_NO_FACE
 * A face file whose name starts with "slow" holds its check until the test sets
 * release_slow, or at most slow_check_ms (to show that a slow check holds up no
 * other request, whatever the machine's load); `checking` counts the checks under
 * way. Its catalog lists the demo's styles and a few scheduler names.
 */
#ifndef IID_TEST_FAKE_ENGINE_H
#define IID_TEST_FAKE_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "server/engine.h"

typedef struct iid_fake_engine {
    int step_delay_ms;
    int slow_check_ms;
    atomic_int release_slow;
    atomic_int checking;
    int generated; /* images written so far (read after the server stopped) */
} iid_fake_engine_t;

/* Set up the double and the engine table that points at it. */
void iid_fake_engine_init(iid_fake_engine_t *f, int step_delay_ms, iid_server_engine_t *engine);

/* A valid w x h RGB PNG (stored deflate blocks) in a malloc'd buffer; NULL when
 * out of memory. */
unsigned char *iid_fake_png(int w, int h, uint32_t seed, size_t *size);

#endif
