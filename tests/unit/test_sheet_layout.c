/*
 * test_sheet_layout.c - contact sheet layout from logs built in memory: a grid
 * sweep becomes X/Y grids (axes, panels, one cell per position), a random sweep
 * a list, resumed logs keep one row per job (the latest success), --by style
 * and sweep group as documented, a grid cut by --limit stays a grid, bad axes,
 * a missing --only key and oversized sheets are refused; file names; and the
 * drawing of a sheet (FreeType labels, thumbnails, grey cells for failed jobs and
 * unreadable files, the cell list's JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "batch/csv_log.h"
#include "io/png_write.h"
#include "sheet/sheet.h"
#include "support.h"

/* ---- logs in memory ----------------------------------------------------- */

typedef struct log_buf {
    char text[1 << 16];
    size_t len;
} log_buf_t;

static void log_start(log_buf_t *b)
{
    b->len = 0;
    for (int c = 0; c < IID_LOG_NCOLS; c++)
        b->len += (size_t)snprintf(b->text + b->len, sizeof b->text - b->len, "%s%s", c ? "," : "",
                                   iid__log_columns[c]);
    b->len += (size_t)snprintf(b->text + b->len, sizeof b->text - b->len, "\r\n");
}

/* One row: the columns a sheet reads; the others empty. */
static void log_row(log_buf_t *b, const char *image, const char *file, const char *idn, const char *ad,
                    const char *steps, const char *cfg, const char *seed, int ok, const char *why, const char *style,
                    const char *job)
{
    const char *f[IID_LOG_NCOLS] = {0};
    f[IID_COL_IMAGE_NAME] = image;
    f[IID_COL_NEW_FILE_NAME] = file;
    f[IID_COL_IDENTITYNET] = idn;
    f[IID_COL_ADAPTER] = ad;
    f[IID_COL_STEPS] = steps;
    f[IID_COL_GUIDANCE] = cfg;
    f[IID_COL_SEED] = seed;
    f[IID_COL_SUCCESS] = ok ? "True" : "False";
    f[IID_COL_ERROR] = why;
    f[IID_COL_STYLE] = style;
    f[IID_COL_JOB_ID] = job;
    for (int c = 0; c < IID_LOG_NCOLS; c++)
        b->len += (size_t)snprintf(b->text + b->len, sizeof b->text - b->len, "%s%s", c ? "," : "", f[c] ? f[c] : "");
    b->len += (size_t)snprintf(b->text + b->len, sizeof b->text - b->len, "\r\n");
}

