/* test_faces.c - SCRFD decoding and NMS, the largest-face rule, the similarity fit,
 * the OpenCV-exact warp, the recogniser blob and model-role detection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_builder.h"
#include "pipeline/face_align.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_models.h"
#include "support.h"

/* Raw outputs for a 64x64 input, strides 8/16/32, 2 anchors: rows 128, 32, 8. */
typedef struct raw {
    float score[3][128], box[3][128 * 4], kps[3][128 * 10];
    iid_tensor_t t[9];
} raw_t;

static void raw_init(raw_t *r)
{
    memset(r, 0, sizeof *r);
    int64_t rows[3] = {128, 32, 8};
    for (int l = 0; l < 3; l++) {
        int64_t s1[2] = {rows[l], 1}, s4[2] = {rows[l], 4}, s10[2] = {rows[l], 10};
        iid__tensor_view(&r->t[l], IID_DTYPE_F32, 2, s1, r->score[l]);
        iid__tensor_view(&r->t[3 + l], IID_DTYPE_F32, 2, s4, r->box[l]);
        iid__tensor_view(&r->t[6 + l], IID_DTYPE_F32, 2, s10, r->kps[l]);
    }
}

/* A candidate at level l, cell (x, y), anchor a with distances d (in strides). */
static void put(raw_t *r, int l, int x, int y, int a, float score, float d)
{
    int ws = 64 / (8 << l), row = (y * ws + x) * 2 + a;
    r->score[l][row] = score;
    for (int k = 0; k < 4; k++) r->box[l][row * 4 + k] = d;
    for (int k = 0; k < 10; k++) r->kps[l][row * 10 + k] = 0.5f;
}

static void test_scrfd_decode(void **state)
{
    (void)state;
    raw_t *r = malloc(sizeof *r);
    raw_init(r);
    put(r, 0, 3, 2, 1, 0.9f, 1.0f);  /* centre (24, 16), box (16, 8, 32, 24) */
    put(r, 1, 1, 1, 0, 0.7f, 0.5f);  /* centre (16, 16), box (8, 8, 24, 24): overlaps the first */
    put(r, 2, 1, 1, 0, 0.6f, 0.25f); /* centre (32, 32), box (24, 24, 40, 40): IoU small */
    put(r, 0, 0, 0, 0, 0.4999f, 1.0f); /* below the threshold */
    iid_detect_params_t p;
    iid__detect_params_init(&p);
    iid_face_list_t cand, faces;
    iid_error_t err;
    assert_int_equal(iid__scrfd_candidates(r->t, 9, 64, 64, 2.0, &p, "t", &cand, &err), IID_OK);
    assert_int_equal(cand.count, 3);
    assert_true(cand.faces[0].score == 0.9f && cand.faces[0].stride == 8 && cand.faces[0].row == (2 * 8 + 3) * 2 + 1);
    float want[4] = {8, 4, 16, 12}; /* divided by det_scale 2 */
    assert_memory_equal(cand.faces[0].box, want, sizeof want);
    assert_true(cand.faces[0].kps[0][0] == (24 + 4) / 2.0f && cand.faces[0].kps[0][1] == (16 + 4) / 2.0f);
    /* IoU(first, second) with +1 areas: inter 5*9 = 45 of 81 + 81 - 45 -> 0.385: kept at
     * 0.4, dropped at 0.3; the third barely touches either. */
    int keep[3], nk;
    assert_int_equal(iid__face_nms(&cand, 0.4f, keep, &nk, &err), IID_OK);
    assert_int_equal(nk, 3);
    assert_int_equal(iid__face_nms(&cand, 0.3f, keep, &nk, &err), IID_OK);
    assert_int_equal(nk, 2);
    assert_int_equal(keep[1], 2);
    iid__face_list_free(&cand);
    assert_int_equal(iid__scrfd_decode(r->t, 9, 64, 64, 2.0, &p, "t", &faces, &err), IID_OK);
    assert_int_equal(faces.count, 3);
    assert_int_equal(iid__face_largest(&faces), 2); /* three 8x8 boxes: the last equal area wins */
    iid__face_list_free(&faces);
    /* Without the keypoint group (6 outputs) the layout is still found. */
    iid_tensor_t six[6] = {r->t[0], r->t[1], r->t[2], r->t[3], r->t[4], r->t[5]};
    assert_int_equal(iid__scrfd_candidates(six, 6, 64, 64, 1.0, &p, "t", &cand, &err), IID_OK);
    assert_int_equal(cand.count, 3);
    assert_true(cand.faces[0].kps[0][0] == 0.0f);
    iid__face_list_free(&cand);
    /* A size that does not fit the rows is an error naming the model. */
    assert_int_equal(iid__scrfd_candidates(r->t, 9, 96, 64, 1.0, &p, "det.onnx", &cand, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "det.onnx"));
    assert_int_equal(iid__scrfd_candidates(r->t, 8, 64, 64, 1.0, &p, "det.onnx", &cand, &err), IID_ERR_FORMAT);
    free(r);
}

