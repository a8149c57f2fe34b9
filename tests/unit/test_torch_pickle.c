/* test_torch_pickle.c - torch zip checkpoints: the kit's ip-adapter.bin against its
 * safetensors twin, crafted torch-like archives, and every refused pickle and zip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "io/pickle.h"
#include "io/torch_zip.h"
#include "support.h"

/* ---- a pickle writer for crafted inputs ---------------------------------- */

typedef struct pk {
    unsigned char b[8192];
    size_t n;
} pk_t;

static void put(pk_t *p, const void *data, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, data, n);
    p->n += n;
}

static void op(pk_t *p, unsigned char c) { put(p, &c, 1); }

static void u32(pk_t *p, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
    put(p, b, 4);
}

static void ustr(pk_t *p, const char *s)
{
    op(p, 'X');
    u32(p, (uint32_t)strlen(s));
    put(p, s, strlen(s));
}

static void global(pk_t *p, const char *mod, const char *name)
{
    op(p, 'c');
    put(p, mod, strlen(mod));
    op(p, '\n');
    put(p, name, strlen(name));
    op(p, '\n');
}

static void pint(pk_t *p, int v)
{
    if (v < 256) {
        op(p, 'K');
        op(p, (unsigned char)v);
    } else {
        op(p, 'M');
        op(p, (unsigned char)(v & 0xff));
        op(p, (unsigned char)(v >> 8));
    }
}

static void proto(pk_t *p)
{
    op(p, 0x80);
    op(p, 2);
}

/* The bytes torch.save writes for one tensor: _rebuild_tensor_v2((persistent id),
 * offset, size, stride, False, OrderedDict()). */
static void tensor(pk_t *p, const char *type, const char *key, int numel, int offset, int ndim, const int *shape,
                   const int *stride)
{
    global(p, "torch._utils", "_rebuild_tensor_v2");
    op(p, '(');
    op(p, '(');
    ustr(p, "storage");
    global(p, "torch", type);
    ustr(p, key);
    ustr(p, "cpu");
    pint(p, numel);
    op(p, 't');
    op(p, 'Q');
    pint(p, offset);
    op(p, '(');
    for (int i = 0; i < ndim; i++) pint(p, shape[i]);
    op(p, 't');
    op(p, '(');
    for (int i = 0; i < ndim; i++) pint(p, stride[i]);
    op(p, 't');
    op(p, 0x89);
    global(p, "collections", "OrderedDict");
    op(p, ')');
    op(p, 'R');
    op(p, 't');
    op(p, 'R');
}

/* {"w": tensor} with the given geometry over storage "0". */
static void one_tensor_dict(pk_t *p, int numel, int offset, int ndim, const int *shape, const int *stride)
{
    proto(p);
    op(p, '}');
    ustr(p, "w");
    tensor(p, "FloatStorage", "0", numel, offset, ndim, shape, stride);
    op(p, 's');
    op(p, '.');
}

/* ---- zip archives --------------------------------------------------------- */

typedef struct entry {
    const char *name;
    const void *data;
    size_t len;
} entry_t;

/* Write a zip of the entries to dir/name, each compressed with method `cm`
 * (torch writes ZIP_CM_STORE); returns the path. */
static char *write_zip_cm(const char *dir, const char *name, const entry_t *e, int n, zip_int32_t cm)
{
    char *path = iid_test_write(dir, name, "", 0);
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(za);
    for (int i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(za, e[i].data, e[i].len, 0);
        assert_non_null(src);
        zip_int64_t idx = zip_file_add(za, e[i].name, src, ZIP_FL_OVERWRITE);
        assert_true(idx >= 0);
        assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)idx, cm, 0), 0);
    }
    assert_int_equal(zip_close(za), 0);
    return path;
}

static char *write_zip(const char *dir, const char *name, const entry_t *e, int n)
{
    return write_zip_cm(dir, name, e, n, ZIP_CM_STORE);
}

