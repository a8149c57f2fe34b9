/* safetensors.c - bounded parsing of the safetensors header into an index. */
#define _DEFAULT_SOURCE /* madvise */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Headers above this are refused outright: the real SDXL UNet's is about 200 KB. */
#define IID_ST_MAX_HEADER ((uint64_t)100 << 20)

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const iid_st_tensor_t *)a)->name, ((const iid_st_tensor_t *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const iid_st_tensor_t *x = *(const iid_st_tensor_t *const *)a;
    const iid_st_tensor_t *y = *(const iid_st_tensor_t *const *)b;
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    return px < py ? -1 : px > py;
}

/* A JSON number that is an exact non-negative integer no larger than max. */
static int json_uint(const cJSON *j, uint64_t max, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0) || d > (double)max || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* Names are echoed in one-line messages: control characters are refused up front. */
static int printable_name(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

static iid_status parse_entry(iid_st_tensor_t *t, const cJSON *j, const unsigned char *data, uint64_t data_size,
                              const char *label, iid_error_t *err)
{
    const char *name = j->string;
    if (!printable_name(name))
        return iid__fail(err, IID_ERR_FORMAT, "%s: a tensor name contains control characters", label);
    if (!cJSON_IsObject(j)) return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s': entry is not an object", label, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt) || !iid__dtype_parse(dt->valuestring, &t->dtype))
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s': missing or unknown dtype", label, name);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > IID_MAX_DIMS)
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s': shape must be an array of at most %d sizes", label,
                         name, IID_MAX_DIMS);
    uint64_t numel = 1;
    t->ndim = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape)
    {
        uint64_t v;
        if (!json_uint(d, (uint64_t)1 << 40, &v))
            return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s': bad dimension in shape", label, name);
        if (v && numel > UINT64_MAX / v)
            return iid__fail(err, IID_ERR_RANGE, "%s: tensor '%s': shape overflows", label, name);
        numel *= v;
        t->shape[t->ndim++] = (int64_t)v;
    }
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), data_size, &begin) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), data_size, &end) || begin > end)
        return iid__fail(err, IID_ERR_RANGE,
                         "%s: tensor '%s': data_offsets must be [begin, end] inside the %llu-byte data section",
                         label, name, (unsigned long long)data_size);
    uint64_t es = iid__dtype_size(t->dtype);
    if (numel > UINT64_MAX / es || numel * es != end - begin)
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s': %s x %llu elements needs %llu bytes, offsets give %llu",
                         label, name, iid__dtype_name(t->dtype), (unsigned long long)numel,
                         (unsigned long long)(numel * es), (unsigned long long)(end - begin));
    t->data = data + begin;
    t->nbytes = (size_t)(end - begin);
    t->name = strdup(name);
    if (!t->name) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    return IID_OK;
}

static iid_status parse_meta(iid_safetensors_t *st, const cJSON *m, const char *label, iid_error_t *err)
{
    if (!cJSON_IsObject(m)) return iid__fail(err, IID_ERR_FORMAT, "%s: __metadata__ is not an object", label);
    int n = cJSON_GetArraySize(m);
    st->meta = calloc((size_t)(n ? n : 1), sizeof *st->meta);
    if (!st->meta) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, m)
    {
        if (!printable_name(kv->string))
            return iid__fail(err, IID_ERR_FORMAT, "%s: a __metadata__ key contains control characters", label);
        if (!cJSON_IsString(kv))
            return iid__fail(err, IID_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", label, kv->string);
        iid_st_meta_t *e = &st->meta[st->meta_count++];
        e->key = strdup(kv->string);
        e->value = strdup(kv->valuestring);
        if (!e->key || !e->value) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    }
    return IID_OK;
}

static iid_status check_layout(iid_safetensors_t *st, const char *label, iid_error_t *err)
{
    if (st->count == 0) return IID_OK;
    iid_st_tensor_t **by_off = malloc((size_t)st->count * sizeof *by_off);
    if (!by_off) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    for (int i = 0; i < st->count; i++) by_off[i] = &st->tensors[i];
    qsort(by_off, (size_t)st->count, sizeof *by_off, cmp_offset);
    iid_status s = IID_OK;
    for (int i = 1; i < st->count && s == IID_OK; i++) {
        const unsigned char *prev_end = (const unsigned char *)by_off[i - 1]->data + by_off[i - 1]->nbytes;
        if ((const unsigned char *)by_off[i]->data < prev_end)
            s = iid__fail(err, IID_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", label, by_off[i - 1]->name,
                          by_off[i]->name);
    }
    free(by_off);
    if (s != IID_OK) return s;
    return iid__st_sort_names(st, label, err);
}

iid_status iid__st_sort_names(iid_safetensors_t *st, const char *label, iid_error_t *err)
{
    if (st->count > 1) qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, cmp_name);
    for (int i = 1; i < st->count; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' appears twice", label, st->tensors[i].name);
    return IID_OK;
}

