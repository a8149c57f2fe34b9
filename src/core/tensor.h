/*
 * tensor.h - dense tensors: dtype, shape, and a data pointer owned or borrowed,
 * in host memory or in a compute backend's memory. The project's one tensor type:
 * the ONNX executor's values, the models' activations and what the pipeline
 * hands between them.
 *
 * Data is C-order (row-major), little-endian. A tensor either owns its buffer
 * or views memory owned elsewhere, such as a memory-mapped weight file or a
 * sub-batch of another tensor (owns == 0). Where the data lives is `be`:
 *   - be == NULL: ordinary host memory. iid__tensor_alloc (calloc) and
 *     iid__tensor_free here; the ONNX executor works on these.
 *   - be != NULL: memory of that backend (ops/backend.h), a DEVICE pointer that
 *     only the backend's ops read or write (on the host backends it happens to
 *     be host memory). Allocated with iid__tensor_alloc_on and released with
 *     iid__tensor_release (ops/backend.h), because freeing goes through the
 *     backend (a step allocator hands out planned memory).
 * Shapes are written in comments as `// (B, C, H, W)`.
 */
#ifndef IID_CORE_TENSOR_H
#define IID_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define IID_MAX_DIMS 8

typedef enum iid_dtype {
    IID_DTYPE_F32 = 0,
    IID_DTYPE_F16,
    IID_DTYPE_BF16,
    IID_DTYPE_F64,
    IID_DTYPE_I64,
    IID_DTYPE_I32,
    IID_DTYPE_U8,
    IID_DTYPE_BOOL,
    IID_DTYPE_COUNT
} iid_dtype_t;

struct iid_backend;

typedef struct iid_tensor {
    iid_dtype_t dtype;
    int ndim;
    int64_t shape[IID_MAX_DIMS];
    void *data;
    bool owns;
    const struct iid_backend *be; /* NULL: host memory; else that backend's memory */
} iid_tensor_t;

/* Size of one element in bytes. */
size_t iid__dtype_size(iid_dtype_t dt);
/* Short name: "F32", "F16", "BF16", ... as safetensors spells them. */
const char *iid__dtype_name(iid_dtype_t dt);
/* Parse a safetensors dtype name; false when unknown. */
bool iid__dtype_parse(const char *name, iid_dtype_t *out);

/* Number of elements (1 for ndim == 0). */
int64_t iid__shape_numel(const int64_t *shape, int ndim);
int64_t iid__tensor_numel(const iid_tensor_t *t);
size_t iid__tensor_nbytes(const iid_tensor_t *t);
/* "[2, 4, 8, 8]" into buf; returns buf. */
const char *iid__shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

/* Allocate a zeroed host tensor (be NULL) that owns its data. */
iid_status iid__tensor_alloc(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape,
                             iid_error_t *err);
/* A non-owning view of existing host memory (be NULL; set t->be for backend memory). */
void iid__tensor_view(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape, void *data);
/* A non-owning f32 view of data in be's memory (NULL: host memory). The view of
 * const data is for inputs a callee only reads (the models' input structs). */
iid_tensor_t iid__tensor_wrap(const struct iid_backend *be, const void *data, int ndim, const int64_t *shape);
/* The view of items [i0, i0 + n) along axis 0, in the same memory (no copy). */
iid_tensor_t iid__tensor_slice(const iid_tensor_t *t, int64_t i0, int64_t n);
/* The data as f32 (the activations' dtype), for offsets and the ops' pointers. */
static inline float *iid__tensor_f32(const iid_tensor_t *t) { return (float *)t->data; }
/* Dimension i as an int (the ops take int sizes). */
static inline int iid__tensor_dim(const iid_tensor_t *t, int i) { return (int)t->shape[i]; }

/* Free owned host data and reset; safe on NULL and on views. A tensor owning
 * backend memory goes to iid__tensor_release (ops/backend.h) instead. */
void iid__tensor_free(iid_tensor_t *t);

/* Convert n elements of any float or integer dtype (possibly unaligned) to f32. */
iid_status iid__convert_to_f32(float *dst, const void *src, iid_dtype_t dt, size_t n, iid_error_t *err);
/* Convert n floats to a float dtype (F32, F16, BF16) with round-to-nearest-even. */
iid_status iid__convert_from_f32(void *dst, iid_dtype_t dt, const float *src, size_t n, iid_error_t *err);

#endif
