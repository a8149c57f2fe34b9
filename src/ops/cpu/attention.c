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
 *
 * In bf16 (the compute dtype, $IID_DTYPE, as the weights' products) the two
 * products of each tile multiply bf16 operands with f32 accumulation, as
 * PyTorch's bf16 attention does: q (pre-scaled), k and v are rounded to bf16
 * once per call and the products are two oneDNN matmul primitives with runtime
 * shapes and strides (its bf16 JIT GEMM), created once per call and executed by
 * every thread on its own stream; the softmax stays f32 and its probabilities
 * are rounded to bf16 for the second product. Small attentions (under
 * BF16_MIN_WORK multiply-adds per head and product: the Resampler's 16 queries,
 * the text encoders' 77 tokens) stay f32: rounding gains them nothing, and
 * those stages keep f32 accuracy.
 */
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu/vec.h"
#include "ops/ops.h"

#define Q_TILE 128
#define K_TILE 256
#define BF16_MIN_WORK ((int64_t)1 << 22)

/* The bf16 products of one call (NULL prims: f32 sgemm). */
typedef struct bf16_products {
    dnnl_engine_t eng;
    dnnl_primitive_t qk, pv;              /* S = Q K^T; acc += P V */
    const uint16_t *q16, *k16, *v16;      /* (B, T, HD) contiguous, q pre-scaled */
} bf16_products_t;

/* One thread's state for the bf16 products: its stream and P in bf16. */
typedef struct bf16_thread {
    dnnl_stream_t strm;
    uint16_t *p16; /* (Q_TILE, K_TILE) */
    int failed;
} bf16_thread_t;

/* Round to the nearest bf16, ties to even; NaN stays NaN. */
static inline uint16_t to_bf16(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {f};
    uint32_t r = (v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16;
    return (v.u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((v.u >> 16) | 0x40u) : (uint16_t)r;
}

/* dst (rows, n) bf16 contiguous = s * src (rows, n) with row stride ld. */
static void rows_to_bf16(uint16_t *dst, const float *src, int64_t rows, int n, int ld, float s)
{
#pragma omp parallel for schedule(static) if (rows * n >= 65536)
    for (int64_t r = 0; r < rows; r++) {
        const float *x = src + r * ld;
        uint16_t *y = dst + r * n;
#pragma omp simd
        for (int i = 0; i < n; i++) y[i] = to_bf16(x[i] * s);
    }
}

static int mem(dnnl_memory_t *m, dnnl_engine_t eng, dnnl_data_type_t dt, int64_t r, int64_t c, int64_t ld,
               int64_t cs, const void *p)
{
    dnnl_dims_t d = {r, c}, st = {ld, cs};
    dnnl_memory_desc_t md;
    *m = NULL;
    return dnnl_memory_desc_init_by_strides(&md, 2, d, dt, st) != dnnl_success ||
           dnnl_memory_create(m, &md, eng, (void *)p) != dnnl_success;
}

/* C = A B (+ C when the primitive has the sum post-op); A (M, K) row stride lda,
 * B given by its (K, N) strides, C (M, N) row stride ldc. 0, or 1 when oneDNN failed. */
static int run_bf16(dnnl_primitive_t prim, dnnl_engine_t eng, dnnl_stream_t strm, int M, int N, int K,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb_k, int ldb_n, float *C, int ldc)
{
    dnnl_memory_t ma, mb, mc;
    int rc = mem(&ma, eng, dnnl_bf16, M, K, lda, 1, A);
    rc = rc || mem(&mb, eng, dnnl_bf16, K, N, ldb_k, ldb_n, B);
    rc = rc || mem(&mc, eng, dnnl_f32, M, N, ldc, 1, C);
    if (rc == 0) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        rc = dnnl_primitive_execute(prim, strm, 3, a) != dnnl_success || dnnl_stream_wait(strm) != dnnl_success;
    }
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    return rc;
}

/* A matmul primitive bf16 x bf16 -> f32 with the dimensions and row strides given
 * at run time; B (K, N) is stored transposed (K^T) when b_t. The unit strides are
 * fixed: with every stride open oneDNN 2.6 only has its reference kernel. */
static int make_bf16_matmul(dnnl_engine_t eng, int accumulate, int b_t, dnnl_primitive_t *out)
{
    dnnl_dim_t R = DNNL_RUNTIME_DIM_VAL;
    dnnl_dims_t d = {R, R}, rows = {R, 1}, cols = {1, R};
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_memory_desc_init_by_strides(&a, 2, d, dnnl_bf16, rows);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_strides(&b, 2, d, dnnl_bf16, b_t ? cols : rows);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_strides(&c, 2, d, dnnl_f32, rows);
    if (s == dnnl_success) s = dnnl_matmul_desc_init(&md, &a, &b, NULL, &c);
    if (s == dnnl_success && accumulate) {
        s = dnnl_primitive_attr_create(&attr);
        if (s == dnnl_success) s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL);
    if (s == dnnl_success) s = dnnl_primitive_create(out, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s == dnnl_success ? 0 : 1;
}

/* One (batch, head, query tile): online softmax over key tiles. q, k, v (and
 * q16, k16, v16 in bf16) point at the head's first row. */
static void attend_tile(const iid_cpu_vec_t *vec, const bf16_products_t *bp, bf16_thread_t *th, float *out,
                        const float *q, const float *k, const float *v, const uint16_t *q16, const uint16_t *k16,
                        const uint16_t *v16, const iid_attn_shape_t *s, int nq, int q0, float *S, float *acc,
                        float *mx, float *sum)
{
    int D = s->D, HD = s->H * s->D;
    for (int i = 0; i < nq; i++) {
        mx[i] = -INFINITY;
        sum[i] = 0.0f;
    }
    memset(acc, 0, (size_t)nq * D * sizeof *acc);
    int k_end = s->causal ? (q0 + nq < s->Tk ? q0 + nq : s->Tk) : s->Tk;
    for (int k0 = 0; k0 < k_end && !th->failed; k0 += K_TILE) {
        int nk = k_end - k0 < K_TILE ? k_end - k0 : K_TILE;
        /* S (nq, nk) = scale * Q K^T */
        if (bp->qk)
            th->failed |= run_bf16(bp->qk, bp->eng, th->strm, nq, nk, D, q16, HD, k16 + (size_t)k0 * HD, 1, HD, S, nk);
        else
            iid__sgemm('T', nq, nk, D, s->scale, q, s->q_stride, k + (size_t)k0 * s->kv_stride, s->kv_stride, 0.0f,
                       S, nk);
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
        if (bp->pv) {
            rows_to_bf16(th->p16, S, nq, nk, nk, 1.0f);
            th->failed |= run_bf16(bp->pv, bp->eng, th->strm, nq, D, nk, th->p16, nk, v16 + (size_t)k0 * HD, HD, 1,
                                   acc, D);
        } else {
            iid__sgemm('N', nq, D, nk, 1.0f, S, nk, v + (size_t)k0 * s->kv_stride, s->kv_stride, 1.0f, acc, D);
        }
    }
    for (int i = 0; i < nq; i++) {
        float inv = sum[i] > 0.0f ? 1.0f / sum[i] : 0.0f;
        for (int d = 0; d < D; d++) out[(size_t)i * HD + d] = acc[(size_t)i * D + d] * inv;
    }
}

/* The bf16 operands and primitives; 0, -1 out of memory, 1 oneDNN cannot (f32 then). */
static int bf16_setup(bf16_products_t *bp, uint16_t **blk, const float *q, const float *k, const float *v,
                      const iid_attn_shape_t *s, const iid_scratch_t *sc)
{
    int HD = s->H * s->D;
    size_t nq = (size_t)s->B * s->Tq * HD, nkv = (size_t)s->B * s->Tk * HD;
    if (dnnl_engine_create(&bp->eng, dnnl_cpu, 0) != dnnl_success) return 1;
    if (make_bf16_matmul(bp->eng, 0, 1, &bp->qk) || make_bf16_matmul(bp->eng, 1, 0, &bp->pv)) return 1;
    *blk = iid__scratch_alloc(sc, (nq + 2 * nkv) * sizeof **blk);
    if (!*blk) return -1;
    uint16_t *q16 = *blk, *k16 = q16 + nq, *v16 = k16 + nkv;
    rows_to_bf16(q16, q, (int64_t)s->B * s->Tq, HD, s->q_stride, s->scale);
    rows_to_bf16(k16, k, (int64_t)s->B * s->Tk, HD, s->kv_stride, 1.0f);
    rows_to_bf16(v16, v, (int64_t)s->B * s->Tk, HD, s->kv_stride, 1.0f);
    bp->q16 = q16, bp->k16 = k16, bp->v16 = v16;
    return 0;
}

static void bf16_release(bf16_products_t *bp)
{
    if (bp->qk) dnnl_primitive_destroy(bp->qk);
    if (bp->pv) dnnl_primitive_destroy(bp->pv);
    if (bp->eng) dnnl_engine_destroy(bp->eng);
    memset(bp, 0, sizeof *bp);
}

int iid__attention_dt(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                      iid_dtype_t dtype, const iid_scratch_t *sc)
{
    int D = s->D, HD = s->H * s->D, nqt = (s->Tq + Q_TILE - 1) / Q_TILE;
    int64_t tasks = (int64_t)s->B * s->H * nqt;
    if (tasks <= 0) return 0;
    const iid_cpu_vec_t *vec = iid__cpu_vec();
    bf16_products_t bp = {0};
    uint16_t *ops16 = NULL;
    if (dtype == IID_DTYPE_BF16 && (int64_t)s->Tq * s->Tk * D >= BF16_MIN_WORK) {
        int rc = bf16_setup(&bp, &ops16, q, k, v, s, sc);
        if (rc != 0) bf16_release(&bp); /* f32 products */
        if (rc < 0) return -1;
    }
    bf16_thread_t th[64] = {{0}};
    int nt = omp_get_max_threads();
    if (nt > tasks) nt = (int)tasks;
    if (nt > 64) nt = 64;
    /* per thread: S (Q_TILE, K_TILE), acc (Q_TILE, D), mx and sum (Q_TILE), P in bf16 (Q_TILE, K_TILE) */
    size_t per = (size_t)Q_TILE * (K_TILE + (D ? D : 1) + 2 + K_TILE / 2);
    float *blk = iid__scratch_alloc(sc, (size_t)nt * per * sizeof *blk);
    int failed = !blk;
    for (int i = 0; i < nt && !failed && bp.qk; i++)
        failed = dnnl_stream_create(&th[i].strm, bp.eng, dnnl_stream_default_flags) != dnnl_success;
    if (!failed) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
        for (int64_t t = 0; t < tasks; t++) {
            int q0 = (int)(t % nqt) * Q_TILE, h = (int)(t / nqt % s->H), b = (int)(t / nqt / s->H);
            bf16_thread_t *me = &th[omp_get_thread_num()];
            float *S = blk + (size_t)omp_get_thread_num() * per;
            float *acc = S + (size_t)Q_TILE * K_TILE;
            float *mx = acc + (size_t)Q_TILE * (D ? D : 1);
            float *sum = mx + Q_TILE;
            me->p16 = (uint16_t *)(sum + Q_TILE);
            size_t kvo = (size_t)b * s->Tk * s->kv_stride + (size_t)h * D, kvo16 = (size_t)b * s->Tk * HD + (size_t)h * D;
            int nq = s->Tq - q0 < Q_TILE ? s->Tq - q0 : Q_TILE;
            size_t qo = ((size_t)b * s->Tq + q0) * s->q_stride + (size_t)h * D, qo16 = ((size_t)b * s->Tq + q0) * HD + (size_t)h * D;
            float *ob = out + ((size_t)b * s->Tq + q0) * HD + (size_t)h * D;
            attend_tile(vec, &bp, me, ob, q + qo, k + kvo, v + kvo, bp.q16 ? bp.q16 + qo16 : NULL,
                        bp.k16 ? bp.k16 + kvo16 : NULL, bp.v16 ? bp.v16 + kvo16 : NULL, s, nq, q0, S, acc, mx, sum);
        }
        for (int i = 0; i < nt; i++) failed |= th[i].failed;
    }
    for (int i = 0; i < nt; i++)
        if (th[i].strm) dnnl_stream_destroy(th[i].strm);
    bf16_release(&bp);
    iid__scratch_free(sc, blk);
    iid__scratch_free(sc, ops16);
    return failed ? -1 : 0;
}

int iid__attention(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                   const iid_scratch_t *sc)
{
    return iid__attention_dt(out, q, k, v, s, IID_DTYPE_F32, sc);
}
