/*
 * attention.c - fast scaled dot-product attention (the reference, building each
 * query's full score row, is ref/attention_ref.c).
 *
 * It walks keys in
 * tiles with an online (running max / running sum) softmax, doing the two products
 * of each tile with GEMM, so a 4096-token self-attention never holds a 4096 x 4096
 * score matrix. The (batch, head, query tile) triples are independent and run in
 * parallel on OpenMP's pool, each thread with its own slice of one scratch block
 * (taken before the parallel region: the scratch allocator is not thread-safe);
 * the GEMMs inside run on their thread. The softmax's max, exp and sums are the
 * vec.h kernels (vectorised exp).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu/vec.h"
#include "ops/ops.h"

#define Q_TILE 128
#define K_TILE 256

/* One (batch, head, query tile): online softmax over key tiles. */
static void attend_tile(const iid_cpu_vec_t *vec, float *out, const float *q, const float *k, const float *v,
                        const iid_attn_shape_t *s, int nq, int q0, float *S, float *acc, float *mx, float *sum)
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
        iid__sgemm('T', nq, nk, D, s->scale, q, s->q_stride, k + (size_t)k0 * s->kv_stride, s->kv_stride, 0.0f, S,
                   nk);
        for (int i = 0; i < nq; i++) {
            float *row = S + (size_t)i * nk;
            int limit = s->causal ? q0 + i - k0 + 1 : nk; /* keys visible to this query in the tile */
            if (limit > nk) limit = nk;
            if (limit <= 0) { /* no key of this tile is visible: it adds nothing */
                memset(row, 0, (size_t)nk * sizeof *row);
                continue;
            }
            float m = vec->max(row, limit);
            m = m > mx[i] ? m : mx[i];
            float corr = (mx[i] == -INFINITY) ? 0.0f : expf(mx[i] - m);
            float add = vec->exp_sum(row, limit, m);
            if (limit < nk) memset(row + limit, 0, (size_t)(nk - limit) * sizeof *row);
            sum[i] = sum[i] * corr + add;
            mx[i] = m;
            if (corr != 1.0f) vec->scale(acc + (size_t)i * D, D, corr);
        }
        /* acc (nq, D) += P V */
        iid__sgemm('N', nq, D, nk, 1.0f, S, nk, v + (size_t)k0 * s->kv_stride, s->kv_stride, 1.0f, acc, D);
    }
    for (int i = 0; i < nq; i++) {
        float inv = sum[i] > 0.0f ? 1.0f / sum[i] : 0.0f;
        for (int d = 0; d < D; d++) out[(size_t)i * HD + d] = acc[(size_t)i * D + d] * inv;
    }
}

int iid__attention(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                   const iid_scratch_t *sc)
{
    int D = s->D, HD = s->H * s->D, nqt = (s->Tq + Q_TILE - 1) / Q_TILE;
    int64_t tasks = (int64_t)s->B * s->H * nqt;
    if (tasks <= 0) return 0;
    const iid_cpu_vec_t *vec = iid__cpu_vec();
    int nt = omp_get_max_threads();
    if (nt > tasks) nt = (int)tasks;
    /* per thread: S (Q_TILE, K_TILE), acc (Q_TILE, D), mx and sum (Q_TILE) */
    size_t per = (size_t)Q_TILE * (K_TILE + (D ? D : 1) + 2);
    float *blk = iid__scratch_alloc(sc, (size_t)nt * per * sizeof *blk);
    if (!blk) return -1;
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t t = 0; t < tasks; t++) {
        int q0 = (int)(t % nqt) * Q_TILE, h = (int)(t / nqt % s->H), b = (int)(t / nqt / s->H);
        float *S = blk + (size_t)omp_get_thread_num() * per;
        float *acc = S + (size_t)Q_TILE * K_TILE;
        float *mx = acc + (size_t)Q_TILE * (D ? D : 1);
        float *sum = mx + Q_TILE;
        const float *kb = k + (size_t)b * s->Tk * s->kv_stride + (size_t)h * D;
        const float *vb = v + (size_t)b * s->Tk * s->kv_stride + (size_t)h * D;
        int nq = s->Tq - q0 < Q_TILE ? s->Tq - q0 : Q_TILE;
        const float *qb = q + ((size_t)b * s->Tq + q0) * s->q_stride + (size_t)h * D;
        float *ob = out + ((size_t)b * s->Tq + q0) * HD + (size_t)h * D;
        attend_tile(vec, ob, qb, kb, vb, s, nq, q0, S, acc, mx, sum);
    }
    iid__scratch_free(sc, blk);
    return 0;
}
