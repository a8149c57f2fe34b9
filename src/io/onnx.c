/*
 * onnx.c - a bounded protobuf wire-format reader for the ONNX messages we use.
 *
 * Wire format recap: a message is a sequence of (key, value) pairs; key = varint
 * (field << 3 | wire type); wire types 0 varint, 1 fixed64, 2 length-delimited,
 * 5 fixed32 (3/4, the deprecated groups, are refused). Repeated scalars arrive
 * either one per key or "packed" in one length-delimited field; both are read.
 *
 * Each message is decoded from a (pointer, length) slice that was bounds-checked
 * against its parent, so no read can leave the buffer. Repeated fields are
 * counted in a first scan and filled in a second, so arrays are allocated once
 * at their exact size. Field numbers follow onnx.proto (ir_version 3..10).
 */
#include "io/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Field numbers from onnx.proto. */
enum { MODEL_IR = 1, MODEL_PRODUCER = 2, MODEL_GRAPH = 7, MODEL_OPSET = 8 };
enum { OPSET_DOMAIN = 1, OPSET_VERSION = 2 };
enum { GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INIT = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12, GRAPH_VINFO = 13 };
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5, NODE_DOMAIN = 7 };
enum { ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_FLOATS = 7, ATTR_INTS = 8, ATTR_TYPE = 20 };
enum {
    TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_FLOATS = 4, TENSOR_INT32S = 5, TENSOR_INT64S = 7, TENSOR_NAME = 8,
    TENSOR_RAW = 9, TENSOR_DOUBLES = 10, TENSOR_EXTERNAL = 13, TENSOR_LOCATION = 14
};
enum { VI_NAME = 1, VI_TYPE = 2 };
enum { TYPE_TENSOR = 1, TT_ELEM = 1, TT_SHAPE = 2, SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2 };

/* Tensors above this many elements are refused (2^34 floats = 64 GiB). */
#define ONNX_MAX_NUMEL ((int64_t)1 << 34)

typedef struct slice {
    const uint8_t *p;
    size_t n;
} slice_t;

/* A reading position inside one message plus what to name in errors. */
typedef struct reader {
    const uint8_t *p, *end;
    const char *label; /* file */
    const char *what;  /* message being read, e.g. "node 'Conv_3'" */
    iid_error_t *err;
} reader_t;

static reader_t sub_reader(const reader_t *parent, slice_t s, const char *what)
{
    reader_t r = {s.p, s.p + s.n, parent->label, what, parent->err};
    return r;
}

static iid_status bad(const reader_t *r, const char *why)
{
    return iid__fail(r->err, IID_ERR_FORMAT, "%s: %s: %s", r->label, r->what, why);
}

static iid_status read_varint(reader_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return bad(r, "truncated varint");
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) return bad(r, "varint longer than 64 bits");
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return IID_OK;
        }
    }
    return bad(r, "varint longer than 10 bytes");
}

/* Read the next key; *more is 0 at the end of the message. */
static iid_status read_key(reader_t *r, uint32_t *field, int *wire, int *more)
{
    *more = r->p < r->end;
    if (!*more) return IID_OK;
    uint64_t k;
    IID_TRY(read_varint(r, &k));
    *wire = (int)(k & 7);
    if ((k >> 3) == 0 || (k >> 3) > 0x1fffffff) return bad(r, "invalid field number");
    *field = (uint32_t)(k >> 3);
    return IID_OK;
}

static iid_status read_len(reader_t *r, slice_t *s)
{
    uint64_t n;
    IID_TRY(read_varint(r, &n));
    if (n > (uint64_t)(r->end - r->p)) return bad(r, "length-delimited field runs past its message");
    s->p = r->p;
    s->n = (size_t)n;
    r->p += n;
    return IID_OK;
}

static iid_status read_fixed(reader_t *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n) return bad(r, "truncated fixed-width field");
    memcpy(out, r->p, n); /* little-endian host assumed, as for safetensors */
    r->p += n;
    return IID_OK;
}

