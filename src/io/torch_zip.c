/* torch_zip.c - torch.save() zip archives into an iid_safetensors_t index (see torch_zip.h). */
#include "io/torch_zip.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "io/pickle.h"

#define TZ_MAX_ROOT 256
/* Deflate cannot expand more than about 1032:1; a larger claim is a lie. */
#define TZ_MAX_RATIO 1100

typedef struct tz_ctx {
    zip_t *za;
    const char *label;
    size_t file_size;
    char root[TZ_MAX_ROOT + 1];
    iid_error_t *err;
} tz_ctx_t;

static bool is_zip(const void *buf, size_t size) { return size >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0; }

/* Stat an entry and bound its sizes before anything is read. */
static iid_status entry_stat(tz_ctx_t *z, zip_uint64_t idx, const char *name, zip_stat_t *st)
{
    zip_stat_init(st);
    const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if (zip_stat_index(z->za, idx, ZIP_FL_ENC_RAW, st) != 0 || (st->valid & need) != need)
        return iid__fail(z->err, IID_ERR_FORMAT, "%s: entry '%s': cannot read its sizes: %s", z->label, name,
                         zip_strerror(z->za));
    if (st->comp_size > z->file_size)
        return iid__fail(z->err, IID_ERR_RANGE, "%s: entry '%s': compressed size %llu exceeds the archive's %zu bytes",
                         z->label, name, (unsigned long long)st->comp_size, z->file_size);
    bool ok = st->comp_method == ZIP_CM_STORE ? st->size == st->comp_size : st->size / TZ_MAX_RATIO <= st->comp_size;
    if (!ok)
        return iid__fail(z->err, IID_ERR_FORMAT, "%s: entry '%s': size %llu does not fit its stored size %llu",
                         z->label, name, (unsigned long long)st->size, (unsigned long long)st->comp_size);
    return IID_OK;
}

/* Read a whole entry into a malloc'd buffer; libzip checks the CRC at its end. */
static iid_status entry_read(tz_ctx_t *z, zip_uint64_t idx, const char *name, const zip_stat_t *st, void **out)
{
    size_t n = (size_t)st->size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return iid__fail(z->err, IID_ERR_NOMEM, "%s: entry '%s': cannot allocate %zu bytes", z->label, name, n);
    zip_file_t *f = zip_fopen_index(z->za, idx, 0);
    if (!f) {
        free(buf);
        return iid__fail(z->err, IID_ERR_FORMAT, "%s: entry '%s': cannot open: %s", z->label, name,
                         zip_strerror(z->za));
    }
    size_t got = 0;
    zip_int64_t r = 1;
    while (got < n && r > 0) {
        r = zip_fread(f, buf + got, n - got);
        if (r > 0) got += (size_t)r;
    }
    unsigned char extra;
    if (r >= 0 && got == n) r = zip_fread(f, &extra, 1); /* reaches EOF: the CRC check */
    iid_status s = IID_OK;
    if (r < 0)
        s = iid__fail(z->err, IID_ERR_FORMAT, "%s: entry '%s': %s", z->label, name, zip_file_strerror(f));
    else if (got != n || r != 0)
        s = iid__fail(z->err, IID_ERR_FORMAT, "%s: entry '%s': holds other than its declared %zu bytes", z->label,
                      name, n);
    zip_fclose(f);
    if (s != IID_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return IID_OK;
}

/* The single "<root>/data.pkl" entry fixes the root folder name. */
static iid_status find_root(tz_ctx_t *z, zip_uint64_t *pkl)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    bool found = false;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t len = name ? strlen(name) : 0;
        if (len <= 9 || memcmp(name + len - 9, "/data.pkl", 9) != 0 || memchr(name, '/', len - 9)) continue;
        if (found) return iid__fail(z->err, IID_ERR_FORMAT, "%s: several '<root>/data.pkl' entries", z->label);
        if (len - 9 > TZ_MAX_ROOT)
            return iid__fail(z->err, IID_ERR_RANGE, "%s: archive root folder name longer than %d bytes", z->label,
                             TZ_MAX_ROOT);
        for (size_t k = 0; k < len - 9; k++)
            if (name[k] < 0x20 || name[k] >= 0x7f)
                return iid__fail(z->err, IID_ERR_FORMAT, "%s: archive root folder name is not printable ASCII",
                                 z->label);
        memcpy(z->root, name, len - 9);
        z->root[len - 9] = '\0';
        *pkl = (zip_uint64_t)i;
        found = true;
    }
    if (!found)
        return iid__fail(z->err, IID_ERR_FORMAT, "%s: no '<root>/data.pkl' entry: not a torch.save() archive",
                         z->label);
    return IID_OK;
}

