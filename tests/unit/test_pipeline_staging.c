/*
 * test_pipeline_staging.c - the pipeline's device-backend paths without a device.
 *
 * "staged" is the cpu backend's table under a backend that says its memory is
 * not host memory (host_memory = 0) and hands out fresh buffers filled with NaN.
 * Its memory is in fact host memory, so its ops compute exactly what cpu's do,
 * but the pipeline must treat it as a device: conditioning uploaded, the model
 * input pushed and the noise prediction pulled each step, the image downloaded,
 * traces downloaded. A forgotten upload leaves NaN (or stale values) in what
 * the models read, a forgotten download leaves the host side unset: either
 * shows as a different image or trace. So the kit pipeline must give the same
 * bytes and the same traces on cpu and on staged, with guidance and a face mask
 * (batch 2) and without (batch 1, tiled decode).
 *
 * Also: once the step allocator has its plan, a whole denoising step (both
 * models, guidance, the copies, the scheduler) makes no host allocation, on
 * either backend (the library's mallocs are counted, alloc_count.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "pipeline/instantid.h"
#include "support.h"

static void *staged_alloc(const iid_backend_t *be, size_t bytes)
{
    (void)be;
    float *p = iid__backend_cpu.i->alloc(&iid__backend_cpu, bytes);
    if (p) memset(p, 0xff, bytes); /* NaN in every float */
    return p;
}

static iid_backend_i staged_table;
static iid_backend_t staged;

static void staged_init(void)
{
    staged_table = *iid__backend_cpu.i;
    staged_table.alloc = staged_alloc;
    staged = iid__backend_cpu;
    staged.name = "staged";
    staged.host_memory = 0;
    staged.i = &staged_table;
}

/* What use_backend refuses for a device backend; the weights and parameters are
 * host memory on both, so the models may run on either. */
static void run_on(iid_pipeline_t *p, const iid_backend_t *be)
{
    p->unet->trunk.be = p->controlnet->trunk.be = be;
    p->vae->be = p->resampler.be = be;
    p->text.te1.be = p->text.te2.be = be;
}

/* A running FNV-1a hash and count of every traced tensor. */
typedef struct traced {
    uint64_t hash;
    int records;
} traced_t;

static void on_trace(void *user, const char *name, const float *data, size_t n)
{
    traced_t *t = user;
    const unsigned char *b = (const unsigned char *)data;
    for (const char *c = name; *c; c++) t->hash = (t->hash ^ (unsigned char)*c) * 1099511628211ull;
    for (size_t i = 0; i < n * sizeof(float); i++) t->hash = (t->hash ^ b[i]) * 1099511628211ull;
    t->records++;
}

static void generate(const iid_pipeline_t *p, const iid_gen_params_t *g, uint8_t *out, traced_t *t)
{
    iid_gen_params_t gg = *g;
    *t = (traced_t){1469598103934665603ull, 0};
    gg.trace = on_trace;
    gg.user = t;
    iid_error_t err;
    if (iid__pipeline_generate(p, &gg, out, &err) != IID_OK) fail_msg("%s", err.msg);
}

/* The kit pipeline and a generation's inputs: 64x64, two steps, seed 42. */
typedef struct fixture {
    iid_pipeline_t *p;
    iid_gen_params_t g;
    float *emb;
    uint8_t *kps, *mask, *want, *got;
} fixture_t;

enum { W = 64, H = 64 };

