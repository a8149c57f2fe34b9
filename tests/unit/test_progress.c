/* test_progress.c - batch statistics and the progress text. */
#include <math.h>
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
    iid__stats_init(&s, 4, 4.0); /* 4 jobs of 1 work unit each */
    assert_true(iid__stats_eta(&s, 0.0, -1.0) < 0); /* nothing known */
    assert_true(iid__stats_eta(&s, 0.0, 10.0) == 40.0); /* the machine's speed before any job ends */
    assert_true(iid__stats_eta(&s, 0.5, 10.0) == 35.0); /* half of the running job done */
    assert_int_equal(iid__stats_add(&s, "Neon", 1.1, 0.8, 40, 7.5, 1.0, 1, NULL, 40.0, &err), IID_OK);
    /* 40 s per unit measured; 3 units left; the prior no longer counts. */
    assert_true(iid__stats_eta(&s, 0.0, 10.0) == 120.0);
    assert_int_equal(iid__stats_add(&s, "Neon", 1.4, 0.9, 60, 11.0, 1.0, 0, "a.jpg: no face found", 2.0, &err),
                     IID_OK);
    assert_int_equal(iid__stats_add(&s, "Watercolor", 1.2, 0.7, 40, 9.0, 1.0, 0, "b.jpg: no face found", 4.0, &err),
                     IID_OK);
    /* failures leave the rate alone: still 40 s per unit, 1 unit left */
    assert_true(iid__stats_eta(&s, 0.0, 10.0) == 40.0);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.ok, 1);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.reasons.n, 1);
    assert_string_equal(s.reasons.items[0].key, "no face found");
    assert_int_equal(s.reasons.items[0].count, 2);
    assert_int_equal(s.styles.n, 2);
    assert_int_equal(s.styles.items[0].count, 2);
    assert_true(s.ok_min == 40.0 && s.ok_max == 40.0 && s.failed_time == 6.0);
    assert_true(s.identitynet.min == 1.1 && s.identitynet.max == 1.4);
    assert_true(s.steps.min == 40 && s.steps.max == 60);

    char line[512];
    iid_progress_now_t now = {"c.jpg", "Neon", 1.25, 0.75, 8.0, 60, 12};
    iid__progress_status_line(line, sizeof line, &s, 125.0, 60.0, &now);
    /* s/image counts the successful job only (40 s), not the 2 s and 4 s failures */
    assert_string_equal(line, "[3/4 75%] elapsed 2m05s, left ~1m00s, 40.0 s/image, ok 1 failed 2 | c.jpg Neon "
                              "idn=1.25 ad=0.75 cfg=8.00 step 12/60");
    iid__progress_status_line(line, 40, &s, 125.0, 60.0, NULL); /* truncates safely */
    assert_int_equal(strlen(line), 39);

    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    iid__progress_summary(m, &s, 3600.0, 1);
    fclose(m);
    assert_non_null(strstr(buf, "=== batch summary (interrupted) ==="));
    assert_non_null(strstr(buf, "jobs: 3 of 4 attempted, 1 ok, 2 failed, in 1h00m00s"));
    assert_non_null(strstr(buf, "      2  no face found"));
    assert_non_null(strstr(buf, "time per image (successful jobs): min 40.00s, mean 40.00s, max 40.00s"));
    assert_non_null(strstr(buf, "time spent on failed jobs: 6.00s"));
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

/* Drive a reporter through two jobs at fake times: job 0 (40 steps at 1000x1000,
 * one megapixel: 1.18 units per step, 49.18 units with the decode) succeeds in
 * 20 s; job 1 fails in 0.5 s. The machine's prior speed is 0.5 s per unit. */