/* A torch-like archive "arch/" holding pkl and one storage "arch/data/0". */
static char *write_ckpt(const char *dir, const char *name, const pk_t *p, const void *data, size_t len)
{
    entry_t e[3] = {{"arch/data.pkl", p->b, p->n}, {"arch/data/0", data, len}, {"arch/version", "3\n", 2}};
    return write_zip(dir, name, e, 3);
}

/* The call failed with `code`, and its message is one line naming `label` and
 * holding `fragment`. */
static void check_refusal(iid_status s, const iid_error_t *err, iid_status code, const char *label,
                          const char *fragment)
{
    if (s != code || !strstr(err->msg, fragment) || !strstr(err->msg, label) || strchr(err->msg, '\n'))
        fail_msg("got status %d message '%s', wanted %d naming '%s' and containing '%s'", s, err->msg, code, label,
                 fragment);
}

static void expect_pickle_refused(const pk_t *p, iid_status code, const char *fragment)
{
    iid_pk_tensor_t *t = (iid_pk_tensor_t *)1;
    int n = -1;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status s = iid__pickle_state_dict(p->b, p->n, "t.pkl", &t, &n, &err);
    check_refusal(s, &err, code, "t.pkl", fragment);
    assert_null(t);
    assert_int_equal(n, 0);
}

static void expect_open_refused(const char *path, iid_status code, const char *fragment)
{
    iid_safetensors_t st;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status s = iid__weights_open(&st, path, &err);
    check_refusal(s, &err, code, path, fragment);
    assert_int_equal(st.count, 0);
    assert_null(st.tensors);
}

/* ---- the kit's checkpoint ------------------------------------------------- */

