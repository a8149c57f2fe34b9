/*
 * pickle.c - the data-only pickle VM and the state-dict flattener (see pickle.h).
 *
 * Objects live in chunks owned by the VM and are never freed one by one: the memo
 * and the stack hold plain pointers, so sharing (BINGET) and even cycles cost
 * nothing, and teardown walks the chunks once. The only recursion is the
 * flattener, which is bounded by PK_MAX_DEPTH and visits each dict at most once, so
 * neither a cycle nor a shared sub-dict can make it loop or blow up.
 *
 * The stack is segmented by MARK as in CPython: an opcode may only pop items above
 * the innermost mark, and SETITEMS/APPENDS/TUPLE consume exactly that segment.
 */
#include "io/pickle.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_STACK ((size_t)1 << 18)
#define PK_MAX_MARKS 64
#define PK_MAX_MEMO ((uint32_t)1 << 20)
#define PK_MAX_OBJECTS ((size_t)1 << 21)
#define PK_MAX_STRING ((uint64_t)1 << 20)
#define PK_MAX_DEPTH 32
#define PK_MAX_NAME 1024
#define PK_MAX_LINE 128
#define PK_MAX_KEY 64
#define PK_MAX_SIZE ((int64_t)1 << 40)
#define PK_MAX_NUMEL ((int64_t)1 << 62)
#define PK_CHUNK 1024

typedef enum {
    PK_NONE,
    PK_BOOL,
    PK_INT,
    PK_FLOAT,
    PK_STR,
    PK_TUPLE,
    PK_LIST,
    PK_DICT,
    PK_GLOBAL,
    PK_STORAGE,
    PK_TENSOR
} pk_kind_t;

static const char *const k_kind_names[] = {"None", "bool", "int", "float", "str", "tuple",
                                           "list", "dict", "global", "storage", "tensor"};

typedef enum { G_ORDERED_DICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE } pk_fn_t;

/* The whole whitelist: anything else named by GLOBAL is refused. */
static const struct {
    const char *module, *name;
    pk_fn_t fn;
    iid_dtype_t dtype; /* for G_STORAGE */
} k_globals[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT, IID_DTYPE_F32},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2, IID_DTYPE_F32},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, IID_DTYPE_F32},
    {"torch", "FloatStorage", G_STORAGE, IID_DTYPE_F32},
    {"torch", "HalfStorage", G_STORAGE, IID_DTYPE_F16},
    {"torch", "BFloat16Storage", G_STORAGE, IID_DTYPE_BF16},
    {"torch", "DoubleStorage", G_STORAGE, IID_DTYPE_F64},
    {"torch", "LongStorage", G_STORAGE, IID_DTYPE_I64},
    {"torch", "IntStorage", G_STORAGE, IID_DTYPE_I32},
    {"torch", "ByteStorage", G_STORAGE, IID_DTYPE_U8},
    {"torch", "BoolStorage", G_STORAGE, IID_DTYPE_BOOL},
};

/* Names of every opcode of protocols 0-5, for messages. */
static const char *const k_op_names[256] = {
    ['('] = "MARK", ['.'] = "STOP", ['0'] = "POP", ['1'] = "POP_MARK", ['2'] = "DUP", ['F'] = "FLOAT",
    ['I'] = "INT", ['J'] = "BININT", ['K'] = "BININT1", ['L'] = "LONG", ['M'] = "BININT2", ['N'] = "NONE",
    ['P'] = "PERSID", ['Q'] = "BINPERSID", ['R'] = "REDUCE", ['S'] = "STRING", ['T'] = "BINSTRING",
    ['U'] = "SHORT_BINSTRING", ['V'] = "UNICODE", ['X'] = "BINUNICODE", ['a'] = "APPEND", ['b'] = "BUILD",
    ['c'] = "GLOBAL", ['d'] = "DICT", ['}'] = "EMPTY_DICT", ['e'] = "APPENDS", ['g'] = "GET", ['h'] = "BINGET",
    ['i'] = "INST", ['j'] = "LONG_BINGET", ['l'] = "LIST", [']'] = "EMPTY_LIST", ['o'] = "OBJ", ['p'] = "PUT",
    ['q'] = "BINPUT", ['r'] = "LONG_BINPUT", ['s'] = "SETITEM", ['t'] = "TUPLE", [')'] = "EMPTY_TUPLE",
    ['u'] = "SETITEMS", ['G'] = "BINFLOAT", [0x80] = "PROTO", [0x81] = "NEWOBJ", [0x82] = "EXT1",
    [0x83] = "EXT2", [0x84] = "EXT4", [0x85] = "TUPLE1", [0x86] = "TUPLE2", [0x87] = "TUPLE3",
    [0x88] = "NEWTRUE", [0x89] = "NEWFALSE", [0x8a] = "LONG1", [0x8b] = "LONG4", ['B'] = "BINBYTES",
    ['C'] = "SHORT_BINBYTES", [0x8c] = "SHORT_BINUNICODE", [0x8d] = "BINUNICODE8", [0x8e] = "BINBYTES8",
    [0x8f] = "EMPTY_SET", [0x90] = "ADDITEMS", [0x91] = "FROZENSET", [0x92] = "NEWOBJ_EX",
    [0x93] = "STACK_GLOBAL", [0x94] = "MEMOIZE", [0x95] = "FRAME", [0x96] = "BYTEARRAY8",
    [0x97] = "NEXT_BUFFER", [0x98] = "READONLY_BUFFER",
};

