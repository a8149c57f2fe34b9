/*
 * dnnl_weight.c - weights prepared for oneDNN and the matmul / convolution
 * primitives that use them (see dnnl_weight.h for the design).
 *
 * Activations stay plain f32 (C-order, NCHW): where a primitive wants another
 * layout or dtype for its source (bf16, or nChw16c for a JIT convolution) or
 * gives another for its destination, reorder primitives convert through the
 * caller's scratch (the step allocator sees it). Accumulation is f32 in every
 * dtype; a bias is the primitive's own bias argument and "C +=" its sum post-op.
 */
#define _DEFAULT_SOURCE /* madvise */
#include "ops/cpu/dnnl_weight.h"
#include "ops/cpu/vec.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N_CACHE 8
#define KEY_LEN 16

enum { KIND_NONE = 0, KIND_MATMUL = 1, KIND_CONV = 2 };

/* One primitive for one shape, with the reorders around it. */
typedef struct prim_entry {
    int used;
    int key[KEY_LEN];
    dnnl_primitive_t prim, src_reorder, dst_reorder; /* the reorders are NULL when layouts agree */
    dnnl_memory_desc_t user_src, src, dst, user_dst;
    char impl[64];
} prim_entry_t;

struct iid_dnnl_weight {
    iid_wmat_t host; /* the plain view (prep cleared) */
    dnnl_data_type_t dt;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    pthread_mutex_t lock;
    int kind, broken;
    int R, S, groups; /* the convolution geometry it was prepared for */
    dnnl_memory_desc_t wmd;
    void *wdata;      /* the prepared weight: owned, or the view itself when it already fits */
    int wdata_owned;
    const char *impl; /* the last entry's implementation name */
    prim_entry_t *cache[N_CACHE]; /* allocated on first use: most weights see one shape */
    int next;
};

iid_dnnl_weight_t *iid__dnnl_weight_new(const iid_wmat_t *host, iid_dtype_t dtype)
{
    iid_dnnl_weight_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->host = *host;
    w->host.prep = NULL;
    w->dt = dtype == IID_DTYPE_BF16 ? dnnl_bf16 : dnnl_f32;
    if (dnnl_engine_create(&w->eng, dnnl_cpu, 0) != dnnl_success) {
        free(w);
        return NULL;
    }
    if (dnnl_stream_create(&w->strm, w->eng, dnnl_stream_default_flags) != dnnl_success ||
        pthread_mutex_init(&w->lock, NULL) != 0) {
        if (w->strm) dnnl_stream_destroy(w->strm);
        dnnl_engine_destroy(w->eng);
        free(w);
        return NULL;
    }
    return w;
}

static void entry_clear(prim_entry_t *e)
{
    if (!e) return;
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->src_reorder) dnnl_primitive_destroy(e->src_reorder);
    if (e->dst_reorder) dnnl_primitive_destroy(e->dst_reorder);
    memset(e, 0, sizeof *e);
}

void iid__dnnl_weight_free(iid_dnnl_weight_t *w)
{
    if (!w) return;
    for (int i = 0; i < N_CACHE; i++) {
        entry_clear(w->cache[i]);
        free(w->cache[i]);
    }
    if (w->wdata_owned) free(w->wdata);
    dnnl_stream_destroy(w->strm);
    dnnl_engine_destroy(w->eng);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

iid_dnnl_weight_info_t iid__dnnl_weight_info(const iid_dnnl_weight_t *w)
{
    iid_dnnl_weight_info_t i = {w->kind, w->dt == dnnl_bf16 ? IID_DTYPE_BF16 : IID_DTYPE_F32,
                                w->kind && w->wdata ? dnnl_memory_desc_get_size(&w->wmd) : 0, w->impl ? w->impl : ""};
    return i;
}

/* ---- preparing the weight ---- */

/* The plain view's pages leave the process once the prepared copy exists (a
 * hint: failure keeps them). A view in a read-only file mapping is unmapped
 * (DONTNEED: its pages stay in the page cache, so the next process, or a trim's
 * re-preparation, reads them from RAM instead of the disk); any other view is
 * paged out (PAGEOUT: the kernel reclaims what it can and keeps the contents),
 * never discarded. */
static void release_plain(const iid_wmat_t *v, size_t n)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)v->data + pg - 1) / pg * pg, e = ((uintptr_t)v->data + n) / pg * pg;
    if (e <= a) return;
    if (v->file_backed) (void)madvise((void *)a, e - a, MADV_DONTNEED);
