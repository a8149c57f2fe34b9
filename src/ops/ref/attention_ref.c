/* attention_ref.c - attention building each query's full score row (the reference). */
#include <math.h>
#include <stdlib.h>

#include "ops/ops.h"

void iid__attention_ref_rows(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                             float *scores)
{
    int HD = s->H * s->D;
    for (int b = 0; b < s->B; b++) {
        for (int h = 0; h < s->H; h++) {
            for (int i = 0; i < s->Tq; i++) {
                const float *qi = q + ((size_t)b * s->Tq + i) * s->q_stride + (size_t)h * s->D;
                int nk = s->causal ? (i + 1 < s->Tk ? i + 1 : s->Tk) : s->Tk;
                float m = -INFINITY;
                for (int j = 0; j < nk; j++) {
                    const float *kj = k + ((size_t)b * s->Tk + j) * s->kv_stride + (size_t)h * s->D;
                    double dot = 0.0;
                    for (int d = 0; d < s->D; d++) dot += (double)qi[d] * kj[d];
                    scores[j] = (float)dot * s->scale;
                    if (scores[j] > m) m = scores[j];
                }
                double sum = 0.0;
                for (int j = 0; j < nk; j++) {
                    scores[j] = expf(scores[j] - m);
                    sum += scores[j];
                }
                float *oi = out + ((size_t)b * s->Tq + i) * HD + (size_t)h * s->D;
                for (int d = 0; d < s->D; d++) {
                    double acc = 0.0;
                    for (int j = 0; j < nk; j++)
                        acc += (double)scores[j] * v[((size_t)b * s->Tk + j) * s->kv_stride + (size_t)h * s->D + d];
                    oi[d] = (float)(acc / sum);
                }
            }
        }
    }
}

int iid__attention_ref(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s)
{
    float *scores = malloc((size_t)(s->Tk ? s->Tk : 1) * sizeof *scores);
    if (!scores) return -1;
    iid__attention_ref_rows(out, q, k, v, s, scores);
    free(scores);
    return 0;
}