typedef struct pk_obj pk_obj_t;
struct pk_obj {
    pk_kind_t kind;
    int depth;    /* containers: 1 + the deepest child added so far; scalars 0 */
    bool visited; /* set by the flattener on dicts */
    union {
        int64_t i; /* PK_BOOL, PK_INT */
        double f;
        struct {
            char *s; /* NUL-terminated copy */
            size_t len;
        } str;
        struct {
            pk_obj_t **items; /* PK_DICT: key, value, key, value, ... */
            size_t n, cap;
        } seq;
        struct {
            pk_fn_t fn;
            iid_dtype_t dtype;
        } global;
        struct {
            iid_dtype_t dtype;
            const pk_obj_t *key; /* a PK_STR */
            int64_t numel;
        } storage;
        struct {
            const pk_obj_t *storage;
            int64_t offset;
            int ndim;
            int64_t shape[IID_MAX_DIMS];
            int64_t stride[IID_MAX_DIMS];
        } tensor;
    } u;
};

typedef struct pk_vm {
    const unsigned char *p;
    size_t size, pos, op_pos;
    const char *label;
    iid_error_t *err;
    pk_obj_t **stack;
    size_t sp, stack_cap;
    size_t marks[PK_MAX_MARKS];
    int nmarks;
    pk_obj_t **memo; /* NULL entries are unset */
    size_t memo_cap, memo_used;
    pk_obj_t **chunks; /* PK_CHUNK objects each */
    size_t nchunks, nobjs;
} pk_vm_t;

