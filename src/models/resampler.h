/*
 * resampler.h - InstantID's face Resampler (`image_proj` of the IP-Adapter file):
 * a Perceiver-style module turning a face embedding into num_queries tokens for
 * the UNet's and IdentityNet's cross-attention.
 *
 * Weights come from an open safetensors index under a name prefix ("image_proj."
 * in InstantID's files), so any reader producing that index type (safetensors,
 * the torch .bin reader) plugs in. Every size is read from the shapes:
 *   dim, num_queries  from `latents` (1, Q, dim)
 *   embedding_dim     from `proj_in.weight` (dim, E)
 *   output_dim        from `proj_out.weight` (O, dim)
 *   depth             from the number of `layers.<i>.` groups
 *   ff_mult * dim     from `layers.0.1.1.weight` (ff_inner, dim)
 *   heads * dim_head  from `layers.0.0.to_q.weight` (inner, dim)
 * The head split itself is not in the shapes: it is a load parameter (InstantID
 * hard-codes 20 heads of 64 for the real file; IID_RESAMPLER_DEFAULT_HEADS).
 *
 * Forward, emb (B, N, E) -> tokens (B, Q, O):
 *   x = proj_in(emb); lat = latents repeated over B
 *   per layer: lat += attn(x, lat); lat += ff(lat)
 *   tokens = norm_out(proj_out(lat))
 * attn: x' = norm1(x), l' = norm2(lat), q = to_q(l'), [k | v] = to_kv([x'; l'])
 * over N + Q tokens, softmax((q k^T) / sqrt(dim_head)) v per head, to_out.
 * ff: LayerNorm -> Linear (no bias) -> exact GELU -> Linear (no bias).
 * All LayerNorms use eps 1e-5.
 */
#ifndef IID_MODELS_RESAMPLER_H
#define IID_MODELS_RESAMPLER_H

#include "core/status.h"
#include "io/safetensors.h"
#include "ops/backend.h"

#define IID_RESAMPLER_DEFAULT_HEADS 20

/* Every array below is f32 in the memory of the backend bound at load (be;
 * blocks.h, iid__param_load): the host copy on ref / cpu, uploaded once on a
 * device backend. */
typedef struct iid_resampler_layer {
    float *norm1_w, *norm1_b;  /* (dim) LayerNorm of the embedding tokens */
    float *norm2_w, *norm2_b;  /* (dim) LayerNorm of the latents */
    float *to_q;               /* (inner, dim) */
    float *to_kv;              /* (2 * inner, dim): K rows first, then V */
    float *to_out;             /* (dim, inner) */
    float *ff_norm_w, *ff_norm_b; /* (dim) */
    float *ff_w1;              /* (ff_inner, dim) */
    float *ff_w2;              /* (dim, ff_inner) */
} iid_resampler_layer_t;

typedef struct iid_resampler {
    int dim, num_queries, depth, heads, dim_head, embedding_dim, output_dim, ff_inner;
    float *latents;                 /* (Q, dim) */
    float *proj_in_w, *proj_in_b;   /* (dim, E), (dim) */
    float *proj_out_w, *proj_out_b; /* (O, dim), (O) */
    float *norm_out_w, *norm_out_b; /* (O) */
    iid_resampler_layer_t *layer;   /* depth entries */
    const iid_backend_t *be;        /* holds the weights and runs the forward; the default one at load */
} iid_resampler_t;

/* Bind the Resampler stored under `prefix` (e.g. "image_proj.") in st, with
 * `heads` attention heads (must divide the to_q width). Sizes are inferred as
 * above and every tensor's shape is checked; errors name the file and tensor.
 * On failure nothing is left allocated. Free with iid__resampler_free. */
iid_status iid__resampler_load(iid_resampler_t *r, const iid_safetensors_t *st, const char *prefix, int heads,
                               iid_error_t *err);

/* Release the weights; safe on NULL and on a zeroed or freed record. */
void iid__resampler_free(iid_resampler_t *r);

/* tokens (B, Q, O) = Resampler(emb (B, N, E)); B, N >= 1; both device memory of
 * r->be, tokens caller-allocated (its data is written). Fails on other shapes. */
iid_status iid__resampler_forward(const iid_resampler_t *r, const iid_tensor_t *emb, const iid_tensor_t *tokens,
                                  iid_error_t *err);

/* The pipeline's `_encode_prompt_image_emb`: emb holds n_values floats, a
 * multiple of E, read as (1, n_values / E, E) from HOST memory (the face
 * analysis result); tokens is a tensor in r->be's memory. With cfg the batch is
 * [Resampler(zeros); Resampler(emb)] and tokens is (2, Q, O); without it
 * tokens is (1, Q, O). */
iid_status iid__encode_prompt_image_emb(const iid_resampler_t *r, const float *emb, int n_values, int cfg,
                                        const iid_tensor_t *tokens, iid_error_t *err);

#endif
