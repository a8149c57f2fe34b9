/*
 * test_log_cache.c - GET /api/log's cache (src/server/log_cache.h): the log is
 * parsed once per version of the file, however many pages are asked for and by
 * however many threads at once; an appended row, a replaced file and a removed
 * one are each seen by the next request.
 */
#define _XOPEN_SOURCE 700
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/log_cache.h"
#include "support.h"

#define HEADER "image_name,success\r\n"

static long rows_now(iid_log_cache_t *lc, const char *path, int *missing)
{
    const iid_csv_t *csv;
    iid_error_t err;
    if (iid__log_cache_acquire(lc, path, 1 << 20, &csv, missing, &err) != IID_OK) fail_msg("%s", err.msg);
    long n = *missing ? -1 : csv->nrows;
    iid__log_cache_release(lc);
    return n;
}

typedef struct reader {
    iid_log_cache_t *lc;
    const char *path;
    long rows;
} reader_t;

static void *read_thread(void *arg)
{
    reader_t *r = arg;
    int missing;
    for (int i = 0; i < 50; i++) r->rows = rows_now(r->lc, r->path, &missing);
    return NULL;
}

static void test_parsed_once_per_version(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "log.csv", HEADER "a.png,True\r\n", strlen(HEADER "a.png,True\r\n"));
    iid_log_cache_t lc;
    iid_error_t err;
    assert_int_equal(iid__log_cache_init(&lc, &err), IID_OK);
    int missing;
    assert_int_equal(rows_now(&lc, path, &missing), 1);
    assert_int_equal(rows_now(&lc, path, &missing), 1);
    assert_int_equal(lc.parses, 1);
    /* Four threads, fifty requests each: still the one parse. */
    reader_t readers[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        readers[i] = (reader_t){&lc, path, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_thread, &readers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(readers[i].rows, 1);
    }
    assert_int_equal(lc.parses, 1);
    /* A row appended (as the batch runner does) is read at the next request. */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("b.png,False\r\n", f);
    fclose(f);
    assert_int_equal(rows_now(&lc, path, &missing), 2);
    assert_int_equal(lc.parses, 2);
    /* A file replaced by another of the same size (a new inode). */
    char *other = iid_test_write(dir, "other.csv", HEADER "c.png,True\r\nd.png,True\r\ne.png,True\r\n",
                                 strlen(HEADER "c.png,True\r\nd.png,True\r\ne.png,True\r\n"));
    assert_int_equal(rename(other, path), 0);
    assert_int_equal(rows_now(&lc, path, &missing), 3);
    assert_int_equal(missing, 0);
    /* Removed: missing, not an error; and back again. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rows_now(&lc, path, &missing), -1);
    assert_int_equal(missing, 1);
    free(iid_test_write(dir, "log.csv", HEADER, strlen(HEADER)));
    assert_int_equal(rows_now(&lc, path, &missing), 0);
    assert_int_equal(missing, 0);
    /* A new version over the size limit: an error naming the file, and the
     * cache is left unlocked. */
    f = fopen(path, "ab");
    assert_non_null(f);
    fputs("f.png,True\r\n", f);
    fclose(f);
    const iid_csv_t *csv;
    assert_int_not_equal(iid__log_cache_acquire(&lc, path, 4, &csv, &missing, &err), IID_OK);
    assert_non_null(strstr(err.msg, "log.csv"));
    assert_int_equal(rows_now(&lc, path, &missing), 1);
    iid__log_cache_destroy(&lc);
    free(other);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsed_once_per_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