/* Copy at most 48 bytes of s into buf with anything unprintable as '?'. */
static const char *printable(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (; n < len && n < 48 && n + 4 < cap; n++) buf[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
    if (n < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* Fail with "label: byte N, opcode NAME: reason". */
static iid_status IID_PRINTF(3, 4) vm_fail(pk_vm_t *vm, iid_status code, const char *fmt, ...)
{
    char why[IID_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    unsigned char op = vm->op_pos < vm->size ? vm->p[vm->op_pos] : 0;
    const char *name = k_op_names[op];
    if (name) return iid__fail(vm->err, code, "%s: byte %zu, opcode %s: %s", vm->label, vm->op_pos, name, why);
    return iid__fail(vm->err, code, "%s: byte %zu, opcode 0x%02x: %s", vm->label, vm->op_pos, op, why);
}

static iid_status need(pk_vm_t *vm, uint64_t n)
{
    if (n > vm->size - vm->pos)
        return vm_fail(vm, IID_ERR_FORMAT, "truncated: needs %llu more bytes, %zu left", (unsigned long long)n,
                       vm->size - vm->pos);
    return IID_OK;
}

/* Little-endian unsigned integer of n <= 8 bytes; the caller checked need(). */
static uint64_t read_le(pk_vm_t *vm, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | vm->p[vm->pos + (size_t)i];
    vm->pos += (size_t)n;
    return v;
}

static iid_status new_obj(pk_vm_t *vm, pk_kind_t kind, pk_obj_t **out)
{
    if (vm->nobjs >= PK_MAX_OBJECTS)
        return vm_fail(vm, IID_ERR_RANGE, "more than %zu objects", PK_MAX_OBJECTS);
    if (vm->nobjs % PK_CHUNK == 0) {
        pk_obj_t **chunks = realloc(vm->chunks, (vm->nchunks + 1) * sizeof *chunks);
        if (!chunks) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        vm->chunks = chunks;
        vm->chunks[vm->nchunks] = calloc(PK_CHUNK, sizeof(pk_obj_t));
        if (!vm->chunks[vm->nchunks]) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        vm->nchunks++;
    }
    pk_obj_t *o = &vm->chunks[vm->nobjs / PK_CHUNK][vm->nobjs % PK_CHUNK];
    vm->nobjs++;
    o->kind = kind;
    *out = o;
    return IID_OK;
}

static void vm_free(pk_vm_t *vm)
{
    for (size_t i = 0; i < vm->nobjs; i++) {
        pk_obj_t *o = &vm->chunks[i / PK_CHUNK][i % PK_CHUNK];
        if (o->kind == PK_STR) free(o->u.str.s);
        if (o->kind == PK_TUPLE || o->kind == PK_LIST || o->kind == PK_DICT) free(o->u.seq.items);
    }
    for (size_t i = 0; i < vm->nchunks; i++) free(vm->chunks[i]);
    free(vm->chunks);
    free(vm->stack);
    free(vm->memo);
}

static iid_status push(pk_vm_t *vm, pk_obj_t *o)
{
    if (vm->sp == vm->stack_cap) {
        if (vm->sp >= PK_MAX_STACK) return vm_fail(vm, IID_ERR_RANGE, "stack deeper than %zu", PK_MAX_STACK);
        size_t cap = vm->stack_cap ? 2 * vm->stack_cap : 64;
        pk_obj_t **s = realloc(vm->stack, cap * sizeof *s);
        if (!s) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        vm->stack = s;
        vm->stack_cap = cap;
    }
    vm->stack[vm->sp++] = o;
    return IID_OK;
}

/* Bottom of the current stack segment (just above the innermost mark). */
static size_t seg_base(const pk_vm_t *vm) { return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0; }

static iid_status need_items(pk_vm_t *vm, size_t n)
{
    if (vm->sp - seg_base(vm) < n)
        return vm_fail(vm, IID_ERR_FORMAT, "stack underflow: needs %zu items, %zu above the mark", n,
                       vm->sp - seg_base(vm));
    return IID_OK;
}

static iid_status pop_mark(pk_vm_t *vm, size_t *base)
{
    if (vm->nmarks == 0) return vm_fail(vm, IID_ERR_FORMAT, "no MARK to close");
    *base = vm->marks[--vm->nmarks];
    return IID_OK;
}

/* Record that child now sits inside container o, bounding the nesting. */
static iid_status note_depth(pk_vm_t *vm, pk_obj_t *o, const pk_obj_t *child)
{
    if (child->depth + 1 > o->depth) o->depth = child->depth + 1;
    if (o->depth > PK_MAX_DEPTH) return vm_fail(vm, IID_ERR_RANGE, "containers nest deeper than %d", PK_MAX_DEPTH);
    return IID_OK;
}

static iid_status seq_add(pk_vm_t *vm, pk_obj_t *o, pk_obj_t *item)
{
    IID_TRY(note_depth(vm, o, item));
    if (o->u.seq.n == o->u.seq.cap) {
        size_t cap = o->u.seq.cap ? 2 * o->u.seq.cap : 4;
        pk_obj_t **items = realloc(o->u.seq.items, cap * sizeof *items);
        if (!items) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        o->u.seq.items = items;
        o->u.seq.cap = cap;
    }
    o->u.seq.items[o->u.seq.n++] = item;
    return IID_OK;
}

/* Replace stack[base..sp) with one tuple of those items. */
static iid_status make_tuple(pk_vm_t *vm, size_t base)
{
    pk_obj_t *t;
    IID_TRY(new_obj(vm, PK_TUPLE, &t));
    size_t n = vm->sp - base;
    if (n) {
        t->u.seq.items = malloc(n * sizeof *t->u.seq.items);
        if (!t->u.seq.items) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        t->u.seq.cap = n;
        for (size_t i = 0; i < n; i++) {
            IID_TRY(note_depth(vm, t, vm->stack[base + i]));
            t->u.seq.items[t->u.seq.n++] = vm->stack[base + i];
        }
    }
    vm->sp = base;
    return push(vm, t);
}

static iid_status op_string(pk_vm_t *vm, int len_bytes, bool is_signed)
{
    IID_TRY(need(vm, (uint64_t)len_bytes));
    uint64_t len = read_le(vm, len_bytes);
    if (is_signed && (len & 0x80000000u)) return vm_fail(vm, IID_ERR_FORMAT, "negative string length");
    if (len > vm->size - vm->pos)
        return vm_fail(vm, IID_ERR_FORMAT, "string length %llu runs past the end (%zu bytes left)",
                       (unsigned long long)len, vm->size - vm->pos);
    if (len > PK_MAX_STRING)
        return vm_fail(vm, IID_ERR_RANGE, "string length %llu exceeds %llu", (unsigned long long)len,
                       (unsigned long long)PK_MAX_STRING);
    pk_obj_t *o;
    IID_TRY(new_obj(vm, PK_STR, &o));
    o->u.str.s = malloc((size_t)len + 1);
    if (!o->u.str.s) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
    memcpy(o->u.str.s, vm->p + vm->pos, (size_t)len);
    o->u.str.s[len] = '\0';
    o->u.str.len = (size_t)len;
    vm->pos += (size_t)len;
    return push(vm, o);
}

static iid_status push_int(pk_vm_t *vm, pk_kind_t kind, int64_t v)
{
    pk_obj_t *o;
    IID_TRY(new_obj(vm, kind, &o));
    o->u.i = v;
    return push(vm, o);
}

static iid_status op_long1(pk_vm_t *vm)
{
    IID_TRY(need(vm, 1));
    int n = (int)read_le(vm, 1);
    if (n > 8) return vm_fail(vm, IID_ERR_RANGE, "a %d-byte integer exceeds 64 bits", n);
    IID_TRY(need(vm, (uint64_t)n));
    uint64_t v = read_le(vm, n);
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return push_int(vm, PK_INT, (int64_t)v);
}

static iid_status op_binfloat(pk_vm_t *vm)
{
    IID_TRY(need(vm, 8));
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = (bits << 8) | vm->p[vm->pos++]; /* big-endian */
    pk_obj_t *o;
    IID_TRY(new_obj(vm, PK_FLOAT, &o));
    memcpy(&o->u.f, &bits, sizeof bits);
    return push(vm, o);
}

/* One '\n'-terminated line of GLOBAL; *line points into the input. */
static iid_status read_line(pk_vm_t *vm, const char **line, size_t *len)
{
    const unsigned char *start = vm->p + vm->pos;
    size_t left = vm->size - vm->pos;
    const unsigned char *nl = memchr(start, '\n', left < PK_MAX_LINE ? left : PK_MAX_LINE);
    if (!nl) return vm_fail(vm, IID_ERR_FORMAT, "name is unterminated or longer than %d bytes", PK_MAX_LINE);
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    vm->pos += *len + 1;
    return IID_OK;
}

static iid_status op_global(pk_vm_t *vm)
{
    const char *mod, *name;
    size_t ml, nl;
    IID_TRY(read_line(vm, &mod, &ml));
    IID_TRY(read_line(vm, &name, &nl));
    for (size_t i = 0; i < sizeof k_globals / sizeof k_globals[0]; i++) {
        if (strlen(k_globals[i].module) == ml && memcmp(k_globals[i].module, mod, ml) == 0 &&
            strlen(k_globals[i].name) == nl && memcmp(k_globals[i].name, name, nl) == 0) {
            pk_obj_t *o;
            IID_TRY(new_obj(vm, PK_GLOBAL, &o));
            o->u.global.fn = k_globals[i].fn;
            o->u.global.dtype = k_globals[i].dtype;
            return push(vm, o);
        }
    }
    char a[64], b[64];
    return vm_fail(vm, IID_ERR_UNSUPPORTED, "global '%s %s' is not allowed", printable(mod, ml, a, sizeof a),
                   printable(name, nl, b, sizeof b));
}

static iid_status memo_put(pk_vm_t *vm, uint64_t idx)
{
    IID_TRY(need_items(vm, 1));
    if (idx >= PK_MAX_MEMO)
        return vm_fail(vm, IID_ERR_RANGE, "memo index %llu exceeds %u", (unsigned long long)idx, PK_MAX_MEMO);
    if (idx >= vm->memo_cap) {
        size_t cap = vm->memo_cap ? vm->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        pk_obj_t **m = realloc(vm->memo, cap * sizeof *m);
        if (!m) return vm_fail(vm, IID_ERR_NOMEM, "out of memory");
        memset(m + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof *m);
        vm->memo = m;
        vm->memo_cap = cap;
    }
    if (!vm->memo[idx]) vm->memo_used++;
    vm->memo[idx] = vm->stack[vm->sp - 1];
    return IID_OK;
}

static iid_status memo_get(pk_vm_t *vm, uint64_t idx)
{
    if (idx >= vm->memo_cap || !vm->memo[idx])
        return vm_fail(vm, IID_ERR_FORMAT, "memo entry %llu is missing", (unsigned long long)idx);
    return push(vm, vm->memo[idx]);
}

/* SETITEMS / APPENDS: the segment above the mark goes into the object below it. */
static iid_status op_fill(pk_vm_t *vm, pk_kind_t want)
{
    size_t base = 0;
    IID_TRY(pop_mark(vm, &base));
    size_t n = vm->sp - base;
    if (base == seg_base(vm)) return vm_fail(vm, IID_ERR_FORMAT, "stack underflow: nothing below the mark");
    pk_obj_t *target = vm->stack[base - 1];
    if (target->kind != want)
        return vm_fail(vm, IID_ERR_FORMAT, "target is a %s, not a %s", k_kind_names[target->kind],
                       k_kind_names[want]);
    if (want == PK_DICT && n % 2) return vm_fail(vm, IID_ERR_FORMAT, "odd number of items (%zu)", n);
    for (size_t i = 0; i < n; i++) IID_TRY(seq_add(vm, target, vm->stack[base + i]));
    vm->sp = base;
    return IID_OK;
}

/* SETITEM (2 items) / APPEND (1 item) onto the object below them. */
static iid_status op_add(pk_vm_t *vm, pk_kind_t want, size_t n)
{
    IID_TRY(need_items(vm, n + 1));
    pk_obj_t *target = vm->stack[vm->sp - n - 1];
    if (target->kind != want)
        return vm_fail(vm, IID_ERR_FORMAT, "target is a %s, not a %s", k_kind_names[target->kind],
                       k_kind_names[want]);
    for (size_t i = 0; i < n; i++) IID_TRY(seq_add(vm, target, vm->stack[vm->sp - n + i]));
    vm->sp -= n;
    return IID_OK;
}

static bool is_int(const pk_obj_t *o, int64_t lo, int64_t hi)
{
    return o->kind == PK_INT && o->u.i >= lo && o->u.i <= hi;
}

static bool is_empty(const pk_obj_t *o, pk_kind_t kind) { return o->kind == kind && o->u.seq.n == 0; }

/* Read a size or stride tuple into dims[]. */
static iid_status int_tuple(pk_vm_t *vm, const pk_obj_t *t, const char *what, int64_t *dims, int *ndim)
{
    if (t->kind != PK_TUPLE)
        return vm_fail(vm, IID_ERR_FORMAT, "tensor %s is a %s, not a tuple", what, k_kind_names[t->kind]);
    if (t->u.seq.n > IID_MAX_DIMS)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "tensor %s has %zu dimensions, at most %d supported", what,
                       t->u.seq.n, IID_MAX_DIMS);
    for (size_t i = 0; i < t->u.seq.n; i++) {
        if (!is_int(t->u.seq.items[i], 0, PK_MAX_SIZE))
            return vm_fail(vm, IID_ERR_FORMAT, "tensor %s entry %zu is not an integer in [0, 2^40]", what, i);
        dims[i] = t->u.seq.items[i]->u.i;
    }
    *ndim = (int)t->u.seq.n;
    return IID_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]). */
static iid_status rebuild_tensor(pk_vm_t *vm, const pk_obj_t *args, pk_obj_t **out)
{
    size_t n = args->u.seq.n;
    pk_obj_t *const *a = args->u.seq.items;
    if (n != 6 && n != 7) return vm_fail(vm, IID_ERR_FORMAT, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %zu", n);
    if (a[0]->kind != PK_STORAGE)
        return vm_fail(vm, IID_ERR_FORMAT, "_rebuild_tensor_v2: storage is a %s", k_kind_names[a[0]->kind]);
    if (!is_int(a[1], 0, PK_MAX_NUMEL))
        return vm_fail(vm, IID_ERR_FORMAT, "_rebuild_tensor_v2: offset is not an integer in [0, 2^62]");
    if (a[4]->kind != PK_BOOL)
        return vm_fail(vm, IID_ERR_FORMAT, "_rebuild_tensor_v2: requires_grad is a %s", k_kind_names[a[4]->kind]);
    if (!is_empty(a[5], PK_DICT))
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "_rebuild_tensor_v2: backward hooks must be an empty dict");
    if (n == 7 && !is_empty(a[6], PK_DICT))
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "_rebuild_tensor_v2: tensor metadata must be an empty dict");
    pk_obj_t *t;
    IID_TRY(new_obj(vm, PK_TENSOR, &t));
    t->u.tensor.storage = a[0];
    t->u.tensor.offset = a[1]->u.i;
    int nstride;
    IID_TRY(int_tuple(vm, a[2], "size", t->u.tensor.shape, &t->u.tensor.ndim));
    IID_TRY(int_tuple(vm, a[3], "stride", t->u.tensor.stride, &nstride));
    if (nstride != t->u.tensor.ndim)
        return vm_fail(vm, IID_ERR_FORMAT, "tensor has %d sizes but %d strides", t->u.tensor.ndim, nstride);
    int64_t numel = 1;
    for (int i = 0; i < t->u.tensor.ndim; i++) {
        int64_t d = t->u.tensor.shape[i];
        if (d && numel > PK_MAX_NUMEL / d) return vm_fail(vm, IID_ERR_RANGE, "tensor size overflows");
        numel *= d;
    }
    *out = t;
    return IID_OK;
}

static iid_status op_reduce(pk_vm_t *vm)
{
    IID_TRY(need_items(vm, 2));
    pk_obj_t *args = vm->stack[vm->sp - 1], *fn = vm->stack[vm->sp - 2];
    if (fn->kind != PK_GLOBAL)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "cannot call a %s", k_kind_names[fn->kind]);
    if (args->kind != PK_TUPLE)
        return vm_fail(vm, IID_ERR_FORMAT, "arguments are a %s, not a tuple", k_kind_names[args->kind]);
    pk_obj_t *res = NULL;
    switch (fn->u.global.fn) {
    case G_ORDERED_DICT:
        if (args->u.seq.n) return vm_fail(vm, IID_ERR_UNSUPPORTED, "OrderedDict with arguments");
        IID_TRY(new_obj(vm, PK_DICT, &res));
        break;
    case G_REBUILD_TENSOR_V2: IID_TRY(rebuild_tensor(vm, args, &res)); break;
    case G_REBUILD_PARAMETER:
        if (args->u.seq.n != 3 || args->u.seq.items[0]->kind != PK_TENSOR ||
            args->u.seq.items[1]->kind != PK_BOOL || !is_empty(args->u.seq.items[2], PK_DICT))
            return vm_fail(vm, IID_ERR_FORMAT, "_rebuild_parameter takes (tensor, bool, empty dict)");
        res = args->u.seq.items[0];
        break;
    case G_STORAGE: return vm_fail(vm, IID_ERR_UNSUPPORTED, "a storage type is not callable");
    }
    vm->sp -= 2;
    return push(vm, res);
}

