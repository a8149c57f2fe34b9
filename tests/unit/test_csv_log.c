/* test_csv_log.c - CSV quoting round trips, the log header, truncated last rows,
 * merging, and the number formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/csv_log.h"
#include "batch/log_lock.h"
#include "io/file.h"
#include "support.h"

static const char *const tricky[] = {"plain", "", "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", "\"", "ünï ✓"};
#define N_TRICKY ((int)(sizeof tricky / sizeof tricky[0]))

static void test_round_trip(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    const char *header[N_TRICKY] = {"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"};
    assert_int_equal(iid__csv_write_record(m, header, N_TRICKY), 0);
    assert_int_equal(iid__csv_write_record(m, tricky, N_TRICKY), 0);
    assert_int_equal(iid__csv_write_record(m, tricky, N_TRICKY), 0);
    fclose(m);
    assert_non_null(strstr(buf, "\"a,b\",\"say \"\"hi\"\"\""));
    iid_csv_t t;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(buf, size, "mem", &t, &err), IID_OK);
    assert_int_equal(t.ncols, N_TRICKY);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.partial_tail, 0);
    assert_int_equal(t.complete_len, size);
    for (long r = 0; r < 2; r++)
        for (int c = 0; c < N_TRICKY; c++) assert_string_equal(iid__csv_cell(&t, r, c), tricky[c]);
    assert_int_equal(iid__csv_column(&t, "h3"), 3);
    assert_int_equal(iid__csv_column(&t, "nope"), -1);
    iid__csv_free(&t);

    /* Every cut of the text drops exactly the record it cuts into. */
    for (size_t cut = 0; cut < size; cut++) {
        assert_int_equal(iid__csv_parse(buf, cut, "mem", &t, &err), IID_OK);
        assert_true(t.nrows <= 2);
        assert_true(t.complete_len <= cut);
        for (long r = 0; r < t.nrows; r++)
            for (int c = 0; c < N_TRICKY; c++) assert_string_equal(iid__csv_cell(&t, r, c), tricky[c]);
        iid__csv_free(&t);
    }
    free(buf);
    iid__csv_free(NULL);
}

static void test_lf_and_wrong_width(void **state)
{
    (void)state;
    const char *text = "a,b\n1,2\n3\n4,5,6\n7,8\n";
    iid_csv_t t;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(text, strlen(text), "mem", &t, &err), IID_OK);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.skipped, 2);
    assert_string_equal(iid__csv_cell(&t, 1, 1), "8");
    iid__csv_free(&t);
}

static void fill_row(const char *fields[IID_LOG_NCOLS], const char *job, const char *ok)
{
    for (int i = 0; i < IID_LOG_NCOLS; i++) fields[i] = "";
    fields[IID_COL_IMAGE_NAME] = "a.jpg";
    fields[IID_COL_JOB_ID] = job;
    fields[IID_COL_SUCCESS] = ok;
    fields[IID_COL_PROMPT] = "human, sharp \"focus\"\nline two";
}

static char *slurp(const char *path)
{
    char *text;
    size_t n;
    iid_error_t err;
    return iid__file_read_all(path, 1 << 20, &text, &n, &err) == IID_OK ? text : NULL;
}

