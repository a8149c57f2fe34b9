/* test_csv.c - RFC 4180 text: quoting, line ends, truncated last rows, the writer round trip, files,
 * and the memory a large log takes to load (allocations counted through the linker's --wrap). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/csv.h"
#include "support.h"

static iid_csv_t parse_ok(const char *text)
{
    iid_csv_t csv;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(text, strlen(text), "t.csv", &csv, &err), IID_OK);
    return csv;
}

static void test_plain_and_crlf(void **state)
{
    (void)state;
    iid_csv_t csv = parse_ok("a,b,c\r\n1,2,3\n,,\r\n");
    assert_int_equal(csv.ncols, 3);
    assert_int_equal(csv.nrows, 2);
    assert_string_equal(csv.header[2], "c");
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "1");
    assert_string_equal(iid__csv_cell(&csv, 1, 1), "");
    assert_int_equal(iid__csv_column(&csv, "b"), 1);
    assert_int_equal(iid__csv_column(&csv, "z"), -1);
    iid__csv_free(&csv);
    iid__csv_free(&csv); /* freed twice: a no-op */
    iid__csv_free(NULL);
}

static void test_quoting(void **state)
{
    (void)state;
    iid_csv_t csv = parse_ok("name,msg\r\n"
                             "\"a, b\",\"she said \"\"hi\"\"\"\r\n"
                             "\"multi\r\nline\nfield\",\"\"\r\n"
                             "x\"y,\"q\"tail\n");
    assert_int_equal(csv.nrows, 3);
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "a, b");
    assert_string_equal(iid__csv_cell(&csv, 0, 1), "she said \"hi\"");
    assert_string_equal(iid__csv_cell(&csv, 1, 0), "multi\r\nline\nfield");
    assert_string_equal(iid__csv_cell(&csv, 1, 1), "");
    /* Lenient like Python's csv: a quote mid-field is literal, text after a
     * closing quote is appended. */
    assert_string_equal(iid__csv_cell(&csv, 2, 0), "x\"y");
    assert_string_equal(iid__csv_cell(&csv, 2, 1), "qtail");
    iid__csv_free(&csv);
}

static void test_truncated_last_row_is_dropped(void **state)
{
    (void)state;
    /* A row still being written: no line break yet. */
    iid_csv_t csv = parse_ok("h1,h2\n1,2\n3,4");
    assert_int_equal(csv.nrows, 1);
    assert_true(csv.partial_tail);
    assert_string_equal(iid__csv_cell(&csv, 0, 1), "2");
    iid__csv_free(&csv);
    /* Cut inside a quoted field that already holds a line break. */
    csv = parse_ok("h1,h2\n1,2\n3,\"four\nfi");
    assert_int_equal(csv.nrows, 1);
    assert_int_equal(csv.complete_len, 10);
    iid__csv_free(&csv);
    /* Cut right after the CR of a CRLF. */
    csv = parse_ok("h1,h2\r\n1,2\r");
    assert_int_equal(csv.nrows, 1); /* a lone CR ends the record */
    iid__csv_free(&csv);
}

static void test_blank_lines_bom_and_empty(void **state)
{
    (void)state;
    iid_csv_t csv = parse_ok("\xEF\xBB\xBFh1\n\n\r\nv\n");
    assert_int_equal(csv.nrows, 1);
    assert_string_equal(csv.header[0], "h1");
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "v");
    iid__csv_free(&csv);
    csv = parse_ok("");
    assert_int_equal(csv.nrows, 0);
    assert_int_equal(csv.ncols, 0);
    iid__csv_free(&csv);
    /* A quoted empty field is a record, unlike a blank line. */
    csv = parse_ok("h\n\"\"\n");
    assert_int_equal(csv.nrows, 1);
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "");
    iid__csv_free(&csv);
}

static void test_write_round_trip(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    const char *header[] = {"h"}, *empty[] = {""}, *tricky[] = {"a,\"b\"\r\nc"};
    iid__csv_write_record(m, header, 1);
    iid__csv_write_record(m, empty, 1); /* must not read back as a blank line */
    iid__csv_write_record(m, tricky, 1);
    fclose(m);
    iid_csv_t csv = parse_ok(buf);
    assert_int_equal(csv.nrows, 2);
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "");
    assert_string_equal(iid__csv_cell(&csv, 1, 0), "a,\"b\"\r\nc");
    iid__csv_free(&csv);
    free(buf);
}

