/*
 * backend.c - the registry of compiled-in backends and the device tensor type.
 *
 * The registry is a const list in preference order: the first entry is the
 * default unless $IID_BACKEND names another. A CUDA build would put its backend
 * first (when a device answers).
 */
#include "ops/backend.h"

#include <stdlib.h>
#include <string.h>

static const iid_backend_t *const registry[] = {&iid__backend_cpu, &iid__backend_ref};
#define N_BACKENDS (int)(sizeof registry / sizeof registry[0])

const iid_backend_t *iid__backend_at(int i) { return i >= 0 && i < N_BACKENDS ? registry[i] : NULL; }

const iid_backend_t *iid__backend_find(const char *name)
{
    for (int i = 0; name && i < N_BACKENDS; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const iid_backend_t *iid__backend_preferred(void) { return registry[0]; }

const iid_backend_t *iid__backend_default(void)
{
    const iid_backend_t *b = iid__backend_find(getenv(IID_BACKEND_ENV));
    return b ? b : registry[0];
}

iid_status iid__backend_lookup(const char *name, const iid_backend_t **out, iid_error_t *err)
{
    *out = iid__backend_find(name);
    if (*out) return IID_OK;
    char names[256] = "";
    for (int i = 0; i < N_BACKENDS; i++) {
        if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, registry[i]->name, sizeof names - strlen(names) - 1);
    }
    return iid__fail(err, IID_ERR_INVALID, "unknown backend '%s' (compiled in: %s)", name ? name : "", names);
}

/* ---- iid_buf_t ---- */

int64_t iid__buf_numel(const iid_buf_t *b) { return iid__shape_numel(b->shape, b->ndim); }

size_t iid__buf_nbytes(const iid_buf_t *b) { return (size_t)iid__buf_numel(b) * iid__dtype_size(b->dtype); }

iid_status iid__buf_alloc(iid_buf_t *b, const iid_backend_t *be, iid_dtype_t dt, int ndim, const int64_t *shape,
                          iid_error_t *err)
{
    memset(b, 0, sizeof *b);
    if (ndim < 0 || ndim > IID_MAX_DIMS) return iid__fail(err, IID_ERR_RANGE, "buffer of %d dimensions", ndim);
    b->be = be;
    b->dtype = dt;
    b->ndim = ndim;
    for (int i = 0; i < ndim; i++) b->shape[i] = shape[i];
    b->data = iid__op_alloc(be, iid__buf_nbytes(b));
    if (!b->data) {
        char s[96];
        iid__shape_str(shape, ndim, s, sizeof s);
        memset(b, 0, sizeof *b);
        return iid__fail(err, IID_ERR_NOMEM, "%s backend: out of memory for a %s buffer", be->name, s);
    }
    return IID_OK;
}

void iid__buf_free(iid_buf_t *b)
{
    if (!b) return;
    if (b->be) iid__op_free(b->be, b->data);
    memset(b, 0, sizeof *b);
}

void iid__buf_upload(iid_buf_t *b, const void *host) { iid__op_upload(b->be, b->data, host, iid__buf_nbytes(b)); }

iid_status iid__buf_download(const iid_buf_t *b, void *host, iid_error_t *err)
{
    return iid__op_download(b->be, host, b->data, iid__buf_nbytes(b), err);
}
