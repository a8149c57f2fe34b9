/*
 * vec.h - the cpu backend's vectorised element kernels, one table per
 * instruction set: the same C source (vec_body.h) compiled for AVX-512, for
 * AVX2 + FMA and for the baseline x86-64 (or whatever the compiler targets),
 * the best one this CPU runs picked at run time (cpuid), so one binary runs on
 * an AVX2-only CI machine and uses 512-bit vectors on a Zen 4 or Xeon.
 *
 * The kernels work on one row or one group; the parallel loops around them are
 * in fast_ops.c. exp is a range-reduced polynomial (Cephes' expf coefficients,
 * about 1 ulp; exact 0 below -87.3, NaN in -> NaN out) and erf the
 * Abramowitz-Stegun 7.1.26 form on it (absolute error below 1.5e-7), so the
 * results differ from the reference loops (libm's expf/erff, double
 * statistics) only in the last bits: test_backend_ops holds them to 1e-10
 * normalised squared error on every table this CPU can run.
 */
#ifndef IID_OPS_CPU_VEC_H
#define IID_OPS_CPU_VEC_H

#include <stdint.h>

typedef struct iid_cpu_vec {
    const char *name; /* "avx512", "avx2", "baseline" */
    /* One group of cpg channels of HW values: y = (x - mean) / sqrt(var + eps) * w[c] + b[c],
     * then SiLU when silu; w, b (cpg) or NULL. y may equal x. */
    void (*group_norm)(float *y, const float *x, const float *w, const float *b, int cpg, int64_t HW, float eps,
                       int silu);
    /* One row of C values, the same normalisation; w, b (C) or NULL. */
    void (*layer_norm)(float *y, const float *x, const float *w, const float *b, int C, float eps);
    /* One row: y (width) = x[:width] * gelu_erf(x[width:]). */
    void (*geglu)(float *y, const float *x, int width);
    /* The largest of n > 0 values. */
    float (*max)(const float *x, int n);
    /* x[i] = exp(x[i] - m) for i < n; returns their sum. */
    float (*exp_sum)(float *x, int n, float m);
    /* x[i] *= s for i < n. */
    void (*scale)(float *x, int n, float s);
    /* y[i] = x[i] * s rounded to bf16 (nearest, ties to even; NaN stays NaN). */
    void (*to_bf16)(uint16_t *y, const float *x, int n, float s);
} iid_cpu_vec_t;

/* The table for level 0 (baseline), 1 (AVX2 + FMA) or 2 (AVX-512), or NULL
 * when this CPU (or this compiler) cannot run it. Tests check every level. */
const iid_cpu_vec_t *iid__cpu_vec_level(int level);
#define IID_CPU_VEC_LEVELS 3
/* The highest level this CPU runs. */
const iid_cpu_vec_t *iid__cpu_vec(void);

#endif
