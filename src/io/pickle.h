/*
 * pickle.h - a data-only pickle reader for torch state dicts.
 *
 * torch.save() (zip format, pickle protocol 2) writes a file `<root>/data.pkl`
 * describing a (nested) dict of tensors, and one zip entry `<root>/data/<key>` per
 * storage holding its raw little-endian bytes. This module reads data.pkl with a
 * small pickle virtual machine that only ever BUILDS DATA: it knows the opcodes
 * torch.save emits (protocol 2, plus FRAME/MEMOIZE/SHORT_BINUNICODE of protocol 4),
 * and a whitelist of globals it interprets itself:
 *
 *   collections.OrderedDict            OrderedDict() -> an empty dict
 *   torch._utils._rebuild_tensor_v2    (storage, offset, size, stride,
 *                                       requires_grad, hooks[, metadata]) -> tensor
 *   torch._utils._rebuild_parameter    (tensor, requires_grad, hooks) -> tensor
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Byte,Bool}Storage
 *                                      only as the type inside a persistent id
 *
 * BINPERSID turns ('storage', <StorageType>, key, location, numel) into a storage
 * reference; nothing is looked up in any zip here. BUILD is accepted on a dict
 * (its state, such as a state dict's `_metadata`, is attribute data and dropped)
 * and on a tensor whose state is None or empty. Every other opcode and every other
 * global ("os system", "builtins eval", ...) is refused with a one-line message
 * naming the label, the byte offset and the opcode or global. Nothing is ever
 * called, imported or executed.
 *
 * Bounds (all refusals, never truncations): input size, stack depth, mark depth,
 * memo index, number of objects, string length (also never past the input's end),
 * container nesting depth, and the length of a flattened name.
 *
 * The result is flattened: {"image_proj": {"latents": T}} becomes one tensor record
 * named "image_proj.latents". Every leaf must be a tensor and every inner node a
 * dict with string keys free of control characters (so names print on one line);
 * a dict reached twice (shared or cyclic) is refused.
 */
#ifndef IID_IO_PICKLE_H
#define IID_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* Largest data.pkl accepted. */
#define IID_PK_MAX_INPUT ((size_t)256 << 20)

/* One tensor of a state dict as the pickle describes it; no data yet. */
typedef struct iid_pk_tensor {
    char *name;            /* flattened with '.', e.g. "image_proj.latents" */
    char *key;             /* storage key: the zip entry is <root>/data/<key>;
                              only [A-Za-z0-9_], 1..64 characters */
    iid_dtype_t dtype;     /* from the storage type */
    int64_t storage_numel; /* elements in the storage, from the persistent id */
    int64_t offset;        /* first element of the view inside the storage */
    int ndim;
    int64_t shape[IID_MAX_DIMS];  /* each in [0, 2^40], product without overflow */
    int64_t stride[IID_MAX_DIMS]; /* in elements, each in [0, 2^40] */
} iid_pk_tensor_t;

/* Run the pickle in buf[0..size) and flatten its root dict into *out (malloc'd,
 * *count records, in the pickle's order). label names the input in every error
 * (e.g. "model.bin:archive/data.pkl"). Fails with IID_ERR_UNSUPPORTED for a refused
 * opcode or global, IID_ERR_RANGE for a bound exceeded, IID_ERR_FORMAT for
 * anything malformed; on failure *out is NULL and *count 0. Free the result with
 * iid__pk_tensors_free(). */
iid_status iid__pickle_state_dict(const void *buf, size_t size, const char *label, iid_pk_tensor_t **out,
                                  int *count, iid_error_t *err);

/* Free records from iid__pickle_state_dict(); NULL is a no-op. */
void iid__pk_tensors_free(iid_pk_tensor_t *t, int count);

#endif
