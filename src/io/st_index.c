/* st_index.c - appending views and owned buffers to a weight index (see st_index.h). */
#include "io/st_index.h"

#include <stdlib.h>
#include <string.h>

iid_status iid__st_append(iid_safetensors_t *st, const char *name, iid_dtype_t dt, int ndim, const int64_t *shape,
                          const void *data, iid_error_t *err)
{
    if (ndim < 0 || ndim > IID_MAX_DIMS)
        return iid__fail(err, IID_ERR_RANGE, "%s: tensor '%s' has %d dimensions", st->path ? st->path : "index", name,
                         ndim);
    iid_st_tensor_t *t = realloc(st->tensors, (size_t)(st->count + 1) * sizeof *t);
    if (!t) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path ? st->path : "index");
    st->tensors = t;
    iid_st_tensor_t *e = &t[st->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path ? st->path : "index");
    e->dtype = dt;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = (size_t)iid__shape_numel(shape, ndim) * iid__dtype_size(dt);
    st->count++;
    return IID_OK;
}

iid_status iid__st_adopt(iid_safetensors_t *st, void *buf, iid_error_t *err)
{
    void **o = realloc(st->owned, (size_t)(st->owned_count + 1) * sizeof *o);
    if (!o) {
        free(buf);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path ? st->path : "index");
    }
    st->owned = o;
    o[st->owned_count++] = buf;
    return IID_OK;
}

void iid__st_take_map(iid_safetensors_t *dst, iid_safetensors_t *src)
{
    dst->map = src->map;
    memset(&src->map, 0, sizeof src->map);
    dst->format = src->format;
    if (!dst->path) {
        dst->path = src->path;
        src->path = NULL;
    }
}

iid_status iid__st_set_path(iid_safetensors_t *st, const char *path, iid_error_t *err)
{
    char *p = strdup(path);
    if (!p) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    free(st->path);
    st->path = p;
    return IID_OK;
}
