/*
 * vec_body.h - the kernels of vec.h, included once per instruction set by
 * vec.c with VEC_TARGET (a function attribute) and VEC(name) (a suffixed name)
 * defined. Plain C loops marked `omp simd` so that the compiler vectorises
 * them for the target at any optimisation level; no intrinsics.
 */

/* Sums are taken in float over chunks of this many values, then in double, so
 * a 16-million-value VAE group keeps the reference's precision. */
#define VEC_CHUNK 2048

VEC_TARGET static inline float VEC(exp)(float x)
{
    /* exp(x) = 2^n exp(r), n = round(x / ln 2), |r| <= ln 2 / 2 */
    /* exp(88) for larger x: no caller needs more; NaN computes on 0 (its result is x,
     * below) so that the exponent's integer conversion stays defined */
    float c = x < -87.3f ? -87.3f : x > 88.0f ? 88.0f : x == x ? x : 0.0f;
    float n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } s = {.i = ((int32_t)n + 127) * (1 << 23)};
    float y = p * s.f;
    return x < -87.3f ? 0.0f : x != x ? x : y;
}

VEC_TARGET static inline float VEC(silu)(float v) { return v / (1.0f + VEC(exp)(-v)); }

VEC_TARGET static inline float VEC(gelu)(float g)
{
    /* 0.5 g (1 + erf(g / sqrt 2)), erf by Abramowitz-Stegun 7.1.26 */
    float z = g * 0.70710678118654752f, a = z < 0.0f ? -z : z;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float q = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float e = 1.0f - q * VEC(exp)(-a * a);
    return 0.5f * g * (1.0f + (z < 0.0f ? -e : e));
}

/* sum of x[0..n) */
VEC_TARGET static double VEC(sum)(const float *x, int64_t n)
{
    double total = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += VEC_CHUNK) {
        int64_t m = n - i0 < VEC_CHUNK ? n - i0 : VEC_CHUNK;
        const float *p = x + i0;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < m; i++) s += p[i];
        total += s;
    }
    return total;
}

/* sum of (x - mean)^2 over x[0..n) */
VEC_TARGET static double VEC(sq_dev)(const float *x, int64_t n, float mean)
{
    double total = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += VEC_CHUNK) {
        int64_t m = n - i0 < VEC_CHUNK ? n - i0 : VEC_CHUNK;
        const float *p = x + i0;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < m; i++) s += (p[i] - mean) * (p[i] - mean);
        total += s;
    }
    return total;
}

/* y = x * a + b, then SiLU when silu */
VEC_TARGET static void VEC(affine)(float *y, const float *x, int64_t n, float a, float b, int silu)
{
    if (silu) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = VEC(silu)(x[i] * a + b);
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * a + b;
    }
}

VEC_TARGET static void VEC(group_norm)(float *y, const float *x, const float *w, const float *b, int cpg, int64_t HW,
                                       float eps, int silu)
{
    int64_t cnt = (int64_t)cpg * HW;
    float mean = (float)(VEC(sum)(x, cnt) / (double)cnt);
    float inv = (float)(1.0 / sqrt(VEC(sq_dev)(x, cnt, mean) / (double)cnt + eps));
    for (int c = 0; c < cpg; c++) {
        float a = inv * (w ? w[c] : 1.0f);
        VEC(affine)(y + c * HW, x + c * HW, HW, a, (b ? b[c] : 0.0f) - mean * a, silu);
    }
}

VEC_TARGET static void VEC(layer_norm)(float *y, const float *x, const float *w, const float *b, int C, float eps)
{
    float mean = (float)(VEC(sum)(x, C) / C);
    float inv = (float)(1.0 / sqrt(VEC(sq_dev)(x, C, mean) / C + eps));
    if (w && b) {
#pragma omp simd
        for (int c = 0; c < C; c++) y[c] = (x[c] - mean) * inv * w[c] + b[c];
    } else {
        for (int c = 0; c < C; c++) y[c] = (x[c] - mean) * inv * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
    }
}

VEC_TARGET static void VEC(geglu)(float *y, const float *x, int width)
{
    const float *hid = x, *gate = x + width;
#pragma omp simd
    for (int i = 0; i < width; i++) y[i] = hid[i] * VEC(gelu)(gate[i]);
}

VEC_TARGET static float VEC(max)(const float *x, int n)
{
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

VEC_TARGET static float VEC(exp_sum)(float *x, int n, float m)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) {
        x[i] = VEC(exp)(x[i] - m);
        s += x[i];
    }
    return s;
}

VEC_TARGET static void VEC(scale)(float *x, int n, float s)
{
#pragma omp simd
    for (int i = 0; i < n; i++) x[i] *= s;
}

/* Rounds to nearest, ties to even, as iid__f32_to_bf16 (core/half.c) does, bit for
 * bit: integer operations on the float's bits, which vectorise. */
VEC_TARGET static void VEC(to_bf16)(uint16_t *y, const float *x, int n, float s)
{
#pragma omp simd
    for (int i = 0; i < n; i++) {
        union {
            float f;
            uint32_t u;
        } v = {.f = x[i] * s};
        uint32_t rounded = (v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16;
        uint32_t quiet_nan = (v.u >> 16) | 0x40u;
        y[i] = (uint16_t)((v.u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
    }
}

static const iid_cpu_vec_t VEC(table) = {
    VEC(name_str), VEC(group_norm), VEC(layer_norm), VEC(geglu), VEC(max), VEC(exp_sum), VEC(scale), VEC(to_bf16),
};

#undef VEC_CHUNK
