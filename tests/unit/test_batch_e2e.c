/*
 * test_batch_e2e.c - `instantid batch` end to end on the kit's tiny models, over a
 * folder mixing real photos and bad inputs: every attempt logged with the 22
 * columns, failures with their reasons, outputs readable with their settings,
 * the input folder recorded beside the log; a batch killed mid-run (and checked
 * to be incomplete) and resumed completes the plan exactly once with the same log
 * rows and pixels as an uninterrupted run; shards partition the plan and merge
 * back to the unsharded run's jobs.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "batch/csv_log.h"
#include "batch/log_meta.h"
#include "io/file.h"
#include "io/image.h"
#include "io/png_write.h"
#include "a1111_parse.h"
#include "support.h"

static char *dir;
static char models[4096], args_common[8192];

static int run(const char *args)
{
    return iid_test_run_binary(dir, args);
}

static void copy_in(const char *rel, const char *as)
{
    char *data;
    size_t n;
    assert_int_equal(iid__file_read_all(iid_test_shared_path(rel), 1 << 24, &data, &n, NULL), IID_OK);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/in", dir);
    free(iid_test_write(sub, as, data, n));
    free(data);
}

static int setup(void **state)
{
    (void)state;
    iid_test_shared();
    dir = iid_test_tempdir();
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/in", dir);
    mkdir(sub, 0755);
    copy_in("assets/faces/frontal_astronaut.png", "astronaut.png");
    copy_in("assets/faces/frontal_grace_hopper.jpg", "hopper.jpg");
    copy_in("assets/faces/noface_coffee.png", "coffee.png");
    copy_in("assets/bad-inputs/truncated.png", "truncated.png");
    copy_in("assets/bad-inputs/text_named.png", "text_named.png");
    copy_in("assets/bad-inputs/zero_bytes.jpg", "zero_bytes.jpg");
    int heads = iid_test_kit_resampler_heads();
    snprintf(models, sizeof models, "%s", iid_test_shared_path("conformance/models"));
    snprintf(args_common, sizeof args_common,
             "--models '%s' --resampler-heads %d --input in --size 64x64 --steps 1:2 --seed 11 --styles "
             "Watercolor,Neon --quiet",
             models, heads);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

static void read_log(const char *name, iid_csv_t *t)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    iid_error_t err;
    if (iid__log_read(path, t, &err) != IID_OK) fail_msg("%s", err.msg);
}

/* Every file x every style is a job; each is logged, failures with a reason. */
static void test_mixed_folder(void **state)
{
    (void)state;
    char args[16384];
    snprintf(args, sizeof args, "batch %s --log full.csv --output out_full", args_common);
    assert_int_equal(run(args), 0); /* failed jobs do not fail the batch */
    iid_csv_t t;
    read_log("full.csv", &t);
    assert_int_equal(t.ncols, 22);
    assert_int_equal(t.nrows, 12); /* 6 files x 2 styles */
    int ok = 0;
    for (long r = 0; r < t.nrows; r++) {
        const char *img = iid__csv_cell(&t, r, IID_COL_IMAGE_NAME);
        int success = strcmp(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True") == 0;
        const char *why = iid__csv_cell(&t, r, IID_COL_ERROR);
        if (strstr(img, "astronaut") || strstr(img, "hopper")) {
            assert_true(success);
            ok++;
            char png[4200];
            snprintf(png, sizeof png, "%s/out_full/%s", dir, iid__csv_cell(&t, r, IID_COL_NEW_FILE_NAME));
            char *params;
            assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
            a1111_params_t p; /* read back by A1111's rules: the log's values, exactly */
            a1111_parse(params, &p);
            assert_string_equal(a1111_get(&p, "Steps"), iid__csv_cell(&t, r, IID_COL_STEPS));
            assert_string_equal(a1111_get(&p, "Sampler"), "Euler");
            assert_string_equal(a1111_get(&p, "Schedule type"), "Uniform");
            assert_string_equal(a1111_get(&p, "Seed"), iid__csv_cell(&t, r, IID_COL_SEED));
            assert_string_equal(a1111_get(&p, "CFG scale"), iid__csv_cell(&t, r, IID_COL_GUIDANCE));
            assert_string_equal(a1111_get(&p, "IdentityNet strength"), iid__csv_cell(&t, r, IID_COL_IDENTITYNET));
            assert_string_equal(a1111_get(&p, "Adapter strength"), iid__csv_cell(&t, r, IID_COL_ADAPTER));
            assert_string_equal(a1111_get(&p, "Style"), iid__csv_cell(&t, r, IID_COL_STYLE));
            assert_string_equal(a1111_get(&p, "Face image"), img);
            assert_string_equal(a1111_get(&p, "Job id"), iid__csv_cell(&t, r, IID_COL_JOB_ID));
            assert_string_equal(a1111_get(&p, "Size-1"), "64");
            assert_non_null(a1111_get(&p, "Model hash"));
            a1111_free(&p);
            free(params);
            assert_int_equal(iid__png_read_text(png, "prompt", &params, NULL), IID_OK);
            cJSON *graph = cJSON_Parse(params);
            assert_non_null(graph);
            assert_non_null(strstr(params, "\"class_type\":\"ApplyInstantIDAdvanced\""));
            cJSON_Delete(graph);
            free(params);
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_FACE_COUNT), "1");
        } else {
            assert_false(success);
            assert_true(strlen(why) > 0);
            assert_null(strchr(why, '\n'));
            assert_non_null(strstr(why, img)); /* the reason names the file */
            if (strstr(img, "coffee")) assert_non_null(strstr(why, "no face found"));
            if (strstr(img, "truncated")) assert_non_null(strstr(why, "truncated"));
        }
    }
    assert_int_equal(ok, 4);
    iid__csv_free(&t);
    /* Beside the log, the input folder for `serve` (batch/log_meta.h). */
    char log[4200], input[4200], want[4200];
    int recursive = -1;
    snprintf(log, sizeof log, "%s/full.csv", dir);
    snprintf(want, sizeof want, "%s/in", dir);
    char *real = realpath(want, NULL);
    assert_non_null(real);
    iid_error_t err;
    if (iid__log_meta_read(log, input, sizeof input, &recursive, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_string_equal(input, real);
    assert_int_equal(recursive, 0);
    free(real);
}

/* Under a pipe (stdout to a file): a plan estimate, one plain line per job, plain
 * status lines (an interval of 1 ms makes every job start, step and end due for
 * one), the summary, and never a carriage return. */
static void test_plain_progress_under_pipe(void **state)
{
    (void)state;
    char args[16384];
    snprintf(args, sizeof args, "batch %s --log prog.csv --output out_prog --limit 4 --progress-interval 0.001",
             args_common);
    char *quiet = strstr(args, " --quiet");
    assert_non_null(quiet);
    memmove(quiet, quiet + strlen(" --quiet"), strlen(quiet + strlen(" --quiet")) + 1);
    assert_int_equal(run(args), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    char *out = iid_test_slurp(path);
    assert_null(strchr(out, '\r'));
    assert_non_null(strstr(out, "instantid batch: steps: "));
    assert_non_null(strstr(out, "instantid batch: estimated time: "));
    int job_lines = 0, status_lines = 0, step_lines = 0;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long k, n;
        char c;
        if (sscanf(l, "[%ld/%ld] job%c", &k, &n, &c) == 3 && n == 4) job_lines++;
        if (sscanf(l, "[%ld/%ld %ld%%] elapsed%c", &k, &n, &k, &c) == 4) {
            status_lines++;
            const char *eol = strchr(l, '\n');
            const char *left = strstr(l, ", left ~");
            assert_true(left && left < eol && left[8] != '?'); /* an estimate from the first job on */
            const char *step = strstr(l, " step ");
            if (step && step < eol) step_lines++;
        }
    }
    assert_int_equal(job_lines, 4);
    assert_true(status_lines >= 4); /* at least one per job */
    assert_true(step_lines >= 1);   /* and while the successful ones run */
    assert_non_null(strstr(out, "=== batch summary ==="));
    free(out);
}

/* The last row of each job id in a log (rows[id] = -1 when the job has none). */
static void last_rows(const iid_csv_t *t, long *rows, int n_jobs)
{
    for (int id = 0; id < n_jobs; id++) rows[id] = -1;
    for (long r = 0; r < t->nrows; r++) {
        long id = strtol(iid__csv_cell(t, r, IID_COL_JOB_ID), NULL, 10);
        assert_true(id >= 0 && id < n_jobs);
        rows[id] = r;
    }
}

/* The pixels of dir/<folder>/<name>. */
static void load_output(const char *folder, const char *name, iid_image_t *img)
{
    char path[4200];
    iid_error_t err;
    snprintf(path, sizeof path, "%s/%s/%s", dir, folder, name);
    if (iid__image_load(img, path, NULL, &err) != IID_OK) fail_msg("%s", err.msg);
}

/* kill -9 mid-run, then --resume: the killed run had not finished, every job of the
 * plan is done exactly once, and the result equals the uninterrupted run of the same
 * plan (test_mixed_folder's full.csv and out_full): the same rows but for the timing
 * and timestamp columns, and the same pixels in every image. */
static void test_resume_after_kill(void **state)
{
    (void)state;
    enum { JOBS = 12 };
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' batch %s --log resume.csv --output out_resume >/dev/null 2>&1", dir,
             iid_test_binary(), args_common);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    char log[4200];
    snprintf(log, sizeof log, "%s/resume.csv", dir);
    /* Wait until the header and a first row are in, then kill without warning. */
    for (int i = 0; i < 6000; i++) {
        char *text = NULL;
        size_t n = 0;
        int rows = 0;
        if (iid__file_read_all(log, 1 << 20, &text, &n, NULL) == IID_OK) {
            for (size_t k = 0; k < n; k++) rows += text[k] == '\n';
            free(text);
        }
        if (rows >= 2) break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* killed, not finished */

    /* The interrupted log really is incomplete: some job of the plan has no row. */
    iid_csv_t t;
    long rows[JOBS];
    read_log("resume.csv", &t);
    last_rows(&t, rows, JOBS);
    int missing = 0;
    for (int id = 0; id < JOBS; id++) missing += rows[id] < 0;
    iid__csv_free(&t);
    if (missing == 0) fail_msg("the batch finished all %d jobs before it was killed: --resume is not tested", JOBS);

    char args[16384];
    snprintf(args, sizeof args, "batch %s --log resume.csv --output out_resume --resume", args_common);
    assert_int_equal(run(args), 0);
    read_log("resume.csv", &t);
    int done[JOBS] = {0};
    for (long r = 0; r < t.nrows; r++) {
        long id = strtol(iid__csv_cell(&t, r, IID_COL_JOB_ID), NULL, 10);
        assert_true(id >= 0 && id < JOBS);
        if (strcmp(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True") == 0) done[id]++;
        else if (done[id] == 0) done[id] = -1; /* attempted, failed */
    }
    for (int id = 0; id < JOBS; id++) {
        assert_true(done[id] != 0); /* every job attempted */
        assert_true(done[id] <= 1); /* none succeeded twice */
    }

    /* Against the uninterrupted run: every column but time taken and timestamp. */
    iid_csv_t full;
    long full_rows[JOBS];
    read_log("full.csv", &full);
    last_rows(&t, rows, JOBS);
    last_rows(&full, full_rows, JOBS);
    for (int id = 0; id < JOBS; id++) {
        assert_true(rows[id] >= 0 && full_rows[id] >= 0);
        for (int col = 0; col < t.ncols; col++) {
            if (col == IID_COL_TIME_TAKEN || col == IID_COL_TIMESTAMP) continue;
            const char *a = iid__csv_cell(&t, rows[id], col), *b = iid__csv_cell(&full, full_rows[id], col);
            if (strcmp(a, b) != 0) fail_msg("job %d column %d: resumed '%s', uninterrupted '%s'", id, col, a, b);
        }
        if (strcmp(iid__csv_cell(&t, rows[id], IID_COL_SUCCESS), "True") != 0) continue;
        const char *name = iid__csv_cell(&t, rows[id], IID_COL_NEW_FILE_NAME);
        iid_image_t a, b;
        load_output("out_resume", name, &a);
        load_output("out_full", name, &b);
        assert_int_equal(a.width, b.width);
        assert_int_equal(a.height, b.height);
        assert_int_equal(a.channels, b.channels);
        assert_memory_equal(a.data, b.data, (size_t)a.width * a.height * a.channels);
        iid__image_free(&a);
        iid__image_free(&b);
    }
    iid__csv_free(&full);
    iid__csv_free(&t);
}

/* Two shards cover the plan once; their merged log has the unsharded jobs. */
static void test_shards_merge(void **state)
{
    (void)state;
    char args[16384];
    for (int s = 0; s < 2; s++) {
        snprintf(args, sizeof args, "batch %s --shard %d/2 --log shard%d.csv --output out_shards", args_common, s, s);
        assert_int_equal(run(args), 0);
    }
    assert_int_equal(run("merge shard0.csv shard1.csv -o merged.csv"), 0);
    iid_csv_t merged, full;
    read_log("merged.csv", &merged);
    read_log("full.csv", &full);
    assert_int_equal(merged.nrows, full.nrows);
    for (long r = 0; r < merged.nrows; r++) {
        assert_string_equal(iid__csv_cell(&merged, r, IID_COL_JOB_ID), iid__csv_cell(&full, r, IID_COL_JOB_ID));
        assert_string_equal(iid__csv_cell(&merged, r, IID_COL_SEED), iid__csv_cell(&full, r, IID_COL_SEED));
        assert_string_equal(iid__csv_cell(&merged, r, IID_COL_SUCCESS), iid__csv_cell(&full, r, IID_COL_SUCCESS));
        assert_string_equal(iid__csv_cell(&merged, r, IID_COL_NEW_FILE_NAME),
                            iid__csv_cell(&full, r, IID_COL_NEW_FILE_NAME));
        long id = strtol(iid__csv_cell(&merged, r, IID_COL_JOB_ID), NULL, 10);
        char want[16];
        snprintf(want, sizeof want, "%ld/2", id % 2);
        assert_string_equal(iid__csv_cell(&merged, r, IID_COL_SHARD), want);
    }
    iid__csv_free(&merged);
    iid__csv_free(&full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_folder),
        cmocka_unit_test(test_plain_progress_under_pipe),
        cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_shards_merge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