iid_status iid__st_parse(iid_safetensors_t *st, const void *buf, size_t size, const char *label, iid_error_t *err)
{
    memset(st, 0, sizeof *st);
    const unsigned char *p = buf;
    if (size < 8) return iid__fail(err, IID_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file", label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > size - 8 || hlen > IID_ST_MAX_HEADER)
        return iid__fail(err, IID_ERR_RANGE, "%s: header length %llu exceeds the file's %zu bytes", label,
                         (unsigned long long)hlen, size - 8);
    const char *json = (const char *)p + 8;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return iid__fail(err, IID_ERR_FORMAT, "%s: header is not a JSON object", label);
    }
    /* Anything after the JSON inside the header must be padding spaces. */
    for (const char *q = end; q && q < json + hlen; q++) {
        if (*q != ' ' && *q != '\0') {
            cJSON_Delete(root);
            return iid__fail(err, IID_ERR_FORMAT, "%s: trailing bytes after the JSON header", label);
        }
    }
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    int n = cJSON_GetArraySize(root);
    st->tensors = calloc((size_t)(n ? n : 1), sizeof *st->tensors);
    iid_status s = st->tensors ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (s != IID_OK) break;
        if (strcmp(item->string, "__metadata__") == 0) {
            if (st->meta) s = iid__fail(err, IID_ERR_FORMAT, "%s: __metadata__ appears twice", label);
            else s = parse_meta(st, item, label, err);
            continue;
        }
        s = parse_entry(&st->tensors[st->count], item, data, data_size, label, err);
        if (s == IID_OK) st->count++;
    }
    cJSON_Delete(root);
    if (s == IID_OK) s = check_layout(st, label, err);
    if (s == IID_OK) {
        st->path = strdup(label);
        if (!st->path) s = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    }
    if (s != IID_OK) iid__st_close(st);
    return s;
}

iid_status iid__st_open(iid_safetensors_t *st, const char *path, iid_error_t *err)
{
    memset(st, 0, sizeof *st);
    iid_mapped_file_t m;
    IID_TRY(iid__file_map(&m, path, err));
    iid_status s = iid__st_parse(st, m.data, m.size, path, err);
    if (s != IID_OK) {
        iid__file_unmap(&m);
        return s;
    }
    st->map = m;
    return IID_OK;
}

void iid__st_close(iid_safetensors_t *st)
{
    if (!st) return;
    for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->meta_count; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->meta);
    for (int i = 0; i < st->owned_count; i++) free(st->owned[i]);
    free(st->owned);
    free(st->path);
    iid__file_unmap(&st->map);
    memset(st, 0, sizeof *st);
}

int iid__st_in_map(const iid_safetensors_t *st, const void *p, size_t n)
{
    const unsigned char *base = st->map.data, *q = p;
    return base && q >= base && (size_t)(q - base) <= st->map.size && n <= st->map.size - (size_t)(q - base);
}

void iid__st_release_range(const iid_safetensors_t *st, const void *p, size_t n)
{
    if (!iid__st_in_map(st, p, n)) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) / page * page, hi = ((uintptr_t)p + n) / page * page;
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void iid__st_release_pages(const iid_safetensors_t *st)
{
    if (st) iid__st_release_range(st, st->map.data, st->map.size);
}

const iid_st_tensor_t *iid__st_find(const iid_safetensors_t *st, const char *name)
{
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(st->tensors[mid].name, name);
        if (c == 0) {
            st->tensors[mid].used = 1; /* a usage record, not the index's contents */
            return &st->tensors[mid];
        }
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static int ignored(const char *name, const char *const *ignore)
{
    for (int i = 0; ignore && ignore[i]; i++)
        if (strncmp(name, ignore[i], strlen(ignore[i])) == 0) return 1;
    return 0;
}

int iid__st_warn_unused(const iid_safetensors_t *st, const char *const *ignore, const iid_logger_t *lg)
{
    enum { SHOWN = 5 };
    char list[512] = "";
    size_t len = 0;
    int n = 0;
    for (int i = 0; i < st->count; i++) {
        const iid_st_tensor_t *t = &st->tensors[i];
        if (t->used || ignored(t->name, ignore)) continue;
        if (n++ < SHOWN && len < sizeof list) {
            int k = snprintf(list + len, sizeof list - len, "%s%s", n > 1 ? ", " : "", t->name);
            if (k > 0) len += (size_t)k;
        }
    }
    if (n)
        IID_LOGW(lg, "%s: %d tensor%s not used by the model: %s%s", st->path ? st->path : "weights", n,
                 n == 1 ? " is" : "s are", list, n > SHOWN ? ", ..." : "");
    return n;
}

const char *iid__st_meta(const iid_safetensors_t *st, const char *key)
{
    for (int i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

int64_t iid__st_numel(const iid_st_tensor_t *t) { return iid__shape_numel(t->shape, t->ndim); }

iid_status iid__st_read_f32(const iid_st_tensor_t *t, float *dst, iid_error_t *err)
{
    iid_status s = iid__convert_to_f32(dst, t->data, t->dtype, (size_t)iid__st_numel(t), err);
    if (s != IID_OK) return iid__prefix(err, s, "tensor '%s'", t->name);
    return IID_OK;
}

iid_status iid__st_find_shaped(const iid_safetensors_t *st, const char *name, int ndim, const int64_t *shape,
                               const iid_st_tensor_t **out, iid_error_t *err)
{
    *out = NULL;
    const iid_st_tensor_t *t = iid__st_find(st, name);
    if (!t) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: tensor '%s' is missing", st->path, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        return iid__fail(err, IID_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", st->path, name,
                         iid__shape_str(t->shape, t->ndim, got, sizeof got), iid__shape_str(shape, ndim, want, sizeof want));
    }
    *out = t;
    return IID_OK;
}

iid_status iid__st_load_f32(const iid_safetensors_t *st, const char *name, int ndim, const int64_t *shape,
                            float **out, iid_error_t *err)
{
    *out = NULL;
    const iid_st_tensor_t *t;
    IID_TRY(iid__st_find_shaped(st, name, ndim, shape, &t, err));
    size_t n = (size_t)iid__st_numel(t);
    float *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf) return iid__fail(err, IID_ERR_NOMEM, "%s: cannot allocate tensor '%s'", st->path, name);
    iid_status s = iid__st_read_f32(t, buf, err);
    if (s != IID_OK) {
        free(buf);
        return iid__prefix(err, s, "%s", st->path);
    }
    *out = buf;
    return IID_OK;
}