#ifdef MADV_PAGEOUT
    else (void)madvise((void *)a, e - a, MADV_PAGEOUT);
#endif
}

static int run_reorder(iid_dnnl_weight_t *w, const dnnl_memory_desc_t *from, const void *src,
                       const dnnl_memory_desc_t *to, void *dst)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    int ok = dnnl_reorder_primitive_desc_create(&pd, from, w->eng, to, w->eng, NULL) == dnnl_success &&
             dnnl_primitive_create(&r, pd) == dnnl_success &&
             dnnl_memory_create(&ms, from, w->eng, (void *)src) == dnnl_success &&
             dnnl_memory_create(&md, to, w->eng, dst) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        ok = dnnl_primitive_execute(r, w->strm, 2, args) == dnnl_success && dnnl_stream_wait(w->strm) == dnnl_success;
    }
    if (md) dnnl_memory_destroy(md);
    if (ms) dnnl_memory_destroy(ms);
    if (r) dnnl_primitive_destroy(r);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return ok ? 0 : 1;
}

/* The plain view's rows rounded to bf16 (nearest even, as oneDNN's f32 -> bf16
 * reorder rounds), a few rows at a time through f32: for a bf16 weight this
 * staging copy is half the size of an f32 one, and so is the reorder's read. */
static uint16_t *plain_bf16(const iid_wmat_t *W)
{
    enum { ROWS = 16 };
    size_t n = (size_t)W->rows * W->cols;
    uint16_t *y = malloc((n ? n : 1) * sizeof *y);
    if (!y) return NULL;
    const iid_cpu_vec_t *vec = iid__cpu_vec();
    int failed = 0;
#pragma omp parallel if (n >= ((size_t)1 << 20))
    {
        float *rows = malloc((size_t)ROWS * (W->cols ? W->cols : 1) * sizeof *rows);
#pragma omp for schedule(static)
        for (int r0 = 0; r0 < W->rows; r0 += ROWS) {
            int nr = W->rows - r0 < ROWS ? W->rows - r0 : ROWS;
            if (!rows) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            iid__wmat_rows_f32(rows, W, r0, nr);
            vec->to_bf16(y + (size_t)r0 * W->cols, rows, nr * W->cols, 1.0f);
        }
        free(rows);
    }
    if (failed) {
        free(y);
        return NULL;
    }
    return y;
}

/* Reorder the plain view (described as f32 by user_wmd) into w->wmd, the layout
 * the first primitive chose: at the first use, and again after a trim. A bf16
 * weight is staged as bf16 (a BF16 view is read as it is); an f32 one as f32.
 * 0, -1 out of memory, 1 oneDNN failed. */
static int fill(iid_dnnl_weight_t *w, const dnnl_memory_desc_t *user_wmd)
{
    size_t plain_bytes = (size_t)w->host.rows * w->host.cols * iid__dtype_size(w->host.dtype);
    int direct = w->host.dtype == IID_DTYPE_F32 && (uintptr_t)w->host.data % _Alignof(float) == 0;
    if (direct && dnnl_memory_desc_equal(&w->wmd, user_wmd)) { /* already what oneDNN wants */
        w->wdata = (void *)w->host.data;
        return 0;
    }
    dnnl_memory_desc_t from = *user_wmd;
    const void *src = w->host.data;
    void *staged = NULL;
    if (w->dt == dnnl_bf16 && !direct) {
        from.data_type = dnnl_bf16; /* the same dims and strides, in elements */
        if (w->host.dtype != IID_DTYPE_BF16 || (uintptr_t)w->host.data % _Alignof(uint16_t) != 0)
            src = staged = plain_bf16(&w->host);
    } else if (!direct) {
        src = staged = iid__wmat_to_f32(&w->host);
    }
    if (!src) return -1;
    size_t bytes = dnnl_memory_desc_get_size(&w->wmd);
    w->wdata = aligned_alloc(64, (bytes + 63) / 64 * 64);
    int rc = w->wdata ? run_reorder(w, &from, src, &w->wmd, w->wdata) : -1;
    free(staged);
    if (rc != 0) {
        free(w->wdata);
        w->wdata = NULL;
        return rc;
    }
    w->wdata_owned = 1;
    release_plain(&w->host, plain_bytes);
    return 0;
}

