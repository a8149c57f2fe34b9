/* test_runner.c - the batch runner against a fake engine defined here: it
 * "generates" by writing the parameters text to the output path, and fails on
 * chosen images, so every bookkeeping rule can be checked without models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/csv_log.h"
#include "batch/runner.h"
#include "support.h"

typedef struct fake {
    int prepares, releases, generates;
    int fail_generate;        /* make generate fail for images named c.* with style Neon */
    const char *no_face;      /* image base name whose prepare fails */
} fake_t;

static iid_status fake_prepare(void *ctx, const char *path, const iid_batch_size_t *size, void **prepared,
                               iid_prepared_info_t *info, iid_error_t *err)
{
    fake_t *f = ctx;
    f->prepares++;
    if (f->no_face && strstr(path, f->no_face)) return iid__fail(err, IID_ERR_INVALID, "%s: no face found", path);
    *prepared = malloc(16); /* something for ASan to track */
    if (!*prepared) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    info->width = size->width ? size->width : 1024;
    info->height = size->height ? size->height : 1280;
    info->face_count = 2;
    info->face_score = 0.875;
    return IID_OK;
}

static iid_status fake_generate(void *ctx, void *prepared, const iid_batch_request_t *req, iid_step_cb cb,
                                void *cb_user, iid_error_t *err)
{
    fake_t *f = ctx;
    (void)prepared;
    f->generates++;
    for (int s = 1; s <= req->job->steps; s++)
        if (cb) cb(cb_user, s, req->job->steps);
    const char *base = strrchr(req->image_path, '/');
    if (f->fail_generate && strncmp(base, "/c.", 3) == 0 && strcmp(req->style_name, "Neon") == 0)
        return iid__fail(err, IID_ERR_NOMEM, "out of GPU memory");
    FILE *out = fopen(req->out_path, "wb");
    if (!out) return iid__fail(err, IID_ERR_IO, "%s: cannot create", req->out_path);
    fputs(req->png_parameters, out);
    fclose(out);
    return IID_OK;
}

static void fake_release(void *ctx, void *prepared)
{
    fake_t *f = ctx;
    f->releases++;
    free(prepared);
}

typedef struct counter {
    fake_t *fake;
    int ends, steps, stop_after;
    volatile sig_atomic_t *stop;
} counter_t;

static void obs_step(void *user, int step, int total)
{
    counter_t *c = user;
    (void)step;
    (void)total;
    c->steps++;
}

static void obs_end(void *user, const iid_batch_event_t *ev)
{
    counter_t *c = user;
    (void)ev;
    if (++c->ends == c->stop_after && c->stop) *c->stop = 1;
}

static const char *const style_names[] = {"Film Noir", "Watercolor", "Neon"};

typedef struct fixture {
    char *dir;
    char in[4096], out[4096], log[4096];
    char *images[3];
    iid_styles_t styles;
    iid_plan_t plan;
} fixture_t;

static void fixture_make(fixture_t *fx, iid_styles_mode_t mode, int loops)
{
    memset(fx, 0, sizeof *fx);
    fx->dir = iid_test_tempdir();
    assert_non_null(fx->dir);
    snprintf(fx->in, sizeof fx->in, "%s/in", fx->dir);
    snprintf(fx->out, sizeof fx->out, "%s/out/deeper", fx->dir);
    snprintf(fx->log, sizeof fx->log, "%s/log.csv", fx->dir);
    const char *names[3] = {"a.jpg", "b.png", "c.webp"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", fx->in, names[i]);
        fx->images[i] = strdup(p);
    }
    iid_error_t err;
    assert_int_equal(iid__styles_load_builtin(&fx->styles, &err), IID_OK);
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.seed = 77;
    o.styles_mode = mode;
    o.loops = loops;
    o.steps = (iid_range_t){2, 4};
    assert_int_equal(iid__plan_build(&fx->plan, (const char *const *)fx->images, 3, style_names, 3, &o, &err),
                     IID_OK);
}

static void fixture_free(fixture_t *fx)
{
    iid__plan_free(&fx->plan);
    iid__styles_free(&fx->styles);
    for (int i = 0; i < 3; i++) free(fx->images[i]);
    iid_test_rmtree(fx->dir);
    free(fx->dir);
}

