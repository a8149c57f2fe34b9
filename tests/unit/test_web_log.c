/*
 * test_web_log.c - the log plumbing of the web UI: web jobs as rows of the batch
 * log (server/web_log.h: columns, failures, a foreign or half-written log, and
 * waiting for a writer's lock), web rows in `merge`, and the batch's sidecar
 * that tells `serve` where the input images are (batch/log_meta.h).
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch/csv_log.h"
#include "batch/log_meta.h"
#include "server/web_log.h"
#include "support.h"

/* A job as the upload would build it. */
static iid_job_t *make_job(const char *id, const char *face_name, int width, int height)
{
    iid_job_t *job = iid__job_new();
    assert_non_null(job);
    snprintf(job->id, sizeof job->id, "%s", id);
    iid_gen_request_t *r = &job->req;
    free((void *)r->face_name), free((void *)r->prompt), free((void *)r->style), free((void *)r->scheduler);
    r->face_name = strdup(face_name);
    r->prompt = strdup("a portrait, \"quoted\"\nsecond line");
    r->style = strdup("Neon");
    r->scheduler = strdup("euler");
    assert_true(r->face_name && r->prompt && r->style && r->scheduler);
    r->identitynet_strength = 1.25;
    r->adapter_strength = 0.8;
    r->steps = 30;
    r->guidance = 5;
    r->seed = 1234;
    r->width = width;
    r->height = height;
    return job;
}

/* The first 24 bytes of a w x h PNG: all web_log.c reads of it. */
static void write_png_head(const char *dir, const char *name, unsigned w, unsigned h)
{
    unsigned char b[24] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (unsigned char)(w >> (24 - 8 * i));
        b[20 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    free(iid_test_write(dir, name, b, sizeof b));
}

static void test_web_rows(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir(), log[PATH_MAX];
    snprintf(log, sizeof log, "%s/generation_log.csv", dir);
    write_png_head(dir, "web_a1_1234.png", 40, 24);
    iid_job_t *ok = make_job("a1", "me.png", 0, 0), *bad = make_job("a2", "cat.png", 512, 768);
    iid_job_t *unsized = make_job("a3", "", 0, 0);
    iid_error_t err;
    assert_int_equal(iid__web_log_append(log, dir, ok, IID_OK, "", "web_a1_1234.png", 12.345, &err), IID_OK);
    assert_int_equal(iid__web_log_append(log, dir, bad, IID_ERR_NO_FACE, "face: no face in cat.png", "web_a2_1234.png",
                                         0.5, &err),
                     IID_OK);
    assert_int_equal(iid__web_log_append(log, dir, unsized, IID_ERR_FORMAT, "cannot decode", "x.png", 0, &err), IID_OK);
    iid_csv_t t;
    assert_int_equal(iid__log_read(log, &t, &err), IID_OK); /* the 22-column header, created */
    assert_int_equal(t.nrows, 3);
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_IMAGE_NAME), "me.png");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_NEW_FILE_NAME), "web_a1_1234.png");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_IDENTITYNET), "1.25");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_ADAPTER), "0.8");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_STEPS), "30");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_GUIDANCE), "5");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_SEED), "1234");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_SUCCESS), "True");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_ERROR), "");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_STYLE), "Neon");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_PROMPT), "a portrait, \"quoted\"\nsecond line");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_TIME_TAKEN), "12.35");
    assert_int_equal(strlen(iid__csv_cell(&t, 0, IID_COL_TIMESTAMP)), 19);
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_JOB_ID), "web-a1");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_WIDTH), "40"); /* read back from the PNG */
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_HEIGHT), "24");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_SCHEDULER), "euler");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_DEVICE), "");
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_SHARD), "web");
    /* A failure: no file name, the reason, the size asked for. */
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_NEW_FILE_NAME), "");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_SUCCESS), "False");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_ERROR), "face: no face in cat.png");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_WIDTH), "512");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_HEIGHT), "768");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_SHARD), "web");
    /* Sized from the face, and failed before: no size to log. */
    assert_string_equal(iid__csv_cell(&t, 2, IID_COL_WIDTH), "");
    assert_string_equal(iid__csv_cell(&t, 2, IID_COL_JOB_ID), "web-a3");
    iid__csv_free(&t);
    iid__job_free(ok), iid__job_free(bad), iid__job_free(unsized);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_foreign_and_half_written_logs(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir(), log[PATH_MAX];
    iid_job_t *job = make_job("b1", "me.png", 64, 64);
    iid_error_t err;
    /* Someone else's CSV is left alone. */
    char *other = iid_test_write(dir, "other.csv", "name,value\r\nx,1\r\n", 17);
    assert_int_equal(iid__web_log_append(other, dir, job, IID_OK, "", "none.png", 1, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "other.csv"));
    char *text = iid_test_slurp(other);
    assert_string_equal(text, "name,value\r\nx,1\r\n");
    free(text);
    /* A row cut short by a killed writer is cut off; the web row follows the
     * last complete one. */
    snprintf(log, sizeof log, "%s/generation_log.csv", dir);
    FILE *f = fopen(log, "wb");
    assert_non_null(f);
    assert_int_equal(iid__csv_write_record(f, iid__log_columns, IID_LOG_NCOLS), 0);
    fputs("a.png,a_Neon_0_1.png,1.0,0.8,30,5,1,True,,Neon,p,n,1.00,2026-01-01 00:00:00,0,64,64,euler,1,0.9,cpu,\r\n", f);
    fputs("b.png,b_Neon_1_2.png,1.0,0.8,30,5,2,Tr", f);
    fclose(f);
    assert_int_equal(iid__web_log_append(log, dir, job, IID_OK, "", "none.png", 1, &err), IID_OK);
    iid_csv_t t;
    assert_int_equal(iid__log_read(log, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.partial_tail, 0);
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_JOB_ID), "0");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_JOB_ID), "web-b1");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_WIDTH), "64"); /* no PNG: the size asked for */
    iid__csv_free(&t);
    iid__job_free(job);
    free(other);
    iid_test_rmtree(dir);
    free(dir);
}

