/*
 * backend.c - the registry of compiled-in backends and tensors in backend memory.
 *
 * The registry is a const list in preference order: the first available entry
 * is the default unless $IID_BACKEND names another. A CUDA build lists "cuda"
 * first; it counts only when its device answers (its available() entry), so the
 * same binary runs on the CPU of a machine without a GPU.
 */
#include "ops/backend.h"

#include <stdlib.h>
#include <string.h>

static const iid_backend_t *const registry[] = {
#ifdef IID_CUDA
    &iid__backend_cuda,
#endif
    &iid__backend_cpu, &iid__backend_ref};
#define N_BACKENDS (int)(sizeof registry / sizeof registry[0])

/* Backends a build may lack, and the CMake option that adds each. */
static const struct {
    const char *name, *option;
} optional[] = {{"cuda", "IID_CUDA"}};

static int usable(const iid_backend_t *b, char *why, size_t cap)
{
    return !b->i->available || b->i->available(b, why, cap);
}

const iid_backend_t *iid__backend_at(int i)
{
    for (int k = 0; k < N_BACKENDS; k++)
        if (usable(registry[k], NULL, 0) && i-- == 0) return registry[k];
    return NULL;
}

const iid_backend_t *iid__backend_find(const char *name)
{
    for (int i = 0; name && i < N_BACKENDS; i++)
        if (strcmp(registry[i]->name, name) == 0) return usable(registry[i], NULL, 0) ? registry[i] : NULL;
    return NULL;
}

const iid_backend_t *iid__backend_preferred(void) { return iid__backend_at(0); }

const iid_backend_t *iid__backend_default(void)
{
    const iid_backend_t *b = iid__backend_find(getenv(IID_BACKEND_ENV));
    return b ? b : iid__backend_at(0);
}

iid_status iid__backend_lookup(const char *name, const iid_backend_t **out, iid_error_t *err)
{
    *out = iid__backend_find(name);
    if (*out) return IID_OK;
    for (int i = 0; name && i < N_BACKENDS; i++) {
        char why[256] = "";
        if (strcmp(registry[i]->name, name) == 0 && !usable(registry[i], why, sizeof why))
            return iid__fail(err, IID_ERR_UNSUPPORTED, "backend '%s' cannot run here: %s", name, why);
    }
    for (size_t i = 0; name && i < sizeof optional / sizeof optional[0]; i++)
        if (strcmp(optional[i].name, name) == 0)
            return iid__fail(err, IID_ERR_UNSUPPORTED, "backend '%s' is not compiled in (configure with -D%s=ON)",
                             name, optional[i].option);
    char names[256] = "";
    for (int i = 0; i < N_BACKENDS; i++) {
        if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, registry[i]->name, sizeof names - strlen(names) - 1);
    }
    return iid__fail(err, IID_ERR_INVALID, "unknown backend '%s' (compiled in: %s)", name ? name : "", names);
}

/* ---- tensors in backend memory ---- */

iid_status iid__tensor_alloc_on(iid_tensor_t *t, const iid_backend_t *be, iid_dtype_t dt, int ndim,
                                const int64_t *shape, iid_error_t *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > IID_MAX_DIMS) return iid__fail(err, IID_ERR_RANGE, "tensor of %d dimensions", ndim);
    t->be = be;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = iid__op_alloc(be, iid__tensor_nbytes(t));
    if (!t->data) {
        char s[96];
        iid__shape_str(shape, ndim, s, sizeof s);
        memset(t, 0, sizeof *t);
        return iid__fail(err, IID_ERR_NOMEM, "%s backend: out of memory for a %s tensor", be->name, s);
    }
    t->owns = true;
    return IID_OK;
}

void iid__tensor_release(iid_tensor_t *t)
{
    if (!t) return;
    if (t->owns && t->be) iid__op_free(t->be, t->data);
    else if (t->owns) free(t->data);
    memset(t, 0, sizeof *t);
}

void iid__tensor_upload(iid_tensor_t *t, const void *host)
{
    iid__op_upload(t->be, t->data, host, iid__tensor_nbytes(t));
}

iid_status iid__tensor_download(const iid_tensor_t *t, void *host, iid_error_t *err)
{
    return iid__op_download(t->be, host, t->data, iid__tensor_nbytes(t), err);
}