static iid_status skip_field(reader_t *r, int wire)
{
    uint64_t v;
    slice_t s;
    switch (wire) {
    case WT_VARINT: return read_varint(r, &v);
    case WT_I64: return read_fixed(r, &v, 8);
    case WT_I32: return read_fixed(r, &v, 4);
    case WT_LEN: return read_len(r, &s);
    default: return bad(r, "unsupported wire type (groups are not used by ONNX)");
    }
}

static iid_status expect_wire(reader_t *r, int wire, int want, const char *field)
{
    if (wire == want) return IID_OK;
    return iid__fail(r->err, IID_ERR_FORMAT, "%s: %s: field '%s' has wire type %d, expected %d", r->label, r->what,
                     field, wire, want);
}

static iid_status dup_bytes(reader_t *r, slice_t s, char **out)
{
    char *c = malloc(s.n + 1);
    if (!c) return iid__fail(r->err, IID_ERR_NOMEM, "%s: out of memory reading %s", r->label, r->what);
    if (s.n) memcpy(c, s.p, s.n);
    c[s.n] = '\0';
    free(*out);
    *out = c;
    return IID_OK;
}

static iid_status read_string(reader_t *r, int wire, const char *field, char **out)
{
    slice_t s;
    IID_TRY(expect_wire(r, wire, WT_LEN, field));
    IID_TRY(read_len(r, &s));
    return dup_bytes(r, s, out);
}

static iid_status read_int(reader_t *r, int wire, const char *field, int64_t *out)
{
    uint64_t v;
    IID_TRY(expect_wire(r, wire, WT_VARINT, field));
    IID_TRY(read_varint(r, &v));
    *out = (int64_t)v;
    return IID_OK;
}

/* Count how often `field` occurs in msg (one per key, not per packed value). */
static iid_status count_field(const reader_t *parent, slice_t msg, uint32_t field, int *count)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int n = 0, more, wire;
    uint32_t f = 0;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) break;
        if (f == field) n++;
        IID_TRY(skip_field(&r, wire));
    }
    *count = n;
    return IID_OK;
}

static iid_status alloc_array(const reader_t *r, void **out, int n, size_t elem)
{
    *out = NULL;
    if (n == 0) return IID_OK;
    *out = calloc((size_t)n, elem);
    if (!*out) return iid__fail(r->err, IID_ERR_NOMEM, "%s: out of memory reading %s", r->label, r->what);
    return IID_OK;
}

/* Repeated scalar field (varint, fixed32 or fixed64, packed or not) into a
 * malloc'd array of width-byte raw values. The packed count of varints is found by
 * counting terminating bytes, so the array is allocated once. */
static iid_status read_repeated(const reader_t *parent, slice_t msg, uint32_t field, int scalar_wire, size_t width,
                                const char *name, void **out, int *count)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int64_t n = 0;
    int more, wire;
    uint32_t f = 0;
    slice_t s;
    *out = NULL;
    *count = 0;
    for (;;) { /* pass 1: count */
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) break;
        if (f != field) {
            IID_TRY(skip_field(&r, wire));
            continue;
        }
        if (wire == WT_LEN) {
            IID_TRY(read_len(&r, &s));
            if (scalar_wire == WT_VARINT) {
                for (size_t i = 0; i < s.n; i++) n += !(s.p[i] & 0x80);
            } else {
                size_t w = scalar_wire == WT_I32 ? 4 : 8;
                if (s.n % w) return bad(&r, "packed fixed-width field has a partial value");
                n += (int64_t)(s.n / w);
            }
        } else {
            IID_TRY(expect_wire(&r, wire, scalar_wire, name));
            IID_TRY(skip_field(&r, wire));
            n++;
        }
        if (n > INT32_MAX) return bad(&r, "repeated field has too many values");
    }
    if (n == 0) return IID_OK;
    uint8_t *arr = calloc((size_t)n, width);
    if (!arr) return iid__fail(r.err, IID_ERR_NOMEM, "%s: out of memory reading %s", r.label, r.what);
    r = sub_reader(parent, msg, parent->what);
    int64_t k = 0;
    for (;;) { /* pass 2: fill */
        iid_status st = read_key(&r, &f, &wire, &more);
        if (st != IID_OK) goto fail;
        if (!more) break;
        if (f != field) {
            if ((st = skip_field(&r, wire)) != IID_OK) goto fail;
            continue;
        }
        reader_t vr = r;
        const uint8_t *stop = r.p;
        if (wire == WT_LEN) {
            if ((st = read_len(&r, &s)) != IID_OK) goto fail;
            vr.p = s.p;
            vr.end = s.p + s.n;
            stop = vr.end;
        }
        do {
            uint64_t v = 0;
            if (scalar_wire == WT_VARINT) st = read_varint(&vr, &v);
            else st = read_fixed(&vr, &v, scalar_wire == WT_I32 ? 4 : 8);
            if (st != IID_OK) goto fail;
            if (k >= n) {
                st = bad(&r, "packed varints miscounted");
                goto fail;
            }
            memcpy(arr + (size_t)k * width, &v, width);
            k++;
        } while (wire == WT_LEN && vr.p < stop);
        if (wire != WT_LEN) r.p = vr.p;
        continue;
    fail:
        free(arr);
        return st;
    }
    *out = arr;
    *count = (int)k;
    return IID_OK;
}