static iid_status op_build(pk_vm_t *vm)
{
    IID_TRY(need_items(vm, 2));
    const pk_obj_t *state = vm->stack[vm->sp - 1], *obj = vm->stack[vm->sp - 2];
    bool ok = false;
    if (obj->kind == PK_DICT) ok = state->kind == PK_NONE || state->kind == PK_DICT; /* attributes: dropped */
    if (obj->kind == PK_TENSOR)
        ok = state->kind == PK_NONE || is_empty(state, PK_DICT) || is_empty(state, PK_TUPLE);
    if (!ok)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "cannot set a %s state on a %s", k_kind_names[state->kind],
                       k_kind_names[obj->kind]);
    vm->sp--;
    return IID_OK;
}

/* ('storage', <StorageType>, key, location, numel) -> a storage reference. */
static iid_status op_persid(pk_vm_t *vm)
{
    IID_TRY(need_items(vm, 1));
    const pk_obj_t *pid = vm->stack[vm->sp - 1];
    if (pid->kind != PK_TUPLE || pid->u.seq.n != 5)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "persistent id is not a 5-tuple");
    pk_obj_t *const *a = pid->u.seq.items;
    if (a[0]->kind != PK_STR || strcmp(a[0]->u.str.s, "storage") != 0)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "persistent id does not start with 'storage'");
    if (a[1]->kind != PK_GLOBAL || a[1]->u.global.fn != G_STORAGE)
        return vm_fail(vm, IID_ERR_UNSUPPORTED, "persistent id names no storage type");
    const pk_obj_t *key = a[2];
    bool key_ok = key->kind == PK_STR && key->u.str.len >= 1 && key->u.str.len <= PK_MAX_KEY;
    for (size_t i = 0; key_ok && i < key->u.str.len; i++) {
        char c = key->u.str.s[i];
        key_ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }
    if (!key_ok) return vm_fail(vm, IID_ERR_FORMAT, "storage key must be 1-%d characters of [A-Za-z0-9_]", PK_MAX_KEY);
    if (a[3]->kind != PK_STR) return vm_fail(vm, IID_ERR_FORMAT, "storage location is not a string");
    if (!is_int(a[4], 0, PK_MAX_NUMEL))
        return vm_fail(vm, IID_ERR_FORMAT, "storage size is not an integer in [0, 2^62]");
    pk_obj_t *s;
    IID_TRY(new_obj(vm, PK_STORAGE, &s));
    s->u.storage.dtype = a[1]->u.global.dtype;
    s->u.storage.key = key;
    s->u.storage.numel = a[4]->u.i;
    vm->sp--;
    return push(vm, s);
}

