/*
 * test_resampler.c - InstantID's face Resampler on a synthetic `image_proj.*`
 * checkpoint: sizes inferred from shapes, the head count as a parameter, errors
 * naming file and tensor, the CFG batch of encode_prompt_image_emb, and the kit's
 * file against the hyper-parameters its layout JSON states.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "models/resampler.h"
#include "support.h"

enum { DIM = 12, Q = 3, E = 10, O = 7, INNER = 8, FF = 24, DEPTH = 2 };

#define MAX_T 40

/* Write a checkpoint with the Resampler under "image_proj." (plus an unrelated
 * ip_adapter tensor); `skip` is left out, `wrong` gets one extra row. Opens it. */
static char *make_file(iid_safetensors_t *st, const char *skip, const char *wrong)
{
    static char names[MAX_T][96];
    int64_t shapes[MAX_T][3];
    int nd[MAX_T];
    int nt = 0;
#define ADD(n, d0, d1, d2, ...)                                            \
    do {                                                                   \
        snprintf(names[nt], sizeof names[nt], __VA_ARGS__);                \
        shapes[nt][0] = (d0), shapes[nt][1] = (d1), shapes[nt][2] = (d2);  \
        nd[nt] = (n);                                                      \
        nt++;                                                              \
    } while (0)
    ADD(3, 1, Q, DIM, "image_proj.latents");
    ADD(2, DIM, E, 0, "image_proj.proj_in.weight");
    ADD(1, DIM, 0, 0, "image_proj.proj_in.bias");
    ADD(2, O, DIM, 0, "image_proj.proj_out.weight");
    ADD(1, O, 0, 0, "image_proj.proj_out.bias");
    ADD(1, O, 0, 0, "image_proj.norm_out.weight");
    ADD(1, O, 0, 0, "image_proj.norm_out.bias");
    for (int l = 0; l < DEPTH; l++) {
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.0.norm1.weight", l);
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.0.norm1.bias", l);
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.0.norm2.weight", l);
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.0.norm2.bias", l);
        ADD(2, INNER, DIM, 0, "image_proj.layers.%d.0.to_q.weight", l);
        ADD(2, 2 * INNER, DIM, 0, "image_proj.layers.%d.0.to_kv.weight", l);
        ADD(2, DIM, INNER, 0, "image_proj.layers.%d.0.to_out.weight", l);
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.1.0.weight", l);
        ADD(1, DIM, 0, 0, "image_proj.layers.%d.1.0.bias", l);
        ADD(2, FF, DIM, 0, "image_proj.layers.%d.1.1.weight", l);
        ADD(2, DIM, FF, 0, "image_proj.layers.%d.1.3.weight", l);
    }
    ADD(2, 16, 5, 0, "ip_adapter.1.to_k_ip.weight");
#undef ADD
    iid_test_tensor_t t[MAX_T];
    float *data[MAX_T];
    int m = 0;
    for (int i = 0; i < nt; i++) {
        if (skip && strcmp(names[i], skip) == 0) continue;
        int64_t sh[3] = {shapes[i][0], shapes[i][1], shapes[i][2]};
        if (wrong && strcmp(names[i], wrong) == 0) sh[0]++;
        size_t numel = 1;
        for (int d = 0; d < nd[i]; d++) numel *= (size_t)sh[d];
        data[m] = malloc(numel * sizeof(float));
        assert_non_null(data[m]);
        iid_test_fill_random(data[m], numel, 100u + (uint32_t)i);
        t[m] = (iid_test_tensor_t){.name = names[i], .dtype = "F32", .ndim = nd[i], .shape = {sh[0], sh[1], sh[2]},
                                   .data = data[m]};
        m++;
    }
    char *dir = iid_test_tempdir();
    assert_non_null(dir);
    char *path = iid_test_write_safetensors(dir, "ip-adapter.safetensors", t, m);
    assert_non_null(path);
    for (int i = 0; i < m; i++) free(data[i]);
    iid_error_t err;
    if (iid__st_open(st, path, &err) != IID_OK) fail_msg("%s", err.msg);
    free(path);
    return dir;
}

