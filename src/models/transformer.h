/*
 * transformer.h - attention with the decoupled IP-Adapter branch, the
 * BasicTransformerBlock and Transformer2DModel of diffusers, as the SDXL UNet
 * and the ControlNet use them (and the single-head attention of the VAE).
 *
 * Attention: q = to_q(x), k = to_k(ctx), v = to_v(ctx), heads split along the
 * channel axis, softmax(q k^T * head_dim^-0.5) v, then to_out.0. When the layer
 * carries IP weights (to_k_ip / to_v_ip) and the call says the last n context
 * tokens are image tokens, the text part and the image part are attended to
 * separately with the same query, and
 *   out = to_out(attn(q, K_text, V_text) + scale * mask * attn(q, K_ip, V_ip))
 * as InstantID's IPAttnProcessor computes it. mask is an optional region mask
 * (H_m, W_m) resized to the layer's token grid with torch's nearest rule at the
 * scale factor 1/sqrt(H_m*W_m / tokens); without it the mask is 1.
 *
 * Transformer2D: GroupNorm (eps 1e-6) -> tokens (N, HW, C) -> proj_in -> blocks
 * -> proj_out -> back to NCHW -> + the input. Block: x += attn1(norm1(x));
 * x += attn2(norm2(x), ctx); x += ff(norm3(x)), with LayerNorm eps 1e-5 and a
 * GEGLU feed-forward (proj -> [h, gate] -> h * gelu_erf(gate) -> Linear).
 */
#ifndef IID_MODELS_TRANSFORMER_H
#define IID_MODELS_TRANSFORMER_H

#include "models/blocks.h"
#include "models/kv_cache.h"

/* How a cross-attention treats the image tokens at the end of its context. */
typedef struct iid_ip_args {
    int n_tokens;     /* the last n_tokens context tokens are image tokens; 0: none */
    float scale;      /* weight of the image attention */
    iid_tensor_t mask; /* (mask_h, mask_w) region mask in [0, 1] (device memory), data NULL
                          for none; InstantID's control_mask channel 0 / 255 at image resolution */
} iid_ip_args_t;

typedef struct iid_attention {
    int dim, ctx_dim, heads;
    iid_linear_w_t q, k, v, out;
    iid_linear_w_t k_ip, v_ip; /* IP-Adapter branch, when has_ip */
    int has_ip;
} iid_attention_t;

/* Binds <prefix>.to_q/.to_k/.to_v (biases only when qkv_bias) and <prefix>.to_out.0
 * (with bias). ctx_dim == dim for self-attention. dim must split into heads. */
iid_status iid__attention_load(iid_attention_t *a, const iid_safetensors_t *st, const char *prefix, int dim,
                               int ctx_dim, int heads, int qkv_bias, iid_error_t *err);
/* Binds ip_adapter.<n>.to_k_ip.weight and .to_v_ip.weight, each (dim, ctx_dim),
 * from an IP-Adapter file; `prefix` is the file's key prefix ("ip_adapter."). */
iid_status iid__attention_load_ip(iid_attention_t *a, const iid_safetensors_t *st, const char *prefix, int n,
                                  iid_error_t *err);
void iid__attention_free(iid_attention_t *a);

/* x (B, T, dim) -> y (B, T, dim), caller-allocated (its data is written). ctx
 * (B, Tc, ctx_dim), or NULL for self-attention. ip may be NULL; it only matters
 * for a layer with IP weights. kv (NULL: none) keeps a cross-attention's keys
 * and values of ctx for the next call with the same context (kv_cache.h).
 * grid_h * grid_w == T is the token grid the mask is resized to. Fails on a
 * context shorter than its image tokens, a mask that does not resize to the
 * grid, or memory. */
iid_status iid__attention_forward(const iid_backend_t *be, const iid_attention_t *a, const iid_tensor_t *x,
                                  const iid_tensor_t *ctx, const iid_ip_args_t *ip, iid_kv_cache_t *kv, int grid_h,
                                  int grid_w, iid_tensor_t *y, iid_error_t *err);

typedef struct iid_tblock {
    iid_norm_t norm1, norm2, norm3;
    iid_attention_t attn1, attn2;
    iid_linear_w_t ff_in, ff_out; /* GEGLU proj (2*inner, dim), out (dim, inner) */
    int ff_inner;
} iid_tblock_t;

typedef struct iid_transformer {
    int channels, groups, n_blocks, heads;
    int linear_proj; /* proj_in/out are Linear (else 1x1 convs, same maths) */
    iid_norm_t norm;
    iid_linear_w_t proj_in, proj_out;
    iid_tblock_t *blocks;
} iid_transformer_t;

/* Binds a Transformer2DModel at prefix with n_blocks transformer blocks of
 * `heads` heads over `channels`, cross-attending to ctx_dim-wide context. The
 * feed-forward width is read from ff.net.0.proj.weight. */
iid_status iid__transformer_load(iid_transformer_t *t, const iid_safetensors_t *st, const char *prefix, int channels,
                                 int n_blocks, int heads, int ctx_dim, int groups, int linear_proj, iid_error_t *err);
void iid__transformer_free(iid_transformer_t *t);
/* In place: x (N, C, H, W) += transformer(x, ctx). ctx (N, Tc, ctx_dim); kv as
 * for iid__attention_forward. */
iid_status iid__transformer_forward(const iid_backend_t *be, const iid_transformer_t *t, iid_tensor_t *x,
                                    const iid_tensor_t *ctx, const iid_ip_args_t *ip, iid_kv_cache_t *kv,
                                    iid_error_t *err);

#endif