static iid_batch_engine_t engine_of(fake_t *f)
{
    return (iid_batch_engine_t){f, "fake", fake_prepare, fake_generate, fake_release};
}

static void test_rows_failures_and_files(void **state)
{
    (void)state;
    fixture_t fx;
    fixture_make(&fx, IID_STYLES_ALL, 1); /* 3 images x 3 styles */
    fake_t f = {0};
    f.no_face = "b.png";
    f.fail_generate = 1;
    iid_batch_engine_t e = engine_of(&f);
    counter_t c = {&f, 0, 0, 0, NULL};
    iid_batch_observer_t ob = {&c, NULL, obs_step, obs_end};
    iid_batch_options_t o;
    iid__batch_options_init(&o);
    o.output_dir = fx.out;
    o.log_path = fx.log;
    o.prompt = "a person";
    o.negative_prompt = "blurry";
    o.observer = &ob;
    o.cache_images = 1;
    iid_batch_result_t res;
    iid_error_t err;
    assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_OK);
    assert_int_equal(res.attempted, 9);
    assert_int_equal(res.ok, 5);
    assert_int_equal(res.failed, 4);
    assert_int_equal(res.interrupted, 0);
    assert_int_equal(c.ends, 9);
    assert_int_equal(f.prepares, 3); /* once per image: its jobs run back to back */
    assert_int_equal(f.releases, 2); /* the failed image holds nothing */
    assert_int_equal(f.generates, 6);
    assert_true(c.steps > 0);

    iid_csv_t t;
    assert_int_equal(iid__log_read(fx.log, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 9);
    for (long r = 0; r < t.nrows; r++) {
        const iid_plan_job_t *j = &fx.plan.jobs[r];
        char want[64];
        snprintf(want, sizeof want, "%ld", r);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_JOB_ID), want);
        const char *img = iid__csv_cell(&t, r, IID_COL_IMAGE_NAME);
        const char *style = iid__csv_cell(&t, r, IID_COL_STYLE);
        int ok = strcmp(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True") == 0;
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_PROMPT), "a person");
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_DEVICE), "fake");
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_SCHEDULER), "euler");
        snprintf(want, sizeof want, "%lu", (unsigned long)j->seed);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_SEED), want);
        if (strcmp(img, "b.png") == 0) {
            assert_false(ok);
            assert_non_null(strstr(iid__csv_cell(&t, r, IID_COL_ERROR), "b.png: no face found"));
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_NEW_FILE_NAME), "");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_FACE_COUNT), "");
        } else if (strcmp(img, "c.webp") == 0 && strcmp(style, "Neon") == 0) {
            assert_false(ok);
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_ERROR), "out of GPU memory");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_FACE_COUNT), "2");
        } else {
            assert_true(ok);
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_ERROR), "");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_WIDTH), "1024");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_HEIGHT), "1280");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_FACE_SCORE), "0.875");
            char name[256], path[8192];
            iid__batch_output_name(name, sizeof name, fx.plan.images[j->image], style, r, j->seed);
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_NEW_FILE_NAME), name);
            snprintf(path, sizeof path, "%s/%s", fx.out, name);
            FILE *png = fopen(path, "rb");
            assert_non_null(png);
            char text[2048] = {0};
            assert_true(fread(text, 1, sizeof text - 1, png) > 0);
            fclose(png);
            assert_non_null(strstr(text, "Negative prompt: "));
            assert_non_null(strstr(text, "Sampler: Euler, Schedule type: Uniform"));
            assert_non_null(strstr(text, "Size: 1024x1280"));
            if (strcmp(style, "Watercolor") == 0)
                assert_int_equal(strncmp(text, "watercolor painting, a person.", 30), 0);
        }
        assert_true(strlen(iid__csv_cell(&t, r, IID_COL_TIMESTAMP)) == 19);
    }
    iid__csv_free(&t);
    /* Only the five PNGs are left in the output folder: no temporary files. */
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 5 && ! ls '%s' | grep -q tmp", fx.out, fx.out);
    assert_int_equal(system(cmd), 0);
    fixture_free(&fx);
}

