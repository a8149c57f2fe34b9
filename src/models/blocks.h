/*
 * blocks.h - the layers the image networks (SDXL UNet, ControlNet, VAE decoder)
 * are assembled from: weight binding by checkpoint name, Linear / Conv2d /
 * GroupNorm parameter sets and the ResNet block (the sinusoidal timestep
 * embedding is an op, ops/backend.h). Attention and Transformer2D live in transformer.h.
 *
 * Weights: every parameter is looked up by its diffusers name (built from the
 * block tree's prefix, e.g. "down_blocks.1.resnets.0.conv1.weight") and its shape
 * is checked against what the config implies. Linear and convolution weights are
 * VIEWS into the memory-mapped checkpoint in their stored dtype (F16 and BF16 as
 * they are, F32 in place when float-aligned); the ops widen them block by block
 * (ops.h, iid_wmat_t). Only an unaligned F32 weight, or another float dtype, is
 * copied to f32 at load. Biases and norm parameters (small vectors) are f32
 * arrays in the backend's memory (iid__param_load: the host copy itself on a
 * host backend, uploaded once on a device one). So the checkpoint's iid_safetensors_t must stay open while a loaded
 * block is used: each model documents who owns it (the models loaded from a
 * folder own theirs). A missing or mis-shaped tensor fails the load with a
 * message naming the file and the tensor.
 *
 * Activations: forward functions take the backend the model is bound to
 * (ops/backend.h) and NCHW f32 DEVICE buffers of that backend with explicit
 * sizes; they return outputs allocated with iid__op_alloc(be, ...) that the
 * caller frees with iid__op_free(be, ...). Model code never reads or writes
 * activation memory itself: every element-wise step is an op of the backend
 * table. Every struct's _free()
 * accepts a zeroed or partially loaded struct, so a failed load is cleaned up by
 * calling _free() once.
 */
#ifndef IID_MODELS_BLOCKS_H
#define IID_MODELS_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/safetensors.h"
#include "ops/backend.h"

#if defined(__GNUC__)
#define IID_PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#else
#define IID_PRINTF_FMT(f, a)
#endif

/* A feature map (N, C, H, W) that owns its data. */
typedef struct iid_fmap {
    float *data;
    int n, c, h, w;
} iid_fmap_t;

/* Elements of a feature map. */
static inline size_t iid__fmap_numel(const iid_fmap_t *f) { return (size_t)f->n * f->c * f->h * f->w; }

/* snprintf for tensor names (truncation is caught later as a missing tensor). */
void iid__namef(char *buf, size_t cap, const char *fmt, ...) IID_PRINTF_FMT(3, 4);

/* A small f32 parameter (bias, norm weight, learned latents) bound to be once at
 * load: load the tensor named by fmt/... with the given shape as an f32 array in
 * be's memory. On a host backend that is the malloc'd copy itself; a device
 * backend gets it uploaded (the host copy is freed). Release with iid__param_free
 * and the same backend. */
iid_status iid__param_load(const iid_backend_t *be, const iid_safetensors_t *st, float **out, int ndim,
                           const int64_t *shape, iid_error_t *err, const char *fmt, ...) IID_PRINTF_FMT(7, 8);
/* The same for a malloc'd host array of n floats already in *p (loaded by a model's
 * own reader): *p becomes be's form of it. On
 * failure the host copy is freed and *p is NULL. */
iid_status iid__param_bind(const iid_backend_t *be, float **p, size_t n, iid_error_t *err);
/* Release a parameter bound to be; NULL is a no-op. */
void iid__param_free(const iid_backend_t *be, float *p);

/* A weight matrix bound to the backend models load onto (iid__backend_default()):
 * m is the backend's form of the checkpoint tensor, made once at load by the
 * table's bind_weight (the host backends keep the mapped pages or, for an
 * unaligned or other-dtype F32 tensor, the f32 copy in owned; a device backend
 * would upload here and keep what to release in bound). */
typedef struct iid_weight {
    iid_wmat_t m;
    float *owned;
    const iid_backend_t *be;
    void *bound;
} iid_weight_t;

/* Bind the tensor named by fmt/... with the given shape (ndim >= 1) as a (shape[0],
 * rest) matrix in its stored dtype; see the top of this file. */
iid_status iid__weight_bind(const iid_safetensors_t *st, iid_weight_t *w, int ndim, const int64_t *shape,
                            iid_error_t *err, const char *fmt, ...) IID_PRINTF_FMT(6, 7);
void iid__weight_free(iid_weight_t *w);
/* Hand back what the backend made from w at its first use (the cpu backend's
 * prepared copy); the next use makes it again. NULL or unbound: a no-op. */