static iid_status step(pk_vm_t *vm, unsigned char op, bool *stop)
{
    size_t base = 0;
    pk_obj_t *o;
    switch (op) {
    case 0x80: /* PROTO */
        IID_TRY(need(vm, 1));
        if (read_le(vm, 1) > 5) return vm_fail(vm, IID_ERR_UNSUPPORTED, "protocol above 5");
        return IID_OK;
    case 0x95: /* FRAME: a length hint, checked and skipped */
        IID_TRY(need(vm, 8));
        if (read_le(vm, 8) > vm->size - vm->pos) return vm_fail(vm, IID_ERR_FORMAT, "frame runs past the end");
        return IID_OK;
    case '}': IID_TRY(new_obj(vm, PK_DICT, &o)); return push(vm, o);
    case ']': IID_TRY(new_obj(vm, PK_LIST, &o)); return push(vm, o);
    case ')': return make_tuple(vm, vm->sp);
    case '(':
        if (vm->nmarks == PK_MAX_MARKS) return vm_fail(vm, IID_ERR_RANGE, "marks nest deeper than %d", PK_MAX_MARKS);
        vm->marks[vm->nmarks++] = vm->sp;
        return IID_OK;
    case 't': IID_TRY(pop_mark(vm, &base)); return make_tuple(vm, base);
    case 0x85:
    case 0x86:
    case 0x87: IID_TRY(need_items(vm, (size_t)(op - 0x84))); return make_tuple(vm, vm->sp - (size_t)(op - 0x84));
    case 'X': return op_string(vm, 4, false);
    case 0x8c: return op_string(vm, 1, false);
    case 'T': return op_string(vm, 4, true);
    case 'U': return op_string(vm, 1, false);
    case 'J': IID_TRY(need(vm, 4)); return push_int(vm, PK_INT, (int32_t)(uint32_t)read_le(vm, 4));
    case 'K': IID_TRY(need(vm, 1)); return push_int(vm, PK_INT, (int64_t)read_le(vm, 1));
    case 'M': IID_TRY(need(vm, 2)); return push_int(vm, PK_INT, (int64_t)read_le(vm, 2));
    case 0x8a: return op_long1(vm);
    case 'G': return op_binfloat(vm);
    case 0x88: return push_int(vm, PK_BOOL, 1);
    case 0x89: return push_int(vm, PK_BOOL, 0);
    case 'N': IID_TRY(new_obj(vm, PK_NONE, &o)); return push(vm, o);
    case 'q': IID_TRY(need(vm, 1)); return memo_put(vm, read_le(vm, 1));
    case 'r': IID_TRY(need(vm, 4)); return memo_put(vm, read_le(vm, 4));
    case 0x94: return memo_put(vm, vm->memo_used);
    case 'h': IID_TRY(need(vm, 1)); return memo_get(vm, read_le(vm, 1));
    case 'j': IID_TRY(need(vm, 4)); return memo_get(vm, read_le(vm, 4));
    case 's': return op_add(vm, PK_DICT, 2);
    case 'u': return op_fill(vm, PK_DICT);
    case 'a': return op_add(vm, PK_LIST, 1);
    case 'e': return op_fill(vm, PK_LIST);
    case 'c': return op_global(vm);
    case 'R': return op_reduce(vm);
    case 'b': return op_build(vm);
    case 'Q': return op_persid(vm);
    case '.':
        if (vm->nmarks || vm->sp != 1)
            return vm_fail(vm, IID_ERR_FORMAT, "stops with %zu stack items and %d open marks, wanted 1 and 0", vm->sp,
                           vm->nmarks);
        if (vm->pos != vm->size) return vm_fail(vm, IID_ERR_FORMAT, "%zu trailing bytes", vm->size - vm->pos);
        *stop = true;
        return IID_OK;
    default:
        if (k_op_names[op]) return vm_fail(vm, IID_ERR_UNSUPPORTED, "not allowed in a torch state dict");
        return vm_fail(vm, IID_ERR_FORMAT, "unknown opcode");
    }
}