static void test_largest_face(void **state)
{
    (void)state;
    iid_face_t f[3] = {{.box = {0, 0, 10, 10}}, {.box = {0, 0, 20, 5}}, {.box = {5, 5, 15, 15}}};
    iid_face_list_t l = {3, f};
    assert_int_equal(iid__face_largest(&l), 2); /* equal areas: the later one */
    f[1].box[2] = 21;
    assert_int_equal(iid__face_largest(&l), 1);
    l.count = 0;
    assert_int_equal(iid__face_largest(&l), -1);
}

static void test_similarity_fit(void **state)
{
    (void)state;
    float tpl[5][2], src[5][2];
    double M[6];
    iid_error_t err;
    iid__arcface_template(112, tpl);
    assert_int_equal(iid__face_align_matrix((const float (*)[2])tpl, 112, M, &err), IID_OK);
    double id[6] = {1, 0, 0, 0, 1, 0};
    for (int k = 0; k < 6; k++) assert_true(fabs(M[k] - id[k]) < 1e-4);
    /* src = template scaled by 2, rotated 90 degrees, shifted: M is the inverse map. */
    for (int i = 0; i < 5; i++) src[i][0] = -2 * tpl[i][1] + 100, src[i][1] = 2 * tpl[i][0] + 50;
    assert_int_equal(iid__face_align_matrix((const float (*)[2])src, 112, M, &err), IID_OK);
    for (int i = 0; i < 5; i++) {
        double x = M[0] * src[i][0] + M[1] * src[i][1] + M[2], y = M[3] * src[i][0] + M[4] * src[i][1] + M[5];
        assert_true(fabs(x - tpl[i][0]) < 1e-3 && fabs(y - tpl[i][1]) < 1e-3);
    }
    /* A mirrored face still gives a rotation (positive determinant), never a reflection. */
    for (int i = 0; i < 5; i++) src[i][0] = 112 - tpl[i][0], src[i][1] = tpl[i][1];
    assert_int_equal(iid__face_align_matrix((const float (*)[2])src, 112, M, &err), IID_OK);
    assert_true(M[0] * M[4] - M[1] * M[3] > 0);
    /* 128: template scaled by 128/128 and shifted 8 px right. */
    float t128[5][2];
    iid__arcface_template(128, t128);
    assert_true(fabsf(t128[0][0] - (38.2946f + 8)) < 1e-4f);
    for (int i = 0; i < 5; i++) src[i][0] = src[i][1] = 7;
    assert_int_equal(iid__face_align_matrix((const float (*)[2])src, 112, M, &err), IID_ERR_INVALID);
}

static void test_warp(void **state)
{
    (void)state;
    uint8_t img[4 * 4 * 3], out[4 * 4 * 3];
    for (int i = 0; i < 48; i++) img[i] = (uint8_t)(i * 5);
    double id[6] = {1, 0, 0, 0, 1, 0};
    iid__warp_affine_u8(out, 4, 4, img, 4, 4, 3, id);
    assert_memory_equal(out, img, sizeof img);
    double shift[6] = {1, 0, 1, 0, 1, 0}; /* dst(x) = src(x - 1): column 0 is outside, black */
    iid__warp_affine_u8(out, 4, 4, img, 4, 4, 3, shift);
    for (int y = 0; y < 4; y++) {
        assert_int_equal(out[(y * 4 + 0) * 3], 0);
        assert_int_equal(out[(y * 4 + 2) * 3 + 1], img[(y * 4 + 1) * 3 + 1]);
    }
    double half[6] = {1, 0, -0.5, 0, 1, 0}; /* samples halfway between columns */
    iid__warp_affine_u8(out, 4, 4, img, 4, 4, 3, half);
    assert_int_equal(out[0], (img[0] + img[3] + 1) / 2);
    double inv[6];
    double m[6] = {2, 1, 3, -1, 2, 5};
    iid__affine_invert(m, inv);
    double p[2] = {7, -3}, q[2] = {m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]};
    assert_true(fabs(inv[0] * q[0] + inv[1] * q[1] + inv[2] - p[0]) < 1e-12);
    assert_true(fabs(inv[3] * q[0] + inv[4] * q[1] + inv[5] - p[1]) < 1e-12);
}