static void test_kit_bin_matches_safetensors(void **state)
{
    (void)state;
    char bin_path[4096];
    snprintf(bin_path, sizeof bin_path, "%s", iid_test_shared_path("conformance/models/ip-adapter.bin"));
    const char *st_path = iid_test_shared_path("conformance/models/ip-adapter.safetensors");
    iid_safetensors_t bin, ref;
    iid_error_t err;
    if (iid__weights_open(&bin, bin_path, &err) != IID_OK) fail_msg("%s", err.msg);
    if (iid__weights_open(&ref, st_path, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(bin.count, ref.count);
    assert_true(bin.count > 0);
    assert_int_equal(bin.owned_count, bin.count); /* the kit file shares no storage */
    int n_proj = 0, n_ip = 0;
    for (int i = 0; i < ref.count; i++) {
        const iid_st_tensor_t *r = &ref.tensors[i];
        const iid_st_tensor_t *b = iid__st_find(&bin, r->name);
        if (!b) fail_msg("%s is missing from ip-adapter.bin", r->name);
        assert_int_equal(b->dtype, r->dtype);
        assert_int_equal(b->ndim, r->ndim);
        assert_memory_equal(b->shape, r->shape, sizeof r->shape[0] * (size_t)r->ndim);
        assert_int_equal(b->nbytes, r->nbytes);
        if (memcmp(b->data, r->data, r->nbytes) != 0) fail_msg("%s: data differs", r->name);
        n_proj += strncmp(r->name, "image_proj.", 11) == 0;
        n_ip += strncmp(r->name, "ip_adapter.", 11) == 0;
    }
    assert_int_equal(n_proj + n_ip, ref.count);
    assert_true(n_proj > 0 && n_ip > 0);
    /* The dispatcher picked each format by content; the direct calls agree. */
    assert_null(bin.map.data);
    assert_non_null(ref.map.data);
    iid_safetensors_t direct;
    if (iid__torch_open(&direct, bin_path, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(direct.count, bin.count);
    iid__st_close(&direct);
    assert_int_equal(iid__torch_open(&direct, st_path, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not a zip archive"));
    iid__st_close(&bin);
    iid__st_close(&ref);
}

/* Truncations of the real file: never OK, never a crash, always one line. */
static void test_kit_bin_truncated(void **state)
{
    (void)state;
    char *bytes;
    size_t size;
    iid_error_t err;
    const char *bin_path = iid_test_shared_path("conformance/models/ip-adapter.bin");
    if (iid__file_read_all(bin_path, (size_t)64 << 20, &bytes, &size, &err) != IID_OK) fail_msg("%s", err.msg);
    char *dir = iid_test_tempdir();
    size_t cuts[] = {1, 4, 30, 100, 1000, 9000, size / 2, size - 100, size - 22, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char *path = iid_test_write(dir, "cut.bin", bytes, cuts[i]);
        expect_open_refused(path, IID_ERR_FORMAT, "cut.bin");
        free(path);
    }
    /* One flipped byte inside a stored tensor: the CRC check refuses it. */
    bytes[size / 2] ^= 0x55;
    char *path = iid_test_write(dir, "flip.bin", bytes, size);
    expect_open_refused(path, IID_ERR_FORMAT, "CRC");
    free(path);
    free(bytes);
    iid_test_rmtree(dir);
    free(dir);
}

/* ---- crafted archives that must load --------------------------------------- */

static void test_crafted_checkpoint(void **state)
{
    (void)state;
    /* {"outer": {"a": F32 [2, 3] at offset 2, "b": the same storage via BINGET
     * with offset 0 as a Parameter}, "h": F16 [2]}, with FRAME, MEMOIZE, LONG1,
     * BUILD of _metadata and BINFLOAT inside the dropped state. */
    pk_t p = {0};
    proto(&p);
    op(&p, 0x95);
    unsigned char frame_len[8] = {0};
    put(&p, frame_len, 8);
    op(&p, '}');
    op(&p, 0x94); /* memo 0: the root */
    op(&p, '(');
    ustr(&p, "outer");
    global(&p, "collections", "OrderedDict");
    op(&p, ')');
    op(&p, 'R');
    op(&p, 0x94); /* memo 1: the inner dict */
    ustr(&p, "a");
    int shape[2] = {2, 3}, stride[2] = {3, 1};
    tensor(&p, "FloatStorage", "0", 8, 2, 2, shape, stride);
    op(&p, 's');
    ustr(&p, "b");
    global(&p, "torch._utils", "_rebuild_parameter");
    op(&p, '(');
    int one[1] = {2}, unit[1] = {1};
    tensor(&p, "FloatStorage", "0", 8, 0, 1, one, unit);
    op(&p, 0x88);
    global(&p, "collections", "OrderedDict");
    op(&p, ')');
    op(&p, 'R');
    op(&p, 't');
    op(&p, 'R');
    op(&p, 's');
    op(&p, '}'); /* BUILD state: {"_metadata": {"version": 1.5, "n": -2}} */
    ustr(&p, "_metadata");
    op(&p, '}');
    ustr(&p, "version");
    op(&p, 'G');
    unsigned char f15[8] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    put(&p, f15, 8);
    op(&p, 's');
    ustr(&p, "n");
    op(&p, 0x8a);
    op(&p, 1);
    op(&p, 0xfe);
    op(&p, 's');
    op(&p, 's'); /* state["_metadata"] = the metadata dict */
    op(&p, 'b'); /* BUILD: the inner dict drops it */
    op(&p, 0x8c); /* SHORT_BINUNICODE "h" */
    op(&p, 1);
    op(&p, 'h');
    tensor(&p, "HalfStorage", "h1", 2, 0, 1, one, unit);
    op(&p, 'u'); /* root: "outer" and "h" */
    op(&p, '.');
    float f32[8] = {0, 0, 1, 2, 3, 4, 5, 6};
    uint16_t f16[2] = {0x3c00, 0xc000};
    entry_t e[3] = {{"my-model/data.pkl", p.b, p.n}, {"my-model/data/0", f32, sizeof f32},
                    {"my-model/data/h1", f16, sizeof f16}};
    char *dir = iid_test_tempdir();
    /* Stored as torch writes it, or deflated by some other zip tool: the same. */
    for (int deflate = 0; deflate < 2; deflate++) {
        char *path = write_zip_cm(dir, "crafted.pt", e, 3, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE);
        iid_safetensors_t st;
        iid_error_t err;
        if (iid__weights_open(&st, path, &err) != IID_OK) fail_msg("%s", err.msg);
        assert_int_equal(st.count, 3);
        assert_int_equal(st.owned_count, 2); /* storage "0" is read once */
        assert_string_equal(st.tensors[0].name, "h");
        assert_string_equal(st.tensors[1].name, "outer.a");
        assert_string_equal(st.tensors[2].name, "outer.b");
        const iid_st_tensor_t *a = iid__st_find(&st, "outer.a");
        assert_int_equal(a->dtype, IID_DTYPE_F32);
        assert_int_equal(a->ndim, 2);
        assert_true(a->shape[0] == 2 && a->shape[1] == 3);
        assert_int_equal(a->nbytes, 24);
        assert_memory_equal(a->data, f32 + 2, 24);
        const iid_st_tensor_t *b = iid__st_find(&st, "outer.b");
        assert_memory_equal(b->data, f32, 8);
        float h[2];
        assert_int_equal(iid__st_read_f32(&st.tensors[0], h, &err), IID_OK);
        assert_true(h[0] == 1.0f && h[1] == -2.0f);
        assert_string_equal(st.path, path);
        iid__st_close(&st);
        iid__st_close(&st); /* closing twice is harmless */
        free(path);
    }
    iid_test_rmtree(dir);
    free(dir);
}

/* ---- malicious and broken pickles ------------------------------------------ */

static void test_refuses_code_execution(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "touch %s/pwned", dir);
    const char *bad[][2] = {{"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "exec"},
                            {"__builtin__", "getattr"}, {"subprocess", "Popen"}, {"torch", "load"},
                            {"torch._utils", "_rebuild_from_type_v2"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pk_t p = {0};
        proto(&p);
        global(&p, bad[i][0], bad[i][1]);
        ustr(&p, cmd);
        op(&p, 0x85);
        op(&p, 'R');
        op(&p, '.');
        char want[128];
        snprintf(want, sizeof want, "global '%s %s' is not allowed", bad[i][0], bad[i][1]);
        expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, want);
        expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "byte 2, opcode GLOBAL");
    }
    /* Inside a zip, the message names the archive and its data.pkl. */
    pk_t p = {0};
    proto(&p);
    global(&p, "os", "system");
    ustr(&p, cmd);
    op(&p, 0x85);
    op(&p, 'R');
    op(&p, '.');
    char *path = write_ckpt(dir, "evil.pt", &p, "", 0);
    expect_open_refused(path, IID_ERR_UNSUPPORTED, "arch/data.pkl: byte 2, opcode GLOBAL: global 'os system'");
    free(path);
    struct stat sb;
    char marker[4200];
    snprintf(marker, sizeof marker, "%s/pwned", dir);
    assert_int_not_equal(stat(marker, &sb), 0); /* nothing ran */
    iid_test_rmtree(dir);
    free(dir);
}

static void test_refuses_bad_opcodes(void **state)
{
    (void)state;
    pk_t p = {0};
    proto(&p);
    op(&p, 0xff);
    expect_pickle_refused(&p, IID_ERR_FORMAT, "byte 2, opcode 0xff: unknown opcode");
    /* Real pickle opcodes outside the torch subset are refused by name. */
    const struct {
        unsigned char op;
        const char *name;
    } known[] = {{'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x93, "STACK_GLOBAL"}, {'0', "POP"},
                 {'2', "DUP"}, {'S', "STRING"}, {'P', "PERSID"}, {0x82, "EXT1"}, {'d', "DICT"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        pk_t q = {0};
        proto(&q);
        op(&q, ']');
        op(&q, known[i].op);
        char want[64];
        snprintf(want, sizeof want, "byte 3, opcode %s: not allowed", known[i].name);
        expect_pickle_refused(&q, IID_ERR_UNSUPPORTED, want);
    }
    pk_t v = {0};
    op(&v, 0x80);
    op(&v, 6);
    expect_pickle_refused(&v, IID_ERR_UNSUPPORTED, "protocol above 5");
}

static void test_refuses_broken_pickles(void **state)
{
    (void)state;
    pk_t p;
    /* Every truncation of a valid torch-like pickle. */
    pk_t full = {0};
    int shape[2] = {2, 2}, stride[2] = {2, 1};
    one_tensor_dict(&full, 4, 0, 2, shape, stride);
    iid_pk_tensor_t *t;
    int n;
    iid_error_t err;
    assert_int_equal(iid__pickle_state_dict(full.b, full.n, "t.pkl", &t, &n, &err), IID_OK);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].name, "w");
    assert_string_equal(t[0].key, "0");
    assert_int_equal(t[0].storage_numel, 4);
    iid__pk_tensors_free(t, n);
    for (size_t cut = 0; cut < full.n; cut++) {
        pk_t c = full;
        c.n = cut;
        iid_status s = iid__pickle_state_dict(c.b, c.n, "t.pkl", &t, &n, &err);
        if (s == IID_OK || !strstr(err.msg, "t.pkl")) fail_msg("cut at %zu: %d '%s'", cut, s, err.msg);
    }
    p = full;
    p.n--;
    expect_pickle_refused(&p, IID_ERR_FORMAT, "ends without STOP");
    p = full;
    op(&p, 'N');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "1 trailing bytes");

    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    op(&p, 'h');
    op(&p, 5);
    expect_pickle_refused(&p, IID_ERR_FORMAT, "byte 3, opcode BINGET: memo entry 5 is missing");
    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    op(&p, 'r');
    u32(&p, 0xffffffffu);
    expect_pickle_refused(&p, IID_ERR_RANGE, "memo index 4294967295");

    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    op(&p, 's');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "opcode SETITEM: stack underflow");
    p = (pk_t){0}; /* items below a MARK are out of reach */
    proto(&p);
    op(&p, '}');
    ustr(&p, "k");
    op(&p, '(');
    op(&p, 'N');
    op(&p, 's');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "stack underflow");
    p = (pk_t){0};
    proto(&p);
    op(&p, 't');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "no MARK");
    p = (pk_t){0};
    proto(&p);
    op(&p, '(');
    op(&p, 'N');
    op(&p, 'u');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "nothing below the mark");

    p = (pk_t){0};
    proto(&p);
    op(&p, 'X');
    u32(&p, 0x7fffffffu);
    put(&p, "abc", 3);
    expect_pickle_refused(&p, IID_ERR_FORMAT, "opcode BINUNICODE: string length 2147483647 runs past the end");
    p = (pk_t){0};
    proto(&p);
    op(&p, 0x8a);
    op(&p, 9);
    expect_pickle_refused(&p, IID_ERR_RANGE, "exceeds 64 bits");

    /* Nesting: containers, tuples and marks. */
    p = (pk_t){0};
    proto(&p);
    for (int i = 0; i < 40; i++) op(&p, ']');
    for (int i = 0; i < 39; i++) op(&p, 'a');
    expect_pickle_refused(&p, IID_ERR_RANGE, "nest deeper than 32");
    p = (pk_t){0};
    proto(&p);
    op(&p, 'N');
    for (int i = 0; i < 40; i++) op(&p, 0x85);
    expect_pickle_refused(&p, IID_ERR_RANGE, "nest deeper than 32");
    p = (pk_t){0};
    proto(&p);
    for (int i = 0; i < 100; i++) op(&p, '(');
    expect_pickle_refused(&p, IID_ERR_RANGE, "marks nest deeper than 64");
}