typedef struct pk_out {
    iid_pk_tensor_t *items;
    int count, cap;
} pk_out_t;

static iid_status emit(pk_vm_t *vm, pk_out_t *out, const char *name, const pk_obj_t *t)
{
    if (out->count == out->cap) {
        int cap = out->cap ? 2 * out->cap : 64;
        iid_pk_tensor_t *items = realloc(out->items, (size_t)cap * sizeof *items);
        if (!items) return iid__fail(vm->err, IID_ERR_NOMEM, "%s: out of memory", vm->label);
        out->items = items;
        out->cap = cap;
    }
    iid_pk_tensor_t *r = &out->items[out->count];
    memset(r, 0, sizeof *r);
    const pk_obj_t *s = t->u.tensor.storage;
    r->name = strdup(name);
    r->key = strdup(s->u.storage.key->u.str.s);
    out->count++; /* counted before the check so a failure frees both strings */
    if (!r->name || !r->key) return iid__fail(vm->err, IID_ERR_NOMEM, "%s: out of memory", vm->label);
    r->dtype = s->u.storage.dtype;
    r->storage_numel = s->u.storage.numel;
    r->offset = t->u.tensor.offset;
    r->ndim = t->u.tensor.ndim;
    memcpy(r->shape, t->u.tensor.shape, sizeof r->shape);
    memcpy(r->stride, t->u.tensor.stride, sizeof r->stride);
    return IID_OK;
}