int iid__onnx_dtype(int data_type, iid_dtype_t *out)
{
    switch (data_type) {
    case IID_ONNX_FLOAT: *out = IID_DTYPE_F32; return 1;
    case IID_ONNX_DOUBLE: *out = IID_DTYPE_F64; return 1;
    case IID_ONNX_FLOAT16: *out = IID_DTYPE_F16; return 1;
    case IID_ONNX_INT64: *out = IID_DTYPE_I64; return 1;
    case IID_ONNX_INT32:
    case IID_ONNX_INT16:
    case IID_ONNX_INT8: *out = IID_DTYPE_I32; return 1;
    case IID_ONNX_UINT8: *out = IID_DTYPE_U8; return 1;
    case IID_ONNX_BOOL: *out = IID_DTYPE_BOOL; return 1;
    default: return 0;
    }
}

/* Copy n values of a typed repeated field into t->data, narrowing as the dtype
 * needs (int32_data also carries INT8/16, UINT8, BOOL and FLOAT16 bit patterns). */
static void store_typed(iid_tensor_t *t, const void *src, size_t src_width, int64_t n)
{
    const uint8_t *s = src;
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = 0;
        memcpy(&v, s + (size_t)i * src_width, src_width);
        switch (t->dtype) {
        case IID_DTYPE_F32:
        case IID_DTYPE_I32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
        case IID_DTYPE_F16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
        case IID_DTYPE_U8:
        case IID_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
        default: ((uint64_t *)t->data)[i] = v; break;
        }
    }
}

