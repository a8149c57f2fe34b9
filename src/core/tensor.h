/*
 * tensor.h - dense tensors: dtype, shape, and a data pointer owned or borrowed.
 *
 * Data is C-order (row-major), little-endian. A tensor either owns its buffer
 * (iid__tensor_alloc, freed by iid__tensor_free) or views memory owned elsewhere,
 * such as a memory-mapped weight file (owns == 0). Shapes are written in comments
 * as `// (B, C, H, W)`.
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

typedef struct iid_tensor {
    iid_dtype_t dtype;
    int ndim;
    int64_t shape[IID_MAX_DIMS];
    void *data;
    bool owns;
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

/* Allocate a zeroed tensor that owns its data. */
iid_status iid__tensor_alloc(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape,
                             iid_error_t *err);
/* A non-owning view of existing memory. */
void iid__tensor_view(iid_tensor_t *t, iid_dtype_t dt, int ndim, const int64_t *shape, void *data);
/* Free owned data and reset; safe on NULL and on views. */
void iid__tensor_free(iid_tensor_t *t);

/* Convert n elements of any float or integer dtype (possibly unaligned) to f32. */
iid_status iid__convert_to_f32(float *dst, const void *src, iid_dtype_t dt, size_t n, iid_error_t *err);
/* Convert n floats to a float dtype (F32, F16, BF16) with round-to-nearest-even. */
iid_status iid__convert_from_f32(void *dst, iid_dtype_t dt, const float *src, size_t n, iid_error_t *err);

#endif
