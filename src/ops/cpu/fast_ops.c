/*
 * fast_ops.c - the cpu backend's normalisations and GEGLU: the vec.h kernels
 * (the widest instruction set this CPU runs) over rows or groups in parallel.
 * GroupNorm + SiLU is one pass over the output instead of two (the ResNet
 * blocks' norm1/norm2 and the output heads). The reference loops they are
 * tested against are ref/norm.c, ref/elementwise.c and ref/layout.c.
 */
#include "ops/cpu/fast_ops.h"

#include <stddef.h>

#include "ops/cpu/vec.h"

/* Below this many values a parallel region costs more than it saves (as ref/). */
#define PAR_MIN 65536

void iid__cpu_group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                         float eps, int silu)
{
    const iid_cpu_vec_t *v = iid__cpu_vec();
    int cpg = C / G;
    int64_t tasks = (int64_t)N * G;
#pragma omp parallel for schedule(static) if ((int64_t)N * C * HW >= PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int g = (int)(t % G);
        int64_t off = t * cpg * HW; /* (n, g * cpg) */
        v->group_norm(y + off, x + off, w ? w + g * cpg : NULL, b ? b + g * cpg : NULL, cpg, HW, eps, silu);
    }
}

void iid__cpu_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t rows, int C, float eps)
{
    const iid_cpu_vec_t *v = iid__cpu_vec();
#pragma omp parallel for schedule(static) if (rows * C >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) v->layer_norm(y + r * C, x + r * C, w, b, C, eps);
}

void iid__cpu_geglu(float *y, const float *x, int64_t M, int width)
{
    const iid_cpu_vec_t *v = iid__cpu_vec();
#pragma omp parallel for schedule(static) if (M * width >= PAR_MIN)
    for (int64_t r = 0; r < M; r++) v->geglu(y + r * width, x + r * 2 * width, width);
}
