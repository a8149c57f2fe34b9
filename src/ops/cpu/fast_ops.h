/*
 * fast_ops.h - the cpu backend's own normalisation and GEGLU loops (fast_ops.c),
 * same contracts as the reference ones in ops.h.
 */
#ifndef IID_OPS_CPU_FAST_OPS_H
#define IID_OPS_CPU_FAST_OPS_H

#include <stdint.h>

/* x, y (N, C, HW): GroupNorm over G groups, then SiLU when silu. y may equal x. */
void iid__cpu_group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                         float eps, int silu);
/* x, y (rows, C). y may equal x. */
void iid__cpu_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t rows, int C, float eps);
/* y (M, width) = x[:, :width] * gelu_erf(x[:, width:]), x (M, 2 width). */
void iid__cpu_geglu(float *y, const float *x, int64_t M, int width);

#endif