static iid_status read_tensor(const reader_t *parent, slice_t msg, iid_onnx_tensor_t *out)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int64_t *dims = NULL;
    int ndim = 0;
    IID_TRY(read_repeated(&r, msg, TENSOR_DIMS, WT_VARINT, 8, "dims", (void **)&dims, &ndim));
    int64_t dtype_code = 0, location = 0;
    slice_t raw = {NULL, 0};
    void *vals = NULL; /* typed values, when there is no raw_data */
    int nvals = 0;
    int has_raw = 0, external = 0, more, wire;
    uint32_t f = 0;
    iid_status st = IID_OK;
    while (st == IID_OK) {
        if ((st = read_key(&r, &f, &wire, &more)) != IID_OK || !more) break;
        switch (f) {
        case TENSOR_TYPE: st = read_int(&r, wire, "data_type", &dtype_code); break;
        case TENSOR_NAME: st = read_string(&r, wire, "name", &out->name); break;
        case TENSOR_RAW:
            if ((st = expect_wire(&r, wire, WT_LEN, "raw_data")) == IID_OK) st = read_len(&r, &raw);
            has_raw = 1;
            break;
        case TENSOR_EXTERNAL: external = 1; st = skip_field(&r, wire); break;
        case TENSOR_LOCATION: st = read_int(&r, wire, "data_location", &location); break;
        default: st = skip_field(&r, wire); break;
        }
    }
    const char *tname = out->name ? out->name : "";
    if (st == IID_OK && !out->name) st = dup_bytes(&r, (slice_t){(const uint8_t *)"", 0}, &out->name);
    if (st != IID_OK) goto done;
    if (external || location == 1) {
        st = iid__fail(r.err, IID_ERR_UNSUPPORTED, "%s: tensor '%s': external data is not supported", r.label, tname);
        goto done;
    }
    iid_dtype_t dt;
    if (dtype_code > INT32_MAX || !iid__onnx_dtype((int)dtype_code, &dt)) {
        st = iid__fail(r.err, IID_ERR_UNSUPPORTED, "%s: tensor '%s': data_type %lld is not supported", r.label, tname,
                       (long long)dtype_code);
        goto done;
    }
    out->data_type = (int)dtype_code;
    if (ndim > IID_MAX_DIMS) {
        st = iid__fail(r.err, IID_ERR_FORMAT, "%s: tensor '%s': %d dims, at most %d", r.label, tname, ndim, IID_MAX_DIMS);
        goto done;
    }
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || (dims[i] && numel > ONNX_MAX_NUMEL / dims[i])) {
            st = iid__fail(r.err, IID_ERR_RANGE, "%s: tensor '%s': dimension %d (%lld) is negative or too large",
                           r.label, tname, i, (long long)dims[i]);
            goto done;
        }
        numel *= dims[i];
    }
    /* Check the stored size against the dims before allocating anything. */
    size_t es = iid__dtype_size(dt);
    size_t file_es = dtype_code == IID_ONNX_INT8 ? 1 : dtype_code == IID_ONNX_INT16 ? 2 : es;
    size_t width = 8;
    if (has_raw) {
        if (raw.n != (size_t)numel * file_es) {
            st = iid__fail(r.err, IID_ERR_FORMAT, "%s: tensor '%s': raw_data holds %zu bytes, dims need %zu", r.label,
                           tname, raw.n, (size_t)numel * file_es);
            goto done;
        }
    } else { /* typed repeated field: which one depends on the dtype */
        uint32_t field = TENSOR_INT32S;
        int wt = WT_VARINT;
        if (dt == IID_DTYPE_F32) field = TENSOR_FLOATS, wt = WT_I32, width = 4;
        else if (dt == IID_DTYPE_F64) field = TENSOR_DOUBLES, wt = WT_I64;
        else if (dt == IID_DTYPE_I64) field = TENSOR_INT64S;
        if ((st = read_repeated(&r, msg, field, wt, width, "typed data", &vals, &nvals)) != IID_OK) goto done;
        if (nvals != numel) {
            st = iid__fail(r.err, IID_ERR_FORMAT, "%s: tensor '%s': %d stored values, dims need %lld", r.label, tname,
                           nvals, (long long)numel);
            goto done;
        }
    }
    if ((st = iid__tensor_alloc(&out->value, dt, ndim, dims, r.err)) != IID_OK) goto done;
    if (!has_raw) {
        store_typed(&out->value, vals, width, numel);
    } else if (file_es == es) {
        if (raw.n) memcpy(out->value.data, raw.p, raw.n);
    } else { /* sign-extend INT8/INT16 into I32 */
        for (int64_t i = 0; i < numel; i++) {
            int32_t v = file_es == 1 ? (int8_t)raw.p[i] : (int16_t)(raw.p[2 * i] | raw.p[2 * i + 1] << 8);
            ((int32_t *)out->value.data)[i] = v;
        }
    }
done:
    free(vals);
    free(dims);
    return st;
}

static void free_tensor(iid_onnx_tensor_t *t)
{
    if (!t) return;
    free(t->name);
    iid__tensor_free(&t->value);
}

