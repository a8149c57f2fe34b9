/* test_face_prep.c - photo -> embedding, keypoint image and mask on the kit's
 * antelopev2 stand-in (det_2.5g + tiny_iresnet) and the shared photos: the
 * resize_img size, the face found where the detect golden puts it (scaled), the
 * keypoint image and mask agreeing with their own modules, "no face", a bad file,
 * pose replacement and resize-and-pad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "pipeline/control_mask.h"
#include "pipeline/draw_kps.h"
#include "pipeline/face_prep.h"
#include "support.h"

static iid_face_models_t models;

static int setup(void **state)
{
    (void)state;
    iid_error_t err;
    iid_test_shared();
    if (iid__face_models_load(&models, iid_test_shared_path("conformance/models/antelopev2"), &err) != IID_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid__face_models_free(&models);
    return 0;
}

static char *photo(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "assets/faces/%s", name);
    return strdup(iid_test_shared_path(rel));
}

static void check_outputs_consistent(const iid_face_prep_t *p)
{
    size_t n = (size_t)p->width * p->height * 3;
    uint8_t *want = malloc(n);
    iid_error_t err;
    assert_non_null(want);
    assert_int_equal(iid__draw_kps(p->kps, p->width, p->height, want, &err), IID_OK);
    assert_memory_equal(want, p->kps_image, n);
    assert_int_equal(iid__face_mask(p->bbox, p->width, p->height, want, &err), IID_OK);
    assert_memory_equal(want, p->mask, n);
    free(want);
    double ss = 0.0;
    for (int i = 0; i < p->embedding_dim; i++) ss += (double)p->embedding[i] * p->embedding[i];
    assert_true(fabs(sqrt(ss) - p->embedding_norm) <= 1e-4 * p->embedding_norm);
    assert_true(p->embedding_norm > 1.0f);
}

/* frontal_astronaut is 512x512: resize_img makes it 1280x1280 (min side 1024, then
 * max side 1280). Its face is the detect golden's box scaled by 2.5. */
static void test_astronaut(void **state)
{
    (void)state;
    static const float golden_box[4] = {180.83546f, 55.685814f, 270.82245f, 178.35690f};
    iid_face_prep_opts_t o;
    iid_face_prep_t p;
    iid_error_t err;
    iid__face_prep_opts_init(&o);
    assert_int_equal(o.max_side, 1280);
    assert_int_equal(o.min_side, 1024);
    assert_int_equal(o.multiple, 64);
    char *path = photo("frontal_astronaut.png");
    assert_int_equal(iid__face_prep_file(&models, path, &o, &p, &err), IID_OK);
    assert_int_equal(p.width, 1280);
    assert_int_equal(p.height, 1280);
    assert_int_equal(p.face_count, 1);
    assert_true(p.face_score > 0.7f && p.face_score <= 1.0f);
    for (int k = 0; k < 4; k++) assert_true(fabsf(p.bbox[k] - 2.5f * golden_box[k]) < 5.0f);
    assert_int_equal(p.embedding_dim, 512);
    check_outputs_consistent(&p);

    /* The same bytes from memory give the same result. */
    char *data;
    size_t size;
    iid_face_prep_t q;
    assert_int_equal(iid__file_read_all(path, (size_t)64 << 20, &data, &size, &err), IID_OK);
    assert_int_equal(iid__face_prep_bytes(&models, data, size, "upload.png", NULL, &q, &err), IID_OK);
    assert_int_equal(q.width, p.width);
    assert_memory_equal(q.bbox, p.bbox, sizeof p.bbox);
    assert_memory_equal(q.embedding, p.embedding, (size_t)p.embedding_dim * sizeof(float));
    free(data);
    iid_face_prep_free(&q);
    iid_face_prep_free(&p);
    iid_face_prep_free(&p); /* zeroed: a no-op */
    iid_face_prep_free(NULL);
    free(path);
}

static void test_no_face(void **state)
{
    (void)state;
    iid_face_prep_t p;
    iid_error_t err;
    char *path = photo("noface_coffee.png"), want[4200];
    assert_int_equal(iid__face_prep_file(&models, path, NULL, &p, &err), IID_ERR_NO_FACE);
    snprintf(want, sizeof want, "%s: no face found", path);
    assert_string_equal(err.msg, want);
    assert_null(p.embedding);
    assert_null(p.kps_image);
    free(path);
}

