/*
 * attention.c - fast scaled dot-product attention (the reference, building each
 * query's full score row, is ref/attention_ref.c).
 *
 * It walks keys in
 * tiles with an online (running max / running sum) softmax, doing the two products
 * of each tile with GEMM, so a 4096-token self-attention never holds a 4096 x 4096
 * score matrix.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define Q_TILE 128
#define K_TILE 256

/* One (batch, head, query tile): online softmax over key tiles. */
static void attend_tile(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s, int nq,
                        int q0, float *S, float *acc, float *mx, float *sum)
{
    int D = s->D, HD = s->H * s->D;
    for (int i = 0; i < nq; i++) {
        mx[i] = -INFINITY;
        sum[i] = 0.0f;
    }
    memset(acc, 0, (size_t)nq * D * sizeof *acc);
    int k_end = s->causal ? (q0 + nq < s->Tk ? q0 + nq : s->Tk) : s->Tk;
    for (int k0 = 0; k0 < k_end; k0 += K_TILE) {
        int nk = k_end - k0 < K_TILE ? k_end - k0 : K_TILE;
        /* S (nq, nk) = scale * Q K^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, s->scale, q, s->q_stride,
                    k + (size_t)k0 * s->kv_stride, s->kv_stride, 0.0f, S, nk);
        for (int i = 0; i < nq; i++) {
            float *row = S + (size_t)i * nk;
            int limit = s->causal ? q0 + i - k0 + 1 : nk; /* keys visible to this query in the tile */
            if (limit > nk) limit = nk;
            float m = mx[i];
            for (int j = 0; j < limit; j++) m = row[j] > m ? row[j] : m;
            float corr = (mx[i] == -INFINITY) ? 0.0f : expf(mx[i] - m);
            float add = 0.0f;
            for (int j = 0; j < nk; j++) {
                row[j] = j < limit ? expf(row[j] - m) : 0.0f;
                add += row[j];
            }
            sum[i] = sum[i] * corr + add;
            mx[i] = m;
            if (corr != 1.0f)
                for (int d = 0; d < D; d++) acc[(size_t)i * D + d] *= corr;
        }
        /* acc (nq, D) += P V */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, S, nk, v + (size_t)k0 * s->kv_stride,
                    s->kv_stride, 1.0f, acc, D);
    }
    for (int i = 0; i < nq; i++) {
        float inv = sum[i] > 0.0f ? 1.0f / sum[i] : 0.0f;
        for (int d = 0; d < D; d++) out[(size_t)i * HD + d] = acc[(size_t)i * D + d] * inv;
    }
}

int iid__attention(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                   const iid_scratch_t *sc)
{
    int D = s->D, HD = s->H * s->D;
    /* one block: S (Q_TILE, K_TILE), acc (Q_TILE, D), mx and sum (Q_TILE) */
    float *S = iid__scratch_alloc(sc, (size_t)Q_TILE * (K_TILE + (D ? D : 1) + 2) * sizeof *S);
    float *acc = S ? S + (size_t)Q_TILE * K_TILE : NULL;
    float *mx = S ? acc + (size_t)Q_TILE * (D ? D : 1) : NULL;
    float *sum = S ? mx + Q_TILE : NULL;
    int rc = S ? 0 : -1;
    for (int b = 0; rc == 0 && b < s->B; b++) {
        for (int h = 0; h < s->H; h++) {
            const float *kb = k + (size_t)b * s->Tk * s->kv_stride + (size_t)h * D;
            const float *vb = v + (size_t)b * s->Tk * s->kv_stride + (size_t)h * D;
            for (int q0 = 0; q0 < s->Tq; q0 += Q_TILE) {
                int nq = s->Tq - q0 < Q_TILE ? s->Tq - q0 : Q_TILE;
                const float *qb = q + ((size_t)b * s->Tq + q0) * s->q_stride + (size_t)h * D;
                float *ob = out + ((size_t)b * s->Tq + q0) * HD + (size_t)h * D;
                attend_tile(ob, qb, kb, vb, s, nq, q0, S, acc, mx, sum);
            }
        }
    }
    iid__scratch_free(sc, S);
    return rc;
}
