/*
 * dnnl_weight.h - a weight matrix prepared for oneDNN: the cpu backend's
 * bind_weight makes one per weight (cpu_backend.c), and its matmul and
 * convolution entries run through it.
 *
 * The first product that uses a weight decides its layout: oneDNN is asked for
 * a primitive with the weight's format left open ("any", in the compute dtype),
 * the weight is reordered once into the format it picks (blocked for its
 * brgemm / JIT kernels; bf16 or f32), and the plain view's pages are handed back
 * to the kernel (madvise PAGEOUT: clean pages of a mapped checkpoint simply
 * leave RAM, so the prepared copy replaces the file's footprint rather than
 * adding to it). Preparation waits for that first product because a
 * convolution's geometry (kernel size, groups) is not in the (K, C*R*S) matrix
 * bind_weight sees. Later products of other shapes (M rows, image sizes) reuse
 * the prepared weight with primitives cached per shape in the handle (a few
 * entries, the oldest replaced).
 *
 * Each handle owns its oneDNN engine and stream (CPU engines are small), so the
 * backend keeps no process-wide state; a mutex makes one handle safe to use
 * from several threads. A weight used in a way it was not prepared for (a
 * matmul weight in a convolution), or one oneDNN cannot run, is computed by the
 * plain path from the view (iid__dnnl_*() return 1 and the caller runs it).
 */
#ifndef IID_OPS_CPU_DNNL_WEIGHT_H
#define IID_OPS_CPU_DNNL_WEIGHT_H

#include "core/tensor.h"
#include "ops/ops.h"

typedef struct iid_dnnl_weight iid_dnnl_weight_t;

/* A handle for host (a view that must outlive it) computing in dtype (F32 or
 * BF16). Returns NULL when out of memory or when oneDNN cannot make an engine. */
iid_dnnl_weight_t *iid__dnnl_weight_new(const iid_wmat_t *host, iid_dtype_t dtype);
void iid__dnnl_weight_free(iid_dnnl_weight_t *w);

/* Hand back the prepared copy (the primitives stay cached) and the view's
 * resident pages: the next product prepares it again, in the same layout, from
 * the view. For weights used rarely and briefly, such as the text encoders'
 * (once per new prompt). */
void iid__dnnl_weight_trim(iid_dnnl_weight_t *w);

/* What the handle holds, for tests and --perf: kind 0 not prepared, 1 matmul,
 * 2 convolution; the prepared bytes (0 while trimmed); the name of the last
 * primitive used. */
typedef struct iid_dnnl_weight_info {
    int kind;
    iid_dtype_t dtype;
    size_t bytes;
    const char *impl;
} iid_dnnl_weight_info_t;
iid_dnnl_weight_info_t iid__dnnl_weight_info(const iid_dnnl_weight_t *w);

/* C (M, rows) = A (M, cols) W^T [+ b (rows)] [+ C when accumulate].
 * 0 done, -1 out of memory, 1 not run here (use the plain path). */
int iid__dnnl_matmul(iid_dnnl_weight_t *w, float *C, const float *A, int M, const float *b, int accumulate,
                     const iid_scratch_t *sc);
/* out (N, K, OH, OW) = conv(in, W) [+ b]; W is (K, C/groups * R * S). Same
 * returns. A convolution whose input and output pass IID_DNNL_BAND_BYTES together
 * runs in bands of output rows (iid__dnnl_conv2d_banded), so its scratch stays
 * near that size. */
#define IID_DNNL_BAND_BYTES ((size_t)128 << 20)
int iid__dnnl_conv2d(iid_dnnl_weight_t *w, float *out, const float *in, const float *b, const iid_conv2d_shape_t *s,
                     const iid_scratch_t *sc);
/* The same in bands of input + output no larger than about band_bytes (0: one band). */
int iid__dnnl_conv2d_banded(iid_dnnl_weight_t *w, float *out, const float *in, const float *b,
                            const iid_conv2d_shape_t *s, size_t band_bytes, const iid_scratch_t *sc);

#endif