static int prepare(iid_dnnl_weight_t *w, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *user_wmd)
{
    w->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    return fill(w, user_wmd);
}

void iid__dnnl_weight_trim(iid_dnnl_weight_t *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    if (w->wdata_owned) free(w->wdata);
    w->wdata = NULL;
    w->wdata_owned = 0;
    /* The view's pages go too: a weight whose products read the view itself
     * (widened per product in f32, or already in oneDNN's layout) holds nothing
     * else; a prepared one released them when it was copied. */
    release_plain(&w->host, (size_t)w->host.rows * w->host.cols * iid__dtype_size(w->host.dtype));
    pthread_mutex_unlock(&w->lock);
}

/* ---- primitives per shape ---- */

static prim_entry_t *find(iid_dnnl_weight_t *w, const int *key)
{
    for (int i = 0; i < N_CACHE; i++)
        if (w->cache[i] && w->cache[i]->used && memcmp(w->cache[i]->key, key, sizeof w->cache[i]->key) == 0)
            return w->cache[i];
    return NULL;
}

static int make_reorder(iid_dnnl_weight_t *w, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        dnnl_primitive_t *out)
{
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to)) return 0;
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, from, w->eng, to, w->eng, NULL) != dnnl_success) return 1;
    int rc = dnnl_primitive_create(out, pd) == dnnl_success ? 0 : 1;
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

/* A cache entry for key from pd (which it consumes): the primitive and its reorders. */
static int add_entry(iid_dnnl_weight_t *w, const int *key, dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *user_src,
                     const dnnl_memory_desc_t *user_dst, prim_entry_t **out)
{
    if (!w->cache[w->next] && !(w->cache[w->next] = calloc(1, sizeof *w->cache[w->next]))) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    prim_entry_t *e = w->cache[w->next];
    w->next = (w->next + 1) % N_CACHE;
    entry_clear(e);
    memcpy(e->key, key, sizeof e->key);
    e->user_src = *user_src;
    e->user_dst = *user_dst;
    e->src = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    e->dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const char *impl = "";
    (void)dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl); /* a name for --perf only */
    snprintf(e->impl, sizeof e->impl, "%s", impl ? impl : "");
    int rc = dnnl_primitive_create(&e->prim, pd) == dnnl_success ? 0 : 1;
    dnnl_primitive_desc_destroy(pd);
    if (rc == 0) rc = make_reorder(w, &e->user_src, &e->src, &e->src_reorder);
    if (rc == 0) rc = make_reorder(w, &e->dst, &e->user_dst, &e->dst_reorder);
    if (rc != 0) {
        entry_clear(e);
        return rc;
    }
    e->used = 1;
    *out = e;
    return 0;
}

static int mem(iid_dnnl_weight_t *w, dnnl_memory_t *m, const dnnl_memory_desc_t *md, const void *p)
{
    return dnnl_memory_create(m, md, w->eng, (void *)p) == dnnl_success ? 0 : 1;
}