/* Walk dict d, whose flattened name so far is name[0..len). */
static iid_status flatten(pk_vm_t *vm, pk_obj_t *d, char *name, size_t len, int depth, pk_out_t *out)
{
    char shown[64];
    if (depth > PK_MAX_DEPTH)
        return iid__fail(vm->err, IID_ERR_RANGE, "%s: dicts nest deeper than %d", vm->label, PK_MAX_DEPTH);
    if (d->visited)
        return iid__fail(vm->err, IID_ERR_FORMAT, "%s: dict '%s' is reached twice (shared or cyclic)", vm->label,
                         printable(name, len, shown, sizeof shown));
    d->visited = true;
    for (size_t i = 0; i + 1 < d->u.seq.n; i += 2) {
        const pk_obj_t *k = d->u.seq.items[i];
        pk_obj_t *v = d->u.seq.items[i + 1];
        if (k->kind != PK_STR)
            return iid__fail(vm->err, IID_ERR_FORMAT, "%s: a key under '%s' is a %s, not a string", vm->label,
                             printable(name, len, shown, sizeof shown), k_kind_names[k->kind]);
        for (size_t c = 0; c < k->u.str.len; c++)
            if ((unsigned char)k->u.str.s[c] < 0x20 || k->u.str.s[c] == 0x7f)
                return iid__fail(vm->err, IID_ERR_FORMAT, "%s: a key under '%s' holds a control character",
                                 vm->label, printable(name, len, shown, sizeof shown));
        size_t sep = len ? 1 : 0;
        if (len + sep + k->u.str.len >= PK_MAX_NAME)
            return iid__fail(vm->err, IID_ERR_RANGE, "%s: a name under '%s' is longer than %d bytes", vm->label,
                             printable(name, len, shown, sizeof shown), PK_MAX_NAME);
        if (sep) name[len] = '.';
        memcpy(name + len + sep, k->u.str.s, k->u.str.len + 1);
        size_t nlen = len + sep + k->u.str.len;
        if (v->kind == PK_TENSOR) IID_TRY(emit(vm, out, name, v));
        else if (v->kind == PK_DICT) IID_TRY(flatten(vm, v, name, nlen, depth + 1, out));
        else
            return iid__fail(vm->err, IID_ERR_FORMAT, "%s: entry '%s' is a %s, not a tensor or a dict", vm->label,
                             printable(name, nlen, shown, sizeof shown), k_kind_names[v->kind]);
        name[len] = '\0';
    }
    return IID_OK;
}