static void parse(const log_buf_t *b, iid_csv_t *t)
{
    iid_error_t err;
    if (iid__csv_parse(b->text, b->len, "log", t, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(t->ncols, IID_LOG_NCOLS);
}

static const iid_sheet_metrics_t metrics = {64, 12, 6, 60};

/* A grid:2 sweep of both strengths for a.png in two styles (8 jobs, ids
 * 0..7, identitynet slowest as the plan orders them), and b.png's one failure. */
static void grid_log(log_buf_t *b)
{
    static const char *const idn[] = {"1", "1.5"}, *const ad[] = {"0.7", "1"}, *const styles[] = {"Neon", "Snow"};
    log_start(b);
    int job = 0;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 2; i++)
            for (int a = 0; a < 2; a++) {
                char id[16], file[64];
                snprintf(id, sizeof id, "%d", job);
                snprintf(file, sizeof file, "a_%s_%d_1.png", styles[s], job++);
                log_row(b, "a.png", file, idn[i], ad[a], "30", "5", "1", 1, "", styles[s], id);
            }
    log_row(b, "b.png", "", "1", "0.7", "30", "5", "9", 0, "b.png: no face found", "Neon", "8");
}

static void layout(const iid_csv_t *t, iid_sheet_by_t by, const char *only, iid_sheet_set_t *set)
{
    iid_error_t err;
    if (iid__sheets_layout(t, by, IID_COL_IDENTITYNET, IID_COL_ADAPTER, &metrics, only, set, &err) != IID_OK)
        fail_msg("%s", err.msg);
}

/* No two cells overlap and every cell lies inside the sheet. */
static void check_boxes(const iid_sheet_t *s)
{
    for (int i = 0; i < s->ncells; i++) {
        const iid_sheet_cell_t *a = &s->cells[i];
        assert_true(a->px >= 0 && a->py >= 0 && a->px + a->pw <= s->width && a->py + a->ph <= s->height);
        for (int j = i + 1; j < s->ncells; j++) {
            const iid_sheet_cell_t *b = &s->cells[j];
            int apart = a->px + a->pw <= b->px || b->px + b->pw <= a->px || a->py + a->ph <= b->py ||
                        b->py + b->ph <= a->py;
            assert_true(apart);
        }
    }
}

/* ---- tests -------------------------------------------------------------- */

static void test_grid_sweep(void **state)
{
    (void)state;
    log_buf_t b;
    grid_log(&b);
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    layout(&t, IID_SHEET_BY_IMAGE, NULL, &set);
    assert_int_equal(set.count, 2);
    const iid_sheet_t *a = &set.sheets[0];
    assert_string_equal(a->key, "a.png");
    assert_int_equal(a->ncells, 8);
    assert_int_equal(a->nfailed, 0);
    assert_true(a->grid);
    assert_int_equal(a->nx, 2);
    assert_int_equal(a->ny, 2);
    assert_string_equal(a->x_values[0], "1");
    assert_string_equal(a->x_values[1], "1.5");
    assert_string_equal(a->y_values[0], "0.7");
    assert_int_equal(a->slots, 1);
    assert_int_equal(a->npanels, 2); /* one grid per style */
    assert_string_equal(a->panels[0].title, "Neon");
    assert_string_equal(a->panels[1].title, "Snow");
    int seen[2][2][2] = {{{0}}};
    for (int i = 0; i < a->ncells; i++) {
        const iid_sheet_cell_t *c = &a->cells[i];
        assert_string_equal(iid__csv_cell(&t, c->row, IID_COL_IDENTITYNET), a->x_values[c->gx]);
        assert_string_equal(iid__csv_cell(&t, c->row, IID_COL_ADAPTER), a->y_values[c->gy]);
        assert_string_equal(iid__csv_cell(&t, c->row, IID_COL_STYLE), a->panels[c->panel].title);
        seen[c->panel][c->gx][c->gy]++;
    }
    for (int p = 0; p < 2; p++)
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++) assert_int_equal(seen[p][x][y], 1);
    /* Columns share x positions, rows y positions, across the grid. */
    const iid_sheet_cell_t *c0 = &a->cells[0], *c1 = &a->cells[1], *c2 = &a->cells[2];
    assert_int_equal(c0->gx, 0);
    assert_int_equal(c1->gy, 1);
    assert_int_equal(c0->px, c1->px);
    assert_true(c1->py > c0->py);
    assert_true(c2->px > c0->px);
    check_boxes(a);
    /* b.png: one failed job, one value of each axis: a list. */
    const iid_sheet_t *bs = &set.sheets[1];
    assert_string_equal(bs->key, "b.png");
    assert_int_equal(bs->ncells, 1);
    assert_int_equal(bs->nfailed, 1);
    assert_false(bs->grid);
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

static void test_random_sweep_is_a_list(void **state)
{
    (void)state;
    log_buf_t b;
    log_start(&b);
    for (int j = 0; j < 10; j++) {
        char id[16], idn[32], ad[32], steps[16];
        snprintf(id, sizeof id, "%d", j);
        snprintf(idn, sizeof idn, "1.%d3", j);
        snprintf(ad, sizeof ad, "0.7%d", j);
        snprintf(steps, sizeof steps, "%d", 40 + j);
        log_row(&b, "a.png", "x.png", idn, ad, steps, "7.5", "1", 1, "", j % 2 ? "Neon" : "Snow", id);
    }
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    layout(&t, IID_SHEET_BY_IMAGE, NULL, &set);
    assert_int_equal(set.count, 1);
    const iid_sheet_t *s = &set.sheets[0];
    assert_false(s->grid);
    assert_int_equal(s->npanels, 1);
    assert_string_equal(s->panels[0].title, "");
    assert_int_equal(s->ncells, 10);
    /* In job order, wrapped 4 wide (the ceiling of the square root of 10). */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(strtol(iid__csv_cell(&t, s->cells[i].row, IID_COL_JOB_ID), NULL, 10), i);
        assert_int_equal(s->cells[i].gx, i % 4);
        assert_int_equal(s->cells[i].gy, i / 4);
    }
    check_boxes(s);
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

/* A resumed log: per job the latest successful row, else the latest failure;
 * other ids after the numbers, rows without an id each their own cell. */
static void test_resumed_log(void **state)
{
    (void)state;
    log_buf_t b;
    log_start(&b);
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "1", 0, "first try", "Neon", "10");
    log_row(&b, "a.png", "a_10.png", "1", "0.7", "30", "5", "1", 1, "", "Neon", "10");
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "1", 0, "after the success", "Neon", "10");
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "2", 0, "old failure", "Neon", "2");
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "2", 0, "new failure", "Neon", "2");
    log_row(&b, "a.png", "web_1.png", "1", "0.7", "30", "5", "3", 1, "", "Neon", "web-1");
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "4", 0, "no id", "Neon", "");
    log_row(&b, "a.png", "", "1", "0.7", "30", "5", "5", 0, "no id either", "Neon", "");
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    layout(&t, IID_SHEET_BY_IMAGE, NULL, &set);
    const iid_sheet_t *s = &set.sheets[0];
    assert_int_equal(s->ncells, 5);
    assert_string_equal(iid__csv_cell(&t, s->cells[0].row, IID_COL_JOB_ID), "2");
    assert_string_equal(iid__csv_cell(&t, s->cells[0].row, IID_COL_ERROR), "new failure");
    assert_string_equal(iid__csv_cell(&t, s->cells[1].row, IID_COL_JOB_ID), "10");
    assert_string_equal(iid__csv_cell(&t, s->cells[1].row, IID_COL_SUCCESS), "True");
    assert_string_equal(iid__csv_cell(&t, s->cells[2].row, IID_COL_JOB_ID), "web-1");
    assert_string_equal(iid__csv_cell(&t, s->cells[3].row, IID_COL_ERROR), "no id");
    assert_string_equal(iid__csv_cell(&t, s->cells[4].row, IID_COL_ERROR), "no id either");
    assert_int_equal(s->nfailed, 3);
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

