/*
 * attention_bf16.c - attention whose two products multiply bf16 operands with
 * f32 accumulation (--dtype bf16), as the weights' products already do: with
 * f32 products attention took about a tenth of a bf16 UNet step at half the
 * rate of the bf16 GEMMs around it. The softmax (running max, exponentials,
 * sums) and the output stay f32; the f32 kernel (attention.c) runs every other
 * case and is the fallback when oneDNN cannot build a product here.
 *
 * Q, K and V are rounded to bf16 once per call into block-major copies (every
 * head's rows of one query block, or of one key tile, contiguous), so that each
 * product is one dense matmul batched over the heads, which oneDNN spreads over
 * the threads: S = Q K^T for a query block and a key tile, then the online
 * softmax of attention.c over S, then acc += P V with P rounded to bf16. The
 * softmax scale is folded into Q's rounding.
 *
 * Only self-attention-sized key sets take this path: with a few dozen keys (the
 * 77 text or 16 face tokens of a cross-attention) the softmax and the copies
 * outweigh the products, and the f32 kernel was as fast or faster (measured on
 * a Zen 5: Tk = 16 and 77 +6..15% slower in bf16, Tk = 1024 -17..26%, Tk = 4096
 * -29%).
 */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <string.h>

#include "ops/cpu/fast_ops.h"
#include "ops/cpu/vec.h"
#include "ops/ops.h"

#define SCORE_BYTES (4u << 20) /* f32 scores of one query block and key tile, all heads */
#define KEY_TILE 512
#define MIN_QUERY_BLOCK 16
#define MAX_QUERY_BLOCK 1024
#define N_PRIMS 8 /* two products x (full, last) query block x (full, last) key tile */
#define MIN_KEYS 128

enum { PRODUCT_QK, PRODUCT_PV };

typedef struct product {
    int kind, M, N, K; /* batched over the heads: (H, M, K) x (H, K, N) */
    dnnl_primitive_t prim;
} product_t;

typedef struct attn_ctx {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    product_t prods[N_PRIMS];
    int n_prods;
} attn_ctx_t;

/* The product's primitive: QK reads the key tile (H, nk, D) as its transposed
 * weights; PV adds into its destination (the sum post-op). */
static dnnl_status_t make_product(attn_ctx_t *c, int H, product_t *p)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sd = {H, p->M, p->K}, wd = {H, p->K, p->N}, dd = {H, p->M, p->N};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&src, 3, sd, dnnl_bf16, dnnl_abc);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&wei, 3, wd, dnnl_bf16, p->kind == PRODUCT_QK ? dnnl_acb : dnnl_abc);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&dst, 3, dd, dnnl_f32, dnnl_abc);
    dnnl_matmul_desc_t d;
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&d, &src, &wei, NULL, &dst);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (st == dnnl_success && p->kind == PRODUCT_PV) {
        st = dnnl_primitive_attr_create(&attr);
        if (st == dnnl_success) st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &d, attr, c->eng, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&p->prim, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* dst (H, M, N) (+)= src (H, M, K) x wei; 0, or 1 when oneDNN fails. */
static int run_product(attn_ctx_t *c, int kind, int H, int M, int N, int K, const uint16_t *src, const uint16_t *wei,
                       float *dst)
{
    product_t *p = NULL;
    for (int i = 0; i < c->n_prods && !p; i++)
        if (c->prods[i].kind == kind && c->prods[i].M == M && c->prods[i].N == N && c->prods[i].K == K)
            p = &c->prods[i];
    if (!p) {
        if (c->n_prods == N_PRIMS) return 1;
        p = &c->prods[c->n_prods];
        *p = (product_t){kind, M, N, K, NULL};
        if (make_product(c, H, p) != dnnl_success) return 1;
        c->n_prods++;
    }
    const_dnnl_primitive_desc_t pd;
    if (dnnl_primitive_get_primitive_desc(p->prim, &pd) != dnnl_success) return 1;
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    const void *data[3] = {src, wei, dst};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = dnnl_memory_create(&m[i], dnnl_primitive_desc_query_md(pd, q[i], 0), c->eng, (void *)data[i]) !=
             dnnl_success;
    if (rc == 0) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_DST, m[2]}};
        rc = dnnl_primitive_execute(p->prim, c->strm, 3, a) != dnnl_success ||
             dnnl_stream_wait(c->strm) != dnnl_success;
    }
    for (int i = 0; i < 3; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    return rc;
}