void iid__weight_trim(const iid_weight_t *w);

/* y = x W^T + b over rows: W (out, in), b (out) or NULL. */
typedef struct iid_linear_w {
    iid_weight_t w;
    float *b; /* bound to w.be */
    int in, out;
} iid_linear_w_t;

/* Binds "<prefix>.weight" (out, in) and, when with_bias, "<prefix>.bias" (out). */
iid_status iid__linear_load(iid_linear_w_t *l, const iid_safetensors_t *st, const char *prefix, int in, int out,
                            int with_bias, iid_error_t *err);
void iid__linear_free(iid_linear_w_t *l);
/* x (M, in) -> y (M, out); y is caller-allocated. Fails only when the scratch
 * for widening the weight cannot be allocated. */
iid_status iid__linear_apply(const iid_backend_t *be, const iid_linear_w_t *l, const float *x, int M, float *y,
                             iid_error_t *err);

/* A 2-D convolution with a square kernel, padding k/2 and a bias. */
typedef struct iid_conv {
    iid_weight_t w; /* (out, in * k * k) */
    float *b;       /* bound to w.be */
    int in, out, k, stride;
} iid_conv_t;

/* Binds "<prefix>.weight" (out, in, k, k) and "<prefix>.bias" (out). */
iid_status iid__conv_load(iid_conv_t *c, const iid_safetensors_t *st, const char *prefix, int in, int out, int k,
                          int stride, iid_error_t *err);
void iid__conv_free(iid_conv_t *c);
/* x (N, in, H, W) -> *y (N, out, OH, OW), allocated on be; OH/OW returned when non-NULL.
 * When the convolution's unfolded input would exceed IID_CONV_SCRATCH_LIMIT bytes
 * (large images: a 1024x1024 VAE layer unfolds to gigabytes) it runs in bands of
 * output rows, each with its own small unfold; the result is the same up to
 * float summation order. */
iid_status iid__conv_apply(const iid_backend_t *be, const iid_conv_t *c, const float *x, int N, int H, int W,
                           float **y, int *OH, int *OW, iid_error_t *err);
#define IID_CONV_SCRATCH_LIMIT ((size_t)256 << 20)
/* iid__conv_apply with an explicit scratch limit in bytes (tests use tiny ones). */
iid_status iid__conv_apply_limited(const iid_backend_t *be, const iid_conv_t *c, const float *x, int N, int H, int W,
                                   float **y, int *OH, int *OW, size_t scratch_limit, iid_error_t *err);

/* Affine parameters of a GroupNorm or LayerNorm over c channels. */
typedef struct iid_norm {
    float *w, *b;            /* (c) in be's memory */
    int c;
    const iid_backend_t *be; /* bound to at load */
} iid_norm_t;

/* Binds "<prefix>.weight" and "<prefix>.bias", both (c). */
iid_status iid__norm_load(iid_norm_t *n, const iid_safetensors_t *st, const char *prefix, int c, iid_error_t *err);
void iid__norm_free(iid_norm_t *n);

/* diffusers ResnetBlock2D:
 *   h = conv1(SiLU(norm1(x)));  h += time_emb_proj(SiLU(emb)) (when it has one);
 *   h = conv2(SiLU(norm2(h)));  out = shortcut(x) + h
 * shortcut is the 1x1 conv_shortcut when in != out, else identity. */
typedef struct iid_resnet {
    int in, out, groups;
    float eps;
    iid_norm_t norm1, norm2;
    iid_conv_t conv1, conv2, shortcut;
    int has_shortcut;
    iid_linear_w_t temb;
    int has_temb;
} iid_resnet_t;

/* temb_dim 0 means no time embedding (the VAE). groups from the config's
 * norm_num_groups; eps the block's GroupNorm epsilon. */
iid_status iid__resnet_load(iid_resnet_t *r, const iid_safetensors_t *st, const char *prefix, int in, int out,
                            int temb_dim, int groups, float eps, iid_error_t *err);
void iid__resnet_free(iid_resnet_t *r);
/* x (N, in, H, W) -> *y (N, out, H, W), allocated on be. temb_act (N, temb_dim) is
 * SiLU(emb), shared by every block of a forward; NULL when the block has none. */
iid_status iid__resnet_forward(const iid_backend_t *be, const iid_resnet_t *r, const float *x, const float *temb_act,
                               int N, int H, int W, float **y, iid_error_t *err);

/* Upload n host floats into a fresh buffer on be; NULL when out of memory. */
float *iid__upload_new(const iid_backend_t *be, const float *host, size_t n);

#endif