/* torch >= 1.13 records the byte order; only little-endian data is read. */
static iid_status check_byteorder(tz_ctx_t *z)
{
    char name[TZ_MAX_ROOT + 16];
    snprintf(name, sizeof name, "%s/byteorder", z->root);
    zip_int64_t idx = zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
    if (idx < 0) return IID_OK;
    zip_stat_t st;
    IID_TRY(entry_stat(z, (zip_uint64_t)idx, name, &st));
    if (st.size != 6) return iid__fail(z->err, IID_ERR_UNSUPPORTED, "%s: '%s' is not \"little\"", z->label, name);
    void *buf = NULL;
    IID_TRY(entry_read(z, (zip_uint64_t)idx, name, &st, &buf));
    bool little = memcmp(buf, "little", 6) == 0;
    free(buf);
    if (!little) return iid__fail(z->err, IID_ERR_UNSUPPORTED, "%s: '%s' is not \"little\"", z->label, name);
    return IID_OK;
}

/* Run data.pkl into tensor records. */
static iid_status read_pickle(tz_ctx_t *z, zip_uint64_t idx, iid_pk_tensor_t **recs, int *count)
{
    char name[TZ_MAX_ROOT + 16];
    snprintf(name, sizeof name, "%s/data.pkl", z->root);
    zip_stat_t st;
    IID_TRY(entry_stat(z, idx, name, &st));
    if (st.size > IID_PK_MAX_INPUT)
        return iid__fail(z->err, IID_ERR_RANGE, "%s: entry '%s': %llu bytes exceeds the limit of %zu", z->label, name,
                         (unsigned long long)st.size, IID_PK_MAX_INPUT);
    void *pkl = NULL;
    IID_TRY(entry_read(z, idx, name, &st, &pkl));
    size_t llen = strlen(z->label) + strlen(name) + 2;
    char *label = malloc(llen);
    if (!label) {
        free(pkl);
        return iid__fail(z->err, IID_ERR_NOMEM, "%s: out of memory", z->label);
    }
    snprintf(label, llen, "%s:%s", z->label, name);
    iid_status s = iid__pickle_state_dict(pkl, (size_t)st.size, label, recs, count, z->err);
    free(label);
    free(pkl);
    return s;
}

static bool contiguous(const iid_pk_tensor_t *r)
{
    int64_t expect = 1;
    for (int d = r->ndim - 1; d >= 0; d--) {
        if (r->shape[d] != 1 && r->stride[d] != expect) return false;
        expect *= r->shape[d];
    }
    return true;
}

/* Check one record against its storage entry and point t at its bytes; the entry
 * is read on first use and cached in by_entry[]. Takes r->name. */
static iid_status bind_tensor(tz_ctx_t *z, iid_pk_tensor_t *r, void **by_entry, iid_safetensors_t *out,
                              iid_st_tensor_t *t)
{
    char entry[TZ_MAX_ROOT + 80];
    snprintf(entry, sizeof entry, "%s/data/%s", z->root, r->key);
    int64_t numel = iid__shape_numel(r->shape, r->ndim);
    if (numel && !contiguous(r)) {
        char sh[128], sd[128];
        return iid__fail(z->err, IID_ERR_UNSUPPORTED,
                         "%s: tensor '%s': strides %s for shape %s are not contiguous (C-order): unsupported",
                         z->label, r->name, iid__shape_str(r->stride, r->ndim, sd, sizeof sd),
                         iid__shape_str(r->shape, r->ndim, sh, sizeof sh));
    }
    zip_int64_t idx = zip_name_locate(z->za, entry, ZIP_FL_ENC_RAW);
    if (idx < 0)
        return iid__fail(z->err, IID_ERR_NOT_FOUND, "%s: tensor '%s': storage entry '%s' is missing", z->label,
                         r->name, entry);
    size_t es = iid__dtype_size(r->dtype);
    uint64_t end = numel ? (uint64_t)r->offset + (uint64_t)numel : 0; /* both <= 2^62 */
    if (end > (uint64_t)r->storage_numel)
        return iid__fail(z->err, IID_ERR_FORMAT, "%s: tensor '%s': elements [%lld, %llu) exceed its storage of %lld",
                         z->label, r->name, (long long)r->offset, (unsigned long long)end, (long long)r->storage_numel);
    zip_stat_t st;
    IID_TRY(entry_stat(z, (zip_uint64_t)idx, entry, &st));
    if (end > st.size / es)
        return iid__fail(z->err, IID_ERR_FORMAT,
                         "%s: tensor '%s': storage entry '%s' has %llu bytes, too few for %llu %s elements", z->label,
                         r->name, entry, (unsigned long long)st.size, (unsigned long long)end,
                         iid__dtype_name(r->dtype));
    if (!by_entry[idx]) {
        IID_TRY(entry_read(z, (zip_uint64_t)idx, entry, &st, &by_entry[idx]));
        out->owned[out->owned_count++] = by_entry[idx];
    }
    t->name = r->name;
    r->name = NULL;
    t->dtype = r->dtype;
    t->ndim = r->ndim;
    memcpy(t->shape, r->shape, sizeof t->shape);
    t->data = (const unsigned char *)by_entry[idx] + (numel ? (size_t)r->offset * es : 0);
    t->nbytes = (size_t)numel * es;
    return IID_OK;
}