static void test_log_header_and_truncation(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    iid_log_writer_t w;
    iid_error_t err;
    const char *f[IID_LOG_NCOLS];
    assert_int_equal(iid__log_open(&w, path, &err), IID_OK);
    fill_row(f, "0", "True");
    assert_int_equal(iid__log_append(&w, f, &err), IID_OK);
    iid__log_close(&w);
    iid__log_close(&w); /* closed twice is fine */
    char *text = slurp(path);
    assert_non_null(text);
    assert_int_equal(strncmp(text,
                             "image_name,new_file_name,identitynet_strength_ratio,adapter_strength_ratio,"
                             "num_inference_steps,guidance_scale,seed,success,error_message,style_name,prompt,"
                             "negative_prompt,time_taken,current_timestamp,job_id,width,height,scheduler,"
                             "face_count,face_score,device,shard\r\n",
                             229),
                     0);
    size_t good = strlen(text);
    free(text);

    /* A kill -9 mid-row: append half a row with an open quote. */
    FILE *a = fopen(path, "ab");
    fputs("b.jpg,,1.2,0.8,40,7,5,True,,Neon,\"half a prom", a);
    fclose(a);
    iid_csv_t t;
    assert_int_equal(iid__log_read(path, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 1);
    assert_int_equal(t.partial_tail, 1);
    iid__csv_free(&t);

    /* Reopening cuts the partial row off; the next row starts on a fresh line. */
    assert_int_equal(iid__log_open(&w, path, &err), IID_OK);
    fill_row(f, "1", "False");
    f[IID_COL_ERROR] = "b.jpg: no face found";
    assert_int_equal(iid__log_append(&w, f, &err), IID_OK);
    iid__log_close(&w);
    assert_int_equal(iid__log_read(path, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.partial_tail, 0);
    assert_int_equal(t.skipped, 0);
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_JOB_ID), "1");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_ERROR), "b.jpg: no face found");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_PROMPT), "human, sharp \"focus\"\nline two");
    iid__csv_free(&t);
    text = slurp(path);
    assert_true(strlen(text) > good);
    free(text);

    /* A file that is not our log is refused, for appending and for reading. */
    char *other = iid_test_write(dir, "other.csv", "a,b\r\n1,2\r\n", 10);
    assert_int_equal(iid__log_open(&w, other, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "other.csv"));
    assert_int_equal(iid__log_read(other, &t, &err), IID_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    assert_int_equal(iid__log_read(path, &t, &err), IID_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/no/such/dir/log.csv", dir);
    assert_int_equal(iid__log_open(&w, path, &err), IID_ERR_IO);
    free(other);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_merge(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char p0[4096], p1[4096], out[4096];
    snprintf(p0, sizeof p0, "%s/s0.csv", dir);
    snprintf(p1, sizeof p1, "%s/s1.csv", dir);
    snprintf(out, sizeof out, "%s/all.csv", dir);
    const char *ids0[] = {"4", "0", "2", "2"}, *ids1[] = {"3", "1", "10"};
    iid_log_writer_t w;
    iid_error_t err;
    const char *f[IID_LOG_NCOLS];
    assert_int_equal(iid__log_open(&w, p0, &err), IID_OK);
    for (int i = 0; i < 4; i++) {
        fill_row(f, ids0[i], i == 3 ? "True" : "False");
        assert_int_equal(iid__log_append(&w, f, &err), IID_OK);
    }
    iid__log_close(&w);
    assert_int_equal(iid__log_open(&w, p1, &err), IID_OK);
    for (int i = 0; i < 3; i++) {
        fill_row(f, ids1[i], "True");
        assert_int_equal(iid__log_append(&w, f, &err), IID_OK);
    }
    iid__log_close(&w);
    const char *in[] = {p0, p1};
    long rows = 0;
    assert_int_equal(iid__log_merge(in, 2, out, &rows, &err), IID_OK);
    assert_int_equal(rows, 7);
    iid_csv_t t;
    assert_int_equal(iid__log_read(out, &t, &err), IID_OK);
    const char *want[] = {"0", "1", "2", "2", "3", "4", "10"};
    for (int r = 0; r < 7; r++) assert_string_equal(iid__csv_cell(&t, r, IID_COL_JOB_ID), want[r]);
    assert_string_equal(iid__csv_cell(&t, 2, IID_COL_SUCCESS), "False"); /* same job: input order kept */
    assert_string_equal(iid__csv_cell(&t, 3, IID_COL_SUCCESS), "True");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_PROMPT), "human, sharp \"focus\"\nline two");
    iid__csv_free(&t);

    /* A bad input leaves the output untouched. */
    char *bad = iid_test_write(dir, "bad.csv", "x\r\n", 3);
    const char *in2[] = {p0, bad};
    assert_int_equal(iid__log_merge(in2, 2, out, &rows, &err), IID_ERR_FORMAT);
    assert_int_equal(iid__log_read(out, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 7);
    iid__csv_free(&t);
    free(bad);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_formats(void **state)
{
    (void)state;
    char b[64];
    const double vals[] = {1.2, 0.1 + 0.2, 1.0 / 3.0, 7.0, 1e-300, 12.000000000000002};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        iid__fmt_double(b, sizeof b, vals[i]);
        assert_true(strtod(b, NULL) == vals[i]);
    }
    iid__fmt_double(b, sizeof b, 1.2);
    assert_string_equal(b, "1.2");
    iid__fmt_double(b, sizeof b, 0.1 + 0.2);
    assert_string_equal(b, "0.30000000000000004");
    iid__fmt_timestamp(b, sizeof b, 0);
    assert_int_equal(strlen(b), 19);
    assert_true(b[4] == '-' && b[7] == '-' && b[10] == ' ' && b[13] == ':' && b[16] == ':');
}

/* One batch per log: a second lock is refused at once, naming the holder from
 * the lock note; unlocking drops the lock and the note. flock locks belong to
 * the open file, so a second lock in this same process conflicts as another
 * process's would. Rows can still be appended while the lock is held (the web
 * server's rows lock the log file itself, one row at a time). */
static void test_second_batch_refused(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char path[4200], note[4300];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    snprintf(note, sizeof note, "%s.lock", path);
    iid_log_lock_t a, b;
    iid_error_t err;
    assert_int_equal(iid__log_check_free(path, &err), IID_OK); /* no note yet */
    assert_int_equal(iid__log_lock(&a, path, &err), IID_OK);
    char *text = slurp(note);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld on ", (long)getpid());
    assert_non_null(strstr(text, pid));
    free(text);
    assert_int_equal(iid__log_lock(&b, path, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "log.csv: another batch is writing this log (pid "));
    assert_non_null(strstr(err.msg, pid));
    assert_null(b.note);
    assert_int_equal(iid__log_check_free(path, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, pid));
    iid_log_writer_t w;
    const char *f[IID_LOG_NCOLS];
    fill_row(f, "0", "True");
    assert_int_equal(iid__log_open(&w, path, &err), IID_OK);
    assert_int_equal(iid__log_append(&w, f, &err), IID_OK);
    iid__log_close(&w);
    iid__log_unlock(&a);
    iid__log_unlock(&a); /* twice: a no-op */
    assert_int_not_equal(access(note, F_OK), 0);
    assert_int_equal(iid__log_check_free(path, &err), IID_OK);
    assert_int_equal(iid__log_lock(&b, path, &err), IID_OK);
    iid__log_unlock(&b);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_lf_and_wrong_width),
        cmocka_unit_test(test_log_header_and_truncation),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_second_batch_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
