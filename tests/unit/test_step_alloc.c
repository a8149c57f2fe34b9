/*
 * test_step_alloc.c - the planned step allocator: a replayed step allocates
 * nothing from its backend, buffers alive together never overlap, a step that
 * allocates differently falls back and is planned again, and the kit's UNet run
 * through it gives the same output as without it, on the cpu and ref backends,
 * with no host allocation either in a replayed step (the library's malloc family
 * is wrapped at link time and counted). Also: models bind their weights to the
 * backend $IID_BACKEND names at load.
 */
#include <stdlib.h>
#include <string.h>

#include "models/unet_sdxl.h"
#include "alloc_count.h"
#include "ops/step_alloc.h"
#include "support.h"

/* A fixed pattern of allocations with nested lifetimes; each buffer is filled
 * with its own index and checked before it is freed (an overlap would show). */
static void pattern(const iid_backend_t *be, int scale)
{
    static const size_t sizes[] = {1000, 64, 4096, 100, 70000, 3};
    float *p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = iid__op_alloc(be, sizes[i] * scale * sizeof(float));
        assert_non_null(p[i]);
        iid__op_fill(be, p[i], (float)i, (int64_t)(sizes[i] * scale));
        if (i == 2) { /* free two early ones so later buffers can take their place */
            for (size_t k = 0; k < sizes[0] * scale; k++) assert_true(p[0][k] == 0.0f);
            iid__op_free(be, p[0]);
            iid__op_free(be, p[1]);
        }
    }
    for (int i = 2; i < 6; i++) {
        for (size_t k = 0; k < sizes[i] * scale; k++) assert_true(p[i][k] == (float)i);
        iid__op_free(be, p[i]);
    }
}

static void test_replay_allocates_nothing(void **state)
{
    (void)state;
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, &iid__backend_cpu);
    iid__step_alloc_begin(&sa);
    pattern(&sa.be, 1);
    long dry = sa.parent_allocs;
    assert_int_equal(dry, 6);
    assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
    /* the block holds the most alive at once, not the sum of all six */
    size_t sum = (1000 + 64 + 4096 + 100 + 70000 + 3) * sizeof(float);
    assert_true(sa.block_bytes >= (4096 + 100 + 70000 + 3) * sizeof(float));
    assert_true(sa.block_bytes < sum);
    long planned = sa.parent_allocs; /* + the block */
    for (int step = 0; step < 3; step++) {
        iid__step_alloc_begin(&sa);
        pattern(&sa.be, 1);
        assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
        assert_int_equal(sa.misses, 0);
    }
    assert_int_equal(sa.parent_allocs, planned);
    /* a larger step leaves the plan: served by the parent, then planned again */
    iid__step_alloc_begin(&sa);
    pattern(&sa.be, 2);
    assert_true(sa.misses > 0);
    assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
    assert_null(sa.block); /* the next step records */
    iid__step_alloc_begin(&sa);
    pattern(&sa.be, 2);
    assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
    assert_true(sa.block_bytes >= 2 * (4096 + 100 + 70000 + 3) * sizeof(float));
    long again = sa.parent_allocs;
    iid__step_alloc_begin(&sa);
    pattern(&sa.be, 2);
    assert_int_equal(iid__step_alloc_end(&sa, NULL), IID_OK);
    assert_int_equal(sa.parent_allocs, again);
    iid__step_alloc_free(&sa);
}

static float *rnd(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    iid_test_fill_random(x, n, seed);
    return x;
}

/* The kit's UNet on backend be, three steps through one step allocator: the
 * first records, the other two make no allocation at all (activations and
 * kernel scratch from the backend, nothing from the host heap), and every
 * output equals the plain run's on be. */