static iid_status load(tz_ctx_t *z, iid_safetensors_t *out)
{
    zip_uint64_t pkl = 0;
    IID_TRY(find_root(z, &pkl));
    IID_TRY(check_byteorder(z));
    iid_pk_tensor_t *recs;
    int n;
    IID_TRY(read_pickle(z, pkl, &recs, &n));
    zip_int64_t entries = zip_get_num_entries(z->za, 0);
    void **by_entry = calloc((size_t)(entries > 0 ? entries : 1), sizeof *by_entry);
    out->tensors = calloc((size_t)(n ? n : 1), sizeof *out->tensors);
    out->owned = calloc((size_t)(n ? n : 1), sizeof *out->owned);
    iid_status s = IID_OK;
    if (!by_entry || !out->tensors || !out->owned) s = iid__fail(z->err, IID_ERR_NOMEM, "%s: out of memory", z->label);
    for (int i = 0; i < n && s == IID_OK; i++) {
        s = bind_tensor(z, &recs[i], by_entry, out, &out->tensors[i]);
        if (s == IID_OK) out->count++;
    }
    free(by_entry);
    iid__pk_tensors_free(recs, n);
    if (s == IID_OK) s = iid__st_sort_names(out, z->label, z->err);
    if (s == IID_OK) {
        out->format = IID_WEIGHTS_TORCH_ZIP;
        out->path = strdup(z->label);
        if (!out->path) s = iid__fail(z->err, IID_ERR_NOMEM, "%s: out of memory", z->label);
    }
    return s;
}

iid_status iid__torch_parse(iid_safetensors_t *out, const void *buf, size_t size, const char *label,
                            iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!is_zip(buf, size))
        return iid__fail(err, IID_ERR_FORMAT, "%s: not a zip archive (no PK\\x03\\x04 signature)", label);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, size, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        iid_status s = iid__fail(err, IID_ERR_FORMAT, "%s: not a readable zip archive: %s", label,
                                 zip_error_strerror(&ze));
        zip_source_free(src); /* NULL-safe; not taken over by a failed open */
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);
    tz_ctx_t z = {.za = za, .label = label, .file_size = size, .err = err};
    iid_status s = load(&z, out);
    zip_discard(za);
    if (s != IID_OK) iid__st_close(out);
    return s;
}

iid_status iid__torch_open(iid_safetensors_t *out, const char *path, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    iid_mapped_file_t m;
    IID_TRY(iid__file_map(&m, path, err));
    iid_status s = iid__torch_parse(out, m.data, m.size, path, err);
    iid__file_unmap(&m); /* the index owns copies */
    return s;
}

iid_status iid__weights_parse(iid_safetensors_t *out, const void *buf, size_t size, const char *label,
                              iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *p = buf;
    if (size == 0) return iid__fail(err, IID_ERR_FORMAT, "%s: empty file", label);
    if (is_zip(buf, size)) return iid__torch_parse(out, buf, size, label, err);
    if (size >= 9 && p[8] == '{') return iid__st_parse(out, buf, size, label, err);
    return iid__fail(err, IID_ERR_FORMAT, "%s: neither a torch zip archive nor a safetensors file", label);
}

iid_status iid__weights_open(iid_safetensors_t *out, const char *path, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    iid_mapped_file_t m;
    IID_TRY(iid__file_map(&m, path, err));
    iid_status s = iid__weights_parse(out, m.data, m.size, path, err);
    if (s == IID_OK && !is_zip(m.data, m.size)) out->map = m; /* safetensors points into the map */
    else iid__file_unmap(&m);
    return s;
}