static int setup(void **state)
{
    iid_test_shared();
    staged_init();
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    iid_model_paths_t paths;
    assert_int_equal(iid__model_paths_default(&paths, iid_test_shared_path("conformance/models"), NULL), IID_OK);
    iid_error_t err;
    if (iid__pipeline_load(&f->p, &paths, iid_test_kit_resampler_heads(), &err) != IID_OK) fail_msg("%s", err.msg);
    const int E = f->p->resampler.embedding_dim;
    f->emb = malloc((size_t)E * sizeof *f->emb);
    f->kps = calloc((size_t)W * H * 3, 1), f->mask = calloc((size_t)W * H * 3, 1);
    f->want = malloc((size_t)W * H * 3), f->got = malloc((size_t)W * H * 3);
    assert_true(f->emb && f->kps && f->mask && f->want && f->got);
    iid_test_fill_random(f->emb, (size_t)E, 7);
    for (int i = 0; i < W * H; i++) { /* a keypoint-ish pattern and a face mask on the left half */
        f->kps[3 * i] = (uint8_t)(i * 37);
        f->kps[3 * i + 1] = (uint8_t)(i * 11);
        f->mask[3 * i] = f->mask[3 * i + 1] = f->mask[3 * i + 2] = (i % W) < W / 2 ? 255 : 0;
    }
    iid_gen_params_t *g = &f->g;
    iid__gen_params_init(g);
    g->prompt = "a portrait, watercolor";
    g->negative = "blurry";
    g->width = W;
    g->height = H;
    g->steps = 2;
    g->seed = 42;
    g->face_embedding = f->emb;
    g->embedding_dim = E;
    g->kps_image = f->kps;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    run_on(f->p, &iid__backend_cpu); /* the parameters are released through the loading backend */
    iid__pipeline_free(f->p);
    free(f->emb), free(f->kps), free(f->mask), free(f->want), free(f->got);
    free(f);
    return 0;
}

static void test_staged_equals_host(void **state)
{
    fixture_t *f = *state;
    iid_gen_params_t g = f->g;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: guidance (batch 2) and the face mask; pass 1: batch 1, tiled VAE decode */
        g.guidance = pass == 0 ? 5.0f : 1.0f;
        g.control_mask = pass == 0 ? f->mask : NULL;
        g.vae_tile = pass == 0 ? 0 : 4;
        traced_t th, ts;
        run_on(f->p, &iid__backend_cpu);
        generate(f->p, &g, f->want, &th);
        run_on(f->p, &staged);
        generate(f->p, &g, f->got, &ts);
        run_on(f->p, &iid__backend_cpu);
        assert_true(th.records > 20);
        assert_int_equal(ts.records, th.records);
        assert_true(ts.hash == th.hash); /* every traced tensor bit for bit */
        assert_memory_equal(f->got, f->want, (size_t)W * H * 3);
    }
}

/* Counts host allocations from the end of step 2 to the end of the last step. */
typedef struct step_count {
    long allocs;
    int counted_steps;
} step_count_t;

static int count_steps(void *user, int step, int total)
{
    step_count_t *c = user;
    if (step == 2) iid_test_alloc_count_start();
    if (step == total) {
        c->allocs = iid_test_alloc_count_stop();
        c->counted_steps = total - 2;
    }
    return 0;
}

static void test_replayed_steps_allocate_nothing(void **state)
{
    fixture_t *f = *state;
    iid_gen_params_t g = f->g;
    g.steps = 4;
    g.guidance = 5.0f;
    g.control_mask = f->mask;
    const char *scheds[] = {"euler", "dpmpp_2m"}; /* dpmpp keeps per-step state buffers */
    const iid_backend_t *bes[] = {&iid__backend_cpu, &staged};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 2; k++) {
            step_count_t c = {-1, 0};
            g.scheduler = scheds[k];
            g.on_step = count_steps;
            g.user = &c;
            run_on(f->p, bes[b]);
            iid_error_t err;
            iid_status s = iid__pipeline_generate(f->p, &g, f->got, &err);
            run_on(f->p, &iid__backend_cpu);
            if (s != IID_OK) fail_msg("%s", err.msg);
            assert_int_equal(c.counted_steps, 2);
            if (c.allocs != 0)
                fail_msg("%s on %s: %ld host allocations in 2 replayed steps", scheds[k], bes[b]->name, c.allocs);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_staged_equals_host),
                                       cmocka_unit_test(test_replayed_steps_allocate_nothing)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