iid_status iid__pickle_state_dict(const void *buf, size_t size, const char *label, iid_pk_tensor_t **out,
                                  int *count, iid_error_t *err)
{
    *out = NULL;
    *count = 0;
    if (size > IID_PK_MAX_INPUT)
        return iid__fail(err, IID_ERR_RANGE, "%s: %zu bytes of pickle exceeds the limit of %zu", label, size,
                         IID_PK_MAX_INPUT);
    pk_vm_t vm = {.p = buf, .size = size, .label = label, .err = err};
    iid_status s = IID_OK;
    bool stop = false;
    while (s == IID_OK && !stop) {
        if (vm.pos >= vm.size) {
            s = iid__fail(err, IID_ERR_FORMAT, "%s: byte %zu: ends without STOP", label, vm.pos);
            break;
        }
        vm.op_pos = vm.pos++;
        s = step(&vm, vm.p[vm.op_pos], &stop);
    }
    pk_out_t res = {0};
    if (s == IID_OK) {
        pk_obj_t *root = vm.stack[0];
        char name[PK_MAX_NAME];
        name[0] = '\0';
        if (root->kind != PK_DICT)
            s = iid__fail(err, IID_ERR_FORMAT, "%s: the pickle holds a %s, not a dict", label,
                          k_kind_names[root->kind]);
        else s = flatten(&vm, root, name, 0, 0, &res);
    }
    vm_free(&vm);
    if (s != IID_OK) {
        iid__pk_tensors_free(res.items, res.count);
        return s;
    }
    *out = res.items;
    *count = res.count;
    return IID_OK;
}

void iid__pk_tensors_free(iid_pk_tensor_t *t, int count)
{
    if (!t) return;
    for (int i = 0; i < count; i++) {
        free(t[i].name);
        free(t[i].key);
    }
    free(t);
}