static iid_status read_attr(const reader_t *parent, slice_t msg, iid_onnx_attr_t *a)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int more, wire, has_type = 0;
    uint32_t f = 0;
    int64_t type = 0;
    slice_t s;
    iid_status st = IID_OK;
    IID_TRY(read_repeated(&r, msg, ATTR_FLOATS, WT_I32, 4, "floats", (void **)&a->floats, &a->n_floats));
    IID_TRY(read_repeated(&r, msg, ATTR_INTS, WT_VARINT, 8, "ints", (void **)&a->ints, &a->n_ints));
    int inferred = a->n_floats ? IID_ONNX_ATTR_FLOATS : a->n_ints ? IID_ONNX_ATTR_INTS : IID_ONNX_ATTR_UNDEFINED;
    while (st == IID_OK) {
        if ((st = read_key(&r, &f, &wire, &more)) != IID_OK || !more) break;
        switch (f) {
        case ATTR_NAME: st = read_string(&r, wire, "name", &a->name); break;
        case ATTR_F:
            if ((st = expect_wire(&r, wire, WT_I32, "f")) == IID_OK) st = read_fixed(&r, &a->f, 4);
            inferred = IID_ONNX_ATTR_FLOAT;
            break;
        case ATTR_I: st = read_int(&r, wire, "i", &a->i); inferred = IID_ONNX_ATTR_INT; break;
        case ATTR_S: st = read_string(&r, wire, "s", &a->s); inferred = IID_ONNX_ATTR_STRING; break;
        case ATTR_T:
            if ((st = expect_wire(&r, wire, WT_LEN, "t")) != IID_OK || (st = read_len(&r, &s)) != IID_OK) break;
            if (a->t) {
                st = bad(&r, "attribute has two tensors");
                break;
            }
            if (!(a->t = calloc(1, sizeof *a->t))) {
                st = iid__fail(r.err, IID_ERR_NOMEM, "%s: out of memory", r.label);
                break;
            }
            st = read_tensor(&r, s, a->t);
            inferred = IID_ONNX_ATTR_TENSOR;
            break;
        case ATTR_TYPE: st = read_int(&r, wire, "type", &type); has_type = 1; break;
        default: st = skip_field(&r, wire); break;
        }
    }
    IID_TRY(st);
    if (!a->name) return bad(&r, "attribute without a name");
    if (has_type && (type < 0 || type > 14)) /* onnx.proto's AttributeType ends at TYPE_PROTOS = 14 */
        return bad(&r, "attribute type out of range");
    a->type = has_type ? (iid_onnx_attr_type_t)type : (iid_onnx_attr_type_t)inferred;
    return IID_OK;
}

static void free_attr(iid_onnx_attr_t *a)
{
    free(a->name);
    free(a->s);
    free_tensor(a->t);
    free(a->t);
    free(a->floats);
    free(a->ints);
}

/* Read every occurrence of a repeated string field into a counted array. */
static iid_status read_strings(const reader_t *parent, slice_t msg, uint32_t field, const char *name, char ***out,
                               int *count)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int n, more, wire, k = 0;
    uint32_t f = 0;
    IID_TRY(count_field(&r, msg, field, &n));
    IID_TRY(alloc_array(&r, (void **)out, n, sizeof(char *)));
    *count = n;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) break;
        if (f == field && k < n) IID_TRY(read_string(&r, wire, name, &(*out)[k++]));
        else IID_TRY(skip_field(&r, wire));
    }
    return IID_OK;
}

static iid_status read_node(const reader_t *parent, slice_t msg, int index, iid_onnx_node_t *nd)
{
    char what[96];
    snprintf(what, sizeof what, "graph node %d", index);
    reader_t r = sub_reader(parent, msg, what);
    IID_TRY(read_strings(&r, msg, NODE_INPUT, "input", &nd->inputs, &nd->n_inputs));
    IID_TRY(read_strings(&r, msg, NODE_OUTPUT, "output", &nd->outputs, &nd->n_outputs));
    int n, more, wire, k = 0;
    uint32_t f = 0;
    slice_t s;
    IID_TRY(count_field(&r, msg, NODE_ATTR, &n));
    IID_TRY(alloc_array(&r, (void **)&nd->attrs, n, sizeof *nd->attrs));
    nd->n_attrs = n;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) break;
        if (f == NODE_NAME) IID_TRY(read_string(&r, wire, "name", &nd->name));
        else if (f == NODE_OP) IID_TRY(read_string(&r, wire, "op_type", &nd->op_type));
        else if (f == NODE_DOMAIN) IID_TRY(read_string(&r, wire, "domain", &nd->domain));
        else if (f == NODE_ATTR && k < n) {
            IID_TRY(expect_wire(&r, wire, WT_LEN, "attribute"));
            IID_TRY(read_len(&r, &s));
            IID_TRY(read_attr(&r, s, &nd->attrs[k++]));
        } else {
            IID_TRY(skip_field(&r, wire));
        }
    }
    if (!nd->op_type) return bad(&r, "node without op_type");
    if (!nd->name) IID_TRY(dup_bytes(&r, (slice_t){(const uint8_t *)"", 0}, &nd->name));
    if (!nd->domain) IID_TRY(dup_bytes(&r, (slice_t){(const uint8_t *)"", 0}, &nd->domain));
    return IID_OK;
}

