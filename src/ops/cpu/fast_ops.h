/*
 * fast_ops.h - the cpu backend's own normalisation and GEGLU loops (fast_ops.c)
 * and its bf16 attention (attention_bf16.c), same contracts as the reference
 * ones in ops.h.
 */
#ifndef IID_OPS_CPU_FAST_OPS_H
#define IID_OPS_CPU_FAST_OPS_H

#include <stdint.h>

#include "ops/ops.h"

/* x, y (N, C, HW): GroupNorm over G groups, then SiLU when silu. y may equal x. */
void iid__cpu_group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                         float eps, int silu);
/* x, y (rows, C). y may equal x. */
void iid__cpu_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t rows, int C, float eps);
/* y (M, width) = x[:, :width] * gelu_erf(x[:, width:]), x (M, 2 width). */
void iid__cpu_geglu(float *y, const float *x, int64_t M, int width);
/* iid__attention with Q K^T and P V on bf16 operands (f32 accumulation, f32
 * softmax). Returns 0; -1 when its scratch cannot be allocated; 1 when it does
 * not run this case (causal, fewer than 128 keys, empty) or oneDNN cannot: the
 * f32 kernel then runs it, out untouched or fully rewritten. */
int iid__attention_bf16(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                        const iid_scratch_t *sc);

#endif