/* Rows [0, T) of x (row stride `stride`, head h at column h * D) into blocks of
 * `block` rows, each block (H, rows, D) contiguous, times scale, as bf16. */
static void to_blocks(const iid_cpu_vec_t *vec, uint16_t *y, const float *x, int T, int H, int D, int stride,
                      int block, float scale)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < T; r++) {
        int r0 = r / block * block, nb = T - r0 < block ? T - r0 : block;
        uint16_t *blk = y + (size_t)r0 * H * D;
        for (int h = 0; h < H; h++)
            vec->to_bf16(blk + ((size_t)h * nb + (r - r0)) * D, x + (size_t)r * stride + (size_t)h * D, D, scale);
    }
}

/* The online softmax step for one key tile: S's rows (H * nq of nk) become
 * exp(s - running max) in P (bf16); the running sums and acc are rescaled to
 * the new maximum. */
static void softmax_tile(const iid_cpu_vec_t *vec, float *S, uint16_t *P, float *acc, float *mx, float *sum, int rows,
                         int nk, int D)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        float *row = S + (size_t)r * nk;
        float m = vec->max(row, nk);
        m = m > mx[r] ? m : mx[r];
        float corr = mx[r] == -INFINITY ? 0.0f : expf(mx[r] - m);
        float add = vec->exp_sum(row, nk, m);
        sum[r] = sum[r] * corr + add;
        mx[r] = m;
        if (corr != 1.0f) vec->scale(acc + (size_t)r * D, D, corr);
        vec->to_bf16(P + (size_t)r * nk, row, nk, 1.0f);
    }
}

/* out rows (nq of H * D) = acc (H, nq, D) / sum. */
static void finish_block(float *out, const float *acc, const float *sum, int H, int nq, int D)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nq; i++)
        for (int h = 0; h < H; h++) {
            size_t r = (size_t)h * nq + i;
            float inv = sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f;
            for (int d = 0; d < D; d++) out[(size_t)i * H * D + (size_t)h * D + d] = acc[r * D + d] * inv;
        }
}

typedef struct bufs {
    uint16_t *q, *k, *v, *P;
    float *S, *acc, *mx, *sum;
} bufs_t;

/* Batch element b, query rows [q0, q0 + nq). */
static int attend_block(attn_ctx_t *c, const iid_cpu_vec_t *vec, const bufs_t *w, float *out,
                        const iid_attn_shape_t *s, int b, int q0, int nq, int KT)
{
    int H = s->H, D = s->D, HD = H * D, rows = H * nq;
    for (int r = 0; r < rows; r++) {
        w->mx[r] = -INFINITY;
        w->sum[r] = 0.0f;
    }
    memset(w->acc, 0, (size_t)rows * D * sizeof *w->acc);
    const uint16_t *qb = w->q + ((size_t)b * s->Tq + q0) * HD;
    for (int k0 = 0; k0 < s->Tk; k0 += KT) {
        int nk = s->Tk - k0 < KT ? s->Tk - k0 : KT;
        size_t koff = ((size_t)b * s->Tk + k0) * HD;
        if (run_product(c, PRODUCT_QK, H, nq, nk, D, qb, w->k + koff, w->S)) return 1;
        softmax_tile(vec, w->S, w->P, w->acc, w->mx, w->sum, rows, nk, D);
        if (run_product(c, PRODUCT_PV, H, nq, D, nk, w->P, w->v + koff, w->acc)) return 1;
    }
    finish_block(out + ((size_t)b * s->Tq + q0) * HD, w->acc, w->sum, H, nq, D);
    return 0;
}