static void done_file(iid_safetensors_t *st, char *dir)
{
    iid__st_close(st);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_sizes_from_shapes(void **state)
{
    (void)state;
    iid_safetensors_t st;
    char *dir = make_file(&st, NULL, NULL);
    iid_resampler_t r;
    iid_error_t err;
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 2, &err), IID_OK);
    assert_int_equal(r.dim, DIM);
    assert_int_equal(r.num_queries, Q);
    assert_int_equal(r.depth, DEPTH);
    assert_int_equal(r.embedding_dim, E);
    assert_int_equal(r.output_dim, O);
    assert_int_equal(r.ff_inner, FF);
    assert_int_equal(r.heads, 2);
    assert_int_equal(r.dim_head, INNER / 2);
    iid__resampler_free(&r);
    iid__resampler_free(&r);
    iid__resampler_free(NULL);

    /* 3 heads do not split 8 channels. */
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 3, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "image_proj.layers.0.0.to_q.weight"));
    assert_null(r.latents);
    /* A prefix with nothing under it. */
    assert_int_equal(iid__resampler_load(&r, &st, "other.", 2, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "other.latents"));
    done_file(&st, dir);
}

static void test_errors_name_file_and_tensor(void **state)
{
    (void)state;
    iid_safetensors_t st;
    iid_resampler_t r;
    iid_error_t err;
    char *dir = make_file(&st, "image_proj.layers.1.0.to_kv.weight", NULL);
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 2, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ip-adapter.safetensors"));
    assert_non_null(strstr(err.msg, "image_proj.layers.1.0.to_kv.weight"));
    done_file(&st, dir);

    dir = make_file(&st, NULL, "image_proj.layers.1.0.to_out.weight");
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 2, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "image_proj.layers.1.0.to_out.weight"));
    assert_non_null(strstr(err.msg, "[13, 8]"));
    done_file(&st, dir);

    dir = make_file(&st, NULL, "image_proj.proj_in.weight");
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 2, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "image_proj.proj_in.weight"));
    done_file(&st, dir);
}

/* (B, Q, O) tokens over a host array (the test runs on a host backend). */
static iid_tensor_t tokens(float *p, int B) { return iid__tensor_wrap(NULL, p, 3, (int64_t[]){B, Q, O}); }

/* The forward on host arrays: emb (B, N, E) -> out (B, Q, O); out NULL: a (1, Q, O)
 * output without data, the wrong size for B > 1 (refused before anything is written). */
static iid_status run(const iid_resampler_t *r, const float *emb, int B, int N, float *out, iid_error_t *err)
{
    iid_tensor_t e = iid__tensor_wrap(NULL, emb, 3, (int64_t[]){B, N, E});
    iid_tensor_t o = tokens(out, out ? B : 1);
    return iid__resampler_forward(r, &e, &o, err);
}

