/*
 * bench_resume.c - time `instantid batch --resume` on a large log: what reading
 * the log costs before the first job runs (issue 15 B2).
 *
 *   bench_resume INSTANTID DIR [ROWS]      (ROWS default 100000)
 *
 * Makes DIR/in with 10 placeholder images (planning reads names only), asks
 * `instantid batch --dry-run` for a plan of ROWS jobs (--loops ROWS/10), turns
 * that plan into a log where every job succeeded (DIR/log.csv, written with the
 * log's own CSV writer), then runs `instantid batch --dry-run --resume` on it in
 * a child process: --resume reads the whole log, checks every row against the
 * plan and finds nothing left to do. Prints the log's size, the child's wall time
 * and its peak resident set (from wait4), and the peak per byte of log.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* wait4 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch/csv_log.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run argv with stdout to out_path (or /dev/null); returns the exit status, the
 * wall time and the peak resident set in KiB. */
static int run(char *const argv[], const char *out_path, double *seconds, long *maxrss_kb)
{
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0) _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    *seconds = now() - t0;
    *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The dry run's plan (success empty) as a log of successes. */
static int plan_to_log(const char *plan_path, const char *log_path, long *rows)
{
    iid_csv_t t;
    iid_error_t err;
    if (iid__csv_load(plan_path, (size_t)1 << 32, &t, &err) != IID_OK || t.ncols != IID_LOG_NCOLS) {
        fprintf(stderr, "bench_resume: %s: %s\n", plan_path, t.ncols != IID_LOG_NCOLS ? "not a plan" : err.msg);
        return -1;
    }
    FILE *f = fopen(log_path, "wb");
    int bad = !f || iid__csv_write_record(f, iid__log_columns, IID_LOG_NCOLS) != 0;
    for (long r = 0; r < t.nrows && !bad; r++) {
        const char *row[IID_LOG_NCOLS];
        for (int c = 0; c < IID_LOG_NCOLS; c++) row[c] = iid__csv_cell(&t, r, c);
        row[IID_COL_SUCCESS] = "True";
        row[IID_COL_TIME_TAKEN] = "3012.47";
        row[IID_COL_TIMESTAMP] = "2026-12-07 10:11:12";
        row[IID_COL_FACE_COUNT] = "1";
        row[IID_COL_FACE_SCORE] = "0.8123";
        row[IID_COL_DEVICE] = "cpu";
        bad = iid__csv_write_record(f, row, IID_LOG_NCOLS) != 0;
    }
    if (f && fclose(f) != 0) bad = 1;
    *rows = t.nrows;
    iid__csv_free(&t);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_resume INSTANTID DIR [ROWS]\n");
        return 2;
    }
    const char *bin = argv[1], *dir = argv[2];
    long want = argc > 3 ? atol(argv[3]) : 100000;
    if (want < 10) want = 10;
    char in[4096], plan[4096], log[4096], loops[32];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(plan, sizeof plan, "%s/plan.csv", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(loops, sizeof loops, "%ld", want / 10);
    mkdir(dir, 0755);
    mkdir(in, 0755);
    for (int i = 0; i < 10; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/photo_%02d.png", in, i);
        FILE *f = fopen(p, "wb");
        if (!f || fclose(f) != 0) return perror(p), 1;
    }
    char *plan_argv[] = {(char *)bin, "batch", "--input", in, "--loops", loops, "--seed", "1", "--dry-run", NULL};
    double s;
    long kb;
    if (run(plan_argv, plan, &s, &kb) != 0) return fprintf(stderr, "bench_resume: the dry run failed\n"), 1;
    long rows;
    if (plan_to_log(plan, log, &rows) != 0) return 1;
    struct stat sb;
    if (stat(log, &sb) != 0) return perror(log), 1;
    char *resume_argv[] = {(char *)bin, "batch", "--input", in, "--loops", loops, "--seed", "1", "--dry-run",
                           "--resume", "--log", log, NULL};
    int rc = run(resume_argv, NULL, &s, &kb);
    if (rc != 0) return fprintf(stderr, "bench_resume: --resume exited %d\n", rc), 1;
    printf("log: %ld rows, %.1f MB\n", rows, (double)sb.st_size / 1e6);
    printf("batch --dry-run --resume: %.2f s, peak RSS %.1f MiB (%.2f bytes per log byte)\n", s, kb / 1024.0,
           (double)kb * 1024.0 / (double)sb.st_size);
    return 0;
}
