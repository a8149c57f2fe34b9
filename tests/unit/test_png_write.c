/* test_png_write.c - PNG output: pixels and text round trip, tEXt vs iTXt choice,
 * texts after the image data, bad keys and values, atomic replacement (no temporary
 * left, target unchanged on failure). */
#include <dirent.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file.h"
#include "io/image.h"
#include "io/png_write.h"
#include "support.h"

static iid_image_t pattern(int w, int h, int c)
{
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_alloc(&img, w, h, c, &err), IID_OK);
    for (size_t i = 0; i < (size_t)w * h * c; i++) img.data[i] = (uint8_t)(i * 37 + i / 7);
    return img;
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int file_contains(const char *path, const void *needle, size_t n)
{
    char *d;
    size_t size;
    iid_error_t err;
    assert_int_equal(iid__file_read_all(path, 1 << 26, &d, &size, &err), IID_OK);
    int found = 0;
    for (size_t i = 0; i + n <= size && !found; i++) found = memcmp(d + i, needle, n) == 0;
    free(d);
    return found;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "out.png", "", 0);
    const char *params = "human, sharp focus\nNegative prompt: blurry\nSteps: 30, Sampler: Euler, CFG scale: 5, "
                         "Seed: 42, Size: 37x23";
    const char *latin = "caf\xc3\xa9 cr\xc3\xa8me";              /* fits Latin-1: tEXt */
    const char *cjk = "\xe4\xba\xba\xe5\x83\x8f, \xf0\x9f\x98\x80 ok"; /* needs iTXt */
    iid_png_text_t texts[] = {{"parameters", params}, {"Comment", latin}, {"Title", cjk}, {"Empty", ""}};
    iid_error_t err;
    for (int ch = 1; ch <= 4; ch++) {
        if (ch == 2) continue;
        iid_image_t img = pattern(37, 23, ch);
        assert_int_equal(iid__png_write(path, &img, texts, 4, &err), IID_OK);
        iid_image_t back;
        assert_int_equal(iid__image_load(&back, path, NULL, &err), IID_OK);
        assert_int_equal(back.width, 37);
        assert_int_equal(back.height, 23);
        for (size_t i = 0; i < 37 * 23; i++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(back.data[i * 3 + c], img.data[i * ch + (ch == 1 ? 0 : c)]);
        iid__image_free(&back);
        iid__image_free(&img);
    }
    for (int i = 0; i < 4; i++) {
        char *v;
        assert_int_equal(iid__png_read_text(path, texts[i].key, &v, &err), IID_OK);
        assert_string_equal(v, texts[i].value);
        free(v);
    }
    /* Chunk types: Latin-1 text is stored as Latin-1 bytes in tEXt, the rest iTXt. */
    static const char t1[] = "tEXtparameters\0human", t2[] = "tEXtComment\0caf\xe9 cr\xe8me",
                      t3[] = "iTXtTitle\0";
    assert_true(file_contains(path, t1, sizeof t1 - 1));
    assert_true(file_contains(path, t2, sizeof t2 - 1));
    assert_true(file_contains(path, t3, sizeof t3 - 1));
    char *v = (char *)1;
    assert_int_equal(iid__png_read_text(path, "missing", &v, &err), IID_ERR_NOT_FOUND);
    assert_null(v);
    assert_non_null(strstr(err.msg, "no 'missing' text chunk"));
    assert_int_equal(count_entries(dir), 1); /* no temporary left */
    iid_test_rmtree(dir);
    free(path);
    free(dir);
}

