/*
 * half.h - exact IEEE binary16 and bfloat16 conversions.
 *
 * Widening (f16/bf16 -> f32) is exact. Narrowing rounds to nearest, ties to even,
 * as torch's .half() and .bfloat16() do; overflow gives infinity and NaN stays NaN.
 */
#ifndef IID_CORE_HALF_H
#define IID_CORE_HALF_H

#include <stddef.h>
#include <stdint.h>

float iid__f16_to_f32(uint16_t h);
uint16_t iid__f32_to_f16(float f);
float iid__bf16_to_f32(uint16_t b);
uint16_t iid__f32_to_bf16(float f);

/* Convert n little-endian values from possibly unaligned bytes into floats.
 * iid__f16_to_f32_n uses the CPU's F16C instructions when it has them;
 * iid__f16_to_f32_n_ref is the plain loop it is tested against. */
void iid__f16_to_f32_n(float *dst, const void *src, size_t n);
void iid__f16_to_f32_n_ref(float *dst, const void *src, size_t n);
void iid__bf16_to_f32_n(float *dst, const void *src, size_t n);

#endif
