/*
 * test_op_profile.c - the op profile (ops/op_profile.h): off unless
 * $IID_OP_PROFILE asks, and then no wrapper at all; on, every call of a small
 * matmul, linear, convolution and attention counted with its FLOPs worked out
 * by hand, results identical to the bare backend's, on cpu and ref; stacked on
 * a step allocator, a replayed step still allocates nothing; a full row table
 * drops calls without losing their count; the printed table; the large-matmul
 * yardstick (ops/cpu/gemm_peak.h) gives a rate.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/cpu/gemm_peak.h"
#include "ops/op_profile.h"
#include "ops/step_alloc.h"
#include "support.h"

static float *host_rand(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    iid_test_fill_random(x, n, seed);
    return x;
}

/* The row for op, or fail. */
static const iid_prof_row_t *row_of(const iid_op_profile_t *p, iid_prof_op_t op)
{
    for (int i = 0; i < p->cap; i++)
        if (p->rows[i].calls && p->rows[i].op == op) return &p->rows[i];
    fail_msg("no row for %s", iid__op_profile_name(op));
    return NULL;
}

static void test_off_by_default(void **state)
{
    (void)state;
    assert_int_equal(unsetenv(IID_OP_PROFILE_ENV), 0);
    assert_int_equal(iid__op_profile_requested(), 0);
    assert_int_equal(setenv(IID_OP_PROFILE_ENV, "0", 1), 0);
    assert_int_equal(iid__op_profile_requested(), 0);
    assert_int_equal(setenv(IID_OP_PROFILE_ENV, "", 1), 0);
    assert_int_equal(iid__op_profile_requested(), 0);
    assert_int_equal(setenv(IID_OP_PROFILE_ENV, "1", 1), 0);
    assert_int_equal(iid__op_profile_requested(), 1);
    assert_int_equal(unsetenv(IID_OP_PROFILE_ENV), 0);
    /* off: the ops run on the parent itself, nothing in between, nothing kept */
    iid_op_profile_t p;
    assert_int_equal(iid__op_profile_init(&p, &iid__backend_cpu, 0, NULL), IID_OK);
    assert_ptr_equal(iid__op_profile_backend(&p), &iid__backend_cpu);
    assert_null(p.rows);
    float *x = host_rand(12, 1), *y = malloc(12 * sizeof *y);
    assert_non_null(y);
    assert_int_equal(iid__op_matmul_nt(iid__op_profile_backend(&p), y, x, x, 3, 3, 4, 0, NULL), IID_OK);
    assert_int_equal(iid__op_profile_summary(&p).calls, 0);
    iid__op_profile_free(&p);
    free(x), free(y);
}

/* matmul_nt, linear (twice), a grouped strided convolution, attention and a
 * norm through the profile on parent: counts, FLOPs and shapes, and every
 * result equals the bare parent's. */
