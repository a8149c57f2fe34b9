/*
 * safetensors.h - memory-mapped safetensors files.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON mapping tensor
 * names to {dtype, shape, data_offsets:[begin,end]} (plus an optional
 * "__metadata__" object of strings), then the raw little-endian C-order data.
 *
 * Opening builds an index (name, dtype, shape, pointer into the map) after
 * checking, before any length is trusted: the header length against the file size,
 * every offset pair inside the data section, byte counts against dtype x shape, and
 * that no two tensors overlap. Tensor data is not copied; pointers stay valid until
 * iid__st_close(). Data pointers may be unaligned: read them with memcpy-based
 * helpers such as iid__st_read_f32().
 *
 * The same index type describes torch zip checkpoints (io/torch_zip.h); their
 * tensors point into malloc'd buffers listed in `owned`, which iid__st_close()
 * frees as well.
 */
#ifndef IID_IO_SAFETENSORS_H
#define IID_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/tensor.h"
#include "io/file.h"

typedef struct iid_st_tensor {
    char *name;
    iid_dtype_t dtype;
    int ndim;
    int64_t shape[IID_MAX_DIMS];
    const void *data; /* inside the mapped file */
    size_t nbytes;
    int used; /* set by iid__st_find: a model looked it up */
} iid_st_tensor_t;

typedef struct iid_st_meta {
    char *key;
    char *value;
} iid_st_meta_t;

/* Which file format an index was read from. */
typedef enum { IID_WEIGHTS_SAFETENSORS = 0, IID_WEIGHTS_TORCH_ZIP } iid_weights_format_t;

typedef struct iid_safetensors {
    char *path;
    iid_weights_format_t format;
    iid_mapped_file_t map; /* empty when parsed from a caller's buffer */
    int count;
    iid_st_tensor_t *tensors; /* sorted by name */
    int meta_count;
    iid_st_meta_t *meta;
    void **owned; /* malloc'd buffers the tensors point into (torch zip storages) */
    int owned_count;
} iid_safetensors_t;

/* Map and index a file. On failure *st is left closed and err names the path. */
iid_status iid__st_open(iid_safetensors_t *st, const char *path, iid_error_t *err);
/* Index a buffer the caller keeps alive (used by fuzzing and tests); label names
 * it in errors. */
iid_status iid__st_parse(iid_safetensors_t *st, const void *buf, size_t size, const char *label,
                         iid_error_t *err);
void iid__st_close(iid_safetensors_t *st);
/* Whether [p, p + n) lies in the file's read-only mapping (not in a buffer of
 * `owned`, nor in a caller's buffer): such pages can be dropped and read again. */
int iid__st_in_map(const iid_safetensors_t *st, const void *p, size_t n);
/* Drop the mapping's resident pages from the process (the mapping is read-only,
 * so nothing is lost): they stay in the page cache, and whatever is read again
 * comes back from there. _range: the whole pages of [p, p + n), if it lies in
 * the mapping (a tensor just copied); _pages: all of it (a model that sits idle
 * a while; st may be NULL). */
void iid__st_release_range(const iid_safetensors_t *st, const void *p, size_t n);
void iid__st_release_pages(const iid_safetensors_t *st);
/* Sort st->tensors by name and fail (naming label and the tensor) when a name
 * appears twice; used by every builder of an index. */
iid_status iid__st_sort_names(iid_safetensors_t *st, const char *label, iid_error_t *err);

/* Tensor by exact name, or NULL. Marks the tensor used (the index records which
 * tensors models bound, for iid__st_warn_unused). */
const iid_st_tensor_t *iid__st_find(const iid_safetensors_t *st, const char *name);
/* Metadata value by key, or NULL. */
const char *iid__st_meta(const iid_safetensors_t *st, const char *key);

/* Copy a float-typed tensor into dst as f32 (dst holds numel floats). */
iid_status iid__st_read_f32(const iid_st_tensor_t *t, float *dst, iid_error_t *err);
/* Look up `name` and check its shape equals `shape` (ndim entries); *out points
 * into the index. Errors name the file and the tensor. */
iid_status iid__st_find_shaped(const iid_safetensors_t *st, const char *name, int ndim, const int64_t *shape,
                               const iid_st_tensor_t **out, iid_error_t *err);
/* Look up `name`, check its shape equals `shape` (ndim entries), and return a
 * malloc'd f32 copy in *out. Errors name the file and the tensor. */
iid_status iid__st_load_f32(const iid_safetensors_t *st, const char *name, int ndim, const int64_t *shape,
                            float **out, iid_error_t *err);
int64_t iid__st_numel(const iid_st_tensor_t *t);

/* After a model bound its weights: one warning line (through lg; NULL means
 * stderr) naming the file, how many of its tensors no lookup used, and the first
 * few names, as diffusers warns of unexpected keys. Names starting with one of
 * the NULL-terminated ignore prefixes (parts the model knowingly skips) do not
 * count. Returns the number counted. */
int iid__st_warn_unused(const iid_safetensors_t *st, const char *const *ignore, const iid_logger_t *lg);

#endif
