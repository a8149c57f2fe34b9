/*
 * test_sheet_e2e.c - contact sheets end to end on the kit's tiny models: a
 * `batch --sweep grid:2 --contact-sheet` over a face, a photo without a face and
 * a truncated file writes one sheet per input image whose PNG text chunk lists
 * the cells (checked against the image's size, the log and the grid axes);
 * `instantid sheet` redraws them from the log alone: one file or a folder,
 * --by style, a resumed log's extra failed row, a deleted output (a grey cell,
 * not a crash), and one-line errors with exit 2 for bad logs and options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "batch/csv_log.h"
#include "io/file.h"
#include "io/image.h"
#include "io/png_write.h"
#include "support.h"

static char *dir;
static char batch_args[8192];

/* `instantid ARGS` in the test folder; stdout and stderr to stdout.txt, stderr.txt. */
static int instantid(const char *args)
{
    return iid_test_run_binary(dir, args);
}

static const char *in_dir(const char *rel)
{
    static char path[8192];
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path) fail_msg("path too long: %s", rel);
    return path;
}

static int setup(void **state)
{
    (void)state;
    iid_test_shared();
    iid_test_binary();
    dir = iid_test_tempdir();
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "mkdir '%s/in' && cd '%s' && cp faces/frontal_astronaut.png '%s/in/astronaut.png' && "
             "cp faces/noface_coffee.png '%s/in/coffee.png' && cp bad-inputs/truncated.png '%s/in/truncated.png'",
             dir, iid_test_shared_path("assets"), dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    int heads = iid_test_kit_resampler_heads();
    snprintf(batch_args, sizeof batch_args,
             "batch --models '%s' --resampler-heads %d --input in --output out --log log.csv --size 64x64 --seed 7 "
             "--steps 1 --guidance 5 --identitynet-strength 0.5:1.0 --adapter-strength 0.5:1.0 --sweep grid:2 "
             "--styles Watercolor,Neon --quiet",
             iid_test_shared_path("conformance/models"), heads);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

/* The sheet's JSON, checked against the PNG's own size. */
static cJSON *read_sheet(const char *rel)
{
    const char *path = in_dir(rel);
    char *text;
    iid_error_t err;
    if (iid__png_read_text(path, "instantid-sheet", &text, &err) != IID_OK) fail_msg("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    iid_image_t img;
    if (iid__image_load(&img, path, NULL, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(img.width, (int)cJSON_GetObjectItemCaseSensitive(j, "width")->valuedouble);
    assert_int_equal(img.height, (int)cJSON_GetObjectItemCaseSensitive(j, "height")->valuedouble);
    iid__image_free(&img);
    return j;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    if (!v) fail_msg("no string \"%s\"", key);
    return v;
}

static int num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number \"%s\"", key);
    return (int)v->valuedouble;
}

static void assert_one_line_error(const char *word)
{
    char *e = iid_test_slurp(in_dir("stderr.txt"));
    assert_int_equal(iid_test_count_lines(e), 1);
    assert_int_equal(strncmp(e, "instantid sheet: ", 17), 0);
    if (!strstr(e, word)) fail_msg("'%s' is not in: %s", word, e);
    free(e);
}

/* The astronaut's sheet: a 2x2 grid per style, every cell an output whose
 * position, label and file agree with its log row. */
static void check_astronaut(const char *rel, const iid_csv_t *log, const char *unreadable_file)
{
    cJSON *j = read_sheet(rel);
    assert_string_equal(str(j, "key"), "astronaut.png");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "grid")));
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "x"), "values");
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "y"), "values");
    assert_int_equal(cJSON_GetArraySize(x), 2);
    assert_int_equal(cJSON_GetArraySize(y), 2);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "x"), "column"), "identitynet_strength_ratio");
    assert_string_equal(cJSON_GetArrayItem(x, 0)->valuestring, "0.5");
    assert_string_equal(cJSON_GetArrayItem(y, 1)->valuestring, "1");
    const cJSON *panels = cJSON_GetObjectItemCaseSensitive(j, "panels");
    assert_int_equal(cJSON_GetArraySize(panels), 2);
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(j, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), 8); /* 2 styles x 2 x 2 */
    int width = num(j, "width"), height = num(j, "height");
    const cJSON *c;
    cJSON_ArrayForEach(c, cells)
    {
        assert_true(num(c, "x") >= 0 && num(c, "x") + num(c, "w") <= width);
        assert_true(num(c, "y") >= 0 && num(c, "y") + num(c, "h") <= height);
        long row = -1;
        for (long r = 0; r < log->nrows; r++)
            if (strcmp(iid__csv_cell(log, r, IID_COL_JOB_ID), str(c, "job_id")) == 0 &&
                strcmp(iid__csv_cell(log, r, IID_COL_SUCCESS), "True") == 0)
                row = r;
        assert_true(row >= 0);
        assert_string_equal(str(c, "file"), iid__csv_cell(log, row, IID_COL_NEW_FILE_NAME));
        const char *xv = cJSON_GetArrayItem(x, num(c, "gx"))->valuestring;
        const char *yv = cJSON_GetArrayItem(y, num(c, "gy"))->valuestring;
        assert_string_equal(xv, iid__csv_cell(log, row, IID_COL_IDENTITYNET));
        assert_string_equal(yv, iid__csv_cell(log, row, IID_COL_ADAPTER));
        const char *style = iid__csv_cell(log, row, IID_COL_STYLE);
        assert_string_equal(str(cJSON_GetArrayItem(panels, num(c, "panel")), "title"), style);
        char want[256];
        snprintf(want, sizeof want, "%s\nIdentityNet %s\nadapter %s\n1 steps \xc2\xb7 cfg 5\nseed %s", style,
                 xv, yv, iid__csv_cell(log, row, IID_COL_SEED));
        if (strncmp(str(c, "label"), want, strlen(want)) != 0) fail_msg("label '%s', expected '%s...'", str(c, "label"), want);
        int gone = unreadable_file && strcmp(str(c, "file"), unreadable_file) == 0;
        assert_string_equal(str(c, "status"), gone ? "unreadable" : "ok");
        if (gone) assert_non_null(strstr(str(c, "reason"), "no such file"));
    }
    cJSON_Delete(j);
}

