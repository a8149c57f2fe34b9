/*
 * kv_cache.h - the cross-attentions' keys and values, made once per generation.
 *
 * A cross-attention's keys and values are projections of its context (the text
 * and face tokens), which does not change from one denoising step to the next:
 * recomputing them is about a tenth of a step on the cpu backend (small-M
 * products that run far below the GEMM peak). A generation hands its models one
 * cache (iid_unet_cond_t.kv); each cross-attention fills its entry on the first
 * step and reads it on the others. Entries live on the models' own backend,
 * never on a step allocator, so the first step's allocation plan is the one the
 * others replay. An entry is keyed by its layer and by the context it was made
 * from (data pointer, rows, image tokens): a call with another context makes
 * another entry, never a stale answer.
 */
#ifndef IID_MODELS_KV_CACHE_H
#define IID_MODELS_KV_CACHE_H

#include <stdint.h>

#include "ops/backend.h"

typedef struct iid_kv_entry {
    const void *layer;  /* the attention it belongs to */
    const void *ctx;    /* the context data it was made from */
    int64_t rows;       /* B * Tc context rows */
    int n_ip;           /* image tokens at the end of each context (k_ip, v_ip) */
    float *k, *v;       /* (B, Tc, C) */
    float *k_ip, *v_ip; /* (B, n_ip, C), or NULL */
} iid_kv_entry_t;

typedef struct iid_kv_cache {
    const iid_backend_t *be; /* where the entries live */
    iid_kv_entry_t *e;
    int n, cap;
} iid_kv_cache_t;

void iid__kv_cache_init(iid_kv_cache_t *c, const iid_backend_t *be);
/* Frees every entry; the cache can be used again. */
void iid__kv_cache_free(iid_kv_cache_t *c);
/* The entry for layer made from ctx, or NULL. */
iid_kv_entry_t *iid__kv_cache_find(const iid_kv_cache_t *c, const void *layer, const void *ctx, int64_t rows, int n_ip);
/* Free the entry added last (one whose contents could not be made). */
void iid__kv_cache_drop_last(iid_kv_cache_t *c);
/* A new entry with k and v (rows x C floats) and, when n_ip > 0, k_ip and v_ip
 * (B * n_ip x C) allocated on c->be, contents to be written; NULL when out of memory. */
iid_kv_entry_t *iid__kv_cache_add(iid_kv_cache_t *c, const void *layer, const void *ctx, int64_t rows, int B, int n_ip,
                                  int C);

#endif
