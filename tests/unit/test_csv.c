/* test_csv.c - RFC 4180 text: quoting, line ends, truncated last rows, the writer round trip, files. */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