/* Run entry e: src (user layout) -> dst (user layout). -1 out of memory, 1 oneDNN failed. */
static int run_entry(iid_dnnl_weight_t *w, const prim_entry_t *e, const float *src, float *dst, const float *bias,
                     const iid_scratch_t *sc)
{
    void *sbuf = e->src_reorder ? iid__scratch_alloc(sc, dnnl_memory_desc_get_size(&e->src)) : (void *)src;
    void *dbuf = e->dst_reorder ? iid__scratch_alloc(sc, dnnl_memory_desc_get_size(&e->dst)) : dst;
    dnnl_memory_t mus = NULL, ms = NULL, mw = NULL, mb = NULL, md = NULL, mud = NULL;
    int rc = !sbuf || !dbuf ? -1 : 0;
    if (rc == 0)
        rc = mem(w, &mus, &e->user_src, src) || mem(w, &ms, &e->src, sbuf) || mem(w, &md, &e->dst, dbuf) ||
             mem(w, &mud, &e->user_dst, dst) || mem(w, &mw, &w->wmd, w->wdata);
    if (rc == 0 && e->src_reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, mus}, {DNNL_ARG_TO, ms}};
        rc = dnnl_primitive_execute(e->src_reorder, w->strm, 2, a) != dnnl_success;
    }
    if (rc == 0 && bias) {
        const_dnnl_primitive_desc_t pd;
        rc = dnnl_primitive_get_primitive_desc(e->prim, &pd) != dnnl_success ||
             mem(w, &mb, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), bias);
    }
    if (rc == 0) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {DNNL_ARG_BIAS, mb}};
        rc = dnnl_primitive_execute(e->prim, w->strm, bias ? 4 : 3, a) != dnnl_success;
    }
    if (rc == 0 && e->dst_reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, md}, {DNNL_ARG_TO, mud}};
        rc = dnnl_primitive_execute(e->dst_reorder, w->strm, 2, a) != dnnl_success;
    }
    if (rc == 0) rc = dnnl_stream_wait(w->strm) != dnnl_success;
    dnnl_memory_t all[6] = {mus, ms, mw, mb, md, mud};
    for (int i = 0; i < 6; i++)
        if (all[i]) dnnl_memory_destroy(all[i]);
    if (e->src_reorder) iid__scratch_free(sc, sbuf);
    if (e->dst_reorder) iid__scratch_free(sc, dbuf);
    return rc;
}

/* pd for the op with the weight's format fixed (prepared) or open (first use). */
typedef dnnl_status_t (*make_pd_fn)(iid_dnnl_weight_t *w, const void *shape, const dnnl_memory_desc_t *wmd,
                                    dnnl_primitive_desc_t *pd);

