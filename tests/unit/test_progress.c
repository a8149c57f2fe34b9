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

static double fake_clock(void *user)
{
    return *(double *)user;
}

/* Drive a reporter through two jobs (one ok, one failed) at fake times. */
static char *report(int tty, int quiet)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    double now = 100.0;
    iid_progress_reporter_t r;
    iid__reporter_init(&r, m, tty, quiet, fake_clock, &now, 2, 80);
    iid_batch_observer_t ob = iid__reporter_observer(&r);
    iid_plan_job_t j0 = {0, 0, 0, 0, 1.25, 0.75, 40, 8.0, 42}, j1 = {1, 1, 0, 0, 1.5, 1.0, 40, 9.0, 7};
    iid_batch_event_t e0 = {&j0, "a.jpg", "Neon", "a_neon_0_42.png", 0, NULL, 0.0};
    ob.job_start(ob.user, &e0);
    now = 110.0;
    ob.job_step(ob.user, 20, 40);
    now = 120.0;
    e0.ok = 1;
    e0.seconds = 20.0;
    ob.job_end(ob.user, &e0);
    iid_batch_event_t e1 = {&j1, "b.jpg", "Neon", "b_neon_1_7.png", 0, "b.jpg: no face found", 0.5};
    ob.job_start(ob.user, &e1);
    now = 120.5;
    ob.job_end(ob.user, &e1);
    iid__reporter_finish(&r, 0);
    assert_int_equal(r.status, IID_OK);
    iid__reporter_free(&r);
    fclose(m);
    return buf;
}

static void test_reporter(void **state)
{
    (void)state;
    char *plain = report(0, 0);
    assert_int_equal(strncmp(plain,
                             "[1/2] job 0 a.jpg Neon idn=1.25 ad=0.75 steps=40 cfg=8.00 seed=42: ok 20.00s -> "
                             "a_neon_0_42.png\n"
                             "[2/2] job 1 b.jpg Neon idn=1.50 ad=1.00 steps=40 cfg=9.00 seed=7: FAILED 0.50s: "
                             "b.jpg: no face found\n"
                             "=== batch summary ===\n"
                             "jobs: 2 of 2 attempted, 1 ok, 1 failed, in 21s\n",
                             strlen("[1/2] job 0 a.jpg Neon idn=1.25 ad=0.75 steps=40 cfg=8.00 seed=42: ok 20.00s -> "
                                    "a_neon_0_42.png\n"
                                    "[2/2] job 1 b.jpg Neon idn=1.50 ad=1.00 steps=40 cfg=9.00 seed=7: FAILED 0.50s: "
                                    "b.jpg: no face found\n"
                                    "=== batch summary ===\n"
                                    "jobs: 2 of 2 attempted, 1 ok, 1 failed, in 21s\n")),
                     0);
    assert_null(strchr(plain, '\r'));
    free(plain);
    char *tty = report(1, 0);
    /* The status line is redrawn in place while a job runs... */
    assert_non_null(strstr(tty, "\r\033[K[0/2 0%] elapsed 10s, left ~?, ok 0 failed 0 | a.jpg Neon idn=1.25 "
                                "ad=0.75 cfg=8.00 step 20/40"));
    /* ...cleared before each job line, and redrawn after it with the estimate. */
    assert_non_null(strstr(tty, "\r\033[K[1/2] job 0 a.jpg"));
    assert_non_null(strstr(tty, "\r\033[K[1/2 50%] elapsed 20s, left ~20s, 20.0 s/image, ok 1 failed 0"));
    assert_non_null(strstr(tty, "\r\033[K=== batch summary ==="));
    free(tty);
    char *quiet = report(1, 1);
    assert_string_equal(quiet, "");
    free(quiet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_stats_and_eta),
        cmocka_unit_test(test_job_lines),
        cmocka_unit_test(test_reporter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