static void unet_steps_on(iid_unet_t *u, const iid_backend_t *be)
{
    const iid_unet_config_t *c = &u->trunk.cfg;
    int B = 2, H = 16, W = 16, T = 5, n_ids = 6, te = c->add_in_dim - n_ids * c->add_time_dim;
    assert_true(te > 0);
    float *sample = rnd((size_t)B * c->in_channels * H * W, 1), *ctx = rnd((size_t)B * T * c->cross_dim, 2);
    float *text = rnd((size_t)B * te, 3), ids[12] = {64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64};
    size_t n = (size_t)B * c->out_channels * H * W;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    assert_true(want && got);
    iid_error_t err;
    iid_unet_inputs_t in;
    iid__unet_inputs_init(&in);
    in.sample = iid__tensor_wrap(NULL, sample, 4, (int64_t[]){B, c->in_channels, H, W});
    in.cond = (iid_unet_cond_t){500.0f, iid__tensor_wrap(NULL, ctx, 3, (int64_t[]){B, T, c->cross_dim}),
                                iid__tensor_wrap(NULL, text, 2, (int64_t[]){B, te}),
                                iid__tensor_wrap(NULL, ids, 2, (int64_t[]){B, n_ids}), NULL};
    in.be = be;
    int64_t out_shape[4] = {B, c->out_channels, H, W};
    iid_tensor_t want_t = iid__tensor_wrap(NULL, want, 4, out_shape), got_t = iid__tensor_wrap(NULL, got, 4, out_shape);
    assert_int_equal(iid__unet_forward(u, &in, &want_t, &err), IID_OK);
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, be);
    in.be = &sa.be;
    long after_plan = 0;
    for (int step = 0; step < 3; step++) {
        iid__step_alloc_begin(&sa);
        memset(got, 0, n * sizeof *got);
        iid_test_alloc_count_start();
        iid_status st = iid__unet_forward(u, &in, &got_t, &err);
        long host_allocs = iid_test_alloc_count_stop();
        assert_int_equal(st, IID_OK);
        assert_int_equal(iid__step_alloc_end(&sa, &err), IID_OK);
        assert_memory_equal(got, want, n * sizeof *got);
        if (step == 0) {
            assert_true(sa.parent_allocs > 10); /* the dry pass went to the backend */
            assert_true(sa.block_bytes > 0);
            assert_true(host_allocs > 0); /* the counter sees the library's allocations */
            after_plan = sa.parent_allocs;
        } else {
            assert_int_equal(sa.misses, 0);
            assert_int_equal(sa.parent_allocs, after_plan); /* nothing allocated in a planned step */
            assert_int_equal(host_allocs, 0); /* nor on the host heap */
        }
    }
    print_message("unet step on %s: %d buffers planned into %.2f MiB\n", be->name, sa.n_plan,
                  sa.block_bytes / 1048576.0);
    iid__step_alloc_free(&sa);
    free(sample), free(ctx), free(text), free(want), free(got);
}

static void test_unet_steps_allocate_nothing(void **state)
{
    (void)state;
    iid_unet_t *u = NULL;
    iid_error_t err;
    if (iid__unet_load(&u, iid_test_shared_path("conformance/models/sdxl/unet"), &err) != IID_OK) {
        print_message("SKIP: %s\n", err.msg);
        skip();
    }
    unet_steps_on(u, &iid__backend_cpu); /* the weights are bound to the default backend; */
    unet_steps_on(u, &iid__backend_ref); /* ref reads the same host views */
    iid__unet_free(u);
}

/* $IID_BACKEND picks the backend a model and its weights are bound to at load. */
static void test_models_bind_to_the_chosen_backend(void **state)
{
    (void)state;
    const char *dir = iid_test_shared_path("conformance/models/sdxl/unet");
    iid_unet_t *u = NULL;
    iid_error_t err;
    assert_int_equal(setenv(IID_BACKEND_ENV, "ref", 1), 0);
    iid_status s = iid__unet_load(&u, dir, &err);
    unsetenv(IID_BACKEND_ENV);
    if (s != IID_OK) {
        print_message("SKIP: %s\n", err.msg);
        skip();
    }
    assert_ptr_equal(u->trunk.be, &iid__backend_ref);
    assert_ptr_equal(u->trunk.conv_in.w.be, &iid__backend_ref);
    assert_ptr_equal(u->conv_out.w.be, &iid__backend_ref);
    iid__unet_free(u);
    assert_int_equal(iid__unet_load(&u, dir, &err), IID_OK);
    assert_ptr_equal(u->trunk.be, iid__backend_preferred());
    assert_ptr_equal(u->trunk.time_1.w.be, iid__backend_preferred());
    iid__unet_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_allocates_nothing),
        cmocka_unit_test(test_unet_steps_allocate_nothing),
        cmocka_unit_test(test_models_bind_to_the_chosen_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