/* A file whose text chunk follows IDAT (written here with libpng directly). */
static void test_text_after_image_data(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/late.png", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_infop end = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
    png_init_io(png, f);
    png_set_IHDR(png, info, 3, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    png_bytep rows[2] = {px, px + 3};
    png_write_image(png, rows);
    png_text t = {.compression = PNG_TEXT_COMPRESSION_zTXt, .key = "parameters", .text = "late \xb5"};
    png_set_text(png, end, &t, 1);
    png_write_end(png, end);
    png_destroy_info_struct(png, &end);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    char *v;
    iid_error_t err;
    assert_int_equal(iid__png_read_text(path, "parameters", &v, &err), IID_OK);
    assert_string_equal(v, "late \xc2\xb5"); /* Latin-1 micro sign as UTF-8 */
    free(v);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_failures_leave_target(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "keep.png", "old contents", 12);
    iid_image_t img = pattern(4, 4, 3);
    iid_error_t err;
    const iid_png_text_t badkeys[][1] = {{{"", "x"}},
                                         {{" lead", "x"}},
                                         {{"two  spaces", "x"}},
                                         {{"t\xc3\xa9st", "x"}},
                                         {{"0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789",
                                           "x"}}};
    for (size_t i = 0; i < sizeof badkeys / sizeof badkeys[0]; i++) {
        assert_int_equal(iid__png_write(path, &img, badkeys[i], 1, &err), IID_ERR_INVALID);
        assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
        assert_non_null(strstr(err.msg, "invalid PNG text key"));
    }
    const iid_png_text_t badval[] = {{"parameters", "bad \xc3\x28 utf8"}};
    assert_int_equal(iid__png_write(path, &img, badval, 1, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "not valid UTF-8"));
    const iid_png_text_t surrogate[] = {{"parameters", "\xed\xa0\x80"}};
    assert_int_equal(iid__png_write(path, &img, surrogate, 1, &err), IID_ERR_INVALID);
    iid_image_t empty = {0};
    assert_int_equal(iid__png_write(path, &empty, NULL, 0, &err), IID_ERR_INVALID);
    iid_image_t two = pattern(2, 2, 2);
    assert_int_equal(iid__png_write(path, &two, NULL, 0, &err), IID_ERR_INVALID);
    iid__image_free(&two);
    char *d;
    size_t n;
    assert_int_equal(iid__file_read_all(path, 100, &d, &n, &err), IID_OK);
    assert_string_equal(d, "old contents");
    free(d);
    /* The target is a folder: the rename fails and the temporary is removed. */
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/folder.png", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(iid__png_write(sub, &img, NULL, 0, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "folder.png"));
    assert_true(iid__is_dir(sub));
    /* A missing folder: nothing is created. */
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/nope/x.png", dir);
    assert_int_equal(iid__png_write(missing, &img, NULL, 0, &err), IID_ERR_IO);
    assert_int_equal(count_entries(dir), 2); /* keep.png and folder.png only */
    /* Replacing works and leaves only the target. */
    assert_int_equal(iid__png_write(path, &img, NULL, 0, &err), IID_OK);
    assert_int_equal(count_entries(dir), 2);
    iid_image_t back;
    assert_int_equal(iid__image_load(&back, path, NULL, &err), IID_OK);
    assert_memory_equal(back.data, img.data, 4 * 4 * 3);
    iid__image_free(&back);
    iid__image_free(&img);
    iid_test_rmtree(dir);
    free(path);
    free(dir);
}

static void test_read_text_errors(void **state)
{
    (void)state;
    char *v;
    iid_error_t err;
    char *dir = iid_test_tempdir();
    char *txt = iid_test_write(dir, "t.png", "hello, not a png", 16);
    assert_int_equal(iid__png_read_text(txt, "parameters", &v, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "t.png: not a PNG file"));
    assert_null(v);
    /* Cut a real PNG short: an error, never a crash or leak. */
    iid_image_t img = pattern(16, 16, 3);
    uint8_t *buf;
    size_t size;
    assert_int_equal(iid__png_encode(&img, NULL, 0, &buf, &size, &err), IID_OK);
    char *cut = iid_test_write(dir, "cut.png", buf, size - 20);
    assert_int_equal(iid__png_read_text(cut, "parameters", &v, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "cut.png: truncated PNG data"));
    assert_int_equal(iid__png_read_text("/nonexistent.png", "parameters", &v, &err), IID_ERR_IO);
    free(buf);
    free(cut);
    free(txt);
    iid__image_free(&img);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_text_after_image_data),
        cmocka_unit_test(test_failures_leave_target),
        cmocka_unit_test(test_read_text_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
