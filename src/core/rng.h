/*
 * rng.h - the seeded random generator behind initial latents and scheduler noise.
 *
 * Counter-based Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011) keyed by the 64-bit seed. Each counter value yields four
 * 32-bit words; two words make one 53-bit uniform double in (0, 1), and pairs of
 * uniforms become two standard normals by the Box-Muller transform, computed in
 * double and rounded to float at the end. Only integer arithmetic and the C
 * library's log/sqrt/cos/sin touch the stream, so a seed gives the same numbers on
 * every platform with a correctly-rounding libm (glibc, musl, macOS agree here to
 * the last float bit in practice; the generator itself is bit-exact everywhere).
 *
 * This stream does NOT reproduce torch.randn: a seed here does not give the image
 * the Python reference gives for the same seed. The conformance kit therefore
 * passes explicit latents and the explicit noise draws of SDE/LCM steps
 * (`noise<q>` tensors); production runs use this generator.
 *
 *   iid_rng_t r;
 *   iid__rng_init(&r, 42);
 *   iid__rng_normal_fill(&r, latents, 4 * 128 * 128);
 *
 * iid_noise_source_t is the small interface through which schedulers ask for
 * random normals: a callback and its user pointer. iid__rng_noise_source() wraps
 * a generator; tests wrap golden tensors.
 */
#ifndef IID_CORE_RNG_H
#define IID_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct iid_rng {
    uint64_t key;      /* the seed */
    uint64_t counter;  /* the next Philox block */
    uint32_t block[4]; /* output of the current block */
    int used;          /* words of block already consumed (4 = empty) */
    int has_spare;     /* Box-Muller yields pairs; the second waits here */
    double spare;
} iid_rng_t;

/* Start the stream of `seed` at its beginning. */
void iid__rng_init(iid_rng_t *r, uint64_t seed);
/* The next 32 random bits. */
uint32_t iid__rng_u32(iid_rng_t *r);
/* A uniform double in the open interval (0, 1) with 53 random bits. */
double iid__rng_uniform(iid_rng_t *r);
/* One standard normal (Box-Muller in double). */
double iid__rng_normal(iid_rng_t *r);
/* Fill out[0..n) with standard normals rounded to float. Never fails. */
void iid__rng_normal_fill(iid_rng_t *r, float *out, size_t n);

/* A source of standard normal draws for schedulers (SDE, LCM). fill() writes n
 * values to out and returns IID_OK, or fails with a message in err (for instance a
 * test source that ran out of golden draws). */
typedef struct iid_noise_source {
    iid_status (*fill)(void *user, float *out, size_t n, iid_error_t *err);
    void *user;
} iid_noise_source_t;

/* A noise source drawing from r (which must outlive it). */
iid_noise_source_t iid__rng_noise_source(iid_rng_t *r);

#endif