static void test_by_style_and_sweep(void **state)
{
    (void)state;
    log_buf_t b;
    grid_log(&b);
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    layout(&t, IID_SHEET_BY_STYLE, NULL, &set);
    assert_int_equal(set.count, 2);
    assert_string_equal(set.sheets[0].key, "Neon");
    assert_string_equal(set.sheets[1].key, "Snow");
    /* Neon: a.png's 4 grid cells and b.png's failure: a grid, one panel per image. */
    const iid_sheet_t *n = &set.sheets[0];
    assert_int_equal(n->ncells, 5);
    assert_true(n->grid);
    assert_int_equal(n->npanels, 2);
    assert_string_equal(n->panels[0].title, "a.png");
    assert_string_equal(n->panels[1].title, "b.png");
    check_boxes(n);
    iid__sheets_free(&set);
    layout(&t, IID_SHEET_BY_SWEEP, NULL, &set);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.sheets[0].key, "sweep");
    assert_int_equal(set.sheets[0].ncells, 9);
    assert_true(set.sheets[0].grid);
    assert_int_equal(set.sheets[0].npanels, 3); /* a.png · Neon, a.png · Snow, b.png · Neon */
    assert_string_equal(set.sheets[0].panels[1].title, "a.png \xc2\xb7 Snow");
    iid__sheets_free(&set);
    /* --only picks one sheet. */
    layout(&t, IID_SHEET_BY_IMAGE, "b.png", &set);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.sheets[0].key, "b.png");
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

/* A grid cut short (--limit): the full panel makes it a grid; the cut one has
 * an empty position. Loops put two cells in one position. */