static void free_node(iid_onnx_node_t *nd)
{
    for (int i = 0; i < nd->n_inputs; i++) free(nd->inputs[i]);
    for (int i = 0; i < nd->n_outputs; i++) free(nd->outputs[i]);
    for (int i = 0; i < nd->n_attrs; i++) free_attr(&nd->attrs[i]);
    free(nd->inputs);
    free(nd->outputs);
    free(nd->attrs);
    free(nd->name);
    free(nd->op_type);
    free(nd->domain);
}

/* TensorShapeProto.Dimension */
static iid_status read_dim(reader_t *parent, slice_t msg, iid_onnx_dim_t *d)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int more, wire;
    uint32_t f = 0;
    d->value = -1;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) return IID_OK;
        if (f == DIM_VALUE) IID_TRY(read_int(&r, wire, "dim_value", &d->value));
        else if (f == DIM_PARAM) IID_TRY(read_string(&r, wire, "dim_param", &d->param));
        else IID_TRY(skip_field(&r, wire));
    }
}

/* TypeProto.Tensor: elem_type and shape. Other value kinds leave vi untouched. */
static iid_status read_tensor_type(reader_t *parent, slice_t msg, iid_onnx_value_info_t *vi)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int more, wire;
    uint32_t f = 0;
    slice_t s, ds;
    int64_t elem = 0;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) return IID_OK;
        if (f == TT_ELEM) {
            IID_TRY(read_int(&r, wire, "elem_type", &elem));
            if (elem < 0 || elem > 64) return bad(&r, "elem_type out of range");
            vi->elem_type = (int)elem;
        } else if (f == TT_SHAPE) {
            IID_TRY(expect_wire(&r, wire, WT_LEN, "shape"));
            IID_TRY(read_len(&r, &s));
            reader_t sr = sub_reader(&r, s, r.what);
            /* A repeated shape replaces the earlier one, as protobuf keeps the last:
             * release its dim_param strings first (they leaked past the new ndim). */
            for (int k = 0; k < vi->ndim; k++) {
                free(vi->dims[k].param);
                vi->dims[k].param = NULL;
            }
            vi->ndim = 0;
            for (;;) {
                IID_TRY(read_key(&sr, &f, &wire, &more));
                if (!more) break;
                if (f != SHAPE_DIM) {
                    IID_TRY(skip_field(&sr, wire));
                    continue;
                }
                if (vi->ndim >= IID_MAX_DIMS) return bad(&r, "declared shape has too many dims");
                IID_TRY(expect_wire(&sr, wire, WT_LEN, "dim"));
                IID_TRY(read_len(&sr, &ds));
                IID_TRY(read_dim(&sr, ds, &vi->dims[vi->ndim++]));
            }
        } else {
            IID_TRY(skip_field(&r, wire));
        }
    }
}

static iid_status read_value_info(reader_t *parent, slice_t msg, iid_onnx_value_info_t *vi)
{
    reader_t r = sub_reader(parent, msg, parent->what);
    int more, wire;
    uint32_t f = 0;
    slice_t s, ts = {NULL, 0};
    vi->ndim = -1;
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) break;
        if (f == VI_NAME) {
            IID_TRY(read_string(&r, wire, "name", &vi->name));
        } else if (f == VI_TYPE) {
            IID_TRY(expect_wire(&r, wire, WT_LEN, "type"));
            IID_TRY(read_len(&r, &s));
            reader_t tr = sub_reader(&r, s, r.what);
            for (;;) {
                IID_TRY(read_key(&tr, &f, &wire, &more));
                if (!more) break;
                if (f == TYPE_TENSOR) {
                    IID_TRY(expect_wire(&tr, wire, WT_LEN, "tensor_type"));
                    IID_TRY(read_len(&tr, &ts));
                    IID_TRY(read_tensor_type(&tr, ts, vi));
                } else {
                    IID_TRY(skip_field(&tr, wire));
                }
            }
        } else {
            IID_TRY(skip_field(&r, wire));
        }
    }
    if (!vi->name) return bad(&r, "value_info without a name");
    return IID_OK;
}

