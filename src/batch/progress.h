/*
 * progress.h - batch statistics and the text that reports them.
 *
 * iid_batch_stats_t accumulates what the runner reports (one call per finished
 * job); the formatting functions are pure: they take the numbers and write text to
 * a buffer or a FILE*, and never look at the clock or the terminal themselves, so
 * the tests can check every line. The CLI decides where the text goes: on a
 * terminal one status line rewritten in place below the scrolling per-job lines,
 * otherwise plain lines.
 *
 * Time remaining is weighted by work (batch/estimate.h: steps and image size, so
 * a 60-step 1088x1280 job counts for what it costs): the work still to do times
 * seconds per unit of work, taken from the jobs that succeeded (failures are
 * usually quick and say nothing about speed), else from the steps of the running
 * job once two of them are timed, else from the machine's calibrated (or the
 * reference) speed. So the first job already has an estimate, and it sharpens
 * from its second step on. `s/image` and the summary's times count successful
 * jobs only.
 *
 * Off a terminal (a pipe, nohup, a Slurm log) the output is plain lines: one per
 * finished job, and the status line every `interval` seconds while a job runs.
 */
#ifndef IID_BATCH_PROGRESS_H
#define IID_BATCH_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "batch/estimate.h"
#include "batch/runner.h"
#include "core/status.h"

typedef struct iid_count_entry {
    char *key;
    long count;
} iid_count_entry_t;

typedef struct iid_count_map {
    iid_count_entry_t *items; /* in first-seen order */
    int n, cap;
} iid_count_map_t;

typedef struct iid_value_range {
    double min, max;
    int seen;
} iid_value_range_t;

typedef struct iid_batch_stats {
    long total;        /* jobs this run will attempt */
    double work_total; /* their work units (estimate.h), summed */
    long done, ok, failed;
    double work_done;           /* work units of the finished jobs */
    double ok_work;             /* work units of the successful ones */
    double ok_time;             /* seconds spent on the successful ones */
    double ok_min, ok_max;      /* seconds per successful job */
    double failed_time;         /* seconds spent on failed jobs */
    iid_count_map_t reasons;    /* failures by reason */
    iid_count_map_t styles;     /* finished jobs per style */
    iid_value_range_t identitynet, adapter, steps, guidance; /* over finished jobs */
} iid_batch_stats_t;

/* Start counting a run of total jobs with work_total work units in all. */
void iid__stats_init(iid_batch_stats_t *s, long total, double work_total);

/* Record one finished job of `work` units. reason (failures only) is grouped by
 * its last part, after the last ": ", so "a.jpg: no face found" and "b.jpg: no
 * face found" count as one reason. Fails only when out of memory. */
iid_status iid__stats_add(iid_batch_stats_t *s, const char *style, double identitynet, double adapter, int steps,
                          double guidance, double work, int ok, const char *reason, double seconds,
                          iid_error_t *err);

void iid__stats_free(iid_batch_stats_t *s);

/* Estimated seconds left: the work not yet done (finished jobs' and running_done
 * units of the running job's) times seconds per unit from the successful jobs,
 * else `prior` (<= 0: unknown). -1 when unknown. */
double iid__stats_eta(const iid_batch_stats_t *s, double running_done, double prior);

/* A duration as "45s", "3m05s" or "2h03m07s" (negative: "?"). */
void iid__fmt_duration(char *buf, size_t cap, double seconds);

/* What is running now, for the status line. image NULL means nothing. */
typedef struct iid_progress_now {
    const char *image, *style;
    double identitynet, adapter, guidance;
    int steps;
    int step; /* current denoising step, 0 before the first */
} iid_progress_now_t;

/* The one-line status: done/total, percent, elapsed, time left (`left`
 * seconds, < 0 unknown), mean seconds per successful image, ok/failed, and what
 * runs now. No newline. */
void iid__progress_status_line(char *buf, size_t cap, const iid_batch_stats_t *s, double elapsed, double left,
                               const iid_progress_now_t *now);

/* The line for a finished job (no newline): "[12/40] job 17 anna.jpg Watercolor
 * idn=1.23 ad=0.81 steps=45 cfg=8.10 seed=42: ok 41.20s -> file.png" or
 * "...: FAILED 0.10s: reason". */
void iid__progress_job_line(char *buf, size_t cap, long done, long total, long job_id, const char *image,
                            const char *style, double identitynet, double adapter, int steps, double guidance,
                            unsigned long seed, int ok, const char *detail, double seconds);

/* The final summary: counts, failures by reason, min/mean/max time per image,
 * images per hour, jobs per style, and the range of each value used. */
void iid__progress_summary(FILE *f, const iid_batch_stats_t *s, double elapsed, int interrupted);

/* ---- the console reporter ---------------------------------------------- */

/* Wires the runner's observer to the text above: counts each finished job,
 * prints its line, and keeps the status line up to date: on a terminal redrawn
 * in place ("\r\033[K", below the job lines) as jobs and steps advance,
 * otherwise printed as a plain line every `interval` seconds. The clock is a
 * callback (seconds, any origin) so tests can drive it. */
typedef struct iid_reporter_setup {
    FILE *out;
    int tty, quiet;
    double (*clock)(void *user);
    void *clock_user;
    long total;
    double work_total;
    const int *width, *height; /* per plan image: the generation size (0: unknown); NULL: all unknown */
    iid_speed_t *speed;        /* the prior speed; NULL: none. Updated from the first successful job */
    int save_speed;            /* and then saved to the cache */
    double interval;           /* seconds between plain status lines; <= 0: none */
} iid_reporter_setup_t;

typedef struct iid_progress_reporter {
    iid_reporter_setup_t set;
    double start, last_plain;
    iid_batch_stats_t stats;
    iid_progress_now_t now;
    double job_step_work;  /* work units per step of the running job */
    double step1_at;       /* clock at its first step */
    char image[256], style[128];
    int speed_measured;    /* the first successful job has set the speed */
    iid_status status; /* sticky: IID_ERR_NOMEM when counting ran out of memory */
} iid_progress_reporter_t;

void iid__reporter_init(iid_progress_reporter_t *r, const iid_reporter_setup_t *setup);

/* Seconds left now (see the rule at the top), -1 when unknown. */
double iid__reporter_eta(const iid_progress_reporter_t *r);

/* An observer whose callbacks feed r (r must outlive the run). */
iid_batch_observer_t iid__reporter_observer(iid_progress_reporter_t *r);

/* Clear the status line (terminal) and print the summary unless quiet. */
void iid__reporter_finish(iid_progress_reporter_t *r, int interrupted);

void iid__reporter_free(iid_progress_reporter_t *r);

#endif