static void test_cut_grid_and_slots(void **state)
{
    (void)state;
    log_buf_t b;
    log_start(&b);
    log_row(&b, "a.png", "1.png", "1", "0.7", "30", "5", "1", 1, "", "Neon", "0");
    log_row(&b, "a.png", "2.png", "1", "1", "30", "5", "1", 1, "", "Neon", "1");
    log_row(&b, "a.png", "3.png", "2", "0.7", "30", "5", "1", 1, "", "Neon", "2");
    log_row(&b, "a.png", "4.png", "2", "1", "30", "5", "1", 1, "", "Neon", "3");
    log_row(&b, "a.png", "5.png", "1", "0.7", "30", "5", "1", 1, "", "Snow", "4");
    log_row(&b, "a.png", "6.png", "1", "0.7", "30", "5", "7", 1, "", "Snow", "5"); /* a second loop */
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    layout(&t, IID_SHEET_BY_IMAGE, NULL, &set);
    const iid_sheet_t *s = &set.sheets[0];
    assert_true(s->grid);
    assert_int_equal(s->npanels, 2);
    assert_int_equal(s->slots, 2);
    assert_int_equal(s->cells[4].slot, 0);
    assert_int_equal(s->cells[5].slot, 1);
    assert_int_equal(s->cells[5].gx, s->cells[4].gx);
    assert_true(s->cells[5].px > s->cells[4].px);
    check_boxes(s);
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

static void test_refusals(void **state)
{
    (void)state;
    log_buf_t b;
    grid_log(&b);
    iid_csv_t t;
    parse(&b, &t);
    iid_sheet_set_t set;
    iid_error_t err;
    assert_int_equal(iid__sheets_layout(&t, IID_SHEET_BY_IMAGE, IID_COL_STEPS, IID_COL_STEPS, &metrics, NULL, &set, &err),
                     IID_ERR_INVALID);
    assert_int_equal(set.count, 0);
    assert_int_equal(iid__sheets_layout(&t, IID_SHEET_BY_IMAGE, IID_COL_IDENTITYNET, IID_COL_ADAPTER, &metrics, "zz.png",
                                        &set, &err),
                     IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "zz.png"));
    /* 1024-pixel thumbnails of a sweep of 400 jobs are far past the side limit. */
    log_start(&b);
    for (int j = 0; j < 400; j++) {
        char id[16], idn[32];
        snprintf(id, sizeof id, "%d", j);
        snprintf(idn, sizeof idn, "1.%03d", j);
        log_row(&b, "a.png", "x.png", idn, "0.7", "30", "5", "1", 1, "", "Neon", id);
    }
    iid__csv_free(&t);
    parse(&b, &t);
    iid_sheet_metrics_t big = {1024, 40, 64, 600};
    assert_int_equal(iid__sheets_layout(&t, IID_SHEET_BY_IMAGE, IID_COL_IDENTITYNET, IID_COL_ADAPTER, &big, NULL, &set, &err),
                     IID_ERR_RANGE);
    assert_non_null(strstr(err.msg, "a.png"));
    /* A log without rows gives no sheets. */
    log_start(&b);
    iid__csv_free(&t);
    parse(&b, &t);
    layout(&t, IID_SHEET_BY_IMAGE, NULL, &set);
    assert_int_equal(set.count, 0);
    iid__sheets_free(&set);
    iid__csv_free(&t);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(iid__sheet_axis_column("identitynet_strength"), IID_COL_IDENTITYNET);
    assert_int_equal(iid__sheet_axis_column("adapter_strength"), IID_COL_ADAPTER);
    assert_int_equal(iid__sheet_axis_column("steps"), IID_COL_STEPS);
    assert_int_equal(iid__sheet_axis_column("guidance_scale"), IID_COL_GUIDANCE);
    assert_int_equal(iid__sheet_axis_column("style"), IID_COL_STYLE);
    assert_int_equal(iid__sheet_axis_column("prompt"), -1);
    iid_sheet_by_t by;
    assert_int_equal(iid__sheet_by_parse("style", &by, NULL), IID_OK);
    assert_int_equal(by, IID_SHEET_BY_STYLE);
    assert_int_equal(iid__sheet_by_parse("row", &by, NULL), IID_ERR_INVALID);
    char name[256];
    iid__sheet_file_name("astronaut.png", name, sizeof name);
    assert_string_equal(name, "astronaut.png.sheet.png");
    iid__sheet_file_name("Film Noir/../x", name, sizeof name);
    assert_string_equal(name, "Film_Noir_.._x.sheet.png");
    iid__sheet_file_name(".hidden", name, sizeof name);
    assert_string_equal(name, "_hidden.sheet.png");
    char v[64];
    iid__sheet_value_text("1.3785877666792246", v, sizeof v);
    assert_string_equal(v, "1.379");
    iid__sheet_value_text("Neon", v, sizeof v);
    assert_string_equal(v, "Neon");
}

