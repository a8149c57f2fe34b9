/* elementwise.c - activations, scaling, adds and row softmax. */
#include <math.h>

#include "ops/ops.h"

/* Below this many values a parallel region costs more than it saves, and on a busy
 * machine its waiting threads cost far more. */
#define PAR_MIN 65536

void iid__silu(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

void iid__gelu_erf(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void iid__gelu_tanh(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    }
}

void iid__quick_gelu(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

void iid__relu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void iid__sigmoid(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

void iid__scale(float *x, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void iid__add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void iid__lerp_out(float *y, const float *a, const float *b, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + s * (b[i] - a[i]);
}

void iid__softmax_rows(float *x, int64_t rows, int n)
{
#pragma omp parallel for schedule(static) if (rows * n >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        float m = -INFINITY;
        for (int i = 0; i < n; i++) m = row[i] > m ? row[i] : m;
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            row[i] = expf(row[i] - m);
            sum += row[i];
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) row[i] *= inv;
    }
}