/* Look up or build the entry for key, preparing the weight on first use, and run it. */
static int run_op(iid_dnnl_weight_t *w, int kind, const int *key, make_pd_fn make_pd, const void *shape,
                  const dnnl_memory_desc_t *user_wmd, const dnnl_memory_desc_t *any_wmd,
                  const dnnl_memory_desc_t *user_src, const dnnl_memory_desc_t *user_dst, const float *src, float *dst,
                  const float *bias, const iid_scratch_t *sc)
{
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    prim_entry_t *e = NULL;
    if (w->broken || (w->kind != KIND_NONE && w->kind != kind)) rc = 1;
    else if (!(e = find(w, key))) {
        dnnl_primitive_desc_t pd = NULL;
        rc = make_pd(w, shape, w->kind ? &w->wmd : any_wmd, &pd) != dnnl_success;
        if (rc == 0 && w->kind == KIND_NONE) {
            rc = prepare(w, pd, user_wmd);
            if (rc == 0) w->kind = kind;
        }
        if (rc == 0) rc = add_entry(w, key, pd, user_src, user_dst, &e);
        else if (pd) dnnl_primitive_desc_destroy(pd);
        if (rc == 1 && w->kind == KIND_NONE) w->broken = 1; /* oneDNN cannot run it: the plain path from now on */
    }
    if (rc == 0 && !w->wdata) rc = fill(w, user_wmd); /* trimmed since: the same layout again */
    if (rc == 0) {
        w->impl = e->impl;
        rc = run_entry(w, e, src, dst, bias, sc);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- matmul ---- */

typedef struct mm_shape {
    int M, has_bias, accumulate;
} mm_shape_t;

static dnnl_status_t matmul_pd(iid_dnnl_weight_t *w, const void *shape, const dnnl_memory_desc_t *wmd,
                               dnnl_primitive_desc_t *pd)
{
    const mm_shape_t *s = shape;
    int N = w->host.rows, K = w->host.cols;
    dnnl_memory_desc_t src, dst, bias;
    dnnl_dims_t sd = {s->M, K}, dd = {s->M, N}, bd = {1, N};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&src, 2, sd, w->dt, dnnl_ab);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&bias, 2, bd, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t d;
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&d, &src, wmd, s->has_bias ? &bias : NULL, &dst);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (st == dnnl_success && s->accumulate) {
        st = dnnl_primitive_attr_create(&attr);
        if (st == dnnl_success) st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, attr, w->eng, NULL);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

int iid__dnnl_matmul(iid_dnnl_weight_t *w, float *C, const float *A, int M, const float *b, int accumulate,
                     const iid_scratch_t *sc)
{
    int N = w->host.rows, K = w->host.cols;
    if (M <= 0 || N <= 0 || K <= 0) return 1; /* the plain path handles the empty cases */
    if (b && accumulate) return 1; /* no caller does both; the plain path would */
    mm_shape_t s = {M, b != NULL, accumulate != 0};
    int key[KEY_LEN] = {KIND_MATMUL, M, s.has_bias, s.accumulate};
    dnnl_memory_desc_t user_w, any_w, user_src, user_dst;
    dnnl_dims_t wd = {K, N}, sd = {M, K}, dd = {M, N};
    if (dnnl_memory_desc_init_by_tag(&user_w, 2, wd, dnnl_f32, dnnl_ba) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&any_w, 2, wd, w->dt, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&user_src, 2, sd, dnnl_f32, dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&user_dst, 2, dd, dnnl_f32, dnnl_ab) != dnnl_success)
        return 1;
    return run_op(w, KIND_MATMUL, key, matmul_pd, &s, &user_w, &any_w, &user_src, &user_dst, A, C, b, sc);
}

/* ---- convolution ---- */

/* One band of output rows: its input rows (with the padding that falls inside
 * the band) and where the band lies in the whole tensors. */
typedef struct conv_shape {
    const iid_conv2d_shape_t *s;
    int H, pad_top, pad_bottom; /* the band's input rows and vertical padding */
    int OH, OW, has_bias;       /* the band's output rows */
} conv_shape_t;

/* The weight's dims: (K, C, R, S), or (g, K/g, C/g, R, S) when grouped. */
static int weight_dims(const iid_conv2d_shape_t *s, dnnl_dims_t d)
{
    int g = s->groups;
    if (g == 1) {
        d[0] = s->K, d[1] = s->C, d[2] = s->R, d[3] = s->S;
        return 4;
    }
    d[0] = g, d[1] = s->K / g, d[2] = s->C / g, d[3] = s->R, d[4] = s->S;
    return 5;
}

static dnnl_status_t conv_pd(iid_dnnl_weight_t *w, const void *shape, const dnnl_memory_desc_t *wmd,
                             dnnl_primitive_desc_t *pd)
{
    const conv_shape_t *c = shape;
    const iid_conv2d_shape_t *s = c->s;
    dnnl_memory_desc_t src, dst, bias;
    dnnl_dims_t sd = {s->N, s->C, c->H, s->W}, dd = {s->N, s->K, c->OH, c->OW}, bd = {s->K};
    dnnl_dims_t strides = {s->stride_h, s->stride_w}, dil = {s->dil_h - 1, s->dil_w - 1};
    dnnl_dims_t pl = {c->pad_top, s->pad_w};
    /* right padding that makes the output width come out as OW */
    dnnl_dims_t pr = {c->pad_bottom, (c->OW - 1) * s->stride_w + (s->S - 1) * s->dil_w + 1 - s->W - s->pad_w};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&src, 4, sd, w->dt, dnnl_format_tag_any);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_format_tag_any);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_a);
    dnnl_convolution_desc_t d;
    if (st == dnnl_success)
        st = dnnl_dilated_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &src, wmd,
                                                        c->has_bias ? &bias : NULL, &dst, strides, dil, pl, pr);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, NULL, w->eng, NULL);
    return st;
}