static void free_value_infos(iid_onnx_value_info_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        for (int d = 0; d < v[i].ndim; d++) free(v[i].dims[d].param);
    }
    free(v);
}

static iid_status read_graph(reader_t *parent, slice_t msg, iid_onnx_graph_t *g)
{
    reader_t r = sub_reader(parent, msg, "graph");
    IID_TRY(count_field(&r, msg, GRAPH_NODE, &g->n_nodes));
    IID_TRY(count_field(&r, msg, GRAPH_INIT, &g->n_initializers));
    IID_TRY(count_field(&r, msg, GRAPH_INPUT, &g->n_inputs));
    IID_TRY(count_field(&r, msg, GRAPH_OUTPUT, &g->n_outputs));
    IID_TRY(count_field(&r, msg, GRAPH_VINFO, &g->n_value_info));
    IID_TRY(alloc_array(&r, (void **)&g->nodes, g->n_nodes, sizeof *g->nodes));
    IID_TRY(alloc_array(&r, (void **)&g->initializers, g->n_initializers, sizeof *g->initializers));
    IID_TRY(alloc_array(&r, (void **)&g->inputs, g->n_inputs, sizeof *g->inputs));
    IID_TRY(alloc_array(&r, (void **)&g->outputs, g->n_outputs, sizeof *g->outputs));
    IID_TRY(alloc_array(&r, (void **)&g->value_info, g->n_value_info, sizeof *g->value_info));
    int kn = 0, ki = 0, kin = 0, kout = 0, kv = 0, more, wire;
    uint32_t f = 0;
    slice_t s;
    char what[64];
    for (;;) {
        IID_TRY(read_key(&r, &f, &wire, &more));
        if (!more) return IID_OK;
        if (f == GRAPH_NAME) {
            IID_TRY(read_string(&r, wire, "name", &g->name));
            continue;
        }
        if (f != GRAPH_NODE && f != GRAPH_INIT && f != GRAPH_INPUT && f != GRAPH_OUTPUT && f != GRAPH_VINFO) {
            IID_TRY(skip_field(&r, wire));
            continue;
        }
        IID_TRY(expect_wire(&r, wire, WT_LEN, "graph entry"));
        IID_TRY(read_len(&r, &s));
        if (f == GRAPH_NODE) {
            IID_TRY(read_node(&r, s, kn, &g->nodes[kn]));
            kn++;
        } else if (f == GRAPH_INIT) {
            snprintf(what, sizeof what, "initializer %d", ki);
            reader_t ir = sub_reader(&r, s, what);
            IID_TRY(read_tensor(&ir, s, &g->initializers[ki++]));
        } else if (f == GRAPH_INPUT) {
            snprintf(what, sizeof what, "graph input %d", kin);
            reader_t ir = sub_reader(&r, s, what);
            IID_TRY(read_value_info(&ir, s, &g->inputs[kin++]));
        } else if (f == GRAPH_OUTPUT) {
            snprintf(what, sizeof what, "graph output %d", kout);
            reader_t ir = sub_reader(&r, s, what);
            IID_TRY(read_value_info(&ir, s, &g->outputs[kout++]));
        } else {
            snprintf(what, sizeof what, "value_info %d", kv);
            reader_t ir = sub_reader(&r, s, what);
            IID_TRY(read_value_info(&ir, s, &g->value_info[kv++]));
        }
    }
}