/* ---- drawing ------------------------------------------------------------ */

static iid_status resolve_dir(void *user, const char *name, char *path, size_t cap, iid_error_t *err)
{
    snprintf(path, cap, "%s/%s", (const char *)user, name);
    return IID_OK;
}

static const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("no \"%s\" in the sheet's JSON", key);
    return v;
}

static void test_draw(void **state)
{
    (void)state;
    char font_path[4096];
    iid_error_t err;
    /* The font is a dependency like the libraries (scripts/install-deps.sh). */
    if (iid__font_find(font_path, sizeof font_path, &err) != IID_OK) fail_msg("%s", err.msg);
    char *dir = iid_test_tempdir();
    /* A red 32x16 output, a truncated one, a missing one, and a failed job. */
    iid_image_t red;
    assert_int_equal(iid__image_alloc(&red, 32, 16, 3, NULL), IID_OK);
    for (int i = 0; i < 32 * 16; i++) red.data[i * 3] = 255;
    char path[4200];
    snprintf(path, sizeof path, "%s/red.png", dir);
    assert_int_equal(iid__png_write(path, &red, NULL, 0, NULL), IID_OK);
    iid__image_free(&red);
    free(iid_test_write(dir, "cut.png", "\x89PNG\r\n\x1a\n\0\0", 10));
    log_buf_t b;
    log_start(&b);
    log_row(&b, "a.png", "red.png", "1", "0.7", "30", "5", "11", 1, "", "Neon", "0");
    log_row(&b, "a.png", "cut.png", "1", "1", "30", "5", "12", 1, "", "Neon", "1");
    log_row(&b, "a.png", "gone.png", "2", "0.7", "30", "5", "13", 1, "", "Neon", "2");
    log_row(&b, "a.png", "", "2", "1", "30", "5", "14", 0, "a.png: no face found", "Neon", "3");
    iid_csv_t t;
    parse(&b, &t);
    iid_font_t *font;
    assert_int_equal(iid__font_open(&font, font_path, 10, NULL), IID_OK);
    iid_sheet_metrics_t m = iid__sheet_metrics(64, iid__font_line_height(font));
    iid_sheet_set_t set;
    if (iid__sheets_layout(&t, IID_SHEET_BY_IMAGE, IID_COL_IDENTITYNET, IID_COL_ADAPTER, &m, NULL, &set, &err) != IID_OK)
        fail_msg("%s", err.msg);
    const iid_sheet_t *s = &set.sheets[0];
    assert_true(s->grid);
    iid_image_t img;
    char *json;
    assert_int_equal(iid__sheet_draw(&set, s, &t, font, resolve_dir, dir, &img, &json, NULL), IID_OK);
    assert_int_equal(img.width, s->width);
    assert_int_equal(img.height, s->height);
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(item(j, "format")), "instantid-sheet/1");
    assert_int_equal((int)item(j, "width")->valuedouble, s->width);
    assert_true(cJSON_IsTrue(item(j, "grid")));
    assert_string_equal(cJSON_GetStringValue(item(item(j, "x"), "column")), "identitynet_strength_ratio");
    const cJSON *cells = item(j, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), 4);
    static const char *const want[] = {"ok", "unreadable", "unreadable", "failed"};
    for (int i = 0; i < 4; i++) {
        const cJSON *c = cJSON_GetArrayItem(cells, i);
        assert_string_equal(cJSON_GetStringValue(item(c, "status")), want[i]);
        assert_int_equal((int)item(c, "x")->valuedouble, s->cells[i].px);
    }
    const cJSON *c0 = cJSON_GetArrayItem(cells, 0);
    assert_true(cJSON_IsNull(item(c0, "reason")));
    assert_string_equal(cJSON_GetStringValue(item(c0, "label")),
                        "Neon\nIdentityNet 1\nadapter 0.7\n30 steps \xc2\xb7 cfg 5\nseed 11 \xc2\xb7 job 0");
    assert_non_null(strstr(cJSON_GetStringValue(item(cJSON_GetArrayItem(cells, 1), "reason")), "cut.png"));
    assert_non_null(strstr(cJSON_GetStringValue(item(cJSON_GetArrayItem(cells, 3), "reason")), "no face found"));
    /* The red thumbnail fills the middle of its square (32x16 fitted to 64x32). */
    const iid_sheet_cell_t *k = &s->cells[0];
    const uint8_t *mid = img.data + ((size_t)(k->py + 32) * (size_t)img.width + (size_t)(k->px + 32)) * 3;
    assert_true(mid[0] > 240 && mid[1] < 16 && mid[2] < 16);
    /* The label under it has dark text pixels (FreeType drew something). */
    int dark = 0;
    for (int y = k->py + 64; y < k->py + k->ph; y++)
        for (int x = k->px; x < k->px + k->pw; x++) dark += img.data[((size_t)y * (size_t)img.width + (size_t)x) * 3] < 100;
    assert_true(dark > 20);
    cJSON_Delete(j);
    free(json);
    iid__image_free(&img);
    iid__sheets_free(&set);
    iid__font_free(font);
    iid__csv_free(&t);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_font_errors(void **state)
{
    (void)state;
    iid_font_t *f;
    iid_error_t err;
    char *dir = iid_test_tempdir();
    char *bad = iid_test_write(dir, "bad.ttf", "not a font", 10);
    assert_int_equal(iid__font_open(&f, bad, 12, &err), IID_ERR_FORMAT);
    assert_null(f);
    assert_non_null(strstr(err.msg, "bad.ttf"));
    free(bad);
    iid_test_rmtree(dir);
    free(dir);
}

