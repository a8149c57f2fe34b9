/* half.c - binary16 / bfloat16 <-> binary32 by bit manipulation. */
#include "core/half.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
#endif

#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float iid__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        /* Subnormal: value is man * 2^-24, exactly representable in f32. */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t iid__f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* inf or NaN; keep NaN quiet and non-zero */
        return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0);
    if (abs >= 0x477ff000u) return sign | 0x7c00; /* rounds past 65504 */
    if (abs < 0x38800000u) {                       /* result is subnormal or zero */
        if (abs < 0x33000000u) return sign;        /* below half the smallest subnormal */
        uint32_t exp = abs >> 23;
        uint32_t man = (abs & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - exp; /* 14..24: bits dropped to land on 2^-24 units */
        uint32_t q = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t q = (abs - 0x38000000u) >> 13; /* rebias exponent 127 -> 15 */
    uint32_t rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return sign | (uint16_t)q;
}

float iid__bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

uint16_t iid__f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    uint32_t round = 0x7fff + ((u >> 16) & 1);
    return (uint16_t)((u + round) >> 16);
}

void iid__f16_to_f32_n_ref(float *dst, const void *src, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = iid__f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
}

#if defined(__GNUC__) && defined(__x86_64__)
/* CPUID leaf 1: F16C and AVX (asked directly: clang 14's __builtin_cpu_supports
 * does not know "f16c"). */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) && (c & bit_AVX) && (c & bit_OSXSAVE);
}

/* Eight values per instruction with the F16C conversion (exact, like the
 * reference; a signalling NaN comes out quiet). */
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(float *dst, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 2 * i))));
    iid__f16_to_f32_n_ref(dst + i, p + 2 * i, n - i);
}
#endif

void iid__f16_to_f32_n(float *dst, const void *src, size_t n)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (has_f16c()) {
        f16_to_f32_f16c(dst, src, n);
        return;
    }
#endif
    iid__f16_to_f32_n_ref(dst, src, n);
}

void iid__bf16_to_f32_n(float *dst, const void *src, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = iid__bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
}