static void counts_on(const iid_backend_t *parent)
{
    iid_op_profile_t p;
    assert_int_equal(iid__op_profile_init(&p, parent, 1, NULL), IID_OK);
    const iid_backend_t *be = iid__op_profile_backend(&p);
    assert_ptr_not_equal(be, parent);
    assert_string_equal(be->name, parent->name);

    /* linear: y (5, 8) = x (5, 12) W^T + b, W (8, 12) f16: 2 * 5 * 8 * 12 FLOPs a call */
    float *wf = host_rand(8 * 12, 2), *x = host_rand(5 * 12, 3), *b = host_rand(8, 4);
    uint16_t w16[8 * 12];
    assert_int_equal(iid__convert_from_f32(w16, IID_DTYPE_F16, wf, 8 * 12, NULL), IID_OK);
    iid_wmat_t host = {w16, IID_DTYPE_F16, 8, 12, NULL, 0}, W;
    void *owned = NULL;
    assert_int_equal(iid__op_bind_weight(be, &host, &W, &owned, NULL), IID_OK);
    float got[40], want[40];
    assert_int_equal(iid__op_linear(parent, want, x, &W, b, 5, NULL), IID_OK);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(iid__op_linear(be, got, x, &W, b, 5, NULL), IID_OK);
        assert_memory_equal(got, want, sizeof got);
    }
    /* matmul_nt: C (3, 4) = A (3, 5) B^T: 120 FLOPs */
    float c1[12], c2[12];
    iid__op_matmul_nt(parent, c1, x, wf, 3, 4, 5, 0, NULL);
    assert_int_equal(iid__op_matmul_nt(be, c2, x, wf, 3, 4, 5, 0, NULL), IID_OK);
    assert_memory_equal(c1, c2, sizeof c1);
    /* conv2d: (2, 4, 9, 9) -> (2, 6, 5, 5), 3x3 stride 2 pad 1, 2 groups:
     * 2 N K OH OW (C/g) R S = 2 * 2 * 6 * 5 * 5 * 2 * 3 * 3 = 10800 FLOPs */
    iid_conv2d_shape_t cs = {2, 4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2};
    float *cw = host_rand(6 * 2 * 3 * 3, 5), *cin = host_rand(2 * 4 * 9 * 9, 6);
    iid_wmat_t chost = {cw, IID_DTYPE_F32, 6, 18, NULL, 0}, CW;
    void *cowned = NULL;
    assert_int_equal(iid__op_bind_weight(be, &chost, &CW, &cowned, NULL), IID_OK);
    float co1[2 * 6 * 25], co2[2 * 6 * 25];
    assert_int_equal(iid__op_conv2d(parent, co1, cin, &CW, NULL, &cs, NULL), IID_OK);
    assert_int_equal(iid__op_conv2d(be, co2, cin, &CW, NULL, &cs, NULL), IID_OK);
    assert_memory_equal(co1, co2, sizeof co1);
    /* attention (B 1, H 2, Tq 5, Tk 7, D 4): 4 * 1 * 2 * 5 * 7 * 4 = 1120 FLOPs, not GEMM-family */
    iid_attn_shape_t as = {1, 2, 5, 7, 4, 8, 8, 0.5f, 0};
    float *q = host_rand(5 * 8, 7), *kv = host_rand(7 * 8, 8), ao[5 * 8];
    assert_int_equal(iid__op_attention(be, ao, q, kv, kv, &as, NULL), IID_OK);
    /* a norm: counted, no FLOPs */
    assert_int_equal(iid__op_layer_norm(be, got, want, b, b, 5, 8, 1e-5f, NULL), IID_OK);

    const iid_prof_row_t *r = row_of(&p, IID_PROF_LINEAR);
    assert_int_equal(r->calls, 2);
    assert_true(r->flops == 2 * 960.0);
    assert_int_equal(r->dtype, IID_DTYPE_F16);
    assert_true(r->dims[0] == 5 && r->dims[1] == 8 && r->dims[2] == 12);
    assert_true(r->seconds > 0);
    char shape[128];
    iid__op_profile_shape(r, shape, sizeof shape);
    assert_string_equal(shape, "M=5 N=8 K=12");
    r = row_of(&p, IID_PROF_MATMUL_NT);
    assert_true(r->calls == 1 && r->flops == 120.0 && r->dtype == IID_DTYPE_F32);
    r = row_of(&p, IID_PROF_CONV2D);
    assert_true(r->calls == 1 && r->flops == 10800.0);
    iid__op_profile_shape(r, shape, sizeof shape);
    assert_string_equal(shape, "N=2 C=4 H=9 W=9 K=6 R=3 S=3 stride=2 groups=2");
    r = row_of(&p, IID_PROF_ATTENTION);
    assert_true(r->calls == 1 && r->flops == 1120.0);
    r = row_of(&p, IID_PROF_LAYER_NORM);
    assert_true(r->calls == 1 && r->flops == 0.0);
    iid_prof_summary_t s = iid__op_profile_summary(&p);
    assert_int_equal(s.calls, 6);
    assert_true(s.gemm_flops == 1920.0 + 120.0 + 10800.0);
    assert_true(s.gemm_seconds > 0 && s.gemm_seconds <= s.seconds);
    /* reset forgets */
    iid__op_profile_reset(&p);
    assert_int_equal(iid__op_profile_summary(&p).calls, 0);
    assert_int_equal(p.n_rows, 0);

    iid__op_release_weight(be, owned);
    iid__op_release_weight(be, cowned);
    iid__op_profile_free(&p);
    free(wf), free(x), free(b), free(cw), free(cin), free(q), free(kv);
}

static void test_counts_flops_cpu(void **state)
{
    (void)state;
    counts_on(&iid__backend_cpu);
}

static void test_counts_flops_ref(void **state)
{
    (void)state;
    counts_on(&iid__backend_ref);
}

/* A step's activation and a linear's result through profile -> step allocator
 * -> cpu: the replayed steps allocate nothing from the backend. */