/* Every cell of a sheet is a failed job whose reason contains why. */
static void check_failed(const char *rel, int ncells, const char *why)
{
    cJSON *j = read_sheet(rel);
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(j, "cells"), *c;
    assert_int_equal(cJSON_GetArraySize(cells), ncells);
    cJSON_ArrayForEach(c, cells)
    {
        assert_string_equal(str(c, "status"), "failed");
        assert_non_null(strstr(str(c, "reason"), why));
    }
    cJSON_Delete(j);
}

static void test_batch_contact_sheets(void **state)
{
    (void)state;
    char args[16384];
    snprintf(args, sizeof args, "%s --contact-sheet", batch_args);
    assert_int_equal(instantid(args), 0);
    iid_csv_t log;
    iid_error_t err;
    if (iid__log_read(in_dir("log.csv"), &log, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(log.nrows, 24);
    check_astronaut("out/sheets/astronaut.png.sheet.png", &log, NULL);
    check_failed("out/sheets/coffee.png.sheet.png", 8, "no face found");
    check_failed("out/sheets/truncated.png.sheet.png", 8, "truncated");

    /* From the log alone, after a later failed attempt of job 16's row was
     * appended (as a resumed or re-run batch leaves it): the success stays. */
    long done = -1;
    for (long r = 0; r < log.nrows && done < 0; r++)
        if (strcmp(iid__csv_cell(&log, r, IID_COL_SUCCESS), "True") == 0) done = r;
    assert_true(done >= 0);
    const char *fields[IID_LOG_NCOLS];
    for (int c = 0; c < IID_LOG_NCOLS; c++) fields[c] = iid__csv_cell(&log, done, c);
    fields[IID_COL_SUCCESS] = "False";
    fields[IID_COL_ERROR] = "interrupted";
    iid_log_writer_t w;
    assert_int_equal(iid__log_open(&w, in_dir("log.csv"), NULL), IID_OK);
    assert_int_equal(iid__log_append(&w, fields, NULL), IID_OK);
    iid__log_close(&w);
    /* ... and one output deleted: its cell turns grey, nothing fails. */
    char gone[1024];
    snprintf(gone, sizeof gone, "%s", iid__csv_cell(&log, done, IID_COL_NEW_FILE_NAME));
    char path[8192];
    snprintf(path, sizeof path, "out/%s", gone);
    assert_int_equal(remove(in_dir(path)), 0);
    assert_int_equal(instantid("sheet log.csv --images out --only astronaut.png -o one.png"), 0);
    check_astronaut("one.png", &log, gone);

    /* Several sheets need a folder. */
    assert_int_equal(instantid("sheet log.csv --images out -o two.png"), 2);
    assert_one_line_error("3 sheets");
    assert_int_equal(instantid("sheet log.csv --images out --by style -o bystyle"), 0);
    cJSON *j = read_sheet("bystyle/Neon.sheet.png");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "cells")), 12);
    assert_string_equal(str(j, "by"), "style");
    cJSON_Delete(j);
    assert_true(iid__is_file(in_dir("bystyle/Watercolor.sheet.png")));
    iid__csv_free(&log);
}

static void test_bad_logs_and_options(void **state)
{
    (void)state;
    free(iid_test_write(dir, "notes.csv", "hello,world\n1,2\n", 16));
    assert_int_equal(instantid("sheet notes.csv -o x.png"), 2);
    assert_one_line_error("notes.csv");
    assert_int_equal(instantid("sheet missing.csv -o x.png"), 2);
    assert_one_line_error("missing.csv");
    assert_int_equal(instantid("sheet"), 2);
    assert_one_line_error("one log");
    assert_int_equal(instantid("sheet log.csv --x prompt"), 2);
    assert_one_line_error("--x");
    assert_int_equal(instantid("sheet log.csv --by row"), 2);
    assert_one_line_error("--by");
    assert_int_equal(instantid("sheet log.csv --thumb 5"), 2);
    assert_one_line_error("--thumb");
    assert_int_equal(instantid("sheet log.csv --font notes.csv -o x.png"), 2);
    assert_one_line_error("notes.csv");
    assert_false(iid__is_file(in_dir("x.png")));
    assert_int_equal(instantid("sheet --help"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_contact_sheets),
        cmocka_unit_test(test_bad_logs_and_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