static void test_forward_batches_and_cfg(void **state)
{
    (void)state;
    iid_safetensors_t st;
    char *dir = make_file(&st, NULL, NULL);
    iid_resampler_t r, r1;
    iid_error_t err;
    assert_int_equal(iid__resampler_load(&r, &st, "image_proj.", 2, &err), IID_OK);
    assert_int_equal(iid__resampler_load(&r1, &st, "image_proj.", 1, &err), IID_OK);
    float emb[E], zeros[E] = {0}, both[2 * E];
    iid_test_fill_random(emb, E, 5);
    for (int i = 0; i < E; i++) emb[i] *= 20.0f; /* raw ArcFace embeddings are not normalised */
    memcpy(both, zeros, sizeof zeros);
    memcpy(both + E, emb, sizeof emb);
    float t0[Q * O], t1[Q * O], tb[2 * Q * O], cfg[2 * Q * O], nocfg[Q * O], h1[Q * O];
    assert_int_equal(run(&r, zeros, 1, 1, t0, &err), IID_OK);
    assert_int_equal(run(&r, emb, 1, 1, t1, &err), IID_OK);
    assert_int_equal(run(&r, both, 2, 1, tb, &err), IID_OK);
    /* a batch that does not fit the output is refused */
    assert_int_equal(run(&r, both, 2, 1, NULL, &err), IID_ERR_INVALID);
    /* Batch rows are independent. */
    assert_true(iid_test_max_abs_diff(tb, t0, Q * O) < 1e-6f);
    assert_true(iid_test_max_abs_diff(tb + Q * O, t1, Q * O) < 1e-6f);
    /* The zero embedding's tokens are not zero (latents, biases). */
    float mx = 0;
    for (int i = 0; i < Q * O; i++) mx = fmaxf(mx, fabsf(t0[i]));
    assert_true(mx > 0.1f);
    /* Every token row leaves norm_out with its LayerNorm shape: not all equal rows. */
    assert_true(iid_test_max_abs_diff(t1, t1 + O, O) > 1e-4f);

    iid_tensor_t cfg_t = tokens(cfg, 2), nocfg_t = tokens(nocfg, 1);
    assert_int_equal(iid__encode_prompt_image_emb(&r, emb, E, 1, &cfg_t, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(cfg, tb, 2 * Q * O) < 1e-6f);
    assert_int_equal(iid__encode_prompt_image_emb(&r, emb, E, 0, &nocfg_t, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(nocfg, t1, Q * O) < 1e-6f);
    assert_int_equal(iid__encode_prompt_image_emb(&r, emb, E - 1, 0, &nocfg_t, &err), IID_ERR_INVALID);

    /* The head split changes the maths. */
    assert_int_equal(run(&r1, emb, 1, 1, h1, &err), IID_OK);
    assert_true(iid_test_max_abs_diff(h1, t1, Q * O) > 1e-4f);

    /* Two embedding tokens per row (the helper reads n_values / E tokens). */
    float two[2 * E], t2[Q * O], t2b[Q * O];
    iid_test_fill_random(two, 2 * E, 9);
    assert_int_equal(run(&r, two, 1, 2, t2, &err), IID_OK);
    iid_tensor_t t2b_t = tokens(t2b, 1);
    assert_int_equal(iid__encode_prompt_image_emb(&r, two, 2 * E, 0, &t2b_t, &err), IID_OK);
    assert_memory_equal(t2, t2b, sizeof t2);
    assert_true(iid_test_max_abs_diff(t2, t1, Q * O) > 1e-4f);
    iid__resampler_free(&r);
    iid__resampler_free(&r1);
    done_file(&st, dir);
}

/* The kit's file: every inferred size equals what ip_adapter_layout.json states. */
static void test_kit_file_matches_layout(void **state)
{
    (void)state;
    const char *env = getenv("IID_SHARED");
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/conformance", env && *env ? env : "../shared");
    snprintf(path, sizeof path, "%s/golden/ip_adapter_layout.json", base);
    if (!iid__is_file(path)) {
        iid_test_skip("no kit at %s", base);
    }
    iid_json_t j;
    iid_error_t err;
    assert_int_equal(iid__json_load(&j, path, &err), IID_OK);
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j.root, "resampler_hyperparameters");
    assert_non_null(hp);
#define HP(k) ((int)cJSON_GetObjectItemCaseSensitive(hp, k)->valuedouble)
    snprintf(path, sizeof path, "%s/models/ip-adapter.safetensors", base);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, path, &err), IID_OK);
    iid_resampler_t r;
    if (iid__resampler_load(&r, &st, "image_proj.", HP("heads"), &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(r.dim, HP("dim"));
    assert_int_equal(r.depth, HP("depth"));
    assert_int_equal(r.dim_head, HP("dim_head"));
    assert_int_equal(r.num_queries, HP("num_queries"));
    assert_int_equal(r.embedding_dim, HP("embedding_dim"));
    assert_int_equal(r.output_dim, HP("output_dim"));
    assert_int_equal(r.ff_inner, HP("ff_mult") * HP("dim"));
#undef HP
    iid__resampler_free(&r);
    iid__st_close(&st);
    iid__json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_from_shapes),
        cmocka_unit_test(test_errors_name_file_and_tensor),
        cmocka_unit_test(test_forward_batches_and_cfg),
        cmocka_unit_test(test_kit_file_matches_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
