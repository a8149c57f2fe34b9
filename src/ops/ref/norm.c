/* norm.c - LayerNorm and GroupNorm, accumulated in double for stable statistics. */
#include <math.h>

#include "ops/ops.h"

/* Small tensors run on one thread (see elementwise.c). */
#define PAR_MIN 65536

void iid__layer_norm(float *y, const float *x, const float *w, const float *b, int64_t rows, int C, float eps)
{
#pragma omp parallel for schedule(static) if (rows * C >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double mean = 0.0, var = 0.0;
        for (int c = 0; c < C; c++) mean += xr[c];
        mean /= C;
        for (int c = 0; c < C; c++) {
            double d = xr[c] - mean;
            var += d * d;
        }
        var /= C;
        float inv = (float)(1.0 / sqrt(var + eps));
        for (int c = 0; c < C; c++) {
            float v = (float)(xr[c] - mean) * inv;
            yr[c] = v * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
        }
    }
}

void iid__group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                     float eps)
{
    int cpg = C / G;
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)N * C * HW >= PAR_MIN)
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((int64_t)n * C + (int64_t)g * cpg) * HW;
            float *yg = y + ((int64_t)n * C + (int64_t)g * cpg) * HW;
            int64_t cnt = (int64_t)cpg * HW;
            double mean = 0.0, var = 0.0;
            for (int64_t i = 0; i < cnt; i++) mean += xg[i];
            mean /= (double)cnt;
            for (int64_t i = 0; i < cnt; i++) {
                double d = xg[i] - mean;
                var += d * d;
            }
            var /= (double)cnt;
            float inv = (float)(1.0 / sqrt(var + eps));
            for (int c = 0; c < cpg; c++) {
                int ch = g * cpg + c;
                float sw = w ? w[ch] : 1.0f, sb = b ? b[ch] : 0.0f;
                for (int64_t i = 0; i < HW; i++) {
                    float v = (float)(xg[c * HW + i] - mean) * inv;
                    yg[c * HW + i] = v * sw + sb;
                }
            }
        }
    }
}

void iid__batch_norm_ref(float *y, const float *x, const float *scale, const float *bias, const float *mean,
                         const float *var, int N, int C, int64_t HW, float eps)
{
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            float inv = 1.0f / sqrtf(var[c] + eps);
            float a = scale[c] * inv, b = bias[c] - mean[c] * a;
            const float *xc = x + ((int64_t)n * C + c) * HW;
            float *yc = y + ((int64_t)n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) yc[i] = xc[i] * a + b;
        }
    }
}