static void test_refuses_bad_structure(void **state)
{
    (void)state;
    pk_t p = {0};
    proto(&p); /* d = {}; d["a"] = d */
    op(&p, '}');
    op(&p, 'q');
    op(&p, 0);
    ustr(&p, "a");
    op(&p, 'h');
    op(&p, 0);
    op(&p, 's');
    op(&p, '.');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "reached twice");

    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    ustr(&p, "step");
    op(&p, 'K');
    op(&p, 7);
    op(&p, 's');
    op(&p, '.');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "entry 'step' is a int, not a tensor or a dict");

    p = (pk_t){0};
    proto(&p);
    op(&p, ']');
    op(&p, '.');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "holds a list, not a dict");

    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    ustr(&p, "bad\nkey");
    op(&p, '}');
    op(&p, 's');
    op(&p, '.');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "control character");

    p = (pk_t){0};
    proto(&p);
    op(&p, '}');
    op(&p, ')');
    op(&p, 'R');
    expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "cannot call a dict");

    p = (pk_t){0};
    proto(&p);
    global(&p, "collections", "OrderedDict");
    op(&p, 'N');
    op(&p, 0x85);
    op(&p, 'R');
    expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "OrderedDict with arguments");

    p = (pk_t){0};
    proto(&p);
    global(&p, "torch", "FloatStorage");
    op(&p, ')');
    op(&p, 'R');
    expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "not callable");

    p = (pk_t){0};
    proto(&p);
    ustr(&p, "module");
    op(&p, 'Q');
    expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "persistent id is not a 5-tuple");

    p = (pk_t){0};
    proto(&p);
    op(&p, '(');
    ustr(&p, "storage");
    global(&p, "torch", "FloatStorage");
    ustr(&p, "../../etc/passwd");
    ustr(&p, "cpu");
    op(&p, 'K');
    op(&p, 4);
    op(&p, 't');
    op(&p, 'Q');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "storage key must be");

    p = (pk_t){0}; /* a list state on a dict */
    proto(&p);
    op(&p, '}');
    op(&p, ']');
    op(&p, 'b');
    expect_pickle_refused(&p, IID_ERR_UNSUPPORTED, "cannot set a list state on a dict");

    p = (pk_t){0}; /* shape and stride of different lengths */
    int shape[2] = {2, 2}, stride[1] = {1};
    proto(&p);
    op(&p, '}');
    ustr(&p, "w");
    global(&p, "torch._utils", "_rebuild_tensor_v2");
    op(&p, '(');
    op(&p, '(');
    ustr(&p, "storage");
    global(&p, "torch", "FloatStorage");
    ustr(&p, "0");
    ustr(&p, "cpu");
    pint(&p, 4);
    op(&p, 't');
    op(&p, 'Q');
    pint(&p, 0);
    op(&p, '(');
    pint(&p, shape[0]);
    pint(&p, shape[1]);
    op(&p, 't');
    op(&p, '(');
    pint(&p, stride[0]);
    op(&p, 't');
    op(&p, 0x89);
    op(&p, '}');
    op(&p, 't');
    op(&p, 'R');
    expect_pickle_refused(&p, IID_ERR_FORMAT, "2 sizes but 1 strides");
}