static int attend_all(attn_ctx_t *c, const bufs_t *w, float *out, const float *q, const float *k, const float *v,
                      const iid_attn_shape_t *s, int QB, int KT)
{
    const iid_cpu_vec_t *vec = iid__cpu_vec();
    int H = s->H, D = s->D, HD = H * D;
    for (int b = 0; b < s->B; b++) {
        to_blocks(vec, w->q + (size_t)b * s->Tq * HD, q + (size_t)b * s->Tq * s->q_stride, s->Tq, H, D, s->q_stride,
                  QB, s->scale);
        to_blocks(vec, w->k + (size_t)b * s->Tk * HD, k + (size_t)b * s->Tk * s->kv_stride, s->Tk, H, D,
                  s->kv_stride, KT, 1.0f);
        to_blocks(vec, w->v + (size_t)b * s->Tk * HD, v + (size_t)b * s->Tk * s->kv_stride, s->Tk, H, D,
                  s->kv_stride, KT, 1.0f);
    }
    for (int b = 0; b < s->B; b++)
        for (int q0 = 0; q0 < s->Tq; q0 += QB) {
            int nq = s->Tq - q0 < QB ? s->Tq - q0 : QB;
            if (attend_block(c, vec, w, out, s, b, q0, nq, KT)) return 1;
        }
    return 0;
}

int iid__attention_bf16(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s,
                        const iid_scratch_t *sc)
{
    if (s->causal || s->Tk < MIN_KEYS || s->B <= 0 || s->H <= 0 || s->Tq <= 0 || s->D <= 0) return 1;
    int H = s->H, D = s->D;
    int KT = s->Tk < KEY_TILE ? s->Tk : KEY_TILE;
    int64_t qb = SCORE_BYTES / ((int64_t)H * KT * sizeof(float));
    qb = qb < MIN_QUERY_BLOCK ? MIN_QUERY_BLOCK : qb > MAX_QUERY_BLOCK ? MAX_QUERY_BLOCK : qb / 16 * 16;
    int QB = s->Tq < qb ? s->Tq : (int)qb;
    size_t nq = (size_t)s->B * s->Tq * H * D, nkv = (size_t)s->B * s->Tk * H * D;
    size_t rows = (size_t)H * QB, scores = rows * KT;
    /* one block: bf16 copies, then the f32 scores, accumulators and statistics */
    size_t halves = nq + 2 * nkv + scores, floats = scores + rows * D + 2 * rows;
    halves += halves & 1; /* keep the floats aligned */
    uint16_t *blk = iid__scratch_alloc(sc, halves * sizeof(uint16_t) + floats * sizeof(float));
    if (!blk) return -1;
    bufs_t w;
    w.q = blk;
    w.k = w.q + nq;
    w.v = w.k + nkv;
    w.P = w.v + nkv;
    w.S = (float *)(blk + halves);
    w.acc = w.S + scores;
    w.mx = w.acc + rows * D;
    w.sum = w.mx + rows;
    attn_ctx_t c = {0};
    int rc = dnnl_engine_create(&c.eng, dnnl_cpu, 0) != dnnl_success;
    if (rc == 0) rc = dnnl_stream_create(&c.strm, c.eng, dnnl_stream_default_flags) != dnnl_success;
    if (rc == 0) rc = attend_all(&c, &w, out, q, k, v, s, QB, KT);
    for (int i = 0; i < c.n_prods; i++) dnnl_primitive_destroy(c.prods[i].prim);
    if (c.strm) dnnl_stream_destroy(c.strm);
    if (c.eng) dnnl_engine_destroy(c.eng);
    iid__scratch_free(sc, blk);
    return rc;
}
