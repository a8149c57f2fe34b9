/*
 * test_estimate.c - the job cost model against the measurements it was fitted
 * to (bench/RESULTS.md), and this machine's speed kept in the cache folder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/estimate.h"
#include "io/file.h"
#include "support.h"

#define REFERENCE IID_REFERENCE_SECONDS_PER_UNIT

static void near(double got, double want, double rel)
{
    if (fabs(got - want) > rel * want) fail_msg("%g is not within %g%% of %g", got, rel * 100, want);
}

static void test_model_matches_the_bench(void **state)
{
    (void)state;
    /* bench/RESULTS.md: one guided step 8.8 s at 512x512, 40 s at 1024x1024 (a
     * whole generation's second step), VAE decode 66.6 s at 1024x1024. */
    near(REFERENCE * iid__estimate_step_work(512, 512), 8.8, 0.02);
    near(REFERENCE * iid__estimate_step_work(1024, 1024), 40.0, 0.02);
    double decode = REFERENCE * (iid__estimate_job_work(1024, 1024, 1) - iid__estimate_step_work(1024, 1024));
    near(decode, 66.6, 0.02);
    /* More pixels cost more than in proportion (attention). */
    assert_true(iid__estimate_step_work(1024, 1024) > 4 * iid__estimate_step_work(512, 512));
    /* Steps add linearly; an unknown size is no work. */
    double w40 = iid__estimate_job_work(1088, 1280, 40), w60 = iid__estimate_job_work(1088, 1280, 60);
    near(w60 - w40, 20 * iid__estimate_step_work(1088, 1280), 1e-12);
    assert_true(iid__estimate_job_work(0, 0, 40) == 0.0);
    assert_true(iid__estimate_job_work(64, 64, 0) == 0.0);
    /* `make run`'s 1088x1280 at 40-60 steps: 35 to 60 minutes each on that machine. */
    assert_true(REFERENCE * w40 > 35 * 60 && REFERENCE * w60 < 60 * 60);
    /* A measurement gives seconds per unit back. */
    near(iid__speed_from_steps(1024, 1024, 10, 10 * 40.0), 40.0 / iid__estimate_step_work(1024, 1024), 1e-12);
    assert_true(iid__speed_from_steps(0, 0, 10, 5.0) < 0);
}

static void test_speed_cache(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    setenv("IID_CACHE_DIR", dir, 1);
    iid_speed_t s, t;
    char key[64], text[512];
    iid__speed_key(key, sizeof key, "cpu", "f32", 2, "31e35c80fc");
    assert_string_equal(key, "cpu f32 2 31e35c80fc");
    iid__speed_load(&s, key);
    assert_int_equal(s.measured, 0);
    assert_true(s.seconds_per_unit == REFERENCE);
    iid__speed_describe(text, sizeof text, &s);
    assert_non_null(strstr(text, "bench --calibrate"));
    iid_error_t err;
    assert_int_equal(iid__speed_save(&s, 3.25, &err), IID_OK);
    iid__speed_load(&t, "cpu f32 4 31e35c80fc"); /* another key: untouched */
    assert_int_equal(t.measured, 0);
    assert_int_equal(iid__speed_save(&t, 1.5, &err), IID_OK);
    assert_int_equal(iid__speed_save(&s, 3.125, &err), IID_OK); /* replaces, not appends */
    iid__speed_load(&t, key);
    assert_int_equal(t.measured, 1);
    assert_true(t.seconds_per_unit == 3.125);
    assert_int_equal(strlen(t.when), 19);
    iid__speed_describe(text, sizeof text, &t);
    assert_non_null(strstr(text, "cpu f32 2 31e35c80fc measured on this machine"));
    iid__speed_load(&t, "cpu f32 4 31e35c80fc");
    assert_true(t.measured && t.seconds_per_unit == 1.5);
    char path[4200];
    snprintf(path, sizeof path, "%s/speed.tsv", dir);
    char *file = iid_test_slurp(path);
    assert_int_equal(iid_test_count_lines(file), 2);
    free(file);
    unsetenv("IID_CACHE_DIR");
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_matches_the_bench),
        cmocka_unit_test(test_speed_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