static void free_graph(iid_onnx_graph_t *g)
{
    for (int i = 0; i < g->n_nodes; i++) free_node(&g->nodes[i]);
    for (int i = 0; i < g->n_initializers; i++) free_tensor(&g->initializers[i]);
    free(g->nodes);
    free(g->initializers);
    free_value_infos(g->inputs, g->n_inputs);
    free_value_infos(g->outputs, g->n_outputs);
    free_value_infos(g->value_info, g->n_value_info);
    free(g->name);
}

static iid_status parse_model(iid_onnx_model_t *m, reader_t *r, slice_t all)
{
    int more, wire, has_graph = 0, k = 0;
    uint32_t f = 0;
    slice_t s;
    IID_TRY(count_field(r, all, MODEL_OPSET, &m->n_opsets));
    IID_TRY(alloc_array(r, (void **)&m->opsets, m->n_opsets, sizeof *m->opsets));
    for (;;) {
        IID_TRY(read_key(r, &f, &wire, &more));
        if (!more) break;
        if (f == MODEL_IR) {
            IID_TRY(read_int(r, wire, "ir_version", &m->ir_version));
        } else if (f == MODEL_PRODUCER) {
            IID_TRY(read_string(r, wire, "producer_name", &m->producer_name));
        } else if (f == MODEL_GRAPH) {
            IID_TRY(expect_wire(r, wire, WT_LEN, "graph"));
            IID_TRY(read_len(r, &s));
            if (has_graph) return bad(r, "two graphs");
            IID_TRY(read_graph(r, s, &m->graph));
            has_graph = 1;
        } else if (f == MODEL_OPSET && k < m->n_opsets) {
            IID_TRY(expect_wire(r, wire, WT_LEN, "opset_import"));
            IID_TRY(read_len(r, &s));
            reader_t orr = sub_reader(r, s, "opset_import");
            iid_onnx_opset_t *o = &m->opsets[k++];
            for (;;) {
                IID_TRY(read_key(&orr, &f, &wire, &more));
                if (!more) break;
                if (f == OPSET_DOMAIN) IID_TRY(read_string(&orr, wire, "domain", &o->domain));
                else if (f == OPSET_VERSION) IID_TRY(read_int(&orr, wire, "version", &o->version));
                else IID_TRY(skip_field(&orr, wire));
            }
            if (!o->domain) IID_TRY(dup_bytes(r, (slice_t){(const uint8_t *)"", 0}, &o->domain));
        } else {
            IID_TRY(skip_field(r, wire));
        }
    }
    if (!has_graph) return iid__fail(r->err, IID_ERR_FORMAT, "%s: no graph (not an ONNX model?)", r->label);
    return IID_OK;
}

iid_status iid__onnx_parse(iid_onnx_model_t *m, const void *buf, size_t size, const char *label, iid_error_t *err)
{
    memset(m, 0, sizeof *m);
    reader_t r = {buf, (const uint8_t *)buf + size, label, "model", err};
    if (!buf) r.p = r.end = NULL;
    m->path = strdup(label);
    if (!m->path) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    iid_status st = parse_model(m, &r, (slice_t){r.p, size});
    if (st != IID_OK) iid__onnx_free(m);
    return st;
}

iid_status iid__onnx_load(iid_onnx_model_t *m, const char *path, iid_error_t *err)
{
    iid_mapped_file_t map;
    memset(m, 0, sizeof *m);
    IID_TRY(iid__file_map(&map, path, err));
    iid_status st = iid__onnx_parse(m, map.data, map.size, path, err);
    iid__file_unmap(&map);
    return st;
}

void iid__onnx_free(iid_onnx_model_t *m)
{
    if (!m) return;
    free_graph(&m->graph);
    for (int i = 0; i < m->n_opsets; i++) free(m->opsets[i].domain);
    free(m->opsets);
    free(m->producer_name);
    free(m->path);
    memset(m, 0, sizeof *m);
}

const iid_onnx_attr_t *iid__onnx_attr(const iid_onnx_node_t *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t iid__onnx_opset(const iid_onnx_model_t *m, const char *domain)
{
    int want_default = domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        int is_default = d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
        if (want_default ? is_default : strcmp(d, domain) == 0) return m->opsets[i].version;
    }
    return 0;
}