/* Count, per job id, the rows that say True. */
static void success_counts(const char *log, long n, int *counts)
{
    iid_csv_t t;
    iid_error_t err;
    memset(counts, 0, (size_t)n * sizeof *counts);
    assert_int_equal(iid__log_read(log, &t, &err), IID_OK);
    for (long r = 0; r < t.nrows; r++) {
        long id = atol(iid__csv_cell(&t, r, IID_COL_JOB_ID));
        assert_true(id >= 0 && id < n);
        if (strcmp(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True") == 0) counts[id]++;
    }
    iid__csv_free(&t);
}

static void test_stop_and_resume(void **state)
{
    (void)state;
    fixture_t fx;
    fixture_make(&fx, IID_STYLES_RANDOM, 4); /* 12 jobs */
    fake_t f = {0};
    f.no_face = "a.jpg";
    iid_batch_engine_t e = engine_of(&f);
    volatile sig_atomic_t stop = 0;
    counter_t c = {&f, 0, 0, 5, &stop};
    iid_batch_observer_t ob = {&c, NULL, NULL, obs_end};
    iid_batch_options_t o;
    iid__batch_options_init(&o);
    o.output_dir = fx.out;
    o.log_path = fx.log;
    o.observer = &ob;
    o.stop = &stop;
    iid_batch_result_t res;
    iid_error_t err;
    assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_OK);
    assert_int_equal(res.interrupted, 1);
    assert_int_equal(res.attempted, 5); /* stopped after the job in flight */

    /* Resume: the a.jpg failures and the unstarted jobs run; successes do not. */
    f.no_face = NULL;
    stop = 0;
    c.stop_after = 0;
    o.resume = 1;
    int done_before = 0;
    int *counts = calloc((size_t)fx.plan.count, sizeof *counts);
    success_counts(fx.log, fx.plan.count, counts);
    for (long i = 0; i < fx.plan.count; i++) done_before += counts[i];
    assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_OK);
    assert_int_equal(res.skipped, done_before);
    assert_int_equal(res.attempted, 12 - done_before);
    assert_int_equal(res.failed, 0);
    success_counts(fx.log, fx.plan.count, counts);
    for (long i = 0; i < fx.plan.count; i++) assert_int_equal(counts[i], 1);
    /* A third resume has nothing to do. */
    assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_OK);
    assert_int_equal(res.attempted, 0);
    free(counts);

    /* A log written by another plan is refused. */
    iid_plan_t other;
    iid_plan_options_t po;
    iid__plan_options_init(&po);
    po.seed = 78;
    assert_int_equal(iid__plan_build(&other, (const char *const *)fx.images, 3, style_names, 3, &po, &err), IID_OK);
    assert_int_equal(iid__batch_run(&other, &fx.styles, &e, &o, &res, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "same --seed"));
    iid__plan_free(&other);
    fixture_free(&fx);
}

static void test_shards_merge(void **state)
{
    (void)state;
    fixture_t fx;
    fixture_make(&fx, IID_STYLES_ALL, 2); /* 18 jobs */
    fake_t f = {0};
    iid_batch_engine_t e = engine_of(&f);
    char logs[3][4200];
    const char *inputs[3];
    iid_error_t err;
    for (int s = 0; s < 3; s++) {
        snprintf(logs[s], sizeof logs[s], "%s/shard%d.csv", fx.dir, s);
        inputs[s] = logs[s];
        iid_batch_options_t o;
        iid__batch_options_init(&o);
        o.output_dir = fx.out;
        o.log_path = logs[s];
        o.shard = (iid_shard_t){s, 3};
        iid_batch_result_t res;
        assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_OK);
        assert_int_equal(res.selected, 6);
        assert_int_equal(res.attempted, 6);
    }
    char merged[4200];
    snprintf(merged, sizeof merged, "%s/merged.csv", fx.dir);
    long rows;
    assert_int_equal(iid__log_merge(inputs, 3, merged, &rows, &err), IID_OK);
    assert_int_equal(rows, 18);
    iid_csv_t t;
    assert_int_equal(iid__log_read(merged, &t, &err), IID_OK);
    for (long r = 0; r < t.nrows; r++) {
        char want[32], shard[32];
        snprintf(want, sizeof want, "%ld", r);
        snprintf(shard, sizeof shard, "%ld/3", r % 3);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_JOB_ID), want);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_SHARD), shard);
    }
    iid__csv_free(&t);
    fixture_free(&fx);
}