int iid__dnnl_conv2d_banded(iid_dnnl_weight_t *w, float *out, const float *in, const float *b,
                            const iid_conv2d_shape_t *s, size_t band_bytes, const iid_scratch_t *sc)
{
    int OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    int OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    if (s->N <= 0 || OH <= 0 || OW <= 0 || s->groups < 1 || w->host.rows != s->K ||
        (int64_t)w->host.cols * s->groups != (int64_t)s->C * s->R * s->S)
        return 1;
    if (w->kind == KIND_CONV && (w->R != s->R || w->S != s->S || w->groups != s->groups)) return 1;
    dnnl_dims_t wd;
    int wn = weight_dims(s, wd);
    dnnl_memory_desc_t user_w, any_w;
    if (dnnl_memory_desc_init_by_tag(&user_w, wn, wd, dnnl_f32, wn == 4 ? dnnl_oihw : dnnl_goihw) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&any_w, wn, wd, w->dt, dnnl_format_tag_any) != dnnl_success)
        return 1;
    if (w->kind == KIND_NONE) w->R = s->R, w->S = s->S, w->groups = s->groups; /* what a first use prepares for */
    /* The primitive converts its input and output through scratch (blocked
     * layout, bf16): for the VAE's largest maps that is 1.5 GiB beside the
     * tensors themselves, so big convolutions run in bands of output rows whose
     * scratch stays near band_bytes. Every output element sums the same
     * products either way. */
    size_t bytes = ((size_t)s->N * s->C * s->H * s->W + (size_t)s->N * s->K * OH * OW) * sizeof(float);
    size_t n_bands = band_bytes && bytes > band_bytes ? (bytes + band_bytes - 1) / band_bytes : 1;
    int rows = (int)(((size_t)OH + n_bands - 1) / n_bands);
    dnnl_dims_t in_strides = {(int64_t)s->C * s->H * s->W, (int64_t)s->H * s->W, s->W, 1};
    dnnl_dims_t out_strides = {(int64_t)s->K * OH * OW, (int64_t)OH * OW, OW, 1};
    int rc = 0;
    for (int o0 = 0; rc == 0 && o0 < OH; o0 += rows) {
        int o1 = o0 + rows < OH ? o0 + rows : OH;
        int i0 = o0 * s->stride_h - s->pad_h, i1 = (o1 - 1) * s->stride_h - s->pad_h + (s->R - 1) * s->dil_h + 1;
        int c0 = i0 > 0 ? i0 : 0, c1 = i1 < s->H ? i1 : s->H;
        conv_shape_t c = {s, c1 - c0, c0 - i0, i1 > s->H ? i1 - s->H : 0, o1 - o0, OW, b != NULL};
        int key[KEY_LEN] = {KIND_CONV, s->N, s->H, s->W, c.H, c.pad_top, c.pad_bottom, c.OH, s->stride_h, s->stride_w,
                            s->pad_w, s->dil_h, s->dil_w, c.has_bias};
        dnnl_dims_t sd = {s->N, s->C, c.H, s->W}, dd = {s->N, s->K, c.OH, OW};
        dnnl_memory_desc_t user_src, user_dst;
        if (dnnl_memory_desc_init_by_strides(&user_src, 4, sd, dnnl_f32, in_strides) != dnnl_success ||
            dnnl_memory_desc_init_by_strides(&user_dst, 4, dd, dnnl_f32, out_strides) != dnnl_success)
            return 1;
        rc = run_op(w, KIND_CONV, key, conv_pd, &c, &user_w, &any_w, &user_src, &user_dst, in + (size_t)c0 * s->W,
                    out + (size_t)o0 * OW, b, sc);
    }
    return rc;
}

int iid__dnnl_conv2d(iid_dnnl_weight_t *w, float *out, const float *in, const float *b, const iid_conv2d_shape_t *s,
                     const iid_scratch_t *sc)
{
    return iid__dnnl_conv2d_banded(w, out, in, b, s, IID_DNNL_BAND_BYTES, sc);
}
