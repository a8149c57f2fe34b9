/*
 * fake_engine.h - a test double for the server's generation engine (engine.h),
 * shared by the API unit test and the browser test's server (serve_fake.c).
 *
 * It "generates" by writing a small gradient PNG (built here, seeded by the
 * request's seed) after reporting `steps` progress calls `step_delay_ms` apart.
 * It recognises inputs the way the real engine must answer them:
 *   - an empty file, or one that is not PNG, JPEG or WebP, or a PNG without its
 *     IEND chunk (truncated), or a JPEG without its end marker -> IID_ERR_FORMAT
 *   - a face file whose name starts with "noface"              -> IID_ERR_NO_FACE
 * Its catalog lists the demo's styles and a few scheduler names.
 */
#ifndef IID_TEST_FAKE_ENGINE_H
#define IID_TEST_FAKE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "server/engine.h"

typedef struct iid_fake_engine {
    int step_delay_ms;
    int generated; /* images written so far (read after the server stopped) */
} iid_fake_engine_t;

/* Set up the double and the engine table that points at it. */
void iid_fake_engine_init(iid_fake_engine_t *f, int step_delay_ms, iid_server_engine_t *engine);

/* A valid w x h RGB PNG (stored deflate blocks) in a malloc'd buffer; NULL when
 * out of memory. */
unsigned char *iid_fake_png(int w, int h, uint32_t seed, size_t *size);

#endif