static char *report(int tty, int quiet, double interval, iid_speed_t *speed)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    double now = 100.0;
    static const int w[2] = {1000, 1000}, h[2] = {1000, 1000};
    iid__speed_load(speed, "test none 1"); /* not in any cache: the reference */
    speed->seconds_per_unit = 0.5;
    iid_reporter_setup_t rs = {m, tty, quiet, fake_clock, &now, 2, 2 * 49.18, w, h, speed, 0, interval};
    iid_progress_reporter_t r;
    iid__reporter_init(&r, &rs);
    iid_batch_observer_t ob = iid__reporter_observer(&r);
    iid_plan_job_t j0 = {0, 0, 0, 0, 1.25, 0.75, 40, 8.0, 42}, j1 = {1, 1, 0, 0, 1.5, 1.0, 40, 9.0, 7};
    iid_batch_event_t e0 = {&j0, "a.jpg", "Neon", "a_neon_0_42.png", 0, NULL, 0.0};
    ob.job_start(ob.user, &e0);
    now = 101.0;
    ob.job_step(ob.user, 1, 40);
    now = 103.0;
    ob.job_step(ob.user, 3, 40);
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
    iid_speed_t speed;
    char *plain = report(0, 0, 0.0, &speed);
    const char *expect = "[1/2] job 0 a.jpg Neon idn=1.25 ad=0.75 steps=40 cfg=8.00 seed=42: ok 20.00s -> "
                         "a_neon_0_42.png\n"
                         "[2/2] job 1 b.jpg Neon idn=1.50 ad=1.00 steps=40 cfg=9.00 seed=7: FAILED 0.50s: "
                         "b.jpg: no face found\n"
                         "=== batch summary ===\n"
                         "jobs: 2 of 2 attempted, 1 ok, 1 failed, in 21s\n";
    assert_int_equal(strncmp(plain, expect, strlen(expect)), 0);
    assert_null(strchr(plain, '\r'));
    free(plain);
    /* The first job measured the speed: 20 s / 49.18 units. */
    assert_true(fabs(speed.seconds_per_unit - 20.0 / 49.18) < 1e-12);

    char *tty = report(1, 0, 0.0, &speed);
    /* Before the first step: the prior, 0.5 s x 98.36 units = 49 s (not "?"). */
    assert_non_null(strstr(tty, "\r\033[K[0/2 0%] elapsed 0s, left ~49s, ok 0 failed 0 | a.jpg Neon idn=1.25 "
                                "ad=0.75 cfg=8.00 step 0/40"));
    /* At step 3: steps 1..3 took 2 s for 2 x 1.18 units, 0.847 s/unit, times the
     * 98.36 - 3 x 1.18 = 94.82 units left: 80 s. */
    assert_non_null(strstr(tty, "\r\033[K[0/2 0%] elapsed 3s, left ~1m20s, ok 0 failed 0 | a.jpg"));
    assert_non_null(strstr(tty, "\r\033[K[1/2] job 0 a.jpg"));
    /* After job 0: 20 s for 49.18 units, 49.18 units left: 20 s. */
    assert_non_null(strstr(tty, "\r\033[K[1/2 50%] elapsed 20s, left ~20s, 20.0 s/image, ok 1 failed 0"));
    assert_non_null(strstr(tty, "\r\033[K=== batch summary ==="));
    free(tty);

    /* Off a terminal with a 5 s interval: plain status lines when 5 s have passed
     * since the last: at step 20 (10 s in) and after job 0 (10 s later); none
     * after job 1 (0.5 s later). */
    char *timed = report(0, 0, 5.0, &speed);
    assert_null(strchr(timed, '\r'));
    /* steps 1..20 took 9 s for 19 x 1.18 units; 98.36 - 20 x 1.18 units left: 30 s */
    const char *first = "[0/2 0%] elapsed 10s, left ~30s, ok 0 failed 0 | a.jpg Neon idn=1.25 ad=0.75 cfg=8.00 "
                        "step 20/40\n[1/2] job 0 a.jpg";
    assert_int_equal(strncmp(timed, first, strlen(first)), 0);
    plain = report(0, 0, 0.0, &speed);
    assert_non_null(strstr(timed, "a_neon_0_42.png\n[1/2 50%] elapsed 20s, left ~20s, 20.0 s/image, ok 1 failed 0\n"
                                  "[2/2] job 1"));
    assert_int_equal(iid_test_count_lines(timed), iid_test_count_lines(plain) + 2);
    free(plain);
    free(timed);
    char *quiet = report(1, 1, 5.0, &speed);
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
