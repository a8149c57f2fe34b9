/*
 * kv_cache.c - see kv_cache.h.
 */
#include "models/kv_cache.h"

#include <stdlib.h>
#include <string.h>

void iid__kv_cache_init(iid_kv_cache_t *c, const iid_backend_t *be)
{
    memset(c, 0, sizeof *c);
    c->be = be;
}

static void entry_free(const iid_backend_t *be, iid_kv_entry_t *e)
{
    iid__op_free(be, e->k);
    iid__op_free(be, e->v);
    iid__op_free(be, e->k_ip);
    iid__op_free(be, e->v_ip);
}

void iid__kv_cache_free(iid_kv_cache_t *c)
{
    for (int i = 0; i < c->n; i++) entry_free(c->be, &c->e[i]);
    free(c->e);
    c->e = NULL;
    c->n = c->cap = 0;
}

void iid__kv_cache_drop_last(iid_kv_cache_t *c)
{
    if (c->n > 0) entry_free(c->be, &c->e[--c->n]);
}

iid_kv_entry_t *iid__kv_cache_find(const iid_kv_cache_t *c, const void *layer, const void *ctx, int64_t rows, int n_ip)
{
    for (int i = 0; i < c->n; i++) {
        iid_kv_entry_t *e = &c->e[i];
        if (e->layer == layer && e->ctx == ctx && e->rows == rows && e->n_ip == n_ip) return e;
    }
    return NULL;
}

iid_kv_entry_t *iid__kv_cache_add(iid_kv_cache_t *c, const void *layer, const void *ctx, int64_t rows, int B, int n_ip,
                                  int C)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64; /* SDXL's UNet and IdentityNet have 100 cross-attentions */
        iid_kv_entry_t *e = realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) return NULL;
        c->e = e;
        c->cap = cap;
    }
    iid_kv_entry_t *e = &c->e[c->n];
    *e = (iid_kv_entry_t){layer, ctx, rows, n_ip, NULL, NULL, NULL, NULL};
    size_t kv = (size_t)rows * C * sizeof(float), ip = (size_t)B * n_ip * C * sizeof(float);
    e->k = iid__op_alloc(c->be, kv);
    e->v = iid__op_alloc(c->be, kv);
    if (n_ip > 0) {
        e->k_ip = iid__op_alloc(c->be, ip);
        e->v_ip = iid__op_alloc(c->be, ip);
    }
    if (!e->k || !e->v || (n_ip > 0 && (!e->k_ip || !e->v_ip))) {
        entry_free(c->be, e);
        return NULL;
    }
    c->n++;
    return e;
}