/* Broken and awkward files: one line naming the file. */
static void test_bad_inputs(void **state)
{
    (void)state;
    static const char *const files[] = {"zero_bytes.jpg", "text_named.png", "truncated.png",
                                        "huge_dims_100000x100000.png", "thin_3000x1.png", "animated_2frames.gif"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "assets/bad-inputs/%s", files[i]);
        char *path = strdup(iid_test_shared_path(rel));
        iid_face_prep_t p;
        iid_error_t err;
        iid_status st = iid__face_prep_file(&models, path, NULL, &p, &err);
        assert_true(st != IID_OK && st != IID_ERR_NO_FACE);
        assert_true(strncmp(err.msg, path, strlen(path)) == 0);
        assert_null(strchr(err.msg, '\n'));
        assert_null(p.embedding);
        free(path);
    }
    /* A missing file too. */
    iid_face_prep_t p;
    iid_error_t err;
    assert_int_equal(iid__face_prep_file(&models, "/nonexistent/face.png", NULL, &p, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/face.png"));
    /* An image that decodes but where no face fits: named, no face. */
    char *one = strdup(iid_test_shared_path("assets/bad-inputs/one_pixel.png"));
    assert_int_equal(iid__face_prep_file(&models, one, NULL, &p, &err), IID_ERR_NO_FACE);
    assert_non_null(strstr(err.msg, one));
    free(one);
}

/* The pose photo's keypoints, box, images and size replace the face's; the
 * embedding stays. grace_hopper is 512x600 -> 1024x1200 -> 1092x1280 -> 1088x1280. */
static void test_pose(void **state)
{
    (void)state;
    iid_face_prep_t face, pose;
    iid_error_t err;
    char *fp = photo("frontal_astronaut.png"), *pp = photo("frontal_grace_hopper.jpg");
    assert_int_equal(iid__face_prep_file(&models, fp, NULL, &face, &err), IID_OK);
    assert_int_equal(iid__face_prep_file(&models, pp, NULL, &pose, &err), IID_OK);
    assert_int_equal(pose.width, 1088);
    assert_int_equal(pose.height, 1280);
    float emb0 = face.embedding[0], norm = face.embedding_norm, kps[10], bbox[4];
    memcpy(kps, pose.kps, sizeof kps);
    memcpy(bbox, pose.bbox, sizeof bbox);
    uint8_t *kimg = pose.kps_image, *mask = pose.mask;
    iid_face_prep_use_pose(&face, &pose);
    assert_int_equal(face.width, 1088);
    assert_int_equal(face.height, 1280);
    assert_memory_equal(face.kps, kps, sizeof kps);
    assert_memory_equal(face.bbox, bbox, sizeof bbox);
    assert_ptr_equal(face.kps_image, kimg);
    assert_ptr_equal(face.mask, mask);
    assert_true(face.embedding[0] == emb0 && face.embedding_norm == norm);
    assert_null(pose.kps_image);
    assert_null(pose.embedding);
    assert_int_equal(pose.width, 0);
    check_outputs_consistent(&face);
    iid_face_prep_free(&face);
    iid_face_prep_free(&pose);
    free(fp);
    free(pp);
}

/* --size 1024x768: the 512x512 photo becomes 768x768 centred at x = 128 on a
 * white 1024x768 canvas; the face stays inside the content. */
static void test_resize_and_pad(void **state)
{
    (void)state;
    iid_face_prep_opts_t o;
    iid_face_prep_t p;
    iid_error_t err;
    iid__face_prep_opts_init(&o);
    assert_true(o.pad_rgb[0] == 255 && o.pad_rgb[1] == 255 && o.pad_rgb[2] == 255);
    o.width = 1024;
    o.height = 768;
    char *path = photo("frontal_astronaut.png");
    assert_int_equal(iid__face_prep_file(&models, path, &o, &p, &err), IID_OK);
    assert_int_equal(p.width, 1024);
    assert_int_equal(p.height, 768);
    assert_int_equal(p.face_count, 1);
    static const float golden_box[4] = {180.83546f, 55.685814f, 270.82245f, 178.35690f};
    for (int k = 0; k < 4; k++)
        assert_true(fabsf(p.bbox[k] - (1.5f * golden_box[k] + (k % 2 == 0 ? 128.0f : 0.0f))) < 4.0f);
    check_outputs_consistent(&p);
    iid_face_prep_free(&p);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_astronaut), cmocka_unit_test(test_no_face), cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_pose),      cmocka_unit_test(test_resize_and_pad),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
