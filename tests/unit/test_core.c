/* test_core.c - status records, f16/bf16 conversion, tensors and the finite check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/finite.h"
#include "core/half.h"
#include "core/mem.h"
#include "core/status.h"
#include "core/tensor.h"
#include "support.h"

static void test_error_records(void **state)
{
    (void)state;
    iid_error_t err;
    iid_error_clear(&err);
    assert_int_equal(iid__fail(&err, IID_ERR_FORMAT, "%s: bad %d", "a.bin", 3), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "a.bin: bad 3");
    iid__prefix(&err, IID_ERR_FORMAT, "loading %s", "unet");
    assert_string_equal(err.msg, "loading unet: a.bin: bad 3");
    assert_int_equal(iid__fail(NULL, IID_ERR_IO, "ignored"), IID_ERR_IO);
    assert_string_equal(iid_status_str(IID_ERR_NOMEM), "out of memory");
}

static void test_f16_exact_values(void **state)
{
    (void)state;
    /* Known encodings: 1.0, -2.0, 65504 (max), smallest subnormal, infinity. */
    assert_int_equal(iid__f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(iid__f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(iid__f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(iid__f32_to_f16(65520.0f), 0x7c00); /* rounds up to infinity */
    assert_int_equal(iid__f32_to_f16(5.9604645e-8f), 0x0001);
    assert_true(iid__f16_to_f32(0x0001) == 5.9604645e-8f);
    assert_true(isinf(iid__f16_to_f32(0x7c00)));
    assert_true(isnan(iid__f16_to_f32(iid__f32_to_f16(NAN))));
    /* 1.2 -> 1.2001953125 as the kit's prompt weights show. */
    assert_true(iid__f16_to_f32(iid__f32_to_f16(1.2f)) == 1.2001953125f);
    /* Ties go to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10. */
    assert_int_equal(iid__f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(iid__f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
}

static void test_f16_round_trip_all(void **state)
{
    (void)state;
    /* Every finite half survives f16 -> f32 -> f16 unchanged. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(iid__f32_to_f16(iid__f16_to_f32((uint16_t)h)), h);
    }
}

static void test_f16_fast_matches_ref(void **state)
{
    (void)state;
    /* Every half, from an odd (unaligned) address, through the fast and the plain
     * conversion: equal values, NaN where NaN. */
    static unsigned char bytes[2 * 0x10000 + 1];
    static float fast[0x10000], ref[0x10000];
    for (uint32_t h = 0; h < 0x10000; h++) {
        bytes[1 + 2 * h] = (unsigned char)(h & 0xff);
        bytes[2 + 2 * h] = (unsigned char)(h >> 8);
    }
    iid__f16_to_f32_n(fast, bytes + 1, 0x10000 - 3); /* a tail shorter than a vector */
    iid__f16_to_f32_n(fast + 0x10000 - 3, bytes + 1 + 2 * (0x10000 - 3), 3);
    iid__f16_to_f32_n_ref(ref, bytes + 1, 0x10000);
    for (uint32_t h = 0; h < 0x10000; h++) {
        if (isnan(ref[h])) assert_true(isnan(fast[h]));
        else assert_memory_equal(&fast[h], &ref[h], sizeof(float));
    }
}

static void test_mem(void **state)
{
    (void)state;
    const char *text = "Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t    2048 kB\nVmRSS:\t12 kB\nVmBad:\t7 MB\n";
    assert_int_equal(iid__mem_status_field(text, "VmHWM"), 2048 * 1024);
    assert_int_equal(iid__mem_status_field(text, "VmRSS"), 12 * 1024);
    assert_int_equal(iid__mem_status_field(text, "VmBad"), 0);
    assert_int_equal(iid__mem_status_field(text, "VmSwap"), 0);
    assert_int_equal(iid__mem_status_field(text, "VmH"), 0); /* a prefix of a key is not the key */
    /* the live process: touching 64 MiB raises the peak to at least that */
    size_t n = (size_t)64 << 20;
    float *big = malloc(n);
    assert_non_null(big);
    iid_test_fill_random(big, n / sizeof *big, 1); /* another file: not optimised away */
    size_t rss = iid__mem_rss_bytes(), peak = iid__mem_peak_bytes();
    free(big);
    print_message("rss %zu, peak %zu bytes with %zu touched\n", rss, peak, n);
#ifdef __linux__
    /* the kernel's counters are approximate (per-CPU batches): allow a margin */
    assert_true(rss >= n / 2 && peak >= rss - rss / 8);
#else
    (void)peak, (void)rss;
#endif
}

static void test_bf16(void **state)
{
    (void)state;
    assert_int_equal(iid__f32_to_bf16(1.0f), 0x3f80);
    assert_true(iid__bf16_to_f32(0x3f80) == 1.0f);
    /* 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even wins. */
    assert_int_equal(iid__f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    assert_int_equal(iid__f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
    for (uint32_t b = 0; b < 0x10000; b++) {
        if ((b & 0x7f80) == 0x7f80) continue;
        assert_int_equal(iid__f32_to_bf16(iid__bf16_to_f32((uint16_t)b)), b);
    }
}

static void test_tensor_alloc_and_convert(void **state)
{
    (void)state;
    iid_tensor_t t;
    int64_t shape[] = {2, 3, 4};
    assert_int_equal(iid__tensor_alloc(&t, IID_DTYPE_F16, 3, shape, NULL), IID_OK);
    assert_int_equal(iid__tensor_numel(&t), 24);
    assert_int_equal(iid__tensor_nbytes(&t), 48);
    float src[24], back[24];
    for (int i = 0; i < 24; i++) src[i] = (float)i * 0.5f - 3.0f;
    assert_int_equal(iid__convert_from_f32(t.data, IID_DTYPE_F16, src, 24, NULL), IID_OK);
    assert_int_equal(iid__convert_to_f32(back, t.data, IID_DTYPE_F16, 24, NULL), IID_OK);
    assert_memory_equal(src, back, sizeof src);
    char buf[64];
    assert_string_equal(iid__shape_str(t.shape, t.ndim, buf, sizeof buf), "[2, 3, 4]");
    iid__tensor_free(&t);
    iid__tensor_free(NULL);
    iid_dtype_t dt;
    assert_true(iid__dtype_parse("BF16", &dt) && dt == IID_DTYPE_BF16);
    assert_false(iid__dtype_parse("F8", &dt));
    int64_t bad[] = {-1};
    iid_error_t err;
    assert_int_equal(iid__tensor_alloc(&t, IID_DTYPE_F32, 1, bad, &err), IID_ERR_INVALID);
}

/* The finite check names the stage and counts NaN and both infinities. */
static void test_check_finite(void **state)
{
    (void)state;
    float x[6] = {0.0f, -1.5f, 3.4e38f, 1e-40f, 2.0f, -0.0f};
    iid_error_t err;
    assert_int_equal(iid__check_finite(x, 6, &err, "latents"), IID_OK);
    x[1] = NAN;
    x[4] = INFINITY;
    x[5] = -INFINITY;
    assert_int_equal(iid__check_finite(x, 6, &err, "the latents after step %d of %d", 3, 30), IID_ERR_RANGE);
    assert_string_equal(err.msg, "the latents after step 3 of 30: 3 of 6 values are NaN or infinite");
    assert_int_equal(iid__check_finite(x, 0, &err, "nothing"), IID_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_records), cmocka_unit_test(test_f16_exact_values),
        cmocka_unit_test(test_f16_round_trip_all), cmocka_unit_test(test_f16_fast_matches_ref), cmocka_unit_test(test_mem),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_tensor_alloc_and_convert), cmocka_unit_test(test_check_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
