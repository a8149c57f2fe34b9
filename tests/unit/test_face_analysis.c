/* test_face_analysis.c - the one-call face step on the kit's models and stored
 * detector blob: the folder scan picks a detector and a recogniser by shape, the
 * largest face is InstantID's choice, and the crop and embedding are those of the
 * chosen face's alignment. */
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "pipeline/face_align.h"
#include "pipeline/face_analysis.h"
#include "support.h"

static void test_analyze_kit_blob(void **state)
{
    (void)state;
    iid_face_models_t fm;
    iid_error_t err;
    assert_int_equal(iid__face_models_load(&fm, iid_test_shared_path("conformance/faces/models"), &err), IID_OK);
    assert_int_equal(fm.detector.n_outputs, 9);
    assert_int_equal(fm.recognizer.input_size, 112);
    assert_true(fm.recognizer.input_mean == 127.5f && fm.recognizer.input_std == 127.5f);

    iid_safetensors_t in, det;
    assert_int_equal(iid__st_open(&in, iid_test_shared_path("conformance/faces/golden/raw/group_solvay_1927_gray.input.safetensors"), &err), IID_OK);
    const char *det_path = strstr(fm.detector.model.path, "det_2.5g")
                               ? "conformance/faces/golden/detect/det_2.5g/group_solvay_1927_gray.safetensors"
                               : "conformance/faces/golden/detect/det_500m/group_solvay_1927_gray.safetensors";
    assert_int_equal(iid__st_open(&det, iid_test_shared_path(det_path), &err), IID_OK);
    const iid_st_tensor_t *b = iid__st_find(&in, "blob"), *ds = iid__st_find(&det, "det_scale");
    const iid_st_tensor_t *largest = iid__st_find(&det, "largest"), *boxes = iid__st_find(&det, "boxes");
    double det_scale;
    int64_t want_largest;
    memcpy(&det_scale, ds->data, 8);
    memcpy(&want_largest, largest->data, 8);
    iid_tensor_t blob;
    assert_int_equal(iid__tensor_alloc(&blob, IID_DTYPE_F32, 4, b->shape, &err), IID_OK);
    assert_int_equal(iid__st_read_f32(b, blob.data, &err), IID_OK);

    int w = 1000, h = 800; /* a synthetic photo: detection reads only the blob */
    uint8_t *bgr = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) bgr[i] = (uint8_t)(i * 7 % 251);
    iid_face_analysis_t fa;
    assert_int_equal(iid__face_analyze(&fm, &blob, det_scale, bgr, w, h, &fa, &err), IID_OK);
    assert_int_equal(fa.faces.count, boxes->shape[0]);
    assert_int_equal(fa.chosen, want_largest);
    double M[6];
    assert_int_equal(iid__face_align_matrix((const float (*)[2])fa.faces.faces[fa.chosen].kps, 112, M, &err), IID_OK);
    assert_memory_equal(M, fa.M, sizeof M);
    uint8_t crop[112 * 112 * 3];
    iid__warp_affine_u8(crop, 112, 112, bgr, w, h, 3, M);
    assert_memory_equal(crop, fa.crop_bgr, sizeof crop);
    iid_tensor_t emb;
    assert_int_equal(iid__face_embed(&fm.recognizer, crop, &emb, &err), IID_OK);
    assert_int_equal(fa.embedding.shape[1], emb.shape[1]);
    assert_memory_equal(fa.embedding.data, emb.data, (size_t)emb.shape[1] * sizeof(float));
    iid__tensor_free(&emb);
    iid__face_analysis_free(&fa);

    /* A black canvas has no face: InstantID's "Cannot find any face". */
    float *v = blob.data;
    for (int64_t i = 0; i < iid__tensor_numel(&blob); i++) v[i] = -0.99609375f;
    assert_int_equal(iid__face_analyze(&fm, &blob, det_scale, bgr, w, h, &fa, &err), IID_ERR_NOT_FOUND);
    assert_int_equal(fa.faces.count, 0);
    iid__face_analysis_free(&fa);
    iid__face_analysis_free(NULL);

    free(bgr);
    iid__tensor_free(&blob);
    iid__st_close(&in);
    iid__st_close(&det);
    iid__face_models_free(&fm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_analyze_kit_blob)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