/* ---- archives whose pickle is fine but whose storages are not --------------- */

static void test_refuses_bad_storages(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    float data[16] = {0};
    pk_t p;
    char *path;
    int shape[2] = {4, 4}, cstride[2] = {4, 1}, fstride[2] = {1, 4};

    p = (pk_t){0}; /* the storage entry is absent */
    one_tensor_dict(&p, 16, 0, 2, shape, cstride);
    entry_t only_pkl[1] = {{"arch/data.pkl", p.b, p.n}};
    path = write_zip(dir, "nokey.pt", only_pkl, 1);
    expect_open_refused(path, IID_ERR_NOT_FOUND, "tensor 'w': storage entry 'arch/data/0' is missing");
    free(path);

    path = write_ckpt(dir, "small.pt", &p, data, 32); /* 16 floats declared, 8 stored */
    expect_open_refused(path, IID_ERR_FORMAT, "storage entry 'arch/data/0' has 32 bytes, too few for 16 F32");
    free(path);

    p = (pk_t){0}; /* the view runs past the declared storage size */
    one_tensor_dict(&p, 16, 4, 2, shape, cstride);
    path = write_ckpt(dir, "past.pt", &p, data, sizeof data);
    expect_open_refused(path, IID_ERR_FORMAT, "elements [4, 20) exceed its storage of 16");
    free(path);

    p = (pk_t){0}; /* Fortran order */
    one_tensor_dict(&p, 16, 0, 2, shape, fstride);
    path = write_ckpt(dir, "strided.pt", &p, data, sizeof data);
    expect_open_refused(path, IID_ERR_UNSUPPORTED, "strides [1, 4] for shape [4, 4] are not contiguous");
    free(path);

    p = (pk_t){0}; /* a valid pickle, big-endian data */
    one_tensor_dict(&p, 16, 0, 2, shape, cstride);
    entry_t big[3] = {{"arch/data.pkl", p.b, p.n}, {"arch/data/0", data, sizeof data}, {"arch/byteorder", "big", 3}};
    path = write_zip(dir, "big.pt", big, 3);
    expect_open_refused(path, IID_ERR_UNSUPPORTED, "'arch/byteorder' is not \"little\"");
    free(path);
    entry_t little[3] = {
        {"arch/data.pkl", p.b, p.n}, {"arch/data/0", data, sizeof data}, {"arch/byteorder", "little", 6}};
    path = write_zip(dir, "little.pt", little, 3);
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__weights_open(&st, path, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.count, 1);
    iid__st_close(&st);
    free(path);

    entry_t two[2] = {{"a/data.pkl", p.b, p.n}, {"b/data.pkl", p.b, p.n}};
    path = write_zip(dir, "two.pt", two, 2);
    expect_open_refused(path, IID_ERR_FORMAT, "several");
    free(path);
    entry_t none[1] = {{"deep/er/data.pkl", p.b, p.n}};
    path = write_zip(dir, "none.pt", none, 1);
    expect_open_refused(path, IID_ERR_FORMAT, "no '<root>/data.pkl' entry");
    free(path);

    p = (pk_t){0}; /* {"w": t, "w": t}: a name twice */
    proto(&p);
    op(&p, '}');
    ustr(&p, "w");
    tensor(&p, "FloatStorage", "0", 16, 0, 2, shape, cstride);
    op(&p, 'q');
    op(&p, 9);
    op(&p, 's');
    ustr(&p, "w");
    op(&p, 'h');
    op(&p, 9);
    op(&p, 's');
    op(&p, '.');
    path = write_ckpt(dir, "twice.pt", &p, data, sizeof data);
    expect_open_refused(path, IID_ERR_FORMAT, "tensor 'w' appears twice");
    free(path);

    iid_test_rmtree(dir);
    free(dir);
}