typedef struct append_arg {
    const char *log, *dir;
    iid_job_t *job;           /* a web row, or NULL: */
    iid_log_writer_t *writer; /* a batch row through this writer */
    iid_status status;
    volatile int finished;
} append_arg_t;

static void *append_main(void *p)
{
    append_arg_t *a = p;
    iid_error_t err;
    if (a->job) {
        a->status = iid__web_log_append(a->log, a->dir, a->job, IID_OK, "", "none.png", 1, &err);
    } else {
        const char *row[IID_LOG_NCOLS] = {"b.png", "", "1", "1", "30", "5", "7", "True"};
        row[IID_COL_JOB_ID] = "1";
        for (int i = 0; i < IID_LOG_NCOLS; i++)
            if (!row[i]) row[i] = "";
        a->status = iid__log_append(a->writer, row, &err);
    }
    a->finished = 1;
    return NULL;
}

/* Another writer in the middle of a row (the row lock held, half the record on
 * disk) while a web row (web) or a batch row is appended: the append waits for
 * the lock, neither cutting the half row off as a crash's leftover nor writing
 * into the middle of it, and lands after the finished row. */
static void check_waits_for_the_writers_lock(int web)
{
    char *dir = iid_test_tempdir(), log[PATH_MAX];
    snprintf(log, sizeof log, "%s/generation_log.csv", dir);
    iid_job_t *job = make_job("c1", "me.png", 64, 64);
    iid_log_writer_t w;
    iid_error_t err;
    assert_int_equal(iid__log_open(&w, log, &err), IID_OK);
    const char *row[IID_LOG_NCOLS] = {"a.png", "", "1", "1", "30", "5", "9", "True"};
    row[IID_COL_JOB_ID] = "0";
    for (int i = 0; i < IID_LOG_NCOLS; i++)
        if (!row[i]) row[i] = "";
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    assert_int_equal(iid__csv_write_record(mem, row, IID_LOG_NCOLS), 0);
    assert_int_equal(fclose(mem), 0);
    int fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    size_t half = len / 2;
    assert_int_equal(write(fd, text, half), (ssize_t)half);
    append_arg_t a = {log, dir, web ? job : NULL, &w, IID_ERR_IO, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, append_main, &a), 0);
    struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    assert_false(a.finished); /* still waiting for the lock */
    assert_int_equal(write(fd, text + half, len - half), (ssize_t)(len - half));
    assert_int_equal(flock(fd, LOCK_UN), 0);
    pthread_join(th, NULL);
    assert_int_equal(a.status, IID_OK);
    close(fd);
    free(text);
    iid__log_close(&w);
    iid_csv_t t;
    assert_int_equal(iid__log_read(log, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(iid__csv_cell(&t, 0, IID_COL_JOB_ID), "0");
    assert_string_equal(iid__csv_cell(&t, 1, IID_COL_JOB_ID), web ? "web-c1" : "1");
    iid__csv_free(&t);
    iid__job_free(job);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_waits_for_the_writers_lock(void **state)
{
    (void)state;
    check_waits_for_the_writers_lock(1);
}

/* The batch's own rows take the same lock, so a web row being written is never
 * interleaved with a batch row. */
static void test_batch_row_waits_for_a_web_row(void **state)
{
    (void)state;
    check_waits_for_the_writers_lock(0);
}

/* `merge` puts web rows, which have no plan id, after the batch's. */
static void test_merge_keeps_web_rows_last(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir(), a[PATH_MAX], b[PATH_MAX], out[PATH_MAX];
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    snprintf(out, sizeof out, "%s/out.csv", dir);
    iid_job_t *web1 = make_job("d1", "me.png", 64, 64), *web2 = make_job("d2", "me.png", 64, 64);
    iid_error_t err;
    iid_log_writer_t w;
    const char *row[IID_LOG_NCOLS] = {"a.png", "", "1", "1", "30", "5", "9", "True"};
    assert_int_equal(iid__log_open(&w, a, &err), IID_OK);
    row[IID_COL_JOB_ID] = "3";
    assert_int_equal(iid__log_append(&w, row, &err), IID_OK);
    iid__log_close(&w);
    assert_int_equal(iid__web_log_append(a, dir, web1, IID_OK, "", "none.png", 1, &err), IID_OK);
    assert_int_equal(iid__log_open(&w, b, &err), IID_OK);
    assert_int_equal(iid__web_log_append(b, dir, web2, IID_OK, "", "none.png", 1, &err), IID_OK);
    row[IID_COL_JOB_ID] = "1";
    assert_int_equal(iid__log_append(&w, row, &err), IID_OK);
    iid__log_close(&w);
    const char *in[] = {a, b};
    long n = 0;
    assert_int_equal(iid__log_merge(in, 2, out, &n, &err), IID_OK);
    assert_int_equal(n, 4);
    iid_csv_t t;
    assert_int_equal(iid__log_read(out, &t, &err), IID_OK);
    static const char *const order[] = {"1", "3", "web-d1", "web-d2"};
    for (int i = 0; i < 4; i++) assert_string_equal(iid__csv_cell(&t, i, IID_COL_JOB_ID), order[i]);
    iid__csv_free(&t);
    /* A job id that is neither a number nor a web row is still refused. */
    FILE *f = fopen(a, "ab");
    assert_non_null(f);
    row[IID_COL_JOB_ID] = "seven";
    assert_int_equal(iid__csv_write_record(f, row, IID_LOG_NCOLS), 0);
    fclose(f);
    assert_int_equal(iid__log_merge(in, 2, out, &n, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "seven"));
    iid__job_free(web1), iid__job_free(web2);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_log_meta(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir(), log[PATH_MAX], inputs[PATH_MAX], link[PATH_MAX], got[PATH_MAX];
    snprintf(log, sizeof log, "%s/generation_log.csv", dir);
    snprintf(inputs, sizeof inputs, "%s/photos", dir);
    snprintf(link, sizeof link, "%s/photos-link", dir);
    assert_int_equal(mkdir(inputs, 0755), 0);
    assert_int_equal(symlink("photos", link), 0);
    iid_error_t err;
    int recursive = -1;
    assert_int_equal(iid__log_meta_read(log, got, sizeof got, &recursive, &err), IID_ERR_NOT_FOUND);
    /* Recorded as a real, absolute path, so a later serve in another folder finds it. */
    assert_int_equal(iid__log_meta_write(log, link, 1, &err), IID_OK);
    assert_int_equal(iid__log_meta_read(log, got, sizeof got, &recursive, &err), IID_OK);
    char real[PATH_MAX];
    assert_non_null(realpath(inputs, real));
    assert_string_equal(got, real);
    assert_int_equal(recursive, 1);
    char meta[PATH_MAX + 8];
    assert_int_equal(iid__log_meta_path(meta, sizeof meta, log, &err), IID_OK);
    char *text = iid_test_slurp(meta);
    assert_non_null(strstr(text, "\"input\""));
    assert_int_equal(text[strlen(text) - 1], '\n'); /* a text file */
    free(text);
    /* The next batch on the log rewrites it. */
    assert_int_equal(iid__log_meta_write(log, inputs, 0, &err), IID_OK);
    assert_int_equal(iid__log_meta_read(log, got, sizeof got, &recursive, &err), IID_OK);
    assert_int_equal(recursive, 0);
    /* A missing input folder is an error, and leaves the sidecar as it was. */
    assert_int_equal(iid__log_meta_write(log, "/no/such/folder", 0, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "/no/such/folder"));
    assert_int_equal(iid__log_meta_read(log, got, sizeof got, &recursive, &err), IID_OK);
    assert_string_equal(got, real);
    /* Not the sidecar's JSON: a one-line error naming the file. */
    static const char *const bad[] = {"not json", "{\"input\": 3}", "{\"input\": \"\"}", "[\"/x\"]",
                                      "{\"input\": \"/x\", \"recursive\": \"yes\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        free(iid_test_write(dir, "generation_log.csv.json", bad[i], strlen(bad[i])));
        assert_int_equal(iid__log_meta_read(log, got, sizeof got, &recursive, &err), IID_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "generation_log.csv.json"));
    }
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web_rows),
        cmocka_unit_test(test_foreign_and_half_written_logs),
        cmocka_unit_test(test_waits_for_the_writers_lock),
        cmocka_unit_test(test_batch_row_waits_for_a_web_row),
        cmocka_unit_test(test_merge_keeps_web_rows_last),
        cmocka_unit_test(test_log_meta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
