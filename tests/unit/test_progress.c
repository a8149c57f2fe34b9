/* test_progress.c - batch statistics and the progress text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/progress.h"
#include "support.h"

static void test_durations(void **state)
{
    (void)state;
    char b[32];
    iid__fmt_duration(b, sizeof b, 45.4);
    assert_string_equal(b, "45s");
    iid__fmt_duration(b, sizeof b, 185);
    assert_string_equal(b, "3m05s");
    iid__fmt_duration(b, sizeof b, 7387);
    assert_string_equal(b, "2h03m07s");
    iid__fmt_duration(b, sizeof b, -1);
    assert_string_equal(b, "?");
}

static void test_stats_and_eta(void **state)
{
    (void)state;
    iid_batch_stats_t s;
    iid_error_t err;
    iid__stats_init(&s, 4, 40 + 60 + 40 + 60);
    assert_true(iid__stats_eta(&s) < 0);
    assert_int_equal(iid__stats_add(&s, "Neon", 1.1, 0.8, 40, 7.5, 1, NULL, 40.0, &err), IID_OK);
    /* 1 s per step so far; 160 steps left. */
    assert_true(iid__stats_eta(&s) == 160.0);
    assert_int_equal(iid__stats_add(&s, "Neon", 1.4, 0.9, 60, 11.0, 0, "a.jpg: no face found", 2.0, &err), IID_OK);
    assert_int_equal(iid__stats_add(&s, "Watercolor", 1.2, 0.7, 40, 9.0, 0, "b.jpg: no face found", 4.0, &err),
                     IID_OK);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.ok, 1);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.reasons.n, 1);
    assert_string_equal(s.reasons.items[0].key, "no face found");
    assert_int_equal(s.reasons.items[0].count, 2);
    assert_int_equal(s.styles.n, 2);
    assert_int_equal(s.styles.items[0].count, 2);
    assert_true(s.time_min == 2.0 && s.time_max == 40.0);
    assert_true(s.identitynet.min == 1.1 && s.identitynet.max == 1.4);
    assert_true(s.steps.min == 40 && s.steps.max == 60);

    char line[512];
    iid_progress_now_t now = {"c.jpg", "Neon", 1.25, 0.75, 8.0, 60, 12};
    iid__progress_status_line(line, sizeof line, &s, 125.0, &now);
    assert_string_equal(line, "[3/4 75%] elapsed 2m05s, left ~1m00s, 15.3 s/image, ok 1 failed 2 | c.jpg Neon "
                              "idn=1.25 ad=0.75 cfg=8.00 step 12/60");
    iid__progress_status_line(line, 40, &s, 125.0, NULL); /* truncates safely */
    assert_int_equal(strlen(line), 39);

    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    iid__progress_summary(m, &s, 3600.0, 1);
    fclose(m);
    assert_non_null(strstr(buf, "=== batch summary (interrupted) ==="));
    assert_non_null(strstr(buf, "jobs: 3 of 4 attempted, 1 ok, 2 failed, in 1h00m00s"));
    assert_non_null(strstr(buf, "      2  no face found"));
    assert_non_null(strstr(buf, "time per image: min 2.00s, mean 15.33s, max 40.00s"));
    assert_non_null(strstr(buf, "images per hour: 1.0"));
    assert_non_null(strstr(buf, "       2  Neon\n       1  Watercolor"));
    assert_non_null(strstr(buf, "num_inference_steps    40 .. 60"));
    assert_non_null(strstr(buf, "identitynet_strength   1.1 .. 1.4"));
    free(buf);
    iid__stats_free(&s);
    iid__stats_free(NULL);
}

static void test_job_lines(void **state)
{
    (void)state;
    char line[512];
    iid__progress_job_line(line, sizeof line, 2, 10, 17, "anna.jpg", "Watercolor", 1.234, 0.81, 45, 8.1, 42, 1,
                           "anna_watercolor_17_42.png", 41.2);
    assert_string_equal(line, "[2/10] job 17 anna.jpg Watercolor idn=1.23 ad=0.81 steps=45 cfg=8.10 seed=42: ok "
                              "41.20s -> anna_watercolor_17_42.png");
    iid__progress_job_line(line, sizeof line, 3, 10, 18, "bob.png", "Neon", 1.0, 0.7, 40, 7.0, 7, 0,
                           "bob.png: no face found", 0.1);
    assert_string_equal(line, "[3/10] job 18 bob.png Neon idn=1.00 ad=0.70 steps=40 cfg=7.00 seed=7: FAILED 0.10s: "
                              "bob.png: no face found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_stats_and_eta),
        cmocka_unit_test(test_job_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