static void test_dispatcher_refusals(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "empty.bin", "", 0);
    expect_open_refused(path, IID_ERR_FORMAT, "empty file");
    free(path);
    const char text[] = "this is a text file, not weights\n";
    path = iid_test_write(dir, "notes.bin", text, sizeof text - 1);
    expect_open_refused(path, IID_ERR_FORMAT, "neither a torch zip archive nor a safetensors file");
    free(path);
    const char fake_zip[] = "PK\x03\x04 but nothing else";
    path = iid_test_write(dir, "pk.bin", fake_zip, sizeof fake_zip - 1);
    expect_open_refused(path, IID_ERR_FORMAT, "not a readable zip archive");
    free(path);
    iid_safetensors_t st;
    iid_error_t err;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/absent.bin", dir);
    assert_int_equal(iid__weights_open(&st, missing, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "absent.bin"));
    /* A safetensors file is indexed by content whatever its name. */
    const char hdr[] = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char buf[8 + sizeof hdr - 1 + 4] = {sizeof hdr - 1};
    memcpy(buf + 8, hdr, sizeof hdr - 1);
    path = iid_test_write(dir, "weights.bin", buf, sizeof buf);
    if (iid__weights_open(&st, path, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.count, 1);
    iid__st_close(&st);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crafted_checkpoint),     cmocka_unit_test(test_refuses_code_execution),
        cmocka_unit_test(test_refuses_bad_opcodes),    cmocka_unit_test(test_refuses_broken_pickles),
        cmocka_unit_test(test_refuses_bad_structure),  cmocka_unit_test(test_refuses_bad_storages),
        cmocka_unit_test(test_dispatcher_refusals),    cmocka_unit_test(test_kit_bin_matches_safetensors),
        cmocka_unit_test(test_kit_bin_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
