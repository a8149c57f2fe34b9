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
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static void test_staged_equals_host(void **state)
{
    (void)state;
    iid_test_shared();
    staged_init();
    iid_model_paths_t paths;
    assert_int_equal(iid__model_paths_default(&paths, iid_test_shared_path("conformance/models"), NULL), IID_OK);
    iid_pipeline_t *p;
    iid_error_t err;
    if (iid__pipeline_load(&p, &paths, iid_test_kit_resampler_heads(), &err) != IID_OK) fail_msg("%s", err.msg);
    const int W = 64, H = 64, E = p->resampler.embedding_dim;
    float *emb = malloc((size_t)E * sizeof *emb);
    uint8_t *kps = calloc((size_t)W * H * 3, 1), *mask = calloc((size_t)W * H * 3, 1);
    uint8_t *want = malloc((size_t)W * H * 3), *got = malloc((size_t)W * H * 3);
    assert_true(emb && kps && mask && want && got);
    iid_test_fill_random(emb, (size_t)E, 7);
    for (int i = 0; i < W * H; i++) { /* a keypoint-ish pattern and a face mask on the left half */
        kps[3 * i] = (uint8_t)(i * 37);
        kps[3 * i + 1] = (uint8_t)(i * 11);
        mask[3 * i] = mask[3 * i + 1] = mask[3 * i + 2] = (i % W) < W / 2 ? 255 : 0;
    }
    iid_gen_params_t g;
    iid__gen_params_init(&g);
    g.prompt = "a portrait, watercolor";
    g.negative = "blurry";
    g.width = W;
    g.height = H;
    g.steps = 2;
    g.seed = 42;
    g.face_embedding = emb;
    g.embedding_dim = E;
    g.kps_image = kps;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: guidance (batch 2) and the face mask; pass 1: batch 1, tiled VAE decode */
        g.guidance = pass == 0 ? 5.0f : 1.0f;
        g.control_mask = pass == 0 ? mask : NULL;
        g.vae_tile = pass == 0 ? 0 : 4;
        traced_t th, ts;
        run_on(p, &iid__backend_cpu);
        generate(p, &g, want, &th);
        run_on(p, &staged);
        generate(p, &g, got, &ts);
        run_on(p, &iid__backend_cpu);
        assert_true(th.records > 20);
        assert_int_equal(ts.records, th.records);
        assert_true(ts.hash == th.hash); /* every traced tensor bit for bit */
        assert_memory_equal(got, want, (size_t)W * H * 3);
    }
    free(emb), free(kps), free(mask), free(want), free(got);
    iid__pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_staged_equals_host)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
