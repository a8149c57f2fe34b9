/* test_unused_weights.c - tensors that no model looks up are reported: one
 * warning line per file naming the first few, on a crafted index and on the
 * whole pipeline with an adapter file carrying one tensor too many. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "pipeline/unused_weights.h"
#include "support.h"

/* What a logger wrote to its temporary file. */
static char *logged(FILE *f)
{
    static char buf[4096];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

static void test_index_names_the_unused(void **state)
{
    (void)state;
    static const float one = 1.0f;
    iid_test_tensor_t t[8];
    static const char *const names[8] = {"a.used", "b.skipped", "c1", "c2", "c3", "c4", "c5", "c6"};
    for (int i = 0; i < 8; i++) t[i] = (iid_test_tensor_t){names[i], "F32", 1, {1}, &one};
    char *dir = iid_test_tempdir();
    char *path = iid_test_write_safetensors(dir, "w.safetensors", t, 8);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, path, NULL), IID_OK);
    assert_non_null(iid__st_find(&st, "a.used"));
    FILE *f = tmpfile();
    iid_logger_t lg = {IID_LOG_WARN, f};
    static const char *const skip[] = {"b.", NULL};
    assert_int_equal(iid__st_warn_unused(&st, skip, &lg), 6);
    const char *text = logged(f);
    assert_non_null(strstr(text, "w.safetensors: 6 tensors are not used by the model: c1, c2, c3, c4, c5, ..."));
    assert_null(strstr(text, "a.used"));
    assert_null(strstr(text, "b.skipped"));
    assert_int_equal(iid_test_count_lines(text), 1);
    fclose(f);
    iid__st_close(&st);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

/* The kit's adapter copied with one extra tensor: the pipeline loads, and the
 * check names that file and tensor only. */
static void test_pipeline_reports_extra_adapter_tensor(void **state)
{
    (void)state;
    iid_test_shared();
    int heads = iid_test_kit_resampler_heads();
    iid_safetensors_t kit;
    assert_int_equal(iid__st_open(&kit, iid_test_shared_path("conformance/models/ip-adapter.safetensors"), NULL), IID_OK);
    iid_test_tensor_t *t = calloc((size_t)kit.count + 1, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < kit.count; i++) {
        const iid_st_tensor_t *k = &kit.tensors[i];
        t[i] = (iid_test_tensor_t){k->name, iid__dtype_name(k->dtype), k->ndim, {0}, k->data};
        for (int d = 0; d < k->ndim; d++) t[i].shape[d] = k->shape[d];
    }
    static const float extra[2] = {0};
    t[kit.count] = (iid_test_tensor_t){"ip_adapter.extra_layer.weight", "F32", 1, {2}, extra};
    char *dir = iid_test_tempdir();
    char *adapter = iid_test_write_safetensors(dir, "adapter.safetensors", t, kit.count + 1);
    iid__st_close(&kit);
    free(t);

    iid_model_paths_t paths;
    assert_int_equal(iid__model_paths_default(&paths, iid_test_shared_path("conformance/models"), NULL), IID_OK);
    iid_pipeline_t *p;
    iid_error_t err;
    if (iid__pipeline_load(&p, &paths, heads, &err) != IID_OK) fail_msg("%s", err.msg);
    FILE *f = tmpfile();
    iid_logger_t lg = {IID_LOG_WARN, f};
    assert_int_equal(iid__pipeline_warn_unused(p, &lg), 0); /* the kit's own files: every tensor used */
    iid__pipeline_free(p);

    snprintf(paths.ip_adapter, sizeof paths.ip_adapter, "%s", adapter);
    if (iid__pipeline_load(&p, &paths, heads, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(iid__pipeline_warn_unused(p, &lg), 1);
    const char *text = logged(f);
    assert_non_null(strstr(text, "adapter.safetensors: 1 tensor is not used by the model: ip_adapter.extra_layer.weight"));
    assert_int_equal(iid_test_count_lines(text), 1);
    fclose(f);
    iid__pipeline_free(p);
    free(adapter);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_names_the_unused),
        cmocka_unit_test(test_pipeline_reports_extra_adapter_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