static void test_over_step_allocator(void **state)
{
    (void)state;
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, &iid__backend_cpu);
    iid_op_profile_t p;
    assert_int_equal(iid__op_profile_init(&p, &sa.be, 1, NULL), IID_OK);
    const iid_backend_t *be = iid__op_profile_backend(&p);
    float *x = host_rand(64 * 32, 9), *wf = host_rand(16 * 32, 10);
    iid_wmat_t W = {wf, IID_DTYPE_F32, 16, 32, NULL, 0};
    long planned = 0;
    for (int step = 0; step < 3; step++) {
        iid__step_alloc_begin(&sa);
        float *y = iid__op_alloc(be, 64 * 16 * sizeof *y);
        assert_non_null(y);
        assert_int_equal(iid__op_matmul_wt(be, y, x, &W, 64, 0, NULL), IID_OK);
        iid__op_free(be, y);
        assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
        if (step == 0) planned = sa.parent_allocs;
    }
    assert_int_equal(sa.parent_allocs, planned);
    assert_int_equal(sa.misses, 0);
    const iid_prof_row_t *r = row_of(&p, IID_PROF_MATMUL_WT);
    assert_true(r->calls == 3 && r->flops == 3 * 2.0 * 64 * 16 * 32);
    iid__op_profile_free(&p);
    iid__step_alloc_free(&sa);
    free(x), free(wf);
}

/* Every entry of the wrapper's table is set: an op added to the backend table
 * without its profiling twin fails here, not in a profiled run. */
static void test_table_complete(void **state)
{
    (void)state;
    typedef void (*fn_t)(void);
    size_t n = sizeof(iid_backend_i) / sizeof(fn_t);
    for (size_t k = 0; k < n; k++) {
        fn_t f;
        memcpy(&f, (const char *)&iid__op_profile_table + k * sizeof f, sizeof f);
        if (!f) fail_msg("op profile: table entry %zu of %zu is NULL", k, n);
    }
}

/* More keys than slots: the table stops at three quarters, the rest are
 * counted as dropped, and no call goes missing from the totals. */
static void test_full_table_drops(void **state)
{
    (void)state;
    iid_op_profile_t p;
    assert_int_equal(iid__op_profile_init(&p, &iid__backend_cpu, 1, NULL), IID_OK);
    for (int i = 0; i < 2000; i++)
        iid__op_profile_stop(&p, iid__op_profile_clock(), IID_PROF_ADD, IID_DTYPE_F32, 0.0,
                             (const int64_t[IID_PROF_DIMS]){i + 1});
    assert_true(p.n_rows > 0 && p.n_rows <= p.cap * 3 / 4);
    assert_int_equal(p.dropped, 2000 - p.n_rows);
    assert_int_equal(iid__op_profile_summary(&p).calls, 2000);
    iid__op_profile_free(&p);
}

static void test_print(void **state)
{
    (void)state;
    iid_op_profile_t p;
    assert_int_equal(iid__op_profile_init(&p, &iid__backend_cpu, 1, NULL), IID_OK);
    const iid_backend_t *be = iid__op_profile_backend(&p);
    float *x = host_rand(6 * 7, 11), y[36];
    for (int i = 0; i < 3; i++) assert_int_equal(iid__op_matmul_nt(be, y, x, x, 6, 6, 7, 0, NULL), IID_OK);
    assert_int_equal(iid__op_scale(be, y, 2.0f, 36, NULL), IID_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(iid__op_profile_print(&p, f, 0.0, 1, NULL), IID_OK);
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "4 calls, 2 shapes"));
    assert_non_null(strstr(buf, "matmul_nt"));
    assert_non_null(strstr(buf, "M=6 N=6 K=7"));
    assert_non_null(strstr(buf, "(1 more shapes"));
    assert_non_null(strstr(buf, "by family: matmul"));
    iid__op_profile_free(&p);
    free(x);
}

static void test_gemm_peak(void **state)
{
    (void)state;
    iid_gemm_peak_t g;
    iid_error_t err = {0};
    assert_int_equal(iid__gemm_peak(IID_DTYPE_F32, 0.0, &g, &err), IID_OK);
    assert_true(g.gflops > 0 && g.runs >= 3 && g.M == 4096 && g.dtype == IID_DTYPE_F32);
    assert_true(g.impl[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default),   cmocka_unit_test(test_counts_flops_cpu),
        cmocka_unit_test(test_counts_flops_ref), cmocka_unit_test(test_over_step_allocator),
        cmocka_unit_test(test_table_complete),   cmocka_unit_test(test_full_table_drops),
        cmocka_unit_test(test_print),            cmocka_unit_test(test_gemm_peak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
