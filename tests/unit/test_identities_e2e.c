/*
 * test_identities_e2e.c - several photos of one person, end to end with the
 * built binary on the kit's tiny models (issue 16.1):
 *   - `batch --identities DIR`: one job row per identity folder, named by the
 *     folder in image_name and in the output file name, the photos used listed
 *     in error_message, a folder with no usable photo failing with the reasons;
 *   - `generate --face A --face B`: one image whose PNG text names both photos.
 * The two photos are of one person (Barack Obama, official White House photos:
 * public domain; ../shared/assets/PROVENANCE.md). Skips (77) without ../shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/csv_log.h"
#include "io/file.h"
#include "io/png_write.h"
#include "support.h"

static char *dir;
static char common[8192];

/* Run the binary in dir; stderr goes to dir/stderr.txt and is echoed when it fails. */
static int run(const char *args)
{
    int rc = iid_test_run_binary(dir, args);
    if (rc != 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/stderr.txt", dir);
        char *e = iid_test_slurp(path);
        print_message("exit %d: %s", rc, e);
        free(e);
    }
    return rc;
}

static void copy_in(const char *rel, const char *sub, const char *as)
{
    char folder[4200];
    snprintf(folder, sizeof folder, "%s/%s", dir, sub);
    free(iid_test_copy_shared(rel, folder, as));
}

static int setup(void **state)
{
    (void)state;
    iid_test_shared();
    dir = iid_test_tempdir();
    char ids[4200];
    snprintf(ids, sizeof ids, "%s/ids", dir);
    mkdir(ids, 0755);
    copy_in("assets/faces/angled_obama_speech.jpg", "ids/obama", "angled.jpg");
    copy_in("assets/faces/small_obama_320x240.jpg", "ids/obama", "small.jpg");
    copy_in("assets/faces/noface_cat_chelsea.png", "ids/obama", "cat.png");
    copy_in("assets/faces/noface_coffee.png", "ids/nobody", "coffee.png");
    int heads = iid_test_kit_resampler_heads();
    snprintf(common, sizeof common, "--models '%s' --resampler-heads %d --size 64x64 --steps 1 --quiet",
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

static void test_batch_identities(void **state)
{
    (void)state;
    char args[16384];
    snprintf(args, sizeof args, "batch %s --identities ids --styles Watercolor --seed 3 --log id.csv --output images",
             common);
    assert_int_equal(run(args), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/id.csv", dir);
    iid_csv_t t;
    iid_error_t err;
    if (iid__log_read(path, &t, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(t.nrows, 2);
    int seen = 0;
    for (long r = 0; r < t.nrows; r++) {
        const char *who = iid__csv_cell(&t, r, IID_COL_IMAGE_NAME);
        const char *note = iid__csv_cell(&t, r, IID_COL_ERROR);
        if (strcmp(who, "obama") == 0) {
            seen |= 1;
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True");
            assert_non_null(strstr(note, "photos: angled.jpg, small.jpg"));
            assert_non_null(strstr(note, "left out: "));
            assert_non_null(strstr(note, "cat.png: no face found"));
            const char *file = iid__csv_cell(&t, r, IID_COL_NEW_FILE_NAME);
            assert_int_equal(strncmp(file, "obama_watercolor_", 17), 0);
            snprintf(path, sizeof path, "%s/images/%s", dir, file);
            assert_true(iid__is_file(path));
        } else {
            seen |= 2;
            assert_string_equal(who, "nobody");
            assert_string_equal(iid__csv_cell(&t, r, IID_COL_SUCCESS), "False");
            assert_non_null(strstr(note, "ids/nobody: no usable photo among 1"));
            assert_non_null(strstr(note, "coffee.png: no face found"));
        }
    }
    assert_int_equal(seen, 3);
    iid__csv_free(&t);

    snprintf(args, sizeof args, "batch %s --identities ids --input ids --dry-run", common);
    assert_int_equal(run(args), 2);
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    char *e = iid_test_slurp(path);
    assert_non_null(strstr(e, "--identities"));
    free(e);
}

static void test_generate_two_faces(void **state)
{
    (void)state;
    char args[16384];
    snprintf(args, sizeof args,
             "generate %s --face ids/obama/angled.jpg --face ids/obama/small.jpg --seed 1 -o two.png", common);
    /* --quiet hides the "one person from" line; check it without. */
    char *q = strstr(args, " --quiet");
    memmove(q, q + 8, strlen(q + 8) + 1);
    assert_int_equal(run(args), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    char *e = iid_test_slurp(path);
    assert_non_null(strstr(e, "one person from angled.jpg, small.jpg"));
    free(e);
    snprintf(path, sizeof path, "%s/two.png", dir);
    char *params;
    assert_int_equal(iid__png_read_text(path, "parameters", &params, NULL), IID_OK);
    assert_non_null(strstr(params, "Face image: \"angled.jpg, small.jpg\""));
    free(params);

    /* Two photos without a face: exit 1 (no face), naming both. */
    snprintf(args, sizeof args, "generate %s --face ids/obama/cat.png --face ids/nobody/coffee.png -o none.png",
             common);
    assert_int_equal(run(args), 1);
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    e = iid_test_slurp(path);
    assert_non_null(strstr(e, "cat.png: no face found"));
    assert_non_null(strstr(e, "coffee.png: no face found"));
    assert_int_equal(iid_test_count_lines(e), 1); /* one line */
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_identities),
        cmocka_unit_test(test_generate_two_faces),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