static void test_dry_run_and_unusable_output(void **state)
{
    (void)state;
    fixture_t fx;
    fixture_make(&fx, IID_STYLES_ALL, 1);
    iid_batch_options_t o;
    iid__batch_options_init(&o);
    o.log_path = fx.log;
    o.shard = (iid_shard_t){1, 2};
    o.size = (iid_batch_size_t){896, 1152, {255, 255, 255}};
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    iid_error_t err;
    assert_int_equal(iid__batch_dry_run(m, &fx.plan, &o, NULL, NULL, &err), IID_OK);
    fclose(m);
    iid_csv_t t;
    assert_int_equal(iid__csv_parse(buf, size, "dry", &t, &err), IID_OK);
    assert_int_equal(t.ncols, IID_LOG_NCOLS);
    assert_int_equal(t.nrows, 4); /* jobs 1, 3, 5, 7 of 9 */
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_JOB_ID), "3");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_WIDTH), "896");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_SUCCESS), "");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_SHARD), "1/2");
    iid__csv_free(&t);
    free(buf);
    struct stat sb;
    assert_int_not_equal(stat(fx.log, &sb), 0); /* a dry run writes no log */

    /* An output path under a regular file cannot be created: the run fails. */
    fake_t f = {0};
    iid_batch_engine_t e = engine_of(&f);
    char *file = iid_test_write(fx.dir, "afile", "x", 1);
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/sub", file);
    o.output_dir = bad;
    iid_batch_result_t res;
    assert_int_equal(iid__batch_run(&fx.plan, &fx.styles, &e, &o, &res, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "afile"));
    assert_int_equal(f.prepares, 0);
    free(file);
    fixture_free(&fx);
}

static void test_names_and_parameters(void **state)
{
    (void)state;
    char name[256];
    iid__batch_output_name(name, sizeof name, "in/sub/Anna Smith.final.JPG", "(No style)", 12, 4000000000UL);
    assert_string_equal(name, "Anna Smith.final_no-style_12_4000000000.png");
    iid__batch_output_name(name, sizeof name, ".hidden", "Ukiyo-e", 0, 1);
    assert_string_equal(name, ".hidden_ukiyo-e_0_1.png");
    iid_plan_job_t j = {7, 0, 0, 0, 1.2, 0.8, 45, 7.5, 99};
    iid_batch_request_t req = {&j, "in/sub/a.jpg", "Neon", "p, q", "n", "euler", "out.png.tmp.1", NULL, NULL};
    char *text, *graph;
    iid_error_t err;
    assert_int_equal(iid__batch_metadata(&req, 1024, 1280, NULL, 1, &text, &graph, &err), IID_OK);
    assert_string_equal(text, "p, q\nNegative prompt: n\nSteps: 45, Sampler: Euler, Schedule type: Uniform, CFG scale: "
                              "7.5, Seed: 99, Size: 1024x1280, ControlNet 0: \"Module: instant_id_face_embedding, "
                              "Model: ip-adapter_instant_id_sdxl, Weight: 0.8, Resize Mode: Crop and Resize, Guidance "
                              "Start: 0, Guidance End: 1, Pixel Perfect: False, Control Mode: Balanced\", ControlNet 1: "
                              "\"Module: instant_id_face_keypoints, Model: control_instant_id_sdxl, Weight: 1.2, Resize "
                              "Mode: Crop and Resize, Guidance Start: 0, Guidance End: 1, Pixel Perfect: False, Control "
                              "Mode: Balanced\", IdentityNet strength: 1.2, Adapter strength: 0.8, Enhance non-face "
                              "region: True, Style: Neon, Face image: a.jpg, Job id: 7, Version: instantid " IID_VERSION);
    assert_non_null(strstr(graph, "\"class_type\":\"ApplyInstantIDAdvanced\""));
    free(graph);
    free(text);
    /* batch --no-face-mask: the engine's setting, said in the PNG */
    assert_int_equal(iid__batch_metadata(&req, 1024, 1280, NULL, 0, &text, &graph, &err), IID_OK);
    assert_non_null(strstr(text, "Enhance non-face region: False"));
    free(graph);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_failures_and_files),
        cmocka_unit_test(test_stop_and_resume),
        cmocka_unit_test(test_shards_merge),
        cmocka_unit_test(test_dry_run_and_unusable_output),
        cmocka_unit_test(test_names_and_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
