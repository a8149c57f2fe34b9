/* test_letterbox.c - decoding, OpenCV resize, SCRFD letterbox and blob against the
 * faces kit: every detect golden's decoded/canvas/blob SHA-256, det_scale and
 * resized size, plus the one stored raw blob compared value by value. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/image.h"
#include "io/image_resize.h"
#include "io/safetensors.h"
#include "pipeline/face_letterbox.h"
#include "io/sha256.h"
#include "support.h"

static cJSON *load_json(const char *path)
{
    char *text;
    size_t n;
    iid_error_t err;
    if (iid__file_read_all(path, 1 << 24, &text, &n, &err) != IID_OK) fail_msg("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fail_msg("%s: bad JSON", path);
    return j;
}

static const char *str_at(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsString(v)) fail_msg("missing string '%s'", key);
    return v->valuestring;
}

static void sha_bgr(const iid_image_t *img, char hex[65])
{
    size_t n = (size_t)img->width * img->height;
    uint8_t *bgr = malloc(n * 3);
    assert_non_null(bgr);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) bgr[i * 3 + c] = img->data[i * 3 + 2 - c];
    iid__sha256_bytes(bgr, n * 3, hex);
    free(bgr);
}

/* Check one detect golden; returns 1 when it was a .json file. */
static int check_golden(const char *kit, const char *root, const char *json_path)
{
    cJSON *j = load_json(json_path);
    char photo[4096];
    snprintf(photo, sizeof photo, "%s/%s/%s", kit, root, str_at(j, "image"));
    iid_image_t img;
    iid_error_t err;
    if (iid__image_load(&img, photo, NULL, &err) != IID_OK) fail_msg("%s", err.msg);

    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(j, "decoded");
    assert_int_equal(img.width, cJSON_GetObjectItemCaseSensitive(dec, "width")->valueint);
    assert_int_equal(img.height, cJSON_GetObjectItemCaseSensitive(dec, "height")->valueint);
    char hex[65];
    sha_bgr(&img, hex);
    if (strcmp(hex, str_at(dec, "bgr_sha256")) != 0) fail_msg("%s: decoded BGR sha256 %s differs", photo, hex);

    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input_size_wh");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "resized_wh");
    iid_letterbox_t lb;
    if (iid__face_letterbox(&img, cJSON_GetArrayItem(in, 0)->valueint, cJSON_GetArrayItem(in, 1)->valueint, photo,
                            &lb, &err) != IID_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(lb.new_w, cJSON_GetArrayItem(rs, 0)->valueint);
    assert_int_equal(lb.new_h, cJSON_GetArrayItem(rs, 1)->valueint);
    assert_true(lb.det_scale == cJSON_GetObjectItemCaseSensitive(j, "det_scale")->valuedouble);
    sha_bgr(&lb.canvas, hex);
    if (strcmp(hex, str_at(j, "canvas_bgr_sha256")) != 0) fail_msg("%s: canvas sha256 %s differs", photo, hex);

    size_t nf = (size_t)3 * lb.canvas.width * lb.canvas.height;
    float *blob = malloc(nf * sizeof(float));
    assert_non_null(blob);
    iid__face_blob(&lb.canvas, blob);
    iid__sha256_bytes(blob, nf * sizeof(float), hex); /* little-endian float32, as numpy wrote it */
    if (strcmp(hex, str_at(j, "blob_sha256")) != 0) fail_msg("%s: blob sha256 %s differs", photo, hex);
    free(blob);
    iid__face_letterbox_free(&lb);
    iid__image_free(&img);
    cJSON_Delete(j);
    return 1;
}

static void test_all_detect_goldens(void **state)
{
    (void)state;
    char kit[1024];
    snprintf(kit, sizeof kit, "%s", iid_test_shared_path("conformance/faces"));
    char path[4096];
    snprintf(path, sizeof path, "%s/golden/index.json", kit);
    cJSON *index = load_json(path);
    char root[512];
    snprintf(root, sizeof root, "%s", str_at(index, "images_root"));
    cJSON_Delete(index);

    int checked = 0;
    const char *models[] = {"det_2.5g", "det_500m"};
    for (int m = 0; m < 2; m++) {
        snprintf(path, sizeof path, "%s/golden/detect/%s", kit, models[m]);
        DIR *dir = opendir(path);
        assert_non_null(dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
            char file[4096 + 256];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            checked += check_golden(kit, root, file);
        }
        closedir(dir);
    }
    printf("checked %d detect goldens\n", checked);
    assert_true(checked >= 20);
}

static void test_raw_blob(void **state)
{
    (void)state;
    iid_safetensors_t st;
    iid_error_t err;
    const char *p = iid_test_shared_path("conformance/faces/golden/raw/group_solvay_1927_gray.input.safetensors");
    if (iid__st_open(&st, p, &err) != IID_OK) fail_msg("%s", err.msg);
    float *want;
    int64_t shape[] = {1, 3, 640, 640};
    if (iid__st_load_f32(&st, "blob", 4, shape, &want, &err) != IID_OK) fail_msg("%s", err.msg);
    iid__st_close(&st);

    iid_image_t img;
    if (iid__image_load(&img, iid_test_shared_path("assets/faces/group_solvay_1927_gray.jpg"), NULL, &err) != IID_OK)
        fail_msg("%s", err.msg);
    iid_letterbox_t lb;
    assert_int_equal(iid__face_letterbox(&img, 640, 640, "solvay", &lb, &err), IID_OK);
    assert_int_equal(lb.new_w, 640);
    assert_int_equal(lb.new_h, 320);
    assert_true(lb.det_scale == 0.625);
    float *got = malloc(sizeof(float) * 3 * 640 * 640);
    assert_non_null(got);
    iid__face_blob(&lb.canvas, got);
    assert_memory_equal(got, want, sizeof(float) * 3 * 640 * 640);
    assert_true(got[3 * 640 * 640 - 1] == -0.99609375f); /* padding, bottom-right */
    free(got);
    free(want);
    iid__face_letterbox_free(&lb);
    iid__image_free(&img);
}

/* A thin image whose letterbox side rounds to 0 is an error, not a crash; the
 * same for a resize to 0 rows. */
static void test_thin_image(void **state)
{
    (void)state;
    iid_image_t img, out;
    iid_error_t err;
    assert_int_equal(iid__image_alloc(&img, 3000, 1, 3, &err), IID_OK);
    iid_letterbox_t lb;
    assert_int_equal(iid__face_letterbox(&img, 640, 640, "thin.png", &lb, &err), IID_ERR_INVALID);
    assert_string_equal(err.msg, "thin.png: 3000x1 is too thin for the 640x640 detector input (resized to 640x0)");
    assert_null(lb.canvas.data);
    assert_int_equal(iid__image_resize_cv_linear(&img, 640, 0, &out, &err), IID_ERR_INVALID);
    assert_null(out.data);
    iid__face_letterbox_free(NULL);
    iid__image_free(&img);
    /* 1 x 1 is scaled up to fill the canvas. */
    assert_int_equal(iid__image_alloc(&img, 1, 1, 3, &err), IID_OK);
    img.data[0] = 200, img.data[1] = 150, img.data[2] = 120;
    assert_int_equal(iid__face_letterbox(&img, 640, 640, "one.png", &lb, &err), IID_OK);
    assert_int_equal(lb.new_w, 640);
    assert_int_equal(lb.new_h, 640);
    assert_int_equal(lb.canvas.data[(639 * 640 + 639) * 3], 200);
    iid__face_letterbox_free(&lb);
    iid__image_free(&img);
    /* The kit's thin strip: decodes, then the letterbox refuses it. */
    char path[4096];
    snprintf(path, sizeof path, "%s", iid_test_shared_path("assets/bad-inputs/thin_3000x1.png"));
    assert_int_equal(iid__image_load(&img, path, NULL, &err), IID_OK);
    assert_int_equal(iid__face_letterbox(&img, 640, 640, path, &lb, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "thin_3000x1.png: 3000x1 is too thin for the 640x640 detector input"));
    iid__image_free(&img);
}

/* Hand-checked cases of the fixed-point recipe. */
static void test_resize_small_cases(void **state)
{
    (void)state;
    iid_image_t img, out;
    iid_error_t err;
    /* Identity size is a copy. */
    assert_int_equal(iid__image_alloc(&img, 5, 3, 1, &err), IID_OK);
    for (int i = 0; i < 15; i++) img.data[i] = (uint8_t)(i * 17);
    assert_int_equal(iid__image_resize_cv_linear(&img, 5, 3, &out, &err), IID_OK);
    assert_memory_equal(out.data, img.data, 15);
    iid__image_free(&out);
    iid__image_free(&img);
    /* Exact 2x shrink averages 2x2 blocks with (sum + 2) >> 2. */
    assert_int_equal(iid__image_alloc(&img, 4, 2, 1, &err), IID_OK);
    uint8_t px[8] = {0, 10, 20, 30, 41, 50, 60, 70};
    memcpy(img.data, px, 8);
    assert_int_equal(iid__image_resize_cv_linear(&img, 2, 1, &out, &err), IID_OK);
    assert_int_equal(out.data[0], (0 + 10 + 41 + 50 + 2) >> 2);
    assert_int_equal(out.data[1], (20 + 30 + 60 + 70 + 2) >> 2);
    iid__image_free(&out);
    /* Upscaling a constant image keeps the constant except where the truncating
     * vertical pass loses a level (OpenCV does the same: 255 stays 255 only when
     * both weights hit it exactly). */
    memset(img.data, 255, 8);
    assert_int_equal(iid__image_resize_cv_linear(&img, 7, 5, &out, &err), IID_OK);
    for (int i = 0; i < 35; i++) assert_true(out.data[i] >= 254);
    iid__image_free(&out);
    iid__image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thin_image),
        cmocka_unit_test(test_resize_small_cases),
        cmocka_unit_test(test_raw_blob),
        cmocka_unit_test(test_all_detect_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
