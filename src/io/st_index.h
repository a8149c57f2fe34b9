/*
 * st_index.h - building weight indexes (io/safetensors.h) out of other ones.
 *
 * The name mapping of single-file checkpoints (formats/sgm_names.h) and the LoRA
 * fusion (formats/lora_fuse.h) produce indexes whose entries either VIEW the data
 * of an existing mapping (a renamed tensor, a row slice, a reshape) or point into
 * buffers the index owns (a transposed copy, a fused weight). An index that takes
 * over the mapping of the file it was built from (iid__st_take_map) keeps its
 * views valid for its own lifetime, so the models that bind it need nothing else
 * kept open. Call iid__st_sort_names() when done appending.
 */
#ifndef IID_IO_ST_INDEX_H
#define IID_IO_ST_INDEX_H

#include "io/safetensors.h"

/* Append an entry named `name` that views `data` (ndim 0..IID_MAX_DIMS). */
iid_status iid__st_append(iid_safetensors_t *st, const char *name, iid_dtype_t dt, int ndim, const int64_t *shape,
                          const void *data, iid_error_t *err);
/* The index owns buf from now on (freed by iid__st_close); on failure buf is freed. */
iid_status iid__st_adopt(iid_safetensors_t *st, void *buf, iid_error_t *err);
/* Move src's mapping (and its path when dst has none) into dst; src keeps its
 * entries, which now view dst's mapping: close src before dst. */
void iid__st_take_map(iid_safetensors_t *dst, iid_safetensors_t *src);
/* Set the label errors name (a copy). */
iid_status iid__st_set_path(iid_safetensors_t *st, const char *path, iid_error_t *err);

#endif