static void test_too_many_fields(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 2);
    assert_non_null(text);
    memset(text, ',', n);
    text[n] = '\n';
    text[n + 1] = '\0';
    iid_csv_t csv;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(text, n + 1, "wide.csv", &csv, &err), IID_ERR_RANGE);
    assert_non_null(strstr(err.msg, "wide.csv: row 1"));
    assert_int_equal(csv.nrows, 0);
    free(text);
}

static void test_load_file(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    assert_non_null(dir);
    const char text[] = "image_name,success\r\nphoto \"1\".png,True\r\n";
    char *path = iid_test_write(dir, "log.csv", text, sizeof text - 1);
    iid_csv_t csv;
    iid_error_t err;
    assert_int_equal(iid__csv_load(path, 1 << 20, &csv, &err), IID_OK);
    assert_int_equal(csv.nrows, 1);
    assert_string_equal(iid__csv_cell(&csv, 0, 0), "photo \"1\".png");
    iid__csv_free(&csv);
    assert_int_not_equal(iid__csv_load(path, 8, &csv, &err), IID_OK); /* over max_bytes */
    assert_non_null(strstr(err.msg, "log.csv"));
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.csv", dir);
    assert_int_equal(iid__csv_load(missing, 1 << 20, &csv, &err), IID_ERR_IO);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

/* ---- counting allocations ---------------------------------------------- */

/* tests/CMakeLists.txt links this test with --wrap=malloc,calloc,realloc,free, so
 * every allocation of the library goes through these while `counting` is set. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static int counting;
static long long live, peak;

static void count(void *p, int sign)
{
    if (!p || !counting) return;
    live += sign * (long long)malloc_usable_size(p);
    if (live > peak) peak = live;
}

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    count(p, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = __real_calloc(n, size);
    count(p, 1);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    count(p, -1);
    void *q = __real_realloc(p, n);
    count(q ? q : p, 1); /* a failed realloc keeps the old block */
    return q;
}

void __wrap_free(void *p)
{
    count(p, -1);
    __real_free(p);
}

/* A 4 MB log of 10,000 rows, quoted fields and all, loads with at most 3 bytes
 * allocated at any time per byte of file (the text, a pointer per cell, and the
 * growth of the offset table); the old reader allocated the rest of the file for
 * every field. */
static void test_large_log_memory_is_linear(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const char *header[22];
    char names[22][8];
    for (int c = 0; c < 22; c++) {
        snprintf(names[c], sizeof names[c], "col%d", c);
        header[c] = names[c];
    }
    iid__csv_write_record(f, header, 22);
    const long rows = 10000;
    for (long r = 0; r < rows; r++) {
        char id[16], prompt[400];
        snprintf(id, sizeof id, "%ld", r);
        snprintf(prompt, sizeof prompt,
                 "watercolor painting of a person, \"%ld\". vibrant, beautiful, painterly, detailed, textural, "
                 "artistic, human, sharp focus, best quality, high resolution, dramatic lighting, masterpiece",
                 r);
        const char *row[22] = {"photo_001.jpg", "photo_001_watercolor_12_34.png", "1.234", "0.87", "45", "9.5",
                               "123456789", "True", "", "Watercolor", prompt,
                               "lowres, low quality, worst quality, text, watermark, deformed, ugly, blurry",
                               "123.45", "2026-12-07 10:11:12", id, "1024", "1024", "euler", "1", "0.91", "cpu", ""};
        iid__csv_write_record(f, row, 22);
    }
    long size = ftell(f);
    assert_int_equal(fclose(f), 0);
    assert_true(size > 4000000);

    iid_csv_t csv;
    iid_error_t err;
    live = peak = 0;
    counting = 1;
    iid_status st = iid__csv_load(path, (size_t)1 << 30, &csv, &err);
    counting = 0;
    assert_int_equal(st, IID_OK);
    assert_int_equal(csv.nrows, rows);
    assert_string_equal(iid__csv_cell(&csv, rows - 1, 14), "9999");
    print_message("loading a %ld-byte log: peak %lld bytes allocated (%.2f per byte)\n", size, peak,
                  (double)peak / (double)size);
    assert_true(peak <= 3 * (long long)size);
    iid__csv_free(&csv);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_crlf),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_truncated_last_row_is_dropped),
        cmocka_unit_test(test_blank_lines_bom_and_empty),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_large_log_memory_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
