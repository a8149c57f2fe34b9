/*
 * rng.c - Philox4x32-10 and Box-Muller normals.
 *
 * Philox: a 128-bit counter (here the 64-bit block index in words 0-1, zero in
 * words 2-3) and a 64-bit key go through ten rounds of two 32x32->64 multiplies
 * with the published constants, the key bumped by the Weyl constants between
 * rounds. The known-answer vector from the Random123 distribution (counter and key
 * all zeros) is checked in tests/unit/test_rng.c.
 */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_block(uint64_t counter, uint64_t key, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void iid__rng_init(iid_rng_t *r, uint64_t seed)
{
    r->key = seed;
    r->counter = 0;
    r->used = 4;
    r->has_spare = 0;
    r->spare = 0.0;
}

uint32_t iid__rng_u32(iid_rng_t *r)
{
    if (r->used == 4) {
        philox_block(r->counter++, r->key, r->block);
        r->used = 0;
    }
    return r->block[r->used++];
}

double iid__rng_uniform(iid_rng_t *r)
{
    /* 53 bits: 27 from one word, 26 from the next; +0.5 keeps it off 0 and 1. */
    uint64_t a = iid__rng_u32(r) >> 5, b = iid__rng_u32(r) >> 6;
    return ((double)(a * 67108864u + b) + 0.5) * (1.0 / 9007199254740992.0);
}

double iid__rng_normal(iid_rng_t *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = iid__rng_uniform(r), u2 = iid__rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    double theta = 6.283185307179586476925 * u2;
    r->spare = radius * sin(theta);
    r->has_spare = 1;
    return radius * cos(theta);
}

void iid__rng_normal_fill(iid_rng_t *r, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)iid__rng_normal(r);
}

static iid_status rng_fill(void *user, float *out, size_t n, iid_error_t *err)
{
    (void)err;
    iid__rng_normal_fill(user, out, n);
    return IID_OK;
}

iid_noise_source_t iid__rng_noise_source(iid_rng_t *r)
{
    iid_noise_source_t s = {rng_fill, r};
    return s;
}
