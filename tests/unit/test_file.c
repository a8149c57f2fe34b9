/* test_file.c - inputs and outputs that are not plain files: a FIFO given as any
 * input is refused at once (never a blocked open), an output path that is a
 * device or FIFO is never replaced, and an output that is one of the inputs
 * (by device and inode, whatever its spelling) is refused. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csv.h"
#include "io/file.h"
#include "io/ini.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "support.h"

static char *dir;

static void fifo_path(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/fifo", dir);
    unlink(buf);
    assert_int_equal(mkfifo(buf, 0600), 0);
}

/* Each reader refuses a FIFO with no writer; a blocking open would hang, which
 * the alarm turns into a failure. */
static void test_fifo_inputs_refused(void **state)
{
    (void)state;
    char fifo[4200];
    fifo_path(fifo, sizeof fifo);
    alarm(20);
    iid_error_t err;
    char *text;
    assert_int_equal(iid__file_read_all(fifo, 1 << 20, &text, NULL, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "fifo: not a regular file (a FIFO)"));
    iid_mapped_file_t m;
    assert_int_equal(iid__file_map(&m, fifo, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "a FIFO"));
    iid_csv_t csv;
    assert_int_equal(iid__csv_load(fifo, 1 << 20, &csv, &err), IID_ERR_IO);
    iid_json_t j;
    assert_int_not_equal(iid__json_load(&j, fifo, &err), IID_OK);
    assert_non_null(strstr(err.msg, "FIFO"));
    iid_ini_t ini;
    assert_int_not_equal(iid__ini_load(fifo, &ini, &err), IID_OK);
    iid_safetensors_t st;
    assert_int_not_equal(iid__st_open(&st, fifo, &err), IID_OK);
    assert_int_not_equal(iid__file_read_all(dir, 1 << 20, &text, NULL, &err), IID_OK); /* a folder */
    assert_non_null(strstr(err.msg, "a folder"));
    alarm(0);
}

static void test_special_outputs_kept(void **state)
{
    (void)state;
    iid_error_t err;
    assert_int_equal(iid__file_write_atomic("/dev/null", "x", 1, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "/dev/null: exists and is a device"));
    struct stat sb;
    assert_int_equal(stat("/dev/null", &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    char fifo[4200];
    fifo_path(fifo, sizeof fifo);
    assert_int_equal(iid__file_write_atomic(fifo, "x", 1, &err), IID_ERR_IO);
    assert_int_equal(stat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(iid__file_check_output(dir, NULL, 0, &err), IID_ERR_IO); /* a folder */
}

static void test_output_equal_to_input(void **state)
{
    (void)state;
    char *photo = iid_test_write(dir, "photo.jpg", "jpeg bytes", 10);
    char other_spelling[4300], hard[4300], fresh[4300];
    snprintf(other_spelling, sizeof other_spelling, "%s/./photo.jpg", dir);
    snprintf(hard, sizeof hard, "%s/hardlink.jpg", dir);
    snprintf(fresh, sizeof fresh, "%s/new.png", dir);
    unlink(hard);
    assert_int_equal(link(photo, hard), 0);
    const char *inputs[] = {NULL, photo};
    iid_error_t err;
    assert_int_equal(iid__file_check_output(other_spelling, inputs, 2, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "is the input"));
    assert_int_equal(iid__file_check_output(hard, inputs, 2, &err), IID_ERR_INVALID);
    assert_int_equal(iid__file_check_output(fresh, inputs, 2, &err), IID_OK); /* nothing there yet */
    free(iid_test_write(dir, "new.png", "old", 3));
    assert_int_equal(iid__file_check_output(fresh, inputs, 2, &err), IID_OK); /* another regular file */
    free(photo);
}

int main(void)
{
    dir = iid_test_tempdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_inputs_refused),
        cmocka_unit_test(test_special_outputs_kept),
        cmocka_unit_test(test_output_equal_to_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    iid_test_rmtree(dir);
    free(dir);
    return rc;
}
