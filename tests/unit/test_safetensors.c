/* test_safetensors.c - the safetensors index: real kit files, and every malformed shape of header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "support.h"

/* Build a file image: 8-byte length, header, data. */
static unsigned char *make_file(const char *header, const void *data, size_t dlen, size_t *size)
{
    size_t hl = strlen(header);
    *size = 8 + hl + dlen;
    unsigned char *buf = malloc(*size);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(((uint64_t)hl >> (8 * i)) & 0xff);
    memcpy(buf + 8, header, hl);
    if (dlen) memcpy(buf + 8 + hl, data, dlen);
    return buf;
}

static iid_status parse(const char *header, const void *data, size_t dlen, iid_safetensors_t *st, iid_error_t *err)
{
    size_t size;
    unsigned char *buf = make_file(header, data, dlen, &size);
    iid_status s = iid__st_parse(st, buf, size, "t.safetensors", err);
    if (s == IID_OK) iid__st_close(st); /* the index points into buf */
    free(buf);
    return s;
}

static void test_valid_file(void **state)
{
    (void)state;
    float data[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[2] = {0x3c00, 0xc000};
    unsigned char all[28];
    memcpy(all, data, 24);
    memcpy(all + 24, h, 4);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}  ";
    size_t size;
    unsigned char *buf = make_file(hdr, all, sizeof all, &size);
    iid_safetensors_t st;
    iid_error_t err;
    assert_int_equal(iid__st_parse(&st, buf, size, "t", &err), IID_OK);
    assert_int_equal(st.count, 2);
    assert_string_equal(st.tensors[0].name, "a"); /* sorted */
    assert_string_equal(iid__st_meta(&st, "format"), "pt");
    const iid_st_tensor_t *b = iid__st_find(&st, "b");
    assert_non_null(b);
    float out[2];
    assert_int_equal(iid__st_read_f32(b, out, &err), IID_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f);
    float *a;
    int64_t shape[] = {2, 3};
    assert_int_equal(iid__st_load_f32(&st, "a", 2, shape, &a, &err), IID_OK);
    assert_memory_equal(a, data, 24);
    free(a);
    int64_t wrong[] = {3, 2};
    assert_int_equal(iid__st_load_f32(&st, "a", 2, wrong, &a, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "'a' has shape [2, 3], expected [3, 2]"));
    assert_int_equal(iid__st_load_f32(&st, "zz", 2, shape, &a, &err), IID_ERR_NOT_FOUND);
    assert_null(iid__st_find(&st, "c"));
    iid__st_close(&st);
    free(buf);
}

/* A mapped file's pages leave the process and come back, the same bytes, when
 * read again (the models' idle weights while the VAE decodes). */
static void test_release_pages(void **state)
{
    (void)state;
    enum { N = 1 << 20 }; /* 4 MiB */
    float *x = malloc(N * sizeof *x);
    assert_non_null(x);
    iid_test_fill_random(x, N, 5);
    char *dir = iid_test_tempdir();
    iid_test_tensor_t t = {"w", "F32", 1, {N}, x};
    char *path = iid_test_write_safetensors(dir, "w.safetensors", &t, 1);
    assert_non_null(path);
    iid_safetensors_t st;
    iid_error_t err;
    assert_int_equal(iid__st_open(&st, path, &err), IID_OK);
    const unsigned char *w = iid__st_find(&st, "w")->data;
    volatile unsigned sum = 0; /* reads the compiler keeps */
    for (size_t i = 0; i < N * sizeof *x; i += 512) sum += w[i]; /* every page resident */
    assert_true(iid_test_mapping_rss_kb(st.map.data) >= (long)(N * sizeof *x / 1024));
    iid__st_release_pages(&st);
    long rss = iid_test_mapping_rss_kb(st.map.data);
    if (rss < 0 || rss > 64) fail_msg("released, the mapping keeps %ld kB", rss);
    assert_memory_equal(w, x, N * sizeof *x);
    iid__st_release_pages(NULL); /* no file: nothing to do */
    iid__st_close(&st);
    iid_test_rmtree(dir);
    free(dir);
    free(path);
    free(x);
    (void)sum;
}

static void expect_reject(const char *header, size_t dlen, iid_status code, const char *fragment)
{
    unsigned char data[64] = {0};
    iid_safetensors_t st;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status s = parse(header, data, dlen, &st, &err);
    if (s != code || !strstr(err.msg, fragment))
        fail_msg("header %s: got status %d message '%s', wanted %d containing '%s'", header, s, err.msg, code,
                 fragment);
    assert_non_null(strstr(err.msg, "t.safetensors"));
    assert_null(strchr(err.msg, '\n'));
}

static void test_malformed_headers(void **state)
{
    (void)state;
    expect_reject("[1,2]", 0, IID_ERR_FORMAT, "not a JSON object");
    expect_reject("{\"a\":", 0, IID_ERR_FORMAT, "not a JSON object");
    expect_reject("{\"a\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, IID_ERR_FORMAT, "dtype");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, IID_ERR_FORMAT, "shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, IID_ERR_FORMAT, "shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, IID_ERR_FORMAT, "needs 8 bytes");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, IID_ERR_RANGE, "data_offsets");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 8, IID_ERR_RANGE, "data_offsets");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, IID_ERR_FORMAT, "overlap");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                  8, IID_ERR_FORMAT, "twice");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                  IID_ERR_FORMAT, "shape");
    expect_reject("{\"__metadata__\":{\"k\":1}}", 0, IID_ERR_FORMAT, "__metadata__");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
                  IID_ERR_RANGE, "overflows");
    expect_reject("{} x", 0, IID_ERR_FORMAT, "trailing");
    expect_reject("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, IID_ERR_FORMAT,
                  "control characters");
}

static void test_lying_lengths(void **state)
{
    (void)state;
    iid_safetensors_t st;
    iid_error_t err;
    unsigned char tiny[4] = {1, 0, 0, 0};
    assert_int_equal(iid__st_parse(&st, tiny, sizeof tiny, "t.safetensors", &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "too short"));
    /* Header length claims far more than the file holds. */
    unsigned char lie[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    assert_int_equal(iid__st_parse(&st, lie, sizeof lie, "t.safetensors", &err), IID_ERR_RANGE);
    assert_non_null(strstr(err.msg, "header length"));
}

static void test_truncated_real_file(void **state)
{
    (void)state;
    const char *path = iid_test_shared_path("conformance/models/sdxl/text_encoder/model.safetensors");
    char *buf;
    FILE *f = fopen(path, "rb");
    if (!f) iid_test_skip("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    iid_safetensors_t st;
    iid_error_t err;
    assert_int_equal(iid__st_parse(&st, buf, (size_t)size, path, &err), IID_OK);
    assert_non_null(iid__st_find(&st, "text_model.embeddings.token_embedding.weight"));
    iid__st_close(&st);
    /* Cut anywhere: in the header, in the data. Never a crash, always a message. */
    long cuts[] = {0, 7, 9, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        iid_error_clear(&err);
        assert_int_not_equal(iid__st_parse(&st, buf, (size_t)cuts[i], path, &err), IID_OK);
        assert_true(strlen(err.msg) > 0);
    }
    free(buf);
    /* And through the file API on a missing path. */
    assert_int_equal(iid__st_open(&st, "/nonexistent/x.safetensors", &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.safetensors"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file),
        cmocka_unit_test(test_release_pages),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_truncated_real_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