static void test_recog_blob(void **state)
{
    (void)state;
    uint8_t crop[2 * 1 * 3] = {0, 128, 255, 10, 20, 30}; /* BGR */
    iid_tensor_t b;
    iid_error_t err;
    assert_int_equal(iid__face_recog_blob(crop, 2, 1, 127.5f, 127.5f, &b, &err), IID_OK);
    float *v = b.data; /* planes R, G, B */
    assert_true(v[0] == 1.0f && v[2] == (128 - 127.5f) * (float)(1 / 127.5) && v[4] == -1.0f);
    assert_true(v[1] == (30 - 127.5f) * (float)(1 / 127.5));
    iid__tensor_free(&b);
    assert_int_equal(iid__face_recog_blob(crop, 0, 1, 127.5f, 127.5f, &b, &err), IID_ERR_INVALID);
}

/* Write a model: one input of the given dims, n_out Identity outputs (or Flatten
 * for one output), first node named first_name. */
static void write_model(const char *dir, const char *file, const int64_t *dims, int n_out, const char *first_name,
                        const char *second_name)
{
    pb_t model = {0}, graph = {0}, in = {0}, opset = {0};
    for (int i = 0; i < n_out; i++) {
        pb_t node = {0}, out = {0};
        char name[16];
        snprintf(name, sizeof name, "y%d", i);
        pb_str(&node, 1, "x");
        pb_str(&node, 2, name);
        pb_str(&node, 3, i == 0 ? first_name : i == 1 && second_name ? second_name : "node");
        pb_str(&node, 4, n_out == 1 ? "Flatten" : "Identity");
        pb_msg(&graph, 1, &node);
        int64_t od[1] = {-1};
        pb_value_info(&out, name, od, 1);
        pb_msg(&graph, 12, &out);
    }
    if (n_out == 1 && second_name) { /* a second, unused node for the Sub/Mul rule */
        pb_t node = {0};
        pb_str(&node, 1, "x");
        pb_str(&node, 2, "unused");
        pb_str(&node, 3, second_name);
        pb_str(&node, 4, "Relu");
        pb_msg(&graph, 1, &node);
    }
    pb_value_info(&in, "x", dims, 4);
    pb_msg(&graph, 11, &in);
    pb_int(&opset, 2, 11);
    pb_msg(&model, 8, &opset);
    pb_msg(&model, 7, &graph);
    free(iid_test_write(dir, file, model.p, model.n));
    free(model.p);
}

static void test_model_roles(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    int64_t det[4] = {1, 3, -1, -1}, rec[4] = {-1, 3, 112, 112}, lmk[4] = {1, 3, 192, 192};
    write_model(dir, "b_landmark.onnx", lmk, 1, "a", NULL);
    write_model(dir, "z_detector.onnx", det, 5, "a", NULL);
    write_model(dir, "c_recog.onnx", rec, 1, "Sub_0", "Mul_1");
    write_model(dir, "d_recog_second.onnx", rec, 1, "a", NULL);
    free(iid_test_write(dir, "notes.txt", "x", 1));
    iid_face_models_t fm;
    iid_error_t err;
    assert_int_equal(iid__face_models_load(&fm, dir, &err), IID_OK);
    assert_int_equal(fm.detector.n_outputs, 5);
    assert_non_null(strstr(fm.recognizer.net.model.path, "c_recog.onnx")); /* first in name order */
    assert_int_equal(fm.recognizer.input_size, 112);
    assert_true(fm.recognizer.input_mean == 0.0f && fm.recognizer.input_std == 1.0f); /* Sub + Mul: self-normalising */
    uint8_t *crop = calloc(112 * 112 * 3, 1);
    iid_tensor_t emb;
    assert_int_equal(iid__face_embed(&fm.recognizer, crop, &emb, &err), IID_OK);
    assert_int_equal(emb.shape[1], 3 * 112 * 112); /* Flatten of the blob: (0 - 0) / 1 */
    assert_true(((float *)emb.data)[0] == 0.0f);
    iid__tensor_free(&emb);
    free(crop);
    iid__face_models_free(&fm);
    iid__face_models_free(NULL);
    char *p = iid_test_write(dir, "z_detector.onnx", "\x08", 1); /* now unparsable */
    free(p);
    assert_int_equal(iid__face_models_load(&fm, dir, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "z_detector.onnx"));
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrfd_decode),   cmocka_unit_test(test_largest_face), cmocka_unit_test(test_similarity_fit),
        cmocka_unit_test(test_warp),           cmocka_unit_test(test_recog_blob),   cmocka_unit_test(test_model_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