static iid_status no_file(void *user, const char *name, char *path, size_t cap, iid_error_t *err)
{
    (void)user;
    (void)path;
    (void)cap;
    return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such file", name);
}

/* A row of 20 steps values at --thumb 1024 is 22570 pixels wide: drawn again at
 * 768 (still over 16384), then at 576. */
static void test_oversized_sheet_shrinks(void **state)
{
    (void)state;
    log_buf_t b;
    log_start(&b);
    for (int j = 0; j < 20; j++) {
        char id[16], steps[16];
        snprintf(id, sizeof id, "%d", j);
        snprintf(steps, sizeof steps, "%d", 10 + j);
        log_row(&b, "a.png", "x.png", "1", "0.7", steps, "5", "1", 1, "", "Neon", id);
    }
    char *dir = iid_test_tempdir();
    char *log = iid_test_write(dir, "log.csv", b.text, b.len);
    iid_sheet_options_t o;
    iid__sheet_options_init(&o);
    o.x_col = IID_COL_STEPS;
    o.y_col = IID_COL_GUIDANCE;
    o.thumb = 1024;
    o.only = "a.png";
    uint8_t *png;
    size_t size;
    iid_error_t err;
    if (iid__sheet_encode(log, no_file, NULL, &o, &png, &size, &err) != IID_OK) fail_msg("%s", err.msg);
    char *text;
    assert_int_equal(iid__png_text_decode(png, size, "sheet", IID_SHEET_TEXT_KEY, &text, NULL), IID_OK);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(item(j, "grid")));
    assert_true(item(j, "width")->valuedouble <= IID_SHEET_MAX_SIDE);
    const cJSON *cells = item(j, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), 20);
    assert_int_equal((int)item(cJSON_GetArrayItem(cells, 0), "w")->valuedouble, 576);
    assert_string_equal(cJSON_GetStringValue(item(cJSON_GetArrayItem(cells, 0), "status")), "unreadable");
    cJSON_Delete(j);
    free(text);
    free(png);
    free(log);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_sweep),        cmocka_unit_test(test_random_sweep_is_a_list),
        cmocka_unit_test(test_resumed_log),       cmocka_unit_test(test_by_style_and_sweep),
        cmocka_unit_test(test_cut_grid_and_slots), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_names),             cmocka_unit_test(test_draw),
        cmocka_unit_test(test_font_errors),       cmocka_unit_test(test_oversized_sheet_shrinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
